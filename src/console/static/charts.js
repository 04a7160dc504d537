// Inline SVG charts for model cards (no chart library): a unit-square plot with axes and ticks.
import { html } from './ui.js';

const W = 260;
const H = 260;
const M = { l: 40, r: 12, t: 12, b: 38 };
const X = (v) => M.l + v * (W - M.l - M.r);
const Y = (v) => H - M.b - v * (H - M.t - M.b);
const TICKS = [0, 0.25, 0.5, 0.75, 1];

function Frame({ id, title, desc, xLabel, yLabel, children }) {
  return html`<svg class="chart" viewBox=${`0 0 ${W} ${H}`} role="img" aria-labelledby=${`${id}-title ${id}-desc`} data-chart=${id}>
    <title id=${`${id}-title`}>${title}</title>
    <desc id=${`${id}-desc`}>${desc}</desc>
    ${TICKS.map(
      (t) => html`<g class="tick">
      <line x1=${X(t)} x2=${X(t)} y1=${Y(0)} y2=${Y(1)} class="grid" />
      <line x1=${X(0)} x2=${X(1)} y1=${Y(t)} y2=${Y(t)} class="grid" />
      <text x=${X(t)} y=${Y(0) + 14} text-anchor="middle">${t}</text>
      <text x=${X(0) - 6} y=${Y(t) + 4} text-anchor="end">${t}</text>
    </g>`,
    )}
    <rect x=${X(0)} y=${Y(1)} width=${X(1) - X(0)} height=${Y(0) - Y(1)} class="axes" />
    <line x1=${X(0)} y1=${Y(0)} x2=${X(1)} y2=${Y(1)} class="diagonal" />
    <text x=${(X(0) + X(1)) / 2} y=${H - 6} text-anchor="middle" class="label">${xLabel}</text>
    <text x=${12} y=${(Y(0) + Y(1)) / 2} text-anchor="middle" class="label" transform=${`rotate(-90 12 ${(Y(0) + Y(1)) / 2})`}>${yLabel}</text>
    ${children}
  </svg>`;
}

/**
 * ROC points from the card: `curves.test.roc` when the card has it; else derived from the
 * calibration bins (each bin's positives and negatives, thresholds at the bin edges), which is
 * exact at those ten thresholds and linear between them.
 * @returns {{ points: { fpr: number, tpr: number }[], source: string } | null}
 */
export function rocFromCard(card) {
  const roc = card.curves?.test?.roc;
  if (Array.isArray(roc) && roc.length > 1) return { points: roc, source: `${roc.length} points on the test set` };
  const bins = card.metrics?.test?.calibration;
  if (!Array.isArray(bins) || bins.length === 0) return null;
  let P = 0;
  let N = 0;
  const pn = bins.map((b) => {
    const pos = b.count && b.fractionPositive !== null ? Math.round(b.count * b.fractionPositive) : 0;
    P += pos;
    N += b.count - pos;
    return { pos, neg: b.count - pos };
  });
  if (!P || !N) return null;
  const points = [{ fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let i = pn.length - 1; i >= 0; i--) {
    tp += pn[i].pos;
    fp += pn[i].neg;
    points.push({ fpr: fp / N, tpr: tp / P });
  }
  return { points, source: 'derived from the calibration bins (exact at the bin edges)' };
}

export function RocChart({ id, card }) {
  const roc = rocFromCard(card);
  if (!roc) return html`<p class="muted">No ROC data in this card.</p>`;
  const auc = card.metrics?.test?.auc;
  const d = roc.points.map((p, i) => `${i ? 'L' : 'M'}${X(p.fpr).toFixed(1)},${Y(p.tpr).toFixed(1)}`).join(' ');
  return html`<figure class="chart-fig">
    <${Frame} id=${id} title="ROC curve (test set)" desc=${`True positive rate against false positive rate; AUC ${typeof auc === 'number' ? auc.toFixed(3) : 'n/a'}. The diagonal is chance.`}
      xLabel="false positive rate" yLabel="true positive rate">
      <path d=${d} class="curve" />
    <//>
    <figcaption>ROC, AUC ${typeof auc === 'number' ? auc.toFixed(3) : 'n/a'} — ${roc.source}</figcaption>
  </figure>`;
}

export function CalibrationChart({ id, card }) {
  const bins = (card.metrics?.test?.calibration ?? []).filter((b) => b.count > 0 && b.meanPredicted !== null && b.fractionPositive !== null);
  if (!bins.length) return html`<p class="muted">No calibration bins in this card.</p>`;
  const maxN = Math.max(...bins.map((b) => b.count));
  const d = bins.map((b, i) => `${i ? 'L' : 'M'}${X(b.meanPredicted).toFixed(1)},${Y(b.fractionPositive).toFixed(1)}`).join(' ');
  return html`<figure class="chart-fig">
    <${Frame} id=${id} title="Calibration (test set)" desc="Fraction of positives against mean predicted probability per bin; on the diagonal is perfectly calibrated. Dot size shows how many examples a bin holds."
      xLabel="mean predicted probability" yLabel="fraction positive">
      <path d=${d} class="curve" />
      ${bins.map(
        (b) => html`<circle cx=${X(b.meanPredicted)} cy=${Y(b.fractionPositive)} r=${2.5 + 4.5 * Math.sqrt(b.count / maxN)} class="dot">
        <title>${b.lo.toFixed(1)}–${b.hi.toFixed(1)}: ${b.count} examples, predicted ${b.meanPredicted.toFixed(3)}, observed ${b.fractionPositive.toFixed(3)}</title></circle>`,
      )}
    <//>
    <figcaption>Calibration — ${bins.length} non-empty bins</figcaption>
    <details><summary>Calibration table</summary>
      <table class="small"><thead><tr><th scope="col">Bin</th><th scope="col">n</th><th scope="col">Mean predicted</th><th scope="col">Fraction positive</th></tr></thead>
      <tbody>${bins.map((b) => html`<tr><td>${b.lo.toFixed(1)}–${b.hi.toFixed(1)}</td><td>${b.count}</td><td>${b.meanPredicted.toFixed(3)}</td><td>${b.fractionPositive.toFixed(3)}</td></tr>`)}</tbody></table>
    </details>
  </figure>`;
}
