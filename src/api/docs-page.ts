/**
 * The /docs page: one self-contained HTML file (no CDN, no external assets) that fetches
 * /openapi.json and renders each route with its parameters, body and responses as field tables.
 */
export const DOCS_HTML = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Traitlens API</title>
<style>
  :root { --fg:#1d232a; --muted:#5b6670; --line:#dde3e8; --bg:#f7f9fa; --get:#1769aa; --post:#2e7d32; --put:#a15c00; --delete:#b3261e; }
  * { box-sizing: border-box; }
  body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif; color:var(--fg); background:#fff; }
  header { padding:24px 32px; border-bottom:1px solid var(--line); background:var(--bg); }
  header h1 { margin:0 0 4px; font-size:24px; }
  main { max-width:1100px; margin:0 auto; padding:16px 32px 64px; }
  nav { margin:12px 0 24px; display:flex; flex-wrap:wrap; gap:6px 14px; font-size:14px; }
  nav a { color:var(--fg); text-decoration:none; border-bottom:1px dotted var(--muted); }
  section.op { border:1px solid var(--line); border-radius:8px; margin:18px 0; overflow:hidden; }
  section.op > h2 { margin:0; padding:10px 14px; font-size:16px; background:var(--bg); display:flex; gap:10px; align-items:center; flex-wrap:wrap; }
  .m { font:700 12px/1 ui-monospace,monospace; color:#fff; padding:5px 8px; border-radius:4px; text-transform:uppercase; }
  .m.get{background:var(--get)} .m.post{background:var(--post)} .m.put{background:var(--put)} .m.delete{background:var(--delete)} .m.patch{background:var(--put)}
  code, .path { font-family:ui-monospace,SFMono-Regular,Menlo,monospace; }
  .path { font-weight:600; }
  .scope { font-size:12px; padding:2px 8px; border-radius:10px; background:#eef2ff; color:#3730a3; }
  .scope.public { background:#ecfdf5; color:#065f46; }
  .body { padding:6px 14px 14px; }
  h3 { font-size:13px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); margin:16px 0 6px; }
  table { border-collapse:collapse; width:100%; font-size:14px; }
  th, td { text-align:left; vertical-align:top; padding:5px 8px; border-top:1px solid var(--line); }
  th { font-weight:600; color:var(--muted); font-size:12px; }
  td.name { white-space:nowrap; font-family:ui-monospace,monospace; }
  .req { color:#b3261e; font-size:11px; margin-left:4px; }
  .type { font-family:ui-monospace,monospace; color:#6b21a8; }
  .c { color:var(--muted); font-size:13px; }
  .status { font-family:ui-monospace,monospace; font-weight:700; }
  details { margin:4px 0; } summary { cursor:pointer; color:var(--muted); font-size:13px; }
  pre { background:var(--bg); border:1px solid var(--line); padding:8px; overflow:auto; font-size:12px; }
  #err { color:#b3261e; }
</style>
</head>
<body>
<header><h1 id="title">Traitlens API</h1><div id="desc" class="c">Loading /openapi.json…</div></header>
<main><nav id="nav"></nav><div id="ops"></div><p id="err"></p></main>
<script>
(() => {
  'use strict';
  // Built with DOM nodes and textContent only: schema text is never interpreted as HTML.
  const el = (tag, attrs, ...kids) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) n.setAttribute(k, v);
    for (const k of kids) if (k !== undefined && k !== null && k !== false) n.append(k instanceof Node ? k : String(k));
    return n;
  };
  let doc;
  const deref = (s) => {
    let guard = 0;
    while (s && s.$ref && guard++ < 20) {
      const parts = s.$ref.replace(/^#\\//, '').split('/');
      s = parts.reduce((o, p) => (o ? o[p] : undefined), doc);
    }
    return s || {};
  };
  const typeOf = (s) => {
    s = deref(s);
    if (s.anyOf || s.oneOf) return (s.anyOf || s.oneOf).map(typeOf).join(' | ');
    if (s.const !== undefined) return JSON.stringify(s.const);
    if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
    if (s.type === 'array') return typeOf(s.items || {}) + '[]';
    if (s.type === 'object' && !s.properties && s.additionalProperties !== undefined) {
      const v = s.additionalProperties;
      return 'object<string, ' + (v && Object.keys(v).length ? typeOf(v) : 'any JSON') + '>';
    }
    if (Array.isArray(s.type)) return s.type.join(' | ');
    return s.type || 'any JSON';
  };
  const constraints = (s) => {
    s = deref(s);
    const out = [];
    if (s.minLength !== undefined) out.push('min length ' + s.minLength);
    if (s.maxLength !== undefined) out.push('max length ' + s.maxLength);
    if (s.minimum !== undefined && s.minimum > -9007199254740991) out.push('≥ ' + s.minimum);
    if (s.maximum !== undefined && s.maximum < 9007199254740991) out.push('≤ ' + s.maximum);
    if (s.minItems !== undefined) out.push('min items ' + s.minItems);
    if (s.maxItems !== undefined) out.push('max items ' + s.maxItems);
    if (s.pattern) out.push('pattern ' + s.pattern);
    if (s.format) out.push('format ' + s.format);
    if (s.default !== undefined) out.push('default ' + JSON.stringify(s.default));
    if (s.additionalProperties === false) out.push('no other fields');
    return out.join(', ');
  };
  const hasFields = (s, depth) => {
    s = deref(s);
    if (depth > 6) return false;
    if (s.properties) return true;
    const v = s.anyOf || s.oneOf;
    if (v) return v.some((x) => hasFields(x, depth + 1));
    return s.type === 'array' && s.items ? hasFields(s.items, depth + 1) : false;
  };
  // Rows for an object's fields, recursing into nested objects, arrays of objects and unions of objects.
  const rows = (s, prefix, tbody, depth) => {
    s = deref(s);
    if (depth > 6) return;
    const variants = s.anyOf || s.oneOf;
    if (variants && hasFields(s, 0)) {
      variants.forEach((v, i) => {
        tbody.append(el('tr', {}, el('td', { colspan: 3, class: 'c' }, (prefix || 'body') + ' — variant ' + (i + 1) + ': ' + typeOf(v))));
        rows(v, prefix, tbody, depth + 1);
      });
      return;
    }
    if (s.type === 'array' && s.items) return rows(s.items, prefix + '[]', tbody, depth + 1);
    const props = s.properties || {};
    const required = new Set(s.required || []);
    for (const [name, ps0] of Object.entries(props)) {
      const ps = deref(ps0);
      const full = prefix ? prefix + '.' + name : name;
      tbody.append(
        el('tr', {},
          el('td', { class: 'name' }, full, required.has(name) ? el('span', { class: 'req' }, 'required') : null),
          el('td', { class: 'type' }, typeOf(ps)),
          el('td', {}, ps.description || '', constraints(ps) ? el('div', { class: 'c' }, constraints(ps)) : null),
        ),
      );
      const inner = ps.type === 'array' ? deref(ps.items || {}) : ps;
      if (hasFields(inner, 0)) rows(inner, ps.type === 'array' ? full + '[]' : full, tbody, depth + 1);
    }
  };
  const schemaBlock = (s) => {
    const tbody = el('tbody');
    rows(s, '', tbody, 0);
    const wrap = el('div');
    const r = deref(s);
    if (r.description) wrap.append(el('div', { class: 'c' }, r.description));
    if (tbody.children.length) wrap.append(el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'field'), el('th', {}, 'type'), el('th', {}, 'notes'))), tbody));
    else wrap.append(el('div', { class: 'type' }, typeOf(s)));
    wrap.append(el('details', {}, el('summary', {}, 'JSON Schema'), el('pre', {}, JSON.stringify(s, null, 2))));
    return wrap;
  };
  const render = () => {
    document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
    document.getElementById('desc').textContent = (doc.info.description || '') + ' OpenAPI ' + doc.openapi + ' — raw document: /openapi.json';
    const nav = document.getElementById('nav');
    const ops = document.getElementById('ops');
    let i = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const id = 'op' + i++;
        nav.append(el('a', { href: '#' + id }, method.toUpperCase() + ' ' + path));
        const scope = op['x-required-scope'];
        const body = el('div', { class: 'body' });
        if (op.description) body.append(el('p', {}, op.description));
        if (op.parameters && op.parameters.length) {
          body.append(el('h3', {}, 'Parameters'));
          const tb = el('tbody');
          for (const p of op.parameters)
            tb.append(el('tr', {},
              el('td', { class: 'name' }, p.name, p.required ? el('span', { class: 'req' }, 'required') : null),
              el('td', {}, p.in), el('td', { class: 'type' }, typeOf(p.schema || {})),
              el('td', {}, p.description || '', constraints(p.schema || {}) ? el('div', { class: 'c' }, constraints(p.schema || {})) : null)));
          body.append(el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'name'), el('th', {}, 'in'), el('th', {}, 'type'), el('th', {}, 'notes'))), tb));
        }
        const rb = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
        if (rb) { body.append(el('h3', {}, 'Request body (application/json)')); body.append(schemaBlock(rb.schema)); }
        body.append(el('h3', {}, 'Responses'));
        for (const [status, resp] of Object.entries(op.responses || {})) {
          const content = resp.content ? Object.entries(resp.content)[0] : undefined;
          const d = el('div', {}, el('span', { class: 'status' }, status), ' ', resp.description || '');
          if (content && Number(status) < 400) d.append(el('div', { class: 'c' }, content[0]), schemaBlock(content[1].schema || {}));
          body.append(d);
        }
        ops.append(el('section', { class: 'op', id },
          el('h2', {}, el('span', { class: 'm ' + method }, method), el('span', { class: 'path' }, path),
            el('span', { class: 'scope' + (scope ? '' : ' public') }, scope ? 'scope: ' + scope : 'public'),
            el('span', { class: 'c' }, op.summary || '')),
          body));
      }
    }
    const err = doc.components && doc.components.schemas && doc.components.schemas.Error;
    if (err) ops.append(el('section', { class: 'op', id: 'errors' }, el('h2', {}, 'Errors (every non-2xx JSON response)'), el('div', { class: 'body' }, schemaBlock(err))));
  };
  fetch('openapi.json', { headers: { accept: 'application/json' } })
    .then((r) => { if (!r.ok) throw new Error('GET /openapi.json: HTTP ' + r.status); return r.json(); })
    .then((d) => { doc = d; render(); })
    .catch((e) => { document.getElementById('err').textContent = String(e && e.message || e); });
})();
</script>
</body>
</html>
`;
