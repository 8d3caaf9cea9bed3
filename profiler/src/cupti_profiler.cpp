// CuptiProfiler: host ranges pushed as CUPTI external correlation ids; device activity attributed
// to the innermost range and aggregated up to its ancestors. Pure C++: CUPTI only via CuptiApi.
#include "llmcost/cupti_profiler.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "llmcost/value.h"
#include "range_stacks.h"

namespace llmcost {

#ifndef LLMCOST_WITH_CUPTI
// Built without CUDA: there is no CUPTI to wrap.
std::unique_ptr<CuptiApi> make_cupti_api() { return nullptr; }
#endif

namespace {
constexpr uint64_t kNoParent = std::numeric_limits<uint64_t>::max();

const char* kind_category(DeviceActivity::Kind k) {
  switch (k) {
    case DeviceActivity::Kind::Kernel: return "kernel";
    case DeviceActivity::Kind::Memcpy: return "memcpy";
    case DeviceActivity::Kind::Memset: return "memset";
  }
  return "kernel";
}
}  // namespace

struct CuptiProfiler::Impl {
  std::unique_ptr<CuptiApi> api;
  mutable std::mutex mu;
  detail::RangeStacks ranges;                     // closed ranges keep host times
  std::unordered_map<uint64_t, uint64_t> parent;  // seq -> parent seq (kNoParent at depth 0)
  mutable std::vector<DeviceActivity> activities;

  void flush_locked() const {
    auto fresh = api->flush();
    activities.insert(activities.end(), std::make_move_iterator(fresh.begin()), std::make_move_iterator(fresh.end()));
  }
};

CuptiProfiler::CuptiProfiler(std::unique_ptr<CuptiApi> api) : impl_(std::make_unique<Impl>()) {
  if (!api) throw Error("CUPTI unavailable: llmcost was built without CUDA/CUPTI");
  std::string why = api->probe();
  if (!why.empty()) throw Error("CUPTI unavailable: " + why);
  impl_->api = std::move(api);
  impl_->api->start();
}

CuptiProfiler::~CuptiProfiler() {
  if (impl_ && impl_->api) {
    try {
      impl_->api->stop();
    } catch (...) {
      // A destructor must not throw; CUPTI is being torn down anyway.
    }
  }
}

void CuptiProfiler::push(std::string_view name, std::string_view category, double bytes, double flops) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const RangeRecord* outer = impl_->ranges.top();
  const uint64_t parent = outer ? outer->seq : kNoParent;
  RangeRecord& r = impl_->ranges.open(name, category, bytes, flops);
  impl_->parent[r.seq] = parent;
  // External ids are seq + 1: CUPTI reserves 0 for "none".
  impl_->api->push_external_id(r.seq + 1);
  r.start_ns = impl_->api->timestamp_ns();
}

void CuptiProfiler::pop() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  int64_t t = impl_->api->timestamp_ns();
  impl_->ranges.top_or_throw("CuptiProfiler::pop");
  impl_->api->pop_external_id();
  impl_->ranges.close(t, "CuptiProfiler::pop");
}

void CuptiProfiler::annotate(double bytes, double flops) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->ranges.annotate(bytes, flops, "CuptiProfiler::annotate");
}

std::vector<RangeRecord> CuptiProfiler::records() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->flush_locked();
  std::vector<RangeRecord> out = impl_->ranges.closed();
  struct Span {
    int64_t start = std::numeric_limits<int64_t>::max();
    int64_t end = std::numeric_limits<int64_t>::min();
    uint32_t n = 0;
  };
  std::unordered_map<uint64_t, Span> spans;
  for (const auto& a : impl_->activities) {
    if (a.external_id == 0) continue;
    uint64_t seq = a.external_id - 1;
    // Walk up to the outermost range: every enclosing range contains this work.
    for (int guard = 0; seq != kNoParent && guard < 1 << 20; ++guard) {
      auto p = impl_->parent.find(seq);
      if (p == impl_->parent.end()) break;
      Span& s = spans[seq];
      s.start = std::min(s.start, a.start_ns);
      s.end = std::max(s.end, a.end_ns);
      ++s.n;
      seq = p->second;
    }
  }
  for (auto& r : out) {
    auto it = spans.find(r.seq);
    if (it == spans.end()) continue;
    r.start_ns = it->second.start;
    r.end_ns = std::max(it->second.end, it->second.start);
    r.device_ops = it->second.n;
  }
  std::sort(out.begin(), out.end(), [](const RangeRecord& a, const RangeRecord& b) { return a.seq < b.seq; });
  return out;
}

std::vector<RangeRecord> CuptiProfiler::host_records() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->ranges.closed_in_order();
}

std::vector<RangeRecord> CuptiProfiler::activity_records() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->flush_locked();
  std::vector<RangeRecord> out;
  out.reserve(impl_->activities.size());
  uint64_t i = 0;
  for (const auto& a : impl_->activities) {
    RangeRecord r;
    r.name = a.name;
    r.category = kind_category(a.kind);
    r.start_ns = a.start_ns;
    r.end_ns = std::max(a.end_ns, a.start_ns);
    r.thread_id = kDeviceTrackBase + a.stream_id;
    r.seq = i++;
    r.bytes = static_cast<double>(a.bytes);
    out.push_back(std::move(r));
  }
  return out;
}

size_t CuptiProfiler::unattributed_activities() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->flush_locked();
  size_t n = 0;
  for (const auto& a : impl_->activities)
    if (a.external_id == 0 || impl_->parent.count(a.external_id - 1) == 0) ++n;
  return n;
}

uint64_t CuptiProfiler::dropped_records() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->api->dropped_records();
}

void CuptiProfiler::clear() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->flush_locked();  // work of cleared ranges must not land on later ones
  impl_->activities.clear();
  impl_->ranges.clear_closed();
  // Parents of still-open ranges are kept so their children still aggregate.
  std::unordered_map<uint64_t, uint64_t> keep;
  impl_->ranges.for_each_open([&](const RangeRecord& r) { keep[r.seq] = impl_->parent[r.seq]; });
  impl_->parent = std::move(keep);
}

}  // namespace llmcost
