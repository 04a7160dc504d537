/**
 * Saving and loading tfjs layers models as model.json + weights.bin on disk, with any backend.
 * tfjs' file:// handler exists only in tfjs-node, so these are small custom IO handlers.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

function concatBuffers(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  const parts = Array.isArray(data) ? data : [data];
  const total = parts.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const b of parts) {
    out.set(new Uint8Array(b), o);
    o += b.byteLength;
  }
  return out;
}

/** Writes the model's topology and weights to `dir` (created if needed). */
export async function saveModelToDir(model: tf.LayersModel, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (art) => {
      if (!art.weightData || !art.weightSpecs) throw new Error('model has no weights to save');
      const weights = concatBuffers(art.weightData as ArrayBuffer | ArrayBuffer[]);
      writeFileSync(join(dir, WEIGHTS_BIN), weights);
      const json = {
        format: art.format,
        generatedBy: art.generatedBy,
        convertedBy: art.convertedBy ?? null,
        modelTopology: art.modelTopology,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: art.weightSpecs }],
      };
      writeFileSync(join(dir, MODEL_JSON), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
    }),
  );
}

/** A LoadHandler reading model.json + weights.bin from `dir`. */
export function dirLoadHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(readFileSync(join(dir, MODEL_JSON), 'utf8')) as {
        modelTopology: object;
        format?: string;
        generatedBy?: string;
        convertedBy?: string | null;
        weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
      };
      const specs = json.weightsManifest.flatMap((g) => g.weights);
      const buf = readFileSync(join(dir, WEIGHTS_BIN));
      // Copy into a fresh ArrayBuffer: a Node Buffer may be a view into a larger shared pool.
      const weightData = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
      return {
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData,
        ...(json.format ? { format: json.format } : {}),
        ...(json.generatedBy ? { generatedBy: json.generatedBy } : {}),
      };
    },
  };
}

export async function loadModelFromDir(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(dirLoadHandler(dir));
}
