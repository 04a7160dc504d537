import { parseArgs } from 'node:util';
import { parseScopes } from '../../db/stores/keys.ts';
import { SCOPES } from '../../core/types.ts';
import { asUsage, printJson, table, UsageError, withStore, writeLine, type Command, type CommandContext } from '../command.ts';

const USAGE = `usage: traitlens keys create --name NAME --scopes SCOPE[,SCOPE...] [--json]
       traitlens keys list [--all] [--json]
       traitlens keys revoke ID

API keys for the HTTP API. The secret is shown once, at creation; only its hash is stored.
Scopes: ${SCOPES.join(', ')}.

  create   --name NAME        a label for the key (who or what uses it)
           --scopes LIST      comma-separated scopes
           --json             print {id, secret, name, scopes, createdAt} as one JSON object
  list     --all              include revoked keys
           --json             print a JSON array
  revoke   ID                 revoke a key (e.g. key_0123abcd4567); requests with it then get 401`;

export const keysCommand: Command = {
  name: 'keys',
  summary: 'create, list and revoke API keys',
  usesDatabase: true,
  usage: USAGE,
  async run(args, ctx) {
    const [sub, ...rest] = args;
    if (sub === 'create') return create(rest, ctx);
    if (sub === 'list') return list(rest, ctx);
    if (sub === 'revoke') return revoke(rest, ctx);
    throw new UsageError(sub === undefined ? 'a subcommand is required: create, list or revoke' : `unknown subcommand "${sub}"`);
  },
};

async function create(args: string[], { config, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { name: { type: 'string' }, scopes: { type: 'string' }, json: { type: 'boolean', default: false } },
    strict: true,
    allowPositionals: false,
  });
  if (values.name === undefined) throw new UsageError('--name is required');
  if (values.scopes === undefined) throw new UsageError(`--scopes is required (a comma-separated list of ${SCOPES.join(', ')})`);
  // Validate before opening the database, so a typo never creates a file. A bad option value is usage (exit 2).
  const scopes = asUsage(() => parseScopes(values.scopes as string));
  const name = values.name;
  const key = await withStore(config, (store) => store.keys.create(name, scopes));
  if (values.json) printJson(io, key);
  else {
    writeLine(io.stdout, `Created API key ${key.id} (${key.name}) with scopes ${key.scopes.join(', ')}.`);
    writeLine(io.stdout, '');
    writeLine(io.stdout, `  ${key.secret}`);
    writeLine(io.stdout, '');
  }
  // The warning goes to stderr so `--json` output stays one parseable object.
  writeLine(io.stderr, 'Store this secret now: it will not be shown again (only its hash is kept).');
  return 0;
}

async function list(args: string[], { config, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { all: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
    strict: true,
    allowPositionals: false,
  });
  const keys = await withStore(config, (store) => store.keys.list({ includeRevoked: values.all }));
  if (values.json) {
    printJson(io, keys);
    return 0;
  }
  if (keys.length === 0) {
    writeLine(io.stdout, 'No API keys. Create one with: traitlens keys create --name NAME --scopes events:write');
    return 0;
  }
  const rows = keys.map((k) => [k.id, k.name, k.scopes.join(','), `${k.prefix}…`, k.createdAt, k.lastUsedAt ?? '-', ...(values.all ? [k.revokedAt ?? '-'] : [])]);
  writeLine(io.stdout, table(['id', 'name', 'scopes', 'prefix', 'created', 'last used', ...(values.all ? ['revoked'] : [])], rows));
  return 0;
}

async function revoke(args: string[], { config, io }: CommandContext): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, strict: true, allowPositionals: true });
  const [id, ...extra] = positionals;
  if (id === undefined || extra.length) throw new UsageError('give exactly one key id, e.g. traitlens keys revoke key_0123abcd4567');
  await withStore(config, (store) => store.keys.revoke(id));
  writeLine(io.stdout, `Revoked ${id}.`);
  return 0;
}
