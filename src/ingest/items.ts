/**
 * Item catalogue input: one schema for `PUT /v1/items/:id` and `traitlens import-items FILE`
 * (JSONL or CSV). Ids are normalised like event properties (NFC, trimmed), so a catalogue id
 * matches the item an event names. A file is validated whole before anything is written.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import { issuesToDetails } from '../core/errors.ts';
import type { ItemInput } from '../db/stores/items.ts';
import { identifierString } from './schema.ts';

export const MAX_ITEM_ID_CHARS = 200;
export const MAX_ITEM_ATTRIBUTES_BYTES = 16 * 1024;

/** An item id: a string or a number (stored as a string), NFC, trimmed, 1..200 characters, nothing hidden. */
export const itemIdSchema = z
  .union([z.string(), z.number().finite()], { error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string or a number') })
  .transform((v) => String(v))
  .pipe(identifierString(MAX_ITEM_ID_CHARS));

const optionalText = (max: number) =>
  z
    .string()
    .transform((v) => v.normalize('NFC').trim())
    .pipe(z.string().max(max, `must be at most ${max} characters`))
    .nullish()
    .transform((v) => (v ? v : undefined));

/** What describes an item (every field optional): the body of `PUT /v1/items/:id`. */
export const itemBodySchema = z
  .object({
    title: optionalText(500).describe('Display name.'),
    category: optionalText(200),
    // A number, or a string holding one (CSV cells); anything else is refused, never read as NaN or 0.
    price: z
      .union(
        [
          z.number(),
          z
            .string()
            .trim()
            .regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/)
            .transform(Number),
        ],
        { error: 'must be a number' },
      )
      .pipe(z.number().finite().min(0, 'must be at least 0'))
      .nullish()
      .transform((v) => v ?? undefined),
    attributes: z
      .record(z.string(), z.unknown())
      .nullish()
      .transform((v) => v ?? undefined)
      .refine((v) => v === undefined || JSON.stringify(v).length <= MAX_ITEM_ATTRIBUTES_BYTES, `must be at most ${MAX_ITEM_ATTRIBUTES_BYTES} bytes of JSON`)
      .describe('Any other attributes (JSON object).'),
  })
  .strict();

/** One catalogue line: an id and the item fields. */
export const itemRecordSchema = itemBodySchema.extend({ id: itemIdSchema });

export interface ItemLineError {
  /** 1-based line of the file (CSV: the record's first line) */
  line: number;
  field?: string;
  message: string;
}

export interface ParsedItems {
  items: ItemInput[];
  errors: ItemLineError[];
  /** records read (blank lines not counted) */
  records: number;
  /** ids given more than once (the last line wins) */
  duplicates: number;
}

/** CSV header names (lower case, separators removed) → item fields; other columns become attributes. */
const CSV_FIELDS: Readonly<Record<string, 'id' | 'title' | 'category' | 'price'>> = Object.assign(Object.create(null) as Record<string, 'id' | 'title' | 'category' | 'price'>, {
  id: 'id',
  item: 'id',
  itemid: 'id',
  productid: 'id',
  sku: 'id',
  stockcode: 'id',
  title: 'title',
  name: 'title',
  description: 'title',
  category: 'category',
  price: 'price',
  unitprice: 'price',
});
const headerKey = (h: string) =>
  h
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');

function validate(raw: unknown, line: number, out: ParsedItems, seen: Set<string>): void {
  const r = itemRecordSchema.safeParse(raw);
  if (!r.success) {
    for (const d of issuesToDetails(r.error.issues)) out.errors.push({ line, ...(d.field ? { field: d.field } : {}), message: d.message });
    return;
  }
  const { id, title, category, price, attributes } = r.data;
  if (seen.has(id)) out.duplicates++;
  seen.add(id);
  out.items.push({ id, ...(title ? { title } : {}), ...(category ? { category } : {}), ...(price !== undefined ? { price } : {}), ...(attributes ? { attributes } : {}) });
}

/** Parses and validates a whole catalogue file; nothing is written here. */
export function parseItemsFile(text: string, format: 'jsonl' | 'csv'): ParsedItems {
  const out: ParsedItems = { items: [], errors: [], records: 0, duplicates: 0 };
  const seen = new Set<string>();
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (format === 'jsonl') {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.replace(/\r$/, '');
      if (line.trim() === '') continue;
      out.records++;
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch (err) {
        out.errors.push({ line: i + 1, message: `not valid JSON: ${(err as Error).message}` });
        continue;
      }
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        out.errors.push({ line: i + 1, message: 'each line must be a JSON object' });
        continue;
      }
      validate(raw, i + 1, out, seen);
    }
    return out;
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text, { info: true, skip_empty_lines: true, relax_column_count: true }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    const line = Number((err as { lines?: unknown }).lines ?? 0);
    out.errors.push({ line, message: `malformed CSV: ${(err as Error).message}` });
    return out;
  }
  const head = records.shift();
  if (!head) return out;
  const columns = head.record.map((h) => ({ name: h.trim(), field: CSV_FIELDS[headerKey(h)] }));
  if (!columns.some((c) => c.field === 'id')) {
    out.errors.push({
      line: head.info.lines,
      message: `the header needs an id column (one of ${Object.keys(CSV_FIELDS)
        .filter((k) => CSV_FIELDS[k] === 'id')
        .join(', ')})`,
    });
    return out;
  }
  for (const { record, info } of records) {
    out.records++;
    if (record.length !== columns.length) {
      out.errors.push({ line: info.lines, message: `${record.length} cells where the header has ${columns.length}` });
      continue;
    }
    const raw: Record<string, unknown> = {};
    const attributes: Record<string, string> = {};
    columns.forEach((c, i) => {
      const cell = record[i]!;
      if (cell === '') return;
      // A second column naming the same field (title and description) is kept as an attribute.
      if (c.field && raw[c.field] === undefined) raw[c.field] = cell;
      else attributes[c.name] = cell;
    });
    if (Object.keys(attributes).length) raw.attributes = attributes;
    validate(raw, info.lines, out, seen);
  }
  return out;
}
