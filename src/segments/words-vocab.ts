/**
 * The vocabulary the no-LLM segment proposal compiles with (src/segments/words.ts): the configured
 * catalogue, and the word vectors the offline embedder already shares per cache directory. Without
 * an LLM the embedder is the offline one, so the vectors are in memory anyway; if they cannot be
 * loaded the compiler runs on exact vocabulary only.
 */
import { loadWordVectors } from '../providers/word-vectors.ts';
import type { Catalogue } from '../traits/catalogue.ts';
import { defaultWordsVocab, type WordsVocab } from './words.ts';

const vocabs = new WeakMap<Catalogue, Map<string, Promise<WordsVocab>>>();

/** One vocabulary (and one phrase table) per catalogue and cache directory. */
export function offlineWordsVocab(catalogue: Catalogue, cacheDir: string): Promise<WordsVocab> {
  let byDir = vocabs.get(catalogue);
  if (!byDir) vocabs.set(catalogue, (byDir = new Map()));
  let p = byDir.get(cacheDir);
  if (!p) {
    p = loadWordVectors(cacheDir).then(
      (vectors) => defaultWordsVocab({ catalogue, vectors }),
      () => {
        byDir?.delete(cacheDir); // not cached: the next proposal tries the vectors again
        return defaultWordsVocab({ catalogue });
      },
    );
    byDir.set(cacheDir, p);
  }
  return p;
}
