// Hostile input files (issue 14): FIFOs and devices are refused without blocking, sizes are
// capped before parsing, parsed trees are capped in values, run files hold only real numbers,
// and module globs stay fast on pathological patterns.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>

#include "llmcost/glob.h"
#include "llmcost/hardware.h"
#include "llmcost/input_file.h"
#include "llmcost/memory.h"
#include "llmcost/model_loader.h"
#include "llmcost/plan.h"
#include "llmcost/run_record.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

namespace fs = std::filesystem;
const std::string kConfigDir = LLMCOST_CONFIG_DIR;

class HostileInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("llmcost_hostile_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
    return path(name);
  }
  std::string fifo(const std::string& name) const {
    EXPECT_EQ(::mkfifo(path(name).c_str(), 0600), 0);
    return path(name);
  }
  fs::path dir_;
};

// The one-line message of the Error f throws (fails the test when it throws none).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    return msg;
  }
  ADD_FAILURE() << "no error";
  return "";
}

double seconds_of(const std::function<void()>& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Peak resident memory that f adds, in MiB, measured in a forked child (the test process's own
// high-water mark says nothing about one call).
double peak_extra_mib(const std::function<void()>& f) {
  long pages = 0;
  std::ifstream("/proc/self/statm") >> pages >> pages;  // second field: resident pages
  const double before_mib = static_cast<double>(pages) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / (1 << 20);
  pid_t pid = ::fork();
  if (pid == 0) {
    try {
      f();
    } catch (...) {
    }
    ::_exit(0);
  }
  int status = 0;
  struct rusage ru {};
  ::wait4(pid, &status, 0, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0 - before_mib;  // ru_maxrss is in KiB
}

// ---------------------------------------------------------------- regular files only

TEST_F(HostileInput, FifoAsConfigHardwareScenarioOrRunIsRefusedAtOnce) {
  const std::string f = fifo("pipe.json"), y = fifo("pipe.yaml");
  const std::string expect = ": cannot read file (it is a named pipe, not a regular file)";
  EXPECT_EQ(error_of([&] { load_model(f, kConfigDir); }), f + expect);
  EXPECT_EQ(error_of([&] { load_hardware(y, kConfigDir); }), y + expect);
  EXPECT_EQ(error_of([&] { load_scenario(y, kConfigDir); }), y + expect);
  EXPECT_EQ(error_of([&] { read_run_record(f); }), f + expect);
  EXPECT_EQ(error_of([&] { parse_record_file(f); }), f + expect);
  // A directory whose config.json is a FIFO: the FIFO is named, not skipped.
  fs::create_directories(dir_ / "ckpt");
  const std::string inner = fifo("ckpt/config.json");
  EXPECT_EQ(error_of([&] { load_model(path("ckpt"), kConfigDir); }), inner + expect);
}

TEST_F(HostileInput, DevicesAndDirectoriesAreNotRead) {
  EXPECT_EQ(error_of([] { read_text_file("/dev/zero"); }),
            "/dev/zero: cannot read file (it is a character device, not a regular file)");
  EXPECT_EQ(error_of([] { load_model("/dev/null", kConfigDir); }),
            "/dev/null: cannot read file (it is a character device, not a regular file)");
  EXPECT_EQ(error_of([&] { read_text_file(dir_.string()); }),
            dir_.string() + ": cannot read file (it is a directory, not a regular file)");
  EXPECT_EQ(non_regular_kind("/dev/null"), "a character device");
  EXPECT_EQ(non_regular_kind(path("absent")), "");
}

// ---------------------------------------------------------------- sizes before parsing

TEST_F(HostileInput, OversizedFilesAreRefusedBeforeReading) {
  // Sparse files: the size alone must decide, without reading (or parsing) a byte.
  const std::string big_json = path("big.json"), big_yaml = path("big.yaml"), big_run = path("big_run.json");
  std::ofstream(big_json).close();
  std::ofstream(big_yaml).close();
  std::ofstream(big_run).close();
  fs::resize_file(big_json, (16u << 20) + 1);
  fs::resize_file(big_yaml, (4u << 20) + 1);
  fs::resize_file(big_run, (256u << 20) + 1);
  EXPECT_EQ(error_of([&] { load_model(big_json, kConfigDir); }),
            big_json + ": cannot read file (larger than the 16 MiB limit for a config)");
  EXPECT_EQ(error_of([&] { load_hardware(big_yaml, kConfigDir); }),
            big_yaml + ": cannot read file (larger than the 4 MiB limit for a YAML file)");
  EXPECT_EQ(error_of([&] { read_run_record(big_run); }),
            big_run + ": cannot read file (larger than the 256 MiB limit for a run/CI file)");
}

TEST_F(HostileInput, FiftyMegabyteYamlFlowSequenceIsRefusedQuicklyInBoundedMemory) {
  std::string text = "[";
  text.reserve(50u << 20);
  while (text.size() < (50u << 20)) text += "0, ";
  text += "0]\n";
  const std::string y = write("flow.yaml", text);
  text.clear();
  text.shrink_to_fit();
  double s = seconds_of([&] {
    EXPECT_EQ(error_of([&] { load_scenario(y, kConfigDir); }),
              y + ": cannot read file (larger than the 4 MiB limit for a YAML file)");
  });
  EXPECT_LT(s, 1.0);
  EXPECT_LT(peak_extra_mib([&] { load_scenario(y, kConfigDir); }), 64.0);
}

TEST_F(HostileInput, SixtyMegabyteJsonArrayOfZerosIsRefusedQuicklyInBoundedMemory) {
  std::string zeros = "[";
  zeros.reserve(60u << 20);
  while (zeros.size() < (60u << 20)) zeros += "0,";
  zeros += "0]";
  // Hidden in a config under a key nobody reads: refused by size.
  const std::string cfg = write("cfg.json", R"({"model_type": "llama", "junk": )" + zeros + "}");
  // As a run file it is under the 256 MiB cap, so the value count stops it.
  const std::string run = write("run.json", R"({"measured": {"decode_step_s": 0.1}, "junk": )" + zeros + "}");
  zeros.clear();
  zeros.shrink_to_fit();
  EXPECT_EQ(error_of([&] { load_model(cfg, kConfigDir); }), cfg + ": cannot read file (larger than the 16 MiB limit for a config)");
  double s = seconds_of([&] {
    EXPECT_EQ(error_of([&] { read_run_record(run); }),
              run + ": / holds more than 2097152 values (the limit for this kind of file)");
  });
  EXPECT_LT(s, 10.0);
  // The 60 MB file itself is read (60 MiB); the tree stops at 2^21 values.
  EXPECT_LT(peak_extra_mib([&] { read_run_record(run); }), 600.0);
}

TEST(HostileParse, ValueBudgetCountsContainersAndScalars) {
  EXPECT_NO_THROW(parse_json("[[1, 2], {\"a\": 3}]", "ok.json", 6));
  EXPECT_EQ(error_of([] { parse_json("[[1, 2], {\"a\": 3}]", "big.json", 5); }),
            "big.json: / holds more than 5 values (the limit for this kind of file)");
  EXPECT_EQ(error_of([] { parse_yaml("[1, 2, 3]", "big.yaml", 3); }),
            "big.yaml: / expands to more than 3 values (YAML aliases?)");
}

// ---------------------------------------------------------------- run files: real numbers only

TEST(HostileRunFile, NegativeTimesAndImpossibleCountsNameTheField) {
  auto err = [](const std::string& json) {
    return error_of([&] { run_record_from_json(parse_json(json, "run.json"), "run.json"); });
  };
  EXPECT_EQ(err(R"({"measured": {"decode_step_s": -1}})"),
            "run.json: /measured/decode_step_s must be a non-negative number of seconds, got -1");
  EXPECT_EQ(err(R"({"measured": {"decode_step_s": 1, "decode_step_s_p90": -0.5}})"),
            "run.json: /measured/decode_step_s_p90 must be a non-negative number of seconds, got -0.5");
  EXPECT_EQ(err(R"({"measured": {"prefill_s": -2}})"),
            "run.json: /measured/prefill_s must be a non-negative number of seconds, got -2");
  EXPECT_EQ(err(R"({"measured": {}, "ops": [{"name": "a", "measured_s": 1, "bytes": 1e30}]})"),
            "run.json: /ops/0/bytes must be below 2^63 (9.2e18), got 1e+30");
  EXPECT_EQ(err(R"({"measured": {}, "ops": [{"name": "a", "measured_s": 1, "flops": -1}]})"),
            "run.json: /ops/0/flops must be a non-negative count, got -1");
  EXPECT_EQ(err(R"({"measured": {}, "calibration": {"read_bw_bytes_per_s": -5}})"),
            "run.json: /calibration/read_bw_bytes_per_s must be a non-negative rate, got -5");
  // Non-finite literals never become numbers.
  EXPECT_EQ(err(R"({"measured": {"decode_step_s": 1e400}})"), "run.json: / is not valid JSON: number overflow parsing '1e400'");
}

// ---------------------------------------------------------------- globs

TEST(HostileGlob, PathologicalPatternsFinishInMicroseconds) {
  const std::string pat = "model.layers.0." + std::string(25, '*') + "x";
  const std::string text = "model.layers.0." + std::string(64, 'a');
  double s = seconds_of([&] {
    for (int i = 0; i < 1000; ++i) {
      EXPECT_FALSE(module_glob_match(pat, text));
      EXPECT_FALSE(wildcard_match(std::string(25, '*') + "x", std::string(200, 'a')));
    }
  });
  EXPECT_LT(s / 1000, 1e-3);  // per pair; the recursive matcher took minutes for one
}

TEST(HostileGlob, ModuleGlobKeepsItsSemantics) {
  struct Case {
    const char* pattern;
    const char* path;
    bool module, wildcard;  // module_glob_match ('*' within a component), wildcard_match (anything)
  };
  const Case cases[] = {
      {"model.layers.*.self_attn", "model.layers.12.self_attn", true, true},
      {"model.layers.*.self_attn", "model.layers.1.2.self_attn", false, true},  // '*' stops at '.'
      {"model.layers.*", "model.layers.3.mlp", false, true},
      {"model.layers.*", "model.layers.3", true, true},
      {"model.*_proj", "model.q_proj", true, true},
      {"a.*", "a.", true, true},
      {"a*", "a.b", false, true},
      {"lm_head", "lm_head", true, true},
      {"lm_head", "lm_head2", false, false},
      {"*.*.*", "a.b.c", true, true},
      {"*", "", true, true},
      {"a*b*c", "acb", false, false},
      {"a*b*c", "aXbYbZc", true, true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(module_glob_match(c.pattern, c.path), c.module) << c.pattern << " ~ " << c.path;
    EXPECT_EQ(wildcard_match(c.pattern, c.path), c.wildcard) << c.pattern << " ~ " << c.path;
  }
}

TEST_F(HostileInput, PathologicalModulesToNotConvertInAConfig) {
  // gpt-oss ships MXFP4 with modules_to_not_convert; add the pattern that made the old recursive
  // matcher run for minutes. The shipped bytes stay those of the real patterns.
  std::ifstream in(kConfigDir + "/models/openai__gpt-oss-20b.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string anchor = "\"modules_to_not_convert\": [";
  ASSERT_NE(text.find(anchor), std::string::npos);
  std::string hostile = text;
  hostile.insert(hostile.find(anchor) + anchor.size(), "\"model.layers.0." + std::string(25, '*') + "x\", ");
  const int64_t expected = *weight_bytes_as_shipped(load_model(write("plain.json", text), kConfigDir));
  int64_t got = 0;
  double s = seconds_of([&] { got = *weight_bytes_as_shipped(load_model(write("hostile.json", hostile), kConfigDir)); });
  EXPECT_EQ(got, expected);
  EXPECT_EQ(got, 13761264768LL);
  EXPECT_LT(s, 1.0);
}

}  // namespace
}  // namespace llmcost
