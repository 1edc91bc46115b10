// Hidden-state capture: the graph callback that reads `l_out-<il>` (and `result_norm` in compat mode)
// and folds each column straight into per-sequence accumulators. No per-token buffers are kept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common.h"
#include "ggml-backend.h"
#include "ggml.h"
#include "sampler.h"

namespace moodaxis {

// One tensor the capture watches.
struct WatchedLayer {
  int block = 0;           // llama.cpp block index il
  bool finalNorm = false;  // true: the `result_norm` tensor instead of `l_out-<block>`
  float weight = 0.0f;     // weight in the response vector (0: norms only)
};

struct CaptureConfig {
  std::vector<WatchedLayer> layers;
  float tokenDecay = 0.0f;  // weight of a position relative to the next one
  bool compat = false;      // mood-axis positions: last prompt token + fed generated tokens except the last
};

// Where each column of the current llama_decode goes.
struct ColumnRef {
  int32_t slot = -1;  // sequence slot, -1 when the column is not kept
};

// The graph tensor a watched layer reads: `l_out-<block>`, or `result_norm`.
std::string watchedTensorName(const WatchedLayer& layer);

class Capture {
 public:
  Capture() = default;
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  // Threads that fold a step's columns (one sequence per column) in parallel; null: the calling thread.
  void setPool(WorkerPool* pool) { pool_ = pool; }
  void configure(const CaptureConfig& config, int nEmbd, int nLayerModel, int nSlots);
  bool enabled() const { return !config_.layers.empty(); }

  // Which positions a response folds in, decided here for the prefill and the steps alike (by the
  // configuration, whether or not any layer is watched: the kept count is reported either way).
  // A prompt token: only the last one, and only in compat mode (the reference reads the state that
  // produced the first answer token).
  bool keepsPromptToken(bool lastOfPrompt) const { return config_.compat && lastOfPrompt; }
  // A generated token: every one in compat mode, else those outside <think> blocks (the tags included).
  bool keepsGeneratedToken(bool thinkRelated) const { return config_.compat || !thinkRelated; }
  // Whether the last generated token is fed at all: the reference never reads the state at it.
  bool feedsLastGenerated() const { return !config_.compat; }
  // Prompts whose kept column must come out in slot order: each slot's prompt in a decode of its own.
  bool promptPerDecode() const { return config_.compat; }

  // Before each llama_decode: the columns in batch order, and the output columns (logits=1) in batch order.
  void beginDecode(std::vector<ColumnRef> all, std::vector<ColumnRef> outputs);
  // Verification mode: record every column of the watched layers for one sequence (forward()).
  void beginRawDecode(int nTokens);
  void endDecode();
  // After a decode: whether every watched layer handed over all its columns (true when nothing was kept).
  bool readAllColumns() const;

  void resetSlot(int slot);
  // A sequence moved to another slot (GenerationRun::compact): its sums go with it; `from` is reset.
  void moveSlot(int from, int to);
  // Response vector H = sum_l a_l * sum_j w_j h_l(j) and the mean token norm per watched layer.
  void finishSlot(int slot, std::vector<float>& vector, std::vector<float>& norms) const;
  size_t keptTokens(int slot) const { return kept_[slot]; }
  const std::vector<std::vector<float>>& raw() const { return raw_; }
  const std::string& error() const { return error_; }
  // Milliseconds spent reading and folding captured tensors since the last call.
  double takeElapsedMs() { const double ms = elapsedMs_; elapsedMs_ = 0; return ms; }

  static bool evalCallback(struct ggml_tensor* t, bool ask, void* userData);
  // Whether this decode keeps any column (the graph callback has something to read).
  bool active() const { return active_; }
  // Instead of the callback at each watched tensor: all of them at the end of a ubatch's graph, where they
  // were kept (graph outputs), one per watched layer in order (handed over by DeviceTopK::readGraphEnd).
  // Where the graph also built their weighted sum and squared norms (`sum`, `squares`; `sum` null when
  // every weight is 0) those are read instead: one matrix of states per ubatch.
  void consumeKept(const std::vector<struct ggml_tensor*>& tensors, struct ggml_tensor* sum, struct ggml_tensor* squares);

 private:
  int watchIndex(const char* name) const;
  void consume(int w, struct ggml_tensor* t);
  void consumeSums(struct ggml_tensor* sum, struct ggml_tensor* squares);
  // Folds position `pos` (1-based, of the slot's kept positions) into accumulator `row` of the slot: what it
  // holds is decayed by the positions since its last fold, then `h` is added.
  void fold(int slot, size_t row, size_t pos, const float* h);
  // decay^n
  float decayPower(size_t n) const;
  // The last block (and the final norm) are computed for output rows only.
  bool prunedLayer(size_t w) const { return config_.layers[w].finalNorm || config_.layers[w].block == nLayerModel_ - 1; }
  // The tensor's columns in host memory: the tensor itself on a host buffer, else a copy in `staging_`
  // (pinned memory of the tensor's device when it has one: a plain copy runs several times slower).
  const float* hostColumns(struct ggml_tensor* t, size_t nCols);

  CaptureConfig config_;
  int nEmbd_ = 0;
  int nLayerModel_ = 0;
  bool active_ = false;
  bool rawMode_ = false;
  std::vector<ColumnRef> all_, outputs_;
  std::vector<size_t> posAll_, posOut_;        // each column's position among its slot's kept ones (1-based)
  std::vector<size_t> offsetAll_, offsetOut_;  // per watched layer: columns consumed in this decode
  // [slot] -> [row][nEmbd], decayed sums: one row per watched layer (the per-layer reads), then one of
  // weighted sums over the layers (the graph's sums); each as of the position in last_
  std::vector<std::vector<float>> acc_;
  std::vector<std::vector<size_t>> last_;      // [slot] -> [row]: the position last folded into the row (0: none)
  std::vector<std::vector<double>> normSum_;   // [slot] -> [watched layer]
  std::vector<double> decayMass_;              // [slot] sum_j decay^(n-1-j)
  std::vector<size_t> kept_;                   // [slot] kept positions
  std::vector<std::vector<float>> raw_;        // raw mode: [watched layer][nTokens * nEmbd]
  std::vector<float> scratch_;
  std::vector<float> squares_;  // the graph's squared norms of this ubatch [cols][layers]
  ggml_backend_buffer_t staging_ = nullptr;
  ggml_backend_buffer_type_t stagingFor_ = nullptr;  // the device buffer type staging_ was made for
  WorkerPool* pool_ = nullptr;
  bool distinctSlots_ = true;  // each kept column of this decode belongs to another sequence
  std::vector<uint8_t> seen_;
  double elapsedMs_ = 0;
  std::string error_;
};

}  // namespace moodaxis
