// Weight memory: whole-model bytes under a scheme and policy, and as the checkpoint ships.
#include "llmcost/memory.h"

#include "llmcost/glob.h"

#include <cctype>

namespace llmcost {

namespace {

int64_t n_experts_impl(const ModelIR& ir) {
  for (const auto& L : ir.layers)
    for (const auto& op : L.ops)
      if (op.kind == OpKind::RoutedExperts) return op.moe.n_experts;
  return 0;
}

TensorSite site_impl(const Op& op, const ModelIR& ir, int64_t n_experts) {
  TensorSite s;
  s.layer = op.layer;
  s.n_layers = ir.n_layers;
  s.n_experts = n_experts;
  s.d_model = ir.d_model;
  s.tied_embeddings = ir.tie_word_embeddings;
  s.op_kind = op.kind;
  return s;
}

int64_t op_bytes_impl(const Op& op, QuantScheme s, const QuantPolicy& p, const ModelIR& ir, int64_t n_experts) {
  return op_weight_bytes(op, s, p, site_impl(op, ir, n_experts));
}

template <class F>
void for_each_main_op(const ModelIR& ir, F f) {
  for (const auto& op : ir.pre) f(op);
  for (const auto& L : ir.layers)
    for (const auto& op : L.ops) f(op);
  for (const auto& op : ir.post) f(op);
}

// A module path is excluded when a pattern names it or one of its parents.
bool module_excluded(const std::string& path, const std::vector<std::string>& patterns) {
  for (const auto& pat : patterns) {
    for (size_t end = 0; end != std::string::npos;) {
      end = path.find('.', end + 1);
      std::string prefix = end == std::string::npos ? path : path.substr(0, end);
      if (module_glob_match(pat, prefix)) return true;
    }
  }
  return false;
}

}  // namespace

int64_t op_weight_bytes(const Op& op, QuantScheme s, const QuantPolicy& p, const ModelIR& ir) {
  return op_bytes_impl(op, s, p, ir, n_experts_impl(ir));
}

int64_t op_weight_bytes(const Op& op, QuantScheme s, const QuantPolicy& p, const TensorSite& site) {
  int64_t b = 0;
  for (const auto& t : op.tensors) b = checked_add(b, tensor_bytes(t, s, p, site));
  return checked_mul(b, op.copies());
}

int64_t model_n_experts(const ModelIR& ir) { return n_experts_impl(ir); }

TensorSite op_site(const Op& op, const ModelIR& ir, int64_t n_experts) { return site_impl(op, ir, n_experts); }

int64_t op_copy_read_bytes(const Op& op, QuantScheme s, const QuantPolicy& p, const ModelIR& ir) {
  return op_copy_read_bytes(op, s, p, site_impl(op, ir, n_experts_impl(ir)));
}

int64_t op_copy_read_bytes(const Op& op, QuantScheme s, const QuantPolicy& p, const TensorSite& site) {
  int64_t b = 0;
  for (const auto& t : op.tensors) b = checked_add(b, tensor_read_bytes(t, s, p, site));
  return b;
}

int64_t weight_bytes(const ModelIR& ir, QuantScheme s, const QuantPolicy& p) {
  const int64_t ne = n_experts_impl(ir);
  int64_t total = 0;
  for_each_main_op(ir, [&](const Op& op) { total = checked_add(total, op_bytes_impl(op, s, p, ir, ne)); });
  return total;
}

std::array<int64_t, kNumParamGroups> weight_bytes_by_group(const ModelIR& ir, QuantScheme s, const QuantPolicy& p) {
  const int64_t ne = n_experts_impl(ir);
  std::array<int64_t, kNumParamGroups> by{};
  for_each_main_op(ir, [&](const Op& op) {
    TensorSite site = site_impl(op, ir, ne);
    for (const auto& t : op.tensors) {
      int64_t b = checked_mul(tensor_bytes(t, s, p, site), op.copies());
      auto& slot = by[static_cast<int>(t.group)];
      slot = checked_add(slot, b);
    }
  });
  return by;
}

int64_t mtp_weight_bytes(const ModelIR& ir, QuantScheme s, const QuantPolicy& p) {
  const int64_t ne = n_experts_impl(ir);
  int64_t total = 0;
  for (const auto& L : ir.mtp_layers)
    for (const auto& op : L.ops) total = checked_add(total, op_bytes_impl(op, s, p, ir, ne));
  return total;
}

std::optional<int64_t> weight_bytes_as_shipped(const ModelIR& ir) {
  if (!ir.shipped_quant) return std::nullopt;
  const ShippedQuant& q = *ir.shipped_quant;
  std::string method;
  for (char c : q.method) method += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));

  if (method == "fp8") {
    // Block-wise fp8 (DeepSeek-V3 / R1, Kimi-K2): every linear weight of attention, dense MLP
    // and experts in e4m3 with an fp32 scale per 128x128 block; embeddings, lm_head, norms and
    // the router gate in bf16. Only 128x128 blocks are modelled.
    if (q.weight_block_size != std::vector<int64_t>{128, 128}) return std::nullopt;
    return weight_bytes(ir, QuantScheme::FP8Block128, QuantPolicy{});
  }
  if (method == "mxfp4") {
    // transformers' Mxfp4Config: every linear weight is MXFP4 unless its module (or a parent)
    // matches modules_to_not_convert; IR op names are the HF module paths.
    int64_t total = 0;
    for_each_main_op(ir, [&](const Op& op) {
      const bool keep = module_excluded(op.name, q.modules_to_not_convert);
      int64_t b = 0;
      for (const auto& t : op.tensors) {
        if (t.tied) continue;
        if (keep || t.use != TensorUse::Matmul)
          b = checked_add(b, checked_mul(t.numel, 2));
        else
          b = checked_add(b, matrix_bytes(t.numel / t.in_features, t.in_features, QuantScheme::MXFP4));
      }
      total = checked_add(total, checked_mul(b, op.copies()));
    });
    return total;
  }
  return std::nullopt;
}

}  // namespace llmcost
