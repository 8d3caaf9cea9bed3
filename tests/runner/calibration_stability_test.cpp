// The run's calibration on a shared machine: GEMM rates by row count interpolated in log-log,
// the read bandwidth as the best sample with its spread, and the drift between the calibration's
// samples and those taken between the run's steps, each against a hand-worked case.
#include <gtest/gtest.h>

#include <cmath>

#include "llmcost/backend.h"

using namespace llmcost;

namespace {

RunCalibration table() {
  RunCalibration c;
  c.gemm_flops_per_s = 160e9;
  c.gemm_rate_by_rows = {{1, 20e9}, {8, 80e9}, {64, 160e9}};
  return c;
}

}  // namespace

// Between M = 1 (20 GFLOP/s) and M = 8 (80): at M = sqrt(8) the log-log midpoint, sqrt(20 x 80)
// = 40 GFLOP/s; flat past both ends; the single rate when there is no table.
TEST(CalibrationStability, GemmRateInterpolatesInLogLog) {
  const RunCalibration c = table();
  EXPECT_NEAR(gemm_rate_at(c, std::sqrt(8.0)), 40e9, 1e-3);
  EXPECT_NEAR(gemm_rate_at(c, 8), 80e9, 1e-3);
  EXPECT_NEAR(gemm_rate_at(c, std::sqrt(8.0 * 64.0)), std::sqrt(80e9 * 160e9), 1e-3);
  EXPECT_DOUBLE_EQ(gemm_rate_at(c, 0.5), 20e9);
  EXPECT_DOUBLE_EQ(gemm_rate_at(c, 4096), 160e9);
  RunCalibration flat;
  flat.gemm_flops_per_s = 7e9;
  EXPECT_DOUBLE_EQ(gemm_rate_at(flat, 8), 7e9);
}

// Ten samples 20..29 GB/s: the figure is the best (29); p10 20.9, p90 28.1 around a median of
// 24.5 is a 29% spread: unstable. Ten samples within 2% are stable.
TEST(CalibrationStability, BestSampleAndSpread) {
  RunCalibration c;
  for (int i = 0; i < 10; ++i) c.read_bw_samples.push_back((20 + i) * 1e9);
  summarize_read_bw(c);
  EXPECT_DOUBLE_EQ(c.read_bw_bytes_per_s, 29e9);
  EXPECT_TRUE(c.unstable);
  EXPECT_EQ(c.stability.rfind("UNSTABLE (> 10%): read bandwidth best 29.00 GB/s of 10 samples (median 24.50, p10 20.90, p90 28.10", 0),
            0u)
      << c.stability;
  RunCalibration q;
  for (int i = 0; i < 10; ++i) q.read_bw_samples.push_back((30 + 0.05 * i) * 1e9);
  summarize_read_bw(q);
  EXPECT_FALSE(q.unstable) << q.stability;
  EXPECT_DOUBLE_EQ(q.read_bw_bytes_per_s, 30.45e9);
}

// Four calibration samples (best 30 GB/s), then the machine got busy: the samples between the
// steps peak at 21 GB/s, -30%: the steps are predicted at 21 GB/s and every GEMM rate x 0.7,
// and the calibration is unstable. Within 10% nothing is scaled.
TEST(CalibrationStability, DriftUnderTheRunScalesTheCalibration) {
  RunCalibration c = table();
  c.read_bw_samples = {29.5e9, 30e9, 29.8e9, 29.9e9, 20e9, 21e9, 20.5e9};
  c.samples_before_run = 4;
  summarize_read_bw(c);
  EXPECT_DOUBLE_EQ(c.read_bw_bytes_per_s, 21e9);
  EXPECT_NEAR(c.gemm_rate_by_rows[1].second, 80e9 * 0.7, 1e-3);
  EXPECT_NEAR(c.gemm_flops_per_s, 160e9 * 0.7, 1e-3);
  EXPECT_TRUE(c.unstable);
  EXPECT_NE(c.stability.find("best 30.00 GB/s in the calibration, 21.00 GB/s between the 3 run steps (-30%), so the steps are "
                             "predicted at that bandwidth and every GEMM rate x 0.70"),
            std::string::npos)
      << c.stability;

  RunCalibration s = table();
  s.read_bw_samples = {29.5e9, 30e9, 29.8e9, 29.9e9, 29.2e9, 30.3e9, 29.6e9};
  s.samples_before_run = 4;
  summarize_read_bw(s);
  EXPECT_DOUBLE_EQ(s.read_bw_bytes_per_s, 30.3e9);  // the best of all
  EXPECT_DOUBLE_EQ(s.gemm_rate_by_rows[1].second, 80e9);
  EXPECT_FALSE(s.unstable) << s.stability;
}

// The CPU backend's probe reads its buffer and returns a positive bandwidth.
TEST(CalibrationStability, CpuReadProbe) {
  auto be = make_backend("cpu");
  auto probe = be->make_read_probe(1);
  if (!probe) GTEST_SKIP() << "not enough free memory for the probe buffer";
  EXPECT_GT(probe(), 0.0);
}
