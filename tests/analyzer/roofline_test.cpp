// Roofline predictions: hand-checked arithmetic per formula, agreement with the cost model op
// for op on every bundled model, memory / max batch, MoE experts, communication, bad inputs.
#include "llmcost/roofline.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "llmcost/memory.h"
#include "llmcost/model_loader.h"

namespace llmcost {
namespace {

const std::string kConfigs = LLMCOST_CONFIG_DIR;

const ModelIR& model(const std::string& name) {
  static std::map<std::string, ModelIR> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, load_model(name, kConfigs)).first;
  return it->second;
}
const HardwareSpec& hw(const std::string& name) {
  static std::map<std::string, HardwareSpec> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, load_hardware(name, kConfigs)).first;
  return it->second;
}

Prediction run(const std::string& m, const std::string& h, int64_t batch, int64_t context, ParallelConfig par = {},
               QuantScheme q = QuantScheme::BF16, RoutingModel routing = {}) {
  CompiledModel cm = compile_model(model(m), q, QuantPolicy{}, KvDtype::BF16, routing);
  PredictRequest r;
  r.batch = batch;
  r.context = context;
  r.parallel = par;
  r.efficiency = EfficiencyMode::Datasheet;  // these tests pin the pure roofline by hand (efficiency_test.cpp: derated)
  return predict(cm, hw(h), r);
}

void expect_rel(double a, double b, double rel = 1e-12) { EXPECT_LE(std::fabs(a - b), rel * std::max(std::fabs(a), std::fabs(b))) << a << " vs " << b; }

TEST(Roofline, TimeIsTheLargerOfComputeAndMemory) {
  // 2e12 FLOPs at 1e12 FLOP/s = 2 s; 1e9 bytes at 1e12 B/s = 1 ms: compute-bound, 2 s.
  RooflineTime t = roofline(2e12, 1e9, 1e12, 1e12);
  EXPECT_DOUBLE_EQ(t.compute_s, 2.0);
  EXPECT_DOUBLE_EQ(t.memory_s, 1e-3);
  EXPECT_DOUBLE_EQ(t.time_s, 2.0);
  EXPECT_TRUE(t.compute_bound);
  RooflineTime u = roofline(1e9, 4e12, 1e12, 2e12);  // 1 ms vs 2 s: memory-bound
  EXPECT_DOUBLE_EQ(u.time_s, 2.0);
  EXPECT_FALSE(u.compute_bound);
}

// Llama-3.1-8B, bf16, batch 1, context 4096 on an H100 SXM (3.35e12 B/s):
//   weights read: 2 x (8,030,261,248 - 525,336,576 embedding) + one embedding row 2 x 4096
//               = 15,009,849,344 + 8,192 = 15,009,857,536
//   KV: 4096 positions x 131,072 bytes = 536,870,912
//   activations (bf16): per layer 2 norms x 2x4096x2 + attention (4096+4096)x2 + mlp (4096+4096)x2
//               = 65,536 x 32 = 2,097,152; embedding 8,192; final norm 16,384; lm_head (4096+128256)x2 = 264,704
//               -> 2,386,432
//   bytes = 15,549,114,880; every op memory-bound -> step = bytes / 3.35e12 = 4.6415 ms
TEST(Roofline, Llama8BDecodeByHand) {
  Prediction p = run("meta-llama/Llama-3.1-8B", "h100-sxm", 1, 4096);
  EXPECT_DOUBLE_EQ(p.decode.bytes, 15549114880.0);
  EXPECT_DOUBLE_EQ(p.decode.bytes_all_devices, 15549114880.0);
  EXPECT_EQ(p.decode.bound, "memory");
  EXPECT_DOUBLE_EQ(p.decode.compute_bound_s, 0.0);
  expect_rel(p.decode.time_s, 15549114880.0 / 3.35e12);
  expect_rel(p.tokens_per_s, 3.35e12 / 15549114880.0);
  // FLOPs: 2 x matmul weights (7,504,924,672 active_compute - 266,240 norm scales = 7,504,658,432)
  //        + attention 4 x 32 heads x 128 x 4096 x 32 layers = 15,009,316,864 + 2,147,483,648
  EXPECT_DOUBLE_EQ(p.decode.flops, 15009316864.0 + 2147483648.0);
  EXPECT_EQ(p.moe.present, false);
  EXPECT_EQ(p.hardware.name, "h100-sxm");
}

// Max batch of Llama-3.1-8B bf16 at context 4096 on an L4 (24 GiB = 25,769,803,776 bytes), defaults:
//   usable: mem-util 0.9 x 25,769,803,776 = 23,192,823,398.4
//   weights 2 x 8,030,261,248 = 16,060,522,496; KV per sequence 32 layers x 2 x 8 KV heads x 128 x 2 B x 4096
//           = 536,870,912
//   activations: min(max(1, prompt 4096), chunk 8192) = 4096 tokens x (2 x 4096 x 2 + widest op 32,768
//           (gate+up+down) x 2) = 4096 x 81,920 = 335,544,320, plus fp32 logits 128,256 x 4 = 513,024 per sequence
//   engine overhead (a GPU, one device): runtime context 512 MiB = 536,870,912 + CUDA graphs 0.36 GiB
//           = 386,547,056.64 (no collective buffers)
//   need(b) = 17,319,484,784.64 + b x 537,383,936 <= 23,192,823,398.4  ->  b <= 10.93  ->  max batch 10
TEST(Roofline, MaxBatchByHand) {
  Prediction p = run("meta-llama/Llama-3.1-8B", "l4", 1, 4096);
  EXPECT_DOUBLE_EQ(p.memory.weights_bytes, 16060522496.0);
  EXPECT_DOUBLE_EQ(p.memory.kv_bytes, 536870912.0);
  EXPECT_DOUBLE_EQ(p.memory.activation_bytes, 335544320.0 + 513024.0);
  EXPECT_EQ(p.memory.activation_tokens, 4096);
  EXPECT_DOUBLE_EQ(p.memory.runtime_context_bytes, 536870912.0);
  EXPECT_DOUBLE_EQ(p.memory.cuda_graph_bytes, 386547056.64);
  EXPECT_DOUBLE_EQ(p.memory.comm_buffer_bytes, 0.0);
  EXPECT_DOUBLE_EQ(p.memory.per_device_bytes, 17319484784.64 + 537383936.0);
  EXPECT_DOUBLE_EQ(p.memory.capacity_bytes, 0.9 * 25769803776.0);
  EXPECT_TRUE(p.memory.fits);
  EXPECT_TRUE(p.runnable);
  EXPECT_EQ(p.memory.max_batch, 10);
  Prediction q = run("meta-llama/Llama-3.1-8B", "l4", 11, 4096);
  EXPECT_FALSE(q.memory.fits);
  EXPECT_FALSE(q.runnable);
  EXPECT_NE(q.reason.find("more than the usable 23.19 GB (0.9 x 25.77 GB of l4)"), std::string::npos) << q.reason;
  Prediction big = run("meta-llama/Llama-3.1-70B", "l4", 1, 4096);
  EXPECT_FALSE(big.memory.fits);
  EXPECT_EQ(big.memory.max_batch, 0);
  EXPECT_EQ(big.memory.max_context, 0);
}

// The same at mem-util 1: b <= (25,769,803,776 - 17,319,484,784.64) / 537,383,936 = 15.72 -> 15; and with
// no engine overhead as well, (25,769,803,776 - 16,396,066,816) / 537,383,936 = 17.44 -> 17.
TEST(Roofline, MemoryFractionAndOverheadByHand) {
  CompiledModel cm = compile_model(model("meta-llama/Llama-3.1-8B"), QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, {});
  PredictRequest r;
  r.memory_fraction = 1.0;
  Prediction p = predict(cm, hw("l4"), r);
  EXPECT_EQ(p.memory.max_batch, 15);
  EXPECT_DOUBLE_EQ(p.memory.capacity_bytes, 25769803776.0);
  EXPECT_DOUBLE_EQ(p.memory.device_memory_bytes, 25769803776.0);
  r.overhead = EngineOverhead{0, 0, 0, 0};
  EXPECT_EQ(predict(cm, hw("l4"), r).memory.max_batch, 17);
  r.memory_fraction = 0;
  EXPECT_THROW(predict(cm, hw("l4"), r), Error);
  r.memory_fraction = 1.5;
  EXPECT_THROW(predict(cm, hw("l4"), r), Error);
  r.memory_fraction = 0.9;
  r.prefill_chunk_tokens = 0;
  EXPECT_THROW(predict(cm, hw("l4"), r), Error);
}

// Largest context of Llama-3.1-8B at batch 1 on an L4 (prompt = context): past the 8192-token chunk
// the workspace stays 8192 x 81,920 = 671,088,640, so need(c) = 16,060,522,496 + 923,417,968.64
// (overhead) + 671,088,640 + 513,024 + c x 131,072 <= 23,192,823,398.4 -> c <= 42,246.1 -> 42,246
// (under the model's 131,072 positions: memory is the limit).
TEST(Roofline, MaxContextByHand) {
  Prediction p = run("meta-llama/Llama-3.1-8B", "l4", 1, 4096);
  EXPECT_EQ(p.memory.max_context, 42246);
  EXPECT_EQ(p.memory.max_context_limit, "memory");
  Prediction at = run("meta-llama/Llama-3.1-8B", "l4", 1, 42246);
  EXPECT_TRUE(at.runnable) << at.reason;
  EXPECT_EQ(at.memory.activation_tokens, 8192);  // the chunk, not the 42,246-token prompt
  EXPECT_FALSE(run("meta-llama/Llama-3.1-8B", "l4", 1, 42247).runnable);
  // gpt2: 1024 positions. The memory would hold far more; the model's limit is the answer.
  Prediction g = run("gpt2", "h100-sxm", 1, 512);
  EXPECT_TRUE(g.runnable);
  EXPECT_EQ(g.memory.max_context, 1024);
  EXPECT_EQ(g.memory.max_context_limit, "max_position_embeddings");
}

// A context past max_position_embeddings is not runnable, even where the memory holds it.
TEST(Roofline, PastMaxPositionEmbeddingsIsNotRunnable) {
  Prediction g = run("gpt2", "h100-sxm", 1, 4096);
  EXPECT_TRUE(g.memory.fits);
  EXPECT_FALSE(g.runnable);
  EXPECT_TRUE(g.has_figures);
  EXPECT_NE(g.reason.find("context 4096 exceeds the model's max_position_embeddings 1024"), std::string::npos) << g.reason;
  EXPECT_TRUE(run("gpt2", "h100-sxm", 1, 1024).runnable);
}

// Engine overhead: none on a CPU; collective buffers by the devices of the layout (544 MiB for 2,
// 688 MiB beyond).
TEST(Roofline, EngineOverheadTerms) {
  Prediction cpu = run("meta-llama/Llama-3.1-8B", "cpu-2s-spr", 1, 4096);
  EXPECT_DOUBLE_EQ(cpu.memory.overhead_bytes(), 0.0);
  Prediction two = run("meta-llama/Llama-3.1-8B", "h100-sxm", 1, 4096, {2, 1, 1});
  EXPECT_DOUBLE_EQ(two.memory.comm_buffer_bytes, 544.0 * 1048576.0);
  Prediction four = run("meta-llama/Llama-3.1-8B", "h100-sxm", 1, 4096, {2, 1, 2});
  EXPECT_DOUBLE_EQ(four.memory.comm_buffer_bytes, 688.0 * 1048576.0);
  EXPECT_DOUBLE_EQ(four.memory.overhead_bytes(), (512.0 + 688.0) * 1048576.0 + 0.36 * 1073741824.0);
}

// A layout the device cannot form: predict throws, predict_or_why says why and computes nothing.
TEST(Roofline, UnformableLayoutIsNotRunnable) {
  CompiledModel cm = compile_model(model("meta-llama/Llama-3.1-8B"), QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, {});
  PredictRequest r;
  r.parallel = {2, 1, 1};
  EXPECT_THROW(predict(cm, hw("cpu-2s-spr"), r), Error);
  Prediction p = predict_or_why(cm, hw("cpu-2s-spr"), r);
  EXPECT_FALSE(p.runnable);
  EXPECT_FALSE(p.has_figures);
  EXPECT_NE(p.reason.find("cpu-2s-spr has no interconnect"), std::string::npos) << p.reason;
  r.batch = 0;
  EXPECT_THROW(predict_or_why(cm, hw("cpu-2s-spr"), r), Error);  // bad input is still an error
}

TEST(Roofline, AgreesWithCostModelOpForOpOnEveryBundledModel) {
  for (const auto& b : list_bundled_models(kConfigs)) {
    const ModelIR& ir = model(b.path);
    for (QuantScheme q : {QuantScheme::BF16, QuantScheme::FP8, QuantScheme::INT4_G128, QuantScheme::Q4_K_M}) {
      for (int64_t batch : {1, 7, 64}) {
        Workload w;
        w.batch = batch;
        w.context = 3000;
        w.prompt_tokens = 0;
        w.quant = q;
        CompiledModel cm = compile_model(ir, q, w.policy, w.kv, w.routing);
        EXPECT_DOUBLE_EQ(cm.total_weight_bytes, static_cast<double>(weight_bytes(ir, q, w.policy))) << b.stem;
        PredictRequest r;
        r.batch = batch;
        r.context = 3000;
        Prediction p = predict(cm, hw("h100-sxm"), r);
        StepCost sc = decode_step_cost(ir, w);
        expect_rel(p.decode.flops_all_devices, sc.flops);
        expect_rel(p.decode.bytes_all_devices, sc.bytes);
        expect_rel(p.decode.flops, sc.flops);  // one device: per device == whole model
        for (const auto& o : p.decode.ops)
          for (int i : o.members) {
            const OpCost& c = sc.ops[static_cast<size_t>(i)];
            EXPECT_EQ(c.name, cm.op_names[static_cast<size_t>(i)]);
            expect_rel(o.flops, c.flops);
            expect_rel(o.bytes(), c.bytes());
            EXPECT_EQ(c.compute_dtype, compute_dtype_name(o.dtype)) << c.name;
          }
        Workload pw = w;
        pw.batch = 1;
        StepCost pc = prefill_cost(ir, pw);
        expect_rel(p.prefill.flops_all_devices, pc.flops);
        expect_rel(p.prefill.bytes_all_devices, pc.bytes);
      }
    }
  }
}

TEST(Roofline, MoeExpertsPerLayer) {
  // Mixtral: 8 experts, top-2. Batch 1 touches 2; batch 8 under uniform routing touches
  // 8 x (1 - (6/8)^8) = 8 x (1 - 0.100112915) = 7.19909668.
  Prediction one = run("mixtral-8x7b", "h100-sxm", 1, 1024);
  EXPECT_TRUE(one.moe.present);
  EXPECT_NEAR(one.moe.expected_experts_per_layer, 2.0, 1e-12);
  Prediction eight = run("mixtral-8x7b", "h100-sxm", 8, 1024);
  EXPECT_NEAR(eight.moe.uniform_experts_per_layer, 7.19909668, 1e-8);
  EXPECT_LT(eight.moe.zipf_experts_per_layer, eight.moe.uniform_experts_per_layer);  // skew reuses experts
  EXPECT_EQ(eight.moe.routing, "uniform");
  Prediction zipf = run("mixtral-8x7b", "h100-sxm", 8, 1024, {}, QuantScheme::BF16, RoutingModel{RoutingModel::Zipf, 1.2});
  EXPECT_EQ(zipf.moe.routing, "zipf:1.2");
  EXPECT_LT(zipf.decode.bytes, eight.decode.bytes);  // fewer distinct experts read
}

// Llama-3.1-8B tp=2, batch 1: 32 attention + 32 MLP all-reduces of 1 x 4096 x 2 = 8,192 bytes;
// a ring sends 2 x (2-1)/2 x 8,192 = 8,192 per device each -> 64 x 8,192 = 524,288 bytes,
// at 450e9 B/s per direction (NVLink4 900 GB/s bidirectional) = 1.165 us.
TEST(Roofline, TensorParallelAllReduce) {
  Prediction p = run("meta-llama/Llama-3.1-8B", "h100-sxm", 1, 4096, {2, 1, 1});
  EXPECT_DOUBLE_EQ(p.decode.comm.tp_allreduce_bytes, 524288.0);
  EXPECT_EQ(p.decode.comm.n_collectives, 64);
  expect_rel(p.decode.comm.time_s, 524288.0 / 450e9);
  EXPECT_EQ(p.layout.devices, 2);
  // Weights split in two (every tensor of this model is split tp ways in the layout).
  EXPECT_DOUBLE_EQ(p.memory.weights_bytes, 16060522496.0 / 2);
  Prediction one = run("meta-llama/Llama-3.1-8B", "h100-sxm", 1, 4096);
  EXPECT_LT(p.decode.time_s, one.decode.time_s);
  EXPECT_GT(p.decode.time_s, one.decode.time_s / 2);  // communication and replicated activations
}

// Mixtral tp=1 ep=8, batch 64: 8 devices each own 64/8 = 8 tokens; per MoE layer dispatch +
// combine 2 x 8 tokens x top-2 x 4096 x 2 bytes x 7/8 remote = 229,376 bytes; x 32 layers = 7,340,032
// at the mean rank; the most loaded of the 8 ranks (one expert each) gets 1 + sqrt(12) x
// sqrt(8/7) x 1.4236 / 16 = 1.3295 of it (ep_load_imbalance; layouts_test.cpp).
TEST(Roofline, ExpertParallelAllToAll) {
  Prediction p = run("mixtral-8x7b", "h100-sxm", 64, 1024, {1, 8, 1});
  EXPECT_NEAR(p.decode.comm.ep_alltoall_bytes, 7340032.0 * (1.0 + std::sqrt(12.0) * std::sqrt(8.0 / 7.0) * 1.4236003 / 16.0), 10.0);
  EXPECT_DOUBLE_EQ(p.decode.comm.tp_allreduce_bytes, 0.0);
  EXPECT_EQ(p.layout.attention_replicas, 8);
  EXPECT_EQ(p.memory.max_batch % 8, 0);  // whole replicas
}

TEST(Roofline, PipelineSplitsMemoryNotLatency) {
  Prediction one = run("meta-llama/Llama-3.1-8B", "h100-sxm", 4, 4096);
  Prediction two = run("meta-llama/Llama-3.1-8B", "h100-sxm", 4, 4096, {1, 1, 2});
  EXPECT_LT(two.memory.weights_bytes, 0.55 * one.memory.weights_bytes);
  EXPECT_GT(two.memory.weights_bytes, 0.45 * one.memory.weights_bytes);
  EXPECT_DOUBLE_EQ(two.decode.ops_s, one.decode.ops_s);
  // One stage-to-stage send of 4 x 4096 x 2 bytes.
  EXPECT_DOUBLE_EQ(two.decode.comm.pp_send_bytes, 32768.0);
}

// Qwen3-30B-A3B has 4 KV heads: at tp=8 each KV head sits on two ranks, so a device holds
// 1/4 of the cache (not 1/8); at tp=2 it holds 1/2.
TEST(Roofline, KvHeadsReplicatedBeyondTheirCount) {
  Prediction p8 = run("Qwen/Qwen3-30B-A3B", "h100-sxm", 1, 8192, {8, 1, 1});
  EXPECT_DOUBLE_EQ(p8.memory.kv_bytes, p8.memory.kv_bytes_per_sequence / 4);
  Prediction p2 = run("Qwen/Qwen3-30B-A3B", "h100-sxm", 1, 8192, {2, 1, 1});
  EXPECT_DOUBLE_EQ(p2.memory.kv_bytes, p2.memory.kv_bytes_per_sequence / 2);
  // MLA (DeepSeek-V3): the latent cache is whole on every rank.
  Prediction mla = run("deepseek-ai/DeepSeek-V3", "h200", 1, 8192, {8, 1, 1}, QuantScheme::FP8);
  EXPECT_DOUBLE_EQ(mla.memory.kv_bytes, mla.memory.kv_bytes_per_sequence);
  EXPECT_DOUBLE_EQ(mla.memory.kv_bytes_per_sequence, 70272.0 * 8192);  // 61 layers x 576 x 2 B = 70,272 B per token
}

TEST(Roofline, CalibratedBandwidthIsUsed) {
  HardwareSpec h = hw("h100-sxm");
  h.calibrated.read_bw_bytes_per_s = SourcedValue{3.0e12, "test"};
  CompiledModel cm = compile_model(model("meta-llama/Llama-3.1-8B"), QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, {});
  PredictRequest r;
  r.efficiency = EfficiencyMode::Datasheet;
  Prediction p = predict(cm, h, r);
  expect_rel(p.decode.time_s, p.decode.bytes / 3.0e12);
  EXPECT_FALSE(p.notes.empty());
}

TEST(Roofline, Fp8OnA100UsesBf16Peak) {
  Prediction p = run("meta-llama/Llama-3.1-8B", "a100-80gb", 256, 1024, {}, QuantScheme::FP8);
  bool noted = false;
  for (const auto& n : p.notes) noted = noted || n.find("has no fp8 peak") != std::string::npos;
  EXPECT_TRUE(noted);
  for (const auto& o : p.decode.ops)
    if (o.dtype == ComputeDtype::FP8) {
      EXPECT_EQ(o.peak_dtype, ComputeDtype::BF16);
    }
}

TEST(Roofline, BadInputs) {
  CompiledModel cm = compile_model(model("meta-llama/Llama-3.1-8B"), QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, {});
  PredictRequest r;
  r.batch = 0;
  EXPECT_THROW(predict(cm, hw("h100-sxm"), r), Error);
  r.batch = 1;
  r.context = 0;
  EXPECT_THROW(predict(cm, hw("h100-sxm"), r), Error);
  r.context = 10;
  r.parallel.tp = 3;
  EXPECT_THROW(predict(cm, hw("h100-sxm"), r), Error);
}

}  // namespace
}  // namespace llmcost

namespace llmcost {
namespace {

// One tp all-reduce per sublayer that holds split compute: 2 per Llama layer (attention + MLP), 1
// per Nemotron-H block (each layer is one mixer), and MoE sublayers apart (all-to-all under ep).
TEST(Roofline, TpCollectivesFollowTheSublayers) {
  const std::string dir = LLMCOST_CONFIG_DIR;
  CompiledModel llama = compile_model(load_model("meta-llama/Llama-3.1-8B", dir), QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, {});
  EXPECT_EQ(llama.n_tp_sublayers, 2 * 32);
  EXPECT_EQ(llama.n_moe_sublayers, 0);
  CompiledModel nh = compile_model(load_model("nvidia/Nemotron-H-56B-Base-8K", dir), QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, {});
  EXPECT_EQ(nh.n_tp_sublayers, 118);
  CompiledModel mix = compile_model(load_model("mistralai/Mixtral-8x7B-v0.1", dir), QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, {});
  EXPECT_EQ(mix.n_tp_sublayers, 64);
  EXPECT_EQ(mix.n_moe_sublayers, 32);
}

}  // namespace
}  // namespace llmcost
