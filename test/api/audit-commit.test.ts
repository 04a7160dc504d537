import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqlAuditStore } from '../../src/db/stores/audit.ts';
import { auditPathOf } from '../../src/db/connection.ts';
import { createTestApi, readResponse, type TestApi } from '../support/api.ts';

let api: TestApi | undefined;
const opened: Database.Database[] = [];
afterEach(() => {
  for (const d of opened.splice(0)) if (d.open) d.close();
  api?.cleanup();
  api = undefined;
});

/** Event-loop turns (not wall-clock time): enough for an answer that does not wait to reach the caller. */
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('an audited read leaves only after its audit row is committed (SECURITY.md, Audit)', () => {
  it('holds the answer while another connection keeps the write lock, and the row is visible to other connections when the answer arrives', async () => {
    api = createTestApi();
    const a = api;
    await a.request('POST', '/v1/events', { key: a.keys['events:write'], json: [{ userId: 'ann', type: 'click' }] });
    const audit = a.store.audit;
    // The real SQLite audit store (its own writer thread over the same file), not a stand-in.
    expect(audit).toBeInstanceOf(SqlAuditStore);
    // The log's own file (src/db/connection.ts), where the writer thread commits.
    const watcher = new Database(auditPathOf(a.path)!, { readonly: true });
    const blocker = new Database(auditPathOf(a.path)!);
    opened.push(watcher, blocker);
    const rows = () => (watcher.prepare("SELECT count(*) AS n FROM audit_log WHERE route = '/v1/users/:id' AND status = 200").get() as { n: number }).n;
    expect(rows()).toBe(0);

    // Another process's writer holds SQLite's write lock: no audit group can commit meanwhile.
    blocker.exec('BEGIN IMMEDIATE');
    await a.ready;
    let settled = false;
    let rowsWhenAnswered = -1;
    const answer = Promise.resolve(a.app.request('/v1/users/ann', { headers: { authorization: `Bearer ${a.keys['profiles:read']}` } })).then((res) => {
      // Synchronously, the moment the answer reaches the caller: is its row committed?
      rowsWhenAnswered = rows();
      settled = true;
      return res;
    });
    // Until the handler has run and its row waits for the commit (the group is on the writer thread)...
    while (!(audit as SqlAuditStore).committingElsewhere) {
      expect(settled).toBe(false);
      await turns(1);
    }
    // ...and well after: an answer that did not wait for the commit would have arrived by now.
    await turns(50);
    expect(settled).toBe(false);
    expect(rows()).toBe(0);

    blocker.exec('COMMIT');
    const res = await readResponse(await answer);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe('ann');
    expect(rowsWhenAnswered).toBe(1);
  });

  it('a profile read names its user in one row; a list of users is audited from one batched lookup, each user once by internal id', async () => {
    api = createTestApi();
    const a = api;
    // 70 users: more than one 64-reference chunk of the batched lookup.
    const users = Array.from({ length: 70 }, (_, i) => `m${i}`);
    await a.request('POST', '/v1/events', { key: a.keys['events:write'], json: users.map((u) => ({ userId: u, type: 'click' })) });
    for (const u of users) await a.store.users.setAttributes(u, { plan: 'pro' }, undefined);
    const m0 = await a.store.users.require('m0');
    const r = await a.request('GET', '/v1/users/m0', { key: a.keys['profiles:read'] });
    expect(r.status).toBe(200);
    expect((await a.store.audit.query({ limit: 10 })).rows.map((e) => [e.action, e.userId, e.status])).toEqual([['profile.read', m0.id, 200]]);

    const found = await a.request('GET', '/v1/users?attribute.plan=pro&limit=100', { key: a.keys['profiles:read'] });
    expect(found.status).toBe(200);
    const listed = (found.body.users as { userId: string }[]).map((u) => u.userId);
    expect(listed).toHaveLength(70);
    const expected = new Set<number>();
    for (const u of listed) expected.add((await a.store.users.require(u)).id);
    const audited = (await a.store.audit.query({ limit: 500, route: '/v1/users' })).rows.map((e) => e.userId);
    expect(audited).toHaveLength(70);
    expect(new Set(audited)).toEqual(expected);
  });
});
