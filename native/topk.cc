#include "topk.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

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

// The widest row ggml's CUDA backend sorts within one block (bitonic, in shared memory); a wider one goes
// through a segmented sort of every element.
constexpr int64_t kSortWidth = 1024;

int64_t sortWidthFromEnv() {
  const char* v = std::getenv("MOODAXIS_TOPK_WIDTH");
  if (!v || !*v) return kSortWidth;
  const long n = std::strtol(v, nullptr, 10);
  return n > 0 ? n : 0;
}

// Rows [n, rows] of `table` [width, rows] (f32) at the columns `at` [n, rows] (f32 holding whole numbers).
ggml_tensor* columnsAt(ggml_context* ctx, ggml_tensor* table, ggml_tensor* at) {
  ggml_tensor* index = ggml_cast(ctx, at, GGML_TYPE_I32);
  ggml_tensor* got = ggml_get_rows(ctx, ggml_reshape_3d(ctx, table, 1, table->ne[0], table->ne[1]), index);
  return ggml_reshape_2d(ctx, got, at->ne[0], at->ne[1]);
}

}  // namespace

ggml_tensor* narrowedTopK(ggml_context* ctx, ggml_tensor* matrix, int64_t k, int64_t sortWidth, ggml_tensor** values) {
  const int64_t rows = matrix->ne[1];
  ggml_tensor* vals = matrix;     // [width, rows]: the candidates' logits
  ggml_tensor* origin = nullptr;  // [width, rows] f32: each candidate's column in the matrix (null: its own)
  while (sortWidth > 0 && vals->ne[0] > sortWidth) {
    const int64_t width = vals->ne[0];
    int64_t b = 2;  // columns per block: the fewest that leave at most sortWidth blocks
    while (width / b > sortWidth) b *= 2;
    const int64_t nb = width / b, rest = width - nb * b;
    if (nb <= k || k * b + rest > width / 2) break;  // (too little left out to be worth a round)
    ggml_tensor* blocks = rest == 0 ? ggml_reshape_3d(ctx, vals, b, nb, rows)
                                    : ggml_cont(ctx, ggml_view_3d(ctx, vals, b, nb, rows, b * sizeof(float), vals->nb[1], 0));
    ggml_tensor* flat = ggml_reshape_2d(ctx, blocks, b, nb * rows);
    // each block's largest logit (an argmax clamped into the block: a block of NaNs has none)
    ggml_tensor* at = ggml_cast(ctx, ggml_clamp(ctx, ggml_cast(ctx, ggml_argmax(ctx, flat), GGML_TYPE_F32), 0.0f, static_cast<float>(b - 1)), GGML_TYPE_I32);
    ggml_tensor* maxima = ggml_get_rows(ctx, ggml_reshape_3d(ctx, flat, 1, b, nb * rows), ggml_reshape_2d(ctx, at, 1, nb * rows));
    ggml_tensor* chosen = ggml_top_k(ctx, ggml_reshape_2d(ctx, maxima, nb, rows), static_cast<int>(k));  // [k, rows] blocks
    ggml_tensor* keptVals = ggml_get_rows(ctx, blocks, chosen);  // [b, k, rows]
    // their columns within the row: block * b + 0..b-1
    ggml_tensor* firsts = ggml_reshape_3d(ctx, ggml_scale(ctx, ggml_cast(ctx, chosen, GGML_TYPE_F32), static_cast<float>(b)), 1, k, rows);
    ggml_tensor* within = ggml_repeat(ctx, ggml_reshape_3d(ctx, ggml_arange(ctx, 0.0f, static_cast<float>(b), 1.0f), b, 1, 1), keptVals);
    ggml_tensor* keptCols = ggml_reshape_2d(ctx, ggml_add(ctx, within, firsts), b * k, rows);
    keptVals = ggml_reshape_2d(ctx, keptVals, b * k, rows);
    if (rest > 0) {  // the row's last columns, in no block: all stay
      ggml_tensor* tail = ggml_cont(ctx, ggml_view_2d(ctx, vals, rest, rows, vals->nb[1], nb * b * sizeof(float)));
      ggml_tensor* tailCols = ggml_arange(ctx, static_cast<float>(nb * b), static_cast<float>(width), 1.0f);
      keptVals = ggml_concat(ctx, keptVals, tail, 0);
      keptCols = ggml_concat(ctx, keptCols, ggml_repeat(ctx, ggml_reshape_2d(ctx, tailCols, rest, 1), tail), 0);
    }
    origin = origin ? columnsAt(ctx, origin, keptCols) : keptCols;
    vals = keptVals;
  }
  ggml_tensor* ids = ggml_top_k(ctx, vals, static_cast<int>(k));  // [k, rows]
  *values = ggml_get_rows(ctx, ggml_reshape_3d(ctx, vals, 1, vals->ne[0], rows), ids);  // [1, k, rows]
  if (origin) ids = ggml_cast(ctx, columnsAt(ctx, origin, ggml_cast(ctx, ids, GGML_TYPE_F32)), GGML_TYPE_I32);
  return ids;
}

DeviceTopK::DeviceTopK(int32_t k) : k_(k), sortWidth_(sortWidthFromEnv()) {
  const char* sums = std::getenv("MOODAXIS_CAPTURE_SUMS");
  buildSums_ = !(sums && std::strcmp(sums, "0") == 0);
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
    // (expanded last: the tap's node, values_, ends the graph)
    ggml_build_forward_expand(graph, ids_);
    ggml_build_forward_expand(graph, values_);
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

void DeviceTopK::readRows() {
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

// Whether the device runs every op of the batched top-k (on matrices that take each path of narrowedTopK).
bool DeviceTopK::supported(ggml_backend_buffer_type_t buft) {
  if (supported_ >= 0) return supported_ == 1;
  supported_ = 0;
  const ggml_backend_dev_t dev = buft ? ggml_backend_buft_get_device(buft) : nullptr;
  if (!dev) return (supported_ = 1) == 1;  // a host buffer type without a device: the CPU runs every op
  ggml_init_params params = {256 * ggml_tensor_overhead() + ggml_graph_overhead(), nullptr, true};
  ggml_context* ctx = ggml_init(params);
  if (!ctx) return false;
  ggml_cgraph* graph = ggml_new_graph(ctx);
  const int64_t k = std::max<int64_t>(1, std::min<int64_t>(k_, 50));
  const int64_t sortWidth = sortWidth_ > 0 ? sortWidth_ : kSortWidth;
  for (int64_t w : {sortWidth * 64 + 3, sortWidth}) {  // narrowed (blocks and a rest), and sorted at once
    ggml_tensor* values = nullptr;
    ggml_tensor* ids = narrowedTopK(ctx, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, w, 4), k, sortWidth, &values);
    ggml_build_forward_expand(graph, ids);
    ggml_build_forward_expand(graph, values);
  }
  bool ok = true;
  for (int i = 0; i < ggml_graph_n_nodes(graph) && ok; i++) {
    ggml_tensor* node = ggml_graph_node(graph, i);
    const ggml_op op = node->op;
    const bool layout = op == GGML_OP_NONE || op == GGML_OP_VIEW || op == GGML_OP_RESHAPE || op == GGML_OP_PERMUTE || op == GGML_OP_TRANSPOSE;
    if (!layout) ok = ggml_backend_dev_supports_op(dev, node);
  }
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
    ids_ = narrowedTopK(ctx, matrix, k, sortWidth_, &values_);  // [k, rows] and [1, k, rows]
    ggml_set_name(ids_, kIdsName);
    ggml_set_name(values_, kLogitsName);
  }
  const size_t r = row->view_offs / matrix->nb[1];
  *values = ggml_view_1d(ctx, values_, k, r * values_->nb[2]);
  return ggml_view_1d(ctx, ids_, k, r * ids_->nb[1]);
}

}  // namespace moodaxis
