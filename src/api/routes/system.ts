import { z } from 'zod';
import { llmBudgetStatus } from '../../providers/budget.ts';
import type { Store } from '../../db/store.ts';
import { errorResponse } from '../errors.ts';
import { defineRoute } from '../registry.ts';
import type { Lifecycle } from '../types.ts';

const count = z.number().int();
const counts = z.record(z.string(), count);
const statsSchema = z.object({
  users: z.object({ total: count, known: count, anonymous: count }),
  events: z.object({ total: count, byType: counts, textSignals: count }),
  duplicatesDropped: z.object({ total: count, byKind: counts }),
  rejected: z.object({ total: count, byReason: counts }),
  missingFields: counts,
  warnings: counts,
  jobs: counts,
  parkedJobs: z.array(z.object({ id: count, kind: z.string(), attempts: count, lastError: z.string().nullable(), updatedAt: z.string() })),
  traits: z.object({
    current: counts.describe('Current traits by kind'),
    rejected: counts.describe('Trait operations rejected by the merge step, by reason'),
    droppedSensitive: counts,
  }),
  llm: z.object({ calls: count, errors: count, promptTokens: count, completionTokens: count }),
  llmBudget: z
    .object({ dailyTokens: count, usedToday: count, remaining: count.nullable(), paused: z.boolean(), resetsAt: z.string() })
    .describe('TRAITLENS_LLM_DAILY_TOKENS: while paused, LLM jobs wait (not parked) until resetsAt (UTC midnight).'),
});

const healthSchema = z.object({ status: z.literal('ok') });
const readySchema = z.object({ status: z.enum(['ready', 'unavailable']), reason: z.string().optional() });

export function systemRoutes(deps: { store: Store; lifecycle: Lifecycle; llmDailyTokens?: number }) {
  const { store, lifecycle } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/v1/stats',
      scope: 'admin',
      tag: 'system',
      summary: 'Volume and data-quality figures',
      responses: { 200: { description: 'Counts of users, events, duplicates, rejections, missing fields, warnings and jobs', schema: statsSchema } },
      handler: async (c) => c.json({ ...(await store.stats.getStats()), llmBudget: await llmBudgetStatus(store.llm, deps.llmDailyTokens ?? 0) }),
    }),
    defineRoute({
      method: 'get',
      path: '/healthz',
      tag: 'system',
      summary: 'Liveness: 200 while the process runs',
      responses: { 200: { description: 'Alive', schema: healthSchema } },
      handler: (c) => c.json({ status: 'ok' as const }),
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      tag: 'system',
      summary: 'Readiness: 200 when the database answers, 503 otherwise or while shutting down',
      responses: {
        200: { description: 'Ready', schema: readySchema },
        503: { description: 'Not ready' },
      },
      handler: async (c) => {
        if (lifecycle.shuttingDown) return errorResponse(c, 503, 'unavailable', 'shutting down');
        if (!(await store.ping())) return errorResponse(c, 503, 'unavailable', 'database is not answering');
        return c.json({ status: 'ready' as const });
      },
    }),
  ];
}
