// Row kernels: reductions, softmax / log-softmax, layer and RMS norm (forward
// and backward), cross-entropy (forward and backward). Rows are independent,
// so they are spread over the pool; every row is computed the same way
// whatever the thread count. Long sums add vector lanes in f32 within blocks
// of kBlock elements and the block sums in double, which keeps f32 rounding
// far below the conformance tolerances without a double pass.

constexpr i64 kBlock = 512;
/** Elements per thread below which a row kernel runs on one thread. */
constexpr i64 kRowGrain = 1 << 14;

/** Runs body(r0, r1) over row ranges, in parallel when rows*cols is large enough. */
template <class F>
static void par_rows(i64 rows, i64 cols, F&& body, i64 grain = kRowGrain) {
  const i64 work = rows * (cols > 0 ? cols : 1);
  i64 tasks = imin(imin(kit::num_threads(), rows), work / grain);
  if (tasks <= 1) {
    body(0, rows, 0);
    return;
  }
  // A few tasks per thread smooth out uneven progress on a shared machine.
  tasks = imin(rows, tasks * 4);
  const i64 per = (rows + tasks - 1) / tasks;
  auto task = [&](i64 t, int th) {
    const i64 r0 = t * per, r1 = imin(rows, r0 + per);
    if (r0 < r1) body(r0, r1, th);
  };
  run_parallel(tasks, task);
}

/** Σ x[i] (double result; f32 lanes within blocks). */
static double sum_row(const float* x, i64 n) {
  double total = 0;
  i64 i = 0;
  while (i < n) {
    const i64 end = imin(n, i + kBlock);
    T a0 = VF::zero(), a1 = VF::zero();
    for (; i + 2 * W <= end; i += 2 * W) {
      a0 = VF::add(a0, VF::load(x + i));
      a1 = VF::add(a1, VF::load(x + i + W));
    }
    for (; i + W <= end; i += W) a0 = VF::add(a0, VF::load(x + i));
    if (i < end) {
      a1 = VF::add(a1, load_part(x + i, end - i, 0.0f));
      i = end;
    }
    total += static_cast<double>(VF::hsum(VF::add(a0, a1)));
  }
  return total;
}

/** Σ (x[i] - c)² (double result). */
static double sumsq_row(const float* x, i64 n, float c) {
  const T cv = VF::set1(c);
  double total = 0;
  i64 i = 0;
  while (i < n) {
    const i64 end = imin(n, i + kBlock);
    T a0 = VF::zero(), a1 = VF::zero();
    for (; i + W <= end; i += W) {
      const T d = VF::sub(VF::load(x + i), cv);
      a0 = VF::fma(d, d, a0);
    }
    if (i < end) {
      const T d = VF::sub(load_part(x + i, end - i, c), cv);
      a1 = VF::fma(d, d, a1);
      i = end;
    }
    total += static_cast<double>(VF::hsum(VF::add(a0, a1)));
  }
  return total;
}

/** Max of a row; NaN if any element is NaN (like the reference's rowMax); -inf for n == 0. */
static float max_row(const float* x, i64 n) {
  T m = VF::set1(-__builtin_inff());
  M nan = VF::isnan(VF::zero());
  i64 i = 0;
  for (; i + W <= n; i += W) {
    const T v = VF::load(x + i);
    nan = VF::mor(nan, VF::isnan(v));
    m = VF::max_raw(m, v);
  }
  if (i < n) {
    const T v = load_part(x + i, n - i, -__builtin_inff());
    nan = VF::mor(nan, VF::isnan(v));
    m = VF::max_raw(m, v);
  }
  return VF::any(nan) ? __builtin_nanf("") : VF::hmax(m);
}

static float min_row(const float* x, i64 n) {
  T m = VF::set1(__builtin_inff());
  M nan = VF::isnan(VF::zero());
  i64 i = 0;
  for (; i + W <= n; i += W) {
    const T v = VF::load(x + i);
    nan = VF::mor(nan, VF::isnan(v));
    m = VF::min_raw(m, v);
  }
  if (i < n) {
    const T v = load_part(x + i, n - i, __builtin_inff());
    nan = VF::mor(nan, VF::isnan(v));
    m = VF::min_raw(m, v);
  }
  return VF::any(nan) ? __builtin_nanf("") : VF::hmin(m);
}

/** Index of the first maximum; a NaN counts as the maximum (the first NaN wins). */
static i64 argmax_row(const float* x, i64 n) {
  const float m = max_row(x, n);
  if (m != m) {
    for (i64 i = 0; i < n; i++) if (x[i] != x[i]) return i;
  }
  for (i64 i = 0; i < n; i++) if (x[i] == m) return i;
  return 0;
}

/** e[i] = exp(x[i] - shift) (if e is not null), returns Σ e[i] in double. */
static double sum_exp_row(const float* x, i64 n, float shift, float* e) {
  const T sv = VF::set1(shift);
  double total = 0;
  i64 i = 0;
  while (i < n) {
    const i64 end = imin(n, i + kBlock);
    T a0 = VF::zero();
    for (; i + W <= end; i += W) {
      const T v = exp_v(VF::sub(VF::load(x + i), sv));
      if (e) VF::store(e + i, v);
      a0 = VF::add(a0, v);
    }
    if (i < end) {
      const T v = exp_v(VF::sub(load_part(x + i, end - i, -__builtin_inff()), sv));
      if (e) store_part(e + i, v, end - i);
      a0 = VF::add(a0, v);
      i = end;
    }
    total += static_cast<double>(VF::hsum(a0));
  }
  return total;
}

/** y[i] = x[i] * s. */
static void scale_row(const float* x, float s, float* y, i64 n) {
  const T sv = VF::set1(s);
  i64 i = 0;
  for (; i + W <= n; i += W) VF::store(y + i, VF::mul(VF::load(x + i), sv));
  if (i < n) store_part(y + i, VF::mul(load_part(x + i, n - i, 0.0f), sv), n - i);
}

/** y[i] = (x[i] - a) - b. */
static void shift2_row(const float* x, float a, float b, float* y, i64 n) {
  const T av = VF::set1(a), bv = VF::set1(b);
  i64 i = 0;
  for (; i + W <= n; i += W) VF::store(y + i, VF::sub(VF::sub(VF::load(x + i), av), bv));
  if (i < n) store_part(y + i, VF::sub(VF::sub(load_part(x + i, n - i, 0.0f), av), bv), n - i);
}

// ------------------------------------------------------------------ reductions

/** One row's reduction into y[o] (inner == 1). */
static void reduce_one(int op, const float* x, i64 n, void* y, i64 o) {
  switch (op) {
    case R_SUM: static_cast<float*>(y)[o] = static_cast<float>(sum_row(x, n)); break;
    case R_MAX: static_cast<float*>(y)[o] = max_row(x, n); break;
    case R_MIN: static_cast<float*>(y)[o] = min_row(x, n); break;
    case R_ARGMAX: static_cast<int32_t*>(y)[o] = static_cast<int32_t>(argmax_row(x, n)); break;
    default: break;
  }
}

/** Reduction of rows of length `reduce` strided by `inner` (inner > 1) for columns [j0, j1) of one outer slice. */
static void reduce_columns(int op, const float* x, i64 reduce, i64 inner, i64 j0, i64 j1, void* y, int thread) {
  const i64 w = j1 - j0;
  if (op == R_SUM) {
    double* acc = static_cast<double*>(kit::scratch(thread, 3, static_cast<size_t>(w) * sizeof(double)));
    for (i64 j = 0; j < w; j++) acc[j] = 0;
    for (i64 r = 0; r < reduce; r++) {
      const float* row = x + r * inner + j0;
      for (i64 j = 0; j < w; j++) acc[j] += static_cast<double>(row[j]);
    }
    float* out = static_cast<float*>(y) + j0;
    for (i64 j = 0; j < w; j++) out[j] = static_cast<float>(acc[j]);
    return;
  }
  if (op == R_ARGMAX) {
    float* acc = static_cast<float*>(kit::scratch(thread, 3, static_cast<size_t>(w) * sizeof(float)));
    int32_t* idx = static_cast<int32_t*>(y) + j0;
    for (i64 j = 0; j < w; j++) { acc[j] = -__builtin_inff(); idx[j] = 0; }
    for (i64 r = 0; r < reduce; r++) {
      const float* row = x + r * inner + j0;
      for (i64 j = 0; j < w; j++) {
        const float v = row[j], m = acc[j];
        if (m != m) continue;  // already at a NaN: keep the first one
        if (v > m || v != v || r == 0) { acc[j] = v; idx[j] = static_cast<int32_t>(r); }
      }
    }
    return;
  }
  // max / min: the NaN rule of the reference (a NaN, once seen, stays).
  float* out = static_cast<float*>(y) + j0;
  const bool is_max = op == R_MAX;
  const float init = is_max ? -__builtin_inff() : __builtin_inff();
  for (i64 j = 0; j < w; j++) out[j] = init;
  for (i64 r = 0; r < reduce; r++) {
    const float* row = x + r * inner + j0;
    i64 j = 0;
    for (; j + W <= w; j += W) {
      const T v = VF::load(row + j), a = VF::load(out + j);
      const M take = VF::mor(is_max ? VF::gt(v, a) : VF::lt(v, a), VF::isnan(v));
      VF::store(out + j, VF::select(take, a, v));
    }
    for (; j < w; j++) {
      const float v = row[j], a = out[j];
      if ((is_max ? v > a : v < a) || v != v) out[j] = v;
    }
  }
}

static void reduce_kernel(int op, const float* x, void* y, i64 outer, i64 reduce, i64 inner) {
  if (outer == 0 || inner == 0) return;
  if (inner == 1) {
    if (outer >= kit::num_threads() || outer * reduce < 4 * kRowGrain) {
      par_rows(outer, reduce, [&](i64 r0, i64 r1, int) {
        for (i64 o = r0; o < r1; o++) reduce_one(op, x + o * reduce, reduce, y, o);
      });
      return;
    }
    // Few long rows: each row is cut into parts reduced in parallel, then combined in order.
    const i64 parts = kit::num_threads() * 2;
    const i64 per = round_up((reduce + parts - 1) / parts, 64);
    double* psum = static_cast<double*>(kit::scratch(0, 2, static_cast<size_t>(outer * parts) * (sizeof(double) * 2 + sizeof(i64) * 2)));
    float* pval = reinterpret_cast<float*>(psum + outer * parts);
    i64* pidx = reinterpret_cast<i64*>(pval + 2 * outer * parts);
    auto task = [&](i64 t, int) {
      const i64 o = t / parts, q = t % parts;
      const i64 b = imin(reduce, q * per), e = imin(reduce, b + per);
      const float* row = x + o * reduce + b;
      const i64 n = e - b;
      if (op == R_SUM) psum[t] = sum_row(row, n);
      else if (op == R_MAX) pval[t] = max_row(row, n);
      else if (op == R_MIN) pval[t] = min_row(row, n);
      else {
        pval[t] = max_row(row, n);
        pidx[t] = n > 0 ? b + argmax_row(row, n) : -1;
      }
    };
    run_parallel(outer * parts, task);
    for (i64 o = 0; o < outer; o++) {
      const i64 base = o * parts;
      if (op == R_SUM) {
        double s = 0;
        for (i64 q = 0; q < parts; q++) s += psum[base + q];
        static_cast<float*>(y)[o] = static_cast<float>(s);
        continue;
      }
      bool nan = false;
      float m = op == R_MIN ? __builtin_inff() : -__builtin_inff();
      i64 at = -1;
      for (i64 q = 0; q < parts; q++) {
        const float v = pval[base + q];
        if (op == R_ARGMAX && pidx[base + q] < 0) continue;  // empty part
        if (v != v) {
          if (!nan) at = pidx[base + q];
          nan = true;
          continue;
        }
        if (nan) continue;
        if (op == R_MIN ? v < m : v > m) { m = v; at = pidx[base + q]; }
        else if (op == R_ARGMAX && at < 0 && v == m) at = pidx[base + q];
      }
      if (op == R_ARGMAX) static_cast<int32_t*>(y)[o] = static_cast<int32_t>(at < 0 ? 0 : at);
      else static_cast<float*>(y)[o] = nan ? __builtin_nanf("") : m;
    }
    return;
  }
  // inner > 1: tasks over (outer slice, column chunk).
  const i64 chunk = imin(inner, imax(256, round_up((inner + 3) / 4, 64)));
  const i64 chunks = (inner + chunk - 1) / chunk;
  const i64 ntasks = outer * chunks;
  const bool parallel = outer * reduce * inner >= 2 * kRowGrain && ntasks > 1;
  auto task = [&](i64 t, int th) {
    const i64 o = t / chunks, q = t % chunks;
    const i64 j0 = q * chunk, j1 = imin(inner, j0 + chunk);
    void* yo = op == R_ARGMAX ? static_cast<void*>(static_cast<int32_t*>(y) + o * inner) : static_cast<void*>(static_cast<float*>(y) + o * inner);
    reduce_columns(op, x + o * reduce * inner, reduce, inner, j0, j1, yo, th);
  };
  if (parallel) run_parallel(ntasks, task);
  else for (i64 t = 0; t < ntasks; t++) task(t, 0);
}

// ------------------------------------------------------------------ softmax

static void softmax_kernel(bool log, const float* x, float* y, i64 rows, i64 cols) {
  par_rows(rows, cols, [&](i64 r0, i64 r1, int) {
    for (i64 r = r0; r < r1; r++) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      const float m = max_row(xr, cols);
      if (log) {
        // (x - max) - log(sum), not x - (max + log(sum)): with a huge |max| (masked rows) the latter loses log(sum).
        const float ls = static_cast<float>(::log(sum_exp_row(xr, cols, m, nullptr)));
        shift2_row(xr, m, ls, yr, cols);
      } else {
        const double s = sum_exp_row(xr, cols, m, yr);
        scale_row(yr, static_cast<float>(1.0 / s), yr, cols);
      }
    }
  });
}

// ------------------------------------------------------------------ layer norm / RMS norm

static void layer_norm_kernel(const float* x, const float* g, const float* b, float* y, float* mean, float* rstd, i64 rows, i64 d, float eps) {
  par_rows(rows, d, [&](i64 r0, i64 r1, int) {
    for (i64 r = r0; r < r1; r++) {
      const float* xr = x + r * d;
      float* yr = y + r * d;
      const float mu = static_cast<float>(sum_row(xr, d) / static_cast<double>(d));
      const double var = sumsq_row(xr, d, mu) / static_cast<double>(d);
      const float rs = static_cast<float>(1.0 / ::sqrt(var + static_cast<double>(eps)));
      const T mv = VF::set1(mu), rv = VF::set1(rs);
      i64 j = 0;
      for (; j + W <= d; j += W) {
        const T xh = VF::mul(VF::sub(VF::load(xr + j), mv), rv);
        VF::store(yr + j, VF::fma(xh, VF::load(g + j), VF::load(b + j)));
      }
      if (j < d) {
        const i64 n = d - j;
        const T xh = VF::mul(VF::sub(load_part(xr + j, n, 0.0f), mv), rv);
        store_part(yr + j, VF::fma(xh, load_part(g + j, n, 0.0f), load_part(b + j, n, 0.0f)), n);
      }
      mean[r] = mu;
      rstd[r] = rs;
    }
  });
}

static void rms_norm_kernel(const float* x, const float* g, float* y, float* rstd, i64 rows, i64 d, float eps) {
  par_rows(rows, d, [&](i64 r0, i64 r1, int) {
    for (i64 r = r0; r < r1; r++) {
      const float* xr = x + r * d;
      float* yr = y + r * d;
      const double ms = sumsq_row(xr, d, 0.0f) / static_cast<double>(d);
      const float rs = static_cast<float>(1.0 / ::sqrt(ms + static_cast<double>(eps)));
      const T rv = VF::set1(rs);
      i64 j = 0;
      for (; j + W <= d; j += W) VF::store(yr + j, VF::mul(VF::mul(VF::load(xr + j), rv), VF::load(g + j)));
      if (j < d) {
        const i64 n = d - j;
        store_part(yr + j, VF::mul(VF::mul(load_part(xr + j, n, 0.0f), rv), load_part(g + j, n, 0.0f)), n);
      }
      rstd[r] = rs;
    }
  });
}

/**
 * Parameter-gradient sums over rows: each task accumulates its rows into a
 * double row of its own (nacc rows of d), and the partial rows are added in
 * task order at the end, so the result does not depend on scheduling.
 */
struct ParamGrad {
  i64 tasks = 1, per = 0;
  double* acc = nullptr;
};

static ParamGrad param_grad_plan(i64 rows, i64 d, int nacc) {
  ParamGrad p;
  const i64 work = rows * d;
  p.tasks = imax(1, imin(imin(kit::num_threads() * 2, rows), work / kRowGrain));
  p.per = (rows + p.tasks - 1) / p.tasks;
  const size_t bytes = static_cast<size_t>(p.tasks * nacc * d) * sizeof(double);
  p.acc = static_cast<double*>(kit::scratch(0, 2, bytes));
  for (i64 i = 0; i < p.tasks * nacc * d; i++) p.acc[i] = 0;
  return p;
}

static void param_grad_store(const ParamGrad& p, i64 d, int which, int nacc, float* out) {
  for (i64 j = 0; j < d; j++) {
    double s = 0;
    for (i64 t = 0; t < p.tasks; t++) s += p.acc[(t * nacc + which) * d + j];
    out[j] = static_cast<float>(s);
  }
}

template <class F>
static void par_param_rows(const ParamGrad& p, i64 rows, F&& body) {
  auto task = [&](i64 t, int th) {
    const i64 r0 = t * p.per, r1 = imin(rows, r0 + p.per);
    if (r0 < r1) body(r0, r1, t, th);
  };
  if (p.tasks > 1) run_parallel(p.tasks, task);
  else task(0, 0);
}

/** With x̂ = (x - mean)·rstd, g = dy·gamma: dx = rstd·(g - mean(g) - x̂·mean(g·x̂)); dgamma = Σ dy·x̂; dbeta = Σ dy. */
static void layer_norm_bwd_kernel(const float* dy, const float* x, const float* mean, const float* rstd, const float* gamma,
                                  float* dx, float* dg, float* db, i64 rows, i64 d) {
  const ParamGrad p = param_grad_plan(rows, d, 2);
  par_param_rows(p, rows, [&](i64 r0, i64 r1, i64 t, int th) {
    double* ag = p.acc + (t * 2) * d;
    double* ab = p.acc + (t * 2 + 1) * d;
    float* xh = static_cast<float*>(kit::scratch(th, 3, static_cast<size_t>(d) * sizeof(float)));
    for (i64 r = r0; r < r1; r++) {
      const float* xr = x + r * d;
      const float* dyr = dy + r * d;
      float* dxr = dx + r * d;
      const T mv = VF::set1(mean[r]), rv = VF::set1(rstd[r]);
      T sg = VF::zero(), sgx = VF::zero();
      i64 j = 0;
      for (; j + W <= d; j += W) {
        const T h = VF::mul(VF::sub(VF::load(xr + j), mv), rv);
        VF::store(xh + j, h);
        const T gg = VF::mul(VF::load(dyr + j), VF::load(gamma + j));
        sg = VF::add(sg, gg);
        sgx = VF::fma(gg, h, sgx);
      }
      if (j < d) {
        const i64 n = d - j;
        const T h = VF::mul(VF::sub(load_part(xr + j, n, 0.0f), mv), rv);
        store_part(xh + j, h, n);
        const T gg = VF::mul(load_part(dyr + j, n, 0.0f), load_part(gamma + j, n, 0.0f));
        sg = VF::add(sg, gg);
        sgx = VF::fma(gg, h, sgx);
      }
      const T mg = VF::set1(VF::hsum(sg) / static_cast<float>(d));
      const T mgx = VF::set1(VF::hsum(sgx) / static_cast<float>(d));
      j = 0;
      for (; j + W <= d; j += W) {
        const T gg = VF::mul(VF::load(dyr + j), VF::load(gamma + j));
        VF::store(dxr + j, VF::mul(rv, VF::sub(VF::sub(gg, mg), VF::mul(VF::load(xh + j), mgx))));
      }
      if (j < d) {
        const i64 n = d - j;
        const T gg = VF::mul(load_part(dyr + j, n, 0.0f), load_part(gamma + j, n, 0.0f));
        store_part(dxr + j, VF::mul(rv, VF::sub(VF::sub(gg, mg), VF::mul(load_part(xh + j, n, 0.0f), mgx))), n);
      }
      for (i64 k = 0; k < d; k++) {
        ag[k] += static_cast<double>(dyr[k] * xh[k]);
        ab[k] += static_cast<double>(dyr[k]);
      }
    }
  });
  param_grad_store(p, d, 0, 2, dg);
  param_grad_store(p, d, 1, 2, db);
}

/** With x̂ = x·rstd, g = dy·gamma: dx = rstd·(g - x̂·mean(g·x̂)); dgamma = Σ dy·x̂. */
static void rms_norm_bwd_kernel(const float* dy, const float* x, const float* rstd, const float* gamma, float* dx, float* dg, i64 rows, i64 d) {
  const ParamGrad p = param_grad_plan(rows, d, 1);
  par_param_rows(p, rows, [&](i64 r0, i64 r1, i64 t, int th) {
    double* ag = p.acc + t * d;
    float* xh = static_cast<float*>(kit::scratch(th, 3, static_cast<size_t>(d) * sizeof(float)));
    for (i64 r = r0; r < r1; r++) {
      const float* xr = x + r * d;
      const float* dyr = dy + r * d;
      float* dxr = dx + r * d;
      const T rv = VF::set1(rstd[r]);
      T sgx = VF::zero();
      i64 j = 0;
      for (; j + W <= d; j += W) {
        const T h = VF::mul(VF::load(xr + j), rv);
        VF::store(xh + j, h);
        sgx = VF::fma(VF::mul(VF::load(dyr + j), VF::load(gamma + j)), h, sgx);
      }
      if (j < d) {
        const i64 n = d - j;
        const T h = VF::mul(load_part(xr + j, n, 0.0f), rv);
        store_part(xh + j, h, n);
        sgx = VF::fma(VF::mul(load_part(dyr + j, n, 0.0f), load_part(gamma + j, n, 0.0f)), h, sgx);
      }
      const T mgx = VF::set1(VF::hsum(sgx) / static_cast<float>(d));
      j = 0;
      for (; j + W <= d; j += W) {
        const T gg = VF::mul(VF::load(dyr + j), VF::load(gamma + j));
        VF::store(dxr + j, VF::mul(rv, VF::sub(gg, VF::mul(VF::load(xh + j), mgx))));
      }
      if (j < d) {
        const i64 n = d - j;
        const T gg = VF::mul(load_part(dyr + j, n, 0.0f), load_part(gamma + j, n, 0.0f));
        store_part(dxr + j, VF::mul(rv, VF::sub(gg, VF::mul(load_part(xh + j, n, 0.0f), mgx))), n);
      }
      for (i64 k = 0; k < d; k++) ag[k] += static_cast<double>(dyr[k] * xh[k]);
    }
  });
  param_grad_store(p, d, 0, 1, dg);
}

// ------------------------------------------------------------------ cross-entropy


static void cross_entropy_kernel(const float* x, const int32_t* t, float* loss, i64 n, i64 c, int32_t ignore) {
  par_rows(n, c, [&](i64 r0, i64 r1, int) {
    for (i64 i = r0; i < r1; i++) {
      const int32_t k = t[i];
      const float* xr = x + i * c;
      if (k == ignore) {
        loss[i] = 0.0f;
        continue;
      }
      // logsumexp - x[k] = (max - x[k]) + log Σ exp(x - max), which keeps log Σ when |max| is huge.
      const float m = max_row(xr, c);
      loss[i] = static_cast<float>((static_cast<double>(m) - static_cast<double>(xr[k])) + ::log(sum_exp_row(xr, c, m, nullptr)));
    }
  });
}

static void cross_entropy_bwd_kernel(const float* x, const int32_t* t, const float* dloss, float* dx, i64 n, i64 c, int32_t ignore) {
  par_rows(n, c, [&](i64 r0, i64 r1, int) {
    for (i64 i = r0; i < r1; i++) {
      const int32_t k = t[i];
      const float* xr = x + i * c;
      float* dr = dx + i * c;
      if (k == ignore) {
        for (i64 j = 0; j < c; j++) dr[j] = 0.0f;
        continue;
      }
      // softmax·g = exp(x - max)·(g / Σ exp(x - max)); the target column in double.
      const float m = max_row(xr, c);
      const double s = sum_exp_row(xr, c, m, dr);
      const double g = static_cast<double>(dloss[i]);
      scale_row(dr, static_cast<float>(g / s), dr, c);
      dr[k] = static_cast<float>((::exp((static_cast<double>(xr[k]) - static_cast<double>(m)) - ::log(s)) - 1.0) * g);
    }
  });
}
