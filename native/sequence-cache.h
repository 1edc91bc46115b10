// What each sequence of a context's KV cache holds: its tokens (token i at position i), the length of the
// prompt they began with, when it was last used, and the control vector its keys and values were computed under. The Context owns it and resets it
// whenever the KV cache is cleared or made anew; GenerationRun appends every token it feeds, so that a
// generate call with GenOptions::reuseCache can start a prompt from what an earlier call left.
#pragma once

#include <cstdint>
#include <vector>

#include "llama.h"

namespace moodaxis {

class SequenceCache {
 public:
  // Nothing held: a new or cleared KV cache of nSeq sequences, steered by this control vector (empty: none).
  void reset(int nSeq, const std::vector<float>& cvec, int32_t cvecStart, int32_t cvecEnd) {
    tokens_.assign(nSeq, {});
    promptLength_.assign(nSeq, 0);
    lastUsed_.assign(nSeq, 0);
    cvec_ = cvec;
    cvecStart_ = cvecStart;
    cvecEnd_ = cvecEnd;
  }
  // Whether what is held is valid for a call on nSeq sequences under this control vector.
  bool holdsFor(int nSeq, const std::vector<float>& cvec, int32_t cvecStart, int32_t cvecEnd) const {
    return static_cast<int>(tokens_.size()) == nSeq && cvec == cvec_ && (cvec.empty() || (cvecStart == cvecStart_ && cvecEnd == cvecEnd_));
  }
  std::vector<llama_token>& tokens(int s) { return tokens_[s]; }
  const std::vector<llama_token>& tokens(int s) const { return tokens_[s]; }
  size_t& promptLength(int s) { return promptLength_[s]; }
  size_t promptLength(int s) const { return promptLength_[s]; }
  void touch(int s) { lastUsed_[s] = ++clock_; }
  uint64_t lastUsed(int s) const { return lastUsed_[s]; }

 private:
  std::vector<std::vector<llama_token>> tokens_;
  std::vector<size_t> promptLength_;
  std::vector<uint64_t> lastUsed_;  // 0: never used since the reset
  uint64_t clock_ = 0;
  std::vector<float> cvec_;
  int32_t cvecStart_ = 0, cvecEnd_ = 0;
};

}  // namespace moodaxis
