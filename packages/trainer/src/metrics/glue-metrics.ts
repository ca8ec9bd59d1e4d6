import type { GlueMetricName, GlueTask } from '../data/glue.js';
import { accuracy, argmaxRows, f1, matthewsCorrelation } from './classification.js';
import { pearson, spearman } from './correlation.js';

/** Model outputs and labels of an evaluation (HF EvalPrediction). */
export interface EvalPrediction {
  /** Logits row-major [n, numLabels] (numLabels 1 for regression). */
  predictions: Float32Array;
  /** Columns of `predictions`. */
  numLabels: number;
  /** Class ids or regression targets, one per example. */
  labels: Float64Array;
}

/** Turns an evaluation into named metrics. */
export type ComputeMetrics = (p: EvalPrediction) => Record<string, number>;

/**
 * The GLUE metrics of a task (HF `evaluate.load("glue", task)` names:
 * accuracy, f1, matthews_correlation, pearson, spearmanr), plus
 * `combined_score` (their mean) when there are several, as run_glue.py.
 */
export function glueComputeMetrics(task: Pick<GlueTask, 'metrics' | 'isRegression'>): ComputeMetrics {
  return (p) => {
    const preds = task.isRegression ? Float64Array.from(p.predictions.filter((_, i) => i % p.numLabels === 0)) : argmaxRows(p.predictions, p.numLabels);
    const out: Record<string, number> = {};
    const fns: Record<GlueMetricName, () => number> = {
      accuracy: () => accuracy(preds, p.labels),
      f1: () => f1(preds, p.labels),
      matthews_correlation: () => matthewsCorrelation(preds, p.labels),
      pearson: () => pearson(preds, p.labels),
      spearmanr: () => spearman(preds, p.labels),
    };
    for (const m of task.metrics) out[m] = fns[m]();
    if (task.metrics.length > 1) out.combined_score = task.metrics.reduce((s, m) => s + out[m]!, 0) / task.metrics.length;
    return out;
  };
}
