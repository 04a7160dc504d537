/**
 * Audit groups before ingestion batches among this process's writer threads. The audit log is a
 * file of its own (src/db/connection.ts), so the two no longer share SQLite's write lock, but they
 * share the disk: an audit group's fsync issued while an ingestion group writes megabytes waits for
 * them (measured: profile p99 under full ingestion 59–75 ms without this, 39–50 ms with it,
 * `bench/starvation.ts`). So while an audit group is committing, the ingestion writer holds off
 * before its next batch (a bounded while: reads slow ingestion down, they never stop it). Shared
 * memory, so the ingestion thread sees it without a message.
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
