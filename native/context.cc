// The owner thread of a llama_context and the generation loop: continuous batching over up to
// `parallel` sequences, prompt prefill separate from the one-token-per-sequence steps (so capture
// columns follow batch order), per-request seeded samplers, and capture folded in as tokens are fed.
#include "context.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "ggml-backend.h"
#include "ggml-cpu.h"

namespace moodaxis {

namespace {

using Clock = std::chrono::steady_clock;

struct ThreadpoolApi {
  ggml_threadpool_t (*create)(ggml_threadpool_params*) = nullptr;
  void (*destroy)(ggml_threadpool_t) = nullptr;
};

// In builds with dynamic backends the CPU backend's threadpool functions are reached through its registry.
ThreadpoolApi threadpoolApi() {
  ThreadpoolApi api;
  ggml_backend_reg_t cpu = ggml_backend_reg_by_name("CPU");
  if (!cpu) return api;
  api.create = reinterpret_cast<ggml_threadpool_t (*)(ggml_threadpool_params*)>(
      ggml_backend_reg_get_proc_address(cpu, "ggml_threadpool_new"));
  api.destroy = reinterpret_cast<void (*)(ggml_threadpool_t)>(ggml_backend_reg_get_proc_address(cpu, "ggml_threadpool_free"));
  return api;
}

bool abortCallback(void* data) { return static_cast<std::atomic<bool>*>(data)->load(); }

// Host memory that can be allocated without swapping (MemAvailable), 0 when unknown.
double availableHostMemory() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kb = 0;
  while (meminfo >> key >> kb) {
    if (key == "MemAvailable:") return kb * 1024.0;
    meminfo.ignore(256, '\n');
  }
  const long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? static_cast<double>(pages) * static_cast<double>(size) : 0.0;
}

int32_t intOpt(const Napi::Object& o, const char* key, int32_t fallback) {
  return o.Has(key) && o.Get(key).IsNumber() ? o.Get(key).As<Napi::Number>().Int32Value() : fallback;
}
double numOpt(const Napi::Object& o, const char* key, double fallback) {
  return o.Has(key) && o.Get(key).IsNumber() ? o.Get(key).As<Napi::Number>().DoubleValue() : fallback;
}
bool boolOpt(const Napi::Object& o, const char* key, bool fallback) {
  return o.Has(key) && !o.Get(key).IsUndefined() ? o.Get(key).ToBoolean().Value() : fallback;
}

std::vector<llama_token> tokensFrom(const Napi::Value& v) {
  auto arr = v.As<Napi::Int32Array>();
  return std::vector<llama_token>(arr.Data(), arr.Data() + arr.ElementLength());
}

CaptureConfig parseCapture(const Napi::Object& o) {
  CaptureConfig c;
  if (!o.Has("capture") || !o.Get("capture").IsObject()) return c;
  Napi::Object cap = o.Get("capture").As<Napi::Object>();
  c.tokenDecay = static_cast<float>(numOpt(cap, "tokenDecay", 0.9));
  c.compat = boolOpt(cap, "compat", false);
  Napi::Array layers = cap.Get("layers").As<Napi::Array>();
  for (uint32_t i = 0; i < layers.Length(); i++) {
    Napi::Object l = layers.Get(i).As<Napi::Object>();
    WatchedLayer w;
    w.block = intOpt(l, "block", 0);
    w.finalNorm = boolOpt(l, "finalNorm", false);
    w.weight = static_cast<float>(numOpt(l, "weight", 0.0));
    c.layers.push_back(w);
  }
  return c;
}

// Results and errors travel back to JS through one thread-safe function per job.
struct GenerateJob {
  Napi::Promise::Deferred deferred;
  Napi::ThreadSafeFunction tsfn;
  std::vector<GenRequest> requests;
  GenOptions options;
  std::vector<GenResult> results;
  std::vector<llama_token> forwardTokens;
  std::vector<std::vector<float>> states;
  std::string error;
  Napi::Reference<Napi::Object>* keepAlive = nullptr;  // the JS Context, held while the job runs
  explicit GenerateJob(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

Napi::Float32Array toFloat32(Napi::Env env, const std::vector<float>& v) {
  auto arr = Napi::Float32Array::New(env, v.size());
  std::copy(v.begin(), v.end(), arr.Data());
  return arr;
}

Napi::Object resultObject(Napi::Env env, const GenResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("text", r.text);
  o.Set("tokens", r.tokens);
  o.Set("eos", r.eos);
  o.Set("promptTokens", r.promptTokens);
  o.Set("capturedTokens", r.capturedTokens);
  o.Set("thinkTokens", r.thinkTokens);
  o.Set("thinkCut", r.thinkCut);
  o.Set("vector", toFloat32(env, r.vector));
  o.Set("norms", toFloat32(env, r.norms));
  auto ids = Napi::Int32Array::New(env, r.ids.size());
  std::copy(r.ids.begin(), r.ids.end(), ids.Data());
  o.Set("ids", ids);
  return o;
}

// The end of every job, on the JS thread: settle its promise, release its thread-safe function and the
// JS object it kept alive, and free it.
void finishJob(Napi::Env env, GenerateJob* job, const std::function<Napi::Value(Napi::Env)>& value) {
  if (!job->error.empty()) {
    job->deferred.Reject(Napi::Error::New(env, job->error).Value());
  } else {
    job->deferred.Resolve(value(env));
  }
  job->tsfn.Release();
  if (job->keepAlive) job->keepAlive->Unref();
  delete job;
}

}  // namespace

Napi::Function Context::Init(Napi::Env env) {
  return DefineClass(env, "Context",
                     {
                         InstanceMethod("generate", &Context::Generate),
                         InstanceMethod("forward", &Context::Forward),
                         InstanceMethod("dispose", &Context::Dispose),
                         InstanceMethod("stats", &Context::Stats),
                     });
}

// new Context(model, { threads })
Context::Context(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Context>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "Context(model, options): model expected").ThrowAsJavaScriptException();
    return;
  }
  Model* model = Napi::ObjectWrap<Model>::Unwrap(info[0].As<Napi::Object>());
  model_ = model->handle();
  if (!model_) {
    Napi::Error::New(env, "the model has been disposed").ThrowAsJavaScriptException();
    return;
  }
  Napi::Object opts = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  threads_ = std::max(1, intOpt(opts, "threads", static_cast<int32_t>(std::thread::hardware_concurrency())));
  // With the layers on a GPU the CPU backend only looks up token embeddings: a wide, spinning
  // threadpool would take the cores that host sampling and capture need (measured 3 ms per step).
  if (!model_->cpuOnly) threads_ = std::min(threads_, 2);
  thread_ = std::thread([this] { loop(); });
}

Context::~Context() { shutdown(); }

void Context::post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void Context::loop() {
  ThreadpoolApi api = threadpoolApi();
  if (api.create) {
    ggml_threadpool_params params = ggml_threadpool_params_default(threads_);
    if (!model_->cpuOnly) params.poll = 0;
    if (const char* poll = std::getenv("MOODAXIS_THREAD_POLL")) params.poll = static_cast<uint32_t>(std::clamp(std::atoi(poll), 0, 100));
    threadpool_ = api.create(&params);
  }
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty() && stopping_) break;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
  freeContext();
  capture_.setPool(nullptr);
  pool_.reset();
  if (threadpool_ && api.destroy) api.destroy(static_cast<ggml_threadpool_t>(threadpool_));
  threadpool_ = nullptr;
  model_.reset();
}

void Context::shutdown() {
  if (!thread_.joinable()) return;
  cancel_ = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Context::freeContext() {
  if (ctx_) llama_free(ctx_);
  ctx_ = nullptr;
  deviceTopK_.reset();  // its chains outlive the context that ran them
  for (auto* chain : backendChains_) llama_sampler_free(chain);
  backendChains_.clear();
  ctxSeq_ = ctxPerSeq_ = 0;
}

std::string Context::ensureContext(int nSeq, int nCtxSeq, const GenOptions& opts) {
  if (ctx_ && ctxSeq_ == nSeq && ctxPerSeq_ >= nCtxSeq && ctxFlash_ == opts.flashAttn && ctxF32_ == opts.f32Cache &&
      ctxBackendSampling_ == opts.backendSampling && ctxCapture_ == !opts.capture.layers.empty() &&
      (deviceTopK_ ? deviceTopK_->k() : 0) == (opts.deviceTopK ? opts.topK : 0))
    return {};
  freeContext();
  llama_context_params cp = llama_context_default_params();
  const uint32_t perSeq = static_cast<uint32_t>((nCtxSeq + 255) / 256 * 256);
  cp.n_seq_max = nSeq;
  cp.n_ctx = perSeq * nSeq;
  cp.n_batch = std::max<uint32_t>(512, nSeq);
  cp.n_ubatch = cp.n_batch;
  cp.n_threads = cp.n_threads_batch = threads_;
  cp.kv_unified = false;
  cp.no_perf = true;
  cp.flash_attn_type = opts.flashAttn ? LLAMA_FLASH_ATTN_TYPE_AUTO : LLAMA_FLASH_ATTN_TYPE_DISABLED;
  cp.type_k = cp.type_v = opts.f32Cache ? GGML_TYPE_F32 : GGML_TYPE_F16;
  // The graph callback only where states are read: with one set, the scheduler computes the graph in
  // pieces and synchronizes after each (docs/native.md, Capture), which costs even when no node is wanted.
  if (!opts.capture.layers.empty()) {
    cp.cb_eval = &Capture::evalCallback;
    cp.cb_eval_user_data = &capture_;
  }
  cp.abort_callback = &abortCallback;
  cp.abort_callback_data = &cancel_;
  std::vector<llama_sampler_seq_config> seqSamplers;
  if (opts.backendSampling) {
    // One chain per sequence from the start; admission swaps in a chain seeded for the request.
    for (int s = 0; s < nSeq; s++) {
      llama_sampler* chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
      llama_sampler_chain_add(chain, llama_sampler_init_greedy());
      backendChains_.push_back(chain);
      seqSamplers.push_back({s, chain});
    }
    cp.samplers = seqSamplers.data();
    cp.n_samplers = seqSamplers.size();
  } else if (opts.deviceTopK) {
    deviceTopK_ = std::make_unique<DeviceTopK>(opts.topK);
    seqSamplers = deviceTopK_->chains(nSeq);
    cp.samplers = seqSamplers.data();
    cp.n_samplers = seqSamplers.size();
  }
  {
    // llama.cpp clears the KV cache when it creates it: on the CPU a cache larger than the memory left
    // would be allocated (Linux overcommits) and then touched, and the kernel would kill the process.
    // Refuse it, and any cache above MOODAXIS_KV_MEMORY_LIMIT (bytes), e.g. to share a machine.
    const llama_model* m = model_->model;
    const int nHead = llama_model_n_head(m), nHeadKv = llama_model_n_head_kv(m);
    const double kvDim = nHead > 0 ? static_cast<double>(llama_model_n_embd(m)) / nHead * nHeadKv : 0.0;
    const double kvBytes = static_cast<double>(cp.n_ctx) * llama_model_n_layer(m) * 2.0 * kvDim * (opts.f32Cache ? 4 : 2);
    double avail = model_->cpuOnly ? 0.8 * availableHostMemory() : 0.0;
    const char* limitEnv = std::getenv("MOODAXIS_KV_MEMORY_LIMIT");
    const double limit = limitEnv ? std::atof(limitEnv) : 0.0;
    if (limit > 0 && (avail <= 0 || limit < avail)) avail = limit;
    if (avail > 0 && kvBytes > avail) {
      auto size = [](double bytes) {
        char buf[32];
        if (bytes >= (1 << 30)) snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1 << 30));
        else snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1 << 20));
        return std::string(buf);
      };
      const std::string why = "its KV cache needs about " + size(kvBytes) + " but " + size(avail) + " of memory " +
                              (avail == limit ? "is allowed (MOODAXIS_KV_MEMORY_LIMIT)" : "is available");
      return "could not create a context for " + std::to_string(nSeq) + " sequences of " + std::to_string(perSeq) +
             " tokens (" + why + "); lower `parallel` or `maxTokens`";
    }
  }
  takeLastLlamaErrors();
  ctx_ = llama_init_from_model(model_->model, cp);
  if (!ctx_) {
    std::string why = takeLastLlamaErrors();
    return "could not create a context for " + std::to_string(nSeq) + " sequences of " + std::to_string(perSeq) +
           " tokens (" + (why.empty() ? "allocation failed" : why) + "); lower `parallel` or `maxTokens`";
  }
  if (threadpool_) llama_attach_threadpool(ctx_, static_cast<ggml_threadpool_t>(threadpool_), static_cast<ggml_threadpool_t>(threadpool_));
  ctxSeq_ = nSeq;
  ctxPerSeq_ = static_cast<int>(llama_n_ctx_seq(ctx_));
  ctxFlash_ = opts.flashAttn;
  ctxF32_ = opts.f32Cache;
  ctxBackendSampling_ = opts.backendSampling;
  ctxCapture_ = !opts.capture.layers.empty();
  return {};
}

std::string Context::runGenerate(std::vector<GenRequest>& reqs, const GenOptions& opts, std::vector<GenResult>& out,
                                 const std::function<void(const Progress&)>& progress) {
  const llama_model* model = model_->model;
  const llama_vocab* vocab = model_->vocab();
  const int nEmbd = llama_model_n_embd(model);
  const int nLayer = llama_model_n_layer(model);
  const int limit = opts.contextLimit > 0 ? opts.contextLimit : llama_model_n_ctx_train(model);
  const int n = static_cast<int>(reqs.size());
  out.assign(n, GenResult());
  if (n == 0) return {};

  const int32_t nVocab = llama_vocab_n_tokens(vocab);
  int need = 1;
  for (int i = 0; i < n; i++) {
    GenRequest& r = reqs[i];
    try {
      r.prompt = r.hasGiven ? r.given : tokenize(vocab, r.text, r.addSpecial, r.parseSpecial);
    } catch (const std::exception& e) {
      // llama.cpp throws (e.g. std::out_of_range) on a vocabulary that lacks tokens it falls back to.
      return "request " + std::to_string(i) + ": the model's tokenizer failed on the prompt (" + e.what() +
             "): its vocabulary is damaged or incomplete";
    }
    if (r.prompt.empty()) return "request " + std::to_string(i) + ": the prompt is empty";
    for (llama_token t : r.prompt)
      if (t < 0 || t >= nVocab)
        return "request " + std::to_string(i) + ": token id " + std::to_string(t) + " is outside the vocabulary (0.." +
               std::to_string(nVocab - 1) + ")";
    if (r.hasForced && r.forced.empty()) return "request " + std::to_string(i) + ": the response to score is empty";
    const bool budgeted = !r.hasForced && opts.thinkBudget >= 0 && opts.thinkClose != LLAMA_TOKEN_NULL;
    const int gen = r.hasForced ? static_cast<int>(r.forced.size()) : r.maxTokens + (budgeted ? opts.thinkBudget + 1 : 0);
    const int total = static_cast<int>(r.prompt.size()) + gen + 1;
    if (total > limit)
      return "request " + std::to_string(i) + ": the prompt has " + std::to_string(r.prompt.size()) + " tokens and up to " +
             std::to_string(gen) + " more are generated, more than the context of " + std::to_string(limit) +
             " tokens per sequence; shorten the prompt, lower maxTokens or raise contextSize";
    need = std::max(need, total);
  }
  for (const auto& w : opts.capture.layers)
    if (!w.finalNorm && (w.block < 0 || w.block >= nLayer))
      return "capture layer " + std::to_string(w.block) + " does not exist: the model has layers 0.." + std::to_string(nLayer - 1);

  const int nSeq = std::max(1, std::min(opts.parallel, n));
  std::string err = ensureContext(nSeq, need, opts);
  if (!err.empty()) return err;
  capture_.configure(opts.capture, nEmbd, nLayer, nSeq);
  if (!opts.controlVector.empty()) {
    if (llama_set_adapter_cvec(ctx_, opts.controlVector.data(), opts.controlVector.size(), nEmbd, opts.cvecStart,
                               opts.cvecEnd) != 0)
      return "the control vector does not fit this model: " + takeLastLlamaErrors();
  } else {
    llama_set_adapter_cvec(ctx_, nullptr, 0, nEmbd, -1, -1);
  }
  llama_memory_t mem = llama_get_memory(ctx_);
  llama_memory_clear(mem, true);

  stats_ = GenStats();
  struct Slot {
    int req = -1;
    int pos = 0;
    int nGen = 0;
    llama_token pending = 0;
    bool hasPending = false, pendingKeep = false, finalFeed = false, inThink = false;
    int nThink = 0;
    bool closeThink = false, thinkCut = false;
    SequenceSampler sampler;
    std::string text;
    std::vector<llama_token> ids;
  };
  std::vector<Slot> slots(nSeq);
  const int batchCap = static_cast<int>(llama_n_batch(ctx_));
  llama_batch batch = llama_batch_init(batchCap, 0, 1);
  struct BatchGuard {
    llama_batch& b;
    ~BatchGuard() { llama_batch_free(b); }
  } guard{batch};

  // Admission order: longest work first, so the last sequences to finish are not a long tail at low batch.
  std::vector<int> admission(n);
  for (int i = 0; i < n; i++) admission[i] = i;
  auto work = [&](int i) {
    return static_cast<int>(reqs[i].prompt.size()) + (reqs[i].hasForced ? static_cast<int>(reqs[i].forced.size()) : reqs[i].maxTokens);
  };
  std::stable_sort(admission.begin(), admission.end(), [&](int a, int b) { return work(a) > work(b); });
  const SamplerParams samplerParams{opts.temperature, opts.topK, opts.topP, opts.allowedTokens.empty() ? nullptr : &opts.allowedTokens};
  // Host sampling of many large-vocabulary rows (and folding the captured columns) is worth a few
  // threads; on a CPU backend they would compete with llama.cpp's own threads for the cores.
  if (!pool_ && !model_->cpuOnly) {
    const int hw = static_cast<int>(std::thread::hardware_concurrency());
    pool_ = std::make_unique<WorkerPool>(std::clamp(hw / 2, 0, 7));
    capture_.setPool(pool_.get());
  }

  int next = 0, done = 0;
  Progress prog;
  prog.total = n;
  auto lastReport = Clock::now();

  // llama.cpp's chain for backend sampling: the same arithmetic as SequenceSampler, inside the graph.
  auto makeBackendChain = [&](uint32_t seed) {
    llama_sampler* chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
    if (opts.temperature <= 0.0f) {
      llama_sampler_chain_add(chain, llama_sampler_init_greedy());
    } else {
      // top-k, then temperature, then top-p: the same distribution as the reference's
      // temperature -> top-k -> top-p (temperature is monotonic, so the top-k set is unchanged).
      if (opts.topK > 0) llama_sampler_chain_add(chain, llama_sampler_init_top_k(opts.topK));
      llama_sampler_chain_add(chain, llama_sampler_init_temp(opts.temperature));
      if (opts.topP < 1.0f) llama_sampler_chain_add(chain, llama_sampler_init_top_p(opts.topP, 1));
      llama_sampler_chain_add(chain, llama_sampler_init_dist(seed));
    }
    return chain;
  };

  auto finish = [&](int s, bool eos) {
    Slot& sl = slots[s];
    GenResult& res = out[sl.req];
    res.text = std::move(sl.text);
    res.ids = std::move(sl.ids);
    res.tokens = sl.nGen;
    res.thinkTokens = sl.nThink;
    res.thinkCut = sl.thinkCut;
    res.eos = eos;
    res.promptTokens = static_cast<int32_t>(reqs[sl.req].prompt.size());
    res.capturedTokens = static_cast<int32_t>(capture_.keptTokens(s));
    capture_.finishSlot(s, res.vector, res.norms);
    prog.finished.emplace_back(sl.req, res);
    sl = Slot();
    llama_memory_seq_rm(mem, s, -1, -1);
    done++;
    prog.done = done;
  };

  // Takes the token chosen for slot s: stop, or queue it to be fed (and captured) in the next step.
  auto accept = [&](int s, llama_token t) {
    Slot& sl = slots[s];
    const GenRequest& r = reqs[sl.req];
    if (!r.hasForced && !opts.ignoreEos && llama_vocab_is_eog(vocab, t)) {
      finish(s, true);
      return;
    }
    const std::string special = tokenPiece(vocab, t, true);
    const bool opens = special.find("<think>") != std::string::npos;
    const bool closes = special.find("</think>") != std::string::npos;
    bool keep = !(sl.inThink || opens || closes);
    if (opens) sl.inThink = true;
    if (closes) sl.inThink = false;
    if (!keep) sl.nThink++;
    sl.text += tokenPiece(vocab, t, false);
    sl.ids.push_back(t);
    sl.nGen++;
    prog.tokens++;
    const int limitGen = r.hasForced ? static_cast<int>(r.forced.size()) : r.maxTokens;
    if (opts.capture.compat) {
      keep = true;
      if (sl.nGen >= limitGen) {  // the reference never reads the state at its last token
        finish(s, false);
        return;
      }
    }
    sl.pending = t;
    sl.hasPending = true;
    sl.pendingKeep = keep;
    // With a think budget, maxTokens counts the visible answer; a think block that reaches the budget is closed.
    const bool budgeted = !r.hasForced && opts.thinkBudget >= 0 && opts.thinkClose != LLAMA_TOKEN_NULL;
    if (budgeted && sl.inThink && sl.nThink >= opts.thinkBudget) sl.closeThink = sl.thinkCut = true;
    sl.finalFeed = (budgeted ? sl.nGen - sl.nThink : sl.nGen) >= limitGen;
  };

  // Chooses the next token of each (slot, batch index) after a decode, then accepts them in order.
  std::vector<llama_token> chosen;
  auto chooseAll = [&](const std::vector<std::pair<int, int>>& picks) -> std::string {
    chosen.assign(picks.size(), 0);
    auto pick = [&](int k) {
      const auto [s, idx] = picks[k];
      Slot& sl = slots[s];
      const GenRequest& r = reqs[sl.req];
      if (r.hasForced) chosen[k] = r.forced[sl.nGen];
      else if (sl.closeThink) {
        chosen[k] = opts.thinkClose;
        sl.closeThink = false;
      } else if (opts.backendSampling) chosen[k] = llama_sampler_sample(backendChains_[s], ctx_, idx);
      else if (deviceTopK_) {
        const llama_token* ids = llama_get_sampled_candidates_ith(ctx_, idx);
        const float* logits = llama_get_sampled_logits_ith(ctx_, idx);
        const uint32_t n = llama_get_sampled_logits_count_ith(ctx_, idx);
        chosen[k] = ids && logits && n > 0 && llama_get_sampled_candidates_count_ith(ctx_, idx) == n
                        ? sl.sampler.sampleCandidates(logits, ids, static_cast<int32_t>(n))
                        : LLAMA_TOKEN_NULL;
      }
      else if (const float* row = llama_get_logits_ith(ctx_, idx)) chosen[k] = sl.sampler.sample(row, nVocab);
      else chosen[k] = LLAMA_TOKEN_NULL;
    };
    const auto t0 = Clock::now();
    llama_synchronize(ctx_);  // the decode's outputs are ready (before threads read the logits)
    const auto t1 = Clock::now();
    if (!opts.backendSampling && !deviceTopK_ && pool_ && picks.size() > 1 && static_cast<int64_t>(picks.size()) * nVocab >= (1 << 20)) {
      pool_->run(static_cast<int>(picks.size()), pick);
    } else {
      for (size_t k = 0; k < picks.size(); k++) pick(static_cast<int>(k));
    }
    stats_.waitMs += std::chrono::duration<double, std::milli>(t1 - t0).count();
    stats_.sampleMs += std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
    for (size_t k = 0; k < picks.size(); k++) {
      if (chosen[k] == LLAMA_TOKEN_NULL) return "llama.cpp returned no logits for sequence " + std::to_string(picks[k].first);
      accept(picks[k].first, chosen[k]);
    }
    return {};
  };

  auto decode = [&]() -> std::string {
    const auto t0 = Clock::now();
    const int32_t rc = llama_decode(ctx_, batch);
    stats_.decodeMs += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    stats_.captureMs += capture_.takeElapsedMs();
    capture_.endDecode();
    if (cancel_) return "cancelled";
    if (!capture_.error().empty()) return capture_.error();
    if (rc == 1) return "the KV cache is full; lower `parallel` or `maxTokens`";
    if (rc == 2) return "cancelled";
    if (rc != 0) {
      std::string why = takeLastLlamaErrors();
      return "llama_decode failed (code " + std::to_string(rc) + (why.empty() ? "" : ": " + why) + ")";
    }
    return {};
  };

  // Prompt prefill for newly admitted slots, packed into batches of up to batchCap tokens. Prompts often
  // share a long prefix (chat template, system instruction): a slot whose prompt starts with at least
  // kMinShared tokens of another slot's prompt (one already in the cache, or one prefilled first in this
  // round) copies that sequence's cache and prefills only the rest. Across KV streams llama.cpp copies
  // the whole stream at the next decode (a device copy per layer, far cheaper than recomputing).
  constexpr size_t kMinShared = 16;
  // Only plain KV caches: recurrent state cannot be cut at a position, and a sliding-window cache may
  // have dropped the prefix already. Deterministic mode on a GPU computes every sequence alone.
  const bool canShare = !opts.solo && !llama_model_is_recurrent(model) && !llama_model_is_hybrid(model) &&
                        llama_model_n_swa(model) == 0;
  auto prefill = [&](const std::vector<int>& admitted) -> std::string {
    std::vector<ColumnRef> all, outs;
    std::vector<std::pair<int, int>> lastIndex;  // (slot, batch index of its last prompt token)
    batch.n_tokens = 0;
    auto flush = [&]() -> std::string {
      if (batch.n_tokens == 0) return {};
      capture_.beginDecode(std::move(all), std::move(outs));
      all.clear();
      outs.clear();
      std::string e = decode();
      if (!e.empty()) return e;
      e = chooseAll(lastIndex);
      if (!e.empty()) return e;
      lastIndex.clear();
      batch.n_tokens = 0;
      return {};
    };
    // Feeds prompt tokens [from, end) of slot s.
    auto feed = [&](int s, size_t from) -> std::string {
      Slot& sl = slots[s];
      const auto& prompt = reqs[sl.req].prompt;
      for (size_t p = from; p < prompt.size(); p++) {
        if (batch.n_tokens == (opts.solo ? 1 : batchCap)) {
          std::string e = flush();
          if (!e.empty()) return e;
        }
        const bool last = p + 1 == prompt.size();
        const int i = batch.n_tokens++;
        batch.token[i] = prompt[p];
        batch.pos[i] = static_cast<llama_pos>(p);
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = s;
        batch.logits[i] = last;
        const ColumnRef ref{opts.capture.compat && last ? s : -1};
        all.push_back(ref);
        if (last) {
          outs.push_back(ref);
          lastIndex.emplace_back(s, i);
        }
      }
      sl.pos = static_cast<int>(prompt.size());
      // Compat capture keeps the last prompt token: give each slot its own decode so columns stay in order.
      if (opts.capture.compat || opts.solo) return flush();
      return {};
    };

    // Leaders prefill their whole prompt; followers share a leader's or a running sequence's prefix.
    std::vector<int> leaders;
    std::vector<std::array<int, 3>> followers;  // (slot, source slot, shared tokens)
    std::vector<char> admittedNow(nSeq, 0);
    for (int s : admitted) admittedNow[s] = 1;
    for (int s : admitted) {
      const auto& prompt = reqs[slots[s].req].prompt;
      int source = -1;
      size_t shared = 0;
      auto consider = [&](int t) {
        const auto& other = reqs[slots[t].req].prompt;
        const size_t limit = std::min(prompt.size() - 1, other.size());  // the last token is always fed
        size_t l = 0;
        while (l < limit && prompt[l] == other[l]) l++;
        if (l > shared) shared = l, source = t;
      };
      if (canShare) {
        for (int t = 0; t < nSeq; t++)
          if (t != s && slots[t].req >= 0 && !admittedNow[t]) consider(t);
        for (int t : leaders) consider(t);
      }
      if (shared >= kMinShared) followers.push_back({s, source, static_cast<int>(shared)});
      else leaders.push_back(s);
    }
    for (int s : leaders) {
      std::string e = feed(s, 0);
      if (!e.empty()) return e;
    }
    if (followers.empty()) return flush();
    std::string e = flush();
    if (!e.empty()) return e;
    for (auto [s, source, shared] : followers) {
      llama_memory_seq_cp(mem, source, s, -1, -1);
      // Keep the shared prefix only; a cache that cannot cut a sequence there gets the whole prompt.
      if (!llama_memory_seq_rm(mem, s, shared, -1) || llama_memory_seq_pos_min(mem, s) != 0 ||
          llama_memory_seq_pos_max(mem, s) != shared - 1) {
        llama_memory_seq_rm(mem, s, -1, -1);
        shared = 0;
      }
      stats_.sharedTokens += shared;
      e = feed(s, static_cast<size_t>(shared));
      if (!e.empty()) return e;
    }
    return flush();
  };

  // Hands finished results to JS before any early return, so a journal keeps what was completed.
  auto stop = [&](std::string why) {
    if (progress && !prog.finished.empty()) progress(prog);
    return why;
  };

  while (done < n) {
    if (cancel_) return stop("cancelled");
    std::vector<int> admitted;
    for (int s = 0; s < nSeq && next < n; s++) {
      if (slots[s].req >= 0) continue;
      const int req = admission[next++];
      slots[s].req = req;
      if (opts.backendSampling) {
        // The context owns the chain of sequence s; swap in one seeded for this request.
        llama_sampler* chain = makeBackendChain(reqs[req].seed);
        llama_set_sampler(ctx_, s, chain);
        llama_sampler_free(backendChains_[s]);
        backendChains_[s] = chain;
      } else {
        slots[s].sampler = SequenceSampler(samplerParams, reqs[req].seed);
      }
      slots[s].inThink = reqs[req].startInThink;
      capture_.resetSlot(s);
      admitted.push_back(s);
    }
    if (!admitted.empty()) {
      for (int s : admitted) stats_.prefillTokens += static_cast<int64_t>(reqs[slots[s].req].prompt.size());
      const auto t0 = Clock::now();
      std::string e = prefill(admitted);
      if (!e.empty()) return stop(e);
      stats_.prefillMs += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    }

    // One step: the pending token of every active slot, in ascending slot order (solo: one decode each).
    std::vector<int> order;
    for (int s = 0; s < nSeq; s++)
      if (slots[s].req >= 0 && slots[s].hasPending) order.push_back(s);
    const auto t0 = Clock::now();
    for (size_t first = 0; first < order.size();) {
      const size_t count = opts.solo ? 1 : order.size();
      std::vector<ColumnRef> all;
      std::vector<std::pair<int, int>> picks;
      batch.n_tokens = 0;
      for (size_t k = first; k < first + count; k++) {
        Slot& sl = slots[order[k]];
        const int i = batch.n_tokens++;
        batch.token[i] = sl.pending;
        batch.pos[i] = sl.pos;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = order[k];
        batch.logits[i] = true;
        all.push_back(ColumnRef{sl.pendingKeep ? order[k] : -1});
      }
      stats_.steps++;
      stats_.stepTokens += static_cast<int64_t>(count);
      std::vector<ColumnRef> outs = all;
      capture_.beginDecode(std::move(all), std::move(outs));
      std::string e = decode();
      if (!e.empty()) return stop(e);
      for (size_t k = first; k < first + count; k++) {
        const int s = order[k];
        Slot& sl = slots[s];
        sl.pos++;
        sl.hasPending = false;
        if (sl.finalFeed) finish(s, false);
        else picks.emplace_back(s, static_cast<int>(k - first));
      }
      e = chooseAll(picks);
      if (!e.empty()) return stop(e);
      first += count;
    }
    if (!order.empty()) stats_.stepMs += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    const auto now = Clock::now();
    if (progress && (!prog.finished.empty() || now - lastReport > std::chrono::milliseconds(100))) {
      lastReport = now;
      prog.partial.clear();
      if (opts.stream)
        for (const Slot& sl : slots)
          if (sl.req >= 0) prog.partial.emplace_back(sl.req, sl.text);
      progress(prog);
      prog.finished.clear();
    }
  }
  return {};
}

std::string Context::runForward(const std::vector<llama_token>& tokens, std::vector<std::vector<float>>& states) {
  const int nTokens = static_cast<int>(tokens.size());
  GenOptions opts;
  opts.f32Cache = true;
  opts.capture.layers.resize(1);  // a context with the graph callback installed
  std::string err = ensureContext(1, nTokens + 1, opts);
  if (!err.empty()) return err;
  llama_set_adapter_cvec(ctx_, nullptr, 0, llama_model_n_embd(model_->model), -1, -1);
  llama_memory_clear(llama_get_memory(ctx_), true);
  const int batchCap = static_cast<int>(llama_n_batch(ctx_));
  llama_batch batch = llama_batch_init(batchCap, 0, 1);
  capture_.beginRawDecode(nTokens);
  for (int start = 0; start < nTokens && err.empty(); start += batchCap) {
    batch.n_tokens = 0;
    for (int p = start; p < std::min(nTokens, start + batchCap); p++) {
      const int i = batch.n_tokens++;
      batch.token[i] = tokens[p];
      batch.pos[i] = p;
      batch.n_seq_id[i] = 1;
      batch.seq_id[i][0] = 0;
      batch.logits[i] = true;  // every token an output: the last block keeps all columns
    }
    const int32_t rc = llama_decode(ctx_, batch);
    if (rc != 0) err = "llama_decode failed (code " + std::to_string(rc) + ")";
    if (!capture_.error().empty()) err = capture_.error();
  }
  capture_.endDecode();
  llama_batch_free(batch);
  states = capture_.raw();
  return err;
}

// generate(requests, options, onProgress?) -> Promise<results>
Napi::Value Context::Generate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* job = new GenerateJob(env);
  Napi::Promise promise = job->deferred.Promise();
  if (disposed_) {
    job->deferred.Reject(Napi::Error::New(env, "the context has been disposed").Value());
    delete job;
    return promise;
  }
  Napi::Array reqs = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < reqs.Length(); i++) {
    Napi::Object r = reqs.Get(i).As<Napi::Object>();
    GenRequest g;
    g.text = r.Get("text").As<Napi::String>().Utf8Value();
    g.addSpecial = boolOpt(r, "addSpecial", true);
    g.parseSpecial = boolOpt(r, "parseSpecial", true);
    g.maxTokens = intOpt(r, "maxTokens", 200);
    g.seed = static_cast<uint32_t>(numOpt(r, "seed", 42));
    g.startInThink = boolOpt(r, "startInThink", false);
    if (r.Has("tokens") && r.Get("tokens").IsTypedArray()) {
      g.given = tokensFrom(r.Get("tokens"));
      g.hasGiven = true;
    }
    if (r.Has("forced") && r.Get("forced").IsTypedArray()) {
      g.forced = tokensFrom(r.Get("forced"));
      g.hasForced = true;
    }
    job->requests.push_back(std::move(g));
  }
  Napi::Object o = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  GenOptions& opts = job->options;
  opts.temperature = static_cast<float>(numOpt(o, "temperature", 0.7));
  opts.topK = intOpt(o, "topK", 50);
  opts.topP = static_cast<float>(numOpt(o, "topP", 0.9));
  opts.ignoreEos = boolOpt(o, "ignoreEos", false);
  opts.thinkBudget = intOpt(o, "thinkBudget", -1);
  opts.thinkClose = intOpt(o, "thinkClose", LLAMA_TOKEN_NULL);
  if (o.Has("allowedTokens") && o.Get("allowedTokens").IsTypedArray()) opts.allowedTokens = tokensFrom(o.Get("allowedTokens"));
  opts.parallel = std::max(1, intOpt(o, "parallel", 8));
  opts.contextLimit = intOpt(o, "contextLimit", 0);
  opts.flashAttn = boolOpt(o, "flashAttn", false);
  opts.f32Cache = boolOpt(o, "f32Cache", false);
  opts.backendSampling = boolOpt(o, "backendSampling", false);
  opts.deviceTopK = boolOpt(o, "deviceTopK", false);
  // The device keeps k candidates per row: only for a plain top-k draw over the whole vocabulary.
  if (opts.topK <= 0 || !opts.allowedTokens.empty() || opts.backendSampling) opts.deviceTopK = false;
  opts.solo = boolOpt(o, "solo", false);
  opts.stream = boolOpt(o, "stream", false);
  opts.capture = parseCapture(o);
  if (o.Has("controlVector") && o.Get("controlVector").IsTypedArray()) {
    auto cv = o.Get("controlVector").As<Napi::Float32Array>();
    opts.controlVector.assign(cv.Data(), cv.Data() + cv.ElementLength());
    opts.cvecStart = intOpt(o, "cvecStart", 1);
    opts.cvecEnd = intOpt(o, "cvecEnd", 1);
  }
  Napi::Function onProgress = info.Length() > 2 && info[2].IsFunction() ? info[2].As<Napi::Function>()
                                                                          : Napi::Function::New(env, [](const Napi::CallbackInfo&) {});
  job->tsfn = Napi::ThreadSafeFunction::New(env, onProgress, "moodaxis.generate", 0, 1);
  Ref();
  job->keepAlive = this;  // keep the JS object alive while the job runs
  post([this, job] {
    auto report = [job](const Progress& p) {
      auto* copy = new Progress(p);
      job->tsfn.NonBlockingCall(copy, [](Napi::Env env, Napi::Function fn, Progress* p) {
        try {
          Napi::Array finished = Napi::Array::New(env, p->finished.size());
          for (size_t i = 0; i < p->finished.size(); i++) {
            Napi::Object item = resultObject(env, p->finished[i].second);
            item.Set("index", p->finished[i].first);
            finished.Set(i, item);
          }
          Napi::Array partial = Napi::Array::New(env, p->partial.size());
          for (size_t i = 0; i < p->partial.size(); i++) {
            Napi::Object item = Napi::Object::New(env);
            item.Set("index", p->partial[i].first);
            item.Set("text", p->partial[i].second);
            partial.Set(i, item);
          }
          fn.Call({Napi::Number::New(env, p->done), Napi::Number::New(env, p->total),
                   Napi::Number::New(env, static_cast<double>(p->tokens)), finished, partial});
        } catch (const Napi::Error&) {
          // A failing progress callback must not stop the generation.
        }
        delete p;
      });
    };
    try {
      job->error = runGenerate(job->requests, job->options, job->results, report);
    } catch (const std::exception& e) {  // an exception escaping this thread would abort the process
      job->error = std::string("llama.cpp failed: ") + e.what();
    }
    if (job->error == "cancelled") job->error = "generation cancelled: the model or context was disposed";
    job->tsfn.BlockingCall(job, [](Napi::Env env, Napi::Function, GenerateJob* job) {
      finishJob(env, job, [job](Napi::Env env) -> Napi::Value {
        Napi::Array arr = Napi::Array::New(env, job->results.size());
        for (size_t i = 0; i < job->results.size(); i++) arr.Set(i, resultObject(env, job->results[i]));
        return arr;
      });
    });
  });
  return promise;
}

// stats() -> timing of the last generate call
Napi::Value Context::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("prefillMs", stats_.prefillMs);
  o.Set("stepMs", stats_.stepMs);
  o.Set("steps", static_cast<double>(stats_.steps));
  o.Set("prefillTokens", static_cast<double>(stats_.prefillTokens));
  o.Set("stepTokens", static_cast<double>(stats_.stepTokens));
  o.Set("decodeMs", stats_.decodeMs);
  o.Set("waitMs", stats_.waitMs);
  o.Set("sampleMs", stats_.sampleMs);
  o.Set("captureMs", stats_.captureMs);
  o.Set("sharedTokens", static_cast<double>(stats_.sharedTokens));
  return o;
}

// forward(tokens: Int32Array, layers: number[]) -> Promise<Float32Array[]> (per layer, tokens x nEmbd)
Napi::Value Context::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* job = new GenerateJob(env);
  Napi::Promise promise = job->deferred.Promise();
  if (disposed_) {
    job->deferred.Reject(Napi::Error::New(env, "the context has been disposed").Value());
    delete job;
    return promise;
  }
  job->forwardTokens = tokensFrom(info[0]);
  Napi::Array layers = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < layers.Length(); i++) {
    WatchedLayer w;
    w.block = layers.Get(i).As<Napi::Number>().Int32Value();
    job->options.capture.layers.push_back(w);
  }
  job->tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "moodaxis.forward", 0, 1);
  Ref();
  job->keepAlive = this;
  post([this, job] {
    const llama_model* model = model_->model;
    const int nLayer = llama_model_n_layer(model);
    for (const auto& w : job->options.capture.layers)
      if (w.block < 0 || w.block >= nLayer) job->error = "layer " + std::to_string(w.block) + " does not exist";
    if (job->forwardTokens.empty()) job->error = "no tokens to run";
    if (job->error.empty()) {
      capture_.configure(job->options.capture, llama_model_n_embd(model), nLayer, 1);
      try {
        job->error = runForward(job->forwardTokens, job->states);
      } catch (const std::exception& e) {
        job->error = std::string("llama.cpp failed: ") + e.what();
      }
    }
    job->tsfn.BlockingCall(job, [](Napi::Env env, Napi::Function, GenerateJob* job) {
      finishJob(env, job, [job](Napi::Env env) -> Napi::Value {
        Napi::Array arr = Napi::Array::New(env, job->states.size());
        for (size_t i = 0; i < job->states.size(); i++) arr.Set(i, toFloat32(env, job->states[i]));
        return arr;
      });
    });
  });
  return promise;
}

// dispose() -> Promise<void>: cancels a running job between steps, frees the context, ends the thread.
Napi::Value Context::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* job = new GenerateJob(env);
  Napi::Promise promise = job->deferred.Promise();
  if (disposed_) {
    job->deferred.Resolve(env.Undefined());
    delete job;
    return promise;
  }
  disposed_ = true;
  cancel_ = true;
  job->tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "moodaxis.dispose", 0, 1);
  Ref();
  job->keepAlive = this;
  post([this, job] {
    freeContext();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    job->tsfn.BlockingCall(job, [this](Napi::Env env, Napi::Function, GenerateJob* job) {
      if (thread_.joinable()) thread_.join();
      finishJob(env, job, [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
    });
  });
  return promise;
}

}  // namespace moodaxis
