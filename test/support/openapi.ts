import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// any: an OpenAPI document is walked generically
export type OpenApiDoc = any;

export interface DocumentedCheck {
  /** false when the status is not among the operation's documented responses */
  documented: boolean;
  /** the body's schema errors (empty when it validates or the response has no JSON schema) */
  errors: string[];
}

/**
 * Validates answers against the responses an OpenAPI 3.1 document declares (ajv, JSON Schema
 * draft 2020-12). `$ref`s to `#/components/schemas/*` resolve inside the document.
 */
export function openApiValidator(doc: OpenApiDoc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  // CommonJS default export under Node's ESM interop
  const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv2020) => Ajv2020;
  addFormats(ajv);
  const compiled = new Map<string, ValidateFunction>();

  /** The documented response of `method path` (OpenAPI path, e.g. /v1/users/{id}) for `status`. */
  function response(method: string, path: string, status: number): { content?: Record<string, { schema?: unknown }> } | undefined {
    return doc.paths?.[path]?.[method.toLowerCase()]?.responses?.[String(status)];
  }

  return {
    /** Is `status` documented, and does `body` (parsed JSON, or text for other media types) match its schema? */
    check(method: string, path: string, status: number, body: unknown, contentType = 'application/json'): DocumentedCheck {
      const resp = response(method, path, status);
      if (!resp) return { documented: false, errors: [] };
      const media = Object.entries(resp.content ?? {}).find(([t]) => contentType.startsWith(t));
      const schema = media?.[1].schema;
      if (!schema) return { documented: true, errors: resp.content ? [`no schema for ${contentType} (documented: ${Object.keys(resp.content).join(', ')})`] : [] };
      const id = `${method} ${path} ${status} ${media[0]}`;
      let validate = compiled.get(id);
      if (!validate) {
        // The document's components ride along so `#/components/schemas/X` resolves from this root.
        validate = ajv.compile({ ...(schema as object), components: doc.components });
        compiled.set(id, validate);
      }
      const ok = validate(body);
      return { documented: true, errors: ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`) };
    },
  };
}
