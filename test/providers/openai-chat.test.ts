import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OpenAIChatModel, type OpenAIChatOptions } from '../../src/providers/openai-chat.ts';
import { CircuitOpenError, ProviderAuthError, ProviderBadResponseError, ProviderRequestError, ProviderServerError } from '../../src/providers/errors.ts';
import { startOpenAIServer, type ChatRequestBody, type OpenAITestServer } from '../support/openai-server.ts';

const Traits = z.object({
  interests: z.array(z.string()),
  sentiment: z.enum(['positive', 'neutral', 'negative']),
  confidence: z.number().min(0).max(1),
});
const good = { interests: ['hiking'], sentiment: 'positive', confidence: 0.9 };
const req = { system: 'Extract traits.', user: 'I love hiking in the mountains.', schema: Traits, schemaName: 'traits' };

let server: OpenAITestServer;
beforeAll(async () => {
  server = await startOpenAIServer();
});
afterAll(() => server.close());
afterEach(() => server.reset());

function model(over: Partial<OpenAIChatOptions> = {}) {
  const retries: Array<{ attempt: number; delayMs: number; code: string }> = [];
  const m = new OpenAIChatModel({
    baseURL: server.baseURL,
    model: 'test-model',
    timeoutMs: 2000,
    method: 'jsonSchema',
    tokensPerMinute: 0,
    maxRetries: 3,
    baseDelayMs: 10,
    maxDelayMs: 50,
    concurrency: 4,
    breakerThreshold: 100,
    breakerCooldownMs: 1000,
    onRetry: ({ attempt, delayMs, error }) => retries.push({ attempt, delayMs, code: error.code }),
    ...over,
  });
  return { m, retries };
}
const body = (i: number) => server.chatRequests()[i]!.body as ChatRequestBody;

describe('structured extraction', () => {
  it('uses response_format json_schema and validates the answer', async () => {
    server.enqueueChat({ type: 'answer', data: good, usage: { prompt_tokens: 120, completion_tokens: 30 }, model: 'test-model-2024' });
    const { m } = model();
    const out = await m.extractStructured(req);
    expect(out.data).toEqual(good);
    expect(out.usage).toEqual({ promptTokens: 120, completionTokens: 30 });
    expect(out.model).toBe('test-model-2024');
    const b = body(0);
    expect(b.response_format?.type).toBe('json_schema');
    expect(b.response_format?.json_schema?.name).toBe('traits');
    expect(b.response_format?.json_schema?.schema).toMatchObject({ type: 'object', properties: { sentiment: { enum: ['positive', 'neutral', 'negative'] } } });
    expect(b.tools).toBeUndefined();
    expect(b.messages?.map((x) => x.role)).toEqual(['system', 'user']);
    // The SDK's own retries are off: exactly one HTTP request.
    expect(server.chatRequests()).toHaveLength(1);
    expect(server.chatRequests()[0]!.headers['authorization']).toBe('Bearer not-needed');
  });

  it('uses a forced tool call with functionCalling', async () => {
    server.enqueueChat({ type: 'answer', data: good, usage: { prompt_tokens: 50, completion_tokens: 7 } });
    const { m } = model({ method: 'functionCalling' });
    const out = await m.extractStructured(req);
    expect(out.data).toEqual(good);
    expect(out.usage).toEqual({ promptTokens: 50, completionTokens: 7 });
    const b = body(0);
    expect(b.response_format).toBeUndefined();
    expect(b.tools?.[0]?.function.name).toBe('traits');
    expect(b.tool_choice).toEqual({ type: 'function', function: { name: 'traits' } });
  });

  it('re-asks once with the JSON error, then succeeds; usage sums both attempts', async () => {
    server.enqueueChat(
      // The SDK itself fails to parse this (json_schema mode): usage must still be counted.
      { type: 'content', text: '{"interests": ["hiking"], "sentiment": ', usage: { prompt_tokens: 10, completion_tokens: 5 } },
      { type: 'answer', data: good, usage: { prompt_tokens: 20, completion_tokens: 6 } },
    );
    const out = await model().m.extractStructured(req);
    expect(out.data).toEqual(good);
    expect(out.usage).toEqual({ promptTokens: 30, completionTokens: 11 });
    const second = body(1).messages!.at(-1)!.content as string;
    expect(second).toContain(req.user);
    expect(second).toMatch(/previous answer was rejected: not valid JSON/);
  });

  it('a schema violation twice becomes BadResponse carrying the issues', async () => {
    const bad = { interests: 'hiking', sentiment: 'ecstatic', confidence: 3 };
    server.enqueueChat({ type: 'answer', data: bad }, { type: 'answer', data: bad });
    const err = await model()
      .m.extractStructured(req)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderBadResponseError);
    const e = err as ProviderBadResponseError;
    expect(e.retryable).toBe(false);
    expect(e.issues.map((i) => i.path).sort()).toEqual(['confidence', 'interests', 'sentiment']);
    expect(e.usage?.promptTokens).toBeGreaterThan(0);
    expect(server.chatRequests()).toHaveLength(2);
    expect(body(1).messages!.at(-1)!.content as string).toMatch(/sentiment: Invalid option/);
  });

  it('malformed tool-call arguments are re-asked once, then BadResponse', async () => {
    server.enqueueChat({ type: 'tool-arguments', text: '{"interests": [' }, { type: 'tool-arguments', text: 'nope' });
    const err = await model({ method: 'functionCalling' })
      .m.extractStructured(req)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderBadResponseError);
    expect((err as ProviderBadResponseError).issues[0]!.message).toMatch(/not valid JSON/);
    expect(server.chatRequests()).toHaveLength(2);
  });

  it('accepts JSON content (in a markdown fence) when a server answers a tool request without a tool call', async () => {
    server.enqueueChat({ type: 'content', text: '```json\n' + JSON.stringify(good) + '\n```' });
    expect((await model({ method: 'functionCalling' }).m.extractStructured(req)).data).toEqual(good);
  });

  it('a non-JSON 200 body is re-asked once, then BadResponse, without transport retries', async () => {
    server.enqueueChat({ type: 'malformed-body' }, { type: 'malformed-body' });
    const err = await model()
      .m.extractStructured(req)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderBadResponseError);
    expect(server.chatRequests()).toHaveLength(2);
  });
});

describe('transport retries', () => {
  it('honours retry-after (seconds) on 429', async () => {
    server.enqueueChat({ type: 'status', status: 429, headers: { 'retry-after': '1' } }, { type: 'answer', data: good });
    const { m, retries } = model();
    const t0 = Date.now();
    await m.extractStructured(req);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(retries).toEqual([{ attempt: 1, delayMs: 1000, code: 'provider_rate_limited' }]);
    expect(server.chatRequests()).toHaveLength(2);
  });

  it('honours retry-after-ms on 503', async () => {
    server.enqueueChat({ type: 'status', status: 503, headers: { 'retry-after-ms': '300', 'retry-after': '9' } }, { type: 'answer', data: good });
    const { m, retries } = model();
    const t0 = Date.now();
    await m.extractStructured(req);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(retries).toEqual([{ attempt: 1, delayMs: 300, code: 'provider_unavailable' }]);
  });

  it('gives up when retry-after is longer than the allowed wait', async () => {
    server.enqueueChat({ type: 'status', status: 429, headers: { 'retry-after': '3600' } });
    const err = await model({ maxRetryAfterMs: 5000 })
      .m.extractStructured(req)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'provider_rate_limited', retryAfterMs: 3_600_000 });
    expect(server.chatRequests()).toHaveLength(1);
  });

  it('retries 500 with backoff, then fails with ServerError after max retries', async () => {
    server.enqueueChat({ type: 'status', status: 500 }, { type: 'status', status: 502 }, { type: 'answer', data: good });
    const { m, retries } = model();
    expect((await m.extractStructured(req)).data).toEqual(good);
    expect(retries.map((r) => r.code)).toEqual(['provider_unavailable', 'provider_unavailable']);
    for (const r of retries) expect(r.delayMs).toBeLessThanOrEqual(50);

    server.reset();
    server.enqueueChat(...Array.from({ length: 3 }, () => ({ type: 'status' as const, status: 500 })));
    const err = await model({ maxRetries: 2 })
      .m.extractStructured(req)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderServerError);
    expect((err as ProviderServerError).upstreamStatus).toBe(500);
    expect(server.chatRequests()).toHaveLength(3);
  });

  it('retries a timeout and a connection reset', async () => {
    // biome-ignore lint/suspicious/noThenProperty: the fixture's field, not a thenable
    server.enqueueChat({ type: 'delay', ms: 1500, then: { type: 'answer', data: good } }, { type: 'reset' }, { type: 'answer', data: good });
    const { m, retries } = model({ timeoutMs: 300 });
    expect((await m.extractStructured(req)).data).toEqual(good);
    expect(retries.map((r) => r.code)).toEqual(['provider_timeout', 'provider_connection']);
  });

  it('does not retry 400, 401 or 404', async () => {
    server.enqueueChat({ type: 'status', status: 400, message: 'bad parameter' });
    const e400 = await model()
      .m.extractStructured(req)
      .catch((e: unknown) => e);
    expect(e400).toBeInstanceOf(ProviderRequestError);
    expect((e400 as ProviderRequestError).upstreamStatus).toBe(400);
    server.enqueueChat({ type: 'status', status: 401 });
    expect(
      await model()
        .m.extractStructured(req)
        .catch((e: unknown) => e),
    ).toBeInstanceOf(ProviderAuthError);
    server.enqueueChat({ type: 'status', status: 404 });
    expect(
      await model()
        .m.extractStructured(req)
        .catch((e: unknown) => e),
    ).toBeInstanceOf(ProviderRequestError);
    expect(server.chatRequests()).toHaveLength(3);
  });
});

describe('circuit breaker', () => {
  it('opens after N consecutive failures, fails fast, then recovers after the cool-down', async () => {
    const { m } = model({ maxRetries: 0, breakerThreshold: 3, breakerCooldownMs: 300 });
    server.enqueueChat(...Array.from({ length: 3 }, () => ({ type: 'status' as const, status: 503 })));
    for (let i = 0; i < 3; i++) await expect(m.extractStructured(req)).rejects.toBeInstanceOf(ProviderServerError);
    expect(m.caller.breaker.currentState).toBe('open');

    const t0 = Date.now();
    const fast = await m.extractStructured(req).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(50);
    expect(fast).toBeInstanceOf(CircuitOpenError);
    expect((fast as CircuitOpenError).message).toMatch(/circuit breaker open/);
    expect(server.chatRequests()).toHaveLength(3); // the open circuit never reached the server

    await new Promise((r) => setTimeout(r, 320));
    expect(m.caller.breaker.currentState).toBe('half-open');
    server.enqueueChat({ type: 'answer', data: good });
    expect((await m.extractStructured(req)).data).toEqual(good);
    expect(m.caller.breaker.currentState).toBe('closed');
  });

  it('a failed trial call re-opens the circuit; 4xx do not count as failures', async () => {
    const { m } = model({ maxRetries: 0, breakerThreshold: 2, breakerCooldownMs: 100 });
    server.enqueueChat({ type: 'status', status: 400 }, { type: 'status', status: 400 }, { type: 'status', status: 400 });
    for (let i = 0; i < 3; i++) await expect(m.extractStructured(req)).rejects.toBeInstanceOf(ProviderRequestError);
    expect(m.caller.breaker.currentState).toBe('closed');
    server.enqueueChat({ type: 'status', status: 500 }, { type: 'status', status: 500 }, { type: 'status', status: 500 });
    await expect(m.extractStructured(req)).rejects.toBeInstanceOf(ProviderServerError);
    await expect(m.extractStructured(req)).rejects.toBeInstanceOf(ProviderServerError);
    await expect(m.extractStructured(req)).rejects.toBeInstanceOf(CircuitOpenError);
    await new Promise((r) => setTimeout(r, 120));
    await expect(m.extractStructured(req)).rejects.toBeInstanceOf(ProviderServerError); // the trial
    expect(m.caller.breaker.currentState).toBe('open');
  });
});

describe('limits', () => {
  it('never runs more than `concurrency` requests at once', async () => {
    let inFlight = 0;
    let peak = 0;
    server.chatHandler = async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 40));
      inFlight--;
      return { type: 'answer', data: good };
    };
    try {
      const { m } = model({ concurrency: 2 });
      await Promise.all(Array.from({ length: 6 }, () => m.extractStructured(req)));
      expect(peak).toBe(2);
    } finally {
      server.chatHandler = undefined;
    }
  });

  it('waits for the tokens-per-minute budget, settled with the real usage', async () => {
    // 6000 TPM = 100 tokens/s. Each answer reports 2900 tokens: two calls nearly empty the bucket
    // (it starts full), so the third waits for its reservation (~300 tokens) to refill.
    server.chatHandler = () => ({ type: 'answer', data: good, usage: { prompt_tokens: 2800, completion_tokens: 100 } });
    try {
      const { m } = model({ tokensPerMinute: 6000 });
      const t0 = Date.now();
      await m.extractStructured(req);
      await m.extractStructured(req);
      expect(Date.now() - t0).toBeLessThan(500);
      expect(m.tpm.available).toBeLessThan(250);
      const t1 = Date.now();
      await m.extractStructured(req);
      expect(Date.now() - t1).toBeGreaterThanOrEqual(500);
    } finally {
      server.chatHandler = undefined;
    }
  });
});
