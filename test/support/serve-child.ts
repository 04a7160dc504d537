/**
 * Runs the real server in a child process for signal tests: configuration from the environment
 * (as `traitlens serve` does), prints `{"url": ...}` on stdout once listening.
 */
import { loadConfig } from '../../src/core/config.ts';
import { startServer } from '../../src/api/server.ts';

const server = await startServer({ config: loadConfig() });
process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port })}\n`);
