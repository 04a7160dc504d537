import { pino, type Logger, type LevelWithSilent } from 'pino';

/**
 * The service logger: JSON lines on stdout; secrets never reach it (keys are logged by id).
 * Written asynchronously: lines logged while a write is in flight go out together in the next
 * one (one syscall for many request lines under load, instead of one each on the serving thread);
 * pino flushes what is left synchronously when the process exits.
 */
export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'traitlens' },
      redact: { paths: ['req.headers.authorization', '*.authorization', '*.secret'], censor: '[redacted]' },
    },
    pino.destination({ dest: 1, sync: false }),
  );
}
