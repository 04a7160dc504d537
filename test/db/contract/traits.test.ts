import { expect, it } from 'vitest';
import type { Store } from '../../../src/db/store.ts';
import type { Executor, Queryable } from '../../../src/db/sql/executor.ts';
import { type ReplacementRow, SqlTraitStore, type TraitChange } from '../../../src/db/stores/traits.ts';
import { ingestBatch } from '../../../src/ingest/ingest.ts';
import { describeStores } from '../../support/backends.ts';

const T0 = 1_780_000_000_000;

/** Users and their text signals through the events store; returns the user's id and the event ids in order. */
async function seed(store: Store, user: string, texts: string[], at = T0): Promise<{ userId: number; events: number[] }> {
  const r = await ingestBatch(
    store.events,
    texts.map((text, i) => ({ userId: user, type: 'chat_message', text, timestamp: at + i * 1000, eventId: `${user}-${at}-${i}` })),
  );
  const events = r.results.map((x) => (x.status === 'accepted' ? x.id : -1));
  return { userId: (await store.users.require(user)).id, events };
}

const semantic = (key: string, value: string, confidence: number, producer = 'p') => ({ key, value, kind: 'semantic' as const, confidence, evidence: [], producer, version: '1' });

/** A plan that only inserts the given rows (refs -1, -2, …). */
const inserts =
  (...rows: ReturnType<typeof semantic>[]) =>
  (): { changes: TraitChange[]; result: null } => ({
    changes: rows.map((trait, i) => ({ op: 'insert' as const, ref: -(i + 1), trait })),
    result: null,
  });

describeStores('traits', (ctx) => {
  it('current: one sort order for every reader (kind, key, confidence high to low, then id) and every filter', async () => {
    const { userId } = await seed(ctx.store, 'ann', ['hello']);
    const traits = ctx.store.traits;
    await traits.merge({
      userId,
      kind: 'semantic',
      now: 10,
      plan: inserts(semantic('interest', 'chess', 0.4), semantic('diet', 'vegan', 0.7), semantic('interest', 'hiking', 0.9), semantic('interest', 'cooking', 0.4, 'q')),
    });
    await traits.replaceTraits('computed', 'features', [{ userId, key: 'aov', value: 12.5, confidence: 1, version: 'v1' }], { now: 11 });
    const all = await traits.current(userId);
    expect(all.map((t) => [t.kind, t.key, t.value])).toEqual([
      ['computed', 'aov', 12.5],
      ['semantic', 'diet', 'vegan'],
      ['semantic', 'interest', 'hiking'],
      ['semantic', 'interest', 'chess'],
      ['semantic', 'interest', 'cooking'],
    ]);
    expect((await traits.current(userId, { kind: 'semantic', key: 'interest', minConfidence: 0.5 })).map((t) => t.value)).toEqual(['hiking']);
    expect((await traits.current(userId, { producer: 'q' })).map((t) => t.value)).toEqual(['cooking']);
    expect(await traits.current(userId, { kind: 'predicted' })).toEqual([]);
    const t = all[1]!;
    expect(t).toMatchObject({ kind: 'semantic', confidence: 0.7, evidence: [], producer: 'p', version: '1', validFrom: 10, validTo: null, supersededBy: null });
    expect(typeof t.id).toBe('number');
  });

  it('merge: the plan sees the current rows inside the transaction; inserts and closes by ref keep history; the profile version moves once', async () => {
    const { userId } = await seed(ctx.store, 'bob', ['hello']);
    const traits = ctx.store.traits;
    const first = await traits.merge({ userId, kind: 'semantic', now: 100, plan: inserts(semantic('occupation', 'nurse', 0.8)) });
    const nurse = first.inserted.get(-1)!;
    let seen: string[] = [];
    const second = await traits.merge({
      userId,
      kind: 'semantic',
      now: 200,
      plan: (current) => {
        seen = current.map((c) => String(c.value));
        return {
          changes: [
            { op: 'insert', ref: -1, trait: semantic('occupation', 'teacher', 0.6) },
            { op: 'close', id: nurse, supersededBy: -1 },
            // a row inserted and closed in the same plan
            { op: 'insert', ref: -2, trait: semantic('occupation', 'paramedic', 0.9) },
            { op: 'close', id: -1, supersededBy: -2 },
          ],
          result: 'ok',
        };
      },
    });
    expect(seen).toEqual(['nurse']);
    expect(second.result).toBe('ok');
    expect(second.profileVersion).toBe((first.profileVersion ?? 0) + 1);
    const h = await traits.history(userId, 'occupation');
    expect(h.map((x) => [x.value, x.validFrom, x.validTo])).toEqual([
      ['paramedic', 200, null],
      ['teacher', 200, 200],
      ['nurse', 100, 200],
    ]);
    expect(h[1]!.supersededBy).toBe(h[0]!.id);
    expect(h[2]!.supersededBy).toBe(h[1]!.id);
    expect((await ctx.store.users.require('bob')).profileVersion).toBe(second.profileVersion);
  });

  it('facts: kind fact rows with fact: keys; current and merge take several kinds (the trait stage merges traits and facts in one transaction)', async () => {
    const { userId } = await seed(ctx.store, 'fay', ['hello']);
    const traits = ctx.store.traits;
    const fact = (key: string, value: string) => ({ key, value, kind: 'fact' as const, confidence: 0.9, evidence: [{ eventId: 1, quote: 'hello' }], producer: 'p', version: '1' });
    await traits.replaceTraits('computed', 'features', [{ userId, key: 'aov', value: 3, confidence: 1, version: 'v1' }], { now: 5 });
    let seen: string[] = [];
    const r = await traits.merge({
      userId,
      kind: ['semantic', 'fact'],
      now: 10,
      plan: (cur) => {
        seen = cur.map((t) => t.kind);
        return {
          changes: [
            { op: 'insert', ref: -1, trait: semantic('interest', 'books', 0.8) },
            { op: 'insert', ref: -2, trait: fact('fact:reading', 'reads about 20 books a year') },
          ],
          result: null,
        };
      },
    });
    expect(seen).toEqual([]);
    expect(r.profileVersion).not.toBeNull();
    await traits.merge({
      userId,
      kind: ['semantic', 'fact'],
      now: 20,
      plan: (cur) => {
        seen = cur.map((t) => `${t.kind} ${t.key}`);
        return { changes: [{ op: 'insert', ref: -1, trait: fact('fact:residence', 'lives in ohio') }], result: null };
      },
    });
    // The plan saw both kinds and not the computed row.
    expect(seen).toEqual(['fact fact:reading', 'semantic interest']);
    expect((await traits.current(userId, { kind: 'fact' })).map((t) => [t.key, t.value, t.evidence])).toEqual([
      ['fact:reading', 'reads about 20 books a year', [{ eventId: 1, quote: 'hello' }]],
      ['fact:residence', 'lives in ohio', [{ eventId: 1, quote: 'hello' }]],
    ]);
    expect((await traits.current(userId, { kind: ['fact', 'computed'] })).map((t) => t.kind)).toEqual(['computed', 'fact', 'fact']);
    expect(await traits.current(userId, { kind: [] })).toEqual([]);
    expect((await traits.history(userId, 'fact:residence')).map((t) => t.value)).toEqual(['lives in ohio']);
  });

  it('merge: no change leaves the profile version; counters and read marks land with the changes; a failing plan writes nothing', async () => {
    const { userId, events } = await seed(ctx.store, 'cy', ['a', 'b', 'c']);
    const traits = ctx.store.traits;
    const before = (await ctx.store.users.require('cy')).profileVersion;
    const none = await traits.merge({
      userId,
      kind: 'semantic',
      now: 5,
      markRead: { eventIds: events.slice(0, 2), producer: 'x', version: '1' },
      plan: () => ({ changes: [], counters: [{ metric: 'traits_rejected', key: 'unknown_key', n: 2 }], result: null }),
    });
    expect(none.profileVersion).toBeNull();
    expect((await ctx.store.users.require('cy')).profileVersion).toBe(before);
    expect((await traits.unreadSignals(userId, 'x', '1')).map((s) => s.text)).toEqual(['c']);
    const counters = await ctx.store.stats.counters(['traits_rejected']);
    expect(counters).toEqual([{ metric: 'traits_rejected', key: 'unknown_key', count: 2 }]);
    await expect(
      traits.merge({
        userId,
        kind: 'semantic',
        now: 6,
        markRead: { eventIds: [events[2]!], producer: 'x', version: '1' },
        plan: () => ({
          changes: [
            { op: 'insert', ref: -1, trait: semantic('pet', 'dog', 0.5) },
            { op: 'close', id: -7, supersededBy: null },
          ],
          counters: [{ metric: 'traits_rejected', key: 'unknown_key', n: 1 }],
          result: null,
        }),
      }),
    ).rejects.toThrow(/before inserting/);
    expect(await traits.current(userId)).toEqual([]);
    expect(await traits.unreadSignals(userId, 'x', '1')).toHaveLength(1);
    expect(await ctx.store.stats.counters(['traits_rejected'])).toEqual(counters);
  });

  it('mergeMany: several users merged in one transaction, each as merge would; one failing plan rolls back every one, read marks included', async () => {
    const a = await seed(ctx.store, 'gus', ['a1', 'a2']);
    const b = await seed(ctx.store, 'hal', ['b1']);
    const traits = ctx.store.traits;
    const versions = async () => [(await ctx.store.users.require('gus')).profileVersion, (await ctx.store.users.require('hal')).profileVersion];
    const before = await versions();
    const input = (u: { userId: number; events: number[] }, plan: () => { changes: TraitChange[]; result: string }, now = 50) => ({
      userId: u.userId,
      kind: 'semantic' as const,
      now,
      markRead: { eventIds: u.events, producer: 'x', version: '1' },
      plan,
    });
    const failing = () => ({ changes: [{ op: 'close' as const, id: -9, supersededBy: null }], result: 'bad' });
    await expect(traits.mergeMany([input(a, () => ({ ...inserts(semantic('pet', 'dog', 0.5))(), result: 'a' })), input(b, failing)])).rejects.toThrow(/before inserting/);
    expect(await traits.current(a.userId)).toEqual([]);
    expect(await traits.unreadSignals(a.userId, 'x', '1')).toHaveLength(2);
    expect(await versions()).toEqual(before);

    const out = await traits.mergeMany([
      input(a, () => ({ ...inserts(semantic('pet', 'dog', 0.5), semantic('diet', 'vegan', 0.6))(), result: 'a' })),
      input(b, () => ({ changes: [], result: 'b' })),
    ]);
    expect(out.map((r) => r.result)).toEqual(['a', 'b']);
    expect(out[0]!.inserted.size).toBe(2);
    expect(out[0]!.profileVersion).toBe(before[0]! + 1);
    expect(out[1]!.profileVersion).toBeNull();
    expect((await traits.current(a.userId)).map((t) => t.value)).toEqual(['vegan', 'dog']);
    expect(await traits.unreadSignals(a.userId, 'x', '1')).toEqual([]);
    expect(await traits.unreadSignals(b.userId, 'x', '1')).toEqual([]);
    expect(await versions()).toEqual([before[0]! + 1, before[1]]);
    expect(await traits.mergeMany([])).toEqual([]);
  });

  it('replaceTraits: unchanged values are left alone, changes supersede, null closes; one profile version bump per changed user', async () => {
    const a = await seed(ctx.store, 'dee', ['x']);
    const b = await seed(ctx.store, 'eve', ['y']);
    const traits = ctx.store.traits;
    const rows = (v: number | null, conf = 0.8, version = 'v1') => [
      { userId: a.userId, key: 'churn', value: v === null ? null : v > 0.5, confidence: conf, version },
      { userId: b.userId, key: 'churn', value: false, confidence: 0.9, version: 'v1' },
    ];
    const first = await traits.replaceTraits('predicted', 'model:churn', rows(1), { now: 10, confidenceTolerance: 0.01 });
    expect(first).toMatchObject({ written: 2, closed: 0 });
    expect([...first.profileVersions.keys()].sort()).toEqual([a.userId, b.userId].sort());
    // within the tolerance: nothing changes, no version bump
    const same = await traits.replaceTraits('predicted', 'model:churn', rows(1, 0.805), { now: 20, confidenceTolerance: 0.01 });
    expect(same).toMatchObject({ written: 0, closed: 0 });
    expect(same.profileVersions.size).toBe(0);
    // a new model version supersedes even with the same value
    const bumped = await traits.replaceTraits('predicted', 'model:churn', rows(1, 0.8, 'v2'), { now: 30 });
    expect(bumped).toMatchObject({ written: 1, closed: 1 });
    expect([...bumped.profileVersions.entries()]).toEqual([[a.userId, first.profileVersions.get(a.userId)! + 1]]);
    // another producer's rows of the same kind and key are not touched
    await traits.replaceTraits('predicted', 'model:other', [{ userId: a.userId, key: 'churn', value: true, confidence: 0.7, version: 'v1' }], { now: 35 });
    const closed = await traits.replaceTraits('predicted', 'model:churn', rows(null), { now: 40 });
    expect(closed).toMatchObject({ written: 0, closed: 1 });
    expect((await traits.current(a.userId, { kind: 'predicted' })).map((t) => t.producer)).toEqual(['model:other']);
    const h = await traits.history(a.userId, 'churn');
    expect(h.map((t) => [t.producer, t.version, t.validTo])).toEqual([
      ['model:other', 'v1', null],
      ['model:churn', 'v2', 40],
      ['model:churn', 'v1', 30],
    ]);
    expect(h[2]!.supersededBy).toBe(h[1]!.id);
    expect(h[1]!.supersededBy).toBeNull();
  });

  it('replaceTraits reads the current rows once per call (one SELECT per 64 users), with the answers of one read per row', async () => {
    // 70 users (two chunks of 64), three keys each; a user with two current rows of one key; another
    // producer's and another kind's rows beside them; one (user, key) twice in a call.
    const users: number[] = [];
    for (let i = 0; i < 70; i++) users.push((await seed(ctx.store, `rt${i}`, ['x'])).userId);
    const u0 = users[0]!;
    const keys = ['churn', 'buy', 'ltv'];
    const first = users.flatMap((userId, i) => keys.map((key, k) => ({ userId, key, value: (i + k) % 3, confidence: 0.5 + k / 10, version: 'v1' })));
    expect(await ctx.store.traits.replaceTraits('predicted', 'model:m', first, { now: 10 })).toMatchObject({ written: 210, closed: 0 });
    // a second current row of (u0, churn) from the same producer, with a higher confidence (a merge can leave two)
    await ctx.store.traits.merge({
      userId: u0,
      kind: 'predicted',
      now: 11,
      plan: () => ({
        changes: [{ op: 'insert', ref: -1, trait: { key: 'churn', value: 7, kind: 'predicted', confidence: 0.99, evidence: [], producer: 'model:m', version: 'v1' } }],
        result: null,
      }),
    });
    await ctx.store.traits.replaceTraits('predicted', 'model:other', [{ userId: u0, key: 'buy', value: 1, confidence: 0.5, version: 'v1' }], { now: 12 });
    await ctx.store.traits.replaceTraits('computed', 'model:m', [{ userId: u0, key: 'ltv', value: 1, confidence: 0.5, version: 'v1' }], { now: 12 });

    // statements inside the call's transaction, counted on the real executor
    const seen: string[] = [];
    const x = ctx.store.exec;
    const counting: Executor = Object.assign(Object.create(x) as Executor, {
      tx: <T>(fn: (q: Queryable) => Promise<T>) =>
        x.tx((q) =>
          fn({
            dialect: q.dialect,
            all: (sql, params) => (seen.push(sql), q.all(sql, params)),
            get: (sql, params) => (seen.push(sql), q.get(sql, params)),
            run: (sql, params) => (seen.push(sql), q.run(sql, params)),
          } as Queryable),
        ),
    });
    const traits = new SqlTraitStore(counting, ctx.store.dialect);
    const second: ReplacementRow[] = users.flatMap((userId, i) =>
      keys.map((key, k) => ({
        userId,
        key,
        // every third row changes; (u0, churn) matches the lower-confidence row only (the current answer is the 0.99 one)
        value: i % 3 === 0 && k === 1 ? 99 : userId === u0 && key === 'churn' ? 0 : (i + k) % 3,
        confidence: 0.5 + k / 10,
        version: 'v1',
      })),
    );
    // the same (user, key) again later in the call: it sees the row this call wrote
    second.push({ userId: users[1]!, key: 'ltv', value: null, confidence: 0, version: 'v1' });
    second.push({ userId: users[1]!, key: 'ltv', value: 5, confidence: 0.7, version: 'v1' });
    const out = await traits.replaceTraits('predicted', 'model:m', second, { now: 20 });
    const reads = seen.filter((s) => /^\s*SELECT/i.test(s));
    expect(reads).toHaveLength(2 + 2); // two chunks of users; users[1]'s ltv, already in the call, read again twice
    // u0 churn (supersedes the 0.99 row), 24 users' buy, users[1] ltv closed then written again
    expect(out).toMatchObject({ written: 1 + 24 + 1, closed: 1 + 24 + 1 });
    expect([...out.profileVersions.keys()].sort((a, b) => a - b)).toEqual([...new Set([u0, users[1]!, ...users.filter((_, i) => i % 3 === 0)])].sort((a, b) => a - b));
    // u0: churn 0 superseded the 0.99 row; the 0.6 row with value 0 stays current beside it; other producers and kinds untouched
    const cur = (await ctx.store.traits.current(u0)).map((t) => [t.kind, t.producer, t.key, t.value, t.confidence]);
    expect(cur).toEqual([
      ['computed', 'model:m', 'ltv', 1, 0.5],
      ['predicted', 'model:m', 'buy', 99, 0.6],
      ['predicted', 'model:other', 'buy', 1, 0.5],
      ['predicted', 'model:m', 'churn', 0, 0.5],
      ['predicted', 'model:m', 'churn', 0, 0.5],
      ['predicted', 'model:m', 'ltv', 2, 0.7],
    ]);
    const h1 = await ctx.store.traits.history(users[1]!, 'ltv');
    expect(h1.map((t) => [t.value, t.validTo])).toEqual([
      [5, null],
      [0, 20],
    ]);
    // the call without its last two rows again: only users[1]'s ltv (5 now) goes back to 0
    const again = await ctx.store.traits.replaceTraits('predicted', 'model:m', second.slice(0, -2), { now: 30 });
    expect(again).toMatchObject({ written: 1, closed: 1 });
    expect([...again.profileVersions.keys()]).toEqual([users[1]]);
  });

  it('unread signals per producer and version, oldest first; read marks are idempotent and can be forgotten', async () => {
    const { userId, events } = await seed(ctx.store, 'fay', ['one', 'two', 'three']);
    await seed(ctx.store, 'gus', ['other user']);
    const traits = ctx.store.traits;
    expect((await traits.unreadSignals(userId, 'x', '1')).map((s) => [s.id, s.text, s.type, s.ts])).toEqual([
      [events[0], 'one', 'chat_message', T0],
      [events[1], 'two', 'chat_message', T0 + 1000],
      [events[2], 'three', 'chat_message', T0 + 2000],
    ]);
    await traits.markSignalsRead([events[0]!, events[1]!], 'x', '1', 5);
    await traits.markSignalsRead([events[1]!], 'x', '1', 6);
    expect((await traits.unreadSignals(userId, 'x', '1')).map((s) => s.text)).toEqual(['three']);
    expect(await traits.unreadSignals(userId, 'x', '2')).toHaveLength(3);
    expect(await traits.forgetSignalsRead(userId)).toBe(2);
    expect(await traits.unreadSignals(userId, 'x', '1')).toHaveLength(3);
  });

  it('requestReread forgets the read marks and queues one refresh for the user', async () => {
    const { userId, events } = await seed(ctx.store, 'hal', ['one', 'two']);
    const traits = ctx.store.traits;
    await traits.markSignalsRead(events, 'x', '1', 5);
    const pendingBefore = (await ctx.store.jobs.counts(T0 * 2)).pending;
    // ingestion already queued a refresh for hal: a second request folds into it
    expect(await traits.requestReread(userId, T0)).toBe(2);
    expect((await ctx.store.jobs.counts(T0 * 2)).pending).toBe(pendingBefore);
    expect(await traits.unreadSignals(userId, 'x', '1')).toHaveLength(2);
    for (const j of await ctx.store.jobs.claim('w', 10, { leaseMs: 1000, now: T0 * 2 })) await ctx.store.jobs.complete(j, T0 * 2);
    expect(await traits.requestReread(userId, T0 * 2)).toBe(0);
    expect((await ctx.store.jobs.counts(T0 * 3)).pending).toBe(1);
  });
});
