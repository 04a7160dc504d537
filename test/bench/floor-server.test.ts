import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpResponseParser, openLoop, type ParsedResponse } from '../../bench/open-loop.ts';
import { type StartedServer, startFloorServer, stopServer } from '../../bench/servers.ts';

// The real floor server (bench/floor-server.mjs) as the benches start it: its own process on loopback.
let floor: StartedServer;
const BYTES = 1234;

beforeAll(async () => {
  floor = await startFloorServer(BYTES);
});

afterAll(async () => {
  await stopServer(floor.child);
});

/** Writes `requests` one after another on one socket (each once the previous answer is complete); the raw bytes and the parsed answers. */
function exchange(requests: string[]): Promise<{ bytes: string; answers: ParsedResponse[] }> {
  const { hostname, port } = new URL(floor.url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: hostname, port: Number(port) });
    const parser = new HttpResponseParser();
    const answers: ParsedResponse[] = [];
    let bytes = '';
    s.on('data', (d: Buffer) => {
      bytes += d.toString('latin1');
      for (const a of parser.push(d)) {
        answers.push(a);
        if (answers.length === requests.length) {
          s.destroy();
          resolve({ bytes, answers });
          return;
        }
        s.write(requests[answers.length]!);
      }
    });
    s.on('error', reject);
    s.write(requests[0]!);
  });
}

describe('bench/floor-server', () => {
  it('answers every GET with a constant JSON body of the requested size, on one keep-alive socket', async () => {
    const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n\r\n`;
    const { bytes, answers } = await exchange([get('/v1/users/u1'), get('/v1/users/u2/similar?k=10'), get('/anything')]);
    expect(answers).toEqual(Array.from({ length: 3 }, () => ({ status: 200, bodyBytes: BYTES, close: false })));
    expect(bytes.toLowerCase()).toContain('content-type: application/json');
    const body = bytes.slice(bytes.indexOf('\r\n\r\n') + 4, bytes.indexOf('\r\n\r\n') + 4 + BYTES);
    expect(Buffer.byteLength(body)).toBe(BYTES);
    expect(Object.keys(JSON.parse(body) as object)).toEqual(['pad']);
  });

  it('refuses other methods', async () => {
    const res = await fetch(`${floor.url}/v1/users/u1`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });

  it('carries an open-loop run on reused sockets without errors', async () => {
    const r = await openLoop(floor.url, {}, ['a', 'b', 'c'], 400, 0.25, { path: '/v1/users/{id}', sockets: 8 });
    expect(r.requests).toBe(100);
    expect(r.errors).toBe(0);
    expect(r.sockets).toBeLessThanOrEqual(8);
  });

  it('refuses a body size it cannot frame as JSON', async () => {
    await expect(startFloorServer(5)).rejects.toThrow(/exited 1/);
  });

  it('exits on SIGTERM while a keep-alive socket is open', async () => {
    const other = await startFloorServer(20);
    const { hostname, port } = new URL(other.url);
    const s = connect({ host: hostname, port: Number(port) });
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((r) => s.once('data', () => r()));
    const exited = new Promise<number | null>((r) => other.child.once('exit', (code) => r(code)));
    await stopServer(other.child);
    expect(await exited).toBe(0);
    s.destroy();
  });
});
