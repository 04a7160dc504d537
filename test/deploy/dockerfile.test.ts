import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { configSchema, loadConfig } from '../../src/core/config.ts';

// No container engine here: the Dockerfile is checked as data. Its entrypoint must be a file in
// the repo, its command a real `traitlens` command, its variables ones the config schema knows.
const root = resolve(import.meta.dirname, '../..');
const lines = readFileSync(resolve(root, 'Dockerfile'), 'utf8')
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .filter((l) => l.trim() && !l.trim().startsWith('#'));
const instr = (name: string) => lines.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim());
const execForm = (s: string) => JSON.parse(s) as string[];
const sink = () => {
  let text = '';
  return { stream: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream, text: () => text };
};

describe('Dockerfile', () => {
  const entrypoint = execForm(instr('ENTRYPOINT')[0]!);
  const cmd = execForm(instr('CMD')[0]!);

  it('runs bin/traitlens.mjs with a command the CLI has', async () => {
    expect(entrypoint.slice(0, 1)).toEqual(['node']);
    expect(existsSync(resolve(root, entrypoint[1]!))).toBe(true);
    const out = sink();
    const err = sink();
    expect(await main([...entrypoint.slice(2), ...cmd, '--help'], { stdout: out.stream, stderr: err.stream })).toBe(0);
    expect(out.text()).toMatch(/usage: traitlens serve/);
  });

  it('sets only variables the config schema knows, with values it accepts, listening beyond loopback', () => {
    const env: Record<string, string> = {};
    for (const e of instr('ENV')) for (const m of e.matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)) env[m[1]!] = m[2]!;
    const known = new Set(Object.keys(configSchema.shape));
    expect(Object.keys(env).length).toBeGreaterThan(0);
    expect(Object.keys(env).filter((k) => !known.has(k))).toEqual([]);
    const config = loadConfig(env);
    expect(config.HOST).toBe('0.0.0.0');
    expect(config.TRAITLENS_DB.startsWith(env.TRAITLENS_DATA_DIR!)).toBe(true);
    expect(instr('VOLUME')).toEqual([env.TRAITLENS_DATA_DIR]);
  });

  it('health-checks the port it exposes', () => {
    const port = instr('EXPOSE')[0];
    expect(instr('HEALTHCHECK')[0]).toContain(`127.0.0.1:${port}/healthz`);
  });
});
