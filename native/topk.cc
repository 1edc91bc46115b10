#include "topk.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "capture.h"
#include "ggml-backend.h"
#include "ggml.h"

namespace moodaxis {

namespace {

struct SeqTopK {
  DeviceTopK* owner;
};

DeviceTopK* ownerOf(const llama_sampler* smpl) { return static_cast<SeqTopK*>(smpl->ctx)->owner; }

const char* topkName(const llama_sampler*) { return "moodaxis-device-top-k"; }

// Host path, only used if llama.cpp runs the chain on the host (it does not once backend_init said yes):
// keep the k largest logits.
void topkApply(llama_sampler* smpl, llama_token_data_array* cur) {
  const size_t k = std::min<size_t>(static_cast<size_t>(ownerOf(smpl)->k()), cur->size);
  std::partial_sort(cur->data, cur->data + k, cur->data + cur->size,
                    [](const llama_token_data& a, const llama_token_data& b) { return a.logit > b.logit; });
  cur->size = k;
  cur->sorted = true;
}

bool topkBackendInit(llama_sampler* smpl, ggml_backend_buffer_type_t buft, uint32_t) {
  return ownerOf(smpl)->supported(buft);
}

void topkBackendApply(llama_sampler* smpl, ggml_context* ctx, ggml_cgraph* graph, llama_sampler_data* data) {
  ownerOf(smpl)->apply(ctx, graph, data);
}

void topkBackendReset(llama_sampler* smpl) { ownerOf(smpl)->reset(); }

void topkFree(llama_sampler* smpl) { delete static_cast<SeqTopK*>(smpl->ctx); }

llama_sampler_i topkInterface = {
    /* .name              = */ topkName,
    /* .accept            = */ nullptr,
    /* .apply             = */ topkApply,
    /* .reset             = */ nullptr,
    /* .clone             = */ nullptr,
    /* .free              = */ topkFree,
    /* .backend_init      = */ topkBackendInit,
    /* .backend_accept    = */ nullptr,
    /* .backend_apply     = */ topkBackendApply,
    /* .backend_set_input = */ nullptr,
    /* .backend_reset     = */ topkBackendReset,
    /* .copy_state        = */ nullptr,
};

constexpr const char* kIdsName = "moodaxis_top_k";
constexpr const char* kLogitsName = "moodaxis_top_k_logits";

// The widest row ggml's CUDA top-k sorts within one thread block (bitonic, in shared memory); a wider one is
// sorted whole by CUB's segmented sort (2 ms per step for 256 rows of 128,256 logits on an H200).
// MOODAXIS_TOP_K_WIDTH sets another (tests narrow the rows of a small vocabulary this way).
constexpr int64_t kSortWidth = 1024;

int64_t sortWidthFromEnv() {
  const char* v = std::getenv("MOODAXIS_TOP_K_WIDTH");
  const long n = v ? std::strtol(v, nullptr, 10) : 0;
  return n >= 2 ? n : kSortWidth;
}

// Columns per block for narrowing a row of `width`: the fewest (a power of two) that leave at most
// `sortWidth` blocks, when they divide the row and leave at least 2k blocks; else 0 (sort the row as it is).
int64_t narrowingBlock(int64_t width, int64_t k, int64_t sortWidth) {
  if (width <= sortWidth) return 0;
  int64_t b = 2;
  while (width / b > sortWidth) b *= 2;
  return width % b == 0 && width / b >= 2 * k ? b : 0;
}

}  // namespace

// The top-k of every row of `matrix` [width, rows] without sorting whole rows: each row's blocks of b
// columns give their maxima (one pass over the logits), the k blocks with the largest maxima are kept (a
// sort of at most sortWidth_ values per row), and so on until a row fits one sort. Exact: a block holding
// one of the row's k largest logits has a maximum at least the k-th largest, and at most k blocks do (ties
// aside, where the kept logits are equal). Returns the ids [k, rows] (columns of `matrix`) and their logits.
ggml_tensor* DeviceTopK::blockTopK(ggml_context* ctx, ggml_tensor* matrix, int64_t k, ggml_tensor** values) const {
  const int64_t rows = matrix->ne[1];
  ggml_tensor* vals = matrix;     // [width, rows]: the candidates' logits
  ggml_tensor* origin = nullptr;  // [width, rows] f32: each candidate's column of `matrix` (null: its own)
  for (int64_t b; (b = narrowingBlock(vals->ne[0], k, sortWidth_)) > 0;) {
    const int64_t nb = vals->ne[0] / b;
    ggml_tensor* maxima = ggml_pool_1d(ctx, vals, GGML_OP_POOL_MAX, static_cast<int>(b), static_cast<int>(b), 0);  // [nb, rows]
    ggml_tensor* chosen = ggml_top_k(ctx, maxima, static_cast<int>(k));                          // [k, rows] blocks
    ggml_tensor* kept = ggml_get_rows(ctx, ggml_reshape_3d(ctx, vals, b, nb, rows), chosen);    // [b, k, rows]
    // their columns: block * b + 0 .. b-1 (whole numbers, exact in f32 below 2^24)
    ggml_tensor* firsts = ggml_reshape_3d(ctx, ggml_scale(ctx, ggml_cast(ctx, chosen, GGML_TYPE_F32), static_cast<float>(b)), 1, k, rows);
    ggml_tensor* within = ggml_repeat(ctx, ggml_reshape_3d(ctx, ggml_arange(ctx, 0.0f, static_cast<float>(b), 1.0f), b, 1, 1), kept);
    ggml_tensor* cols = ggml_reshape_2d(ctx, ggml_add(ctx, within, firsts), b * k, rows);
    origin = origin ? columnsAt(ctx, origin, cols) : cols;
    vals = ggml_reshape_2d(ctx, kept, b * k, rows);
  }
  ggml_tensor* ids = ggml_top_k(ctx, vals, static_cast<int>(k));                                // [k, rows]
  *values = ggml_get_rows(ctx, ggml_reshape_3d(ctx, vals, 1, vals->ne[0], rows), ids);         // [1, k, rows]
  if (origin) ids = ggml_cast(ctx, columnsAt(ctx, origin, ggml_cast(ctx, ids, GGML_TYPE_F32)), GGML_TYPE_I32);
  return ids;
}

// Rows [n, rows] of `table` [width, rows] (f32) at the columns `at` [n, rows] (f32 holding whole numbers).
ggml_tensor* DeviceTopK::columnsAt(ggml_context* ctx, ggml_tensor* table, ggml_tensor* at) {
  ggml_tensor* got = ggml_get_rows(ctx, ggml_reshape_3d(ctx, table, 1, table->ne[0], table->ne[1]), ggml_cast(ctx, at, GGML_TYPE_I32));
  return ggml_reshape_2d(ctx, got, at->ne[0], at->ne[1]);
}

DeviceTopK::DeviceTopK(int32_t k) : k_(k) {
  const char* sums = std::getenv("MOODAXIS_CAPTURE_SUMS");
  buildSums_ = !(sums && std::strcmp(sums, "0") == 0);
  const char* variant = std::getenv("MOODAXIS_TOP_K_BLOCKS");
  blocks_ = !(variant && std::strcmp(variant, "0") == 0);
  sortWidth_ = sortWidthFromEnv();
}

void DeviceTopK::apply(ggml_context* ctx, ggml_cgraph* graph, llama_sampler_data* data) {
  ggml_tensor* values = nullptr;
  ggml_tensor* const before = matrix_;
  ggml_tensor* ids = rowIds(ctx, data->logits, &values);
  if (matrix_ && matrix_ != before) {
    // The first row of a new graph: the matrices and the kept layers stay to the end of the graph.
    ggml_set_output(ids_);
    ggml_set_output(values_);
    keepLayers(ctx, graph);
    ggml_build_forward_expand(graph, ids_);     // (the block top-k's logits do not depend on its ids)
    ggml_build_forward_expand(graph, values_);  // (last: the tap's node ends the graph)
  }
  const bool ownOutputs = rowViews_ || !matrix_;  // a lone row (no matrix) always hands out its own
  data->candidates = ownOutputs ? ids : nullptr;
  data->logits = ownOutputs ? values : nullptr;
}

// The captured layers stay to the end of the graph. Where all have the same columns (every column is an
// output, or no layer is the pruned last one) their weighted sum and squared norms are built as well.
void DeviceTopK::keepLayers(ggml_context* ctx, ggml_cgraph* graph) {
  const auto& names = keepLayers_.names;
  kept_.assign(names.size(), nullptr);
  sums_ = KeptSums();
  bool same = !names.empty();
  for (size_t i = 0; i < names.size(); i++) {
    if ((kept_[i] = ggml_graph_get_tensor(graph, names[i].c_str()))) ggml_set_output(kept_[i]);
    same = same && kept_[i] && kept_[i]->type == GGML_TYPE_F32 && ggml_n_dims(kept_[i]) <= 2 && ggml_is_contiguous(kept_[i]) &&
           kept_[i]->ne[0] == kept_[0]->ne[0] && kept_[i]->ne[1] == kept_[0]->ne[1];
  }
  if (!same || !buildSums_) return;
  ggml_tensor* sum = nullptr;
  ggml_tensor* squares = nullptr;
  for (size_t i = 0; i < names.size(); i++) {
    ggml_tensor* layer = kept_[i];
    ggml_tensor* sq = ggml_sum_rows(ctx, ggml_sqr(ctx, layer));  // [1, cols]
    squares = squares ? ggml_concat(ctx, squares, sq, 0) : sq;
    const float w = keepLayers_.weights[i];
    if (w == 0.0f) continue;
    ggml_tensor* term = w == 1.0f ? layer : ggml_scale(ctx, layer, w);
    sum = sum ? ggml_add(ctx, sum, term) : term;
  }
  // (a lone layer of weight 1 is its own sum: read as it is)
  if (sum && std::find(kept_.begin(), kept_.end(), sum) == kept_.end()) {
    ggml_set_name(sum, "moodaxis_capture_sum");
    ggml_set_output(sum);
    ggml_build_forward_expand(graph, sum);
  }
  ggml_set_name(squares, "moodaxis_capture_squares");
  ggml_set_output(squares);
  ggml_build_forward_expand(graph, squares);
  sums_.sum = sum;
  sums_.squares = squares;
}

void DeviceTopK::beginDecode(bool rowViews) {
  rowViews_ = rowViews;
  rowsRead_ = 0;
}

bool DeviceTopK::isEnd(const ggml_tensor* t) { return std::strcmp(t->name, kLogitsName) == 0; }

void DeviceTopK::readGraphEnd(Capture& capture) {
  capture.consumeKept(kept_, sums_.sum, sums_.squares);
  if (!ids_ || !values_) return;
  const int64_t width = ids_->ne[0];
  const int64_t rows = ids_->ne[1] - 1;  // the logits matrix has one padding row at the end
  if (rows <= 0) return;
  rowWidth_ = static_cast<int32_t>(width);
  const size_t first = static_cast<size_t>(rowsRead_) * width;
  const size_t count = static_cast<size_t>(rows) * width;
  hostIds_.resize(first + count);
  hostLogits_.resize(first + count);
  // both matrices are contiguous: [width, rows + 1] ids and [1, width, rows + 1] logits
  ggml_backend_tensor_get(ids_, hostIds_.data() + first, 0, count * sizeof(llama_token));
  ggml_backend_tensor_get(values_, hostLogits_.data() + first, 0, count * sizeof(float));
  rowsRead_ += static_cast<int>(rows);
}

std::vector<llama_sampler_seq_config> DeviceTopK::chains(int nSeq) {
  std::vector<llama_sampler_seq_config> configs;
  chains_.clear();
  for (int s = 0; s < nSeq; s++) {
    llama_sampler* chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
    llama_sampler_chain_add(chain, llama_sampler_init(&topkInterface, new SeqTopK{this}));
    chains_.emplace_back(chain);
    configs.push_back({s, chain});
  }
  return configs;
}

bool DeviceTopK::supported(ggml_backend_buffer_type_t buft) {
  if (supported_ >= 0) return supported_ == 1;
  supported_ = 0;
  const ggml_backend_dev_t dev = buft ? ggml_backend_buft_get_device(buft) : nullptr;
  if (!dev) return (supported_ = 1) == 1;  // a host buffer type without a device: the CPU runs every op
  ggml_init_params params = {128 * ggml_tensor_overhead() + ggml_graph_overhead(), nullptr, true};
  ggml_context* ctx = ggml_init(params);
  if (!ctx) return false;
  // (wide enough rows that the block top-k narrows them: every op it builds is asked about)
  ggml_tensor* logits = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, blocks_ ? 64 * sortWidth_ : kSortWidth, 4);
  ggml_tensor* values = nullptr;
  reset();
  ggml_tensor* row = ggml_view_1d(ctx, logits, logits->ne[0], logits->nb[1]);
  ggml_tensor* ids = rowIds(ctx, row, &values);
  ggml_tensor* const idsOut = matrix_ == logits ? ids_ : ids;
  ggml_tensor* const valuesOut = values_ ? values_ : values;
  bool ok = ggml_backend_dev_supports_op(dev, idsOut) && ggml_backend_dev_supports_op(dev, valuesOut);
  if (ok && blocks_) {  // every op of the narrowing, too
    ggml_cgraph* probe = ggml_new_graph(ctx);
    ggml_build_forward_expand(probe, idsOut);
    ggml_build_forward_expand(probe, valuesOut);
    for (int i = 0; i < ggml_graph_n_nodes(probe) && ok; i++) ok = ggml_backend_dev_supports_op(dev, ggml_graph_node(probe, i));
  }
  reset();
  ggml_free(ctx);
  supported_ = ok ? 1 : 0;
  return ok;
}

ggml_tensor* DeviceTopK::rowIds(ggml_context* ctx, ggml_tensor* row, ggml_tensor** values) {
  ggml_tensor* matrix = row->view_src;
  const int64_t k = std::min<int64_t>(k_, row->ne[0]);
  const bool batched = matrix && ggml_n_dims(matrix) == 2 && matrix->type == GGML_TYPE_F32 &&
                       matrix->ne[0] == ggml_nelements(row) && ggml_is_contiguous(matrix) && row->view_offs % matrix->nb[1] == 0;
  if (!batched) {  // a lone row (llama.cpp's probe graph, or a layout this code does not know)
    ggml_tensor* flat = ggml_reshape_1d(ctx, row, ggml_nelements(row));
    ggml_tensor* ids = ggml_top_k(ctx, flat, static_cast<int>(k));
    *values = ggml_get_rows(ctx, ggml_reshape_2d(ctx, flat, 1, flat->ne[0]), ids);
    return ids;
  }
  if (matrix != matrix_) {  // the first row of this graph: one top-k over every row at once
    matrix_ = matrix;
    if (blocks_) {
      ids_ = blockTopK(ctx, matrix, k, &values_);                                                 // [k, rows]
    } else {
      ids_ = ggml_top_k(ctx, matrix, static_cast<int>(k));                                        // [k, rows]
      values_ = ggml_get_rows(ctx, ggml_reshape_3d(ctx, matrix, 1, matrix->ne[0], matrix->ne[1]), ids_);  // [1, k, rows]
    }
    ggml_set_name(ids_, kIdsName);
    ggml_set_name(values_, kLogitsName);
  }
  const size_t r = row->view_offs / matrix->nb[1];
  *values = ggml_view_1d(ctx, values_, k, r * values_->nb[2]);
  return ggml_view_1d(ctx, ids_, k, r * ids_->nb[1]);
}

}  // namespace moodaxis
