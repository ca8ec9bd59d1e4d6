// One CUDA device context as seen from JS: a stream, a cuBLAS handle, pinned
// staging for host transfers, loaded modules and kernel launches. Device
// memory is plain cudaMalloc/cudaFree; the caching allocator lives in JS.
#pragma once

#include <napi.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loader.h"

namespace kit {

/** A block of page-locked host memory. */
struct PinnedBlock {
  void* host = nullptr;
  size_t bytes = 0;
};

/** Pinned host blocks by power-of-two size, reused for reads (cudaHostAlloc costs milliseconds). */
class PinnedPool {
 public:
  explicit PinnedPool(size_t maxCached) : maxCached_(maxCached) {}
  PinnedBlock acquire(size_t bytes);
  void release(PinnedBlock b);
  void drain();

 private:
  std::map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
  size_t maxCached_;
};

/** A ring of pinned chunks that host→device copies are staged through (see CudaContext::Write). */
struct StagingChunk {
  void* host = nullptr;
  cudaEvent_t done = nullptr;
  bool pending = false;
};

class CudaContext;

/** A device→host copy whose promise resolves once the copy has run. */
struct PendingRead {
  CudaContext* ctx;
  Napi::Promise::Deferred deferred;
  PinnedBlock block;
  size_t bytes;
  cudaEvent_t event = nullptr;  // poll mode only
};

class CudaContext : public Napi::ObjectWrap<CudaContext> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit CudaContext(const Napi::CallbackInfo& info);
  ~CudaContext() override = default;

  /** Called on the JS thread when a read's copy has finished. */
  void complete(Napi::Env env, PendingRead* p);
  /** Called from the CUDA host-function thread: hands a finished read to the JS thread. */
  void tsfnCall(PendingRead* p);

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Malloc(const Napi::CallbackInfo& info);
  Napi::Value Free(const Napi::CallbackInfo& info);
  Napi::Value MemGetInfo(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value ReadBlocking(const Napi::CallbackInfo& info);
  Napi::Value Poll(const Napi::CallbackInfo& info);
  Napi::Value StreamError(const Napi::CallbackInfo& info);
  Napi::Value SyncBlocking(const Napi::CallbackInfo& info);
  Napi::Value MemcpyDtoD(const Napi::CallbackInfo& info);
  Napi::Value Memset(const Napi::CallbackInfo& info);
  Napi::Value LoadModule(const Napi::CallbackInfo& info);
  Napi::Value GetFunction(const Napi::CallbackInfo& info);
  Napi::Value Launch(const Napi::CallbackInfo& info);
  Napi::Value Gemm(const Napi::CallbackInfo& info);
  Napi::Value SetMathMode(const Napi::CallbackInfo& info);
  Napi::Value Destroy(const Napi::CallbackInfo& info);

  void checkAlive(Napi::Env env, const char* what);
  void enqueueRead(Napi::Env env, PendingRead* p);
  PendingRead* startRead(Napi::Env env, const Napi::CallbackInfo& info, size_t argBase);

  int device_ = 0;
  bool destroyed_ = false;
  bool pollMode_ = false;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  int cublasVersion_ = 0;

  PinnedPool pinned_{256u << 20};
  std::vector<StagingChunk> staging_;
  size_t chunkBytes_ = 0;
  size_t chunk_ = 0;
  size_t chunkUsed_ = 0;

  Napi::ThreadSafeFunction tsfn_;
  size_t pendingCallbacks_ = 0;
  std::deque<PendingRead*> pollQueue_;

  std::vector<CUmodule> modules_;
  std::vector<CUfunction> functions_;
};

}  // namespace kit
