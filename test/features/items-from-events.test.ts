import { expect, it } from 'vitest';
import type { Store } from '../../src/db/store.ts';
import type { InteractionSelection } from '../../src/db/stores/items.ts';
import { loadUserEvents } from '../../src/features/compute.ts';
import { interactionItemsFromEvents, interactionScanKeys } from '../../src/features/items.ts';
import { cleanBatch } from '../../src/ingest/ingest.ts';
import { describeStores } from '../support/backends.ts';

// The profile's item block reads the user's items from the events a refresh already read
// (interactionItemsFromEvents) instead of asking the item store again: the rows must be the
// store's, on both engines, and where a JSON type reads differently on SQLite and PostgreSQL the
// function must answer null (the store decides).

const T = 1_780_000_000_000;
const NOW = T + 86_400_000;
const PROPS = ['item', 'product_id', 'sku'];

async function write(store: Store, raw: unknown[]): Promise<void> {
  const b = cleanBatch(raw, { now: NOW });
  expect(b.rejected).toEqual([]);
  await store.events.writeBatch(b.pending, [], b.receivedAt);
}

const ev = (userId: string, i: number, type: string, properties: Record<string, unknown>) => ({ userId, type, timestamp: T + i * 1000, properties });

describeStores('items from a refresh’s events', (ctx) => {
  it('gives the item store’s rows (items, counts, weights, last times, order), or null where the engines differ', async () => {
    const st = ctx.store;
    await write(st, [
      // plain string ids: the first non-empty of the item properties, types, weights, repeats, a later event
      ev('ann', 1, 'purchase', { item: 'A1', units: 2 }),
      ev('ann', 2, 'view', { item: '', product_id: 'B2' }),
      ev('ann', 3, 'purchase', { sku: 'C3', units: '1.5' }),
      ev('ann', 4, 'purchase', { item: 'A1', units: -1 }),
      ev('ann', 5, 'view', { item: 'A1', units: 'lots' }),
      ev('ann', 6, 'view', { colour: 'red' }),
      ev('ann', 9, 'purchase', { item: 'D4', units: 3 }),
      // a numeric id: its text is the engine's own (SQLite's REAL formatting, PostgreSQL's JSON text)
      ev('bob', 1, 'purchase', { item: 12345 }),
      ev('bob', 2, 'purchase', { item: 'A1' }),
      // an object id: JSON text that each engine renders its own way
      ev('cat', 1, 'purchase', { item: { id: 'A1' } }),
      // a boolean weight: PostgreSQL counts false as 1, SQLite as 0 (no interaction)
      ev('dan', 1, 'purchase', { item: 'A1', units: false }),
      ev('eve', 1, 'purchase', { item: 'E5', units: true }),
      ev('eve', 2, 'purchase', { item: 'E5', units: 0.25 }),
    ]);
    const id = async (ext: string) => (await st.users.require(ext)).id;
    const selections: InteractionSelection[] = [
      { itemProperties: PROPS },
      { itemProperties: PROPS, weightProperty: 'units' },
      { itemProperties: PROPS, weightProperty: 'units', types: ['purchase'] },
      { itemProperties: ['item'] },
    ];
    const asOf = T + 8000;
    const checked: Record<string, number> = { same: 0, store: 0 };
    for (const ext of ['ann', 'bob', 'cat', 'dan', 'eve']) {
      const u = await id(ext);
      for (const sel of selections) {
        const events = await loadUserEvents(st.features, u, asOf, [], interactionScanKeys(sel));
        for (const until of [asOf + 1, T + 3000]) {
          const fromEvents = interactionItemsFromEvents(events, sel, until);
          const stored = await st.items.userItems(u, { ...sel, until });
          if (fromEvents === null) checked.store = (checked.store ?? 0) + 1;
          else {
            expect(fromEvents, `${ext} ${JSON.stringify(sel)} until ${until}`).toEqual(stored);
            checked.same = (checked.same ?? 0) + 1;
          }
        }
      }
    }
    // ann: everything from the events (the event at T + 9 s is after the cut-off)
    const ann = await id('ann');
    const annEvents = await loadUserEvents(st.features, ann, asOf, [], interactionScanKeys(selections[1] as InteractionSelection));
    expect(interactionItemsFromEvents(annEvents, selections[1] as InteractionSelection, asOf + 1)).toEqual([
      { item: 'A1', n: 2, weight: 3, lastTs: T + 5000 },
      { item: 'C3', n: 1, weight: 1.5, lastTs: T + 3000 },
      { item: 'B2', n: 1, weight: 1, lastTs: T + 2000 },
    ]);
    // events after the cut-off were not read: the store must answer
    expect(interactionItemsFromEvents(annEvents, selections[1] as InteractionSelection, T + 10_000)).toBeNull();
    // a numeric id, an object id, a false weight: the store decides
    const only = async (ext: string, sel: InteractionSelection) =>
      interactionItemsFromEvents(await loadUserEvents(st.features, await id(ext), asOf, [], interactionScanKeys(sel)), sel, asOf + 1);
    expect(await only('bob', selections[0] as InteractionSelection)).toBeNull();
    expect(await only('cat', selections[0] as InteractionSelection)).toBeNull();
    expect(await only('dan', selections[1] as InteractionSelection)).toBeNull();
    // without a weight property the false weight is not read: the events answer
    expect(await only('dan', selections[0] as InteractionSelection)).toEqual([{ item: 'A1', n: 1, weight: 1, lastTs: T + 1000 }]);
    expect(checked.same).toBeGreaterThanOrEqual(16);
    expect(checked.store).toBeGreaterThan(0);
  });
});
