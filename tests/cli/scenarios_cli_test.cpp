// Every bundled scenario (configs/scenarios/*.yaml) through `llmcost plan` and `llmcost report`: both
// succeed, the report's rows and memory tables are the plan's rows, and every plan row is what a
// direct prediction with the same model, quantization, hardware, layout and workload gives (and a
// row that is not runnable is not runnable on every layout the plan may use).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "cli/cli_fixture.h"
#include "llmcost/hardware.h"
#include "llmcost/model_loader.h"
#include "llmcost/plan.h"
#include "llmcost/roofline.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kConfigs = LLMCOST_CONFIG_DIR;

std::vector<std::string> bundled_scenarios() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(fs::path(kConfigs) / "scenarios"))
    if (e.path().extension() == ".yaml") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

void expect_same(double a, double b, const std::string& what) {
  EXPECT_LE(std::fabs(a - b), 1e-12 * std::max(std::fabs(a), std::fabs(b))) << what << ": " << a << " vs " << b;
}

class ScenarioCli : public llmcost_test::CliTest {};

TEST_F(ScenarioCli, BundledScenariosExist) {
  auto names = bundled_scenarios();
  EXPECT_GE(names.size(), 3u);
  EXPECT_NE(std::find(names.begin(), names.end(), "chat-sizing"), names.end());
}

TEST_F(ScenarioCli, EveryBundledScenarioPlansAndReportsTheRowsPredictGives) {
  for (const std::string& name : bundled_scenarios()) {
    SCOPED_TRACE(name);
    llmcost_test::CliRun plan = run("plan " + name + " --format json");
    ASSERT_EQ(plan.code, 0) << plan.err;
    const json pj = json::parse(plan.out);
    llmcost_test::CliRun rep = run("report " + name + " --format json -o '" + path("out") + "'");
    ASSERT_EQ(rep.code, 0) << rep.err;
    EXPECT_TRUE(rep.err.empty()) << rep.err;
    const json rj = json::parse(slurp(dir_ / "out" / (name + ".json")));

    // The scenario as the plan read it; models by their IR name.
    const llmcost::Scenario sc = llmcost::load_scenario(name, kConfigs);
    std::map<std::string, llmcost::ModelIR> models;
    for (const auto& spec : pj["scenario"]["models"]) {
      llmcost::ModelIR ir = llmcost::load_model(spec.get<std::string>(), kConfigs);
      models.emplace(ir.name, std::move(ir));
    }
    std::map<std::string, llmcost::HardwareSpec> hws;
    for (const auto& h : pj["hardware"]) hws.emplace(h["name"], llmcost::load_hardware(h["source_file"], kConfigs));
    const size_t expected_rows = models.size() * pj["scenario"]["quant"].size() * hws.size();
    ASSERT_EQ(pj["rows"].size(), expected_rows);

    // Report rows by (model, hardware, quant).
    std::map<std::string, json> report_rows, report_memory;
    for (const auto& s : rj["sections"])
      for (const auto& t : s["tables"]) {
        if (t["id"] == "plan-table")
          for (const auto& r : t["rows"])
            report_rows[r["model"].get<std::string>() + "|" + r["hardware"].get<std::string>() + "|" + r["quant"].get<std::string>()] = r;
        const std::string id = t["id"];
        if (id.size() > 13 && id.compare(id.size() - 13, 13, "-memory-table") == 0)
          for (const auto& r : t["rows"])
            report_memory[s["heading"].get<std::string>() + "|" + r["hardware"].get<std::string>() + "|" +
                          r["quant"].get<std::string>()] = r;
      }
    EXPECT_EQ(report_rows.size(), expected_rows);

    std::map<std::string, llmcost::CompiledModel> compiled;
    const int64_t ctx_max = llmcost::plan_full_context(sc), ctx_mean = llmcost::plan_mean_context(sc);
    size_t runnable = 0, not_runnable = 0;
    for (const auto& row : pj["rows"]) {
      const std::string model = row["model"], hw_name = row["hardware"], quant = row["quant"];
      const std::string key = model + "|" + hw_name + "|" + quant;
      SCOPED_TRACE(key);
      ASSERT_TRUE(models.count(model));
      ASSERT_TRUE(hws.count(hw_name));
      auto ck = compiled.find(model + "|" + quant);
      if (ck == compiled.end())
        ck = compiled
                 .emplace(model + "|" + quant, llmcost::compile_model(models.at(model), *llmcost::parse_quant_scheme(quant), sc.policy,
                                                                      sc.kv, sc.routing))
                 .first;
      const llmcost::CompiledModel& m = ck->second;
      const llmcost::HardwareSpec& hw = hws.at(hw_name);
      ASSERT_TRUE(report_rows.count(key));
      const json& rr = report_rows.at(key);
      if (!row["feasible"].get<bool>()) {
        ++not_runnable;
        EXPECT_FALSE(row["reason"].get<std::string>().empty());
        EXPECT_EQ(rr["note"], "not runnable: " + row["reason"].get<std::string>());
        EXPECT_FALSE(report_memory.count(key));
        // Not runnable on any layout the plan may try.
        for (int64_t n = 1; n <= sc.max_devices_per_replica && (n == 1 || hw.interconnect); n *= 2)
          for (const auto& c : llmcost::plan_layouts(n, m.n_moe_layers > 0))
            EXPECT_FALSE(llmcost::predict_or_why(m, hw, llmcost::plan_request(sc, c, 1, ctx_max), false).runnable)
                << c.tp << "x" << c.pp;
        continue;
      }
      ++runnable;
      const llmcost::ParallelConfig par{row["parallel"]["tp"], row["parallel"]["ep"], row["parallel"]["pp"]};
      const int64_t batch = row["batch_per_replica"];
      // The plan's step and TTFT: a prediction at the planned batch and the mean context.
      llmcost::Prediction step = llmcost::predict(m, hw, llmcost::plan_request(sc, par, batch, ctx_mean), false);
      expect_same(row["decode_step_s"], step.decode.time_s, "decode step");
      expect_same(row["ttft_s"], step.prefill.time_s, "TTFT");
      // Its memory: a prediction at the planned batch and the full context, which runs.
      llmcost::Prediction full = llmcost::predict(m, hw, llmcost::plan_request(sc, par, batch, ctx_max), false);
      EXPECT_TRUE(full.runnable) << full.reason;
      expect_same(row["per_device_bytes"], full.memory.per_device_bytes, "memory per device");
      expect_same(row["capacity_bytes"], full.memory.capacity_bytes, "usable capacity");
      // The report shows the same row and, in the model's memory table, the same memory.
      EXPECT_EQ(rr["devices"], row["devices"]);
      EXPECT_EQ(rr["batch_per_replica"], row["batch_per_replica"]);
      expect_same(rr["decode_step_s"], row["decode_step_s"], "report decode step");
      expect_same(rr["ttft_s"], row["ttft_s"], "report TTFT");
      expect_same(rr["output_tokens_per_s"], row["output_tokens_per_s"], "report tokens/s");
      expect_same(rr["per_device_bytes"], row["per_device_bytes"], "report memory per device");
      ASSERT_TRUE(report_memory.count(key));
      const json& mem = report_memory.at(key);
      expect_same(mem["used_bytes_per_device"], full.memory.per_device_bytes, "report memory table total");
      expect_same(mem["weight_bytes_per_device"], full.memory.weights_bytes, "report memory table weights");
      expect_same(mem["kv_bytes_per_device"], full.memory.kv_bytes, "report memory table KV");
      expect_same(mem["overhead_bytes_per_device"], full.memory.overhead_bytes(), "report memory table overhead");
      EXPECT_EQ(mem["devices_per_replica"], row["devices_per_replica"]);
    }
    EXPECT_GT(runnable, 0u);
    // The first runnable row once more through `llmcost predict` itself (the CLI's own request).
    for (const auto& row : pj["rows"]) {
      if (!row["feasible"].get<bool>()) continue;
      std::string spec;
      for (const auto& s : pj["scenario"]["models"])
        if (llmcost::load_model(s.get<std::string>(), kConfigs).name == row["model"]) spec = s;
      std::string args = "predict '" + spec + "' --hw " + row["hardware"].get<std::string>() + " --quant " +
                         row["quant"].get<std::string>() + " --tp " + std::to_string(row["parallel"]["tp"].get<int64_t>()) +
                         " --ep " + std::to_string(row["parallel"]["ep"].get<int64_t>()) + " --pp " +
                         std::to_string(row["parallel"]["pp"].get<int64_t>()) + " --batch " +
                         std::to_string(row["batch_per_replica"].get<int64_t>()) + " --context " + std::to_string(ctx_mean) +
                         " --prompt " + std::to_string(sc.prompt_tokens) + " --kv-dtype " + pj["scenario"]["kv_dtype"].get<std::string>() +
                         " --routing " + pj["scenario"]["routing"].get<std::string>() + " --quant-policy " +
                         pj["scenario"]["quant_policy"].get<std::string>() + " --mem-util " +
                         std::to_string(pj["scenario"]["mem_util"].get<double>()) + " --format json";
      llmcost_test::CliRun p = run(args);
      ASSERT_EQ(p.code, 0) << args << "\n" << p.err;
      const json j = json::parse(p.out);
      expect_same(j["decode"]["step_s"], row["decode_step_s"], "llmcost predict decode step");
      expect_same(j["prefill"]["s"], row["ttft_s"], "llmcost predict TTFT");
      break;
    }
    (void)not_runnable;
  }
}

}  // namespace
