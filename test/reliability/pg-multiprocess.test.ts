/**
 * Issue 11 item 7: the service as deployed on PostgreSQL — two `traitlens serve` replicas (no
 * pipeline in them) and two `traitlens worker` processes on one database. Four clients send unique
 * events to both replicas; mid-load one replica and one worker are SIGKILLed and restarted. Then
 * every acknowledged event is stored exactly once, every touched user's refresh saw all of its
 * events, no job is left pending, running, parked or stuck, and both replicas answer every
 * profile read with the same body.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { openStore } from '../../src/db/open.ts';
import type { Store } from '../../src/db/store.ts';
import { BIN, runCli } from '../cli/helpers.ts';
import { createTempPgSchema, pgAvailable, type TempPg } from '../support/pg.ts';
import { tempDir } from '../support/temp-db.ts';

const LEASE_MS = 2000;
const CLIENTS = 4;
const BATCHES_PER_CLIENT = 20;
const BATCH = 25;
const USERS = 300;
/** the kill happens once this many batches were acknowledged, while the others are in flight */
const KILL_AFTER_ACKED = 30;
const DRAIN_MS = 60_000;

const TEXTS = [
  'I love trail running shoes and marathon training',
  'looking for jazz vinyl records and a turntable',
  'best camping tent for hiking in the mountains',
  'vegan recipes for a quick weeknight dinner',
  'comparing mirrorless cameras for street photography',
  'learning to play acoustic guitar chords',
];

interface Proc {
  child: ChildProcess;
  /** stdout and stderr, for the failure message */
  log: string[];
}

const children: Proc[] = [];

function start(args: string[], env: Record<string, string>, cwd: string): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = { child, log: [] };
  const keep = (s: string) => {
    p.log.push(s);
    if (p.log.length > 200) p.log.shift();
  };
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8').on('data', keep);
  children.push(p);
  return p;
}

/** Resolves on the line that matches, rejects if the process exits first or the deadline passes. */
async function waitForLine(p: Proc, re: RegExp, ms = 30_000): Promise<RegExpMatchArray> {
  const lines = createInterface({ input: p.child.stdout! });
  try {
    return await new Promise<RegExpMatchArray>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no ${re} within ${ms} ms:\n${p.log.join('')}`)), ms);
      lines.on('line', (l) => {
        p.log.push(`${l}\n`);
        const m = l.match(re);
        if (m) {
          clearTimeout(timer);
          res(m);
        }
      });
      p.child.once('exit', (code, sig) => {
        clearTimeout(timer);
        rej(new Error(`exited (${code ?? sig}) before ${re}:\n${p.log.join('')}`));
      });
    });
  } finally {
    // Keep draining stdout (a full pipe would block the child) into the log.
    lines.removeAllListeners('line');
    lines.on('line', (l) => p.log.push(`${l}\n`));
  }
}

async function kill(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = once(p.child, 'exit');
  p.child.kill('SIGKILL');
  await exited;
}

describe.skipIf(!pgAvailable())('PostgreSQL: two API replicas and two workers on one database, one of each SIGKILLed mid-load', () => {
  let pg: TempPg;
  let dir: ReturnType<typeof tempDir>;
  let env: Record<string, string>;
  let key: string;
  let store: Store | undefined;

  beforeAll(async () => {
    pg = await createTempPgSchema();
    dir = tempDir();
    const modelsDir = join(dir.dir, 'models');
    mkdirSync(modelsDir);
    env = {
      TRAITLENS_DB: pg.url,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      TRAITLENS_WORKER: 'false',
      TRAITLENS_JOB_LEASE_MS: String(LEASE_MS),
      TRAITLENS_RATE_LIMIT_RPS: '0',
      TRAITLENS_EMBEDDER: 'offline',
      // No trained models (scoring would load tfjs in every worker); the offline word vectors of the checkout.
      TRAITLENS_MODELS_DIR: modelsDir,
      TRAITLENS_CACHE_DIR: resolve(import.meta.dirname, '../../data/cache'),
      TRAITLENS_PG_POOL_SIZE: '4',
      TRAITLENS_SHUTDOWN_TIMEOUT_MS: '2000',
    };
    const created = await runCli(['keys', 'create', '--name', 'multiprocess', '--scopes', 'admin', '--json'], { cwd: dir.dir, env });
    expect(created.code, created.stderr).toBe(0);
    key = (JSON.parse(created.stdout) as { secret: string }).secret;
    store = await openStore(loadConfig({ ...env, TRAITLENS_PG_POOL_SIZE: '2' }));
  }, 60_000);

  afterAll(async () => {
    // Every child, even when the test failed half-way.
    await Promise.all(children.map(kill));
    await store?.close();
    await pg?.drop();
    dir?.remove();
  });

  it('every acknowledged event is stored once, every refresh completes, both replicas read the same', async () => {
    const startServe = async () => {
      const p = start(['serve'], env, dir.dir);
      const [, url] = await waitForLine(p, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
      return { ...p, url: url! };
    };
    const startWorker = async () => {
      const p = start(['worker'], env, dir.dir);
      const [, id] = await waitForLine(p, /^worker (\S+) running/);
      return { ...p, id: id! };
    };
    const servers: ({ url: string } & Proc)[] = await Promise.all([startServe(), startServe()]);
    const workers: ({ id: string } & Proc)[] = await Promise.all([startWorker(), startWorker()]);
    /** null while a replica is down: clients send to the other one */
    const live: (string | null)[] = servers.map((s) => s.url);

    const t0 = Date.now();
    const batchOf = (c: number, b: number) =>
      Array.from({ length: BATCH }, (_, i) => {
        const n = (c * BATCHES_PER_CLIENT + b) * BATCH + i;
        return {
          eventId: `c${c}-b${b}-e${i}`,
          // A spread of users, most of them touched by several clients and both replicas.
          userId: `mp-u${(n * 7919) % USERS}`,
          type: i % 3 === 0 ? 'search' : 'page_view',
          ...(i % 3 === 0 ? { text: `${TEXTS[n % TEXTS.length]} (${n})` } : { properties: { path: `/p/${n % 40}` } }),
          // Recent: the computed trait events_30d counts them all.
          timestamp: new Date(t0 - 60_000 + n).toISOString(),
        };
      });

    const acked = new Set<string>();
    let ackedBatches = 0;
    let retries = 0;
    let retriedAsDuplicates = 0;
    /** requests in flight per replica URL */
    const inFlight = new Map<string, number>();
    const post = async (url: string, events: unknown[]) => {
      inFlight.set(url, (inFlight.get(url) ?? 0) + 1);
      try {
        return await postOnce(url, events);
      } finally {
        inFlight.set(url, inFlight.get(url)! - 1);
      }
    };
    const postOnce = async (url: string, events: unknown[]) => {
      const r = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(events),
        signal: AbortSignal.timeout(20_000),
      });
      return { status: r.status, body: (await r.json()) as { accepted: number; duplicates: number; rejected: number; results: { status: string; eventId?: string }[] } };
    };
    const client = async (c: number) => {
      for (let b = 0; b < BATCHES_PER_CLIENT; b++) {
        const events = batchOf(c, b);
        for (let attempt = 0; ; attempt++) {
          expect(attempt, `client ${c} batch ${b}: still failing after many retries`).toBeLessThan(200);
          // Alternate replicas by batch and attempt; a replica that is down is skipped.
          const url = live[(c + b + attempt) % 2] ?? live[(c + b + attempt + 1) % 2];
          if (!url) {
            await new Promise((r) => setTimeout(r, 50));
            continue;
          }
          let res: Awaited<ReturnType<typeof post>>;
          try {
            res = await post(url, events);
          } catch {
            // The connection died (the replica was killed): the outcome is unknown, send the same batch again.
            retries++;
            await new Promise((r) => setTimeout(r, 50));
            continue;
          }
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          // A retry of a batch that was committed before its replica died comes back as duplicates.
          expect(res.body.rejected, JSON.stringify(res.body)).toBe(0);
          expect(res.body.accepted + res.body.duplicates).toBe(BATCH);
          if (attempt > 0 && res.body.duplicates > 0) retriedAsDuplicates++;
          for (const e of events) acked.add(e.eventId);
          ackedBatches++;
          break;
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
    let done = false;
    const allClients = Promise.all(clients);
    // Settled here so a failing client is not an unhandled rejection; awaited (and thrown) below.
    allClients.then(
      () => (done = true),
      () => (done = true),
    );

    // Mid-load: one replica and one worker die without warning, then come back (a new port for the replica).
    let kills = 0;
    while (ackedBatches < KILL_AFTER_ACKED && !done) await new Promise((r) => setTimeout(r, 10));
    expect(done, 'the load ended before the kill: raise BATCHES_PER_CLIENT').toBe(false);
    // Wait (bounded) for the moment that matters: requests in flight to the replica, jobs held by the worker.
    const held = () => store!.exec.all<{ id: number }>(`SELECT id FROM jobs WHERE status = 'running' AND locked_by = ?`, [workers[0]!.id]);
    let heldAtKill = await held();
    for (const until = Date.now() + 10_000; Date.now() < until && !done; heldAtKill = await held()) if ((inFlight.get(servers[0]!.url) ?? 0) > 0 && heldAtKill.length > 0) break;
    const inFlightAtKill = inFlight.get(servers[0]!.url) ?? 0;
    await Promise.all([kill(servers[0]!), kill(workers[0]!)]);
    live[0] = null;
    kills += 2;
    const restarted = await startServe();
    servers[0] = restarted;
    live[0] = restarted.url;
    workers[0] = await startWorker();
    await allClients;
    const loadMs = Date.now() - t0;

    // The queue drains: the killed worker's jobs come back once their leases lapse.
    const open = () => store!.exec.all<{ status: string; n: number }>(`SELECT status, count(*) AS n FROM jobs WHERE status IN ('pending', 'running', 'parked') GROUP BY status`);
    const drainStart = Date.now();
    let left = await open();
    while (left.some((r) => r.status !== 'parked') && Date.now() - drainStart < DRAIN_MS) {
      await new Promise((r) => setTimeout(r, 200));
      left = await open();
    }
    const drainMs = Date.now() - drainStart;
    const workerLogs = workers.map((w) => w.log.join('')).join('\n---\n');
    expect(left, `jobs left after ${drainMs} ms:\n${workerLogs}`).toEqual([]);
    expect((await store!.jobs.counts()).stuck).toBe(0);

    // Every acknowledged event exactly once; nothing stored that no client sent.
    const rows = await store!.exec.all<{ eventId: string; n: number }>(`SELECT client_event_id AS "eventId", count(*) AS n FROM events GROUP BY client_event_id`);
    const stored = new Map(rows.map((r) => [r.eventId, Number(r.n)]));
    const lost = [...acked].filter((id) => !stored.has(id));
    const duplicates = rows.filter((r) => Number(r.n) > 1).map((r) => r.eventId);
    const sent = new Set(Array.from({ length: CLIENTS }, (_, c) => Array.from({ length: BATCHES_PER_CLIENT }, (_, b) => batchOf(c, b).map((e) => e.eventId))).flat(2));
    console.log(
      `[figures] events acked ${acked.size} (of ${sent.size} sent), kills ${kills} (1 replica with ${inFlightAtKill} request(s) in flight, 1 worker holding ${heldAtKill.length} job(s)), ` +
        `failed requests retried ${retries} (${retriedAsDuplicates} found their events already stored), events lost ${lost.length}, duplicates ${duplicates.length}, load ${loadMs} ms, drain ${drainMs} ms`,
    );
    // The kill hit work in progress on both sides.
    expect(inFlightAtKill).toBeGreaterThan(0);
    expect(heldAtKill.length).toBeGreaterThan(0);
    expect(retries).toBeGreaterThan(0);
    expect(acked.size).toBe(sent.size);
    expect(lost).toEqual([]);
    expect(duplicates).toEqual([]);
    expect([...stored.keys()].filter((id) => !sent.has(id))).toEqual([]);

    // Every touched user: one user row per external id, its counters match its events, and its last
    // refresh saw all of them (events_30d counts every event: they are all recent), built the traits and the vector.
    const touched = new Set<string>();
    for (let c = 0; c < CLIENTS; c++) for (let b = 0; b < BATCHES_PER_CLIENT; b++) for (const e of batchOf(c, b)) touched.add(e.userId);
    const users = await store!.exec.all<{ externalId: string; events: number; eventCount: number; profileVersion: number; profiled: number | null; events30d: string | null }>(
      `SELECT u.external_id AS "externalId", (SELECT count(*) FROM events e WHERE e.user_id = u.id) AS events, u.event_count AS "eventCount",
         u.profile_version AS "profileVersion", p.profile_version AS profiled,
         (SELECT t.value FROM traits t WHERE t.user_id = u.id AND t.key = 'events_30d' AND t.valid_to IS NULL) AS "events30d"
       FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id`,
    );
    expect(users.map((u) => u.externalId).sort()).toEqual([...touched].sort());
    const stale = users.filter(
      (u) => Number(u.events) !== Number(u.eventCount) || u.profiled === null || Number(u.profiled) !== Number(u.profileVersion) || Number(u.events30d) !== Number(u.events),
    );
    expect(stale, 'users whose counters, refresh or profile do not match their events').toEqual([]);
    const jobsLeft = await store!.exec.all<{ userId: number }>(`SELECT DISTINCT user_id AS "userId" FROM jobs WHERE status <> 'done'`);
    expect(jobsLeft).toEqual([]);

    // Both replicas (one of them restarted) give the same profile for every user.
    const read = async (url: string, user: string) => {
      const r = await fetch(`${url}/v1/users/${encodeURIComponent(user)}`, { headers: { authorization: `Bearer ${key}` } });
      return { status: r.status, body: await r.text() };
    };
    const differ: string[] = [];
    const list = [...touched];
    for (let i = 0; i < list.length; i += 20) {
      await Promise.all(
        list.slice(i, i + 20).map(async (u) => {
          const [a, b] = await Promise.all([read(servers[0]!.url, u), read(servers[1]!.url, u)]);
          expect(a.status).toBe(200);
          if (a.body !== b.body || b.status !== 200) differ.push(u);
        }),
      );
    }
    expect(differ).toEqual([]);
  }, 150_000);
});
