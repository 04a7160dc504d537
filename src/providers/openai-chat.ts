import { AsyncLocalStorage } from 'node:async_hooks';
import { ChatOpenAI } from '@langchain/openai';
import { HumanMessage, SystemMessage, type AIMessage } from '@langchain/core/messages';
import { z } from 'zod';
import type { Config } from '../core/config.ts';
import { formatPath } from '../core/errors.ts';
import { resilienceFromConfig, ResilientCaller, type ResilienceOptions } from './caller.ts';
import { classifyProviderError, ProviderBadResponseError, type ValidationIssue } from './errors.ts';
import { TokenRateLimiter } from './limiter.ts';
import type { ChatModel, StructuredRequest, StructuredResult, TokenUsage } from './types.ts';

export type StructuredMethod = 'jsonSchema' | 'functionCalling';

export interface OpenAIChatOptions extends Omit<ResilienceOptions, 'name'> {
  /** Unset = api.openai.com. */
  baseURL?: string;
  /** A local server needs none; a placeholder is sent so the SDK does not refuse to start. */
  apiKey?: string;
  model: string;
  timeoutMs: number;
  method: StructuredMethod;
  /** 0 = unlimited. */
  tokensPerMinute: number;
  /** Unset leaves the server default (some reasoning models reject anything else). */
  temperature?: number;
}

export function chatOptionsFromConfig(config: Config): OpenAIChatOptions {
  return {
    ...(config.OPENAI_BASE_URL ? { baseURL: config.OPENAI_BASE_URL } : {}),
    ...(config.OPENAI_API_KEY ? { apiKey: config.OPENAI_API_KEY } : {}),
    model: config.OPENAI_CHAT_MODEL,
    timeoutMs: config.OPENAI_TIMEOUT_MS,
    method: config.OPENAI_STRUCTURED_METHOD,
    tokensPerMinute: config.OPENAI_TPM,
    ...resilienceFromConfig(config),
  };
}

/** What withStructuredOutput(..., { includeRaw: true }) yields. */
interface RawAndParsed {
  raw: AIMessage;
  parsed: unknown;
}

/** What the HTTP layer saw for one attempt: usage and content survive even when the SDK throws while parsing. */
interface WireCapture {
  usage?: TokenUsage;
  content?: string;
}

type Check<T> = { ok: true; data: T } | { ok: false; issues: ValidationIssue[]; rawText: string };

const PROVIDER = 'openai-chat';

/**
 * Structured extraction through langchain's ChatOpenAI against any OpenAI-compatible endpoint.
 *
 * The zod schema is handed to langchain as plain JSON Schema on purpose: given a zod schema, the
 * json_schema path makes the openai SDK parse and validate inside the HTTP call, so a malformed answer
 * throws there and the raw message (and its token usage) is lost. With JSON Schema the request is
 * the same, and we validate the raw answer ourselves with zod, which also gives the exact error to
 * feed back to the model on the one re-ask.
 */
export class OpenAIChatModel implements ChatModel {
  readonly id: string;
  readonly caller: ResilientCaller;
  readonly tpm: TokenRateLimiter;
  private readonly llm: ChatOpenAI;
  /** Per schema object: its JSON Schema and the structured runnable built from it. */
  private readonly runnables = new WeakMap<
    z.ZodType,
    Map<string, { jsonSchema: Record<string, unknown>; run: (msgs: [SystemMessage, HumanMessage], signal?: AbortSignal) => Promise<RawAndParsed> }>
  >();

  private readonly wire = new AsyncLocalStorage<WireCapture>();

  /**
   * In json_schema mode the SDK JSON.parses the content inside the HTTP call, so malformed model output
   * throws a bare SyntaxError and the response (with its usage) is dropped. This fetch keeps a copy of
   * usage and content for the current attempt so the re-ask and the token accounting still work.
   */
  private readonly capturingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const res = await fetch(input, init);
    const cap = this.wire.getStore();
    if (cap && res.ok) {
      try {
        const body = (await res.clone().json()) as { usage?: { prompt_tokens?: number; completion_tokens?: number }; choices?: Array<{ message?: { content?: unknown } }> };
        if (body.usage) cap.usage = { promptTokens: body.usage.prompt_tokens ?? 0, completionTokens: body.usage.completion_tokens ?? 0 };
        const content = body.choices?.[0]?.message?.content;
        if (typeof content === 'string') cap.content = content;
      } catch {
        // Not JSON: the SDK will fail on it too and we classify that error.
      }
    }
    return res;
  };

  constructor(private readonly opts: OpenAIChatOptions) {
    this.id = `openai:${opts.model}`;
    this.caller = new ResilientCaller({ ...opts, name: PROVIDER });
    this.tpm = new TokenRateLimiter(opts.tokensPerMinute);
    this.llm = new ChatOpenAI({
      model: opts.model,
      apiKey: opts.apiKey ?? 'not-needed',
      ...(opts.temperature === undefined ? {} : { temperature: opts.temperature }),
      timeout: opts.timeoutMs,
      // Retries are ours (retry.ts): langchain's AsyncCaller would otherwise retry 6 times on its own.
      maxRetries: 0,
      useResponsesApi: false,
      streaming: false,
      configuration: { ...(opts.baseURL ? { baseURL: opts.baseURL } : {}), maxRetries: 0, fetch: this.capturingFetch },
    });
  }

  private structured(schema: z.ZodType, name: string) {
    let byName = this.runnables.get(schema);
    if (!byName) this.runnables.set(schema, (byName = new Map()));
    const key = `${this.opts.method}:${name}`;
    let entry = byName.get(key);
    if (!entry) {
      const jsonSchema = toModelJsonSchema(schema);
      const runnable = this.llm.withStructuredOutput(jsonSchema, { name, method: this.opts.method, includeRaw: true });
      entry = {
        jsonSchema,
        run: async (msgs, signal) => (await runnable.invoke(msgs, signal ? { signal } : {})) as RawAndParsed,
      };
      byName.set(key, entry);
    }
    return entry;
  }

  async extractStructured<S extends z.ZodType>(req: StructuredRequest<S>): Promise<StructuredResult<z.output<S>>> {
    const { jsonSchema, run } = this.structured(req.schema, req.schemaName);
    const usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
    const schemaChars = JSON.stringify(jsonSchema).length;
    let user = req.user;
    let last: { issues: ValidationIssue[]; rawText: string } | undefined;

    // Round 0 is the question; round 1 re-asks once with the validation error appended.
    for (let round = 0; round < 2; round++) {
      const messages: [SystemMessage, HumanMessage] = [new SystemMessage(req.system), new HumanMessage(user)];
      // ~4 characters per token, plus room for the answer; settled with the real count afterwards.
      const estimate = Math.ceil((req.system.length + user.length + schemaChars) / 4) + 256;
      const cap: WireCapture = {};
      let out: RawAndParsed | undefined;
      try {
        out = await this.caller.call(
          () =>
            this.wire.run(cap, async () => {
              delete cap.usage;
              delete cap.content;
              const reserved = await this.tpm.reserve(estimate);
              try {
                const res = await run(messages, req.signal);
                const u = usageOf(res.raw);
                this.tpm.settle(reserved, u.promptTokens + u.completionTokens || reserved);
                return res;
              } catch (err) {
                this.tpm.settle(reserved, capturedTokens(cap));
                throw classifyProviderError(err, PROVIDER);
              }
            }),
          req.signal,
        );
      } catch (err) {
        // A 200 whose content the SDK could not parse is malformed model output: re-ask like any other.
        if (!(err instanceof ProviderBadResponseError)) throw err;
        usage.promptTokens += cap.usage?.promptTokens ?? 0;
        usage.completionTokens += cap.usage?.completionTokens ?? 0;
        const cause = err.cause instanceof Error ? err.cause.message : err.message;
        last = { rawText: cap.content ?? '', issues: [{ path: '', message: `not valid JSON: ${cause}` }] };
        user = `${req.user}\n\n${feedback(last.issues)}`;
        continue;
      }

      const u = usageOf(out.raw);
      usage.promptTokens += u.promptTokens;
      usage.completionTokens += u.completionTokens;
      const check = validate(out.raw, req.schema, this.opts.method);
      if (check.ok) {
        const model = out.raw.response_metadata?.['model_name'];
        return { data: check.data as z.output<S>, usage, model: typeof model === 'string' && model ? model : this.opts.model };
      }
      last = check;
      user = `${req.user}\n\n${feedback(check.issues)}`;
    }
    const issues = last?.issues ?? [];
    throw new ProviderBadResponseError(`${PROVIDER}: the model's answer did not match schema "${req.schemaName}" after one re-ask: ${summarize(issues)}`, {
      issues,
      usage,
      ...(last ? { rawOutput: last.rawText } : {}),
    });
  }
}

/** JSON Schema for the model: zod's output, without the `$schema` key some servers reject in tool parameters. */
export function toModelJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

function capturedTokens(cap: WireCapture): number {
  return cap.usage ? cap.usage.promptTokens + cap.usage.completionTokens : 0;
}

function usageOf(msg: AIMessage): TokenUsage {
  const u = msg.usage_metadata;
  return { promptTokens: u?.input_tokens ?? 0, completionTokens: u?.output_tokens ?? 0 };
}

function textOf(msg: AIMessage): string {
  if (typeof msg.content === 'string') return msg.content;
  return msg.content.map((b) => (b.type === 'text' && typeof b['text'] === 'string' ? b['text'] : '')).join('');
}

/** Models served locally often wrap JSON in a markdown fence even when asked not to. */
function stripFence(text: string): string {
  const m = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/i.exec(text);
  return m ? m[1]! : text;
}

function validate(raw: AIMessage, schema: z.ZodType, method: StructuredMethod): Check<unknown> {
  let candidate: unknown;
  let rawText: string;
  const tool = method === 'functionCalling' ? raw.tool_calls?.[0] : undefined;
  const badTool = method === 'functionCalling' ? raw.invalid_tool_calls?.[0] : undefined;
  if (tool) {
    candidate = tool.args;
    rawText = JSON.stringify(tool.args);
  } else if (badTool) {
    return { ok: false, rawText: badTool.args ?? '', issues: [{ path: '', message: `tool call arguments are not valid JSON${badTool.error ? `: ${badTool.error}` : ''}` }] };
  } else {
    // jsonSchema, or a server that answered a tool request with plain content.
    rawText = textOf(raw);
    if (!rawText.trim()) {
      return { ok: false, rawText, issues: [{ path: '', message: method === 'functionCalling' ? 'no tool call and no content in the answer' : 'empty answer' }] };
    }
    try {
      candidate = JSON.parse(stripFence(rawText));
    } catch (err) {
      return { ok: false, rawText, issues: [{ path: '', message: `not valid JSON: ${(err as Error).message}` }] };
    }
  }
  const parsed = schema.safeParse(candidate);
  if (parsed.success) return { ok: true, data: parsed.data };
  return { ok: false, rawText, issues: parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) };
}

function summarize(issues: ValidationIssue[]): string {
  const s = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return s.length > 1000 ? `${s.slice(0, 1000)}…` : s;
}

function feedback(issues: ValidationIssue[]): string {
  return `Your previous answer was rejected: ${summarize(issues)}.\n` + 'Answer again with only a JSON object that matches the schema exactly.';
}
