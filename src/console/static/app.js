// Entry: the key form, the navigation and a hash router (deep links work without server routes).
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, getKey, setKey } from './api.js';
import { html } from './ui.js';
import { SupportView } from './support.js';
import { MarketingView } from './marketing.js';
import { ModelsView } from './models.js';
import { QualityView } from './quality.js';
import { ItemsView } from './items.js';

const VIEWS = [
  { id: 'support', label: 'Support' },
  { id: 'marketing', label: 'Marketing' },
  { id: 'items', label: 'Items' },
  { id: 'models', label: 'Models' },
  { id: 'quality', label: 'Quality' },
];

function useHash() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function useKey() {
  const [key, set] = useState(getKey());
  useEffect(() => {
    const on = () => set(getKey());
    window.addEventListener('traitlens-key', on);
    return () => window.removeEventListener('traitlens-key', on);
  }, []);
  return key;
}

function KeyForm() {
  const [value, setValue] = useState('');
  const [error, setError] = useState(/** @type {string | null} */ (null));
  const [busy, setBusy] = useState(false);
  const input = useRef(/** @type {HTMLInputElement | null} */ (null));
  useEffect(() => input.current?.focus(), []);
  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    const key = value.trim();
    if (!key) return setError('Paste an API key first.');
    setBusy(true);
    setError(null);
    try {
      // Any answer but 401 means the key is valid (a non-admin key gets 403 here).
      await api('GET', '/v1/stats', undefined, { key });
      setKey(key);
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) setKey(key);
      else if (err instanceof ApiError && err.status === 401) setError('That key was not accepted (unknown or revoked).');
      else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="key-gate" id="main">
    <h1>Traitlens console</h1>
    <form onSubmit=${submit} class="card">
      <label for="api-key">API key</label>
      <input id="api-key" ref=${input} type="password" autocomplete="off" spellcheck="false" value=${value}
        onInput=${(e) => setValue(e.currentTarget.value)} aria-describedby="api-key-help" aria-invalid=${error ? 'true' : 'false'} />
      <p id="api-key-help" class="muted">A key from <code>traitlens keys create</code> (or the one the demo printed). It is kept in this tab only (sessionStorage) and sent as a Bearer token to the API.</p>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      <button type="submit" disabled=${busy}>${busy ? 'Checking…' : 'Open console'}</button>
    </form>
  </main>`;
}

function App() {
  const key = useKey();
  const hash = useHash();
  const main = useRef(/** @type {HTMLElement | null} */ (null));
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .map((p) => decodeURIComponent(p));
  const view = VIEWS.some((v) => v.id === parts[0]) ? parts[0] : 'support';
  const rest = parts.slice(1);
  useEffect(() => {
    document.title = `${VIEWS.find((v) => v.id === view)?.label ?? ''} · Traitlens console`;
  }, [view]);
  if (!key) return html`<${KeyForm} />`;
  return html`
    <a class="skip" href="#main" onClick=${(e) => {
      e.preventDefault();
      main.current?.focus();
    }}>Skip to content</a>
    <header class="top">
      <span class="brand">Traitlens</span>
      <nav aria-label="Views">
        <ul>
          ${VIEWS.map((v) => html`<li><a href=${`#/${v.id}`} aria-current=${v.id === view ? 'page' : undefined}>${v.label}</a></li>`)}
        </ul>
      </nav>
      <button type="button" class="link" onClick=${() => setKey(null)}>Forget key</button>
    </header>
    <main id="main" ref=${main} tabindex="-1">
      ${view === 'support' ? html`<${SupportView} userId=${rest[0] ?? ''} />` : null}
      ${view === 'marketing' ? html`<${MarketingView} segmentId=${rest[0] === 'segment' ? rest[1] : undefined} />` : null}
      ${view === 'items' ? html`<${ItemsView} itemId=${rest[0]} />` : null}
      ${view === 'models' ? html`<${ModelsView} name=${rest[0]} />` : null}
      ${view === 'quality' ? html`<${QualityView} />` : null}
    </main>`;
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(html`<${App} />`, root);
}
