// Support view: find a user by id or alias; summary, traits with evidence and history, facts the
// user disclosed (statement, evidence, history), predictions, computed features, the event timeline, similar users,
// and the user's top items and recommendations (items.js).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, eventLookup, u } from './api.js';
import { Confidence, ErrorNote, Loaded, Panel, Time, UserLink, fmtFeature, fmtValue, html, humanKey, useApi } from './ui.js';
import { ItemsPanel } from './items.js';

const KIND_ORDER = ['semantic', 'declared', 'predicted', 'computed'];
const KIND_LABEL = {
  semantic: 'From what they wrote',
  declared: 'Declared by your systems',
  predicted: 'Predicted by models',
  computed: 'Computed from behaviour',
};

function LookupForm({ initial }) {
  const [value, setValue] = useState(initial);
  useEffect(() => setValue(initial), [initial]);
  /** @param {Event} e */
  const submit = (e) => {
    e.preventDefault();
    const id = value.trim();
    if (id) location.hash = `#/support/${encodeURIComponent(id)}`;
  };
  return html`<form class="lookup" role="search" onSubmit=${submit}>
    <label for="user-ref">User id or alias</label>
    <input id="user-ref" name="user" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} placeholder="e.g. u00021 or an anonymous id" autocomplete="off" spellcheck="false" />
    <button type="submit">Look up</button>
  </form>`;
}

export function SupportView({ userId }) {
  const heading = useRef(/** @type {HTMLHeadingElement | null} */ (null));
  return html`<div class="view">
    <h1 ref=${heading}>Support</h1>
    <${LookupForm} initial=${userId} />
    ${userId ? html`<${UserPage} key=${userId} userId=${userId} />` : html`<p class="muted">Look a user up by their id, or an anonymous id linked to them.</p>`}
  </div>`;
}

function UserPage({ userId }) {
  const profile = useApi(() => api('GET', `/v1/users/${u(userId)}`), [userId]);
  const lookup = useMemo(() => eventLookup(userId), [userId]);
  return html`<${Loaded} res=${profile} label="Loading the profile…">${(p) => html`
    <${ProfileHeader} p=${p} />
    <div class="grid-2">
      <div class="col">
        <${SummaryPanel} userId=${userId} />
        <${TraitsPanel} userId=${userId} traits=${p.traits} lookup=${lookup} />
        <${FactsPanel} userId=${userId} facts=${p.traits.filter((t) => t.kind === 'fact')} lookup=${lookup} />
        <${PredictedPanel} traits=${p.traits.filter((t) => t.kind === 'predicted')} />
        <${FeaturesPanel} traits=${p.traits.filter((t) => t.kind === 'computed')} />
      </div>
      <div class="col">
        <${SimilarPanel} userId=${userId} />
        <${ItemsPanel} userId=${userId} />
        <${TimelinePanel} userId=${userId} counts=${p.eventCounts} />
      </div>
    </div>`}<//>`;
}

function ProfileHeader({ p }) {
  const aliases = p.identities.filter((i) => i.alias !== p.id);
  return html`<section class="panel profile-head" aria-labelledby="profile-h">
    <h2 id="profile-h">${p.id} <span class="badge">${p.known ? 'known user' : 'anonymous'}</span></h2>
    <dl class="facts">
      <div><dt>Events</dt><dd>${p.eventCount.toLocaleString()}</dd></div>
      <div><dt>First seen</dt><dd><${Time} iso=${p.firstEventAt} /></dd></div>
      <div><dt>Last seen</dt><dd><${Time} iso=${p.lastEventAt} /></dd></div>
      <div><dt>Consent</dt><dd>${Object.entries(p.consent).map(([k, v]) => html`<span class=${`pill ${v ? 'yes' : 'no'}`}>${humanKey(k)}: ${v ? 'yes' : 'no'}</span> `)}</dd></div>
      ${aliases.length ? html`<div><dt>Aliases</dt><dd>${aliases.map((i) => html`<code>${i.alias}</code> `)}</dd></div>` : null}
      ${Object.entries(p.attributes).map(([k, v]) => html`<div><dt>${humanKey(k)}</dt><dd>${fmtValue(v)}</dd></div>`)}
    </dl>
  </section>`;
}

function SummaryPanel({ userId }) {
  const res = useApi(() => api('GET', `/v1/users/${u(userId)}/summary?audience=support`), [userId]);
  return html`<${Panel} id="summary" title="Summary">
    <${Loaded} res=${res} label="Writing the summary…">${(s) => html`
      <p class="summary">${s.summary}</p>
      <p class="muted small">by ${s.generator}${s.cached ? ' (cached)' : ''}, profile version ${s.profileVersion}${s.fallbackReason ? ` — template used: ${s.fallbackReason}` : ''}</p>`}<//>
  <//>`;
}

function TraitsPanel({ userId, traits, lookup }) {
  const groups = KIND_ORDER.filter((k) => k === 'semantic' || k === 'declared')
    .map((kind) => ({ kind, list: traits.filter((t) => t.kind === kind).sort((a, b) => b.confidence - a.confidence || a.key.localeCompare(b.key)) }))
    .filter((g) => g.list.length);
  return html`<${Panel} id="traits" title="Traits">
    ${groups.length === 0 ? html`<p class="muted">No traits yet.</p>` : null}
    ${groups.map(
      (g) => html`<section class="trait-group" aria-labelledby=${`kind-${g.kind}`}>
      <h3 id=${`kind-${g.kind}`}>${KIND_LABEL[g.kind]} <span class="muted">(${g.kind}, ${g.list.length})</span></h3>
      <ul class="traits">${g.list.map((t) => html`<${TraitRow} key=${t.id} t=${t} userId=${userId} lookup=${lookup} />`)}</ul>
    </section>`,
    )}
  <//>`;
}

/**
 * Facts: free-form statements the user made about themselves (kind `fact`, key `fact:<topic>`),
 * newest evidence first, each with its quotes in their signals and its history (a superseded fact,
 * e.g. an old address, shows there with the date it stopped holding).
 */
function FactsPanel({ userId, facts, lookup }) {
  const sorted = [...facts].sort((a, b) => b.confidence - a.confidence || a.key.localeCompare(b.key) || String(a.value).localeCompare(String(b.value)));
  return html`<${Panel} id="facts" title="Facts they told us">
    ${
      sorted.length === 0
        ? html`<p class="muted">No facts yet.</p>`
        : html`<ul class="traits facts">${sorted.map((t) => html`<${TraitRow} key=${t.id} t=${t} userId=${userId} lookup=${lookup} />`)}</ul>`
    }
  <//>`;
}

/** A fact's label is its topic (the key without `fact:`); a trait's is its key. */
const labelOf = (t) => humanKey(t.kind === 'fact' ? t.key.replace(/^fact:/, '') : t.key);

function TraitRow({ t, userId, lookup }) {
  const [open, setOpen] = useState(/** @type {null | 'evidence' | 'history'} */ (null));
  const toggle = (what) => setOpen(open === what ? null : what);
  const panelId = `trait-${t.id}-${open}`;
  return html`<li class=${t.kind === 'fact' ? 'trait fact' : 'trait'} data-trait-key=${t.key}>
    <div class="trait-line">
      <span class="trait-key">${labelOf(t)}</span>
      <span class="trait-value">${fmtValue(t.value)}</span>
      <${Confidence} value=${t.confidence} label=${`${labelOf(t)} confidence`} />
      <span class="muted small">${t.producer} ${t.version}</span>
      <span class="trait-actions">
        ${
          t.evidence.length
            ? html`<button type="button" class="small" aria-expanded=${open === 'evidence'} aria-controls=${open === 'evidence' ? panelId : undefined} onClick=${() => toggle('evidence')}>Evidence (${t.evidence.length})</button>`
            : null
        }
        <button type="button" class="small" aria-expanded=${open === 'history'} aria-controls=${open === 'history' ? panelId : undefined} onClick=${() => toggle('history')}>History</button>
      </span>
    </div>
    ${open === 'evidence' ? html`<div id=${panelId} class="drawer"><${Evidence} t=${t} lookup=${lookup} /></div>` : null}
    ${open === 'history' ? html`<div id=${panelId} class="drawer"><${History} userId=${userId} traitKey=${t.key} /></div>` : null}
  </li>`;
}

/**
 * The signal text with the quoted span marked. The match is case-insensitive; when the quote is
 * not found verbatim (normalised text), the quote is shown on its own.
 * @param {{ text: string, quote: string }} props
 */
export function Highlighted({ text, quote }) {
  const at = quote ? text.toLowerCase().indexOf(quote.toLowerCase()) : -1;
  if (at < 0) return html`<span>${text}</span> <span class="muted small">(quoted: “<mark>${quote}</mark>”)</span>`;
  return html`<span>${text.slice(0, at)}<mark>${text.slice(at, at + quote.length)}</mark>${text.slice(at + quote.length)}</span>`;
}

function Evidence({ t, lookup }) {
  const res = useApi(() => Promise.all(t.evidence.map(async (ev) => ({ ev, event: await lookup(ev.event) }))), [t.id]);
  return html`<h4 class="sr-only">Evidence for ${humanKey(t.key)}</h4>
    <${Loaded} res=${res} label="Finding the signals…">${(items) => html`<ol class="evidence">
      ${items.map(
        ({ ev, event }) => html`<li class="signal" data-event-id=${ev.event}>
        ${
          event
            ? html`<div class="signal-meta"><${Time} iso=${event.timestamp} /> · ${humanKey(event.type)}${event.source ? ` · ${event.source}` : ''} · event ${ev.event}</div>
              <blockquote class="signal-text">${event.text ? html`<${Highlighted} text=${event.text} quote=${ev.quote} />` : html`<span class="muted">(no text)</span> “<mark>${ev.quote}</mark>”`}</blockquote>`
            : html`<div class="signal-meta">event ${ev.event} (no longer in the user's events)</div><blockquote class="signal-text"><mark>${ev.quote}</mark></blockquote>`
        }
      </li>`,
      )}
    </ol>`}<//>`;
}

function History({ userId, traitKey }) {
  const res = useApi(() => api('GET', `/v1/users/${u(userId)}/traits/${encodeURIComponent(traitKey)}/history`), [userId, traitKey]);
  return html`<h4 class="sr-only">History of ${humanKey(traitKey)}</h4>
    <${Loaded} res=${res} label="Loading the history…">${(h) => html`<table class="history">
      <caption class="sr-only">Every version of ${humanKey(traitKey)}, newest first</caption>
      <thead><tr><th scope="col">Value</th><th scope="col">Confidence</th><th scope="col">From</th><th scope="col">Until</th><th scope="col">By</th></tr></thead>
      <tbody>${h.versions.map(
        (v) => html`<tr class=${v.validTo ? 'old' : 'current'}>
        <td>${fmtValue(v.value)}</td><td><${Confidence} value=${v.confidence} /></td><td><${Time} iso=${v.validFrom} /></td>
        <td>${v.validTo ? html`<${Time} iso=${v.validTo} />` : 'current'}</td><td class="small">${v.producer} ${v.version}</td>
      </tr>`,
      )}</tbody>
    </table>`}<//>`;
}

/** A yes/no prediction in words; other values as they are. */
const predictedValue = (v) => (v === true ? 'yes' : v === false ? 'no' : fmtValue(v));

function PredictedPanel({ traits }) {
  return html`<${Panel} id="predicted" title="Predictions">
    ${
      traits.length === 0
        ? html`<p class="muted">No predictions for this user (no trained model, or no profiling consent).</p>`
        : html`<table>
          <caption class="muted small">Each prediction is the likelier outcome with the probability of that outcome (so “yes” is always more likely than not).</caption>
          <thead><tr><th scope="col">Trait</th><th scope="col">Predicted</th><th scope="col">Probability of that</th><th scope="col">Model</th><th scope="col">Version</th></tr></thead>
          <tbody>${traits.map(
            (t) => html`<tr>
            <td>${humanKey(t.key)}</td><td>${predictedValue(t.value)}</td>
            <td><${Confidence} value=${t.confidence} label="probability of that value" />${
              typeof t.value === 'boolean' ? html`<div class="muted small">chance of yes: ${Math.round((t.value ? t.confidence : 1 - t.confidence) * 100)}%</div>` : null
            }</td>
            <td><a href=${`#/models/${encodeURIComponent(t.producer.replace(/^model:/, ''))}`}>${t.producer}</a></td><td><code>${t.version}</code></td>
          </tr>`,
          )}</tbody>
        </table>`
    }
  <//>`;
}

function FeaturesPanel({ traits }) {
  const sorted = [...traits].sort((a, b) => a.key.localeCompare(b.key));
  return html`<${Panel} id="features" title="Key computed features">
    ${
      sorted.length === 0
        ? html`<p class="muted">No computed features yet.</p>`
        : html`<dl class="features">${sorted.map((t) => fmtFeature(t.key, t.value)).map((f) => html`<div><dt>${f.label}</dt><dd>${f.value}</dd></div>`)}</dl>`
    }
  <//>`;
}

function SimilarPanel({ userId }) {
  const res = useApi(() => api('GET', `/v1/users/${u(userId)}/similar?k=8`), [userId]);
  return html`<${Panel} id="similar" title="Similar users">
    <${Loaded} res=${res} label="Finding similar users…">${(r) =>
      r.results.length === 0
        ? html`<p class="muted">${r.note ?? 'No similar users yet.'}</p>`
        : html`<ol class="similar">${r.results.map(
            (s) => html`<li>
            <${UserLink} id=${s.userId} /> <${Confidence} value=${Math.max(0, s.similarity)} label="similarity" />
            ${
              s.sharedTraits.length
                ? html`<div class="small muted">shares ${s.sharedTraits
                    .slice(0, 5)
                    .map((t) => `${humanKey(t.key)}: ${fmtValue(t.value)}`)
                    .join(', ')}${s.sharedTraits.length > 5 ? ` +${s.sharedTraits.length - 5}` : ''}</div>`
                : null
            }
          </li>`,
          )}</ol>`}<//>
  <//>`;
}

/** One line of what an event carried, for the timeline. */
function eventGist(e) {
  if (e.text) return e.text;
  const p = e.properties ?? {};
  const bits = ['product_id', 'category', 'url', 'value', 'query'].filter((k) => p[k] !== undefined).map((k) => `${humanKey(k)} ${fmtValue(p[k])}`);
  return bits.join(' · ');
}

function TimelinePanel({ userId, counts }) {
  const [type, setType] = useState('');
  const [pages, setPages] = useState(/** @type {any[]} */ ([]));
  const [cursor, setCursor] = useState(/** @type {string | null} */ (null));
  const [status, setStatus] = useState(/** @type {'loading' | 'idle' | 'error'} */ ('loading'));
  const [error, setError] = useState(/** @type {any} */ (null));
  const load = async (from, reset) => {
    setStatus('loading');
    const q = new URLSearchParams({ limit: '25' });
    if (from) q.set('cursor', from);
    if (type) q.set('type', type);
    try {
      const page = await api('GET', `/v1/users/${u(userId)}/events?${q}`);
      setPages((prev) => (reset ? page.events : [...prev, ...page.events]));
      setCursor(page.nextCursor);
      setStatus('idle');
    } catch (err) {
      setError(err);
      setStatus('error');
    }
  };
  useEffect(() => {
    load(null, true);
  }, [userId, type]);
  const types = Object.keys(counts ?? {}).sort();
  return html`<${Panel} id="timeline" title="Recent events" actions=${html`<span class="inline-field">
      <label for="event-type">Type</label>
      <select id="event-type" value=${type} onChange=${(e) => setType(e.currentTarget.value)}>
        <option value="">all</option>
        ${types.map((t) => html`<option value=${t}>${humanKey(t)} (${counts[t]})</option>`)}
      </select></span>`}>
    ${status === 'error' ? html`<${ErrorNote} error=${error} />` : null}
    <ol class="timeline">${pages.map(
      (e) => html`<li class=${e.text ? 'has-text' : ''}>
      <span class="t"><${Time} iso=${e.timestamp} /></span>
      <span class="type">${humanKey(e.type)}</span>
      <span class="gist">${eventGist(e)}</span>
    </li>`,
    )}</ol>
    ${status === 'loading' ? html`<p class="muted" aria-live="polite">Loading events…</p>` : null}
    ${status === 'idle' && pages.length === 0 ? html`<p class="muted">No events.</p>` : null}
    ${cursor && status !== 'loading' ? html`<button type="button" onClick=${() => load(cursor, false)}>Older events</button>` : null}
  <//>`;
}
