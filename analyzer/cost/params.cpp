// Parameter counting: total, active (per token), active_compute, MTP and the breakdown.
#include "llmcost/params.h"

#include "llmcost/value.h"

namespace llmcost {

static int64_t stored_numel(const Tensor& t) { return t.tied ? 0 : t.numel; }

int64_t op_stored_params(const Op& op) {
  int64_t n = 0;
  for (const auto& t : op.tensors) n = checked_add(n, stored_numel(t));
  return checked_mul(n, op.copies());
}

int64_t op_active_params(const Op& op) {
  int64_t n = 0;
  for (const auto& t : op.tensors) n = checked_add(n, stored_numel(t));
  return checked_mul(n, op.active_copies());
}

static ParamCounts count_params_unchecked(const ModelIR& ir);

namespace {
void add_op(const Op& op, ParamCounts& c) {
  for (const auto& t : op.tensors) {
    int64_t stored = checked_mul(stored_numel(t), op.copies());
    int64_t active = checked_mul(stored_numel(t), op.active_copies());
    c.total = checked_add(c.total, stored);
    c.active = checked_add(c.active, active);
    c.breakdown[static_cast<int>(t.group)] = checked_add(c.breakdown[static_cast<int>(t.group)], stored);
    // active_compute: weights actually multiplied per token. A gathered table is not,
    // unless it is tied to the lm_head (then the tied alias below brings it back in).
    if (t.use != TensorUse::Gather) {
      int64_t used = t.tied ? checked_mul(t.numel, op.active_copies()) : active;
      c.active_compute = checked_add(c.active_compute, used);
    }
  }
}
}  // namespace

ParamCounts count_params(const ModelIR& ir) {
  try {
    return count_params_unchecked(ir);
  } catch (const Error& e) {
    throw Error((ir.source_file.empty() ? std::string("model") : ir.source_file) + ": " + e.what(), e.kind());
  }
}

static ParamCounts count_params_unchecked(const ModelIR& ir) {
  ParamCounts c;
  for (const auto& op : ir.pre) add_op(op, c);
  for (const auto& layer : ir.layers)
    for (const auto& op : layer.ops) add_op(op, c);
  for (const auto& op : ir.post) add_op(op, c);
  for (const auto& layer : ir.mtp_layers)
    for (const auto& op : layer.ops) {
      c.mtp = checked_add(c.mtp, op_stored_params(op));
      for (const auto& t : op.tensors)
        if (t.role == TensorRole::TokenEmbedding || t.role == TensorRole::LmHead)
          c.mtp_shared_copies = checked_add(c.mtp_shared_copies, t.numel);
    }
  return c;
}

}  // namespace llmcost
