import type { Json, TraitKind } from '../../src/core/types.ts';
import type { Store } from '../../src/db/store.ts';

export interface SeedTrait {
  key: string;
  value: Json;
  kind?: TraitKind;
  confidence?: number;
  evidence?: { eventId: number; quote: string }[];
  producer?: string;
  version?: string;
}

/**
 * Writes traits for a test through the trait store (one merge: inserted rows, profile version
 * bumped); returns the user's new profile version.
 */
export async function seedTraits(store: Pick<Store, 'traits'>, userId: number, rows: readonly SeedTrait[], now = 1): Promise<number> {
  const r = await store.traits.merge({
    userId,
    kind: 'semantic',
    now,
    plan: () => ({
      changes: rows.map((t, i) => ({
        op: 'insert' as const,
        ref: -(i + 1),
        trait: {
          key: t.key,
          value: t.value,
          kind: t.kind ?? 'semantic',
          confidence: t.confidence ?? 0.9,
          evidence: t.evidence ?? [],
          producer: t.producer ?? 'test',
          version: t.version ?? '1',
        },
      })),
      result: null,
    }),
  });
  return r.profileVersion ?? 0;
}
