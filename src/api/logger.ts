import { pino, type Logger, type LevelWithSilent } from 'pino';

/** Lines are written once this much text has gathered... */
const LOG_BATCH_CHARS = 4096;
/** ...or this long after the first line of a batch was logged, whichever comes first. */
const LOG_FLUSH_MS = 250;

/**
 * The service logger: JSON lines on stdout; secrets never reach it (keys are logged by id).
 * Written asynchronously and in batches: lines gather until about 4 KB (some twenty request lines)
 * or a quarter of a second has passed, then go out in one write. Each write is a trip to libuv's
 * thread pool and back, so one per request line cost the serving thread and the pool more than the
 * lines themselves under load. pino flushes what is left synchronously when the process exits.
 */
export function createLogger(level: LevelWithSilent = 'info'): Logger {
  const dest = pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_CHARS });
  // The flush timer runs only while a batch waits (sonic-boom's own periodicFlush would tick, and
  // write, forever, and keep every logger ever made alive: one per app in the tests).
  let pending: NodeJS.Timeout | undefined;
  const flush = () => {
    pending = undefined;
    try {
      dest.flush();
    } catch {
      // Only a destroyed (closed) destination throws here: there is nothing left to write to.
    }
  };
  const write = dest.write.bind(dest);
  dest.write = (line: string) => {
    const below = write(line);
    if (pending === undefined) (pending = setTimeout(flush, LOG_FLUSH_MS)).unref();
    return below;
  };
  return pino(
    {
      level,
      base: { service: 'traitlens' },
      redact: { paths: ['req.headers.authorization', '*.authorization', '*.secret'], censor: '[redacted]' },
    },
    dest,
  );
}
