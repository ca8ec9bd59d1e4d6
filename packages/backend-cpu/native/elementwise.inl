// Elementwise kernels over strided views (unary, binary, compare). Each op has
// one vector form; contiguous runs use it directly (a padded vector for the
// tail), strided runs gather into a small buffer, apply it, and scatter, so
// results never depend on the layout. Ops without a vector form here (sin,
// cos, log, pow) call libm per element.

/** Elements per thread below which an elementwise op runs on one thread. */
constexpr i64 kGrainCheap = 1 << 16;
constexpr i64 kGrainCostly = 1 << 12;
constexpr i64 kBuf = 256;

// ------------------------------------------------------------------ unary

template <int OP> struct Unary;
#define KIT_UNARY_V(OP, EXPR) \
  template <> struct Unary<OP> { static constexpr bool vec = true; static constexpr bool costly = false; static inline T v(T x) { return EXPR; } }
#define KIT_UNARY_VC(OP, EXPR) \
  template <> struct Unary<OP> { static constexpr bool vec = true; static constexpr bool costly = true; static inline T v(T x) { return EXPR; } }
#define KIT_UNARY_S(OP, EXPR) \
  template <> struct Unary<OP> { static constexpr bool vec = false; static constexpr bool costly = true; static inline float s(float x) { return EXPR; } }

KIT_UNARY_V(U_NEG, VF::neg(x));
KIT_UNARY_V(U_ABS, VF::abs(x));
// +1 / -1 / +0 (for ±0) / NaN, as the reference.
KIT_UNARY_V(U_SIGN, VF::select(VF::isnan(x), VF::select(VF::lt(x, VF::zero()), VF::select(VF::gt(x, VF::zero()), VF::zero(), VF::set1(1.0f)), VF::set1(-1.0f)), x));
KIT_UNARY_VC(U_EXP, exp_v(x));
KIT_UNARY_S(U_LOG, logf(x));
KIT_UNARY_V(U_SQRT, VF::sqrt(x));
KIT_UNARY_V(U_RSQRT, VF::div(VF::set1(1.0f), VF::sqrt(x)));
KIT_UNARY_V(U_RECIP, VF::div(VF::set1(1.0f), x));
KIT_UNARY_V(U_SQUARE, VF::mul(x, x));
KIT_UNARY_S(U_SIN, sinf(x));
KIT_UNARY_S(U_COS, cosf(x));
KIT_UNARY_VC(U_TANH, tanh_v(x));
KIT_UNARY_VC(U_SIGMOID, sigmoid_v(x));
// x < 0 ? 0 : x keeps NaN and -0 like the reference.
KIT_UNARY_V(U_RELU, VF::select(VF::lt(x, VF::zero()), x, VF::zero()));
KIT_UNARY_VC(U_ERF, erf_v(x));
KIT_UNARY_VC(U_GELU, gelu_v(x));
KIT_UNARY_VC(U_GELU_TANH, gelu_tanh_v(x));
KIT_UNARY_VC(U_SILU, silu_v(x));

/** y[0..n) = op(x[0..n)), both contiguous. */
template <int OP>
static void unary_array(const float* x, float* y, i64 n) {
  if constexpr (Unary<OP>::vec) {
    i64 i = 0;
    for (; i + W <= n; i += W) VF::store(y + i, Unary<OP>::v(VF::load(x + i)));
    if (i < n) store_part(y + i, Unary<OP>::v(load_part(x + i, n - i, 0.0f)), n - i);
  } else {
    for (i64 i = 0; i < n; i++) y[i] = Unary<OP>::s(x[i]);
  }
}

template <int OP>
static void unary_strided(const float* x, float* y, const Strided& s) {
  par_walk(s, Unary<OP>::costly ? kGrainCostly : kGrainCheap, [&](const i64* o, const i64* st, i64 n) {
    if (st[0] == 1 && st[1] == 1) {
      unary_array<OP>(x + o[1], y + o[0], n);
      return;
    }
    float in[kBuf], out[kBuf];
    for (i64 b = 0; b < n; b += kBuf) {
      const i64 c = imin(kBuf, n - b);
      const float* xp = x + o[1] + b * st[1];
      for (i64 i = 0; i < c; i++) in[i] = xp[i * st[1]];
      unary_array<OP>(in, out, c);
      float* yp = y + o[0] + b * st[0];
      for (i64 i = 0; i < c; i++) yp[i * st[0]] = out[i];
    }
  });
}

static void unary_kernel(int op, const float* x, float* y, const Strided& s) {
  switch (op) {
#define KIT_CASE(OP) case OP: unary_strided<OP>(x, y, s); break;
    KIT_CASE(U_NEG) KIT_CASE(U_ABS) KIT_CASE(U_SIGN) KIT_CASE(U_EXP) KIT_CASE(U_LOG) KIT_CASE(U_SQRT)
    KIT_CASE(U_RSQRT) KIT_CASE(U_RECIP) KIT_CASE(U_SQUARE) KIT_CASE(U_SIN) KIT_CASE(U_COS) KIT_CASE(U_TANH)
    KIT_CASE(U_SIGMOID) KIT_CASE(U_RELU) KIT_CASE(U_ERF) KIT_CASE(U_GELU) KIT_CASE(U_GELU_TANH) KIT_CASE(U_SILU)
#undef KIT_CASE
    default: break;
  }
}

// ------------------------------------------------------------------ binary

template <int OP> struct Binary;
#define KIT_BINARY_V(OP, EXPR) \
  template <> struct Binary<OP> { static constexpr bool vec = true; static inline T v(T a, T b) { return EXPR; } }
KIT_BINARY_V(B_ADD, VF::add(a, b));
KIT_BINARY_V(B_SUB, VF::sub(a, b));
KIT_BINARY_V(B_MUL, VF::mul(a, b));
KIT_BINARY_V(B_DIV, VF::div(a, b));
// NaN wins, and on ties (±0) the second operand, exactly as the reference.
KIT_BINARY_V(B_MAXIMUM, VF::select(VF::mor(VF::gt(a, b), VF::isnan(a)), b, a));
KIT_BINARY_V(B_MINIMUM, VF::select(VF::mor(VF::lt(a, b), VF::isnan(a)), b, a));
template <> struct Binary<B_POW> { static constexpr bool vec = false; static inline float s(float a, float b) { return pow_s(a, b); } };

/** z[i] = op(a[SA ? i : 0], b[SB ? i : 0]) for i < n; z contiguous. */
template <int OP, bool SA, bool SB>
static void binary_array(const float* a, const float* b, float* z, i64 n) {
  if constexpr (Binary<OP>::vec) {
    const T a0 = VF::set1(a[0]), b0 = VF::set1(b[0]);
    i64 i = 0;
    for (; i + W <= n; i += W) VF::store(z + i, Binary<OP>::v(SA ? VF::load(a + i) : a0, SB ? VF::load(b + i) : b0));
    if (i < n) {
      const T av = SA ? load_part(a + i, n - i, 1.0f) : a0, bv = SB ? load_part(b + i, n - i, 1.0f) : b0;
      store_part(z + i, Binary<OP>::v(av, bv), n - i);
    }
  } else {
    for (i64 i = 0; i < n; i++) z[i] = Binary<OP>::s(a[SA ? i : 0], b[SB ? i : 0]);
  }
}

template <int OP>
static void binary_strided(const float* a, const float* b, float* z, const Strided& s) {
  par_walk(s, Binary<OP>::vec ? kGrainCheap : kGrainCostly, [&](const i64* o, const i64* st, i64 n) {
    const float* ap = a + o[1];
    const float* bp = b + o[2];
    float* zp = z + o[0];
    if (st[0] == 1 && (st[1] == 0 || st[1] == 1) && (st[2] == 0 || st[2] == 1)) {
      if (st[1] && st[2]) binary_array<OP, true, true>(ap, bp, zp, n);
      else if (st[1]) binary_array<OP, true, false>(ap, bp, zp, n);
      else if (st[2]) binary_array<OP, false, true>(ap, bp, zp, n);
      else binary_array<OP, false, false>(ap, bp, zp, n);
      return;
    }
    float ia[kBuf], ib[kBuf], out[kBuf];
    for (i64 q = 0; q < n; q += kBuf) {
      const i64 c = imin(kBuf, n - q);
      for (i64 i = 0; i < c; i++) ia[i] = ap[(q + i) * st[1]];
      for (i64 i = 0; i < c; i++) ib[i] = bp[(q + i) * st[2]];
      binary_array<OP, true, true>(ia, ib, out, c);
      for (i64 i = 0; i < c; i++) zp[(q + i) * st[0]] = out[i];
    }
  });
}

static void binary_kernel(int op, const float* a, const float* b, float* z, const Strided& s) {
  switch (op) {
    case B_ADD: binary_strided<B_ADD>(a, b, z, s); break;
    case B_SUB: binary_strided<B_SUB>(a, b, z, s); break;
    case B_MUL: binary_strided<B_MUL>(a, b, z, s); break;
    case B_DIV: binary_strided<B_DIV>(a, b, z, s); break;
    case B_POW: binary_strided<B_POW>(a, b, z, s); break;
    case B_MAXIMUM: binary_strided<B_MAXIMUM>(a, b, z, s); break;
    case B_MINIMUM: binary_strided<B_MINIMUM>(a, b, z, s); break;
    default: break;
  }
}

// ------------------------------------------------------------------ compare

template <int OP> static inline bool cmp_s(float a, float b);
template <> inline bool cmp_s<C_EQ>(float a, float b) { return a == b; }
template <> inline bool cmp_s<C_NE>(float a, float b) { return a != b; }
template <> inline bool cmp_s<C_LT>(float a, float b) { return a < b; }
template <> inline bool cmp_s<C_LE>(float a, float b) { return a <= b; }
template <> inline bool cmp_s<C_GT>(float a, float b) { return a > b; }
template <> inline bool cmp_s<C_GE>(float a, float b) { return a >= b; }

template <int OP>
static void compare_strided(const float* a, const float* b, uint8_t* z, const Strided& s) {
  par_walk(s, kGrainCheap, [&](const i64* o, const i64* st, i64 n) {
    const float* ap = a + o[1];
    const float* bp = b + o[2];
    uint8_t* zp = z + o[0];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
      for (i64 i = 0; i < n; i++) zp[i] = cmp_s<OP>(ap[i], bp[i]) ? 1 : 0;
    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
      const float bv = bp[0];
      for (i64 i = 0; i < n; i++) zp[i] = cmp_s<OP>(ap[i], bv) ? 1 : 0;
    } else {
      for (i64 i = 0; i < n; i++) zp[i * st[0]] = cmp_s<OP>(ap[i * st[1]], bp[i * st[2]]) ? 1 : 0;
    }
  });
}

static void compare_kernel(int op, const float* a, const float* b, uint8_t* z, const Strided& s) {
  switch (op) {
    case C_EQ: compare_strided<C_EQ>(a, b, z, s); break;
    case C_NE: compare_strided<C_NE>(a, b, z, s); break;
    case C_LT: compare_strided<C_LT>(a, b, z, s); break;
    case C_LE: compare_strided<C_LE>(a, b, z, s); break;
    case C_GT: compare_strided<C_GT>(a, b, z, s); break;
    case C_GE: compare_strided<C_GE>(a, b, z, s); break;
    default: break;
  }
}
