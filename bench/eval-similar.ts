/**
 * Similar-user evaluation on PersonaChat speakers (docs/user-vector.md):
 *   node --import tsx bench/eval-similar.ts --data ../shared/datasets/personachat/speakers-dev.jsonl [--limit N] [--cache-dir DIR] [--json]
 */
import { similarEvalMain } from '../src/eval/similar.ts';

process.exitCode = await similarEvalMain(process.argv.slice(2));
