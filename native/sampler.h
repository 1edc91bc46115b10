// Token sampling on the host over the logits llama.cpp hands back, one chain per sequence:
// top-k -> temperature -> top-p -> seeded draw, the same arithmetic as llama.cpp's CPU samplers
// (llama_sampler_init_top_k/temp/top_p/dist with the same seed give the same tokens; with neither top-k
// nor top-p llama.cpp draws over the vocabulary in id order, this always in descending probability),
// but it finds the top k in one pass over the row instead of copying and sorting the whole vocabulary,
// and a step's rows are sampled by a small pool of threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "llama.h"

namespace moodaxis {

struct SamplerParams {
  float temperature = 0.0f;  // <= 0: greedy
  int32_t topK = 0;          // <= 0: the whole vocabulary
  float topP = 0.0f;         // >= 1: off
  // Non-null and non-empty: choose only among these token ids (e.g. a judge's "1".."5"); the chain
  // above then runs over them alone (greedy: the largest of their logits).
  const std::vector<llama_token>* allowed = nullptr;
};

class SequenceSampler {
 public:
  SequenceSampler() = default;
  SequenceSampler(const SamplerParams& params, uint32_t seed) : params_(params), rng_(seed) {}
  llama_token sample(const float* logits, int32_t nVocab);
  // The same draw over candidates chosen elsewhere (the device's top-k): ids[i] has logit logits[i].
  llama_token sampleCandidates(const float* logits, const llama_token* ids, int32_t n);

 private:
  llama_token sampleAllowed(const float* logits);
  // The chain over cand_ (any order): greedy, or top-k of it -> draw().
  llama_token chooseAmongCandidates();
  // temperature -> top-p -> seeded draw over cand_ (sorted by descending logit).
  llama_token draw();
  struct Candidate {
    float logit;
    llama_token id;
  };
  SamplerParams params_;
  std::mt19937 rng_;
  std::vector<Candidate> cand_;
  std::vector<float> prob_;
};

// Runs fn(0..n-1) on up to `workers` threads plus the caller, returning when all are done.
class WorkerPool {
 public:
  explicit WorkerPool(int workers);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  void run(int n, const std::function<void(int)>& fn);
  int size() const { return static_cast<int>(threads_.size()) + 1; }

 private:
  void work();
  void drain();
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_, idle_;
  const std::function<void(int)>* fn_ = nullptr;
  int n_ = 0, next_ = 0, busy_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace moodaxis
