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
#include "model.h"
#include "sampler.h"
#include "topk.h"

namespace moodaxis {

struct GenRequest {
  std::string text;          // prompt text (tokenized on the owner thread)
  bool addSpecial = true;    // let the tokenizer add BOS
  bool parseSpecial = true;  // parse control tokens written in the text (chat templates)
  int32_t maxTokens = 200;
  uint32_t seed = 42;
  bool startInThink = false;           // the prompt opened a <think> block
  std::vector<llama_token> forced;     // teacher forcing: these tokens instead of sampling
  bool hasForced = false;
  std::vector<llama_token> given;      // prompt given as token ids (text unused)
  bool hasGiven = false;
  std::vector<llama_token> prompt;     // filled on the owner thread
};

struct GenOptions {
  float temperature = 0.7f;
  int32_t topK = 50;
  float topP = 0.9f;
  bool ignoreEos = false;
  std::vector<llama_token> allowedTokens;  // non-empty: sample only among these ids (host sampler)
  // >= 0 (with thinkClose): at most this many tokens in <think> blocks, then thinkClose is forced; maxTokens
  // then counts the visible answer's tokens only.
  int32_t thinkBudget = -1;
  llama_token thinkClose = LLAMA_TOKEN_NULL;
  int32_t parallel = 8;
  int32_t contextLimit = 0;  // per-sequence context cap (0: the model's training context)
  CaptureConfig capture;
  std::vector<float> controlVector;  // layers 1..L-1, nEmbd each; empty: none
  int32_t cvecStart = -1, cvecEnd = -1;
  bool flashAttn = false;
  bool f32Cache = false;  // deterministic mode: F32 KV cache
  bool backendSampling = false;  // run the sampler chains inside the graph (llama.cpp backend sampling)
  bool deviceTopK = false;  // top-k of every row in the graph, the rest of the draw on the host (DeviceTopK)
  bool solo = false;  // decode each sequence alone, one token per decode (batch-invariant on GPU backends)
  bool stream = false;  // progress reports carry the text so far of every request in flight
};

struct GenResult {
  std::string text;
  std::vector<llama_token> ids;
  int32_t tokens = 0;
  bool eos = false;
  std::vector<float> vector;
  std::vector<float> norms;
  int32_t promptTokens = 0;
  int32_t capturedTokens = 0;
  int32_t thinkTokens = 0;  // generated tokens inside (or marking) <think> blocks: never captured
  bool thinkCut = false;    // the think budget ran out and the block was closed
};

// Timing of the last generate call (owner thread writes, JS reads after the call settled).
struct GenStats {
  double prefillMs = 0, stepMs = 0;
  double decodeMs = 0, waitMs = 0, sampleMs = 0;  // inside llama_decode, waiting for its outputs, choosing tokens
  double captureMs = 0;                           // reading and folding captured states (inside llama_decode)
  int64_t steps = 0, prefillTokens = 0, stepTokens = 0;
  int64_t sharedTokens = 0;  // prompt tokens taken from another sequence's cache instead of prefilled
};

struct Progress {
  int32_t done = 0, total = 0;
  int64_t tokens = 0;
  std::vector<std::pair<int32_t, GenResult>> finished;  // results completed since the last report
  std::vector<std::pair<int32_t, std::string>> partial;  // with GenOptions::stream: text so far, per request in flight
};

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
                          const std::function<void(const Progress&)>& progress);
  std::string runForward(const std::vector<llama_token>& tokens, std::vector<std::vector<float>>& states);
  void freeContext();

  std::shared_ptr<ModelHandle> model_;
  int32_t threads_ = 0;
  llama_context* ctx_ = nullptr;
  int ctxSeq_ = 0, ctxPerSeq_ = 0;
  bool ctxFlash_ = false, ctxF32_ = false, ctxBackendSampling_ = false, ctxCapture_ = false;
  std::unique_ptr<DeviceTopK> deviceTopK_;  // set while the context samples its top-k on the device
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
