// The one model walk of the runner (ggml's "graph built once, backends implement ops"): layer
// order, sublayers and residuals, pre/post norms, attention with its KV cache, MLA, router ->
// experts -> combine, shared experts, embeddings, final norm and lm_head, one profiler range per
// IR op, and the counted facts of each op turned into FLOPs/bytes by the cost model's formulas.
// A backend supplies Kernels: its stored tensors, its buffers and the ops below; nothing else.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "llmcost/backend.h"
#include "llmcost/cost_model.h"
#include "llmcost/model_ir.h"
#include "llmcost/profiler.h"

namespace llmcost {

// A weight as a backend stores it (the backend's own subclass; kernels downcast).
struct DeviceTensor {
  virtual ~DeviceTensor() = default;
};

// fp32 activations in the backend's memory (host memory on the CPU). Contents start undefined.
struct DeviceBuffer {
  virtual ~DeviceBuffer() = default;
  float* data = nullptr;
  int64_t size = 0;  // floats
};

// Rows of a forward pass: row t is sequence seq[t] at position pos[t] (host arrays).
struct Rows {
  int64_t T = 0;
  std::vector<int64_t> seq, pos;
};

// What a backend implements. Pointers to floats are device pointers from alloc() (offsets into
// them allowed); `ld` arguments are row strides in floats. Host arrays are marked (host).
class Kernels {
 public:
  virtual ~Kernels() = default;

  // ---- stored tensors and buffers
  // The tensor of `op` with `role` (its bias when `bias`); routed experts: expert `expert`'s.
  // A tied lm_head returns the embedding table. nullptr when the op has none.
  virtual const DeviceTensor* weight(const Op& op, TensorRole role, bool bias = false, int64_t expert = -1) const = 0;
  virtual std::unique_ptr<DeviceBuffer> alloc(int64_t floats) = 0;
  virtual void to_host(const float* src, int64_t n, float* dst_host) = 0;
  // Waits for queued work (the executor calls it before closing each op's profiler range).
  virtual void synchronize() = 0;

  // ---- ops
  // y[m, :rows(W)] = x[m, :cols(W)] W^T for m < M (weights in their stored dtype, fp32 accumulate).
  virtual void matmul(const float* x, int64_t M, int64_t ldx, const DeviceTensor& w, float* y, int64_t ldy) = 0;
  // y[m, i] += b[i] for m < M, i < numel(b).
  virtual void add_bias(const DeviceTensor& b, float* y, int64_t M, int64_t ldy) = 0;
  // out[t, :d] = in[t, :d] / rms x w (w null: 1), rows ld apart (in == out allowed).
  virtual void rms_norm(const float* in, float* out, int64_t T, int64_t d, int64_t ld, const DeviceTensor* w, double eps) = 0;
  // LayerNorm of dense [T, d] rows with scale w and optional shift b.
  virtual void layer_norm(const float* in, float* out, int64_t T, int64_t d, const DeviceTensor& w, const DeviceTensor* b,
                          double eps) = 0;
  // HF rotate_half RoPE on the first `rot` dims of `heads` heads (head_stride apart) of each row
  // t (ld apart) at position pos[t] (host).
  virtual void rope(float* x, int64_t T, int64_t ld, int64_t heads, int64_t head_stride, int64_t rot, const int64_t* pos,
                    double theta) = 0;
  // Writes row t's keys and values into `op`'s cache at (seq[t], pos[t]). Standard: k, v
  // [T, n_kv_heads x head_dim]; MLA: k = c_kv [T, kv_lora_rank], v = k_pe [T, qk_rope_head_dim].
  virtual void kv_store(const Op& op, const float* k, int64_t ldk, const float* v, int64_t ldv, const Rows& rows) = 0;
  // Core attention of row t over its sequence's cached positions lo[t]..pos[t] (host), GQA heads
  // sharing KV heads, the op's scale and soft-cap: q [T, n_heads x head_dim] -> out [T, n_heads x v_head_dim].
  virtual void attention(const Op& op, const float* q, const Rows& rows, const int64_t* lo, float* out) = 0;
  // MLA absorbed: q [T, n_heads x (qk_nope + qk_rope)] against the cached c_kv and k_pe, with
  // mla_kv_b's key rows folded into q and its value rows applied to the latent output ->
  // out [T, n_heads x v_head_dim].
  virtual void mla_attention(const Op& op, const float* q, const Rows& rows, const int64_t* lo, float* out) = 0;
  // out[m, i] = act(gate[m, i]) x up[m, i] for i < n (out dense [M, n]; may alias up).
  virtual void glu(Activation act, const float* gate, int64_t ldg, const float* up, int64_t ldu, float* out, int64_t M,
                   int64_t n) = 0;
  virtual void activate(Activation act, float* x, int64_t n) = 0;
  // y[m, :d] *= sigmoid(g[m]).
  virtual void scale_rows_sigmoid(float* y, int64_t M, int64_t d, const float* g) = 0;
  // Router scores of logits [T, n_experts] and top-k (softmax/sigmoid, group-limited selection,
  // correction bias, renormalization, scaling): idx/w [T, top_k] (host).
  virtual void route(const float* logits, int64_t T, const MoeSpec& m, const DeviceTensor* correction, int32_t* idx,
                     float* w) = 0;
  // x[t, :] += table[ids[t], :] x mult (ids host).
  virtual void embed_add(const DeviceTensor& table, const int64_t* ids, int64_t T, int64_t d, float mult, float* x) = 0;
  virtual void add(float* y, const float* x, int64_t n) = 0;  // y += x
  virtual void copy2d(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols) = 0;
  virtual void fill_zero(float* x, int64_t n) = 0;
  // dst[i, :d] = src[ids[i], :d]; dst[ids[i], :d] += w[i] x src[i, :d] (ids, w host).
  virtual void gather_rows(const float* src, int64_t d, const int64_t* ids, int64_t n, float* dst) = 0;
  virtual void scatter_add_rows(const float* src, int64_t d, const int64_t* ids, const float* w, int64_t n, float* dst) = 0;
};

// Executes a prepared slice through a backend's Kernels. Holds the sequence lengths, the step's
// routing and the StepWork of the last call.
class Executor {
 public:
  // `ir` and `kernels` outlive the executor; `ir` is what the backend prepared.
  Executor(const ModelIR& ir, Kernels& kernels, const BackendOptions& opts);
  // Throws Error naming the op for what the walk does not execute (sinks, chunked attention, ...).
  static void validate(const ModelIR& ir);

  void reset(int64_t batch);
  void set_lengths(int64_t context);  // every sequence holds `context` cached positions
  int64_t batch() const { return batch_; }
  void decode(const std::vector<int32_t>& tokens, std::vector<float>* logits, Profiler* prof);
  void prefill(const std::vector<int32_t>& tokens, int64_t seq_len, std::vector<float>* logits, Profiler* prof);
  const StepWork& last_step() const { return work_; }

 private:
  void forward(const std::vector<int32_t>& tokens, const Rows& rows, std::vector<float>* logits, Profiler* prof);
  void norm(const Op& op, const float* in, float* out, int64_t T);
  void mlp(const Op& op, int64_t expert, const float* h, int64_t M, float* out);
  void attention(const Op& op, const float* h, float* out, const Rows& rows, OpCounts& n);
  void mla(const Op& op, const float* h, float* out, const Rows& rows, OpCounts& n);
  void router(const Op& op, const float* h, const Rows& rows);
  void experts(const Op& op, const float* h, float* out, const Rows& rows, OpCounts& n);
  void linear(const Op& op, TensorRole role, const float* x, int64_t M, int64_t ldx, float* y, int64_t ldy, int64_t expert = -1);
  const DeviceTensor& need(const Op& op, TensorRole role, int64_t expert = -1) const;
  std::unique_ptr<DeviceBuffer> buf(int64_t n) { return k_.alloc(n); }

  const ModelIR& ir_;
  Kernels& k_;
  BackendOptions opts_;
  CostModel cost_;  // the runner's storage: weight dtype for matmuls and tables, bf16 KV
  int64_t batch_ = 0;
  std::vector<int64_t> len_;  // cached positions per sequence
  std::vector<int32_t> route_idx_;  // current layer's routing: [T, top_k]
  std::vector<float> route_w_;
  uint64_t step_ = 0;
  StepWork work_;
};

}  // namespace llmcost
