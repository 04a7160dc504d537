import { Hono } from 'hono';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Runtime } from '../runtime/runtime.ts';
import { storeMetricSources } from '../db/metric-sources.ts';
import type { CleanLimits } from '../ingest/clean.ts';
import { notFound, onError } from './errors.ts';
import { createLogger } from './logger.ts';
import { createMetrics, type ApiMetrics } from './metrics.ts';
import { audit } from './middleware/audit/index.ts';
import { auth } from './middleware/auth/index.ts';
import { cachedKeyStore } from './middleware/auth/key-cache.ts';
import { ProfileCache } from './profile-cache.ts';
import { requestMetrics } from './middleware/metrics/index.ts';
import { parseRateLimits, rateLimiter } from './middleware/rate-limit/index.ts';
import { bodyLimit } from './middleware/body-limit/index.ts';
import { cors } from './middleware/cors/index.ts';
import { etag } from './middleware/etag/index.ts';
import { idempotency } from './middleware/idempotency/index.ts';
import { jsonBody } from './middleware/json-body/index.ts';
import { requestId } from './middleware/request-id/index.ts';
import { requestLog } from './middleware/request-log/index.ts';
import { buildOpenApi, mountRoutes, type AnyRoute } from './registry.ts';
import { docsRoutes } from './routes/docs.ts';
import { eventRoutes } from './routes/events.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { privacyRoutes } from './routes/privacy.ts';
import { profileRoutes } from './routes/profiles.ts';
import { itemRoutes } from './routes/items.ts';
import { segmentRoutes } from './routes/segments.ts';
import { modelRoutes } from './routes/models.ts';
import { systemRoutes } from './routes/system.ts';
import { traitRoutes } from './routes/traits.ts';
import { userRoutes } from './routes/users.ts';
import { jobRoutes } from './routes/jobs.ts';
import { keyRoutes } from './routes/keys.ts';
import { consoleApp } from '../console/routes.ts';
import { createLifecycle, type ApiEnv, type Lifecycle } from './types.ts';

export interface AppOptions {
  logger?: Logger;
  /** shared with the server so shutdown can flip readiness and wait for in-flight requests */
  lifecycle?: Lifecycle;
  /** called when new work was queued (ingested events, a refresh), to wake the background worker */
  onWork?: () => void;
  /** Prometheus metrics; one per app by default */
  metrics?: ApiMetrics;
  /** The clock of the verified-key and profile caches (tests); default `Date.now` */
  now?: () => number;
}

export const API_VERSION = '0.1.0';

/** The HTTP API over a runtime (src/runtime): routes get the runtime's store, services and lists. */
export function createApp(rt: Runtime, opts: AppOptions = {}): Hono<ApiEnv> {
  const { config, store, profiles, userData } = rt;
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  const lifecycle = opts.lifecycle ?? createLifecycle();
  const limits: CleanLimits = {
    maxTextChars: config.TRAITLENS_MAX_TEXT_CHARS,
    maxPropertiesBytes: config.TRAITLENS_MAX_PROPERTIES_BYTES,
    futureSkewMs: config.TRAITLENS_FUTURE_SKEW_MS,
    clampSkewMs: config.TRAITLENS_CLAMP_SKEW_MS,
  };
  // Recent profile answers, checked against the user's row on every read (src/api/profile-cache.ts).
  const profileCache = new ProfileCache({
    maxBytes: config.TRAITLENS_PROFILE_CACHE_MB * 1024 * 1024,
    ttlMs: config.TRAITLENS_PROFILE_CACHE_TTL_MS,
    ...(opts.now ? { now: opts.now } : {}),
  });
  // Answers no one reads again leave memory within the TTL (an erased user's among them).
  if (profileCache.enabled) setInterval(() => profileCache.sweep(), config.TRAITLENS_PROFILE_CACHE_TTL_MS).unref();

  const metrics = opts.metrics ?? createMetrics([...storeMetricSources(store), ...profileCache.metricSources()]);
  // Verified keys are trusted for TRAITLENS_KEY_CACHE_MS; revoking through /v1/keys drops one at once.
  const keys = cachedKeyStore(store.keys, { ttlMs: config.TRAITLENS_KEY_CACHE_MS, ...(opts.now ? { now: opts.now } : {}) });

  let document: Record<string, unknown> | undefined;
  const routes: AnyRoute[] = [
    ...eventRoutes({
      events: store.events,
      limits,
      maxBatchEvents: config.TRAITLENS_MAX_BATCH_EVENTS,
      ...(opts.onWork ? { onWork: opts.onWork } : {}),
      onIngested: metrics.ingested,
    }),
    ...userRoutes({ store, defaultConsent: config.TRAITLENS_DEFAULT_CONSENT, userData, profileCache }),
    ...traitRoutes({ store, ...(opts.onWork ? { onWork: opts.onWork } : {}) }),
    ...modelRoutes({ modelsDir: resolve(config.TRAITLENS_MODELS_DIR) }),
    ...systemRoutes({ store, lifecycle, llmDailyTokens: config.TRAITLENS_LLM_DAILY_TOKENS }),
    ...privacyRoutes({ store, defaultConsent: config.TRAITLENS_DEFAULT_CONSENT, userData, profileCache }),
    ...metricsRoutes({ metrics, requireAuth: config.TRAITLENS_METRICS_AUTH }),
    ...profileRoutes(profiles),
    ...itemRoutes(profiles, rt.items),
    ...segmentRoutes(profiles, rt.catalogue),
    ...jobRoutes({ jobs: store.jobs, ...(opts.onWork ? { onWork: opts.onWork } : {}) }),
    ...keyRoutes(keys),
    ...docsRoutes(
      () =>
        (document ??= buildOpenApi(routes, {
          title: 'Traitlens API',
          version: API_VERSION,
          description: 'Self-hostable user profiling. Errors are always `{"error": {"code", "message", "details"}}`.',
          license: { name: 'MIT', identifier: 'MIT' },
        })),
    ),
  ];

  const app = new Hono<ApiEnv>();
  app.onError(onError);
  app.notFound(notFound);
  app.use('*', requestId(), requestLog(logger, lifecycle), requestMetrics(metrics), async (c, next) => {
    await next();
    c.res.headers.set('x-content-type-options', 'nosniff');
  });
  // Browser pages on other origins (TRAITLENS_CORS_ORIGINS; off by default), preflights answered here.
  const corsMiddleware = cors(config.TRAITLENS_CORS_ORIGINS);
  if (corsMiddleware) app.use('*', corsMiddleware);
  // The web console: static files only (no data, no key); it calls the routes above with the user's key.
  app.route('/', consoleApp());
  mountRoutes(app, routes, {
    auth: auth(keys),
    rateLimit: rateLimiter({
      global: { rps: config.TRAITLENS_RATE_LIMIT_RPS, burst: config.TRAITLENS_RATE_LIMIT_BURST },
      perScope: parseRateLimits(config.TRAITLENS_RATE_LIMITS),
    }),
    audit: (action) => audit({ audit: store.audit, userIdsOf: (refs) => store.profiles.userIdsOf(refs) }, action),
    body: [bodyLimit({ maxBytes: config.TRAITLENS_MAX_BODY_BYTES }), jsonBody()],
    etag: etag(),
    idempotency: idempotency({ store: store.idempotency, ttlMs: config.TRAITLENS_IDEMPOTENCY_TTL_MS }),
  });
  return app;
}
