import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { OfflineEmbedder } from '../../src/providers/offline-embedder.ts';
import { OpenAIEmbedder } from '../../src/providers/openai-embedder.ts';
import type { Embedder } from '../../src/providers/types.ts';
import { startOpenAIServer, type OpenAITestServer } from '../support/openai-server.ts';

/**
 * One suite for every embedder: one vector of `dim` numbers per text, in order, unit length,
 * deterministic, independent of how the texts were batched. The OpenAI-compatible embedder runs
 * through the loopback server (deterministic fake vectors); the offline one over the word vectors.
 */

let server: OpenAITestServer;
beforeAll(async () => {
  server = await startOpenAIServer();
});
afterAll(() => server.close());

interface EmbedderCase {
  name: string;
  open(): Embedder;
  /** requests the embedder sent, when it calls a server */
  requests?: () => number;
}

const cases: EmbedderCase[] = [
  {
    name: 'offline',
    // the shared word-vector cache (converted once per machine)
    open: () => new OfflineEmbedder({ cacheDir: loadConfig({}).TRAITLENS_CACHE_DIR }),
  },
  {
    name: 'openai-compatible (loopback server)',
    open: () =>
      new OpenAIEmbedder({
        baseURL: server.baseURL,
        model: 'test-embedding',
        timeoutMs: 2000,
        encodingFormat: 'float',
        batchSize: 2,
        maxRetries: 0,
        concurrency: 2,
        breakerThreshold: 50,
        breakerCooldownMs: 1000,
      }),
    requests: () => server.embeddingRequests().length,
  },
];

const TEXTS = ['I love hiking in the mountains', 'my cat sleeps all day', 'quarterly tax filing deadline', 'fresh bread from the bakery', 'I love hiking in the mountains'];
const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

for (const c of cases) {
  describe(`embedder contract [${c.name}]`, () => {
    it('one vector of `dim` numbers per text, in order, unit length; equal texts give equal vectors', async () => {
      const e = c.open();
      expect(e.id).toMatch(/^[a-z]+:\S+$/);
      const out = await e.embed(TEXTS);
      expect(out).toHaveLength(TEXTS.length);
      expect(e.dim).toBeGreaterThan(0);
      for (const v of out) {
        expect(v).toBeInstanceOf(Float32Array);
        expect(v.length).toBe(e.dim);
        expect(norm(v)).toBeCloseTo(1, 4);
      }
      expect(Array.from(out[4]!)).toEqual(Array.from(out[0]!));
      expect(Array.from(out[1]!)).not.toEqual(Array.from(out[0]!));
    });

    it('a text gets the same vector alone, in another batch, or from another instance', async () => {
      const e = c.open();
      const together = await e.embed(TEXTS);
      const alone = await c.open().embed([TEXTS[2]!]);
      const reordered = await e.embed([TEXTS[3]!, TEXTS[2]!]);
      for (const v of [alone[0]!, reordered[1]!]) for (let i = 0; i < v.length; i++) expect(v[i]).toBeCloseTo(together[2]![i]!, 5);
    });

    it('no texts, no vectors (and no request)', async () => {
      const before = c.requests?.() ?? 0;
      expect(await c.open().embed([])).toEqual([]);
      expect(c.requests?.() ?? 0).toBe(before);
    });
  });
}
