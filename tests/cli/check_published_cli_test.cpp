// `llmcost check` on published serving-benchmark result files (tests/data/serving-published; the
// source of every file, what its publisher states about the run and what was trimmed are in
// SOURCES.md there). The test fails when a file stops parsing, when a measured figure llmcost reads
// is not the file's own, or when the comparison moves out of the stated error bounds.
//
// Flags per set, as the publishers state them (SOURCES.md):
//   surajssd/llm-k8s vLLM 0.8.3, Llama-3.3-70B-Instruct bf16 (model_id in the file),
//     Azure Standard_ND96asr_v4 = A100 SXM 40GB:        --hw a100-40gb --tp 8           (01_tp8_pp1)
//                                                      --hw a100-40gb --tp 4 --pp 2    (04_tp4_pp2_IB)
//   datacrunch-research/h200-benchmarks SGLang (lmsysorg/sglang, 2024-12), bf16, the file names no model:
//     --model meta-llama/Llama-3.3-70B-Instruct --hw h200 --tp 4   (llama_3_3_70b_*_output.jsonl)
//     --model meta-llama/Llama-3.1-405B --hw h200 --tp 8           (llama_405b_online_output.jsonl)
//
// Bounds, like tests/cli/published_cli_test.cpp's (error = predicted / measured - 1):
//   h200 (derated: configs/hardware/h200.yaml has an efficiency: block): every TPOT and output
//     throughput within 2.5x, median |error| per figure <= 45 %; the run at the lowest request rate
//     of the set (the least queueing): TPOT and throughput within 25 %, TTFT predicted below the
//     measured one and within 2.5x (llmcost predicts one request's prefill; the client's TTFT adds
//     the HTTP round trip, scheduling and, under load, queueing, so TTFT of loaded runs is not bounded
//     from below).
//   a100-40gb (no efficiency: block: the datasheet roofline, a lower bound on time): every predicted
//     TPOT below the measured one and within 4x, throughput above and within 4x, TTFT below; and the
//     median |error| of TPOT at least 30 % (the datasheet is far off, as published_cli_test's
//     DatasheetFailsTheSameBounds). When a100-40gb.yaml gets an efficiency block this set moves to
//     the derated bounds.
// README.md has one row per set (median |error| of TTFT, TPOT, throughput over the set's runs, and
// the TPOT / throughput error at its lowest request rate); the test fails when a row is stale and
// prints the current one.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>
#include <vector>

#include "cli_fixture.h"

namespace llmcost_test {
namespace {

const std::string kDir = std::string(LLMCOST_TEST_DATA) + "/serving-published/";

struct Set {
  std::string name;  // also the README row's first two cells
  std::vector<std::string> files;  // under kDir
  std::string flags;
  bool derated;
  size_t runs;  // runs in all its files together
};

std::vector<Set> sets() {
  const std::string k = "surajssd-llm-k8s/", v = "serving_meta-llama-Llama-3.3-70B-Instruct_";
  const std::string d = "datacrunch-h200-benchmarks/";
  return {
      {"vLLM 0.8.3, Llama-3.3-70B bf16 tp8 | 8x a100-40gb, datasheet (no efficiency block)",
       {k + "01_tp8_pp1/" + v + "tp8_pp1_sharegpt_qps_01.json", k + "01_tp8_pp1/" + v + "tp8_pp1_sharegpt_qps_04.json",
        k + "01_tp8_pp1/" + v + "tp8_pp1_sharegpt_qps_16.json", k + "01_tp8_pp1/" + v + "tp8_pp1_sharegpt_qps_inf.json"},
       "--hw a100-40gb --tp 8",
       false,
       4},
      {"vLLM 0.8.3, Llama-3.3-70B bf16 tp4 pp2 (2 nodes, InfiniBand) | 8x a100-40gb, datasheet (no efficiency block)",
       {k + "04_tp4_pp2_IB/" + v + "tp4_pp2_sharegpt_qps_01.json", k + "04_tp4_pp2_IB/" + v + "tp4_pp2_sharegpt_qps_04.json",
        k + "04_tp4_pp2_IB/" + v + "tp4_pp2_sharegpt_qps_16.json", k + "04_tp4_pp2_IB/" + v + "tp4_pp2_sharegpt_qps_inf.json"},
       "--hw a100-40gb --tp 4 --pp 2",
       false,
       4},
      {"SGLang 2024-12, Llama-3.3-70B bf16 tp4 | 4x h200, derated",
       {d + "llama_3_3_70b_online_output.jsonl", d + "llama_3_3_70b_offline_output.jsonl"},
       "--model meta-llama/Llama-3.3-70B-Instruct --hw h200 --tp 4",
       true,
       14},
      {"SGLang 2024-12, Llama-3.1-405B bf16 tp8 | 8x h200, derated",
       {d + "llama_405b_online_output.jsonl"},
       "--model meta-llama/Llama-3.1-405B --hw h200 --tp 8",
       true,
       6},
  };
}

// The runs of a result file as the publisher wrote them: one JSON document, or one per line.
// Python's bare Infinity (SGLang's unpaced request_rate) is read as null, as llmcost does.
std::vector<nlohmann::json> docs_of(const std::string& text) {
  std::string t = text;
  for (size_t p; (p = t.find("Infinity")) != std::string::npos;) t.replace(p, 8, "null");
  std::vector<nlohmann::json> out;
  auto whole = nlohmann::json::parse(t, nullptr, false);
  if (!whole.is_discarded()) return {whole};
  std::stringstream ss(t);
  for (std::string line; std::getline(ss, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) out.push_back(nlohmann::json::parse(line));
  return out;
}

// The request rate a run was paced at; +inf when unpaced ("inf", Infinity, null).
double rate_of(const nlohmann::json& doc) {
  const auto& r = doc["request_rate"];
  return r.is_number() ? r.get<double>() : std::numeric_limits<double>::infinity();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string pct(double e, bool sign) {
  char buf[32];
  std::snprintf(buf, sizeof buf, sign ? "%+.1f%%" : "%.1f%%", 100.0 * e);
  return buf;
}

class CheckPublishedCli : public CliTest {};

TEST_F(CheckPublishedCli, EverySetParsesAndStaysWithinBounds) {
  const std::string readme = slurp(std::string(LLMCOST_TEST_DATA) + "/../../README.md");
  for (const auto& s : sets()) {
    SCOPED_TRACE(s.name);
    std::string args = "check";
    std::vector<nlohmann::json> docs;
    for (const auto& f : s.files) {
      args += " '" + kDir + f + "'";
      auto ds = docs_of(slurp(kDir + f));
      docs.insert(docs.end(), ds.begin(), ds.end());
    }
    CliRun r = run(args + " " + s.flags + " --format json");
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["runs"].size(), s.runs);
    ASSERT_EQ(docs.size(), s.runs);
    double lowest_rate = std::numeric_limits<double>::infinity();
    for (const auto& d : docs) lowest_rate = std::min(lowest_rate, rate_of(d));
    ASSERT_TRUE(std::isfinite(lowest_rate));
    std::map<std::string, std::vector<double>> abs_err;
    std::map<std::string, double> light_err;  // error of each figure of the run at the lowest request rate
    int light_runs = 0;
    for (size_t i = 0; i < s.runs; ++i) {
      const auto& run = j["runs"][i];
      const auto& doc = docs[i];
      SCOPED_TRACE(run["run"].get<std::string>());
      // The file's own figures: means where it has them, else (SGLang of late 2024) medians, named in the note.
      const bool means = doc.contains("mean_ttft_ms");
      const double completed = doc["completed"].get<double>();
      EXPECT_EQ(run["input_len"].get<int64_t>(), std::llround(doc["total_input_tokens"].get<double>() / completed));
      EXPECT_EQ(run["output_len"].get<int64_t>(), std::llround(doc["total_output_tokens"].get<double>() / completed));
      EXPECT_EQ(run.contains("note"), !means);
      std::map<std::string, double> file_value = {
          {"ttft_s", doc[means ? "mean_ttft_ms" : "median_ttft_ms"].get<double>() / 1e3},
          {"tpot_s", doc[means ? "mean_tpot_ms" : "median_itl_ms"].get<double>() / 1e3},
          {"throughput_tokens_per_s", doc["output_throughput"].get<double>()}};
      ASSERT_EQ(run["figures"].size(), 3u);
      const bool light = rate_of(doc) == lowest_rate;
      light_runs += light;
      for (const auto& f : run["figures"]) {
        const std::string m = f["metric"];
        SCOPED_TRACE(m);
        EXPECT_NEAR(f["measured"].get<double>(), file_value.at(m), 1e-12 * file_value.at(m));
        ASSERT_TRUE(f["predicted"].is_number()) << f.dump();
        const double ratio = f["ratio"].get<double>();
        abs_err[m].push_back(std::fabs(ratio - 1.0));
        if (light) light_err[m] = ratio - 1.0;
        if (s.derated) {
          if (m != "ttft_s") {
            EXPECT_GE(ratio, 1 / 2.5);
            EXPECT_LE(ratio, 2.5);
            if (light) {
              EXPECT_LE(std::fabs(ratio - 1.0), 0.25);
            }
          } else if (light) {
            EXPECT_GE(ratio, 1 / 2.5);
            EXPECT_LE(ratio, 1.0);
          }
        } else {
          if (m == "throughput_tokens_per_s") {
            EXPECT_GE(ratio, 1.0);
            EXPECT_LE(ratio, 4.0);
          } else {
            EXPECT_LE(ratio, 1.0);
            if (m == "tpot_s") {
              EXPECT_GE(ratio, 1 / 4.0);
            }
          }
        }
      }
    }
    if (s.derated) {
      EXPECT_LE(median(abs_err["tpot_s"]), 0.45);
      EXPECT_LE(median(abs_err["throughput_tokens_per_s"]), 0.45);
    } else {
      EXPECT_GE(median(abs_err["tpot_s"]), 0.30);
    }
    // The README's row of this set is the current comparison (regenerate it from this test's figures).
    ASSERT_EQ(light_runs, 1);
    const std::string row = "| " + s.name + " | " + std::to_string(s.runs) + " | " + pct(median(abs_err["ttft_s"]), false) + " | " +
                            pct(median(abs_err["tpot_s"]), false) + " | " + pct(median(abs_err["throughput_tokens_per_s"]), false) +
                            " | " + pct(light_err["tpot_s"], true) + " / " + pct(light_err["throughput_tokens_per_s"], true) + " |";
    EXPECT_NE(readme.find(row), std::string::npos) << "README.md lacks (or has a stale) row:\n" << row;
  }
}

// The printed table says which figures are medians (the late-2024 SGLang lines have no means).
TEST_F(CheckPublishedCli, TableNamesMedianFigures) {
  const std::string f = kDir + "datacrunch-h200-benchmarks/llama_405b_online_output.jsonl";
  CliRun r = run("check '" + f + "' --model meta-llama/Llama-3.1-405B --hw h200 --tp 8");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(f + "#6: medians, not means (the file has no mean): TTFT = median_ttft_ms, TPOT = median_itl_ms"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace llmcost_test
