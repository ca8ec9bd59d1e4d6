// Shared declarations of the native addon: the thread pool, op codes, the
// strided-view description and the per-ISA kernel table.
//
// Each SIMD level (isa_scalar.cpp, isa_avx2.cpp, isa_avx512.cpp) fills one
// KernelTable from the same templated source (kernels.inl) with its own
// vector type; dispatch.cpp picks the table at run time.
#pragma once
#include <cstddef>
#include <cstdint>

namespace kit {

using i64 = int64_t;

// ------------------------------------------------------------ thread pool (pool.cpp)

/** A task body: runs task `task` on pool thread `thread` (0 = the calling thread). */
typedef void (*TaskFn)(void* ctx, i64 task, int thread);

/** Threads kernels use (the caller counts as one). */
int num_threads();
/** Sets the thread count (1 = run everything on the calling thread). */
void set_num_threads(int n);
/**
 * Runs fn(ctx, t, thread) for every t in [0, ntasks), spread over at most
 * `max_threads` threads (0 = all). Returns when every task is done. Nested
 * calls from inside a task run serially on the calling thread.
 */
void parallel_for(i64 ntasks, TaskFn fn, void* ctx, int max_threads = 0);
/** A per-thread, grow-only, 64-byte aligned buffer (slot 0..3); valid until the next call with a larger size. */
void* scratch(int thread, int slot, size_t bytes);
/** Monotonic clock in seconds (for the FMA peak loop; keeps <chrono> out of the ISA units). */
double now_seconds();

// ------------------------------------------------------------ op codes (mirror src/native/ops.ts)

enum UnaryOp : int {
  U_NEG, U_ABS, U_SIGN, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_RECIP, U_SQUARE,
  U_SIN, U_COS, U_TANH, U_SIGMOID, U_RELU, U_ERF, U_GELU, U_GELU_TANH, U_SILU,
  U_COUNT
};
enum BinaryOp : int { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAXIMUM, B_MINIMUM, B_COUNT };
enum CompareOp : int { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE, C_COUNT };
enum ReduceOp : int { R_SUM, R_MAX, R_MIN, R_ARGMAX, R_COUNT };

// ------------------------------------------------------------ strided views

/** Coalesced rank at most this; the TS side falls back to the reference kernel beyond it. */
constexpr int kMaxDims = 8;
/** Views per elementwise call at most (output first, then up to three inputs). */
constexpr int kMaxViews = 4;

/**
 * Views of one shape walked together: element (i0..i{nd-1}) of view v is at
 * off[v] + sum(i_d * stride[v][d]). Axis nd-1 is the innermost (the "run").
 * nd == 0 means a single element.
 */
struct Strided {
  int nd = 0;
  int nv = 0;
  i64 shape[kMaxDims] = {};
  i64 off[kMaxViews] = {};
  i64 stride[kMaxViews][kMaxDims] = {};
};

// ------------------------------------------------------------ GEMM

/**
 * C[q] (m x n, row-major, contiguous) = op(A[q]) * op(B[q]) for q < batch.
 * op(A)(i, p) = transA ? a[p*m + i] : a[i*k + p]; op(B)(p, j) = transB ? b[j*k + p] : b[p*n + j].
 * Batch item q of A starts at a + q*a_batch_stride (0 = one matrix for all), likewise B.
 */
struct GemmArgs {
  const float* a;
  const float* b;
  float* c;
  i64 batch, m, n, k;
  bool trans_a, trans_b;
  i64 a_batch_stride, b_batch_stride;
};

// ------------------------------------------------------------ kernel table

struct KernelTable {
  const char* name;
  void (*gemm)(const GemmArgs& g);
  /** y = op(x); views: [y, x]. */
  void (*unary)(int op, const float* x, float* y, const Strided& s);
  /** z = op(a, b); views: [z, a, b]. */
  void (*binary)(int op, const float* a, const float* b, float* z, const Strided& s);
  /** z = (a op b) as 0/1; views: [z, a, b]. */
  void (*compare)(int op, const float* a, const float* b, uint8_t* z, const Strided& s);
  /** Reduces the middle axis of contiguous [outer, reduce, inner]; argmax writes int32. */
  void (*reduce)(int op, const float* x, void* y, i64 outer, i64 reduce, i64 inner);
  /** Softmax or log-softmax of each row of a contiguous [rows, cols]. */
  void (*softmax)(bool log, const float* x, float* y, i64 rows, i64 cols);
  void (*layer_norm)(const float* x, const float* g, const float* b, float* y, float* mean, float* rstd, i64 rows, i64 d, float eps);
  void (*layer_norm_bwd)(const float* dy, const float* x, const float* mean, const float* rstd, const float* g,
                         float* dx, float* dg, float* db, i64 rows, i64 d);
  void (*rms_norm)(const float* x, const float* g, float* y, float* rstd, i64 rows, i64 d, float eps);
  void (*rms_norm_bwd)(const float* dy, const float* x, const float* rstd, const float* g, float* dx, float* dg, i64 rows, i64 d);
  /** loss[i] = logsumexp(x[i]) - x[i, t[i]] (0 where t[i] == ignore); targets already validated. */
  void (*cross_entropy)(const float* x, const int32_t* t, float* loss, i64 n, i64 c, int32_t ignore);
  void (*cross_entropy_bwd)(const float* x, const int32_t* t, const float* dloss, float* dx, i64 n, i64 c, int32_t ignore);
  /** Multiply-adds per second of a register-resident FMA loop on this thread, for `seconds`. */
  double (*fma_flops)(double seconds);
};

const KernelTable* table_scalar();
#if defined(KIT_HAVE_AVX2)
const KernelTable* table_avx2();
#endif
#if defined(KIT_HAVE_AVX512)
const KernelTable* table_avx512();
#endif

}  // namespace kit
