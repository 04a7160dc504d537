/**
 * The vocabulary the no-LLM segment proposal compiles with (src/segments/words.ts): the configured
 * catalogue, the predicted traits of the trained models (each "likely" at its model's decision
 * threshold, so "likely to churn" selects exactly the users the model calls churners), and the word
 * vectors the offline embedder already shares per cache directory. Without an LLM the embedder is
 * the offline one, so the vectors are in memory anyway; if they cannot be loaded the compiler runs
 * on exact vocabulary only.
 */
import type { Config } from '../core/config.ts';
import { listModels } from '../predict/registry.ts';
import { loadWordVectors } from '../providers/word-vectors.ts';
import type { Catalogue } from '../traits/catalogue.ts';
import { defaultWordsVocab, predictedVocabFor, type PredictedVocab, type WordsVocab } from './words.ts';

const vocabs = new WeakMap<Catalogue, Map<string, Promise<WordsVocab>>>();

/** Binary models on disk (newest version each); none trained: the shipped specs' keys at 0.5. */
function trainedPredicted(modelsDir: string): PredictedVocab[] | null {
  let models: ReturnType<typeof listModels>;
  try {
    models = listModels({ dir: modelsDir });
  } catch {
    return null; // an unreadable models folder must not break a proposal
  }
  const out = models
    .filter((m) => m.latest.threshold !== null && m.latest.classes.length === 2)
    .map((m) => predictedVocabFor(m.latest.traitKey, Math.round((m.latest.threshold as number) * 1000) / 1000))
    .filter((p): p is PredictedVocab => p !== null);
  return out.length ? out : null;
}

/** One vocabulary (and one phrase table) per catalogue, cache directory and set of trained models. */
export function offlineWordsVocab(catalogue: Catalogue, config: Pick<Config, 'TRAITLENS_CACHE_DIR' | 'TRAITLENS_MODELS_DIR'>): Promise<WordsVocab> {
  const predicted = trainedPredicted(config.TRAITLENS_MODELS_DIR);
  const key = `${config.TRAITLENS_CACHE_DIR}\u0000${JSON.stringify(predicted)}`;
  let byKey = vocabs.get(catalogue);
  if (!byKey) vocabs.set(catalogue, (byKey = new Map()));
  let p = byKey.get(key);
  if (!p) {
    const make = (vectors: Awaited<ReturnType<typeof loadWordVectors>> | null): WordsVocab => {
      const v = defaultWordsVocab({ catalogue, vectors });
      return predicted ? { ...v, predicted } : v;
    };
    p = loadWordVectors(config.TRAITLENS_CACHE_DIR).then(make, () => {
      byKey?.delete(key); // not cached: the next proposal tries the vectors again
      return make(null);
    });
    byKey.set(key, p);
  }
  return p;
}
