import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// bench/fact-handcheck.ts draws the hand-check sample from one split of a --pairs-out file:
// "index" is the speaker's line in speakers-dev.jsonl (tune < --split-at 600 ≤ held out).
const dir = mkdtempSync(join(tmpdir(), 'fact-handcheck-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pair = (index: number, match: boolean, n: number) => ({
  speaker: `${Math.floor(index / 2)}-${index % 2 ? 'partner' : 'self'}`,
  index,
  key: 'fact',
  value: `statement ${index} ${n}`,
  fact: `line ${index} ${n}`,
  match,
  reason: match ? 'shares 1/1 stems' : 'shares 1/3 stems (line 2)',
  quotes: [],
});
const rows = [0, 1, 2, 3, 599, 600, 601, 602, 603, 1199].flatMap((i) => [pair(i, true, 1), pair(i, false, 2), { ...pair(i, true, 3), key: 'pet' }]);
const pairsFile = join(dir, 'pairs.jsonl');
writeFileSync(pairsFile, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
const tuneOnly = join(dir, 'tune-only.jsonl');
writeFileSync(
  tuneOnly,
  `${rows
    .filter((r) => r.index < 600)
    .map((r) => JSON.stringify(r))
    .join('\n')}\n`,
);

const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'bench/fact-handcheck.ts', ...args], { encoding: 'utf8' });
const drawn = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { id: string; statement: string; rule: boolean; human: null });

describe('bench/fact-handcheck --split', () => {
  it('draws only held-out fact pairs (index ≥ 600) with --split held-out, only tune pairs by default', () => {
    const out = join(dir, 'held.jsonl');
    const r = run('--pairs', pairsFile, '--split', 'held-out', '--seed', '7', '--per', '10', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('held-out split, index ≥ 600');
    const held = drawn(out);
    // 5 held-out speakers (600–603, 1199), one match and one near miss each: all drawn, no tune pair
    expect(held).toHaveLength(10);
    const indexOf = (s: string) => Number(s.split(' ')[1]);
    expect(held.every((p) => indexOf(p.statement) >= 600)).toBe(true);
    expect(held.filter((p) => p.rule)).toHaveLength(5);
    expect(held.every((p) => p.human === null)).toBe(true);

    const tuneOut = join(dir, 'tune.jsonl');
    const t = run('--pairs', pairsFile, '--seed', '7', '--per', '10', '--out', tuneOut);
    expect(t.status, t.stderr).toBe(0);
    const tune = drawn(tuneOut);
    expect(tune).toHaveLength(10);
    expect(tune.every((p) => indexOf(p.statement) < 600)).toBe(true);
  });

  it('is seeded: the same seed draws the same held-out pairs', () => {
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    expect(run('--pairs', pairsFile, '--split', 'held-out', '--seed', '2032', '--per', '3', '--out', a).status).toBe(0);
    expect(run('--pairs', pairsFile, '--split', 'held-out', '--seed', '2032', '--per', '3', '--out', b).status).toBe(0);
    expect(readFileSync(a, 'utf8')).toBe(readFileSync(b, 'utf8'));
    expect(drawn(a)).toHaveLength(6);
  });

  it('refuses an unknown split, and a held-out draw from a tune-only (--limit 600) pairs file', () => {
    const bad = run('--pairs', pairsFile, '--split', 'test', '--out', join(dir, 'x.jsonl'));
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('--split is tune or held-out');
    const empty = run('--pairs', tuneOnly, '--split', 'held-out', '--out', join(dir, 'y.jsonl'));
    expect(empty.status).not.toBe(0);
    expect(empty.stderr).toContain('no fact pairs of the held-out split');
  });
});

describe('bench/fact-handcheck --blind and --join', () => {
  it('writes a shuffled blind file with neutral ids and nothing of the rule, and the same draw as without --blind', () => {
    const key = join(dir, 'key.jsonl');
    const blind = join(dir, 'blind.jsonl');
    const plain = join(dir, 'plain.jsonl');
    const r = run('--pairs', pairsFile, '--split', 'held-out', '--seed', '2034', '--per', '5', '--out', key, '--blind', blind);
    expect(r.status, r.stderr).toBe(0);
    expect(run('--pairs', pairsFile, '--split', 'held-out', '--seed', '2034', '--per', '5', '--out', plain).status).toBe(0);
    const keyRows = readFileSync(key, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id: string; statement: string; line: string; rule: boolean; blind_id: string });
    // the key is the plain draw, each row with its blind id
    expect(keyRows.map(({ blind_id: _b, ...k }) => k)).toEqual(drawn(plain));
    const rows = readFileSync(blind, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(10);
    for (const row of rows) expect(Object.keys(row).sort()).toEqual(['blind_id', 'line', 'quotes', 'statement']);
    expect(rows.map((x) => x.blind_id)).toEqual(Array.from({ length: 10 }, (_, i) => `P${String(i + 1).padStart(2, '0')}`));
    // every key row is in the blind file under its id, and the blind order is not the key's (matches first)
    for (const k of keyRows) expect(rows.find((x) => x.blind_id === k.blind_id)).toMatchObject({ statement: k.statement, line: k.line });
    expect(rows.map((x) => x.statement)).not.toEqual(keyRows.map((k) => k.statement));
  });

  it('joins verdicts to the key by blind id and refuses a missing, extra or twice-judged pair', () => {
    const key = join(dir, 'key2.jsonl');
    const blind = join(dir, 'blind2.jsonl');
    expect(run('--pairs', pairsFile, '--split', 'held-out', '--seed', '5', '--per', '2', '--out', key, '--blind', blind).status).toBe(0);
    const ids = readFileSync(blind, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { blind_id: string }).blind_id);
    const verdicts = join(dir, 'verdicts.jsonl');
    writeFileSync(verdicts, `${ids.map((id, i) => JSON.stringify({ blind_id: id, human: i % 2 === 0, note: `n${i}` })).join('\n')}\n`);
    const fixture = join(dir, 'fixture.jsonl');
    const j = run('--join', verdicts, '--key', key, '--out', fixture);
    expect(j.status, j.stderr).toBe(0);
    const joined = drawn(fixture) as unknown as { blind_id: string; human: boolean; note: string }[];
    expect(joined).toHaveLength(ids.length);
    for (const row of joined) expect(row.human).toBe(ids.indexOf(row.blind_id) % 2 === 0);
    const scored = run('--judged', fixture);
    expect(scored.status, scored.stderr).toBe(0);
    expect(scored.stdout).toContain('| **all** | 4 |');

    writeFileSync(
      verdicts,
      `${ids
        .slice(1)
        .map((id) => JSON.stringify({ blind_id: id, human: true }))
        .join('\n')}\n`,
    );
    const missing = run('--join', verdicts, '--key', key, '--out', fixture);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain(`not judged ${ids[0]}`);
    writeFileSync(verdicts, `${[...ids, ids[0]].map((id) => JSON.stringify({ blind_id: id, human: true })).join('\n')}\n`);
    expect(run('--join', verdicts, '--key', key, '--out', fixture).stderr).toContain('judged twice');
    writeFileSync(verdicts, `${[...ids, 'P99'].map((id) => JSON.stringify({ blind_id: id, human: true })).join('\n')}\n`);
    expect(run('--join', verdicts, '--key', key, '--out', fixture).stderr).toContain('not in the key P99');
  });
});
