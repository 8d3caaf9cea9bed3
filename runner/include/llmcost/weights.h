// Backend-independent host staging of a slice: every stored tensor's values (read from a
// safetensors checkpoint by its IR checkpoint name, or seeded synthetic) in the dtype the backend
// stores, streamed tensor by tensor into host memory the backend hands out; the KV cache geometry
// of an attention op and its seeded synthetic contents. A backend only allocates, uploads and
// looks its tensors up by (op, role, bias, expert) in a WeightTable.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "llmcost/backend.h"
#include "llmcost/model_ir.h"
#include "llmcost/safetensors.h"

namespace llmcost {

// One stored tensor of a slice. Routed experts stored one module per expert give one slot per
// expert; stacked experts one slot of shape [n_experts, ...] (expert -1).
struct WeightSlot {
  const Op* op = nullptr;
  const Tensor* tensor = nullptr;
  int layer = -1;               // decoder layer index; -1 for embeddings, final norm, lm_head
  int64_t expert = -1;          // routed expert index; -1 otherwise
  std::string name;             // checkpoint name (the expert's "{e}" filled in)
  std::vector<int64_t> shape;   // as stored in the checkpoint
  WeightDtype dtype = WeightDtype::FP32;  // matmul and gathered tensors: the run's weight dtype; vectors fp32
  int64_t rows = 0, cols = 0;   // 2-D view: [shape[0], rest]; vectors [1, n]
  int64_t numel() const { return rows * cols; }
};

// Every stored tensor of `ir` in model order (embeddings, layers, final norm, lm_head), each
// once; a tied lm_head is left out (it is the embedding table).
std::vector<WeightSlot> weight_slots(const ModelIR& ir, WeightDtype weight_dtype);

// Where staged values go. host_buffer() returns host memory for slot.numel() values of
// slot.dtype (uint16_t bf16 bits or float) that stays valid until staged(); staged() is called
// once it holds the values (a device backend uploads it there; the CPU keeps it as the tensor).
class WeightSink {
 public:
  virtual ~WeightSink() = default;
  virtual void* host_buffer(const WeightSlot& slot) = 0;
  virtual void staged(const WeightSlot& slot) { (void)slot; }
};

// The host threads staging and synthetic fills use: `requested` (BackendOptions::threads) when
// > 0, else every hardware thread.
int host_threads(int requested);

// Stages every slot of `ir` into `sink`, one tensor at a time. With opts.weights_path the
// checkpoint is opened and verified against the slice first (one-line errors: a missing tensor,
// a wrong shape or dtype), then each tensor read by name and converted to its slot's dtype;
// otherwise seeded synthetic values from opts.seed and the checkpoint name: matmul weights
// U(-1, 1) / sqrt(in), tables U(-1, 1), norm scales 1 + 0.1 U, biases 0.1 U (bf16 rounded to
// nearest even). Norm scales come out as applied (ir.norm_weight_offset + w: gemma's 1 + w).
// Throws Error for an [in, out] (Conv1D) matmul weight before touching its values.
void stage_weights(const ModelIR& ir, const BackendOptions& opts, WeightSink& sink);

// The embedding op whose table a tied lm_head multiplies. Throws Error
// "<op>: tied lm_head without a token embedding in the slice" when the slice has none.
const Op& tied_embedding(const ModelIR& ir, const Op& lm_head);

// A backend's stored tensors by (op, role, bias, expert) and by checkpoint name. T is the
// backend's tensor type; entries never move once added.
template <class T>
class WeightTable {
 public:
  // The entry of `slot` (default-constructed on first use), indexed under slot.name.
  T& add(const WeightSlot& slot) {
    T& t = by_key_[{slot.op, slot.tensor->role, slot.tensor->bias, slot.expert}];
    by_name_[slot.name] = &t;
    return t;
  }
  // After staging: every tied lm_head of `ir` resolves to its embedding table.
  void tie(const ModelIR& ir) {
    for (const Op& op : ir.post)
      for (const Tensor& t : op.tensors)
        if (t.tied) tied_[&op] = find(tied_embedding(ir, op), TensorRole::TokenEmbedding, false, -1);
  }
  // nullptr when the op has no such tensor.
  const T* find(const Op& op, TensorRole role, bool bias, int64_t expert) const {
    if (role == TensorRole::LmHead && !bias) {
      auto t = tied_.find(&op);
      if (t != tied_.end()) return t->second;
    }
    auto it = by_key_.find({&op, role, bias, expert});
    return it == by_key_.end() ? nullptr : &it->second;
  }
  const T* by_name(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }
  void clear() {
    by_key_.clear();
    by_name_.clear();
    tied_.clear();
  }

 private:
  std::map<std::tuple<const Op*, TensorRole, bool, int64_t>, T> by_key_;
  std::map<std::string, const T*> by_name_;
  std::map<const Op*, const T*> tied_;
};

// KV cache geometry of an attention op, per cached position. Standard: keys n_kv_heads x
// head_dim, values n_kv_heads x v_head_dim. MLA: k = the compressed c_kv (kv_lora_rank), v = the
// decoupled rope key k_pe (qk_rope_head_dim), one "head".
struct KvLayout {
  int64_t k_width = 0, v_width = 0;  // all heads
  int64_t kv_heads = 1;
  int64_t k_head_dim() const { return k_width / kv_heads; }
  int64_t v_head_dim() const { return v_width / kv_heads; }
};
KvLayout kv_layout(const Op& attention);

// Deterministic synthetic cache contents (fill_kv): the first `n` values (positions x head dim,
// position-major) of sequence `seq`'s KV head `head` of `attention`'s keys (value = false) or
// values, as bf16 bits U(-1, 1) from `seed` and the op name, into out[0, n), on host_threads(threads)
// threads.
void synthetic_kv(uint64_t seed, const Op& attention, int64_t seq, int64_t head, bool value, int64_t n, uint16_t* out,
                  int threads);
// The hash stream of one attention op's synthetic cache (the per-element values:
// synthetic_kv_unit in runner/src/synthetic.h, which the CUDA backend's fill kernel runs too).
uint64_t synthetic_kv_stream(uint64_t seed, const Op& attention);

// ---- checkpoint vs ModelIR ----

struct ExpectedTensor {
  std::string name;            // full Hugging Face name, e.g. "model.layers.0.self_attn.q_proj.weight"
  std::vector<int64_t> shape;  // as stored
  std::string op;              // the IR op it belongs to
};
// Every tensor the IR stores, under its Hugging Face name: "<op.name>.<tensor.name>"; routed
// experts one module per expert ("<op>.<e>.<tensor>") or, when stacked, one tensor of shape
// [n_experts, ...]; a tied lm_head is left out (stored once, as the embedding). MTP layers
// are not included. `layers`: only these decoder layer indices (empty = all); embeddings,
// final norm and lm_head are always included.
std::vector<ExpectedTensor> expected_checkpoint_tensors(const ModelIR& ir, const std::vector<int>& layers = {});
// Throws the first problem as one line: "<file>: tensor '<name>' not found" (with a hint
// when the config ships quantized weights), "... has shape [..], expected [..]" or a non-float
// dtype. Extra tensors in the checkpoint (FP8 scales, MTP layers) are allowed.
void verify_checkpoint(const SafetensorsCheckpoint& ck, const std::vector<ExpectedTensor>& expected,
                       const ModelIR* ir = nullptr);


}  // namespace llmcost
