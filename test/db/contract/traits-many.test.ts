import { expect, it } from 'vitest';
import type { Store } from '../../../src/db/store.ts';
import { ingestBatch } from '../../../src/ingest/ingest.ts';
import { describeStores } from '../../support/backends.ts';

const T0 = 1_780_000_000_000;

async function user(store: Store, name: string): Promise<number> {
  await ingestBatch(store.events, [{ userId: name, type: 'chat_message', text: 'hello', timestamp: T0, eventId: `${name}-0` }]);
  return (await store.users.require(name)).id;
}

const semantic = (key: string, value: string, confidence: number) => ({ key, value, kind: 'semantic' as const, confidence, evidence: [], producer: 'p', version: '1' });

describeStores('traits: current traits of many users at once', (ctx) => {
  it('currentOfMany equals current() for each user, past the 64-user statement boundary; closed traits left out; no traits → []', async () => {
    const traits = ctx.store.traits;
    const ann = await user(ctx.store, 'ann');
    const bob = await user(ctx.store, 'bob');
    const cat = await user(ctx.store, 'cat');
    await traits.merge({
      userId: ann,
      kind: 'semantic',
      now: 10,
      plan: () => ({
        changes: [
          { op: 'insert', ref: -1, trait: semantic('interest', 'chess', 0.4) },
          { op: 'insert', ref: -2, trait: semantic('diet', 'vegan', 0.7) },
          { op: 'insert', ref: -3, trait: semantic('interest', 'hiking', 0.9) },
        ],
        result: null,
      }),
    });
    const first = await traits.merge({
      userId: bob,
      kind: 'semantic',
      now: 10,
      plan: () => ({ changes: [{ op: 'insert', ref: -1, trait: semantic('occupation', 'nurse', 0.8) }], result: null }),
    });
    await traits.merge({
      userId: bob,
      kind: 'semantic',
      now: 20,
      plan: () => ({
        changes: [
          { op: 'insert', ref: -1, trait: semantic('occupation', 'teacher', 0.6) },
          { op: 'close', id: first.inserted.get(-1) as number, supersededBy: -1 },
        ],
        result: null,
      }),
    });
    await traits.replaceTraits('computed', 'features', [{ userId: bob, key: 'aov', value: 12.5, confidence: 1, version: 'v1' }], { now: 21 });
    // ann first, then 64 ids with no traits (no such users), then bob, cat and ann again: bob lands in the second statement.
    const nobody = Array.from({ length: 64 }, (_, i) => 1_000_000 + i);
    const many = await traits.currentOfMany([ann, ...nobody, bob, cat, ann]);
    expect(many.size).toBe(67);
    expect(many.get(ann)).toEqual(await traits.current(ann));
    expect(many.get(bob)).toEqual(await traits.current(bob));
    expect(many.get(bob)?.map((t) => [t.kind, t.key, t.value])).toEqual([
      ['computed', 'aov', 12.5],
      ['semantic', 'occupation', 'teacher'],
    ]);
    expect(many.get(ann)?.map((t) => t.value)).toEqual(['vegan', 'hiking', 'chess']);
    expect(many.get(cat)).toEqual([]);
    expect(many.get(1_000_005)).toEqual([]);
    expect(await traits.currentOfMany([])).toEqual(new Map());
  });
});
