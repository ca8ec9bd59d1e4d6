import type { AdapterHost, CompositionBlock, Module, Tensor } from '@adapterkit/core';

/** Inputs the trainer feeds the model: a padded batch plus targets. */
export interface TrainerModelInputs {
  inputIds: Tensor;
  attentionMask?: Tensor;
  tokenTypeIds?: Tensor;
  labels?: Tensor;
}

/** What the trainer needs back from a forward pass. */
export interface TrainerModelOutput {
  logits: Tensor;
  loss?: Tensor;
}

/**
 * The model the trainer drives: a Module whose forward takes a batch with
 * labels and returns logits and a scalar loss — `AdapterModel` with an
 * active head fits. Adapter support comes from an adapter host on the model
 * or its base model (`initAdapters`, or AdapterModel's built-in API); heads
 * are saved when the model has them (`heads`, `saveHead`, `headStateDict`).
 */
export interface TrainableModel extends Module {
  forward(inputs: TrainerModelInputs): TrainerModelOutput;
}

/** The adapter API the helpers use (camelCase Python API, as core's `initAdapters` adds it). */
export interface AdapterApiLike {
  readonly adapterHost: AdapterHost;
  readonly activeAdapters: CompositionBlock | null;
  addAdapter(name: string, config?: unknown, opts?: { overwriteOk?: boolean; setActive?: boolean }): void;
  loadAdapter(dir: string, opts?: { loadAs?: string; setActive?: boolean; overwriteOk?: boolean; leaveOut?: number[] }): Promise<string>;
  trainAdapter(setup: string | CompositionBlock | (string | CompositionBlock)[]): void;
  setActiveAdapters(setup: string | CompositionBlock | (string | CompositionBlock)[] | null): void;
}

/** Heads as `AdapterModel` exposes them. */
export interface HeadsLike {
  readonly heads: { names(): string[]; has(name: string): boolean };
  readonly activeHead?: string;
  saveHead(dir: string, name: string): Promise<void>;
  headStateDict(name: string): Map<string, Tensor>;
}
