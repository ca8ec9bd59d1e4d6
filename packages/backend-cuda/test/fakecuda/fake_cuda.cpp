// A fake of the CUDA driver, runtime and cuBLAS (test only), so the real
// native addon — loader, context, staging ring, pinned pool, async reads via
// host functions and a thread-safe function — runs end to end without a GPU
// (test/fake-driver.test.ts). One shared library exports the functions the
// addon resolves, under the names the CUDA headers give them; it is linked as
// libcuda.so.1, libcudart.so.12, libcublas.so.12 and libcublasLt.so.12 (one
// inode, so one instance).
//
// A stream is a worker thread running queued operations in order, like a GPU
// stream: copies and memsets run later, host functions run on that thread,
// events complete when reached. Kernels are the CPU simulator's (test/sim):
// a "module image" is the JSON {"so": path, "threaded": bool} SimCompiler
// makes, and a launch calls the kernel's `<entry>__launch` wrapper.
#include <cublas_v2.h>
#include <cuda.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Stream {
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::function<void()>> q;
  bool busy = false, stop = false;
  std::thread worker;
  Stream() {
    worker = std::thread([this] {
      for (;;) {
        std::function<void()> op;
        {
          std::unique_lock<std::mutex> l(m);
          cv.wait(l, [this] { return stop || !q.empty(); });
          if (q.empty()) return;
          op = std::move(q.front());
          q.pop_front();
          busy = true;
        }
        // A little latency, so callers really do run ahead of the "device".
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        op();
        {
          std::lock_guard<std::mutex> l(m);
          busy = false;
        }
        cv.notify_all();
      }
    });
  }
  void push(std::function<void()> op) {
    {
      std::lock_guard<std::mutex> l(m);
      q.push_back(std::move(op));
    }
    cv.notify_all();
  }
  void drain() {
    std::unique_lock<std::mutex> l(m);
    cv.wait(l, [this] { return q.empty() && !busy; });
  }
  bool idle() {
    std::lock_guard<std::mutex> l(m);
    return q.empty() && !busy;
  }
  ~Stream() {
    {
      std::lock_guard<std::mutex> l(m);
      stop = true;
    }
    cv.notify_all();
    worker.join();
  }
};

struct Event {
  std::atomic<bool> done{true};
};

struct Function {
  void (*launch)(const char*, const unsigned*, const unsigned*, bool);
  bool threaded;
};

std::mutex streamsMutex;
std::vector<Stream*> streams;

void drainAll() {
  std::lock_guard<std::mutex> l(streamsMutex);
  for (Stream* s : streams) s->drain();
}

Stream* S(void* s) {
  if (!s) throw std::runtime_error("fake cuda: the legacy default stream is not modelled");
  return static_cast<Stream*>(s);
}

float loadF(const void* p, long long i, int type) {
  if (type == CUDA_R_32F) return static_cast<const float*>(p)[i];
  uint16_t h = static_cast<const uint16_t*>(p)[i];
  uint32_t x;
  if (type == CUDA_R_16BF) x = static_cast<uint32_t>(h) << 16;
  else {
    uint32_t sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 0) { float v = m * 5.9604644775390625e-8f; return sign ? -v : v; }
    x = e == 0x1f ? (sign | 0x7f800000u | (m << 13)) : (sign | ((e + 112) << 23) | (m << 13));
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

void storeF(void* p, long long i, int type, float v) {
  if (type == CUDA_R_32F) { static_cast<float*>(p)[i] = v; return; }
  uint32_t x;
  std::memcpy(&x, &v, 4);
  static_cast<uint16_t*>(p)[i] = static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);  // bf16 (f16 output unmodelled)
}

}  // namespace

extern "C" {

// ---------------------------------------------------------------- driver
CUresult cuInit(unsigned int) { return CUDA_SUCCESS; }
CUresult cuDriverGetVersion(int* v) { *v = 12090; return CUDA_SUCCESS; }
CUresult cuDeviceGetCount(int* n) { *n = 1; return CUDA_SUCCESS; }
CUresult cuDeviceGet(CUdevice* d, int i) { *d = i; return CUDA_SUCCESS; }
CUresult cuDeviceGetName(char* name, int len, CUdevice) { std::strncpy(name, "Fake CUDA device (CPU)", len); return CUDA_SUCCESS; }
CUresult cuDeviceGetAttribute(int* v, CUdevice_attribute a, CUdevice) {
  *v = a == CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR ? 9 : a == CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT ? 1 : 0;
  return CUDA_SUCCESS;
}
CUresult cuDeviceTotalMem(size_t* b, CUdevice) { *b = size_t(2) << 30; return CUDA_SUCCESS; }
CUresult cuGetErrorName(CUresult, const char** s) { *s = "CUDA_ERROR_FAKE"; return CUDA_SUCCESS; }
CUresult cuGetErrorString(CUresult, const char** s) { *s = "fake driver error"; return CUDA_SUCCESS; }

CUresult cuModuleLoadDataEx(CUmodule* mod, const void* image, unsigned int, CUjit_option*, void**) {
  std::string json(static_cast<const char*>(image));
  auto at = json.find("\"so\":\"");
  if (at == std::string::npos) return CUDA_ERROR_INVALID_IMAGE;
  auto end = json.find('"', at + 6);
  std::string so = json.substr(at + 6, end - at - 6);
  void* h = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) return CUDA_ERROR_INVALID_IMAGE;
  bool threaded = json.find("\"threaded\":true") != std::string::npos;
  *mod = reinterpret_cast<CUmodule>(new std::pair<void*, bool>(h, threaded));
  return CUDA_SUCCESS;
}
CUresult cuModuleGetFunction(CUfunction* f, CUmodule mod, const char* name) {
  auto* m = reinterpret_cast<std::pair<void*, bool>*>(mod);
  auto fn = reinterpret_cast<void (*)(const char*, const unsigned*, const unsigned*, bool)>(dlsym(m->first, (std::string(name) + "__launch").c_str()));
  if (!fn) return CUDA_ERROR_NOT_FOUND;
  *f = reinterpret_cast<CUfunction>(new Function{fn, m->second});
  return CUDA_SUCCESS;
}
CUresult cuModuleUnload(CUmodule) { return CUDA_SUCCESS; }

CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned, CUstream s,
                        void** kernelParams, void** extra) {
  if (kernelParams) return CUDA_ERROR_NOT_SUPPORTED;  // the addon always passes a parameter buffer
  std::vector<char> params(64, 0);
  if (extra) {
    const char* buf = nullptr;
    size_t size = 0;
    for (int i = 0; extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
      if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER) buf = static_cast<const char*>(extra[i + 1]);
      if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE) size = *static_cast<size_t*>(extra[i + 1]);
    }
    params.assign(buf, buf + size);  // the caller's buffer is gone when the launch runs
    params.resize(size + 64, 0);
  }
  auto* fn = reinterpret_cast<Function*>(f);
  S(s)->push([fn, params, gx, gy, gz, bx, by, bz] {
    unsigned g[3] = {gx, gy, gz}, b[3] = {bx, by, bz};
    fn->launch(params.data(), g, b, fn->threaded);
  });
  return CUDA_SUCCESS;
}

CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream s) {
  S(s)->push([=] { std::memset(reinterpret_cast<void*>(d), v, n); });
  return CUDA_SUCCESS;
}
CUresult cuMemsetD16Async(CUdeviceptr d, unsigned short v, size_t n, CUstream s) {
  S(s)->push([=] { for (size_t i = 0; i < n; i++) reinterpret_cast<unsigned short*>(d)[i] = v; });
  return CUDA_SUCCESS;
}
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned int v, size_t n, CUstream s) {
  S(s)->push([=] { for (size_t i = 0; i < n; i++) reinterpret_cast<unsigned int*>(d)[i] = v; });
  return CUDA_SUCCESS;
}

// ---------------------------------------------------------------- runtime
cudaError_t cudaRuntimeGetVersion(int* v) { *v = 12090; return cudaSuccess; }
const char* cudaGetErrorName(cudaError_t) { return "cudaErrorFake"; }
const char* cudaGetErrorString(cudaError_t) { return "fake runtime error"; }
cudaError_t cudaGetLastError() { return cudaSuccess; }
cudaError_t cudaSetDevice(int) { return cudaSuccess; }
cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int) {
  *v = a == cudaDevAttrComputeCapabilityMajor ? 9 : a == cudaDevAttrMultiProcessorCount ? 1 : 0;
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* f, size_t* t) { *f = size_t(1) << 30; *t = size_t(2) << 30; return cudaSuccess; }
cudaError_t cudaMalloc(void** p, size_t n) {
  if (n > (size_t(1) << 34)) return cudaErrorMemoryAllocation;
  *p = std::aligned_alloc(256, (n + 255) / 256 * 256);
  std::memset(*p, 0xff, (n + 255) / 256 * 256);  // garbage, like fresh device memory
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  drainAll();  // cudaFree waits for the device
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaHostAlloc(void** p, size_t n, unsigned int) { *p = std::malloc(n); return cudaSuccess; }
cudaError_t cudaFreeHost(void* p) { std::free(p); return cudaSuccess; }
cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t st) {
  S(st)->push([=] { std::memmove(d, s, n); });
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* d, int v, size_t n, cudaStream_t st) {
  S(st)->push([=] { std::memset(d, v, n); });
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned int) {
  auto* st = new Stream();
  std::lock_guard<std::mutex> l(streamsMutex);
  streams.push_back(st);
  *s = reinterpret_cast<cudaStream_t>(st);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  S(s)->drain();
  return cudaSuccess;  // the worker lives on (the process ends soon)
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) { S(s)->drain(); return cudaSuccess; }
cudaError_t cudaStreamQuery(cudaStream_t s) { return S(s)->idle() ? cudaSuccess : cudaErrorNotReady; }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned int) { *e = reinterpret_cast<cudaEvent_t>(new Event()); return cudaSuccess; }
cudaError_t cudaEventDestroy(cudaEvent_t e) { delete reinterpret_cast<Event*>(e); return cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
  auto* ev = reinterpret_cast<Event*>(e);
  ev->done = false;
  S(s)->push([ev] { ev->done = true; });
  return cudaSuccess;
}
cudaError_t cudaEventQuery(cudaEvent_t e) { return reinterpret_cast<Event*>(e)->done ? cudaSuccess : cudaErrorNotReady; }
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  while (!reinterpret_cast<Event*>(e)->done) std::this_thread::yield();
  return cudaSuccess;
}
cudaError_t cudaLaunchHostFunc(cudaStream_t s, cudaHostFn_t fn, void* data) {
  S(s)->push([fn, data] { fn(data); });
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() { drainAll(); return cudaSuccess; }

// ---------------------------------------------------------------- cuBLAS
struct FakeBlas {
  cudaStream_t stream = nullptr;
};
cublasStatus_t cublasCreate_v2(cublasHandle_t* h) { *h = reinterpret_cast<cublasHandle_t>(new FakeBlas()); return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasDestroy_v2(cublasHandle_t h) { delete reinterpret_cast<FakeBlas*>(h); return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetStream_v2(cublasHandle_t h, cudaStream_t s) { reinterpret_cast<FakeBlas*>(h)->stream = s; return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasGetVersion_v2(cublasHandle_t, int* v) { *v = 120903; return CUBLAS_STATUS_SUCCESS; }
const char* cublasGetStatusName(cublasStatus_t) { return "CUBLAS_STATUS_FAKE"; }
const char* cublasGetStatusString(cublasStatus_t) { return "fake cuBLAS error"; }

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t opA, cublasOperation_t opB, int m, int n, int k, const void* alpha,
                                          const void* A, cudaDataType aT, int lda, long long sA, const void* B, cudaDataType bT, int ldb,
                                          long long sB, const void* beta, void* C, cudaDataType cT, int ldc, long long sC, int batch,
                                          cublasComputeType_t, cublasGemmAlgo_t) {
  float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);  // host pointers, read now
  if (be != 0.0f) return CUBLAS_STATUS_NOT_SUPPORTED;
  S(reinterpret_cast<FakeBlas*>(h)->stream)->push([=] {
    for (int q = 0; q < batch; q++)
      for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
          double s = 0;
          for (int p = 0; p < k; p++) {
            float a = opA ? loadF(A, q * sA + p + (long long)i * lda, aT) : loadF(A, q * sA + i + (long long)p * lda, aT);
            float b = opB ? loadF(B, q * sB + j + (long long)p * ldb, bT) : loadF(B, q * sB + p + (long long)j * ldb, bT);
            s += (double)a * b;
          }
          storeF(C, q * sC + i + (long long)j * ldc, cT, al * static_cast<float>(s));
        }
  });
  return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"
