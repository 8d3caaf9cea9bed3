// The CUDA backend against the CPU backend (ctest label gpu): for a 2-layer tiny model of each
// family the runner executes on a GPU (dense GQA, sliding window, soft-capped sliding window, MoE
// with softmax routing, MLA with group-limited sigmoid routing + correction bias), the same seed
// on both backends (so the same bf16 weights), a prefill and decode steps, logits compared, the
// experts chosen compared, a synthetic-KV decode, fp32 weights, and a prefill past the split-bf16
// row limit, and long contexts at batch 1 (split-K attention). Every CUDA kernel runs in these walks. The CPU half runs everywhere (it checks the
// configs and the harness); the comparison is skipped when no CUDA device is available.
//
// Tolerance: logits within kTol x max(1, max |cpu logit|). Up to 64 rows the GPU multiplies split
// bf16 activations (about fp32 exact) and the two differ in fp32 summation order and in the odd
// bf16 rounding of a cached K/V value that lands on the other side of a rounding boundary: 5e-3.
// Past 64 rows the activations are rounded to bf16 once (2^-9 relative per element): 3e-2.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "llmcost/backend.h"
#include "llmcost/error.h"
#include "llmcost/families.h"
#include "llmcost/value.h"
#include "runner/tiny_models.h"

namespace llmcost {
namespace {

const char* kGemma2 = R"({"model_type":"gemma2","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,
  "num_key_value_heads":2,"head_dim":16,"intermediate_size":96,"vocab_size":101,"sliding_window":4,
  "attn_logit_softcapping":5.0,"final_logit_softcapping":0.0,"query_pre_attn_scalar":16})";
const char* kDeepseekV3 = R"({"model_type":"deepseek_v3","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,
  "num_key_value_heads":4,"q_lora_rank":24,"kv_lora_rank":32,"qk_nope_head_dim":16,"qk_rope_head_dim":8,
  "v_head_dim":12,"intermediate_size":96,"moe_intermediate_size":24,"n_routed_experts":8,"num_experts_per_tok":2,
  "n_group":4,"topk_group":2,"n_shared_experts":1,"first_k_dense_replace":1,"routed_scaling_factor":2.5,
  "norm_topk_prob":true,"vocab_size":101})";

constexpr double kTol = 5e-3;
constexpr double kTolBf16Rows = 3e-2;

BackendOptions options(WeightDtype dt, int64_t batch, int64_t ctx) {
  BackendOptions o;
  o.weight_dtype = dt;
  o.seed = 5;
  o.threads = 2;
  o.max_batch = batch;
  o.max_context = ctx;
  return o;
}

std::vector<int32_t> tokens(int64_t batch, int64_t S, int64_t vocab, int64_t salt) {
  std::vector<int32_t> t;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < S; ++s) t.push_back(static_cast<int32_t>((b * 37 + s * 11 + salt * 7 + 5) % vocab));
  return t;
}

// max |gpu - cpu| / max(1, max |cpu|)
double rel_diff(const std::vector<float>& gpu, const std::vector<float>& cpu) {
  EXPECT_EQ(gpu.size(), cpu.size());
  double mx = 1.0, err = 0;
  for (size_t i = 0; i < std::min(gpu.size(), cpu.size()); ++i) {
    mx = std::max(mx, std::fabs(static_cast<double>(cpu[i])));
    const double d = std::fabs(static_cast<double>(gpu[i]) - cpu[i]);
    err = std::isfinite(d) ? std::max(err, d) : INFINITY;
  }
  return err / mx;
}

// The CUDA backend, or nullptr with the reason when this machine has none.
std::unique_ptr<Backend> cuda_or_null(std::string* why) {
  try {
    return make_backend("cuda");
  } catch (const Error& e) {
    *why = e.what();
    return nullptr;
  }
}

struct Walk {
  std::vector<std::vector<float>> logits;                 // prefill, then each decode step
  std::vector<std::vector<int64_t>> experts_per_layer;    // distinct experts per MoE layer, per call
};

// Prefill batch x S tokens, then `steps` decode steps, on a prepared backend.
Walk walk(Backend& be, const ModelIR& ir, int64_t batch, int64_t S, int steps) {
  Walk w;
  be.reset(batch);
  std::vector<float> lg;
  be.prefill(tokens(batch, S, ir.vocab_size, 0), S, &lg, nullptr);
  w.logits.push_back(lg);
  w.experts_per_layer.push_back(be.last_step().distinct_experts_per_layer);
  for (int s = 0; s < steps; ++s) {
    be.decode(tokens(batch, 1, ir.vocab_size, s + 1), &lg, nullptr);
    w.logits.push_back(lg);
    w.experts_per_layer.push_back(be.last_step().distinct_experts_per_layer);
  }
  return w;
}

void compare_family(const char* json, WeightDtype dt = WeightDtype::BF16, int64_t batch = 2, int64_t S = 5, int steps = 3,
                    double tol = kTol, RoutingOverride routing = {}) {
  const ModelIR ir = tiny(json);
  BackendOptions o = options(dt, batch, S + steps + 1);
  o.routing = routing;
  auto cpu = make_backend("cpu");
  cpu->prepare(ir, o);
  const Walk ref = walk(*cpu, ir, batch, S, steps);
  for (const auto& l : ref.logits) ASSERT_EQ(static_cast<int64_t>(l.size()) % ir.vocab_size, 0);
  std::string why;
  auto gpu = cuda_or_null(&why);
  if (!gpu) GTEST_SKIP() << why;
  gpu->prepare(ir, o);
  // Same staging, same seed: the very same weights.
  for (const char* name : {"model.embed_tokens.weight", "model.layers.0.mlp.down_proj.weight"}) {
    try {
      EXPECT_EQ(gpu->tensor_values(name), cpu->tensor_values(name)) << name;
    } catch (const Error&) {  // a family without that tensor name
    }
  }
  const Walk got = walk(*gpu, ir, batch, S, steps);
  ASSERT_EQ(got.logits.size(), ref.logits.size());
  for (size_t i = 0; i < ref.logits.size(); ++i) {
    EXPECT_LE(rel_diff(got.logits[i], ref.logits[i]), tol) << (i == 0 ? "prefill" : "decode step " + std::to_string(i));
    EXPECT_EQ(got.experts_per_layer[i], ref.experts_per_layer[i]) << "call " << i;
  }
  // Synthetic KV at a longer context, one decode step: the caches' layout and contents agree.
  cpu->fill_kv(batch, S + steps - 1);
  gpu->fill_kv(batch, S + steps - 1);
  std::vector<float> a, b;
  cpu->decode(tokens(batch, 1, ir.vocab_size, 9), &a, nullptr);
  gpu->decode(tokens(batch, 1, ir.vocab_size, 9), &b, nullptr);
  EXPECT_LE(rel_diff(b, a), tol) << "decode after fill_kv";
}

TEST(CudaBackend, DenseGqaLlama) { compare_family(kLlama); }
TEST(CudaBackend, DenseGqaLlamaFp32Weights) { compare_family(kLlama, WeightDtype::FP32); }
TEST(CudaBackend, SlidingWindowMistral) { compare_family(kMistralWindow, WeightDtype::BF16, 2, 6, 3); }
TEST(CudaBackend, SoftCappedSlidingWindowGemma2) { compare_family(kGemma2, WeightDtype::BF16, 2, 6, 3); }
TEST(CudaBackend, MoeMixtral) { compare_family(kMixtral); }
TEST(CudaBackend, MoeQwen3) { compare_family(kQwen3Moe); }
TEST(CudaBackend, MlaGroupLimitedDeepseekV3) { compare_family(kDeepseekV3); }
// 2 x 40 = 80 prefill rows: activations rounded to bf16 once (no split) in every matmul.
TEST(CudaBackend, PrefillPastTheSplitRowLimit) { compare_family(kLlama, WeightDtype::BF16, 2, 40, 1, kTolBf16Rows); }
// Fixed routing (the router op still runs): bf16-rounded router logits could flip a near-tie.
TEST(CudaBackend, MlaPrefillPastTheSplitRowLimit) {
  compare_family(kDeepseekV3, WeightDtype::BF16, 2, 40, 1, kTolBf16Rows, RoutingOverride{RoutingOverride::Fixed, 1.0});
}

// Long synthetic context at batch 1: few rows x heads, so the attention kernel splits each row's
// positions over several blocks (split-K, attention_splits: 5 splits at 601 positions) and merges.
void compare_long_context(const char* json) {
  const ModelIR ir = tiny(json);
  const BackendOptions o = options(WeightDtype::BF16, 1, 700);
  auto cpu = make_backend("cpu");
  cpu->prepare(ir, o);
  std::string why;
  auto gpu = cuda_or_null(&why);
  if (!gpu) GTEST_SKIP() << why;
  gpu->prepare(ir, o);
  cpu->fill_kv(1, 600);
  gpu->fill_kv(1, 600);
  for (int step = 0; step < 2; ++step) {
    std::vector<float> a, b;
    cpu->decode(tokens(1, 1, ir.vocab_size, step), &a, nullptr);
    gpu->decode(tokens(1, 1, ir.vocab_size, step), &b, nullptr);
    EXPECT_LE(rel_diff(b, a), kTol) << "decode step " << step << " at 600+ positions";
  }
}
TEST(CudaBackend, LongContextSplitAttentionLlama) { compare_long_context(kLlama); }
TEST(CudaBackend, LongContextSplitAttentionGemma2SoftCap) { compare_long_context(kGemma2); }

// The tiny configs exercise what their tests are named after (runs without a device too).
TEST(CudaBackend, TinyConfigsCoverTheKernelsFeatures) {
  auto attn = [](const ModelIR& ir) -> const AttentionSpec& {
    for (const Op& op : ir.layers.at(0).ops)
      if (op.kind == OpKind::Attention) return op.attn;
    throw Error("no attention op");
  };
  const ModelIR llama = tiny(kLlama), mistral = tiny(kMistralWindow), gemma = tiny(kGemma2), ds = tiny(kDeepseekV3);
  EXPECT_LT(attn(llama).n_kv_heads, attn(llama).n_heads);  // GQA
  EXPECT_EQ(attn(mistral).sliding_window, 3);
  EXPECT_GT(attn(gemma).logit_softcap, 0.0);
  int64_t windowed = 0;  // gemma2 alternates sliding-window and global layers
  for (const Layer& L : gemma.layers)
    for (const Op& op : L.ops) windowed += op.kind == OpKind::Attention && op.attn.sliding_window > 0;
  EXPECT_EQ(windowed, 1);
  EXPECT_EQ(attn(ds).type, AttentionType::MLA);
  bool grouped = false, correction = false;
  for (const Layer& L : ds.layers)
    for (const Op& op : L.ops)
      if (op.kind == OpKind::Router) {
        grouped = op.moe.n_group > 1 && op.moe.topk_group < op.moe.n_group;
        correction = find_role(op, TensorRole::RouterCorrectionBias) != nullptr;
      }
  EXPECT_TRUE(grouped);
  EXPECT_TRUE(correction);
}

// The device is what the backend says it is, and prepare() checks free device memory.
TEST(CudaBackend, DescribesItsDeviceAndFreeMemory) {
  std::string why;
  auto gpu = cuda_or_null(&why);
  if (!gpu) {
    EXPECT_EQ(why.rfind("cuda: not available: ", 0), 0u) << why;
    GTEST_SKIP() << why;
  }
  EXPECT_EQ(gpu->name(), "cuda");
  EXPECT_NE(gpu->device().find("SMs"), std::string::npos) << gpu->device();
  const FreeMemory f = gpu->free_memory();
  EXPECT_GT(f.bytes, 0u);
  EXPECT_EQ(f.source.rfind("cudaMemGetInfo", 0), 0u);
}

}  // namespace
}  // namespace llmcost
