// Top-k on the device: llama.cpp's backend sampling gives each sequence a sampler chain that may add nodes
// to the decode graph. Ours adds one batched top-k over the whole logits matrix (one op for every row, not
// one op chain per sequence) and hands each sequence the views of its row: the k candidate ids and their
// logits. Only those cross to the host (rows x k values instead of rows x vocabulary); the host then runs
// temperature -> top-p -> seeded draw over them (SequenceSampler::sampleCandidates), the same arithmetic
// as over the full row.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "llama-cpp.h"
#include "llama.h"

namespace moodaxis {

class DeviceTopK {
 public:
  explicit DeviceTopK(int32_t k);
  DeviceTopK(const DeviceTopK&) = delete;
  DeviceTopK& operator=(const DeviceTopK&) = delete;

  // One chain per sequence 0..nSeq-1, for llama_context_params::samplers (kept alive by this object).
  std::vector<llama_sampler_seq_config> chains(int nSeq);
  int32_t k() const { return k_; }

  // Graph building (called through the sampler interface).
  struct ggml_tensor* rowIds(struct ggml_context* ctx, struct ggml_tensor* logitsRow, struct ggml_tensor** values);
  void reset() { matrix_ = ids_ = values_ = nullptr; }
  bool supported(ggml_backend_buffer_type_t buft);

 private:
  int32_t k_;
  std::vector<llama_sampler_ptr> chains_;
  // The batched results of the graph being built: top-k ids [k, rows] and their logits [1, k, rows].
  struct ggml_tensor* matrix_ = nullptr;
  struct ggml_tensor* ids_ = nullptr;
  struct ggml_tensor* values_ = nullptr;
  int supported_ = -1;  // -1 unknown, 0 no, 1 yes (per buffer type: one device per context)
};

}  // namespace moodaxis
