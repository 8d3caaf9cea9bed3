// Per-op step costs (decode and prefill) and expected distinct experts, hand-checked.
#include <gtest/gtest.h>

#include <cmath>

#include "llmcost/cost_model.h"
#include "llmcost/flops.h"
#include "llmcost/memory.h"
#include "llmcost/model_loader.h"
#include "llmcost/params.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

const std::string kConfigDir = LLMCOST_CONFIG_DIR;
ModelIR model(const std::string& spec) { return load_model(spec, kConfigDir); }

const RoutingModel kUniform{RoutingModel::Uniform, 1.0};
const RoutingModel kZipf{RoutingModel::Zipf, 1.2};

TEST(Experts, Limits) {
  for (const RoutingModel& r : {kUniform, kZipf}) {
    EXPECT_DOUBLE_EQ(expected_distinct_experts(256, 8, 1, r), 8.0);  // one token: its top_k
    EXPECT_DOUBLE_EQ(expected_distinct_experts(256, 8, 0, r), 0.0);
    EXPECT_NEAR(expected_distinct_experts(256, 8, 1000000000, r), 256.0, 1e-6);  // B -> inf: all
    EXPECT_DOUBLE_EQ(expected_distinct_experts(8, 8, 3, r), 8.0);    // top_k = E: always all
  }
}

// Uniform: E x (1 - (1 - k/E)^B). Mixtral E=8, k=2, B=4: 8 x (1 - 0.75^4) = 8 x 0.68359375 = 5.46875.
TEST(Experts, UniformFormula) {
  EXPECT_DOUBLE_EQ(expected_distinct_experts(8, 2, 4, kUniform), 5.46875);
  EXPECT_NEAR(expected_distinct_experts(256, 8, 64, kUniform), 256 * (1 - std::pow(31.0 / 32, 64)), 1e-9);
}

// Skewed routing touches fewer distinct experts than uniform at the same batch, and more skew fewer still.
TEST(Experts, ZipfIsBelowUniform) {
  const double u = expected_distinct_experts(256, 8, 64, kUniform);
  const double z1 = expected_distinct_experts(256, 8, 64, RoutingModel{RoutingModel::Zipf, 0.8});
  const double z2 = expected_distinct_experts(256, 8, 64, RoutingModel{RoutingModel::Zipf, 1.5});
  EXPECT_LT(z1, u);
  EXPECT_LT(z2, z1);
  EXPECT_GT(z2, 8.0);
  // Monotone in the batch.
  EXPECT_LT(expected_distinct_experts(256, 8, 16, kZipf), expected_distinct_experts(256, 8, 17, kZipf));
}

// A large Zipf exponent must not underflow the popularity weights (i^-400 is 0 in double past the
// first few experts) into 0/0 and "every expert touched": one token still picks exactly top_k,
// more tokens never fewer, and at most B x k or E.
TEST(Experts, ZipfLargeExponentStaysWithinTopK) {
  for (double s : {1.0, 50.0, 400.0, 1e6, 1e300, 1.7e308}) {
    SCOPED_TRACE(s);
    const RoutingModel z{RoutingModel::Zipf, s};
    EXPECT_DOUBLE_EQ(expected_distinct_experts(256, 8, 1, z), 8.0);  // DeepSeek-V3: E = 256, k = 8
    double prev = 0;
    for (int64_t b : {1, 2, 3, 8, 64, 1024, 1 << 20}) {
      const double d = expected_distinct_experts(256, 8, b, z);
      EXPECT_GE(d, prev - 1e-9) << b;
      EXPECT_LE(d, std::min(256.0, 8.0 * static_cast<double>(b)) + 1e-9) << b;
      prev = d;
    }
  }
  // Past the exponent where weights vanish, the 8 most popular experts take every token.
  EXPECT_NEAR(expected_distinct_experts(256, 8, 1 << 20, RoutingModel{RoutingModel::Zipf, 400.0}), 8.0, 1e-6);
}

TEST(Experts, ParseRouting) {
  EXPECT_EQ(parse_routing("uniform")->kind, RoutingModel::Uniform);
  auto z = parse_routing("zipf:1.2");
  ASSERT_TRUE(z.has_value());
  EXPECT_EQ(z->kind, RoutingModel::Zipf);
  EXPECT_DOUBLE_EQ(z->zipf_s, 1.2);
  EXPECT_EQ(routing_name(*z), "zipf:1.2");
  EXPECT_FALSE(parse_routing("zipf:0").has_value());
  EXPECT_FALSE(parse_routing("zipf:").has_value());
  EXPECT_FALSE(parse_routing("zipf:x").has_value());
  EXPECT_FALSE(parse_routing("skewed").has_value());
}

// Llama-3.1-8B, one sequence at 4096, bf16: every weight but the embedding table is read once
// (2 x (8,030,261,248 - 525,336,576) = 15,009,849,344 B) plus one 4096-wide embedding row
// (8,192 B); the KV read is 4096 x 131,072 = 536,870,912 B.
TEST(StepCost, Llama31_8B_DecodeBatch1) {
  ModelIR ir = model("meta-llama/Llama-3.1-8B");
  Workload w;
  StepCost s = decode_step_cost(ir, w);
  EXPECT_EQ(s.tokens, 1);
  EXPECT_DOUBLE_EQ(s.weight_bytes, 15009849344.0 + 8192.0);
  EXPECT_DOUBLE_EQ(s.kv_bytes, 536870912.0);
  EXPECT_DOUBLE_EQ(s.flops, static_cast<double>(decode_flops_per_token(ir, 4096).total));
  EXPECT_DOUBLE_EQ(s.bytes, s.weight_bytes + s.kv_bytes + s.activation_bytes);
  EXPECT_GT(s.activation_bytes, 0.0);
  double f = 0, b = 0;
  for (const auto& op : s.ops) {
    f += op.flops;
    b += op.bytes();
  }
  EXPECT_DOUBLE_EQ(f, s.flops);
  EXPECT_NEAR(b, s.bytes, 1e-6 * s.bytes);
  EXPECT_EQ(s.ops.size(), ir.pre.size() + 32 * ir.layers[0].ops.size() + ir.post.size());
  EXPECT_EQ(s.mean_distinct_experts, 0.0);
}

// Batch 8: dense weights still read once (embedding: 8 rows), KV and FLOPs x 8.
TEST(StepCost, DenseBatchSharesWeightReads) {
  ModelIR ir = model("meta-llama/Llama-3.1-8B");
  Workload w;
  w.batch = 8;
  StepCost s = decode_step_cost(ir, w);
  EXPECT_DOUBLE_EQ(s.weight_bytes, 15009849344.0 + 8 * 8192.0);
  EXPECT_DOUBLE_EQ(s.kv_bytes, 8 * 536870912.0);
  EXPECT_DOUBLE_EQ(s.flops, 8.0 * static_cast<double>(decode_flops_per_token(ir, 4096).total));
}

// Mixtral-8x7B: one expert is 3 x 14336 x 4096 x 2 B = 352,321,536 B. At B = 1 a layer reads
// 2 experts, at B = 4 the expected 5.46875, at B = 1024 all 8.
TEST(StepCost, MixtralDistinctExperts) {
  ModelIR ir = model("mistralai/Mixtral-8x7B-v0.1");
  for (auto [batch, distinct] : std::vector<std::pair<int64_t, double>>{{1, 2.0}, {4, 5.46875}, {1024, 8.0}}) {
    SCOPED_TRACE(batch);
    Workload w;
    w.batch = batch;
    StepCost s = decode_step_cost(ir, w);
    int n = 0;
    for (const auto& op : s.ops)
      if (op.kind == OpKind::RoutedExperts) {
        ++n;
        EXPECT_NEAR(op.distinct_experts, distinct, 1e-9);
        EXPECT_NEAR(op.weight_bytes, distinct * 352321536.0, 1e-3);
        EXPECT_DOUBLE_EQ(op.flops, batch * 2.0 * 2 * 3 * 14336 * 4096);
      }
    EXPECT_EQ(n, 32);
    EXPECT_NEAR(s.mean_distinct_experts, distinct, 1e-9);
  }
}

// DeepSeek-V3 at B = 1 in bf16 reads the active weights once: 2 x (37,552,297,472 active
// - 926,679,040 embedding) + one 7168-wide row = 73,251,251,200 B.
TEST(StepCost, DeepSeekV3ActiveBytes) {
  ModelIR ir = model("deepseek-ai/DeepSeek-V3");
  StepCost s = decode_step_cost(ir, Workload{});
  EXPECT_NEAR(s.weight_bytes, 2.0 * (37552297472.0 - 926679040.0) + 2 * 7168, 1.0);
  EXPECT_DOUBLE_EQ(s.kv_bytes, 70272.0 * 4096);
}

TEST(StepCost, ComputeDtypeFollowsSchemeAndPolicy) {
  ModelIR ir = model("mistralai/Mixtral-8x7B-v0.1");
  Workload w;
  w.quant = QuantScheme::FP8;
  StepCost s = decode_step_cost(ir, w);
  for (const auto& op : s.ops) {
    if (op.kind == OpKind::Attention || op.kind == OpKind::RoutedExperts) {
      EXPECT_EQ(op.compute_dtype, "fp8") << op.name;
    }
    if (op.kind == OpKind::Router || op.kind == OpKind::LmHead) {
      EXPECT_EQ(op.compute_dtype, "bf16") << op.name;
    }
  }
  w.quant = QuantScheme::INT4_G128;  // weight-only: dequantize, run in bf16
  for (const auto& op : decode_step_cost(ir, w).ops) EXPECT_EQ(op.compute_dtype, "bf16");
  w.quant = QuantScheme::INT8;
  w.policy = *parse_quant_policy("experts");
  for (const auto& op : decode_step_cost(ir, w).ops)
    EXPECT_EQ(op.compute_dtype, op.kind == OpKind::RoutedExperts ? "int8" : "bf16") << op.name;
}

// Quantized weights shrink the bytes: int4 default policy reads weight_bytes(int4) less the
// unused experts and embedding rows; at B large enough for every expert, all of it but the table.
TEST(StepCost, QuantizedBytesMatchMemory) {
  ModelIR ir = model("mistralai/Mixtral-8x7B-v0.1");
  Workload w;
  w.quant = QuantScheme::INT4_G128;
  w.batch = 1 << 20;
  w.context = 1;
  StepCost s = decode_step_cost(ir, w);
  const double table = 32000.0 * 4096 * 2;
  EXPECT_NEAR(s.weight_bytes, static_cast<double>(weight_bytes(ir, QuantScheme::INT4_G128, QuantPolicy{})), 1e-6 * table);
  w.kv = KvDtype::FP8;
  EXPECT_DOUBLE_EQ(decode_step_cost(ir, w).kv_bytes, s.kv_bytes / 2);
}

// Prefill of 512 tokens x 2 sequences: FLOPs = 2 x prefill_flops(512); KV written 2 x 512 x per-token.
TEST(StepCost, Prefill) {
  ModelIR ir = model("meta-llama/Llama-3.1-8B");
  Workload w;
  w.batch = 2;
  w.prompt_tokens = 512;
  StepCost s = prefill_cost(ir, w);
  EXPECT_EQ(s.tokens, 1024);
  EXPECT_DOUBLE_EQ(s.flops, 2.0 * static_cast<double>(prefill_flops(ir, 512).total));
  EXPECT_DOUBLE_EQ(s.kv_bytes, 2.0 * 512 * 131072);
  EXPECT_DOUBLE_EQ(s.weight_bytes, 15009849344.0 + 1024 * 8192.0);
  // prompt_tokens 0: the context is the prompt.
  Workload c;
  c.context = 300;
  EXPECT_EQ(prefill_cost(ir, c).tokens, 300);
}

// A CostModel built once gives what the one-shot functions give; totals-only drops the ops.
TEST(StepCost, CostModelReuseMatchesOneShot) {
  ModelIR ir = model("deepseek-ai/DeepSeek-V3");
  CostModel cm(ir, QuantScheme::Q4_K_M, QuantPolicy{}, KvDtype::FP8);
  for (int64_t batch : {1, 7, 64}) {
    Workload w;
    w.batch = batch;
    w.context = 1000 * batch;
    w.quant = QuantScheme::Q4_K_M;
    w.kv = KvDtype::FP8;
    w.routing = kZipf;
    StepCost a = decode_step_cost(ir, w);
    StepCost b = cm.decode(batch, w.context, kZipf);
    StepCost c = cm.decode(batch, w.context, kZipf, false);
    EXPECT_EQ(a.ops.size(), b.ops.size());
    EXPECT_DOUBLE_EQ(a.bytes, b.bytes);
    EXPECT_DOUBLE_EQ(a.flops, b.flops);
    EXPECT_DOUBLE_EQ(c.bytes, b.bytes);
    EXPECT_DOUBLE_EQ(c.flops, b.flops);
    EXPECT_TRUE(c.ops.empty());
    w.prompt_tokens = 333;
    EXPECT_DOUBLE_EQ(prefill_cost(ir, w).flops, cm.prefill(batch, 333, kZipf).flops);
  }
  EXPECT_THROW(cm.decode(0, 10, kUniform), Error);
}

TEST(StepCost, BadWorkloads) {
  ModelIR ir = model("meta-llama/Llama-3.1-8B");
  Workload w;
  w.batch = 0;
  EXPECT_THROW(decode_step_cost(ir, w), Error);
  EXPECT_THROW(prefill_cost(ir, w), Error);
  w.batch = 1;
  w.context = 0;
  EXPECT_THROW(decode_step_cost(ir, w), Error);
  w.context = 10;
  w.prompt_tokens = -1;
  EXPECT_THROW(prefill_cost(ir, w), Error);
  w.prompt_tokens = 0;
  w.routing = RoutingModel{RoutingModel::Zipf, -1.0};
  EXPECT_THROW(decode_step_cost(ir, w), Error);
  try {
    Workload b;
    b.batch = 0;
    decode_step_cost(ir, b);
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "decode: batch must be >= 1, got 0");
  }
}

}  // namespace
}  // namespace llmcost
