import { afterAll, beforeAll, expect, it } from 'vitest';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import { profileDepsFromConfig, updateUserProfile, updateUserProfiles } from '../../src/profile/profile-stage.ts';
import { assembleRuntime } from '../../src/runtime/runtime.ts';
import { testConfig } from '../support/api.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

// updateUserProfiles (the refresh's slice: the changed vectors written in one transaction) must
// store exactly what updateUserProfile stores user by user, and a user whose write fails must fail
// alone (the shared transaction is then retried one user at a time).

const T = 1_780_000_000_000;
let one: TempDb;
let many: TempDb;
beforeAll(async () => {
  one = createTempDb();
  many = createTempDb();
  const events: unknown[] = [];
  for (let u = 0; u < 6; u++) {
    events.push({ userId: `u${u}`, type: 'chat_message', text: u % 2 ? 'I love hiking with my dog' : 'I am a vegan chef and I bake bread', timestamp: T + u });
    events.push({ userId: `u${u}`, type: 'purchase', properties: { product_id: `p${u % 3}`, category: 'outdoor', price: 10 + u }, timestamp: T + 1000 + u });
    events.push({ userId: `u${u}`, type: 'page_view', properties: { category: u % 2 ? 'outdoor' : 'kitchen' }, timestamp: T + 2000 + u });
  }
  await ingestBatch(one.store.events, events);
  await ingestBatch(many.store.events, events);
});
afterAll(() => {
  one.cleanup();
  many.cleanup();
});

const NOW = T + 10_000;
const deps = (t: TempDb) => {
  const config = testConfig(t.path);
  return profileDepsFromConfig(t.store, assembleRuntime(t.store, config).pipeline.providers.embedder, config);
};
const ids = (t: TempDb) => (t.db.sqlite.prepare('SELECT id FROM users ORDER BY id').all() as { id: number }[]).map((r) => r.id);
const rows = (t: TempDb) => t.db.sqlite.prepare('SELECT user_id, version, dim, vector, blocks, profile_version FROM user_profiles ORDER BY user_id').all();

it('stores the vectors updateUserProfile stores, one outcome per user in order', async () => {
  const users = ids(one);
  expect(ids(many)).toEqual(users);
  for (const u of users) await updateUserProfile(deps(one), u, { now: NOW });
  const outs = await updateUserProfiles(
    deps(many),
    users.map((userId) => ({ userId, now: NOW })),
  );
  expect(outs.map((o) => o.ok && o.report.userId)).toEqual(users);
  expect(outs.every((o) => o.ok && o.report.stored)).toBe(true);
  expect(rows(many)).toHaveLength(users.length);
  expect(rows(many)).toEqual(rows(one));
});

it('a user whose write fails fails alone: the others are written', async () => {
  const users = ids(many);
  const bad = users[2] as number;
  // A real constraint of the database refuses that user's row (no mock): the shared transaction fails.
  many.db.sqlite.exec(`CREATE TRIGGER refuse_profile BEFORE UPDATE ON user_profiles WHEN NEW.user_id = ${bad} BEGIN SELECT RAISE(ABORT, 'refused'); END`);
  // Every vector must be written again: the users' profile versions move.
  many.db.sqlite.exec('UPDATE users SET profile_version = profile_version + 1');
  const before = new Map((many.db.sqlite.prepare('SELECT user_id AS u, profile_version AS v FROM user_profiles').all() as { u: number; v: number }[]).map((r) => [r.u, r.v]));
  const outs = await updateUserProfiles(
    deps(many),
    users.map((userId) => ({ userId, now: NOW })),
  );
  expect(outs.map((o) => o.ok)).toEqual(users.map((u) => u !== bad));
  const failed = outs[2];
  expect(failed && !failed.ok && String(failed.error)).toMatch(/refused/);
  const after = new Map((many.db.sqlite.prepare('SELECT user_id AS u, profile_version AS v FROM user_profiles').all() as { u: number; v: number }[]).map((r) => [r.u, r.v]));
  for (const u of users) expect(after.get(u), `user ${u}`).toBe(u === bad ? before.get(u) : (before.get(u) as number) + 1);
  many.db.sqlite.exec('DROP TRIGGER refuse_profile');
});
