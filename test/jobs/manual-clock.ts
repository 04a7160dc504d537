import type { WorkerClock } from '../../src/jobs/worker.ts';

/** A clock that moves only when told: timers fire inside `advance`, sleeps resolve when due or woken. */
export class ManualClock implements WorkerClock {
  private t: number;
  private timers: { at: number; every: number; fn: () => void; live: boolean }[] = [];
  private sleepers: { at: number; resolve: () => void }[] = [];
  constructor(start = 1_000_000) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  every(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + ms, every: ms, fn, live: true };
    this.timers.push(timer);
    return () => {
      timer.live = false;
    };
  }
  sleep(ms: number): { done: Promise<void>; wake(): void } {
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const s = { at: this.t + ms, resolve };
    this.sleepers.push(s);
    return {
      done,
      wake: () => {
        this.sleepers = this.sleepers.filter((x) => x !== s);
        resolve();
      },
    };
  }
  /** live repeating timers (a heartbeat while jobs run) */
  get activeTimers(): number {
    return this.timers.filter((x) => x.live).length;
  }
  /** Moves time forward, firing due timers in order and letting their promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers = this.timers.filter((x) => x.live);
      const next = Math.min(...this.timers.map((x) => x.at), ...this.sleepers.map((s) => s.at), Number.POSITIVE_INFINITY);
      if (next > end) break;
      this.t = Math.max(this.t, next);
      for (const x of this.timers)
        if (x.at <= this.t && x.live) {
          x.at += x.every;
          x.fn();
        }
      const due = this.sleepers.filter((s) => s.at <= this.t);
      this.sleepers = this.sleepers.filter((s) => s.at > this.t);
      for (const s of due) s.resolve();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

/** Lets pending promise chains (store calls on SQLite resolve in microtasks/immediates) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
