// Hardware specs: the bundled YAMLs load with sources, lookups work, malformed files get one-line errors.
#include "llmcost/hardware.h"

#include <gtest/gtest.h>

#include <set>

namespace llmcost {
namespace {

const std::string kConfigs = LLMCOST_CONFIG_DIR;

std::string error_of(const std::string& yaml) {
  try {
    parse_hardware(parse_yaml(yaml, "hw.yaml"), "hw.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const char* kMinimal =
    "name: toy\n"
    "memory_bytes: {value: 1.0e9, source: a}\n"
    "mem_bw_bytes_per_s: {value: 1.0e11, source: b}\n"
    "peak_flops_per_s:\n"
    "  bf16: {value: 1.0e13, source: c}\n";

TEST(Hardware, AllBundledSpecsLoadWithEveryNumberSourced) {
  auto all = list_hardware(kConfigs);
  std::set<std::string> names;
  for (const auto& h : all) {
    names.insert(h.name);
    EXPECT_FALSE(h.memory_bytes.source.empty()) << h.name;
    EXPECT_FALSE(h.mem_bw_bytes_per_s.source.empty()) << h.name;
    for (const auto& p : h.peak_flops_per_s)
      if (p) {
        EXPECT_FALSE(p->source.empty()) << h.name;
      }
    // Peaks are dense: fp8 (where present) at most 2x bf16 (datasheets round), never the 4x a sparse figure gives.
    if (h.peak(ComputeDtype::FP8) && h.peak(ComputeDtype::BF16)) {
      EXPECT_LE(h.peak(ComputeDtype::FP8)->value, 2.05 * h.peak(ComputeDtype::BF16)->value) << h.name;
    }
    EXPECT_FALSE(h.is_calibrated()) << h.name << ": bundled specs are datasheet figures";
  }
  for (const char* n : {"h100-sxm", "h100-pcie", "h200", "a100-40gb", "a100-80gb", "l40s", "l4", "rtx-4090", "b200",
                        "mi300x", "mi325x", "cpu-2s-spr"})
    EXPECT_TRUE(names.count(n)) << n;
}

TEST(Hardware, H100SxmFigures) {
  HardwareSpec h = load_hardware("h100-sxm", kConfigs);
  EXPECT_EQ(h.memory_bytes.value, 81559.0 * 1048576.0);  // 81559 MiB visible
  EXPECT_EQ(h.mem_bw_bytes_per_s.value, 3.35e12);
  EXPECT_EQ(h.peak(ComputeDtype::BF16)->value, 989e12);
  EXPECT_EQ(h.peak(ComputeDtype::FP8)->value, 1979e12);
  ASSERT_TRUE(h.interconnect);
  EXPECT_EQ(h.interconnect->send_bw_bytes_per_s(), 450e9);  // 900 GB/s bidirectional
  EXPECT_FALSE(h.peak(ComputeDtype::FP4));
}

TEST(Hardware, LookupByPathAndUnknownNameListsKnown) {
  HardwareSpec a = load_hardware(kConfigs + "/hardware/a100-40gb.yaml", kConfigs);
  EXPECT_EQ(a.name, "a100-40gb");
  try {
    load_hardware("h1000", kConfigs);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("hardware \"h1000\""), std::string::npos) << w;
    EXPECT_NE(w.find("h100-sxm"), std::string::npos) << w;
    EXPECT_EQ(w.find('\n'), std::string::npos) << w;
  }
}

TEST(Hardware, NoFp8UnitFallsBackToBf16) {
  HardwareSpec a = load_hardware("a100-80gb", kConfigs);
  EffectiveRates r = effective_rates(a);
  EXPECT_EQ(r.used_dtype[static_cast<int>(ComputeDtype::FP8)], ComputeDtype::BF16);
  EXPECT_EQ(r.flops_per_s[static_cast<int>(ComputeDtype::FP8)], 312e12);
  EXPECT_EQ(r.used_dtype[static_cast<int>(ComputeDtype::FP4)], ComputeDtype::BF16);
  EXPECT_EQ(r.mem_bw_bytes_per_s, 2.039e12);
  EXPECT_FALSE(r.bw_calibrated);
}

TEST(Hardware, CalibratedFiguresArePreferred) {
  std::string y = std::string(kMinimal) +
                  "calibrated:\n"
                  "  read_bw_bytes_per_s: {value: 9.0e10, source: measured}\n"
                  "  gemm_flops_per_s: {bf16: {value: 8.0e12, source: measured}}\n";
  HardwareSpec h = parse_hardware(parse_yaml(y, "hw.yaml"), "hw.yaml");
  EXPECT_TRUE(h.is_calibrated());
  EffectiveRates r = effective_rates(h);
  EXPECT_EQ(r.mem_bw_bytes_per_s, 9.0e10);
  EXPECT_TRUE(r.bw_calibrated);
  EXPECT_EQ(r.flops_per_s[static_cast<int>(ComputeDtype::BF16)], 8.0e12);
  EXPECT_TRUE(r.flops_calibrated[static_cast<int>(ComputeDtype::BF16)]);
}

TEST(Hardware, MalformedYamlErrorsNameFileAndPointer) {
  EXPECT_EQ(error_of("memory_bytes: {value: 1.0e9, source: a}\n"), "hw.yaml: /name is required (a string) but is missing");
  std::string y = kMinimal;
  EXPECT_EQ(error_of(std::string(y).replace(y.find("{value: 1.0e9, source: a}"), 25, "80")),
            "hw.yaml: /memory_bytes must be given as {value: NUMBER, source: \"where the number comes from\"}");
  EXPECT_EQ(error_of(std::string(y).replace(y.find("source: b"), 9, "source: \"\"")),
            "hw.yaml: /mem_bw_bytes_per_s/source must be a non-empty string naming where the number comes from");
  EXPECT_NE(error_of(std::string(y).replace(y.find("1.0e11"), 6, "3.35")).find("/mem_bw_bytes_per_s/value must be a finite number"),
            std::string::npos);
  EXPECT_NE(error_of(y + "peak_flops_per_sec: 1\n").find("hw.yaml: /peak_flops_per_sec is not a known key"), std::string::npos);
  EXPECT_NE(error_of(y + "kind: tpu\n").find("hw.yaml: /kind must be \"gpu\" or \"cpu\""), std::string::npos);
  EXPECT_NE(error_of(std::string(y).replace(y.find("bf16"), 4, "bf17")).find("/peak_flops_per_s/bf17 is not a known key"),
            std::string::npos);
}

}  // namespace
}  // namespace llmcost
