/**
 * @adapterkit/core — tensors, autograd, backends, modules and the adapter
 * plugin host. Importing it registers the reference CPU backend ('cpu-ref').
 */
export * from './tensor/dtype.js';
export * from './tensor/shape.js';
export { Tensor, liveTensors, type NestedArray } from './tensor/tensor.js';
export * from './errors.js';
export type { Backend, Storage, View, MemoryInfo, KernelArgs, KernelImpl } from './backend/backend.js';
export * from './backend/primitives.js';
export * from './backend/registry.js';
export { primitiveKernelTable, type PrimitiveKernelSet } from './backend/kernel-table.js';
export { tidy, keep, dispose } from './backend/scope.js';
export { checkWrite, liveStorage, markFreed, ownStorage, type CheckedStorage } from './backend/storage-checks.js';
export { runKernel, runKernelInto, emptyTensor, broadcastView, type OutputSpec } from './backend/dispatch.js';
export { memory, toBackend } from './backend/transfer.js';
export { CpuBackend, registerCpuBackend } from './backend/cpu/index.js';
export { noGrad, isGradEnabled, withGradMode } from './autograd/grad-mode.js';
export { backward, type BackwardOptions } from './autograd/backward.js';
export { checkpoint } from './autograd/checkpoint.js';
export { record } from './autograd/record.js';
export type { BackwardFn, GradNode } from './autograd/node.js';
export * from './random/generator.js';
export { uniformAt, normalAt, hash2 } from './random/hash.js';
export * from './ops/index.js';
export * from './nn/index.js';
export * from './optim/index.js';
export * from './io/index.js';
export * from './models/types.js';
export * from './models/registry.js';
export * from './models/bert/index.js';
export * from './models/llama/index.js';
export * from './generation/index.js';
export { LlamaSpmTokenizer, LLAMA_TOKEN_TYPE, type LlamaSpmVocab } from './tokenizers/llama-spm.js';
export * from './adapters/index.js';
export * from './heads/index.js';
export { AdapterModel, HeadDict, type AdapterModelInputs, type AdapterModelOutput, type AddHeadOptions, type ClassificationHeadOptions, type TaggingHeadOptions, type MultipleChoiceHeadOptions, type QAHeadOptions, type LMHeadOptions, type CausalLMHeadOptions, type IdToLabel } from './models/adapter-model.js';
export { AutoAdapterModel, type FromPretrainedOptions, type LoadReport, type PretrainedAdapterModel, type PretrainedFiles } from './models/auto.js';
export { readConfigJson, planWeightMapping, renameLegacyKey, type WeightMappingPlan, type IgnoredKey } from './models/config-loader.js';
export { HfTokenizer, type TokenizerEncoding, type HfEncodeOptions, type HfBatchEncodeOptions, type HfDecodeOptions, type BatchEncoding, type TextInput, type TruncationStrategy } from './tokenizers/hf-tokenizer.js';

import { registerCpuBackend } from './backend/cpu/index.js';
registerCpuBackend();
