// `llmcost hw / predict / plan / compare` through the real binary: JSON keys, formats, files,
// and every bad input answered by one stderr line, a non-zero exit and nothing on stdout.
#include <gtest/gtest.h>

#include "cli/cli_fixture.h"
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {


using Ran = llmcost_test::CliRun;

class PredictCli : public llmcost_test::CliTest {
 protected:
  std::string write(const std::string& name, const std::string& text) const { return write_file(name, text); }
  // A failure: the given exit code, nothing on stdout, stderr's first line contains `what`.
  void expect_error(const std::string& args, int code, const std::string& what) const {
    Ran r = run(args);
    EXPECT_EQ(r.code, code) << args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << args;
    std::string first = r.err.substr(0, r.err.find('\n'));
    EXPECT_NE(first.find(what), std::string::npos) << args << "\n" << r.err;
  }
  // Not runnable: exit 1, one stderr line "not runnable: ...", and the document on stdout says why
  // and has no throughput.
  Ran expect_not_runnable(const std::string& args, const std::string& what) const {
    Ran r = run(args);
    EXPECT_EQ(r.code, 1) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("llmcost: error: not runnable: "), std::string::npos) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << args << "\n" << r.err;
    if (args.find("--format json") == std::string::npos) {
      EXPECT_NE(r.out.find("NOT RUNNABLE: "), std::string::npos) << r.out;
      EXPECT_NE(r.out.find(what), std::string::npos) << r.out;
      EXPECT_EQ(r.out.find("Decode step"), std::string::npos) << r.out;
      EXPECT_EQ(r.out.find("tokens/s"), std::string::npos) << r.out;
    }
    return r;
  }
};

TEST_F(PredictCli, HwListsEveryBundledSpecWithSources) {
  Ran r = run("hw --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 18u);
  for (const auto& h : j) {
    EXPECT_FALSE(h["memory_bytes"]["source"].get<std::string>().empty());
    EXPECT_FALSE(h["peak_flops_per_s"]["bf16"]["source"].get<std::string>().empty());
  }
  Ran t = run("hw");
  ASSERT_EQ(t.code, 0);
  EXPECT_NE(t.out.find("h100-sxm"), std::string::npos);
  EXPECT_NE(t.out.find("never the 2:4-sparsity figure"), std::string::npos);
}

TEST_F(PredictCli, PredictJsonHasTheIssueKeys) {
  Ran r = run("predict mixtral-8x7b --hw h100-sxm --batch 8 --context 2048 --tp 2 --routing zipf:1.2 --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["hardware"]["name"], "h100-sxm");
  EXPECT_NE(j["hardware"]["source_file"].get<std::string>().find("h100-sxm.yaml"), std::string::npos);
  for (const char* k : {"step_s", "tokens_per_s", "bytes_per_step", "flops_per_step", "bound", "ops"})
    EXPECT_TRUE(j["decode"].contains(k)) << k;
  for (const char* k : {"s", "tokens"}) EXPECT_TRUE(j["prefill"].contains(k)) << k;
  for (const char* k : {"weights_bytes", "kv_bytes", "activation_bytes", "per_device_bytes", "capacity_bytes", "fits", "max_batch"})
    EXPECT_TRUE(j["memory"].contains(k)) << k;
  EXPECT_EQ(j["moe"]["routing"], "zipf:1.2");
  EXPECT_LE(j["moe"]["expected_experts_per_layer"].get<double>(), 8.0);
  EXPECT_EQ(j["parallel"]["tp"], 2);
  EXPECT_EQ(j["parallel"]["devices"], 2);
  EXPECT_GT(j["parallel"]["decode_tp_allreduce_bytes"].get<double>(), 0);
  EXPECT_EQ(j["prefill"]["tokens"], 2048);
  // tokens/s = batch / step
  EXPECT_NEAR(j["decode"]["tokens_per_s"].get<double>(), 8.0 / j["decode"]["step_s"].get<double>(), 1e-6);
  // every op carries its IR names
  size_t names = 0;
  for (const auto& o : j["decode"]["ops"]) names += o["op_names"].size();
  EXPECT_GT(names, 32u * 4);
}

TEST_F(PredictCli, PredictTableAndOutputFile) {
  Ran r = run("predict meta-llama/Llama-3.1-8B --hw l4 --batch 4 -o pred.txt");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  std::string text = slurp(dir_ / "pred.txt");
  EXPECT_NE(text.find("Decode step:"), std::string::npos);
  EXPECT_NE(text.find("memory-bound"), std::string::npos);
  EXPECT_NE(text.find("Largest that fits with tp=1: batch 10 at context 4096; context "),
            std::string::npos) << text;  // batch hand-checked in roofline_test (MaxBatchByHand)
  EXPECT_NE(text.find("of usable 23.19 GB (0.9 x 25.77 GB) -> fits"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(dir_ / "pred.txt.tmp"));
}

TEST_F(PredictCli, PredictWithAHardwareYamlPath) {
  std::string hw = write("toy.yaml",
                         "name: toy\nmemory_bytes: {value: 1.0e11, source: test}\nmem_bw_bytes_per_s: {value: 1.0e12, source: test}\n"
                         "peak_flops_per_s: {bf16: {value: 1.0e14, source: test}}\n");
  Ran r = run("predict meta-llama/Llama-3.2-1B-Instruct --hw " + hw + " --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["hardware"]["name"], "toy");
  // batch 1 decode is memory-bound: step = bytes / 1e12
  EXPECT_NEAR(j["decode"]["step_s"].get<double>(), j["decode"]["bytes_per_step"].get<double>() / 1e12, 1e-12);
}

TEST_F(PredictCli, FineTunedVariantTakenAsBundledBaseWithANote) {
  Ran base = run("predict meta-llama/Llama-3.1-8B --hw h100-sxm --format json");
  Ran tuned = run("predict meta-llama/Llama-3.1-8B-Instruct --hw h100-sxm --format json");
  ASSERT_EQ(base.code, 0) << base.err;
  ASSERT_EQ(tuned.code, 0) << tuned.err;
  EXPECT_EQ(tuned.out, base.out);  // the same model, figure for figure
  EXPECT_EQ(base.err, "");
  EXPECT_EQ(tuned.err,
            "note: model \"meta-llama/Llama-3.1-8B-Instruct\" taken as meta-llama/Llama-3.1-8B (same architecture and "
            "counts; the -Instruct checkpoint is not bundled)\n");
  // An unknown model: one line with the closest bundled ids.
  expect_error("predict meta-llama/Llama-3.1-9B --hw h100-sxm", 1,
               "model \"meta-llama/Llama-3.1-9B\" is neither a readable path nor a bundled model; did you mean: "
               "meta-llama/Llama-3.1-8B");
}

TEST_F(PredictCli, SpeculativeDecodingOptionsAndTheirErrors) {
  Ran r = run("predict meta-llama/Llama-3.1-8B --hw h100-sxm --efficiency datasheet --spec-tokens 3 --spec-acceptance 0.7 "
              "--format json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  const auto& s = j["speculative"];
  EXPECT_EQ(s["draft_tokens"], 3);
  EXPECT_DOUBLE_EQ(s["acceptance"].get<double>(), 0.7);
  EXPECT_NEAR(s["tokens_per_step"].get<double>(), 2.533, 1e-12);  // (1 - 0.7^4) / 0.3 = 0.7599 / 0.3
  EXPECT_EQ(s["draft_counted"], false);
  EXPECT_TRUE(s["draft_pass"].is_null());
  EXPECT_NEAR(s["tokens_per_s_per_sequence"].get<double>(), s["tokens_per_step"].get<double>() / s["step_s"].get<double>(), 1e-9);
  // Table: the assumption lines and the draft's status.
  Ran t = run("predict meta-llama/Llama-3.1-8B --hw h100-sxm --spec-tokens 3 --spec-acceptance 0.7");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("Speculative decoding: 3 draft tokens per step, each accepted with probability 0.7 (assumed) -> 2.533 "
                       "tokens per step per sequence"),
            std::string::npos) << t.out;
  EXPECT_NE(t.out.find("draft cost not counted (no MTP layers; give a draft model's own prediction)"), std::string::npos) << t.out;
  Ran plain = run("predict meta-llama/Llama-3.1-8B --hw h100-sxm --format json");
  ASSERT_EQ(plain.code, 0);
  EXPECT_FALSE(nlohmann::json::parse(plain.out).contains("speculative"));
  // An MTP model counts its draft passes.
  Ran d = run("predict deepseek-ai/DeepSeek-V3 --hw h200 --tp 8 --spec-tokens 1 --spec-acceptance 0.8 --format json");
  ASSERT_EQ(d.code, 0) << d.err;
  EXPECT_EQ(nlohmann::json::parse(d.out)["speculative"]["draft_counted"], true);
  // Errors: usage, one line, nothing on stdout.
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --spec-tokens 3 --spec-acceptance 1.2", 2, "--spec-acceptance");
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --spec-tokens 3 --spec-acceptance -0.1", 2, "--spec-acceptance");
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --spec-tokens 3 --spec-acceptance nan", 2, "--spec-acceptance");
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --spec-tokens 0 --spec-acceptance 0.5", 2, "--spec-tokens");
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --spec-acceptance 0.5", 2,
               "--spec-acceptance: needs --spec-tokens N");
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --spec-tokens 2", 2, "--spec-tokens: needs --spec-acceptance A");
}

TEST_F(PredictCli, BadInputs) {
  expect_error("predict meta-llama/Llama-3.1-8B --hw h1000", 1, "hardware \"h1000\" is neither a readable path");
  expect_not_runnable("predict meta-llama/Llama-3.1-8B --hw h100-sxm --tp 3", "--tp 3 does not divide the 32 attention heads");
  expect_not_runnable("predict Qwen/Qwen2.5-7B --hw h100-sxm --tp 7", "--tp 7 neither divides nor is a multiple of the 4 KV heads");
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --batch 0", 2, "--batch");
  expect_not_runnable("predict meta-llama/Llama-3.1-8B --hw h100-sxm --pp 40", "--pp 40 is more than the model's 32 layers");
  expect_not_runnable("predict meta-llama/Llama-3.1-8B --hw h100-sxm --ep 2", "--ep 2 needs a mixture-of-experts model");
  expect_not_runnable("predict meta-llama/Llama-3.1-8B --hw cpu-2s-spr --tp 2", "cpu-2s-spr has no interconnect");
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --quant int3", 2, "unknown scheme \"int3\"");
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --routing zipf:-1", 2, "must be uniform or zipf:S");
  expect_error("predict meta-llama/Llama-3.1-8B", 2, "--hw");
  std::string bad = write("bad.yaml", "name: bad\nmemory_bytes: 80\n");
  expect_error("predict meta-llama/Llama-3.1-8B --hw " + bad, 1,
               "bad.yaml: /memory_bytes must be given as {value: NUMBER, source:");
  expect_error("plan nosuch", 1, "nosuch: cannot read scenario file");
  std::string sc = write("s.yaml", "models: [meta-llama/Llama-3.1-8B]\nhardware: [h100-sxm]\nworkload: {concurrency: 0, prompt_tokens: 1, output_tokens: 1}\n");
  expect_error("plan " + sc, 1, "s.yaml: /workload/concurrency must be an integer in [1, 1073741824], got 0");
  expect_error("compare meta-llama/Llama-3.1-8B --hw h100-sxm,bogus", 1, "hardware \"bogus\"");
  // nothing half-written
  expect_error("predict meta-llama/Llama-3.1-8B --hw h1000 -o out.json", 1, "h1000");
  EXPECT_FALSE(fs::exists(dir_ / "out.json"));
}

TEST_F(PredictCli, PlanFormats) {
  std::string sc = write("s.yaml",
                         "models: [meta-llama/Llama-3.1-8B, Qwen/Qwen3-30B-A3B]\nhardware: [h100-sxm, l40s]\nquant: [bf16, fp8]\n"
                         "prices_usd_per_device_hour: {h100-sxm: 2.0}\n"
                         "workload: {concurrency: 16, prompt_tokens: 512, output_tokens: 256, max_decode_step_s: 0.05}\n");
  Ran j = run("plan " + sc + " --format json");
  ASSERT_EQ(j.code, 0) << j.err;
  auto doc = nlohmann::json::parse(j.out);
  ASSERT_EQ(doc["rows"].size(), 8u);
  for (const char* k : {"devices", "max_concurrency_per_replica", "output_tokens_per_s", "decode_step_s", "ttft_s",
                        "usd_per_million_output_tokens"})
    EXPECT_TRUE(doc["rows"][0].contains(k)) << k;
  EXPECT_TRUE(doc["rows"][0]["usd_per_million_output_tokens"].is_number());
  Ran c = run("plan " + sc + " --format csv");
  ASSERT_EQ(c.code, 0);
  EXPECT_EQ(c.out.substr(0, c.out.find('\n')).find("model,hardware,quant,feasible,layout"), 0u);
  EXPECT_EQ(std::count(c.out.begin(), c.out.end(), '\n'), 9);
  Ran m = run("plan " + sc + " --format markdown");
  ASSERT_EQ(m.code, 0);
  EXPECT_NE(m.out.find("| model | hardware | quant |"), std::string::npos);
  Ran t = run("plan " + sc);
  ASSERT_EQ(t.code, 0);
  EXPECT_NE(t.out.find("output tok/s"), std::string::npos);
}

TEST_F(PredictCli, CompareAutoAndFixedLayouts) {
  Ran r = run("compare meta-llama/Llama-3.1-70B --hw h100-sxm,h200,mi300x --context 4096 --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["rows"].size(), 3u);
  EXPECT_EQ(j["rows"][0]["parallel"]["devices"], 2);  // 141 GB bf16 needs two H100s
  EXPECT_EQ(j["rows"][2]["parallel"]["devices"], 1);  // one MI300X holds it
  for (const auto& row : j["rows"]) EXPECT_TRUE(row["memory"]["fits"].get<bool>());
  Ran h = run("compare meta-llama/Llama-3.1-70B --hw h100-sxm,mi300x --format html -o sizing.html");
  ASSERT_EQ(h.code, 0) << h.err;
  std::string page = slurp(dir_ / "sizing.html");
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_NE(page.find("mi300x"), std::string::npos);
  Ran f = run("compare meta-llama/Llama-3.1-70B --hw h100-sxm --tp 1 --format csv");
  ASSERT_EQ(f.code, 0) << f.err;
  EXPECT_NE(f.out.find(",h100-sxm,tp=1,1,false,"), std::string::npos) << f.out;
  EXPECT_NE(f.out.find("not runnable: needs "), std::string::npos) << f.out;
}

// Not runnable is not a number: why, exit 1, no throughput; JSON says runnable false and the reason.
TEST_F(PredictCli, NotRunnableExitsOneAndSaysWhy) {
  // gpt2 has 1024 positions.
  Ran g = expect_not_runnable("predict gpt2 --hw h100-sxm --context 4096",
                              "context 4096 exceeds the model's max_position_embeddings 1024");
  EXPECT_NE(g.out.find("Memory per device"), std::string::npos) << g.out;  // the memory still shown
  Ran gj = expect_not_runnable("predict gpt2 --hw h100-sxm --context 4096 --format json", "max_position_embeddings 1024");
  auto j = nlohmann::json::parse(gj.out);
  EXPECT_EQ(j["runnable"], false);
  EXPECT_NE(j["reason"].get<std::string>().find("exceeds the model's max_position_embeddings 1024"), std::string::npos);
  EXPECT_TRUE(j["decode"].is_null());
  EXPECT_TRUE(j["prefill"].is_null());
  EXPECT_TRUE(j["memory"]["fits"].get<bool>());
  EXPECT_EQ(run("predict gpt2 --hw h100-sxm --context 1024").code, 0);
  // Not fitting: DeepSeek-V3 fp8 on 8 H100s leaves nothing for the engine at mem-util 0.9.
  Ran d = expect_not_runnable("predict deepseek-ai/DeepSeek-V3 --hw h100-sxm --quant fp8 --tp 8",
                              "more than the usable 76.97 GB (0.9 x 85.52 GB of h100-sxm) with tp=8 (8 devices)");
  EXPECT_NE(d.out.find("DOES NOT FIT"), std::string::npos);
  // ... and 16 (tp=8 pp=2) is where it fits: the per-device-count table says so.
  EXPECT_NE(d.out.find("     16  tp=8 pp=2"), std::string::npos) << d.out;
  // A layout the device cannot form: JSON says why and has no memory.
  Ran c = expect_not_runnable("predict meta-llama/Llama-3.1-8B --hw cpu-2s-spr --tp 2 --format json -o p.json",
                              "cpu-2s-spr has no interconnect");
  EXPECT_TRUE(c.out.empty());
  auto cj = nlohmann::json::parse(slurp(dir_ / "p.json"));
  EXPECT_EQ(cj["runnable"], false);
  EXPECT_TRUE(cj["memory"].is_null());
  EXPECT_EQ(cj["parallel"]["tp"], 2);
  // Runnable JSON says so.
  Ran ok = run("predict meta-llama/Llama-3.1-8B --hw h100-sxm --format json");
  ASSERT_EQ(ok.code, 0) << ok.err;
  auto oj = nlohmann::json::parse(ok.out);
  EXPECT_EQ(oj["runnable"], true);
  EXPECT_TRUE(oj["reason"].is_null());
  EXPECT_EQ(oj["memory"]["mem_util"], 0.9);
  EXPECT_GT(oj["memory"]["engine_overhead"]["total_bytes"].get<double>(), 0);
  EXPECT_EQ(oj["fit_by_device_count"][0]["devices"], 1);
  EXPECT_GT(oj["fit_by_device_count"][0]["max_batch"].get<int64_t>(), 0);
}

TEST_F(PredictCli, MemUtilAndPrefillChunkOptions) {
  for (const char* bad : {"0", "1.5", "-0.1", "nan", "x", "0.5x"})
    expect_error(std::string("predict meta-llama/Llama-3.1-8B --hw h100-sxm --mem-util ") + bad, 2, "--mem-util");
  expect_error("predict meta-llama/Llama-3.1-8B --hw h100-sxm --prefill-chunk 0", 2, "--prefill-chunk");
  expect_error("compare meta-llama/Llama-3.1-8B --hw h100-sxm --mem-util 2", 2, "--mem-util");
  Ran full = run("predict meta-llama/Llama-3.1-8B --hw l4 --mem-util 1 --format json");
  ASSERT_EQ(full.code, 0) << full.err;
  auto j = nlohmann::json::parse(full.out);
  EXPECT_EQ(j["memory"]["max_batch"], 15);  // MemoryFractionAndOverheadByHand
  EXPECT_DOUBLE_EQ(j["memory"]["capacity_bytes"].get<double>(), 25769803776.0);
  Ran chunk = run("predict meta-llama/Llama-3.1-8B --hw l4 --prefill-chunk 1024 --format json");
  ASSERT_EQ(chunk.code, 0) << chunk.err;
  EXPECT_EQ(nlohmann::json::parse(chunk.out)["memory"]["activation_tokens"], 1024);
}

// plan and compare keep going past a row that cannot run, and say why in it.
TEST_F(PredictCli, PlanAndCompareListNotRunnableRows) {
  std::string sc = write("s.yaml", "models: [gpt2, meta-llama/Llama-3.1-8B]\nhardware: [h100-sxm, cpu-2s-spr]\n"
                                   "workload: {concurrency: 4, prompt_tokens: 2048, output_tokens: 128}\n");
  Ran p = run("plan " + sc);
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.out.find("not runnable: context 2176 exceeds the model's max_position_embeddings 1024"),
            std::string::npos) << p.out;
  Ran c = run("compare meta-llama/Llama-3.1-8B --hw h100-sxm,cpu-2s-spr --tp 2");
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_NE(c.out.find("not runnable: cpu-2s-spr has no interconnect"), std::string::npos) << c.out;
  Ran cj = run("compare meta-llama/Llama-3.1-8B --hw h100-sxm,cpu-2s-spr --tp 2 --format json");
  ASSERT_EQ(cj.code, 0) << cj.err;
  auto j = nlohmann::json::parse(cj.out);
  EXPECT_EQ(j["rows"][0]["runnable"], true);
  EXPECT_EQ(j["rows"][1]["runnable"], false);
  Ran g = run("compare gpt2 --hw h100-sxm --context 2048");
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_NE(g.out.find("not runnable: context 2048 exceeds the model's max_position_embeddings 1024"), std::string::npos) << g.out;
  Ran big = run("compare meta-llama/Llama-3.1-405B --hw l4");
  ASSERT_EQ(big.code, 0) << big.err;
  EXPECT_NE(big.out.find("not runnable: no layout of up to 8 device(s) runs it; tp=8: needs "), std::string::npos) << big.out;
}

// --ep N --dp-attention: attention replicated on each of the N devices (tp 1), each replica with
// its own sequences' KV; the JSON says so and the notes carry the imbalance factor; wrong
// combinations are usage errors.
TEST_F(PredictCli, ExpertParallelWithDataParallelAttention) {
  Ran r = run("predict deepseek-ai/DeepSeek-V3 --hw h200 --ep 8 --dp-attention --batch 64 --context 4096 --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  std::string notes = j["notes"].dump();
  EXPECT_NE(notes.find("data-parallel attention (dp-attention 8 x ep 8): 8 attention replicas, each with its own 8 of the 64"),
            std::string::npos) << notes;
  EXPECT_NE(notes.find("expert parallel: the most loaded of 8 expert ranks gets x1.175"), std::string::npos) << notes;
  Ran t = run("predict deepseek-ai/DeepSeek-V3 --hw h200 --ep 8 --dp-attention --batch 64 --context 4096");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("tp=1 ep=8 = 8 devices"), std::string::npos) << t.out;
  expect_error("predict deepseek-ai/DeepSeek-V3 --hw h200 --dp-attention", 2, "--dp-attention needs --ep N with N > 1");
  expect_error("predict deepseek-ai/DeepSeek-V3 --hw h200 --ep 8 --tp 8 --dp-attention", 2, "leave out --tp 8");
}

}  // namespace
