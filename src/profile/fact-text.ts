import type { Trait } from '../core/types.ts';

/**
 * Facts in the user vector's text block (and so in free-text user search, which ranks by that
 * block). The text block is the mean embedding of what the user wrote; facts are the distilled
 * statements the trait stage kept from it ("reads about 20 books a year"), so they are added to it
 * with a weight: text' = unit(text) + w · unit(Σ confidence · embed(statement)). A user with facts
 * but no embedded text gets the facts alone; without facts the block is unchanged.
 */

/** The weight of the facts beside the user's text in the text block (both unit length first). */
export const FACT_TEXT_WEIGHT = 0.5;

/** The user's current facts, as the statements to embed. */
export function factStatements(traits: readonly Trait[]): string[] {
  return traits.filter((t) => t.kind === 'fact' && typeof t.value === 'string').map((t) => t.value as string);
}

/** The text block with the facts folded in; `vectors` holds the embedding of each statement. */
export function withFacts(text: Float32Array | null, traits: readonly Trait[], vectors: ReadonlyMap<string, Float32Array>, weight = FACT_TEXT_WEIGHT): Float32Array | null {
  if (weight <= 0) return text;
  const dim = text?.length ?? vectors.values().next().value?.length ?? 0;
  const facts = new Float32Array(dim);
  let any = false;
  for (const t of traits) {
    if (t.kind !== 'fact' || typeof t.value !== 'string') continue;
    const v = vectors.get(t.value);
    if (!v || v.length !== dim) continue;
    for (let i = 0; i < dim; i++) facts[i] = (facts[i] as number) + t.confidence * (v[i] as number);
    any = true;
  }
  if (!any || unit(facts) === 0) return text;
  const out = text ? Float32Array.from(text) : new Float32Array(dim);
  if (text) unit(out);
  for (let i = 0; i < dim; i++) out[i] = (out[i] as number) + weight * (facts[i] as number);
  return out;
}

function unit(v: Float32Array): number {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / n;
  return n;
}
