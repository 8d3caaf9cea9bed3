// Capacity planning: scenario parsing (both spellings), replicas / throughput / cost arithmetic,
// the latency-limited batch, layout search, and scenario errors.
#include "llmcost/plan.h"

#include <gtest/gtest.h>

#include <cmath>

#include "llmcost/model_loader.h"

namespace llmcost {
namespace {

const std::string kConfigs = LLMCOST_CONFIG_DIR;

Scenario parse(const std::string& yaml) { return parse_scenario(parse_yaml(yaml, "s.yaml"), "s.yaml"); }
std::string error_of(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const char* kBase =
    "models: [meta-llama/Llama-3.1-8B]\n"
    "hardware: [h100-sxm]\n";

TEST(Plan, BundledScenariosParse) {
  Scenario d = load_scenario("default", kConfigs);
  EXPECT_EQ(d.concurrency, 64);      // workload.batch
  EXPECT_EQ(d.prompt_tokens, 2048);
  EXPECT_EQ(d.output_tokens, 512);   // context 2560 - prompt 2048
  EXPECT_EQ(d.quants.size(), 1u);
  EXPECT_EQ(d.prices.at("h100-sxm"), 2.49);
  Scenario c = load_scenario("chat-sizing", kConfigs);
  EXPECT_EQ(c.quants.size(), 3u);
  ASSERT_TRUE(c.max_decode_step_s);
  EXPECT_EQ(*c.max_decode_step_s, 0.05);
  EXPECT_EQ(*c.hardware[0].usd_per_device_hour, 2.49);
  EXPECT_FALSE(c.hardware[0].price_source.empty());
  Scenario b = load_scenario("bundled", kConfigs);
  EXPECT_TRUE(b.all_models);
  EXPECT_TRUE(b.all_hardware);
}

TEST(Plan, ScenarioErrors) {
  EXPECT_EQ(error_of("hardware: [h100-sxm]\nworkload: {concurrency: 1, prompt_tokens: 1, output_tokens: 1}\n"),
            "s.yaml: /models must list at least one model (a bundled name, HF id or config path), or be \"all\"");
  EXPECT_EQ(error_of(std::string(kBase) + "workload: {concurrency: 0, prompt_tokens: 1, output_tokens: 1}\n"),
            "s.yaml: /workload/concurrency must be an integer in [1, 1073741824], got 0");
  EXPECT_EQ(error_of(std::string(kBase) + "workload: {concurrency: 2, prompt_tokens: 100, context: 100}\n"),
            "s.yaml: /workload/context must be more than prompt_tokens (100) so that output tokens = context - prompt_tokens, got 100");
  EXPECT_EQ(error_of(std::string(kBase) + "workload: {concurrency: 2, prompt_tokens: 100}\n"),
            "s.yaml: /workload/output_tokens is required (a positive integer), or give context > prompt_tokens");
  EXPECT_NE(error_of(std::string(kBase) + "quant: [bf16, int3]\nworkload: {concurrency: 2, prompt_tokens: 1, output_tokens: 1}\n")
                .find("s.yaml: /quant/1 must be one of"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kBase) + "workload: {concurency: 2, prompt_tokens: 1, output_tokens: 1}\n")
                .find("s.yaml: /workload/concurency is not a known key"),
            std::string::npos);
  EXPECT_EQ(error_of(std::string(kBase) + "workload: {concurrency: 2, prompt_tokens: 1, output_tokens: 1, max_decode_step_s: -1}\n"),
            "s.yaml: /workload/max_decode_step_s must be a positive number");
  EXPECT_EQ(error_of("models: [x]\nhardware: [{name: h100-sxm, usd_per_device_hour: {value: 2}}]\n"
                     "workload: {concurrency: 1, prompt_tokens: 1, output_tokens: 1}\n"),
            "s.yaml: /hardware/0/usd_per_device_hour/source is required (a string) but is missing");
  EXPECT_EQ(error_of(std::string(kBase) + "memory_fraction: 1.5\nworkload: {concurrency: 2, prompt_tokens: 1, output_tokens: 1}\n"),
            "s.yaml: /memory_fraction must be in (0, 1], got 1.500000");
  EXPECT_EQ(parse(std::string(kBase) + "memory_fraction: 0.9\nworkload: {concurrency: 2, prompt_tokens: 1, output_tokens: 1}\n")
                .memory_fraction,
            0.9);
  // mem_util is --mem-util's key; memory_fraction its older name; not both; default 0.9.
  EXPECT_EQ(parse(std::string(kBase) + "mem_util: 0.8\nworkload: {concurrency: 2, prompt_tokens: 1, output_tokens: 1}\n").memory_fraction,
            0.8);
  EXPECT_EQ(parse(std::string(kBase) + "workload: {concurrency: 2, prompt_tokens: 1, output_tokens: 1}\n").memory_fraction, 0.9);
  EXPECT_EQ(error_of(std::string(kBase) + "mem_util: 0\nworkload: {concurrency: 2, prompt_tokens: 1, output_tokens: 1}\n"),
            "s.yaml: /mem_util must be a positive number");
  EXPECT_EQ(error_of(std::string(kBase) + "mem_util: 0.8\nmemory_fraction: 0.8\nworkload: {concurrency: 2, prompt_tokens: 1, output_tokens: 1}\n"),
            "s.yaml: /memory_fraction must not be given together with mem_util (the same number)");
  EXPECT_EQ(parse(std::string(kBase) + "workload: {concurrency: 2, prompt_tokens: 1, output_tokens: 1, prefill_chunk_tokens: 2048}\n")
                .prefill_chunk_tokens,
            2048);
  EXPECT_EQ(parse(std::string(kBase) + "workload: {concurrency: 2, prompt_tokens: 1, output_tokens: 1}\n").prefill_chunk_tokens, 8192);
  EXPECT_NE(error_of(std::string(kBase) + "workload: {concurrency: 2, prompt_tokens: 1, output_tokens: 1, prefill_chunk_tokens: 0}\n")
                .find("s.yaml: /workload/prefill_chunk_tokens must be an integer in [1, "),
            std::string::npos);
  try {
    load_scenario("no-such-scenario", kConfigs);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bundled scenarios:"), std::string::npos);
  }
}

// Llama-3.1-8B bf16 on one H100, 300 requests of 1024 prompt + 1024 output tokens:
// replicas = ceil(300 / max batch at context 2048); batch per replica = ceil(300 / replicas);
// output tok/s = replicas x b x 1024 / (b x TTFT + 1024 x step); cost = $/h x devices / 3600 / tok/s x 1e6.
TEST(Plan, ReplicasThroughputAndCostArithmetic) {
  Scenario s = parse(std::string(kBase) + "workload: {concurrency: 300, prompt_tokens: 1024, output_tokens: 1024}\n");
  ModelIR ir = load_model("meta-llama/Llama-3.1-8B", kConfigs);
  HardwareSpec hw = load_hardware("h100-sxm", kConfigs);
  CompiledModel m = compile_model(ir, QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, {});
  PlanRow row = plan_one(m, hw, s, 2.0);
  ASSERT_TRUE(row.feasible) << row.reason;
  // 2 devices either way (2 replicas of 1, or 1 of tp=2); ties go to the lower request latency.
  EXPECT_EQ(row.devices, 2);
  PredictRequest r;
  r.parallel = row.parallel;
  r.batch = 1;
  r.context = 2048;
  r.prompt_tokens = 1024;
  int64_t limit = predict(m, hw, r, false).memory.max_batch;
  EXPECT_EQ(row.max_concurrency_per_replica, limit);
  EXPECT_EQ(row.replicas, (300 + limit - 1) / limit);
  EXPECT_EQ(row.batch_per_replica, (300 + row.replicas - 1) / row.replicas);
  r.batch = row.batch_per_replica;
  r.context = 1024 + 512;  // the mean context while generating
  Prediction p = predict(m, hw, r, false);
  EXPECT_DOUBLE_EQ(row.decode_step_s, p.decode.time_s);
  EXPECT_DOUBLE_EQ(row.ttft_s, p.prefill.time_s);
  double b = static_cast<double>(row.batch_per_replica);
  // Throughput: the replica's batch prefilled together (one pass over the weights per chunk), then
  // 1023 decode steps (the first token comes from the prefill).
  PredictRequest rb = r;
  rb.prefill_batch = row.batch_per_replica;
  Prediction pb = predict(m, hw, rb, false);
  EXPECT_DOUBLE_EQ(pb.decode.time_s, p.decode.time_s);
  EXPECT_GT(pb.prefill.time_s, p.prefill.time_s);
  double tps = static_cast<double>(row.replicas) * b * 1024 / (pb.prefill.time_s + 1023 * p.decode.time_s);
  EXPECT_DOUBLE_EQ(row.output_tokens_per_s, tps);
  EXPECT_DOUBLE_EQ(row.request_latency_s, p.prefill.time_s + 1024 * p.decode.time_s);
  ASSERT_TRUE(row.usd_per_million_output_tokens);
  EXPECT_DOUBLE_EQ(*row.usd_per_million_output_tokens, 2.0 * static_cast<double>(row.devices) / 3600.0 / tps * 1e6);
}

TEST(Plan, LatencyTargetLimitsTheBatch) {
  Scenario s = parse(std::string(kBase) + "workload: {concurrency: 64, prompt_tokens: 1024, output_tokens: 1024, max_decode_step_s: 0.006}\n");
  ModelIR ir = load_model("meta-llama/Llama-3.1-8B", kConfigs);
  HardwareSpec hw = load_hardware("h100-sxm", kConfigs);
  CompiledModel m = compile_model(ir, QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, {});
  PlanRow row = plan_one(m, hw, s, std::nullopt);
  ASSERT_TRUE(row.feasible);
  EXPECT_TRUE(row.meets_latency);
  EXPECT_LE(row.decode_step_s, 0.006);
  // The limit is the largest batch whose step meets the target, on the chosen layout.
  PredictRequest r;
  r.context = 1024 + 512;
  r.prompt_tokens = 1024;
  r.parallel = row.parallel;
  r.batch = row.max_concurrency_per_replica;
  EXPECT_LE(predict(m, hw, r, false).decode.time_s, 0.006);
  r.batch += 1;
  EXPECT_GT(predict(m, hw, r, false).decode.time_s, 0.006);
  EXPECT_FALSE(row.usd_per_million_output_tokens);

  Scenario impossible = parse(std::string(kBase) + "workload: {concurrency: 4, prompt_tokens: 1024, output_tokens: 16, max_decode_step_s: 0.0001}\n");
  PlanRow miss = plan_one(m, hw, impossible, std::nullopt);
  EXPECT_TRUE(miss.feasible);
  EXPECT_FALSE(miss.meets_latency);
  EXPECT_NE(miss.reason.find("latency target missed"), std::string::npos);
}

// A row no layout can run is kept, with why; the other rows are planned as usual.
TEST(Plan, NotRunnableRowsSayWhy) {
  Scenario s = parse("models: [gpt2, meta-llama/Llama-3.1-405B]\nhardware: [h200, cpu-2s-spr, l4]\n"
                     "workload: {concurrency: 4, prompt_tokens: 1000, output_tokens: 100}\n");
  PlanResult r = run_plan(s, kConfigs);
  ASSERT_EQ(r.rows.size(), 6u);
  // gpt2: 1100 tokens > its 1024 positions, on every device.
  for (size_t hi = 0; hi < 3; ++hi) {
    const PlanRow& g = r.row(0, 0, hi);
    EXPECT_FALSE(g.feasible);
    EXPECT_NE(g.reason.find("context 1100 exceeds the model's max_position_embeddings 1024"), std::string::npos) << g.reason;
  }
  // Llama-3.1-405B bf16 (810 GB): 8 H200s hold it; so does the CPU box's one device (0.9 x 1024 GiB);
  // 8 L4s (8 x 0.9 x 24 GiB) cannot.
  EXPECT_TRUE(r.row(1, 0, 0).feasible) << r.row(1, 0, 0).reason;
  const PlanRow& cpu = r.row(1, 0, 1);
  EXPECT_TRUE(cpu.feasible) << cpu.reason;
  const PlanRow& l4 = r.row(1, 0, 2);
  EXPECT_FALSE(l4.feasible);
  EXPECT_NE(l4.reason.find("no layout of up to 8 device(s) runs it; tp=8: needs "), std::string::npos) << l4.reason;
  EXPECT_NE(l4.reason.find("more than the usable"), std::string::npos) << l4.reason;
}

TEST(Plan, SmallestFittingLayout) {
  ModelIR ir = load_model("meta-llama/Llama-3.1-70B", kConfigs);
  HardwareSpec h100 = load_hardware("h100-sxm", kConfigs);
  CompiledModel m = compile_model(ir, QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, {});
  // 141 GB of bf16 weights: two 85.5 GB devices (76.97 GB usable at mem-util 0.9) hold 70.6 GB each
  // plus KV for 1 sequence, activations and the engine overhead.
  PredictRequest r;  // batch 1, context 4096, mem-util 0.9
  auto c = smallest_fitting_layout(m, h100, r, 8);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->tp, 2);
  EXPECT_EQ(c->pp, 1);
  HardwareSpec cpu = load_hardware("cpu-2s-spr", kConfigs);
  auto one = smallest_fitting_layout(m, cpu, r, 8);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->tp * one->pp, 1);
  HardwareSpec l4 = load_hardware("l4", kConfigs);
  ModelIR big = load_model("meta-llama/Llama-3.1-405B", kConfigs);
  CompiledModel mb = compile_model(big, QuantScheme::BF16, QuantPolicy{}, KvDtype::BF16, {});
  EXPECT_FALSE(smallest_fitting_layout(mb, l4, r, 8));  // 810 GB > 8 x 24 GiB
}

TEST(Plan, RunPlanCoversEveryCombination) {
  Scenario s = parse("models: [meta-llama/Llama-3.1-8B, mixtral-8x7b]\nhardware: [h100-sxm, l4]\nquant: [bf16, fp8]\n"
                     "prices_usd_per_device_hour: {l4: 0.5}\n"
                     "workload: {concurrency: 8, prompt_tokens: 512, output_tokens: 128}\n");
  PlanResult r = run_plan(s, kConfigs);
  ASSERT_EQ(r.rows.size(), 8u);
  EXPECT_EQ(r.rows[0].hardware, "h100-sxm");
  EXPECT_EQ(r.rows[1].hardware, "l4");
  EXPECT_EQ(r.rows[1].usd_per_device_hour.value_or(0), 0.5);  // the scenario's price wins over the YAML's $0.78
  // No scenario price for h100-sxm: the hardware YAML's dated one, and where it came from.
  EXPECT_EQ(r.rows[0].usd_per_device_hour.value_or(0), 4.76);
  EXPECT_NE(r.scenario.hardware[0].price_source.find("/price/usd_per_device_hour, 2026-03-10"), std::string::npos)
      << r.scenario.hardware[0].price_source;
  // row(model, quant, hardware) is the row with those keys, whatever the order of rows.
  for (size_t mi = 0; mi < 2; ++mi)
    for (size_t qi = 0; qi < 2; ++qi)
      for (size_t hi = 0; hi < 2; ++hi) {
        const PlanRow& x = r.row(mi, qi, hi);
        EXPECT_EQ(x.hardware, hi == 0 ? "h100-sxm" : "l4");
        EXPECT_EQ(x.quant, qi == 0 ? "bf16" : "fp8");
        EXPECT_EQ(x.model, mi == 0 ? "meta-llama/Llama-3.1-8B" : "mistralai/Mixtral-8x7B-v0.1");
      }
  EXPECT_THROW(r.row(2, 0, 0), Error);
  EXPECT_THROW(r.row(0, 2, 0), Error);
  PlanResult swapped = r;
  std::swap(swapped.rows[0], swapped.rows[1]);
  EXPECT_THROW(swapped.row(0, 0, 0), Error);  // keys checked, not trusted to the order
  for (const auto& row : r.rows) {
    EXPECT_TRUE(row.feasible) << row.model << " " << row.hardware << " " << row.quant << ": " << row.reason;
    EXPECT_GE(row.devices, row.devices_per_replica);
    EXPECT_GT(row.output_tokens_per_s, 0);
  }
}

}  // namespace
}  // namespace llmcost
