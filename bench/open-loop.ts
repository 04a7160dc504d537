/**
 * The open-loop load generator of bench/similar.ts (--similar-http) and bench/reads.ts, run as a
 * process of its own with a small heap: in the bench's process its timings would include that
 * process's pauses, and latency is measured from the scheduled send time, so a generator stall
 * would count as server latency.
 *   node --max-old-space-size=64 --import tsx bench/open-loop.ts --url <base> --key <secret> --ids <file> --rate 100 --seconds 10
 *     [--path '/v1/users/{id}/similar?k=10'] [--warmup 1] [--sockets 256] [--server-pid PID]
 * `--path`: the request path, `{id}` replaced by each id (URL-encoded), ids taken in the order
 * i·7919 mod n. `--warmup S`: first S seconds at the same rate on the same connections, not
 * measured. `--server-pid`: also report that process's CPU time per measured request (Linux /proc).
 *
 * Cheap per request, so the generator takes little of the CPUs it shares with the server: raw
 * `node:net` keep-alive sockets (one request in flight per socket, no pipelining; a new socket when
 * none is idle, up to --sockets, then requests queue — the queueing counts in their latency),
 * each request pre-formatted once as bytes, and a minimal HTTP/1.1 response parser (status line,
 * Content-Length or chunked; `HttpResponseParser`, tested in test/bench/open-loop.test.ts).
 * Prints one JSON line: latency from the scheduled send time (p50/p99/p99.9/max), how late the
 * generator sent (send lag p99/max), latency from the actual send, its event loop's longest delay
 * and its own CPU per request, so a generator stall shows as its own figure instead of hiding in
 * the server's.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

export interface OpenLoopResult {
  achieved_rps: number;
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  /** how late the generator's timer handed a request to the connection pool after its scheduled time (its own stalls) */
  send_lag_p99_ms: number;
  send_lag_max_ms: number;
  /** the generator's event-loop delay (monitorEventLoopDelay, 1 ms resolution) */
  loop_delay_max_ms: number;
  /** latency from the moment the request was written to its socket (the server's and the network's share, without the send lag and without any wait for a free socket) */
  sent_p50_ms: number;
  sent_p99_ms: number;
  /** the generator's own CPU time per request, and the time it was runnable but waiting for a CPU (Linux schedstat) */
  gen_cpu_ms_per_req: number;
  gen_runq_ms_per_req: number;
  /** sockets the generator opened (keep-alive: each carries one request at a time) */
  sockets: number;
  /** requests sent again because the server closed their reused keep-alive socket before answering */
  retries: number;
  /** with --server-pid: that process's CPU time (user + system, all threads) per measured request */
  server_cpu_ms_per_req?: number;
}

/** One parsed HTTP response: its status and the length of its body (the body itself is not kept). */
export interface ParsedResponse {
  status: number;
  bodyBytes: number;
  /** the server said `Connection: close`: the socket carries no further request */
  close: boolean;
}

const CR = 13;
const LF = 10;
const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * A minimal incremental HTTP/1.1 response parser for a keep-alive client socket: feed it the bytes
 * as they arrive (`push`, any split), get back each response completed by them. Understands the
 * status line, `Content-Length`, `Transfer-Encoding: chunked` (chunk extensions and trailers
 * skipped) and bodiless statuses (1xx, 204, 304); a response with neither length header ends when
 * the connection does (`end`). Throws on bytes that are not HTTP.
 */
export class HttpResponseParser {
  private buf: Buffer = Buffer.alloc(0);
  private state: 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'until-close' = 'head';
  private status = 0;
  private close = false;
  private remaining = 0;
  private bodyBytes = 0;

  push(chunk: Buffer): ParsedResponse[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: ParsedResponse[] = [];
    let pos = 0;
    for (;;) {
      if (this.state === 'head') {
        const end = this.buf.indexOf(HEADER_END, pos);
        if (end < 0) break;
        this.head(this.buf.toString('latin1', pos, end));
        pos = end + 4;
        continue;
      }
      if (this.state === 'body' || this.state === 'chunk-data') {
        const take = Math.min(this.remaining, this.buf.length - pos);
        pos += take;
        this.remaining -= take;
        this.bodyBytes += take;
        if (this.remaining > 0) break;
        if (this.state === 'body') out.push(this.done());
        else this.state = 'chunk-crlf';
        continue;
      }
      if (this.state === 'until-close') {
        this.bodyBytes += this.buf.length - pos;
        pos = this.buf.length;
        break;
      }
      // chunk-size, chunk-crlf, trailers: line-based
      const eol = this.buf.indexOf(LF, pos);
      if (eol < 0) break;
      const line = this.buf.toString('latin1', pos, eol > pos && this.buf[eol - 1] === CR ? eol - 1 : eol);
      pos = eol + 1;
      if (this.state === 'chunk-crlf') {
        if (line !== '') throw new Error(`bad chunk end: ${JSON.stringify(line.slice(0, 40))}`);
        this.state = 'chunk-size';
      } else if (this.state === 'chunk-size') {
        const size = Number.parseInt(line.split(';', 1)[0]!.trim(), 16);
        if (!Number.isFinite(size) || size < 0) throw new Error(`bad chunk size: ${JSON.stringify(line.slice(0, 40))}`);
        if (size === 0) this.state = 'trailers';
        else {
          this.remaining = size;
          this.state = 'chunk-data';
        }
      } else if (line === '') out.push(this.done()); // the empty line after the trailers
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
    return out;
  }

  /** The connection ended: a response delimited by the close is complete; anything else partial is an error. */
  end(): ParsedResponse | undefined {
    if (this.state === 'until-close') return this.done();
    if (this.state !== 'head' || this.buf.length) throw new Error('connection closed inside a response');
    return undefined;
  }

  private head(text: string): void {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!m) throw new Error(`not an HTTP response: ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`);
    this.status = Number(m[1]);
    this.bodyBytes = 0;
    let length = -1;
    let chunked = false;
    this.close = false;
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i]!;
      const colon = l.indexOf(':');
      if (colon < 0) continue;
      const name = l.slice(0, colon).trim().toLowerCase();
      const value = l
        .slice(colon + 1)
        .trim()
        .toLowerCase();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') chunked = value.split(',').some((v) => v.trim() === 'chunked');
      else if (name === 'connection') this.close = value.split(',').some((v) => v.trim() === 'close');
    }
    if (this.status < 200 && this.status >= 100) {
      this.state = 'head'; // an interim response: the real one follows
      return;
    }
    if (this.status === 204 || this.status === 304) this.state = 'body';
    else if (chunked) this.state = 'chunk-size';
    else if (length >= 0) this.state = 'body';
    else {
      this.state = 'until-close';
      return;
    }
    this.remaining = this.state === 'body' && this.status !== 204 && this.status !== 304 ? length : 0;
  }

  private done(): ParsedResponse {
    this.state = 'head';
    return { status: this.status, bodyBytes: this.bodyBytes, close: this.close };
  }
}

/** Time a process's threads spent runnable but waiting for a CPU, in seconds (Linux /proc/<pid>/task/<tid>/schedstat; NaN elsewhere). */
export function runQueueSeconds(pid: number | 'self' | undefined): number {
  try {
    let s = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) s += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
    return s;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds a process has used, all threads (Linux /proc; NaN elsewhere). */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

const pct = (sorted: Float64Array, p: number) => (sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number) : Number.NaN);

/**
 * Calls `fire(i, due)` for i = 0 … total − 1, each at its scheduled time t0 + i / rate (a timer
 * catches up on every request that fell due, so a late timer never thins the load: open loop), and
 * calls `sent()` once the last one has been fired.
 */
export function sendOnSchedule(total: number, rate: number, t0: number, fire: (i: number, due: number) => void, sent: () => void): void {
  let next = 0;
  const interval = 1000 / rate;
  const tick = () => {
    const now = performance.now();
    while (next < total && t0 + next * interval <= now) {
      fire(next, t0 + next * interval);
      next++;
    }
    if (next >= total) sent();
    // Wake at the next due time (a timer never fires early; Node rounds to whole milliseconds).
    else setTimeout(tick, Math.max(0, Math.floor(t0 + next * interval - performance.now())));
  };
  setTimeout(tick, Math.max(0, t0 - performance.now()));
}

/** One request: its bytes, and what to call when it is written and when it is answered (a status, or an error code). */
interface Req {
  bytes: Buffer;
  onSend(): void;
  done(status: number | string): void;
  /** already re-sent once after a reused socket closed under it */
  retried: boolean;
}

interface Conn {
  socket: Socket;
  parser: HttpResponseParser;
  /** the request in flight on it */
  current: Req | undefined;
  /** answers received on it so far (a reused keep-alive socket may be closed by the server under a new request) */
  answered: number;
  /** bytes received for the request in flight */
  got: number;
  idleSince: number;
  alive: boolean;
}

/** An idle socket older than this is closed rather than reused (node's server closes idle keep-alive sockets after 5 s). */
const MAX_IDLE_MS = 4000;

/**
 * Keep-alive connections to one host: a request goes out on an idle socket (the most recently freed
 * one), else on a new socket up to `max`, else waits for one to free up. A request whose reused
 * socket closes before any byte of its answer (the server timed the idle socket out as we wrote)
 * is sent once more on another socket, as HTTP clients do for idempotent requests (RFC 9112 §9.3.1).
 */
class Pool {
  private readonly idle: Conn[] = [];
  private readonly waiting: Req[] = [];
  private open = 0;
  opened = 0;
  retries = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly max: number,
  ) {}

  request(bytes: Buffer, onSend: () => void, done: (status: number | string) => void): void {
    this.dispatch({ bytes, onSend, done, retried: false });
  }

  private dispatch(r: Req): void {
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (performance.now() - c.idleSince < MAX_IDLE_MS) {
        this.send(c, r);
        return;
      }
      this.retire(c);
    }
    if (this.open < this.max) this.send(this.connect(), r);
    else this.waiting.push(r);
  }

  private send(c: Conn, r: Req): void {
    c.current = r;
    c.got = 0;
    r.onSend();
    c.socket.write(r.bytes);
  }

  private retire(c: Conn): void {
    if (!c.alive) return;
    c.alive = false;
    this.open--;
    c.socket.destroy();
  }

  private connect(): Conn {
    this.open++;
    this.opened++;
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    const c: Conn = { socket, parser: new HttpResponseParser(), current: undefined, answered: 0, got: 0, idleSince: 0, alive: true };
    const release = (status: number | string) => {
      const r = c.current;
      c.current = undefined;
      r?.done(status);
    };
    const drop = (status: number | string) => {
      if (!c.alive) return;
      const i = this.idle.indexOf(c);
      if (i >= 0) this.idle.splice(i, 1);
      this.retire(c);
      const r = c.current;
      c.current = undefined;
      if (r && !r.retried && c.answered > 0 && c.got === 0 && typeof status === 'string') {
        r.retried = true;
        this.retries++;
        this.dispatch(r);
      } else r?.done(status);
      // A waiting request takes a new socket in its place.
      const w = this.waiting.shift();
      if (w) this.dispatch(w);
    };
    socket.on('data', (chunk: Buffer) => {
      c.got += chunk.length;
      let responses: ParsedResponse[];
      try {
        responses = c.parser.push(chunk);
      } catch (err) {
        return drop((err as Error).message.slice(0, 40));
      }
      for (const r of responses) {
        c.answered++;
        release(r.status);
        if (r.close) return drop('closed');
        const w = this.waiting.shift();
        if (w) this.send(c, w);
        else {
          c.idleSince = performance.now();
          this.idle.push(c);
        }
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => drop(err.code ?? err.message));
    socket.on('close', () => {
      // A response delimited by the end of the connection is complete now.
      let last: ParsedResponse | undefined;
      try {
        last = c.alive ? c.parser.end() : undefined;
      } catch {
        last = undefined;
      }
      if (last) release(last.status);
      drop('ECONNRESET');
    });
    return c;
  }

  destroy(): void {
    for (const c of this.idle.splice(0)) this.retire(c);
  }
}

/** The request bytes for each id: `GET <path with {id}> HTTP/1.1` with Host and the headers, formatted once. */
function formatRequests(url: URL, path: string, headers: Record<string, string>, ids: readonly string[]): Buffer[] {
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return ids.map((id) => Buffer.from(`GET ${path.replaceAll('{id}', encodeURIComponent(id))} HTTP/1.1\r\nHost: ${url.host}\r\n${extra}\r\n`, 'latin1'));
}

export interface OpenLoopOptions {
  /** request path, `{id}` replaced by the URL-encoded id (default: bench/similar's `/v1/users/{id}/similar?k=10`) */
  path?: string;
  /** seconds sent at the same rate on the same connections before the measured run (default 0) */
  warmup?: number;
  /** most sockets open at once (default 256) */
  sockets?: number;
  /** report this process's CPU per measured request */
  serverPid?: number;
}

/** `rate` requests per second for `seconds`, each sent at its scheduled time and measured from that time to the end of its response. */
export async function openLoop(
  base: string,
  headers: Record<string, string>,
  ids: readonly string[],
  rate: number,
  seconds: number,
  opts: OpenLoopOptions = {},
): Promise<OpenLoopResult> {
  const url = new URL(base);
  const pool = new Pool(url.hostname, Number(url.port || 80), opts.sockets ?? 256);
  const requests = formatRequests(url, opts.path ?? '/v1/users/{id}/similar?k=10', headers, ids);
  try {
    if (opts.warmup) await run(pool, requests, rate, Math.round(rate * opts.warmup));
    pool.retries = 0;
    const total = Math.round(rate * seconds);
    const eld = monitorEventLoopDelay({ resolution: 1 });
    const cpu0 = process.cpuUsage();
    const rq0 = runQueueSeconds('self') * 1000;
    const srv0 = opts.serverPid === undefined ? Number.NaN : cpuSeconds(opts.serverPid);
    eld.enable();
    const r = await run(pool, requests, rate, total);
    eld.disable();
    const srv = opts.serverPid === undefined ? Number.NaN : cpuSeconds(opts.serverPid) - srv0;
    const cpu = process.cpuUsage(cpu0);
    const rq = runQueueSeconds('self') * 1000 - rq0;
    r.lat.sort();
    r.lag.sort();
    r.sent.sort();
    return {
      achieved_rps: Math.round(total / (r.elapsedMs / 1000)),
      requests: total,
      errors: r.errors,
      statuses: Object.fromEntries(r.statuses),
      p50_ms: pct(r.lat, 50),
      p99_ms: pct(r.lat, 99),
      p999_ms: pct(r.lat, 99.9),
      max_ms: pct(r.lat, 100),
      send_lag_p99_ms: pct(r.lag, 99),
      send_lag_max_ms: pct(r.lag, 100),
      loop_delay_max_ms: eld.max / 1e6,
      sent_p50_ms: pct(r.sent, 50),
      sent_p99_ms: pct(r.sent, 99),
      gen_cpu_ms_per_req: (cpu.user + cpu.system) / 1000 / total,
      gen_runq_ms_per_req: rq / total,
      sockets: pool.opened,
      retries: pool.retries,
      ...(opts.serverPid === undefined ? {} : { server_cpu_ms_per_req: (srv * 1000) / total }),
    };
  } finally {
    pool.destroy();
  }
}

/** One open-loop pass of `total` requests; typed arrays so the measurements make no garbage. */
function run(
  pool: Pool,
  requests: readonly Buffer[],
  rate: number,
  total: number,
): Promise<{ lat: Float64Array; lag: Float64Array; sent: Float64Array; errors: number; statuses: Map<number | string, number>; elapsedMs: number }> {
  const lat = new Float64Array(total);
  const lag = new Float64Array(total);
  const sent = new Float64Array(total);
  const statuses = new Map<number | string, number>();
  let errors = 0;
  let settled = 0;
  let allSent = false;
  let lastDone = 0;
  const t0 = performance.now() + 5;
  return new Promise((resolve) => {
    const finish = () => {
      if (allSent && settled === total) resolve({ lat, lag, sent, errors, statuses, elapsedMs: lastDone - t0 });
    };
    sendOnSchedule(
      total,
      rate,
      t0,
      (i, due) => {
        // The timer's lateness: the generator's own stall, apart from any wait for a free socket.
        let at = performance.now();
        lag[i] = at - due;
        pool.request(
          requests[(i * 7919) % requests.length]!,
          () => {
            at = performance.now();
          },
          (status) => {
            lastDone = performance.now();
            lat[i] = lastDone - due;
            sent[i] = lastDone - at;
            if (status !== 200) {
              errors++;
              statuses.set(status, (statuses.get(status) ?? 0) + 1);
            }
            settled++;
            finish();
          },
        );
      },
      () => {
        allSent = true;
        finish();
      },
    );
  });
}

/**
 * Runs this generator as a child process with a 64 MB heap (nothing shared with the bench's process)
 * with the given CLI flags, and resolves its JSON line. `wrap`: a command to run it under (e.g.
 * `[taskset, '-c', '0']`).
 */
export function openLoopChild(flags: string[], wrap: string[] = []): Promise<OpenLoopResult> {
  return new Promise((resolveRun, reject) => {
    const node = [process.execPath, '--max-old-space-size=64', '--import', 'tsx', import.meta.filename, ...flags];
    const [cmd, ...args] = [...wrap, ...node] as [string, ...string[]];
    const child = spawn(cmd, args, { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`open-loop generator exited ${code}`));
      resolveRun(JSON.parse(out.trim()) as OpenLoopResult);
    });
  });
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      key: { type: 'string', default: '' },
      ids: { type: 'string' },
      rate: { type: 'string', default: '100' },
      seconds: { type: 'string', default: '10' },
      path: { type: 'string', default: '/v1/users/{id}/similar?k=10' },
      warmup: { type: 'string', default: '0' },
      sockets: { type: 'string', default: '256' },
      'server-pid': { type: 'string' },
    },
  });
  const ids = readFileSync(values.ids as string, 'utf8')
    .split('\n')
    .filter(Boolean);
  const headers: Record<string, string> = values.key ? { authorization: `Bearer ${values.key}` } : {};
  const r = await openLoop(values.url as string, headers, ids, Number(values.rate), Number(values.seconds), {
    path: values.path,
    warmup: Number(values.warmup),
    sockets: Number(values.sockets),
    ...(values['server-pid'] ? { serverPid: Number(values['server-pid']) } : {}),
  });
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
