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

/** Maps a driver error to the service's error hierarchy; unknown errors pass through as our fault. */
export function mapDriverError(err: unknown, what: string): unknown {
  if (err instanceof TraitlensError) return err;
  switch (classifySqliteError(err)) {
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
