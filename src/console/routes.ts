/**
 * The web console: a static shell and ES modules served from this process at /console. The shell
 * holds no data, so these routes take no key; the page asks for an API key and every data call it
 * makes goes to the JSON API with `Authorization: Bearer`. Nothing is built: our modules are
 * plain JS under static/, and Preact and htm are served from node_modules (only the files the
 * browser imports) at versioned URLs so they can be cached for good.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';

/** What the console sets on the request context: the route pattern, for the host app's logs. */
interface ConsoleEnv {
  Variables: { route: string | undefined };
}

interface StaticFile {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
  cache: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.html': 'text/html; charset=utf-8',
};
const IMMUTABLE = 'public, max-age=31536000, immutable';
// Our own files change with a deploy at the same URL: revalidate every time (cheap 304s by ETag).
const REVALIDATE = 'no-cache';

const staticDir = join(dirname(fileURLToPath(import.meta.url)), 'static');

function file(body: Uint8Array | string, type: string, cache: string): StaticFile {
  // A copy that owns its ArrayBuffer: small Buffers from readFileSync can be views into a shared pool.
  const bytes = new Uint8Array(typeof body === 'string' ? new TextEncoder().encode(body) : body);
  return { body: bytes, type, cache, etag: `"${createHash('sha1').update(bytes).digest('base64url')}"` };
}

/** The vendor modules the browser imports, keyed by the bare specifier in the import map. */
function vendorFiles(): { files: Map<string, StaticFile>; imports: Record<string, string> } {
  const require = createRequire(import.meta.url);
  const files = new Map<string, StaticFile>();
  const imports: Record<string, string> = {};
  const pkgVersion = (pkgDir: string) => (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  const preactDir = dirname(dirname(require.resolve('preact')));
  const htmDir = dirname(dirname(require.resolve('htm')));
  // The `browser` builds: ES modules whose only imports are the bare specifiers mapped below.
  const wanted: { specifier: string; dir: string; version: string; rel: string; map?: boolean }[] = [
    { specifier: 'preact', dir: preactDir, version: pkgVersion(preactDir), rel: 'dist/preact.module.js', map: true },
    { specifier: 'preact/hooks', dir: preactDir, version: pkgVersion(preactDir), rel: 'hooks/dist/hooks.module.js', map: true },
    { specifier: 'htm', dir: htmDir, version: pkgVersion(htmDir), rel: 'dist/htm.module.js' },
  ];
  for (const w of wanted) {
    const url = `/console/vendor/${w.specifier.split('/')[0]}@${w.version}/${w.rel}`;
    imports[w.specifier] = url;
    files.set(url, file(readFileSync(join(w.dir, w.rel)), TYPES['.js']!, IMMUTABLE));
    if (w.map) files.set(`${url}.map`, file(readFileSync(join(w.dir, `${w.rel}.map`)), TYPES['.map']!, IMMUTABLE));
  }
  return { files, imports };
}

function shell(importMap: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Traitlens console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/console.css">
<script type="importmap">${importMap}</script>
<script type="module" src="/console/app.js"></script>
</head>
<body>
<div id="app"><p class="boot">Loading the Traitlens console… (it needs JavaScript)</p></div>
</body>
</html>
`;
}

export interface ConsoleAssets {
  files: Map<string, StaticFile>;
  csp: string;
}

/** Reads every console file once; the shell's inline import map is allowed by its hash alone. */
export function loadConsoleAssets(): ConsoleAssets {
  const { files, imports } = vendorFiles();
  for (const name of readdirSync(staticDir, { recursive: true, encoding: 'utf8' })) {
    const type = TYPES[extname(name)];
    if (!type || type.startsWith('text/html')) continue;
    files.set(`/console/${name.split('\\').join('/')}`, file(readFileSync(join(staticDir, name)), type, REVALIDATE));
  }
  const importMap = JSON.stringify({ imports });
  const mapHash = createHash('sha256').update(importMap).digest('base64');
  const html = file(shell(importMap), TYPES['.html']!, REVALIDATE);
  files.set('/console', html);
  files.set('/console/', html);
  const csp = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${mapHash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { files, csp };
}

/**
 * The console as a hono sub-app, served at /console by the API (`app.route('/', consoleApp())`):
 * GET (and HEAD) /console and /console/*, without auth: static files only, no data.
 */
export function consoleApp(assets: ConsoleAssets = loadConsoleAssets()): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  const serveFile = (c: Context<ConsoleEnv>) => {
    c.set('route', '/console/*');
    const path = new URL(c.req.url).pathname;
    const f = assets.files.get(path);
    c.header('Content-Security-Policy', assets.csp);
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Frame-Options', 'DENY');
    if (!f) return c.json({ error: { code: 'not_found', message: `no console file ${path}`, details: null } }, 404);
    c.header('Cache-Control', f.cache);
    c.header('ETag', f.etag);
    if (c.req.header('if-none-match') === f.etag) return c.body(null, 304);
    c.header('Content-Type', f.type);
    return c.body(f.body);
  };
  app.get('/console', serveFile);
  app.get('/console/*', serveFile);
  return app;
}
