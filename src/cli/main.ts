import { existsSync } from 'node:fs';
import { loadConfig, loadDotEnv, type Config } from '../core/config.ts';
import { ConfigError, TraitlensError } from '../core/errors.ts';
import { isPgUrl } from '../db/pg/pool.ts';
import { UsageError, withStore, type Command, type Io } from './command.ts';
import { backupCommand, restoreCommand } from './commands/backup.ts';
import { demoCommand } from './commands/demo.ts';
import { evalCommand } from './commands/eval.ts';
import { evaluateCommand } from './commands/evaluate.ts';
import { importCommand } from './commands/import.ts';
import { jobsCommand, processCommand, workerCommand } from './commands/jobs.ts';
import { keysCommand } from './commands/keys.ts';
import { migrateStoreCommand } from './commands/migrate-store.ts';
import { reindexCommand } from './commands/reindex.ts';
import { scoreCommand } from './commands/score.ts';
import { serveCommand } from './commands/serve.ts';
import { statsCommand } from './commands/stats.ts';
import { trainCommand } from './commands/train.ts';
import { importItemsCommand } from './commands/import-items.ts';
import { trainItemsCommand } from './commands/train-items.ts';

/** The command table: adding a command is one import and one line here. */
const COMMANDS: readonly Command[] = [
  demoCommand,
  serveCommand,
  importCommand,
  keysCommand,
  statsCommand,
  processCommand,
  workerCommand,
  jobsCommand,
  trainCommand,
  importItemsCommand,
  trainItemsCommand,
  evaluateCommand,
  scoreCommand,
  evalCommand,
  reindexCommand,
  migrateStoreCommand,
  backupCommand,
  restoreCommand,
];

/** Exit codes: 0 ok, 1 a client error (bad input, not found), 2 bad usage or configuration, 70 our bug. */
export const EXIT = { ok: 0, client: 1, usage: 2, internal: 70 } as const;

/** The one exit-code rule, printed by `traitlens --help` and under every command's `--help`. */
const EXIT_HELP = [
  'exit codes (every command):',
  '  0   done',
  '  1   the command ran but could not do it: something named does not exist (a key id, a job id,',
  '      a model, a file), a conflict, bad data inside a file, the port is taken',
  '  2   the command line or a setting is wrong: unknown command, subcommand or option, a missing',
  '      or malformed argument or option value (e.g. --users abc, --scopes nonsense), an invalid',
  '      environment variable',
  '  70  an internal error (a bug: the message has the stack)',
].join('\n');

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: traitlens <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `traitlens <command> --help` for a command’s options. Settings come from the environment',
    'and ./.env (TRAITLENS_DATA_DIR, TRAITLENS_DB, PORT, ...). Every command uses one data directory,',
    'TRAITLENS_DATA_DIR (default ./data): the database, trained models and the similar-users index.',
    '',
    EXIT_HELP,
  ].join('\n');
}

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io[name === undefined ? 'stderr' : 'stdout'].write(`${overview()}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`traitlens: unknown command "${name}"\n\n${overview()}\n`);
    return EXIT.usage;
  }
  // --help must work without a valid configuration or database.
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.usage}\n\n${EXIT_HELP}\n`);
    return EXIT.ok;
  }
  try {
    loadDotEnv();
    const config = loadConfig();
    // A forced tfjs backend is chosen before anything loads a model (auto stays lazy: no tfjs load).
    if (config.TRAITLENS_TF_BACKEND !== 'auto') await (await import('../predict/backend.ts')).initBackend({ prefer: config.TRAITLENS_TF_BACKEND });
    if (command.usesDatabase && !quietRun(rest, config)) await warnIfEmpty(config, io);
    return await command.run(rest, { config, io });
  } catch (err) {
    return report(err, command, io);
  }
}

/** `--json` output and quiet log levels get no warning lines (scripts parse what they read). */
const quietRun = (args: readonly string[], config: Config) => args.includes('--json') || ['silent', 'fatal', 'error'].includes(config.LOG_LEVEL);

/**
 * A command pointed at a new or empty database says so: the usual cause is running it from another
 * folder, or with other settings, than the one that holds the data.
 */
async function warnIfEmpty(config: Config, io: Io): Promise<void> {
  const target = config.TRAITLENS_DB;
  const pg = isPgUrl(target);
  // Never print a PostgreSQL URL: it may carry a password.
  const where = pg ? 'the PostgreSQL database in TRAITLENS_DB' : target;
  let state: 'new' | 'empty' | 'ok';
  if (!pg && target !== ':memory:' && !existsSync(target)) state = 'new';
  else {
    try {
      state = await withStore(config, async (store) => ((await store.users.hasAny()) ? 'ok' : 'empty'));
    } catch {
      return; // the command itself reports a database it cannot open
    }
  }
  if (state === 'ok') return;
  io.stderr.write(
    `traitlens: warning: ${where} ${state === 'new' ? 'does not exist: a new, empty database is created there' : 'is empty (no users, no events)'}.\n` +
      `  The database is TRAITLENS_DB, default <TRAITLENS_DATA_DIR>/traitlens.db with TRAITLENS_DATA_DIR=./data relative to the\n` +
      `  current folder (${process.cwd()}). \`traitlens demo\` fills it with sample users; \`traitlens import FILE\` or\n` +
      '  POST /v1/events adds yours.\n',
  );
}

function report(err: unknown, command: Command, io: Io): number {
  if (err instanceof ConfigError) {
    io.stderr.write(`traitlens: ${err.message}\n`);
    return EXIT.usage;
  }
  if (err instanceof UsageError || isParseArgsError(err)) {
    io.stderr.write(`traitlens ${command.name}: ${err.message}\n\n${command.usage}\n`);
    return EXIT.usage;
  }
  if (err instanceof TraitlensError && err.status < 500) {
    io.stderr.write(`traitlens ${command.name}: ${err.message}\n`);
    return EXIT.client;
  }
  // Anything else is our fault: show the stack so it can be reported.
  io.stderr.write(`traitlens ${command.name}: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.internal;
}

/** node:util parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes for unknown or malformed options. */
function isParseArgsError(err: unknown): err is Error {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
