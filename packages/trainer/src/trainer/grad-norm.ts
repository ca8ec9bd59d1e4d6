import { cast, mul, noGrad, square, stack, sum, tidy, type Parameter } from '@adapterkit/core';

/** Gradient facts of one optimizer step. */
export interface GradNormResult {
  /** Global L2 norm over all gradients (NaN/Inf when one is non-finite). */
  total: number;
  /** Name of the first parameter (model order) whose gradient has a NaN or Inf, if any. */
  firstNonFinite?: string;
}

/**
 * Computes each gradient's squared norm on the device (in f32), reads them
 * back in one transfer, and returns the global norm plus the first
 * parameter whose gradient is not finite. Parameters without a gradient are
 * skipped.
 */
export async function gradNorm(params: readonly [string, Parameter][]): Promise<GradNormResult> {
  const withGrad = params.filter(([, p]) => p.grad !== null);
  if (withGrad.length === 0) return { total: 0 };
  const sq = noGrad(() => tidy(() => stack(withGrad.map(([, p]) => sum(square(cast(p.grad!, 'f32')))))));
  let values: ArrayLike<number>;
  try {
    values = await sq.data();
  } finally {
    sq.dispose();
  }
  let total = 0;
  let firstNonFinite: string | undefined;
  for (let i = 0; i < withGrad.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v) && firstNonFinite === undefined) firstNonFinite = withGrad[i]![0];
    total += v;
  }
  return { total: Math.sqrt(total), firstNonFinite };
}

/**
 * Scales every gradient by maxNorm / (total + 1e-6) when that is below 1
 * (torch clip_grad_norm_), given the norm from `gradNorm`.
 */
export function clipGradients(params: readonly [string, Parameter][], total: number, maxNorm: number): void {
  const coef = maxNorm / (total + 1e-6);
  if (!(coef < 1)) return;
  noGrad(() =>
    tidy(() => {
      for (const [, p] of params) {
        const g = p.grad;
        if (g) g.assign(mul(g, coef));
      }
    }),
  );
}
