// The run file schema: the writer's exact layout, a round trip through the reader, and one-line
// errors naming the file and the JSON pointer.
#include <gtest/gtest.h>

#include "llmcost/run_record.h"
#include "llmcost/version.h"

namespace llmcost {
namespace {

RunRecord sample() {
  RunRecord r;
  r.backend = "cpu";
  r.device = "test cpu";
  r.model = "tiny";
  r.batch = 2;
  r.context = 8;
  r.prompt = 4;
  r.tokens = 3;
  r.routing = "router";
  r.weight_dtype = "bf16";
  r.layers = {0, 1};
  r.params = 1000;
  r.weight_bytes = 2000;
  r.read_bw_bytes_per_s = 1e10;
  r.gemm_flops_per_s = 3e10;
  r.calibration_source = "hw.yaml";
  r.predicted_decode_step_s = 0.5;
  r.predicted_prefill_s = 0.25;
  r.predicted_distinct_experts = 2.5;
  r.decode_step_s = 0.75;
  r.decode_step_s_p10 = 0.5;
  r.decode_step_s_p90 = 1.0;
  r.decode_bytes = 4096;
  r.achieved_bw_bytes_per_s = 5461.5;
  r.prefill_s = 0.125;
  r.distinct_experts_per_layer = {2.0, 3.5};
  r.distinct_experts_per_step = {{2, 3}, {2, 4}};
  RunOpRecord op;
  op.name = "model.layers.0.mlp";
  op.kind = "mlp";
  op.predicted_s = 0.25;
  op.measured_s = 0.5;
  op.measured_s_p10 = 0.25;
  op.measured_s_p90 = 0.75;
  op.bytes = 1024;
  op.flops = 2048;
  op.achieved_bw_bytes_per_s = 2048;
  op.error_pct = -50;
  r.ops = std::vector<RunOpRecord>{op};
  r.prefill_ops = {op};
  return r;
}

TEST(RunRecord, WriterLayoutIsStable) {
  // `llmcost run --format json` output: sorted keys, two-space indent, nulls without a prefill.
  RunRecord r = sample();
  r.ops->clear();
  r.prefill_ops.clear();
  r.predicted_prefill_s.reset();
  r.prefill_s.reset();
  r.distinct_experts_per_layer.clear();
  r.distinct_experts_per_step.clear();
  std::string want = R"({
  "backend": "cpu",
  "calibration": {
    "gemm_flops_per_s": 30000000000.0,
    "read_bw_bytes_per_s": 10000000000.0,
    "source": "hw.yaml"
  },
  "device": "test cpu",
  "llmcost_version": "@VERSION@",
  "measured": {
    "achieved_bw_bytes_per_s": 5461.5,
    "decode_bytes": 4096.0,
    "decode_step_s": 0.75,
    "decode_step_s_p10": 0.5,
    "decode_step_s_p90": 1.0,
    "distinct_experts_per_layer": [],
    "distinct_experts_per_layer_per_step": [],
    "prefill_s": null
  },
  "model": "tiny",
  "ops": [],
  "predicted": {
    "decode_step_s": 0.5,
    "distinct_experts_per_layer": 2.5,
    "prefill_s": null
  },
  "prefill_ops": [],
  "slice": {
    "layers": [
      0,
      1
    ],
    "params": 1000,
    "weight_bytes": 2000
  },
  "workload": {
    "batch": 2,
    "context": 8,
    "prompt": 4,
    "routing": "router",
    "tokens": 3,
    "weight_dtype": "bf16"
  }
}
)";
  want.replace(want.find("@VERSION@"), 9, version_stamp());  // stamped with this build
  EXPECT_EQ(run_record_to_json(r), want);
}

TEST(RunRecord, RoundTrips) {
  const std::string text = run_record_to_json(sample());
  RunRecord back = run_record_from_json(parse_json(text, "run.json"), "run.json");
  EXPECT_EQ(run_record_to_json(back), text);
  EXPECT_EQ(back.slice_text(), "0, 1");
  ASSERT_TRUE(back.ops);
  ASSERT_EQ(back.ops->size(), 1u);
  EXPECT_EQ((*back.ops)[0].name, "model.layers.0.mlp");
  EXPECT_EQ(back.distinct_experts_per_step, (std::vector<std::vector<int64_t>>{{2, 3}, {2, 4}}));
}

TEST(RunRecord, ReadsPartialFiles) {
  // Hand-written files: a slice stated as a count, no ops, no calibration.
  RunRecord r = run_record_from_json(
      parse_json(R"({"slice": {"layers": 2}, "measured": {"decode_step_s": 0.1}})", "run.json"), "run.json");
  EXPECT_EQ(r.slice_text(), "2");
  EXPECT_FALSE(r.ops.has_value());
  EXPECT_DOUBLE_EQ(*r.decode_step_s, 0.1);
  EXPECT_FALSE(r.decode_step_s_p10.has_value());
  EXPECT_EQ(r.read_bw_bytes_per_s, 0.0);
}

// doc[key], failing the test (and returning null) when absent.
const Value& at(const Value& v, const std::string& key) {
  static const Value null_value;
  const Value* p = v.find(key);
  EXPECT_NE(p, nullptr) << key;
  return p ? *p : null_value;
}

TEST(RunRecord, CounterPassAndGraphFieldsRoundTrip) {
  // The optional fields of the counter pass, predicted bytes and the CUDA-graph flag: written only
  // when set (WriterLayoutIsStable has none of them), read back as written.
  RunRecord r = sample();
  (*r.ops)[0].predicted_bytes = 1100;
  (*r.ops)[0].dram_read_bytes = 1000;
  (*r.ops)[0].dram_write_bytes = 50;
  r.predicted_decode_bytes = 4500;
  r.dram_read_bytes = 4000;
  r.dram_write_bytes = 200;
  r.cuda_graph = true;
  r.counters = RunCounters{std::string("cupti"), 3, std::nullopt};
  const std::string text = run_record_to_json(r);
  Value doc = parse_json(text, "run.json");
  EXPECT_EQ(at(at(doc, "workload"), "cuda_graph").as_bool(), true);
  EXPECT_EQ(at(at(doc, "predicted"), "decode_bytes").as_double(), 4500.0);
  EXPECT_EQ(at(at(doc, "measured"), "dram_read_bytes").as_double(), 4000.0);
  EXPECT_EQ(at(at(doc, "counters"), "source").as_string(), "cupti");
  EXPECT_EQ(at(at(doc, "counters"), "passes").as_int(), 3);
  EXPECT_TRUE(at(at(doc, "counters"), "unavailable").is_null());
  EXPECT_EQ(at(at(doc, "ops").items()[0], "dram_write_bytes").as_double(), 50.0);
  RunRecord back = run_record_from_json(doc, "run.json");
  EXPECT_EQ(run_record_to_json(back), text);
  ASSERT_TRUE(back.counters);
  EXPECT_EQ(back.counters->passes, 3);
  EXPECT_EQ(*(*back.ops)[0].predicted_bytes, 1100.0);

  // A run whose counters could not run says why, and has no DRAM figures.
  RunRecord none = sample();
  none.counters = RunCounters{std::nullopt, 0, std::string("cpu has no hardware counters")};
  RunRecord none_back = run_record_from_json(parse_json(run_record_to_json(none), "run.json"), "run.json");
  ASSERT_TRUE(none_back.counters);
  EXPECT_FALSE(none_back.counters->source);
  EXPECT_EQ(*none_back.counters->unavailable, "cpu has no hardware counters");
  EXPECT_FALSE(none_back.dram_read_bytes);
  EXPECT_FALSE((*none_back.ops)[0].dram_read_bytes);
}

TEST(RunRecord, BadInputNamesFileAndPointer) {
  auto error_of = [](const std::string& text) {
    try {
      run_record_from_json(parse_json(text, "run.json"), "run.json");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of(R"({"ops": []})"),
            "run.json: /measured must be an object (the measured results of `llmcost run`)");
  EXPECT_EQ(error_of(R"({"measured": {}, "ops": {}})"),
            "run.json: /ops must be an array of {name, predicted_s, measured_s, ...}");
  EXPECT_EQ(error_of(R"({"measured": {}, "ops": [{"name": "a", "measured_s": -1}]})"),
            "run.json: /ops/0/measured_s must be a non-negative number of seconds, got -1");
  EXPECT_EQ(error_of(R"({"measured": {}, "prefill_ops": [{"name": "a", "predicted_s": -1, "measured_s": 1}]})"),
            "run.json: /prefill_ops/0/predicted_s must be a non-negative number of seconds, got -1");
  EXPECT_EQ(error_of(R"({"measured": {"distinct_experts_per_layer_per_step": [[1, "x"]]}})"),
            "run.json: /measured/distinct_experts_per_layer_per_step/0/1 must be an integer");
  EXPECT_EQ(error_of(R"({"measured": {"dram_read_bytes": -5}})"),
            "run.json: /measured/dram_read_bytes must be a non-negative count, got -5");
  EXPECT_EQ(error_of(R"({"measured": {}, "ops": [{"name": "a", "measured_s": 1, "dram_write_bytes": -1}]})"),
            "run.json: /ops/0/dram_write_bytes must be a non-negative count, got -1");
  EXPECT_EQ(error_of(R"({"measured": {}, "workload": {"cuda_graph": "yes"}})"),
            "run.json: /workload/cuda_graph must be true or false");
  EXPECT_EQ(error_of(R"({"measured": {}, "counters": {"source": 3}})"), "run.json: /counters/source must be a string or null");
  EXPECT_EQ(error_of(R"({"measured": {"decode_step_s": "fast"}})").rfind("run.json: /measured/decode_step_s must be a number", 0),
            0u);
}

}  // namespace
}  // namespace llmcost
