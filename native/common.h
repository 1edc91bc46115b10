// Shared helpers of the moodaxis addon: no llama.cpp policy lives here.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "llama.h"

namespace moodaxis {

// The last error lines llama.cpp logged on this thread, so failures can say why.
void installLogger();
void setLogVerbose(bool verbose);
std::string takeLastLlamaErrors();

// Backends (CPU variants, CUDA plugin) loaded once per process.
struct BackendState {
  bool dynamicBackends = false;
  std::string libDir;
  std::vector<std::string> loaded;  // paths of backend plugins that loaded
  std::vector<std::string> failed;  // "path: reason"
};
BackendState& backendState();

}  // namespace moodaxis
