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

/**
 * True when some view walks the last two axes transposed (unit stride on the
 * second-to-last axis, a long stride on the last): element-by-element runs
 * would then miss the cache on every element of that view.
 */
static bool needs_tiles(const Strided& s) {
  if (s.nd < 2 || s.shape[s.nd - 1] < 16 || s.shape[s.nd - 2] < 16) return false;
  for (int v = 0; v < s.nv; v++) {
    const i64 inner = s.stride[v][s.nd - 1], outer = s.stride[v][s.nd - 2];
    if ((outer == 1 || outer == -1) && (inner > 16 || inner < -16)) return true;
  }
  return false;
}

constexpr i64 kTile = 32;

/**
 * Like walk, over the last two axes in kTile x kTile tiles: calls f for the
 * rows of each tile (runs of at most kTile), for tile rows [t0, t1) of the
 * (outer index, tile row) space, so a transposed view reuses its cache lines.
 */
template <class F>
static void walk_tiled(const Strided& s, i64 t0, i64 t1, F&& f) {
  const int nd = s.nd, nv = s.nv;
  const i64 rows = s.shape[nd - 2], cols = s.shape[nd - 1];
  const i64 rtiles = (rows + kTile - 1) / kTile;
  i64 steps[kMaxViews] = {}, offs[kMaxViews] = {}, base[kMaxViews] = {};
  for (int v = 0; v < nv; v++) steps[v] = s.stride[v][nd - 1];
  for (i64 t = t0; t < t1; t++) {
    i64 o = t / rtiles;
    const i64 r0 = (t % rtiles) * kTile, r1 = imin(rows, r0 + kTile);
    for (int v = 0; v < nv; v++) base[v] = s.off[v];
    for (int d = nd - 3; d >= 0; d--) {
      const i64 i = o % s.shape[d];
      o /= s.shape[d];
      for (int v = 0; v < nv; v++) base[v] += i * s.stride[v][d];
    }
    for (i64 c0 = 0; c0 < cols; c0 += kTile) {
      const i64 len = imin(kTile, cols - c0);
      for (i64 r = r0; r < r1; r++) {
        for (int v = 0; v < nv; v++) offs[v] = base[v] + r * s.stride[v][nd - 2] + c0 * steps[v];
        f(offs, steps, len);
      }
    }
  }
}

/** Splits [0, total) into equal chunks over the pool when there are at least `grain` elements per thread. */
template <class F>
static void par_walk(const Strided& s, i64 grain, F&& f) {
  const i64 total = total_elements(s);
  if (total == 0) return;
  if (needs_tiles(s)) {
    const i64 rows = s.shape[s.nd - 2], cols = s.shape[s.nd - 1];
    const i64 ntiles = total / (rows * cols) * ((rows + kTile - 1) / kTile);  // (outer count) x (tile rows)
    const i64 tasks = imin(imin(kit::num_threads() * 4, ntiles), imax(1, total / grain) * 4);
    if (tasks <= 1) {
      walk_tiled(s, 0, ntiles, f);
      return;
    }
    const i64 per = (ntiles + tasks - 1) / tasks;
    auto task = [&](i64 t, int) { walk_tiled(s, t * per, imin(ntiles, (t + 1) * per), f); };
    run_parallel(tasks, task);
    return;
  }
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

