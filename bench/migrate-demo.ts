/**
 * Moving up, end to end: the demo database → PostgreSQL with `traitlens migrate-store`, then the
 * same profiles read from a server on each (README "Scaling out"):
 *   node --import tsx bench/migrate-demo.ts --url postgres://traitlens:traitlens@127.0.0.1:5432/traitlens_test [--users 500]
 * Runs `traitlens demo --no-serve`, copies its database into a fresh schema, starts `serve` on the
 * SQLite file and on PostgreSQL with the same models folder, and compares GET /v1/users/:id,
 * /traits and /similar for every user. Prints the copy report and how many answers are identical.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values } = parseArgs({ options: { url: { type: 'string', default: process.env.TRAITLENS_TEST_PG_URL ?? '' }, users: { type: 'string', default: '500' } } });
if (!values.url) throw new Error('--url postgres://… (or TRAITLENS_TEST_PG_URL) is required');
const bin = join(import.meta.dirname, '..', 'bin/traitlens.mjs');
const dir = mkdtempSync(join(tmpdir(), 'traitlens-migrate-demo-'));
const base = { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', TRAITLENS_WORKER: 'false', HOST: '127.0.0.1', PORT: '0', TRAITLENS_CACHE_DIR: join(dir, 'cache') };

function run(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bin, ...args], { cwd: dir, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`traitlens ${args[0]} exited ${code}: ${out.slice(-500)}`))));
  });
}

function serve(env: Record<string, string>): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [bin, 'serve'], { cwd: dir, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ url: m[1]!, proc });
    });
    proc.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
}

const schema = `migrate_demo_${Date.now().toString(36)}`;
const admin = new pg.Pool({ connectionString: values.url, max: 1 });
const servers: ChildProcess[] = [];
try {
  const demo = JSON.parse(await run(['demo', '--no-serve', '--json', '--users', values.users!], {})) as { database?: string; db?: string };
  // The demo builds the default data directory (./data): the database and the models folder every command uses.
  const sqlite = join(dir, 'data', 'traitlens.db');
  void demo;
  const models = join(dir, 'data', 'models');
  await admin.query(`CREATE SCHEMA "${schema}"`);
  const url = new URL(values.url);
  url.searchParams.set('options', `-c search_path=${schema},public`);
  const t0 = performance.now();
  const report = JSON.parse(await run(['migrate-store', '--from', sqlite, '--to', url.toString(), '--json'], {})) as {
    ok: boolean;
    tables: { table: string; source: number; ok: boolean }[];
  };
  const copySeconds = (performance.now() - t0) / 1000;
  const key = (JSON.parse(await run(['keys', 'create', '--name', 'compare', '--scopes', 'admin', '--json'], { TRAITLENS_DB: sqlite })) as { secret: string }).secret;
  // The key was created after the copy: copy again (re-runnable) so both sides know it.
  await run(['migrate-store', '--from', sqlite, '--to', url.toString(), '--json'], {});
  const a = await serve({ TRAITLENS_DB: sqlite, TRAITLENS_MODELS_DIR: models });
  const b = await serve({ TRAITLENS_DB: url.toString(), TRAITLENS_MODELS_DIR: models });
  servers.push(a.proc, b.proc);
  const get = async (server: string, path: string) => {
    const r = await fetch(`${server}${path}`, { headers: { authorization: `Bearer ${key}` } });
    return `${r.status} ${await r.text()}`;
  };
  const db = new pg.Pool({ connectionString: url.toString(), max: 1 });
  const ids = (await db.query<{ external_id: string }>('SELECT external_id FROM users WHERE external_id IS NOT NULL ORDER BY id')).rows.map((r) => r.external_id);
  await db.end();
  const same = { profile: 0, traits: 0, similarTop5: 0 };
  for (const id of ids) {
    const p = `/v1/users/${encodeURIComponent(id)}`;
    if ((await get(a.url, p)) === (await get(b.url, p))) same.profile++;
    if ((await get(a.url, `${p}/traits`)) === (await get(b.url, `${p}/traits`))) same.traits++;
    const top = async (s: string) => {
      const r = await fetch(`${s}${p}/similar?k=5`, { headers: { authorization: `Bearer ${key}` } });
      const j = (await r.json()) as { results?: { userId: string }[] };
      return JSON.stringify((j.results ?? []).map((x) => x.userId));
    };
    if ((await top(a.url)) === (await top(b.url))) same.similarTop5++;
  }
  console.log(
    `migrate-store: ${report.ok ? 'every table verified' : 'MISMATCH'} (${report.tables.length} tables, ${report.tables.find((t) => t.table === 'events')?.source} events) in ${copySeconds.toFixed(1)} s`,
  );
  console.log(`| read | users | identical on SQLite and PostgreSQL |\n|---|---|---|`);
  console.log(`| GET /v1/users/:id | ${ids.length} | ${same.profile} |`);
  console.log(`| GET /v1/users/:id/traits | ${ids.length} | ${same.traits} |`);
  console.log(`| GET /v1/users/:id/similar?k=5 (same 5 users, same order) | ${ids.length} | ${same.similarTop5} |`);
} finally {
  for (const s of servers) s.kill('SIGTERM');
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}
