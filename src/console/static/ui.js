// Shared pieces: the htm binding, a data-loading hook, panels that degrade when a route is missing.
import { h } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

/**
 * Runs `load` when `deps` change; stale answers (after deps changed) are dropped. `reload()`
 * keeps showing the current data until the new answer arrives (no flash, no lost messages).
 * @template T
 * @param {() => Promise<T>} load
 * @param {unknown[]} deps
 * @returns {{ status: 'loading' | 'ok' | 'error', data: T | undefined, error: any, reload: () => void }}
 */
export function useApi(load, deps) {
  const [tick, setTick] = useState(0);
  const [state, setState] = useState(/** @type {{ status: 'loading' | 'ok' | 'error', data: T | undefined, error: any }} */ ({ status: 'loading', data: undefined, error: null }));
  const lastDeps = useRef(/** @type {string | null} */ (null));
  useEffect(() => {
    let live = true;
    const key = JSON.stringify(deps);
    if (key !== lastDeps.current) setState({ status: 'loading', data: undefined, error: null });
    lastDeps.current = key;
    load().then(
      (data) => live && setState({ status: 'ok', data, error: null }),
      (error) => live && setState({ status: 'error', data: undefined, error }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** What went wrong, in words a support agent can act on. */
export function ErrorNote({ error }) {
  if (error?.routeMissing) return html`<p class="note">Not available on this server (the API has no route for it yet).</p>`;
  if (error && error.status === 403) {
    const need = error.details?.requiredScope;
    return html`<p class="note">Your API key cannot see this${need ? html` (needs the <code>${need}</code> scope)` : ''}: ${error.message}</p>`;
  }
  return html`<p class="error" role="alert">${error ? error.message : 'failed'}${error?.code ? html` <code>${error.code}</code>` : ''}</p>`;
}

/** Renders loading, error or `children(data)` for a useApi result. */
export function Loaded({ res, children, label = 'Loading…' }) {
  if (res.status === 'loading') return html`<p class="muted" aria-live="polite">${label}</p>`;
  if (res.status === 'error') return html`<${ErrorNote} error=${res.error} />`;
  return children(res.data);
}

/** A titled region; the heading labels it for screen readers. */
export function Panel({ id, title, level = 2, actions, children, className = '' }) {
  const H = `h${level}`;
  return html`<section class=${`panel ${className}`} aria-labelledby=${`${id}-h`} id=${id}>
    <div class="panel-head"><${H} id=${`${id}-h`}>${title}<//>${actions ?? null}</div>
    ${children}
  </section>`;
}

/** A 0..1 confidence as a bar with the number beside it. */
export function Confidence({ value, label = 'confidence' }) {
  const pct = Math.round(value * 100);
  return html`<span class="conf">
    <meter min="0" max="1" low="0.5" high="0.75" optimum="1" value=${value} aria-label=${`${label} ${pct}%`}></meter>
    <span class="conf-n">${pct}%</span>
  </span>`;
}

/** @param {string | null | undefined} iso */
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function Time({ iso }) {
  return iso ? html`<time datetime=${iso}>${fmtTime(iso)}</time>` : html`<span>—</span>`;
}

/** @param {unknown} v */
export function fmtValue(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString() : String(Math.round(v * 1000) / 1000);
  return JSON.stringify(v);
}

/** @param {string} key */
export const humanKey = (key) => key.replace(/_/g, ' ');

/** A duration in milliseconds in plain units: 850 ms, 4.2 s, 3 min 5 s, 2 h 10 min, 3 d 4 h. */
export function fmtDuration(ms) {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${Math.round(s * 10) / 10} s`;
  const parts = (a, ua, b, ub) => (b ? `${a} ${ua} ${b} ${ub}` : `${a} ${ua}`);
  if (s < 3600) return parts(Math.floor(s / 60), 'min', Math.round(s % 60), 's');
  if (s < 86400) return parts(Math.floor(s / 3600), 'h', Math.round((s % 3600) / 60), 'min');
  return parts(Math.floor(s / 86400), 'd', Math.round((s % 86400) / 3600), 'h');
}

/**
 * A computed feature's label and value in plain units: `*_ms` as a duration, `*_at` as a date,
 * shares as percentages (`session_length_mean_ms` → "session length mean", "3 min 5 s").
 * @param {string} key @param {unknown} v
 */
export function fmtFeature(key, v) {
  if (key.endsWith('_ms') && typeof v === 'number') return { label: humanKey(key.slice(0, -3)), value: fmtDuration(v) };
  if (key.endsWith('_at') && typeof v === 'string') return { label: humanKey(key.slice(0, -3)), value: fmtTime(v) };
  if ((key.endsWith('_share') || key === 'ctr') && typeof v === 'number')
    return { label: key === 'ctr' ? 'click-through rate' : humanKey(key), value: `${Math.round(v * 1000) / 10} %` };
  if (key.startsWith('monetary_') && typeof v === 'number') return { label: humanKey(key), value: v.toLocaleString(undefined, { maximumFractionDigits: 2 }) };
  return { label: humanKey(key), value: fmtValue(v) };
}

/** Link to a user's support page. */
export function UserLink({ id }) {
  return html`<a href=${`#/support/${encodeURIComponent(id)}`} class="user-link">${id}</a>`;
}
