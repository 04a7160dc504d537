import { expect, it } from 'vitest';
import { compileFilter, parseFilter, parseFilterParam, type Filter } from '../../../src/db/filters.ts';
import type { Store } from '../../../src/db/store.ts';
import { describeStores } from '../../support/backends.ts';

/** Facts as the trait stage stores them: kind 'fact', key 'fact:<topic>', value the statement. */
async function seed(store: Store): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const ref of ['ann', 'bob', 'cy', 'dee']) ids[ref] = (await store.users.setAttributes(ref, { country: ref === 'dee' ? 'FR' : 'DE' }, undefined, 1)).id;
  const fact = (ref: string, topic: string, value: string, confidence: number) => ({ userId: ids[ref]!, key: `fact:${topic}`, value, confidence, version: '1' });
  await store.traits.replaceTraits(
    'fact',
    'test',
    [
      fact('ann', 'reading', 'Reads about 20 books a year', 0.7),
      fact('bob', 'baking', 'bakes bread every sunday', 0.9),
      fact('cy', 'residence', 'lives in ohio', 0.7),
      fact('dee', 'reading', 'reads comics, mostly manga', 0.5),
    ],
    { now: 10 },
  );
  // cy moved: the Ohio fact is superseded (valid_to set) and no longer current
  await store.traits.replaceTraits('fact', 'test', [fact('cy', 'residence', 'moved to lisbon last month', 0.7)], { now: 20 });
  // a typed trait whose value holds the same words is not a fact
  await store.traits.replaceTraits('semantic', 'test', [{ userId: ids.bob!, key: 'interest', value: 'reading books', confidence: 0.9, version: '1' }], { now: 10 });
  return ids;
}

describeStores('segment filters over facts', (ctx) => {
  it('selects users by the words and topic of their current facts, the same on every backend', async () => {
    const ids = await seed(ctx.store);
    const names = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
    const sel = async (f: Filter) => (await ctx.store.segments.selectUserIds(compileFilter(parseFilter(f), ctx.store.dialect))).map((id) => names[id]).sort();
    // word starts, any case: "read" finds "Reads" and "reads", not "bread"
    expect(await sel({ fact: { text: 'read' } })).toEqual(['ann', 'dee']);
    expect(await sel({ fact: { text: 'READ books' } })).toEqual(['ann']);
    expect(await sel({ fact: { text: 'bread' } })).toEqual(['bob']);
    // only current facts: the superseded Ohio fact is gone, the new one is found
    expect(await sel({ fact: { text: 'ohio' } })).toEqual([]);
    expect(await sel({ fact: { text: 'lisbon' } })).toEqual(['cy']);
    expect(await sel({ fact: { topic: 'reading' } })).toEqual(['ann', 'dee']);
    expect(await sel({ fact: { topic: 'reading', minConfidence: 0.6 } })).toEqual(['ann']);
    expect(await sel({ fact: { topic: 'residence', text: 'books' } })).toEqual([]);
    // with the other operators, and through the ?filter= shorthand
    expect(await sel({ and: [{ fact: { text: 'reads' } }, { attribute: { key: 'country', eq: 'DE' } }] })).toEqual(['ann']);
    expect(await sel({ not: { fact: { text: 'reads' } } })).toEqual(['bob', 'cy']);
    const short = compileFilter(parseFilterParam('country:DE,fact~"bakes bread"'), ctx.store.dialect);
    expect((await ctx.store.segments.selectUserIds(short)).map((id) => names[id])).toEqual(['bob']);
    expect(await ctx.store.segments.count(compileFilter(parseFilter({ fact: { text: 'manga' } }), ctx.store.dialect))).toBe(1);
  });
});
