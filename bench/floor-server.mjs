/**
 * The HTTP floor of bench/reads.ts and bench/similar.ts (--similar-http): a bare `node:http` server
 * that answers every GET with one constant JSON body of `--bytes` bytes (content-type
 * application/json, content-length, keep-alive as node's defaults), no routing, no framework, no
 * work per request. Measured beside the real and the raw servers through the same open-loop
 * generator (bench/open-loop.ts), its row is what this machine's loopback, node:http and the
 * generator cost on their own at that rate, before any server work (a single row is noisy: compare
 * several runs, not one row against one row).
 *   node bench/floor-server.mjs [--bytes 1024] [--port 0]
 * Prints `floor listening on http://127.0.0.1:<port>` once it listens (the benches start it through
 * bench/servers.ts like their other servers); other methods get a 405. SIGTERM closes it.
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { bytes: { type: 'string', default: '1024' }, port: { type: 'string', default: '0' } } });
const body = constantJson(Number(values.bytes));

const server = createServer((req, res) => {
  if (req.method !== 'GET') {
    res.writeHead(405, { allow: 'GET', 'content-length': 0 });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.listen(Number(values.port), '127.0.0.1', () => {
  process.stdout.write(`floor listening on http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});

/** A JSON object of exactly `n` bytes (`{"pad":"xx…"}`; at least its 10 bytes of frame). */
function constantJson(n) {
  if (!Number.isInteger(n) || n < 10) {
    process.stderr.write(`floor-server: --bytes must be a whole number ≥ 10, got ${values.bytes}\n`);
    process.exit(1);
  }
  return Buffer.from(`{"pad":"${'x'.repeat(n - 10)}"}`);
}
