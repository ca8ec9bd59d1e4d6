// One-lane "vector" for the portable fallback (any CPU, any compiler). The
// kernels are the same templates as for AVX2/AVX-512; the compiler may still
// auto-vectorise the simple loops for the baseline ISA (SSE2 on x86-64).
struct VF {
  static constexpr int W = 1;
  using T = float;
  using M = bool;

  static inline T zero() { return 0.0f; }
  static inline T set1(float v) { return v; }
  static inline T load(const float* p) { return *p; }
  static inline void store(float* p, T v) { *p = v; }
  static inline T add(T a, T b) { return a + b; }
  static inline T sub(T a, T b) { return a - b; }
  static inline T mul(T a, T b) { return a * b; }
  static inline T div(T a, T b) { return a / b; }
  /** a*b + c, unfused here: the baseline ISA has no FMA instruction and fmaf() would be a slow libm call. */
  static inline T fma(T a, T b, T c) { return a * b + c; }
  /** Same NaN rule as x86 max/min: the second operand wins when either is NaN. */
  static inline T max_raw(T a, T b) { return a > b ? a : b; }
  static inline T min_raw(T a, T b) { return a < b ? a : b; }
  static inline T sqrt(T a) { return __builtin_sqrtf(a); }
  static inline T neg(T a) { return -a; }
  static inline T abs(T a) { return __builtin_fabsf(a); }
  /** |mag| with the sign of sgn. */
  static inline T copysign(T mag, T sgn) { return __builtin_copysignf(mag, sgn); }
  static inline T round(T a) { return __builtin_nearbyintf(a); }

  static inline M gt(T a, T b) { return a > b; }
  static inline M lt(T a, T b) { return a < b; }
  static inline M eq(T a, T b) { return a == b; }
  static inline M isnan(T a) { return a != a; }
  static inline M mor(M a, M b) { return a || b; }
  static inline bool any(M m) { return m; }
  static inline T select(M m, T a, T b) { return m ? b : a; }

  static inline T pow2(T n) { return __builtin_ldexpf(1.0f, static_cast<int>(n)); }

  static inline float hsum(T v) { return v; }
  static inline float hmax(T v) { return v; }
  static inline float hmin(T v) { return v; }
};

/** GEMM register tile 4x8 (32 scalar accumulators; compilers keep most in registers). */
constexpr int kMR = 4;
constexpr int kNV = 8;
constexpr int kKC = 256;
constexpr int kMC = 128;
constexpr int kNC = 2048;
