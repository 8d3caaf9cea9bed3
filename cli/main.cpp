// llmcost: command-line entry point. Exit codes: 0 ok, 1 failure, 2 usage error (llmcost/error.h).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "llmcost/config_reader.h"
#include "llmcost/model_loader.h"
#include "llmcost/config_reader.h"  // quote_for_message
#include "llmcost/error.h"
#include "llmcost/version.h"

namespace llmcost::cli {

std::string Context::configs() const { return config_dir.empty() ? default_config_dir() : config_dir; }

void emit(const std::string& raw, const std::string& path) {
  // Names in a table come from input files; an escape sequence in one must not reach a terminal.
  const std::string text = escape_control_chars(raw, true);
  if (path.empty() || path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return;
  }
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw Error(path + ": cannot write file");
    out << text;
    if (!out) throw Error(path + ": cannot write file");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw Error(path + ": cannot write file");
  }
}

namespace {

// When parsing fails and the first word is not a subcommand, say so and list them: CLI11 would
// report "A subcommand is required", which hides the typo. Empty when that is not the problem.
std::string unknown_subcommand(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config-dir") {
      ++i;
      continue;
    }
    if (!a.empty() && a[0] == '-') continue;
    std::string names;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      if (sub->check_name(a)) return "";
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    return "unknown subcommand " + quote_for_message(a) + "; subcommands: " + names;
  }
  return "";
}

}  // namespace

}  // namespace llmcost::cli

int main(int argc, char** argv) {
  using namespace llmcost;
  CLI::App app{"llmcost: what a large language model costs (parameters, memory, FLOPs, latency), predicted and measured"};
  app.require_subcommand(1);
  app.set_version_flag("--version", llmcost::version_line(), "Print the llmcost version and exit");
  cli::Context ctx;
  app.add_option("--config-dir", ctx.config_dir, "Directory with models/, hardware/, scenarios/ (default: the bundled configs)");
  cli::register_analyze(app, ctx);
  cli::register_predict(app, ctx);
  cli::register_run(app, ctx);
  cli::register_calibrate(app, ctx);
  cli::register_report(app, ctx);
  cli::register_ci(app, ctx);
  cli::register_families(app, ctx);
  cli::register_validate(app, ctx);
  cli::register_check(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::string unknown = cli::unknown_subcommand(app, argc, argv);
    Error usage(unknown.empty() ? e.what() : unknown, ErrorKind::Usage);
    std::cerr << format_error(usage);
    return exit_code(usage);
  }
  try {
    return ctx.run ? ctx.run() : 0;
  } catch (const std::exception& e) {
    std::cerr << format_error(e);
    return exit_code(e);
  }
}
