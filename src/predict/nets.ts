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

/** Item inputs beside the base input (features/items.ts). */
export interface ItemNetOptions {
  /** the bag input's width: vocabulary size (learned) or the pretrained vectors' dim (pooled) */
  bagDim: number;
  /** learned: a dense projection of the bag without bias (= a weighted-mean embedding bag) to `dim`; pretrained: the pooled vector as is */
  learned: boolean;
  dim: number;
  /** recurrent architectures: the one-hot item sequence (length × slots), embedded by a dense layer and run through its own recurrent layer */
  sequence?: { length: number; slots: number };
}

/**
 * A network with the item inputs: [base, bag, (item sequence)]. The base is the aggregate vector
 * (mlp/logreg) or the event sequence (gru/lstm); the bag's embedding (and the item sequence's
 * recurrent state) is concatenated with the base's representation before the hidden layers.
 */
export function buildItemNet(o: NetOptions, items: ItemNetOptions): tf.LayersModel {
  let seed = o.seed;
  const init = () => tf.initializers.glorotUniform({ seed: seed++ });
  const reg = o.l2 > 0 ? tf.regularizers.l2({ l2: o.l2 }) : undefined;
  const recurrent = o.architecture === 'gru' || o.architecture === 'lstm';
  const rnn = (units: number, name: string) => {
    const cfg = { units, name, kernelInitializer: init(), recurrentInitializer: tf.initializers.orthogonal({ seed: seed++, gain: 1 }) };
    return o.architecture === 'gru' ? tf.layers.gru(cfg) : tf.layers.lstm(cfg);
  };
  const base = tf.input({ shape: o.inputShape, name: 'base' });
  const bag = tf.input({ shape: [items.bagDim], name: 'item_bag' });
  const inputs = [base, bag];
  const parts: tf.SymbolicTensor[] = [recurrent ? (rnn(o.recurrentUnits, 'event_rnn').apply(base) as tf.SymbolicTensor) : base];
  parts.push(
    items.learned
      ? (tf.layers
          .dense({ units: items.dim, useBias: false, name: 'item_embedding_bag', kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.1, seed: seed++ }) })
          .apply(bag) as tf.SymbolicTensor)
      : bag,
  );
  if (items.sequence) {
    const seq = tf.input({ shape: [items.sequence.length, items.sequence.slots], name: 'item_sequence' });
    inputs.push(seq);
    const emb = tf.layers
      .dense({ units: items.dim, useBias: false, name: 'item_sequence_embedding', kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.1, seed: seed++ }) })
      .apply(seq) as tf.SymbolicTensor;
    parts.push(rnn(o.recurrentUnits, 'item_rnn').apply(emb) as tf.SymbolicTensor);
  }
  let h = tf.layers.concatenate({ name: 'joined' }).apply(parts) as tf.SymbolicTensor;
  const hidden = o.architecture === 'logreg' ? [] : recurrent ? [16] : o.hidden;
  if (recurrent && o.dropout > 0) h = tf.layers.dropout({ rate: o.dropout, seed: seed++ }).apply(h) as tf.SymbolicTensor;
  for (const units of hidden) {
    h = tf.layers.dense({ units, activation: 'relu', kernelInitializer: init(), ...(reg ? { kernelRegularizer: reg } : {}) }).apply(h) as tf.SymbolicTensor;
    if (!recurrent && o.dropout > 0) h = tf.layers.dropout({ rate: o.dropout, seed: seed++ }).apply(h) as tf.SymbolicTensor;
  }
  const out = tf.layers
    .dense({ units: o.outputs, activation: o.outputs === 1 ? 'sigmoid' : 'softmax', kernelInitializer: init(), ...(reg ? { kernelRegularizer: reg } : {}) })
    .apply(h) as tf.SymbolicTensor;
  const m = tf.model({ inputs, outputs: out });
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
  data: { x: tf.Tensor | tf.Tensor[]; y: tf.Tensor; xVal: tf.Tensor | tf.Tensor[]; yVal: tf.Tensor },
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

/** One model input: row-major data and the per-example shape. */
export interface NetInput {
  data: Float32Array;
  shape: number[];
}

/** Predicted probabilities (n for binary, n × k for softmax), in batches to bound memory. */
export function predictProba(model: tf.LayersModel, x: Float32Array, shape: number[], batch = 4096): Float32Array {
  return predictProbaInputs(model, [{ data: x, shape }], batch);
}

/** `predictProba` for a model with several inputs (in the model's input order). */
export function predictProbaInputs(model: tf.LayersModel, inputs: readonly NetInput[], batch = 4096): Float32Array {
  const first = inputs[0] as NetInput;
  const per = first.shape.reduce((a, b) => a * b, 1);
  const n = per ? first.data.length / per : 0;
  const chunks: Float32Array[] = [];
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const out = tf.tidy(() => {
      const ts = inputs.map((inp) => {
        const p = inp.shape.reduce((a, b) => a * b, 1);
        return tf.tensor(inp.data.subarray(i * p, (i + m) * p), [m, ...inp.shape]);
      });
      return (model.predict(ts.length === 1 ? (ts[0] as tf.Tensor) : ts) as tf.Tensor).dataSync() as Float32Array;
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
