import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The API never waits for the pipeline (issue 12, item 1). The pipeline used to run on the serving
 * event loop, and better-sqlite3 is synchronous: a worker waiting for SQLite's write lock (an import
 * beside the server holds it) busy-waits, and with it every HTTP request. The worker now runs on
 * its own thread with its own connection, so the server answers while the pipeline is stuck.
 */
describe('starvation: the pipeline cannot hold up HTTP', () => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.server.close();
    s?.cleanup();
    s = undefined;
  });

  const post = (events: unknown[]) =>
    fetch(`${s!.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${s!.keys.admin}`, 'content-type': 'application/json' }, body: JSON.stringify(events) });
  const jobCounts = async () =>
    ((await (await fetch(`${s!.url}/v1/stats`, { headers: { authorization: `Bearer ${s!.keys.admin}` } })).json()) as { jobs: Record<string, number> }).jobs;

  it('healthz and readyz answer while the worker is blocked on a write lock held beside the server', async () => {
    const BUSY_MS = 4000;
    s = await startTestServer({ TRAITLENS_WORKER: 'true', TRAITLENS_BUSY_TIMEOUT_MS: String(BUSY_MS) });
    expect(s.server.workerMode).toBe('thread');
    // The worker is alive and has work done (a refresh for this user).
    expect((await post([{ userId: 'starve', type: 'search', text: 'I love trail running', eventId: 'e1' }])).status).toBe(200);
    for (let i = 0; i < 600 && !(await jobCounts()).done; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await jobCounts()).done).toBe(1);

    // Another process-like connection takes the write lock, as a long import does.
    const importer = new Database(s.path);
    importer.exec('BEGIN IMMEDIATE');
    const probes: { status: number; ms: number }[] = [];
    try {
      // The idle worker polls (claim = a write) within half a second and blocks on the lock; keep
      // probing for longer than that, over several of its busy waits.
      const until = Date.now() + 2500;
      while (Date.now() < until) {
        for (const path of ['/healthz', '/readyz']) {
          // Timed from before a short pause: the server runs in this process, so a blocked event
          // loop shows up whether it strikes during the pause or during the request.
          const t = performance.now();
          await new Promise((r) => setTimeout(r, 25));
          const r = await fetch(`${s.url}${path}`);
          await r.arrayBuffer();
          probes.push({ status: r.status, ms: performance.now() - t - 25 });
        }
      }
    } finally {
      importer.exec('COMMIT');
      importer.close();
    }
    expect(probes.length).toBeGreaterThan(10);
    expect(probes.every((p) => p.status === 200)).toBe(true);
    // Had any probe waited for the pipeline's busy wait, it would have taken the better part of BUSY_MS.
    expect(Math.max(...probes.map((p) => p.ms))).toBeLessThan(BUSY_MS / 2);

    // The worker resumes once the lock is free: new work is picked up.
    expect((await post([{ userId: 'starve', type: 'search', text: 'and hiking boots', eventId: 'e2' }])).status).toBe(200);
    for (let i = 0; i < 600 && ((await jobCounts()).done ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await jobCounts()).done).toBe(2);
  });

  it("ingestion batches are written on the writer thread's own connection, never on the serving one", async () => {
    s = await startTestServer({ TRAITLENS_WORKER: 'false' });
    // total_changes() counts rows changed through this connection only: the serving thread's.
    const servingChanges = () => (s!.db.sqlite.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    // The key's first use records it (a write of its own, once a minute): out of the way first.
    expect((await post([{ userId: 'first', type: 'page_view', eventId: 'f0' }])).status).toBe(200);
    const before = servingChanges();
    const batches = await Promise.all(
      Array.from({ length: 4 }, (_, b) => post(Array.from({ length: 50 }, (_, i) => ({ userId: `u${i % 7}`, type: 'page_view', eventId: `b${b}-${i}`, properties: { n: i } })))),
    );
    for (const r of batches) expect(((await r.json()) as { accepted: number }).accepted).toBe(50);
    // Committed and visible to the serving connection's reads the moment the batch is answered.
    expect((s.db.sqlite.prepare("SELECT count(*) AS n FROM events WHERE client_event_id LIKE 'b%'").get() as { n: number }).n).toBe(200);
    expect(servingChanges()).toBe(before);
    // The same file again: duplicates, found by the writer's connection.
    const again = await post([{ userId: 'u1', type: 'page_view', eventId: 'b0-1', properties: { n: 1 } }]);
    expect(((await again.json()) as { duplicates: number }).duplicates).toBe(1);
    // Stopping the server lets the writer go; batches are then written on the serving connection again.
    await s.server.close();
    await s.store.events.writeBatch([], [{ index: 0, reason: 'missing_field' }], Date.now());
    expect(servingChanges()).toBeGreaterThan(before);
  });

  it('an ingestion batch waiting for the write lock does not hold up the event loop, and is written once the lock is free', async () => {
    const BUSY_MS = 4000;
    s = await startTestServer({ TRAITLENS_WORKER: 'false', TRAITLENS_BUSY_TIMEOUT_MS: String(BUSY_MS) });
    // The key's first use records it (a write of its own, once a minute): out of the way first.
    expect((await post([{ userId: 'first', type: 'page_view', eventId: 'f1' }])).status).toBe(200);
    // The lock held by another connection, as the pipeline thread, the audit writer or an import holds it.
    const other = new Database(s.path);
    other.exec('BEGIN IMMEDIATE');
    const probes: number[] = [];
    let batch: Promise<Response> | undefined;
    try {
      batch = post([{ userId: 'waiting', type: 'page_view', eventId: 'w1' }]);
      const until = Date.now() + 1500;
      while (Date.now() < until) {
        const t = performance.now();
        await new Promise((r) => setTimeout(r, 25));
        await (await fetch(`${s.url}/healthz`)).arrayBuffer();
        probes.push(performance.now() - t - 25);
      }
    } finally {
      other.exec('COMMIT');
      other.close();
    }
    expect(probes.length).toBeGreaterThan(10);
    // SQLite's busy handler sleeping on the serving thread would have stalled a probe for most of the 1.5 s.
    expect(Math.max(...probes)).toBeLessThan(BUSY_MS / 4);
    const r = await batch!;
    expect(r.status).toBe(200);
    expect(((await r.json()) as { accepted: number }).accepted).toBe(1);
  });
});
