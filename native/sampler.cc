#include "sampler.h"

#include <algorithm>
#include <cmath>

namespace moodaxis {

namespace {
bool better(float la, llama_token a, float lb, llama_token b) { return la > lb || (la == lb && a < b); }
}  // namespace

llama_token SequenceSampler::sampleAllowed(const float* logits) {
  cand_.clear();
  for (llama_token id : *params_.allowed) cand_.push_back({logits[id], id});
  return chooseAmongCandidates();
}

llama_token SequenceSampler::sample(const float* logits, int32_t nVocab) {
  if (params_.allowed && !params_.allowed->empty()) return sampleAllowed(logits);
  if (params_.temperature <= 0.0f) {  // greedy: the first largest logit, as llama_sampler_init_greedy
    int32_t best = 0;
    for (int32_t i = 1; i < nVocab; i++)
      if (logits[i] > logits[best]) best = i;
    return best;
  }
  // top-k in one pass: keep the k best seen so far, with the smallest of them as the entry bar.
  const int32_t k = params_.topK > 0 ? std::min(params_.topK, nVocab) : nVocab;
  auto better = [](const Candidate& a, const Candidate& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
  cand_.clear();
  cand_.reserve(k + 1);
  for (int32_t i = 0; i < k; i++) cand_.push_back({logits[i], i});
  std::make_heap(cand_.begin(), cand_.end(), better);  // heap front = the worst of the k kept
  for (int32_t i = k; i < nVocab; i++) {
    if (logits[i] <= cand_.front().logit) continue;
    std::pop_heap(cand_.begin(), cand_.end(), better);
    cand_.back() = {logits[i], i};
    std::push_heap(cand_.begin(), cand_.end(), better);
  }
  std::sort(cand_.begin(), cand_.end(), better);  // descending logit
  return draw();
}

llama_token SequenceSampler::sampleCandidates(const float* logits, const llama_token* ids, int32_t n) {
  cand_.clear();
  for (int32_t i = 0; i < n; i++) cand_.push_back({logits[i], ids[i]});
  return chooseAmongCandidates();
}

llama_token SequenceSampler::chooseAmongCandidates() {
  auto first = [](const Candidate& a, const Candidate& b) { return better(a.logit, a.id, b.logit, b.id); };
  if (params_.temperature <= 0.0f) return std::min_element(cand_.begin(), cand_.end(), first)->id;
  std::sort(cand_.begin(), cand_.end(), first);  // descending logit, ties by id as over the full row
  if (params_.topK > 0 && static_cast<size_t>(params_.topK) < cand_.size()) cand_.resize(params_.topK);
  return draw();
}

llama_token SequenceSampler::draw() {
  // temperature
  for (auto& c : cand_) c.logit /= params_.temperature;

  // top-p over the softmax of the candidates (float sums, min_keep 1)
  size_t size = cand_.size();
  if (params_.topP < 1.0f) {
    const float maxLogit = cand_[0].logit;
    prob_.resize(size);
    float sum = 0.0f;
    for (size_t i = 0; i < size; i++) sum += prob_[i] = expf(cand_[i].logit - maxLogit);
    float cum = 0.0f;
    for (size_t i = 0; i < size; i++) {
      cum += prob_[i] / sum;
      if (cum >= params_.topP) {
        size = i + 1;
        break;
      }
    }
  }

  // seeded draw: one uniform double per token, inverted on the cumulative (double) mass
  std::uniform_real_distribution<double> uniform(0.0f, 1.0f);
  const double u = uniform(rng_);
  if (size == 1) return cand_[0].id;
  const float maxLogit = cand_[0].logit;
  double total = 0.0;
  prob_.resize(size);
  for (size_t i = 0; i < size; i++) total += prob_[i] = expf(cand_[i].logit - maxLogit);
  const double target = total * u;
  double run = 0.0;
  for (size_t i = 0; i < size; i++) {
    run += prob_[i];
    if (run >= target) return cand_[i].id;
  }
  return cand_[size - 1].id;
}

WorkerPool::WorkerPool(int workers) {
  for (int i = 0; i < workers; i++) threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::drain() {
  for (;;) {
    int i;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (next_ >= n_) return;
      i = next_++;
    }
    (*fn_)(i);
  }
}

void WorkerPool::work() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      busy_++;
    }
    drain();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_ == 0) idle_.notify_all();
    }
  }
}

void WorkerPool::run(int n, const std::function<void(int)>& fn) {
  if (threads_.empty() || n <= 1) {
    for (int i = 0; i < n; i++) fn(i);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = &fn;
    n_ = n;
    next_ = 0;
    generation_++;
  }
  wake_.notify_all();
  drain();
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [&] { return next_ >= n_ && busy_ == 0; });
  fn_ = nullptr;
}

}  // namespace moodaxis
