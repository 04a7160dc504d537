/**
 * An HNSW (hnswlib-node, cosine) index over user vectors, labels = internal user ids, persisted as
 * `<path>` + `<path>.json` (the manifest). Writes are atomic (temp file + rename, index first, then
 * the manifest that carries the index file's size and sha1), so a crash between the two renames
 * leaves a pair that fails the check and is rebuilt rather than trusted.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import hnswlib from 'hnswlib-node';

const { HierarchicalNSW } = hnswlib;
type Hnsw = InstanceType<typeof HierarchicalNSW>;

export const INDEX_FORMAT = 1;

export interface IndexParams {
  m: number;
  efConstruction: number;
  ef: number;
}

export interface Manifest {
  format: number;
  library: string;
  space: 'cosine';
  vectorVersion: string;
  dimension: number;
  /** live (searchable) vectors */
  count: number;
  maxElements: number;
  M: number;
  efConstruction: number;
  ef: number;
  /** labels are internal user ids (users.id) */
  labels: 'users.id';
  /** labels marked deleted whose slot may still exist (replaceDeleted may have reused some) */
  deleted: number[];
  deletedSlots: number;
  /** the newest user_profiles.updated_at applied */
  syncedAt: number;
  /**
   * [user id, updated_at] of the rows inside the sync look-back window already applied: with
   * `syncedAt` this is the exact watermark, so a server starting on a current file re-applies
   * nothing, while a row committed later with an equal or older updated_at is still picked up.
   * (Absent in files written before it existed: the window is then re-read once.)
   */
  recent?: [number, number][];
  indexBytes: number;
  indexSha1: string;
  savedAt: string;
}

export interface Hit {
  label: number;
  /** cosine similarity, 1 = same direction */
  similarity: number;
}

const sha1File = (path: string): string => {
  const h = createHash('sha1');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
};

/** The sha1 of a file computed on a worker thread (the index file is ~1 GB at 1M users: seconds of CPU). */
const HASH_WORKER = `const { createHash } = require('node:crypto');
const { createReadStream } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const h = createHash('sha1');
createReadStream(workerData, { highWaterMark: 1 << 20 })
  .on('data', (d) => h.update(d))
  .on('end', () => parentPort.postMessage(h.digest('hex')))
  .on('error', (e) => { throw e; });`;

function sha1FileOffThread(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const w = new Worker(HASH_WORKER, { eval: true, workerData: path });
    w.once('message', (digest: string) => resolve(digest));
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`hashing ${path}: worker exited ${code}`));
    });
  });
}

const fsyncDir = (path: string) => {
  const fd = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
};

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

let tmpSeq = 0;
/** A temp name beside `path`, unique in this process (a background save and a final one may overlap). */
const tmpName = (path: string) => `${path}.tmp-${process.pid}-${++tmpSeq}`;

function atomicWrite(path: string, write: (tmp: string) => void): void {
  const tmp = tmpName(path);
  try {
    write(tmp);
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** A background save under way: `written` when the graph has been serialised (the index may change again), `done` when the files are in place. */
export interface PendingSave {
  written: Promise<void>;
  /** the manifest written, or null when the save was superseded by a newer one and dropped */
  done: Promise<Manifest | null>;
}

/**
 * The live labels as a bitmap (bit L = label L; labels are users.id, dense from 1): 125 KB at 1M
 * users in an ArrayBuffer the garbage collector never walks, where a Set of 1M numbers was a
 * ~25 MB table on the JS heap that every major GC marked.
 */
class LabelSet {
  private bits = new Uint32Array(1024);
  size = 0;

  has(label: number): boolean {
    const w = label >>> 5;
    return w < this.bits.length && ((this.bits[w] as number) & (1 << (label & 31))) !== 0;
  }

  add(label: number): void {
    if (!Number.isInteger(label) || label < 0 || label > 0xffffffff) throw new Error(`label ${label} is not a uint32`);
    const w = label >>> 5;
    if (w >= this.bits.length) {
      const grown = new Uint32Array(Math.max(w + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    const m = 1 << (label & 31);
    if (((this.bits[w] as number) & m) === 0) {
      this.bits[w] = (this.bits[w] as number) | m;
      this.size++;
    }
  }

  delete(label: number): void {
    if (!this.has(label)) return;
    const w = label >>> 5;
    this.bits[w] = (this.bits[w] as number) & ~(1 << (label & 31));
    this.size--;
  }

  *values(): IterableIterator<number> {
    for (let w = 0; w < this.bits.length; w++) {
      const word = this.bits[w] as number;
      if (word === 0) continue;
      for (let b = 0; b < 32; b++) if (word & (1 << b)) yield w * 32 + b;
    }
  }
}

export class VectorIndex {
  readonly dim: number;
  readonly params: IndexParams;
  readonly vectorVersion: string;
  private hnsw: Hnsw;
  private live = new LabelSet();
  /** labels marked deleted, possibly already evicted by a replaceDeleted add */
  private deleted = new Set<number>();
  private deletedSlots = 0;
  syncedAt = 0;
  /** rows inside the look-back window already applied (user → updated_at); saved in the manifest */
  recent = new Map<number, number>();

  private constructor(dim: number, params: IndexParams, vectorVersion: string, hnsw: Hnsw) {
    this.dim = dim;
    this.params = params;
    this.vectorVersion = vectorVersion;
    this.hnsw = hnsw;
    this.hnsw.setEf(params.ef);
  }

  static create(dim: number, params: IndexParams, vectorVersion: string, capacity = 1024): VectorIndex {
    const h = new HierarchicalNSW('cosine', dim);
    h.initIndex({ maxElements: Math.max(16, capacity), m: params.m, efConstruction: params.efConstruction, randomSeed: 100, allowReplaceDeleted: true });
    return new VectorIndex(dim, params, vectorVersion, h);
  }

  /**
   * Loads a saved index when its manifest matches what is expected (format, version, dimension,
   * parameters, file checksum); otherwise returns why not, and the caller rebuilds.
   */
  static load(path: string, expect: { vectorVersion: string; dim: number; params: IndexParams }): { index: VectorIndex } | { reason: string } {
    const mpath = `${path}.json`;
    if (!existsSync(path) || !existsSync(mpath)) return { reason: 'missing' };
    let m: Manifest;
    try {
      m = JSON.parse(readFileSync(mpath, 'utf8')) as Manifest;
    } catch {
      return { reason: 'manifest unreadable' };
    }
    if (m.format !== INDEX_FORMAT || m.space !== 'cosine') return { reason: 'other format' };
    if (m.vectorVersion !== expect.vectorVersion) return { reason: 'other vector version' };
    if (m.dimension !== expect.dim) return { reason: 'other dimension' };
    if (m.M !== expect.params.m || m.efConstruction !== expect.params.efConstruction) return { reason: 'other build parameters' };
    const size = statSync(path).size;
    if (size !== m.indexBytes || sha1File(path) !== m.indexSha1) return { reason: 'corrupt (checksum mismatch)' };
    const h = new HierarchicalNSW('cosine', m.dimension);
    try {
      h.readIndexSync(path, true);
    } catch (err) {
      return { reason: `corrupt (${(err as Error).message})` };
    }
    if (h.getNumDimensions() !== m.dimension || h.getCurrentCount() !== m.count + m.deletedSlots) return { reason: 'corrupt (counts differ)' };
    const ix = new VectorIndex(m.dimension, expect.params, m.vectorVersion, h);
    ix.deleted = new Set(m.deleted);
    ix.deletedSlots = m.deletedSlots;
    for (const l of h.getIdsList()) if (!ix.deleted.has(l)) ix.live.add(l);
    if (ix.live.size !== m.count) return { reason: 'corrupt (labels differ)' };
    ix.syncedAt = m.syncedAt;
    ix.recent = new Map(Array.isArray(m.recent) ? m.recent : []);
    return { index: ix };
  }

  get size(): number {
    return this.live.size;
  }
  has(label: number): boolean {
    return this.live.has(label);
  }
  labels(): IterableIterator<number> {
    return this.live.values();
  }
  setEf(ef: number): void {
    this.hnsw.setEf(ef);
  }

  /** Adds or replaces a vector. Grows the index as needed; reuses deleted slots (replaceDeleted). */
  upsert(label: number, v: Float32Array | number[]): void {
    if (v.length !== this.dim) throw new Error(`vector dimension ${v.length} != index dimension ${this.dim}`);
    const arr = Array.from(v);
    if (this.live.has(label)) {
      this.hnsw.addPoint(arr, label, false);
      return;
    }
    if (this.deleted.has(label)) {
      this.deleted.delete(label);
      try {
        // Still in the graph (not evicted by a replacement): bring it back and update in place.
        this.hnsw.unmarkDelete(label);
        this.deletedSlots--;
        this.hnsw.addPoint(arr, label, false);
        this.live.add(label);
        return;
      } catch {
        // Its slot was reused: add as new below.
      }
    }
    if (this.deletedSlots > 0) {
      this.hnsw.addPoint(arr, label, true);
      this.deletedSlots--;
    } else {
      if (this.hnsw.getCurrentCount() >= this.hnsw.getMaxElements()) this.hnsw.resizeIndex(Math.ceil(this.hnsw.getMaxElements() * 1.5) + 16);
      this.hnsw.addPoint(arr, label, false);
    }
    this.live.add(label);
  }

  remove(label: number): boolean {
    if (!this.live.has(label)) return false;
    // markDelete only flags the slot: overwrite the vector first so an erased user's data does not
    // stay in memory or in the next saved file.
    this.hnsw.addPoint(this.placeholder(), label, false);
    this.hnsw.markDelete(label);
    this.live.delete(label);
    this.deleted.add(label);
    this.deletedSlots++;
    return true;
  }

  private placeholder(): number[] {
    const v = new Array<number>(this.dim).fill(0);
    v[0] = 1;
    return v;
  }

  /**
   * Nearest neighbours by cosine; `k` is capped at the live count. No filter callback: hnswlib-node
   * would call into JS for every candidate the search visits; callers over-fetch and drop what
   * they exclude (similar.ts `nearest`).
   */
  search(v: Float32Array | number[], k: number): Hit[] {
    const n = Math.min(k, this.live.size);
    if (n <= 0) return [];
    const r = this.hnsw.searchKnn(Array.isArray(v) ? v : Array.from(v), n);
    return r.neighbors.map((label, i) => ({ label, similarity: 1 - (r.distances[i] as number) }));
  }

  /** The manifest of the index as it is now, without the file's size and checksum. */
  private manifestFields(): Omit<Manifest, 'indexBytes' | 'indexSha1' | 'savedAt'> {
    return {
      format: INDEX_FORMAT,
      library: 'hnswlib-node@3',
      space: 'cosine',
      vectorVersion: this.vectorVersion,
      dimension: this.dim,
      count: this.live.size,
      maxElements: this.hnsw.getMaxElements(),
      M: this.params.m,
      efConstruction: this.params.efConstruction,
      ef: this.params.ef,
      labels: 'users.id',
      deleted: [...this.deleted],
      deletedSlots: this.deletedSlots,
      syncedAt: this.syncedAt,
      recent: [...this.recent],
    };
  }

  /** Writes the file pair on this thread (start-up rebuild, shutdown). */
  save(path: string): Manifest {
    const fields = this.manifestFields();
    atomicWrite(path, (tmp) => this.hnsw.writeIndexSync(tmp));
    const manifest: Manifest = { ...fields, indexBytes: statSync(path).size, indexSha1: sha1File(path), savedAt: new Date().toISOString() };
    atomicWrite(`${path}.json`, (tmp) => writeFileSync(tmp, JSON.stringify(manifest)));
    fsyncDir(path);
    return manifest;
  }

  /**
   * The same file pair, written off the serving thread: hnswlib-node's async `writeIndex`
   * serialises the graph on a libuv thread, the fsyncs run on the thread pool and the sha1 on a
   * worker thread; the event loop only starts them and renames. The manifest describes the index
   * as it is when the save starts, so the caller must not change the index until `written`
   * resolves (the graph is read while it is serialised; searches may run meanwhile).
   * Crash-safe like `save`: temp files, fsync, rename of the index and then of the manifest that
   * carries its size and sha1, then fsync of the folder; a crash at any point leaves either the
   * previous pair or a pair that fails its check. `superseded()` is asked just before the renames:
   * when a newer save already landed (e.g. the final one at shutdown), this one drops its temp
   * files instead of replacing newer files with older ones.
   */
  saveAsync(path: string, superseded: () => boolean = () => false): PendingSave {
    const fields = this.manifestFields();
    const tmp = tmpName(path);
    const mtmp = tmpName(`${path}.json`);
    const written = this.hnsw.writeIndex(tmp).then(() => undefined);
    const done = (async (): Promise<Manifest | null> => {
      try {
        await written;
        await fsyncFile(tmp);
        const [{ size }, sha1] = await Promise.all([stat(tmp), sha1FileOffThread(tmp)]);
        const manifest: Manifest = { ...fields, indexBytes: size, indexSha1: sha1, savedAt: new Date().toISOString() };
        const fh = await open(mtmp, 'w');
        try {
          await fh.writeFile(JSON.stringify(manifest));
          await fh.sync();
        } finally {
          await fh.close();
        }
        if (superseded()) return null;
        // One synchronous step, so no other save of this process can land between the two renames.
        renameSync(tmp, path);
        renameSync(mtmp, `${path}.json`);
        fsyncDir(path);
        return manifest;
      } finally {
        await Promise.all([rm(tmp, { force: true }), rm(mtmp, { force: true })]);
      }
    })();
    return { written, done };
  }
}
