import type { DType } from '@adapterkit/core';

/**
 * WGSL building blocks shared by the kernels: binding declarations, the
 * params uniform, per-dtype element loads/stores on packed u32 words, exact
 * dtype conversions, and an f32 math library.
 *
 * Storage layout: every buffer is declared `array<u32>`. 32-bit dtypes (f32,
 * i32) use one word per element; f16/bf16 pack two elements per word and
 * u8/i8 four, little-endian, exactly like the host typed arrays, so reads and
 * writes are plain byte copies. Kernels that write a 16- or 8-bit output bind
 * it as `array<atomic<u32>>` and set their bytes with atomicAnd/atomicOr, so
 * neighbouring elements written by other invocations are never clobbered.
 *
 * Numerics: WGSL allows NaN comparisons to be optimised away (on Dawn +
 * lavapipe `x != x` is false for NaN), so NaN tests look at the bits. WGSL
 * also only promises coarse accuracy for exp/log/sin/cos/tanh (sin/cos: 2^-11
 * absolute), so the math library below implements them with range reduction
 * and polynomials (≈1–3 ulp).
 */

/** Invocations per workgroup of the 1-D kernels. */
export const WG = 256;

/** Words in the params uniform (16 × vec4<u32> = 256 bytes). */
export const PARAM_WORDS = 64;

export type Access = 'read' | 'write' | 'atomic';

export interface BindingDecl {
  name: string;
  access: Access;
}

/** WGSL type an element of `dtype` is computed in. */
export function computeType(dtype: DType): 'f32' | 'i32' | 'u32' {
  switch (dtype) {
    case 'f32': case 'f16': case 'bf16': return 'f32';
    case 'i32': case 'i8': return 'i32';
    case 'u8': return 'u32';
    default: throw new Error(`webgpu: dtype ${dtype} is not supported`);
  }
}

/** Bits per stored element. */
export function elementBits(dtype: DType): 8 | 16 | 32 {
  switch (dtype) {
    case 'u8': case 'i8': return 8;
    case 'f16': case 'bf16': return 16;
    case 'f32': case 'i32': return 32;
    default: throw new Error(`webgpu: dtype ${dtype} is not supported`);
  }
}

/** Binding access an output of `dtype` needs (sub-word outputs are written with atomics). */
export function outAccess(dtype: DType): Access {
  return elementBits(dtype) === 32 ? 'write' : 'atomic';
}

/** Declarations of the storage bindings (0..n-1) and the params uniform (binding n). */
export function header(bindings: readonly BindingDecl[]): string {
  const lines = bindings.map((b, i) => {
    const mode = b.access === 'read' ? 'read' : 'read_write';
    const elem = b.access === 'atomic' ? 'atomic<u32>' : 'u32';
    return `@group(0) @binding(${i}) var<storage, ${mode}> ${b.name}: array<${elem}>;`;
  });
  return `${lines.join('\n')}
struct Params { v: array<vec4<u32>, ${PARAM_WORDS / 4}> }
@group(0) @binding(${bindings.length}) var<uniform> P: Params;
fn pu(i: u32) -> u32 { return P.v[i >> 2u][i & 3u]; }
fn pi(i: u32) -> i32 { return bitcast<i32>(pu(i)); }
fn pf(i: u32) -> f32 { return bitcast<f32>(pu(i)); }
${BITS_WGSL}`;
}

/** Linear workgroup index for grids folded into two dimensions (see `grid`). */
export const ENTRY_1D = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let gid = (wid.y * nwg.x + wid.x) * ${WG}u + lid;`;

/** Workgroups for `n` invocations of WG each: [x, y] with x ≤ 65535. */
export function grid(groups: number): [number, number] {
  if (groups <= 65535) return [groups, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

/** NaN/Inf helpers and exact bit conversions between dtypes. */
const BITS_WGSL = /* wgsl */ `
fn f_inf() -> f32 { let k = 0x7f800000u; return bitcast<f32>(k); }
fn f_nan() -> f32 { let k = 0x7fc00000u; return bitcast<f32>(k); }
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
fn is_inf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }

fn f16_to_f32(h: u32) -> f32 {
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    let v = f32(m) * 5.9604644775390625e-8;
    return bitcast<f32>(bitcast<u32>(v) | s);
  }
  if (e == 31u) {
    if (m != 0u) { return f_nan(); }
    return bitcast<f32>(s | 0x7f800000u);
  }
  return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 13u));
}

// Round to nearest even, subnormals and overflow to Inf (as dtype.ts f32ToF16Bits).
fn f32_to_f16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let sign = (x >> 16u) & 0x8000u;
  let ex = (x >> 23u) & 0xffu;
  var mant = x & 0x7fffffu;
  if (ex == 0xffu) { return sign | 0x7c00u | select(0u, 0x200u, mant != 0u); }
  let e = i32(ex) - 112;
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    mant = mant | 0x800000u;
    let shift = u32(14 - e);
    var half = mant >> shift;
    let rem = mant & ((1u << shift) - 1u);
    let mid = 1u << (shift - 1u);
    if (rem > mid || (rem == mid && (half & 1u) != 0u)) { half = half + 1u; }
    return sign | half;
  }
  var h = (u32(e) << 10u) | (mant >> 13u);
  let rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) != 0u)) { h = h + 1u; }
  return sign | h;
}

fn bf16_to_f32(h: u32) -> f32 { return bitcast<f32>(h << 16u); }

fn f32_to_bf16(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  if ((b & 0x7fffffffu) > 0x7f800000u) { return ((b >> 16u) | 0x40u) & 0xffffu; }
  return ((b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u) & 0xffffu;
}

// ECMAScript ToInt32: truncate toward zero, wrap modulo 2^32, NaN/Inf -> 0 (what typed arrays store).
fn f32_to_i32_wrap(v: f32) -> i32 {
  let b = bitcast<u32>(v);
  let e = (b >> 23u) & 0xffu;
  if (e == 0xffu) { return 0; }
  if (e < 158u) { return i32(trunc(v)); }
  let sh = e - 150u;
  if (sh >= 32u) { return 0; }
  var r = ((b & 0x7fffffu) | 0x800000u) << sh;
  if ((b & 0x80000000u) != 0u) { r = 0u - r; }
  return bitcast<i32>(r);
}

// i32 -> f32 rounded to nearest even (WGSL leaves the rounding of large ints open).
fn i32_to_f32(x: i32) -> f32 {
  let neg = x < 0;
  let u = select(bitcast<u32>(x), 0u - bitcast<u32>(x), neg);
  var f: f32;
  if (u < 0x1000000u) {
    f = f32(u);
  } else {
    let sh = firstLeadingBit(u) - 23u;
    var m = u >> sh;
    let rem = u & ((1u << sh) - 1u);
    let half = 1u << (sh - 1u);
    if (rem > half || (rem == half && (m & 1u) == 1u)) { m = m + 1u; }
    f = f32(m) * bitcast<f32>((127u + sh) << 23u);
  }
  return select(f, -f, neg);
}
`;

/** Expression: the stored bits of a value of compute type of `dtype`. */
export function encodeExpr(dtype: DType, v: string): string {
  switch (dtype) {
    case 'f32': case 'i32': return `bitcast<u32>(${v})`;
    case 'f16': return `f32_to_f16(${v})`;
    case 'bf16': return `f32_to_bf16(${v})`;
    case 'i8': return `(bitcast<u32>(${v}) & 0xffu)`;
    case 'u8': return `((${v}) & 0xffu)`;
    default: throw new Error(`webgpu: dtype ${dtype} is not supported`);
  }
}

/** Expression: the compute value of stored bits `b` (zero-extended) of `dtype`. */
export function decodeExpr(dtype: DType, b: string): string {
  switch (dtype) {
    case 'f32': return `bitcast<f32>(${b})`;
    case 'i32': return `bitcast<i32>(${b})`;
    case 'f16': return `f16_to_f32(${b})`;
    case 'bf16': return `bf16_to_f32(${b})`;
    case 'i8': return `((bitcast<i32>(${b}) << 24u) >> 24u)`;
    case 'u8': return `(${b})`;
    default: throw new Error(`webgpu: dtype ${dtype} is not supported`);
  }
}

/**
 * `fn bits_<buf>(i: u32) -> u32`: the zero-extended stored bits of element i,
 * and `fn ld_<buf>(i: u32) -> T`: its compute value.
 */
export function loadFns(buf: string, dtype: DType): string {
  const bits = elementBits(dtype);
  let body: string;
  if (bits === 32) body = `return ${buf}[i];`;
  else if (bits === 16) body = `return (${buf}[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu;`;
  else body = `return (${buf}[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;`;
  return `fn bits_${buf}(i: u32) -> u32 { ${body} }
fn ld_${buf}(i: u32) -> ${computeType(dtype)} { return ${decodeExpr(dtype, `bits_${buf}(i)`)}; }`;
}

/**
 * `fn stb_<buf>(i: u32, b: u32)`: stores element bits; `fn st_<buf>(i, v: T)`:
 * stores a compute value. Sub-word dtypes need the binding declared 'atomic'.
 */
export function storeFns(buf: string, dtype: DType): string {
  const bits = elementBits(dtype);
  let body: string;
  if (bits === 32) {
    body = `${buf}[i] = b;`;
  } else {
    const per = bits === 16 ? 1 : 2; // log2(elements per word)
    const mask = bits === 16 ? '0xffffu' : '0xffu';
    body = `let w = i >> ${per}u; let sh = (i & ${(1 << per) - 1}u) * ${bits}u;
  atomicAnd(&${buf}[w], ~(${mask} << sh));
  atomicOr(&${buf}[w], (b & ${mask}) << sh);`;
  }
  return `fn stb_${buf}(i: u32, b: u32) { ${body} }
fn st_${buf}(i: u32, v: ${computeType(dtype)}) { stb_${buf}(i, ${encodeExpr(dtype, 'v')}); }`;
}

/** Expression converting a compute value of `from` into the compute value of `to` (the cast kernel's rules). */
export function convertExpr(v: string, from: DType, to: DType): string {
  const cf = computeType(from), ct = computeType(to);
  if (cf === 'f32') {
    if (ct === 'f32') return v;
    if (to === 'i32') return `f32_to_i32_wrap(${v})`;
    if (to === 'i8') return `((f32_to_i32_wrap(${v}) << 24u) >> 24u)`;
    return `(bitcast<u32>(f32_to_i32_wrap(${v})) & 0xffu)`; // u8
  }
  if (ct === 'f32') return cf === 'i32' ? `i32_to_f32(${v})` : `f32(${v})`;
  // integer -> integer: keep the low bits, sign-extend for i8.
  if (to === 'i32') return cf === 'i32' ? v : `i32(${v})`;
  if (to === 'i8') return cf === 'i32' ? `((${v} << 24u) >> 24u)` : `((bitcast<i32>(${v}) << 24u) >> 24u)`;
  return cf === 'i32' ? `(bitcast<u32>(${v}) & 0xffu)` : `((${v}) & 0xffu)`; // u8
}

/**
 * f32 math with explicit range reduction. Accuracy (vs. correctly rounded):
 * m_exp, m_log ≈ 1–2 ulp; m_sin/m_cos ≈ 2 ulp for |x| ≲ 1e4 (Cody–Waite with
 * a 3-part π/2), m_tanh/m_expm1 ≈ 3 ulp; m_erfc ≈ 3e-7 relative (Numerical
 * Recipes' Chebyshev fit of erfc, 1.2e-7 in exact arithmetic), m_erf uses the
 * Maclaurin series below 0.5 so it stays relatively accurate near zero.
 */
export const MATH_WGSL = /* wgsl */ `
fn pow2i(n: i32) -> f32 { return bitcast<f32>(u32(n + 127) << 23u); }

fn m_exp(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x > 88.72284) { return f_inf(); }
  if (x < -103.98) { return 0.0; }
  let k = round(x * 1.4426950408889634);
  let r = (x - k * 0.693145751953125) - k * 1.4286068203094172e-6;
  let p = 1.0 + r * (1.0 + r * (0.5 + r * (0.16666666666666666 + r * (0.041666666666666664 + r * (0.008333333333333333 + r * (0.001388888888888889 + r * 0.0001984126984126984))))));
  let ki = i32(k);
  if (ki > 127) { return p * pow2i(127) * pow2i(ki - 127); }
  if (ki < -126) { return p * pow2i(-126) * pow2i(ki + 126); }
  return p * pow2i(ki);
}

fn m_expm1(x: f32) -> f32 {
  if (abs(x) < 0.5) {
    return x * (1.0 + x * (0.5 + x * (0.16666666666666666 + x * (0.041666666666666664 + x * (0.008333333333333333 + x * (0.001388888888888889 + x * (0.0001984126984126984 + x * 2.48015873015873e-5)))))));
  }
  return m_exp(x) - 1.0;
}

fn m_log(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x < 0.0) { return f_nan(); }
  if (x == 0.0) { return -f_inf(); }
  if (is_inf(x)) { return x; }
  var b = bitcast<u32>(x);
  var e = i32(b >> 23u) - 127;
  if ((b >> 23u) == 0u) {
    b = bitcast<u32>(x * 8388608.0);
    e = i32(b >> 23u) - 150;
  }
  var m = bitcast<f32>((b & 0x7fffffu) | 0x3f800000u);
  if (m > 1.4142135) { m = m * 0.5; e = e + 1; }
  let f = m - 1.0;
  let s = f / (2.0 + f);
  let z = s * s;
  let R = z * (0.6666666666666666 + z * (0.4 + z * (0.2857142857142857 + z * (0.2222222222222222 + z * 0.18181818181818182))));
  let hfsq = 0.5 * f * f;
  let ef = f32(e);
  return ef * 0.693145751953125 - ((hfsq - (s * (hfsq + R) + ef * 1.4286068203094172e-6)) - f);
}

// Reduces x to r in [-pi/4, pi/4] and the quadrant q (x = q*pi/2 + r).
fn m_reduce(x: f32) -> vec2f {
  let k = round(x * 0.6366197723675814);
  let r = ((x - k * 1.5703125) - k * 4.837512969970703e-4) - k * 7.549789954891886e-8;
  return vec2f(r, k);
}
fn m_sin_poly(r: f32) -> f32 {
  let z = r * r;
  return r + r * z * (-0.16666666666666666 + z * (0.008333333333333333 + z * (-0.0001984126984126984 + z * (2.7557319223985893e-6 + z * -2.505210838544172e-8))));
}
fn m_cos_poly(r: f32) -> f32 {
  let z = r * r;
  return 1.0 - 0.5 * z + z * z * (0.041666666666666664 + z * (-0.001388888888888889 + z * (2.48015873015873e-5 + z * (-2.755731922398589e-7 + z * 2.08767569878681e-9))));
}
fn m_sin(x: f32) -> f32 {
  if (!is_finite(x)) { return f_nan(); }
  let rk = m_reduce(x);
  let q = bitcast<u32>(i32(rk.y)) & 3u;
  let s = m_sin_poly(rk.x);
  let c = m_cos_poly(rk.x);
  if (q == 0u) { return s; }
  if (q == 1u) { return c; }
  if (q == 2u) { return -s; }
  return -c;
}
fn m_cos(x: f32) -> f32 {
  if (!is_finite(x)) { return f_nan(); }
  let rk = m_reduce(x);
  let q = bitcast<u32>(i32(rk.y)) & 3u;
  let s = m_sin_poly(rk.x);
  let c = m_cos_poly(rk.x);
  if (q == 0u) { return c; }
  if (q == 1u) { return -s; }
  if (q == 2u) { return -c; }
  return s;
}

fn m_tanh(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  let a = abs(x);
  if (a > 9.5) { return sign(x); }
  let e = m_expm1(-2.0 * a);
  let t = -e / (e + 2.0);
  return select(t, -t, x < 0.0);
}

fn m_sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + m_exp(-x)); }
  let e = m_exp(x);
  return e / (1.0 + e);
}

// erf by its Maclaurin series, for |x| < 0.5.
fn m_erf_series(x: f32) -> f32 {
  let z = x * x;
  return 1.1283791670955126 * x * (1.0 + z * (-0.3333333333333333 + z * (0.1 + z * (-0.023809523809523808 + z * (0.004629629629629629 + z * (-0.0007575757575757576 + z * 0.00010683760683760684))))));
}
// erfc(z) for z >= 0: Chebyshev fit (Numerical Recipes erfcc), relative error < 1.2e-7.
fn m_erfc_pos(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * m_exp(p);
}
fn m_erf(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  let a = abs(x);
  if (a < 0.5) { return m_erf_series(x); }
  let r = 1.0 - m_erfc_pos(a);
  return select(r, -r, x < 0.0);
}
fn m_erfc(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (abs(x) < 0.5) { return 1.0 - m_erf_series(x); }
  if (x > 0.0) { return m_erfc_pos(x); }
  return 2.0 - m_erfc_pos(-x);
}

fn m_gelu(x: f32) -> f32 { return 0.5 * x * m_erfc(-x * 0.7071067811865476); }
// 0.5·x·(1 + tanh(u)) = x·sigmoid(2u): no cancellation for negative x.
fn m_gelu_tanh(x: f32) -> f32 {
  let u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  return x * m_sigmoid(2.0 * u);
}

fn m_pow(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (is_nan(x) || is_nan(y)) { return f_nan(); }
  let yInt = is_finite(y) && trunc(y) == y;
  if (yInt && abs(y) <= 64.0) {
    var n = u32(abs(y));
    var base = x;
    var acc = 1.0;
    loop {
      if ((n & 1u) != 0u) { acc = acc * base; }
      n = n >> 1u;
      if (n == 0u) { break; }
      base = base * base;
    }
    if (y < 0.0) { return 1.0 / acc; }
    return acc;
  }
  if (x < 0.0 && !yInt && is_finite(y)) { return f_nan(); }
  let ax = abs(x);
  if (ax == 1.0 && !is_finite(y)) { return f_nan(); }
  let r = m_exp(y * m_log(ax));
  // negative base with an odd integer exponent (|y| > 64 here, so y is even above 2^24)
  if (x < 0.0 && yInt && abs(y) < 16777216.0 && (u32(abs(y)) & 1u) == 1u) { return -r; }
  return r;
}
`;

/** Builds the params block of one dispatch (≤ PARAM_WORDS words). */
export class Params {
  readonly words = new Uint32Array(PARAM_WORDS);
  private readonly f32 = new Float32Array(this.words.buffer);
  private readonly i32 = new Int32Array(this.words.buffer);
  private n = 0;

  u32(v: number): this {
    this.check();
    this.words[this.n++] = v >>> 0;
    return this;
  }

  i32v(v: number): this {
    this.check();
    this.i32[this.n++] = v | 0;
    return this;
  }

  f32v(v: number): this {
    this.check();
    this.f32[this.n++] = v;
    return this;
  }

  get length(): number {
    return this.n;
  }

  private check(): void {
    if (this.n >= PARAM_WORDS) throw new Error(`webgpu: kernel params exceed ${PARAM_WORDS} words`);
  }
}

/** Invocations per workgroup of the row kernels. */
export const RW = 256;

/**
 * Lanes that cooperate on one row of `cols` elements: short rows get one lane
 * each (no barriers at all), long rows a whole workgroup. A workgroup holds
 * RW / lanes rows.
 */
export function lanesPerRow(cols: number): 1 | 32 | 64 | 256 {
  if (cols <= 4) return 1;
  if (cols <= 64) return 32;
  if (cols <= 512) return 64;
  return 256;
}

/** Workgroups for `rows` rows at `lanes` lanes per row (folded as in `grid`). */
export function rowGrid(rows: number, lanes: number): [number, number] {
  return grid(Math.ceil(rows / (RW / lanes)));
}

/**
 * Entry of a row kernel with L lanes per row: `row` is this lane's row,
 * `lane` its index within the row (stride L over the columns), `valid`
 * whether the row exists (rows past the end still take part in the
 * workgroup reductions, so no lane may return before them).
 */
export function rowEntry(L: number): string {
  return `@compute @workgroup_size(${RW})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = (wid.y * nwg.x + wid.x) * ${RW / L}u + lid / ${L}u;
  let lane = lid % ${L}u;
  let valid = row < pu(0u);`;
}

/** NaN-propagating max of two f32 (NaN tested on the bits). */
export const MAXNAN_WGSL = /* wgsl */ `
fn max_nan(a: f32, b: f32) -> f32 {
  if (is_nan(a)) { return a; }
  if (is_nan(b) || b > a) { return b; }
  return a;
}`;

/**
 * Segmented sum and NaN-propagating max over the L lanes of each row (tree in
 * shared memory); every lane gets its row's result. Must be called from
 * uniform control flow by every lane of the workgroup.
 */
export function rowReduceWgsl(L: number): string {
  if (L === 1) {
    return `
fn seg_sum(v: f32, lid: u32) -> f32 { return v; }
fn seg_max(v: f32, lid: u32) -> f32 { return v; }`;
  }
  const seg = (name: string, combine: string): string => `
fn ${name}(v: f32, lid: u32) -> f32 {
  wg_red[lid] = v;
  workgroupBarrier();
  let lane = lid % ${L}u;
  for (var s = ${L / 2}u; s > 0u; s = s >> 1u) {
    if (lane < s) { wg_red[lid] = ${combine}; }
    workgroupBarrier();
  }
  let r = wg_red[lid - lane];
  workgroupBarrier();
  return r;
}`;
  return `
var<workgroup> wg_red: array<f32, ${RW}>;${seg('seg_sum', 'wg_red[lid] + wg_red[lid + s]')}${seg('seg_max', 'max_nan(wg_red[lid], wg_red[lid + s])')}`;
}

/** Kahan-compensated running sum: acc.x is the sum, acc.y the compensation. */
export const KAHAN_WGSL = /* wgsl */ `
fn kahan_add(acc: vec2f, v: f32) -> vec2f {
  let y = v - acc.y;
  let t = acc.x + y;
  return vec2f(t, (t - acc.x) - y);
}`;
