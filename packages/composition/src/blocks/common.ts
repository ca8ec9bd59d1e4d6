import { concat, narrow, type BatchSplit, type ForwardContext, type SiteHost, type Split, type Tensor } from '@adapterkit/core';

/** Rows [start, start + length) of a tensor (a view); null stays null. */
export function rows<T extends Tensor | null>(t: T, start: number, length: number): T {
  return (t ? narrow(t, 0, start, length) : t) as T;
}

/** Positions [start, start + length) along the sequence axis (1); null stays null. */
export function positions<T extends Tensor | null>(t: T, start: number, length: number): T {
  return (t ? narrow(t, 1, start, length) : t) as T;
}

/** Concatenates along an axis; a single part is returned as is. */
export function join(parts: Tensor[], axis: number): Tensor {
  return parts.length === 1 ? parts[0]! : concat(parts, axis);
}

/** [start, length] of each child of a BatchSplit, after checking that the sizes cover the batch. */
export function batchRanges(block: BatchSplit, batch: number, where: string): [number, number][] {
  const total = block.batchSizes.reduce((a, b) => a + b, 0);
  if (total !== batch) {
    throw new Error(`${where}: BatchSplit sizes [${block.batchSizes.join(', ')}] sum to ${total}, but the batch has ${batch} rows`);
  }
  let at = 0;
  return block.batchSizes.map((n) => [(at += n) - n, n]);
}

/** [start, length] of each child of a Split, after checking that the splits cover the sequence. */
export function splitRanges(block: Split, length: number, where: string): [number, number][] {
  const total = block.splits.reduce((a, b) => a + b, 0);
  if (total !== length) {
    throw new Error(`${where}: Split sizes [${block.splits.join(', ')}] sum to ${total}, but the sequence has ${length} positions`);
  }
  let at = 0;
  return block.splits.map((n) => [(at += n) - n, n]);
}

/**
 * [start, length] of each channel of a Parallel block of `channels`
 * children over `batch` rows. The model replicated its inputs (the host's
 * `runPass` does, and records the channel count in the ForwardContext), so
 * channel i is rows [i·B, (i+1)·B). Outside such a pass there is nothing to
 * split: an error says so.
 */
export function parallelRanges(context: ForwardContext | null | undefined, channels: number, batch: number, where: string): [number, number][] {
  if (!context || context.parallelChannels !== channels) {
    throw new Error(`${where}: a Parallel block of ${channels} channels needs the model to replicate its inputs ${channels} times; ` +
      `run it through the base model's forward (BertModel / LlamaModel with adapters, or AdapterModel), whose adapter host does that` +
      (context ? ` (this pass has ${context.parallelChannels} channel(s))` : ' (no forward pass is running)'));
  }
  if (batch % channels !== 0) throw new Error(`${where}: ${batch} rows cannot be split into ${channels} parallel channels`);
  const b = batch / channels;
  return Array.from({ length: channels }, (_, i) => [i * b, b]);
}

/** The forward context of a site's host (null outside a model forward). */
export function contextOf(host: SiteHost | null | undefined): ForwardContext | null {
  return host?.currentContext() ?? null;
}
