// A small persistent thread pool. Workers are started on the first parallel
// call (loading the addon starts no threads), spin briefly after a job so
// back-to-back kernels don't pay a futex wake-up each, then sleep. The pool is
// never destroyed: its threads end with the process (joining them from a
// static destructor could deadlock at exit).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KIT_PAUSE() _mm_pause()
#else
#define KIT_PAUSE() std::this_thread::yield()
#endif

#include "common.h"

namespace kit {
namespace {

constexpr int kSlots = 4;
/**
 * How long an idle worker spins before sleeping, and how long the caller
 * spins waiting for workers: kernels come back to back in training, so a
 * short spin saves a futex wake-up per kernel (OpenMP runtimes spin far longer).
 */
constexpr double kSpinSeconds = 300e-6;

struct Slot {
  void* p = nullptr;
  size_t n = 0;
};

int detect_threads() {
  if (const char* env = std::getenv("ADAPTERKIT_CPU_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n > 256 ? 256 : n;
  }
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n >= 1) return n;
  }
#endif
  unsigned n = std::thread::hardware_concurrency();
  return n >= 1 ? static_cast<int>(n) : 1;
}

struct Pool {
  std::mutex mu;
  std::condition_variable cv_work;
  std::condition_variable cv_done;
  std::mutex call_mu;  // one parallel region at a time (Node worker threads may share the addon)
  std::vector<std::thread> workers;
  int threads = detect_threads();

  // The current job (written by the caller before bumping `generation`).
  TaskFn fn = nullptr;
  void* ctx = nullptr;
  i64 ntasks = 0;
  int job_threads = 0;
  std::atomic<uint64_t> generation{0};
  std::atomic<i64> next{0};
  std::atomic<int> active{0};

  std::vector<Slot> slots = std::vector<Slot>(static_cast<size_t>(kSlots) * 257);

  void start_workers() {
    while (static_cast<int>(workers.size()) < threads - 1) {
      int index = static_cast<int>(workers.size()) + 1;
      workers.emplace_back([this, index] { worker_loop(index); });
    }
  }

  void run_tasks(int index) {
    for (i64 t = next.fetch_add(1, std::memory_order_relaxed); t < ntasks; t = next.fetch_add(1, std::memory_order_relaxed)) {
      fn(ctx, t, index);
    }
  }

  void worker_loop(int index);
};

Pool& pool() {
  static Pool* p = new Pool();  // intentionally leaked, see above
  return *p;
}

thread_local int tls_index = -1;  // pool index while running a task, else -1

void Pool::worker_loop(int index) {
  uint64_t seen = 0;
  tls_index = index;
  for (;;) {
    uint64_t g = generation.load(std::memory_order_acquire);
    if (g == seen) {
      const double until = now_seconds() + kSpinSeconds;
      for (int s = 1; g == seen; s++) {
        KIT_PAUSE();
        g = generation.load(std::memory_order_acquire);
        if ((s & 63) == 0 && now_seconds() > until) break;
      }
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lk(mu);
      cv_work.wait(lk, [&] { return generation.load(std::memory_order_acquire) != seen; });
      g = generation.load(std::memory_order_acquire);
    }
    seen = g;
    if (index < job_threads) run_tasks(index);
    if (active.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lk(mu);
      cv_done.notify_one();
    }
  }
}

}  // namespace

int num_threads() { return pool().threads; }

double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

void set_num_threads(int n) {
  Pool& p = pool();
  std::lock_guard<std::mutex> lk(p.call_mu);
  if (n < 1) n = 1;
  if (n > 256) n = 256;
  // Workers already started stay (idle); only the first n-1 get tasks.
  p.threads = n;
}

void parallel_for(i64 ntasks, TaskFn fn, void* ctx, int max_threads) {
  if (ntasks <= 0) return;
  Pool& p = pool();
  int t = p.threads;
  if (max_threads > 0 && max_threads < t) t = max_threads;
  if (ntasks < t) t = static_cast<int>(ntasks);
  std::unique_lock<std::mutex> call(p.call_mu, std::defer_lock);
  // Serial: one thread wanted, a nested call from a task, or another thread owns the pool.
  if (t <= 1 || tls_index >= 0 || !call.try_lock()) {
    int index = tls_index >= 0 ? tls_index : 0;
    for (i64 i = 0; i < ntasks; i++) fn(ctx, i, index);
    return;
  }
  p.start_workers();
  int nworkers = static_cast<int>(p.workers.size());
  p.fn = fn;
  p.ctx = ctx;
  p.ntasks = ntasks;
  p.job_threads = t;
  p.next.store(0, std::memory_order_relaxed);
  p.active.store(nworkers, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lk(p.mu);
    p.generation.fetch_add(1, std::memory_order_release);
  }
  p.cv_work.notify_all();
  tls_index = 0;
  p.run_tasks(0);
  tls_index = -1;
  if (p.active.load(std::memory_order_acquire) != 0) {
    const double until = now_seconds() + kSpinSeconds;
    for (int s = 1; p.active.load(std::memory_order_acquire) != 0; s++) {
      KIT_PAUSE();
      if ((s & 63) == 0 && now_seconds() > until) break;
    }
  }
  if (p.active.load(std::memory_order_acquire) != 0) {
    std::unique_lock<std::mutex> lk(p.mu);
    p.cv_done.wait(lk, [&] { return p.active.load(std::memory_order_acquire) == 0; });
  }
}

namespace {
/** Scratch of pool index 0, per OS thread: Node worker threads may each call kernels (one of them on the pool, the others serially). */
struct CallerScratch {
  Slot slots[kSlots];
  ~CallerScratch() {
    for (Slot& s : slots) std::free(s.p);
  }
};
thread_local CallerScratch tls_scratch;
}  // namespace

void* scratch(int thread, int slot, size_t bytes) {
  Pool& p = pool();
  if (thread < 0 || thread > 256 || slot < 0 || slot >= kSlots) {
    std::fprintf(stderr, "@adapterkit/backend-cpu: bad scratch request (thread %d, slot %d)\n", thread, slot);
    std::abort();
  }
  Slot& s = thread == 0 ? tls_scratch.slots[slot] : p.slots[static_cast<size_t>(thread) * kSlots + slot];
  if (s.n < bytes) {
    std::free(s.p);
    size_t n = (bytes + 4095) & ~static_cast<size_t>(4095);
    s.p = std::aligned_alloc(64, n);
    if (!s.p) {
      std::fprintf(stderr, "@adapterkit/backend-cpu: out of memory allocating %zu bytes of scratch\n", n);
      std::abort();
    }
    s.n = n;
  }
  return s.p;
}

}  // namespace kit
