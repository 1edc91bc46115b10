// A loaded llama_model. Shared by the contexts made from it; freed when the last owner lets go.
#pragma once

#include <memory>

#include "common.h"

namespace moodaxis {

struct ModelHandle {
  llama_model_ptr model;
  bool cpuOnly = false;  // loaded without GPU layers: contexts keep their KV cache in host memory
  explicit ModelHandle(llama_model_ptr m) : model(std::move(m)) {}
  llama_model* get() const { return model.get(); }
  const llama_vocab* vocab() const { return llama_model_get_vocab(model.get()); }
};

// How Model.load places a model: GPU layers, mmap, vocabulary only, and the multi-GPU split.
struct LoadParams {
  int32_t gpuLayers = 0;
  bool useMmap = true;
  bool vocabOnly = false;
  int32_t splitMode = -1;  // llama_split_mode, or -1 for llama.cpp's default
  int32_t mainGpu = -1;    // -1: llama.cpp's default
  std::vector<float> tensorSplit;
  std::vector<std::string> rpc;  // RPC servers ("host:port") whose devices take the layers, before local GPUs
  bool localGpus = false;        // with rpc: the local accelerators too (else the RPC devices alone)
};

std::vector<llama_token> tokenize(const llama_vocab* vocab, const std::string& text, bool addSpecial, bool parseSpecial);
std::string tokenPiece(const llama_vocab* vocab, llama_token token, bool special);

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Model(const Napi::CallbackInfo& info);
  void Finalize(Napi::Env env) override;
  std::shared_ptr<ModelHandle> handle() const { return handle_; }

 private:
  static Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Tokenize(const Napi::CallbackInfo& info);
  Napi::Value Detokenize(const Napi::CallbackInfo& info);
  Napi::Value Meta(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  std::shared_ptr<ModelHandle> require(Napi::Env env) const;

  std::shared_ptr<ModelHandle> handle_;
  int64_t reportedBytes_ = 0;  // the weights, reported to the JS engine (napi_adjust_external_memory)
};

}  // namespace moodaxis
