import { afterEach, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';

let api: TestApi | undefined;
afterEach(() => api?.cleanup());

it('GET /metrics counts running jobs whose lease lapsed as stuck (a dead worker), and reclaim clears it', async () => {
  api = createTestApi();
  const a = api;
  expect((await a.request('POST', '/v1/events', { key: a.keys['events:write'], json: [{ userId: 's1', type: 'click', eventId: 'x' }] })).status).toBe(200);
  // A worker claimed the job and died: its lease (already over, to need no clock here) is never renewed.
  expect(await a.store.jobs.claim('dead-worker', 5, { leaseMs: -1000 })).toHaveLength(1);
  const before = (await a.request('GET', '/metrics', { key: null })).text;
  expect(before).toContain('traitlens_jobs{status="running"} 1');
  expect(before).toContain('traitlens_jobs_stuck 1');
  expect(await a.store.jobs.reclaimExpired()).toMatchObject({ reclaimed: 1 });
  const after = (await a.request('GET', '/metrics', { key: null })).text;
  expect(after).toContain('traitlens_jobs_stuck 0');
  expect(after).toContain('traitlens_jobs{status="pending"} 1');
});
