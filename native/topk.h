// Top-k on the device: llama.cpp's backend sampling gives each sequence a sampler chain that may add nodes
// to the decode graph. Ours adds one batched top-k over the whole logits matrix (one op for every row, not
// one op chain per sequence) and hands each sequence the views of its row: the k candidate ids and their
// logits. Only those cross to the host (rows x k values instead of rows x vocabulary); the host then runs
// temperature -> top-p -> seeded draw over them (SequenceSampler::sampleCandidates), the same arithmetic
// as over the full row.
//
// Reading the candidates: llama.cpp copies a backend sampler's outputs to the host one row at a time (two
// small copies per sequence and step). In a step the rows are read instead as two whole matrices
// (readGraphEnd): after the decode, a step being one ubatch, or, where a context needs the graph callback
// (compat mode's prompts), at its stop at the end of each ubatch's graph (Context::graphTap). The prefill
// keeps llama.cpp's per-row outputs, which also map its rows back to batch order across ubatches. The
// captured layers are read at the same point: they are flagged as graph outputs here (kept to the end of
// the graph), so the graph is not cut at each of them (Capture::consumeKept). Where every captured layer
// has the same columns (the steps), the graph also adds them up with their weights and takes each one's
// squared norms (KeptSums), so one matrix of states crosses to the host per step instead of one per layer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llama-cpp.h"
#include "llama.h"

namespace moodaxis {

class Capture;

// The captured layers a graph keeps to its end: their tensor names and weights in the response vector.
struct KeptLayers {
  std::vector<std::string> names;
  std::vector<float> weights;
  bool operator==(const KeptLayers& o) const { return names == o.names && weights == o.weights; }
};

// Of a graph whose kept layers all have the same columns: sum [nEmbd, cols] = sum_l weight_l * layer_l
// (null when every weight is 0) and squares [layers, cols] = each layer's squared column norms.
struct KeptSums {
  struct ggml_tensor* sum = nullptr;
  struct ggml_tensor* squares = nullptr;
};

class DeviceTopK {
 public:
  explicit DeviceTopK(int32_t k);
  DeviceTopK(const DeviceTopK&) = delete;
  DeviceTopK& operator=(const DeviceTopK&) = delete;

  // One chain per sequence 0..nSeq-1, for llama_context_params::samplers (kept alive by this object).
  std::vector<llama_sampler_seq_config> chains(int nSeq);
  int32_t k() const { return k_; }

  // Graph building (called through the sampler interface). With row views off, a row gets no outputs of
  // its own (the matrices are read by readGraphEnd).
  void apply(struct ggml_context* ctx, struct ggml_cgraph* graph, struct llama_sampler_data* data);
  struct ggml_tensor* rowIds(struct ggml_context* ctx, struct ggml_tensor* logitsRow, struct ggml_tensor** values);
  void reset() { matrix_ = ids_ = values_ = nullptr; }
  bool supported(ggml_backend_buffer_type_t buft);

  // Tensors every graph keeps to its end for the tap: the captured layers. Fixed per context.
  void keep(KeptLayers layers) { keepLayers_ = std::move(layers); }
  const KeptLayers& keptLayers() const { return keepLayers_; }
  // Whether the graph being computed has every kept tensor.
  bool keptAll() const {
    for (const auto* t : kept_) if (!t) return false;
    return true;
  }

  // Per decode, before it: whether llama.cpp hands out each row's candidates (prefill) or readGraphEnd does (steps).
  void beginDecode(bool rowViews);
  // The tap's node: the last of the graph's top-k nodes.
  static bool isEnd(const struct ggml_tensor* t);
  // At the end of a ubatch's graph (the tap, or after a one-ubatch decode): hands the kept layers (or their
  // sums) to `capture` and appends this ubatch's rows (ids and logits) to the host copies.
  void readGraphEnd(Capture& capture);
  // Rows read in this decode (in ubatch order, which is batch order when each sequence feeds one token).
  int rowsRead() const { return rowsRead_; }
  const llama_token* hostIds(int row) const { return hostIds_.data() + static_cast<size_t>(row) * rowWidth_; }
  const float* hostLogits(int row) const { return hostLogits_.data() + static_cast<size_t>(row) * rowWidth_; }
  int32_t rowWidth() const { return rowWidth_; }

 private:
  void keepLayers(struct ggml_context* ctx, struct ggml_cgraph* graph);
  struct ggml_tensor* blockTopK(struct ggml_context* ctx, struct ggml_tensor* matrix, int64_t k, struct ggml_tensor** values) const;
  static struct ggml_tensor* columnsAt(struct ggml_context* ctx, struct ggml_tensor* table, struct ggml_tensor* at);

  int32_t k_;
  bool buildSums_;       // KeptSums where they can be built (MOODAXIS_CAPTURE_SUMS=0: never, to compare)
  bool blocks_;          // the batched top-k narrows rows by block maxima (MOODAXIS_TOP_K_BLOCKS=0: sorts whole rows)
  int64_t sortWidth_;    // rows wider than this are narrowed (blocks_)
  int32_t rowWidth_ = 0;  // candidates per row of the matrices read (k, or the vocabulary when smaller)
  std::vector<llama_sampler_ptr> chains_;
  KeptLayers keepLayers_;
  std::vector<struct ggml_tensor*> kept_;  // of the graph being computed, in keptLayers order (null where it has none)
  KeptSums sums_;                         // their weighted sum and squared norms, where the graph could build them
  bool rowViews_ = true;
  int rowsRead_ = 0;
  std::vector<llama_token> hostIds_;
  std::vector<float> hostLogits_;
  // The batched results of the graph being built: top-k ids [k, rows] and their logits [1, k, rows].
  struct ggml_tensor* matrix_ = nullptr;
  struct ggml_tensor* ids_ = nullptr;
  struct ggml_tensor* values_ = nullptr;
  int supported_ = -1;  // -1 unknown, 0 no, 1 yes (per buffer type: one device per context)
};

}  // namespace moodaxis
