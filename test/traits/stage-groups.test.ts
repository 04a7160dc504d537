import { expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import type { Store } from '../../src/db/store.ts';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import { extractTraitsForUser, extractTraitsForUsers, type TraitStageReport } from '../../src/traits/extract-stage.ts';
import { describeStores } from '../support/backends.ts';
import { pipelineFor } from '../support/runtime.ts';

/**
 * The trait stage over several users with their merges grouped in one transaction: the same rows,
 * reports and read marks as one user at a time (also for a user whose signals need several batches,
 * each reading the previous one's rows), and a failing transaction loses nothing.
 */
const TEXTS: Record<string, string[]> = {
  ann: ['i work as a nurse at the county hospital', 'i have two dogs and i walk them every morning', 'i read twenty books a year'],
  bo: ['i live in ohio with my husband', 'i go to the gym every day', 'what do you do for fun?'],
  cy: [
    'i was raised by my grandfather',
    'i love hiking in the mountains',
    'i play the guitar in a band',
    'i moved to lisbon last month',
    'i have a cat named tom',
    'i am a vegan',
    'i work at a bank as a teller',
    'i drive a red truck',
    'my favorite color is blue',
    'i have been a teacher for ten years',
    'i live in lisbon now',
    'i enjoy cooking italian food',
  ],
  dee: ['hello there', 'i am fine thanks'],
};

let at = 1_780_000_000_000;
async function seed(store: Store, prefix: string): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const [name, texts] of Object.entries(TEXTS)) {
    const user = `${prefix}-${name}`;
    await ingestBatch(
      store.events,
      texts.map((text) => ({ userId: user, type: 'chat_message', text, timestamp: (at += 1000), eventId: `${user}-${at}` })),
    );
    ids[name] = (await store.users.require(user)).id;
  }
  return ids;
}

/** Every row of a user (history included), without ids and times: what the stage decided. */
async function rowsOf(store: Store, userId: number) {
  const rows = await store.exec.all<{ kind: string; key: string; value: string; confidence: number; evidence: string; open: number | boolean; by: number | null }>(
    'SELECT kind, key, value, confidence, evidence, valid_to IS NULL AS open, superseded_by AS by FROM traits WHERE user_id = ? ORDER BY id',
    [userId],
  );
  return rows.map((r) => ({
    kind: r.kind,
    key: r.key,
    value: r.value,
    confidence: Number(r.confidence),
    quotes: (JSON.parse(r.evidence) as { quote: string }[]).map((e) => e.quote),
    open: Boolean(r.open),
    superseded: r.by !== null,
  }));
}

const comparable = (r: TraitStageReport) => ({ ...r, userId: 0 });

// batches of about 100 tokens: cy's twelve signals take more than one batch
const config = () => loadConfig({ TRAITLENS_EXTRACT_BATCH_TOKENS: '100' });

describeStores('trait stage with users grouped per transaction', (ctx) => {
  it('stores exactly what one user at a time stores (rows, history, reports, read marks)', async () => {
    const deps = pipelineFor(ctx.store, config(), { embeddings: false }).traitDeps;
    const one = await seed(ctx.store, 'one');
    const grouped = await seed(ctx.store, 'grp');
    const names = Object.keys(TEXTS);
    const single: TraitStageReport[] = [];
    for (const n of names) single.push(await extractTraitsForUser(deps, one[n]!));
    const many = await extractTraitsForUsers(
      deps,
      names.map((n) => grouped[n]!),
      { groupUsers: 3 },
    );
    expect(many.map((r) => r.userId)).toEqual(names.map((n) => grouped[n]));
    expect(many.map(comparable)).toEqual(single.map(comparable));
    expect(single.find((r) => r.userId === one.cy)!.batches).toBeGreaterThanOrEqual(2);
    for (const n of names) {
      const a = await rowsOf(ctx.store, one[n]!);
      expect(await rowsOf(ctx.store, grouped[n]!)).toEqual(a);
      expect(await ctx.store.traits.unreadSignals(grouped[n]!, deps.offline.producer, deps.offline.version)).toEqual([]);
    }
    // the fixture is worth comparing: facts and typed traits were stored, and cy's later batches superseded earlier rows
    const all = (await Promise.all(names.map((n) => rowsOf(ctx.store, grouped[n]!)))).flat();
    expect(all.some((r) => r.kind === 'fact')).toBe(true);
    expect(all.some((r) => r.kind === 'semantic')).toBe(true);
    expect(all.some((r) => r.superseded)).toBe(true);
  });

  it('a failing group transaction loses nothing: the others are stored one by one, the failing user stays unread and is read next time', async () => {
    const deps = pipelineFor(ctx.store, config(), { embeddings: false }).traitDeps;
    const ids = await seed(ctx.store, 'f');
    const bad = ids.bo!;
    const pg = ctx.store.exec.dialect === 'postgres';
    // a real failure inside the database: inserting any trait row for `bad` aborts its transaction
    if (pg) {
      await ctx.store.exec.run(
        `CREATE OR REPLACE FUNCTION stage_groups_boom() RETURNS trigger AS $$ BEGIN IF NEW.user_id = ${bad} THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
      );
      await ctx.store.exec.run('CREATE TRIGGER stage_groups_boom BEFORE INSERT ON traits FOR EACH ROW EXECUTE FUNCTION stage_groups_boom()');
    } else {
      await ctx.store.exec.run(`CREATE TRIGGER stage_groups_boom BEFORE INSERT ON traits WHEN NEW.user_id = ${bad} BEGIN SELECT RAISE(ABORT, 'boom'); END`);
    }
    try {
      await expect(extractTraitsForUsers(deps, [ids.ann!, bad, ids.dee!], { groupUsers: 3 })).rejects.toThrow(/boom/);
    } finally {
      await ctx.store.exec.run(pg ? 'DROP TRIGGER stage_groups_boom ON traits' : 'DROP TRIGGER stage_groups_boom');
      if (pg) await ctx.store.exec.run('DROP FUNCTION stage_groups_boom()');
    }
    const unread = (u: number) => ctx.store.traits.unreadSignals(u, deps.offline.producer, deps.offline.version);
    expect(await rowsOf(ctx.store, bad)).toEqual([]);
    expect(await unread(bad)).toHaveLength(TEXTS.bo!.length);
    expect((await rowsOf(ctx.store, ids.ann!)).length).toBeGreaterThan(0);
    expect(await unread(ids.ann!)).toEqual([]);
    expect(await unread(ids.dee!)).toEqual([]);
    // next time the failed user's signals are read and stored
    const [again] = await extractTraitsForUsers(deps, [bad], { groupUsers: 3 });
    expect(again!.signals).toBe(TEXTS.bo!.length);
    expect((await rowsOf(ctx.store, bad)).length).toBeGreaterThan(0);
    expect(await unread(bad)).toEqual([]);
  });
});
