import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema, loadConfig } from '../../src/core/config.ts';
import { ConfigError } from '../../src/core/errors.ts';

describe('config', () => {
  it('defaults work with an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ HOST: '127.0.0.1', PORT: 8080, TRAITLENS_DB: './data/traitlens.db', TRAITLENS_DEFAULT_CONSENT: ['profiling', 'llm_processing'] });
  });
  it('a wrong setting fails fast naming the variable', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/PORT/);
    expect(() => loadConfig({ TRAITLENS_DB_SYNCHRONOUS: 'sometimes' })).toThrow(/TRAITLENS_DB_SYNCHRONOUS/);
    expect(() => loadConfig({ TRAITLENS_DEFAULT_CONSENT: 'profiling,spam' })).toThrow(/TRAITLENS_DEFAULT_CONSENT/);
    expect(() => loadConfig({ OPENAI_BASE_URL: 'not a url' })).toThrow(/OPENAI_BASE_URL/);
  });
  it('.env.example documents every setting, with its default', () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const documented = new Map([...example.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    for (const key of Object.keys(configSchema.shape)) expect(documented.has(key), key).toBe(true);
    for (const key of documented.keys()) expect(Object.keys(configSchema.shape), key).toContain(key);
    // The example's values parse and equal the defaults.
    expect(loadConfig(Object.fromEntries(documented))).toEqual(loadConfig({}));
  });
});

describe('providers guard', () => {
  it('refuses to start with langchain tracing on (it would ship user text out)', async () => {
    const { createProviders } = await import('../../src/providers/index.ts');
    expect(() => createProviders(loadConfig({}), { LANGSMITH_TRACING: 'true' })).toThrow(/LANGSMITH_TRACING/);
  });
});
