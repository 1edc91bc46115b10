#include "generate.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace moodaxis {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// A slot whose prompt starts with at least this many tokens of another sequence's copies them.
constexpr size_t kMinShared = 16;

Status cancelled() { return Status::cancelled("generation cancelled: the model or context was disposed"); }

}  // namespace

Status decodeStatus(int32_t rc) {
  if (rc == 0) return {};
  if (rc == 1) return Status::resource("the KV cache is full");
  if (rc == 2) return Status::cancelled("llama_decode was aborted");
  std::string why = takeLastLlamaErrors();
  const std::string message = "llama_decode failed (code " + std::to_string(rc) + (why.empty() ? "" : ": " + why) + ")";
  // -2: llama.cpp could not allocate what the batch needs (memory)
  return rc == -2 ? Status::resource(message) : Status::native(message);
}

int equalSplitCount(const llama_batch& batch, int nUbatch) {
  const int n = batch.n_tokens;
  std::vector<std::vector<int>> tokensOf;  // per sequence id: its token indices in batch order
  for (int i = 0; i < n; i++) {
    const int s = batch.seq_id[i][0];
    if (s >= static_cast<int>(tokensOf.size())) tokensOf.resize(s + 1);
    tokensOf[s].push_back(i);
  }
  std::vector<size_t> taken(tokensOf.size(), 0);
  std::vector<char> used(n, 0);
  int count = 0, nUsed = 0;
  while (nUsed < n) {
    // the sequences of this ubatch: from the first unused token on, each next id one above the last
    // (the ids taken are a range, so an id inside it is taken already)
    std::vector<int> seqs;
    for (int i = 0; i < n && static_cast<int>(seqs.size()) <= nUbatch; i++) {
      const int s = batch.seq_id[i][0];
      if (used[i] || (!seqs.empty() && s >= seqs.front() && s <= seqs.back())) continue;
      if (seqs.empty() || s == seqs.back() + 1) seqs.push_back(s);
    }
    // then one token of each per round, while every one has a token left and the ubatch has room
    for (size_t round = 1;; round++) {
      bool all = true;
      for (int s : seqs) all = all && taken[s] < tokensOf[s].size();
      if (!all) break;
      for (int s : seqs) used[tokensOf[s][taken[s]++]] = 1, nUsed++;
      if ((round + 1) * seqs.size() > static_cast<size_t>(nUbatch)) break;
    }
    count++;
  }
  return count;
}

// With a think budget, maxTokens counts the visible answer and think blocks are cut at the budget.
bool thinkBudgeted(const GenRequest& r, const GenOptions& opts) {
  return !r.hasForced && opts.thinkBudget >= 0 && opts.thinkClose >= 0;
}

bool sharesPrefixes(const ModelHandle& model, const GenOptions& opts) {
  const llama_model* m = model.get();
  return !opts.solo && !llama_model_is_recurrent(m) && !llama_model_is_hybrid(m) && llama_model_n_swa(m) == 0;
}

int contextLimit(const ModelHandle& model, const GenOptions& opts) {
  return opts.contextLimit > 0 ? opts.contextLimit : llama_model_n_ctx_train(model.get());
}

Status prepareRequests(const ModelHandle& model, std::vector<GenRequest>& reqs, const GenOptions& opts, int& need) {
  const llama_vocab* vocab = model.vocab();
  const int32_t nVocab = llama_vocab_n_tokens(vocab);
  const int nLayer = llama_model_n_layer(model.get());
  const int limit = contextLimit(model, opts);
  need = 1;
  for (size_t i = 0; i < reqs.size(); i++) {
    GenRequest& r = reqs[i];
    const std::string which = "request " + std::to_string(i) + ": ";
    try {
      r.prompt = r.hasGiven ? r.given : tokenize(vocab, r.text, r.addSpecial, r.parseSpecial);
    } catch (const std::exception& e) {
      // llama.cpp throws (e.g. std::out_of_range) on a vocabulary that lacks tokens it falls back to.
      return Status::badInput(which + "the model's tokenizer failed on the prompt (" + e.what() + "): its vocabulary is damaged or incomplete");
    }
    if (r.prompt.empty()) return Status::badInput(which + "the prompt is empty");
    for (llama_token t : r.prompt)
      if (t < 0 || t >= nVocab)
        return Status::badInput(which + "token id " + std::to_string(t) + " is outside the vocabulary (0.." + std::to_string(nVocab - 1) + ")");
    if (r.hasForced && r.forced.empty()) return Status::badInput(which + "the response to score is empty");
    for (llama_token t : r.forced)
      if (t < 0 || t >= nVocab)
        return Status::badInput(which + "response token id " + std::to_string(t) + " is outside the vocabulary (0.." + std::to_string(nVocab - 1) + ")");
    if (!r.hasForced && r.maxTokens < 1) return Status::badInput(which + "maxTokens must be at least 1");
    const int gen = r.hasForced ? static_cast<int>(r.forced.size()) : r.maxTokens + (thinkBudgeted(r, opts) ? opts.thinkBudget + 1 : 0);
    const int total = static_cast<int>(r.prompt.size()) + gen + 1;
    if (total > limit)
      return Status::badInput(which + "the prompt has " + std::to_string(r.prompt.size()) + " tokens and up to " + std::to_string(gen) +
                              " more are generated, more than the context of " + std::to_string(limit) +
                              " tokens per sequence; shorten the prompt, lower maxTokens or raise contextSize");
    need = std::max(need, total);
  }
  for (const auto& w : opts.capture.layers)
    if (!w.finalNorm && (w.block < 0 || w.block >= nLayer))
      return Status::badInput("capture layer " + std::to_string(w.block) + " does not exist: the model has layers 0.." + std::to_string(nLayer - 1));
  for (llama_token t : opts.allowedTokens)
    if (t < 0 || t >= nVocab)
      return Status::badInput("allowed token id " + std::to_string(t) + " is outside the vocabulary (0.." + std::to_string(nVocab - 1) + ")");
  if (opts.thinkClose >= nVocab)
    return Status::badInput("thinkClose " + std::to_string(opts.thinkClose) + " is outside the vocabulary (0.." + std::to_string(nVocab - 1) + ")");
  return {};
}

GenerationRun::GenerationRun(const RunTarget& target, const std::vector<GenRequest>& reqs, const GenOptions& opts, int nSeq,
                             std::vector<GenResult>& out, const ProgressFn& progress)
    : t_(target),
      reqs_(reqs),
      opts_(opts),
      out_(out),
      progress_(progress),
      vocab_(target.model.vocab()),
      mem_(llama_get_memory(target.ctx)),
      nSeq_(nSeq),
      nReq_(static_cast<int>(reqs.size())),
      activeLimit_(std::min(nSeq, std::max(1, std::min(opts.parallel, static_cast<int>(reqs.size()))))),
      nVocab_(llama_vocab_n_tokens(vocab_)),
      batchCap_(static_cast<int>(llama_n_batch(target.ctx))),
      canShare_(sharesPrefixes(target.model, opts)),
      reuse_(opts.reuseCache && canShare_),
      samplerParams_{opts.temperature, opts.topK, opts.topP, opts.allowedTokens.empty() ? nullptr : &opts.allowedTokens},
      owned_(batchCap_),
      batch_(owned_.batch),
      slots_(nSeq) {
  orderAdmission();
  countUniquePromptTokens();
  if (reuse_) findOwners();
  tracePrefill_ = tracePrefill();
  prog_.total = nReq_;
  lastReport_ = Clock::now();
}

// llama.cpp's chain for backend sampling: the same arithmetic as SequenceSampler, inside the graph.
llama_sampler_ptr GenerationRun::makeBackendChain(uint32_t seed) const {
  llama_sampler_ptr chain(llama_sampler_chain_init(llama_sampler_chain_default_params()));
  if (opts_.temperature <= 0.0f) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_greedy());
  } else {
    // top-k, then temperature, then top-p: the same distribution as the reference's
    // temperature -> top-k -> top-p (temperature is monotonic, so the top-k set is unchanged).
    if (opts_.topK > 0) llama_sampler_chain_add(chain.get(), llama_sampler_init_top_k(opts_.topK));
    llama_sampler_chain_add(chain.get(), llama_sampler_init_temp(opts_.temperature));
    if (opts_.topP < 1.0f) llama_sampler_chain_add(chain.get(), llama_sampler_init_top_p(opts_.topP, 1));
    llama_sampler_chain_add(chain.get(), llama_sampler_init_dist(seed));
  }
  return chain;
}

Status GenerationRun::run() {
  while (done_ < nReq_) {
    if (t_.cancel) return stop(cancelled());
    if (next_ == nReq_) compact();
    std::vector<int> admitted;
    Status e = admit(admitted);
    if (!e.ok()) return stop(e);
    if (!admitted.empty()) {
      for (int s : admitted) t_.stats.prefillTokens += static_cast<int64_t>(reqs_[slots_[s].req].prompt.size());
      const auto t0 = Clock::now();
      e = prefill(admitted);
      if (!e.ok()) return stop(e);
      t_.stats.prefillMs += msSince(t0);
    }
    e = step();
    if (!e.ok()) return stop(e);
    reportProgress();
  }
  return {};
}

// With one KV stream per sequence a step takes one graph evaluation per run of consecutive active
// sequences (equalSplitCount). While requests wait, a sequence that ends is refilled at once; after the
// last admission the ones that end leave holes, and the tail's steps would split into many small
// evaluations. So then the highest active sequence moves into the lowest idle one: its KV stream is copied
// (copyStream) and its slot, capture sums and cache record go with it. Its results are those it would have had in place.
void GenerationRun::compact() {
  if (!opts_.compactTail || opts_.solo || reuse_ || opts_.backendSampling) return;
  int low = 0, high = nSeq_ - 1;
  for (;;) {
    while (low < nSeq_ && active(low)) low++;
    while (high >= 0 && !active(high)) high--;
    if (low >= high) return;
    copyStream(high, low);
    llama_memory_seq_rm(mem_, high, -1, -1);
    slots_[low] = std::move(slots_[high]);
    slots_[high] = Slot();
    t_.capture.moveSlot(high, low);
    t_.held.tokens(low) = std::move(t_.held.tokens(high));
    t_.held.tokens(high).clear();
    t_.held.promptLength(low) = t_.held.promptLength(high);
    t_.stats.movedSequences++;
  }
}

// Gives the next requests in admission order a sequence each, with a sampler seeded for it, while fewer
// than activeLimit_ are decoding: without reuse as placeRequests pairs them, with reuse the one
// chooseSequence picks.
Status GenerationRun::admit(std::vector<int>& admitted) {
  int active = 0;
  for (int s = 0; s < nSeq_; s++) active += this->active(s) ? 1 : 0;
  std::vector<int> reqs;
  while (next_ < nReq_ && active + static_cast<int>(reqs.size()) < activeLimit_) reqs.push_back(admission_[next_++]);
  auto take = [&](int s, int req, int kept) -> Status {
    Slot& sl = slots_[s];
    sl.state = SlotState::Prefill;
    sl.req = req;
    sl.kept = kept;
    t_.held.touch(s);
    t_.held.promptLength(s) = reqs_[req].prompt.size();
    if (opts_.backendSampling) {
      // Sequence s samples with a chain we own; swap in one seeded for this request. Whatever the answer,
      // the context no longer uses the old chain: it is freed here.
      llama_sampler_ptr chain = makeBackendChain(reqs_[req].seed);
      if (!llama_set_sampler(t_.ctx, s, chain.get())) {
        t_.backendChains[s].reset();
        return Status::native("llama.cpp could not run the sampler of sequence " + std::to_string(s) + " in the graph (backend sampling)");
      }
      t_.backendChains[s] = std::move(chain);
    } else {
      sl.sampler = SequenceSampler(samplerParams_, reqs_[req].seed);
    }
    sl.think.open = reqs_[req].startInThink;
    t_.capture.resetSlot(s);
    admitted.push_back(s);
    return {};
  };
  if (reuse_) {
    for (int req : reqs) {
      int kept = 0;
      const int s = chooseSequence(req, kept);  // (sees the sequences taken before it)
      Status e = take(s, req, kept);
      if (!e.ok()) return e;
    }
  } else {
    for (const auto [s, req] : placeRequests(std::move(reqs))) {
      Status e = take(s, req, 0);
      if (!e.ok()) return e;
    }
  }
  std::sort(admitted.begin(), admitted.end());  // prefill in sequence order, as the steps
  return {};
}

// The distinct prefixes of the prompts: in lexicographic order each prompt adds its tokens beyond what it
// shares with the one before (the longest any other shares with it), its last token always.
void GenerationRun::countUniquePromptTokens() {
  std::vector<const std::vector<llama_token>*> prompts;
  for (const auto& r : reqs_) prompts.push_back(&r.prompt);
  std::sort(prompts.begin(), prompts.end(), [](const auto* a, const auto* b) { return *a < *b; });
  for (size_t k = 0; k < prompts.size(); k++)
    t_.stats.uniquePromptTokens += static_cast<int64_t>(prompts[k]->size() - (k > 0 ? sharedPrefix(*prompts[k], *prompts[k - 1]) : 0));
}

// Admission order. Most generated tokens first: a request holds its sequence for the steps it generates
// (its prompt is fed in a batch or two), so the last to finish are not a long tail at low batch. Among
// requests generating as many, prompt families (the same first kMinShared tokens: a chat template and a
// system prompt) take turns, each family's longest prompts first: every admission wave then holds the
// families in proportion, and the sequences a wave frees hold the prefixes the next wave's requests start
// with (placeRequests keeps them in place rather than copy a KV stream).
void GenerationRun::orderAdmission() {
  auto steps = [&](int i) { return reqs_[i].hasForced ? static_cast<int>(reqs_[i].forced.size()) : reqs_[i].maxTokens; };
  std::vector<int> order(nReq_);
  for (int i = 0; i < nReq_; i++) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return steps(a) != steps(b) ? steps(a) > steps(b) : reqs_[a].prompt.size() > reqs_[b].prompt.size();
  });
  admission_.clear();
  for (size_t first = 0; first < order.size();) {
    size_t end = first;
    while (end < order.size() && steps(order[end]) == steps(order[first])) end++;
    std::map<std::vector<llama_token>, size_t> familyOf;
    std::vector<std::vector<int>> families;  // in the order of their longest prompt
    for (size_t k = first; k < end; k++) {
      const auto& prompt = reqs_[order[k]].prompt;
      size_t family = families.size();
      if (prompt.size() > kMinShared) family = familyOf.emplace(std::vector<llama_token>(prompt.begin(), prompt.begin() + kMinShared), family).first->second;
      if (family == families.size()) families.emplace_back();
      families[family].push_back(order[k]);
    }
    for (size_t turn = 0; admission_.size() < end; turn++)
      for (const auto& members : families)
        if (turn < members.size()) admission_.push_back(members[turn]);
    first = end;
  }
}

// Without reuse: the sequences an admission round's requests take, the lowest idle ones (so that they sit
// together for the steps' equal split). One whose cache starts with a request's prompt for kMinShared
// tokens or more (a wave ago it ran a request of the same family) takes that request, and keeps the prefix
// in place; the rest are paired as orderForPrefill orders them. Returns (sequence, request) pairs.
std::vector<std::pair<int, int>> GenerationRun::placeRequests(std::vector<int> reqs) const {
  std::vector<int> window;
  std::vector<char> taken(nSeq_, 0);
  for (int s = 0; s < nSeq_ && window.size() < reqs.size(); s++)
    if (!active(s)) window.push_back(s), taken[s] = 1;
  std::vector<std::pair<int, int>> placed;
  std::vector<int> open;  // window sequences no request keeps a prefix in
  for (int s : window) {
    int best = -1;
    size_t bestShared = 0, bestFeed = 0;
    for (size_t k = 0; canShare_ && k < reqs.size(); k++) {
      if (reqs[k] < 0) continue;
      const auto& prompt = reqs_[reqs[k]].prompt;
      const size_t l = sharedPrefix(prompt, t_.held.tokens(s));
      if (l < kMinShared) continue;
      // the longest prefix; among equals the request feeding most (packFollowers: widest first)
      if (l > bestShared || (l == bestShared && prompt.size() - l > bestFeed)) best = static_cast<int>(k), bestShared = l, bestFeed = prompt.size() - l;
    }
    if (best < 0) {
      open.push_back(s);
      continue;
    }
    placed.emplace_back(s, reqs[best]);
    reqs[best] = -1;
  }
  reqs.erase(std::remove(reqs.begin(), reqs.end(), -1), reqs.end());
  orderForPrefill(reqs, taken);
  for (size_t k = 0; k < reqs.size(); k++) placed.emplace_back(open[k], reqs[k]);
  return placed;
}

// Orders requests for sequences given in ascending order: leaders (those that share no prefix with a
// sequence outside `taken` or an earlier leader) first, those no other request starts like before the
// others, each kind longest first (splitLeaders feeds a kind a common first part, and the rest goes with
// the followers); then the followers by the prompt tokens they will feed, most first, so that followers
// feeding about as many tokens sit on consecutive sequences (packFollowers).
void GenerationRun::orderForPrefill(std::vector<int>& reqs, const std::vector<char>& taken) const {
  if (!canShare_ || reqs.size() < 2) return;
  std::vector<int> leaders;
  std::vector<std::pair<int, int>> followers;  // (tokens to feed, request)
  for (int req : reqs) {
    const auto& prompt = reqs_[req].prompt;
    size_t shared = 0;
    auto consider = [&](const std::vector<llama_token>& holds) {
      const size_t l = sharedPrefix(prompt, holds);
      if (l >= kMinShared) shared = std::max(shared, l);
    };
    for (int t = 0; t < nSeq_; t++)
      if (!taken[t]) consider(t_.held.tokens(t));
    for (int l : leaders) consider(reqs_[l].prompt);
    if (shared > 0) followers.emplace_back(static_cast<int>(prompt.size() - shared), req);
    else leaders.push_back(req);
  }
  auto startsAnother = [&](int leader) {
    for (int req : reqs)
      if (req != leader && sharedPrefix(reqs_[req].prompt, reqs_[leader].prompt) >= kMinShared) return true;
    return false;
  };
  std::vector<std::pair<int, int>> kinds;  // (kind: 0 alone, 1 others start like it; request)
  for (int l : leaders) kinds.emplace_back(startsAnother(l) ? 1 : 0, l);
  std::stable_sort(kinds.begin(), kinds.end(), [&](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : reqs_[a.second].prompt.size() > reqs_[b.second].prompt.size();
  });
  std::stable_sort(followers.begin(), followers.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  reqs.clear();
  for (const auto& k : kinds) reqs.push_back(k.second);
  for (const auto& f : followers) reqs.push_back(f.second);
}

// The prompt's last token is always fed: its output gives the first generated token.
size_t GenerationRun::sharedPrefix(const std::vector<llama_token>& prompt, const std::vector<llama_token>& other) {
  const size_t limit = std::min(prompt.size() - 1, other.size());
  size_t l = 0;
  while (l < limit && prompt[l] == other[l]) l++;
  return l;
}

// With reuse, what the sequences held when the call began: each one's owner is the request that starts with
// the longest prefix of it (ties to the first), if that is a real share (a conversation's next turn finds
// its history): kMinShared tokens, or half the prompt the sequence began with if that is shorter, not a
// common first word.
void GenerationRun::findOwners() {
  owner_.assign(nSeq_, -1);
  ownedTokens_.assign(nSeq_, 0);
  for (int s = 0; s < nSeq_; s++) {
    const size_t enough = std::min(kMinShared, std::max<size_t>(1, t_.held.promptLength(s) / 2));
    for (int r = 0; r < nReq_; r++) {
      const size_t l = sharedPrefix(reqs_[r].prompt, t_.held.tokens(s));
      if (l > ownedTokens_[s] && l >= enough && l > 0) ownedTokens_[s] = l, owner_[s] = r;
    }
  }
}

// With reuse: the idle sequence the request owns that holds the most of its prompt (kept in place), else
// the idle one used least recently, sparing those a request still waiting owns.
int GenerationRun::chooseSequence(int req, int& kept) {
  int choice = -1;
  for (int s = 0; s < nSeq_; s++)
    if (!active(s) && owner_[s] == req && (choice < 0 || ownedTokens_[s] > ownedTokens_[choice])) choice = s;
  if (choice >= 0) {
    kept = static_cast<int>(ownedTokens_[choice]);
    owner_[choice] = -1;  // what it held is the request's now
    return choice;
  }
  std::vector<char> waitingOwner(nReq_, 0);
  for (int k = next_; k < nReq_; k++) waitingOwner[admission_[k]] = 1;
  auto spared = [&](int s) { return owner_[s] >= 0 && waitingOwner[owner_[s]] ? 1 : 0; };
  for (int s = 0; s < nSeq_; s++) {
    if (active(s)) continue;
    if (choice < 0 || std::make_pair(spared(s), t_.held.lastUsed(s)) < std::make_pair(spared(choice), t_.held.lastUsed(choice))) choice = s;
  }
  owner_[choice] = -1;
  kept = static_cast<int>(sharedPrefix(reqs_[req].prompt, t_.held.tokens(choice)));  // what it happens to share is kept too
  return choice;
}

// Prompt prefill for newly admitted slots, packed into batches of up to batchCap tokens. Prompts often
// share a long prefix (chat template, system instruction): a slot whose prompt starts with at least
// kMinShared tokens of what a sequence holds (its own cache kept in place, another's copied: across KV
// streams llama.cpp copies the whole stream at the next decode, a device copy per layer) or of a leader's
// prompt (prefilled first in this round) prefills only the rest. With reuse, a sequence's own cache from an
// earlier call (a conversation's history) is kept in place.
Status GenerationRun::prefill(const std::vector<int>& admitted) {
  prefillAll_.clear();
  prefillOut_.clear();
  prefillLast_.clear();
  batch_.n_tokens = 0;
  std::vector<int> leaders;
  std::vector<Follower> followers;
  planSharing(admitted, leaders, followers);
  // A kind's parts (one graph evaluation when fed a common first part) and each part that fits in a batch
  // are not cut across two: the ubatches would hold a few of them alone.
  auto keepWhole = [&](int tokens) {
    return batch_.n_tokens > 0 && tokens <= batchCap_ && batch_.n_tokens + tokens > batchCap_ ? flushPrefill() : Status{};
  };
  for (const auto& kind : splitLeaders(leaders, followers)) {
    int kindTokens = 0;
    for (const auto [s, length] : kind) kindTokens += length;
    Status e = keepWhole(kindTokens);
    for (size_t k = 0; e.ok() && k < kind.size(); k++) {
      e = keepWhole(kind[k].second);
      if (e.ok()) e = feedPrompt(kind[k].first, 0, static_cast<size_t>(kind[k].second));
    }
    if (!e.ok()) return e;
  }
  Status e = flushPrefill();
  if (!e.ok() || followers.empty()) return e;
  packFollowers(followers);
  for (const Follower& f : followers) {
    if (f.flushBefore) {
      e = flushPrefill();
      if (!e.ok()) return e;
    }
    e = shareAndFeed(f);
    if (!e.ok()) return e;
  }
  return flushPrefill();
}

// Leaders feed their whole prompt; followers start from the longest prefix held by a sequence: their own
// (kept in place: without reuse what the request before left, with reuse what an earlier call left), a
// running or idle one, or a leader of this round. Keeping one's own prefix saves a stream copy, worth
// copyCostTokens tokens of a longer prefix elsewhere. What each sequence holds is `held` (a leader's will
// be its prompt).
void GenerationRun::planSharing(const std::vector<int>& admitted, std::vector<int>& leaders, std::vector<Follower>& followers) const {
  std::vector<char> admittedNow(nSeq_, 0);
  for (int s : admitted) admittedNow[s] = 1;
  for (int s : admitted) {
    const auto& prompt = reqs_[slots_[s].req].prompt;
    int source = -1;
    size_t shared = 0;
    long worth = 0;  // tokens shared, less a copy's cost
    auto consider = [&](int t, const std::vector<llama_token>& holds) {
      const size_t l = sharedPrefix(prompt, holds);
      const long w = static_cast<long>(l) - (t == s ? 0 : opts_.copyCostTokens);
      if (l >= kMinShared && (source < 0 || w > worth)) shared = l, source = t, worth = w;
    };
    if (canShare_) {
      if (reuse_ && slots_[s].kept > 0) source = s, shared = static_cast<size_t>(slots_[s].kept), worth = static_cast<long>(shared);
      if (!reuse_) consider(s, t_.held.tokens(s));
      for (int t = 0; t < nSeq_; t++)
        if (t != s && !admittedNow[t]) consider(t, t_.held.tokens(t));
      for (int t : leaders) consider(t, reqs_[slots_[t].req].prompt);
    }
    if (source >= 0) followers.push_back({s, source, static_cast<int>(shared)});
    else leaders.push_back(s);
  }
  // A leader nobody copies from may start from the prefix a sequence admitted now keeps in place (its family
  // ran there a request ago while the leader's sequence held another's): one stream copy instead of a leader
  // phase of its own. The keeper then keeps at least that much (packFollowers widens it no further), so the
  // copy finds it whichever of the two is fed first.
  if (!canShare_ || reuse_ || followers.empty()) return;
  std::vector<int> keeper(nSeq_, -1);  // per sequence: its index in `followers` if it keeps its own prefix
  std::vector<char> copiedFrom(nSeq_, 0);
  for (size_t k = 0; k < followers.size(); k++) {
    if (followers[k].source == followers[k].slot) keeper[followers[k].slot] = static_cast<int>(k);
    copiedFrom[followers[k].source] = 1;
  }
  std::vector<int> stay;
  for (int s : leaders) {
    const auto& prompt = reqs_[slots_[s].req].prompt;
    int source = -1;
    size_t shared = 0;
    for (int t = 0; t < nSeq_ && !copiedFrom[s]; t++) {
      if (keeper[t] < 0) continue;
      const size_t l = std::min(sharedPrefix(prompt, t_.held.tokens(t)), static_cast<size_t>(followers[keeper[t]].shared));
      if (l >= kMinShared && l > shared) source = t, shared = l;
    }
    if (source < 0) {
      stay.push_back(s);
      continue;
    }
    Follower& k = followers[keeper[source]];
    k.keep = std::max(k.keep, static_cast<int>(shared));
    followers.push_back({s, source, static_cast<int>(shared)});
  }
  leaders = std::move(stay);
}

// With one KV stream per sequence a batch splits into a graph evaluation per run of consecutive sequences
// feeding as many tokens (equalSplitCount), and leaders' prompts differ in length. So leaders of a kind
// (those no follower copies from, and those some do) of different lengths are fed a common first part, the
// kind's shortest prompt less its last token, if it covers what their followers copy; the rest of each is fed with the
// followers, kept in place, where packFollowers may widen it. Returns per kind, in feeding order, each
// leader and the prompt tokens the leader phase feeds of it; a leader fed in part is added to `followers`.
std::vector<std::vector<std::pair<int, int>>> GenerationRun::splitLeaders(const std::vector<int>& leaders, std::vector<Follower>& followers) const {
  std::vector<std::vector<std::pair<int, int>>> parts;
  const bool splits = canShare_ && !opts_.solo && !t_.capture.promptPerDecode();
  std::vector<int> copied(nSeq_, 0);  // per leader: the most tokens a follower copies from it
  for (const Follower& f : followers) copied[f.source] = std::max(copied[f.source], f.shared);
  for (const bool feedsOthers : {false, true}) {
    std::vector<int> kind;
    for (int s : leaders)
      if ((copied[s] > 0) == feedsOthers) kind.push_back(s);
    if (kind.empty()) continue;
    int part = INT32_MAX, longest = 0, needed = 0;
    for (int s : kind) {
      const int length = static_cast<int>(reqs_[slots_[s].req].prompt.size());
      part = std::min(part, length - 1);
      longest = std::max(longest, length);
      needed = std::max(needed, copied[s]);
    }
    // (prompts all as long take one evaluation per batch whole)
    const bool split = splits && part >= 1 && part + 1 < longest && part >= needed;
    parts.emplace_back();
    for (int s : kind) {
      const int length = static_cast<int>(reqs_[slots_[s].req].prompt.size());
      parts.back().emplace_back(s, split ? part : length);
      if (split) followers.push_back({s, s, part, copied[s], true});
    }
  }
  std::stable_sort(followers.begin(), followers.end(), [](const Follower& a, const Follower& b) { return a.slot < b.slot; });
  return parts;
}

// With one KV stream per sequence llama.cpp evaluates a batch in ubatches of consecutive sequences that
// feed equally many tokens each (equalSplitCount): followers feeding 12, 30 and 17 tokens on sequences 4, 9
// and 10 take three graph evaluations (4 alone; 9 and 10 for 17 tokens; 9 alone for the rest). So followers
// are packed into batches of consecutive sequences that feed the same number of tokens (the width), each
// whole in one batch: a follower feeding fewer recomputes part of its shared prefix instead (the same tokens
// at the same positions). The split is the cheapest in tokens computed plus evalCostTokens per batch; a batch
// is as wide as its narrowest prompt allows, less what a sequence must keep for the followers copying from it.
void GenerationRun::packFollowers(std::vector<Follower>& followers) const {
  if (opts_.solo || t_.capture.promptPerDecode()) return;  // one prompt per decode anyway
  const int n = static_cast<int>(followers.size());
  std::vector<int> feed(n), bound(n);
  for (int k = 0; k < n; k++) {
    const int length = static_cast<int>(reqs_[slots_[followers[k].slot].req].prompt.size());
    feed[k] = length - followers[k].shared;
    bound[k] = length - followers[k].keep;
  }
  // The cheapest split into batches, in prompt tokens computed plus evalCostTokens per batch: best[j] for the
  // first j followers, the last batch starting at from[j] (a batch of one is always possible).
  std::vector<int64_t> best(n + 1, 0);
  std::vector<int> from(n + 1, 0);
  for (int j = 1; j <= n; j++) {
    best[j] = INT64_MAX;
    int width = 0, lowest = INT32_MAX;
    for (int i = j - 1; i >= 0; i--) {
      if (i < j - 1 && followers[i].slot + 1 != followers[i + 1].slot) break;
      width = std::max(width, feed[i]);
      lowest = std::min(lowest, bound[i]);
      const int64_t members = j - i;
      if (members > 1 && (width > lowest || members * width > batchCap_)) break;
      const int64_t cost = best[i] + opts_.evalCostTokens + members * width;
      if (cost < best[j]) best[j] = cost, from[j] = i;
    }
  }
  for (int j = n; j > 0; j = from[j]) {
    int width = 0;
    for (int k = from[j]; k < j; k++) width = std::max(width, feed[k]);
    for (int k = from[j]; k < j; k++) followers[k].shared -= width - feed[k];  // the narrower recompute part of their prefix
    followers[from[j]].flushBefore = true;
  }
}

// Sequence `to`'s KV stream becomes a copy of `from`'s (llama.cpp copies the whole stream at the next
// decode, a device copy per layer). `to` is emptied first: llama.cpp then fills it from its first cell on (a
// stream's cells past the longest sequence in a ubatch widen every sequence's attention in it).
void GenerationRun::copyStream(int from, int to) {
  llama_memory_seq_rm(mem_, to, -1, -1);
  llama_memory_seq_cp(mem_, from, to, -1, -1);
  t_.stats.streamCopies++;
}

// Starts the follower's sequence with the shared prefix (its own kept in place, or a copy of the source's)
// and feeds the rest of the prompt.
Status GenerationRun::shareAndFeed(Follower f) {
  auto& holds = t_.held.tokens(f.slot);
  if (f.source != f.slot) {
    copyStream(f.source, f.slot);
    holds = t_.held.tokens(f.source);
  }
  // Keep the shared prefix only; a cache that cannot cut a sequence there gets the whole prompt.
  if (!llama_memory_seq_rm(mem_, f.slot, f.shared, -1) || llama_memory_seq_pos_min(mem_, f.slot) != 0 ||
      llama_memory_seq_pos_max(mem_, f.slot) != f.shared - 1) {
    f.shared = 0;
  }
  holds.resize(f.shared);
  if (!f.leaderRest) t_.stats.sharedTokens += f.shared;
  return feedPrompt(f.slot, static_cast<size_t>(f.shared), reqs_[slots_[f.slot].req].prompt.size());
}

// Adds prompt tokens [from, to) of slot s to the prefill batch, decoding whenever it is full.
Status GenerationRun::feedPrompt(int s, size_t from, size_t to) {
  Slot& sl = slots_[s];
  const auto& prompt = reqs_[sl.req].prompt;
  auto& holds = t_.held.tokens(s);
  if (from == 0) {  // a leader, or a follower whose prefix could not be cut: the sequence starts empty
    llama_memory_seq_rm(mem_, s, -1, -1);
    holds.clear();
  }
  for (size_t p = from; p < to; p++) {
    if (batch_.n_tokens == (opts_.solo ? 1 : batchCap_)) {
      Status e = flushPrefill();
      if (!e.ok()) return e;
    }
    const bool last = p + 1 == prompt.size();
    const int i = batch_.n_tokens++;
    batch_.token[i] = prompt[p];
    batch_.pos[i] = static_cast<llama_pos>(p);
    batch_.n_seq_id[i] = 1;
    batch_.seq_id[i][0] = s;
    batch_.logits[i] = last;
    holds.push_back(prompt[p]);
    const ColumnRef ref{t_.capture.keepsPromptToken(last) ? s : -1};
    prefillAll_.push_back(ref);
    if (last) {
      prefillOut_.push_back(ref);
      prefillLast_.emplace_back(s, i);
    }
  }
  sl.pos = static_cast<int>(to);
  if (t_.capture.promptPerDecode() || opts_.solo) return flushPrefill();
  return {};
}

// Decodes the packed prefill batch and chooses the first token of each prompt that ended in it.
Status GenerationRun::flushPrefill() {
  if (batch_.n_tokens == 0) return {};
  t_.stats.computedPromptTokens += batch_.n_tokens;
  t_.capture.beginDecode(std::move(prefillAll_), std::move(prefillOut_));
  prefillAll_.clear();
  prefillOut_.clear();
  prefilling_ = true;
  const auto t0 = Clock::now();
  const double decodeBefore = t_.stats.decodeMs;
  const int64_t ubatchesBefore = t_.stats.prefillUbatches;
  Status e = decode();
  if (e.ok()) e = chooseAll(prefillLast_);
  prefilling_ = false;
  if (!e.ok()) return e;
  if (tracePrefill_) {
    std::fprintf(stderr, "moodaxis prefill: %d tokens, %zu prompts ending, %lld ubatches, %lld stream copies, decode %.2f ms, all %.2f ms\n",
                 batch_.n_tokens, prefillLast_.size(), static_cast<long long>(t_.stats.prefillUbatches - ubatchesBefore),
                 static_cast<long long>(t_.stats.streamCopies - copiesTraced_), t_.stats.decodeMs - decodeBefore, msSince(t0));
    copiesTraced_ = t_.stats.streamCopies;
  }
  prefillLast_.clear();
  batch_.n_tokens = 0;
  return {};
}

// One step: the pending token of every active slot, in ascending slot order (solo: one decode each).
Status GenerationRun::step() {
  std::vector<int> order;
  for (int s = 0; s < nSeq_; s++)
    if (slots_[s].state == SlotState::Decode || slots_[s].state == SlotState::LastFeed) order.push_back(s);
  const auto t0 = Clock::now();
  for (size_t first = 0; first < order.size();) {
    const size_t count = opts_.solo ? 1 : order.size();
    std::vector<ColumnRef> all;
    std::vector<Pick> picks;
    batch_.n_tokens = 0;
    for (size_t k = first; k < first + count; k++) {
      const Slot& sl = slots_[order[k]];
      const int i = batch_.n_tokens++;
      batch_.token[i] = sl.pending;
      batch_.pos[i] = sl.pos;
      batch_.n_seq_id[i] = 1;
      batch_.seq_id[i][0] = order[k];
      batch_.logits[i] = true;
      t_.held.tokens(order[k]).push_back(sl.pending);
      all.push_back(ColumnRef{sl.pendingKept ? order[k] : -1});
    }
    t_.stats.steps++;
    t_.stats.stepTokens += static_cast<int64_t>(count);
    std::vector<ColumnRef> outs = all;
    t_.capture.beginDecode(std::move(all), std::move(outs));
    Status e = decode();
    if (!e.ok()) return e;
    for (size_t k = first; k < first + count; k++) {
      const int s = order[k];
      Slot& sl = slots_[s];
      sl.pos++;
      if (sl.state == SlotState::LastFeed) finish(s, false);
      else picks.emplace_back(s, static_cast<int>(k - first));
    }
    e = chooseAll(picks);
    if (!e.ok()) return e;
    first += count;
  }
  if (!order.empty()) t_.stats.stepMs += msSince(t0);
  return {};
}

Status GenerationRun::decode() {
  if (nSeq_ > 1) (prefilling_ ? t_.stats.prefillUbatches : t_.stats.stepUbatches) += equalSplitCount(batch_, batchCap_);
  if (prefilling_) t_.stats.prefillDecodes++;
  // A step's candidates are read as whole matrices; a prefill's through llama.cpp's per-row outputs, which
  // map rows back to batch order across ubatches.
  if (t_.topk) t_.topk->beginDecode(prefilling_);
  const auto t0 = Clock::now();
  const int32_t rc = llama_decode(t_.ctx, batch_);
  t_.stats.decodeMs += msSince(t0);
  if (rc == 0 && t_.readAfterDecode && !prefilling_) {
    // The step's graph (one ubatch) kept its top-k matrices and captured sums to its end: read them now.
    const auto t1 = Clock::now();
    llama_synchronize(t_.ctx);
    t_.stats.waitMs += msSince(t1);
    t_.topk->readGraphEnd(t_.capture);
  }
  t_.stats.captureMs += t_.capture.takeElapsedMs();
  const bool allRead = t_.capture.readAllColumns();
  t_.capture.endDecode();
  if (t_.cancel || rc == 2) return cancelled();
  if (!t_.capture.error().empty()) return Status::native(t_.capture.error());
  // Every ubatch must have handed over its columns, at the end-of-graph stop or after the decode (a graph
  // without the kept tensors would shift the columns of the next ones). Where the graph lacks a watched
  // tensor altogether (another architecture's naming) the capture reads nothing, as the per-layer callback does.
  if (rc == 0 && t_.topk && t_.topk->keptAll() && !allRead)
    return Status::native("capture: the decode did not hand over every column of the captured layers");
  return decodeStatus(rc);
}

// Chooses the next token of each (slot, batch index) after a decode, then accepts them in order.
Status GenerationRun::chooseAll(const std::vector<Pick>& picks) {
  chosen_.assign(picks.size(), 0);
  std::vector<int> ordinal(picks.size(), 0);  // each pick's row among the decode's outputs
  if (opts_.deviceTopK) {
    int outputs = 0, k = 0;
    for (int i = 0; i < batch_.n_tokens && k < static_cast<int>(picks.size()); i++) {
      while (k < static_cast<int>(picks.size()) && picks[k].second == i) ordinal[k++] = outputs;
      outputs += batch_.logits[i] ? 1 : 0;
    }
  }
  auto pick = [&](int k) {
    const auto [s, idx] = picks[k];
    Slot& sl = slots_[s];
    const GenRequest& r = reqs_[sl.req];
    if (r.hasForced) chosen_[k] = r.forced[sl.nGen];
    else if (sl.think.closeNext) {
      chosen_[k] = opts_.thinkClose;
      sl.think.closeNext = false;
    } else if (opts_.backendSampling) chosen_[k] = llama_sampler_sample(t_.backendChains[s].get(), t_.ctx, idx);
    else if (opts_.deviceTopK) chosen_[k] = sampleDeviceTopK(sl, idx, ordinal[k]);
    else if (const float* row = llama_get_logits_ith(t_.ctx, idx)) chosen_[k] = sl.sampler.sample(row, nVocab_);
    else chosen_[k] = LLAMA_TOKEN_NULL;
  };
  const auto t0 = Clock::now();
  llama_synchronize(t_.ctx);  // the decode's outputs are ready (before threads read the logits)
  const auto t1 = Clock::now();
  // Rows are drawn in parallel where each is worth a thread's wake-up: over a full row of logits, or over a
  // step's candidates read as matrices when there are many rows (each slot draws with its own sampler).
  const bool fullRows = !opts_.backendSampling && !opts_.deviceTopK && static_cast<int64_t>(picks.size()) * nVocab_ >= (1 << 20);
  const bool manyCandidateRows = opts_.deviceTopK && !prefilling_ && picks.size() >= 64;
  if (t_.pool && picks.size() > 1 && (fullRows || manyCandidateRows)) {
    t_.pool->run(static_cast<int>(picks.size()), pick);
  } else {
    for (size_t k = 0; k < picks.size(); k++) pick(static_cast<int>(k));
  }
  t_.stats.waitMs += std::chrono::duration<double, std::milli>(t1 - t0).count();
  t_.stats.sampleMs += msSince(t1);
  for (size_t k = 0; k < picks.size(); k++) {
    if (chosen_[k] == LLAMA_TOKEN_NULL) return Status::native("llama.cpp returned no logits for sequence " + std::to_string(picks[k].first));
    accept(picks[k].first, chosen_[k]);
  }
  return {};
}

// The token of a row chosen among the k candidates the graph picked for it (DeviceTopK): from the matrices
// read at the end of the step's graph (steps), else from llama.cpp's per-row outputs (prefill). `row` is the
// pick's row among the decode's outputs.
llama_token GenerationRun::sampleDeviceTopK(Slot& sl, int idx, int row) {
  const bool read = t_.topk && row < t_.topk->rowsRead();
  auto fromMatrices = [&] { return sl.sampler.sampleCandidates(t_.topk->hostLogits(row), t_.topk->hostIds(row), t_.topk->rowWidth()); };
  if (read && !prefilling_) return fromMatrices();
  const llama_token* ids = llama_get_sampled_candidates_ith(t_.ctx, idx);
  const float* logits = llama_get_sampled_logits_ith(t_.ctx, idx);
  const uint32_t n = llama_get_sampled_logits_count_ith(t_.ctx, idx);
  if (ids && logits && n > 0 && llama_get_sampled_candidates_count_ith(t_.ctx, idx) == n)
    return sl.sampler.sampleCandidates(logits, ids, static_cast<int32_t>(n));
  // a graph reused from a step (the same shape: one token per sequence, so rows are in batch order)
  return read ? fromMatrices() : LLAMA_TOKEN_NULL;
}

// Takes the token chosen for slot s: stop, or queue it to be fed (and perhaps captured) in the next step.
void GenerationRun::accept(int s, llama_token t) {
  Slot& sl = slots_[s];
  const GenRequest& r = reqs_[sl.req];
  if (!r.hasForced && !opts_.ignoreEos && llama_vocab_is_eog(vocab_, t)) {
    finish(s, true);
    return;
  }
  const std::string special = tokenPiece(vocab_, t, true);
  const bool opens = special.find("<think>") != std::string::npos;
  const bool closes = special.find("</think>") != std::string::npos;
  const bool thinkRelated = sl.think.open || opens || closes;
  if (opens) sl.think.open = true;
  if (closes) sl.think.open = false;
  if (thinkRelated) sl.think.tokens++;
  sl.text += tokenPiece(vocab_, t, false);
  sl.ids.push_back(t);
  sl.nGen++;
  prog_.tokens++;
  const int limitGen = r.hasForced ? static_cast<int>(r.forced.size()) : r.maxTokens;
  if (!t_.capture.feedsLastGenerated() && sl.nGen >= limitGen) {
    finish(s, false);
    return;
  }
  sl.pending = t;
  sl.pendingKept = t_.capture.keepsGeneratedToken(thinkRelated);
  // With a think budget, maxTokens counts the visible answer; a think block that reaches the budget is closed.
  const bool withBudget = thinkBudgeted(r, opts_);
  if (withBudget && sl.think.open && sl.think.tokens >= opts_.thinkBudget) sl.think.closeNext = sl.think.cut = true;
  const bool last = (withBudget ? sl.nGen - sl.think.tokens : sl.nGen) >= limitGen;
  sl.state = last ? SlotState::LastFeed : SlotState::Decode;
}

void GenerationRun::finish(int s, bool eos) {
  Slot& sl = slots_[s];
  GenResult& res = out_[sl.req];
  res.text = std::move(sl.text);
  res.ids = std::move(sl.ids);
  res.tokens = sl.nGen;
  res.thinkTokens = sl.think.tokens;
  res.thinkCut = sl.think.cut;
  res.eos = eos;
  res.promptTokens = static_cast<int32_t>(reqs_[sl.req].prompt.size());
  res.capturedTokens = static_cast<int32_t>(t_.capture.keptTokens(s));
  t_.capture.finishSlot(s, res.vector, res.norms);
  prog_.finished.emplace_back(sl.req, res);
  sl = Slot();
  // What the sequence holds is kept for the next request that starts like it (placeRequests), or with
  // reuse for a later call; a cache that cannot share prefixes is emptied.
  if (canShare_) {
    t_.held.touch(s);
  } else {
    llama_memory_seq_rm(mem_, s, -1, -1);
    t_.held.tokens(s).clear();
  }
  done_++;
  prog_.done = done_;
}

// About every 100 ms, and whenever requests finished: counts, finished results, and (stream) partial texts.
void GenerationRun::reportProgress() {
  const auto now = Clock::now();
  if (!progress_ || (prog_.finished.empty() && now - lastReport_ <= std::chrono::milliseconds(100))) return;
  lastReport_ = now;
  prog_.partial.clear();
  if (opts_.stream)
    for (const Slot& sl : slots_)
      if (sl.state != SlotState::Idle) prog_.partial.emplace_back(sl.req, sl.text);
  progress_(prog_);
  prog_.finished.clear();
}

// Hands finished results to JS before any early return, so a journal keeps what was completed.
Status GenerationRun::stop(Status why) {
  if (progress_ && !prog_.finished.empty()) progress_(prog_);
  return why;
}

}  // namespace moodaxis
