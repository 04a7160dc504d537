/**
 * The raw /similar baseline of bench/similar.ts --similar-http, a process of its own that imports
 * only its dependencies (hono, @hono/node-server, better-sqlite3, hnswlib-node) and none of
 * Traitlens, so its heap holds nothing but what answering needs (a baseline that imported the bench,
 * and with it most of the app, carried a ~70 MB heap and its GC pauses).
 *   node --import tsx bench/similar-raw.ts --db <file> --index <file.hnsw> --ef 240 --layout '<{"version","blocks"}>'
 *
 * It gives the same answer as `GET /v1/users/:id/similar?k=10` (same JSON: neighbours, similarity,
 * per-block cosines, shared traits; bench/similar.ts compares the two on every warm-up id) with the
 * fewest steps: alias → user, the user's vector, one hnswlib search without a filter callback, the
 * neighbours' vectors, external ids and current traits, each one prepared statement. Not done:
 * authentication, rate limiting, the audit row, request ids and logs, response validation.
 *
 * --pieces N [--ids <file>]: no server (and no --layout needed); answers N ids (one public id a
 * line, else 2,000 users drawn with a fixed seed) in process and prints
 * the time of each step (alias lookup, the user's vector, Array.from, the search, the neighbours'
 * vectors, their public ids, the traits, the JSON), back to back and with 10 ms and 40 ms pauses
 * between requests (as an open loop at 100 and 25 req/s leaves the CPU idle between them), with
 * CPU, minor faults and run-queue wait per request; then the periodic deletion check's count(*)
 * against the same count in slices (ProfileStore.countSlice's SQL).
 */
import { serve } from '@hono/node-server';
import Database from 'better-sqlite3';
import hnswlib from 'hnswlib-node';
import { Hono } from 'hono';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    index: { type: 'string' },
    ef: { type: 'string', default: '240' },
    layout: { type: 'string' },
    pieces: { type: 'string' },
    ids: { type: 'string' },
  },
});
const K = 10;
const db = new Database(values.db as string, { readonly: true });
db.pragma('cache_size = -131072');
// --pieces needs no layout: the dimension is a stored vector's.
const layout = values.layout
  ? (JSON.parse(values.layout) as { version: string; blocks: { name: string; offset: number; dim: number }[] })
  : { version: '', blocks: [{ name: 'all', offset: 0, dim: (db.prepare('SELECT vector FROM user_profiles LIMIT 1').get() as { vector: Buffer }).vector.byteLength / 4 }] };
const dim = layout.blocks.reduce((n, b) => n + b.dim, 0);
const h = new hnswlib.HierarchicalNSW('cosine', dim);
h.readIndexSync(values.index as string, true);
h.setEf(Number(values.ef));
const list = `(${Array(K + 1)
  .fill('?')
  .join(', ')})`;
const pad = (ids: number[]) => [...ids, ...Array(K + 1 - ids.length).fill(null)];
const userBy = db.prepare("SELECT user_id AS id FROM identities WHERE kind = 'user' AND alias = ?");
const vectorOf = db.prepare('SELECT version, vector FROM user_profiles WHERE user_id = ?');
const vectors = db.prepare(`SELECT user_id AS id, vector FROM user_profiles WHERE user_id IN ${list}`);
const externalIds = db.prepare(
  `SELECT u.id AS id, coalesce(u.external_id, (SELECT alias FROM identities i WHERE i.user_id = u.id ORDER BY i.id LIMIT 1)) AS e FROM users u WHERE u.id IN ${list}`,
);
const traits = db.prepare(
  `SELECT user_id AS id, key, value, kind, confidence FROM traits WHERE user_id IN ${list} AND valid_to IS NULL ORDER BY user_id, kind, key, confidence DESC, id`,
);

const f32 = (b: Buffer) => {
  const v = new Float32Array(b.byteLength / 4);
  new Uint8Array(v.buffer).set(b);
  return v;
};
const round = (x: number) => Math.round(x * 10_000) / 10_000;
const blockCosine = (off: number, n: number, a: Float32Array, b: Float32Array) => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = off; i < off + n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? round(dot / Math.sqrt(na * nb)) : null;
};
interface TraitRow {
  id: number;
  key: string;
  value: string;
  kind: string;
  confidence: number;
}

if (values.pieces) {
  await pieces(Number(values.pieces), values.ids ? readFileSync(values.ids, 'utf8').split('\n').filter(Boolean) : randomRefs(2000));
  process.exit(0);
}

/** Public ids of `n` users drawn at random (a fixed seed), for --pieces without --ids. */
function randomRefs(n: number): string[] {
  const max = (db.prepare('SELECT max(id) AS m FROM users').get() as { m: number }).m;
  const alias = db.prepare("SELECT alias FROM identities WHERE kind = 'user' AND user_id = ?");
  let x = 777;
  const out: string[] = [];
  while (out.length < n) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const r = alias.get(1 + (x % max)) as { alias: string } | undefined;
    if (r) out.push(r.alias);
  }
  return out;
}

/** --pieces: the handler's steps timed in process (see the header). */
async function pieces(n: number, refs: string[]) {
  const STEPS = ['alias', 'vector', 'arrayFrom', 'search', 'vectors', 'publicIds', 'traits', 'json'] as const;
  type Acc = Record<(typeof STEPS)[number], number>;
  const one = (ref: string, acc: Acc) => {
    let t = performance.now();
    const lap = (k: keyof Acc) => {
      const now = performance.now();
      acc[k] += now - t;
      t = now;
    };
    const u = userBy.get(ref) as { id: number };
    lap('alias');
    const mine = f32((vectorOf.get(u.id) as { vector: Buffer }).vector);
    lap('vector');
    const arr = Array.from(mine);
    lap('arrayFrom');
    const r = h.searchKnn(arr, K + 1);
    lap('search');
    const ids = r.neighbors.filter((x) => x !== u.id).slice(0, K);
    const vs = (vectors.all(...pad(ids)) as { id: number; vector: Buffer }[]).map((x) => f32(x.vector));
    lap('vectors');
    const ext = externalIds.all(...pad(ids));
    lap('publicIds');
    const ts = traits.all(...pad([u.id, ...ids]));
    lap('traits');
    const body = JSON.stringify({ ids, ext, ts, blocks: vs.map((v) => blockCosine(0, v.length, mine, v)) });
    lap('json');
    return body.length;
  };
  const proc = () => {
    const f = (readFileSync('/proc/self/stat', 'utf8').split(') ')[1] as string).split(' ');
    return { minflt: Number(f[7]), runq: Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]) / 1e6 };
  };
  let next = 0;
  const row = async (name: string, count: number, pauseMs: number) => {
    const acc = Object.fromEntries(STEPS.map((k) => [k, 0])) as Acc;
    const c0 = process.cpuUsage();
    const p0 = proc();
    let busy = 0;
    for (let i = 0; i < count; i++) {
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      const t = performance.now();
      one(refs[next++ % refs.length] as string, acc);
      busy += performance.now() - t;
    }
    const c = process.cpuUsage(c0);
    const p1 = proc();
    console.log(
      `${name.padEnd(22)} ${(busy / count).toFixed(3).padStart(6)} ${((c.user + c.system) / 1000 / count).toFixed(3).padStart(6)} ${((p1.minflt - p0.minflt) / count).toFixed(1).padStart(7)} ${((p1.runq - p0.runq) / count).toFixed(3).padStart(9)} | ${STEPS.map((k) => (acc[k] / count).toFixed(3).padStart(k.length)).join(' ')}`,
    );
  };
  console.log(`the raw /similar handler's steps in process, ms per request (ef ${values.ef}); CPU includes the pauses' own wake-ups`);
  console.log(`requests               wall    CPU     minflt run-queue | ${STEPS.join(' ')}`);
  await row('warm-up', Math.min(300, n), 0);
  await row('back to back', n, 0);
  await row('10 ms pause before each', Math.ceil(n / 2), 10);
  await row('40 ms pause before each', Math.ceil(n / 5), 40);
  // The index owner's periodic deletion check: one count(*) against the same count in slices.
  const all = db.prepare('SELECT count(*) AS n FROM user_profiles');
  const edge = db.prepare('SELECT updated_at AS u FROM user_profiles WHERE updated_at > ? ORDER BY updated_at LIMIT 1 OFFSET ?');
  const upTo = db.prepare('SELECT count(*) AS n FROM user_profiles WHERE updated_at > ? AND updated_at <= ?');
  const rest = db.prepare('SELECT count(*) AS n FROM user_profiles WHERE updated_at > ?');
  for (let i = 0; i < 2; i++) {
    let t = performance.now();
    const total = (all.get() as { n: number }).n;
    const whole = performance.now() - t;
    let counted = 0;
    let slices = 0;
    let longest = 0;
    const s0 = performance.now();
    for (let after = -1; ; slices++) {
      t = performance.now();
      const e = edge.get(after, 9_999) as { u: number } | undefined;
      counted += ((e ? upTo.get(after, e.u) : rest.get(after)) as { n: number }).n;
      longest = Math.max(longest, performance.now() - t);
      if (!e) break;
      after = e.u;
    }
    console.log(
      `count(*) of ${total.toLocaleString('en-US')} rows in one statement ${whole.toFixed(1)} ms${i === 0 ? ' (as the pages come: SQLite cache, OS cache or disk)' : ' (again)'}; in ${slices + 1} slices of 10,000 (as src/similar/profile-index.ts): ${counted.toLocaleString('en-US')} in ${(performance.now() - s0).toFixed(1)} ms, the longest slice ${longest.toFixed(2)} ms`,
    );
  }
}

const app = new Hono();
app.get('/v1/users/:id/similar', (c) => {
  const ref = c.req.param('id');
  const u = userBy.get(ref) as { id: number } | undefined;
  if (!u) return c.json({ error: 'not found' }, 404);
  const me = vectorOf.get(u.id) as { version: string; vector: Buffer } | undefined;
  if (!me || me.version !== layout.version) return c.json({ userId: ref, k: K, vectorVersion: null, results: [] });
  const mine = f32(me.vector);
  const r = h.searchKnn(Array.from(mine), K + 1);
  const hits: { id: number; similarity: number }[] = [];
  for (let i = 0; i < r.neighbors.length && hits.length < K; i++)
    if (r.neighbors[i] !== u.id) hits.push({ id: r.neighbors[i] as number, similarity: 1 - (r.distances[i] as number) });
  const ids = hits.map((x) => x.id);
  const vs = new Map((vectors.all(...pad(ids)) as { id: number; vector: Buffer }[]).map((x) => [x.id, f32(x.vector)]));
  const ext = new Map((externalIds.all(...pad(ids)) as { id: number; e: string }[]).map((x) => [x.id, x.e]));
  const ts = new Map<number, TraitRow[]>();
  for (const t of traits.all(...pad([u.id, ...ids])) as TraitRow[]) {
    const l = ts.get(t.id);
    if (l) l.push(t);
    else ts.set(t.id, [t]);
  }
  // The traits both hold with the same value (computed ones excluded), as src/similar/similar.ts.
  const shown = new Set(['semantic', 'declared', 'predicted']);
  const vkey = (t: TraitRow) => `${t.key}\u0000${t.value.toLowerCase()}`;
  const held = new Map((ts.get(u.id) ?? []).filter((t) => shown.has(t.kind)).map((t) => [vkey(t), t]));
  return c.json({
    userId: ref,
    k: K,
    vectorVersion: layout.version,
    results: hits.map((x) => {
      const v = vs.get(x.id);
      const shared = (ts.get(x.id) ?? [])
        .filter((t) => held.has(vkey(t)))
        .map((t) => ({
          key: t.key,
          value: JSON.parse(t.value) as unknown,
          kind: t.kind,
          confidence: [(held.get(vkey(t)) as TraitRow).confidence, t.confidence] as [number, number],
        }))
        .sort((a, b) => b.confidence[0] * b.confidence[1] - a.confidence[0] * a.confidence[1])
        .slice(0, 10);
      return {
        userId: ext.get(x.id) ?? String(x.id),
        similarity: round(x.similarity),
        blocks: Object.fromEntries(layout.blocks.map((b) => [b.name, v ? blockCosine(b.offset, b.dim, mine, v) : null])),
        sharedTraits: shared,
      };
    }),
  });
});
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => process.stdout.write(`raw listening on http://127.0.0.1:${info.port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
