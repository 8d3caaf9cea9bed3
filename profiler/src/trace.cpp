// Chrome trace-event JSON (complete "X" events, microseconds) for profiler records; atomic file write.
#include "llmcost/trace.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "llmcost/value.h"

namespace llmcost {

std::string chrome_trace_json(const std::vector<RangeRecord>& records, const TraceMeta& meta) {
  using nlohmann::json;
  std::vector<const RangeRecord*> order;
  order.reserve(records.size());
  int64_t origin_ns = 0;
  for (const auto& r : records) {
    if (order.empty() || r.start_ns < origin_ns) origin_ns = r.start_ns;
    order.push_back(&r);
  }
  // Outer ranges first at equal start so viewers nest them correctly.
  std::stable_sort(order.begin(), order.end(), [](const RangeRecord* a, const RangeRecord* b) {
    if (a->start_ns != b->start_ns) return a->start_ns < b->start_ns;
    if (a->thread_id != b->thread_id) return a->thread_id < b->thread_id;
    return a->depth < b->depth;
  });

  json events = json::array();
  events.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", 1}, {"tid", 0}, {"args", {{"name", meta.process_name}}}});
  std::set<uint32_t> tids;
  for (const auto* r : order) tids.insert(r->thread_id);
  for (uint32_t t : tids)
    events.push_back({{"ph", "M"},
                      {"name", "thread_name"},
                      {"pid", 1},
                      {"tid", t},
                      {"args", {{"name", t >= kDeviceTrackBase ? "GPU stream " + std::to_string(t - kDeviceTrackBase)
                                     : t == 0                ? std::string("main")
                                                             : "thread " + std::to_string(t)}}}});
  for (const auto* r : order) {
    json args = {{"depth", r->depth}, {"seq", r->seq}};
    if (r->bytes != 0.0) args["bytes"] = r->bytes;
    if (r->flops != 0.0) args["flops"] = r->flops;
    if (r->dram_read_bytes >= 0) args["dram_read_bytes"] = r->dram_read_bytes;
    if (r->dram_write_bytes >= 0) args["dram_write_bytes"] = r->dram_write_bytes;
    events.push_back({{"ph", "X"},
                      {"name", r->name},
                      {"cat", r->category.empty() ? std::string("op") : r->category},
                      {"ts", static_cast<double>(r->start_ns - origin_ns) / 1e3},
                      {"dur", static_cast<double>(r->end_ns - r->start_ns) / 1e3},
                      {"pid", 1},
                      {"tid", r->thread_id},
                      {"args", std::move(args)}});
  }
  json other = json::object();
  for (const auto& [k, v] : meta.other) other[k] = v;
  json doc = {{"traceEvents", std::move(events)}, {"displayTimeUnit", "ns"}, {"otherData", std::move(other)}};
  return doc.dump() + "\n";
}

void write_chrome_trace(const std::string& path, const std::vector<RangeRecord>& records, const TraceMeta& meta) {
  std::string text = chrome_trace_json(records, meta);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  auto fail = [&](const std::string& why) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw Error(path + ": cannot write trace file (" + why + ")");
  };
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(std::strerror(errno));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) fail(std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail(ec.message());
}

}  // namespace llmcost
