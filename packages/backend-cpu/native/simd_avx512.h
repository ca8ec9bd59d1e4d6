// 16-lane float vector for AVX-512F (+DQ/BW/VL). Included inside an anonymous
// namespace by isa_avx512.cpp (see kernels.inl for the interface).
struct VF {
  static constexpr int W = 16;
  using T = __m512;
  using M = __mmask16;

  static inline T zero() { return _mm512_setzero_ps(); }
  static inline T set1(float v) { return _mm512_set1_ps(v); }
  static inline T load(const float* p) { return _mm512_loadu_ps(p); }
  static inline void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static inline T add(T a, T b) { return _mm512_add_ps(a, b); }
  static inline T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static inline T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static inline T div(T a, T b) { return _mm512_div_ps(a, b); }
  static inline T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  /** x86 max/min: the second operand wins when either is NaN. */
  static inline T max_raw(T a, T b) { return _mm512_max_ps(a, b); }
  static inline T min_raw(T a, T b) { return _mm512_min_ps(a, b); }
  static inline T sqrt(T a) { return _mm512_sqrt_ps(a); }
  static inline T neg(T a) { return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32(static_cast<int>(0x80000000u)))); }
  static inline T abs(T a) { return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff))); }
  /** |mag| with the sign of sgn. */
  static inline T copysign(T mag, T sgn) {
    const __m512i s = _mm512_set1_epi32(static_cast<int>(0x80000000u));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(s, _mm512_castps_si512(mag)), _mm512_and_si512(s, _mm512_castps_si512(sgn))));
  }
  static inline T round(T a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

  static inline M gt(T a, T b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static inline M lt(T a, T b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static inline M eq(T a, T b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static inline M isnan(T a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static inline M mor(M a, M b) { return static_cast<M>(a | b); }
  static inline bool any(M m) { return m != 0; }
  /** m ? b : a per lane. */
  static inline T select(M m, T a, T b) { return _mm512_mask_blend_ps(m, a, b); }

  /** 2^n for integral-valued n in [-126, 127]. */
  static inline T pow2(T n) {
    __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }

  static inline float hsum(T v) {
    __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static inline float hmax(T v) {
    __m256 s8 = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static inline float hmin(T v) {
    __m256 s8 = _mm256_min_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_min_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s = _mm_min_ps(s, _mm_movehl_ps(s, s));
    s = _mm_min_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

/** GEMM register tile 12x32: 24 of 32 zmm registers hold C, 2 hold the B row, 1 the broadcast A value. */
constexpr int kMR = 12;
constexpr int kNV = 2;
/** Cache blocking (Skylake-SP / Ice Lake / Zen 4: 32-48 KiB L1d, 1-2 MiB L2): B micro-panel kc*32*4 = 24 KiB. */
constexpr int kKC = 192;
constexpr int kMC = 384;
constexpr int kNC = 4096;
