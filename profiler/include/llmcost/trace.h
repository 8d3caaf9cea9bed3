// Chrome trace-event JSON writer for profiler records (opens in Perfetto and chrome://tracing).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "llmcost/profiler.h"

namespace llmcost {

struct TraceMeta {
  std::string process_name = "llmcost";  // shown as the process track name
  // Extra key/value pairs written under "otherData" (model, backend, batch ...).
  std::vector<std::pair<std::string, std::string>> other;
};

// A JSON object {"traceEvents": [...], "displayTimeUnit": "ns", "otherData": {...}} with one
// complete event ("ph": "X") per record: ts and dur in microseconds relative to the earliest
// record, pid 1, tid = RangeRecord::thread_id, args {bytes, flops, depth, seq, and
// dram_read_bytes/dram_write_bytes when measured}; plus metadata events ("ph": "M") naming the
// process and threads ("main", "thread N", and "GPU stream S" for tid kDeviceTrackBase + S).
// Events are sorted by start, outer first. A device profiler's Profiler::trace_records() gives
// host ranges plus device tracks with kernels nested under the op ranges; put its notes() in
// meta.other.
std::string chrome_trace_json(const std::vector<RangeRecord>& records, const TraceMeta& meta = {});

// Writes chrome_trace_json() to `path` atomically (temp file + rename); on failure throws
// llmcost::Error "<path>: cannot write trace file (<reason>)" and leaves no file behind.
void write_chrome_trace(const std::string& path, const std::vector<RangeRecord>& records,
                        const TraceMeta& meta = {});

}  // namespace llmcost
