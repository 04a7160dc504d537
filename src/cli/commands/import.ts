import { parseArgs } from 'node:util';
import type { Config } from '../../core/config.ts';
import type { CleanLimits } from '../../ingest/clean.ts';
import { DEFAULT_IMPORT_BATCH_SIZE, detectFormat, importFile, type ImportSummary } from '../../ingest/import-file.ts';
import { asUsage, fmtInt, printJson, table, UsageError, withStore, writeLine, type Command } from '../command.ts';
import { progressBar } from '../progress.ts';

export const importCommand: Command = {
  name: 'import',
  summary: 'import events from a JSONL or CSV file (same cleaning and dedupe as the API)',
  usage: `usage: traitlens import FILE [--format jsonl|csv] [--batch-size N] [--json]

Streams FILE into the database in TRAITLENS_DB through the same cleaning, validation and
deduplication as POST /v1/events. Importing the same file again adds nothing (events carry a
dedupe key), except events without a timestamp, which get the import time. Stopping an import
(Ctrl-C) is safe: each batch is one transaction, and running it again skips what was committed.

  JSONL   one event per line, as the API takes it; a line that is not JSON is rejected
          (reason invalid_json) and the import goes on
  CSV     a header row; columns eventId,userId,anonymousId,type,timestamp,text,source map to the
          event fields, a "properties" column holds a JSON object, "properties.x" and any other
          column become properties; empty cells are absent

  --format jsonl|csv   default: from the extension (.jsonl, .ndjson, .csv)
  --batch-size N       events per transaction (default ${DEFAULT_IMPORT_BATCH_SIZE})
  --json               print one JSON summary object on stdout (no progress bar)

Exit codes: 0 imported (even if some events were rejected), 1 the file is missing or unreadable,
2 bad usage (a missing FILE, a bad option value, a format that cannot be told from the extension)
or configuration.`,
  async run(args, { config, io }) {
    const { values, positionals } = parseArgs({
      args,
      options: { format: { type: 'string' }, 'batch-size': { type: 'string' }, json: { type: 'boolean', default: false } },
      strict: true,
      allowPositionals: true,
    });
    const [file, ...extra] = positionals;
    if (file === undefined) throw new UsageError('FILE is required');
    if (extra.length) throw new UsageError(`one file at a time (got ${positionals.length})`);
    const format = asUsage(() => detectFormat(file, values.format)); // fail before touching the database
    const batchSize = parseBatchSize(values['batch-size']);
    const bar = values.json ? null : progressBar(io);
    let summary: ImportSummary;
    try {
      summary = await withStore(config, (store) => importFile(store.events, file, { format, batchSize, limits: limitsOf(config), onProgress: bar?.update }));
    } finally {
      bar?.done();
    }
    if (values.json) printJson(io, summary);
    else writeLine(io.stdout, renderSummary(summary));
    return 0;
  },
};

function parseBatchSize(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_IMPORT_BATCH_SIZE;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > 1_000_000) throw new UsageError(`--batch-size must be a whole number from 1 to 1000000 (got "${raw}")`);
  return n;
}

const limitsOf = (c: Config): CleanLimits => ({
  maxTextChars: c.TRAITLENS_MAX_TEXT_CHARS,
  maxPropertiesBytes: c.TRAITLENS_MAX_PROPERTIES_BYTES,
  futureSkewMs: c.TRAITLENS_FUTURE_SKEW_MS,
  clampSkewMs: c.TRAITLENS_CLAMP_SKEW_MS,
});

function renderSummary(s: ImportSummary): string {
  const out = [
    `Imported ${s.file} (${s.format}, ${(s.bytes / 1e6).toFixed(1)} MB): ${fmtInt(s.events)} events in ${s.seconds.toFixed(2)} s, ${fmtInt(s.eventsPerSecond)} events/s`,
    '',
    table(
      ['', 'events'],
      [
        ['accepted', s.accepted],
        ['duplicates', s.duplicates],
        ['rejected', s.rejected],
      ],
    ),
  ];
  const reasons = Object.entries(s.rejectedByReason);
  if (reasons.length) {
    out.push('', `Rejected by reason${reasons.length > 10 ? ' (top 10)' : ''}:`, table(['reason', 'events'], reasons.slice(0, 10)));
    out.push(
      '',
      'First rejections:',
      table(
        ['line', 'reason', 'field', 'message'],
        s.rejections.slice(0, 10).map((r) => [String(r.line), r.reason, r.field, r.message]),
      ),
    );
  }
  const warnings = Object.entries(s.warningsByCode);
  if (warnings.length) out.push('', 'Accepted with warnings:', table(['warning', 'events'], warnings.slice(0, 10)));
  if (s.warningsByCode.timestamp_missing)
    out.push('', `Note: ${fmtInt(s.warningsByCode.timestamp_missing)} events had no timestamp and got the import time; importing the file again would add them again.`);
  return out.join('\n');
}
