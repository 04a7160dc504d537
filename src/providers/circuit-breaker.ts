import { CircuitOpenError, ProviderError } from './errors.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  name: string;
  /** Consecutive failed calls that open the circuit. */
  failureThreshold: number;
  /** Time the circuit stays open before one trial call is let through. */
  cooldownMs: number;
  now?: () => number;
  /** Which errors count as the provider being down. Default: retryable provider errors (429, 5xx, timeouts, connection). */
  isFailure?: (err: unknown) => boolean;
}

const defaultIsFailure = (err: unknown) => (err instanceof ProviderError ? err.retryable : true);

/**
 * Stops hammering a provider that is down: after N consecutive failures every call fails fast with
 * CircuitOpenError until the cool-down passes; then a single trial call decides (success closes,
 * failure re-opens). 4xx and bad answers do not count: the provider is up, our request is wrong.
 */
export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private lastError: unknown;
  private readonly now: () => number;
  private readonly isFailure: (err: unknown) => boolean;

  constructor(private readonly opts: CircuitBreakerOptions) {
    this.now = opts.now ?? Date.now;
    this.isFailure = opts.isFailure ?? defaultIsFailure;
  }

  get currentState(): BreakerState {
    if (this.state === 'open' && this.now() - this.openedAt >= this.opts.cooldownMs) return 'half-open';
    return this.state;
  }

  async exec<T>(fn: () => Promise<T>): Promise<T> {
    const state = this.currentState;
    if (state === 'open' || (state === 'half-open' && this.trialInFlight)) {
      const left = Math.max(0, this.opts.cooldownMs - (this.now() - this.openedAt));
      throw new CircuitOpenError(this.opts.name, left || this.opts.cooldownMs, this.lastError);
    }
    const trial = state === 'half-open';
    if (trial) this.trialInFlight = true;
    try {
      const out = await fn();
      this.state = 'closed';
      this.failures = 0;
      return out;
    } catch (err) {
      if (this.isFailure(err)) {
        this.lastError = err;
        this.failures++;
        if (trial || this.failures >= this.opts.failureThreshold) {
          this.state = 'open';
          this.openedAt = this.now();
        }
      } else if (trial) {
        // The provider answered (just not what we wanted): it is up.
        this.state = 'closed';
        this.failures = 0;
      }
      throw err;
    } finally {
      if (trial) this.trialInFlight = false;
    }
  }
}
