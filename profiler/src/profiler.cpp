// CPU range profiler on steady_clock (per-thread stacks under one mutex) and repetition statistics.
#include "llmcost/profiler.h"

#include "range_stacks.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace llmcost {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct CpuProfiler::Impl {
  mutable std::mutex mu;
  detail::RangeStacks ranges;
};

CpuProfiler::CpuProfiler() : impl_(std::make_unique<Impl>()) {}
CpuProfiler::~CpuProfiler() = default;

void CpuProfiler::push(std::string_view name, std::string_view category, double bytes, double flops) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->ranges.open(name, category, bytes, flops);
  }
  // The clock is read last, outside the lock, so bookkeeping is not timed. The record cannot
  // move: only this thread touches its own stack's top.
  int64_t t = now_ns();
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->ranges.top_or_throw("CpuProfiler::push").start_ns = t;
}

void CpuProfiler::pop() {
  int64_t t = now_ns();
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->ranges.close(t, "CpuProfiler::pop");
}

void CpuProfiler::annotate(double bytes, double flops) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->ranges.annotate(bytes, flops, "CpuProfiler::annotate");
}

std::vector<RangeRecord> CpuProfiler::records() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->ranges.closed_in_order();
}

void CpuProfiler::clear() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->ranges.clear_closed();
}

double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) throw std::invalid_argument("percentile: empty sample");
  if (!(p >= 0.0 && p <= 100.0)) throw std::invalid_argument("percentile: p must be in [0, 100]");
  std::sort(samples.begin(), samples.end());
  double pos = p / 100.0 * static_cast<double>(samples.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, samples.size() - 1);
  double frac = pos - static_cast<double>(lo);
  return samples[lo] + (samples[hi] - samples[lo]) * frac;
}

Stats summarize(const std::vector<double>& samples) {
  Stats s;
  if (samples.empty()) return s;
  std::vector<double> v = samples;
  std::sort(v.begin(), v.end());
  s.n = v.size();
  s.min = v.front();
  s.max = v.back();
  double sum = 0.0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  s.median = percentile(v, 50.0);
  s.p10 = percentile(v, 10.0);
  s.p90 = percentile(v, 90.0);
  return s;
}

std::vector<RangeSummary> summarize_ranges(const std::vector<RangeRecord>& records, const std::string& category) {
  std::vector<RangeSummary> out;
  std::vector<std::vector<double>> samples;
  std::unordered_map<std::string, size_t> index;
  for (const auto& r : records) {
    if (!category.empty() && r.category != category) continue;
    auto [it, inserted] = index.emplace(r.name, out.size());
    if (inserted) {
      RangeSummary s;
      s.name = r.name;
      s.category = r.category;
      s.bytes = r.bytes;
      s.flops = r.flops;
      out.push_back(std::move(s));
      samples.emplace_back();
    }
    samples[it->second].push_back(r.duration_s());
    ++out[it->second].count;
  }
  for (size_t i = 0; i < out.size(); ++i) out[i].duration_s = summarize(samples[i]);
  return out;
}

}  // namespace llmcost
