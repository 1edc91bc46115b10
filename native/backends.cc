// Backend discovery: CPU variants and the CUDA plugin are shared libraries in prebuilt builds
// (GGML_BACKEND_DL) and linked in for source builds. Exposed to JS as init/loadBackend/systemInfo.
#include <dlfcn.h>

#include "common.h"
#include "ggml-backend.h"

namespace moodaxis {

BackendState& backendState() {
  static BackendState state;
  return state;
}

namespace {

const char* deviceTypeName(enum ggml_backend_dev_type type) {
  switch (type) {
    case GGML_BACKEND_DEVICE_TYPE_CPU: return "cpu";
    case GGML_BACKEND_DEVICE_TYPE_GPU: return "gpu";
    case GGML_BACKEND_DEVICE_TYPE_IGPU: return "igpu";
    default: return "accel";
  }
}

// init({ libDir?: string, verbose?: boolean }): once per process, before any model.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  static bool initialized = false;
  Napi::Object opts = info.Length() > 0 && info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
  if (opts.Has("verbose")) setLogVerbose(opts.Get("verbose").ToBoolean());
  // Worker threads load the addon too: the first caller of the process initialises, the others wait.
  auto& state = backendState();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (initialized) return env.Undefined();
  initialized = true;
  installLogger();
#ifdef MOODAXIS_DYNAMIC_BACKENDS
  state.dynamicBackends = true;
  if (opts.Has("libDir") && opts.Get("libDir").IsString()) {
    state.libDir = opts.Get("libDir").As<Napi::String>().Utf8Value();
    ggml_backend_load_all_from_path(state.libDir.c_str());
  }
#endif
  llama_backend_init();
  return env.Undefined();
}

// loadBackend(path): load a backend plugin such as the CUDA one; returns { ok, error? }.
Napi::Value LoadBackend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Object result = Napi::Object::New(env);
  auto& state = backendState();
  std::lock_guard<std::mutex> lock(state.mutex);
#ifdef MOODAXIS_DYNAMIC_BACKENDS
  // ggml_backend_load fails silently when a dependency is missing: ask the dynamic loader first.
  void* handle = dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    std::string reason = why ? why : "unknown dlopen error";
    state.failed.push_back(path + ": " + reason);
    result.Set("ok", false);
    result.Set("error", reason);
    return result;
  }
  dlclose(handle);
  ggml_backend_reg_t reg = ggml_backend_load(path.c_str());
  if (!reg) {
    std::string reason = takeLastLlamaErrors();
    if (reason.empty()) reason = "the backend did not initialise (no usable device or driver)";
    state.failed.push_back(path + ": " + reason);
    result.Set("ok", false);
    result.Set("error", reason);
    return result;
  }
  state.loaded.push_back(path);
  result.Set("ok", true);
  result.Set("name", ggml_backend_reg_name(reg));
  result.Set("devices", static_cast<double>(ggml_backend_reg_dev_count(reg)));
#else
  result.Set("ok", false);
  result.Set("error", "this build links its backends statically; plugins are not loaded");
#endif
  return result;
}

// systemInfo(): backends, devices with memory, and llama.cpp's feature string.
Napi::Value SystemInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  auto& state = backendState();
  std::lock_guard<std::mutex> lock(state.mutex);
  out.Set("dynamicBackends", state.dynamicBackends);
  out.Set("libDir", state.libDir);
  Napi::Array regs = Napi::Array::New(env);
  for (size_t i = 0; i < ggml_backend_reg_count(); i++) {
    regs.Set(i, ggml_backend_reg_name(ggml_backend_reg_get(i)));
  }
  out.Set("backends", regs);
  Napi::Array devices = Napi::Array::New(env);
  for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    size_t freeMem = 0, totalMem = 0;
    ggml_backend_dev_memory(dev, &freeMem, &totalMem);
    Napi::Object d = Napi::Object::New(env);
    d.Set("name", ggml_backend_dev_name(dev));
    d.Set("description", ggml_backend_dev_description(dev));
    d.Set("type", deviceTypeName(ggml_backend_dev_type(dev)));
    d.Set("memoryFree", static_cast<double>(freeMem));
    d.Set("memoryTotal", static_cast<double>(totalMem));
    devices.Set(i, d);
  }
  out.Set("devices", devices);
  Napi::Array failed = Napi::Array::New(env);
  for (size_t i = 0; i < state.failed.size(); i++) failed.Set(i, state.failed[i]);
  out.Set("failedBackends", failed);
  out.Set("features", llama_print_system_info());
  out.Set("gpuOffload", llama_supports_gpu_offload());
  return out;
}

}  // namespace

void RegisterBackendFunctions(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("loadBackend", Napi::Function::New(env, LoadBackend));
  exports.Set("systemInfo", Napi::Function::New(env, SystemInfo));
}

}  // namespace moodaxis
