import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-db.ts';
import { BIN, fixture, runCli } from './helpers.ts';

// Issue 16 item 5: after `traitlens demo --no-serve`, the other commands, run in the same folder with
// nothing set, work on the demo's data (one data directory: database, models, index). Real CLI runs
// in a temp working directory with a clean environment (only PATH; no .env there).
const REPO_CACHE = resolve('data/cache');

function linkCache(cwd: string): void {
  // The ~140 MB word-vector cache is built once per machine; the temp folder borrows it so the test
  // sets no variable and still does not rebuild it (the default cache folder is ./data/cache).
  mkdirSync(join(cwd, 'data'), { recursive: true });
  if (existsSync(REPO_CACHE)) symlinkSync(REPO_CACHE, join(cwd, 'data', 'cache'));
}

/** `traitlens serve` in `cwd`; resolves with its URL and a stop function. */
function serve(cwd: string, env: Record<string, string>): Promise<{ url: string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.on('close', r));
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolveUrl, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m)
        resolveUrl({
          url: m[1]!,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
    });
    void exited.then(() => reject(new Error(`serve exited before listening: ${out} ${err}`)));
  });
}

describe('one data directory: the demo, then keys and serve in the same folder', { timeout: 240_000 }, () => {
  const work = tempDir('traitlens-cli-datadir-');
  const cwd = work.dir;
  const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd, env });
  let demo: { db: string; showcaseUserId: string; models: { name: string }[] };

  beforeAll(async () => {
    linkCache(cwd);
    const r = await cli(['demo', '--no-serve', '--json', '--users', '200', '--seed', '3']);
    expect(r.code, r.stderr).toBe(0);
    demo = JSON.parse(r.stdout) as typeof demo;
  }, 240_000);
  afterAll(() => work.remove());

  it('the demo writes the database, models and index under ./data with the defaults every command uses', () => {
    expect(demo.db).toBe(join(cwd, 'data', 'traitlens.db'));
    expect(existsSync(join(cwd, 'data', 'traitlens.db'))).toBe(true);
    expect(existsSync(join(cwd, 'data', 'traitlens.db.hnsw'))).toBe(true);
    expect(demo.models.length).toBeGreaterThan(0);
    for (const m of demo.models) expect(existsSync(join(cwd, 'data', 'models', m.name)), m.name).toBe(true);
    expect(existsSync(join(cwd, 'data', 'demo.db'))).toBe(false);
  });

  it('keys create and keys list work on the demo database, and serve answers with its profiles and models', async () => {
    const created = await cli(['keys', 'create', '--name', 'after demo', '--scopes', 'admin', '--json']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).not.toMatch(/empty/);
    const key = JSON.parse(created.stdout) as { secret: string };
    const list = await cli(['keys', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((k) => k.name)).toEqual(expect.arrayContaining(['demo admin', 'after demo']));

    const server = await serve(cwd, { PORT: '0', LOG_LEVEL: 'silent', TRAITLENS_WORKER: 'false' });
    try {
      const get = (path: string) => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${key.secret}` } });
      const profile = await get(`/v1/users/${encodeURIComponent(demo.showcaseUserId)}`);
      expect(profile.status).toBe(200);
      const body = (await profile.json()) as { traits: { kind: string }[] };
      expect(body.traits.some((t) => t.kind === 'predicted')).toBe(true);
      const models = (await (await get('/v1/models')).json()) as { models: { name: string }[] };
      expect(models.models.map((m) => m.name)).toEqual(expect.arrayContaining(demo.models.map((m) => m.name)));
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe('a command pointed at a new, empty database says so', { timeout: 120_000 }, () => {
  const work = tempDir('traitlens-cli-empty-');
  afterAll(() => work.remove());

  it('warns on stderr (naming the database and the setting), not in --json mode', async () => {
    const plain = await runCli(['keys', 'list'], { cwd: work.dir });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(/warning: .*data\/traitlens\.db.* (new|empty)/);
    expect(plain.stderr).toMatch(/TRAITLENS_DATA_DIR/);
    const json = await runCli(['keys', 'list', '--json'], { cwd: work.dir });
    expect(json.code, json.stderr).toBe(0);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toEqual([]);
  });

  it('the demo leaves a database it did not make alone (exit 1) unless --force', async () => {
    const env = { TRAITLENS_DATA_DIR: 'mine', LOG_LEVEL: 'silent' };
    expect((await runCli(['import', fixture('cli-events.jsonl'), '--json'], { cwd: work.dir, env })).code).toBe(0);
    const r = await runCli(['demo', '--no-serve', '--users', '5'], { cwd: work.dir, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/mine\/traitlens\.db holds data the demo did not create.*--force/);
    const stats = await runCli(['stats', '--json'], { cwd: work.dir, env });
    expect((JSON.parse(stats.stdout) as { events: { total: number } }).events.total).toBeGreaterThan(0);
  });

  it('TRAITLENS_DATA_DIR moves the database, models and index together', async () => {
    const r = await runCli(['keys', 'create', '--name', 'x', '--scopes', 'admin', '--json'], { cwd: work.dir, env: { TRAITLENS_DATA_DIR: 'elsewhere' } });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(work.dir, 'elsewhere', 'traitlens.db'))).toBe(true);
  });
});
