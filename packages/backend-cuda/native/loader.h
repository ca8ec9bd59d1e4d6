// Run-time loading of the CUDA libraries. The addon links none of them: the
// headers give the function types, dlopen/dlsym give the functions. So the
// addon builds wherever the headers are, and loading it on a machine without
// a driver or GPU only makes the probes report why.
#pragma once

#include <cublas_v2.h>
#include <cuda.h>
#include <cuda_runtime_api.h>
#include <nvrtc.h>

#include <string>
#include <vector>

namespace kit {

// Two-level stringify: a function the headers #define to a versioned symbol
// (cublasCreate -> cublasCreate_v2) is looked up under that symbol, exactly as
// the linker would resolve it.
#define KIT_STR2(x) #x
#define KIT_STR(x) KIT_STR2(x)
#define KIT_DECLARE(fn) decltype(&::fn) fn = nullptr;

#define KIT_DRIVER_FUNCS(X)                                                                                    \
  X(cuInit) X(cuDriverGetVersion) X(cuDeviceGetCount) X(cuDeviceGet) X(cuDeviceGetName) X(cuDeviceGetAttribute) \
  X(cuDeviceTotalMem) X(cuGetErrorName) X(cuGetErrorString) X(cuModuleLoadDataEx) X(cuModuleGetFunction)        \
  X(cuModuleUnload) X(cuLaunchKernel) X(cuMemsetD8Async) X(cuMemsetD16Async) X(cuMemsetD32Async)

#define KIT_RUNTIME_FUNCS(X)                                                                                     \
  X(cudaRuntimeGetVersion) X(cudaGetErrorName) X(cudaGetErrorString) X(cudaGetLastError) X(cudaSetDevice)       \
  X(cudaGetDeviceCount) X(cudaDeviceGetAttribute) X(cudaMemGetInfo) X(cudaMalloc) X(cudaFree) X(cudaHostAlloc)  \
  X(cudaFreeHost) X(cudaMemcpyAsync) X(cudaMemsetAsync) X(cudaStreamCreateWithFlags) X(cudaStreamDestroy)       \
  X(cudaStreamSynchronize) X(cudaStreamQuery) X(cudaEventCreateWithFlags) X(cudaEventDestroy) X(cudaEventRecord) \
  X(cudaEventQuery) X(cudaEventSynchronize) X(cudaLaunchHostFunc) X(cudaDeviceSynchronize)

#define KIT_CUBLAS_FUNCS(X)                                                                                      \
  X(cublasCreate) X(cublasDestroy) X(cublasSetStream) X(cublasSetMathMode) X(cublasGetVersion)                  \
  X(cublasGetStatusName) X(cublasGetStatusString)

// The C++ headers overload cublasGemmStridedBatchedEx (an inline one taking a
// cudaDataType compute type), so decltype cannot name it: spell out the C one.
using GemmStridedBatchedExFn = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                                                  const void*, cudaDataType, int, long long, const void*, cudaDataType, int, long long,
                                                  const void*, void*, cudaDataType, int, long long, int, cublasComputeType_t,
                                                  cublasGemmAlgo_t);

#define KIT_NVRTC_FUNCS(X)                                                                                       \
  X(nvrtcVersion) X(nvrtcGetErrorString) X(nvrtcCreateProgram) X(nvrtcDestroyProgram) X(nvrtcCompileProgram)    \
  X(nvrtcGetPTXSize) X(nvrtcGetPTX) X(nvrtcGetCUBINSize) X(nvrtcGetCUBIN) X(nvrtcGetProgramLogSize)              \
  X(nvrtcGetProgramLog) X(nvrtcGetNumSupportedArchs) X(nvrtcGetSupportedArchs)

struct DriverApi { KIT_DRIVER_FUNCS(KIT_DECLARE) };
struct RuntimeApi { KIT_RUNTIME_FUNCS(KIT_DECLARE) };
struct CublasApi {
  KIT_CUBLAS_FUNCS(KIT_DECLARE)
  GemmStridedBatchedExFn cublasGemmStridedBatchedEx = nullptr;
};
struct NvrtcApi { KIT_NVRTC_FUNCS(KIT_DECLARE) };

/** Outcome of loading one library: the path that loaded, or every attempt's error. */
struct LibStatus {
  bool ok = false;
  std::string path;
  std::string error;
};

/** The five libraries, each loaded at most once per process. */
enum class Lib { Driver, Runtime, CublasLt, Cublas, Nvrtc };

/**
 * Loads a library from the first candidate that opens (full paths or bare
 * sonames for the loader's search) and resolves its functions. A library that
 * opens but lacks a function counts as not loaded. Idempotent per library:
 * once loaded, later calls return the first result.
 */
const LibStatus& loadLibrary(Lib lib, const std::vector<std::string>& candidates);
const LibStatus& libraryStatus(Lib lib);

extern DriverApi drv;
extern RuntimeApi rt;
extern CublasApi blas;
extern NvrtcApi nvrtc;

/** "cuInit failed: CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected". */
std::string driverError(const char* what, CUresult r);
std::string runtimeError(const char* what, cudaError_t e);
std::string cublasError(const char* what, cublasStatus_t s);
std::string nvrtcError(const char* what, nvrtcResult r);

}  // namespace kit
