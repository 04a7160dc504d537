/** Caps how many calls run at once; the rest wait in FIFO order. */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {}

  get inFlight(): number {
    return this.active;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter so a newcomer cannot overtake it.
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * Tokens-per-minute budget as a token bucket (capacity = one minute's budget, refilled continuously).
 * Callers reserve an estimate before the request and settle with the real usage after it, so the
 * bucket tracks what the provider actually counted. A reservation larger than the bucket is clamped
 * (it waits for a full bucket) rather than blocking forever.
 */
export class TokenRateLimiter {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly tokensPerMinute: number,
    private readonly now: () => number = Date.now,
    private readonly wait: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.tokens = tokensPerMinute;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.tokensPerMinute, this.tokens + ((t - this.last) * this.tokensPerMinute) / 60_000);
    this.last = t;
  }

  /** Waits until `estimate` tokens are available and takes them. FIFO: one waiter at a time. */
  reserve(estimate: number): Promise<number> {
    if (this.tokensPerMinute <= 0) return Promise.resolve(0);
    const want = Math.min(Math.max(0, Math.ceil(estimate)), this.tokensPerMinute);
    const turn = this.queue.then(async () => {
      this.refill();
      while (this.tokens < want) {
        await this.wait(Math.ceil(((want - this.tokens) * 60_000) / this.tokensPerMinute));
        this.refill();
      }
      this.tokens -= want;
      return want;
    });
    this.queue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  /** Corrects a reservation with what the provider reported (may go negative: later callers wait). */
  settle(reserved: number, actual: number): void {
    if (this.tokensPerMinute <= 0) return;
    this.refill();
    this.tokens = Math.min(this.tokensPerMinute, this.tokens + reserved - actual);
  }

  get available(): number {
    this.refill();
    return this.tokens;
  }
}
