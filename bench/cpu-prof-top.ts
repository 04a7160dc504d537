/**
 * Where a server's thread spends its busy time, from a V8 CPU profile (`bench/reads.ts --cpu-prof DIR`
 * writes one per thread; the serving thread's is the largest file):
 *   npx tsx bench/cpu-prof-top.ts DIR/CPU....cpuprofile [--top 40]
 * Each busy sample is charged to the innermost frame in `src/` (so a SQLite statement counts where our
 * code ran it), to module loading when start-up is on the stack, else to its own frame (GC, socket
 * writes, node internals). Idle samples are left out; shares are of the busy time.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Frame {
  functionName: string;
  url: string;
}
interface Node {
  id: number;
  callFrame: Frame;
  children?: number[];
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '40' } }, allowPositionals: true });
const file = positionals[0];
if (!file) throw new Error('usage: npx tsx bench/cpu-prof-top.ts PROFILE.cpuprofile [--top N]');
const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const buckets = new Map<string, number>();
let busy = 0;
p.samples.forEach((id, i) => {
  const t = p.timeDeltas[i] ?? 0;
  const leaf = byId.get(id);
  if (!leaf || leaf.callFrame.functionName === '(idle)') return;
  busy += t;
  const chain: Frame[] = [];
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) chain.push((byId.get(cur) as Node).callFrame);
  const ours = chain.find((f) => f.url.includes('/src/'));
  const key = chain.some((f) => f.url.includes('esm/') || f.url.includes('cjs/loader'))
    ? 'start-up: module loading'
    : ours
      ? `${ours.url.split('/src/')[1]} ${ours.functionName || '(anonymous)'}`
      : `${leaf.callFrame.functionName || '(anonymous)'} ${leaf.callFrame.url.split('/').slice(-2).join('/')}`;
  buckets.set(key, (buckets.get(key) ?? 0) + t);
});
console.log(`busy ${(busy / 1000).toFixed(0)} ms`);
for (const [k, t] of [...buckets].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`${((100 * t) / busy).toFixed(1).padStart(5)} %  ${k}`);
