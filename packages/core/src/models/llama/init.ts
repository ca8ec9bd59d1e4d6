import { noGrad } from '../../autograd/grad-mode.js';
import { tidy } from '../../backend/scope.js';
import { randn, zeros } from '../../ops/creation.js';
import { Linear } from '../../nn/linear.js';
import { AdaptableLinear } from '../../adapters/adaptable-linear.js';
import type { Parameter } from '../../nn/parameter.js';

/** Overwrites a parameter with N(0, std²) draws from the global stream (HF `_init_weights`). */
export function initNormal(p: Parameter, std: number): void {
  noGrad(() => tidy(() => void p.assign(randn(p.shape, { std, dtype: p.dtype, backend: p.backend }))));
}

/** A Linear initialised as HF Llama does: weight N(0, std²), bias (if any) zeros. */
export function llamaLinear(inFeatures: number, outFeatures: number, bias: boolean, std: number, site?: { layer: number; location: string; key?: 'q' | 'k' | 'v' }): Linear {
  // Projections that are adapter insertion points ('linear' sites) are AdaptableLinear; names and init are the same.
  const l = site ? new AdaptableLinear(inFeatures, outFeatures, site.layer, site.location, site.key, { bias }) : new Linear(inFeatures, outFeatures, { bias });
  initNormal(l.weight, std);
  const b = l.bias;
  if (b) noGrad(() => tidy(() => void b.assign(zeros(b.shape, { dtype: b.dtype, backend: b.backend }))));
  return l;
}
