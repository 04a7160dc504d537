/**
 * The web console in a real headless Chromium, against the real server over a small demo
 * population (and a tiny trained model). Needs /usr/bin/chromium (Debian's package; .ci/run
 * installs it): without it these tests fail on purpose rather than skip.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/api/server.ts';
import type { Db } from '../../src/db/connection.ts';
import { enqueueJob } from '../../src/db/jobs.ts';
import { sqliteStore } from '../../src/db/store.ts';
import { assembleRuntime } from '../../src/runtime/runtime.ts';
import { runDemo } from '../../src/demo/run-demo.ts';
import { initBackend } from '../../src/predict/backend.ts';
import { scoreAll } from '../../src/predict/score.ts';
import { parseSpec } from '../../src/predict/spec.ts';
import { trainModel } from '../../src/predict/train.ts';
import { testConfig } from '../support/api.ts';
import { tempDir } from '../support/temp-db.ts';

// Overridable only to prove the missing-browser failure; CI uses Debian's package.
const CHROMIUM = process.env.TRAITLENS_CHROMIUM ?? '/usr/bin/chromium';

let work: { dir: string; remove(): void };
let shots: string;
let db: Db;
let server: RunningServer;
let ctx: BrowserContext;
let page: Page;
let adminKey: string;
let showcase: string;
const modelName = 'purchase_soon';

/** GET on the API with the admin key, for picking expectations. */
async function apiGet(path: string): Promise<any> {
  // any: response shapes are asserted by the API tests
  const r = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${adminKey}` } });
  expect(r.status, path).toBe(200);
  return r.json();
}

/** POST on the API with the admin key. */
async function apiGetPost(path: string, json: unknown): Promise<any> {
  // any: response shapes are asserted by the API tests
  const r = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });
  expect(r.status, path).toBe(200);
  return r.json();
}

const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

async function signIn(key = adminKey) {
  await page.goto(`${server.url}/console`);
  // Start signed out: the tab's sessionStorage survives navigations.
  await page.evaluate('sessionStorage.clear()');
  await page.reload();
  await page.getByLabel('API key').fill(key);
  await page.keyboard.press('Enter');
  await page.getByRole('navigation', { name: 'Views' }).waitFor();
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`the console tests need Chromium at ${CHROMIUM}: apt-get update && apt-get install -y --no-install-recommends chromium (.ci/run does this)`);
  work = tempDir('traitlens-console-');
  shots = mkdtempSync(join(tmpdir(), 'traitlens-console-shots-'));
  const modelsDir = join(work.dir, 'models');
  const dbPath = join(work.dir, 'demo.db');
  const config = testConfig(dbPath, { TRAITLENS_MODELS_DIR: modelsDir });
  // The demo's own models in a folder of their own: the served models folder holds only the tiny one below.
  const demo = await runDemo(config, { dbPath, modelsDir: join(work.dir, 'demo-models'), users: 60, seed: 42 });
  db = demo.db;
  adminKey = demo.adminKey.secret;
  showcase = demo.showcaseUserId;
  // A tiny model so the models view has a card and profiles carry a predicted trait.
  await initBackend({ log: () => {} });
  const spec = parseSpec({
    name: modelName,
    description: 'Any purchase in the next 30 days (console test)',
    target: { kind: 'event_in_horizon', eventTypes: ['purchase'], horizonDays: 30 },
    architecture: 'mlp',
    split: { kind: 'users', validation: 0.2, test: 0.3, seed: 1 },
    training: { epochs: 8, patience: 8, batchSize: 16, hidden: [8] },
    trait: { key: 'will_purchase_30d' },
  });
  await trainModel(sqliteStore(db), spec, { modelsDir, version: 'v1', log: () => {} });
  await scoreAll(sqliteStore(db), { dir: modelsDir });
  server = await startServer({ config, runtime: assembleRuntime(sqliteStore(db), config), handleSignals: false, worker: false });
  ctx = await chromium.launchPersistentContext(join(work.dir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    acceptDownloads: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.setDefaultTimeout(10_000);
  // Any script error or CSP violation fails the test that caused it.
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (m) => {
    // 401/403/404 answers are expected in some tests; the browser logs each as a failed load.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
}, 120_000);

const errors: string[] = [];

afterAll(async () => {
  await ctx?.close();
  await server?.close();
  work?.remove();
  if (shots) process.stderr.write(`console screenshots: ${shots}\n`);
});

describe('web console (headless Chromium)', () => {
  it('serves the shell without a key, with a strict CSP; vendor modules are immutable; unknown files are 404', async () => {
    const shell = await fetch(`${server.url}/console`);
    expect(shell.status).toBe(200);
    expect(shell.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = shell.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    const html = await shell.text();
    const vendor = /"preact":"([^"]+)"/.exec(html)?.[1];
    expect(vendor).toMatch(/^\/console\/vendor\/preact@10\.\d+\.\d+\//);
    const v = await fetch(`${server.url}${vendor}`);
    expect(v.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(v.headers.get('cache-control')).toContain('immutable');
    const own = await fetch(`${server.url}/console/app.js`);
    expect(own.headers.get('cache-control')).toBe('no-cache');
    const again = await fetch(`${server.url}/console/app.js`, { headers: { 'if-none-match': own.headers.get('etag') ?? '' } });
    expect(again.status).toBe(304);
    expect((await fetch(`${server.url}/console/../package.json`)).status).toBe(404);
    expect((await fetch(`${server.url}/console/vendor/preact@10.29.8/package.json`)).status).toBe(404);
  });

  it('asks for a key, refuses an unknown one, keeps a good one in sessionStorage only', async () => {
    await page.goto(`${server.url}/console`);
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.id')).toBe('api-key');
    await page.keyboard.type('tlk_not-a-real-key');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
    await page.getByLabel('API key').fill(adminKey);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Support' }).waitFor();
    expect(await page.evaluate("sessionStorage.getItem('traitlens.apiKey')")).toBe(adminKey);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    await shot('01-signed-in');
  });

  it('support: look a user up from the keyboard, open a trait’s evidence with the quote highlighted in its signal', async () => {
    await signIn();
    // Pick a semantic trait whose quote appears verbatim in its signal, from the API itself.
    const profile = await apiGet(`/v1/users/${showcase}`);
    const events = await apiGet(`/v1/users/${showcase}/events?limit=1000`);
    const textOf = new Map<number, string>(events.events.map((e: { id: number; text: string | null }) => [e.id, e.text ?? '']));
    const trait = profile.traits.find(
      (t: { kind: string; evidence: { eventId: number; quote: string }[] }) =>
        t.kind === 'semantic' && t.evidence.length === 1 && textOf.get(t.evidence[0]!.eventId)?.toLowerCase().includes(t.evidence[0]!.quote.toLowerCase()),
    );
    expect(trait, 'the showcase user has a semantic trait with a verbatim quote').toBeDefined();
    const ev = trait.evidence[0];

    // Keyboard only: the lookup field takes focus by Tab order, Enter submits.
    await page.getByLabel('User id or alias').focus();
    await page.keyboard.type(showcase);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 2, name: new RegExp(`^${showcase}\\b`) }).waitFor();
    expect(page.url()).toContain(`#/support/${showcase}`);
    await page.getByRole('heading', { name: 'Summary' }).waitFor();
    await page.locator('#summary p.summary').waitFor();

    const row = page
      .locator(`li.trait[data-trait-key="${trait.key}"]`)
      .filter({ hasText: String(trait.value) })
      .first();
    const button = row.getByRole('button', { name: /^Evidence/ });
    await button.focus();
    await page.keyboard.press('Enter');
    expect(await button.getAttribute('aria-expanded')).toBe('true');
    const signal = row.locator(`li.signal[data-event-id="${ev.eventId}"]`);
    const mark = signal.locator('mark');
    await mark.waitFor();
    expect((await mark.textContent())!.toLowerCase()).toBe(ev.quote.toLowerCase());
    // The whole signal text is shown around the mark, with its time.
    expect((await signal.locator('.signal-text').textContent())!.replace(/\s+/g, ' ').trim()).toBe(textOf.get(ev.eventId)!.replace(/\s+/g, ' ').trim());
    expect(await signal.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    // Focus is visible on the button that opened it.
    const outline = await button.evaluate('(el) => getComputedStyle(el).outlineStyle');
    expect(outline).not.toBe('none');
    await signal.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, '02-evidence.png') });
  });

  it('support: trait history, predictions with the model version, paged timeline; follow a similar user', async () => {
    await signIn();
    await page.goto(`${server.url}/console#/support/${showcase}`);
    const history = page.locator('li.trait').first().getByRole('button', { name: 'History' });
    await history.click();
    await page.locator('table.history tbody tr').first().waitFor();
    expect(await page.locator('table.history tbody tr.current').count()).toBeGreaterThan(0);

    const predicted = page.locator('#predicted');
    await predicted.getByRole('cell', { name: 'will purchase 30d', exact: true }).first().waitFor();
    await predicted.getByRole('cell', { name: 'v1', exact: true }).first().waitFor();
    expect(await predicted.getByRole('link', { name: `model:${modelName}` }).count()).toBe(1);
    expect(await page.locator('#features dl.features div').count()).toBeGreaterThan(3);

    const timeline = page.locator('#timeline ol.timeline li');
    await expect.poll(() => timeline.count()).toBe(25);
    await page.getByRole('button', { name: 'Older events' }).click();
    await expect.poll(() => timeline.count()).toBeGreaterThan(25);
    await shot('03-support');

    const similar = page.locator('#similar ol.similar a.user-link').first();
    const other = (await similar.textContent())!.trim();
    expect(other).not.toBe(showcase);
    await similar.click();
    await page.getByRole('heading', { level: 2, name: new RegExp(`^${other}\\b`) }).waitFor();
    expect(page.url()).toContain(`#/support/${other}`);
    expect(await page.getByLabel('User id or alias').inputValue()).toBe(other);
  });

  it('support: facts the user told us, with their evidence highlighted and their history (a superseded fact)', async () => {
    // Two facts written through the store as the trait stage writes them: one superseded by the other.
    const store = sqliteStore(db);
    const user = await store.users.require(showcase);
    const events = await apiGet(`/v1/users/${showcase}/events?limit=1000`);
    const withText = events.events.filter((e: { text: string | null }) => (e.text ?? '').length >= 12) as { id: number; text: string }[];
    expect(withText.length).toBeGreaterThan(1);
    const [e1, e2] = withText as [{ id: number; text: string }, { id: number; text: string }];
    const quote1 = e1.text.slice(0, 10);
    const quote2 = e2.text.slice(2, 12);
    const fact = (value: string, eventId: number, quote: string) => ({
      key: 'fact:residence',
      value,
      kind: 'fact' as const,
      confidence: 0.9,
      evidence: [{ eventId, quote }],
      producer: 'console-test',
      version: '1',
    });
    const first = await store.traits.merge({
      userId: user.id,
      kind: 'fact',
      now: Date.now() - 60_000,
      plan: () => ({ changes: [{ op: 'insert', ref: -1, trait: fact('lives in ohio', e1.id, quote1) }], result: null }),
    });
    const old = first.inserted.get(-1)!;
    await store.traits.merge({
      userId: user.id,
      kind: 'fact',
      now: Date.now(),
      plan: () => ({
        changes: [
          { op: 'insert', ref: -1, trait: fact('moved to lisbon last month', e2.id, quote2) },
          { op: 'close', id: old, supersededBy: -1 },
        ],
        result: null,
      }),
    });

    await signIn();
    await page.goto(`${server.url}/console#/support/${showcase}`);
    const row = page.locator('#facts li.trait.fact[data-trait-key="fact:residence"]');
    await row.waitFor();
    expect((await row.locator('.trait-value').textContent())!.trim()).toBe('moved to lisbon last month');
    expect((await row.locator('.trait-key').textContent())!.trim()).toBe('residence');
    await row.getByRole('button', { name: /^Evidence \(1\)/ }).click();
    const mark = row.locator(`li.signal[data-event-id="${e2.id}"] mark`);
    await mark.waitFor();
    expect(await mark.textContent()).toBe(quote2);
    await row.getByRole('button', { name: 'History' }).click();
    await expect.poll(() => row.locator('table.history tbody tr').count()).toBe(2);
    expect(await row.locator('table.history tbody tr.old td').first().textContent()).toBe('lives in ohio');
    expect(await row.locator('table.history tbody tr.current td').first().textContent()).toBe('moved to lisbon last month');
    await shot('03b-facts');
  });

  it('items: the support view shows the user’s top items and recommendations with reasons; an item page shows its nearest items', async () => {
    await signIn();
    await page.goto(`${server.url}/console#/support/${showcase}`);
    const top = page.locator('#items ol.top-items li');
    await top.first().waitFor();
    const mine = await apiGet(`/v1/users/${showcase}/items?k=8`);
    expect(await top.count()).toBe(mine.items.length);
    const recs = page.locator('#items ol.recommendations li');
    await recs.first().waitFor();
    const rec = await apiGet(`/v1/users/${showcase}/recommendations?k=6`);
    expect(await recs.count()).toBe(rec.recommendations.length);
    expect(await page.locator('#items .reasons').first().textContent()).toBe(rec.recommendations[0].reasons.map((r: { text: string }) => r.text).join(' · '));
    await shot('03c-items');
    // Follow one of the user's items that the embeddings know to its page.
    let known: { item: string; title: string | null } | undefined;
    let near: any; // any: response shapes are asserted by the API tests
    for (const i of mine.items) {
      const r = await fetch(`${server.url}/v1/items/${encodeURIComponent(i.item)}/similar?k=10`, { headers: { authorization: `Bearer ${adminKey}` } });
      if (r.status === 200) {
        known = i;
        near = await r.json();
        break;
      }
    }
    expect(known, 'one of the showcase user’s items has an embedding').toBeDefined();
    await page
      .locator('#items ol.top-items a.item-link', { hasText: known!.title ?? known!.item })
      .first()
      .click();
    await page.locator('#nearest ol.nearest li').first().waitFor();
    expect(page.url()).toContain(`#/items/${encodeURIComponent(known!.item)}`);
    expect(await page.locator('#nearest ol.nearest li').count()).toBe(near.results.length);
    expect(await page.locator('#item .item-title').textContent()).toBe(known!.title ?? known!.item);
    await shot('03d-item');
  });

  it('a panel whose route the server lacks says it is not available', async () => {
    await signIn();
    await page.route('**/v1/users/*/summary*', (r) =>
      r.fulfill({
        status: 404,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'not_found', message: 'no route for GET /v1/users/x/summary', details: null } }),
      }),
    );
    try {
      await page.goto(`${server.url}/console#/support/${showcase}`);
      await page.locator('#summary').getByText('Not available on this server').waitFor();
      await page.locator('#traits li.trait').first().waitFor();
    } finally {
      await page.unroute('**/v1/users/*/summary*');
    }
  });

  it('marketing: build a segment, see the compiled filter, count, sample with summaries, lookalikes, and export the ids as CSV', async () => {
    await signIn();
    await page.getByRole('link', { name: 'Marketing' }).click();
    await page.getByLabel('Name').fill('GB customers');
    await page.getByLabel('Kind').selectOption('attribute');
    await page.getByLabel('Key').fill('country');
    await page.getByLabel('Value').fill('GB');
    await expect.poll(async () => JSON.parse((await page.getByLabel(/Compiled filter/).inputValue()) || 'null')).toEqual({ attribute: { key: 'country', eq: 'GB' } });
    await page.getByRole('button', { name: 'Create segment' }).click();
    await page.getByRole('heading', { name: 'Segment: GB customers' }).waitFor();
    expect(page.url()).toMatch(/#\/marketing\/segment\/\d+$/);
    const id = /segment\/(\d+)$/.exec(page.url())![1];
    const members = await apiGet(`/v1/segments/${id}/users?limit=1000`);
    expect(members.total).toBeGreaterThan(0);
    expect((await page.getByTestId('segment-count').textContent())!.replace(/\D/g, '')).toBe(String(members.total));
    await page.locator('ul.sample li p').first().waitFor();
    await page.locator('#lookalikes-h ~ ol.similar li, #lookalikes-h ~ p').first().waitFor();
    await shot('04-segment');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: /Export member ids/ }).click()]);
    const csv = readFileSync(await download.path(), 'utf8')
      .trim()
      .split('\n');
    expect(csv[0]).toBe('user_id');
    expect(csv.slice(1).sort()).toEqual([...members.users].sort());
    await page
      .getByRole('status')
      .filter({ hasText: `Exported ${members.total} member ids` })
      .waitFor();
  });

  it('marketing: preview a filter without saving, then the saved segment’s portrait; rename and delete it', async () => {
    await signIn();
    await page.goto(`${server.url}/console#/marketing`);
    await page.getByLabel('Name').fill('Hikers in the console');
    await page.getByLabel('Kind').selectOption('trait');
    await page.getByLabel('Key').fill('interest');
    const before = (await apiGet('/v1/segments')).segments.length;
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = await apiGetPost('/v1/segments/preview', { filter: { trait: { key: 'interest' } }, sample: 5 });
    await page
      .getByTestId('preview')
      .getByText(`${preview.total.toLocaleString('en-US')} members with marketing consent`)
      .waitFor();
    expect((await apiGet('/v1/segments')).segments.length).toBe(before);
    await page.getByRole('button', { name: 'Create segment' }).click();
    await page.getByRole('heading', { name: 'Segment: Hikers in the console' }).waitFor();
    const id = /segment\/(\d+)$/.exec(page.url())![1];
    const portrait = await apiGet(`/v1/segments/${id}/portrait`);
    await page.getByTestId('portrait-description').locator('p').first().waitFor();
    expect(await page.getByTestId('portrait-description').locator('p').first().textContent()).toBe(portrait.description.split('\n\n')[0]);
    if (portrait.predictions.length) expect(await page.locator('figure.histogram svg').count()).toBe(portrait.predictions.length);
    await shot('05-portrait');

    await page.locator('#segment-rename').fill('Console hikers');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('heading', { name: 'Segment: Console hikers' }).waitFor();
    expect((await apiGet(`/v1/segments/${id}`)).name).toBe('Console hikers');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete segment' }).click();
    await expect.poll(() => page.url()).toMatch(/#\/marketing$/);
    expect((await apiGet('/v1/segments')).segments.map((x: { id: number }) => String(x.id))).not.toContain(id);
  });

  it('marketing: a description without an LLM compiles offline, showing each phrase and what was not understood', async () => {
    await signIn();
    await page.goto(`${server.url}/console#/marketing`);
    await page.getByLabel('In words').fill('people who love hiking and drive tesla');
    await page.keyboard.press('Enter');
    await page.getByText('Compiled offline').waitFor();
    expect(await page.locator('#describe .words li q').first().textContent()).toMatch(/hiking/);
    expect(await page.locator('#describe .words .note').textContent()).toMatch(/tesla/);
  });

  it('marketing: words it cannot compile fall back to embedding search, clearly labelled', async () => {
    await signIn();
    await page.goto(`${server.url}/console#/marketing`);
    await page.getByLabel('In words').fill('purple unicorns');
    await page.keyboard.press('Enter');
    await page.getByText('No LLM is configured').waitFor();
    expect(await page.locator('#describe a.user-link').count()).toBeGreaterThan(0);
  });

  it('models: the card with metrics against the baselines, ROC curve and calibration plot drawn as SVG', async () => {
    await signIn();
    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByRole('heading', { level: 3, name: new RegExp(`^${modelName}`) }).waitFor();
    const table = page.locator('table.metrics');
    await table.getByRole('rowheader', { name: 'logistic regression' }).waitFor();
    await table.getByRole('rowheader', { name: 'majority class' }).waitFor();
    const card = (await apiGet(`/v1/models/${modelName}`)).versions[0];
    expect(await table.locator('tbody tr').first().locator('td').first().textContent()).toBe(Number(card.metrics.test.auc).toFixed(3));
    const roc = page.locator('svg[data-chart="roc"]');
    await roc.waitFor();
    expect(await roc.getAttribute('role')).toBe('img');
    const d = (await roc.locator('path.curve').getAttribute('d')) ?? '';
    expect(d.split(/[ML]/).filter(Boolean).length).toBeGreaterThan(2);
    // Drawn from the card's stored test ROC points (src/predict/card.ts rocPoints).
    expect(card.curves.test.roc.length).toBeGreaterThan(2);
    expect(d.split(/[ML]/).filter(Boolean)).toHaveLength(card.curves.test.roc.length);
    await page.getByText('points on the test set').waitFor();
    const dots = await page.locator('svg[data-chart="calibration"] circle.dot').count();
    expect(dots).toBe(card.metrics.test.calibration.filter((b: { count: number }) => b.count > 0).length);
    await page.locator('article.model-card').scrollIntoViewIfNeeded();
    await shot('05-model');
  });

  it('quality: stats, rejected events by reason, parked jobs retried from the page, LLM budget', async () => {
    // A parked job to retry (the worker is off, so it stays pending afterwards).
    enqueueJob(db, 'user.refresh', 1);
    const job = db.sqlite.prepare(`SELECT id FROM jobs WHERE status = 'pending' ORDER BY id DESC LIMIT 1`).get() as { id: number };
    db.sqlite.prepare(`UPDATE jobs SET status = 'parked', attempts = 5, last_error = 'provider exploded' WHERE id = ?`).run(job.id);
    await signIn();
    await page.getByRole('link', { name: 'Quality' }).click();
    await page.getByRole('heading', { name: 'Ingestion' }).waitFor();
    const stats = await apiGet('/v1/stats');
    for (const reason of Object.keys(stats.rejected.byReason))
      await page
        .locator('#rejected')
        .getByRole('rowheader', { name: reason.replace(/_/g, ' ') })
        .waitFor();
    await page.getByText('provider exploded').waitFor();
    await page.getByLabel(`#${job.id}`).check();
    await page.getByRole('button', { name: 'Retry selected (1)' }).click();
    await page.getByRole('status').filter({ hasText: 'Queued 1 job again' }).waitFor();
    await page.getByText('No parked jobs.').waitFor();
    expect(db.sqlite.prepare('SELECT status, attempts FROM jobs WHERE id = ?').get(job.id) as { status: string; attempts: number }).toEqual({ status: 'pending', attempts: 0 });
    await page
      .locator('#llm')
      .getByText(/No daily token budget|Today:/)
      .waitFor();
    await shot('06-quality');
  });

  it('a read-only key sees the support view and is told what it cannot see', async () => {
    const read = (await sqliteStore(db).keys.create('console read-only', ['profiles:read'])).secret;
    await signIn(read);
    await page.goto(`${server.url}/console#/support/${showcase}`);
    await page.locator('#summary').getByText('summaries:read').waitFor();
    await page.locator('#traits li.trait').first().waitFor();
    await page.getByRole('link', { name: 'Quality' }).click();
    await page.getByText('needs the admin scope', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Forget key' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('at phone width (375 px) no view scrolls sideways: tables, long ids and values wrap or scroll in their own box', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    try {
      await signIn();
      const overflow: string[] = [];
      const check = async (view: string) => {
        const [scroll, inner] = (await page.evaluate('[document.documentElement.scrollWidth, innerWidth]')) as [number, number];
        if (scroll <= inner) return;
        // The outermost elements that stick out (not those clipped by a scrolling box), to name in the failure.
        const wide = await page.evaluate(
          `[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5 && !(e.parentElement && e.parentElement.getBoundingClientRect().right > innerWidth + 0.5) && !(e.parentElement && getComputedStyle(e.parentElement).overflowX !== 'visible')).slice(0, 6).map((e) => e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '') + ' ' + Math.round(e.getBoundingClientRect().right))`,
        );
        overflow.push(`${view}: scrollWidth ${scroll} > ${inner}: ${(wide as string[]).join(', ')}`);
      };
      await page.goto(`${server.url}/console#/support/${showcase}`);
      await page.locator('#traits li.trait').first().waitFor();
      await page.locator('#summary p.summary').waitFor();
      await page.locator('#timeline ol.timeline li').first().waitFor();
      await page.locator('#similar ol.similar li').first().waitFor();
      await page.locator('#features dl.features dd').first().waitFor();
      await shot('20-phone-support');
      await check('support');
      await page.goto(`${server.url}/console#/marketing`);
      await page.getByLabel('Name').waitFor();
      await check('marketing');
      const segment = (await apiGet('/v1/segments')).segments[0];
      if (segment) {
        await page.goto(`${server.url}/console#/marketing/segment/${segment.id}`);
        await page.getByRole('heading', { name: `Segment: ${segment.name}` }).waitFor();
        await page.locator('ul.sample li p').first().waitFor();
        await shot('21-phone-segment');
        await check('segment');
      }
      await page.goto(`${server.url}/console#/models`);
      await page.locator('table.metrics').getByRole('rowheader', { name: 'majority class' }).waitFor();
      await shot('22-phone-models');
      await check('models');
      await page.goto(`${server.url}/console#/items`);
      await page.getByRole('heading', { level: 1, name: 'Items' }).waitFor();
      await check('items');
      await page.goto(`${server.url}/console#/quality`);
      await page.getByRole('heading', { level: 1, name: 'Quality' }).waitFor();
      await check('quality');
      expect(overflow).toEqual([]);
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  });

  it('raised no script errors or CSP violations', () => {
    expect(errors).toEqual([]);
  });
});
