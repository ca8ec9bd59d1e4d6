import { maximum, mul, mulScalar } from '../ops/binary.js';
import { gelu, geluTanh, relu, sigmoid, silu, tanh } from '../ops/activation.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';

/**
 * Activations by their Hugging Face names (`ACT2FN`, lower-cased as the
 * Python `Activation_Function_Class` does). A parameter-free module, so it
 * takes one index in a head's layer list exactly as in Python.
 */
const ACTIVATIONS: Record<string, (x: Tensor) => Tensor> = {
  gelu,
  gelu_new: geluTanh,
  gelu_fast: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  relu,
  tanh,
  sigmoid,
  silu,
  swish: silu,
  linear: (x) => x,
  // x·σ(1.702x), HF "quick_gelu".
  quick_gelu: (x) => {
    const s = mulScalar(x, 1.702);
    const g = sigmoid(s);
    const y = mul(x, g);
    s.dispose();
    g.dispose();
    return y;
  },
  // torch's default negative slope 0.01; max(x, 0.01x) equals leaky ReLU for slopes below 1.
  leakyrelu: (x) => {
    const s = mulScalar(x, 0.01);
    const y = maximum(x, s);
    s.dispose();
    return y;
  },
};

/** The activation names heads accept. */
export function headActivationNames(): string[] {
  return Object.keys(ACTIVATIONS).sort();
}

/** One activation layer of a prediction head. */
export class HeadActivation extends Module {
  private readonly fn: (x: Tensor) => Tensor;

  constructor(readonly activation: string) {
    super();
    const fn = ACTIVATIONS[activation.toLowerCase()];
    if (!fn) throw new Error(`unknown activation_function '${activation}'; supported: ${headActivationNames().join(', ')}`);
    this.fn = fn;
  }

  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}
