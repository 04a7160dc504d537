import { z } from 'zod';
import type { JobStore } from '../../db/stores/jobs.ts';
import { defineRoute } from '../registry.ts';

const retryBody = z.object({
  ids: z.array(z.number().int().min(1)).min(1).max(1000).optional().describe('Parked job ids (from GET /v1/stats `parkedJobs`); omit to retry every parked job.'),
});

/** Operator actions on the job queue (the same as `traitlens jobs retry`). */
export function jobRoutes(deps: { jobs: JobStore; onWork?: () => void }) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/jobs/retry',
      scope: 'admin',
      tag: 'system',
      summary: 'Retry parked jobs',
      description: 'Parked jobs (every attempt failed) go back to pending with a fresh attempt budget. Ids that are not parked are ignored; `retried` counts the ones moved.',
      body: retryBody,
      responses: { 200: { description: 'How many jobs were queued again', schema: z.object({ retried: z.number().int() }) } },
      handler: async (c, { body }) => {
        const retried = await deps.jobs.retryParked(body.ids);
        if (retried > 0) deps.onWork?.();
        return c.json({ retried });
      },
    }),
  ];
}
