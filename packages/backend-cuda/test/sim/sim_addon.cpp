// Host side of the CUDA-on-CPU simulator (test only): raw memory standing in
// for device memory, dlopen of kernels compiled by the host compiler against
// sim.h, and a reference cublasGemmStridedBatchedEx.
#include <dlfcn.h>
#include <napi.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Launch = void (*)(const char*, const unsigned*, const unsigned*, bool);
std::vector<void*> libs;
std::vector<std::pair<Launch, bool>> fns;

void* P(const Napi::Value& v) { return reinterpret_cast<void*>(static_cast<uintptr_t>(v.As<Napi::Number>().Int64Value())); }
double D(const Napi::Value& v) { return v.As<Napi::Number>().DoubleValue(); }
long long L(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  size_t n = static_cast<size_t>(L(info[0]));
  // NaN-ish garbage like uninitialised device memory, so kernels that rely on zeroed memory fail.
  void* p = std::aligned_alloc(256, (n + 255) / 256 * 256);
  std::memset(p, 0xff, (n + 255) / 256 * 256);
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(p)));
}
Napi::Value Free(const Napi::CallbackInfo& info) { std::free(P(info[0])); return info.Env().Undefined(); }
Napi::Value CopyIn(const Napi::CallbackInfo& info) {
  auto ta = info[1].As<Napi::TypedArray>();
  std::memcpy(P(info[0]), static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), ta.ByteLength());
  return info.Env().Undefined();
}
Napi::Value CopyOut(const Napi::CallbackInfo& info) {
  size_t n = static_cast<size_t>(L(info[1]));
  auto ab = Napi::ArrayBuffer::New(info.Env(), n);
  if (n) std::memcpy(ab.Data(), P(info[0]), n);
  return ab;
}
Napi::Value Memcpy(const Napi::CallbackInfo& info) { std::memmove(P(info[0]), P(info[1]), static_cast<size_t>(L(info[2]))); return info.Env().Undefined(); }
Napi::Value Memset(const Napi::CallbackInfo& info) {
  auto* p = static_cast<uint8_t*>(P(info[0]));
  uint32_t pat = static_cast<uint32_t>(L(info[1]));
  size_t count = static_cast<size_t>(L(info[2])), w = static_cast<size_t>(L(info[3]));
  for (size_t i = 0; i < count; i++) std::memcpy(p + i * w, &pat, w);
  return info.Env().Undefined();
}
Napi::Value Dlopen(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) throw Napi::Error::New(info.Env(), std::string("sim: dlopen failed: ") + dlerror());
  libs.push_back(h);
  return Napi::Number::New(info.Env(), static_cast<double>(libs.size() - 1));
}
Napi::Value Dlsym(const Napi::CallbackInfo& info) {
  void* h = libs.at(static_cast<size_t>(L(info[0])));
  std::string name = info[1].As<Napi::String>().Utf8Value();
  auto f = reinterpret_cast<Launch>(dlsym(h, (name + "__launch").c_str()));
  if (!f) throw Napi::Error::New(info.Env(), "sim: no kernel '" + name + "'");
  fns.emplace_back(f, info[2].ToBoolean().Value());
  return Napi::Number::New(info.Env(), static_cast<double>(fns.size() - 1));
}
Napi::Value Call(const Napi::CallbackInfo& info) {
  auto& [f, threaded] = fns.at(static_cast<size_t>(L(info[0])));
  auto ta = info[1].As<Napi::Uint8Array>();
  unsigned g[3], b[3];
  for (int i = 0; i < 3; i++) g[i] = static_cast<unsigned>(L(info[2 + i]));
  for (int i = 0; i < 3; i++) b[i] = static_cast<unsigned>(L(info[5 + i]));
  std::vector<char> params(ta.ByteLength() + 64, 0);
  std::memcpy(params.data(), ta.Data(), ta.ByteLength());
  f(params.data(), g, b, threaded);
  return info.Env().Undefined();
}

float load(const void* p, long long i, int type) {
  if (type == 0) return static_cast<const float*>(p)[i];
  uint16_t h = static_cast<const uint16_t*>(p)[i];
  if (type == 14) { uint32_t x = static_cast<uint32_t>(h) << 16; float f; std::memcpy(&f, &x, 4); return f; }
  uint32_t sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e == 0) { float v = m * 5.9604644775390625e-8f; return sign ? -v : v; }
  uint32_t x = e == 0x1f ? (sign | 0x7f800000u | (m << 13)) : (sign | ((e + 112) << 23) | (m << 13));
  float f; std::memcpy(&f, &x, 4); return f;
}
void store(void* p, long long i, int type, float v) {
  if (type == 0) { static_cast<float*>(p)[i] = v; return; }
  uint32_t x; std::memcpy(&x, &v, 4);
  if (type == 14) { static_cast<uint16_t*>(p)[i] = static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16); return; }
  throw std::runtime_error("sim gemm: f16 output not modelled");
}

// cublasGemmStridedBatchedEx (column-major; op 0 = N, 1 = T), alpha = 1, beta = 0.
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  int opA = L(info[0]), opB = L(info[1]), m = L(info[2]), n = L(info[3]), k = L(info[4]);
  void* A = P(info[6]); int aT = L(info[7]), lda = L(info[8]); long long sA = L(info[9]);
  void* B = P(info[10]); int bT = L(info[11]), ldb = L(info[12]); long long sB = L(info[13]);
  void* C = P(info[15]); int cT = L(info[16]), ldc = L(info[17]); long long sC = L(info[18]);
  int batch = L(info[19]);
  (void)D;
  for (int q = 0; q < batch; q++)
    for (int j = 0; j < n; j++)
      for (int i = 0; i < m; i++) {
        double s = 0;
        for (int p = 0; p < k; p++) {
          float a = opA ? load(A, q * sA + p + (long long)i * lda, aT) : load(A, q * sA + i + (long long)p * lda, aT);
          float b = opB ? load(B, q * sB + j + (long long)p * ldb, bT) : load(B, q * sB + p + (long long)j * ldb, bT);
          s += (double)a * b;
        }
        store(C, q * sC + i + (long long)j * ldc, cT, static_cast<float>(s));
      }
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("alloc", Napi::Function::New(env, Alloc));
  exports.Set("free", Napi::Function::New(env, Free));
  exports.Set("copyIn", Napi::Function::New(env, CopyIn));
  exports.Set("copyOut", Napi::Function::New(env, CopyOut));
  exports.Set("memcpy", Napi::Function::New(env, Memcpy));
  exports.Set("memset", Napi::Function::New(env, Memset));
  exports.Set("dlopen", Napi::Function::New(env, Dlopen));
  exports.Set("dlsym", Napi::Function::New(env, Dlsym));
  exports.Set("call", Napi::Function::New(env, Call));
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  return exports;
}

}  // namespace

static Napi::Object InitSim(Napi::Env env, Napi::Object exports) { return Init(env, exports); }
NODE_API_MODULE(adapterkit_cuda_sim, InitSim)
