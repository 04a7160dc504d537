import { OpenAIEmbeddings } from '@langchain/openai';
import type { Config } from '../core/config.ts';
import { resilienceFromConfig, ResilientCaller, type ResilienceOptions } from './caller.ts';
import { ProviderBadResponseError } from './errors.ts';
import type { Embedder } from './types.ts';

export interface OpenAIEmbedderOptions extends Omit<ResilienceOptions, 'name'> {
  baseURL?: string;
  apiKey?: string;
  model: string;
  timeoutMs: number;
  /** Sent as `dimensions` when set; every answer is checked against it. */
  dimensions?: number;
  /** float: every local server supports it; base64: smaller, OpenAI and some others. */
  encodingFormat: 'float' | 'base64';
  batchSize: number;
}

/** Output sizes of well-known models, so `dim` is right before the first call. */
const KNOWN_DIMS: Record<string, number> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

export function embedderOptionsFromConfig(config: Config): OpenAIEmbedderOptions {
  return {
    ...(config.OPENAI_BASE_URL ? { baseURL: config.OPENAI_BASE_URL } : {}),
    ...(config.OPENAI_API_KEY ? { apiKey: config.OPENAI_API_KEY } : {}),
    model: config.OPENAI_EMBEDDING_MODEL,
    timeoutMs: config.OPENAI_TIMEOUT_MS,
    ...(config.OPENAI_EMBEDDING_DIM ? { dimensions: config.OPENAI_EMBEDDING_DIM } : {}),
    encodingFormat: config.OPENAI_EMBEDDING_FORMAT,
    batchSize: config.OPENAI_EMBEDDING_BATCH,
    ...resilienceFromConfig(config),
  };
}

const PROVIDER = 'openai-embeddings';

/** base64 embeddings are little-endian float32, like the SDK's own decoder assumes. */
function decodeBase64(s: string): Float32Array {
  const buf = Buffer.from(s, 'base64');
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  if (n === 0) return v;
  n = Math.sqrt(n);
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
  return v;
}

/**
 * Embeddings from any OpenAI-compatible /v1/embeddings through langchain's OpenAIEmbeddings, with
 * our batching, retry, breaker and concurrency limit around each batch (langchain's own retries are off).
 * Empty texts are not sent (OpenAI rejects them) and come back as zero vectors, like the offline embedder;
 * everything else is L2-normalised, since not every local server normalises.
 */
export class OpenAIEmbedder implements Embedder {
  readonly id: string;
  readonly caller: ResilientCaller;
  private readonly lc: OpenAIEmbeddings;
  private knownDim: number;

  constructor(private readonly opts: OpenAIEmbedderOptions) {
    this.id = `openai:${opts.model}${opts.dimensions ? `@${opts.dimensions}` : ''}`;
    this.knownDim = opts.dimensions ?? KNOWN_DIMS[opts.model] ?? 0;
    this.caller = new ResilientCaller({ ...opts, name: PROVIDER });
    this.lc = new OpenAIEmbeddings({
      model: opts.model,
      apiKey: opts.apiKey ?? 'not-needed',
      timeout: opts.timeoutMs,
      maxRetries: 0,
      batchSize: opts.batchSize,
      encodingFormat: opts.encodingFormat,
      ...(opts.dimensions ? { dimensions: opts.dimensions } : {}),
      configuration: { ...(opts.baseURL ? { baseURL: opts.baseURL } : {}), maxRetries: 0 },
    });
  }

  /** 0 until the first answer when the model is unknown and OPENAI_EMBEDDING_DIM is unset. */
  get dim(): number {
    return this.knownDim;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = new Array<Float32Array>(texts.length);
    const todo: number[] = [];
    texts.forEach((t, i) => (t.trim() ? todo.push(i) : undefined));
    const batches: number[][] = [];
    for (let i = 0; i < todo.length; i += this.opts.batchSize) batches.push(todo.slice(i, i + this.opts.batchSize));
    await Promise.all(
      batches.map(async (idx) => {
        const input = idx.map((i) => texts[i]!);
        // With an explicit encoding_format the SDK hands back what the server sent: numbers or a base64 string.
        const raw = (await this.caller.call(() => this.lc.embedDocuments(input))) as unknown[];
        if (!Array.isArray(raw) || raw.length !== input.length) {
          throw new ProviderBadResponseError(`${PROVIDER}: expected ${input.length} embeddings, got ${Array.isArray(raw) ? raw.length : typeof raw}`);
        }
        raw.forEach((e, k) => {
          const v = typeof e === 'string' ? decodeBase64(e) : Array.isArray(e) ? Float32Array.from(e as number[]) : null;
          if (!v || v.length === 0 || v.some((x) => !Number.isFinite(x))) {
            throw new ProviderBadResponseError(`${PROVIDER}: embedding ${k} is not a vector of numbers`);
          }
          if (this.knownDim === 0) this.knownDim = v.length;
          if (v.length !== this.knownDim) {
            throw new ProviderBadResponseError(`${PROVIDER}: embedding has ${v.length} dimensions, expected ${this.knownDim}`);
          }
          out[idx[k]!] = normalise(v);
        });
      }),
    );
    // Empty texts: zero vectors of the (now known) dimension.
    for (let i = 0; i < texts.length; i++) if (!out[i]) out[i] = new Float32Array(this.knownDim);
    return out;
  }
}
