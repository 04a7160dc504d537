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
 */
import { serve } from '@hono/node-server';
import Database from 'better-sqlite3';
import hnswlib from 'hnswlib-node';
import { Hono } from 'hono';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { db: { type: 'string' }, index: { type: 'string' }, ef: { type: 'string', default: '240' }, layout: { type: 'string' } },
});
const layout = JSON.parse(values.layout as string) as { version: string; blocks: { name: string; offset: number; dim: number }[] };
const dim = layout.blocks.reduce((n, b) => n + b.dim, 0);
const h = new hnswlib.HierarchicalNSW('cosine', dim);
h.readIndexSync(values.index as string, true);
h.setEf(Number(values.ef));

const K = 10;
const db = new Database(values.db as string, { readonly: true });
db.pragma('cache_size = -131072');
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
