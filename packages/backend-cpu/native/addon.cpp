// Node-API bindings. Every entry point validates its arguments (array types,
// integer arguments, and that every element a kernel will touch lies inside
// its typed array) and throws a JS error naming the kernel otherwise, so a
// bad call from JS can never read or write out of bounds. Kernels run
// synchronously on the calling thread plus the pool; typed arrays are used in
// place (zero-copy) and the JS thread is blocked meanwhile, so V8 can neither
// move nor free their memory during the call.
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "common.h"
#include "data.h"
#include "dispatch.h"

namespace {

using kit::i64;

struct Ctx {
  const Napi::CallbackInfo& info;
  const char* kernel;

  Napi::Env env() const { return info.Env(); }

  [[noreturn]] void fail(const std::string& msg) const {
    throw Napi::TypeError::New(env(), std::string("@adapterkit/backend-cpu native '") + kernel + "': " + msg);
  }
  [[noreturn]] void range(const std::string& msg) const {
    throw Napi::RangeError::New(env(), std::string("@adapterkit/backend-cpu native '") + kernel + "': " + msg);
  }

  i64 integer(size_t i, const char* what) const {
    if (i >= info.Length() || !info[i].IsNumber()) fail(std::string(what) + " must be a number");
    const double v = info[i].As<Napi::Number>().DoubleValue();
    if (!(v == std::floor(v)) || std::fabs(v) > 9007199254740992.0) fail(std::string(what) + " must be an integer, got " + std::to_string(v));
    return static_cast<i64>(v);
  }
  i64 count(size_t i, const char* what) const {
    const i64 v = integer(i, what);
    if (v < 0) range(std::string(what) + " must be >= 0, got " + std::to_string(v));
    return v;
  }
  double number(size_t i, const char* what) const {
    if (i >= info.Length() || !info[i].IsNumber()) fail(std::string(what) + " must be a number");
    return info[i].As<Napi::Number>().DoubleValue();
  }
  bool boolean(size_t i, const char* what) const {
    if (i >= info.Length() || !info[i].IsBoolean()) fail(std::string(what) + " must be a boolean");
    return info[i].As<Napi::Boolean>().Value();
  }

  /** A typed array argument: its data pointer, element count and size. */
  struct Arr {
    void* data;
    i64 length;
    int elem;
    napi_typedarray_type type;
  };
  Arr array(size_t i, const char* what) const {
    if (i >= info.Length() || !info[i].IsTypedArray()) fail(std::string(what) + " must be a typed array");
    Napi::TypedArray ta = info[i].As<Napi::TypedArray>();
    Napi::ArrayBuffer buf = ta.ArrayBuffer();
    void* base = buf.Data();
    Arr a{base ? static_cast<char*>(base) + ta.ByteOffset() : nullptr, static_cast<i64>(ta.ElementLength()), static_cast<int>(ta.ElementSize()), ta.TypedArrayType()};
    if (!a.data) a.length = 0;
    return a;
  }
  Arr typed(size_t i, const char* what, napi_typedarray_type type, const char* type_name) const {
    Arr a = array(i, what);
    if (a.type != type) fail(std::string(what) + " must be a " + type_name);
    return a;
  }
  float* f32(size_t i, const char* what, i64 off, i64 n) const {
    Arr a = typed(i, what, napi_float32_array, "Float32Array");
    in_bounds(a, off, n, what);
    return static_cast<float*>(a.data) + off;
  }
  int32_t* i32(size_t i, const char* what, i64 off, i64 n) const {
    Arr a = typed(i, what, napi_int32_array, "Int32Array");
    in_bounds(a, off, n, what);
    return static_cast<int32_t*>(a.data) + off;
  }
  void in_bounds(const Arr& a, i64 off, i64 n, const char* what) const {
    if (n == 0) return;
    if (off < 0 || n < 0 || off > a.length || n > a.length - off) {
      range(std::string(what) + ": elements [" + std::to_string(off) + ", " + std::to_string(off + n) + ") are outside its " +
            std::to_string(a.length) + " elements");
    }
  }

  /**
   * A strided description from a Float64Array [nd, shape..., then per view:
   * offset, strides...], checked against each view's array length.
   */
  kit::Strided strided(size_t i, int nv, const Arr* arrays) const {
    Arr d = typed(i, "layout", napi_float64_array, "Float64Array");
    const double* v = static_cast<const double*>(d.data);
    if (d.length < 1) fail("layout is empty");
    kit::Strided s;
    const double ndv = v[0];
    if (!(ndv >= 0 && ndv <= kit::kMaxDims && ndv == std::floor(ndv))) fail("layout rank must be an integer in [0, " + std::to_string(kit::kMaxDims) + "]");
    s.nd = static_cast<int>(ndv);
    s.nv = nv;
    if (d.length != 1 + s.nd + nv * (1 + s.nd)) fail("layout has " + std::to_string(d.length) + " entries, expected " + std::to_string(1 + s.nd + nv * (1 + s.nd)));
    auto as_int = [&](double x, const char* what) -> i64 {
      if (!(x == std::floor(x)) || std::fabs(x) > 4503599627370496.0) fail(std::string("layout ") + what + " must be an integer");
      return static_cast<i64>(x);
    };
    i64 total = 1;
    for (int k = 0; k < s.nd; k++) {
      s.shape[k] = as_int(v[1 + k], "dimension");
      if (s.shape[k] < 0) fail("layout dimension is negative");
      if (__builtin_mul_overflow(total, s.shape[k], &total)) range("layout has too many elements");
    }
    for (int w = 0; w < nv; w++) {
      const double* p = v + 1 + s.nd + w * (1 + s.nd);
      s.off[w] = as_int(p[0], "offset");
      for (int k = 0; k < s.nd; k++) s.stride[w][k] = as_int(p[1 + k], "stride");
    }
    if (total == 0) return s;
    for (int w = 0; w < nv; w++) {
      i64 lo = s.off[w], hi = s.off[w];
      for (int k = 0; k < s.nd; k++) {
        i64 span;
        if (__builtin_mul_overflow(s.shape[k] - 1, s.stride[w][k], &span)) range("layout extent overflows");
        if (span < 0) lo += span;
        else hi += span;
      }
      if (lo < 0 || hi >= arrays[w].length) {
        range("view " + std::to_string(w) + " reaches elements [" + std::to_string(lo) + ", " + std::to_string(hi) + "] outside its " +
              std::to_string(arrays[w].length) + " elements");
      }
    }
    return s;
  }
};

// ------------------------------------------------------------------ info / settings

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", kit::kernels().name);
  Napi::Array isas = Napi::Array::New(env);
  uint32_t i = 0;
  for (const std::string& a : kit::available_isas()) isas.Set(i++, a);
  o.Set("isas", isas);
  o.Set("threads", kit::num_threads());
  return o;
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  Ctx c{info, "setIsa"};
  if (info.Length() < 1 || !info[0].IsString()) c.fail("expects an ISA name");
  const std::string err = kit::set_isa(info[0].As<Napi::String>().Utf8Value());
  if (!err.empty()) c.range(err);
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Ctx c{info, "setThreads"};
  const i64 n = c.integer(0, "threads");
  if (n < 1 || n > 256) c.range("threads must be in [1, 256]");
  kit::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

/** Peak f32 multiply-add throughput (flop/s) of the active ISA on all pool threads, measured for `seconds`. */
Napi::Value PeakFlops(const Napi::CallbackInfo& info) {
  Ctx c{info, "peakFlops"};
  const double seconds = c.number(0, "seconds");
  if (!(seconds > 0 && seconds <= 10)) c.range("seconds must be in (0, 10]");
  const kit::KernelTable& t = kit::kernels();
  const int n = kit::num_threads();
  std::vector<double> rates(static_cast<size_t>(n), 0.0);
  struct Job { const kit::KernelTable* t; double seconds; double* rates; } job{&t, seconds, rates.data()};
  kit::parallel_for(n, [](void* p, i64 task, int) {
    Job* j = static_cast<Job*>(p);
    j->rates[task] = j->t->fma_flops(j->seconds);
  }, &job);
  double sum = 0;
  for (double r : rates) sum += r;
  return Napi::Number::New(info.Env(), sum);
}

// ------------------------------------------------------------------ GEMM

/** gemm(a, aOff, b, bOff, c, cOff, batch, m, n, k, transA, transB, aBatchStride, bBatchStride) */
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Ctx c{info, "gemm"};
  const i64 batch = c.count(6, "batch"), m = c.count(7, "m"), n = c.count(8, "n"), k = c.count(9, "k");
  const bool ta = c.boolean(10, "transA"), tb = c.boolean(11, "transB");
  const i64 as = c.count(12, "aBatchStride"), bs = c.count(13, "bBatchStride");
  const i64 aoff = c.count(1, "aOffset"), boff = c.count(3, "bOffset"), coff = c.count(5, "cOffset");
  const bool any = batch > 0 && m > 0 && n > 0;
  const i64 last = batch > 0 ? batch - 1 : 0;
  kit::GemmArgs g;
  g.a = c.f32(0, "a", aoff, any && k > 0 ? last * as + m * k : 0);
  g.b = c.f32(2, "b", boff, any && k > 0 ? last * bs + k * n : 0);
  g.c = c.f32(4, "c", coff, batch * m * n);
  g.batch = batch;
  g.m = m;
  g.n = n;
  g.k = k;
  g.trans_a = ta;
  g.trans_b = tb;
  g.a_batch_stride = as;
  g.b_batch_stride = bs;
  kit::kernels().gemm(g);
  return info.Env().Undefined();
}

// ------------------------------------------------------------------ elementwise

/** unary(op, x, y, layout) with views [y, x]. */
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Ctx c{info, "unary"};
  const i64 op = c.integer(0, "op");
  if (op < 0 || op >= kit::U_COUNT) c.range("unknown unary op " + std::to_string(op));
  Ctx::Arr arrs[2] = {c.typed(2, "y", napi_float32_array, "Float32Array"), c.typed(1, "x", napi_float32_array, "Float32Array")};
  const kit::Strided s = c.strided(3, 2, arrs);
  kit::kernels().unary(static_cast<int>(op), static_cast<const float*>(arrs[1].data), static_cast<float*>(arrs[0].data), s);
  return info.Env().Undefined();
}

/** binary(op, a, b, z, layout) with views [z, a, b]. */
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Ctx c{info, "binary"};
  const i64 op = c.integer(0, "op");
  if (op < 0 || op >= kit::B_COUNT) c.range("unknown binary op " + std::to_string(op));
  Ctx::Arr arrs[3] = {c.typed(3, "z", napi_float32_array, "Float32Array"), c.typed(1, "a", napi_float32_array, "Float32Array"),
                      c.typed(2, "b", napi_float32_array, "Float32Array")};
  const kit::Strided s = c.strided(4, 3, arrs);
  kit::kernels().binary(static_cast<int>(op), static_cast<const float*>(arrs[1].data), static_cast<const float*>(arrs[2].data),
                        static_cast<float*>(arrs[0].data), s);
  return info.Env().Undefined();
}

/** compare(op, a, b, z, layout) with views [z (Uint8Array), a, b]. */
Napi::Value Compare(const Napi::CallbackInfo& info) {
  Ctx c{info, "compare"};
  const i64 op = c.integer(0, "op");
  if (op < 0 || op >= kit::C_COUNT) c.range("unknown compare op " + std::to_string(op));
  Ctx::Arr arrs[3] = {c.typed(3, "z", napi_uint8_array, "Uint8Array"), c.typed(1, "a", napi_float32_array, "Float32Array"),
                      c.typed(2, "b", napi_float32_array, "Float32Array")};
  const kit::Strided s = c.strided(4, 3, arrs);
  kit::kernels().compare(static_cast<int>(op), static_cast<const float*>(arrs[1].data), static_cast<const float*>(arrs[2].data),
                         static_cast<uint8_t*>(arrs[0].data), s);
  return info.Env().Undefined();
}

/** where(cond, a, b, y, layout) with views [y, cond (Uint8Array), a, b]; a, b, y share an element size. */
Napi::Value Where(const Napi::CallbackInfo& info) {
  Ctx c{info, "where"};
  Ctx::Arr arrs[4] = {c.array(3, "y"), c.typed(0, "cond", napi_uint8_array, "Uint8Array"), c.array(1, "a"), c.array(2, "b")};
  if (arrs[2].type != arrs[0].type || arrs[3].type != arrs[0].type) c.fail("a, b and y must be typed arrays of one type");
  const kit::Strided s = c.strided(4, 4, arrs);
  kit::where_kernel(static_cast<const uint8_t*>(arrs[1].data), arrs[2].data, arrs[3].data, arrs[0].data, arrs[0].elem, s);
  return info.Env().Undefined();
}

/** copy(x, y, layout) with views [y, x] of one typed-array type. */
Napi::Value Copy(const Napi::CallbackInfo& info) {
  Ctx c{info, "copy"};
  Ctx::Arr arrs[2] = {c.array(1, "y"), c.array(0, "x")};
  if (arrs[0].type != arrs[1].type) c.fail("x and y must be typed arrays of one type");
  const kit::Strided s = c.strided(2, 2, arrs);
  kit::copy_kernel(arrs[1].data, arrs[0].data, arrs[0].elem, s);
  return info.Env().Undefined();
}

// ------------------------------------------------------------------ rows

/** reduce(op, x, xOff, y, yOff, outer, reduce, inner); y is an Int32Array for argmax. */
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Ctx c{info, "reduce"};
  const i64 op = c.integer(0, "op");
  if (op < 0 || op >= kit::R_COUNT) c.range("unknown reduce op " + std::to_string(op));
  const i64 outer = c.count(5, "outer"), red = c.count(6, "reduce"), inner = c.count(7, "inner");
  if (op == kit::R_ARGMAX && red == 0 && outer * inner > 0) c.range("argmax: cannot reduce an empty axis");
  const float* x = c.f32(1, "x", c.count(2, "xOffset"), outer * red * inner);
  void* y = op == kit::R_ARGMAX ? static_cast<void*>(c.i32(3, "y", c.count(4, "yOffset"), outer * inner))
                                : static_cast<void*>(c.f32(3, "y", c.count(4, "yOffset"), outer * inner));
  kit::kernels().reduce(static_cast<int>(op), x, y, outer, red, inner);
  return info.Env().Undefined();
}

/** softmax(log, x, xOff, y, yOff, rows, cols) */
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Ctx c{info, "softmax"};
  const bool log = c.boolean(0, "log");
  const i64 rows = c.count(5, "rows"), cols = c.count(6, "cols");
  const float* x = c.f32(1, "x", c.count(2, "xOffset"), rows * cols);
  float* y = c.f32(3, "y", c.count(4, "yOffset"), rows * cols);
  kit::kernels().softmax(log, x, y, rows, cols);
  return info.Env().Undefined();
}

/** layerNorm(x, xo, g, go, b, bo, y, yo, mean, mo, rstd, ro, rows, d, eps) */
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  Ctx c{info, "layerNorm"};
  const i64 rows = c.count(12, "rows"), d = c.count(13, "d");
  const float eps = static_cast<float>(c.number(14, "eps"));
  const float* x = c.f32(0, "x", c.count(1, "xOffset"), rows * d);
  const float* g = c.f32(2, "gamma", c.count(3, "gammaOffset"), rows ? d : 0);
  const float* b = c.f32(4, "beta", c.count(5, "betaOffset"), rows ? d : 0);
  float* y = c.f32(6, "y", c.count(7, "yOffset"), rows * d);
  float* mean = c.f32(8, "mean", c.count(9, "meanOffset"), rows);
  float* rstd = c.f32(10, "rstd", c.count(11, "rstdOffset"), rows);
  if (d == 0) c.range("d must be > 0");
  kit::kernels().layer_norm(x, g, b, y, mean, rstd, rows, d, eps);
  return info.Env().Undefined();
}

/** layerNormBackward(dy, o, x, o, mean, o, rstd, o, gamma, o, dx, o, dgamma, o, dbeta, o, rows, d) */
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Ctx c{info, "layerNormBackward"};
  const i64 rows = c.count(16, "rows"), d = c.count(17, "d");
  const float* dy = c.f32(0, "dy", c.count(1, "dyOffset"), rows * d);
  const float* x = c.f32(2, "x", c.count(3, "xOffset"), rows * d);
  const float* mean = c.f32(4, "mean", c.count(5, "meanOffset"), rows);
  const float* rstd = c.f32(6, "rstd", c.count(7, "rstdOffset"), rows);
  const float* g = c.f32(8, "gamma", c.count(9, "gammaOffset"), d);
  float* dx = c.f32(10, "dx", c.count(11, "dxOffset"), rows * d);
  float* dg = c.f32(12, "dgamma", c.count(13, "dgammaOffset"), d);
  float* db = c.f32(14, "dbeta", c.count(15, "dbetaOffset"), d);
  kit::kernels().layer_norm_bwd(dy, x, mean, rstd, g, dx, dg, db, rows, d);
  return info.Env().Undefined();
}

/** rmsNorm(x, xo, g, go, y, yo, rstd, ro, rows, d, eps) */
Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  Ctx c{info, "rmsNorm"};
  const i64 rows = c.count(8, "rows"), d = c.count(9, "d");
  const float eps = static_cast<float>(c.number(10, "eps"));
  const float* x = c.f32(0, "x", c.count(1, "xOffset"), rows * d);
  const float* g = c.f32(2, "gamma", c.count(3, "gammaOffset"), rows ? d : 0);
  float* y = c.f32(4, "y", c.count(5, "yOffset"), rows * d);
  float* rstd = c.f32(6, "rstd", c.count(7, "rstdOffset"), rows);
  if (d == 0) c.range("d must be > 0");
  kit::kernels().rms_norm(x, g, y, rstd, rows, d, eps);
  return info.Env().Undefined();
}

/** rmsNormBackward(dy, o, x, o, rstd, o, gamma, o, dx, o, dgamma, o, rows, d) */
Napi::Value RmsNormBackward(const Napi::CallbackInfo& info) {
  Ctx c{info, "rmsNormBackward"};
  const i64 rows = c.count(12, "rows"), d = c.count(13, "d");
  const float* dy = c.f32(0, "dy", c.count(1, "dyOffset"), rows * d);
  const float* x = c.f32(2, "x", c.count(3, "xOffset"), rows * d);
  const float* rstd = c.f32(4, "rstd", c.count(5, "rstdOffset"), rows);
  const float* g = c.f32(6, "gamma", c.count(7, "gammaOffset"), d);
  float* dx = c.f32(8, "dx", c.count(9, "dxOffset"), rows * d);
  float* dg = c.f32(10, "dgamma", c.count(11, "dgammaOffset"), d);
  kit::kernels().rms_norm_bwd(dy, x, rstd, g, dx, dg, rows, d);
  return info.Env().Undefined();
}

/** Targets must be classes in [0, c) or exactly ignoreIndex (same message as the reference). */
void check_targets(const Ctx& c, const char* kernel, const int32_t* t, i64 n, i64 classes, int32_t ignore) {
  for (i64 i = 0; i < n; i++) {
    const int32_t k = t[i];
    if (k != ignore && (k < 0 || k >= classes)) {
      throw Napi::RangeError::New(c.env(), std::string(kernel) + ": target " + std::to_string(k) + " at row " + std::to_string(i) +
                                               " is out of range for " + std::to_string(classes) + " classes (ignoreIndex is " +
                                               std::to_string(ignore) + ")");
    }
  }
}

/** crossEntropy(x, xo, targets, to, loss, lo, n, c, ignoreIndex) */
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Ctx c{info, "crossEntropy"};
  const i64 n = c.count(6, "n"), cls = c.count(7, "c");
  const int32_t ignore = static_cast<int32_t>(c.integer(8, "ignoreIndex"));
  const float* x = c.f32(0, "logits", c.count(1, "logitsOffset"), n * cls);
  const int32_t* t = c.i32(2, "targets", c.count(3, "targetsOffset"), n);
  float* loss = c.f32(4, "loss", c.count(5, "lossOffset"), n);
  check_targets(c, "crossEntropy", t, n, cls, ignore);
  kit::kernels().cross_entropy(x, t, loss, n, cls, ignore);
  return info.Env().Undefined();
}

/** crossEntropyBackward(x, xo, targets, to, dloss, do, dx, dxo, n, c, ignoreIndex) */
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Ctx c{info, "crossEntropyBackward"};
  const i64 n = c.count(8, "n"), cls = c.count(9, "c");
  const int32_t ignore = static_cast<int32_t>(c.integer(10, "ignoreIndex"));
  const float* x = c.f32(0, "logits", c.count(1, "logitsOffset"), n * cls);
  const int32_t* t = c.i32(2, "targets", c.count(3, "targetsOffset"), n);
  const float* dl = c.f32(4, "dloss", c.count(5, "dlossOffset"), n);
  float* dx = c.f32(6, "dlogits", c.count(7, "dlogitsOffset"), n * cls);
  check_targets(c, "crossEntropyBackward", t, n, cls, ignore);
  kit::kernels().cross_entropy_bwd(x, t, dl, dx, n, cls, ignore);
  return info.Env().Undefined();
}

// ------------------------------------------------------------------ gather / scatterAdd

/** Indices must lie in [0, v) (same message as the reference). */
void check_indices(const Ctx& c, const char* kernel, const int32_t* idx, i64 n, i64 v) {
  for (i64 i = 0; i < n; i++) {
    const int32_t t = idx[i];
    if (t < 0 || t >= v) {
      throw Napi::RangeError::New(c.env(), std::string(kernel) + ": index " + std::to_string(t) + " at position " + std::to_string(i) +
                                               " is out of range for a table of " + std::to_string(v) + " rows");
    }
  }
}

/** gather(table, tOff, indices, iOff, y, yOff, v, d, n); table and y of one typed-array type. */
Napi::Value Gather(const Napi::CallbackInfo& info) {
  Ctx c{info, "gather"};
  const i64 v = c.count(6, "v"), d = c.count(7, "d"), n = c.count(8, "n");
  Ctx::Arr t = c.array(0, "table"), y = c.array(4, "y");
  if (t.type != y.type) c.fail("table and y must be typed arrays of one type");
  const i64 toff = c.count(1, "tableOffset"), yoff = c.count(5, "yOffset");
  c.in_bounds(t, toff, n > 0 ? v * d : 0, "table");
  c.in_bounds(y, yoff, n * d, "y");
  const int32_t* idx = c.i32(2, "indices", c.count(3, "indicesOffset"), n);
  check_indices(c, "gather", idx, n, v);
  kit::gather_kernel(static_cast<char*>(t.data) + toff * t.elem, idx, static_cast<char*>(y.data) + yoff * y.elem, t.elem, d, n);
  return info.Env().Undefined();
}

/** scatterAdd(src, sOff, indices, iOff, y, yOff, v, d, n) on Float32Arrays. */
Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  Ctx c{info, "scatterAdd"};
  const i64 v = c.count(6, "v"), d = c.count(7, "d"), n = c.count(8, "n");
  const float* src = c.f32(0, "src", c.count(1, "srcOffset"), n * d);
  const int32_t* idx = c.i32(2, "indices", c.count(3, "indicesOffset"), n);
  float* y = c.f32(4, "y", c.count(5, "yOffset"), v * d);
  check_indices(c, "scatterAdd", idx, n, v);
  kit::scatter_add_kernel(src, idx, y, v, d, n);
  return info.Env().Undefined();
}

// ------------------------------------------------------------------ random

/** random(y, yOff, size, dist (0 uniform, 1 normal, 2 bernoulli), seed, counter, p0, p1) */
Napi::Value Random(const Napi::CallbackInfo& info) {
  Ctx c{info, "random"};
  const i64 size = c.count(2, "size");
  float* y = c.f32(0, "y", c.count(1, "yOffset"), size);
  const i64 dist = c.integer(3, "distribution");
  if (dist < 0 || dist > 2) c.range("unknown distribution " + std::to_string(dist));
  const double seed = c.number(4, "seed");
  const double counter = c.number(5, "counter");
  const double p0 = c.number(6, "p0"), p1 = c.number(7, "p1");
  const uint32_t s = static_cast<uint32_t>(static_cast<uint64_t>(static_cast<int64_t>(std::fmod(std::trunc(seed), 4294967296.0))));
  kit::random_kernel(y, size, static_cast<int>(dist), s, std::trunc(counter), p0, p1);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("peakFlops", Napi::Function::New(env, PeakFlops, "peakFlops"));
  exports.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
  exports.Set("unary", Napi::Function::New(env, Unary, "unary"));
  exports.Set("binary", Napi::Function::New(env, Binary, "binary"));
  exports.Set("compare", Napi::Function::New(env, Compare, "compare"));
  exports.Set("where", Napi::Function::New(env, Where, "where"));
  exports.Set("copy", Napi::Function::New(env, Copy, "copy"));
  exports.Set("reduce", Napi::Function::New(env, Reduce, "reduce"));
  exports.Set("softmax", Napi::Function::New(env, Softmax, "softmax"));
  exports.Set("layerNorm", Napi::Function::New(env, LayerNorm, "layerNorm"));
  exports.Set("layerNormBackward", Napi::Function::New(env, LayerNormBackward, "layerNormBackward"));
  exports.Set("rmsNorm", Napi::Function::New(env, RmsNorm, "rmsNorm"));
  exports.Set("rmsNormBackward", Napi::Function::New(env, RmsNormBackward, "rmsNormBackward"));
  exports.Set("crossEntropy", Napi::Function::New(env, CrossEntropy, "crossEntropy"));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, CrossEntropyBackward, "crossEntropyBackward"));
  exports.Set("random", Napi::Function::New(env, Random, "random"));
  exports.Set("gather", Napi::Function::New(env, Gather, "gather"));
  exports.Set("scatterAdd", Napi::Function::New(env, ScatterAdd, "scatterAdd"));
  exports.Set("version", Napi::String::New(env, "1"));
  return exports;
}

}  // namespace

NODE_API_MODULE(adapterkit_cpu, Init)
