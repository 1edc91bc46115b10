// A generation context: one native thread owns the llama_context and runs every job on it, so the JS
// event loop never waits on llama.cpp. Jobs report back through thread-safe functions.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "capture.h"
#include "generate.h"
#include "model.h"
#include "sampler.h"

namespace moodaxis {

class Context : public Napi::ObjectWrap<Context> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Context(const Napi::CallbackInfo& info);
  ~Context() override;

 private:
  Napi::Value Generate(const Napi::CallbackInfo& info);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  void post(std::function<void()> job);
  void loop();
  void shutdown();
  // Owner-thread work:
  std::string ensureContext(int nSeq, int nCtxSeq, const GenOptions& opts);
  std::string runGenerate(std::vector<GenRequest>& reqs, const GenOptions& opts, std::vector<GenResult>& out,
                          const ProgressFn& progress);
  std::string runForward(const std::vector<llama_token>& tokens, std::vector<std::vector<float>>& states);
  void freeContext();

  std::shared_ptr<ModelHandle> model_;
  int32_t threads_ = 0;
  llama_context* ctx_ = nullptr;
  int ctxSeq_ = 0, ctxPerSeq_ = 0;
  bool ctxFlash_ = false, ctxF32_ = false, ctxBackendSampling_ = false, ctxCapture_ = false;
  std::vector<llama_sampler*> backendChains_;  // per sequence, owned here while the context uses them
  void* threadpool_ = nullptr;
  std::unique_ptr<WorkerPool> pool_;  // samples a step's rows and folds its captured columns in parallel (GPU backends)
  Capture capture_;
  GenStats stats_;

  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};
  bool disposed_ = false;
};

}  // namespace moodaxis
