import { hash as digestOnce } from 'node:crypto';
import type { Scope } from '../../../core/types.ts';
import type { KeyStore } from '../../../db/stores/keys.ts';

export interface KeyCacheOptions {
  /** How long a verified key is trusted without asking the store again; 0 = no cache. */
  ttlMs: number;
  /** At most this many keys are held (the oldest entry is dropped first). */
  maxEntries?: number;
  /** Injected clock (tests); default `Date.now`. */
  now?: () => number;
}

interface Entry {
  key: { id: string; scopes: Scope[] };
  expires: number;
}

/**
 * A `KeyStore` whose `verify` remembers keys it found valid for `ttlMs`, keyed by the sha256 of the
 * presented secret (the secret itself is not kept). Only valid keys are remembered: an unknown or
 * revoked secret asks the store every time, so a wrong secret is never answered from here. A key
 * revoked through this store (`DELETE /v1/keys/:id`) is dropped at once; one revoked elsewhere (the
 * CLI, another process) keeps working here for at most `ttlMs` (SECURITY.md). Every other method is
 * the store's own.
 */
export function cachedKeyStore(keys: KeyStore, opts: KeyCacheOptions): KeyStore {
  const ttl = opts.ttlMs;
  if (ttl <= 0) return keys;
  const max = opts.maxEntries ?? 1024;
  const now = opts.now ?? Date.now;
  const valid = new Map<string, Entry>();
  // Bumped by each revoke: a verify that was already waiting on the store when a key was revoked
  // must not put that key (back) into the cache.
  let generation = 0;
  return {
    create: (name, scopes, o) => keys.create(name, scopes, o),
    touch: (id, t) => keys.touch(id, t),
    list: (o) => keys.list(o),
    async revoke(id, t) {
      try {
        await keys.revoke(id, t);
      } finally {
        generation++;
        for (const [hash, e] of valid) if (e.key.id === id) valid.delete(hash);
      }
    },
    async verify(secret) {
      const hash = digestOnce('sha256', secret, 'base64');
      const t = now();
      const hit = valid.get(hash);
      if (hit) {
        if (t < hit.expires) return hit.key;
        valid.delete(hash);
      }
      const seen = generation;
      const key = await keys.verify(secret);
      if (!key || seen !== generation) return key;
      if (valid.size >= max) {
        // Oldest first (insertion order); also clears expired entries no one asks for again.
        const oldest = valid.keys().next().value;
        if (oldest !== undefined) valid.delete(oldest);
      }
      // Frozen: every request that hits shares this object.
      valid.set(hash, { key: Object.freeze({ id: key.id, scopes: Object.freeze([...key.scopes]) as Scope[] }), expires: t + ttl });
      return key;
    },
  };
}
