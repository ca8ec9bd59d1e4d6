#include "context.h"

#include <cmath>
#include <cstring>

namespace kit {

namespace {

constexpr double kMaxExactPointer = 9007199254740992.0;  // 2^53

[[noreturn]] void fail(Napi::Env env, const std::string& msg) { throw Napi::Error::New(env, "cuda: " + msg); }

void checkRt(Napi::Env env, cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail(env, runtimeError(what, e));
}

void checkDrv(Napi::Env env, CUresult r, const char* what) {
  if (r != CUDA_SUCCESS) fail(env, driverError(what, r));
}

void checkBlas(Napi::Env env, cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) fail(env, cublasError(what, s));
}

double num(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (i >= info.Length() || !info[i].IsNumber()) fail(info.Env(), std::string(fn) + ": argument " + std::to_string(i) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

/** A non-negative integer argument (sizes, counts, offsets). */
uint64_t uint(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  double v = num(info, i, fn);
  if (!(v >= 0) || v > kMaxExactPointer || std::floor(v) != v) {
    fail(info.Env(), std::string(fn) + ": argument " + std::to_string(i) + " must be a non-negative integer, got " + std::to_string(v));
  }
  return static_cast<uint64_t>(v);
}

void* ptr(const Napi::CallbackInfo& info, size_t i, const char* fn) { return reinterpret_cast<void*>(static_cast<uintptr_t>(uint(info, i, fn))); }

Napi::Value ptrValue(Napi::Env env, const void* p) {
  auto v = static_cast<double>(reinterpret_cast<uintptr_t>(p));
  if (v >= kMaxExactPointer) fail(env, "device pointer does not fit a JS number exactly");
  return Napi::Number::New(env, v);
}

/** Bytes of a TypedArray argument. */
std::pair<uint8_t*, size_t> bytesOf(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (i >= info.Length() || !info[i].IsTypedArray()) fail(info.Env(), std::string(fn) + ": argument " + std::to_string(i) + " must be a typed array");
  auto ta = info[i].As<Napi::TypedArray>();
  auto* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data());
  return {base + ta.ByteOffset(), ta.ByteLength()};
}

size_t roundPow2(size_t n) {
  size_t p = 4096;
  while (p < n) p <<= 1;
  return p;
}

void CUDART_CB hostDone(void* user);

}  // namespace

// ---------------------------------------------------------------- pinned pool

PinnedBlock PinnedPool::acquire(size_t bytes) {
  size_t size = roundPow2(bytes);
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    void* h = it->second.back();
    it->second.pop_back();
    cached_ -= size;
    return {h, size};
  }
  void* h = nullptr;
  cudaError_t e = rt.cudaHostAlloc(&h, size, cudaHostAllocDefault);
  if (e != cudaSuccess) {
    rt.cudaGetLastError();
    drain();
    e = rt.cudaHostAlloc(&h, size, cudaHostAllocDefault);
    if (e != cudaSuccess) throw std::runtime_error(runtimeError("cudaHostAlloc (pinned read buffer)", e));
  }
  return {h, size};
}

void PinnedPool::release(PinnedBlock b) {
  if (!b.host) return;
  if (cached_ + b.bytes > maxCached_) {
    rt.cudaFreeHost(b.host);
    return;
  }
  free_[b.bytes].push_back(b.host);
  cached_ += b.bytes;
}

void PinnedPool::drain() {
  for (auto& [size, list] : free_) {
    for (void* h : list) rt.cudaFreeHost(h);
  }
  free_.clear();
  cached_ = 0;
}

// ---------------------------------------------------------------- context

Napi::Function CudaContext::Init(Napi::Env env) {
  return DefineClass(env, "CudaContext",
                     {
                         InstanceMethod("info", &CudaContext::Info),
                         InstanceMethod("malloc", &CudaContext::Malloc),
                         InstanceMethod("free", &CudaContext::Free),
                         InstanceMethod("memGetInfo", &CudaContext::MemGetInfo),
                         InstanceMethod("write", &CudaContext::Write),
                         InstanceMethod("read", &CudaContext::Read),
                         InstanceMethod("readBlocking", &CudaContext::ReadBlocking),
                         InstanceMethod("poll", &CudaContext::Poll),
                         InstanceMethod("streamError", &CudaContext::StreamError),
                         InstanceMethod("syncBlocking", &CudaContext::SyncBlocking),
                         InstanceMethod("memcpyDtoD", &CudaContext::MemcpyDtoD),
                         InstanceMethod("memset", &CudaContext::Memset),
                         InstanceMethod("loadModule", &CudaContext::LoadModule),
                         InstanceMethod("getFunction", &CudaContext::GetFunction),
                         InstanceMethod("launch", &CudaContext::Launch),
                         InstanceMethod("gemm", &CudaContext::Gemm),
                         InstanceMethod("setMathMode", &CudaContext::SetMathMode),
                         InstanceMethod("destroy", &CudaContext::Destroy),
                     });
}

/**
 * new CudaContext(device, { pollReads?, stagingChunkBytes?, stagingChunks? }).
 * The driver, runtime and cuBLAS must have been loaded (loadLibraries).
 */
CudaContext::CudaContext(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CudaContext>(info) {
  Napi::Env env = info.Env();
  if (!libraryStatus(Lib::Driver).ok || !libraryStatus(Lib::Runtime).ok || !libraryStatus(Lib::Cublas).ok) {
    fail(env, "CudaContext needs the driver, runtime and cuBLAS libraries loaded first (loadLibraries)");
  }
  device_ = static_cast<int>(uint(info, 0, "CudaContext"));
  size_t chunkBytes = 4u << 20, chunks = 8;
  if (info.Length() > 1 && info[1].IsObject()) {
    auto o = info[1].As<Napi::Object>();
    if (o.Has("pollReads")) pollMode_ = o.Get("pollReads").ToBoolean().Value();
    if (o.Has("stagingChunkBytes") && o.Get("stagingChunkBytes").IsNumber()) chunkBytes = o.Get("stagingChunkBytes").As<Napi::Number>().Int64Value();
    if (o.Has("stagingChunks") && o.Get("stagingChunks").IsNumber()) chunks = o.Get("stagingChunks").As<Napi::Number>().Int64Value();
  }
  if (chunkBytes < 4096 || chunks < 2) fail(env, "CudaContext: staging needs chunks of at least 4096 bytes and at least 2 chunks");

  checkRt(env, rt.cudaSetDevice(device_), "cudaSetDevice");
  // cudaFree(0) creates the primary context, which the driver-API calls (modules, launches) then share.
  checkRt(env, rt.cudaFree(nullptr), "cudaFree(0) (context creation)");
  checkRt(env, rt.cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  checkBlas(env, blas.cublasCreate(&blas_), "cublasCreate");
  checkBlas(env, blas.cublasSetStream(blas_, stream_), "cublasSetStream");
  // Plain FP32 unless asked otherwise (setMathMode): results then match the reference within f32 rounding.
  checkBlas(env, blas.cublasSetMathMode(blas_, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  blas.cublasGetVersion(blas_, &cublasVersion_);

  chunkBytes_ = chunkBytes;
  staging_.resize(chunks);
  for (auto& c : staging_) {
    checkRt(env, rt.cudaHostAlloc(&c.host, chunkBytes_, cudaHostAllocDefault), "cudaHostAlloc (staging)");
    checkRt(env, rt.cudaEventCreateWithFlags(&c.done, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  }

  tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "adapterkit-cuda-read", 0, 1);
  // Only pending reads keep the process alive (Ref while any is in flight).
  tsfn_.Unref(env);
}

void CudaContext::checkAlive(Napi::Env env, const char* what) {
  if (destroyed_) fail(env, std::string(what) + ": the context was destroyed");
}

Napi::Value CudaContext::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checkAlive(env, "info");
  auto o = Napi::Object::New(env);
  char name[256] = {0};
  CUdevice dev;
  if (drv.cuDeviceGet(&dev, device_) == CUDA_SUCCESS) drv.cuDeviceGetName(name, sizeof(name) - 1, dev);
  int major = 0, minor = 0, sms = 0, driverVersion = 0, runtimeVersion = 0;
  rt.cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device_);
  rt.cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device_);
  rt.cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device_);
  drv.cuDriverGetVersion(&driverVersion);
  rt.cudaRuntimeGetVersion(&runtimeVersion);
  size_t freeB = 0, totalB = 0;
  rt.cudaMemGetInfo(&freeB, &totalB);
  o.Set("device", device_);
  o.Set("name", name);
  o.Set("computeCapability", Napi::Number::New(env, major * 10 + minor));
  o.Set("multiprocessors", sms);
  o.Set("totalMemory", static_cast<double>(totalB));
  o.Set("driverVersion", driverVersion);
  o.Set("runtimeVersion", runtimeVersion);
  o.Set("cublasVersion", cublasVersion_);
  o.Set("pollReads", pollMode_);
  return o;
}

/** malloc(bytes) → pointer, or null when the device is out of memory (the JS allocator then empties its cache and retries). */
Napi::Value CudaContext::Malloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checkAlive(env, "malloc");
  uint64_t bytes = uint(info, 0, "malloc");
  void* p = nullptr;
  cudaError_t e = rt.cudaMalloc(&p, bytes);
  if (e == cudaErrorMemoryAllocation) {
    rt.cudaGetLastError();  // not sticky: clear it
    return env.Null();
  }
  checkRt(env, e, "cudaMalloc");
  return ptrValue(env, p);
}

Napi::Value CudaContext::Free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (destroyed_) return env.Undefined();
  checkRt(env, rt.cudaFree(ptr(info, 0, "free")), "cudaFree");
  return env.Undefined();
}

Napi::Value CudaContext::MemGetInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checkAlive(env, "memGetInfo");
  size_t freeB = 0, totalB = 0;
  checkRt(env, rt.cudaMemGetInfo(&freeB, &totalB), "cudaMemGetInfo");
  auto o = Napi::Object::New(env);
  o.Set("free", static_cast<double>(freeB));
  o.Set("total", static_cast<double>(totalB));
  return o;
}

/**
 * write(dst, data): copies the typed array's bytes to device address dst.
 * The bytes are copied into a pinned staging chunk right away (so the caller
 * may reuse its array) and the host→device copy is queued on the stream. A
 * chunk is reused only after the event recorded behind its last copy has
 * fired, so this blocks only when the GPU is a whole ring of chunks behind.
 */
Napi::Value CudaContext::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checkAlive(env, "write");
  auto* dst = static_cast<uint8_t*>(ptr(info, 0, "write"));
  auto [src, bytes] = bytesOf(info, 1, "write");
  while (bytes > 0) {
    if (chunkUsed_ == chunkBytes_) {
      chunk_ = (chunk_ + 1) % staging_.size();
      chunkUsed_ = 0;
    }
    StagingChunk& c = staging_[chunk_];
    if (chunkUsed_ == 0 && c.pending) {
      checkRt(env, rt.cudaEventSynchronize(c.done), "cudaEventSynchronize (staging)");
      c.pending = false;
    }
    size_t n = std::min(bytes, chunkBytes_ - chunkUsed_);
    uint8_t* host = static_cast<uint8_t*>(c.host) + chunkUsed_;
    std::memcpy(host, src, n);
    checkRt(env, rt.cudaMemcpyAsync(dst, host, n, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync (host to device)");
    checkRt(env, rt.cudaEventRecord(c.done, stream_), "cudaEventRecord (staging)");
    c.pending = true;
    chunkUsed_ += n;
    dst += n;
    src += n;
    bytes -= n;
  }
  return env.Undefined();
}

/** Queues copies of [src, src+bytes) and, if statusPtr is not 0, 16 status bytes (then cleared) into one pinned block. */
PendingRead* CudaContext::startRead(Napi::Env env, const Napi::CallbackInfo& info, size_t argBase) {
  void* src = ptr(info, argBase, "read");
  uint64_t bytes = uint(info, argBase + 1, "read");
  void* status = ptr(info, argBase + 2, "read");
  size_t total = bytes + (status ? 16 : 0);
  PinnedBlock block;
  try {
    block = pinned_.acquire(total);
  } catch (const std::exception& e) {
    fail(env, e.what());
  }
  auto* host = static_cast<uint8_t*>(block.host);
  if (bytes) checkRt(env, rt.cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync (device to host)");
  if (status) {
    checkRt(env, rt.cudaMemcpyAsync(host + bytes, status, 16, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync (status)");
    checkRt(env, rt.cudaMemsetAsync(status, 0, 16, stream_), "cudaMemsetAsync (status)");
  }
  return new PendingRead{this, Napi::Promise::Deferred::New(env), block, total};
}

void CudaContext::enqueueRead(Napi::Env env, PendingRead* p) {
  if (pollMode_) {
    checkRt(env, rt.cudaEventCreateWithFlags(&p->event, cudaEventDisableTiming), "cudaEventCreateWithFlags (read)");
    checkRt(env, rt.cudaEventRecord(p->event, stream_), "cudaEventRecord (read)");
    pollQueue_.push_back(p);
    return;
  }
  if (pendingCallbacks_++ == 0) tsfn_.Ref(env);
  cudaError_t e = rt.cudaLaunchHostFunc(stream_, hostDone, p);
  if (e != cudaSuccess) {
    if (--pendingCallbacks_ == 0) tsfn_.Unref(env);
    checkRt(env, e, "cudaLaunchHostFunc");
  }
}

/** read(src, bytes, statusPtr) → Promise<ArrayBuffer> of bytes (+16 status bytes when statusPtr is not 0). */
Napi::Value CudaContext::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checkAlive(env, "read");
  PendingRead* p = startRead(env, info, 0);
  Napi::Promise promise = p->deferred.Promise();
  try {
    enqueueRead(env, p);
  } catch (...) {
    pinned_.release(p->block);
    delete p;
    throw;
  }
  return promise;
}

void CudaContext::complete(Napi::Env env, PendingRead* p) {
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, p->bytes);
  if (p->bytes) std::memcpy(ab.Data(), p->block.host, p->bytes);
  if (destroyed_) rt.cudaFreeHost(p->block.host);
  else pinned_.release(p->block);
  if (p->event) rt.cudaEventDestroy(p->event);
  p->deferred.Resolve(ab);
  if (!pollMode_ && --pendingCallbacks_ == 0) {
    if (destroyed_) tsfn_.Release();
    else tsfn_.Unref(env);
  }
  delete p;
}

void CudaContext::tsfnCall(PendingRead* p) {
  tsfn_.NonBlockingCall(p, [](Napi::Env env, Napi::Function, PendingRead* read) {
    if (static_cast<napi_env>(env) == nullptr) return;  // the environment is shutting down
    read->ctx->complete(env, read);
  });
}

namespace {
// Runs on a CUDA driver thread once every earlier operation of the stream is done:
// hands the read to the JS thread (no CUDA or JS calls here).
void CUDART_CB hostDone(void* user) {
  auto* p = static_cast<PendingRead*>(user);
  p->ctx->tsfnCall(p);
}
}  // namespace

/** poll(): completes the reads (poll mode) whose copies have run; returns how many are still pending. */
Napi::Value CudaContext::Poll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  while (!pollQueue_.empty()) {
    PendingRead* p = pollQueue_.front();
    cudaError_t e = rt.cudaEventQuery(p->event);
    if (e == cudaErrorNotReady) break;
    pollQueue_.pop_front();
    if (e != cudaSuccess) {
      p->deferred.Reject(Napi::Error::New(env, "cuda: " + runtimeError("read (cudaEventQuery)", e)).Value());
      rt.cudaEventDestroy(p->event);
      delete p;
      continue;
    }
    complete(env, p);
  }
  return Napi::Number::New(env, static_cast<double>(pollQueue_.size() + pendingCallbacks_));
}

/** streamError(): null while the stream is healthy, else the sticky error (e.g. an illegal address in a kernel). */
Napi::Value CudaContext::StreamError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (destroyed_) return Napi::String::New(env, "the context was destroyed");
  cudaError_t e = rt.cudaStreamQuery(stream_);
  if (e == cudaSuccess || e == cudaErrorNotReady) return env.Null();
  return Napi::String::New(env, runtimeError("stream", e));
}

/** readBlocking(src, bytes, statusPtr) → ArrayBuffer: waits for the stream (blocks the JS thread). */
Napi::Value CudaContext::ReadBlocking(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checkAlive(env, "readBlocking");
  PendingRead* p = startRead(env, info, 0);
  cudaError_t e = rt.cudaStreamSynchronize(stream_);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, p->bytes);
  if (e == cudaSuccess && p->bytes) std::memcpy(ab.Data(), p->block.host, p->bytes);
  pinned_.release(p->block);
  delete p;
  checkRt(env, e, "cudaStreamSynchronize");
  return ab;
}

Napi::Value CudaContext::SyncBlocking(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checkAlive(env, "syncBlocking");
  checkRt(env, rt.cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  return env.Undefined();
}

Napi::Value CudaContext::MemcpyDtoD(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checkAlive(env, "memcpyDtoD");
  uint64_t bytes = uint(info, 2, "memcpyDtoD");
  if (bytes) checkRt(env, rt.cudaMemcpyAsync(ptr(info, 0, "memcpyDtoD"), ptr(info, 1, "memcpyDtoD"), bytes, cudaMemcpyDeviceToDevice, stream_), "cudaMemcpyAsync (device to device)");
  return env.Undefined();
}

/** memset(dst, pattern, count, width): count elements of width 1, 2 or 4 bytes set to the bit pattern. */
Napi::Value CudaContext::Memset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checkAlive(env, "memset");
  auto dst = reinterpret_cast<CUdeviceptr>(ptr(info, 0, "memset"));
  auto pattern = static_cast<uint32_t>(uint(info, 1, "memset"));
  uint64_t count = uint(info, 2, "memset");
  uint64_t width = uint(info, 3, "memset");
  if (!count) return env.Undefined();
  auto s = reinterpret_cast<CUstream>(stream_);
  switch (width) {
    case 1: checkDrv(env, drv.cuMemsetD8Async(dst, static_cast<unsigned char>(pattern), count, s), "cuMemsetD8Async"); break;
    case 2: checkDrv(env, drv.cuMemsetD16Async(dst, static_cast<unsigned short>(pattern), count, s), "cuMemsetD16Async"); break;
    case 4: checkDrv(env, drv.cuMemsetD32Async(dst, pattern, count, s), "cuMemsetD32Async"); break;
    default: fail(env, "memset: width must be 1, 2 or 4, got " + std::to_string(width));
  }
  return env.Undefined();
}

/** loadModule(image) → module index. image: a cubin, or PTX text ending in a NUL byte. */
Napi::Value CudaContext::LoadModule(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checkAlive(env, "loadModule");
  auto [data, bytes] = bytesOf(info, 0, "loadModule");
  if (!bytes) fail(env, "loadModule: empty image");
  char log[8192] = {0};
  CUjit_option opts[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void* vals[] = {log, reinterpret_cast<void*>(static_cast<uintptr_t>(sizeof(log) - 1))};
  CUmodule mod = nullptr;
  CUresult r = drv.cuModuleLoadDataEx(&mod, data, 2, opts, vals);
  if (r != CUDA_SUCCESS) fail(env, driverError("cuModuleLoadDataEx", r) + (log[0] ? std::string("\n") + log : ""));
  modules_.push_back(mod);
  return Napi::Number::New(env, static_cast<double>(modules_.size() - 1));
}

Napi::Value CudaContext::GetFunction(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checkAlive(env, "getFunction");
  uint64_t m = uint(info, 0, "getFunction");
  if (m >= modules_.size()) fail(env, "getFunction: unknown module " + std::to_string(m));
  if (info.Length() < 2 || !info[1].IsString()) fail(env, "getFunction: argument 1 must be the entry name");
  std::string name = info[1].As<Napi::String>().Utf8Value();
  CUfunction f = nullptr;
  CUresult r = drv.cuModuleGetFunction(&f, modules_[m], name.c_str());
  if (r != CUDA_SUCCESS) fail(env, driverError(("cuModuleGetFunction('" + name + "')").c_str(), r));
  functions_.push_back(f);
  return Napi::Number::New(env, static_cast<double>(functions_.size() - 1));
}

/**
 * launch(fn, gx, gy, gz, bx, by, bz, sharedBytes, params): params is the
 * kernel's parameter block, laid out by the caller with each parameter at its
 * natural alignment (CU_LAUNCH_PARAM_BUFFER_POINTER).
 */
Napi::Value CudaContext::Launch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checkAlive(env, "launch");
  uint64_t f = uint(info, 0, "launch");
  if (f >= functions_.size()) fail(env, "launch: unknown function " + std::to_string(f));
  unsigned g[3], b[3];
  for (int i = 0; i < 3; i++) g[i] = static_cast<unsigned>(uint(info, 1 + i, "launch"));
  for (int i = 0; i < 3; i++) b[i] = static_cast<unsigned>(uint(info, 4 + i, "launch"));
  auto shared = static_cast<unsigned>(uint(info, 7, "launch"));
  auto [params, size] = bytesOf(info, 8, "launch");
  size_t paramBytes = size;
  void* extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, params, CU_LAUNCH_PARAM_BUFFER_SIZE, &paramBytes, CU_LAUNCH_PARAM_END};
  CUresult r = drv.cuLaunchKernel(functions_[f], g[0], g[1], g[2], b[0], b[1], b[2], shared, reinterpret_cast<CUstream>(stream_), nullptr, size ? extra : nullptr);
  checkDrv(env, r, "cuLaunchKernel");
  return env.Undefined();
}

/**
 * gemm(opA, opB, m, n, k, alpha, A, aType, lda, strideA, B, bType, ldb, strideB,
 *      beta, C, cType, ldc, strideC, batch, computeType): cublasGemmStridedBatchedEx
 * in cuBLAS's column-major terms (the JS side maps row-major onto it).
 */
Napi::Value CudaContext::Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checkAlive(env, "gemm");
  const char* fn = "gemm";
  auto opA = static_cast<cublasOperation_t>(uint(info, 0, fn));
  auto opB = static_cast<cublasOperation_t>(uint(info, 1, fn));
  int m = static_cast<int>(uint(info, 2, fn)), n = static_cast<int>(uint(info, 3, fn)), k = static_cast<int>(uint(info, 4, fn));
  float alpha = static_cast<float>(num(info, 5, fn));
  void* A = ptr(info, 6, fn);
  auto aType = static_cast<cudaDataType>(uint(info, 7, fn));
  int lda = static_cast<int>(uint(info, 8, fn));
  auto strideA = static_cast<long long>(uint(info, 9, fn));
  void* B = ptr(info, 10, fn);
  auto bType = static_cast<cudaDataType>(uint(info, 11, fn));
  int ldb = static_cast<int>(uint(info, 12, fn));
  auto strideB = static_cast<long long>(uint(info, 13, fn));
  float beta = static_cast<float>(num(info, 14, fn));
  void* C = ptr(info, 15, fn);
  auto cType = static_cast<cudaDataType>(uint(info, 16, fn));
  int ldc = static_cast<int>(uint(info, 17, fn));
  auto strideC = static_cast<long long>(uint(info, 18, fn));
  int batch = static_cast<int>(uint(info, 19, fn));
  auto compute = static_cast<cublasComputeType_t>(uint(info, 20, fn));
  checkBlas(env,
            blas.cublasGemmStridedBatchedEx(blas_, opA, opB, m, n, k, &alpha, A, aType, lda, strideA, B, bType, ldb, strideB, &beta, C, cType,
                                            ldc, strideC, batch, compute, CUBLAS_GEMM_DEFAULT),
            "cublasGemmStridedBatchedEx");
  return env.Undefined();
}

/** setMathMode(tf32): lets f32 GEMMs use TF32 tensor cores (faster, ~1e-3 relative error) or not. */
Napi::Value CudaContext::SetMathMode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  checkAlive(env, "setMathMode");
  bool tf32 = info.Length() > 0 && info[0].ToBoolean().Value();
  checkBlas(env, blas.cublasSetMathMode(blas_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  return env.Undefined();
}

/** destroy(): waits for the stream, then releases the stream, cuBLAS, staging and modules. Device memory is the JS allocator's. */
Napi::Value CudaContext::Destroy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (destroyed_) return env.Undefined();
  rt.cudaStreamSynchronize(stream_);
  destroyed_ = true;
  for (CUmodule m : modules_) drv.cuModuleUnload(m);
  modules_.clear();
  functions_.clear();
  for (auto& c : staging_) {
    rt.cudaFreeHost(c.host);
    rt.cudaEventDestroy(c.done);
  }
  staging_.clear();
  pinned_.drain();
  blas.cublasDestroy(blas_);
  rt.cudaStreamDestroy(stream_);
  // Reads already handed to the TSFN complete later and release it with the last one.
  if (pendingCallbacks_ == 0) tsfn_.Release();
  return env.Undefined();
}

}  // namespace kit
