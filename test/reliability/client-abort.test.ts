import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

const ABORTS = 100; // as in the report

/** Sends the headers and part of a declared body, then closes the socket: a client that gave up mid-upload. */
function abandonUpload(url: string, key: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      const head = `POST /v1/events HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${key}\r\n` + 'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n';
      socket.write(`${head}{"events":[{"userId":"slow","type":"page_view"}`, () => socket.destroy());
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

/** `traitlens_http_requests_total` samples as {route, status, value}. */
function requestCounts(metrics: string): { route: string; status: number; value: number }[] {
  const out: { route: string; status: number; value: number }[] = [];
  for (const m of metrics.matchAll(/^traitlens_http_requests_total\{([^}]*)\} (\d+)/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    out.push({ route: labels.route ?? '', status: Number(labels.status), value: Number(m[2]) });
  }
  return out;
}

describe('client disconnects (issue 12.8)', () => {
  let t: TestServer;
  let server: TestServer['server'];
  let keys: TestServer['keys'];
  const lines: { level: number; status?: number; msg: string; route?: string | null }[] = [];

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }));
    t = await startTestServer({ TRAITLENS_RATE_LIMIT_RPS: '0' }, { logger });
    ({ server, keys } = t);
  });
  afterAll(async () => {
    await server?.close();
    t?.cleanup();
  });

  it(`${ABORTS} uploads closed mid-body are client aborts (499, info), never a 5xx in /metrics or an error log line`, async () => {
    for (let i = 0; i < ABORTS; i++) await abandonUpload(server.url, keys['events:write']);
    // Wait until the server has finished with every abandoned request (observable in /metrics).
    const scrape = async () => {
      const r = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${keys.admin}` } });
      return requestCounts(await r.text()).filter((c) => c.route === '/v1/events');
    };
    const deadline = Date.now() + 10_000;
    let counts = await scrape();
    while (counts.reduce((n, c) => n + c.value, 0) < ABORTS && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      counts = await scrape();
    }
    const requestLines = lines.filter((l) => l.msg === 'request' && l.route === '/v1/events');
    const count = (pred: (status: number) => boolean) => counts.filter((c) => pred(c.status)).reduce((n, c) => n + c.value, 0);
    console.info(
      `[figures] client aborts: ${ABORTS} uploads closed mid-body; /metrics counted ${count((s) => s === 499)} as 499 and ${count((s) => s >= 500)} as 5xx; ` +
        `${lines.filter((l) => l.level >= 50).length} error-level log lines`,
    );
    expect(counts.reduce((n, c) => n + c.value, 0)).toBe(ABORTS);
    expect(counts.filter((c) => c.status >= 500)).toEqual([]);
    expect(counts).toEqual([{ route: '/v1/events', status: 499, value: ABORTS }]);

    expect(requestLines).toHaveLength(ABORTS);
    expect(requestLines.every((l) => l.status === 499 && l.level === 30)).toBe(true);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);

    // The server still answers normally afterwards.
    const ok = await fetch(`${server.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys['events:write']}`, 'content-type': 'application/json' },
      body: JSON.stringify([{ userId: 'after', type: 'page_view', eventId: 'after-1' }]),
    });
    expect(ok.status).toBe(200);
  });
});
