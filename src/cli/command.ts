import type { Config } from '../core/config.ts';
import { ValidationError } from '../core/errors.ts';
import { openStore } from '../db/open.ts';
import type { Store } from '../db/store.ts';

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
  /** it works on TRAITLENS_DB: main warns first when that database is new or empty (not with --json) */
  usesDatabase?: boolean;
  run(args: string[], ctx: CommandContext): Promise<number>;
}

/** Runs `fn` on the configured store (SQLite file or PostgreSQL URL, migrated) and closes it. */
export async function withStore<T>(config: Config, fn: (store: Store) => T | Promise<T>): Promise<T> {
  const store = await openStore(config);
  try {
    return await fn(store);
  } finally {
    await store.close();
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

/** Runs an option-value check that throws our ValidationError, as a UsageError: a bad option value is exit 2 in every command. */
export function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(err.message);
    throw err;
  }
}
