// The unit's kernel table (constant-initialised: no guard, no constructor).
static const KernelTable kTable = {
  KIT_ISA_NAME,
  &gemm_kernel,
  &unary_kernel,
  &binary_kernel,
  &compare_kernel,
  &reduce_kernel,
  &softmax_kernel,
  &layer_norm_kernel,
  &layer_norm_bwd_kernel,
  &rms_norm_kernel,
  &rms_norm_bwd_kernel,
  &cross_entropy_kernel,
  &cross_entropy_bwd_kernel,
  &fma_flops,
};
