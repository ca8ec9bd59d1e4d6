/**
 * @adapterkit/quant — quantized frozen base weights (QLoRA-style training):
 * int8 row-wise absmax and 4-bit NF4 / FP4 blockwise with double
 * quantization, in bitsandbytes' formats (codes bit-exact with it), fused
 * dequantize-matmul kernels for 'cpu-ref', 'cpu', 'webgpu' (WGSL) and 'cuda'
 * (CUDA C source), `QuantLinear`, `quantizeModel`, saving/loading quantized
 * models, merging LoRA into quantized layers, and memory accounting.
 * Importing the package registers the kernels (`registerQuantKernels()` is
 * the explicit, idempotent form).
 */
import { registerQuantKernels } from './kernels/register.js';

export { NF4_CODE, FP4_CODE, DYNAMIC_CODE, codeTable, codeSearch, type QuantType4, type CodeSearch } from './formats/codes.js';
export { quantize4bit, dequantize4bit, blockCount, BLOCK_SIZES_4BIT, type Packed4 } from './formats/fourbit.js';
export { quantizeBlockwise8, dequantizeBlockwise8, type Blockwise8 } from './formats/blockwise8.js';
export { compressAbsmax, expandAbsmax, NESTED_BLOCK_SIZE, type NestedAbsmax } from './formats/double-quant.js';
export { quantizeInt8Rows, dequantizeInt8Rows, INV_127, type Int8Rows } from './formats/int8.js';
export {
  quantizeMatrix, dequantizeMatrix, blockAbsmax, hostQuantBytes, resolveFormat,
  type QuantFormat, type HostQuant, type HostQuant4, type HostQuant8,
} from './formats/host-quant.js';
export { QuantizedWeight } from './quantized-weight.js';
export { quantMatmul, quantMatmulInputGrad, dequantizeWeight } from './ops/quant-matmul.js';
export { QUANT_KERNELS, type QuantKernelName, type Quant4Attrs, type Quant8Attrs } from './kernels/contract.js';
export { registerQuantKernels, QUANT_KERNEL_BACKENDS } from './kernels/register.js';
export {
  registerCudaKernelSource, cudaKernelSources, CUDA_QUANT4_SOURCE, CUDA_QUANT8_SOURCE, CUDA_QUANT4_KEY, CUDA_QUANT8_KEY,
  type CudaArg, type CudaLaunchSpec, type CudaLaunchable, type CudaKernelSource,
} from './kernels/cuda.js';
export { QuantLinear, type QuantSiteSpec, type RequantReport } from './nn/quant-linear.js';
export { quantizeModel, quantizedLayers, matchesSkip, type QuantizeModelOptions, type QuantizeReport, type QuantizedLayerReport } from './quantize-model.js';
export { mergeQuantizedAdapter, resetQuantizedAdapter, type MergeQuantizedOptions, type MergeQuantizedReport, type MergedLayerReport } from './merge.js';
export { memoryReport, formatMemoryReport, type MemoryReport, type TensorMemory, type QuantLayerMemory, type TensorRole } from './memory.js';
export { saveQuantized, loadQuantized, readQuantConfig, QUANT_WEIGHTS_NAME, QUANT_CONFIG_NAME, type QuantConfigFile, type QuantLayerConfig } from './io/save-load.js';
export { quantizedWeightFromBnb, quantLinearFromBnb } from './io/bnb-state.js';
export { BNB_4BIT_TENSORS, BNB_8BIT_TENSORS, packQuantState, unpackQuantState, quantStateKey, pyFloatRepr, type QuantStateFields } from './io/bnb-names.js';

registerQuantKernels();
