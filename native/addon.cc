// moodaxis native addon: module entry. Classes: Model (model.cc), Context (context.cc);
// functions: init, loadBackend, systemInfo (backends.cc), rpcServe (rpc.cc).
#include "common.h"
#include "context.h"
#include "model.h"

namespace moodaxis {
void RegisterBackendFunctions(Napi::Env env, Napi::Object exports);
void RegisterRpcFunctions(Napi::Env env, Napi::Object exports);
AddonData& addonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }
}

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new moodaxis::AddonData());  // deleted with the environment
  moodaxis::RegisterBackendFunctions(env, exports);
  moodaxis::RegisterRpcFunctions(env, exports);
  exports.Set("Model", moodaxis::Model::Init(env));
  exports.Set("Context", moodaxis::Context::Init(env));
  return exports;
}

NODE_API_MODULE(moodaxis, InitAddon)
