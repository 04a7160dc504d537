import { parseArgs } from 'node:util';
import { ValidationError } from '../../core/errors.ts';
import { writeLine, type Command } from '../command.ts';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the HTTP API (HOST, PORT, TRAITLENS_DB from the environment or .env)',
  usesDatabase: true,
  usage: `usage: traitlens serve

Starts the HTTP API on HOST:PORT (default 127.0.0.1:8080) over the database in TRAITLENS_DB,
applying migrations on open. With TRAITLENS_WORKER=true (the default) the pipeline worker runs on a
thread of its own with its own connection, so HTTP never waits for it; ingestion goes first.
SIGTERM or Ctrl-C shuts down gracefully: in-flight requests and running jobs finish, then the
database is closed, all within TRAITLENS_SHUTDOWN_TIMEOUT_MS. Past that deadline the server logs
what it was still waiting for and exits 1; a job it abandoned is reclaimed by any worker once its
lease (TRAITLENS_JOB_LEASE_MS) lapses.`,
  async run(args, { config, io }) {
    parseArgs({ args, options: {}, strict: true, allowPositionals: false });
    // Loaded on demand: the other commands need none of the HTTP stack.
    const { startServer } = await import('../../api/server.ts');
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      server = await startServer({ config });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'EADDRINUSE') throw new ValidationError(`${config.HOST}:${config.PORT} is already in use: stop the other process or set PORT`);
      if (code === 'EACCES') throw new ValidationError(`no permission to listen on ${config.HOST}:${config.PORT}: use a port above 1023 (PORT)`);
      if (code === 'EADDRNOTAVAIL') throw new ValidationError(`HOST ${config.HOST} is not an address of this machine`);
      throw err;
    }
    writeLine(io.stdout, `traitlens listening on ${server.url}`);
    // The server keeps the process alive and handles SIGTERM/SIGINT itself.
    return 0;
  },
};
