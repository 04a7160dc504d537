/**
 * The open-loop load generator of bench/similar.ts (--similar-http), run as a process of its own
 * with a small heap: in the bench's process (which holds the N cached vectors) its timings would
 * include that process's pauses, and latency is measured from the scheduled send time, so a
 * generator stall would count as server latency.
 *   node --max-old-space-size=64 --import tsx bench/open-loop.ts --url <base> --key <secret> --ids <file> --rate 100 --seconds 10
 * Prints one JSON line: latency from the scheduled send time (p50/p99/p99.9/max), how late the
 * generator sent (send lag p99/max) and its event loop's longest delay, so a generator stall shows
 * as its own figure instead of hiding in the server's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
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
  /** how late the generator sent a request after its scheduled time */
  send_lag_p99_ms: number;
  send_lag_max_ms: number;
  /** the generator's event-loop delay (monitorEventLoopDelay, 1 ms resolution) */
  loop_delay_max_ms: number;
  /** latency from the moment the generator actually sent (the server's and the network's share, without the send lag) */
  sent_p50_ms: number;
  sent_p99_ms: number;
  /** the generator's own CPU time per request, and the time it was runnable but waiting for a CPU (Linux schedstat) */
  gen_cpu_ms_per_req: number;
  gen_runq_ms_per_req: number;
}

/** This process's time runnable but waiting for a CPU, in ms (Linux; NaN elsewhere). */
function runQueueMs(): number {
  try {
    let s = 0;
    for (const t of readdirSync('/proc/self/task')) s += Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
    return s;
  } catch {
    return Number.NaN;
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number) : Number.NaN;
};

/**
 * `rate` requests per second for `seconds`, each sent at its scheduled time (a timer catches up on
 * every request that fell due) and measured from that time to the end of its response.
 */
/**
 * Calls `fire(i, due)` for i = 0 … total − 1, each at its scheduled time t0 + i / rate (a timer
 * catches up on every request that fell due, so a late timer never thins the load: open loop), and
 * resolves when every request has settled. Shared by the generators of bench/reads and bench/similar.
 */
export async function sendOnSchedule(total: number, rate: number, t0: number, fire: (i: number, due: number) => Promise<void>): Promise<void> {
  const pending: Promise<void>[] = [];
  let next = 0;
  await new Promise<void>((finish) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && t0 + (next * 1000) / rate <= now) {
        pending.push(fire(next, t0 + (next * 1000) / rate));
        next++;
      }
      if (next >= total) finish();
      else setTimeout(tick, Math.max(0, Math.min(1, t0 + (next * 1000) / rate - performance.now())));
    };
    setTimeout(tick, 5);
  });
  await Promise.all(pending);
}

export async function openLoop(base: string, headers: Record<string, string>, ids: readonly string[], rate: number, seconds: number): Promise<OpenLoopResult> {
  // A fresh keep-alive agent per run: a socket left idle past the server's keep-alive timeout
  // while another run goes on would be reset under the next request.
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(rate * seconds);
  const lat: number[] = [];
  const lag: number[] = [];
  const sent: number[] = [];
  let errors = 0;
  const statuses = new Map<number | string, number>();
  let lastDone = 0;
  const url = new URL(base);
  const eld = monitorEventLoopDelay({ resolution: 1 });
  const t0 = performance.now() + 5;
  const fire = (i: number, due: number) =>
    new Promise<void>((done) => {
      const at = performance.now();
      lag.push(at - due);
      const req = request(
        { host: url.hostname, port: url.port, path: `/v1/users/${encodeURIComponent(ids[(i * 7919) % ids.length] as string)}/similar?k=10`, agent, headers },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => {
            lastDone = performance.now();
            lat.push(lastDone - due);
            sent.push(lastDone - at);
            if (res.statusCode !== 200) {
              errors++;
              statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
            }
            done();
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        errors++;
        statuses.set(err.code ?? err.message, (statuses.get(err.code ?? err.message) ?? 0) + 1);
        lastDone = performance.now();
        lat.push(lastDone - due);
        done();
      });
      req.end();
    });
  const cpu0 = process.cpuUsage();
  const rq0 = runQueueMs();
  eld.enable();
  await sendOnSchedule(total, rate, t0, fire);
  eld.disable();
  const cpu = process.cpuUsage(cpu0);
  const rq = runQueueMs() - rq0;
  agent.destroy();
  return {
    achieved_rps: Math.round(total / ((lastDone - t0) / 1000)),
    requests: total,
    errors,
    statuses: Object.fromEntries(statuses),
    p50_ms: pct(lat, 50),
    p99_ms: pct(lat, 99),
    p999_ms: pct(lat, 99.9),
    max_ms: pct(lat, 100),
    send_lag_p99_ms: pct(lag, 99),
    send_lag_max_ms: pct(lag, 100),
    loop_delay_max_ms: eld.max / 1e6,
    sent_p50_ms: pct(sent, 50),
    sent_p99_ms: pct(sent, 99),
    gen_cpu_ms_per_req: (cpu.user + cpu.system) / 1000 / total,
    gen_runq_ms_per_req: rq / total,
  };
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      key: { type: 'string', default: '' },
      ids: { type: 'string' },
      rate: { type: 'string', default: '100' },
      seconds: { type: 'string', default: '10' },
    },
  });
  const ids = readFileSync(values.ids as string, 'utf8')
    .split('\n')
    .filter(Boolean);
  const headers: Record<string, string> = values.key ? { authorization: `Bearer ${values.key}` } : {};
  const r = await openLoop(values.url as string, headers, ids, Number(values.rate), Number(values.seconds));
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
