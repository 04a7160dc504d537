// Marketing view: describe a segment in words or build it with the filter DSL, preview it, save
// it, then see its portrait (who is in it compared with everyone), its count, a sample of members
// with their marketing summaries, lookalikes and a CSV export; rename or delete it.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { Confidence, ErrorNote, Loaded, Panel, Time, UserLink, fmtValue, html, humanKey, useApi } from './ui.js';

const TYPES = [
  { id: 'trait', label: 'has trait' },
  { id: 'predicted', label: 'predicted' },
  { id: 'feature', label: 'feature' },
  { id: 'attribute', label: 'attribute' },
];
const FEATURE_OPS = ['gte', 'gt', 'lte', 'lt', 'eq'];
const ATTRIBUTE_OPS = ['eq', 'in', 'exists'];

/** @param {string} s  "2" → 2, "true" → true, else the trimmed string */
function scalar(s) {
  const t = s.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  return t;
}

const newRule = () => ({ type: 'trait', key: '', value: '', op: 'eq', min: '', not: false });

/** One builder row → one DSL node (or null while incomplete). */
function ruleToFilter(r) {
  const key = r.key.trim();
  if (!key) return null;
  let node;
  const value = r.value.trim();
  const min = r.min.trim();
  if (r.type === 'trait') node = { trait: { key, ...(value ? { value: scalar(value) } : {}), ...(min ? { minConfidence: Number(min) } : {}) } };
  else if (r.type === 'predicted') node = { predicted: { key, ...(value ? { value: scalar(value) } : {}), ...(min ? { min: Number(min) } : {}) } };
  else if (r.type === 'feature') {
    if (!value) return null;
    node = { feature: { key, [r.op]: r.op === 'eq' ? scalar(value) : Number(value) } };
  } else {
    if (r.op === 'exists') node = { attribute: { key, exists: true } };
    else if (!value) return null;
    else if (r.op === 'in')
      node = {
        attribute: {
          key,
          in: value
            .split(',')
            .map(scalar)
            .filter((v) => v !== ''),
        },
      };
    else node = { attribute: { key, eq: scalar(value) } };
  }
  return r.not ? { not: node } : node;
}

export function compileRules(rules, combine) {
  const nodes = rules.map(ruleToFilter).filter(Boolean);
  if (nodes.length === 0) return null;
  if (nodes.length === 1) return nodes[0];
  return { [combine]: nodes };
}

function RuleRow({ r, i, onChange, onRemove, canRemove }) {
  const set = (patch) => onChange({ ...r, ...patch });
  const id = (f) => `rule-${i}-${f}`;
  const ops = r.type === 'feature' ? FEATURE_OPS : r.type === 'attribute' ? ATTRIBUTE_OPS : null;
  return html`<fieldset class="rule">
    <legend>Condition ${i + 1}</legend>
    <span class="field"><label for=${id('type')}>Kind</label>
      <select id=${id('type')} value=${r.type} onChange=${(e) => set({ type: e.currentTarget.value, op: e.currentTarget.value === 'feature' ? 'gte' : 'eq' })}>
        ${TYPES.map((t) => html`<option value=${t.id}>${t.label}</option>`)}
      </select></span>
    <span class="field"><label for=${id('key')}>Key</label>
      <input id=${id('key')} value=${r.key} onInput=${(e) => set({ key: e.currentTarget.value })} placeholder=${r.type === 'attribute' ? 'country' : r.type === 'feature' ? 'purchase_count' : 'interest'} size="14" /></span>
    ${
      ops
        ? html`<span class="field"><label for=${id('op')}>Test</label>
      <select id=${id('op')} value=${r.op} onChange=${(e) => set({ op: e.currentTarget.value })}>${ops.map((o) => html`<option value=${o}>${o}</option>`)}</select></span>`
        : null
    }
    ${
      r.type === 'attribute' && r.op === 'exists'
        ? null
        : html`<span class="field"><label for=${id('value')}>Value${r.type === 'trait' || r.type === 'predicted' ? ' (optional)' : ''}</label>
      <input id=${id('value')} value=${r.value} onInput=${(e) => set({ value: e.currentTarget.value })} placeholder=${r.op === 'in' ? 'DE, FR' : r.type === 'feature' ? '3' : 'hiking'} size="12" /></span>`
    }
    ${
      r.type === 'trait' || r.type === 'predicted'
        ? html`<span class="field"><label for=${id('min')}>${r.type === 'trait' ? 'Min confidence' : 'Min probability'}</label>
      <input id=${id('min')} type="number" min="0" max="1" step="0.05" value=${r.min} onInput=${(e) => set({ min: e.currentTarget.value })} size="5" /></span>`
        : null
    }
    <span class="field check"><input id=${id('not')} type="checkbox" checked=${r.not} onChange=${(e) => set({ not: e.currentTarget.checked })} /><label for=${id('not')}>not</label></span>
    ${canRemove ? html`<button type="button" class="small" onClick=${onRemove} aria-label=${`Remove condition ${i + 1}`}>Remove</button>` : null}
  </fieldset>`;
}

function DescribeForm({ onProposal }) {
  const [text, setText] = useState('');
  const [res, setRes] = useState(/** @type {any} */ (null));
  const [busy, setBusy] = useState(false);
  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    if (!text.trim()) return;
    setBusy(true);
    try {
      const r = await api('POST', '/v1/segments', { description: text.trim() });
      setRes({ ok: r });
      if (r.mode === 'llm' || r.mode === 'words') onProposal(r.filter);
    } catch (err) {
      setRes({ error: err });
    } finally {
      setBusy(false);
    }
  };
  const r = res?.ok;
  return html`<${Panel} id="describe" title="Describe a segment">
    <form onSubmit=${submit}>
      <label for="segment-description">In words</label>
      <textarea id="segment-description" rows="2" value=${text} onInput=${(e) => setText(e.currentTarget.value)}
        onKeyDown=${(e) => {
          if (e.key === 'Enter' && !e.shiftKey) submit(e);
        }}
        placeholder="e.g. runners who bought in the last month" aria-describedby="describe-help"></textarea>
      <p id="describe-help" class="muted small">Enter proposes a filter (with an LLM configured) for you to check below; nothing is saved. Shift+Enter for a new line.</p>
      <button type="submit" disabled=${busy}>${busy ? 'Thinking…' : 'Propose a filter'}</button>
    </form>
    ${res?.error ? html`<${ErrorNote} error=${res.error} />` : null}
    ${r && r.mode === 'llm' ? html`<p class="ok" role="status">Proposed by ${r.generator}: ${r.explanation} The filter is in the editor below — check it, name it and create the segment.</p>` : null}
    ${
      r && r.mode === 'words'
        ? html`<div role="status" class="words"><p class="ok">Compiled offline (${r.generator}). The filter is in the editor below — check it, name it and create the segment.</p>
      <ul class="small">${r.conditions.map((c) => html`<li><q>${c.phrase}</q> → <code>${JSON.stringify(c.condition)}</code>${c.via ? html` <span class="muted">(${c.via})</span>` : null}</li>`)}</ul>
      ${r.notUnderstood.length ? html`<p class="note">Not understood: ${r.notUnderstood.map((w, i) => html`${i ? ', ' : ''}<q>${w}</q>`)}</p>` : null}</div>`
        : null
    }
    ${
      r && r.mode === 'embedding_search'
        ? html`<div role="status"><p class="note">${r.note}</p>
      <ol class="inline-list">${r.users.map((x) => html`<li><${UserLink} id=${x.userId} /> <span class="muted small">${x.score.toFixed(2)}</span></li>`)}</ol></div>`
        : null
    }
  <//>`;
}

function BuildForm() {
  const [rules, setRules] = useState([newRule()]);
  const [combine, setCombine] = useState('and');
  const [name, setName] = useState('');
  const [jsonText, setJsonText] = useState('');
  const [edited, setEdited] = useState(false);
  const [error, setError] = useState(/** @type {any} */ (null));
  const [busy, setBusy] = useState(false);
  const [preview, setPreview] = useState(/** @type {any} */ (null));
  // The editor shows the builder's filter until someone edits the JSON by hand (or a proposal arrives).
  const built = compileRules(rules, combine);
  const shown = edited ? jsonText : built ? JSON.stringify(built, null, 2) : '';
  useEffect(() => {
    const on = (e) => {
      setJsonText(JSON.stringify(e.detail, null, 2));
      setEdited(true);
    };
    window.addEventListener('traitlens-proposal', on);
    return () => window.removeEventListener('traitlens-proposal', on);
  }, []);
  /** Count and sample the filter without saving it. */
  const doPreview = async () => {
    setError(null);
    setPreview(null);
    let filter;
    try {
      filter = JSON.parse(shown);
    } catch (err) {
      return setError({ message: `The filter is not valid JSON: ${err instanceof Error ? err.message : String(err)}` });
    }
    try {
      setPreview(await api('POST', '/v1/segments/preview', { filter, sample: 5 }));
    } catch (err) {
      setError(err);
    }
  };
  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    let filter;
    try {
      filter = JSON.parse(shown);
    } catch (err) {
      return setError({ message: `The filter is not valid JSON: ${err instanceof Error ? err.message : String(err)}` });
    }
    if (!name.trim()) return setError({ message: 'Give the segment a name.' });
    setBusy(true);
    try {
      const seg = await api('POST', '/v1/segments', { name: name.trim(), filter });
      location.hash = `#/marketing/segment/${seg.id}`;
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Panel} id="build" title="Build a segment">
    <form onSubmit=${submit} class="builder">
      <div class="field"><label for="segment-name">Name</label>
        <input id="segment-name" value=${name} onInput=${(e) => setName(e.currentTarget.value)} placeholder="keen hikers" /></div>
      <div class="field"><label for="combine">Match</label>
        <select id="combine" value=${combine} onChange=${(e) => setCombine(e.currentTarget.value)}>
          <option value="and">all conditions</option><option value="or">any condition</option>
        </select></div>
      ${rules.map(
        (r, i) => html`<${RuleRow} key=${i} r=${r} i=${i} canRemove=${rules.length > 1}
        onChange=${(nr) => {
          setEdited(false);
          setRules(rules.map((x, j) => (j === i ? nr : x)));
        }}
        onRemove=${() => {
          setEdited(false);
          setRules(rules.filter((_, j) => j !== i));
        }} />`,
      )}
      <button type="button" class="small" onClick=${() => {
        setEdited(false);
        setRules([...rules, newRule()]);
      }}>Add condition</button>
      <div class="field">
        <label for="segment-filter">Compiled filter (JSON, editable)</label>
        <textarea id="segment-filter" class="code" rows="8" value=${shown} spellcheck="false"
          onInput=${(e) => {
            setEdited(true);
            setJsonText(e.currentTarget.value);
          }} aria-describedby="filter-help"></textarea>
        <p id="filter-help" class="muted small">The segment DSL: trait, predicted, feature, attribute; and, or, not. ${edited ? html`Edited by hand; <button type="button" class="link" onClick=${() => setEdited(false)}>follow the builder again</button>.` : ''}</p>
      </div>
      ${error ? html`<${ErrorNote} error=${error} />` : null}
      ${error && Array.isArray(error.details) ? html`<ul class="error">${error.details.map((d) => html`<li><code>${d.field}</code>: ${d.message}</li>`)}</ul>` : null}
      ${
        preview
          ? html`<p role="status" class="preview" data-testid="preview"><strong>${preview.total.toLocaleString()}</strong> members with marketing consent
          <span class="muted">(${preview.matched.toLocaleString()} of ${preview.population.toLocaleString()} users match)</span>${
            preview.sample.length ? html`: ${preview.sample.map((uid, i) => html`${i ? ', ' : ''}<${UserLink} id=${uid} />`)}` : null
          }. Nothing saved.</p>`
          : null
      }
      <p class="actions"><button type="button" class="secondary" onClick=${doPreview}>Preview</button>
      <button type="submit" disabled=${busy}>${busy ? 'Saving…' : 'Create segment'}</button></p>
    </form>
  <//>`;
}

function SavedSegments({ current }) {
  const res = useApi(() => api('GET', '/v1/segments'), [current]);
  return html`<${Panel} id="saved" title="Saved segments">
    <${Loaded} res=${res}>${(r) =>
      r.segments.length === 0
        ? html`<p class="muted">None yet.</p>`
        : html`<ul class="segments">${[...r.segments].reverse().map(
            (s) => html`<li>
            <a href=${`#/marketing/segment/${s.id}`} aria-current=${String(s.id) === current ? 'page' : undefined}>${s.name}</a>
            <span class="muted small"> #${s.id} · <${Time} iso=${s.createdAt} /></span></li>`,
          )}</ul>`}<//>
  <//>`;
}

/** Every member id, page by page, as a CSV file the browser downloads. */
async function exportCsv(seg, onProgress) {
  const ids = [];
  let cursor = null;
  do {
    const q = new URLSearchParams({ limit: '1000' });
    if (cursor) q.set('cursor', cursor);
    const page = await api('GET', `/v1/segments/${seg.id}/users?${q}`);
    ids.push(...page.users);
    onProgress(ids.length, page.total);
    cursor = page.nextCursor;
  } while (cursor);
  const quote = (s) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const blob = new Blob([`user_id\n${ids.map(quote).join('\n')}\n`], { type: 'text/csv' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `segment-${seg.id}-${seg.name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 40)}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  return ids.length;
}

const pct = (x) => `${Math.round(x * 100)}%`;

/** Segment vs everyone, one histogram per model: paired bars of the share in each probability bin. */
function Histogram({ m }) {
  const segTotal = m.histogram.reduce((a, b) => a + b.segment, 0) || 1;
  const popTotal = m.histogram.reduce((a, b) => a + b.population, 0) || 1;
  const max = Math.max(...m.histogram.map((b) => Math.max(b.segment / segTotal, b.population / popTotal)), 0.01);
  const W = 240;
  const H = 80;
  const bw = W / m.histogram.length;
  const label = `${humanKey(m.key)}: probability of ${m.of}; ${pct(m.segmentAtLeastHalf)} of members at 50% or more, ${pct(m.populationAtLeastHalf)} of everyone`;
  return html`<figure class="histogram">
    <svg viewBox=${`0 0 ${W} ${H + 14}`} role="img" aria-label=${label}>
      ${m.histogram.map((b, i) => {
        const hs = (b.segment / segTotal / max) * H;
        const hp = (b.population / popTotal / max) * H;
        return html`<g><title>${`${pct(b.from)}–${pct(b.to)}: ${b.segment} members, ${b.population} overall`}</title>
          <rect class="bar-pop" x=${i * bw + 1} y=${H - hp} width=${bw / 2 - 1} height=${hp} />
          <rect class="bar-seg" x=${i * bw + bw / 2} y=${H - hs} width=${bw / 2 - 1} height=${hs} /></g>`;
      })}
      <text x="0" y=${H + 12} class="axis">0</text><text x=${W / 2 - 8} y=${H + 12} class="axis">0.5</text><text x=${W - 8} y=${H + 12} class="axis">1</text>
    </svg>
    <figcaption>${label}</figcaption>
  </figure>`;
}

function Portrait({ id }) {
  const res = useApi(() => api('GET', `/v1/segments/${id}/portrait`), [id]);
  return html`<section aria-labelledby="portrait-h" class="portrait" data-testid="portrait"><h3 id="portrait-h">Portrait</h3>
    <${Loaded} res=${res} label="Drawing the portrait…">${(p) => html`
      <div class="portrait-text" data-testid="portrait-description">${p.description.split('\n\n').map((para) => html`<p>${para}</p>`)}</div>
      <p class="muted small">Described by ${p.generator}${p.fallbackReason ? ` (the model's answer was not used: ${p.fallbackReason})` : ''}. Counts include everyone; groups under ${p.minGroupSize} members are not shown.</p>
      ${
        p.overRepresented.length
          ? html`<table class="portrait-lift"><caption>Over-represented against everyone</caption>
        <thead><tr><th scope="col">Trait or attribute</th><th scope="col">In segment</th><th scope="col">Overall</th><th scope="col">Lift</th></tr></thead>
        <tbody>${p.overRepresented.map(
          (o) => html`<tr><th scope="row">${humanKey(o.key)}: ${fmtValue(o.value)}${o.inFilter ? html` <span class="muted small">(in the filter)</span>` : null}</th>
          <td class="num">${pct(o.segmentShare)}</td><td class="num">${pct(o.populationShare)}</td><td class="num">${o.lift.toFixed(1)}×</td></tr>`,
        )}</tbody></table>`
          : null
      }
      <div class="grid-2">
        <table class="breakdown"><caption>Lifecycle stage</caption>
          <thead><tr><th scope="col">Stage</th><th scope="col">In segment</th><th scope="col">Overall</th></tr></thead>
          <tbody>${p.lifecycle.map(
            (l) => html`<tr><th scope="row" title=${l.meaning}>${l.stage}</th><td class="num">${pct(l.segmentShare)}</td><td class="num">${pct(l.populationShare)}</td></tr>`,
          )}</tbody></table>
        <table><caption>Behaviour (median; quartiles)</caption>
          <thead><tr><th scope="col">Figure</th><th scope="col">In segment</th><th scope="col">Overall</th></tr></thead>
          <tbody>${p.behaviour.map(
            (b) => html`<tr><th scope="row">${b.label}</th>
            <td class="num">${fmtValue(b.segment.median)} <span class="muted small">${b.segment.n ? `${fmtValue(b.segment.p25)}–${fmtValue(b.segment.p75)}` : ''}</span></td>
            <td class="num">${fmtValue(b.population.median)} <span class="muted small">${b.population.n ? `${fmtValue(b.population.p25)}–${fmtValue(b.population.p75)}` : ''}</span></td></tr>`,
          )}</tbody></table>
      </div>
      ${
        p.predictions.length
          ? html`<h4>Predicted probability <span class="legend"><span class="swatch bar-pop"></span> everyone <span class="swatch bar-seg"></span> segment</span></h4>
        <div class="histograms">${p.predictions.map((m) => html`<${Histogram} m=${m} />`)}</div>`
          : null
      }
      ${
        p.items.length
          ? html`<h4>Top items</h4><ol class="top-items">${p.items.map(
              (i) => html`<li>${i.title ?? i.item} <span class="muted small">${i.members} members, ${i.lift.toFixed(1)}×</span></li>`,
            )}</ol>`
          : null
      }`}<//>
  </section>`;
}

/** Rename or delete a saved segment. */
function SegmentActions({ seg, onRenamed }) {
  const [name, setName] = useState(seg.name);
  const [error, setError] = useState(/** @type {any} */ (null));
  const [done, setDone] = useState(/** @type {string | null} */ (null));
  /** @param {Event} e */
  const rename = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      const r = await api('PATCH', `/v1/segments/${seg.id}`, { name: name.trim() });
      setDone(`Renamed to ${r.name}.`);
      onRenamed(r);
    } catch (err) {
      setError(err);
    }
  };
  const remove = async () => {
    if (!window.confirm(`Delete the segment "${seg.name}"? Its members are not affected.`)) return;
    try {
      await api('DELETE', `/v1/segments/${seg.id}`);
      location.hash = '#/marketing';
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="segment-actions" onSubmit=${rename}>
    <span class="field"><label for="segment-rename">Name</label><input id="segment-rename" value=${name} onInput=${(e) => setName(e.currentTarget.value)} /></span>
    <button type="submit" class="small" disabled=${!name.trim() || name.trim() === seg.name}>Rename</button>
    <button type="button" class="small danger" onClick=${remove}>Delete segment</button>
    ${done ? html`<span role="status" class="muted small">${done}</span>` : null}
    ${error ? html`<${ErrorNote} error=${error} />` : null}
  </form>`;
}

function SegmentDetail({ id }) {
  const segRes = useApi(() => api('GET', `/v1/segments/${id}`), [id]);
  const members = useApi(() => api('GET', `/v1/segments/${id}/users?limit=8`), [id]);
  const [progress, setProgress] = useState(/** @type {string | null} */ (null));
  const [renamed, setRenamed] = useState(/** @type {any} */ (null));
  const seg = renamed ?? segRes.data;
  const doExport = async () => {
    if (!seg) return;
    setProgress('Exporting…');
    try {
      const n = await exportCsv(seg, (got, total) => setProgress(`Exporting… ${got} of ${total}`));
      setProgress(`Exported ${n} member ids.`);
    } catch (err) {
      setProgress(`Export failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  return html`<${Panel} id="segment" title=${seg ? `Segment: ${seg.name}` : `Segment #${id}`} className="wide">
    <${Loaded} res=${segRes}>${() =>
      !seg
        ? html`<p class="error">No segment #${id}.</p>`
        : html`
        <${SegmentActions} seg=${seg} onRenamed=${setRenamed} />
        ${seg.description ? html`<p class="muted">${seg.description}</p>` : null}
        <h3>Filter</h3>
        <pre class="code" aria-label="segment filter">${JSON.stringify(seg.filter, null, 2)}</pre>
        <${Portrait} id=${id} />
        <${Loaded} res=${members} label="Counting members…">${(m) => html`
          <p class="count" role="status"><strong data-testid="segment-count">${m.total.toLocaleString()}</strong> members with marketing consent${' '}
            <span class="muted">(${m.matched.toLocaleString()} match the filter; ${m.excludedNoConsent.toLocaleString()} left out for lack of consent)</span></p>
          <p><button type="button" onClick=${doExport} disabled=${m.total === 0}>Export member ids (CSV)</button>
            ${progress ? html` <span role="status" class="muted">${progress}</span>` : null}</p>
          <div class="grid-2">
            <section aria-labelledby="sample-h"><h3 id="sample-h">Sample of members</h3>
              ${m.users.length ? html`<ul class="sample">${m.users.slice(0, 5).map((uid) => html`<${MemberSummary} key=${uid} userId=${uid} />`)}</ul>` : html`<p class="muted">No members.</p>`}
            </section>
            <${Lookalikes} id=${id} />
          </div>`}<//>`}<//>
  <//>`;
}

function MemberSummary({ userId }) {
  const res = useApi(() => api('GET', `/v1/users/${encodeURIComponent(userId)}/summary?audience=marketing`), [userId]);
  return html`<li><${UserLink} id=${userId} />
    <${Loaded} res=${res} label="…">${(s) => s.summary.split('\n\n').map((para) => html`<p class="small">${para}</p>`)}<//></li>`;
}

function Lookalikes({ id }) {
  const res = useApi(() => api('POST', `/v1/segments/${id}/lookalikes?k=8`), [id]);
  return html`<section aria-labelledby="lookalikes-h"><h3 id="lookalikes-h">Lookalikes</h3>
    <${Loaded} res=${res} label="Finding lookalikes…">${(r) =>
      r.results.length === 0
        ? html`<p class="muted">${r.note ?? 'No lookalikes.'}</p>`
        : html`<ol class="similar">${r.results.map((x) => html`<li><${UserLink} id=${x.userId} /> <${Confidence} value=${Math.max(0, x.similarity)} label="similarity" /></li>`)}</ol>`}<//>
  </section>`;
}

export function MarketingView({ segmentId }) {
  return html`<div class="view">
    <h1>Marketing</h1>
    ${segmentId ? html`<${SegmentDetail} key=${segmentId} id=${segmentId} />` : null}
    <div class="grid-2">
      <div class="col">
        <${DescribeForm} onProposal=${(f) => window.dispatchEvent(new CustomEvent('traitlens-proposal', { detail: f }))} />
        <${SavedSegments} current=${segmentId} />
      </div>
      <div class="col"><${BuildForm} /></div>
    </div>
  </div>`;
}
