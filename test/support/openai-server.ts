import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A loopback OpenAI-compatible server for tests: real HTTP on 127.0.0.1, scripted answers, faults on
 * demand, and a log of every request so tests can assert what left the process.
 *
 * Chat answers follow the request: when it carries `tools`, the data comes back as a tool call to the
 * first (or the forced) tool; otherwise as JSON text in `content` (json_schema response_format).
 */

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined when it was not JSON. */
  body: unknown;
  rawBody: string;
  at: number;
}

export interface ChatRequestBody {
  model?: string;
  messages?: Array<{ role: string; content: unknown }>;
  tools?: Array<{ type: string; function: { name: string; parameters?: unknown } }>;
  tool_choice?: unknown;
  response_format?: { type: string; json_schema?: { name?: string; schema?: unknown; strict?: boolean } };
  [k: string]: unknown;
}

export type Usage = { prompt_tokens: number; completion_tokens: number };

export type Fixture =
  /** Serialise `data` the way the request asked (tool call or JSON content). */
  | { type: 'answer'; data: unknown; usage?: Usage; model?: string }
  /** Send this exact text as the content (e.g. broken JSON from the model). */
  | { type: 'content'; text: string; usage?: Usage }
  /** Send this exact text as the tool-call arguments. */
  | { type: 'tool-arguments'; text: string; usage?: Usage }
  /** An HTTP error status with an OpenAI-style error body. */
  | { type: 'status'; status: number; headers?: Record<string, string>; message?: string }
  /** Wait, then serve `then` (default: a 200 answer of `{}`); longer than the client timeout = timeout. */
  | { type: 'delay'; ms: number; then?: Fixture }
  /** HTTP 200 whose body is not JSON. */
  | { type: 'malformed-body' }
  /** Drop the connection without an answer. */
  | { type: 'reset' };

export type ChatHandler = (body: ChatRequestBody, req: RecordedRequest) => Fixture | Promise<Fixture>;

export interface OpenAITestServer {
  url: string;
  /** `${url}/v1`: what OPENAI_BASE_URL should be. */
  baseURL: string;
  requests: RecordedRequest[];
  /** Chat fixtures are served in order; when the queue is empty, `chatHandler` answers (or a 400). */
  enqueueChat(...fixtures: Fixture[]): void;
  /** Embedding faults, served in order before the default deterministic answer. */
  enqueueEmbeddings(...fixtures: Fixture[]): void;
  chatHandler: ChatHandler | undefined;
  chatRequests(): RecordedRequest[];
  embeddingRequests(): RecordedRequest[];
  reset(): void;
  close(): Promise<void>;
}

export const DEFAULT_EMBEDDING_DIM = 16;

/** A deterministic unit vector from the text: sha256-seeded, so equal texts give equal vectors. */
export function fakeEmbedding(text: string, dim = DEFAULT_EMBEDDING_DIM): Float32Array {
  const out = new Float32Array(dim);
  let block = createHash('sha256').update(text).digest();
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    if (i > 0 && i % 16 === 0) block = createHash('sha256').update(block).digest();
    const v = (block.readUInt16LE((i % 16) * 2) / 65535) * 2 - 1;
    out[i] = v;
    norm += v * v;
  }
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < dim; i++) out[i] = out[i]! / norm;
  return out;
}

const approxTokens = (s: string) => Math.max(1, Math.ceil(s.length / 4));

export async function startOpenAIServer(opts: { chatHandler?: ChatHandler } = {}): Promise<OpenAITestServer> {
  const requests: RecordedRequest[] = [];
  const chatQueue: Fixture[] = [];
  const embeddingQueue: Fixture[] = [];
  const sockets = new Set<Socket>();
  let counter = 0;

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  /** Faults shared by every route; returns true when the fixture was a fault and has been served. */
  const serveFault = async (f: Fixture, res: ServerResponse, req: IncomingMessage, answer: (f: Fixture) => Promise<void>): Promise<boolean> => {
    switch (f.type) {
      case 'status':
        sendJson(res, f.status, { error: { message: f.message ?? `fixture status ${f.status}`, type: 'test_fixture', code: null } }, f.headers);
        return true;
      case 'delay':
        await new Promise((r) => setTimeout(r, f.ms));
        await answer(f.then ?? { type: 'answer', data: {} });
        return true;
      case 'malformed-body':
        if (!res.destroyed) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"id": "chatcmpl-broken", "choices": [');
        }
        return true;
      case 'reset':
        req.socket.destroy();
        return true;
      default:
        return false;
    }
  };

  const chatAnswer = async (body: ChatRequestBody, f: Fixture, res: ServerResponse, req: IncomingMessage): Promise<void> => {
    if (await serveFault(f, res, req, (next) => chatAnswer(body, next, res, req))) return;
    const promptText = (body.messages ?? []).map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join('\n');
    const forced = (body.tool_choice as { function?: { name?: string } } | undefined)?.function?.name;
    const toolName = forced ?? body.tools?.[0]?.function.name;
    let content: string | null = null;
    let args: string | null = null;
    let usage: Usage | undefined;
    let model = body.model ?? 'test-model';
    if (f.type === 'answer') {
      const text = JSON.stringify(f.data);
      if (toolName) args = text;
      else content = text;
      usage = f.usage;
      if (f.model) model = f.model;
    } else if (f.type === 'content') {
      content = f.text;
      usage = f.usage;
    } else if (f.type === 'tool-arguments') {
      args = f.text;
      usage = f.usage;
    }
    const completion = content ?? args ?? '';
    const u = usage ?? { prompt_tokens: approxTokens(promptText), completion_tokens: approxTokens(completion) };
    const id = `call_${++counter}`;
    sendJson(res, 200, {
      id: `chatcmpl-${counter}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [
        {
          index: 0,
          finish_reason: args !== null ? 'tool_calls' : 'stop',
          logprobs: null,
          message: {
            role: 'assistant',
            content,
            refusal: null,
            ...(args !== null ? { tool_calls: [{ id, type: 'function', function: { name: toolName ?? 'extract', arguments: args } }] } : {}),
          },
        },
      ],
      usage: { ...u, total_tokens: u.prompt_tokens + u.completion_tokens },
    });
  };

  const embeddingAnswer = async (body: Record<string, unknown>, f: Fixture | undefined, res: ServerResponse, req: IncomingMessage): Promise<void> => {
    if (f && (await serveFault(f, res, req, (next) => embeddingAnswer(body, next.type === 'answer' ? undefined : next, res, req)))) return;
    const input = body['input'];
    const texts = typeof input === 'string' ? [input] : Array.isArray(input) ? input.map(String) : [];
    if (texts.length === 0 || texts.some((t) => t === '')) {
      sendJson(res, 400, { error: { message: "'input' must be a non-empty string or array of non-empty strings", type: 'invalid_request_error' } });
      return;
    }
    const dim = typeof body['dimensions'] === 'number' ? body['dimensions'] : DEFAULT_EMBEDDING_DIM;
    const base64 = body['encoding_format'] === 'base64';
    sendJson(res, 200, {
      object: 'list',
      model: body['model'] ?? 'test-embedding',
      data: texts.map((t, index) => {
        const v = fakeEmbedding(t, dim);
        return { object: 'embedding', index, embedding: base64 ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v) };
      }),
      usage: { prompt_tokens: texts.reduce((n, t) => n + approxTokens(t), 0), total_tokens: texts.reduce((n, t) => n + approxTokens(t), 0) },
    });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = rawBody ? JSON.parse(rawBody) : undefined;
        } catch {
          body = undefined;
        }
        const path = (req.url ?? '/').split('?')[0]!;
        const rec: RecordedRequest = { method: req.method ?? 'GET', path, headers: { ...req.headers }, body, rawBody, at: Date.now() };
        requests.push(rec);
        try {
          if (req.method === 'GET' && path === '/v1/models') {
            sendJson(res, 200, {
              object: 'list',
              data: [
                { id: 'test-model', object: 'model', created: 0, owned_by: 'test' },
                { id: 'test-embedding', object: 'model', created: 0, owned_by: 'test' },
              ],
            });
          } else if (req.method === 'POST' && path === '/v1/chat/completions') {
            const b = (body ?? {}) as ChatRequestBody;
            const f = chatQueue.shift() ?? (api.chatHandler ? await api.chatHandler(b, rec) : undefined);
            if (!f) sendJson(res, 400, { error: { message: 'openai-server: no chat fixture queued', type: 'test_fixture' } });
            else await chatAnswer(b, f, res, req);
          } else if (req.method === 'POST' && path === '/v1/embeddings') {
            await embeddingAnswer((body ?? {}) as Record<string, unknown>, embeddingQueue.shift(), res, req);
          } else {
            sendJson(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'not_found' } });
          }
        } catch (err) {
          sendJson(res, 500, { error: { message: `openai-server: ${(err as Error).message}`, type: 'server_error' } });
        }
      })();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const api: OpenAITestServer = {
    url,
    baseURL: `${url}/v1`,
    requests,
    chatHandler: opts.chatHandler,
    enqueueChat: (...f) => void chatQueue.push(...f),
    enqueueEmbeddings: (...f) => void embeddingQueue.push(...f),
    chatRequests: () => requests.filter((r) => r.path === '/v1/chat/completions'),
    embeddingRequests: () => requests.filter((r) => r.path === '/v1/embeddings'),
    reset: () => {
      requests.length = 0;
      chatQueue.length = 0;
      embeddingQueue.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const s of sockets) s.destroy();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
  return api;
}
