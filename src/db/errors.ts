import { ConflictError, TraitlensError, ValidationError } from '../core/errors.ts';

export type DriverErrorKind = 'unique' | 'not_null' | 'foreign_key' | 'check' | 'busy' | 'other';

/** Classifies a better-sqlite3 error by its extended result code, so callers never parse messages. */
export function classifySqliteError(err: unknown): DriverErrorKind {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
      return 'unique';
    case 'SQLITE_CONSTRAINT_NOTNULL':
      return 'not_null';
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
      return 'foreign_key';
    case 'SQLITE_CONSTRAINT_CHECK':
      return 'check';
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return 'busy';
    default:
      return 'other';
  }
}

/**
 * Classifies a `pg` error by its SQLSTATE (class 23 integrity, 40 transaction rollback, 55P03 lock
 * not available, 57014 statement timeout / cancel). Busy means "try again": the database was
 * contended, not the request wrong.
 */
export function classifyPgError(err: unknown): DriverErrorKind {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case '23505':
      return 'unique';
    case '23502':
      return 'not_null';
    case '23503':
      return 'foreign_key';
    case '23514':
      return 'check';
    case '40001': // serialization_failure
    case '40P01': // deadlock_detected
    case '55P03': // lock_not_available
    case '57014': // query_canceled (statement_timeout)
      return 'busy';
    default:
      return 'other';
  }
}

/** Either driver's error (their codes do not overlap: SQLITE_* names vs five-character SQLSTATEs). */
export function classifyDriverError(err: unknown): DriverErrorKind {
  const kind = classifySqliteError(err);
  return kind !== 'other' ? kind : classifyPgError(err);
}

/** Maps a driver error to the service's error hierarchy; unknown errors pass through as our fault. */
export function mapDriverError(err: unknown, what: string): unknown {
  if (err instanceof TraitlensError) return err;
  switch (classifyDriverError(err)) {
    case 'unique':
      return new ConflictError(`${what} already exists`);
    case 'not_null':
    case 'check':
      return new ValidationError(`${what}: a required value is missing or invalid`);
    case 'foreign_key':
      return new ConflictError(`${what} refers to something that does not exist`, undefined, 'reference_conflict');
    default:
      return err;
  }
}
