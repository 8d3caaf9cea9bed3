// Tests of the calibration kernels (results against references), the measurement loop, the
// hardware YAML it writes (read back through the hardware loader). `llmcost calibrate` end to end
// is in tests/cli/run_cli_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "llmcost/calibrate.h"
#include "llmcost/hardware.h"
#include "llmcost/safetensors.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

TEST(CalibrateKernels, ReadSumAndTriadAreExactForEveryThreadCount) {
  for (size_t n : {size_t{1}, size_t{15}, size_t{1000}, size_t{4099}}) {
    for (int threads : {1, 2, 3, 8}) {
      BandwidthBuffer a(n, threads, 0.0f), b(n, threads, 1.0f), c(n, threads, 2.0f);
      EXPECT_EQ(read_sum(b.data(), n, threads), static_cast<double>(n)) << n << " " << threads;
      triad(a.data(), b.data(), c.data(), 3.0f, n, threads);
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(a.data()[i], 7.0f) << n << " " << threads << " " << i;
      EXPECT_EQ(read_sum(a.data(), n, threads), 7.0 * static_cast<double>(n));
    }
  }
  BandwidthBuffer x(10, 2, 0.5f);
  EXPECT_EQ(x.size_bytes(), 40u);
}

TEST(CalibrateKernels, GemmMatchesADoubleReference) {
  const int m = 5, n = 300, k = 37;  // n spans two bf16 panels and a ragged tail
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> a(m * k), w(n * k);
  for (auto& v : a) v = dist(rng);
  for (auto& v : w) v = dist(rng);
  std::vector<uint16_t> wb(w.size());
  fp32_to_bf16(w.data(), wb.data(), w.size());
  for (int threads : {1, 2, 3}) {
    std::vector<float> c(m * n, -1.0f), cb(m * n, -1.0f);
    gemm_fp32(a.data(), w.data(), c.data(), m, n, k, threads);
    gemm_bf16_weights(a.data(), wb.data(), cb.data(), m, n, k, threads);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double ref = 0.0, ref_b = 0.0;
        for (int p = 0; p < k; ++p) {
          ref += static_cast<double>(a[i * k + p]) * w[j * k + p];
          ref_b += static_cast<double>(a[i * k + p]) * bf16_to_fp32(wb[j * k + p]);
        }
        ASSERT_NEAR(c[i * n + j], ref, 1e-4) << i << "," << j << " threads " << threads;
        ASSERT_NEAR(cb[i * n + j], ref_b, 1e-4) << i << "," << j << " threads " << threads;
      }
  }
}

CalibrationOptions tiny_options() {
  CalibrationOptions o;
  o.threads = 2;
  o.seconds = 0.05;
  o.buffer_bytes = 1 << 20;
  o.gemm_m = 8;
  o.gemm_n = 64;
  o.gemm_k = 64;
  o.min_reps = 3;
  o.max_reps = 10;
  return o;
}

TEST(Calibrate, MeasuresEverythingWithRepetitionStatistics) {
  std::vector<std::string> seen;
  CalibrationOptions o = tiny_options();
  o.progress = [&](const std::string& s) { seen.push_back(s); };
  Calibration c = calibrate_cpu(o);
  // Each named as it starts with its share of --seconds: 0.05 s / 4 measurements = 0.0125 s.
  EXPECT_EQ(seen, (std::vector<std::string>{"read (about 0.0125 s)", "triad (about 0.0125 s)", "gemm_fp32 (about 0.0125 s)",
                                            "gemm_bf16 (about 0.0125 s)"}));
  EXPECT_EQ(c.threads, 2);
  EXPECT_EQ(c.buffer_bytes, 1u << 20);
  EXPECT_EQ(c.gemm_n, 64);
  for (const Stats* s : {&c.read_bw_bytes_per_s, &c.triad_bw_bytes_per_s, &c.gemm_fp32_flops_per_s, &c.gemm_bf16_flops_per_s}) {
    EXPECT_GE(s->n, 3u);
    EXPECT_LE(s->n, 10u);
    EXPECT_GT(s->min, 0.0);
    EXPECT_LE(s->p10, s->median);
    EXPECT_LE(s->median, s->p90);
    EXPECT_TRUE(std::isfinite(s->max));
  }
  EXPECT_FALSE(c.date_utc.empty());
  EXPECT_EQ(c.date_utc.back(), 'Z');
  EXPECT_FALSE(c.cpu_model.empty());
  EXPECT_FALSE(c.gemm_fp32_impl.empty());
}

TEST(Calibrate, RefusesBadOptionsWithOneLine) {
  CalibrationOptions o = tiny_options();
  o.gemm_k = 0;
  EXPECT_THROW(calibrate_cpu(o), Error);
  o = tiny_options();
  o.seconds = 0;
  EXPECT_THROW(calibrate_cpu(o), Error);
  o = tiny_options();
  o.buffer_bytes = size_t{1} << 50;  // 1 PiB: more than any test machine has
  try {
    calibrate_cpu(o);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("bytes are available"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

Calibration fake_calibration() {
  Calibration c;
  c.host = "box \"one\"";
  c.cpu_model = "Test CPU: 2 cores";
  c.date_utc = "2026-01-02T03:04:05Z";
  c.threads = 2;
  c.memory_bytes = 8ull << 30;
  c.buffer_bytes = 256ull << 20;
  c.read_bw_bytes_per_s = summarize({20e9, 21e9, 22e9});
  c.triad_bw_bytes_per_s = summarize({15e9, 16e9, 17e9});
  c.gemm_fp32_flops_per_s = summarize({100e9, 110e9, 120e9});
  c.gemm_bf16_flops_per_s = summarize({80e9, 90e9, 100e9});
  c.gemm_fp32_impl = "openblas sgemm";
  c.gemm_bf16_impl = "bf16 -> fp32 panels + openblas sgemm";
  c.gemm_m = 256;
  c.gemm_n = 2048;
  c.gemm_k = 2048;
  return c;
}

TEST(CalibrationYaml, IsReadBackByTheHardwareLoader) {
  Calibration c = fake_calibration();
  std::string yaml = calibration_yaml(c, "cpu-test");
  HardwareSpec hw = parse_hardware(parse_yaml(yaml, "cal.yaml"), "cal.yaml");
  EXPECT_EQ(hw.name, "cpu-test");
  EXPECT_EQ(hw.kind, "cpu");
  EXPECT_EQ(hw.memory_bytes.value, 8.0 * (1ull << 30));
  ASSERT_TRUE(hw.calibrated.read_bw_bytes_per_s.has_value());
  EXPECT_DOUBLE_EQ(hw.calibrated.read_bw_bytes_per_s->value, 21e9);
  const auto& fp32 = hw.calibrated.gemm_flops_per_s[static_cast<int>(ComputeDtype::FP32)];
  const auto& bf16 = hw.calibrated.gemm_flops_per_s[static_cast<int>(ComputeDtype::BF16)];
  ASSERT_TRUE(fp32 && bf16);
  EXPECT_DOUBLE_EQ(fp32->value, 110e9);
  EXPECT_DOUBLE_EQ(bf16->value, 90e9);
  EXPECT_NE(hw.calibrated.read_bw_bytes_per_s->source.find("median of 3 reps"), std::string::npos);
  EXPECT_TRUE(hw.is_calibrated());
  EffectiveRates r = effective_rates(hw);
  EXPECT_TRUE(r.bw_calibrated);
  EXPECT_DOUBLE_EQ(r.mem_bw_bytes_per_s, 21e9);
  EXPECT_DOUBLE_EQ(r.flops_per_s[static_cast<int>(ComputeDtype::BF16)], 90e9);
  // The informational keys are present.
  Value doc = parse_yaml(yaml, "cal.yaml");
  const Value* cal = doc.find("calibrated");
  ASSERT_NE(cal, nullptr);
  ASSERT_NE(cal->find("triad_bw_bytes_per_s"), nullptr);
  EXPECT_DOUBLE_EQ(cal->find("triad_bw_bytes_per_s")->find("value")->as_double(), 16e9);
  EXPECT_EQ(cal->find("threads")->as_int(), 2);
  EXPECT_EQ(cal->find("measured_on")->find("host")->as_string(), "box \"one\"");
  EXPECT_EQ(cal->find("measured_on")->find("cpu")->as_string(), "Test CPU: 2 cores");
  EXPECT_EQ(cal->find("date")->as_string(), "2026-01-02T03:04:05Z");
}

TEST(CalibrationYaml, TriadIsOptionalAndTheSpecMatchesTheFile) {
  CalibrationOptions o = tiny_options();
  o.measure_triad = false;
  Calibration c = calibrate_cpu(o);
  EXPECT_EQ(c.triad_bw_bytes_per_s.n, 0u);
  std::string yaml = calibration_yaml(c, "x");
  EXPECT_EQ(yaml.find("triad"), std::string::npos);
  HardwareSpec from_file = parse_hardware(parse_yaml(yaml, "x.yaml"), "x.yaml");
  HardwareSpec direct = calibration_hardware(c, "x");
  EXPECT_EQ(direct.name, "x");
  EXPECT_DOUBLE_EQ(direct.calibrated.read_bw_bytes_per_s->value, from_file.calibrated.read_bw_bytes_per_s->value);
  EXPECT_NEAR(direct.calibrated.read_bw_bytes_per_s->value, c.read_bw_bytes_per_s.median, c.read_bw_bytes_per_s.median * 1e-6);
  const int bf16 = static_cast<int>(ComputeDtype::BF16);
  EXPECT_NEAR(effective_rates(direct).flops_per_s[bf16], c.gemm_bf16_flops_per_s.median, c.gemm_bf16_flops_per_s.median * 1e-6);
}

TEST(CalibrationYaml, MalformedTriadIsRejectedByTheLoader) {
  std::string yaml = calibration_yaml(fake_calibration(), "cpu-test");
  auto pos = yaml.find("  triad_bw_bytes_per_s: {");
  ASSERT_NE(pos, std::string::npos);
  yaml.replace(pos, yaml.find('\n', pos) - pos, "  triad_bw_bytes_per_s: 12");
  try {
    parse_hardware(parse_yaml(yaml, "cal.yaml"), "cal.yaml");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("cal.yaml: /calibrated/triad_bw_bytes_per_s", 0), 0u) << e.what();
  }
}

TEST(CalibrationYaml, DefaultNameIsSafe) {
  Calibration c = fake_calibration();
  EXPECT_EQ(default_calibration_name(c), "cpu-box--one-");
  c.host.clear();
  EXPECT_EQ(default_calibration_name(c), "cpu-local");
}

}  // namespace
}  // namespace llmcost
