/**
 * Writes a synthetic JSONL (or CSV) event file for the import benchmark:
 *   node --import tsx bench/gen-events.ts OUT.jsonl [COUNT=1000000]
 * A realistic mix: page views, product views, purchases, searches and chat messages across 50k
 * users (a fifth anonymous), most with a client eventId, all with timestamps (so a re-import is
 * fully deduplicated). Deterministic: the same COUNT gives the same file.
 *
 * The numbers come from mulberry32 (32-bit integer arithmetic). The generator used before was an
 * LCG computed in float64, whose products lost their low bits: a 1M-event file held 2,026 users,
 * not 50k. test/bench/gen-events.test.ts counts them.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { mulberry32 } from '../src/core/random.ts';

export const USERS = 50_000;
const rnd = mulberry32(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
const CATEGORIES = ['books', 'garden', 'kitchen', 'toys', 'outdoor', 'electronics', 'fashion'];
const QUERIES = ['waterproof hiking boots', 'cast iron pan', 'kids lego set', 'Gartenschere rostfrei', 'running shoes size 44', 'e-reader with backlight'];
const CHATS = ['Where is my order?', 'Can I return the tent?', 'Do you ship to Norway?', 'The pan arrived scratched.'];
const start = Date.parse('2026-01-01T00:00:00Z');

/** Event i of the sequence; call with i = 0, 1, 2, … in order (the generator is stateful). */
export function event(i: number): Record<string, unknown> {
  const u = Math.floor(rnd() * USERS);
  const who = u % 5 === 0 ? { anonymousId: `anon-${u}` } : { userId: `user-${u}` };
  const ts = new Date(start + i * 1000 + Math.floor(rnd() * 1000)).toISOString();
  const r = rnd();
  const base = { ...(i % 10 === 0 ? {} : { eventId: `evt-${i}` }), ...who, timestamp: ts, source: pick(['web', 'ios', 'android']) };
  if (r < 0.5) return { ...base, type: 'page_view', properties: { url: `/p/${Math.floor(rnd() * 5000)}`, dwellMs: Math.floor(rnd() * 60_000), referrer: 'google' } };
  if (r < 0.75)
    return { ...base, type: 'productView', properties: { productId: `sku-${Math.floor(rnd() * 20_000)}`, category: pick(CATEGORIES), price: String((rnd() * 200).toFixed(2)) } };
  if (r < 0.85) return { ...base, type: 'purchase', properties: { price: Math.round(rnd() * 50_000) / 100, category: pick(CATEGORIES), quantity: 1 + Math.floor(rnd() * 3) } };
  if (r < 0.95) return { ...base, type: 'search', text: pick(QUERIES), properties: { results: Math.floor(rnd() * 100) } };
  return { ...base, type: 'chat_message', text: pick(CHATS) };
}

const cell = (v: unknown) => {
  if (v === undefined) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

async function main(out: string | undefined, count: number): Promise<void> {
  if (!out || !Number.isInteger(count) || count < 1) {
    console.error('usage: gen-events.ts OUT.jsonl|OUT.csv [COUNT]');
    process.exit(2);
  }
  const csv = out.endsWith('.csv');
  const ws = createWriteStream(out, { highWaterMark: 1 << 20 });
  if (csv) ws.write('eventId,userId,anonymousId,type,timestamp,text,source,properties\n');
  let buf = '';
  for (let i = 0; i < count; i++) {
    const e = event(i);
    buf += csv ? [e.eventId, e.userId, e.anonymousId, e.type, e.timestamp, e.text, e.source, e.properties].map(cell).join(',') + '\n' : JSON.stringify(e) + '\n';
    if (buf.length > 1 << 20) {
      if (!ws.write(buf)) await once(ws, 'drain');
      buf = '';
    }
  }
  ws.end(buf);
  await once(ws, 'finish');
  console.error(`wrote ${count} events to ${out}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv[2], Number(process.argv[3] ?? 1_000_000));
