// CPU range profiler on steady_clock (per-thread stacks under one mutex) and repetition statistics.
#include "llmcost/profiler.h"

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
  struct ThreadState {
    uint32_t id = 0;
    std::vector<RangeRecord> open;  // the stack of open ranges
  };
  mutable std::mutex mu;
  std::unordered_map<std::thread::id, ThreadState> threads;
  std::vector<RangeRecord> closed;
  uint64_t next_seq = 0;

  ThreadState& state() {
    auto it = threads.find(std::this_thread::get_id());
    if (it == threads.end()) {
      ThreadState s;
      s.id = static_cast<uint32_t>(threads.size());
      it = threads.emplace(std::this_thread::get_id(), std::move(s)).first;
    }
    return it->second;
  }
};

CpuProfiler::CpuProfiler() : impl_(std::make_unique<Impl>()) {}
CpuProfiler::~CpuProfiler() = default;

void CpuProfiler::push(std::string_view name, std::string_view category, double bytes, double flops) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto& st = impl_->state();
    RangeRecord r;
    r.name.assign(name.data(), name.size());
    r.category.assign(category.data(), category.size());
    r.thread_id = st.id;
    r.depth = static_cast<uint32_t>(st.open.size());
    r.seq = impl_->next_seq++;
    r.bytes = bytes;
    r.flops = flops;
    st.open.push_back(std::move(r));
  }
  // The clock is read last, outside the lock, so bookkeeping is not timed. The record cannot
  // move: only this thread touches its own stack's top.
  int64_t t = now_ns();
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->state().open.back().start_ns = t;
}

void CpuProfiler::pop() {
  int64_t t = now_ns();
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->state();
  if (st.open.empty()) throw std::logic_error("CpuProfiler::pop: no open range on this thread");
  RangeRecord r = std::move(st.open.back());
  st.open.pop_back();
  r.end_ns = std::max(t, r.start_ns);
  impl_->closed.push_back(std::move(r));
}

void CpuProfiler::annotate(double bytes, double flops) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& st = impl_->state();
  if (st.open.empty()) throw std::logic_error("CpuProfiler::annotate: no open range on this thread");
  st.open.back().bytes += bytes;
  st.open.back().flops += flops;
}

std::vector<RangeRecord> CpuProfiler::records() const {
  std::vector<RangeRecord> out;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    out = impl_->closed;
  }
  std::sort(out.begin(), out.end(), [](const RangeRecord& a, const RangeRecord& b) { return a.seq < b.seq; });
  return out;
}

void CpuProfiler::clear() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->closed.clear();
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
