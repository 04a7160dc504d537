// Models view: each trained model's card — what it predicts, on which data, its metrics against
// the baselines, and ROC and calibration plots from the evaluation stored in the card.
import { api } from './api.js';
import { CalibrationChart, RocChart } from './charts.js';
import { Loaded, Panel, Time, html, useApi } from './ui.js';

const f3 = (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : 'n/a');

function MetricsTable({ card }) {
  const rows = [
    { label: `${card.name} (test)`, m: card.metrics.test },
    ...(card.metrics.networkTest ? [{ label: 'network alone (test)', m: card.metrics.networkTest }] : []),
    { label: 'logistic regression', m: card.baseline?.logisticRegression },
    { label: 'majority class', m: card.baseline?.majority },
    { label: `${card.name} (validation)`, m: card.metrics.validation },
  ].filter((r) => r.m);
  const binary = card.metrics.test.kind === 'binary';
  return html`<table class="metrics">
    <caption>Held-out metrics against the baselines</caption>
    <thead><tr><th scope="col">Model</th><th scope="col">ROC AUC</th>${binary ? html`<th scope="col">PR AUC</th><th scope="col">F1</th><th scope="col">Precision</th><th scope="col">Recall</th>` : html`<th scope="col">Macro F1</th>`}<th scope="col">Accuracy</th><th scope="col">Log loss</th></tr></thead>
    <tbody>${rows.map(
      ({ label, m }) => html`<tr><th scope="row">${label}</th><td>${f3(m.auc)}</td>
      ${binary ? html`<td>${f3(m.prAuc)}</td><td>${f3(m.f1)}</td><td>${f3(m.precision)}</td><td>${f3(m.recall)}</td>` : html`<td>${f3(m.macroF1)}</td>`}
      <td>${f3(m.accuracy)}</td><td>${f3(m.logLoss)}</td></tr>`,
    )}</tbody>
  </table>`;
}

function Card({ card, versions }) {
  const binary = card.metrics?.test?.kind === 'binary';
  const w = card.dataWindow ?? {};
  return html`<article class="model-card" aria-labelledby="card-h" data-model=${card.name}>
    <h3 id="card-h">${card.name} <span class="badge">${card.version}</span></h3>
    ${card.description ? html`<p>${card.description}</p>` : null}
    <dl class="facts">
      <div><dt>Target</dt><dd><code>${JSON.stringify(card.target)}</code></dd></div>
      <div><dt>Writes trait</dt><dd><code>${card.traitKey}</code> (producer <code>${card.producer}</code>)</dd></div>
      <div><dt>Architecture</dt><dd>${card.architecture} on ${card.backend}</dd></div>
      <div><dt>Classes</dt><dd>${(card.classes ?? []).join(', ')}</dd></div>
      <div><dt>Threshold</dt><dd>${card.threshold === null ? 'argmax' : f3(card.threshold)}</dd></div>
      <div><dt>Examples</dt><dd>train ${card.examples?.train}, validation ${card.examples?.validation}, test ${card.examples?.test}</dd></div>
      <div><dt>Data window</dt><dd>${w.split} split; test cut-off <${Time} iso=${w.testAsOf} />${w.horizonDays ? `; horizon ${w.horizonDays} days` : ''}</dd></div>
      <div><dt>Created</dt><dd><${Time} iso=${card.createdAt} /></dd></div>
      ${versions.length > 1 ? html`<div><dt>Versions</dt><dd>${versions.join(', ')}</dd></div>` : null}
    </dl>
    <${MetricsTable} card=${card} />
    ${
      binary
        ? html`<div class="charts">
          <${RocChart} id="roc" card=${card} />
          <${CalibrationChart} id="calibration" card=${card} />
        </div>`
        : html`<p class="muted">Multi-class model: ROC and calibration plots are drawn for binary models only.</p>`
    }
    <details><summary>Inputs (${card.features?.inputs ?? '?'} features, version ${card.features?.version ?? '?'})</summary>
      <p class="small">${(card.features?.names ?? []).join(', ')}</p></details>
  </article>`;
}

export function ModelsView({ name }) {
  const res = useApi(() => api('GET', '/v1/models'), []);
  return html`<div class="view">
    <h1>Models</h1>
    <${Loaded} res=${res} label="Loading the models…">${(r) => {
      if (r.models.length === 0) return html`<p class="muted">No trained models yet. Train one with <code>traitlens train models/specs/NAME.json</code>.</p>`;
      const current = r.models.find((m) => m.name === name) ?? r.models[0];
      return html`<div class="models">
        <nav aria-label="Models" class="side"><ul>
          ${r.models.map(
            (m) => html`<li><a href=${`#/models/${encodeURIComponent(m.name)}`} aria-current=${m === current ? 'page' : undefined}>${m.name}</a>
            <span class="muted small"> AUC ${f3(m.latest.metrics?.test?.auc)}</span></li>`,
          )}
        </ul></nav>
        <${Panel} id="model" title="Model card" className="wide"><${Card} key=${current.name} card=${current.latest} versions=${current.versions} /><//>
      </div>`;
    }}<//>
  </div>`;
}
