// `llmcost families [CONFIG_OR_DIR...]`: every family, and for each config (default: the bundled
// models) the family that builds it, its exact counts and KV/state bytes, checked against a
// table of checkpoint counts when one is given (--reference), or the one line it is refused with.
// scripts/family-table writes its Markdown into the README.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "commands.h"
#include "llmcost/analysis.h"
#include "llmcost/families.h"
#include "llmcost/families_report.h"
#include "llmcost/model_loader.h"
#include "llmcost/value.h"

namespace llmcost::cli {

namespace {

namespace fs = std::filesystem;

// file name -> total_params, from a TSV whose header names the columns "file" and "total_params"
// (tests/data/reference_params.tsv).
std::map<std::string, int64_t> read_reference(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot read the reference table");
  std::string line;
  std::getline(in, line);
  auto split = [](const std::string& s) {
    std::vector<std::string> v;
    std::stringstream ss(s);
    std::string c;
    while (std::getline(ss, c, '\t')) v.push_back(c);
    return v;
  };
  const auto head = split(line);
  const auto col = [&](const std::string& name) {
    auto it = std::find(head.begin(), head.end(), name);
    if (it == head.end()) throw Error(path + ": line 1 must name a \"" + name + "\" column", ErrorKind::BadConfig);
    return static_cast<size_t>(it - head.begin());
  };
  const size_t fc = col("file"), tc = col("total_params");
  std::map<std::string, int64_t> out;
  int n = 1;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    const auto cells = split(line);
    if (cells.size() <= std::max(fc, tc)) throw Error(path + ": line " + std::to_string(n) + " has too few columns", ErrorKind::BadConfig);
    try {
      size_t used = 0;
      const int64_t v = std::stoll(cells[tc], &used);
      if (used != cells[tc].size() || v < 0) throw std::invalid_argument("");
      out[cells[fc]] = v;
    } catch (const std::exception&) {
      throw Error(path + ": line " + std::to_string(n) + ": total_params must be a non-negative integer, got \"" + cells[tc] + "\"",
                  ErrorKind::BadConfig);
    }
  }
  return out;
}

// The .json files under each argument (a directory: its *.json except *.hf_quant_config.json,
// sorted), or the argument itself; a file name seen under an earlier argument is skipped (the
// bundled copy of a config stands for the test-data copy).
std::vector<std::string> config_files(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto keep = [&](const std::string& path) {
    if (seen.insert(fs::path(path).filename().string()).second) out.push_back(path);
  };
  for (const auto& a : args) {
    std::error_code ec;
    if (fs::is_directory(a, ec)) {
      std::vector<std::string> in_dir;
      for (const auto& e : fs::directory_iterator(a)) {
        const std::string name = e.path().filename().string();
        if (e.is_regular_file() && e.path().extension() == ".json" && name.find(".hf_quant_config.") == std::string::npos)
          in_dir.push_back(e.path().string());
      }
      std::sort(in_dir.begin(), in_dir.end());
      for (const auto& p : in_dir) keep(p);
    } else if (fs::is_regular_file(a, ec)) {
      keep(a);
    } else {
      throw Error(a + ": no such config file or directory", ErrorKind::BadConfig);
    }
  }
  return out;
}

}  // namespace

void register_families(CLI::App& app, Context& ctx) {
  struct Opts {
    std::vector<std::string> inputs;
    std::string reference;
    std::string format = "table";
    std::string output;
    int64_t context = 32768;
  };
  auto o = std::make_shared<Opts>();
  auto* c = app.add_subcommand("families", "Every family, and per config: its family, exact counts and KV/state bytes, or why it is refused");
  c->add_option("configs", o->inputs, "Config files or directories of them (default: the bundled models)");
  c->add_option("--reference", o->reference,
                "TSV of checkpoint counts (columns file, total_params) to check the totals against");
  c->add_option("--context", o->context, "Context in tokens for the per-sequence bytes in JSON (default 32768)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  add_format_option(c, o->format, {"table", "markdown", "json"}, "Output format");
  c->add_option("-o,--output", o->output, "Write to this file instead of stdout");
  c->callback([&ctx, o] {
    ctx.run = [&ctx, o] {
      std::vector<std::string> inputs = o->inputs;
      if (inputs.empty()) inputs.push_back(ctx.configs() + "/models");
      const auto reference = o->reference.empty() ? std::map<std::string, int64_t>{} : read_reference(o->reference);
      std::vector<FamilyRow> fams;
      for (const auto& f : family_infos()) fams.push_back({f.name, f.model_types, 0});
      std::vector<FamilyConfigRow> rows;
      bool differs = false;
      for (const auto& path : config_files(inputs)) {
        FamilyConfigRow r;
        r.file = fs::path(path).filename().string();
        r.context = o->context;
        try {
          AnalyzeOptions opts;
          opts.context = o->context;
          Analysis a = analyze(load_model(path, ctx.configs()), opts);
          r.family = a.ir.architecture;
          r.total = a.params.total;
          r.active = a.params.active;
          r.mtp = a.params.mtp;
          const KvCache& kv = a.kv(KvDtype::BF16);
          r.kv_bytes_per_token = kv.bytes_per_token;
          r.state_bytes_per_sequence = kv.state_bytes_per_sequence;
          r.bytes_at_context = kv.bytes_at_context;
          auto it = reference.find(r.file);
          if (it != reference.end()) {
            r.reference_total = it->second;
            differs = differs || it->second != r.total;
          }
          for (auto& f : fams)
            if (f.name == r.family) f.configs++;
        } catch (const Error& e) {
          std::string msg = e.what();
          // The file is the row's first column: keep what is said about it.
          const std::string prefix = path + ": ";
          if (msg.rfind(prefix, 0) == 0) msg = msg.substr(prefix.size());
          r.refused = msg;
        }
        rows.push_back(std::move(r));
      }
      const std::string text = o->format == "json" ? families_json(fams, rows)
                               : o->format == "markdown" ? families_markdown(fams, rows)
                                                   : families_table(fams, rows);
      emit(text, o->output);
      return differs ? 1 : 0;
    };
  });
}

}  // namespace llmcost::cli
