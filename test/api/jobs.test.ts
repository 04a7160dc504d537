import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueJob } from '../../src/db/jobs.ts';
import { createTestApi, type TestApi } from '../support/api.ts';

let api: TestApi;
const park = (userId: number): number => {
  enqueueJob(api.db, 'user.refresh', userId);
  const { id } = api.db.sqlite.prepare(`SELECT id FROM jobs WHERE user_id = ? AND status = 'pending'`).get(userId) as { id: number };
  api.db.sqlite.prepare(`UPDATE jobs SET status = 'parked', attempts = 5, last_error = 'boom' WHERE id = ?`).run(id);
  return id;
};
const status = (id: number) => api.db.sqlite.prepare('SELECT status, attempts FROM jobs WHERE id = ?').get(id);

beforeAll(async () => {
  api = createTestApi();
  await api.request('POST', '/v1/events', {
    json: [
      { userId: 'a', type: 'click' },
      { userId: 'b', type: 'click' },
      { userId: 'c', type: 'click' },
    ],
  });
  api.db.sqlite.prepare('DELETE FROM jobs').run();
});
afterAll(() => api.cleanup());

describe('POST /v1/jobs/retry', () => {
  it('retries the given parked jobs only, with a fresh attempt budget; other ids are ignored', async () => {
    const [j1, j2] = [park(1), park(2)];
    const r = await api.request('POST', '/v1/jobs/retry', { json: { ids: [j1, 99_999] } });
    expect(r).toMatchObject({ status: 200, body: { retried: 1 } });
    expect(status(j1)).toEqual({ status: 'pending', attempts: 0 });
    expect(status(j2)).toEqual({ status: 'parked', attempts: 5 });
  });

  it('without ids retries every parked job', async () => {
    const j3 = park(3);
    const r = await api.request('POST', '/v1/jobs/retry', { json: {} });
    expect(r.body.retried).toBe(2);
    expect(status(j3)).toEqual({ status: 'pending', attempts: 0 });
    expect((await api.request('GET', '/v1/stats')).body.parkedJobs).toEqual([]);
  });

  it('validates ids and needs the admin scope', async () => {
    expect((await api.request('POST', '/v1/jobs/retry', { json: { ids: [] } })).status).toBe(400);
    expect((await api.request('POST', '/v1/jobs/retry', { json: { ids: ['x'] } })).status).toBe(400);
    expect((await api.request('POST', '/v1/jobs/retry', { json: {}, key: api.keys['events:write'] })).status).toBe(403);
  });
});
