// Weight memory: whole-model bytes under a scheme and policy, and as the checkpoint ships.
#include "llmcost/memory.h"

#include <algorithm>

#include "llmcost/error.h"

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
  if (!ir.shipped_quant || !ir.shipped_quant->understood) return std::nullopt;
  return weight_bytes(ir, QuantScheme::Auto, QuantPolicy{});
}

void check_as_shipped(const ModelIR& ir) {
  if (ir.shipped_quant && !ir.shipped_quant->understood)
    throw Error(ir.shipped_quant->source + ": as shipped (--quant auto): " + ir.shipped_quant->description +
                    "; pass --quant SCHEME to ask what-if",
                ErrorKind::Unsupported);
}

std::string weight_format_description(const ModelIR& ir, QuantScheme s, const QuantPolicy& p) {
  if (s != QuantScheme::Auto) return std::string(quant_scheme_name(s)) + (is_plain_dtype(s) ? "" : " (policy " + quant_policy_name(p) + ")");
  if (ir.shipped_quant && ir.shipped_quant->understood) return "as shipped: " + ir.shipped_quant->description;
  const std::string dt = ir.torch_dtype.empty() ? "bf16, no dtype in the config" : ir.torch_dtype;
  return "as shipped: " + std::string(stored_format_name(plain_stored_format(ir.torch_dtype))) + " (unquantized; config dtype " + dt + ")";
}

std::vector<std::pair<std::string, int64_t>> weight_bytes_by_format(const ModelIR& ir, QuantScheme s, const QuantPolicy& p) {
  const int64_t ne = n_experts_impl(ir);
  std::vector<std::pair<std::string, int64_t>> by;
  for_each_main_op(ir, [&](const Op& op) {
    TensorSite site = site_impl(op, ir, ne);
    for (const auto& t : op.tensors) {
      if (t.tied || t.numel == 0) continue;
      const int64_t b = checked_mul(tensor_bytes(t, s, p, site), op.copies());
      const std::string name = stored_format(t, s, p, site);
      auto it = std::find_if(by.begin(), by.end(), [&](const auto& e) { return e.first == name; });
      if (it == by.end()) by.emplace_back(name, b);
      else it->second = checked_add(it->second, b);
    }
  });
  std::sort(by.begin(), by.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return by;
}

}  // namespace llmcost
