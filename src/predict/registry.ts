/**
 * Trained models on disk: MODELS_DIR/NAME/VERSION/{model.json, weights.bin, artefact.json,
 * card.json, card.md}. The newest version (versions sort by time) is the one that scores.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NotFoundError } from '../core/errors.ts';
import type { ModelCard } from './card.ts';

/** Where models are when a caller names no folder: the config's default (callers pass TRAITLENS_MODELS_DIR). */
export function defaultModelsDir(): string {
  return resolve('./models');
}

export interface ModelSummary {
  name: string;
  versions: string[];
  latest: ModelCard;
}

function versionsOf(dir: string, name: string): string[] {
  const d = join(dir, name);
  if (!existsSync(d)) return [];
  return readdirSync(d, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(d, e.name, 'card.json')) && existsSync(join(d, e.name, 'artefact.json')))
    .map((e) => e.name)
    .sort();
}

export function readCard(dir: string, name: string, version: string): ModelCard {
  return JSON.parse(readFileSync(join(dir, name, version, 'card.json'), 'utf8')) as ModelCard;
}

/**
 * The listing per models root, kept per process: the per-user refresh asks for it for every user.
 * Its key is the mtime of the root and of each model folder (a new version folder changes its
 * model folder's); a listing that saw a version folder still being written is not kept.
 */
const listings = new Map<string, { sig: string; list: ModelSummary[] }>();

function signature(dir: string): string {
  const parts = [String(statSync(dir).mtimeMs)];
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory() && e.name !== 'specs') parts.push(`${e.name}:${statSync(join(dir, e.name)).mtimeMs}`);
  return parts.join('|');
}

function readListing(dir: string): { list: ModelSummary[]; complete: boolean } {
  const out: ModelSummary[] = [];
  let complete = true;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name === 'specs') continue;
    const versions = versionsOf(dir, e.name);
    if (readdirSync(join(dir, e.name), { withFileTypes: true }).filter((v) => v.isDirectory()).length !== versions.length) complete = false;
    const latest = versions[versions.length - 1];
    if (latest) out.push({ name: e.name, versions, latest: readCard(dir, e.name, latest) });
  }
  return { list: out.sort((a, b) => a.name.localeCompare(b.name)), complete };
}

/** Every trained model with its newest card (GET /v1/models). */
export function listModels(opts: { dir?: string } = {}): ModelSummary[] {
  const dir = resolve(opts.dir ?? defaultModelsDir());
  if (!existsSync(dir)) {
    listings.delete(dir);
    return [];
  }
  const sig = signature(dir);
  const hit = listings.get(dir);
  if (hit && hit.sig === sig) return hit.list;
  const { list, complete } = readListing(dir);
  if (complete) listings.set(dir, { sig, list });
  else listings.delete(dir);
  return list;
}

/** One model's cards, newest first (GET /v1/models/:name); NotFoundError when unknown. */
export function getModel(name: string, opts: { dir?: string } = {}): { name: string; versions: ModelCard[] } {
  const dir = opts.dir ?? defaultModelsDir();
  const versions = /^[a-z][a-z0-9_]*$/.test(name) ? versionsOf(dir, name) : [];
  if (!versions.length) throw new NotFoundError(`no trained model named "${name}"`, { name });
  return { name, versions: versions.reverse().map((v) => readCard(dir, name, v)) };
}

/** Directory of a model version (the newest when `version` is omitted). */
export function modelVersionDir(name: string, opts: { dir?: string; version?: string } = {}): { dir: string; version: string } {
  const root = opts.dir ?? defaultModelsDir();
  const versions = versionsOf(root, name);
  const version = opts.version ?? versions[versions.length - 1];
  if (!version || !versions.includes(version))
    throw new NotFoundError(`no trained model ${name}${opts.version ? ` version ${opts.version}` : ''}`, { name, version: opts.version ?? null });
  return { dir: join(root, name, version), version };
}
