// Quality view: ingestion figures, rejected events by reason, the job queue with parked jobs
// (retry them), and LLM usage against the daily budget. Needs an admin key (GET /v1/stats).
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { ErrorNote, Loaded, Panel, Time, html, humanKey, useApi } from './ui.js';

const n = (x) => (typeof x === 'number' ? x.toLocaleString() : '—');

/** A count per key as rows with a proportional bar. */
function Breakdown({ id, caption, counts, empty = 'None.' }) {
  const entries = Object.entries(counts ?? {}).sort((a, b) => b[1] - a[1]);
  if (!entries.length) return html`<p class="muted">${empty}</p>`;
  const max = Math.max(...entries.map(([, v]) => v));
  return html`<table class="breakdown" id=${id}>
    <caption class="sr-only">${caption}</caption>
    <tbody>${entries.map(
      ([k, v]) => html`<tr><th scope="row">${humanKey(k)}</th><td class="num">${n(v)}</td>
      <td class="barcell"><meter min="0" max=${max} value=${v} aria-hidden="true"></meter></td></tr>`,
    )}</tbody>
  </table>`;
}

function ParkedJobs({ jobs, onRetried }) {
  const [selected, setSelected] = useState(/** @type {Set<number>} */ (new Set()));
  const [msg, setMsg] = useState(/** @type {any} */ (null));
  const [busy, setBusy] = useState(false);
  const retry = async (ids) => {
    setBusy(true);
    setMsg(null);
    try {
      const r = await api('POST', '/v1/jobs/retry', ids ? { ids } : {});
      setMsg({ ok: `Queued ${r.retried} job${r.retried === 1 ? '' : 's'} again.` });
      setSelected(new Set());
      onRetried();
    } catch (err) {
      setMsg({ error: err });
    } finally {
      setBusy(false);
    }
  };
  const toggle = (id, on) => {
    const s = new Set(selected);
    if (on) s.add(id);
    else s.delete(id);
    setSelected(s);
  };
  return html`
    ${msg?.ok ? html`<p class="ok" role="status">${msg.ok}</p>` : null}
    ${msg?.error ? html`<${ErrorNote} error=${msg.error} />` : null}
    ${
      jobs.length === 0
        ? html`<p class="muted">No parked jobs.</p>`
        : html`<table class="jobs">
          <caption class="sr-only">Jobs that failed every attempt</caption>
          <thead><tr><th scope="col"><span class="sr-only">Select</span></th><th scope="col">Job</th><th scope="col">Kind</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col">Parked</th></tr></thead>
          <tbody>${jobs.map(
            (j) => html`<tr>
            <td><input type="checkbox" id=${`job-${j.id}`} checked=${selected.has(j.id)} onChange=${(e) => toggle(j.id, e.currentTarget.checked)} /></td>
            <td><label for=${`job-${j.id}`}>#${j.id}</label></td><td>${j.kind}</td><td class="num">${j.attempts}</td>
            <td class="small">${j.lastError ?? '—'}</td><td><${Time} iso=${j.updatedAt} /></td></tr>`,
          )}</tbody>
        </table>
        <p class="actions">
          <button type="button" disabled=${busy || selected.size === 0} onClick=${() => retry([...selected])}>Retry selected (${selected.size})</button>
          <button type="button" disabled=${busy} onClick=${() => retry(null)}>Retry all parked</button>
        </p>`
    }`;
}

function LlmUsage({ llm, budget }) {
  const tokens = llm.promptTokens + llm.completionTokens;
  return html`<dl class="facts">
      <div><dt>Calls</dt><dd>${n(llm.calls)}</dd></div>
      <div><dt>Errors</dt><dd>${n(llm.errors)}</dd></div>
      <div><dt>Tokens (all time)</dt><dd>${n(tokens)} <span class="muted small">(${n(llm.promptTokens)} prompt, ${n(llm.completionTokens)} completion)</span></dd></div>
    </dl>
    ${
      budget
        ? budget.dailyTokens > 0
          ? html`<p><label for="llm-budget">Today: ${n(budget.usedToday)} of ${n(budget.dailyTokens)} tokens</label>
            <meter id="llm-budget" min="0" max=${budget.dailyTokens} high=${budget.dailyTokens * 0.8} optimum="0" value=${budget.usedToday}></meter>
            ${budget.paused ? html` <strong class="error">paused until <${Time} iso=${budget.resetsAt} /></strong>` : html` <span class="muted small">resets <${Time} iso=${budget.resetsAt} /></span>`}</p>`
          : html`<p class="muted">No daily token budget set (TRAITLENS_LLM_DAILY_TOKENS); used today: ${n(budget.usedToday)}.</p>`
        : null
    }`;
}

export function QualityView() {
  const res = useApi(() => api('GET', '/v1/stats'), []);
  return html`<div class="view">
    <h1>Quality <button type="button" class="small" onClick=${res.reload}>Refresh</button></h1>
    <${Loaded} res=${res} label="Loading the figures…">${(s) => html`
      <div class="grid-2">
        <div class="col">
          <${Panel} id="ingestion" title="Ingestion">
            <dl class="facts">
              <div><dt>Users</dt><dd>${n(s.users.total)} <span class="muted small">(${n(s.users.known)} known, ${n(s.users.anonymous)} anonymous)</span></dd></div>
              <div><dt>Events</dt><dd>${n(s.events.total)} <span class="muted small">(${n(s.events.textSignals)} with text)</span></dd></div>
              <div><dt>Duplicates dropped</dt><dd>${n(s.duplicatesDropped.total)}</dd></div>
              <div><dt>Rejected</dt><dd>${n(s.rejected.total)}</dd></div>
            </dl>
            <h3>Rejected events by reason</h3>
            <${Breakdown} id="rejected" caption="Rejected events by reason" counts=${s.rejected.byReason} empty="No rejected events." />
            <h3>Cleaning warnings</h3>
            <${Breakdown} id="warnings" caption="Warnings by kind" counts=${s.warnings} />
            <h3>Missing fields</h3>
            <${Breakdown} id="missing" caption="Missing fields" counts=${s.missingFields} />
            <h3>Events by type</h3>
            <${Breakdown} id="types" caption="Events by type" counts=${s.events.byType} />
          <//>
        </div>
        <div class="col">
          <${Panel} id="jobs" title="Job queue">
            <${Breakdown} id="job-status" caption="Jobs by status" counts=${s.jobs} />
            <h3>Parked jobs</h3>
            <${ParkedJobs} jobs=${s.parkedJobs} onRetried=${res.reload} />
          <//>
          <${Panel} id="llm" title="LLM usage"><${LlmUsage} llm=${s.llm} budget=${s.llmBudget} /><//>
          <${Panel} id="trait-quality" title="Traits">
            <h3>Current traits by kind</h3>
            <${Breakdown} id="traits-kind" caption="Current traits by kind" counts=${s.traits.current} />
            <h3>Rejected by the merge step</h3>
            <${Breakdown} id="traits-rejected" caption="Trait operations rejected" counts=${s.traits.rejected} />
          <//>
        </div>
      </div>`}<//>
  </div>`;
}
