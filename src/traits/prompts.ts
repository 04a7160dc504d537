import { PromptTemplate } from '@langchain/core/prompts';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/errors.ts';

export const PROMPTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../prompts');

export interface VersionedPrompt {
  name: string;
  version: string;
  /** `name.version`, recorded on everything the prompt produces */
  id: string;
  system: PromptTemplate;
  user: PromptTemplate;
}

const cache = new Map<string, VersionedPrompt>();

/**
 * Loads `prompts/NAME.VERSION.md`: front matter (name, version), then `## system` and `## user`
 * sections, each a langchain f-string template. Values are substituted, never re-parsed, so
 * braces in user text cannot inject template variables.
 */
export function loadPrompt(name: string, version: string, dir = PROMPTS_DIR): VersionedPrompt {
  const file = join(dir, `${name}.${version}.md`);
  const hit = cache.get(file);
  if (hit) return hit;
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`prompt ${name}.${version} not found at ${file}`);
  }
  const fm = /^---\n([\s\S]*?)\n---\n/.exec(raw);
  const meta = Object.fromEntries((fm?.[1] ?? '').split('\n').map((l) => l.split(':').map((s) => s.trim()) as [string, string]));
  if (meta.name !== name || meta.version !== version) throw new ConfigError(`prompt file ${file} declares ${meta.name}.${meta.version}`);
  const body = raw.slice(fm?.[0].length ?? 0);
  const section = (title: string) => {
    const m = new RegExp(`^## ${title}\\n([\\s\\S]*?)(?=^## |$(?![\\s\\S]))`, 'm').exec(body);
    if (!m?.[1]) throw new ConfigError(`prompt file ${file} has no "## ${title}" section`);
    return m[1].trim();
  };
  const prompt: VersionedPrompt = {
    name,
    version,
    id: `${name}.${version}`,
    system: PromptTemplate.fromTemplate(section('system')),
    user: PromptTemplate.fromTemplate(section('user')),
  };
  cache.set(file, prompt);
  return prompt;
}
