import {
  Module, add, clamp, exp, gelu, geluTanh, log, maximum, mul, mulScalar, relu, sigmoid, silu, square, tanh, type Tensor,
} from '@adapterkit/core';

type Fn = (x: Tensor) => Tensor;

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** tanh-approximated GELU written out as HF's FastGELU does (x·0.7978845608·(1 + 0.044715·x²)). */
function fastGelu(x: Tensor): Tensor {
  const inner = mul(mulScalar(x, 0.7978845608), add(mulScalar(square(x), 0.044715), 1));
  return mul(mulScalar(x, 0.5), add(tanh(inner), 1));
}

/** HF AccurateGELU: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
function accurateGelu(x: Tensor): Tensor {
  const inner = mulScalar(add(x, mulScalar(mul(square(x), x), 0.044715)), SQRT_2_OVER_PI);
  return mul(mulScalar(x, 0.5), add(tanh(inner), 1));
}

/** softplus(x) = log(1 + eˣ), computed as max(x, 0) + log(1 + e^(−|x|)) to avoid overflow. */
function softplus(x: Tensor): Tensor {
  const negAbs = mulScalar(maximum(x, mulScalar(x, -1)), -1);
  return add(relu(x), log(add(exp(negAbs), 1)));
}

/**
 * Activations by Hugging Face name (transformers `ACT2FN`), plus the
 * adapters library's 'leakyrelu' (torch's default slope 0.01). Python
 * lower-cases the name first; so does `activationFn`.
 */
const ACTIVATIONS: Record<string, Fn> = {
  relu,
  relu6: (x) => clamp(x, 0, 6),
  relu2: (x) => square(relu(x)),
  gelu,
  gelu_python: gelu,
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  gelu_python_tanh: geluTanh,
  gelu_fast: fastGelu,
  gelu_accurate: accurateGelu,
  gelu_10: (x) => clamp(gelu(x), -10, 10),
  quick_gelu: (x) => mul(x, sigmoid(mulScalar(x, 1.702))),
  silu,
  swish: silu,
  mish: (x) => mul(x, tanh(softplus(x))),
  tanh,
  sigmoid,
  linear: (x) => x,
  leakyrelu: (x) => maximum(x, mulScalar(x, 0.01)),
  leaky_relu: (x) => maximum(x, mulScalar(x, 0.01)),
};

/** Activation names accepted in `non_linearity` (case-insensitive; null means none). */
export const ACTIVATION_NAMES: readonly string[] = Object.keys(ACTIVATIONS).sort();

export function isKnownActivation(name: string): boolean {
  return name.toLowerCase() in ACTIVATIONS;
}

/** The activation function for an HF name; null gives the identity. Unknown names list the valid ones. */
export function activationFn(name: string | null): Fn {
  if (name === null) return (x) => x;
  const f = ACTIVATIONS[name.toLowerCase()];
  if (!f) throw new Error(`unknown activation '${name}'; valid: ${ACTIVATION_NAMES.join(', ')}`);
  return f;
}

/**
 * A parameter-free activation layer (Python `Activation_Function_Class`):
 * sits in `adapter_down` as child '1'/'2' so Sequential indices match Python.
 */
export class Activation extends Module {
  private readonly fn: Fn;
  constructor(readonly activationName: string | null) {
    super();
    this.fn = activationFn(activationName);
  }

  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}
