import type { ImportProgress } from '../ingest/import-file.ts';
import { fmtInt, type Io } from './command.ts';

const REDRAW_MS = 100; // at most ~10 redraws a second: a terminal is slower than the import

/**
 * A one-line progress bar on stderr, or nothing when stderr is not a terminal (logs, pipes, CI).
 * Progress is bytes read against the file size, so the ETA holds however events are spread.
 */
export function progressBar(io: Io): { update(p: ImportProgress): void; done(): void } {
  const out = io.stderr;
  if (!out.isTTY) return { update() {}, done() {} };
  let last = 0;
  let drawn = false;
  return {
    update(p) {
      const now = performance.now();
      if (now - last < REDRAW_MS) return;
      last = now;
      drawn = true;
      out.write(`\r${render(p, out.columns ?? 80)}\x1b[K`);
    },
    done() {
      if (drawn) out.write('\r\x1b[K');
    },
  };
}

export function render(p: ImportProgress, columns: number): string {
  const frac = p.totalBytes > 0 ? Math.min(1, p.bytesRead / p.totalBytes) : 1;
  const secs = p.elapsedMs / 1000;
  const rate = secs > 0 ? p.events / secs : 0;
  const eta = frac > 0 && frac < 1 ? (secs * (1 - frac)) / frac : 0;
  const text = ` ${(frac * 100).toFixed(1).padStart(5)}%  ${fmtInt(p.events)} events  ${fmtInt(rate)} ev/s  ETA ${clock(eta)}`;
  const width = Math.max(10, Math.min(40, columns - text.length - 3));
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]${text}`;
}

function clock(seconds: number): string {
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
