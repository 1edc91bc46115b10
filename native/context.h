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
#include "topk.h"
#include "model.h"
#include "sampler.h"
#include "sequence-cache.h"

namespace moodaxis {

struct Job;
enum class JobKind { Generate, Forward, Dispose };

class Context : public Napi::ObjectWrap<Context> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Context(const Napi::CallbackInfo& info);
  ~Context() override;
  void Finalize(Napi::Env env) override;

 private:
  Napi::Value Generate(const Napi::CallbackInfo& info);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  // JS thread: queues a parsed job (its promise settles in settle()).
  Napi::Promise start(Napi::Env env, std::unique_ptr<Job> job, const char* name, Napi::Function onProgress);
  Napi::Value parseAndStart(Napi::Env env, JobKind kind, const char* name, Napi::Function onProgress,
                            const std::function<void(Job&)>& parse);
  void post(std::function<void()> job);
  void work(Job* job);
  void loop();
  void shutdown();
  // Owner thread: hands a finished job to the JS thread.
  void deliver(Job* job);
  // JS thread: settles the job's promise, reports memory, frees the job.
  void settle(Napi::Env env, Job* job);
  // Owner-thread work:
  bool contextFits(int nSeq, int nCtxSeq, const GenOptions& opts) const;
  Status ensureContext(int nSeq, int nCtxSeq, const GenOptions& opts);
  Status ensureRetainingContext(int n, int need, const GenOptions& opts, int& nSeq);
  void clearMemory(int nSeq, const GenOptions& opts);
  Status runGenerate(std::vector<GenRequest>& reqs, const GenOptions& opts, std::vector<GenResult>& out, GenStats& stats,
                     const ProgressFn& progress);
  Status runForward(const std::vector<llama_token>& tokens, const std::vector<int32_t>& layers, std::vector<std::vector<float>>& states);
  void freeContext();
  bool setControlVector(const std::vector<float>& cvec, int32_t start, int32_t end);
  static KeptLayers keptLayers(const GenOptions& opts);
  static bool needsGraphTap(const GenOptions& opts);
  static uint32_t batchTokens(int nSeq, const GenOptions& opts);  // n_batch = n_ubatch
  static bool graphTap(struct ggml_tensor* t, bool ask, void* userData);

  std::shared_ptr<ModelHandle> model_;
  int32_t threads_ = 0;
  llama_context_ptr ctx_;
  int ctxSeq_ = 0, ctxPerSeq_ = 0;
  bool ctxFlash_ = false, ctxF32_ = false, ctxBackendSampling_ = false, ctxCapture_ = false;
  bool ctxTap_ = false;  // the context has the graph callback (needsGraphTap)
  std::vector<float> cvec_;  // the control vector applied to the context (empty: none)
  int32_t cvecStart_ = 0, cvecEnd_ = 0;
  bool cvecKnown_ = true;    // false after llama.cpp refused a vector
  double ctxBytes_ = 0;  // the KV cache the context holds (owner thread)
  std::vector<llama_sampler_ptr> backendChains_;  // per sequence, owned here while the context uses them
  std::unique_ptr<DeviceTopK> deviceTopK_;          // set while the context chooses each row's top-k on the device
  void* threadpool_ = nullptr;
  std::unique_ptr<WorkerPool> pool_;  // samples a step's rows and folds its captured columns in parallel (GPU backends)
  Capture capture_;
  SequenceCache held_;  // what each sequence's KV cache holds (owner thread)

  // JS thread only:
  GenStats lastStats_;          // of the last generate call that ended
  int64_t reportedBytes_ = 0;   // memory reported to the JS engine (napi_adjust_external_memory)
  bool disposed_ = false;

  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::atomic<bool> cancel_{false};
};

}  // namespace moodaxis
