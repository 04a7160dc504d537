import { pino, type Logger, type LevelWithSilent } from 'pino';

/** Lines are written once this much text has gathered... */
const LOG_BATCH_CHARS = 4096;
/** ...or this long after the last write, whichever comes first. */
const LOG_FLUSH_MS = 250;

/**
 * The service logger: JSON lines on stdout; secrets never reach it (keys are logged by id).
 * Written asynchronously and in batches: lines gather until about 4 KB (some twenty request lines)
 * or a quarter of a second has passed, then go out in one write. Each write is a trip to libuv's
 * thread pool and back, so one per request line cost the serving thread and the pool more than the
 * lines themselves under load. pino flushes what is left synchronously when the process exits.
 */
export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'traitlens' },
      redact: { paths: ['req.headers.authorization', '*.authorization', '*.secret'], censor: '[redacted]' },
    },
    pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_CHARS, periodicFlush: LOG_FLUSH_MS }),
  );
}
