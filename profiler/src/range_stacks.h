// Per-thread stacks of open ranges and the list of closed ones: the bookkeeping the CPU and
// CUPTI profilers share. Not thread-safe by itself: callers hold their own mutex.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "llmcost/profiler.h"

namespace llmcost::detail {

class RangeStacks {
 public:
  // Opens a range on the calling thread's stack (thread id, depth and sequence number set;
  // times left to the caller) and returns it; it stays valid until this thread's next open
  // or close.
  RangeRecord& open(std::string_view name, std::string_view category, double bytes, double flops) {
    std::vector<RangeRecord>& st = stack();
    RangeRecord r;
    r.name.assign(name.data(), name.size());
    r.category.assign(category.data(), category.size());
    r.thread_id = thread_index();
    r.depth = static_cast<uint32_t>(st.size());
    r.seq = next_seq_++;
    r.bytes = bytes;
    r.flops = flops;
    st.push_back(std::move(r));
    return st.back();
  }

  // The calling thread's innermost open range, if any.
  RangeRecord* top() {
    std::vector<RangeRecord>& st = stack();
    return st.empty() ? nullptr : &st.back();
  }

  // The innermost open range; a logic_error naming `who` when this thread has none.
  RangeRecord& top_or_throw(const char* who) {
    RangeRecord* r = top();
    if (!r) throw std::logic_error(std::string(who) + ": no open range on this thread");
    return *r;
  }

  // Closes the innermost open range at end_ns (never before its start) and keeps it.
  void close(int64_t end_ns, const char* who) {
    top_or_throw(who);
    std::vector<RangeRecord>& st = stack();
    RangeRecord r = std::move(st.back());
    st.pop_back();
    r.end_ns = std::max(end_ns, r.start_ns);
    closed_.push_back(std::move(r));
  }

  void annotate(double bytes, double flops, const char* who) {
    RangeRecord& r = top_or_throw(who);
    r.bytes += bytes;
    r.flops += flops;
  }

  // Closed ranges in push order.
  std::vector<RangeRecord> closed_in_order() const {
    std::vector<RangeRecord> out = closed_;
    std::sort(out.begin(), out.end(), [](const RangeRecord& a, const RangeRecord& b) { return a.seq < b.seq; });
    return out;
  }
  const std::vector<RangeRecord>& closed() const { return closed_; }
  void clear_closed() { closed_.clear(); }

  // Every thread's open ranges (outermost first per thread).
  template <class F>
  void for_each_open(F&& f) const {
    for (const auto& kv : threads_)
      for (const auto& r : kv.second.open) f(r);
  }

 private:
  struct ThreadState {
    uint32_t id = 0;
    std::vector<RangeRecord> open;
  };
  ThreadState& state() {
    auto it = threads_.find(std::this_thread::get_id());
    if (it == threads_.end()) {
      ThreadState s;
      s.id = static_cast<uint32_t>(threads_.size());
      it = threads_.emplace(std::this_thread::get_id(), std::move(s)).first;
    }
    return it->second;
  }
  std::vector<RangeRecord>& stack() { return state().open; }
  uint32_t thread_index() { return state().id; }

  std::unordered_map<std::thread::id, ThreadState> threads_;
  std::vector<RangeRecord> closed_;
  uint64_t next_seq_ = 0;
};

}  // namespace llmcost::detail
