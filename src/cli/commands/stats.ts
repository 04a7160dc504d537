import { parseArgs } from 'node:util';
import type { Stats } from '../../db/stores/stats.ts';
import { fmtInt, printJson, table, withStore, writeLine, type Command } from '../command.ts';

export const statsCommand: Command = {
  name: 'stats',
  summary: 'volume and data-quality figures (users, events, duplicates, rejections, jobs)',
  usesDatabase: true,
  usage: `usage: traitlens stats [--json]

Prints users, events by type, duplicates dropped, rejections by reason, missing expected fields,
cleaning warnings, the job queue (and parked jobs), traits and LLM usage, from the database in
TRAITLENS_DB.

  --json   print the figures as one JSON object (the same shape as GET /v1/stats)`,
  async run(args, { config, io }) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true, allowPositionals: false });
    const stats = await withStore(config, (store) => store.stats.getStats());
    if (values.json) printJson(io, stats);
    else writeLine(io.stdout, renderStats(stats));
    return 0;
  },
};

function renderStats(s: Stats): string {
  const section = (title: string, counts: Record<string, number>, label: string) => {
    const rows = Object.entries(counts).map(([k, n]): (string | number)[] => [k, n]);
    return `${title}\n${rows.length ? table([label, 'count'], rows) : '  (none)'}`;
  };
  const summary = table(
    ['', 'count'],
    [
      ['users', s.users.total],
      ['  known', s.users.known],
      ['  anonymous', s.users.anonymous],
      ['events', s.events.total],
      ['  with text', s.events.textSignals],
      ['duplicates dropped', s.duplicatesDropped.total],
      ['rejected', s.rejected.total],
    ],
  );
  const jobs = Object.entries(s.jobs)
    .map(([k, n]) => `${k} ${fmtInt(n)}`)
    .join(', ');
  return [
    summary,
    '',
    section('Events by type', s.events.byType, 'type'),
    '',
    section('Rejected by reason', s.rejected.byReason, 'reason'),
    '',
    section('Duplicates by kind', s.duplicatesDropped.byKind, 'kind'),
    '',
    section('Missing expected fields', s.missingFields, 'field'),
    '',
    section('Cleaning warnings', s.warnings, 'warning'),
    '',
    `Jobs: ${jobs}`,
    ...(s.parkedJobs.length
      ? [
          '',
          'Parked jobs (failed too often; see their errors):',
          table(
            ['id', 'kind', 'attempts', 'last error'],
            s.parkedJobs.map((j) => [String(j.id), j.kind, j.attempts, clip(j.lastError ?? '-', 80)]),
          ),
        ]
      : []),
    '',
    section('Current traits', s.traits.current, 'trait'),
    ...(Object.keys(s.traits.rejected).length ? ['', section('Traits rejected', s.traits.rejected, 'reason')] : []),
    ...(Object.keys(s.traits.droppedSensitive).length ? ['', section('Sensitive traits dropped', s.traits.droppedSensitive, 'category')] : []),
    '',
    `LLM: ${fmtInt(s.llm.calls)} calls, ${fmtInt(s.llm.errors)} errors, ${fmtInt(s.llm.promptTokens)} prompt + ${fmtInt(s.llm.completionTokens)} completion tokens`,
  ].join('\n');
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text).replace(/\s+/g, ' ');
