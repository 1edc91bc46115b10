// RPC: rpcServe() runs ggml-rpc's server on a thread of its own; rpcDevices() gives a model's loader
// the devices of RPC servers. Only the RPC backend registry's proc addresses are used, so the addon
// links no ggml-rpc symbol and works whether the backend is linked in or loaded as a plugin.
#include "rpc.h"

#include <memory>
#include <thread>

#include "args.h"
#include "ggml-backend.h"

namespace moodaxis {

namespace {

typedef ggml_backend_reg_t (*AddServerFn)(const char* endpoint);
typedef void (*StartServerFn)(const char* endpoint, const char* cacheDir, size_t threads, size_t devices, ggml_backend_dev_t* list);

ggml_backend_reg_t rpcRegistry() { return ggml_backend_reg_by_name("RPC"); }

const char* kNoBackend = "llama.cpp's RPC backend is not loaded (prebuilt addon: load build-rpc/libggml-rpc.so first)";

// What the server thread reports back: the server function returned (it only returns on a failure).
struct ServeDone {
  std::string errors;  // llama.cpp's error lines on that thread
};

void resolveServe(Napi::Env env, Napi::Function, Napi::Promise::Deferred* deferred, ServeDone* done) {
  if (env != nullptr) {
    Napi::Object out = Napi::Object::New(env);
    out.Set("errors", done->errors);
    deferred->Resolve(out);
  }
  delete done;
  delete deferred;
}

using ServeTsfn = Napi::TypedThreadSafeFunction<Napi::Promise::Deferred, ServeDone, resolveServe>;

// rpcServe({ endpoint, threads, devices: string[] }) -> Promise<{ errors }>: serves until the process
// ends; the promise settles only when the server gave up (a port it could not bind, a device it could
// not start), with the error lines it logged. Device names are ggml's (systemInfo().devices[].name).
Napi::Value RpcServe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string endpoint;
  uint32_t threads = 0;
  std::vector<std::string> names;
  try {
    const Fields opts(info[0], "rpcServe options");
    endpoint = opts.string("endpoint");
    threads = opts.uint32("threads");
    names = opts.strings("devices");
  } catch (const std::exception& e) {
    return rejectedPromise(env, Status::badInput(e.what()));
  }
  if (threads == 0) return rejectedPromise(env, Status::badInput("rpcServe options.threads must be at least 1"));
  if (names.empty()) return rejectedPromise(env, Status::badInput("rpcServe options.devices must name at least one device"));
  std::vector<ggml_backend_dev_t> devices;
  for (const auto& name : names) {
    ggml_backend_dev_t dev = ggml_backend_dev_by_name(name.c_str());
    if (!dev) return rejectedPromise(env, Status::badInput("rpcServe: no device named " + name));
    devices.push_back(dev);
  }
  ggml_backend_reg_t reg = rpcRegistry();
  auto start = reg ? reinterpret_cast<StartServerFn>(ggml_backend_reg_get_proc_address(reg, "ggml_backend_rpc_start_server")) : nullptr;
  if (!start) return rejectedPromise(env, Status::native(kNoBackend));

  auto* deferred = new Napi::Promise::Deferred(env);
  Napi::Promise promise = deferred->Promise();
  ServeTsfn tsfn = ServeTsfn::New(env, "moodaxis rpc server", 0, 1, deferred);
  // A thread of its own (not libuv's pool): the server's accept loop never returns while it serves.
  std::thread([tsfn, start, endpoint, threads, devices]() mutable {
    takeLastLlamaErrors();
    start(endpoint.c_str(), nullptr, threads, devices.size(), devices.data());
    auto* done = new ServeDone{takeLastLlamaErrors()};
    if (tsfn.BlockingCall(done) != napi_ok) delete done;
    tsfn.Release();
  }).detach();
  return promise;
}

}  // namespace

bool rpcDevices(const std::vector<std::string>& endpoints, std::vector<ggml_backend_dev_t>& devices, std::string& error) {
  ggml_backend_reg_t reg = rpcRegistry();
  auto add = reg ? reinterpret_cast<AddServerFn>(ggml_backend_reg_get_proc_address(reg, "ggml_backend_rpc_add_server")) : nullptr;
  if (!add) {
    error = kNoBackend;
    return false;
  }
  for (const auto& endpoint : endpoints) {
    // not registered globally: the devices serve the model they are given to, not every later load
    ggml_backend_reg_t server = add(endpoint.c_str());
    const size_t count = server ? ggml_backend_reg_dev_count(server) : 0;
    if (count == 0) {
      error = "the RPC server " + endpoint + " offers no device";
      return false;
    }
    for (size_t i = 0; i < count; i++) devices.push_back(ggml_backend_reg_dev_get(server, i));
  }
  return true;
}

void RegisterRpcFunctions(Napi::Env env, Napi::Object exports) { exports.Set("rpcServe", Napi::Function::New(env, RpcServe)); }

}  // namespace moodaxis
