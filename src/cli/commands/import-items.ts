import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { parseItemsFile, type ItemLineError } from '../../ingest/items.ts';
import { fmtInt, printJson, UsageError, withStore, writeLine, type Command } from '../command.ts';

/** Largest catalogue file read (it is validated whole, in memory, before anything is written). */
const MAX_FILE_BYTES = 512 * 1024 * 1024;
/** Errors printed one per line (all of them are in --json). */
const ERRORS_SHOWN = 20;

export const importItemsCommand: Command = {
  name: 'import-items',
  summary: 'import an item catalogue (id, title, category, price, attributes) from JSONL or CSV',
  usage: `usage: traitlens import-items FILE [--format jsonl|csv] [--skip-invalid] [--json]

Creates or replaces catalogue entries (as PUT /v1/items/:id does). JSONL: one object per line,
{"id": "85123A", "title": "...", "category": "...", "price": 2.55, "attributes": {...}}. CSV: a
header naming the columns; id (or item, item_id, product_id, sku, StockCode), title (or name,
Description), category, price (or UnitPrice); any other column becomes a string attribute.

The whole file is validated first and every invalid line is reported with its number and field.
By default nothing is written when any line is invalid (exit 1); with --skip-invalid the valid
lines are written and the invalid ones listed. Writing is one transaction: never half a file.
Ids given twice: the last line wins.

  --format        jsonl or csv (default: from the extension)
  --skip-invalid  write the valid lines even when some are invalid
  --json          print the outcome as JSON`,
  async run(args, { config, io }) {
    const { values, positionals } = parseArgs({
      args,
      options: { format: { type: 'string' }, 'skip-invalid': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length !== 1) throw new UsageError('import-items takes one FILE');
    const file = positionals[0]!;
    const format = values.format ?? ({ '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.csv': 'csv' } as Record<string, string>)[extname(file).toLowerCase()];
    if (format !== 'jsonl' && format !== 'csv')
      throw new UsageError(`--format must be jsonl or csv${values.format ? ` (got "${values.format}")` : `: cannot tell from the extension of ${file}`}`);
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      writeLine(io.stderr, `no such file: ${file}`);
      return 1;
    }
    if (size > MAX_FILE_BYTES) {
      writeLine(io.stderr, `${file} is ${fmtInt(size)} bytes; catalogue files are read whole, at most ${fmtInt(MAX_FILE_BYTES)}`);
      return 1;
    }
    const parsed = parseItemsFile(readFileSync(file, 'utf8'), format);
    const invalidLines = new Set(parsed.errors.map((e) => e.line)).size;
    const refused = parsed.errors.length > 0 && !values['skip-invalid'];
    const written = refused || !parsed.items.length ? 0 : await withStore(config, (store) => store.items.upsert(parsed.items, 'import'));
    const outcome = {
      file,
      format,
      records: parsed.records,
      valid: parsed.items.length,
      invalid: invalidLines,
      duplicates: parsed.duplicates,
      written,
      refused,
      errors: parsed.errors,
    };
    if (values.json) printJson(io, outcome);
    else {
      for (const e of parsed.errors.slice(0, ERRORS_SHOWN)) writeLine(io.stderr, formatError(file, e));
      if (parsed.errors.length > ERRORS_SHOWN) writeLine(io.stderr, `... and ${fmtInt(parsed.errors.length - ERRORS_SHOWN)} more errors (--json lists them all)`);
      if (refused)
        writeLine(
          io.stderr,
          `nothing written: ${fmtInt(invalidLines)} of ${fmtInt(parsed.records)} lines are invalid (fix them, or pass --skip-invalid to write the ${fmtInt(parsed.items.length)} valid ones)`,
        );
      else
        writeLine(
          io.stdout,
          `imported ${fmtInt(parsed.items.length)} item(s) from ${file} (${fmtInt(written)} row(s) written${parsed.duplicates ? `, ${fmtInt(parsed.duplicates)} repeated id(s): last line won` : ''}${invalidLines ? `, ${fmtInt(invalidLines)} invalid line(s) skipped` : ''})`,
        );
    }
    return refused ? 1 : 0;
  },
};

const formatError = (file: string, e: ItemLineError) => `${file}:${e.line}: ${e.field ? `${e.field}: ` : ''}${e.message}`;
