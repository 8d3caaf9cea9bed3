// Hardware specs: the bundled YAMLs load with sources, lookups work, malformed files get one-line errors.
#include "llmcost/hardware.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "llmcost/plan.h"

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
                        "mi300x", "mi325x", "cpu-2s-spr", "gb200-nvl72", "gb300-nvl72", "b300", "gh200", "mi355x", "rtx-pro-6000"})
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

// ---- hardware people buy now: per-GPU figures as the cited sources give them (docs/HARDWARE.md S15, S16, S18, S27, S28).

TEST(Hardware, Gb200Nvl72PerGpuFigures) {
  HardwareSpec h = load_hardware("gb200-nvl72", kConfigs);
  EXPECT_EQ(h.memory_bytes.value, 186.0 * 1073741824.0);  // 186 GB taken as GiB
  EXPECT_EQ(h.mem_bw_bytes_per_s.value, 8.0e12);
  EXPECT_EQ(h.peak(ComputeDtype::BF16)->value, 2500e12);
  EXPECT_EQ(h.peak(ComputeDtype::FP8)->value, 5000e12);
  EXPECT_EQ(h.peak(ComputeDtype::FP4)->value, 10000e12);  // dense: half the 20 PF sparse figure
  ASSERT_TRUE(h.interconnect);
  EXPECT_EQ(h.interconnect->send_bw_bytes_per_s(), 900e9);  // NVLink5 1.8 TB/s bidirectional
  EXPECT_NE(h.interconnect->name.find("72"), std::string::npos) << h.interconnect->name;
}

TEST(Hardware, BlackwellUltraFigures) {
  HardwareSpec g = load_hardware("gb300-nvl72", kConfigs);
  EXPECT_EQ(g.memory_bytes.value, 279.0 * 1073741824.0);
  EXPECT_EQ(g.peak(ComputeDtype::FP4)->value, 15000e12);
  EXPECT_EQ(g.peak(ComputeDtype::INT8)->value, 165e12);  // Blackwell Ultra cut INT8
  HardwareSpec b = load_hardware("b300", kConfigs);
  EXPECT_EQ(b.mem_bw_bytes_per_s.value, 7.7e12);
  EXPECT_EQ(b.peak(ComputeDtype::FP4)->value, 14000e12);
  EXPECT_EQ(b.peak(ComputeDtype::BF16)->value, 2250e12);
  // An INT8 W8A8 model on B300 runs at the INT8 peak it has, 15x under BF16: what the datasheet says.
  EXPECT_EQ(effective_rates(b).flops_per_s[static_cast<int>(ComputeDtype::INT8)], 150e12);
}

TEST(Hardware, Mi355xGh200RtxPro6000Figures) {
  HardwareSpec m = load_hardware("mi355x", kConfigs);
  EXPECT_EQ(m.memory_bytes.value, 288.0 * 1073741824.0);
  EXPECT_EQ(m.peak(ComputeDtype::FP8)->value, 5000e12);
  EXPECT_EQ(m.peak(ComputeDtype::FP4)->value, 10000e12);
  EXPECT_FALSE(m.peak(ComputeDtype::INT8));  // no sourced figure: int8 runs at the bf16 rate
  EXPECT_EQ(effective_rates(m).used_dtype[static_cast<int>(ComputeDtype::INT8)], ComputeDtype::BF16);
  HardwareSpec g = load_hardware("gh200", kConfigs);
  EXPECT_EQ(g.memory_bytes.value, 96.0 * 1073741824.0);
  EXPECT_EQ(g.peak(ComputeDtype::FP8)->value, 1979e12);
  EXPECT_FALSE(g.peak(ComputeDtype::FP4));  // Hopper has no FP4 unit
  HardwareSpec r = load_hardware("rtx-pro-6000", kConfigs);
  EXPECT_EQ(r.peak(ComputeDtype::FP4)->value, 2000e12);  // 4,000 AI TOPS is FP4 with sparsity
  EXPECT_EQ(r.mem_bw_bytes_per_s.value, 1.792e12);
}

// ---- prices

TEST(Hardware, BundledPricesAreDatedAndSourced) {
  int priced = 0;
  for (const auto& h : list_hardware(kConfigs)) {
    if (!h.price.usd_per_device_hour) continue;
    ++priced;
    const DatedPrice& p = *h.price.usd_per_device_hour;
    EXPECT_GT(p.value, 0.0) << h.name;
    EXPECT_LT(p.value, 100.0) << h.name << ": per device, not per 8-GPU instance";
    EXPECT_FALSE(p.source.empty()) << h.name;
    EXPECT_TRUE(p.date.size() == 10 || p.date.size() == 7) << h.name << " " << p.date;
  }
  EXPECT_GE(priced, 12);
  EXPECT_EQ(load_hardware("h100-sxm", kConfigs).price.usd_per_device_hour->value, 4.76);
  EXPECT_EQ(load_hardware("mi300x", kConfigs).price.usd_per_device_hour->date, "2026-05-18");
  // GB200 is rented per superchip (two GPUs): $9.08 / 2.
  EXPECT_EQ(load_hardware("gb200-nvl72", kConfigs).price.usd_per_device_hour->value, 4.54);
}

TEST(Hardware, PriceBlockIsCheckedWithItsPointer) {
  auto with = [](const std::string& price) { return std::string(kMinimal) + "price:\n" + price; };
  HardwareSpec ok = parse_hardware(
      parse_yaml(with("  usd_per_device_hour: {value: 2.5, source: page, date: \"2026-03\"}\n"), "hw.yaml"), "hw.yaml");
  EXPECT_EQ(ok.price.usd_per_device_hour->value, 2.5);
  EXPECT_EQ(ok.price.usd_per_device_hour->date, "2026-03");
  EXPECT_FALSE(ok.price.usd_purchase);
  std::string e = error_of(with("  usd_per_device_hour: {value: 2.5, source: page}\n"));
  EXPECT_NE(e.find("/price/usd_per_device_hour/date"), std::string::npos) << e;
  e = error_of(with("  usd_per_device_hour: {value: 2.5, source: page, date: \"March 2026\"}\n"));
  EXPECT_NE(e.find("YYYY-MM-DD"), std::string::npos) << e;
  e = error_of(with("  usd_per_device_hour: {value: 2.5, source: page, date: \"2026-13-01\"}\n"));
  EXPECT_NE(e.find("/price/usd_per_device_hour/date"), std::string::npos) << e;
  e = error_of(with("  usd_per_device_hour: {value: -1, source: page, date: \"2026-03-01\"}\n"));
  EXPECT_NE(e.find("/price/usd_per_device_hour/value"), std::string::npos) << e;
  e = error_of(with("  usd_per_hour: {value: 1, source: page, date: \"2026-03-01\"}\n"));
  EXPECT_NE(e.find("usd_per_hour"), std::string::npos) << e;
}

// $ per million output tokens = $/device-h x devices / (tok/s x 3600) x 1e6, checked by hand.
TEST(Hardware, CostPerMillionTokensByHand) {
  // 2 devices at $4.76/h = $9.52/h; 1000 tok/s = 3.6e6 tok/h; 9.52 / 3.6 = $2.6444 per million.
  EXPECT_NEAR(usd_per_million_tokens(4.76, 2, 1000.0), 9.52 / 3.6, 1e-12);
  // 1 device at $2/h making 100 tok/s = 360,000 tok/h: $2 / 0.36 M = $5.5556 per million.
  EXPECT_NEAR(usd_per_million_tokens(2.0, 1, 100.0), 5.5555555555555556, 1e-12);
  EXPECT_TRUE(std::isnan(usd_per_million_tokens(2.0, 1, 0.0)));
  HardwareSpec h = load_hardware("h100-sxm", kConfigs);
  EXPECT_NE(price_basis(h).find("/price/usd_per_device_hour, 2026-03-10"), std::string::npos) << price_basis(h);
  EXPECT_EQ(price_basis(load_hardware("a100-40gb", kConfigs)), "");
}

// ---- names: any case, aliases with a note, "did you mean"

TEST(Hardware, CaseInsensitiveNamesAndAliasesSayWhichPart) {
  HardwareSpec exact = load_hardware("h100-sxm", kConfigs);
  EXPECT_TRUE(exact.resolved_note.empty());
  HardwareSpec upper = load_hardware("H100-SXM", kConfigs);
  EXPECT_EQ(upper.name, "h100-sxm");
  EXPECT_NE(upper.resolved_note.find("taken as h100-sxm"), std::string::npos) << upper.resolved_note;
  HardwareSpec alias = load_hardware("H100", kConfigs);
  EXPECT_EQ(alias.name, "h100-sxm");  // the SXM part, not the PCIe one
  EXPECT_NE(alias.resolved_note.find("\"H100\" taken as h100-sxm (NVIDIA H100 SXM5"), std::string::npos) << alias.resolved_note;
  EXPECT_EQ(load_hardware("gb200", kConfigs).name, "gb200-nvl72");
  EXPECT_EQ(load_hardware("A100", kConfigs).name, "a100-80gb");
}

TEST(Hardware, UnknownNameSuggestsCloseOnes) {
  auto error = [](const std::string& name) {
    try {
      load_hardware(name, kConfigs);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  std::string e = error("mi300");
  EXPECT_NE(e.find("did you mean: mi300x"), std::string::npos) << e;
  e = error("h10o-sxm");
  EXPECT_NE(e.find("did you mean: h100-sxm"), std::string::npos) << e;
  e = error("qqqqqqqq");
  EXPECT_EQ(e.find("did you mean"), std::string::npos) << e;
  EXPECT_NE(e.find("known: "), std::string::npos) << e;
}

}  // namespace
}  // namespace llmcost
