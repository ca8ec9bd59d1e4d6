// Helpers shared by the ISA units and the baseline data kernels: integer
// helpers, the pool adapter for lambdas, and the strided-view walker.
// Included inside an anonymous namespace in namespace kit.

static inline i64 imin(i64 a, i64 b) { return a < b ? a : b; }
static inline i64 imax(i64 a, i64 b) { return a > b ? a : b; }
static inline i64 round_up(i64 x, i64 to) { return (x + to - 1) / to * to; }

template <class F>
static void run_parallel(i64 ntasks, F& f, int max_threads = 0) {
  kit::parallel_for(ntasks, [](void* c, i64 t, int th) { (*static_cast<F*>(c))(t, th); }, &f, max_threads);
}

/**
 * Calls f(offs, steps, n) for each maximal inner run inside the flat element
 * range [begin, end) of the views in s (offs/steps per view, in elements).
 */
template <class F>
static void walk(const Strided& s, i64 begin, i64 end, F&& f) {
  const int nd = s.nd, nv = s.nv;
  const i64 n = nd ? s.shape[nd - 1] : 1;
  i64 idx[kMaxDims] = {};
  i64 row = begin / n, col = begin % n;
  for (int d = nd - 2; d >= 0; d--) {
    idx[d] = row % s.shape[d];
    row /= s.shape[d];
  }
  i64 steps[kMaxViews] = {}, offs[kMaxViews] = {};
  for (int v = 0; v < nv; v++) steps[v] = nd ? s.stride[v][nd - 1] : 0;
  while (begin < end) {
    for (int v = 0; v < nv; v++) {
      i64 o = s.off[v] + col * steps[v];
      for (int d = 0; d < nd - 1; d++) o += idx[d] * s.stride[v][d];
      offs[v] = o;
    }
    const i64 len = imin(n - col, end - begin);
    f(offs, steps, len);
    begin += len;
    col = 0;
    for (int d = nd - 2; d >= 0; d--) {
      if (++idx[d] < s.shape[d]) break;
      idx[d] = 0;
    }
  }
}

static i64 total_elements(const Strided& s) {
  i64 t = 1;
  for (int d = 0; d < s.nd; d++) t *= s.shape[d];
  return t;
}

/** Splits [0, total) into equal chunks over the pool when there are at least `grain` elements per thread. */
template <class F>
static void par_walk(const Strided& s, i64 grain, F&& f) {
  const i64 total = total_elements(s);
  if (total == 0) return;
  const i64 tasks = imin(kit::num_threads(), total / grain);
  if (tasks <= 1) {
    walk(s, 0, total, f);
    return;
  }
  const i64 chunk = round_up((total + tasks - 1) / tasks, 64);
  auto task = [&](i64 t, int) {
    const i64 b = t * chunk, e = imin(total, b + chunk);
    if (b < e) walk(s, b, e, f);
  };
  run_parallel(tasks, task);
}

