// One generate call on a context's owner thread: continuous batching over up to `parallel` sequence
// slots, prompt prefill separate from the one-token-per-sequence steps (so capture columns follow batch
// order), per-request seeded samplers, prompt prefixes copied between sequences, and capture folded in as
// tokens are fed. Each slot moves through an explicit SlotState; the run's methods are the phases.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "capture.h"
#include "model.h"
#include "sampler.h"
#include "sequence-cache.h"
#include "topk.h"

namespace moodaxis {

// What one generate call asks for. The JS side passes every value (native code holds no defaults): these
// members are only zero-initialised.
struct GenRequest {
  std::string text;            // prompt text (tokenized on the owner thread)
  bool addSpecial = false;     // let the tokenizer add BOS
  bool parseSpecial = false;   // parse control tokens written in the text (chat templates)
  int32_t maxTokens = 0;
  uint32_t seed = 0;
  bool startInThink = false;           // the prompt opened a <think> block
  std::vector<llama_token> forced;     // teacher forcing: these tokens instead of sampling
  bool hasForced = false;
  std::vector<llama_token> given;      // prompt given as token ids (text unused)
  bool hasGiven = false;
  std::vector<llama_token> prompt;     // filled on the owner thread
};

struct GenOptions {
  float temperature = 0;  // <= 0: greedy
  int32_t topK = 0;       // <= 0: the whole vocabulary
  float topP = 0;         // >= 1: off
  bool ignoreEos = false;
  std::vector<llama_token> allowedTokens;  // non-empty: sample only among these ids (host sampler)
  // >= 0 (with thinkClose >= 0): at most this many tokens in <think> blocks, then thinkClose is forced;
  // maxTokens then counts the visible answer's tokens only. Negative: no budget.
  int32_t thinkBudget = 0;
  llama_token thinkClose = 0;
  int32_t parallel = 0;
  int32_t contextLimit = 0;  // per-sequence context cap (0: the model's training context)
  CaptureConfig capture;     // no layers: nothing captured
  std::vector<float> controlVector;  // layers 1..L-1, nEmbd each; empty: none
  int32_t cvecStart = 0, cvecEnd = 0;
  bool flashAttn = false;
  bool f32Cache = false;  // deterministic mode: F32 KV cache
  bool backendSampling = false;  // run the sampler chains inside the graph (llama.cpp backend sampling)
  bool deviceTopK = false;  // top-k of every row in the graph, the rest of the draw on the host (DeviceTopK)
  // Once no request waits, move the highest active sequences into the lowest idle ones so that a step stays
  // one graph evaluation (GenerationRun::compact). Not with solo, reuseCache or backendSampling.
  bool compactTail = false;
  bool solo = false;  // decode each sequence alone, one token per decode (batch-invariant on GPU backends)
  // What prefill planning weighs, in prompt tokens computed: a graph evaluation's fixed cost (packFollowers
  // feeds a few shared tokens again rather than start another), and a KV stream copy's (planSharing keeps a
  // sequence's own prefix in place unless another's is this much longer).
  int32_t evalCostTokens = 0;
  int32_t copyCostTokens = 0;
  // A decode's and a graph evaluation's most tokens (n_batch = n_ubatch), raised to the sequences decoded at
  // once so that a step is one evaluation.
  int32_t batchTokens = 512;
  bool stream = false;  // progress reports carry the text so far of every request in flight
  // Keep every sequence's KV cache after the call, and start a prompt from what an earlier call left in a
  // sequence when it begins with those tokens (multi-turn conversations). The context may then hold more
  // sequences than `parallel` (at most one per request); at most `parallel` are decoded at once.
  bool reuseCache = false;
};

struct GenResult {
  std::string text;
  std::vector<llama_token> ids;
  int32_t tokens = 0;
  bool eos = false;
  std::vector<float> vector;
  std::vector<float> norms;
  int32_t promptTokens = 0;
  int32_t capturedTokens = 0;
  int32_t thinkTokens = 0;  // generated tokens inside (or marking) <think> blocks: never captured
  bool thinkCut = false;    // the think budget ran out and the block was closed
};

// Timing of a generate call.
struct GenStats {
  double prefillMs = 0, stepMs = 0;
  double decodeMs = 0, waitMs = 0, sampleMs = 0;  // inside llama_decode, waiting for its outputs, choosing tokens
  double captureMs = 0;                           // reading and folding captured states (inside llama_decode)
  int64_t steps = 0, prefillTokens = 0, stepTokens = 0;
  int64_t sharedTokens = 0;  // prompt tokens a sequence's cache held already (another's, its own from an earlier request or call)
  int64_t computedPromptTokens = 0;  // prompt tokens prefill decodes fed (shared ones fed again to widen a batch included)
  // The prompt tokens a prefill must compute at the least: the distinct prefixes of the call's prompts (each
  // prompt's last token counted, since its output is needed). A property of the requests, not of the run.
  int64_t uniquePromptTokens = 0;
  // Graph evaluations (ubatches) llama.cpp splits the decodes into: with one KV stream per sequence a
  // ubatch holds consecutive sequence ids with equal token counts (equalSplitCount).
  int64_t prefillDecodes = 0, prefillUbatches = 0, stepUbatches = 0;
  int64_t movedSequences = 0;  // sequences moved to a lower id in the tail (GenOptions::compactTail)
  // Copies of a sequence's KV stream into another (a prompt prefix shared from another sequence, or a
  // sequence moved in the tail): llama.cpp copies the whole stream, one device copy (and wait) per layer's
  // K and V, at the next decode.
  int64_t streamCopies = 0;
};

// How many ubatches llama.cpp's equal split (one KV stream per sequence: sequential sequence ids, the same
// number of tokens from each) makes of a batch whose tokens belong to one sequence each, at most
// `nUbatch` tokens per ubatch.
int equalSplitCount(const llama_batch& batch, int nUbatch);

struct Progress {
  int32_t done = 0, total = 0;
  int64_t tokens = 0;
  std::vector<std::pair<int32_t, GenResult>> finished;  // results completed since the last report
  std::vector<std::pair<int32_t, std::string>> partial;  // with GenOptions::stream: text so far, per request in flight
};

using ProgressFn = std::function<void(const Progress&)>;

// Whether a request runs under a think budget (see GenOptions::thinkBudget).
bool thinkBudgeted(const GenRequest& r, const GenOptions& opts);

// Whether sequences can start from another's cached prefix (in a call, and across calls with reuseCache):
// only plain KV caches (recurrent state cannot be cut at a position, and a sliding-window cache may have
// dropped the prefix already), and not in solo mode (deterministic mode on a GPU computes every sequence alone).
bool sharesPrefixes(const ModelHandle& model, const GenOptions& opts);

// The largest context per sequence a call may use.
int contextLimit(const ModelHandle& model, const GenOptions& opts);

// The status of a llama_decode return code (its error lines taken from llama.cpp's log).
Status decodeStatus(int32_t rc);

// Tokenizes and checks the requests; `need` is the context length per sequence the largest one needs.
Status prepareRequests(const ModelHandle& model, std::vector<GenRequest>& reqs, const GenOptions& opts, int& need);

// What a run works with, all owned by the Context (its owner thread runs the run).
struct RunTarget {
  llama_context* ctx;
  const ModelHandle& model;
  Capture& capture;
  WorkerPool* pool;                             // null: sample and fold on the owner thread
  std::vector<llama_sampler_ptr>& backendChains;  // per sequence, with backend sampling
  DeviceTopK* topk;                             // null: no device top-k
  bool readAfterDecode;                         // no graph callback: a step's top-k and sums are read after its decode
  const std::atomic<bool>& cancel;
  GenStats& stats;
  SequenceCache& held;                          // what each sequence's KV cache holds
};

// Where a slot is in its request's life.
enum class SlotState {
  Idle,      // no request
  Prefill,   // admitted: its prompt is being fed; the first token is chosen from the prompt's last output
  Decode,    // a chosen token waits to be fed in the next step, and the next token is chosen from its output
  LastFeed,  // a chosen token waits to be fed in the next step, and then the request ends
};

class GenerationRun {
 public:
  // Requests must have been prepared (prepareRequests); the context holds nSeq sequences, cleared unless
  // the call reuses them (GenOptions::reuseCache), in which case `target.held` says what they hold.
  GenerationRun(const RunTarget& target, const std::vector<GenRequest>& reqs, const GenOptions& opts, int nSeq,
                std::vector<GenResult>& out, const ProgressFn& progress);
  GenerationRun(const GenerationRun&) = delete;
  GenerationRun& operator=(const GenerationRun&) = delete;

  // Runs every request to its end.
  Status run();

 private:
  struct Think {
    bool open = false;        // inside a <think> block
    int tokens = 0;           // generated tokens inside (or marking) think blocks
    bool closeNext = false;   // the budget ran out: the next token is the closing tag
    bool cut = false;         // the budget ran out at least once
  };
  struct Slot {
    SlotState state = SlotState::Idle;
    int req = -1;  // the request, while not Idle
    int kept = 0;  // Prefill: prompt tokens its sequence already holds from an earlier call (reuseCache)
    int pos = 0;   // position of the next token fed
    int nGen = 0;  // tokens chosen so far
    llama_token pending = 0;   // Decode / LastFeed: the token to feed
    bool pendingKept = false;  // ... and whether its position is captured
    Think think;
    SequenceSampler sampler;
    std::string text;
    std::vector<llama_token> ids;
  };
  // A slot whose prompt starts with `shared` tokens already in sequence `source`'s cache (itself: kept in place).
  struct Follower {
    int slot, source, shared;
    int keep = 0;             // the fewest it may keep (a leader fed in part: what followers copy from it)
    bool leaderRest = false;  // the rest of a leader fed in part: its prefix is its own, fed in this round
    bool flushBefore = false;  // packFollowers: starts a new prefill batch
  };
  using Pick = std::pair<int, int>;  // (slot, batch index of its output)

  bool active(int s) const { return slots_[s].state != SlotState::Idle; }
  llama_sampler_ptr makeBackendChain(uint32_t seed) const;

  void compact();
  Status admit(std::vector<int>& admitted);
  void findOwners();
  int chooseSequence(int req, int& kept);
  // Tokens at the start of `prompt` that `other` holds, short of the prompt's last token.
  static size_t sharedPrefix(const std::vector<llama_token>& prompt, const std::vector<llama_token>& other);
  void orderAdmission();
  void countUniquePromptTokens();
  std::vector<std::pair<int, int>> placeRequests(std::vector<int> reqs) const;
  void orderForPrefill(std::vector<int>& reqs, const std::vector<char>& taken) const;
  Status prefill(const std::vector<int>& admitted);
  void planSharing(const std::vector<int>& admitted, std::vector<int>& leaders, std::vector<Follower>& followers) const;
  std::vector<std::vector<std::pair<int, int>>> splitLeaders(const std::vector<int>& leaders, std::vector<Follower>& followers) const;
  void packFollowers(std::vector<Follower>& followers) const;
  Status feedPrompt(int s, size_t from, size_t to);
  Status flushPrefill();
  void copyStream(int from, int to);
  Status shareAndFeed(Follower f);
  Status step();
  Status decode();
  Status chooseAll(const std::vector<Pick>& picks);
  llama_token sampleDeviceTopK(Slot& sl, int idx, int row);
  void accept(int s, llama_token t);
  void finish(int s, bool eos);
  void reportProgress();
  Status stop(Status why);

  const RunTarget& t_;
  const std::vector<GenRequest>& reqs_;
  const GenOptions& opts_;
  std::vector<GenResult>& out_;
  const ProgressFn& progress_;
  const llama_vocab* vocab_;
  llama_memory_t mem_;
  const int nSeq_, nReq_;
  const int activeLimit_;  // sequences decoded at once: `parallel`, at most one per request
  const int32_t nVocab_;
  const int batchCap_;
  const bool canShare_;
  const bool reuse_;  // keep the sequences after the call, start prompts from what they hold
  const SamplerParams samplerParams_;
  OwnedBatch owned_;
  llama_batch& batch_;
  std::vector<Slot> slots_;
  std::vector<int> admission_;  // request indices, in the order they are admitted
  std::vector<int> owner_;      // with reuse: per sequence, the request that starts with most of what it held (-1: none)
  std::vector<size_t> ownedTokens_;  // ... and how many of its tokens
  int next_ = 0, done_ = 0;
  Progress prog_;
  std::chrono::steady_clock::time_point lastReport_;
  std::vector<llama_token> chosen_;
  // The prefill batch being packed: its columns for the capture, and each slot's last prompt token.
  std::vector<ColumnRef> prefillAll_, prefillOut_;
  std::vector<Pick> prefillLast_;
  bool prefilling_ = false;  // the decode under way is a prefill batch (statistics; how top-k candidates are read)
  bool tracePrefill_ = false;  // a line per prefill decode on stderr (tracePrefill, read once per run)
  int64_t copiesTraced_ = 0;
};

}  // namespace moodaxis
