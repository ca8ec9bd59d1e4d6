// 8-lane float vector for AVX2 + FMA. Included inside an anonymous namespace
// by isa_avx2.cpp (see kernels.inl for the interface every ISA provides).
struct VF {
  static constexpr int W = 8;
  using T = __m256;
  using M = __m256;  // lane masks are all-ones / all-zeros floats

  static inline T zero() { return _mm256_setzero_ps(); }
  static inline T set1(float v) { return _mm256_set1_ps(v); }
  static inline T load(const float* p) { return _mm256_loadu_ps(p); }
  static inline void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static inline T add(T a, T b) { return _mm256_add_ps(a, b); }
  static inline T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static inline T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static inline T div(T a, T b) { return _mm256_div_ps(a, b); }
  /** a*b + c with one rounding. */
  static inline T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  /** x86 max/min: the second operand wins when either is NaN. */
  static inline T max_raw(T a, T b) { return _mm256_max_ps(a, b); }
  static inline T min_raw(T a, T b) { return _mm256_min_ps(a, b); }
  static inline T sqrt(T a) { return _mm256_sqrt_ps(a); }
  static inline T neg(T a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
  static inline T abs(T a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  /** |mag| with the sign of sgn. */
  static inline T copysign(T mag, T sgn) {
    const __m256 s = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(s, mag), _mm256_and_ps(s, sgn));
  }
  static inline T round(T a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

  static inline M gt(T a, T b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static inline M lt(T a, T b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static inline M eq(T a, T b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static inline M isnan(T a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static inline M mor(M a, M b) { return _mm256_or_ps(a, b); }
  static inline bool any(M m) { return _mm256_movemask_ps(m) != 0; }
  /** m ? b : a per lane. */
  static inline T select(M m, T a, T b) { return _mm256_blendv_ps(a, b, m); }

  /** 2^n for integral-valued n in [-126, 127]. */
  static inline T pow2(T n) {
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }

  static inline float hsum(T v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  /** Max of the lanes (no NaN handling; callers track NaN separately). */
  static inline float hmax(T v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static inline float hmin(T v) {
    __m128 s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_min_ps(s, _mm_movehl_ps(s, s));
    s = _mm_min_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

/** GEMM register tile: MR rows of A (broadcast) x NV vectors of B. 6x16 uses 12 of 16 ymm registers for C. */
constexpr int kMR = 6;
constexpr int kNV = 2;
/** Cache blocking (Zen 3 / Haswell class: 32 KiB L1d, 512 KiB+ L2): B micro-panel kc*16*4 = 16 KiB in L1, A block 240*256*4 = 240 KiB in L2. */
constexpr int kKC = 256;
constexpr int kMC = 240;
constexpr int kNC = 4096;
