/**
 * Who goes first for SQLite's write lock among this process's writer threads. SQLite grants the
 * lock to whoever asks at the right moment, and a thread writing ingestion batches back to back
 * leaves gaps of microseconds: the audit writer, polling every millisecond, would wait for the
 * whole ingestion queue, and with it every audited read. So while an audit group is committing,
 * the ingestion writer holds off before its next batch (a bounded while: reads slow ingestion
 * down, they never stop it). Shared memory, so the ingestion thread sees it without a message.
 */
export class WritePriority {
  /** [0]: audit groups being committed */
  readonly cells = new Int32Array(new SharedArrayBuffer(4));

  enter(): void {
    Atomics.add(this.cells, 0, 1);
  }

  leave(): void {
    if (Atomics.sub(this.cells, 0, 1) === 1) Atomics.notify(this.cells, 0);
  }

  /** An audit group is committing. */
  get active(): boolean {
    return Atomics.load(this.cells, 0) > 0;
  }
}

/**
 * On a writer thread: blocks while `cells` says an audit group is committing, at most `maxMs`.
 * (Atomics.wait blocks the calling thread: never call it on the serving thread.)
 */
export function waitForPriority(cells: Int32Array, maxMs: number): void {
  const until = Date.now() + maxMs;
  for (let n = Atomics.load(cells, 0); n > 0; n = Atomics.load(cells, 0)) {
    const left = until - Date.now();
    if (left <= 0) return;
    Atomics.wait(cells, 0, n, left);
  }
}
