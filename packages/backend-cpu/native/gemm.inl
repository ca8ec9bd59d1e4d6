// Packed, cache-blocked, multithreaded f32 GEMM (the GotoBLAS / BLIS loop
// nest) on the unit's register tile kMR x (kNV*W):
//
//   for each column block jc (all of k x ncb packed at once, <= 16 MiB):
//     pack B[:, jc..] into kNR-wide micro-panels, per k block of kKC   (parallel)
//     for each task (row block ic x range of B panels):                (parallel)
//       for each k block pc:
//         pack A[ic.., pc..] into kMR-tall micro-panels   (per thread, lives in L2)
//         for each B micro-panel (stays in L1), each A micro-panel: micro-kernel
//
// Two parallel regions per column block (usually one block): few barriers
// for a thread slowed by other processes to hold up. Packing absorbs
// transposes, batch offsets and ragged edges (zero padding), so the
// micro-kernel always runs a full tile from two contiguous streams. Every C
// element is produced by one thread in a fixed k order: results do not
// depend on the thread count. Products with fewer rows than the tile skip
// packing (gemm_small_m).

constexpr int kNR = kNV * W;

/** One matrix product: op(A)(i, p) = a[i*ars + p*acs], op(B)(p, j) = b[p*brs + j*bcs], C row-major (ldc = n). */
struct MatArgs {
  const float* a;
  i64 ars, acs;
  const float* b;
  i64 brs, bcs;
  float* c;
  i64 m, n, k;
};

/** pa[(ir/kMR)*kc*kMR + p*kMR + ii] = A(ir + ii, p) for the mc x kc block at a; rows past mc are 0. */
static void pack_a(const float* a, i64 ars, i64 acs, i64 mc, i64 kc, float* pa) {
  for (i64 ir = 0; ir < mc; ir += kMR) {
    const i64 h = imin(kMR, mc - ir);
    const float* src = a + ir * ars;
    if (ars == 1) {
      // Transposed A: the kMR values of one column are contiguous.
      for (i64 p = 0; p < kc; p++, pa += kMR) {
        const float* s = src + p * acs;
        i64 ii = 0;
        for (; ii < h; ii++) pa[ii] = s[ii];
        for (; ii < kMR; ii++) pa[ii] = 0.0f;
      }
    } else {
      for (i64 ii = 0; ii < kMR; ii++) {
        if (ii < h) {
          const float* s = src + ii * ars;
          for (i64 p = 0; p < kc; p++) pa[p * kMR + ii] = s[p * acs];
        } else {
          for (i64 p = 0; p < kc; p++) pa[p * kMR + ii] = 0.0f;
        }
      }
      pa += kc * kMR;
    }
  }
}

/** Packs B micro-panels q0..q1 of the kc x nc block at b: pb[q*kc*kNR + p*kNR + jj] = B(p, q*kNR + jj); columns past nc are 0. */
static void pack_b(const float* b, i64 brs, i64 bcs, i64 kc, i64 nc, i64 q0, i64 q1, float* pb) {
  for (i64 q = q0; q < q1; q++) {
    const i64 j = q * kNR, w = imin(kNR, nc - j);
    float* dst = pb + q * kc * kNR;
    const float* src = b + j * bcs;
    if (bcs == 1 && w == kNR) {
      for (i64 p = 0; p < kc; p++) {
        const float* s = src + p * brs;
        for (int v = 0; v < kNV; v++) VF::store(dst + p * kNR + v * W, VF::load(s + v * W));
      }
    } else if (bcs == 1) {
      for (i64 p = 0; p < kc; p++) {
        const float* s = src + p * brs;
        i64 jj = 0;
        for (; jj < w; jj++) dst[p * kNR + jj] = s[jj];
        for (; jj < kNR; jj++) dst[p * kNR + jj] = 0.0f;
      }
    } else {
      // Transposed B: each column is contiguous along p.
      for (i64 jj = 0; jj < kNR; jj++) {
        if (jj < w) {
          const float* s = src + jj * bcs;
          for (i64 p = 0; p < kc; p++) dst[p * kNR + jj] = s[p * brs];
        } else {
          for (i64 p = 0; p < kc; p++) dst[p * kNR + jj] = 0.0f;
        }
      }
    }
  }
}

/** C[mr x nr] (+)= packed A micro-panel x packed B micro-panel; the kMR x kNR accumulators stay in registers. */
static inline void micro(i64 kc, const float* pa, const float* pb, float* c, i64 ldc, i64 mr, i64 nr, bool accumulate) {
  // C is far from L1 when the matrix is large: start fetching the tile now, it is needed after the k loop.
  for (i64 i = 0; i < mr; i++) {
    __builtin_prefetch(c + i * ldc, 1, 3);
    __builtin_prefetch(c + i * ldc + kNR - 1, 1, 3);
  }
  T acc[kMR][kNV];
#pragma GCC unroll 32
  for (int i = 0; i < kMR; i++)
#pragma GCC unroll 8
    for (int v = 0; v < kNV; v++) acc[i][v] = VF::zero();
#pragma GCC unroll 4
  for (i64 p = 0; p < kc; p++) {
    T bv[kNV];
#pragma GCC unroll 8
    for (int v = 0; v < kNV; v++) bv[v] = VF::load(pb + v * W);
#pragma GCC unroll 32
    for (int i = 0; i < kMR; i++) {
      const T av = VF::set1(pa[i]);
#pragma GCC unroll 8
      for (int v = 0; v < kNV; v++) acc[i][v] = VF::fma(av, bv[v], acc[i][v]);
    }
    pa += kMR;
    pb += kNR;
  }
  if (mr == kMR && nr == kNR) {
#pragma GCC unroll 32
    for (int i = 0; i < kMR; i++)
#pragma GCC unroll 8
      for (int v = 0; v < kNV; v++) {
        float* cp = c + i * ldc + v * W;
        VF::store(cp, accumulate ? VF::add(VF::load(cp), acc[i][v]) : acc[i][v]);
      }
    return;
  }
  alignas(64) float tile[kMR * kNR];
#pragma GCC unroll 32
  for (int i = 0; i < kMR; i++)
#pragma GCC unroll 8
    for (int v = 0; v < kNV; v++) VF::store(tile + i * kNR + v * W, acc[i][v]);
  for (i64 i = 0; i < mr; i++) {
    float* cr = c + i * ldc;
    const float* tr = tile + i * kNR;
    if (accumulate) for (i64 j = 0; j < nr; j++) cr[j] += tr[j];
    else for (i64 j = 0; j < nr; j++) cr[j] = tr[j];
  }
}

/**
 * Rows per A block. One thread: kMC. Several: the block count is a multiple
 * of the thread count, chosen among 1..4 blocks per thread (blocks at least
 * 4 tiles high) to minimise the rows of the busiest thread, preferring more
 * blocks on ties so the dynamic task counter can even out a thread slowed by
 * other processes. Smaller blocks cost little: B micro-panels are reused from
 * L1 across a block and A is packed once per block either way.
 */
static i64 row_block(i64 m, int nt) {
  const i64 base = (m + kMC - 1) / kMC;
  if (nt <= 1) return imin(kMC, round_up((m + base - 1) / base, kMR));
  i64 best_mc = 0, best_load = 0;
  for (i64 per = 1; per <= 4; per++) {
    const i64 nb = imax(round_up(base, nt), per * nt);
    const i64 mc = imin(kMC, round_up((m + nb - 1) / nb, kMR));
    if (per > 1 && mc < 4 * kMR) break;
    const i64 blocks = (m + mc - 1) / mc;
    // Blocks are taken in order, so thread t gets blocks t, t + nt, ...; block 0 is the busiest.
    const i64 rounds = (blocks + nt - 1) / nt;
    const i64 load = rounds * mc;
    if (best_mc == 0 || load <= best_load) {
      best_mc = mc;
      best_load = load;
    }
  }
  return best_mc;
}

/** Packed B per column block at most this many floats (16 MiB): all of k for ~4096 columns at k = 1024. */
constexpr i64 kPackFloats = i64(1) << 22;

/** Work below this many flops runs on one thread (waking the pool costs more). */
constexpr double kParallelFlops = 2e6;

// ------------------------------------------------------------------ few rows (m < kMR)
//
// Matrix-vector-like products (a decoding step, a batch of a few rows): each
// element of B is used at most m times, so packing B would cost as much as
// the arithmetic. B is streamed once, unpacked, in column strips (row-major B:
// C strip += A(i, p) · B row strip) or as dot products (Bᵀ rows contiguous).

/** Row-major B: C[0..M) x [j, j + 2W) over all p, A(i, p) = a[i*ars + p*acs]. */
template <int M>
static void small_axpy_strip(const MatArgs& g, i64 j) {
  T acc[M][2];
  for (int i = 0; i < M; i++) acc[i][0] = acc[i][1] = VF::zero();
  const float* bp = g.b + j;
  for (i64 p = 0; p < g.k; p++, bp += g.brs) {
    const T b0 = VF::load(bp), b1 = VF::load(bp + W);
    const float* ap = g.a + p * g.acs;
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
      const T av = VF::set1(ap[i * g.ars]);
      acc[i][0] = VF::fma(av, b0, acc[i][0]);
      acc[i][1] = VF::fma(av, b1, acc[i][1]);
    }
  }
  for (int i = 0; i < M; i++) {
    VF::store(g.c + i * g.n + j, acc[i][0]);
    VF::store(g.c + i * g.n + j + W, acc[i][1]);
  }
}

/** Bᵀ (row j of B contiguous along p): C[0..M) x {j, j+1} as dot products; a holds A row-major (lda = k). */
template <int M>
static void small_dot_pair(const MatArgs& g, const float* a, i64 j, i64 nj) {
  T acc[M][2];
  for (int i = 0; i < M; i++) acc[i][0] = acc[i][1] = VF::zero();
  const float* b0p = g.b + j * g.bcs;
  const float* b1p = nj > 1 ? b0p + g.bcs : b0p;
  const i64 k = g.k;
  i64 p = 0;
  for (; p + W <= k; p += W) {
    const T b0 = VF::load(b0p + p), b1 = VF::load(b1p + p);
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
      const T av = VF::load(a + i * k + p);
      acc[i][0] = VF::fma(av, b0, acc[i][0]);
      acc[i][1] = VF::fma(av, b1, acc[i][1]);
    }
  }
  if (p < k) {
    const T b0 = load_part(b0p + p, k - p, 0.0f), b1 = load_part(b1p + p, k - p, 0.0f);
    for (int i = 0; i < M; i++) {
      const T av = load_part(a + i * k + p, k - p, 0.0f);
      acc[i][0] = VF::fma(av, b0, acc[i][0]);
      acc[i][1] = VF::fma(av, b1, acc[i][1]);
    }
  }
  for (int i = 0; i < M; i++) {
    g.c[i * g.n + j] = VF::hsum(acc[i][0]);
    if (nj > 1) g.c[i * g.n + j + 1] = VF::hsum(acc[i][1]);
  }
}

/** Columns [j0, j1) of C for m = M rows. */
template <int M>
static void small_columns(const MatArgs& g, const float* a_rows, i64 j0, i64 j1) {
  if (g.bcs == 1) {
    i64 j = j0;
    for (; j + 2 * W <= j1; j += 2 * W) small_axpy_strip<M>(g, j);
    // Ragged last strip: plain dot loops (fewer than 2W columns).
    for (; j < j1; j++) {
      for (int i = 0; i < M; i++) {
        float s = 0.0f;
        for (i64 p = 0; p < g.k; p++) s += g.a[i * g.ars + p * g.acs] * g.b[p * g.brs + j];
        g.c[i * g.n + j] = s;
      }
    }
  } else {
    for (i64 j = j0; j < j1; j += 2) small_dot_pair<M>(g, a_rows, j, imin(2, j1 - j));
  }
}

template <int M>
static void small_dispatch(int m, const MatArgs& g, const float* a_rows, i64 j0, i64 j1) {
  if constexpr (M < kMR) {
    if (m == M) small_columns<M>(g, a_rows, j0, j1);
    else small_dispatch<M + 1>(m, g, a_rows, j0, j1);
  }
}

/** C = op(A)·op(B) for m < kMR without packing B; columns split over the pool. */
static void gemm_small_m(const MatArgs& g, bool parallel, int thread) {
  // The dot form reads A rows contiguously: copy a transposed A once (m x k, small).
  const float* a_rows = g.a;
  if (g.bcs != 1 && g.acs != 1) {
    float* t = static_cast<float*>(kit::scratch(thread, 0, static_cast<size_t>(g.m * g.k) * sizeof(float)));
    for (i64 i = 0; i < g.m; i++)
      for (i64 p = 0; p < g.k; p++) t[i * g.k + p] = g.a[i * g.ars + p * g.acs];
    a_rows = t;
  }
  const int m = static_cast<int>(g.m);
  const i64 unit = 2 * W;
  const i64 tasks = parallel ? imin(kit::num_threads() * 4, (g.n + 255) / 256) : 1;
  if (tasks <= 1) {
    small_dispatch<1>(m, g, a_rows, 0, g.n);
    return;
  }
  const i64 per = round_up((g.n + tasks - 1) / tasks, unit);
  auto task = [&](i64 t, int) {
    const i64 j0 = imin(g.n, t * per), j1 = imin(g.n, j0 + per);
    if (j0 < j1) small_dispatch<1>(m, g, a_rows, j0, j1);
  };
  run_parallel(tasks, task);
}

/** One C = op(A)·op(B); `parallel` spreads it over the pool, else it runs on pool thread `thread`. */
static void gemm_one(const MatArgs& g, bool parallel, int thread) {
  const i64 m = g.m, n = g.n, k = g.k;
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (i64 i = 0; i < m * n; i++) g.c[i] = 0.0f;
    return;
  }
  if (m < kMR) {
    gemm_small_m(g, parallel, thread);
    return;
  }
  const int nt = parallel ? kit::num_threads() : 1;
  const i64 mc = row_block(m, nt);
  const i64 mblocks = (m + mc - 1) / mc;
  // Columns per block: all of k is packed at once (so a product has two
  // parallel regions per column block, not two per k block: fewer barriers
  // for a thread slowed by other processes to hold up), within kPackFloats.
  const i64 ncb = imin(kNC, imax(kNR, (kPackFloats / k) / kNR * kNR));
  const i64 kblocks = (k + kKC - 1) / kKC;
  float* pb = static_cast<float*>(kit::scratch(parallel ? 0 : thread, 1, static_cast<size_t>(k * round_up(imin(ncb, n), kNR)) * sizeof(float)));

  for (i64 jc = 0; jc < n; jc += ncb) {
    const i64 nc = imin(ncb, n - jc);
    const i64 panels = (nc + kNR - 1) / kNR;
    const i64 stride_pc = panels * kNR;  // floats per row of k in the packed block
    // Pack B[:, jc..jc+nc) for every k block: block pc starts at pb + pc*stride_pc.
    const i64 pchunks = imax(1, imin(panels, (nt * 4 + kblocks - 1) / kblocks));
    const i64 pper = (panels + pchunks - 1) / pchunks;
    auto pack = [&](i64 t, int) {
      const i64 pc = (t / pchunks) * kKC, q0 = (t % pchunks) * pper;
      const i64 kc = imin(kKC, k - pc);
      pack_b(g.b + pc * g.brs + jc * g.bcs, g.brs, g.bcs, kc, nc, q0, imin(panels, q0 + pper), pb + pc * stride_pc);
    };
    if (parallel && kblocks * pchunks > 1) run_parallel(kblocks * pchunks, pack);
    else for (i64 t = 0; t < kblocks * pchunks; t++) pack(t, thread);

    // Too few row blocks to feed every thread: split the B panels too.
    const i64 jchunks = mblocks >= nt ? 1 : imin(panels, (nt + mblocks - 1) / mblocks);
    const i64 per_chunk = (panels + jchunks - 1) / jchunks;
    auto task = [&](i64 t, int th) {
      const i64 ib = t / jchunks, jq = t % jchunks;
      const i64 ic = ib * mc, mcc = imin(mc, m - ic);
      const i64 q0 = jq * per_chunk, q1 = imin(panels, q0 + per_chunk);
      if (mcc <= 0 || q0 >= q1) return;
      float* pa = static_cast<float*>(kit::scratch(th, 0, static_cast<size_t>(round_up(mc, kMR) * imin(kKC, k)) * sizeof(float)));
      for (i64 pc = 0; pc < k; pc += kKC) {
        const i64 kc = imin(kKC, k - pc);
        pack_a(g.a + ic * g.ars + pc * g.acs, g.ars, g.acs, mcc, kc, pa);
        const float* bblk = pb + pc * stride_pc;
        for (i64 q = q0; q < q1; q++) {
          const i64 j = q * kNR, nr = imin(kNR, nc - j);
          const float* bp = bblk + q * kc * kNR;
          float* cb = g.c + ic * n + jc + j;
          for (i64 ir = 0; ir < mcc; ir += kMR) {
            micro(kc, pa + ir * kc, bp, cb + ir * n, n, imin(kMR, mcc - ir), nr, pc > 0);
          }
        }
      }
    };
    const i64 ntasks = mblocks * jchunks;
    if (parallel && ntasks > 1) run_parallel(ntasks, task);
    else for (i64 t = 0; t < ntasks; t++) task(t, thread);
  }
}

static void gemm_kernel(const GemmArgs& g) {
  if (g.batch <= 0 || g.m == 0 || g.n == 0) return;
  MatArgs ma;
  ma.ars = g.trans_a ? 1 : g.k;
  ma.acs = g.trans_a ? g.m : 1;
  ma.brs = g.trans_b ? 1 : g.n;
  ma.bcs = g.trans_b ? g.k : 1;
  ma.m = g.m;
  ma.n = g.n;
  ma.k = g.k;
  // One B for a stack of row-major A's is a single tall product (B packed once).
  if (g.batch > 1 && g.b_batch_stride == 0 && !g.trans_a && g.a_batch_stride == g.m * g.k) {
    ma.a = g.a;
    ma.b = g.b;
    ma.c = g.c;
    ma.m = g.batch * g.m;
    gemm_one(ma, 2.0 * ma.m * ma.n * ma.k >= kParallelFlops, 0);
    return;
  }
  const double flops = 2.0 * g.m * g.n * g.k;
  // Few rows stream B once: worth the pool already at a few hundred kflop per product.
  const double parallel_flops = g.m < kMR ? kParallelFlops / 4 : kParallelFlops;
  const int nt = kit::num_threads();
  auto item = [&](i64 q, bool parallel, int th) {
    MatArgs mq = ma;
    mq.a = g.a + q * g.a_batch_stride;
    mq.b = g.b + q * g.b_batch_stride;
    mq.c = g.c + q * g.m * g.n;
    gemm_one(mq, parallel, th);
  };
  // Many small products (attention heads): one whole product per task, no barriers.
  if (nt > 1 && g.batch >= nt && flops * g.batch >= parallel_flops && (flops < 64e6 || g.batch % nt == 0)) {
    auto task = [&](i64 q, int th) { item(q, false, th); };
    run_parallel(g.batch, task);
    return;
  }
  for (i64 q = 0; q < g.batch; q++) item(q, flops >= parallel_flops, 0);
}

// ------------------------------------------------------------------ peak

/** Register-resident FMA chains (12 independent, enough to cover latency x pipes), for `seconds`; returns flop/s. */
static double fma_flops(double seconds) {
  constexpr int kChains = 12;
  T acc[kChains];
  for (int i = 0; i < kChains; i++) acc[i] = VF::set1(static_cast<float>(i) * 1e-3f);
  const T mul = VF::set1(0.9999999f), add = VF::set1(1e-7f);
  const double t0 = kit::now_seconds();
  double t1 = t0;
  i64 iters = 0;
  do {
    for (int r = 0; r < 20000; r++) {
#pragma GCC unroll 12
      for (int i = 0; i < kChains; i++) acc[i] = VF::fma(acc[i], mul, add);
    }
    iters += 20000;
    t1 = kit::now_seconds();
  } while (t1 - t0 < seconds);
  T s = VF::zero();
  for (int i = 0; i < kChains; i++) s = VF::add(s, acc[i]);
  volatile float sink = VF::hsum(s);
  (void)sink;
  return static_cast<double>(iters) * kChains * W * 2.0 / (t1 - t0);
}
