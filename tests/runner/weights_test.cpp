// Host staging (weights.h): it yields exactly the values the CPU backend stores, each tensor of a
// slice once (tied head left out), in the dtype asked for; WeightTable finds tensors by (op, role,
// bias, expert) with the tied head resolved; KV geometry and synthetic KV; the Conv1D refusal.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "llmcost/backend.h"
#include "llmcost/families.h"
#include "llmcost/safetensors.h"
#include "llmcost/value.h"
#include "llmcost/weights.h"

namespace llmcost {
namespace {

ModelIR tiny(const std::string& json) { return build_model_ir(parse_json(json, "tiny.json"), "tiny.json"); }

const char* kTiedLlama = R"({"model_type":"llama","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,
  "num_key_value_heads":2,"intermediate_size":96,"vocab_size":101,"tie_word_embeddings":true})";
const char* kDeepseekV3 = R"({"model_type":"deepseek_v3","hidden_size":64,"num_hidden_layers":3,"num_attention_heads":4,
  "num_key_value_heads":4,"q_lora_rank":24,"kv_lora_rank":32,"qk_nope_head_dim":16,"qk_rope_head_dim":8,
  "v_head_dim":12,"intermediate_size":96,"moe_intermediate_size":24,"n_routed_experts":8,"num_experts_per_tok":2,
  "n_group":4,"topk_group":2,"n_shared_experts":1,"first_k_dense_replace":1,"routed_scaling_factor":2.5,
  "norm_topk_prob":true,"vocab_size":101})";

// Keeps every staged tensor as fp32 values, checking the host_buffer/staged pairing.
struct Collect final : WeightSink {
  WeightTable<std::vector<float>> table;
  std::vector<WeightSlot> order;
  std::vector<uint16_t> bf16;
  std::vector<float> f32;
  const WeightSlot* open = nullptr;
  void* host_buffer(const WeightSlot& s) override {
    EXPECT_EQ(open, nullptr) << "one tensor at a time";
    open = &s;
    bf16.assign(static_cast<size_t>(s.numel()), 0);
    f32.assign(static_cast<size_t>(s.numel()), 0.0f);
    return s.dtype == WeightDtype::BF16 ? static_cast<void*>(bf16.data()) : f32.data();
  }
  void staged(const WeightSlot& s) override {
    EXPECT_EQ(open, &s);
    open = nullptr;
    std::vector<float>& v = table.add(s);
    v = f32;
    if (s.dtype == WeightDtype::BF16)
      for (size_t i = 0; i < v.size(); ++i) v[i] = bf16_to_fp32(bf16[i]);
    order.push_back(s);
  }
};

BackendOptions options(WeightDtype dt) {
  BackendOptions o;
  o.weight_dtype = dt;
  o.seed = 13;
  o.threads = 2;
  o.max_batch = 1;
  o.max_context = 8;
  return o;
}

void check_staging_matches_backend(const ModelIR& ir, WeightDtype dt) {
  SCOPED_TRACE(ir.architecture + (dt == WeightDtype::BF16 ? " bf16" : " fp32"));
  const BackendOptions o = options(dt);
  Collect sink;
  stage_weights(ir, o, sink);
  sink.table.tie(ir);
  auto be = make_backend("cpu");
  be->prepare(ir, o);

  // Every (op, tensor, expert) of the slice exactly once, walked here independently of weight_slots().
  std::multiset<std::string> want;
  const Op* head = nullptr;
  auto add_op = [&](const Op& op) {
    for (const Tensor& t : op.tensors) {
      if (t.tied) {
        head = &op;
        continue;
      }
      if (op.kind != OpKind::RoutedExperts) want.insert(t.checkpoint_name);
      else
        for (int64_t e = 0; e < op.moe.n_experts; ++e) want.insert(expert_checkpoint_name(t, e));
    }
  };
  for (const Op& op : ir.pre) add_op(op);
  for (const Layer& l : ir.layers)
    for (const Op& op : l.ops) add_op(op);
  for (const Op& op : ir.post) add_op(op);
  std::multiset<std::string> got;
  for (const WeightSlot& s : sink.order) got.insert(s.name);
  EXPECT_EQ(got, want);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), got.size()) << "a tensor staged twice";

  for (const WeightSlot& s : sink.order) {
    const Tensor& t = *s.tensor;
    EXPECT_EQ(s.dtype, t.use == TensorUse::Vector ? WeightDtype::FP32 : dt) << s.name;
    EXPECT_EQ(s.numel(), t.numel) << s.name;
    const std::vector<float>* v = sink.table.find(*s.op, t.role, t.bias, s.expert);
    ASSERT_NE(v, nullptr) << s.name;
    EXPECT_EQ(sink.table.by_name(s.name), v) << s.name;
    EXPECT_EQ(*v, be->tensor_values(s.name)) << s.name;  // bit-identical to what the backend multiplies
  }
  // The tied head is the embedding table, under the embedding's entry.
  if (head) {
    const std::vector<float>* h = sink.table.find(*head, TensorRole::LmHead, false, -1);
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h, sink.table.find(tied_embedding(ir, *head), TensorRole::TokenEmbedding, false, -1));
  }
}

TEST(WeightStaging, TiedLlamaMatchesTheBackend) {
  const ModelIR ir = tiny(kTiedLlama);
  ASSERT_TRUE(ir.post.back().tensors[0].tied);
  check_staging_matches_backend(ir, WeightDtype::BF16);
  check_staging_matches_backend(ir, WeightDtype::FP32);
}

TEST(WeightStaging, DeepseekMlaSliceMatchesTheBackend) {
  const ModelIR full = tiny(kDeepseekV3);
  const ModelIR ir = slice_model(full, select_layers(full, "dense:1,moe:1"));
  check_staging_matches_backend(ir, WeightDtype::BF16);
  check_staging_matches_backend(ir, WeightDtype::FP32);
}

TEST(WeightStaging, SlotsAreWhatACheckpointMustHold) {
  const ModelIR ir = tiny(kDeepseekV3);
  const auto slots = weight_slots(ir, WeightDtype::BF16);
  const auto expected = expected_checkpoint_tensors(ir);
  ASSERT_EQ(slots.size(), expected.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    EXPECT_EQ(slots[i].name, expected[i].name);
    EXPECT_EQ(slots[i].shape, expected[i].shape);
  }
}

TEST(WeightStaging, KvLayoutAndSyntheticValues) {
  const ModelIR llama = tiny(kTiedLlama), ds = tiny(kDeepseekV3);
  const Op& std_attn = llama.layers[0].ops[1];
  const Op& mla = ds.layers[0].ops[1];
  ASSERT_EQ(std_attn.kind, OpKind::Attention);
  ASSERT_EQ(mla.kind, OpKind::Attention);
  const KvLayout s = kv_layout(std_attn), m = kv_layout(mla);
  EXPECT_EQ(s.kv_heads, 2);
  EXPECT_EQ(s.k_width, 2 * 16);
  EXPECT_EQ(s.v_head_dim(), 16);
  EXPECT_EQ(m.kv_heads, 1);
  EXPECT_EQ(m.k_width, 32);  // kv_lora_rank
  EXPECT_EQ(m.v_width, 8);   // qk_rope_head_dim
  auto draw = [&](uint64_t seed, int64_t seq, int64_t head, bool value, int threads) {
    std::vector<uint16_t> v(200);
    synthetic_kv(seed, std_attn, seq, head, value, 200, v.data(), threads);
    return v;
  };
  const auto a = draw(3, 0, 1, false, 1);
  EXPECT_EQ(a, draw(3, 0, 1, false, 4));  // the thread count changes nothing
  EXPECT_NE(a, draw(4, 0, 1, false, 1));
  EXPECT_NE(a, draw(3, 1, 1, false, 1));
  EXPECT_NE(a, draw(3, 0, 0, false, 1));
  EXPECT_NE(a, draw(3, 0, 1, true, 1));
  for (uint16_t b : a) EXPECT_LE(std::abs(bf16_to_fp32(b)), 1.0f);
}

TEST(WeightStaging, RefusesConv1DLayoutInOneLine) {
  const ModelIR ir = tiny(R"({"model_type":"gpt2","n_embd":64,"n_layer":1,"n_head":4,"n_positions":32,"vocab_size":100})");
  Collect sink;
  try {
    stage_weights(ir, options(WeightDtype::BF16), sink);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("[in, out] (Conv1D) weight layout is not supported by the runner"), std::string::npos) << w;
    EXPECT_EQ(w.find('\n'), std::string::npos);
  }
}

}  // namespace
}  // namespace llmcost
