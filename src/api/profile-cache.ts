import type { MetricSource } from '../db/metric-sources.ts';
import type { UserRow } from '../db/stores/users.ts';
import { etagOf } from './middleware/etag/index.ts';

const utf8 = new TextEncoder();

export interface ProfileCacheOptions {
  /** Memory for cached answers (their JSON as UTF-8 bytes); 0 = no cache. */
  maxBytes: number;
  /** An answer is rebuilt, and one no one asks for dropped, this long after it was built. */
  ttlMs: number;
  /** Injected clock (tests); default `Date.now`. */
  now?: () => number;
}

export interface CachedAnswer {
  /**
   * The JSON answer as UTF-8 bytes, each in a buffer of its own (not a slice of Node's shared pool,
   * which a long-lived entry would pin): served as it is, with no encoding per hit, and held off the
   * V8 heap, so cached answers cost the garbage collector nothing.
   */
  body: Uint8Array<ArrayBuffer>;
  etag: string;
}

interface Entry extends CachedAnswer {
  row: UserRow;
  builtAt: number;
  bytes: number;
}

/**
 * The JSON answers of recent profile reads (`GET /v1/users/:id`), per reference (external id or
 * anonymous alias), each beside the users row it was built from. A hit needs the row as it is in the
 * database now: the caller reads it (one indexed statement instead of the four of a profile read,
 * and no JSON to build or hash) and the answer is served only when every column is unchanged. That
 * holds across processes because every write to what the answer shows changes that row: ingestion
 * writes the counters (event counts by type move with `event_count`; a merge or an erasure of events
 * bumps `profile_version`), attribute and consent changes write the row itself, and triggers bump
 * `users.data_version` on any write to the user's identities or traits (db/ 0009, db/pg 0007). So a hit is as fresh as a read; the cache saves work, never correctness.
 * Bounded by the size of the answers in bytes (least recently served dropped first) and by age: `sweep` drops
 * what is older than the TTL, so an erased user's answer leaves memory within it (SECURITY.md).
 */
export class ProfileCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private lastSweep = 0;
  private hits = 0;
  private misses = 0;
  private readonly now: () => number;

  constructor(private readonly opts: ProfileCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.opts.maxBytes > 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The answer for `ref` if it was built from exactly `row` (same user, every column equal) and is within the TTL. */
  get(ref: string, row: UserRow): CachedAnswer | undefined {
    const e = this.entries.get(ref);
    if (!e || !sameRow(e.row, row) || this.now() - e.builtAt >= this.opts.ttlMs) {
      if (e) this.drop(ref, e);
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Most recently served last: eviction takes from the front.
    this.entries.delete(ref);
    this.entries.set(ref, e);
    return e;
  }

  /**
   * Remembers the answer `text` built from `row` for `ref`; returns it as it is served (its bytes and
   * ETag, computed when the cache is off too).
   */
  set(ref: string, row: UserRow, text: string): CachedAnswer {
    const body = utf8.encode(text);
    const answer = { body, etag: etagOf(body) };
    if (!this.enabled) return answer;
    const old = this.entries.get(ref);
    if (old) this.drop(ref, old);
    const bytes = body.byteLength + ref.length + 256;
    if (bytes > this.opts.maxBytes) return answer;
    // A walk over every entry, so at most a few times per TTL (the server's timer sweeps too).
    if (this.now() - this.lastSweep >= this.opts.ttlMs / 4) this.sweep();
    for (const [k, e] of this.entries) {
      if (this.bytes + bytes <= this.opts.maxBytes) break;
      this.drop(k, e);
    }
    this.entries.set(ref, { row, ...answer, bytes, builtAt: this.now() });
    this.bytes += bytes;
    return answer;
  }

  /** Drops the answer for `ref` (the reference names nobody now). */
  forget(ref: string): void {
    const e = this.entries.get(ref);
    if (e) this.drop(ref, e);
  }

  /** Drops every answer about the user with internal id `userId` (after an erasure here). */
  forgetUser(userId: number): void {
    for (const [k, e] of this.entries) if (e.row.id === userId) this.drop(k, e);
  }

  /** Drops the answers built longer than the TTL ago. */
  sweep(): void {
    this.lastSweep = this.now();
    const oldest = this.lastSweep - this.opts.ttlMs;
    for (const [k, e] of this.entries) if (e.builtAt <= oldest) this.drop(k, e);
  }

  /** For GET /metrics: reads answered from the cache and not, and what it holds. */
  metricSources(): MetricSource[] {
    return [
      {
        name: 'traitlens_profile_cache_reads_total',
        help: 'Profile reads (GET /v1/users/:id) answered from this server’s profile cache (hit) or read from the database (miss).',
        type: 'counter',
        labelNames: ['result'],
        collect: () => [
          { labels: { result: 'hit' }, value: this.hits },
          { labels: { result: 'miss' }, value: this.misses },
        ],
      },
      { name: 'traitlens_profile_cache_bytes', help: 'Memory held by cached profile answers (their JSON bytes, about).', type: 'gauge', collect: () => this.bytes },
    ];
  }

  private drop(ref: string, e: Entry): void {
    this.entries.delete(ref);
    this.bytes -= e.bytes;
  }
}

/** Every column equal (the row as the store returns it; a new column takes part without a change here). */
function sameRow(a: UserRow, b: UserRow): boolean {
  const keys = Object.keys(a) as (keyof UserRow)[];
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}
