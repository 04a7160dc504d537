import type { Logger } from 'pino';
import type { Scope } from '../core/types.ts';

/** The caller behind a verified API key. */
export interface AuthInfo {
  keyId: string;
  scopes: Scope[];
}

/** Per-request values middleware put on the hono context. */
export interface ApiVariables {
  requestId: string;
  logger: Logger;
  auth: AuthInfo | undefined;
  /** The parsed JSON body (set once by jsonBody). */
  body: unknown;
  /** The registered route pattern that handled the request, for logs. */
  route: string | undefined;
  /** External ids of the users whose data the answer carried (set by the registry from `returnsUsers`), for the audit rows. */
  auditUsers: string[] | undefined;
  /** User references the handler already resolved (reference → internal id, null = nobody), so the audit does not look them up again. */
  resolvedUsers: Map<string, number | null> | undefined;
  /**
   * The external ids a handler put in its answer's `returnsUsers.body` places, when it built the
   * answer from that list: the registry then does not clone and re-parse the body to find them.
   */
  returnedUsers: string[] | undefined;
}

export interface ApiEnv {
  Variables: ApiVariables;
}

/** Shared between the app and the server: readiness and in-flight accounting for graceful shutdown. */
export interface Lifecycle {
  shuttingDown: boolean;
  inFlight: number;
}

export function createLifecycle(): Lifecycle {
  return { shuttingDown: false, inFlight: 0 };
}
