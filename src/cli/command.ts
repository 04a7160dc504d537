import type { Config } from '../core/config.ts';
import { openDb, type Db } from '../db/connection.ts';

/** Where a command writes; process streams in production, replaceable for in-process callers. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export interface CommandContext {
  config: Config;
  io: Io;
}

/**
 * One `traitlens` subcommand. `usage` is printed by `--help` (which needs no valid config);
 * `run` gets the arguments after the command name and returns the exit code.
 */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[], ctx: CommandContext): Promise<number>;
}

/** Opens the configured database with the configured durability and busy timeout. */
export function openConfiguredDb(config: Config): Db {
  return openDb(config.TRAITLENS_DB, { synchronous: config.TRAITLENS_DB_SYNCHRONOUS, busyTimeoutMs: config.TRAITLENS_BUSY_TIMEOUT_MS });
}

export async function withDb<T>(config: Config, fn: (db: Db) => T | Promise<T>): Promise<T> {
  const db = openConfiguredDb(config);
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

export const writeLine = (stream: NodeJS.WritableStream, text = '') => stream.write(`${text}\n`);
export const printJson = (io: Io, value: unknown) => writeLine(io.stdout, JSON.stringify(value, null, 2));

/** A plain left-aligned text table (numbers right-aligned). */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-US') : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const line = (r: (string | number)[]) =>
    r
      .map((c, i) => (numeric[i] ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Wrong command-line usage (missing subcommand, stray argument): exit 2 with the command's usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
