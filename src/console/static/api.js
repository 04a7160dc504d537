// The console's only data path: the JSON API, with the key from sessionStorage as a Bearer token.
// Plain JS modules with JSDoc types, so the browser runs them as they are (no build step).

const KEY_STORAGE = 'traitlens.apiKey';

export function getKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

/** @param {string | null} key */
export function setKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
  window.dispatchEvent(new Event('traitlens-key'));
}

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {unknown} details
   */
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The server has no such route (an older server, or a feature not shipped yet). */
  get routeMissing() {
    return this.status === 404 && this.message.startsWith('no route for');
  }
}

/**
 * Calls the API. A 401 forgets the key (the app shows the key form again).
 * @param {string} method
 * @param {string} path
 * @param {unknown} [json]
 * @param {{ key?: string }} [opts] a key to try instead of the stored one (the key form checks it before keeping it)
 * @returns {Promise<any>} the parsed JSON body
 */
export async function api(method, path, json, opts = {}) {
  const key = opts.key ?? getKey();
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  /** @type {RequestInit} */
  const init = { method, headers, cache: 'no-store' };
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(json);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'network_error', `the server did not answer (${String(err)})`, null);
  }
  const text = await res.text();
  /** @type {any} */
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const e = body?.error ? body.error : { code: `http_${res.status}`, message: text.slice(0, 200) || res.statusText, details: null };
    if (res.status === 401 && !opts.key) setKey(null);
    throw new ApiError(res.status, e.code, e.message, e.details);
  }
  return body;
}

/** @param {string} id */
export const u = (id) => encodeURIComponent(id);

/**
 * Finds a user's events by id. Evidence names events by id and the API has no single-event
 * route, so this pages the user's timeline (newest first) as far as needed, remembering what it saw.
 * @param {string} userId
 */
export function eventLookup(userId) {
  /** @type {Map<number, any>} */
  const seen = new Map();
  /** @type {string | null | undefined} undefined: not started; null: no more pages */
  let cursor;
  /** @type {Promise<void> | null} */
  let loading = null;
  const nextPage = async () => {
    const q = new URLSearchParams({ limit: '500' });
    if (cursor) q.set('cursor', cursor);
    const page = await api('GET', `/v1/users/${u(userId)}/events?${q}`);
    for (const e of page.events) seen.set(e.id, e);
    cursor = page.nextCursor;
  };
  /** @param {number} id */
  return async function get(id) {
    while (!seen.has(id) && cursor !== null) {
      // One page at a time, shared by concurrent lookups.
      loading ??= nextPage().finally(() => (loading = null));
      await loading;
    }
    return seen.get(id) ?? null;
  };
}
