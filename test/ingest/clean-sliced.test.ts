import { expect, it } from 'vitest';
import { cleanBatch, cleanBatchSliced } from '../../src/ingest/ingest.ts';

it('cleaning a large batch in slices (yielding to the event loop between them) gives what cleaning it at once gives', async () => {
  const T = 1_780_000_000_000;
  const raw: unknown[] = Array.from({ length: 300 }, (_, i) =>
    i % 17 === 0
      ? { userId: `u${i}`, timestamp: T + i } // no type: rejected
      : i % 5 === 0
        ? { userId: `u${i % 7}`, type: 'Search', text: `  looking for\tboots ${i} `, timestamp: T + i }
        : { anonymousId: `a${i % 11}`, eventId: `e${i}`, type: 'page_view', timestamp: String(T + i), properties: { price: '12.5' } },
  );
  let turns = 0;
  const ticker = setInterval(() => turns++, 0);
  const sliced = await cleanBatchSliced(raw, { now: T + 1000 });
  clearInterval(ticker);
  expect(sliced).toEqual(cleanBatch(raw, { now: T + 1000 }));
  expect(sliced.rejected.map((r) => r.index)).toEqual(raw.map((_, i) => i).filter((i) => i % 17 === 0));
  // It did let other work run in between.
  expect(turns).toBeGreaterThan(0);
});
