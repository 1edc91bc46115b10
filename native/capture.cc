#include "capture.h"

#include <algorithm>
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
  acc_.assign(nSlots, std::vector<float>((nWatch + 1) * nEmbd, 0.0f));
  last_.assign(nSlots, std::vector<size_t>(nWatch + 1, 0));
  normSum_.assign(nSlots, std::vector<double>(nWatch, 0.0));
  decayMass_.assign(nSlots, 0.0);
  kept_.assign(nSlots, 0);
  offsetAll_.assign(nWatch, 0);
  offsetOut_.assign(nWatch, 0);
  error_.clear();
}

void Capture::resetSlot(int slot) {
  std::fill(acc_[slot].begin(), acc_[slot].end(), 0.0f);
  std::fill(last_[slot].begin(), last_[slot].end(), 0);
  std::fill(normSum_[slot].begin(), normSum_[slot].end(), 0.0);
  decayMass_[slot] = 0.0;
  kept_[slot] = 0;
}

void Capture::moveSlot(int from, int to) {
  acc_[to].swap(acc_[from]);
  last_[to].swap(last_[from]);
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
  posAll_.assign(all_.size(), 0);
  for (size_t i = 0; i < all_.size(); i++) {
    const int slot = all_[i].slot;
    if (slot < 0) continue;
    if (seen_[slot]++) distinctSlots_ = false;
    any = true;
    // Every watched layer will fold this position in: advance the token-weight mass once per position.
    decayMass_[slot] = config_.tokenDecay * decayMass_[slot] + 1.0;
    posAll_[i] = ++kept_[slot];
  }
  // an output column is its slot's last kept one of this decode (a slot has one output per decode)
  posOut_.assign(outputs_.size(), 0);
  for (size_t i = 0; i < outputs_.size(); i++)
    if (outputs_[i].slot >= 0) posOut_[i] = kept_[outputs_[i].slot];
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
    const bool pruned = prunedLayer(w);
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

void Capture::consumeKept(const std::vector<struct ggml_tensor*>& tensors, struct ggml_tensor* sum, struct ggml_tensor* squares) {
  if (!active_) return;
  const auto t0 = std::chrono::steady_clock::now();
  if (squares && !rawMode_) {
    consumeSums(sum, squares);
  } else {
    for (size_t w = 0; w < config_.layers.size() && error_.empty(); w++) {
      if (w < tensors.size() && tensors[w]) consume(static_cast<int>(w), tensors[w]);  // (absent: nothing to read)
    }
  }
  elapsedMs_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

float Capture::decayPower(size_t n) const {
  if (n == 1) return config_.tokenDecay;  // (the steps' case: the arithmetic of a plain decayed sum)
  return n == 0 ? 1.0f : std::pow(config_.tokenDecay, static_cast<float>(n));
}

void Capture::fold(int slot, size_t row, size_t pos, const float* h) {
  float* a = acc_[slot].data() + row * nEmbd_;
  const float decay = decayPower(pos - last_[slot][row]);
  for (int i = 0; i < nEmbd_; i++) a[i] = decay * a[i] + h[i];
  last_[slot][row] = pos;
}

// The graph's weighted sum over the watched layers [nEmbd, cols] and their squared norms [layers, cols], of
// columns that every watched layer has (all columns, or the outputs when the layers are the pruned ones).
void Capture::consumeSums(struct ggml_tensor* sum, struct ggml_tensor* squares) {
  const size_t nWatch = config_.layers.size();
  const size_t nCols = static_cast<size_t>(squares->ne[1]);
  if (squares->type != GGML_TYPE_F32 || static_cast<size_t>(squares->ne[0]) != nWatch || (sum && (sum->type != GGML_TYPE_F32 || sum->ne[0] != nEmbd_ || static_cast<size_t>(sum->ne[1]) != nCols))) {
    error_ = "capture: the graph's sums of the watched layers have an unexpected shape";
    return;
  }
  const bool pruned = prunedLayer(0);
  const std::vector<ColumnRef>& refs = pruned ? outputs_ : all_;
  const std::vector<size_t>& positions = pruned ? posOut_ : posAll_;
  const size_t first = pruned ? offsetOut_[0] : offsetAll_[0];
  if (first + nCols > refs.size()) {
    error_ = "capture: the graph's sums have more columns than this batch";
    return;
  }
  squares_.resize(nCols * nWatch);
  ggml_backend_tensor_get(squares, squares_.data(), 0, squares_.size() * sizeof(float));
  const float* cols = sum ? hostColumns(sum, nCols) : nullptr;
  if (sum && !cols) return;
  auto foldColumn = [&](int j) {
    const int slot = refs[first + j].slot;
    if (slot < 0) return;
    if (cols) fold(slot, nWatch, positions[first + j], cols + static_cast<size_t>(j) * nEmbd_);
    for (size_t w = 0; w < nWatch; w++) normSum_[slot][w] += std::sqrt(static_cast<double>(squares_[j * nWatch + w]));
  };
  if (pool_ && distinctSlots_ && nCols * nEmbd_ >= (1u << 16)) pool_->run(static_cast<int>(nCols), foldColumn);
  else for (size_t j = 0; j < nCols; j++) foldColumn(static_cast<int>(j));
  // every watched layer handed over these columns
  for (size_t w = 0; w < nWatch; w++) (prunedLayer(w) ? offsetOut_ : offsetAll_)[w] += nCols;
}

void Capture::consume(int w, struct ggml_tensor* t) {
  if (t->type != GGML_TYPE_F32 || t->ne[0] != nEmbd_) {
    char msg[160];
    snprintf(msg, sizeof(msg), "capture: tensor %s has type %s and %lld rows, expected f32 with %d", t->name,
             ggml_type_name(t->type), static_cast<long long>(t->ne[0]), nEmbd_);
    error_ = msg;
    return;
  }
  const size_t nCols = static_cast<size_t>(t->ne[1]);
  if (rawMode_) {
    const float* cols = hostColumns(t, nCols);
    if (!cols) return;
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

  const bool pruned = prunedLayer(w);
  const std::vector<ColumnRef>& refs = pruned ? outputs_ : all_;
  size_t& off = pruned ? offsetOut_[w] : offsetAll_[w];
  if (off + nCols > refs.size()) {
    char msg[200];
    snprintf(msg, sizeof(msg), "capture: %s has %zu columns past the %zu expected in this batch", t->name, off + nCols,
             refs.size());
    error_ = msg;
    return;
  }
  // columns no sequence keeps (a prompt's, outside compat mode) are not read off the device at all
  if (std::none_of(refs.begin() + off, refs.begin() + off + nCols, [](const ColumnRef& r) { return r.slot >= 0; })) {
    off += nCols;
    return;
  }
  const float* cols = hostColumns(t, nCols);
  if (!cols) return;
  const std::vector<size_t>& positions = pruned ? posOut_ : posAll_;
  const size_t first = off;
  auto foldColumn = [&](int j) {
    const int slot = refs[first + j].slot;
    if (slot < 0) return;
    const float* h = cols + static_cast<size_t>(j) * nEmbd_;
    fold(slot, static_cast<size_t>(w), positions[first + j], h);
    double sq = 0.0;
    for (int i = 0; i < nEmbd_; i++) sq += static_cast<double>(h[i]) * h[i];
    normSum_[slot][w] += std::sqrt(sq);
  };
  // Columns of distinct sequences touch disjoint accumulators: a step's columns can be folded in parallel.
  if (pool_ && distinctSlots_ && nCols * nEmbd_ >= (1u << 16)) pool_->run(static_cast<int>(nCols), foldColumn);
  else for (size_t j = 0; j < nCols; j++) foldColumn(static_cast<int>(j));
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
  const size_t nWatch = config_.layers.size();
  // each accumulator row as of the last position (decay^0 = 1 for a row folded at it)
  auto add = [&](size_t row, double weight) {
    if (weight == 0.0 || last_[slot][row] == 0) return;
    const double a = weight * std::pow(static_cast<double>(config_.tokenDecay), static_cast<double>(n - last_[slot][row]));
    const float* acc = acc_[slot].data() + row * nEmbd_;
    for (int i = 0; i < nEmbd_; i++) sum[i] += a * acc[i] / mass;
  };
  for (size_t w = 0; w < nWatch; w++) {
    norms[w] = static_cast<float>(normSum_[slot][w] / n);
    add(w, config_.layers[w].weight);
  }
  add(nWatch, 1.0);  // the graph's sums carry the layer weights already
  for (int i = 0; i < nEmbd_; i++) vector[i] = static_cast<float>(sum[i]);
}

}  // namespace moodaxis
