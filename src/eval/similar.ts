/**
 * Similar-user evaluation on PersonaChat speakers (docs/user-vector.md, "Evaluation"):
 * each speaker's utterances are imported as chat messages through the normal ingest path, the
 * pipeline runs (offline extractor, offline embeddings), vectors and the HNSW index are built,
 * and the top-10 neighbours of every speaker are scored by persona overlap against random pairs.
 *
 * Persona overlap(a, b): the speakers' persona facts embedded with the offline embedder; for each
 * fact of a, the best cosine with any fact of b, averaged, symmetrised over (a, b) and (b, a).
 * 1 = the same facts; unrelated personas score around the embedder's background similarity.
 * recall@10: HNSW top-10 against exact (brute-force cosine) top-10 over the same vectors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.ts';
import { openDb } from '../db/connection.ts';
import { sqliteStore } from '../db/store.ts';
import type { ProfileRow } from '../db/stores/profiles.ts';
import { ingestBatch } from '../ingest/ingest.ts';
import { rebuildAllProfiles } from '../profile/profile-stage.ts';
import { cosine } from '../profile/vector.ts';
import { assembleRuntime } from '../runtime/runtime.ts';
import { createProfileServices } from '../similar/services.ts';
import { loadSpeakers, type Speaker } from './traits.ts';

export interface SimilarEvalOptions {
  data: string;
  limit?: number;
  cacheDir?: string;
  k?: number;
  keep?: boolean;
  log?: (m: string) => void;
}

export interface SimilarEvalReport {
  speakers: number;
  with_vectors: number;
  vector_version: string;
  dimension: number;
  k: number;
  neighbour_overlap: number;
  random_overlap: number;
  /** neighbour_overlap − random_overlap */
  lift: number;
  /** the same, excluding the dialogue partner from the neighbours (partners talk about each other's facts) */
  neighbour_overlap_excl_partner: number;
  recall_at_10: number;
  ef: number;
  seconds: { ingest: number; pipeline: number; vectors: number; index: number; eval: number };
  work_dir: string | null;
}

const T0 = Date.UTC(2024, 0, 1);
const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

export async function runSimilarEval(opts: SimilarEvalOptions): Promise<SimilarEvalReport> {
  const log = opts.log ?? (() => {});
  const k = opts.k ?? 10;
  const speakers = loadSpeakers(opts.data).slice(0, opts.limit ?? Infinity);
  const dir = mkdtempSync(join(tmpdir(), 'tl-eval-similar-'));
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    TRAITLENS_DB: join(dir, 'eval.db'),
    TRAITLENS_EMBEDDER: 'offline',
    TRAITLENS_CACHE_DIR: opts.cacheDir ?? join(tmpdir(), 'traitlens-eval-cache'),
    TRAITLENS_DB_SYNCHRONOUS: 'OFF',
    TRAITLENS_WORKER: 'false',
  });
  const db = openDb(config.TRAITLENS_DB, { synchronous: 'OFF' });
  const secs: SimilarEvalReport['seconds'] = { ingest: 0, pipeline: 0, vectors: 0, index: 0, eval: 0 };
  const timed = async <T>(name: keyof SimilarEvalReport['seconds'], fn: () => T | Promise<T>): Promise<T> => {
    const t = performance.now();
    const r = await fn();
    secs[name] = Math.round((performance.now() - t) / 10) / 100;
    return r;
  };
  try {
    log(`importing ${speakers.length} speakers`);
    await timed('ingest', async () => {
      const events = sqliteStore(db).events;
      for (const [i, s] of speakers.entries())
        await ingestBatch(
          events,
          s.utterances.map((text, j) => ({ userId: `pc-${s.user_id}`, type: 'chat_message', text, timestamp: T0 + i * 3_600_000 + j * 60_000, eventId: `pc-${s.user_id}-${j}` })),
        );
    });
    log('pipeline (offline traits, embeddings, vectors)…');
    const { pipeline } = assembleRuntime(sqliteStore(db), config, {
      providers: { chat: null, embedder: createProfileServices(db, config).providers.embedder },
      featuresAsOf: T0 + speakers.length * 3_600_000,
    });
    await timed('pipeline', () => pipeline.createWorker({ concurrency: 4 }).drain());
    const s = createProfileServices(db, config, { providers: pipeline.providers });
    const built = await timed('vectors', () => rebuildAllProfiles(s.deps, { now: T0 + speakers.length * 3_600_000 }));
    await timed('index', () => s.index.rebuild());
    const layout = await s.index.currentLayout();

    return await timed('eval', async () => {
      const idOf = new Map<number, Speaker>();
      const byExt = new Map(speakers.map((sp) => [`pc-${sp.user_id}`, sp]));
      for (const r of await sqliteStore(db).features.externalIds()) {
        const sp = r.externalId === null ? undefined : byExt.get(r.externalId);
        if (sp) idOf.set(r.id, sp);
      }
      const rows: ProfileRow[] = [];
      for await (const r of sqliteStore(db).profiles.ofVersion(layout.version)) rows.push(r);
      // Persona facts, embedded once.
      const factVecs = new Map<string, Float32Array[]>();
      for (const sp of speakers) factVecs.set(sp.user_id, await s.providers.embedder.embed(sp.persona));
      const overlapCache = new Map<string, number>();
      const overlap = (a: Speaker, b: Speaker): number => {
        const key = a.user_id < b.user_id ? `${a.user_id}|${b.user_id}` : `${b.user_id}|${a.user_id}`;
        const hit = overlapCache.get(key);
        if (hit !== undefined) return hit;
        const one = (x: Float32Array[], y: Float32Array[]) => (x.length ? x.reduce((t, fx) => t + Math.max(...y.map((fy) => cosine(fx, fy))), 0) / x.length : 0);
        const fa = factVecs.get(a.user_id) as Float32Array[];
        const fb = factVecs.get(b.user_id) as Float32Array[];
        const v = (one(fa, fb) + one(fb, fa)) / 2;
        overlapCache.set(key, v);
        return v;
      };
      let nSum = 0;
      let nN = 0;
      let xSum = 0;
      let xN = 0;
      let rSum = 0;
      let rN = 0;
      let hits = 0;
      let seed = 42;
      const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
      for (const row of rows) {
        const me = idOf.get(row.userId) as Speaker;
        const approx = (await s.index.search(row.vector, k + 1)).filter((h) => h.label !== row.userId).slice(0, k);
        const exact = rows
          .filter((o) => o.userId !== row.userId)
          .map((o) => ({ id: o.userId, s: cosine(row.vector, o.vector) }))
          .sort((a, b) => b.s - a.s)
          .slice(0, k);
        const exactSet = new Set(exact.map((e) => e.id));
        for (const h of approx) {
          if (exactSet.has(h.label)) hits++;
          const other = idOf.get(h.label) as Speaker;
          const o = overlap(me, other);
          nSum += o;
          nN++;
          if (other.dialog_id !== me.dialog_id) {
            xSum += o;
            xN++;
          }
        }
        for (let i = 0; i < k; i++) {
          const other = rows[Math.floor(rnd() * rows.length)];
          if (!other || other.userId === row.userId) continue;
          rSum += overlap(me, idOf.get(other.userId) as Speaker);
          rN++;
        }
      }
      const neighbour = nSum / Math.max(1, nN);
      const random = rSum / Math.max(1, rN);
      return {
        speakers: speakers.length,
        with_vectors: built.stored,
        vector_version: layout.version,
        dimension: layout.dim,
        k,
        neighbour_overlap: r4(neighbour),
        random_overlap: r4(random),
        lift: r4(neighbour - random),
        neighbour_overlap_excl_partner: r4(xSum / Math.max(1, xN)),
        recall_at_10: r4(hits / Math.max(1, rows.length * k)),
        ef: config.TRAITLENS_HNSW_EF,
        seconds: secs,
        work_dir: opts.keep ? dir : null,
      };
    });
  } finally {
    db.close();
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** `traitlens eval similar` and bench/eval-similar.ts: --data FILE [--limit N] [--cache-dir DIR] [--keep] [--json] */
export async function similarEvalMain(
  argv: string[],
  io: { out: (s: string) => void; err: (s: string) => void } = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: '../shared/datasets/personachat/speakers-dev.jsonl' },
      limit: { type: 'string' },
      'cache-dir': { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const json = values.json === true;
  const r = await runSimilarEval({
    data: values.data as string,
    ...(values.limit ? { limit: Number(values.limit) } : {}),
    ...(values['cache-dir'] ? { cacheDir: values['cache-dir'] } : {}),
    keep: values.keep === true,
    log: (m) => {
      if (!json) io.err(`${m}\n`);
    },
  });
  if (json) io.out(`${JSON.stringify(r, null, 2)}\n`);
  else
    io.out(
      [
        `${r.speakers} speakers, ${r.with_vectors} with vectors (${r.vector_version}, ${r.dimension}-d)`,
        `persona overlap of top-${r.k} neighbours ${r.neighbour_overlap} vs random pairs ${r.random_overlap} (lift ${r.lift}; excluding dialogue partners ${r.neighbour_overlap_excl_partner})`,
        `recall@10 HNSW vs brute force ${r.recall_at_10} (ef ${r.ef})`,
        `seconds: ${Object.entries(r.seconds)
          .map(([a, b]) => `${a} ${b}`)
          .join(', ')}`,
      ].join('\n') + '\n',
    );
  return 0;
}
