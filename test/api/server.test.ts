import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connection.ts';
import { sqliteStore } from '../../src/db/store.ts';
import { createTestApi } from '../support/api.ts';
import { startOpenAIServer, type OpenAITestServer } from '../support/openai-server.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { tempDir } from '../support/temp-db.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the real server', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s.server.close();
    s.cleanup();
  });

  it('listens on 127.0.0.1 on the port it reports', async () => {
    expect(s.server.port).toBeGreaterThan(0);
    expect(s.url).toBe(`http://127.0.0.1:${s.server.port}`);
    const h = await fetch(`${s.url}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ status: 'ok' });
    const r = await fetch(`${s.url}/readyz`);
    expect(r.status).toBe(200);
  });

  it('8 concurrent clients × 10 batches with overlapping eventIds store each event exactly once', async () => {
    const POOL = 150;
    const eventFor = (n: number) => ({
      eventId: `cc-${n}`,
      userId: `cc-user-${n % 7}`,
      type: 'product_view',
      timestamp: Date.UTC(2026, 0, 1) + n * 1000,
      properties: { product_id: `p${n}`, category: 'books' },
    });
    const sent = new Set<number>();
    let totalSent = 0;
    const client = async (c: number) => {
      const out = { accepted: 0, duplicates: 0, rejected: 0 };
      for (let b = 0; b < 10; b++) {
        // each client walks the pool with its own stride, so batches overlap across clients
        const ns = Array.from({ length: 20 }, (_, i) => (c * 13 + b * 17 + i * (c + 1)) % POOL);
        const uniq = [...new Set(ns)];
        for (const n of uniq) sent.add(n);
        totalSent += uniq.length;
        const res = await fetch(`${s.url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${s.keys['events:write']}`, 'content-type': 'application/json' },
          body: JSON.stringify({ events: uniq.map(eventFor) }),
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as typeof out;
        out.accepted += body.accepted;
        out.duplicates += body.duplicates;
        out.rejected += body.rejected;
      }
      return out;
    };
    const results = await Promise.all(Array.from({ length: 8 }, (_, c) => client(c)));
    const sum = results.reduce((a, r) => ({ accepted: a.accepted + r.accepted, duplicates: a.duplicates + r.duplicates, rejected: a.rejected + r.rejected }));
    expect(sum.rejected).toBe(0);
    expect(sum.duplicates).toBeGreaterThan(100); // the batches really overlapped
    expect(sum.accepted).toBe(sent.size);
    expect(sum.accepted + sum.duplicates).toBe(totalSent);
    const rows = s.db.sqlite.prepare("SELECT client_event_id AS id, count(*) AS n FROM events WHERE client_event_id LIKE 'cc-%' GROUP BY client_event_id").all() as {
      id: string;
      n: number;
    }[];
    expect(rows).toHaveLength(sent.size);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    const users = s.db.sqlite.prepare("SELECT sum(event_count) AS n FROM users WHERE external_id LIKE 'cc-user-%'").get() as { n: number };
    expect(users.n).toBe(sent.size);
    const stats = await fetch(`${s.url}/v1/stats`, { headers: { authorization: `Bearer ${s.keys.admin}` } });
    expect(((await stats.json()) as { duplicatesDropped: { byKind: { event_id: number } } }).duplicatesDropped.byKind.event_id).toBe(sum.duplicates);
  });
});

/** A POST whose body the test releases later, to hold a request in flight. */
function slowPost(url: string, key: string) {
  let push!: (s: string) => void;
  let end!: () => void;
  const body = new ReadableStream<Uint8Array>({
    start(ctrl) {
      push = (s) => ctrl.enqueue(new TextEncoder().encode(s));
      end = () => ctrl.close();
    },
  });
  const response = fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body,
    duplex: 'half',
  } as RequestInit);
  return { push: (s: string) => push(s), end: () => end(), response };
}

describe('graceful close', () => {
  it('readyz turns 503 while shutting down', async () => {
    const api = createTestApi();
    try {
      expect((await api.request('GET', '/readyz', { key: null })).status).toBe(200);
      api.lifecycle.shuttingDown = true;
      const r = await api.request('GET', '/readyz', { key: null });
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('unavailable');
      expect((await api.request('GET', '/healthz', { key: null })).status).toBe(200);
      api.lifecycle.shuttingDown = false;
      api.db.close();
      expect((await api.request('GET', '/readyz', { key: null })).status).toBe(503);
    } finally {
      api.cleanup();
    }
  });

  it('waits for an in-flight request to finish, then stops accepting', async () => {
    const s = await startTestServer();
    try {
      const req = slowPost(s.url, s.keys.admin);
      req.push('[{"userId":"inflight","type":"click",');
      await sleep(150);
      let closed = false;
      const closing = s.server.close().then(() => (closed = true));
      await sleep(150);
      expect(closed).toBe(false);
      req.push('"eventId":"late"}]');
      req.end();
      const res = await req.response;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { accepted: number }).accepted).toBe(1);
      await closing;
      expect(closed).toBe(true);
      await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
      const n = s.db.sqlite.prepare("SELECT count(*) AS n FROM events WHERE client_event_id = 'late'").get() as { n: number };
      expect(n.n).toBe(1);
    } finally {
      s.cleanup();
    }
  });

  it('gives up on a stuck request after TRAITLENS_SHUTDOWN_TIMEOUT_MS', async () => {
    const s = await startTestServer({ TRAITLENS_SHUTDOWN_TIMEOUT_MS: '300' });
    try {
      const req = slowPost(s.url, s.keys.admin);
      req.push('[');
      const failed = req.response.then(
        () => 'answered',
        () => 'failed',
      );
      await sleep(100);
      const t0 = Date.now();
      await s.server.close();
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(3000);
      expect(await failed).toBe('failed');
    } finally {
      s.cleanup();
    }
  });

  it('a port in use rejects with the EADDRINUSE error (the CLI reports it) and leaves nothing open', async () => {
    const a = await startTestServer();
    try {
      await expect(startTestServer({ PORT: String(a.server.port) })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await a.server.close();
      a.cleanup();
    }
  });

  it('close() is idempotent', async () => {
    const s = await startTestServer();
    await Promise.all([s.server.close(), s.server.close()]);
    await s.server.close();
    s.cleanup();
  });

  it('SIGTERM: a served process finishes, closes its database and exits 0', async () => {
    const { dir, remove } = tempDir();
    const dbPath = join(dir, 'sig.db');
    const setup = openDb(dbPath, { synchronous: 'OFF' });
    const key = (await sqliteStore(setup).keys.create('sig', ['admin'])).secret;
    setup.close();
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../support/serve-child.ts')], {
      env: { ...process.env, TRAITLENS_DB: dbPath, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', TRAITLENS_DB_SYNCHRONOUS: 'OFF', TRAITLENS_WORKER: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const lines = createInterface({ input: child.stdout });
      const [first] = (await once(lines, 'line')) as [string];
      const { url } = JSON.parse(first) as { url: string };
      const res = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify([{ userId: 'sig', type: 'click', eventId: 'sig-1' }]),
      });
      expect(res.status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code, stderr).toBe(0);
      const after = openDb(dbPath, { synchronous: 'OFF' });
      const n = after.sqlite.prepare("SELECT count(*) AS n FROM events WHERE client_event_id = 'sig-1'").get() as { n: number };
      after.close();
      expect(n.n).toBe(1);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      remove();
    }
  });
});

describe('body limit on the wire', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ TRAITLENS_MAX_BODY_BYTES: '2048' });
  });
  afterAll(async () => {
    await s.server.close();
    s.cleanup();
  });
  const post = (body: RequestInit['body'], extra: Record<string, unknown> = {}) =>
    fetch(`${s.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.keys.admin}`, 'content-type': 'application/json' },
      body,
      ...extra,
    } as RequestInit);

  it('a large body with content-length gets a 413 answer, and the server keeps serving', async () => {
    const big = JSON.stringify([{ userId: 'w', type: 'click', properties: { pad: 'x'.repeat(200_000) } }]);
    const r = await post(big);
    expect(r.status).toBe(413);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  it('a large chunked body gets a 413 answer', async () => {
    const chunk = new TextEncoder().encode(' '.repeat(1024));
    let n = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (n++ === 0) ctrl.enqueue(new TextEncoder().encode('['));
        else if (n > 200) ctrl.close();
        else ctrl.enqueue(chunk);
      },
    });
    const r = await post(body, { duplex: 'half' });
    expect(r.status).toBe(413);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });
});

describe('shutdown deadline (work in flight)', () => {
  /** A model endpoint that holds every chat call until released: the pipeline job stays in flight. */
  async function hangingLlm(): Promise<{ llm: OpenAITestServer; called: Promise<void>; release(): void }> {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let called!: () => void;
    const calledP = new Promise<void>((r) => (called = r));
    const llm = await startOpenAIServer({
      chatHandler: async () => {
        called();
        await released;
        return { type: 'status', status: 503 };
      },
    });
    return { llm, called: calledP, release };
  }

  it('close() gives up on a running pipeline job at the deadline and names it; the job is reclaimed later', async () => {
    const { llm, called, release } = await hangingLlm();
    const s = await startTestServer({
      TRAITLENS_WORKER: 'true',
      TRAITLENS_SHUTDOWN_TIMEOUT_MS: '1500',
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_API_KEY: 'k',
      OPENAI_TIMEOUT_MS: '600000',
    });
    try {
      expect(s.server.workerMode).toBe('thread');
      const r = await fetch(`${s.url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.keys.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify([{ userId: 'slow', type: 'search', text: 'I am looking for trail running shoes', eventId: 'slow-1' }]),
      });
      expect(r.status).toBe(200);
      await called; // the job is inside its LLM call, on the pipeline thread
      const t0 = Date.now();
      const report = await s.server.close();
      const took = Date.now() - t0;
      expect(report.clean).toBe(false);
      expect(report.waitingFor.join(' ')).toMatch(/pipeline job\(s\) \d+ still running/);
      expect(took).toBeGreaterThanOrEqual(1400);
      expect(took).toBeLessThan(1500 + 3000);
      // The abandoned job keeps its lease; once it lapses, any worker hands it back.
      const counts = await s.store.jobs.counts();
      expect(counts.running).toBe(1);
      expect(await s.store.jobs.reclaimExpired({ now: Date.now() + 60 * 60_000 })).toMatchObject({ reclaimed: 1 });
    } finally {
      release();
      await llm.close();
      s.cleanup();
    }
  });

  it('SIGTERM with a job in flight and the log sink gone: the process still exits, non-zero, by the deadline', async () => {
    const { llm, called, release } = await hangingLlm();
    const { dir, remove } = tempDir();
    const dbPath = join(dir, 'sink.db');
    const setup = openDb(dbPath, { synchronous: 'OFF' });
    const key = (await sqliteStore(setup).keys.create('sink', ['admin'])).secret;
    setup.close();
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../support/serve-child.ts')], {
      env: {
        ...process.env,
        TRAITLENS_DB: dbPath,
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        TRAITLENS_DB_SYNCHRONOUS: 'OFF',
        TRAITLENS_WORKER: 'true',
        TRAITLENS_SHUTDOWN_TIMEOUT_MS: '1500',
        OPENAI_BASE_URL: llm.baseURL,
        OPENAI_API_KEY: 'k',
        OPENAI_TIMEOUT_MS: '600000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const lines = createInterface({ input: child.stdout });
      let url = '';
      for await (const line of lines) {
        const m = /^\{"url":"([^"]+)"/.exec(line);
        if (m) {
          url = m[1]!;
          break;
        }
      }
      const r = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify([{ userId: 'sink', type: 'search', text: 'I am looking for trail running shoes', eventId: 'sink-1' }]),
      });
      expect(r.status).toBe(200);
      await called;
      // The harness that read the logs is gone: every later log line hits a closed pipe.
      lines.close();
      child.stdout.destroy();
      const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
      const t0 = Date.now();
      child.kill('SIGTERM');
      const [code, signal] = await exited;
      const took = Date.now() - t0;
      expect(signal, stderr).toBeNull();
      expect(code, stderr).toBe(1);
      expect(took).toBeLessThan(1500 + 5000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      release();
      await llm.close();
      remove();
    }
  });
});
