/**
 * The index owner (SQLite). Ownership rule (docs/user-vector.md): workers (in the server or a
 * separate `traitlens worker`) only write vectors through the ProfileStore; exactly one process
 * per database — the API server — holds the HNSW index in memory, pulls changes from the store by
 * `updated_at` (on a timer and before every query), and writes the index file. `traitlens
 * reindex` rebuilds vectors and the file offline; a running server notices the new vector version
 * and reloads the file (or rebuilds). Deletions (erasure, consent withdrawn) are found by the
 * periodic count check, which falls back to a full id diff. (On PostgreSQL, pgvector answers in
 * SQL and no process holds an index: see `VectorSearch` in similar.ts.)
 */
import type { Store } from '../db/store.ts';
import type { UserDataSection } from '../db/user-data.ts';
import type { Config } from '../core/config.ts';
import { currentLayout, type ProfileDeps } from '../profile/profile-stage.ts';
import type { VectorLayout } from '../profile/vector.ts';
import { VectorIndex, type Hit, type IndexParams, type PendingSave } from './hnsw-index.ts';

/** Rows committed slightly out of updated_at order (another process's clock and commit) are re-read. */
const LOOKBACK_MS = 5000;
/** Every Nth timer sync also compares counts with SQLite (a cheap way to notice deletions). */
const FULL_CHECK_EVERY = 10;
/** Rows per slice of the timer's deletion count (`ProfileStore.countSlice`): ~50 index pages, 0.5–1 ms at 1M, the longest 4.7 ms under load (bench/similar-raw.ts --pieces). */
const COUNT_SLICE = 10_000;

export interface IndexOptions {
  path: string;
  params: IndexParams;
  syncMs: number;
  saveMs: number;
  /** rows per slice of the timer's deletion count (default 10,000; tests use small slices) */
  countSlice?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export const indexPathFor = (config: Config, dbPath: string): string => config.TRAITLENS_INDEX_PATH ?? `${dbPath}.hnsw`;

export const indexOptionsFromConfig = (config: Config, dbPath: string): IndexOptions => ({
  path: indexPathFor(config, dbPath),
  params: { m: config.TRAITLENS_HNSW_M, efConstruction: config.TRAITLENS_HNSW_EF_CONSTRUCTION, ef: config.TRAITLENS_HNSW_EF },
  syncMs: config.TRAITLENS_INDEX_SYNC_MS,
  saveMs: config.TRAITLENS_INDEX_SAVE_MS,
});

export interface SyncReport {
  upserted: number;
  removed: number;
  rebuilt: boolean;
  reason?: string;
}

export class ProfileIndex {
  readonly deps: ProfileDeps;
  readonly opts: IndexOptions;
  private index: VectorIndex | null = null;
  private layoutCache: VectorLayout | null = null;
  private dirty = false;
  private lastSave = 0;
  private ticks = 0;
  private timer: NodeJS.Timeout | null = null;
  /** why the last open rebuilt instead of loading (for logs and tests) */
  lastOpen: { loaded: boolean; reason?: string } | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  /** a queued, not yet started incremental sync: concurrent queries share it */
  private pendingSync: Promise<SyncReport> | null = null;
  /** the queued sync is a query's (trusts the cached layout) */
  private pendingSyncQuery = false;
  /** the graph is being serialised by a background save: nothing may change the index until this settles */
  private writing: Promise<void> | null = null;
  /** a background save under way (until its files are renamed into place or dropped) */
  private saving: Promise<void> | null = null;
  /** saves started / the newest one whose files landed: an older save finishing later is dropped */
  private saveSeq = 0;
  private landedSeq = 0;
  private closed = false;

  constructor(deps: ProfileDeps, opts: IndexOptions) {
    this.deps = deps;
    this.opts = opts;
  }

  /**
   * This index's per-user data, for the erasure/export list the composition root assembles: an
   * erasure in this process drops the vector from the index (overwritten, marked deleted) and saves
   * at once; other processes' erasures arrive through the periodic count check.
   */
  dataSection(): UserDataSection {
    return {
      name: 'hnsw_index',
      tables: [],
      derived: true,
      export: async (userId) => ({ indexed: this.index?.has(userId) ?? false }),
      afterCommit: async (userId) => {
        const removed = await this.serial(async () => {
          if (!this.index?.has(userId)) return 0;
          await this.quiesce();
          this.index.remove(userId);
          this.dirty = true;
          return 1;
        });
        // The file must not keep the erased vector: wait for a save that started before the removal, then save.
        if (removed) await this.flush();
        return removed;
      },
    };
  }

  get store(): Store {
    return this.deps.store;
  }

  /** The layout of current vectors (never fits a scaler: only the pipeline and reindex do). */
  async layout(): Promise<VectorLayout> {
    return (this.layoutCache = (await currentLayout(this.deps, { fit: false })).layout);
  }

  /** One index operation at a time: an await inside one must not let another see it half done. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Loads the file when it matches the store's current version, else rebuilds from the store; then catches up. */
  open(): Promise<SyncReport> {
    return this.serial(() => this.openNow());
  }

  private async openNow(): Promise<SyncReport> {
    // A background save of the index being replaced must not land over the file about to be loaded.
    await this.settle();
    const layout = await this.layout();
    const r = VectorIndex.load(this.opts.path, { vectorVersion: layout.version, dim: layout.dim, params: this.opts.params });
    if ('index' in r) {
      this.index = r.index;
      this.lastOpen = { loaded: true };
      return this.syncNow({ full: true });
    }
    this.lastOpen = { loaded: false, reason: r.reason };
    this.opts.log?.('rebuilding the vector index from the store', { reason: r.reason, path: this.opts.path });
    return { ...(await this.rebuildNow()), reason: r.reason };
  }

  /** A fresh index from every current-version row in the store, written to disk. */
  rebuild(): Promise<SyncReport> {
    return this.serial(() => this.rebuildNow());
  }

  private async rebuildNow(): Promise<SyncReport> {
    const layout = await this.layout();
    const profiles = this.store.profiles;
    const since = await profiles.maxUpdatedAt();
    const ix = VectorIndex.create(layout.dim, this.opts.params, layout.version, (await profiles.count(layout.version)) + 16);
    let n = 0;
    for await (const row of profiles.ofVersion(layout.version)) {
      ix.upsert(row.userId, row.vector);
      if (row.updatedAt >= since - LOOKBACK_MS) ix.recent.set(row.userId, row.updatedAt);
      n++;
    }
    ix.syncedAt = since;
    this.index = ix;
    this.save(true);
    return { upserted: n, removed: 0, rebuilt: true };
  }

  private async ensure(): Promise<VectorIndex> {
    if (!this.index) await this.open();
    return this.index as unknown as VectorIndex;
  }

  /**
   * Applies the store's changes since the last sync; `full` also reconciles ids (deletions).
   * `query` (the sync before every query): the cached layout is trusted unless a change carries
   * another vector version, so a steady-state query reads one small index range and nothing else
   * (re-reading the layout meant the behaviour scaler's meta row and its JSON on every query); the
   * timer's syncs re-read it.
   */
  sync(opts: { full?: boolean; query?: boolean } = {}): Promise<SyncReport> {
    // A queued query sync does not stand in for the timer's (it may skip the layout check).
    if (!opts.full && this.pendingSync && (opts.query || !this.pendingSyncQuery)) return this.pendingSync;
    const query = !opts.full && opts.query === true;
    const p: Promise<SyncReport> = this.serial(() => {
      if (this.pendingSync === p) this.pendingSync = null;
      return this.index ? this.syncNow({ ...opts, query }) : this.openNow();
    });
    if (!opts.full) {
      this.pendingSync = p;
      this.pendingSyncQuery = query;
    }
    return p;
  }

  private async syncNow(opts: { full?: boolean; query?: boolean }): Promise<SyncReport> {
    if (!this.index) return this.openNow();
    const profiles = this.store.profiles;
    // (One operation at a time: the index cannot change under the awaits below.)
    const ix = this.index;
    // The look-back re-reads recent rows (another process may commit out of timestamp order); the
    // index's `recent` map makes each (user, updated_at) count once, so steady-state queries apply
    // nothing; it is saved with the file, so neither does a start on a current file.
    const changes = (await profiles.changesSince(Math.max(0, ix.syncedAt - LOOKBACK_MS))).filter((c) => ix.recent.get(c.userId) !== c.updatedAt);
    const cached = opts.query ? this.layoutCache : null;
    const layout = cached && changes.every((c) => c.version === cached.version) ? cached : await this.layout();
    if (ix.vectorVersion !== layout.version || ix.dim !== layout.dim) {
      // Vectors were rebuilt with another composition (reindex, new weights): load its file or rebuild.
      this.index = null;
      return this.openNow();
    }
    let upserted = 0;
    let removed = 0;
    let newest = ix.syncedAt;
    const fresh = await profiles.getMany(changes.filter((c) => c.version === layout.version).map((c) => c.userId));
    // Changes wait for a background save to finish reading the graph (queries do not: they only read it).
    if (changes.length) await this.quiesce();
    for (const c of changes) {
      const row = fresh.get(c.userId);
      if (row && row.version === layout.version && row.dim === ix.dim) {
        ix.upsert(c.userId, row.vector);
        upserted++;
      } else if (ix.remove(c.userId)) removed++;
      ix.recent.set(c.userId, c.updatedAt);
      newest = Math.max(newest, c.updatedAt);
    }
    for (const [id, at] of ix.recent) if (at < newest - LOOKBACK_MS) ix.recent.delete(id);
    ix.syncedAt = newest;
    if (opts.full && (await this.countsDiffer(layout.version, ix.size))) {
      const ids = new Set(await profiles.idsOfVersion(layout.version));
      const rows = await profiles.getMany([...ids].filter((id) => !ix.has(id)));
      await this.quiesce();
      for (const l of [...ix.labels()]) if (!ids.has(l) && ix.remove(l)) removed++;
      for (const [id, row] of rows) {
        if (ix.has(id)) continue;
        ix.upsert(id, row.vector);
        upserted++;
      }
    }
    if (upserted || removed) this.dirty = true;
    this.maybeSave();
    return { upserted, removed, rebuilt: false };
  }

  /**
   * The periodic deletion check. `count(*)` is answered from the smallest index (0.2 ms at 100k
   * rows), `count(*) WHERE version = ?` by reading every row (0.25–0.5 s at 100k, seconds at 1M, on
   * the serving thread): the exact count runs only when the cheap one differs, i.e. when rows of
   * another version exist (a reindex under way) or rows went. (Rows of another version that exactly
   * offset deletions hide them until either count moves.)
   */
  private async countsDiffer(version: string, size: number): Promise<boolean> {
    const profiles = this.store.profiles;
    return (await profiles.count()) !== size && (await profiles.count(version)) !== size;
  }

  /** Starts the periodic sync (the server calls this); unref'd so it never holds the process open. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.periodicSync(++this.ticks % FULL_CHECK_EVERY === 0).catch((err: unknown) => this.opts.log?.('vector index sync failed', { err: String(err) }));
    }, this.opts.syncMs);
    this.timer.unref();
  }

  /**
   * The timer's sync; `check` also looks for deletions. The store's rows are first counted in
   * slices, outside the one-operation-at-a-time chain and with a turn of the event loop between
   * slices, so neither requests nor queries wait for it (one count(*) at 1M held the serving thread
   * 30 ms to 0.4 s every 20 s); only when that count differs from the index does the full sync
   * (exact counts, then the id diff) run, as before.
   */
  async periodicSync(check: boolean): Promise<SyncReport> {
    if (!check) return this.sync();
    const counted = this.index ? await this.countSliced() : null;
    // (Read after the count: a reload may have replaced or dropped the index meanwhile.)
    return this.sync({ full: counted === null || counted !== this.index?.size });
  }

  private async countSliced(): Promise<number> {
    const limit = this.opts.countSlice ?? COUNT_SLICE;
    let n = 0;
    for (let after = -1; ; ) {
      const s = await this.store.profiles.countSlice(after, limit);
      n += s.n;
      if (s.next === null) return n;
      after = s.next;
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Waits until no background save is reading the graph (call right before changing the index, with no await in between). */
  private async quiesce(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Waits until no background save is under way. */
  private async settle(): Promise<void> {
    while (this.saving) await this.saving;
  }

  /** Periodic save: in the background (the serving thread only starts it), at most every saveMs, one at a time. */
  private maybeSave(): void {
    if (this.dirty && !this.saving && !this.closed && Date.now() - this.lastSave >= this.opts.saveMs) this.saveInBackground();
  }

  /** Starts a background save of the index as it is now (`this.saving` until it lands); resolves to false when it failed. */
  private saveInBackground(): Promise<boolean> {
    const ix = this.index as VectorIndex;
    const seq = ++this.saveSeq;
    this.dirty = false;
    this.lastSave = Date.now();
    let pending: PendingSave;
    try {
      pending = ix.saveAsync(this.opts.path, () => this.landedSeq > seq);
    } catch (err) {
      this.dirty = true;
      this.opts.log?.('saving the vector index failed', { err: String(err) });
      return Promise.resolve(false);
    }
    const writing: Promise<void> = pending.written.then(
      () => {
        if (this.writing === writing) this.writing = null;
      },
      () => {
        if (this.writing === writing) this.writing = null;
      },
    );
    this.writing = writing;
    const saved: Promise<boolean> = pending.done.then(
      (m) => {
        if (m) this.landedSeq = Math.max(this.landedSeq, seq);
        if (this.saving === saving) this.saving = null;
        return true;
      },
      (err: unknown) => {
        // Not saved: the next sync tries again (a crash meanwhile loads the previous file and catches up).
        if (this.saving === saving) this.saving = null;
        if (!this.closed) this.dirty = true;
        this.opts.log?.('saving the vector index failed', { err: String(err) });
        return false;
      },
    );
    const saving: Promise<void> = saved.then(() => undefined);
    this.saving = saving;
    return saved;
  }

  /** Waits for saves under way, then saves pending changes in the background and waits for that; throws when it failed. */
  async flush(): Promise<void> {
    await this.settle();
    if (!this.index || !this.dirty || this.closed) return;
    // A failed save is logged and retried by the next sync; the caller (an erasure) must know too.
    if (!(await this.saveInBackground())) throw new Error('saving the vector index failed');
  }

  /** Writes the files on this thread (after a rebuild, at shutdown); a background save still under way is superseded. */
  save(force = false): void {
    if (!this.index || (!this.dirty && !this.saving && !force)) return;
    const seq = ++this.saveSeq;
    this.index.save(this.opts.path);
    this.landedSeq = Math.max(this.landedSeq, seq);
    this.dirty = false;
    this.lastSave = Date.now();
  }

  /** Stops the timer and writes pending changes (also those a background save still under way was writing). */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      this.save();
    } catch (err) {
      this.opts.log?.('saving the vector index failed', { err: String(err) });
    }
  }

  /** Resolves when no background save is under way (tests, tools). */
  whenSaved(): Promise<void> {
    return this.settle();
  }

  /**
   * Synced (cheaply: changes since the last sync) before answering, except while a background save
   * is writing the graph: changes wait for that (seconds at 1M), a query does not, so it answers
   * from the index as it is and the changes apply once the graph is written.
   */
  async search(v: Float32Array, k: number): Promise<Hit[]> {
    if (!this.writing) await this.sync({ query: true });
    return (await this.ensure()).search(v, k);
  }

  /** live vectors (0 before the first open) */
  get size(): number {
    return this.index?.size ?? 0;
  }

  has(label: number): boolean {
    return this.index?.has(label) ?? false;
  }

  async currentLayout(): Promise<VectorLayout> {
    return this.layoutCache ?? this.layout();
  }

  async setEf(ef: number): Promise<void> {
    (await this.ensure()).setEf(ef);
  }
}
