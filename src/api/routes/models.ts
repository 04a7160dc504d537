import { z } from 'zod';
import { getModel, listModels } from '../../predict/registry.ts';
import { defineRoute } from '../registry.ts';

const metrics = z
  .record(z.string(), z.unknown())
  .describe('ROC AUC, PR AUC, F1, precision, recall, accuracy, log loss, calibration (binary) or macro F1 (multi-class)')
  .meta({ id: 'ModelMetrics' });

/** The model card as documented; the card on disk (card.json) is returned unchanged. */
const cardSchema = z
  .object({
    name: z.string(),
    version: z.string().describe('Version folder; predicted traits carry it as their version.'),
    description: z.string(),
    createdAt: z.string(),
    backend: z.string().describe('tfjs backend it was trained on'),
    architecture: z.string(),
    target: z.record(z.string(), z.unknown()),
    traitKey: z.string().describe('The predicted trait it writes.'),
    producer: z.string().describe('model:NAME, the producer of its traits'),
    classes: z.array(z.string()),
    threshold: z.number().nullable().describe('Binary decision threshold (max F1 on validation); null for multi-class.'),
    dataWindow: z.record(z.string(), z.unknown()),
    examples: z.object({ train: z.number().int(), validation: z.number().int(), test: z.number().int(), trainPositiveRate: z.number().nullable() }),
    features: z.object({
      version: z.string(),
      inputs: z.number().int(),
      names: z.array(z.string()),
      sequenceLength: z.number().int().nullable(),
      items: z
        .record(z.string(), z.unknown())
        .nullable()
        .optional()
        .describe(
          'Item-aware models (spec features.items): item property, event type, weight property, learned or pretrained embedding, vocabulary size, dim, sequence length; null: none',
        ),
    }),
    training: z.record(z.string(), z.unknown()),
    blend: z
      .object({ networkWeight: z.number().describe('Weight of the network; the logistic regression gets 1 − this.'), chosenBy: z.string() })
      .nullable()
      .optional()
      .describe('The network averaged with logistic regression on the same features (weight chosen on validation); null or absent: the network alone.'),
    metrics: z
      .object({ validation: metrics, test: metrics, networkTest: metrics.optional() })
      .describe('`test`: the model as it scores (blended when `blend` is set); `networkTest`: the network alone on the test split, only when blended.'),
    baseline: z.object({ logisticRegression: metrics, majority: metrics }),
    curves: z
      .object({ test: z.object({ roc: z.array(z.object({ fpr: z.number(), tpr: z.number(), threshold: z.number().nullable().optional() })) }) })
      .optional()
      .describe('Binary models: the test ROC curve, for plots (the console draws it).'),
  })
  .meta({ id: 'ModelCard' });

const listResponse = z.object({
  models: z.array(z.object({ name: z.string(), versions: z.array(z.string()).describe('Oldest first; the newest scores.'), latest: cardSchema })),
});
const modelResponse = z.object({ name: z.string(), versions: z.array(cardSchema).describe('Model cards, newest (the one that scores) first.') });
const modelParams = z.object({ name: z.string().min(1).max(64).describe('Model name, e.g. purchase_30d.') });

/** Trained behavioural models and their cards (read from TRAITLENS_MODELS_DIR on each request). */
export function modelRoutes(deps: { modelsDir: string }) {
  const dir = deps.modelsDir;
  return [
    defineRoute({
      method: 'get',
      path: '/v1/models',
      scope: 'profiles:read',
      tag: 'models',
      summary: 'Trained behavioural models with their newest model card',
      description: 'What each model predicts, on which data, how well on held-out data, against logistic regression and the majority class.',
      responses: { 200: { description: 'Models, by name', schema: listResponse } },
      handler: (c) => c.json({ models: listModels({ dir }) }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/models/:name',
      scope: 'profiles:read',
      tag: 'models',
      summary: "One model's cards, every version",
      params: modelParams,
      responses: { 200: { description: 'Model cards, newest first', schema: modelResponse }, 404: { description: 'No trained model of that name' } },
      handler: (c, { params }) => c.json(getModel(params.name, { dir })),
    }),
  ];
}
