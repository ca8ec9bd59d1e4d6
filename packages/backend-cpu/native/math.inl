// Vector math shared by every ISA unit: exp and the functions built on it.
// Included inside the unit's anonymous namespace after its VF definition.
//
// Accuracy (f32, measured against double references by the conformance
// suite): exp within 2 ulp over its whole range (denormal results included),
// tanh/sigmoid/silu/gelu-tanh within a few ulp or 1e-7 absolute near zero.

using T = VF::T;
using M = VF::M;
constexpr int W = VF::W;

/** Loads n < W (or any n <= W) floats, filling the other lanes with `pad`. */
static inline T load_part(const float* p, i64 n, float pad) {
  alignas(64) float t[W];
  for (int j = 0; j < W; j++) t[j] = j < n ? p[j] : pad;
  return VF::load(t);
}

/** Stores the first n lanes of v. */
static inline void store_part(float* p, T v, i64 n) {
  alignas(64) float t[W];
  VF::store(t, v);
  for (i64 j = 0; j < n; j++) p[j] = t[j];
}

/**
 * e^x: n = round(x / ln 2), r = x - n ln 2 (two-part constant, |r| <= ln2 / 2),
 * e^r by the Cephes degree-6 polynomial, then scaled by 2^n as two factors so
 * that results near overflow (n = 128) and gradual underflow (n down to -150)
 * come out right. NaN propagates (the clamps keep their NaN operand).
 */
static inline T exp_v(T x) {
  x = VF::min_raw(VF::set1(88.7300034f), x);
  x = VF::max_raw(VF::set1(-104.0f), x);
  T n = VF::round(VF::mul(x, VF::set1(1.44269504088896341f)));
  T r = VF::fma(n, VF::set1(-0.693359375f), x);
  r = VF::fma(n, VF::set1(2.12194440e-4f), r);
  T p = VF::set1(1.9875691500e-4f);
  p = VF::fma(p, r, VF::set1(1.3981999507e-3f));
  p = VF::fma(p, r, VF::set1(8.3334519073e-3f));
  p = VF::fma(p, r, VF::set1(4.1665795894e-2f));
  p = VF::fma(p, r, VF::set1(1.6666665459e-1f));
  p = VF::fma(p, r, VF::set1(5.0000001201e-1f));
  p = VF::fma(p, VF::mul(r, r), VF::add(r, VF::set1(1.0f)));
  T n1 = VF::max_raw(VF::min_raw(n, VF::set1(127.0f)), VF::set1(-126.0f));
  return VF::mul(VF::mul(p, VF::pow2(n1)), VF::pow2(VF::sub(n, n1)));
}

/** tanh: odd Taylor polynomial for |x| < 0.25, else 1 - 2/(e^{2|x|} + 1) (no overflow: e^∞ gives 1). */
static inline T tanh_v(T x) {
  T ax = VF::abs(x);
  T e = exp_v(VF::add(ax, ax));
  T big = VF::sub(VF::set1(1.0f), VF::div(VF::set1(2.0f), VF::add(e, VF::set1(1.0f))));
  T x2 = VF::mul(x, x);
  T p = VF::set1(-1382.0f / 155925.0f);
  p = VF::fma(p, x2, VF::set1(62.0f / 2835.0f));
  p = VF::fma(p, x2, VF::set1(-17.0f / 315.0f));
  p = VF::fma(p, x2, VF::set1(2.0f / 15.0f));
  p = VF::fma(p, x2, VF::set1(-1.0f / 3.0f));
  T small = VF::fma(VF::mul(p, x2), ax, ax);
  return VF::copysign(VF::select(VF::lt(ax, VF::set1(0.25f)), big, small), x);
}

/** 1/(1 + e^{-x}): e^{-x} overflows to ∞ for very negative x, giving 0 as it should. */
static inline T sigmoid_v(T x) {
  return VF::div(VF::set1(1.0f), VF::add(VF::set1(1.0f), exp_v(VF::neg(x))));
}

static inline T silu_v(T x) {
  return VF::div(x, VF::add(VF::set1(1.0f), exp_v(VF::neg(x))));
}

/**
 * GELU, tanh form: 0.5·x·(1 + tanh(u)) = x·sigmoid(2u), u = √(2/π)(x + 0.044715x³).
 * The sigmoid form has no 1 + tanh cancellation for negative x.
 */
static inline T gelu_tanh_v(T x) {
  T x3 = VF::mul(VF::mul(x, x), x);
  T u = VF::mul(VF::set1(0.7978845608028654f), VF::fma(VF::set1(0.044715f), x3, x));
  return VF::div(x, VF::add(VF::set1(1.0f), exp_v(VF::mul(VF::set1(-2.0f), u))));
}

/**
 * erf: odd rational approximation (as in Eigen / XLA) on x clamped to [-4, 4];
 * absolute error < 5e-7, relative error < 3e-7 for |x| < 1.
 */
static inline T erf_v(T x) {
  x = VF::max_raw(VF::set1(-4.0f), VF::min_raw(VF::set1(4.0f), x));
  const T x2 = VF::mul(x, x);
  T p = VF::set1(-2.72614225801306e-10f);
  p = VF::fma(p, x2, VF::set1(2.77068142495902e-08f));
  p = VF::fma(p, x2, VF::set1(-2.10102402082508e-06f));
  p = VF::fma(p, x2, VF::set1(-5.69250639462346e-05f));
  p = VF::fma(p, x2, VF::set1(-7.34990630326855e-04f));
  p = VF::fma(p, x2, VF::set1(-2.95459980854025e-03f));
  p = VF::fma(p, x2, VF::set1(-1.60960333262415e-02f));
  T q = VF::set1(-1.45660718464996e-05f);
  q = VF::fma(q, x2, VF::set1(-2.13374055278905e-04f));
  q = VF::fma(q, x2, VF::set1(-1.68282697438203e-03f));
  q = VF::fma(q, x2, VF::set1(-7.37332916720468e-03f));
  q = VF::fma(q, x2, VF::set1(-1.42647390514189e-02f));
  return VF::div(VF::mul(x, p), q);
}

/**
 * erfc by the Chebyshev-fitted form of Numerical Recipes (erfcc): relative
 * error < 1.2e-7 for z >= 0 (so the tail keeps its relative accuracy, unlike
 * 1 - erf), and erfc(z) = 2 - erfc(-z) below 0.
 */
static inline T erfc_v(T z) {
  const T az = VF::abs(z);
  const T t = VF::div(VF::set1(1.0f), VF::fma(VF::set1(0.5f), az, VF::set1(1.0f)));
  T p = VF::set1(0.17087277f);
  p = VF::fma(p, t, VF::set1(-0.82215223f));
  p = VF::fma(p, t, VF::set1(1.48851587f));
  p = VF::fma(p, t, VF::set1(-1.13520398f));
  p = VF::fma(p, t, VF::set1(0.27886807f));
  p = VF::fma(p, t, VF::set1(-0.18628806f));
  p = VF::fma(p, t, VF::set1(0.09678418f));
  p = VF::fma(p, t, VF::set1(0.37409196f));
  p = VF::fma(p, t, VF::set1(1.00002368f));
  p = VF::fma(p, t, VF::set1(-1.26551223f));
  const T r = VF::mul(t, exp_v(VF::sub(p, VF::mul(az, az))));
  return VF::select(VF::lt(z, VF::zero()), r, VF::sub(VF::set1(2.0f), r));
}

/** Exact GELU 0.5·x·erfc(-x/√2): erfc keeps relative accuracy for negative x. */
static inline T gelu_v(T x) {
  return VF::mul(VF::mul(VF::set1(0.5f), x), erfc_v(VF::mul(x, VF::set1(-0.70710678118654752f))));
}

/** JS Math.pow semantics where they differ from C pow: NaN exponent → NaN, (±1)^±∞ → NaN. */
static inline float pow_s(float a, float b) {
  if (b != b) return b;
  if ((a == 1.0f || a == -1.0f) && (b == __builtin_inff() || b == -__builtin_inff())) return __builtin_nanf("");
  return powf(a, b);
}
