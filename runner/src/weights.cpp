// Host staging of a slice's weights and KV caches for every backend (weights.h): which tensors a
// slice stores, their values from a checkpoint or the seed, the KV geometry and synthetic KV.
#include "llmcost/weights.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <thread>

#include "llmcost/checkpoint.h"
#include "llmcost/cpu_kernels.h"
#include "llmcost/error.h"
#include "llmcost/safetensors.h"
#include "synthetic.h"

namespace llmcost {

namespace {

WeightSlot make_slot(const Op& op, const Tensor& t, int layer, int64_t expert, std::string name,
                     std::vector<int64_t> shape, WeightDtype weight_dtype) {
  WeightSlot s;
  s.op = &op;
  s.tensor = &t;
  s.layer = layer;
  s.expert = expert;
  s.name = std::move(name);
  s.shape = std::move(shape);
  s.dtype = t.use != TensorUse::Vector ? weight_dtype : WeightDtype::FP32;
  int64_t n = 1;
  for (int64_t d : s.shape) n *= d;
  s.rows = s.shape.size() >= 2 ? s.shape[0] : 1;
  s.cols = s.rows > 0 ? n / s.rows : 0;
  return s;
}

// Seeded values of `s` into dst: matmul weights U(-1, 1) / sqrt(in), tables U(-1, 1), norm scales
// 1 + 0.1 U (before the norm offset, which stage_weights adds), biases 0.1 U: activations stay
// O(1) through any depth of slice.
void fill_synthetic(const WeightSlot& s, float norm_offset, uint64_t seed, int threads, void* dst) {
  const Tensor& t = *s.tensor;
  const uint64_t stream = mix64(seed) ^ hash_name(s.name);
  float scale = 0.1f, offset = 0.0f;
  if (t.use == TensorUse::Matmul) scale = 1.0f / std::sqrt(static_cast<float>(std::max<int64_t>(1, t.in_features)));
  else if (t.use == TensorUse::Gather) scale = 1.0f;
  else if (t.group == ParamGroup::Norm && !t.bias) offset = 1.0f - norm_offset;  // effective scale 1 + 0.1 U either way
  const bool bf16 = s.dtype == WeightDtype::BF16;
  cpu::parallel_for(threads, s.numel(), [&](int64_t i_begin, int64_t i_end) {
    for (int64_t i = i_begin; i < i_end; ++i) {
      const float v = offset + scale * unit(stream, static_cast<uint64_t>(i));
      if (bf16) static_cast<uint16_t*>(dst)[i] = fp32_to_bf16(v);
      else static_cast<float*>(dst)[i] = v;
    }
  });
}

}  // namespace

std::vector<WeightSlot> weight_slots(const ModelIR& ir, WeightDtype weight_dtype) {
  // Which tensors the IR stores, under which names and shapes, is the analyzer's list (the same
  // one `llmcost analyze` checks a checkpoint's headers against).
  std::vector<WeightSlot> out;
  for (IrCheckpointTensor& t : ir_checkpoint_tensors(ir))
    out.push_back(make_slot(*t.op, *t.tensor, t.layer, t.expert, std::move(t.name), std::move(t.shape), weight_dtype));
  return out;
}

int host_threads(int requested) {
  return requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void stage_weights(const ModelIR& ir, const BackendOptions& opts, WeightSink& sink) {
  std::unique_ptr<SafetensorsCheckpoint> ck;
  if (!opts.weights_path.empty()) {
    ck = std::make_unique<SafetensorsCheckpoint>(opts.weights_path);
    verify_checkpoint(*ck, expected_checkpoint_tensors(ir), &ir);
  }
  const int threads = host_threads(opts.threads);
  for (const WeightSlot& s : weight_slots(ir, opts.weight_dtype)) {
    const Tensor& t = *s.tensor;
    // Kernels multiply [out, in]; a Conv1D-style [in, out] weight would need a transpose.
    if (t.use == TensorUse::Matmul && t.shape.size() == 2 && t.in_features == t.shape[0] && t.shape[0] != t.shape[1])
      throw Error(s.name + ": [in, out] (Conv1D) weight layout is not supported by the runner");
    // Norm scales multiply as (norm_weight_offset + w): gemma stores w around 0, applies 1 + w.
    const float norm_offset = t.group == ParamGroup::Norm && !t.bias ? static_cast<float>(ir.norm_weight_offset) : 0.0f;
    void* dst = sink.host_buffer(s);
    if (ck) {
      if (s.dtype == WeightDtype::BF16) ck->read_bf16(s.name, s.shape, static_cast<uint16_t*>(dst));
      else ck->read_f32(s.name, s.shape, static_cast<float*>(dst));
    } else {
      fill_synthetic(s, norm_offset, opts.seed, threads, dst);
    }
    if (norm_offset != 0.0f && s.dtype == WeightDtype::FP32) {  // norm scales are vectors: always fp32
      float* v = static_cast<float*>(dst);
      for (int64_t i = 0; i < s.numel(); ++i) v[i] += norm_offset;
    }
    sink.staged(s);
  }
}

const Op& tied_embedding(const ModelIR& ir, const Op& lm_head) {
  for (const Op& op : ir.pre)
    if (op.kind == OpKind::TokenEmbedding && find_role(op, TensorRole::TokenEmbedding)) return op;
  throw Error(lm_head.name + ": tied lm_head without a token embedding in the slice");
}

KvLayout kv_layout(const Op& attention) {
  const AttentionSpec& a = attention.attn;
  KvLayout l;
  if (a.type == AttentionType::MLA) {
    l.k_width = a.kv_lora_rank;
    l.v_width = a.qk_rope_head_dim;
  } else {
    l.k_width = a.n_kv_heads * a.head_dim;
    l.v_width = a.n_kv_heads * a.v_head_dim;
    l.kv_heads = a.n_kv_heads;
  }
  return l;
}

uint64_t synthetic_kv_stream(uint64_t seed, const Op& attention) { return mix64(seed + 7) ^ hash_name(attention.name); }

void synthetic_kv(uint64_t seed, const Op& attention, int64_t seq, int64_t head, bool value, int64_t n, uint16_t* out,
                  int threads) {
  const int64_t heads = kv_layout(attention).kv_heads;
  const uint64_t stream = synthetic_kv_stream(seed, attention);
  cpu::parallel_for(host_threads(threads), n, [&](int64_t i_begin, int64_t i_end) {
    for (int64_t i = i_begin; i < i_end; ++i) out[i] = fp32_to_bf16(synthetic_kv_unit(stream, seq, heads, head, value, i));
  });
}

// ---------------------------------------------------------------- checkpoint vs ModelIR

std::vector<ExpectedTensor> expected_checkpoint_tensors(const ModelIR& ir, const std::vector<int>& layers) {
  std::vector<ExpectedTensor> out;
  for (WeightSlot& s : weight_slots(ir, WeightDtype::FP32))
    if (s.layer < 0 || layers.empty() || std::find(layers.begin(), layers.end(), s.layer) != layers.end())
      out.push_back({std::move(s.name), std::move(s.shape), s.op->name});
  return out;
}

void verify_checkpoint(const SafetensorsCheckpoint& ck, const std::vector<ExpectedTensor>& expected, const ModelIR* ir) {
  for (const auto& e : expected) {
    const TensorInfo* t = ck.find(e.name);
    if (!t) {
      std::string hint;
      if (ir && ir->shipped_quant)
        hint = " (the config ships " + ir->shipped_quant->method + "-quantized weights, which are not read yet)";
      throw Error(ck.path() + ": tensor '" + e.name + "' not found" + hint);
    }
    if (t->shape != e.shape)
      throw Error(t->file + ": tensor '" + e.name + "' has shape " + shape_string(t->shape) + ", expected " + shape_string(e.shape));
    if (!is_float_dtype(t->dtype))
      throw Error(t->file + ": tensor '" + e.name + "' has dtype " + tensor_dtype_name(t->dtype) +
                  ", expected a float dtype (F32, F16, BF16, F8_E4M3, F8_E5M2, F8_E8M0, F64)");
  }
}

}  // namespace llmcost
