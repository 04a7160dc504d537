import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OfflineEmbedder, tokenize } from '../../src/providers/offline-embedder.ts';
import { ensureWordVectorCache, loadWordVectors } from '../../src/providers/word-vectors.ts';

// One fresh cache directory for this file: the first test converts the 294 MB JSON (~4–8 s on
// this machine), the rest reuse it. Removed afterwards so the next run measures conversion again.
const cacheDir = mkdtempSync(join(tmpdir(), 'traitlens-wink-cache-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const norm = (a: Float32Array) => Math.sqrt(cos(a, a));

let first: Awaited<ReturnType<typeof ensureWordVectorCache>>;
beforeAll(async () => {
  first = await ensureWordVectorCache(cacheDir);
}, 60_000);

describe('word-vector cache', () => {
  it('is converted once, atomically, and reused', async () => {
    expect(first.converted).toBe(true);
    const st = statSync(first.vecPath);
    expect(st.size).toBe(16 + 341_479 * 100 * 4);
    expect(first.vecPath).toMatch(/wink-sg-100d-1\.1\.0-f1\.vec$/);
    const again = await ensureWordVectorCache(cacheDir);
    expect(again.converted).toBe(false);
    expect(statSync(again.vecPath).mtimeMs).toBe(st.mtimeMs);
    // No temp files left behind.
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(cacheDir).sort()).toEqual(['wink-sg-100d-1.1.0-f1.vec', 'wink-sg-100d-1.1.0-f1.vocab']);
  });

  it('loads once per process and keeps the vocabulary in frequency order', async () => {
    const [a, b] = await Promise.all([loadWordVectors(cacheDir), loadWordVectors(cacheDir)]);
    expect(a).toBe(b);
    expect(a.words.slice(0, 4)).toEqual(['the', ',', '.', 'of']);
    expect(a.vectors.length).toBe(a.words.length * 100);
    // Spot-check a value against the package JSON (last entry, "sandberger": [0.28365, -0.6263, …]).
    const r = a.index.get('sandberger')!;
    expect(a.vectors[r * 100]).toBeCloseTo(0.28365, 5);
    expect(a.vectors[r * 100 + 1]).toBeCloseTo(-0.6263, 5);
  });
});

describe('OfflineEmbedder (SIF)', () => {
  const e = new OfflineEmbedder({ cacheDir });

  it('gives 100-d unit vectors, deterministically; instances share the loaded model', async () => {
    expect(e.id).toBe('offline:wink-sg-100d-sif');
    const [v1] = await e.embed(['I love hiking in the mountains']);
    const [v2] = await new OfflineEmbedder({ cacheDir }).embed(['I love hiking in the mountains']);
    expect(v1).toHaveLength(100);
    expect(e.dim).toBe(100);
    expect(norm(v1!)).toBeCloseTo(1, 5);
    expect(Array.from(v2!)).toEqual(Array.from(v1!));
    expect(await new OfflineEmbedder({ cacheDir }).model()).toBe(await e.model());
  });

  it('puts similar sentences closer than unrelated ones', async () => {
    const [hike, trail, printer] = await e.embed(['i love hiking in the mountains', 'trail running and hiking', 'my printer is broken']);
    const sim = cos(hike!, trail!);
    expect(sim).toBeGreaterThan(cos(hike!, printer!) + 0.3);
    expect(sim).toBeGreaterThan(cos(trail!, printer!) + 0.3);
    const [cat, puppy, tax] = await e.embed(['I adore my cat and two dogs', 'we adopted a puppy from the shelter', 'the quarterly tax report is due']);
    expect(cos(cat!, puppy!)).toBeGreaterThan(cos(cat!, tax!));
  });

  it('empty, punctuation-only and out-of-vocabulary text give the zero vector', async () => {
    const out = await e.embed(['', '   ', '?!…', 'zzqxjv qqwxkz']);
    for (const v of out) {
      expect(v).toHaveLength(100);
      expect(v.every((x) => x === 0)).toBe(true);
    }
  });

  it('is case-insensitive and ignores unknown words', async () => {
    const [a, b] = await e.embed(['Hiking IN the Mountains', 'hiking in the mountains zzqxjv']);
    expect(cos(a!, b!)).toBeCloseTo(1, 6);
  });

  it('tokenises lower-case, keeps hyphenated forms, splits them when unknown', () => {
    expect(tokenize('Don’t STOP—well-known e-mail, 3.5 km!')).toEqual(["don't", 'stop', 'well-known', 'e-mail', '3.5', 'km']);
  });

  it('can skip the common-component removal (different id, different vectors)', async () => {
    const nopc = new OfflineEmbedder({ cacheDir, removePrincipalComponent: false });
    expect(nopc.id).toBe('offline:wink-sg-100d-sif-nopc');
    const [a] = await nopc.embed(['trail running and hiking']);
    const [b] = await e.embed(['trail running and hiking']);
    expect(norm(a!)).toBeCloseTo(1, 5);
    expect(cos(a!, b!)).toBeLessThan(0.999);
  });
});
