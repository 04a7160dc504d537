import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpResponseParser, openLoop, type ParsedResponse } from '../../bench/open-loop.ts';

// A real node:http server on loopback answering the ways a server frames a body.
let server: Server;
let port: number;
const BIG = 'x'.repeat(70_000);

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '';
    if (path.startsWith('/length')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength('{"a":1}') });
      res.end('{"a":1}');
    } else if (path.startsWith('/chunked')) {
      // No length: node frames it chunked. Several writes, several chunks (one large).
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('hello ');
      res.write(BIG);
      res.end('world');
    } else if (path.startsWith('/empty')) {
      res.writeHead(204);
      res.end();
    } else if (path.startsWith('/missing')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not found"}');
    } else {
      res.writeHead(500);
      res.end('unexpected');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

/** The raw bytes the server sends for these requests, written on one keep-alive socket. */
function rawExchange(paths: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    const got: Buffer[] = [];
    const parser = new HttpResponseParser();
    let answered = 0;
    s.on('data', (d: Buffer) => {
      got.push(d);
      answered += parser.push(d).length;
      if (answered === paths.length) {
        s.destroy();
        resolve(Buffer.concat(got));
      }
    });
    s.on('error', reject);
    // Pipelined on purpose: node:http answers them in order on the one socket.
    s.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`).join(''));
  });
}

describe('bench/open-loop HttpResponseParser', () => {
  const paths = ['/length', '/chunked', '/empty', '/missing', '/length'];
  const expected = [
    { status: 200, bodyBytes: 7, close: false },
    { status: 200, bodyBytes: 6 + BIG.length + 5, close: false },
    { status: 204, bodyBytes: 0, close: false },
    { status: 404, bodyBytes: 21, close: false },
    { status: 200, bodyBytes: 7, close: false },
  ];

  it('reads content-length, chunked and bodiless answers of a real server, fed as they arrive', async () => {
    const bytes = await rawExchange(paths);
    expect(bytes.toString('latin1')).toContain('Transfer-Encoding: chunked');
    const p = new HttpResponseParser();
    expect(p.push(bytes)).toEqual(expected);
  });

  it('gives the same answers whatever the bytes are split into', async () => {
    const bytes = await rawExchange(paths);
    for (const size of [1, 2, 3, 7, 64, 1000]) {
      const p = new HttpResponseParser();
      const out: ParsedResponse[] = [];
      for (let i = 0; i < bytes.length; i += size) out.push(...p.push(bytes.subarray(i, i + size)));
      expect(out, `split every ${size} bytes`).toEqual(expected);
    }
  });

  it('handles chunk extensions, trailers and Connection: close', () => {
    const p = new HttpResponseParser();
    const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n';
    expect(p.push(Buffer.from(text))).toEqual([{ status: 200, bodyBytes: 3, close: true }]);
  });

  it('ends a response without a length at the close, and refuses what is not HTTP', () => {
    const p = new HttpResponseParser();
    expect(p.push(Buffer.from('HTTP/1.0 200 OK\r\n\r\nsome body'))).toEqual([]);
    expect(p.end()).toEqual({ status: 200, bodyBytes: 9, close: false });
    expect(() => new HttpResponseParser().push(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'))).toThrow(/not an HTTP response/);
    const partial = new HttpResponseParser();
    partial.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    expect(() => partial.end()).toThrow(/inside a response/);
  });
});

describe('bench/open-loop openLoop', () => {
  it('sends every request on keep-alive sockets and counts statuses', async () => {
    // ids alternate between a path that answers 200 and one that answers 404 (ids taken i·7919 mod n).
    const r = await openLoop(`http://127.0.0.1:${port}`, { authorization: 'Bearer k' }, ['length', 'missing'], 400, 0.25, { path: '/{id}', sockets: 8 });
    expect(r.requests).toBe(100);
    expect(r.errors).toBe(50);
    expect(r.statuses).toEqual({ 404: 50 });
    expect(r.sockets).toBeLessThanOrEqual(8);
    expect(r.p99_ms).toBeGreaterThan(0);
    expect(r.max_ms).toBeGreaterThanOrEqual(r.p50_ms);
  });
});
