// NVRTC: CUDA C source → PTX or cubin. Needs only libnvrtc (no driver, no
// GPU), so kernel sources can be compiled and checked on any machine that
// has the library.
#include <napi.h>

#include <string>
#include <vector>

#include "loader.h"

namespace kit {

namespace {

struct CompileResult {
  bool ok = false;
  std::string log;
  std::vector<char> image;
  std::string error;  // an NVRTC API failure (not a compile error)
};

CompileResult compile(const std::string& source, const std::string& name, const std::vector<std::string>& options, bool cubin) {
  CompileResult res;
  nvrtcProgram prog = nullptr;
  nvrtcResult r = nvrtc.nvrtcCreateProgram(&prog, source.c_str(), name.c_str(), 0, nullptr, nullptr);
  if (r != NVRTC_SUCCESS) {
    res.error = nvrtcError("nvrtcCreateProgram", r);
    return res;
  }
  std::vector<const char*> opts;
  for (const auto& o : options) opts.push_back(o.c_str());
  nvrtcResult cr = nvrtc.nvrtcCompileProgram(prog, static_cast<int>(opts.size()), opts.data());
  size_t logSize = 0;
  if (nvrtc.nvrtcGetProgramLogSize(prog, &logSize) == NVRTC_SUCCESS && logSize > 1) {
    res.log.resize(logSize);
    nvrtc.nvrtcGetProgramLog(prog, &res.log[0]);
    res.log.resize(logSize - 1);
  }
  if (cr == NVRTC_SUCCESS) {
    size_t size = 0;
    r = cubin ? nvrtc.nvrtcGetCUBINSize(prog, &size) : nvrtc.nvrtcGetPTXSize(prog, &size);
    if (r == NVRTC_SUCCESS) {
      res.image.resize(size);
      r = cubin ? nvrtc.nvrtcGetCUBIN(prog, res.image.data()) : nvrtc.nvrtcGetPTX(prog, res.image.data());
    }
    if (r != NVRTC_SUCCESS) res.error = nvrtcError(cubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX", r);
    else res.ok = true;
  } else if (cr != NVRTC_ERROR_COMPILATION) {
    res.error = nvrtcError("nvrtcCompileProgram", cr);
  }
  nvrtc.nvrtcDestroyProgram(&prog);
  return res;
}

void requireNvrtc(Napi::Env env) {
  const LibStatus& s = libraryStatus(Lib::Nvrtc);
  if (!s.ok) throw Napi::Error::New(env, "cuda: NVRTC is not loaded" + (s.error.empty() ? std::string() : ": " + s.error));
}

struct CompileArgs {
  std::string source, name;
  std::vector<std::string> options;
  bool cubin = true;
};

CompileArgs parseArgs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsString() || !info[2].IsArray()) {
    throw Napi::TypeError::New(env, "cuda: nvrtcCompile(source: string, name: string, options: string[], cubin: boolean)");
  }
  CompileArgs a;
  a.source = info[0].As<Napi::String>().Utf8Value();
  a.name = info[1].As<Napi::String>().Utf8Value();
  auto arr = info[2].As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) a.options.push_back(arr.Get(i).ToString().Utf8Value());
  a.cubin = info[3].ToBoolean().Value();
  return a;
}

Napi::Object toJs(Napi::Env env, const CompileResult& r) {
  auto o = Napi::Object::New(env);
  o.Set("ok", r.ok);
  o.Set("log", r.log);
  if (!r.error.empty()) o.Set("error", r.error);
  if (r.ok) o.Set("image", Napi::Buffer<char>::Copy(env, r.image.data(), r.image.size()));
  return o;
}

class CompileWorker : public Napi::AsyncWorker {
 public:
  CompileWorker(Napi::Env env, CompileArgs args) : Napi::AsyncWorker(env), args_(std::move(args)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override { result_ = compile(args_.source, args_.name, args_.options, args_.cubin); }
  void OnOK() override { deferred_.Resolve(toJs(Env(), result_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  CompileArgs args_;
  CompileResult result_;
  Napi::Promise::Deferred deferred_;
};

}  // namespace

/** nvrtcCompile(source, name, options, cubin) → { ok, log, image?: Buffer, error? } (compile errors: ok false with the log). */
Napi::Value NvrtcCompile(const Napi::CallbackInfo& info) {
  requireNvrtc(info.Env());
  CompileArgs a = parseArgs(info);
  return toJs(info.Env(), compile(a.source, a.name, a.options, a.cubin));
}

/** The same on a worker thread → Promise (NVRTC programs compile independently, so several can run at once). */
Napi::Value NvrtcCompileAsync(const Napi::CallbackInfo& info) {
  requireNvrtc(info.Env());
  auto* w = new CompileWorker(info.Env(), parseArgs(info));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

/** nvrtcInfo() → { version: [major, minor], archs: number[] } (the sm_XY it can emit, as XY). */
Napi::Value NvrtcInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireNvrtc(env);
  int major = 0, minor = 0;
  nvrtc.nvrtcVersion(&major, &minor);
  int n = 0;
  nvrtc.nvrtcGetNumSupportedArchs(&n);
  std::vector<int> archs(n > 0 ? n : 0);
  if (n > 0) nvrtc.nvrtcGetSupportedArchs(archs.data());
  auto o = Napi::Object::New(env);
  auto v = Napi::Array::New(env, 2);
  v.Set(0u, major);
  v.Set(1u, minor);
  o.Set("version", v);
  auto a = Napi::Array::New(env, archs.size());
  for (size_t i = 0; i < archs.size(); i++) a.Set(static_cast<uint32_t>(i), archs[i]);
  o.Set("archs", a);
  return o;
}

}  // namespace kit
