import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { assembleRuntime } from '../../src/runtime/runtime.ts';
import { createKeysPerScope, testConfig } from '../support/api.ts';
import { createTempDb } from '../support/temp-db.ts';

const LOGGER = join(import.meta.dirname, '../../src/api/logger.ts');

/** A process that logs through `createLogger` (stdout, batched), running `script` after `const log = createLogger('info')`. */
function logging(script: string): { child: ChildProcess; lines: () => Record<string, unknown>[]; exited: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', `import { createLogger } from ${JSON.stringify(LOGGER)};\nconst log = createLogger('info');\n${script}`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
  };
}

describe('createLogger (batched writes to stdout)', () => {
  let running: ChildProcess | undefined;
  afterEach(() => {
    running?.kill('SIGKILL');
    running = undefined;
  });

  it('writes every line logged before the process exits, though fewer than a batch', async () => {
    const p = logging("for (let i = 0; i < 50; i++) log.info({ i }, 'line');\nprocess.exit(0);");
    running = p.child;
    expect(await p.exited).toBe(0);
    expect(p.lines().map((l) => l.i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('writes a lone line on a process that keeps running (the flush timer), not only at exit', async () => {
    const p = logging("log.info({ reqId: 'lone' }, 'request');\nsetInterval(() => {}, 1000);");
    running = p.child;
    // No exit: the line must come out on its own (within the flush period; the timeout only bounds a failure).
    await expect.poll(() => p.lines().length, { timeout: 10_000, interval: 20 }).toBe(1);
    expect(p.lines()[0]).toMatchObject({ reqId: 'lone', msg: 'request', service: 'traitlens', level: 30 });
    expect(p.child.exitCode).toBeNull();
  });

  it('still redacts authorization headers and secrets', async () => {
    const p = logging(
      "log.info({ req: { headers: { authorization: 'Bearer tlk_leak1' } }, key: { secret: 'tlk_leak2' }, err: { authorization: 'tlk_leak3' } }, 'x');\nprocess.exit(0);",
    );
    running = p.child;
    expect(await p.exited).toBe(0);
    const [line] = p.lines();
    expect(line).toMatchObject({ req: { headers: { authorization: '[redacted]' } }, key: { secret: '[redacted]' }, err: { authorization: '[redacted]' } });
    expect(JSON.stringify(p.lines())).not.toContain('tlk_leak');
  });
});

describe('the request line', () => {
  it('is the same line, key for key, as the redacting logger writes, and errors logged on the request are still redacted', async () => {
    const t = createTempDb();
    try {
      const keys = await createKeysPerScope(t.store);
      const out: string[] = [];
      // The service logger's options (src/api/logger.ts), writing into memory, with a fixed clock.
      const logger = pino(
        {
          level: 'info',
          base: { service: 'traitlens' },
          redact: { paths: ['req.headers.authorization', '*.authorization', '*.secret'], censor: '[redacted]' },
          timestamp: () => ',"time":1',
        },
        new Writable({ write: (chunk, _enc, cb) => (out.push(String(chunk)), cb()) }),
      );
      const app = createApp(assembleRuntime(t.store, testConfig(t.path)), { logger });
      app.get('/probe', (c) => {
        c.get('logger')?.warn({ err: { authorization: `Bearer ${keys.admin}` } }, 'probe');
        return c.text('ok');
      });
      await app.request('/v1/users/someone', { headers: { authorization: `Bearer ${keys['profiles:read']}`, 'x-request-id': 'line-1' } });
      await app.request('/probe', { headers: { 'x-request-id': 'line-2' } });
      const request = out.find((l) => l.includes('"reqId":"line-1"'))!;
      const fields = JSON.parse(request) as { ms: number; keyId: string };
      expect(fields.keyId).toMatch(/^key_/);
      // Rebuilt through the redacting logger itself: the identical text.
      const again: string[] = [];
      const reference = pino(
        {
          level: 'info',
          base: { service: 'traitlens' },
          redact: { paths: ['req.headers.authorization', '*.authorization', '*.secret'], censor: '[redacted]' },
          timestamp: () => ',"time":1',
        },
        new Writable({ write: (chunk, _enc, cb) => (again.push(String(chunk)), cb()) }),
      );
      reference.info({ reqId: 'line-1', method: 'GET', route: '/v1/users/:id', status: 404, ms: fields.ms, keyId: fields.keyId }, 'request');
      await new Promise((r) => setImmediate(r));
      expect(request).toBe(again[0]);
      const probe = out.find((l) => l.includes('"msg":"probe"'))!;
      expect(JSON.parse(probe)).toMatchObject({ err: { authorization: '[redacted]' } });
      expect(out.join('')).not.toContain(keys.admin);
    } finally {
      t.cleanup();
    }
  });
});
