import { parseArgs } from 'node:util';
import { rebuildAllProfiles } from '../../profile/profile-stage.ts';
import { withRuntime } from '../../runtime/runtime.ts';
import { fmtInt, printJson, writeLine, type Command } from '../command.ts';

export const reindexCommand: Command = {
  name: 'reindex',
  summary: 'rebuild every user vector and the similar-users index from SQLite',
  usesDatabase: true,
  usage: `usage: traitlens reindex [--no-refit] [--index-only] [--json]

Recomputes every user's profile vector (text, behaviour and trait blocks; docs/user-vector.md),
refitting the behaviour scaler on the whole population first, then rebuilds the HNSW index file
(TRAITLENS_INDEX_PATH, default <TRAITLENS_DB>.hnsw) from the stored vectors. Safe beside a running server: it
notices the new vector version and loads the new file. Run it after a bulk import.

  --no-refit     keep the current behaviour scaler (vectors stay comparable with existing ones)
  --index-only   only rebuild the index file from the stored vectors
  --json         print the result as one JSON object`,
  async run(args, { config, io }) {
    const { values } = parseArgs({
      args,
      options: { 'no-refit': { type: 'boolean', default: false }, 'index-only': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
      strict: true,
      allowPositionals: false,
    });
    return withRuntime(config, async ({ profiles: s, vectorIndex }) => {
      const log = (m: string) => {
        if (!values.json) writeLine(io.stderr, m);
      };
      const vectors = values['index-only'] ? null : await rebuildAllProfiles(s.deps, { refit: !values['no-refit'], log });
      if (vectorIndex === 'pgvector') {
        // PostgreSQL: the vectors are the index (pgvector's HNSW is maintained by the database).
        const result = { vectors, index: null, vectorVersion: (await s.index.currentLayout()).version };
        if (values.json) printJson(io, result);
        else if (vectors) writeLine(io.stdout, `vectors: ${fmtInt(vectors.stored)} of ${fmtInt(vectors.users)} users in ${vectors.seconds.toFixed(1)}s (pgvector indexes them)`);
        return 0;
      }
      const t0 = performance.now();
      const index = await s.index.rebuild();
      const result = {
        vectors,
        index: { vectors: index.upserted, path: s.index.opts.path, seconds: Math.round(performance.now() - t0) / 1000 },
        vectorVersion: (await s.index.currentLayout()).version,
      };
      if (values.json) printJson(io, result);
      else {
        if (vectors) writeLine(io.stdout, `vectors: ${fmtInt(vectors.stored)} of ${fmtInt(vectors.users)} users in ${vectors.seconds.toFixed(1)}s`);
        writeLine(io.stdout, `index: ${fmtInt(index.upserted)} vectors → ${s.index.opts.path} in ${result.index.seconds}s`);
        writeLine(io.stdout, `vector version: ${result.vectorVersion}`);
      }
      return 0;
    });
  },
};
