/**
 * Mixed precision for matmuls, PyTorch-autocast style: inside
 * `autocast('bf16', fn)` every f32 matmul on the 'cuda' backend converts its
 * two inputs to bf16 (into scratch memory, per call) and runs on the tensor
 * cores with f32 accumulation and an f32 result (cublasGemmEx, CUDA_R_16BF
 * inputs, CUBLAS_COMPUTE_32F). Tensors, parameters ("master weights") and
 * gradients all stay f32: nothing else changes, so the optimizer is untouched.
 *
 * Run the forward *and* backward pass inside it (the gradient matmuls are
 * autocast too). `fn` must be synchronous, like `tidy`; for code that awaits,
 * use `setAutocast(dtype)` / `setAutocast(null)` around it.
 *
 * This is backend-level: saved activations stay f32 (PyTorch keeps the bf16
 * copies). Core-level autocast, which would also save memory, is described in
 * the README ("Autocast and core").
 */
export type AutocastDType = 'bf16' | 'f16';

let current: AutocastDType | null = null;

/** Runs `fn` with f32 matmuls computed from `dtype` inputs (see above); restores the previous mode after. */
export function autocast<T>(dtype: AutocastDType, fn: () => T): T {
  if (dtype !== 'bf16' && dtype !== 'f16') throw new Error(`autocast: dtype must be 'bf16' or 'f16', got '${String(dtype)}'`);
  const prev = current;
  current = dtype;
  try {
    const out = fn();
    if (out instanceof Promise) throw new Error('autocast(dtype, fn): fn must be synchronous; a Promise was returned (use setAutocast for async code)');
    return out;
  } finally {
    current = prev;
  }
}

/** Sets the autocast mode until changed (null turns it off). */
export function setAutocast(dtype: AutocastDType | null): void {
  current = dtype;
}

/** The active autocast dtype, or null. */
export function autocastDType(): AutocastDType | null {
  return current;
}
