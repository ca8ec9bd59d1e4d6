import { Module, gelu, geluTanh, maximum, mulScalar, relu, sigmoid, silu, tanh, type Tensor } from '@adapterkit/core';

/**
 * Activations by Hugging Face name (`ACT2FN`, lower-cased as Python's
 * `Activation_Function_Class` does), for the prefix MLP's `non_linearity`.
 */
const ACTIVATIONS: Record<string, (x: Tensor) => Tensor> = {
  tanh,
  relu,
  gelu,
  gelu_new: geluTanh,
  gelu_fast: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  silu,
  swish: silu,
  sigmoid,
  linear: (x) => x,
  // torch's default negative slope 0.01; max(x, 0.01x) is leaky ReLU for slopes below 1.
  leakyrelu: (x) => {
    const s = mulScalar(x, 0.01);
    const y = maximum(x, s);
    s.dispose();
    return y;
  },
};

/** Names accepted as `non_linearity`. */
export function activationNames(): string[] {
  return Object.keys(ACTIVATIONS).sort();
}

/** Whether `name` (any case) is a known activation. */
export function isActivation(name: string): boolean {
  return name.toLowerCase() in ACTIVATIONS;
}

/** A parameter-free activation layer: it takes one index in a Sequential, as in Python (`control_trans.1`). */
export class Activation extends Module {
  private readonly fn: (x: Tensor) => Tensor;

  constructor(readonly activation: string) {
    super();
    const fn = ACTIVATIONS[activation.toLowerCase()];
    if (!fn) throw new Error(`unknown non_linearity '${activation}'; supported: ${activationNames().join(', ')}`);
    this.fn = fn;
  }

  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}
