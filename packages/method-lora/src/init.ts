import { cast, hash2, noGrad, rand, randn, tidy, type Backend, type DType, type Tensor } from '@adapterkit/core';

/** Where and how adapter tensors are created. */
export interface InitTarget {
  backend: Backend;
  dtype: DType;
  /** `init_weights_seed`: every module drawn with it gets the same values (Python's fix_seed per module). */
  seed: number | null;
}

/**
 * Roles of the tensors one module draws; with a fixed seed each role gets its
 * own stream (derived from the seed), so A and B are not correlated.
 */
export const INIT_ROLE = { loraA: 1, loraB: 2, gateWeight: 3, gateBias: 4 } as const;

function seedOf(t: InitTarget, role: number): number | undefined {
  // Seed 0 is honoured (Python's fix_seed ignores it, quirk Q7).
  return t.seed === null ? undefined : hash2(t.seed >>> 0, role);
}

/** Random draws happen in f32 (backends need not support random half floats), then are cast. */
function inDtype(drawn: Tensor, dtype: DType): Tensor {
  if (drawn.dtype === dtype) return drawn;
  const out = cast(drawn, dtype);
  drawn.dispose();
  return out;
}

/** U(low, high) in the target's dtype/backend (global stream unless seeded). */
export function uniform(shape: number[], bound: number, t: InitTarget, role: number): Tensor {
  return inDtype(rand(shape, { low: -bound, high: bound, backend: t.backend, seed: seedOf(t, role) }), t.dtype);
}

/** N(0, std²) in the target's dtype/backend. */
export function normal(shape: number[], std: number, t: InitTarget, role: number): Tensor {
  return inDtype(randn(shape, { std, backend: t.backend, seed: seedOf(t, role) }), t.dtype);
}

/**
 * torch.nn.init.kaiming_uniform_(w, a): U(±gain·√(3/fan_in)) with
 * gain = √(2/(1+a²)); fan_in is the second dimension of a [out, in] matrix.
 */
export function kaimingUniform(shape: [number, number], a: number, t: InitTarget, role: number): Tensor {
  const gain = Math.sqrt(2 / (1 + a * a));
  return uniform(shape, gain * Math.sqrt(3 / shape[1]), t, role);
}

/** Overwrites a parameter in place (no autograd record). */
export function assignInit(p: Tensor, make: () => Tensor): void {
  noGrad(() => tidy(() => void p.assign(make())));
}
