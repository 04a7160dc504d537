// Items: a user's top items and recommendations (support view), and the item page with its nearest
// items (#/items/ID), from the item catalogue and the trained item embeddings.
import { useEffect, useState } from 'preact/hooks';
import { api, u } from './api.js';
import { Confidence, Loaded, Panel, Time, fmtValue, html, useApi } from './ui.js';

/** Link to an item's page, its title when the catalogue has one. */
export function ItemLink({ item, title }) {
  return html`<a href=${`#/items/${encodeURIComponent(item)}`} class="item-link">${title || item}</a>${title ? html` <span class="muted small">${item}</span>` : null}`;
}

/** Support view: what the user interacts with most, and what to offer them next (with why). */
export function ItemsPanel({ userId }) {
  const top = useApi(() => api('GET', `/v1/users/${u(userId)}/items?k=8`), [userId]);
  const recs = useApi(() => api('GET', `/v1/users/${u(userId)}/recommendations?k=6`), [userId]);
  return html`<${Panel} id="items" title="Items">
    <h3>Top items</h3>
    <${Loaded} res=${top} label="Loading the user’s items…">${(r) =>
      r.items.length === 0
        ? html`<p class="muted">No items in this user’s events.</p>`
        : html`<ol class="items top-items">${r.items.map(
            (i) => html`<li><${ItemLink} item=${i.item} title=${i.title} /> <span class="small muted">${i.n}× · last <${Time} iso=${i.lastAt} /></span></li>`,
          )}</ol>`}<//>
    <h3>Recommended</h3>
    <${Loaded} res=${recs} label="Ranking recommendations…">${(r) => html`
      ${
        r.recommendations.length === 0
          ? html`<p class="muted">Nothing to recommend yet.</p>`
          : html`<ol class="items recommendations">${r.recommendations.map(
              (x) => html`<li>
                <${ItemLink} item=${x.item} title=${x.title} /> <span class="small muted">score ${fmtValue(x.score)}</span>
                <div class="small muted reasons">${x.reasons.map((y) => y.text).join(' · ')}</div>
              </li>`,
            )}</ol>`
      }
      ${r.note ? html`<p class="small muted">${r.note}</p>` : null}
      <p class="small muted">Item embeddings: ${r.embeddingsVersion ?? 'none trained yet'}</p>`}<//>
  <//>`;
}

function ItemSearch({ initial }) {
  const [value, setValue] = useState(initial);
  useEffect(() => setValue(initial), [initial]);
  /** @param {Event} e */
  const submit = (e) => {
    e.preventDefault();
    const id = value.trim();
    if (id) location.hash = `#/items/${encodeURIComponent(id)}`;
  };
  return html`<form class="lookup" role="search" onSubmit=${submit}>
    <label for="item-ref">Item id</label>
    <input id="item-ref" name="item" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} placeholder="e.g. 85123A" autocomplete="off" spellcheck="false" />
    <button type="submit">Open</button>
  </form>`;
}

/** #/items: the catalogue (searchable, paged); #/items/ID: one item and its nearest items. */
export function ItemsView({ itemId }) {
  return html`<div class="view">
    <h1>Items</h1>
    <${ItemSearch} initial=${itemId ?? ''} />
    ${itemId ? html`<${ItemPage} key=${itemId} itemId=${itemId} />` : html`<${Catalogue} />`}
  </div>`;
}

function Catalogue() {
  const [q, setQ] = useState('');
  const [after, setAfter] = useState(/** @type {string[]} */ ([]));
  const cursor = after[after.length - 1];
  const res = useApi(() => api('GET', `/v1/items?limit=25${q ? `&q=${encodeURIComponent(q)}` : ''}${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`), [q, cursor]);
  return html`<${Panel} id="catalogue" title="Catalogue">
    <label for="item-q">Search titles and ids</label>
    <input id="item-q" type="search" value=${q} onInput=${(e) => {
      setQ(e.currentTarget.value.trim());
      setAfter([]);
    }} />
    <${Loaded} res=${res} label="Loading items…">${(r) => html`
      <p class="small muted">${r.total.toLocaleString()} items in the catalogue.</p>
      ${
        r.items.length === 0
          ? html`<p class="muted">No items${q ? ' match' : ' yet: import a catalogue (traitlens import-items) or train item embeddings'}.</p>`
          : html`<table class="items-table"><thead><tr><th>Item</th><th>Category</th><th>Price</th><th>Source</th></tr></thead>
            <tbody>${r.items.map(
              (i) => html`<tr><td><${ItemLink} item=${i.id} title=${i.title} /></td><td>${i.category ?? '—'}</td><td>${i.price ?? '—'}</td><td>${i.source}</td></tr>`,
            )}</tbody></table>`
      }
      <div class="pager">
        <button type="button" disabled=${after.length === 0} onClick=${() => setAfter(after.slice(0, -1))}>Previous</button>
        <button type="button" disabled=${!r.nextCursor} onClick=${() => setAfter([...after, r.nextCursor])}>Next</button>
      </div>`}<//>
  <//>`;
}

function ItemPage({ itemId }) {
  const item = useApi(() => api('GET', `/v1/items/${encodeURIComponent(itemId)}`), [itemId]);
  const similar = useApi(() => api('GET', `/v1/items/${encodeURIComponent(itemId)}/similar?k=10`), [itemId]);
  return html`<div class="grid-2">
    <div class="col">
      <${Panel} id="item" title="Item">
        <${Loaded} res=${item} label="Loading the item…">${(i) => html`
          <h2 class="item-title">${i.title ?? i.id}</h2>
          <dl class="features">
            <div><dt>id</dt><dd>${i.id}</dd></div>
            <div><dt>category</dt><dd>${i.category ?? '—'}</dd></div>
            <div><dt>price</dt><dd>${i.price ?? '—'}</dd></div>
            <div><dt>source</dt><dd>${i.source === 'learned' ? 'learned from events' : 'catalogue'}</dd></div>
            ${Object.entries(i.attributes).map(([k, v]) => html`<div><dt>${k}</dt><dd>${fmtValue(v)}</dd></div>`)}
            <div><dt>updated</dt><dd><${Time} iso=${i.updatedAt} /></dd></div>
          </dl>`}<//>
      <//>
    </div>
    <div class="col">
      <${Panel} id="nearest" title="Bought together / similar items">
        <${Loaded} res=${similar} label="Finding the nearest items…">${(r) =>
          r.results.length === 0
            ? html`<p class="muted">No neighbours.</p>`
            : html`<ol class="items nearest">${r.results.map(
                (x) => html`<li><${ItemLink} item=${x.item} title=${x.title} /> <${Confidence} value=${Math.max(0, x.score)} label="cosine" /></li>`,
              )}</ol>
              <p class="small muted">Item embeddings ${r.embeddingsVersion}</p>`}<//>
      <//>
    </div>
  </div>`;
}
