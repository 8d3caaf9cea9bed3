// Wiring between main() and the subcommands: each registers itself on the CLI11 app and,
// when chosen, leaves the work to do in ctx.run.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "llmcost/model_ir.h"

namespace llmcost::cli {

struct Context {
  std::string config_dir;     // --config-dir, default: default_config_dir()
  std::function<int()> run;   // set by the chosen subcommand's callback
  long width = -1;            // --width N (0: no limit); -1: LLMCOST_WIDTH, else the terminal's
  std::string configs() const;
};

// The model a user named on the command line (load_model), its resolution note (a fine-tuned
// variant taken as its bundled base) printed on stderr as "note: ...".
ModelIR load_named_model(const Context& ctx, const std::string& spec);

// --format in the one vocabulary of every command: table, json, csv, markdown (also spelled md),
// html, yaml; `allowed` says which this command writes. The value reaching the command is the long
// name ("markdown"). A vector takes a comma list.
// Progress lines on stderr (run, calibrate): when stderr is a terminal, or with --progress.
CLI::Option* add_progress_flag(CLI::App* c, bool& flag);
bool progress_wanted(bool flag);

CLI::Option* add_format_option(CLI::App* c, std::string& format, const std::vector<std::string>& allowed, const std::string& help);
CLI::Option* add_format_option(CLI::App* c, std::vector<std::string>& formats, const std::vector<std::string>& allowed,
                               const std::string& help);

// Writes `text` to stdout, or atomically to `path` (temp file + rename) when path is set.
void emit(const std::string& text, const std::string& path = "");

// The whole command line (cli/app.cpp): parse argv, run the chosen subcommand, print any failure
// as its one line; returns the exit status. main() is this.
int run_main(int argc, char** argv);

// The same for a caller that wants the output, not a terminal (the Python package): what would go
// to stdout (emit() and std::cout) and std::cerr is returned; files named by -o are still written.
// A failure is thrown (llmcost::Error with its kind; a bad command line as ErrorKind::Usage), not
// printed. Not reentrant: it swaps the process's std::cout / std::cerr buffers while it runs.
struct CapturedRun {
  int rc = 0;
  std::string out, err;
};
CapturedRun run_captured(const std::vector<std::string>& args);

void register_analyze(CLI::App& app, Context& ctx);    // analyze, models          (cmd_analyze.cpp)
void register_predict(CLI::App& app, Context& ctx);    // predict, hw, plan, compare (cmd_predict.cpp)
void register_run(CLI::App& app, Context& ctx);        // run                     (cmd_run.cpp)
void register_calibrate(CLI::App& app, Context& ctx);  // calibrate               (cmd_calibrate.cpp)
void register_report(CLI::App& app, Context& ctx);     // report                  (cmd_report.cpp)
void register_ci(CLI::App& app, Context& ctx);         // ci record, ci check     (cmd_ci.cpp)
void register_families(CLI::App& app, Context& ctx);   // families                (cmd_families.cpp)
void register_validate(CLI::App& app, Context& ctx);   // validate                (cmd_validate.cpp)
void register_check(CLI::App& app, Context& ctx);      // check                   (cmd_check.cpp)
void register_summary(CLI::App& app, Context& ctx);    // summary                 (cmd_summary.cpp)

// What `check` and `calibrate --from` take from flags where a result file says nothing (cmd_check.cpp).
struct MeasuredOpts {
  std::string model, hw, profile, engine, quant = "auto", kv_dtype = "bf16";
  int64_t tp = 0, ep = 0, pp = 0, concurrency = 0;  // 0: not given
};
void add_measured_options(CLI::App* c, MeasuredOpts& o, bool for_calibrate);
// calibrate --from FILES: fit, print (table/json/yaml), write the hardware YAML with the profile to `output`.
int run_calibrate_from(const Context& ctx, const std::vector<std::string>& files, const MeasuredOpts& o, int holdout_every,
                       const std::string& format, const std::string& output);

}  // namespace llmcost::cli
