// Packed, cache-blocked, multithreaded f32 GEMM (the GotoBLAS / BLIS loop
// nest) on the unit's register tile kMR x (kNV*W):
//
//   for jc in n by kNC:            B block (kKC x kNC) lives in L3
//     for pc in k by kKC:
//       pack B[pc.., jc..] into kNR-wide micro-panels      (parallel over panels)
//       for each task (ic row block x range of B panels):  (parallel over tasks)
//         pack A[ic.., pc..] into kMR-tall micro-panels    (per thread, lives in L2)
//         for each B micro-panel (stays in L1), each A micro-panel: micro-kernel
//
// Packing absorbs transposes, batch offsets and ragged edges (zero padding),
// so the micro-kernel always runs a full tile from two contiguous streams.
// Every C element is produced by one thread in a fixed k order: results do
// not depend on the thread count.

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

/** Work below this many flops runs on one thread (waking the pool costs more). */
constexpr double kParallelFlops = 2e6;

/** One C = op(A)·op(B); `parallel` spreads it over the pool, else it runs on pool thread `thread`. */
static void gemm_one(const MatArgs& g, bool parallel, int thread) {
  const i64 m = g.m, n = g.n, k = g.k;
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (i64 i = 0; i < m * n; i++) g.c[i] = 0.0f;
    return;
  }
  const int nt = parallel ? kit::num_threads() : 1;
  const i64 mc = row_block(m, nt);
  const i64 mblocks = (m + mc - 1) / mc;
  const i64 ncmax = imin(kNC, round_up(n, kNR));
  const i64 kcmax = imin(kKC, k);
  float* pb = static_cast<float*>(kit::scratch(parallel ? 0 : thread, 1, static_cast<size_t>(kcmax * ncmax) * sizeof(float)));

  for (i64 jc = 0; jc < n; jc += kNC) {
    const i64 nc = imin(kNC, n - jc);
    const i64 panels = (nc + kNR - 1) / kNR;
    // Too few row blocks to feed every thread: split the B panels too.
    const i64 jchunks = mblocks >= nt ? 1 : imin(panels, (nt + mblocks - 1) / mblocks);
    const i64 per_chunk = (panels + jchunks - 1) / jchunks;
    for (i64 pc = 0; pc < k; pc += kKC) {
      const i64 kc = imin(kKC, k - pc);
      const float* bblk = g.b + pc * g.brs + jc * g.bcs;
      if (parallel && panels > 1) {
        const i64 ptasks = imin(panels, nt * 4);
        const i64 pper = (panels + ptasks - 1) / ptasks;
        auto pack = [&](i64 t, int) { pack_b(bblk, g.brs, g.bcs, kc, nc, t * pper, imin(panels, (t + 1) * pper), pb); };
        run_parallel(ptasks, pack);
      } else {
        pack_b(bblk, g.brs, g.bcs, kc, nc, 0, panels, pb);
      }
      auto task = [&](i64 t, int th) {
        const i64 ib = t / jchunks, jq = t % jchunks;
        const i64 ic = ib * mc, mcc = imin(mc, m - ic);
        const i64 q0 = jq * per_chunk, q1 = imin(panels, q0 + per_chunk);
        if (mcc <= 0 || q0 >= q1) return;
        float* pa = static_cast<float*>(kit::scratch(th, 0, static_cast<size_t>(round_up(mc, kMR) * kc) * sizeof(float)));
        pack_a(g.a + ic * g.ars + pc * g.acs, g.ars, g.acs, mcc, kc, pa);
        for (i64 q = q0; q < q1; q++) {
          const i64 j = q * kNR, nr = imin(kNR, nc - j);
          const float* bp = pb + q * kc * kNR;
          float* cb = g.c + ic * n + jc + j;
          for (i64 ir = 0; ir < mcc; ir += kMR) {
            micro(kc, pa + ir * kc, bp, cb + ir * n, n, imin(kMR, mcc - ir), nr, pc > 0);
          }
        }
      };
      const i64 ntasks = mblocks * jchunks;
      if (parallel && ntasks > 1) run_parallel(ntasks, task);
      else for (i64 t = 0; t < ntasks; t++) task(t, thread);
    }
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
  const int nt = kit::num_threads();
  auto item = [&](i64 q, bool parallel, int th) {
    MatArgs mq = ma;
    mq.a = g.a + q * g.a_batch_stride;
    mq.b = g.b + q * g.b_batch_stride;
    mq.c = g.c + q * g.m * g.n;
    gemm_one(mq, parallel, th);
  };
  // Many small products (attention heads): one whole product per task, no barriers.
  if (nt > 1 && g.batch >= nt && flops * g.batch >= kParallelFlops && (flops < 64e6 || g.batch % nt == 0)) {
    auto task = [&](i64 q, int th) { item(q, false, th); };
    run_parallel(g.batch, task);
    return;
  }
  for (i64 q = 0; q < g.batch; q++) item(q, flops >= kParallelFlops, 0);
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
