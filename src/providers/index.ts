import type { Config } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';
import { OfflineEmbedder } from './offline-embedder.ts';
import { chatOptionsFromConfig, OpenAIChatModel } from './openai-chat.ts';
import { embedderOptionsFromConfig, OpenAIEmbedder } from './openai-embedder.ts';
import type { ChatModel, Embedder } from './types.ts';

export type { ChatModel, Embedder, StructuredRequest, StructuredResult, TokenUsage } from './types.ts';
export * from './errors.ts';
export { OpenAIChatModel } from './openai-chat.ts';
export { OpenAIEmbedder } from './openai-embedder.ts';
export { OfflineEmbedder } from './offline-embedder.ts';
export { LlmBudgetExhaustedError, llmBudgetStatus, type LlmBudgetStatus } from './budget.ts';
export { wrapProviders, type UsageLedger, type UsageRecord } from './usage.ts';

export interface Providers {
  /** null: no endpoint configured; the offline trait extractor runs alone. */
  chat: ChatModel | null;
  embedder: Embedder;
}

/** True when the operator pointed us at an OpenAI-compatible endpoint (a local one needs no key). */
export const llmConfigured = (config: Config): boolean => Boolean(config.OPENAI_BASE_URL || config.OPENAI_API_KEY);

/**
 * Chat only when an endpoint is configured. Embeddings: TRAITLENS_EMBEDDER=auto uses the endpoint's
 * OPENAI_EMBEDDING_MODEL when one is configured, else the offline SIF embedder; `offline` forces
 * offline (e.g. a chat-only local server), `openai` requires the endpoint.
 */
export function createProviders(config: Config, env: Record<string, string | undefined> = process.env): Providers {
  // langchain would send every prompt (user text) to a tracing service when these are set.
  for (const v of ['LANGSMITH_TRACING', 'LANGCHAIN_TRACING_V2', 'LANGCHAIN_TRACING']) {
    if (/^(true|1)$/i.test(env[v] ?? '')) throw new ConfigError(`${v} is set: langchain tracing would send user text to a third party; unset it`);
  }
  const remote = llmConfigured(config);
  if (config.TRAITLENS_EMBEDDER === 'openai' && !remote) {
    throw new ConfigError('TRAITLENS_EMBEDDER=openai needs OPENAI_BASE_URL or OPENAI_API_KEY');
  }
  const chat = remote ? new OpenAIChatModel(chatOptionsFromConfig(config)) : null;
  const useRemoteEmbeddings = config.TRAITLENS_EMBEDDER === 'openai' || (config.TRAITLENS_EMBEDDER === 'auto' && remote);
  const embedder: Embedder = useRemoteEmbeddings
    ? new OpenAIEmbedder(embedderOptionsFromConfig(config))
    : new OfflineEmbedder({ cacheDir: config.TRAITLENS_CACHE_DIR, removePrincipalComponent: config.TRAITLENS_OFFLINE_REMOVE_PC });
  return { chat, embedder };
}
