// CounterProfiler: flat op ranges handed to the CUPTI range profiler (via CounterApi), decoded
// per pass and attached to the profiler's records as DRAM bytes; refusal lines. Pure C++.
#include "llmcost/counter_profiler.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "llmcost/value.h"
#include "range_stacks.h"

namespace llmcost {

#ifndef LLMCOST_WITH_CUPTI
// Built without CUDA: no range profiler and no host API to call.
std::unique_ptr<CounterApi> make_counter_api() { return nullptr; }
int counter_metric_passes(const std::string&, const std::vector<std::string>&) {
  throw Error("counters: not available: llmcost was built without CUPTI", ErrorKind::DeviceUnavailable);
}
#endif

namespace {
constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();
const char* kBuiltWithout = "counters: not available: llmcost was built without CUPTI";
}  // namespace

std::string counter_refusal_line(const CounterStatus& s) {
  std::string what;
  switch (s.refusal) {
    case CounterRefusal::None: return "";
    case CounterRefusal::NoDevice: what = "not available: no CUDA device"; break;
    case CounterRefusal::InsufficientPrivileges:
      what = "not permitted: insufficient privileges to read GPU performance counters (needs root/CAP_SYS_ADMIN "
             "or the driver option NVreg_RestrictProfilingToAdminUsers=0)";
      break;
    case CounterRefusal::Mig: what = "not permitted: the device is a MIG instance"; break;
    case CounterRefusal::VirtualGpu: what = "not permitted: virtual GPU (vGPU) without profiling enabled"; break;
    case CounterRefusal::OtherProfiler:
      what = "not permitted: another profiler (e.g. Nsight Compute or Nsight Systems) holds the counters";
      break;
    case CounterRefusal::Unsupported: what = "not supported on this device or configuration"; break;
    case CounterRefusal::Error: what = "CUPTI error"; break;
  }
  std::string line = "counters: " + what;
  if (!s.detail.empty()) line += " (" + s.detail + ")";
  return line;
}

CounterRefusal counter_refusal_of_cupti_result(int r) {
  // Values of CUptiResult in cupti_result.h (CUDA 13.0); cupti/counter_api.cpp static_asserts them.
  switch (r) {
    case 0: return CounterRefusal::None;
    case 2:   // INVALID_DEVICE
    case 3:   // INVALID_CONTEXT
    case 15:  // NOT_INITIALIZED (no driver)
      return CounterRefusal::NoDevice;
    case 35:  // INSUFFICIENT_PRIVILEGES
      return CounterRefusal::InsufficientPrivileges;
    case 33:  // VIRTUALIZED_DEVICE_NOT_SUPPORTED
    case 40:  // VIRTUALIZED_DEVICE_INSUFFICIENT_PRIVILEGES
      return CounterRefusal::VirtualGpu;
    case 43:  // MIG_DEVICE_NOT_SUPPORTED
      return CounterRefusal::Mig;
    case 26:  // HARDWARE_BUSY (counters held by another client)
    case 36:  // OLD_PROFILER_API_INITIALIZED
    case 39:  // MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED
      return CounterRefusal::OtherProfiler;
    case 27:  // NOT_SUPPORTED
    case 41:  // CONFIDENTIAL_COMPUTING_NOT_SUPPORTED
    case 42:  // CMP_DEVICE_NOT_SUPPORTED
    case 44:  // SLI_DEVICE_NOT_SUPPORTED
    case 45:  // WSL_DEVICE_NOT_SUPPORTED
      return CounterRefusal::Unsupported;
    default: return CounterRefusal::Error;
  }
}

struct CounterProfiler::Impl {
  std::unique_ptr<CounterApi> api;
  std::string counted_category;
  size_t max_ranges = 0;
  int passes = 0;
  std::string chip;
  mutable std::mutex mu;
  detail::RangeStacks ranges;
  std::unordered_map<uint64_t, uint64_t> parent;  // seq -> parent seq (kNone at depth 0)
  std::unordered_map<uint64_t, std::vector<double>> values;  // counted seq -> metric values
  uint64_t open_counted = kNone;  // the counted range now open (any thread)
  bool pass_open = false;
  std::vector<uint64_t> batch;  // counted seqs of the submitted-but-undecoded pass, push order
  uint64_t counted = 0, dropped = 0;
  std::string refused;

  void refuse(const std::string& line) {
    if (refused.empty()) refused = line;
  }

  // Stops the open pass and attaches the decoded values to its ranges.
  void finish_pass() {
    if (!pass_open || open_counted != kNone) return;
    pass_open = false;
    std::vector<uint64_t> seqs = std::move(batch);
    batch.clear();
    if (!api->end_pass()) {
      refuse("counters: CUPTI wants another pass of the same work; llmcost collects counters in " +
             std::to_string(counter_passes_needed()));
      dropped += seqs.size();
      return;
    }
    size_t cupti_dropped = 0;
    std::vector<CounterRange> got = api->decode(&cupti_dropped);
    if (got.size() != seqs.size()) {  // cannot tell which ranges are missing: none is trusted
      dropped += seqs.size();
      return;
    }
    std::unordered_map<uint64_t, const std::string*> name_of;
    for (const auto& r : ranges.closed()) name_of[r.seq] = &r.name;
    for (size_t i = 0; i < seqs.size(); ++i) {
      auto n = name_of.find(seqs[i]);
      if (n == name_of.end() || *n->second != got[i].name || got[i].values.size() != counter_metrics().size()) {
        ++dropped;
        continue;
      }
      values[seqs[i]] = std::move(got[i].values);
    }
  }
};

CounterProfiler::CounterProfiler(std::unique_ptr<CounterApi> api, size_t max_ranges_per_pass, std::string counted_category)
    : impl_(std::make_unique<Impl>()) {
  if (!api) throw Error(kBuiltWithout, ErrorKind::DeviceUnavailable);
  if (max_ranges_per_pass == 0) throw std::invalid_argument("CounterProfiler: max_ranges_per_pass must be > 0");
  CounterStatus st = api->probe();
  if (!st.ok()) throw Error(counter_refusal_line(st), ErrorKind::DeviceUnavailable);
  impl_->chip = api->chip();
  int passes = api->configure(counter_metrics(), max_ranges_per_pass);
  if (passes != counter_passes_needed()) {
    api->shutdown();
    std::string names;
    for (const auto& m : counter_metrics()) names += (names.empty() ? "" : ", ") + m;
    throw Error("counters: not supported: " + names + " need " + std::to_string(passes) + " passes on chip " +
                    impl_->chip + "; llmcost collects counters in " + std::to_string(counter_passes_needed()),
                ErrorKind::Unsupported);
  }
  impl_->api = std::move(api);
  impl_->passes = passes;
  impl_->max_ranges = max_ranges_per_pass;
  impl_->counted_category = std::move(counted_category);
}

CounterProfiler::~CounterProfiler() {
  if (!impl_ || !impl_->api) return;
  try {
    if (impl_->pass_open) impl_->api->end_pass();
  } catch (...) {
    // A destructor must not throw; the range profiler is being torn down anyway.
  }
  impl_->api->shutdown();
}

void CounterProfiler::push(std::string_view name, std::string_view category, double bytes, double flops) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Impl& m = *impl_;
  const RangeRecord* outer = m.ranges.top();
  const uint64_t parent = outer ? outer->seq : kNone;
  RangeRecord& r = m.ranges.open(name, category, bytes, flops);
  m.parent[r.seq] = parent;
  if (m.refused.empty() && category == m.counted_category && m.open_counted == kNone) {
    if (!m.pass_open) {
      CounterStatus st = m.api->start_pass();
      if (st.ok())
        m.pass_open = true;
      else
        m.refuse(counter_refusal_line(st));
    }
    if (m.pass_open) {
      m.api->push_range(r.name);
      m.open_counted = r.seq;
      m.batch.push_back(r.seq);
      ++m.counted;
    }
  }
  r.start_ns = now_ns();
}

void CounterProfiler::pop() {
  const int64_t t = now_ns();
  std::lock_guard<std::mutex> lock(impl_->mu);
  Impl& m = *impl_;
  const RangeRecord& top = m.ranges.top_or_throw("CounterProfiler::pop");
  const bool counted = top.seq == m.open_counted;
  m.ranges.close(t, "CounterProfiler::pop");
  if (counted) {
    m.api->pop_range();
    m.open_counted = kNone;
    if (m.batch.size() >= m.max_ranges) m.finish_pass();
  }
}

void CounterProfiler::annotate(double bytes, double flops) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->ranges.annotate(bytes, flops, "CounterProfiler::annotate");
}

std::vector<RangeRecord> CounterProfiler::records() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Impl& m = *impl_;
  m.finish_pass();
  std::vector<RangeRecord> out = m.ranges.closed_in_order();
  struct Sum {
    double read = 0, write = 0;
  };
  std::unordered_map<uint64_t, Sum> sums;
  for (const auto& [seq, v] : m.values) {
    // The counted range itself and every range enclosing it.
    for (uint64_t s = seq; s != kNone;) {
      Sum& x = sums[s];
      x.read += v[0];
      x.write += v[1];
      auto p = m.parent.find(s);
      s = p == m.parent.end() ? kNone : p->second;
    }
  }
  for (auto& r : out) {
    auto it = sums.find(r.seq);
    if (it == sums.end()) continue;
    r.dram_read_bytes = it->second.read;
    r.dram_write_bytes = it->second.write;
  }
  return out;
}

void CounterProfiler::clear() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Impl& m = *impl_;
  m.finish_pass();
  m.ranges.clear_closed();
  std::unordered_map<uint64_t, uint64_t> keep;
  std::unordered_map<uint64_t, std::vector<double>> keep_values;
  m.ranges.for_each_open([&](const RangeRecord& r) {
    keep[r.seq] = m.parent[r.seq];
    auto v = m.values.find(r.seq);
    if (v != m.values.end()) keep_values[r.seq] = v->second;
  });
  m.parent = std::move(keep);
  m.values = std::move(keep_values);
}

ProfilerNotes CounterProfiler::notes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const Impl& m = *impl_;
  ProfilerNotes n = {{"counters.chip", m.chip},
                     {"counters.passes", std::to_string(m.passes)},
                     {"counters.ranges", std::to_string(m.counted)},
                     {"counters.dropped_ranges", std::to_string(m.dropped)}};
  if (!m.refused.empty()) n.emplace_back("counters.refused", m.refused);
  return n;
}

int CounterProfiler::passes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->passes;
}

std::string CounterProfiler::chip() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->chip;
}

std::vector<double> CounterProfiler::metrics_of(uint64_t seq) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->finish_pass();
  auto it = impl_->values.find(seq);
  return it == impl_->values.end() ? std::vector<double>{} : it->second;
}

std::string CounterProfiler::refused() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->refused;
}

std::unique_ptr<Profiler> make_counter_profiler(std::unique_ptr<CounterApi> api, std::string* why_not) {
  try {
    return std::make_unique<CounterProfiler>(std::move(api));
  } catch (const Error& e) {
    if (why_not) *why_not = e.what();
    return nullptr;
  }
}

std::unique_ptr<Profiler> make_counter_profiler(std::string* why_not) {
  return make_counter_profiler(make_counter_api(), why_not);
}

}  // namespace llmcost
