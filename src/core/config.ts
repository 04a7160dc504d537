import { existsSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

/**
 * Every setting the service reads, parsed once at start-up. `.env.example` documents each one;
 * a wrong value fails fast with the variable's name.
 */
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');

export const configSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(8080, 0, 65535),
  TRAITLENS_DB: z.string().min(1).default('./data/traitlens.db'),
  /** FULL fsyncs every commit: an acknowledged event survives power loss, not only a crash. */
  TRAITLENS_DB_SYNCHRONOUS: z.enum(['OFF', 'NORMAL', 'FULL']).default('FULL'),
  TRAITLENS_BUSY_TIMEOUT_MS: int(5000, 0),
  TRAITLENS_MAX_BATCH_EVENTS: int(1000, 1, 100_000),
  TRAITLENS_MAX_BODY_BYTES: int(5 * 1024 * 1024, 1024),
  TRAITLENS_MAX_TEXT_CHARS: int(20_000, 1),
  TRAITLENS_MAX_PROPERTIES_BYTES: int(32 * 1024, 64),
  /** Timestamps later than received time by more than this are rejected; within it, clamped. */
  TRAITLENS_FUTURE_SKEW_MS: int(24 * 3600 * 1000, 0),
  TRAITLENS_CLAMP_SKEW_MS: int(5 * 60 * 1000, 0),
  TRAITLENS_SHUTDOWN_TIMEOUT_MS: int(10_000, 0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_CHAT_MODEL: z.string().default('gpt-4o-mini'),
  OPENAI_EMBEDDING_MODEL: z.string().default('text-embedding-3-small'),
  TRAITLENS_WORKER: bool(true),
});

export type Config = z.infer<typeof configSchema>;

/** Parses settings from an environment map (process.env by default). Empty strings count as unset. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') cleaned[key] = v.trim();
  }
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message} (got ${JSON.stringify(cleaned[String(i.path[0])])})`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`, { problems });
  }
  return parsed.data;
}

/** Reads `.env` in the working directory into process.env (existing variables win), if present. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
