/**
 * Starting and stopping the servers a bench measures (bench/reads.ts, bench/similar.ts), each a
 * process of its own, and the HTTP floor (bench/floor-server.mjs) beside them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export interface StartedServer {
  child: ChildProcess;
  url: string;
  pid: number | undefined;
}

export interface StartOptions {
  env: NodeJS.ProcessEnv;
  /** matched against each stdout line; its first group is the server's base URL */
  ready: RegExp;
  cwd?: string;
  /** a command to run node under (e.g. `[taskset, '-c', '1']`) */
  wrap?: string[];
  /** every stdout line up to the ready one */
  onLine?: (line: string) => void;
}

/**
 * `node <args>` as a process of its own; resolves when a stdout line matches `ready`. Its stdout
 * keeps draining afterwards without being held (a full pipe would stall the server's request log);
 * stderr goes to ours.
 */
export function startServer(args: string[], opts: StartOptions): Promise<StartedServer> {
  const [cmd, ...rest] = [...(opts.wrap ?? []), process.execPath, ...args] as [string, ...string[]];
  const child = spawn(cmd, rest, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    let done = false;
    child.stdout.on('data', (d: Buffer) => {
      if (done) return;
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        opts.onLine?.(line);
        const m = opts.ready.exec(line);
        if (m) {
          done = true;
          buf = '';
          resolve({ child, url: m[1] as string, pid: child.pid });
          return;
        }
      }
    });
    child.once('error', reject);
    child.once('exit', (c) => {
      if (!done) reject(new Error(`server ${args.at(-1)} exited ${c}`));
    });
  });
}

/** SIGTERM, and resolves once the process has exited. */
export function stopServer(child: ChildProcess): Promise<void> {
  return new Promise<void>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

/** What real answers weigh, in bytes: the floor's body is their mean. */
export interface BodySizes {
  mean: number;
  min: number;
  max: number;
}

export function bodySizes(sizes: readonly number[]): BodySizes {
  return { mean: Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length), min: Math.min(...sizes), max: Math.max(...sizes) };
}

export const FLOOR_SERVER = join(import.meta.dirname, 'floor-server.mjs');
export const FLOOR_NAME = 'floor: node:http constant answer';

/**
 * The HTTP floor (bench/floor-server.mjs): node:http answering every GET with a constant JSON body
 * of `bytes` bytes. `nodeFlags` go before the script (e.g. a stats preload).
 */
export function startFloorServer(bytes: number, opts: { env?: NodeJS.ProcessEnv; wrap?: string[]; nodeFlags?: string[] } = {}): Promise<StartedServer> {
  return startServer([...(opts.nodeFlags ?? []), FLOOR_SERVER, '--bytes', String(bytes)], {
    env: opts.env ?? { PATH: process.env.PATH ?? '' },
    ready: /floor listening on (http:\/\/127\.0\.0\.1:\d+)/,
    ...(opts.wrap ? { wrap: opts.wrap } : {}),
  });
}
