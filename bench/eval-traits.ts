/**
 * Trait extraction on PersonaChat speakers, scored against their persona facts (docs/eval-traits.md):
 *   node --import tsx bench/eval-traits.ts --data ../shared/datasets/personachat/speakers-dev.jsonl [--limit N] [--offset N]
 *     [--mode offline|llm-test-server] [--json] [--cache-dir DIR] [--split-at 600] [--batch-tokens N] [--keep] [--pairs-out FILE]
 */
import { traitsEvalMain } from '../src/eval/traits.ts';

process.exitCode = await traitsEvalMain(process.argv.slice(2));
