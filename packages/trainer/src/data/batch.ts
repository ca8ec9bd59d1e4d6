import type { Tensor } from '@adapterkit/core';
import type { TrainerModelInputs } from '../model/types.js';

/** A collated batch: model inputs as tensors plus counts for logging. */
export interface Batch {
  inputs: TrainerModelInputs;
  /** Number of examples. */
  size: number;
  /** Number of real (non-padding) tokens. */
  tokens: number;
  /** Host copy of the labels, for metrics (class ids or values; undefined when unlabelled). */
  labels?: Float64Array;
}

/** Frees a batch's tensors. */
export function disposeBatch(b: Batch): void {
  for (const t of Object.values(b.inputs) as (Tensor | undefined)[]) t?.dispose();
}

/** Context a collator gets per batch. */
export interface CollateContext {
  /** Seed for any randomness of this batch (MLM masking); derived from (seed, epoch, batch index), so resuming replays it. */
  seed: number;
  /** Backend to create the tensors on (the model's). */
  backend?: string;
}

/** Turns features into a batch. */
export type DataCollator<F = import('./features.js').Feature> = (features: readonly F[], ctx: CollateContext) => Batch;
