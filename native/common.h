// Shared helpers of the moodaxis addon: no llama.cpp policy lives here.
#pragma once

#include <napi.h>

#include <mutex>
#include <string>
#include <vector>

#include "llama-cpp.h"
#include "llama.h"

namespace moodaxis {

// Why a call failed. It crosses into JS as the rejected error's `code` ('BAD_INPUT', 'RESOURCE',
// 'CANCELLED', 'NATIVE': lib/engine/errors.ts), set here where the failure is known.
enum class ErrorCode { None, BadInput, Resource, Cancelled, Native };

struct Status {
  ErrorCode code = ErrorCode::None;
  std::string message;
  bool ok() const { return code == ErrorCode::None; }
  static Status badInput(std::string m) { return {ErrorCode::BadInput, std::move(m)}; }
  static Status resource(std::string m) { return {ErrorCode::Resource, std::move(m)}; }
  static Status cancelled(std::string m) { return {ErrorCode::Cancelled, std::move(m)}; }
  static Status native(std::string m) { return {ErrorCode::Native, std::move(m)}; }
};

// The last error lines llama.cpp logged on this thread, so failures can say why.
void installLogger();
void setLogVerbose(bool verbose);
std::string takeLastLlamaErrors();
// MOODAXIS_TRACE_PREFILL=1: a line on stderr per prefill decode and per context created.
bool tracePrefill();

// Backends (CPU variants, CUDA plugin) loaded once per process.
struct BackendState {
  std::mutex mutex;  // worker threads may load backends and read this at the same time
  bool dynamicBackends = false;
  std::string libDir;
  std::vector<std::string> loaded;  // paths of backend plugins that loaded
  std::vector<std::string> failed;  // "path: reason"
};
BackendState& backendState();

// What the addon keeps per JS environment (the main thread and each worker thread have their own).
struct AddonData {
  Napi::FunctionReference modelClass;  // Model: made by Model.load, taken by new Context(model)
};
AddonData& addonData(Napi::Env env);

// A llama_batch for up to `capacity` tokens of one sequence id each, freed with its owner.
struct OwnedBatch {
  llama_batch batch;
  explicit OwnedBatch(int32_t capacity) : batch(llama_batch_init(capacity, 0, 1)) {}
  ~OwnedBatch() { llama_batch_free(batch); }
  OwnedBatch(const OwnedBatch&) = delete;
  OwnedBatch& operator=(const OwnedBatch&) = delete;
};

}  // namespace moodaxis
