import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configSchema, loadConfig } from '../../src/core/config.ts';

// docker-compose.yml cannot run here (no container engine); it is checked as data instead: every
// Traitlens service sets only variables the config schema knows, with values it accepts.
const root = resolve(import.meta.dirname, '../..');
type Service = { image?: string; build?: unknown; command?: string[]; environment?: Record<string, string | number> };
const compose = parse(readFileSync(resolve(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const traitlens = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);

describe('docker-compose.yml', () => {
  it('has two API replicas and two workers on one PostgreSQL with pgvector', () => {
    const commands = traitlens.map(([, s]) => s.command?.at(-1));
    expect(commands.filter((c) => c === 'serve')).toHaveLength(2);
    expect(commands.filter((c) => c === 'worker')).toHaveLength(2);
    expect(compose.services.postgres?.image).toMatch(/pgvector/);
    const urls = new Set(traitlens.map(([, s]) => s.environment?.TRAITLENS_DB));
    expect([...urls]).toHaveLength(1);
    expect([...urls][0]).toMatch(/^postgres(ql)?:\/\//);
  });

  it.each(traitlens)('%s sets only known variables, with valid values', (_name, service) => {
    const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
    const known = new Set(Object.keys(configSchema.shape));
    expect(Object.keys(env).filter((k) => !known.has(k))).toEqual([]);
    expect(() => loadConfig(env)).not.toThrow();
  });

  it('gives each service a command the image entrypoint (bin/traitlens.mjs) runs', () => {
    for (const [, s] of traitlens) expect(s.command).toHaveLength(1);
  });

  it('API replicas leave the pipeline to the workers', () => {
    for (const [, s] of traitlens) if (s.command?.at(-1) === 'serve') expect(s.environment?.TRAITLENS_WORKER).toBe('false');
  });
});
