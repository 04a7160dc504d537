import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/command.ts';
import { evalCommand } from '../../src/cli/commands/eval.ts';
import { loadConfig } from '../../src/core/config.ts';
import {
  TEST_CUTOFF,
  itemKnnRanker,
  ndcgAt,
  packedTopForTest,
  pairedDifference,
  parseOnlineRetailPurchases,
  popularityRanker,
  readOnlineRetailPurchases,
  recallAt,
  timeSplit,
  type Purchase,
} from '../../src/eval/recommend.ts';
import { blend, type Candidate } from '../../src/recommend/rank.ts';
import { fixture, runCli } from '../cli/helpers.ts';

const CSV = fixture('online-retail-items/online_retail.csv');
const DATA_DIR = dirname(dirname(CSV));

/** The fixture's lines as plain records, read here independently of the code under test (no quoted commas outside Description). */
function rawLines(): { invoice: string; item: string; quantity: number; date: string; customer: string }[] {
  return readFileSync(CSV, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => {
      const f = l.replace(/"[^"]*"/g, 'X').split(',');
      return { invoice: f[0]!, item: f[1]!, quantity: Number(f[3]), date: f[4]!, customer: f[6] ? String(Number(f[6])) : '' };
    });
}

describe('Online Retail purchases and the time split', () => {
  const data = readOnlineRetailPurchases(DATA_DIR);

  it('drops cancellations, lines without a customer and non-positive quantities; reads quoted descriptions', () => {
    const raw = rawLines();
    expect(data.lines).toBe(raw.length);
    expect(data.dropped).toEqual({ cancellation: 1, no_customer: 1, non_positive_quantity: 1, bad_row: 0 });
    expect(data.purchases).toHaveLength(raw.length - 3);
    expect(data.purchases.some((p) => p.invoice.startsWith('C'))).toBe(false);
    expect(data.titles.get('A3')).toBe('RED BOWL, LARGE');
    // "12340.0" and "12340" are one customer
    expect(new Set(data.purchases.map((p) => p.customer)).has('12340.0')).toBe(false);
  });

  it('keeps customers with purchases on both sides; targets are their distinct items from the cut-off on', () => {
    const s = timeSplit(data.purchases, TEST_CUTOFF);
    const raw = rawLines().filter((r) => !r.invoice.startsWith('C') && r.customer && r.quantity > 0);
    const before = new Set(raw.filter((r) => Date.parse(`${r.date.replace(' ', 'T')}Z`) < TEST_CUTOFF).map((r) => r.customer));
    const after = raw.filter((r) => Date.parse(`${r.date.replace(' ', 'T')}Z`) >= TEST_CUTOFF);
    const expectedUsers = [...new Set(after.map((r) => r.customer))].filter((c) => before.has(c)).sort();
    expect(s.users).toEqual(expectedUsers);
    expect(s.users).not.toContain('12399'); // only bought after the cut-off
    for (const u of s.users) expect([...s.targets.get(u)!].sort()).toEqual([...new Set(after.filter((r) => r.customer === u).map((r) => r.item))].sort());
    expect(s.history.every((p) => p.ts < TEST_CUTOFF)).toBe(true);
    expect(s.history).toHaveLength(raw.length - after.length);
  });

  it('rejects a file that is not Online Retail', () => {
    expect(() => parseOnlineRetailPurchases('a,b,c\n1,2,3\n')).toThrow(/not an Online Retail CSV/);
  });
});

describe('metrics and baselines', () => {
  it('recall@10 and NDCG@10 follow their definitions', () => {
    const target = new Set(['a', 'b', 'c', 'd']);
    expect(recallAt(['x', 'a', 'y', 'b'], target)).toBe(0.5);
    // hits at ranks 2 and 4 against an ideal of four hits at ranks 1–4
    const ideal = 1 + 1 / Math.log2(3) + 1 / Math.log2(4) + 1 / Math.log2(5);
    expect(ndcgAt(['x', 'a', 'y', 'b'], target)).toBeCloseTo((1 / Math.log2(3) + 1 / Math.log2(5)) / ideal, 12);
    expect(ndcgAt(['a', 'b', 'c', 'd'], target)).toBeCloseTo(1, 12);
    expect(recallAt([], new Set())).toBe(0);
  });

  const p = (customer: string, item: string, day: number): Purchase => ({ customer, item, ts: Date.UTC(2011, 0, day), invoice: `${customer}-${day}` });
  const history = [p('1', 'a', 1), p('1', 'b', 1), p('2', 'a', 2), p('2', 'b', 2), p('3', 'a', 3), p('3', 'c', 3), p('3', 'c', 4), p('4', 'c', 5), p('4', 'd', 5), p('5', 'a', 6)];
  const split = timeSplit([...history, p('5', 'b', 300)], Date.UTC(2011, 8, 1));

  it('popularity excludes what the user already has only when asked', () => {
    // lines: a 4, c 3, b 2, d 1
    expect(popularityRanker(split, false)('5')).toEqual(['a', 'c', 'b', 'd']);
    expect(popularityRanker(split, true)('5')).toEqual(['c', 'b', 'd']);
  });

  it("item-kNN ranks the items bought with the user's items first", () => {
    // customer 5 has a; b co-occurs with a for two of a's four buyers, c for one, d never
    expect(itemKnnRanker(split, true)('5').slice(0, 2)).toEqual(['b', 'c']);
  });
});

describe('paired comparison', () => {
  it('reports the mean difference, a bootstrap interval and wins/losses', () => {
    const b = Float64Array.from({ length: 200 }, (_, i) => (i % 10) / 10);
    const same = pairedDifference(b, b);
    expect(same).toEqual({ diff: 0, ci95: [0, 0], wins: 0, losses: 0 });
    const better = pairedDifference(
      Float64Array.from(b, (x, i) => x + (i % 2 ? 0.1 : 0)),
      b,
    );
    expect(better.diff).toBeCloseTo(0.05, 4);
    expect(better.ci95[0]).toBeGreaterThan(0);
    expect(better.ci95[1]).toBeGreaterThanOrEqual(better.diff);
    expect([better.wins, better.losses]).toEqual([100, 0]);
  });
});

describe('the tuner ranks like rank.ts', () => {
  it('picks the same top 10 as blend() for the same weights, ties included', () => {
    const cands: Candidate[] = Array.from({ length: 40 }, (_, i) => ({
      item: `i${String(i).padStart(2, '0')}`,
      boughtWith: (i % 7) / 7,
      similarUsers: (i % 3) / 3,
      users: i % 3,
      popular: (i % 5) / 5,
      boughtBefore: i % 4 === 0 ? 0.5 : 0,
    }));
    for (const w of [
      { boughtWith: 1, similarUsers: 0, popular: 0, boughtBefore: 0 },
      { boughtWith: 1, similarUsers: 0.25, popular: 2, boughtBefore: 0 },
      { boughtWith: 0, similarUsers: 1, popular: 0.5, boughtBefore: 4 },
    ])
      expect(packedTopForTest(cands, w)).toEqual(blend(cands, w, 10).map((r) => r.item));
  });
});

describe('traitlens eval recommend', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-eval-rec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints users, recall@10 and NDCG@10 for ours and both baselines on the same split', { timeout: 120_000 }, async () => {
    const r = await runCli(['eval', 'recommend', '--dataset', 'online-retail-items', '--data', DATA_DIR, '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const users = timeSplit(readOnlineRetailPurchases(DATA_DIR).purchases, TEST_CUTOFF).users.length;
    expect(out).toMatchObject({ dataset: 'online-retail-items', users, excludeOwned: true });
    for (const fig of [out, out.popularity, out.itemKnn]) {
      expect(fig.recallAt10).toBeGreaterThanOrEqual(0);
      expect(fig.recallAt10).toBeLessThanOrEqual(1);
      expect(fig.ndcgAt10).toBeGreaterThanOrEqual(0);
    }
    expect(out.settings.map((s: { excludeOwned: boolean; users: number }) => [s.excludeOwned, s.users])).toEqual([
      [true, users],
      [false, users],
    ]);
    expect(out.card).toMatchObject({ method: 'mf', interactions: out.split.historyPurchases });
  });

  it('refuses an unknown dataset, owned setting or method as a usage error (exit 2)', async () => {
    const ctx = { config: loadConfig({}), io: { stdout: new PassThrough(), stderr: new PassThrough() } };
    for (const args of [
      ['--dataset', 'cdnow'],
      ['--dataset', 'online-retail-items', '--owned', 'maybe'],
      ['--dataset', 'online-retail-items', '--methods', 'mf,svd'],
    ])
      await expect(evalCommand.run(['recommend', ...args], ctx)).rejects.toBeInstanceOf(UsageError);
  });
});
