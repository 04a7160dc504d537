import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connection.ts';
import { sqliteStore } from '../../src/db/store.ts';
import { BIN, runCli } from './helpers.ts';

let dir: string;
let dbPath: string;
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: dir, env: { TRAITLENS_DB: dbPath, ...env } });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'traitlens-cli-keys-'));
  dbPath = join(dir, 'cli.db');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each test starts the CLI several times (≈1 s each on a quiet machine, 10+ s on a loaded one).
describe('traitlens keys', { timeout: 120_000 }, () => {
  it('creates a usable key with --json, lists it and revokes it', async () => {
    const r = await cli(['keys', 'create', '--name', 'ingest bot', '--scopes', 'events:write,profiles:read', '--json']);
    expect(r.code).toBe(0);
    const key = JSON.parse(r.stdout) as { id: string; secret: string; name: string; scopes: string[] };
    expect(key).toMatchObject({ name: 'ingest bot', scopes: ['events:write', 'profiles:read'] });
    expect(key.id).toMatch(/^key_/);
    expect(r.stderr).toMatch(/not be shown again/);

    const db = openDb(dbPath);
    try {
      expect(await sqliteStore(db).keys.verify(key.secret)).toEqual({ id: key.id, scopes: ['events:write', 'profiles:read'] });
    } finally {
      db.close();
    }

    const list = await cli(['keys', 'list', '--json']);
    expect(list.code).toBe(0);
    const keys = JSON.parse(list.stdout) as { id: string; prefix: string }[];
    expect(keys.map((k) => k.id)).toContain(key.id);
    expect(list.stdout).not.toContain(key.secret);

    expect((await cli(['keys', 'revoke', key.id])).code).toBe(0);
    const db2 = openDb(dbPath);
    try {
      expect(await sqliteStore(db2).keys.verify(key.secret)).toBeNull();
    } finally {
      db2.close();
    }
    const missing = await cli(['keys', 'revoke', 'key_nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no API key key_nope/);
  });

  it('rejects unknown scopes with exit 2 (a bad option value) and says which are valid', async () => {
    const r = await cli(['keys', 'create', '--name', 'x', '--scopes', 'events:write,everything']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/scopes must be a comma-separated list of events:write/);
  });

  it('prints usage on --help without needing a valid configuration', async () => {
    const r = await cli(['keys', '--help'], { PORT: 'abc' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/traitlens keys create --name NAME --scopes/);
  });
});

// Each test starts the CLI several times (≈1 s each on a quiet machine, 10+ s on a loaded one).
describe('configuration and usage', { timeout: 120_000 }, () => {
  it('fails fast on a wrong setting, naming the variable', async () => {
    const [serve, stats] = await Promise.all([cli(['serve'], { PORT: 'abc' }), cli(['stats'], { TRAITLENS_DB_SYNCHRONOUS: 'SOMETIMES' })]);
    expect(serve.code).toBe(2);
    expect(serve.stderr).toMatch(/PORT/);
    expect(serve.stdout).toBe('');
    expect(stats.code).toBe(2);
    expect(stats.stderr).toMatch(/TRAITLENS_DB_SYNCHRONOUS/);
  });

  it('serve prints the URL, answers, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'serve'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', TRAITLENS_DB: dbPath, PORT: '0', LOG_LEVEL: 'silent', TRAITLENS_WORKER: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        void exited.then(() => reject(new Error(`serve exited before listening: ${out}`)));
      });
      const res = await fetch(`${url}/healthz`);
      expect(res.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('exits 2 for an unknown command or option', async () => {
    const [cmd, opt] = await Promise.all([cli(['frobnicate']), cli(['stats', '--jsno'])]);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toMatch(/unknown command "frobnicate"/);
    expect(opt.code).toBe(2);
    expect(opt.stderr).toMatch(/--jsno/);
  });
});
