/**
 * Model specs: JSON files under models/specs/ naming the target, the architecture and the training
 * settings. Validated with zod; a bad spec fails with every problem and its field path.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { issuesToDetails, NotFoundError, ValidationError } from '../core/errors.ts';
import { propertyFeatureSchema } from '../features/definitions.ts';
import { itemFeatureSchema } from '../features/items.ts';

const snake = z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be snake_case (a-z, 0-9, _), starting with a letter');
const horizon = z.number().positive().max(3650).describe('days after the cut-off');

export const targetSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('event_in_horizon'),
    /** any of these event types in (cut-off, cut-off + horizon] is a positive */
    eventTypes: z.array(snake).min(1),
    horizonDays: horizon,
  }),
  z.strictObject({ kind: z.literal('churn'), horizonDays: horizon }),
  z.strictObject({
    kind: z.literal('attribute'),
    key: z.string().min(1).max(64),
    /** binary when given (attribute === positive); else one class per value seen in training */
    positive: z.union([z.string(), z.number(), z.boolean()]).optional(),
  }),
  z.strictObject({ kind: z.literal('next_category'), horizonDays: horizon, classes: z.number().int().min(2).max(50).default(8) }),
]);
export type TargetSpec = z.infer<typeof targetSchema>;

export const modelSpecSchema = z.strictObject({
  name: snake.max(64),
  description: z.string().max(500).default(''),
  target: targetSchema,
  architecture: z.enum(['mlp', 'gru', 'lstm', 'logreg']).default('mlp'),
  /** cut-off for the test examples (ISO 8601); default: latest event minus the horizon */
  asOf: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
  features: z
    .strictObject({
      maxEventTypes: z.number().int().min(0).max(50).default(10),
      topCategories: z.number().int().min(0).max(50).default(8),
      properties: z.array(propertyFeatureSchema).max(50).default([]),
      /** repeat-purchase columns (features/definitions.ts PURCHASE_HISTORY_DEFS) */
      purchaseHistory: z.boolean().default(false),
      /** only the `properties` columns (and purchase history): drop the generic event aggregates */
      propertiesOnly: z.boolean().default(false),
      /** item-aware: the user's interacted items as model input (features/items.ts) */
      items: itemFeatureSchema.optional(),
    })
    .prefault({}),
  sequenceLength: z.number().int().min(2).max(200).default(20),
  split: z
    .strictObject({
      /** time: train/validation/test at successive cut-offs one horizon apart; users: disjoint user sets at one cut-off */
      kind: z.enum(['time', 'users']).default('time'),
      validation: z.number().gt(0).lt(0.5).default(0.15),
      test: z.number().gt(0).lt(0.5).default(0.2),
      seed: z.number().int().default(42),
      /** users split as k-fold cross-validation: test on fold `fold` (0-based) of `folds`; `test` is then 1/folds */
      folds: z.number().int().min(2).max(20).optional(),
      fold: z.number().int().min(0).optional(),
    })
    .prefault({}),
  training: z
    .strictObject({
      epochs: z.number().int().min(1).max(1000).default(60),
      batchSize: z.number().int().min(1).max(65536).default(256),
      learningRate: z.number().positive().max(1).default(0.003),
      patience: z.number().int().min(1).max(100).default(6),
      hidden: z.array(z.number().int().min(1).max(1024)).max(5).default([64, 32]),
      recurrentUnits: z.number().int().min(1).max(512).default(32),
      dropout: z.number().min(0).max(0.9).default(0.1),
      l2: z.number().min(0).max(1).default(1e-4),
      classWeights: z.enum(['balanced', 'none']).default('balanced'),
      /** binary: average the network with logistic regression when that scores better on validation */
      blend: z.enum(['auto', 'none']).default('auto'),
      seed: z.number().int().default(7),
    })
    .prefault({}),
  trait: z
    .strictObject({
      /** the predicted trait's key; default: the model name */
      key: snake.max(64).optional(),
    })
    .prefault({}),
});
export type ModelSpec = z.infer<typeof modelSpecSchema>;

/** Validates a spec object; throws ValidationError listing each problem with its field. */
export function parseSpec(input: unknown, source = 'spec'): ModelSpec {
  const r = modelSpecSchema.safeParse(input);
  if (!r.success) {
    const details = issuesToDetails(r.error.issues);
    throw new ValidationError(`invalid model spec (${source}): ${details.map((d) => `${d.field || '(root)'}: ${d.message}`).join('; ')}`, details, 'invalid_model_spec');
  }
  const s = r.data;
  if (s.target.kind === 'attribute' && s.split.kind === 'time')
    throw new ValidationError(
      `invalid model spec (${source}): split.kind "time" needs a target with a horizon; use "users" for attribute targets`,
      [{ field: 'split.kind', message: 'time split needs a horizon target' }],
      'invalid_model_spec',
    );
  const items = s.features.items;
  if (items?.sequence && s.architecture !== 'gru' && s.architecture !== 'lstm')
    throw new ValidationError(
      `invalid model spec (${source}): features.items.sequence needs a recurrent architecture (gru or lstm), not "${s.architecture}"`,
      [{ field: 'features.items.sequence', message: 'item sequences need architecture gru or lstm' }],
      'invalid_model_spec',
    );
  if (items && s.features.propertiesOnly && s.features.properties.length === 0 && !s.features.purchaseHistory)
    throw new ValidationError(
      `invalid model spec (${source}): features.propertiesOnly without properties leaves no aggregate columns beside the items`,
      [{ field: 'features.propertiesOnly', message: 'no aggregate columns left' }],
      'invalid_model_spec',
    );
  if (s.split.folds !== undefined && (s.split.kind !== 'users' || (s.split.fold ?? 0) >= s.split.folds))
    throw new ValidationError(
      `invalid model spec (${source}): split.folds needs split.kind "users" and fold < folds`,
      [{ field: 'split.fold', message: 'fold must be below folds, with a users split' }],
      'invalid_model_spec',
    );
  if (s.split.validation + (s.split.folds ? 1 / s.split.folds : s.split.test) >= 0.8)
    throw new ValidationError(
      `invalid model spec (${source}): validation + test must leave at least 20 % for training`,
      [{ field: 'split', message: 'too little training data' }],
      'invalid_model_spec',
    );
  return s;
}

/** Reads and validates a spec file (JSON). */
export function loadSpec(path: string): ModelSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new NotFoundError(`model spec not found: ${path}`, { path });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`model spec ${path} is not valid JSON: ${(err as Error).message}`, { path }, 'invalid_model_spec');
  }
  return parseSpec(json, path);
}

export function horizonDays(t: TargetSpec): number | null {
  return 'horizonDays' in t ? t.horizonDays : null;
}
