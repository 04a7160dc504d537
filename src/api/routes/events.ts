import { z } from 'zod';
import { PayloadTooLargeError, ValidationError } from '../../core/errors.ts';
import type { IngestSummary } from '../../core/types.ts';
import type { EventStore } from '../../db/stores/events.ts';
import type { CleanLimits } from '../../ingest/clean.ts';
import { ingestBatch } from '../../ingest/ingest.ts';
import { batchRequestSchema, batchSchema, eventInputSchema, ingestResponseSchema } from '../../ingest/schema.ts';
import { defineRoute } from '../registry.ts';

export function eventRoutes(deps: { events: EventStore; limits: CleanLimits; maxBatchEvents: number; onWork?: () => void; onIngested?: (s: IngestSummary) => void }) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/events',
      scope: 'events:write',
      tag: 'events',
      summary: 'Ingest a batch of events',
      description:
        `Body: \`{"events": [...]}\` or a bare array, 1 to ${deps.maxBatchEvents} events. Each event is validated and cleaned on its own: ` +
        'a bad event is reported as `rejected` with a `reason` and `field` and never rejects its neighbours. ' +
        'Retrying a batch is safe: events with a known `eventId` (or identical identity, type, time and content) come back as `duplicate`. ' +
        'Returns after the accepted events are committed.',
      body: batchSchema,
      bodyDoc: z.union([batchRequestSchema, z.array(eventInputSchema)]),
      responses: {
        200: { description: 'Per-event outcomes in request order', schema: ingestResponseSchema },
        413: { description: 'Body too large or too many events' },
      },
      handler: async (c, { body }) => {
        const events = Array.isArray(body) ? body : body.events;
        if (events.length === 0) throw new ValidationError('the batch has no events', [{ field: 'events', message: 'at least one event is required' }]);
        if (events.length > deps.maxBatchEvents)
          throw new PayloadTooLargeError(`a batch holds at most ${deps.maxBatchEvents} events (got ${events.length})`, {
            maxEvents: deps.maxBatchEvents,
            received: events.length,
          });
        const summary = await ingestBatch(deps.events, events, { limits: deps.limits });
        deps.onIngested?.(summary);
        if (summary.accepted > 0) deps.onWork?.();
        return c.json(summary);
      },
    }),
  ];
}
