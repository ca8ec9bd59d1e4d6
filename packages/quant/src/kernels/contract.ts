/**
 * The kernels this package registers, per backend (core's
 * `registerKernel(name, backend, impl)`), and what each receives. Every
 * backend implements the same contract; 'cpu-ref' is the oracle.
 *
 * 4-bit kernels — inputs (all contiguous, offsets honoured):
 *   [data, weight u8 (packed, ceil(n·k/2) bytes), absmax (f32 [blocks], or u8
 *    [blocks] when `nested`), nestedAbsmax f32 (when nested; else any
 *    placeholder), quantMap f32 [16], nestedQuantMap f32 [256] (when nested;
 *    else any placeholder)]
 *   The weight is the row-major [n, k] matrix W (n = out features, k = in):
 *   W[e] = quantMap[nibble e] · A[e / blockSize], e = row·k + col, nibble of
 *   even e = high 4 bits of byte e/2; A[b] = absmax[b], or with `nested`
 *   fround(fround(nestedQuantMap[absmax[b]] · nestedAbsmax[b / nestedBlockSize]) + offset).
 *
 * 8-bit kernels — inputs: [data, weight i8 [n, k], scb f32 [n]];
 *   W[r, c] = fround(fround(weight[r, c] · scb[r]) · fround(1/127)).
 *
 * - quantMatmul{4,8}bit: data x [m, k] (f32; cpu-ref also f64) → y [m, n] = x · Wᵀ (x's dtype).
 * - quantMatmul{4,8}bitBackward: data dy [m, n] → dx [m, k] = dy · W (the
 *   input gradient; the frozen W gets none).
 * - quantDequantize{4,8}bit: data = the weight input repeated (unused) → W
 *   [n, k] f32 (for merging and tests; the matmuls never materialise W).
 *
 * Kernels compute block by block: at most a tile of W's rows is dequantized
 * at a time (cpu-ref: 16 rows; WGSL/CUDA: a shared-memory tile of 16 rows ×
 * 32 columns), never the whole matrix.
 */
export const QUANT_KERNELS = {
  matmul4: 'quantMatmul4bit',
  backward4: 'quantMatmul4bitBackward',
  dequant4: 'quantDequantize4bit',
  matmul8: 'quantMatmul8bit',
  backward8: 'quantMatmul8bitBackward',
  dequant8: 'quantDequantize8bit',
} as const;

export type QuantKernelName = (typeof QUANT_KERNELS)[keyof typeof QUANT_KERNELS];

/** Attributes of the 4-bit kernels. For the dequantize kernel m = 0. */
export interface Quant4Attrs {
  m: number;
  n: number;
  k: number;
  blockSize: number;
  nested: boolean;
  nestedBlockSize: number;
  /** float32 offset added to the nested absmax. */
  offset: number;
}

/** Attributes of the 8-bit kernels. For the dequantize kernel m = 0. */
export interface Quant8Attrs {
  m: number;
  n: number;
  k: number;
}
