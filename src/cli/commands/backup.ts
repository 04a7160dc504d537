import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import { backupSqlite, checkSqliteFile, restoreSqlite } from '../../db/backup.ts';
import { isPgUrl } from '../../db/pg/pool.ts';
import { indexPathFor } from '../../similar/profile-index.ts';
import { printJson, UsageError, writeLine, type Command } from '../command.ts';

const MANIFEST = 'backup.json';

interface BackupManifest {
  format: 1;
  createdAt: string;
  /** the database file inside the backup, or null when the store is PostgreSQL (pg_dump's job) */
  database: string | null;
  models: boolean;
  index: boolean;
}

const isEmptyDir = (dir: string) => !existsSync(dir) || readdirSync(dir).length === 0;

export const backupCommand: Command = {
  name: 'backup',
  summary: 'copy the live database, models and similar-users index into a folder',
  usage: `usage: traitlens backup DIR [--json]

Copies what TRAITLENS_DATA_DIR holds into DIR (which must be new or empty), safe beside a running
server: the SQLite database through SQLite's online backup API (a consistent snapshot of what was
committed), the trained models (TRAITLENS_MODELS_DIR) and the similar-users index (copied first, so
it is never newer than the database; the server brings it up to date, and a damaged copy is
detected by its checksum and rebuilt). On PostgreSQL the database is not copied: use
pg_dump (README, "Backup and restore"); the models are.

  --json   print what was copied as one JSON object`,
  async run(args, { config, io }) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true, allowPositionals: true });
    const dir = positionals[0];
    if (!dir || positionals.length > 1) throw new UsageError('backup takes one folder');
    if (!isEmptyDir(dir)) throw new ConflictError(`${dir} is not empty: back up into a new folder`);
    mkdirSync(dir, { recursive: true });
    const db = config.TRAITLENS_DB;
    const pg = isPgUrl(db);
    const manifest: BackupManifest = { format: 1, createdAt: new Date().toISOString(), database: null, models: false, index: false };
    if (!pg) {
      if (!existsSync(db)) throw new NotFoundError(`no database at ${db}`);
      const ix = indexPathFor(config, db);
      if (existsSync(ix) && existsSync(`${ix}.json`)) {
        mkdirSync(join(dir, 'index'));
        cpSync(ix, join(dir, 'index', 'index.hnsw'));
        cpSync(`${ix}.json`, join(dir, 'index', 'index.hnsw.json'));
        manifest.index = true;
      }
    }
    if (existsSync(config.TRAITLENS_MODELS_DIR)) {
      cpSync(config.TRAITLENS_MODELS_DIR, join(dir, 'models'), { recursive: true });
      manifest.models = true;
    }
    let pages = 0;
    if (!pg) {
      pages = (await backupSqlite(db, join(dir, 'traitlens.db'))).pages;
      manifest.database = 'traitlens.db';
    }
    writeFileSync(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    if (values.json) printJson(io, { dir: resolve(dir), ...manifest, pages });
    else {
      writeLine(io.stdout, `backup in ${resolve(dir)}`);
      writeLine(io.stdout, `  database: ${manifest.database ? `${pages} pages (online backup)` : 'not copied: PostgreSQL, use pg_dump'}`);
      writeLine(io.stdout, `  models:   ${manifest.models ? 'copied' : 'none'}`);
      writeLine(io.stdout, `  index:    ${manifest.index ? 'copied' : 'none (rebuilt from the database at start)'}`);
    }
    return 0;
  },
};

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'put a backup folder back in place (server stopped)',
  usage: `usage: traitlens restore DIR [--force] [--json]

Puts the database, models and index of a \`traitlens backup\` folder where the configuration expects
them (TRAITLENS_DB, TRAITLENS_MODELS_DIR, TRAITLENS_INDEX_PATH). Stop the server and workers first.
The database copy is integrity-checked before anything is replaced; the replaced database's WAL is
removed so it cannot be replayed over the restored one. Refuses to replace an existing database
without --force. Afterwards \`traitlens reindex --index-only\` makes the index exactly match.

  --force  replace an existing database and models
  --json   print what was restored as one JSON object`,
  async run(args, { config, io }) {
    const { values, positionals } = parseArgs({
      args,
      options: { force: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
      strict: true,
      allowPositionals: true,
    });
    const dir = positionals[0];
    if (!dir || positionals.length > 1) throw new UsageError('restore takes one folder');
    const mpath = join(dir, MANIFEST);
    if (!existsSync(mpath)) throw new NotFoundError(`${dir} is not a traitlens backup (no ${MANIFEST})`);
    const m = JSON.parse(readFileSync(mpath, 'utf8')) as BackupManifest;
    const db = config.TRAITLENS_DB;
    if (m.database) {
      if (isPgUrl(db)) throw new UsageError('this backup holds a SQLite database but TRAITLENS_DB is PostgreSQL: use `traitlens migrate-store` to move it');
      if (existsSync(db) && !values.force) throw new ConflictError(`${db} exists: stop the server and pass --force to replace it`);
      const src = join(dir, m.database);
      const check = checkSqliteFile(src);
      if (check !== 'ok') throw new NotFoundError(`the backup's database is damaged: ${check}`);
      mkdirSync(resolve(db, '..'), { recursive: true });
      restoreSqlite(src, db);
      if (m.index) {
        const ix = indexPathFor(config, db);
        cpSync(join(dir, 'index', 'index.hnsw'), ix);
        cpSync(join(dir, 'index', 'index.hnsw.json'), `${ix}.json`);
      }
    }
    if (m.models) {
      if (!isEmptyDir(config.TRAITLENS_MODELS_DIR) && !values.force) throw new ConflictError(`${config.TRAITLENS_MODELS_DIR} is not empty: pass --force to replace it`);
      cpSync(join(dir, 'models'), config.TRAITLENS_MODELS_DIR, { recursive: true, force: true });
    }
    const result = { database: m.database ? db : null, models: m.models ? config.TRAITLENS_MODELS_DIR : null, index: m.index, backupCreatedAt: m.createdAt };
    if (values.json) printJson(io, result);
    else {
      writeLine(io.stdout, `restored the backup of ${m.createdAt}`);
      if (result.database) writeLine(io.stdout, `  database → ${result.database}`);
      if (result.models) writeLine(io.stdout, `  models   → ${result.models}`);
      writeLine(io.stdout, 'run `traitlens reindex --index-only` to make the similar-users index match exactly');
    }
    return 0;
  },
};
