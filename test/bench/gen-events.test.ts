import { describe, expect, it } from 'vitest';
import { event, USERS } from '../../bench/gen-events.ts';

describe('bench/gen-events', () => {
  it('spreads a 1M-event file over ~50k users, and batches late in the file still see many users', () => {
    const all = new Set<string>();
    const late = new Set<string>();
    for (let i = 0; i < 1_000_000; i++) {
      const e = event(i);
      const who = String(e.userId ?? e.anonymousId);
      all.add(who);
      if (i >= 900_000 && i < 905_000) late.add(who);
    }
    // 1M draws from 50k users leave essentially none unseen (expected missing: 50k·e^-20).
    expect(all.size).toBeGreaterThan(USERS * 0.99);
    // A 5,000-event batch late in the file: ~4,780 distinct users expected (the old generator gave 67).
    expect(late.size).toBeGreaterThan(4_500);
  });
});
