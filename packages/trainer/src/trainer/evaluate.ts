import { noGrad, tidy, type Tensor } from '@adapterkit/core';
import type { Batch, DataCollator } from '../data/batch.js';
import { disposeBatch } from '../data/batch.js';
import type { Feature } from '../data/features.js';
import { batchesOf } from '../data/sampler.js';
import type { ComputeMetrics } from '../metrics/glue-metrics.js';
import type { TrainableModel } from '../model/types.js';

/** Options of `evaluateModel`. */
export interface EvaluateOptions<F = Feature> {
  model: TrainableModel;
  dataset: readonly F[];
  collator: DataCollator<F>;
  batchSize: number;
  computeMetrics?: ComputeMetrics;
  /** Backend name for the batch tensors. */
  backend?: string;
  /** Key prefix (default 'eval'). */
  prefix?: string;
}

/**
 * Runs the model in eval mode (dropout off, no gradients) over a dataset in
 * order, and returns `<prefix>_loss` (mean over examples, as HF weights each
 * batch's mean loss by its size), the `computeMetrics` results prefixed,
 * `<prefix>_runtime` (s) and `<prefix>_samples_per_second`. The model's
 * train/eval mode is restored afterwards.
 */
export async function evaluateModel<F = Feature>(o: EvaluateOptions<F>): Promise<Record<string, number>> {
  const prefix = o.prefix ?? 'eval';
  if (o.dataset.length === 0) throw new Error(`evaluate: the ${prefix} dataset is empty`);
  const wasTraining = o.model.training;
  o.model.eval();
  const start = performance.now();
  let lossSum = 0;
  let lossCount = 0;
  const preds: Float32Array[] = [];
  const labels: number[] = [];
  let numLabels = 0;
  try {
    for (const idx of batchesOf(Array.from({ length: o.dataset.length }, (_, i) => i), o.batchSize)) {
      const batch: Batch = o.collator(idx.map((i) => o.dataset[i]!), { seed: 0, backend: o.backend });
      let out: { loss?: Tensor; logits?: Tensor } = {};
      try {
        out = noGrad(() =>
          tidy(() => {
            const r = o.model.forward(batch.inputs);
            return { loss: r.loss, logits: o.computeMetrics ? r.logits : undefined };
          }),
        );
        if (out.loss) {
          lossSum += (await out.loss.data())[0]! * batch.size;
          lossCount += batch.size;
        }
        if (o.computeMetrics && out.logits) {
          if (!batch.labels) throw new Error('evaluate: computeMetrics needs labelled examples (the batch has no labels)');
          const lg = out.logits;
          numLabels = lg.shape[lg.rank - 1]!;
          if (lg.size !== batch.size * numLabels) throw new Error(`evaluate: computeMetrics expects one row of logits per example, got shape [${lg.shape.join(', ')}] for ${batch.size} examples`);
          preds.push(Float32Array.from(await lg.data()));
          labels.push(...batch.labels);
        }
      } finally {
        out.loss?.dispose();
        out.logits?.dispose();
        disposeBatch(batch);
      }
    }
  } finally {
    o.model.train(wasTraining);
  }
  const runtime = (performance.now() - start) / 1000;
  const result: Record<string, number> = {};
  if (lossCount) result[`${prefix}_loss`] = lossSum / lossCount;
  if (o.computeMetrics) {
    const all = new Float32Array(preds.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of preds) {
      all.set(p, off);
      off += p.length;
    }
    const m = o.computeMetrics({ predictions: all, numLabels, labels: Float64Array.from(labels) });
    for (const [k, v] of Object.entries(m)) result[k.startsWith(`${prefix}_`) ? k : `${prefix}_${k}`] = v;
  }
  result[`${prefix}_runtime`] = Number(runtime.toFixed(4));
  result[`${prefix}_samples_per_second`] = Number((o.dataset.length / Math.max(runtime, 1e-9)).toFixed(3));
  return result;
}
