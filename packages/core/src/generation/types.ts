import type { KVCache, ModelInputs } from '../models/types.js';
import type { Tensor } from '../tensor/tensor.js';

/** What a causal LM forward pass returns for generation. */
export interface CausalLMOutput {
  /** Next-token logits [batch, seq, vocab]. */
  logits: Tensor;
}

/**
 * The minimal model `generate` drives: token ids (+ padding mask, cache) in,
 * logits out. A base model plus an LM head, a `LlamaForCausalLM`, or a
 * test double all fit.
 */
export interface CausalLM {
  forward(inputs: ModelInputs): CausalLMOutput;
  /** A fresh KV cache; without one `generate` re-runs the whole sequence every step. */
  createCache?(): KVCache;
}

/** Options of `generate`. */
export interface GenerateOptions {
  /** Tokens to add at most per sequence. */
  maxNewTokens: number;
  /** 0 (default) = greedy argmax; > 0 samples from softmax(logits / temperature). */
  temperature?: number;
  /** Sample only among the k most likely tokens (0 or absent = all). */
  topK?: number;
  /** Sample only from the smallest set of most likely tokens whose probability reaches p (1 or absent = all). */
  topP?: number;
  /** Seed of the sampling stream (HostRandom); the same seed gives the same tokens. Default 0. */
  seed?: number;
  /** A sequence stops after producing this token (or any of these). */
  eosTokenId?: number | readonly number[] | null;
  /** Id used to left-pad prompts of different lengths (default: the first EOS id, else 0). Masked out, so its value does not matter. */
  padTokenId?: number;
  /** Use the model's KV cache so each new token costs one position (default true when the model offers one). */
  useCache?: boolean;
  /** Called after every step with the step number and the token chosen for each sequence (finished ones repeat -1). */
  onStep?: (step: number, tokens: readonly number[]) => void;
}

/** Result of `generate`. */
export interface GenerateOutput {
  /** Per prompt: the prompt followed by its new tokens (no padding). */
  sequences: number[][];
  /** Per prompt: only the new tokens, up to and including EOS. */
  newTokens: number[][];
  /** Per prompt: whether it stopped at EOS (false: it ran out of maxNewTokens). */
  finished: boolean[];
}
