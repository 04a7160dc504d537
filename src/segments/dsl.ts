/**
 * The filter DSL as the segment-compiling LLM is told it. The DSL itself (validation, the size cap,
 * the SQL compiler) is src/db/filters.ts: similar users and segments both use it.
 */
/** JSON Schema-ish description of the DSL for the LLM prompt and docs. */
export const FILTER_GRAMMAR = `A filter is one JSON object with exactly one of these keys:
  {"trait": {"key": K, "value"?: V, "minConfidence"?: 0..1, "kind"?: "semantic"|"declared"|"computed"|"predicted"}}
  {"predicted": {"key": K, "value"?: V, "min"?: 0..1, "max"?: 0..1}}     (probability range of a model prediction)
  {"feature": {"key": K, "gt"|"gte"|"lt"|"lte"|"eq": number}}            (computed behavioural traits)
  {"attribute": {"key": A, "eq": V} | {"key": A, "in": [V, ...]} | {"key": A, "exists": true|false}}
  {"fact": {"text"?: W, "topic"?: K, "minConfidence"?: 0..1}}          (free-form facts the user stated: every word of W, as a word or its start)
  {"and": [filter, ...]}, {"or": [filter, ...]}, {"not": filter}
K: a snake_case trait key. A: a declared attribute name. V: a string, number or boolean. W: up to 8 words.`;
