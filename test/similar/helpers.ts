import { loadConfig, type Config } from '../../src/core/config.ts';
import type { Store } from '../../src/db/store.ts';
import { profileDepsFromConfig } from '../../src/profile/profile-stage.ts';
import { vectorLayout, weightsFromConfig, type VectorLayout } from '../../src/profile/vector.ts';
import { OfflineEmbedder } from '../../src/providers/index.ts';
import { indexOptionsFromConfig, ProfileIndex } from '../../src/similar/profile-index.ts';
import { mulberry32 } from '../../src/core/random.ts';

/** Behaviour weight 0: the layout (text + traits, 200-d) needs no fitted scaler, so tests can write vectors directly. */
export function indexConfig(dbPath: string, env: Record<string, string> = {}): Config {
  return loadConfig({ LOG_LEVEL: 'silent', TRAITLENS_DB: dbPath, TRAITLENS_VECTOR_W_BEHAVIOUR: '0', TRAITLENS_INDEX_SAVE_MS: '0', TRAITLENS_WORKER: 'false', ...env });
}

export const embedder = (config: Config) => new OfflineEmbedder({ cacheDir: config.TRAITLENS_CACHE_DIR, removePrincipalComponent: config.TRAITLENS_OFFLINE_REMOVE_PC });

export function layoutFor(config: Config): VectorLayout {
  return vectorLayout(embedder(config), null, weightsFromConfig(config));
}

/** The index owner over `store`, its file beside the database (`config.TRAITLENS_DB`). */
export function openIndex(store: Store, config: Config): ProfileIndex {
  return new ProfileIndex(profileDepsFromConfig(store, embedder(config), config), indexOptionsFromConfig(config, config.TRAITLENS_DB));
}

// mulberry32: full period, so generated vectors never repeat (an LCG's short cycles broke recall).
export const rnd = mulberry32(7);
export function randomUnit(dim: number): Float32Array {
  const v = Float32Array.from({ length: dim }, () => rnd() * 2 - 1);
  let n = 0;
  for (const x of v) n += x * x;
  return v.map((x) => x / Math.sqrt(n));
}

/**
 * Creates users u0..u(n-1) with attributes (even ones with marketing consent) and a stored vector
 * each; returns internal ids in order.
 */
export async function seedUsers(
  store: Store,
  layout: VectorLayout,
  n: number,
  attrs: (i: number) => Record<string, string> = () => ({}),
  prefix = 'u',
): Promise<{ ids: number[]; vectors: Float32Array[] }> {
  const ids: number[] = [];
  const vectors: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const u = await store.users.setAttributes(`${prefix}${i}`, attrs(i), i % 2 === 0 ? { marketing: true } : undefined);
    const v = randomUnit(layout.dim);
    await store.profiles.upsert({
      userId: u.id,
      version: layout.version,
      vector: v,
      blocks: { text: true, behaviour: false, traits: true },
      profileVersion: 0,
      updatedAt: Date.now(),
    });
    ids.push(u.id);
    vectors.push(v);
  }
  return { ids, vectors };
}
