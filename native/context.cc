// The owner thread of a llama_context, its job queue and the N-API surface (argument parsing, result
// marshalling). The generation loop itself is GenerationRun (generate.cc).
#include "context.h"

#include "args.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <unistd.h>

#include "ggml-backend.h"
#include "ggml-cpu.h"

namespace moodaxis {

namespace {

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

Napi::Value progressArguments(Napi::Env env, Napi::Function fn, const Progress& p) {
  Napi::Array finished = Napi::Array::New(env, p.finished.size());
  for (size_t i = 0; i < p.finished.size(); i++) {
    Napi::Object item = resultObject(env, p.finished[i].second);
    item.Set("index", p.finished[i].first);
    finished.Set(i, item);
  }
  Napi::Array partial = Napi::Array::New(env, p.partial.size());
  for (size_t i = 0; i < p.partial.size(); i++) {
    Napi::Object item = Napi::Object::New(env);
    item.Set("index", p.partial[i].first);
    item.Set("text", p.partial[i].second);
    partial.Set(i, item);
  }
  return fn.Call({Napi::Number::New(env, p.done), Napi::Number::New(env, p.total),
                  Napi::Number::New(env, static_cast<double>(p.tokens)), finished, partial});
}


}  // namespace

// One call from JS: parsed arguments in, results out. Created on the JS thread once the arguments are
// parsed, run on the owner thread, settled and freed on the JS thread.
struct Job {
  JobKind kind;
  Napi::Promise::Deferred deferred;
  Napi::ThreadSafeFunction tsfn;  // progress reports and the final hand-back to the JS thread
  std::vector<GenRequest> requests;
  GenOptions options;
  std::vector<GenResult> results;
  GenStats stats;
  std::vector<llama_token> forwardTokens;
  std::vector<int32_t> forwardLayers;
  std::vector<std::vector<float>> states;
  Status status;
  double contextBytes = 0;  // the context's memory when the job ended
  Job(Napi::Env env, JobKind k) : kind(k), deferred(Napi::Promise::Deferred::New(env)) {}
};

Napi::Function Context::Init(Napi::Env env) {
  return DefineClass(env, "Context",
                     {
                         InstanceMethod("generate", &Context::Generate),
                         InstanceMethod("forward", &Context::Forward),
                         InstanceMethod("dispose", &Context::Dispose),
                         InstanceMethod("stats", &Context::Stats),
                     });
}

// new Context(model, { threads: number })
Context::Context(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Context>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(addonData(env).modelClass.Value()))
    throw jsError(env, Status::badInput("Context(model, options): a Model expected"));
  try {
    threads_ = Fields(info[1], "Context options").int32("threads");
  } catch (const BadArgument& e) {
    throw jsError(env, Status::badInput(e.what()));
  }
  if (threads_ < 1) throw jsError(env, Status::badInput("Context options.threads must be at least 1"));
  model_ = Napi::ObjectWrap<Model>::Unwrap(info[0].As<Napi::Object>())->handle();
  if (!model_) throw jsError(env, Status::cancelled("the model has been disposed"));
  // With the layers on a GPU the CPU backend only looks up token embeddings: a wide, spinning
  // threadpool would take the cores that host sampling and capture need (measured 3 ms per step).
  if (!model_->cpuOnly) threads_ = std::min(threads_, 2);
  thread_ = std::thread([this] { loop(); });
}

Context::~Context() { shutdown(); }

// Collected without dispose(): the memory it reported goes with it.
void Context::Finalize(Napi::Env env) {
  if (reportedBytes_) Napi::MemoryManagement::AdjustExternalMemory(env, -reportedBytes_);
  reportedBytes_ = 0;
}

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
  ctx_.reset();
  backendChains_.clear();  // after the context that used them
  deviceTopK_.reset();
  ctxSeq_ = ctxPerSeq_ = 0;
  ctxBytes_ = 0;
  held_.reset(0, {}, 0, 0);
  cvec_.clear();
  cvecKnown_ = true;  // a new context has none
}

// Applies a control vector (empty: none) to the context's graphs. llama.cpp then reserves the scheduler again
// at the next decode (19.8 ms on an H200 at 256 sequences), so a vector the context holds is not applied again.
bool Context::setControlVector(const std::vector<float>& cvec, int32_t start, int32_t end) {
  if (cvecKnown_ && cvec == cvec_ && (cvec.empty() || (start == cvecStart_ && end == cvecEnd_))) return true;
  const int nEmbd = llama_model_n_embd(model_->get());
  const bool ok = cvec.empty() ? llama_set_adapter_cvec(ctx_.get(), nullptr, 0, nEmbd, -1, -1) == 0
                               : llama_set_adapter_cvec(ctx_.get(), cvec.data(), cvec.size(), nEmbd, start, end) == 0;
  // (after a refusal the context's vector is not known: the next call applies its own)
  cvecKnown_ = ok;
  cvec_ = cvec;
  cvecStart_ = start;
  cvecEnd_ = end;
  return ok;
}

// Whether a context for these options needs the graph callback. Without the device top-k, the capture reads
// each watched tensor where it is computed. With it, one stop at the end of each ubatch's graph (graphTap) is
// needed only where a decode of several ubatches keeps columns: compat mode's prompts. Otherwise a step is one
// ubatch (n_ubatch >= n_seq_max) and keeps no prompt column, so its top-k matrices and captured tensors are
// read after the decode (GenerationRun::decode), and the scheduler runs the graph whole, without stopping.
// MOODAXIS_GRAPH_TAP=1 keeps the stop anyway (benchmarks compare the two).
bool Context::needsGraphTap(const GenOptions& opts) {
  const bool withTopK = opts.deviceTopK && !opts.backendSampling;
  if (!withTopK) return !opts.capture.layers.empty();
  static const bool forced = [] {
    const char* tap = std::getenv("MOODAXIS_GRAPH_TAP");
    return tap && std::strcmp(tap, "1") == 0;
  }();
  return forced || opts.capture.compat;
}

bool Context::contextFits(int nSeq, int nCtxSeq, const GenOptions& opts) const {
  return ctx_ && ctxSeq_ == nSeq && ctxPerSeq_ >= nCtxSeq && llama_n_batch(ctx_.get()) == batchTokens(nSeq, opts) && ctxFlash_ == opts.flashAttn && ctxF32_ == opts.f32Cache &&
         ctxBackendSampling_ == opts.backendSampling && ctxCapture_ == !opts.capture.layers.empty() &&
         ctxTap_ == needsGraphTap(opts) &&
         (deviceTopK_ ? deviceTopK_->k() : 0) == (opts.deviceTopK ? opts.topK : 0) &&
         (!deviceTopK_ || deviceTopK_->keptLayers() == keptLayers(opts));
}

uint32_t Context::batchTokens(int nSeq, const GenOptions& opts) {
  return std::max<uint32_t>(opts.batchTokens, nSeq);
}

// The tensors a context with the device top-k keeps to the end of its graphs: the captured layers.
KeptLayers Context::keptLayers(const GenOptions& opts) {
  KeptLayers kept;
  for (const auto& layer : opts.capture.layers) {
    kept.names.push_back(watchedTensorName(layer));
    kept.weights.push_back(layer.weight);
  }
  return kept;
}

// The graph callback. Without the device top-k: the capture's, at each watched tensor. With it: one stop at
// the end of each ubatch's graph, where the top-k matrices and the watched tensors (kept as outputs) are read.
bool Context::graphTap(ggml_tensor* t, bool ask, void* userData) {
  auto* self = static_cast<Context*>(userData);
  DeviceTopK* topk = self->deviceTopK_.get();
  if (!topk) return Capture::evalCallback(t, ask, &self->capture_);
  if (ask) return DeviceTopK::isEnd(t);
  if (DeviceTopK::isEnd(t)) {
    topk->readGraphEnd(self->capture_);
  }
  return true;
}

Status Context::ensureContext(int nSeq, int nCtxSeq, const GenOptions& opts) {
  if (contextFits(nSeq, nCtxSeq, opts)) return {};
  freeContext();
  llama_context_params cp = llama_context_default_params();
  const uint32_t perSeq = static_cast<uint32_t>((nCtxSeq + 255) / 256 * 256);
  cp.n_seq_max = nSeq;
  cp.n_ctx = perSeq * nSeq;
  cp.n_batch = batchTokens(nSeq, opts);
  cp.n_ubatch = cp.n_batch;
  cp.n_threads = cp.n_threads_batch = threads_;
  cp.kv_unified = false;
  cp.no_perf = true;
  cp.flash_attn_type = opts.flashAttn ? LLAMA_FLASH_ATTN_TYPE_AUTO : LLAMA_FLASH_ATTN_TYPE_DISABLED;
  cp.type_k = cp.type_v = opts.f32Cache ? GGML_TYPE_F32 : GGML_TYPE_F16;
  // The graph callback only where it is needed (needsGraphTap): with one set, the scheduler computes the
  // graph in pieces and synchronizes after each (docs/native.md), which costs even when no node is wanted.
  const bool withTopK = opts.deviceTopK && !opts.backendSampling;
  if (needsGraphTap(opts)) {
    cp.cb_eval = &Context::graphTap;
    cp.cb_eval_user_data = this;
  }
  cp.abort_callback = &abortCallback;
  cp.abort_callback_data = &cancel_;
  std::vector<llama_sampler_seq_config> seqSamplers;
  if (opts.backendSampling) {
    // One chain per sequence from the start; admission swaps in a chain seeded for the request.
    for (int s = 0; s < nSeq; s++) {
      llama_sampler_ptr chain(llama_sampler_chain_init(llama_sampler_chain_default_params()));
      llama_sampler_chain_add(chain.get(), llama_sampler_init_greedy());
      seqSamplers.push_back({s, chain.get()});
      backendChains_.push_back(std::move(chain));
    }
  } else if (withTopK) {
    deviceTopK_ = std::make_unique<DeviceTopK>(opts.topK);
    deviceTopK_->keep(keptLayers(opts));
    seqSamplers = deviceTopK_->chains(nSeq);
  }
  if (!seqSamplers.empty()) {
    cp.samplers = seqSamplers.data();
    cp.n_samplers = seqSamplers.size();
  }
  const llama_model* m = model_->get();
  const int nHead = llama_model_n_head(m), nHeadKv = llama_model_n_head_kv(m);
  const double kvDim = nHead > 0 ? static_cast<double>(llama_model_n_embd(m)) / nHead * nHeadKv : 0.0;
  const double kvBytes = static_cast<double>(cp.n_ctx) * llama_model_n_layer(m) * 2.0 * kvDim * (opts.f32Cache ? 4 : 2);
  {
    // llama.cpp clears the KV cache when it creates it: on the CPU a cache larger than the memory left
    // would be allocated (Linux overcommits) and then touched, and the kernel would kill the process.
    // Refuse it, and any cache above MOODAXIS_KV_MEMORY_LIMIT (bytes), e.g. to share a machine.
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
      return Status::resource("could not create a context for " + std::to_string(nSeq) + " sequences of " + std::to_string(perSeq) +
                              " tokens (" + why + ")");
    }
  }
  takeLastLlamaErrors();
  const auto created = std::chrono::steady_clock::now();
  ctx_.reset(llama_init_from_model(model_->get(), cp));
  if (tracePrefill())
    std::fprintf(stderr, "moodaxis context: %d sequences of %u tokens, created in %.1f ms\n", nSeq, perSeq,
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - created).count());
  if (!ctx_) {
    backendChains_.clear();
    deviceTopK_.reset();
    std::string why = takeLastLlamaErrors();
    return Status::resource("could not create a context for " + std::to_string(nSeq) + " sequences of " + std::to_string(perSeq) +
                            " tokens (" + (why.empty() ? "allocation failed" : why) + ")");
  }
  if (threadpool_) llama_attach_threadpool(ctx_.get(), static_cast<ggml_threadpool_t>(threadpool_), static_cast<ggml_threadpool_t>(threadpool_));
  ctxSeq_ = nSeq;
  ctxPerSeq_ = static_cast<int>(llama_n_ctx_seq(ctx_.get()));
  ctxBytes_ = kvBytes;
  ctxFlash_ = opts.flashAttn;
  ctxF32_ = opts.f32Cache;
  ctxBackendSampling_ = opts.backendSampling;
  ctxCapture_ = !opts.capture.layers.empty();
  ctxTap_ = needsGraphTap(opts);
  return {};
}

Status Context::runGenerate(std::vector<GenRequest>& reqs, const GenOptions& opts, std::vector<GenResult>& out,
                            GenStats& stats, const ProgressFn& progress) {
  const int n = static_cast<int>(reqs.size());
  out.assign(n, GenResult());
  if (n == 0) return {};
  int need = 1;
  Status err = prepareRequests(*model_, reqs, opts, need);
  if (!err.ok()) return err;

  const int nEmbd = llama_model_n_embd(model_->get());
  const bool reuse = opts.reuseCache && sharesPrefixes(*model_, opts);
  int nSeq = 0;
  err = reuse ? ensureRetainingContext(n, need, opts, nSeq) : ensureContext(nSeq = std::max(1, std::min(opts.parallel, n)), need, opts);
  if (!err.ok()) return err;
  capture_.configure(opts.capture, nEmbd, llama_model_n_layer(model_->get()), nSeq);
  if (!setControlVector(opts.controlVector, opts.cvecStart, opts.cvecEnd))
    return Status::badInput("the control vector does not fit this model: " + takeLastLlamaErrors());
  // What the sequences hold is kept only for a call that reuses it, under the same control vector.
  if (!reuse || !held_.holdsFor(nSeq, opts.controlVector, opts.cvecStart, opts.cvecEnd)) clearMemory(nSeq, opts);
  stats = GenStats();
  // Host sampling of many large-vocabulary rows (and folding the captured columns) is worth a few
  // threads; on a CPU backend they would compete with llama.cpp's own threads for the cores.
  if (!pool_ && !model_->cpuOnly) {
    const int hw = static_cast<int>(std::thread::hardware_concurrency());
    pool_ = std::make_unique<WorkerPool>(std::clamp(hw / 2, 0, 7));
    capture_.setPool(pool_.get());
  }
  const RunTarget target{ctx_.get(), *model_, capture_, pool_.get(), backendChains_, deviceTopK_.get(),
                         deviceTopK_ && !ctxTap_, cancel_, stats, held_};
  GenerationRun run(target, reqs, opts, nSeq, out, progress);
  Status status = run.run();
  // A failed or cancelled decode may leave part of a batch in the cache: nothing is trusted after it.
  if (!status.ok()) clearMemory(nSeq, opts);
  return status;
}

// With reuse, one sequence per request (as many as llama.cpp allows), so that each conversation keeps its
// own: a context that has that many already, with room, is kept with what it holds. A new one gets room for
// four times the tokens needed (conversations grow, and a new context forgets everything); when memory
// refuses, less room, then `parallel` sequences.
Status Context::ensureRetainingContext(int n, int need, const GenOptions& opts, int& nSeq) {
  const int inFlight = std::max(1, std::min(opts.parallel, n));
  const int wanted = std::max(inFlight, std::min(n, static_cast<int>(llama_max_parallel_sequences())));
  if (ctx_ && ctxSeq_ >= wanted && contextFits(ctxSeq_, need, opts)) {
    nSeq = ctxSeq_;
    return {};
  }
  const int limit = contextLimit(*model_, opts);
  auto room = [&](int times) { return std::max(need, std::min(limit, times * need)); };
  const std::pair<int, int> tries[] = {{wanted, room(4)}, {wanted, room(2)}, {wanted, need}, {inFlight, room(4)}, {inFlight, need}};
  Status status;
  for (const auto& [seqs, tokens] : tries) {
    status = ensureContext(seqs, tokens, opts);
    if (status.ok()) {
      nSeq = seqs;
      break;
    }
  }
  return status;
}

void Context::clearMemory(int nSeq, const GenOptions& opts) {
  llama_memory_clear(llama_get_memory(ctx_.get()), true);
  held_.reset(nSeq, opts.controlVector, opts.cvecStart, opts.cvecEnd);
}

Status Context::runForward(const std::vector<llama_token>& tokens, const std::vector<int32_t>& layers, std::vector<std::vector<float>>& states) {
  const int nLayer = llama_model_n_layer(model_->get());
  for (int32_t block : layers)
    if (block < 0 || block >= nLayer) return Status::badInput("layer " + std::to_string(block) + " does not exist");
  if (tokens.empty()) return Status::badInput("no tokens to run");
  CaptureConfig watched;
  for (int32_t block : layers) watched.layers.push_back(WatchedLayer{block, false, 0.0f});
  capture_.configure(watched, llama_model_n_embd(model_->get()), nLayer, 1);
  const int nTokens = static_cast<int>(tokens.size());
  GenOptions opts;
  opts.f32Cache = true;
  opts.capture.layers.resize(1);  // a context with the graph callback installed
  Status err = ensureContext(1, nTokens + 1, opts);
  if (!err.ok()) return err;
  const int32_t nVocab = llama_vocab_n_tokens(model_->vocab());
  for (llama_token t : tokens)
    if (t < 0 || t >= nVocab) return Status::badInput("token id " + std::to_string(t) + " is outside the vocabulary (0.." + std::to_string(nVocab - 1) + ")");
  setControlVector({}, 0, 0);
  clearMemory(1, opts);
  const int batchCap = static_cast<int>(llama_n_batch(ctx_.get()));
  OwnedBatch owned(batchCap);
  llama_batch& batch = owned.batch;
  capture_.beginRawDecode(nTokens);
  for (int start = 0; start < nTokens && err.ok(); start += batchCap) {
    batch.n_tokens = 0;
    for (int p = start; p < std::min(nTokens, start + batchCap); p++) {
      const int i = batch.n_tokens++;
      batch.token[i] = tokens[p];
      batch.pos[i] = p;
      batch.n_seq_id[i] = 1;
      batch.seq_id[i][0] = 0;
      batch.logits[i] = true;  // every token an output: the last block keeps all columns
    }
    err = cancel_ ? Status::cancelled("the context was disposed") : decodeStatus(llama_decode(ctx_.get(), batch));
    if (!capture_.error().empty()) err = Status::native(capture_.error());
  }
  capture_.endDecode();
  states = capture_.raw();
  return err;
}

namespace {

// generate's first argument: [{ text, addSpecial, parseSpecial, maxTokens, seed, startInThink, tokens?, forced? }]
std::vector<GenRequest> parseRequests(const Napi::Value& value) {
  if (!value.IsArray()) throw BadArgument("generate requests must be an array");
  Napi::Array reqs = value.As<Napi::Array>();
  std::vector<GenRequest> out;
  for (uint32_t i = 0; i < reqs.Length(); i++) {
    const Fields r(reqs.Get(i), "generate requests[" + std::to_string(i) + "]");
    GenRequest g;
    g.text = r.string("text");
    g.addSpecial = r.boolean("addSpecial");
    g.parseSpecial = r.boolean("parseSpecial");
    g.maxTokens = r.int32("maxTokens");
    g.seed = r.uint32("seed");
    g.startInThink = r.boolean("startInThink");
    if ((g.hasGiven = r.has("tokens"))) g.given = r.int32Array("tokens");
    if ((g.hasForced = r.has("forced"))) g.forced = r.int32Array("forced");
    out.push_back(std::move(g));
  }
  return out;
}

// capture: null (nothing captured) or { layers: [{ block, finalNorm, weight }], tokenDecay, compat }
CaptureConfig parseCapture(const Fields& o) {
  CaptureConfig c;
  if (o.isNull("capture")) return c;
  const Fields cap = o.object("capture");
  c.tokenDecay = static_cast<float>(cap.number("tokenDecay"));
  c.compat = cap.boolean("compat");
  for (const Fields& l : cap.objects("layers")) {
    WatchedLayer w;
    w.block = l.int32("block");
    w.finalNorm = l.boolean("finalNorm");
    w.weight = static_cast<float>(l.number("weight"));
    c.layers.push_back(w);
  }
  return c;
}

// generate's second argument: every sampling, batching and capture setting (see GenOptions).
GenOptions parseOptions(const Napi::Value& value) {
  const Fields o(value, "generate options");
  GenOptions opts;
  opts.temperature = static_cast<float>(o.number("temperature"));
  opts.topK = o.int32("topK");
  opts.topP = static_cast<float>(o.number("topP"));
  opts.ignoreEos = o.boolean("ignoreEos");
  opts.thinkBudget = o.int32("thinkBudget");
  opts.thinkClose = o.int32("thinkClose");
  if (o.has("allowedTokens")) opts.allowedTokens = o.int32Array("allowedTokens");
  opts.parallel = o.int32("parallel");
  if (opts.parallel < 1) throw BadArgument("generate options.parallel must be at least 1");
  opts.contextLimit = o.int32("contextLimit");
  opts.flashAttn = o.boolean("flashAttn");
  opts.f32Cache = o.boolean("f32Cache");
  opts.backendSampling = o.boolean("backendSampling");
  opts.deviceTopK = o.boolean("deviceTopK");
  // The device keeps k candidates per row: only a plain top-k draw over the whole vocabulary can use them.
  if (opts.deviceTopK && (opts.topK <= 0 || !opts.allowedTokens.empty() || opts.backendSampling))
    throw BadArgument("generate options.deviceTopK needs topK > 0, no allowedTokens and no backendSampling");
  opts.solo = o.boolean("solo");
  opts.compactTail = o.boolean("compactTail");
  opts.evalCostTokens = o.int32("evalCostTokens");
  opts.copyCostTokens = o.int32("copyCostTokens");
  if (opts.evalCostTokens < 0 || opts.copyCostTokens < 0) throw BadArgument("generate options.evalCostTokens and copyCostTokens must not be negative");
  opts.batchTokens = o.int32("batchTokens");
  if (opts.batchTokens < 1 || opts.batchTokens > 65536) throw BadArgument("generate options.batchTokens must be between 1 and 65536");
  opts.stream = o.boolean("stream");
  opts.reuseCache = o.boolean("reuseCache");
  opts.capture = parseCapture(o);
  if (o.has("controlVector")) {
    opts.controlVector = o.float32Array("controlVector");
    opts.cvecStart = o.int32("cvecStart");
    opts.cvecEnd = o.int32("cvecEnd");
  }
  return opts;
}

}  // namespace

// JS thread: the job owns a thread-safe function (progress and the hand-back) and keeps this object alive
// until it settles.
Napi::Promise Context::start(Napi::Env env, std::unique_ptr<Job> job, const char* name, Napi::Function onProgress) {
  if (onProgress.IsEmpty()) onProgress = Napi::Function::New(env, [](const Napi::CallbackInfo&) {});
  job->tsfn = Napi::ThreadSafeFunction::New(env, onProgress, name, 0, 1);
  Napi::Promise promise = job->deferred.Promise();
  Ref();
  Job* running = job.release();
  post([this, running] {
    work(running);
    deliver(running);
  });
  return promise;
}

// Owner thread: the job's work; an exception escaping llama.cpp becomes its NATIVE status (one escaping
// this thread would abort the process).
void Context::work(Job* job) {
  auto guarded = [job](const std::function<Status()>& run) {
    try {
      job->status = run();
    } catch (const std::exception& e) {
      job->status = Status::native(std::string("llama.cpp failed: ") + e.what());
    } catch (...) {
      job->status = Status::native("llama.cpp failed with an unknown exception");
    }
  };
  switch (job->kind) {
    case JobKind::Generate: {
      ProgressFn report = [job](const Progress& p) {
        auto* copy = new Progress(p);
        const napi_status status = job->tsfn.NonBlockingCall(copy, [](Napi::Env env, Napi::Function fn, Progress* p) {
          try {
            progressArguments(env, fn, *p);
          } catch (const Napi::Error&) {
            // A failing progress callback must not stop the generation.
          }
          delete p;
        });
        if (status != napi_ok) delete copy;  // the environment is going away: nobody to tell
      };
      guarded([&] { return runGenerate(job->requests, job->options, job->results, job->stats, report); });
      break;
    }
    case JobKind::Forward:
      guarded([&] { return runForward(job->forwardTokens, job->forwardLayers, job->states); });
      break;
    case JobKind::Dispose: {
      freeContext();
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      break;
    }
  }
}

void Context::deliver(Job* job) {
  job->contextBytes = ctxBytes_;
  const napi_status status = job->tsfn.BlockingCall(job, [this](Napi::Env env, Napi::Function, Job* job) { settle(env, job); });
  if (status != napi_ok) {
    // The environment is shutting down (a worker thread ending): no JS is left to settle the promise.
    job->tsfn.Release();
    delete job;
  }
}

void Context::settle(Napi::Env env, Job* job) {
  if (job->kind == JobKind::Dispose && thread_.joinable()) thread_.join();
  const auto bytes = static_cast<int64_t>(job->contextBytes);
  if (bytes != reportedBytes_) Napi::MemoryManagement::AdjustExternalMemory(env, bytes - reportedBytes_);
  reportedBytes_ = bytes;
  if (job->kind == JobKind::Generate) lastStats_ = job->stats;
  try {
    if (!job->status.ok()) {
      job->deferred.Reject(jsError(env, job->status).Value());
    } else if (job->kind == JobKind::Generate) {
      Napi::Array arr = Napi::Array::New(env, job->results.size());
      for (size_t i = 0; i < job->results.size(); i++) arr.Set(i, resultObject(env, job->results[i]));
      job->deferred.Resolve(arr);
    } else if (job->kind == JobKind::Forward) {
      Napi::Array arr = Napi::Array::New(env, job->states.size());
      for (size_t i = 0; i < job->states.size(); i++) arr.Set(i, toFloat32(env, job->states[i]));
      job->deferred.Resolve(arr);
    } else {
      job->deferred.Resolve(env.Undefined());
    }
  } catch (const Napi::Error& e) {  // e.g. no memory left for the result arrays
    job->deferred.Reject(e.Value());
  }
  job->tsfn.Release();
  Unref();
  delete job;
}

// A call's arguments parsed into a new job, which is queued; a refusal (BAD_INPUT) or a disposed context
// (CANCELLED) rejects the promise instead.
Napi::Value Context::parseAndStart(Napi::Env env, JobKind kind, const char* name, Napi::Function onProgress,
                                   const std::function<void(Job&)>& parse) {
  if (disposed_) return rejectedPromise(env, Status::cancelled("the context has been disposed"));
  auto job = std::make_unique<Job>(env, kind);
  try {
    parse(*job);
  } catch (const std::exception& e) {  // BadArgument, or a Napi::Error reading a value
    return rejectedPromise(env, Status::badInput(e.what()));
  }
  return start(env, std::move(job), name, onProgress);
}

// generate(requests, options, onProgress?) -> Promise<results>
Napi::Value Context::Generate(const Napi::CallbackInfo& info) {
  Napi::Function onProgress = info.Length() > 2 && info[2].IsFunction() ? info[2].As<Napi::Function>() : Napi::Function();
  return parseAndStart(info.Env(), JobKind::Generate, "moodaxis.generate", onProgress, [&](Job& job) {
    job.requests = parseRequests(info[0]);
    job.options = parseOptions(info[1]);
  });
}

// stats() -> timing of the last generate call that ended
Napi::Value Context::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const GenStats& s = lastStats_;
  Napi::Object o = Napi::Object::New(env);
  o.Set("prefillMs", s.prefillMs);
  o.Set("stepMs", s.stepMs);
  o.Set("steps", static_cast<double>(s.steps));
  o.Set("prefillTokens", static_cast<double>(s.prefillTokens));
  o.Set("stepTokens", static_cast<double>(s.stepTokens));
  o.Set("decodeMs", s.decodeMs);
  o.Set("waitMs", s.waitMs);
  o.Set("sampleMs", s.sampleMs);
  o.Set("captureMs", s.captureMs);
  o.Set("sharedTokens", static_cast<double>(s.sharedTokens));
  o.Set("uniquePromptTokens", static_cast<double>(s.uniquePromptTokens));
  o.Set("computedPromptTokens", static_cast<double>(s.computedPromptTokens));
  o.Set("prefillDecodes", static_cast<double>(s.prefillDecodes));
  o.Set("prefillUbatches", static_cast<double>(s.prefillUbatches));
  o.Set("stepUbatches", static_cast<double>(s.stepUbatches));
  o.Set("movedSequences", static_cast<double>(s.movedSequences));
  o.Set("streamCopies", static_cast<double>(s.streamCopies));
  return o;
}

// forward(tokens: Int32Array, layers: number[]) -> Promise<Float32Array[]> (per layer, tokens x nEmbd)
Napi::Value Context::Forward(const Napi::CallbackInfo& info) {
  return parseAndStart(info.Env(), JobKind::Forward, "moodaxis.forward", Napi::Function(), [&](Job& job) {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw BadArgument("forward tokens must be an Int32Array");
    auto tokens = info[0].As<Napi::Int32Array>();
    job.forwardTokens.assign(tokens.Data(), tokens.Data() + tokens.ElementLength());
    job.forwardLayers = int32ArrayArgument(info[1], "forward layers");
  });
}

// dispose() -> Promise<void>: cancels a running job between steps, frees the context, ends the thread.
Napi::Value Context::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  disposed_ = true;
  cancel_ = true;
  return start(env, std::make_unique<Job>(env, JobKind::Dispose), "moodaxis.dispose", Napi::Function());
}

}  // namespace moodaxis
