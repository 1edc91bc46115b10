// llama.cpp's RPC backend (ggml-rpc): the server that lends this machine's devices to other hosts, and
// the client devices a model is placed on. The backend is found by its registry name ("RPC"): linked in
// (source build with GGML_RPC) or loaded as a plugin (prebuilt addon: loadBackend(build-rpc/libggml-rpc.so)).
#pragma once

#include <string>
#include <vector>

#include "common.h"

namespace moodaxis {

// The devices of RPC servers ("host:port" each, in order), connecting to each. Servers must have been
// checked to answer (the RPC client aborts the process when a connection fails). On failure, returns
// false with `error` set.
bool rpcDevices(const std::vector<std::string>& endpoints, std::vector<ggml_backend_dev_t>& devices, std::string& error);

void RegisterRpcFunctions(Napi::Env env, Napi::Object exports);

}  // namespace moodaxis
