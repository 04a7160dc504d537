import { pino, type Logger, type LevelWithSilent } from 'pino';

/** The service logger: JSON lines on stdout; secrets never reach it (keys are logged by id). */
export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino({
    level,
    base: { service: 'traitlens' },
    redact: { paths: ['req.headers.authorization', '*.authorization', '*.secret'], censor: '[redacted]' },
  });
}
