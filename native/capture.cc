#include "capture.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "ggml-backend.h"

namespace moodaxis {

std::string watchedTensorName(const WatchedLayer& layer) {
  return layer.finalNorm ? "result_norm" : "l_out-" + std::to_string(layer.block);
}

Capture::~Capture() {
  if (staging_) ggml_backend_buffer_free(staging_);
}

void Capture::configure(const CaptureConfig& config, int nEmbd, int nLayerModel, int nSlots) {
  config_ = config;
  nEmbd_ = nEmbd;
  nLayerModel_ = nLayerModel;
  const size_t nWatch = config_.layers.size();
  acc_.assign(nSlots, std::vector<float>(nWatch * nEmbd, 0.0f));
  normSum_.assign(nSlots, std::vector<double>(nWatch, 0.0));
  decayMass_.assign(nSlots, 0.0);
  kept_.assign(nSlots, 0);
  offsetAll_.assign(nWatch, 0);
  offsetOut_.assign(nWatch, 0);
  error_.clear();
}

void Capture::resetSlot(int slot) {
  std::fill(acc_[slot].begin(), acc_[slot].end(), 0.0f);
  std::fill(normSum_[slot].begin(), normSum_[slot].end(), 0.0);
  decayMass_[slot] = 0.0;
  kept_[slot] = 0;
}

void Capture::moveSlot(int from, int to) {
  acc_[to].swap(acc_[from]);
  normSum_[to].swap(normSum_[from]);
  decayMass_[to] = decayMass_[from];
  kept_[to] = kept_[from];
  resetSlot(from);
}

void Capture::beginDecode(std::vector<ColumnRef> all, std::vector<ColumnRef> outputs) {
  all_ = std::move(all);
  outputs_ = std::move(outputs);
  std::fill(offsetAll_.begin(), offsetAll_.end(), 0);
  std::fill(offsetOut_.begin(), offsetOut_.end(), 0);
  rawMode_ = false;
  bool any = false;
  seen_.assign(acc_.size(), 0);
  distinctSlots_ = true;
  for (const auto& c : all_) {
    if (c.slot < 0) continue;
    if (seen_[c.slot]++) distinctSlots_ = false;
    any = true;
    // Every watched layer will fold this position in: advance the token-weight mass once per position.
    decayMass_[c.slot] = config_.tokenDecay * decayMass_[c.slot] + 1.0;
    kept_[c.slot]++;
  }
  active_ = enabled() && any;
}

void Capture::beginRawDecode(int nTokens) {
  rawMode_ = true;
  active_ = enabled();
  raw_.assign(config_.layers.size(), std::vector<float>(static_cast<size_t>(nTokens) * nEmbd_, 0.0f));
  std::fill(offsetAll_.begin(), offsetAll_.end(), 0);
}

void Capture::endDecode() { active_ = false; }

bool Capture::readAllColumns() const {
  if (!active_ || rawMode_) return true;
  for (size_t w = 0; w < config_.layers.size(); w++) {
    const bool pruned = config_.layers[w].finalNorm || config_.layers[w].block == nLayerModel_ - 1;
    if ((pruned ? offsetOut_[w] : offsetAll_[w]) != (pruned ? outputs_ : all_).size()) return false;
  }
  return true;
}

int Capture::watchIndex(const char* name) const {
  if (std::strcmp(name, "result_norm") == 0) {
    for (size_t w = 0; w < config_.layers.size(); w++)
      if (config_.layers[w].finalNorm) return static_cast<int>(w);
    return -1;
  }
  if (std::strncmp(name, "l_out-", 6) != 0) return -1;
  char* end = nullptr;
  long il = std::strtol(name + 6, &end, 10);
  if (end == name + 6 || *end != '\0') return -1;
  for (size_t w = 0; w < config_.layers.size(); w++)
    if (!config_.layers[w].finalNorm && config_.layers[w].block == il) return static_cast<int>(w);
  return -1;
}

bool Capture::evalCallback(struct ggml_tensor* t, bool ask, void* userData) {
  auto* self = static_cast<Capture*>(userData);
  if (!self->active_) return !ask;  // ask: not wanted; observe: continue the graph
  int w = self->watchIndex(t->name);
  if (ask) return w >= 0;
  if (w >= 0) {
    const auto t0 = std::chrono::steady_clock::now();
    self->consume(w, t);
    self->elapsedMs_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  return true;
}

void Capture::consumeKept(const std::vector<struct ggml_tensor*>& tensors) {
  if (!active_) return;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t w = 0; w < config_.layers.size() && error_.empty(); w++) {
    if (w < tensors.size() && tensors[w]) consume(static_cast<int>(w), tensors[w]);  // (absent: nothing to read)
  }
  elapsedMs_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void Capture::consume(int w, struct ggml_tensor* t) {
  if (t->type != GGML_TYPE_F32 || t->ne[0] != nEmbd_) {
    char msg[160];
    snprintf(msg, sizeof(msg), "capture: tensor %s has type %s and %lld rows, expected f32 with %d", t->name,
             ggml_type_name(t->type), static_cast<long long>(t->ne[0]), nEmbd_);
    error_ = msg;
    return;
  }
  const WatchedLayer& layer = config_.layers[w];
  // The last block (and the final norm) are computed for output rows only.
  const bool pruned = layer.finalNorm || layer.block == nLayerModel_ - 1;
  const size_t nCols = static_cast<size_t>(t->ne[1]);
  const float* cols = hostColumns(t, nCols);
  if (!cols) return;

  if (rawMode_) {
    size_t& off = offsetAll_[w];
    auto& dst = raw_[w];
    if ((off + nCols) * nEmbd_ > dst.size()) {
      error_ = "capture: more columns than tokens in verification mode";
      return;
    }
    std::memcpy(dst.data() + off * nEmbd_, cols, nCols * nEmbd_ * sizeof(float));
    off += nCols;
    return;
  }

  const std::vector<ColumnRef>& refs = pruned ? outputs_ : all_;
  size_t& off = pruned ? offsetOut_[w] : offsetAll_[w];
  if (off + nCols > refs.size()) {
    char msg[200];
    snprintf(msg, sizeof(msg), "capture: %s has %zu columns past the %zu expected in this batch", t->name, off + nCols,
             refs.size());
    error_ = msg;
    return;
  }
  const float decay = config_.tokenDecay;
  const size_t first = off;
  auto fold = [&](int j) {
    const int slot = refs[first + j].slot;
    if (slot < 0) return;
    const float* h = cols + static_cast<size_t>(j) * nEmbd_;
    float* a = acc_[slot].data() + static_cast<size_t>(w) * nEmbd_;
    double sq = 0.0;
    for (int i = 0; i < nEmbd_; i++) {
      a[i] = decay * a[i] + h[i];
      sq += static_cast<double>(h[i]) * h[i];
    }
    normSum_[slot][w] += std::sqrt(sq);
  };
  // Columns of distinct sequences touch disjoint accumulators: a step's columns can be folded in parallel.
  if (pool_ && distinctSlots_ && nCols * nEmbd_ >= (1u << 16)) pool_->run(static_cast<int>(nCols), fold);
  else for (size_t j = 0; j < nCols; j++) fold(static_cast<int>(j));
  off += nCols;
}

const float* Capture::hostColumns(struct ggml_tensor* t, size_t nCols) {
  const size_t rowBytes = nEmbd_ * sizeof(float);
  const size_t stride = t->nb[1];
  if (t->buffer && ggml_backend_buffer_is_host(t->buffer) && (stride == rowBytes || nCols == 1))
    return static_cast<const float*>(t->data);
  const size_t bytes = nCols * rowBytes;
  float* dst = nullptr;
  ggml_backend_buffer_type_t deviceType = t->buffer ? ggml_backend_buffer_get_type(t->buffer) : nullptr;
  ggml_backend_dev_t dev = deviceType ? ggml_backend_buft_get_device(deviceType) : nullptr;
  ggml_backend_buffer_type_t hostType = dev ? ggml_backend_dev_host_buffer_type(dev) : nullptr;
  if (hostType) {
    if (!staging_ || stagingFor_ != deviceType || ggml_backend_buffer_get_size(staging_) < bytes) {
      if (staging_) ggml_backend_buffer_free(staging_);
      staging_ = ggml_backend_buft_alloc_buffer(hostType, std::max<size_t>(bytes, 64 * rowBytes));
      stagingFor_ = deviceType;
    }
    if (staging_) dst = static_cast<float*>(ggml_backend_buffer_get_base(staging_));
  }
  if (!dst) {
    scratch_.resize(nCols * nEmbd_);
    dst = scratch_.data();
  }
  if (stride == rowBytes) {
    ggml_backend_tensor_get(t, dst, 0, bytes);
  } else {
    for (size_t j = 0; j < nCols; j++) ggml_backend_tensor_get(t, dst + j * nEmbd_, j * stride, rowBytes);
  }
  return dst;
}

void Capture::finishSlot(int slot, std::vector<float>& vector, std::vector<float>& norms) const {
  vector.assign(nEmbd_, 0.0f);
  norms.assign(config_.layers.size(), 0.0f);
  const double mass = decayMass_[slot];
  const size_t n = kept_[slot];
  if (n == 0 || mass <= 0.0) return;
  std::vector<double> sum(nEmbd_, 0.0);
  for (size_t w = 0; w < config_.layers.size(); w++) {
    const double a = config_.layers[w].weight;
    norms[w] = static_cast<float>(normSum_[slot][w] / n);
    if (a == 0.0) continue;
    const float* acc = acc_[slot].data() + w * nEmbd_;
    for (int i = 0; i < nEmbd_; i++) sum[i] += a * acc[i] / mass;
  }
  for (int i = 0; i < nEmbd_; i++) vector[i] = static_cast<float>(sum[i]);
}

}  // namespace moodaxis
