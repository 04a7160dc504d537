/**
 * The tfjs networks and the training loop: an MLP on aggregate features, a GRU/LSTM on event
 * sequences, softmax/logistic regression as a one-layer net. Early stopping on validation loss
 * restores the best epoch's weights (tfjs' earlyStopping callback cannot).
 */
import * as tf from '@tensorflow/tfjs';

export interface NetOptions {
  architecture: 'mlp' | 'gru' | 'lstm' | 'logreg';
  /** mlp/logreg: feature count; gru/lstm: [steps, dim] */
  inputShape: number[];
  /** 1 = binary (sigmoid), k > 1 = softmax over k classes */
  outputs: number;
  hidden: number[];
  recurrentUnits: number;
  dropout: number;
  l2: number;
  learningRate: number;
  seed: number;
}

export function buildNet(o: NetOptions): tf.LayersModel {
  let seed = o.seed;
  const init = () => tf.initializers.glorotUniform({ seed: seed++ });
  const reg = o.l2 > 0 ? tf.regularizers.l2({ l2: o.l2 }) : undefined;
  const m = tf.sequential();
  const first = { inputShape: o.inputShape };
  if (o.architecture === 'gru' || o.architecture === 'lstm') {
    const rnn = { units: o.recurrentUnits, kernelInitializer: init(), recurrentInitializer: tf.initializers.orthogonal({ seed: seed++, gain: 1 }), ...first };
    m.add(o.architecture === 'gru' ? tf.layers.gru(rnn) : tf.layers.lstm(rnn));
    if (o.dropout > 0) m.add(tf.layers.dropout({ rate: o.dropout, seed: seed++ }));
    m.add(tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(), ...(reg ? { kernelRegularizer: reg } : {}) }));
  } else if (o.architecture === 'mlp') {
    o.hidden.forEach((units, i) => {
      m.add(tf.layers.dense({ units, activation: 'relu', kernelInitializer: init(), ...(reg ? { kernelRegularizer: reg } : {}), ...(i === 0 ? first : {}) }));
      if (o.dropout > 0) m.add(tf.layers.dropout({ rate: o.dropout, seed: seed++ }));
    });
  }
  const hasInput = m.layers.length > 0;
  m.add(
    tf.layers.dense({
      units: o.outputs,
      activation: o.outputs === 1 ? 'sigmoid' : 'softmax',
      kernelInitializer: init(),
      ...(reg ? { kernelRegularizer: reg } : {}),
      ...(hasInput ? {} : first),
    }),
  );
  m.compile({ optimizer: tf.train.adam(o.learningRate), loss: o.outputs === 1 ? 'binaryCrossentropy' : 'sparseCategoricalCrossentropy' });
  return m;
}

export interface EpochLog {
  epoch: number;
  loss: number;
  valLoss: number;
  seconds: number;
}

export interface FitResult {
  history: EpochLog[];
  bestEpoch: number;
  bestValLoss: number;
  seconds: number;
}

/** Inverse-frequency class weights ("balanced"): each class contributes equally to the loss. */
export function balancedClassWeights(y: ArrayLike<number>, classes: number): Record<number, number> {
  const counts = new Array<number>(Math.max(2, classes)).fill(0);
  for (let i = 0; i < y.length; i++) counts[y[i] as number]!++;
  const k = counts.filter((c) => c > 0).length;
  const out: Record<number, number> = {};
  counts.forEach((c, i) => {
    out[i] = c > 0 ? y.length / (k * c) : 1;
  });
  return out;
}

export async function fitEarlyStopping(
  model: tf.LayersModel,
  data: { x: tf.Tensor; y: tf.Tensor; xVal: tf.Tensor; yVal: tf.Tensor },
  o: { epochs: number; batchSize: number; patience: number; classWeight?: Record<number, number>; log?: (e: EpochLog) => void },
): Promise<FitResult> {
  const history: EpochLog[] = [];
  let best: tf.Tensor[] | null = null;
  let bestValLoss = Infinity;
  let bestEpoch = 0;
  const t0 = performance.now();
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const e0 = performance.now();
    const h = await model.fit(data.x, data.y, {
      epochs: 1,
      batchSize: o.batchSize,
      shuffle: true,
      verbose: 0,
      validationData: [data.xVal, data.yVal],
      ...(o.classWeight ? { classWeight: o.classWeight } : {}),
    });
    const loss = Number(h.history.loss?.[0]);
    const valLoss = Number(h.history.val_loss?.[0]);
    const log = { epoch, loss, valLoss, seconds: (performance.now() - e0) / 1000 };
    history.push(log);
    o.log?.(log);
    if (valLoss < bestValLoss - 1e-5) {
      bestValLoss = valLoss;
      bestEpoch = epoch;
      best?.forEach((t) => t.dispose());
      best = model.getWeights().map((w) => w.clone());
    } else if (epoch - bestEpoch >= o.patience) break;
  }
  if (best) {
    model.setWeights(best);
    best.forEach((t) => t.dispose());
  }
  return { history, bestEpoch, bestValLoss, seconds: (performance.now() - t0) / 1000 };
}

/** Predicted probabilities (n for binary, n × k for softmax), in batches to bound memory. */
export function predictProba(model: tf.LayersModel, x: Float32Array, shape: number[], batch = 4096): Float32Array {
  const per = shape.reduce((a, b) => a * b, 1);
  const n = per ? x.length / per : 0;
  const chunks: Float32Array[] = [];
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const out = tf.tidy(() => {
      const t = tf.tensor(x.subarray(i * per, (i + m) * per), [m, ...shape]);
      return (model.predict(t) as tf.Tensor).dataSync() as Float32Array;
    });
    chunks.push(Float32Array.from(out));
  }
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const res = new Float32Array(total);
  let o = 0;
  for (const c of chunks) {
    res.set(c, o);
    o += c.length;
  }
  return res;
}
