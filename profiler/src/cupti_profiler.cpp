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
  std::unique_ptr<NvtxRanges> nvtx;
  mutable std::mutex mu;
  detail::RangeStacks ranges;                     // closed ranges keep host times
  std::unordered_map<uint64_t, uint64_t> parent;  // seq -> parent seq (kNoParent at depth 0)
  mutable std::vector<DeviceActivity> activities;

  void flush_locked() const {
    auto fresh = api->flush();
    activities.insert(activities.end(), std::make_move_iterator(fresh.begin()), std::make_move_iterator(fresh.end()));
  }

  // The range an activity belongs to (seq), or kNoParent when it matched none.
  uint64_t owner(const DeviceActivity& a) const {
    if (a.external_id == 0) return kNoParent;
    return parent.count(a.external_id - 1) ? a.external_id - 1 : kNoParent;
  }
  // Calls f(seq) for the activity's range and every range enclosing it.
  template <class F>
  void for_owners(const DeviceActivity& a, F&& f) const {
    uint64_t seq = owner(a);
    for (int guard = 0; seq != kNoParent && guard < 1 << 20; ++guard) {
      auto p = parent.find(seq);
      if (p == parent.end()) break;
      f(seq);
      seq = p->second;
    }
  }
};

CuptiProfiler::CuptiProfiler(std::unique_ptr<CuptiApi> api, std::unique_ptr<NvtxApi> nvtx) : impl_(std::make_unique<Impl>()) {
  if (!api) throw Error("CUPTI unavailable: llmcost was built without CUDA/CUPTI", ErrorKind::DeviceUnavailable);
  std::string why = api->probe();
  if (!why.empty()) throw Error("CUPTI unavailable: " + why, ErrorKind::DeviceUnavailable);
  try {
    api->start();
  } catch (const Error& e) {
    throw Error(std::string("CUPTI unavailable: ") + e.what(), ErrorKind::DeviceUnavailable);
  }
  impl_->api = std::move(api);
  impl_->nvtx = std::make_unique<NvtxRanges>(std::move(nvtx));
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
  impl_->nvtx->push(name);
  r.start_ns = impl_->api->timestamp_ns();
}

void CuptiProfiler::pop() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  int64_t t = impl_->api->timestamp_ns();
  impl_->ranges.top_or_throw("CuptiProfiler::pop");
  impl_->api->pop_external_id();
  impl_->nvtx->pop();
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
  for (const auto& a : impl_->activities)
    impl_->for_owners(a, [&](uint64_t seq) {
      Span& sp = spans[seq];
      sp.start = std::min(sp.start, a.start_ns);
      sp.end = std::max(sp.end, a.end_ns);
      ++sp.n;
    });
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
    if (impl_->owner(a) == kNoParent) ++n;
  return n;
}

std::vector<DeviceRangeSummary> CuptiProfiler::device_summary() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->flush_locked();
  std::vector<RangeRecord> closed = impl_->ranges.closed_in_order();
  std::unordered_map<uint64_t, size_t> index;
  std::vector<DeviceRangeSummary> out(closed.size());
  std::vector<std::pair<int64_t, int64_t>> span(closed.size(), {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()});
  for (size_t i = 0; i < closed.size(); ++i) {
    out[i].seq = closed[i].seq;
    out[i].name = closed[i].name;
    index[closed[i].seq] = i;
  }
  for (const auto& a : impl_->activities)
    impl_->for_owners(a, [&](uint64_t seq) {
      auto it = index.find(seq);
      if (it == index.end()) return;  // still open
      DeviceRangeSummary& d = out[it->second];
      const int64_t dur = std::max<int64_t>(0, a.end_ns - a.start_ns);
      d.busy_ns += dur;
      switch (a.kind) {
        case DeviceActivity::Kind::Kernel: ++d.kernels; d.kernel_ns += dur; break;
        case DeviceActivity::Kind::Memcpy: ++d.memcpys; d.memcpy_bytes += a.bytes; break;
        case DeviceActivity::Kind::Memset: ++d.memsets; d.memset_bytes += a.bytes; break;
      }
      auto& sp = span[it->second];
      sp.first = std::min(sp.first, a.start_ns);
      sp.second = std::max(sp.second, a.end_ns);
    });
  for (size_t i = 0; i < out.size(); ++i)
    if (span[i].second >= span[i].first) out[i].span_ns = span[i].second - span[i].first;
  return out;
}

std::vector<DeviceActivity> CuptiProfiler::activities_of(uint64_t seq) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->flush_locked();
  std::vector<DeviceActivity> out;
  for (const auto& a : impl_->activities)
    if (impl_->owner(a) == seq) out.push_back(a);
  return out;
}

std::vector<RangeRecord> CuptiProfiler::trace_records() const {
  std::vector<RangeRecord> host = host_records();
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->flush_locked();
  std::unordered_map<uint64_t, const RangeRecord*> by_seq;
  for (const auto& r : host) by_seq[r.seq] = &r;
  // Per (range, stream): the span of the range's device work on that stream.
  struct Key {
    uint64_t seq;
    uint32_t stream;
    bool operator==(const Key& o) const { return seq == o.seq && stream == o.stream; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.seq * 1315423911u + k.stream); }
  };
  std::unordered_map<Key, std::pair<int64_t, int64_t>, KeyHash> spans;
  std::vector<RangeRecord> out = host;
  uint64_t next_seq = 0;
  for (const auto& r : host) next_seq = std::max(next_seq, r.seq + 1);
  for (const auto& a : impl_->activities) {
    RangeRecord k;
    k.name = a.name;
    k.category = kind_category(a.kind);
    k.start_ns = a.start_ns;
    k.end_ns = std::max(a.end_ns, a.start_ns);
    k.thread_id = kDeviceTrackBase + a.stream_id;
    k.bytes = static_cast<double>(a.bytes);
    const uint64_t own = impl_->owner(a);
    auto o = by_seq.find(own);
    k.depth = o == by_seq.end() ? 0 : o->second->depth + 1;
    k.seq = next_seq++;
    k.device_ops = 1;
    out.push_back(std::move(k));
    impl_->for_owners(a, [&](uint64_t seq) {
      if (!by_seq.count(seq)) return;  // still open
      auto [it, fresh] = spans.try_emplace(Key{seq, a.stream_id}, a.start_ns, a.end_ns);
      if (!fresh) {
        it->second.first = std::min(it->second.first, a.start_ns);
        it->second.second = std::max(it->second.second, a.end_ns);
      }
    });
  }
  for (const auto& [key, sp] : spans) {
    RangeRecord r = *by_seq[key.seq];
    r.start_ns = sp.first;
    r.end_ns = std::max(sp.second, sp.first);
    r.thread_id = kDeviceTrackBase + key.stream;
    r.seq = next_seq++;
    r.device_ops = 0;
    out.push_back(std::move(r));
  }
  return out;
}

ProfilerNotes CuptiProfiler::notes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->flush_locked();
  size_t unattributed = 0;
  for (const auto& a : impl_->activities)
    if (impl_->owner(a) == kNoParent) ++unattributed;
  return {{"cupti.activities", std::to_string(impl_->activities.size())},
          {"cupti.unattributed_activities", std::to_string(unattributed)},
          {"cupti.dropped_records", std::to_string(impl_->api->dropped_records())}};
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
