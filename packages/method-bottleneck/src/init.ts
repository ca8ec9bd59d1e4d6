import { getRngState, manualSeed, noGrad, rand, randn, setRngState, tensor, tidy, zeros, type Tensor } from '@adapterkit/core';

/**
 * Weight initialisers used by the bottleneck family (torch.nn.init
 * equivalents). Values come from the seeded global stream, so they follow
 * the distributions of PyTorch but not its numbers.
 */

function fill(p: Tensor, make: () => Tensor): void {
  noGrad(() => tidy(() => { p.assign(make()); }));
}

const opts = (p: Tensor) => ({ dtype: p.dtype, backend: p.backend });

/** N(mean, std²). */
export function initNormal(p: Tensor, std: number, mean = 0): void {
  fill(p, () => randn(p.shape, { ...opts(p), mean, std }));
}

/** U(low, high). */
export function initUniform(p: Tensor, low: number, high: number): void {
  fill(p, () => rand(p.shape, { ...opts(p), low, high }));
}

export function initZeros(p: Tensor): void {
  fill(p, () => zeros(p.shape, opts(p)));
}

/** torch kaiming_uniform_(a=√5) on a [out, in] weight: U(±1/√in). */
export function initKaimingUniformSqrt5(p: Tensor): void {
  const fanIn = p.shape[1] ?? 1;
  const bound = 1 / Math.sqrt(fanIn);
  initUniform(p, -bound, bound);
}

/** Fan-in plus fan-out of a 2-D [rows, cols] slice as torch counts them (fan_in = cols, fan_out = rows). */
function fanSum(shape: readonly number[]): number {
  return shape.slice(-2).reduce((a, b) => a + b, 0);
}

/** xavier_normal_ applied to each [rows, cols] matrix of a [n, rows, cols] tensor. */
export function initXavierNormal(p: Tensor): void {
  initNormal(p, Math.sqrt(2 / fanSum(p.shape)));
}

/** xavier_uniform_ applied to each [rows, cols] matrix of a [n, rows, cols] tensor. */
export function initXavierUniform(p: Tensor): void {
  const bound = Math.sqrt(6 / fanSum(p.shape));
  initUniform(p, -bound, bound);
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 erf; only used for the two truncation bounds). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return 0.5 * (1 + (x >= 0 ? y : -y));
}

/** Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/**
 * torch trunc_normal_(mean, std, a, b): uniform draws mapped through the
 * inverse normal CDF between the bounds (the method torch uses), then
 * clamped to [a, b].
 */
export function initTruncNormal(p: Tensor, mean: number, std: number, a: number, b: number): void {
  const lo = normalCdf((a - mean) / std);
  const hi = normalCdf((b - mean) / std);
  // The quantile map runs on the host, so the uniforms are drawn on the reference
  // backend (synchronous reads; GPU backends only read asynchronously). The
  // counter-based stream draws the same values (up to f32 rounding) on every backend.
  const u = noGrad(() => rand(p.shape, { low: lo, high: hi, backend: 'cpu-ref' }));
  const src = u.dataSync();
  u.dispose();
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = mean + std * normalQuantile(Math.min(Math.max(src[i]!, 1e-12), 1 - 1e-12));
    out[i] = Math.min(Math.max(v, a), b);
  }
  fill(p, () => tensor(out, p.shape, opts(p)));
}

/**
 * Runs `fn` with the global random stream seeded by `seed` (Python
 * `fix_seed`), then restores the stream, so every layer created with the same
 * seed gets the same initial weights and nothing else is disturbed.
 * Quirk Q7: Python tests `if seed:` and so ignores seed 0; here 0 is a seed
 * like any other (only null means "no seed").
 */
export function withInitSeed<T>(seed: number | null, fn: () => T): T {
  if (seed === null || seed === undefined) return fn();
  const saved = getRngState();
  manualSeed(seed);
  try {
    return fn();
  } finally {
    setRngState(saved);
  }
}
