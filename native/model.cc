// Model loading (on a libuv worker: loading is I/O), vocabulary access and metadata.
#include "model.h"

#include <algorithm>
#include <atomic>
#include <cctype>

#include "args.h"
#include "rpc.h"

namespace moodaxis {

std::vector<llama_token> tokenize(const llama_vocab* vocab, const std::string& text, bool addSpecial, bool parseSpecial) {
  int32_t n = -llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), nullptr, 0, addSpecial, parseSpecial);
  std::vector<llama_token> tokens(std::max(n, 0));
  if (n > 0) {
    int32_t got = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(), n, addSpecial, parseSpecial);
    tokens.resize(std::max(got, 0));
  }
  return tokens;
}

std::string tokenPiece(const llama_vocab* vocab, llama_token token, bool special) {
  char buf[256];
  int32_t n = llama_token_to_piece(vocab, token, buf, sizeof(buf), 0, special);
  if (n >= 0) return std::string(buf, n);
  std::string big(-n, '\0');
  n = llama_token_to_piece(vocab, token, big.data(), static_cast<int32_t>(big.size()), 0, special);
  big.resize(std::max(n, 0));
  return big;
}

namespace {

bool mentionsAllocation(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text.find("alloc") != std::string::npos || text.find("out of memory") != std::string::npos;
}

std::string metaString(const llama_model* model, const char* key) {
  int32_t n = llama_model_meta_val_str(model, key, nullptr, 0);
  if (n < 0) return {};
  std::string value(n + 1, '\0');
  llama_model_meta_val_str(model, key, value.data(), value.size());
  value.resize(n);
  return value;
}

// Appends the registered devices whose type `wanted` accepts, in registry order.
void appendDevices(std::vector<ggml_backend_dev_t>& out, bool (*wanted)(enum ggml_backend_dev_type)) {
  for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    if (wanted(ggml_backend_dev_type(dev))) out.push_back(dev);
  }
}

bool isAccelerator(enum ggml_backend_dev_type type) { return type == GGML_BACKEND_DEVICE_TYPE_GPU || type == GGML_BACKEND_DEVICE_TYPE_IGPU; }
bool isCpu(enum ggml_backend_dev_type type) { return type == GGML_BACKEND_DEVICE_TYPE_CPU; }

class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, std::string path, const LoadParams& load)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)),
        load_(load) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    llama_model_params params = llama_model_default_params();
    params.n_gpu_layers = load_.gpuLayers;
    if (!load_.useMmap) params.load_mode = LLAMA_LOAD_MODE_NONE;
    params.vocab_only = load_.vocabOnly;
    if (load_.splitMode >= 0) params.split_mode = static_cast<llama_split_mode>(load_.splitMode);
    if (load_.mainGpu >= 0) params.main_gpu = load_.mainGpu;
    if (!load_.tensorSplit.empty()) {
      // llama.cpp reads llama_max_devices() entries: the rest stay 0 (devices without a share)
      load_.tensorSplit.resize(std::max(load_.tensorSplit.size(), llama_max_devices()), 0.0f);
      params.tensor_split = load_.tensorSplit.data();
    }
    if (!load_.rpc.empty()) {
      // The RPC servers' devices first (llama.cpp's own order: fewer transfers), then the local accelerators.
      std::string error;
      if (!rpcDevices(load_.rpc, devices_, error)) {
        status_ = Status::resource(error);
        SetError(error);
        return;
      }
      if (load_.localGpus) appendDevices(devices_, isAccelerator);
      devices_.push_back(nullptr);
      params.devices = devices_.data();
    } else if (load_.gpuLayers == 0) {
      // CPU only: list no accelerator device so that no GPU memory is touched at all.
      static ggml_backend_dev_t none[1] = {nullptr};
      devices_.clear();
      appendDevices(devices_, isCpu);
      devices_.push_back(nullptr);
      params.devices = devices_.size() > 1 ? devices_.data() : none;
    }
    takeLastLlamaErrors();
    model_.reset(llama_model_load_from_file(path_.c_str(), params));
    if (!model_) {
      const std::string why = takeLastLlamaErrors();
      const std::string message = "llama.cpp could not load the model" + (why.empty() ? std::string() : ": " + why);
      // llama.cpp returns no reason but logs it: a buffer it could not allocate is a lack of memory (of the
      // GPU, mostly); anything else is the file.
      status_ = mentionsAllocation(why) ? Status::resource(message) : Status::badInput(message);
      SetError(message);
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      Napi::Object obj = addonData(env).modelClass.New({Napi::External<llama_model>::New(env, model_.get()), Napi::Boolean::New(env, load_.gpuLayers == 0)});
      model_.release();  // the Model owns it now
      deferred_.Resolve(obj);
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& error) override {
    deferred_.Reject(status_.ok() ? error.Value() : jsError(Env(), status_).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  LoadParams load_;
  llama_model_ptr model_;  // freed here unless a Model took it
  Status status_;
  std::vector<ggml_backend_dev_t> devices_;  // params.devices when the load lists them
};

}  // namespace

Napi::Function Model::Init(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "Model",
                                  {
                                      StaticMethod("load", &Model::Load),
                                      InstanceMethod("info", &Model::Info),
                                      InstanceMethod("tokenize", &Model::Tokenize),
                                      InstanceMethod("detokenize", &Model::Detokenize),
                                      InstanceMethod("meta", &Model::Meta),
                                      InstanceMethod("dispose", &Model::Dispose),
                                  });
  addonData(env).modelClass = Napi::Persistent(fn);
  return fn;
}

Model::Model(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Model>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) throw jsError(env, Status::badInput("Model is created by Model.load(path, options)"));
  handle_ = std::make_shared<ModelHandle>(llama_model_ptr(info[0].As<Napi::External<llama_model>>().Data()));
  handle_->cpuOnly = info.Length() > 1 && info[1].ToBoolean();
  reportedBytes_ = static_cast<int64_t>(llama_model_size(handle_->get()));
  Napi::MemoryManagement::AdjustExternalMemory(env, reportedBytes_);
}

// Collected without dispose(): the memory it reported goes with it.
void Model::Finalize(Napi::Env env) {
  if (reportedBytes_) Napi::MemoryManagement::AdjustExternalMemory(env, -reportedBytes_);
  reportedBytes_ = 0;
}

// Model.load(path, { gpuLayers, useMmap, vocabOnly, splitMode, mainGpu, tensorSplit, rpc, localGpus }) -> Promise<Model>
// splitMode: 0 none, 1 layer, 2 row (-1 or absent: llama.cpp's default); mainGpu -1 or absent: its default;
// tensorSplit: one share per device (checked on the JS side); rpc: RPC servers ("host:port", checked to answer
// on the JS side: the RPC client aborts on a failed connection) with localGpus: whether local GPUs join them.
Napi::Value Model::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  LoadParams load;
  try {
    if (!info[0].IsString()) throw BadArgument("Model.load path must be a string");
    path = info[0].As<Napi::String>().Utf8Value();
    const Fields opts(info[1], "Model.load options");
    load.gpuLayers = opts.int32("gpuLayers");
    load.useMmap = opts.boolean("useMmap");
    if (opts.has("vocabOnly")) load.vocabOnly = opts.boolean("vocabOnly");
    if (opts.has("splitMode")) load.splitMode = opts.int32("splitMode");
    if (opts.has("mainGpu")) load.mainGpu = opts.int32("mainGpu");
    if (opts.has("tensorSplit")) load.tensorSplit = opts.float32Array("tensorSplit");
    if (opts.has("rpc")) {
      load.rpc = opts.strings("rpc");
      load.localGpus = opts.boolean("localGpus");
    }
  } catch (const std::exception& e) {
    return rejectedPromise(env, Status::badInput(e.what()));
  }
  if (load.splitMode < -1 || load.splitMode > LLAMA_SPLIT_MODE_ROW)
    return rejectedPromise(env, Status::badInput("Model.load options.splitMode must be 0 (none), 1 (layer) or 2 (row)"));
  if (load.mainGpu < -1) return rejectedPromise(env, Status::badInput("Model.load options.mainGpu must be a device index"));
  if (load.tensorSplit.size() > llama_max_devices())
    return rejectedPromise(env, Status::badInput("Model.load options.tensorSplit has more shares than llama.cpp has device slots"));
  auto* worker = new LoadWorker(env, path, load);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

std::shared_ptr<ModelHandle> Model::require(Napi::Env env) const {
  if (!handle_) throw jsError(env, Status::cancelled("the model has been disposed"));
  return handle_;
}

Napi::Value Model::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = require(env);
  const llama_model* m = h->get();
  const llama_vocab* vocab = h->vocab();
  Napi::Object out = Napi::Object::New(env);
  out.Set("architecture", metaString(m, "general.architecture"));
  out.Set("name", metaString(m, "general.name"));
  out.Set("layers", llama_model_n_layer(m));
  out.Set("hiddenSize", llama_model_n_embd(m));
  out.Set("contextTrain", llama_model_n_ctx_train(m));
  out.Set("vocabSize", llama_vocab_n_tokens(vocab));
  out.Set("sizeBytes", static_cast<double>(llama_model_size(m)));
  out.Set("parameters", static_cast<double>(llama_model_n_params(m)));
  char desc[256];
  llama_model_desc(m, desc, sizeof(desc));
  out.Set("description", desc);
  const char* tmpl = llama_model_chat_template(m, nullptr);
  out.Set("chatTemplate", tmpl ? Napi::Value(Napi::String::New(env, tmpl)) : env.Null());
  out.Set("bos", llama_vocab_bos(vocab));
  out.Set("eos", llama_vocab_eos(vocab));
  out.Set("addBos", llama_vocab_get_add_bos(vocab));
  llama_token bos = llama_vocab_bos(vocab);
  std::string bosText;
  try {
    if (bos >= 0) bosText = tokenPiece(vocab, bos, true);
  } catch (const std::exception&) {  // a BOS id outside a damaged vocabulary: no BOS text
  }
  out.Set("bosText", bosText);
  return out;
}

// tokenize(text, addSpecial, parseSpecial) -> Int32Array
Napi::Value Model::Tokenize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = require(env);
  if (!info[0].IsString() || !info[1].IsBoolean() || !info[2].IsBoolean())
    throw jsError(env, Status::badInput("tokenize(text: string, addSpecial: boolean, parseSpecial: boolean)"));
  const std::string text = info[0].As<Napi::String>().Utf8Value();
  const bool addSpecial = info[1].As<Napi::Boolean>();
  const bool parseSpecial = info[2].As<Napi::Boolean>();
  std::vector<llama_token> tokens;
  try {
    tokens = tokenize(h->vocab(), text, addSpecial, parseSpecial);
  } catch (const std::exception& e) {  // llama.cpp throws on a vocabulary that lacks fallback tokens
    throw jsError(env, Status::badInput(std::string("the model's tokenizer failed (") + e.what() + "): its vocabulary is damaged or incomplete"));
  }
  auto arr = Napi::Int32Array::New(env, tokens.size());
  std::copy(tokens.begin(), tokens.end(), arr.Data());
  return arr;
}

// detokenize(Int32Array, special) -> string
Napi::Value Model::Detokenize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = require(env);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || !info[1].IsBoolean())
    throw jsError(env, Status::badInput("detokenize(tokens: Int32Array, special: boolean)"));
  auto arr = info[0].As<Napi::Int32Array>();
  const bool special = info[1].As<Napi::Boolean>();
  std::string text;
  try {
    for (size_t i = 0; i < arr.ElementLength(); i++) text += tokenPiece(h->vocab(), arr[i], special);
  } catch (const std::exception& e) {
    throw jsError(env, Status::badInput(std::string("the model's tokenizer failed (") + e.what() + ")"));
  }
  return Napi::String::New(env, text);
}

Napi::Value Model::Meta(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = require(env);
  if (!info[0].IsString()) throw jsError(env, Status::badInput("meta(key: string)"));
  const std::string key = info[0].As<Napi::String>().Utf8Value();
  if (llama_model_meta_val_str(h->get(), key.c_str(), nullptr, 0) < 0) return env.Null();
  return Napi::String::New(env, metaString(h->get(), key.c_str()));
}

// The contexts made from the model keep it loaded until they end.
Napi::Value Model::Dispose(const Napi::CallbackInfo& info) {
  handle_.reset();
  Finalize(info.Env());
  return info.Env().Undefined();
}

}  // namespace moodaxis
