// The summary of a GPU validation run (`llmcost summary`, written by scripts/gpu-check): run files
// of `llmcost run --format json` checked against the targets of the CUDA-backend issue, per step
// and per op (predicted vs measured time, achieved bandwidth as a fraction of the calibrated and
// the datasheet bandwidth, DRAM bytes from the counter pass vs predicted bytes). Reads only the
// run record (llmcost/run_record.h); renders through the ReportDoc writers (Markdown, JSON, ...).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "llmcost/report_doc.h"
#include "llmcost/run_record.h"

namespace llmcost {

// The targets, each checked per run it applies to. A run is MoE when its record has routed
// experts (predicted or measured distinct experts per layer), dense otherwise.
struct GpuCheckTargets {
  double dense_batch1_bw_fraction = 0.85;  // achieved / calibrated read bandwidth, dense decode at batch 1
  double moe_batch1_bw_fraction = 0.70;    // the same for MoE decode at batch 1
  double step_error_fraction = 0.10;       // |predicted - measured| / measured decode step, every run
  double dram_error_fraction = 0.05;       // |DRAM bytes - predicted bytes| / predicted bytes per step, runs with counters
};

struct GpuCheckRun {
  std::string file;  // where the record was read from (shown in the report)
  RunRecord record;
};

struct GpuCheckInput {
  std::string title = "GPU validation summary";
  std::vector<GpuCheckRun> runs;
  // The datasheet read bandwidth the fractions are also stated against (a hardware spec), or why none.
  struct Datasheet {
    std::string name;    // hardware name, e.g. "h200"
    std::string source;  // the spec's own source line for the figure
    double read_bw_bytes_per_s = 0;
  };
  std::optional<Datasheet> datasheet;
  std::string datasheet_missing;      // shown when datasheet is empty
  std::vector<std::string> not_run;   // steps that did not run, each "what: why"
  std::vector<std::string> notes;     // other lines for the assumptions (e.g. the calibration file)
  GpuCheckTargets targets;
};

// Verdict of one target on one run.
enum class Verdict { Pass, Fail, NotMeasured };
const char* verdict_name(Verdict v);  // "pass", "fail", "not measured"

// Sections: "targets" (one row per target and run it applies to; a target no run applies to gets
// one "not measured" row saying so), "steps" (one row per run), "ops-<n>" (per op of run n).
ReportDoc gpu_check_report(const GpuCheckInput& in);

}  // namespace llmcost
