import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { ProviderBadResponseError, ProviderRequestError } from '../../src/providers/errors.ts';
import { createProviders, OfflineEmbedder, OpenAIChatModel, OpenAIEmbedder } from '../../src/providers/index.ts';
import type { OpenAIEmbedderOptions } from '../../src/providers/openai-embedder.ts';
import { DEFAULT_EMBEDDING_DIM, fakeEmbedding, startOpenAIServer, type OpenAITestServer } from '../support/openai-server.ts';

let server: OpenAITestServer;
beforeAll(async () => {
  server = await startOpenAIServer();
});
afterAll(() => server.close());
afterEach(() => server.reset());

function embedder(over: Partial<OpenAIEmbedderOptions> = {}) {
  return new OpenAIEmbedder({
    baseURL: server.baseURL,
    model: 'test-embedding',
    timeoutMs: 2000,
    encodingFormat: 'float',
    batchSize: 2,
    maxRetries: 2,
    baseDelayMs: 5,
    maxDelayMs: 20,
    concurrency: 2,
    breakerThreshold: 50,
    breakerCooldownMs: 1000,
    ...over,
  });
}
const close = (a: Float32Array, b: Float32Array) => a.every((x, i) => Math.abs(x - b[i]!) < 1e-6);

describe('OpenAI-compatible embeddings', () => {
  it.each(['float', 'base64'] as const)('decodes %s vectors, batches, keeps order', async (format) => {
    const e = embedder({ encodingFormat: format });
    const texts = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    const out = await e.embed(texts);
    expect(out).toHaveLength(5);
    texts.forEach((t, i) => expect(close(out[i]!, fakeEmbedding(t))).toBe(true));
    expect(e.dim).toBe(DEFAULT_EMBEDDING_DIM);
    const reqs = server.embeddingRequests();
    expect(reqs).toHaveLength(3); // batches of 2
    for (const r of reqs) expect((r.body as { encoding_format: string }).encoding_format).toBe(format);
  });

  it('sends no empty text and answers it with a zero vector; passes `dimensions` when configured', async () => {
    const e = embedder({ dimensions: 8 });
    expect(e.id).toBe('openai:test-embedding@8');
    expect(e.dim).toBe(8);
    const out = await e.embed(['', 'hello', '   ']);
    expect(Array.from(out[0]!)).toEqual(new Array(8).fill(0));
    expect(close(out[1]!, fakeEmbedding('hello', 8))).toBe(true);
    expect(out[2]!.every((x) => x === 0)).toBe(true);
    expect(server.embeddingRequests()[0]!.body as { input: string[]; dimensions: number }).toMatchObject({ input: ['hello'], dimensions: 8 });
  });

  it('retries 429/500/reset per batch, not 400', async () => {
    server.enqueueEmbeddings({ type: 'status', status: 429, headers: { 'retry-after-ms': '20' } }, { type: 'status', status: 500 }, { type: 'reset' });
    const out = await embedder({ maxRetries: 3, concurrency: 1 }).embed(['one']);
    expect(close(out[0]!, fakeEmbedding('one'))).toBe(true);
    expect(server.embeddingRequests()).toHaveLength(4);

    server.reset();
    server.enqueueEmbeddings({ type: 'status', status: 400 });
    await expect(embedder().embed(['one'])).rejects.toBeInstanceOf(ProviderRequestError);
    expect(server.embeddingRequests()).toHaveLength(1);
  });

  it('rejects answers of the wrong dimension or unreadable bodies as BadResponse', async () => {
    // A known model name fixes dim at 1536 up front; the test server answers 16.
    const e = embedder({ model: 'text-embedding-3-small' });
    expect(e.dim).toBe(1536);
    await expect(e.embed(['a'])).rejects.toThrow(/16 dimensions, expected 1536/);
    server.enqueueEmbeddings({ type: 'malformed-body' });
    await expect(embedder({ maxRetries: 0 }).embed(['a'])).rejects.toBeInstanceOf(ProviderBadResponseError);
  });
});

describe('createProviders', () => {
  it('no endpoint: no chat model, offline embedder', () => {
    const p = createProviders(loadConfig({}));
    expect(p.chat).toBeNull();
    expect(p.embedder).toBeInstanceOf(OfflineEmbedder);
    expect(p.embedder.id).toBe('offline:wink-sg-100d-sif');
    expect(p.embedder.dim).toBe(100);
  });

  it('a base URL alone (local server, no key) enables chat and remote embeddings; offline can be forced', async () => {
    const config = loadConfig({ OPENAI_BASE_URL: server.baseURL, OPENAI_CHAT_MODEL: 'test-model', OPENAI_EMBEDDING_MODEL: 'test-embedding' });
    const p = createProviders(config);
    expect(p.chat).toBeInstanceOf(OpenAIChatModel);
    expect(p.chat!.id).toBe('openai:test-model');
    expect(p.embedder).toBeInstanceOf(OpenAIEmbedder);
    const [v] = await p.embedder.embed(['hi']);
    expect(close(v!, fakeEmbedding('hi'))).toBe(true);
    expect(createProviders({ ...config, TRAITLENS_EMBEDDER: 'offline' }).embedder).toBeInstanceOf(OfflineEmbedder);
    expect(() => createProviders(loadConfig({ TRAITLENS_EMBEDDER: 'openai' }))).toThrow(ConfigError);
  });
});
