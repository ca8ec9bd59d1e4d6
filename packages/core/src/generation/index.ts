/** Autoregressive generation for causal LMs: greedy and seeded sampling with a KV cache. */
export { generate } from './generate.js';
export { argmaxHost, sampleToken, type SamplingOptions } from './sampling.js';
export { causalLMFromBase } from './base-lm.js';
export type { CausalLM, CausalLMOutput, GenerateOptions, GenerateOutput } from './types.js';
