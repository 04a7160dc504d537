import { loadConfig, loadDotEnv } from '../core/config.ts';
import { ConfigError, TraitlensError } from '../core/errors.ts';
import { UsageError, type Command, type Io } from './command.ts';
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
  evaluateCommand,
  scoreCommand,
  evalCommand,
  reindexCommand,
  migrateStoreCommand,
];

/** Exit codes: 0 ok, 1 a client error (bad input, not found), 2 bad usage or configuration, 70 our bug. */
export const EXIT = { ok: 0, client: 1, usage: 2, internal: 70 } as const;

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: traitlens <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `traitlens <command> --help` for a command’s options. Settings come from the environment',
    'and ./.env (TRAITLENS_DB, PORT, ...).',
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
    io.stdout.write(`${command.usage}\n`);
    return EXIT.ok;
  }
  try {
    loadDotEnv();
    const config = loadConfig();
    // A forced tfjs backend is chosen before anything loads a model (auto stays lazy: no tfjs load).
    if (config.TRAITLENS_TF_BACKEND !== 'auto') await (await import('../predict/backend.ts')).initBackend({ prefer: config.TRAITLENS_TF_BACKEND });
    return await command.run(rest, { config, io });
  } catch (err) {
    return report(err, command, io);
  }
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
