import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

// The layering rules and the storage seam, checked over the source text: ARCHITECTURE.md's
// "may import" column is the rule, so the document and the code cannot drift apart.

const root = resolve(import.meta.dirname, '../..');
const src = join(root, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return /\.(ts|mts|mjs|js)$/.test(name) ? [p] : [];
  });
}

const folderOf = (file: string) => relative(src, file).split(sep)[0]!;

/** folder → folders it may import, from the Layout table. */
function readLayerTable(markdown: string, all: readonly string[]): Map<string, Set<string>> {
  const table = new Map<string, Set<string>>();
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 5) continue;
    const folders = [...cells[1]!.matchAll(/`src\/([a-z-]+)\/`/g)].map((m) => m[1]!);
    if (!folders.length) continue;
    const cell = cells[3]!;
    const allowed = cell === 'everything' ? all : cell === 'nothing' || cell === '' ? [] : cell.split(',').map((s) => s.trim());
    for (const f of folders) table.set(f, new Set(allowed));
  }
  return table;
}

/** Relative imports (static, dynamic, type-only and re-exports) of one file, resolved. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) out.push(resolve(dirname(file), m[1]!));
  return out;
}

const all = readdirSync(src).filter((n) => statSync(join(src, n)).isDirectory());
const table = readLayerTable(readFileSync(join(root, 'ARCHITECTURE.md'), 'utf8'), all);

describe('layers (ARCHITECTURE.md "may import")', () => {
  it('lists every folder under src/, and only folders that exist', () => {
    expect([...table.keys()].sort()).toEqual([...all].sort());
    for (const [folder, allowed] of table) for (const a of allowed) expect(all, `${folder} may import unknown folder ${a}`).toContain(a);
  });

  it('has no import that the table does not allow', () => {
    const violations: string[] = [];
    for (const file of files(src)) {
      const from = folderOf(file);
      for (const target of importsOf(file)) {
        if (!target.startsWith(src + sep)) continue;
        const to = folderOf(target);
        if (to !== from && !table.get(from)?.has(to)) violations.push(`${relative(root, file)} → src/${to}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the checker sees a violation when there is one', () => {
    const t = readLayerTable('| `src/a/` | x | core |\n| `src/core/` | y | nothing |', ['a', 'core']);
    expect(t.get('a')?.has('core')).toBe(true);
    expect(t.get('core')?.size).toBe(0);
  });
});

describe('the storage seam', () => {
  // SQL and driver calls live in src/db only; everything else calls store methods.
  const patterns: [string, RegExp][] = [
    ['prepare(', /\.prepare\(/],
    ['exec(', /\.exec\(\s*[`'"]/],
    ['sql`', /\bsql`/],
    ['db.stmt(', /\.stmt\(/],
    ['raw driver (.sqlite.)', /\.sqlite\b/],
    ['drizzle query (.orm.)', /\.orm\b/],
    ['drizzle-orm import', /from\s+['"]drizzle-orm/],
    ['better-sqlite3 import', /from\s+['"]better-sqlite3['"]/],
    ['pg import', /from\s+['"]pg['"]/],
    ['.pragma(', /\.pragma\(/],
  ];

  it('no SQL or driver call outside src/db', () => {
    const found: string[] = [];
    for (const file of files(src)) {
      if (folderOf(file) === 'db') continue;
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const [name, re] of patterns) if (re.test(line)) found.push(`${relative(root, file)}:${i + 1} ${name}: ${line.trim().slice(0, 100)}`);
      });
    }
    expect(found).toEqual([]);
  });

  it('settings are read through the config schema only (src/core/config.ts)', () => {
    // providers/index.ts reads langchain's own tracing variables to refuse them: not our settings.
    const allowed = new Set(['src/core/config.ts', 'src/providers/index.ts']);
    const found = files(src)
      .filter((f) => !allowed.has(relative(root, f)))
      .filter((f) => /process\.env\b/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(found).toEqual([]);
  });

  it('the grep catches each pattern', () => {
    const samples = ["db.prepare('SELECT 1')", "x.exec('BEGIN')", 'sql`SELECT`', "db.stmt('x')", 'db.sqlite.open', 'db.orm.select()', "import { eq } from 'drizzle-orm';"];
    for (const s of samples)
      expect(
        patterns.some(([, re]) => re.test(s)),
        s,
      ).toBe(true);
    expect(patterns.some(([, re]) => re.test('const m = /x/.exec(text);'))).toBe(false);
  });
});
