// The llmcost command line as a function: the app with every subcommand, run from main() (cli/main.cpp)
// and, with its output captured, from the Python package (python/llmcost_ext.cpp).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "commands.h"
#include "llmcost/config_reader.h"  // escape_control_chars, quote_for_message
#include "llmcost/error.h"
#include "llmcost/format.h"  // set_text_width, terminal_text_width
#include "llmcost/model_loader.h"
#include "llmcost/version.h"

namespace llmcost::cli {

namespace {
// Set while run_captured() runs: what emit() would write to stdout goes here instead.
std::string* g_capture = nullptr;
}  // namespace

std::string Context::configs() const { return config_dir.empty() ? default_config_dir() : config_dir; }

ModelIR load_named_model(const Context& ctx, const std::string& spec) {
  std::string note;
  ModelIR ir = load_model(spec, ctx.configs(), &note);
  if (!note.empty()) std::cerr << "note: " << note << "\n";
  return ir;
}

namespace {
template <class T>
CLI::Option* format_option(CLI::App* c, T& target, const std::vector<std::string>& allowed, const std::string& help) {
  std::string names;
  for (const auto& a : allowed) names += (names.empty() ? "" : ", ") + a;
  return c->add_option("--format", target, help + " (" + names + ")")
      ->transform(CLI::Transformer(std::map<std::string, std::string>{{"md", "markdown"}}))
      ->check(CLI::IsMember(allowed));
}
}  // namespace

CLI::Option* add_format_option(CLI::App* c, std::string& format, const std::vector<std::string>& allowed, const std::string& help) {
  return format_option(c, format, allowed, help);
}
CLI::Option* add_format_option(CLI::App* c, std::vector<std::string>& formats, const std::vector<std::string>& allowed,
                               const std::string& help) {
  return format_option(c, formats, allowed, help)->delimiter(',');
}

CLI::Option* add_progress_flag(CLI::App* c, bool& flag) {
  return c->add_flag("--progress", flag, "Name each step on stderr as it starts (default: only when stderr is a terminal)");
}
bool progress_wanted(bool flag) { return flag || isatty(STDERR_FILENO); }

void emit(const std::string& raw, const std::string& path) {
  // Names in a table come from input files; an escape sequence in one must not reach a terminal.
  const std::string text = escape_control_chars(raw, true);
  if (path.empty() || path == "-") {
    if (g_capture) {
      *g_capture += text;
      return;
    }
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
    if (a == "--config-dir" || a == "--width") {
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

void build_app(CLI::App& app, Context& ctx) {
  app.require_subcommand(1);
  app.set_version_flag("--version", llmcost::version_line(), "Print the llmcost version and exit");
  app.add_option("--config-dir", ctx.config_dir, "Directory with models/, hardware/, scenarios/ (default: the bundled configs)");
  app.add_option("--width", ctx.width,
                 "Fit text tables to N columns (0: no limit; default: $LLMCOST_WIDTH, else the terminal's width when "
                 "stdout is a terminal, else no limit)")
      ->check(CLI::Range(0L, 100000L))
      ->option_text("N");
  app.fallthrough();  // --width and --config-dir also after the subcommand
  register_analyze(app, ctx);
  register_predict(app, ctx);
  register_run(app, ctx);
  register_calibrate(app, ctx);
  register_report(app, ctx);
  register_ci(app, ctx);
  register_families(app, ctx);
  register_validate(app, ctx);
  register_check(app, ctx);
  register_summary(app, ctx);
}

const char* kAppHelp =
    "llmcost: what a large language model costs (parameters, memory, FLOPs, latency), predicted and measured";

// Restores std::cout / std::cerr and the emit() capture when run_captured() leaves.
struct CaptureScope {
  std::ostringstream out, err;
  std::streambuf* old_out;
  std::streambuf* old_err;
  std::string emitted;
  CaptureScope() : old_out(std::cout.rdbuf(out.rdbuf())), old_err(std::cerr.rdbuf(err.rdbuf())) { g_capture = &emitted; }
  ~CaptureScope() {
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    g_capture = nullptr;
  }
};

}  // namespace

int run_main(int argc, char** argv) {
  CLI::App app{kAppHelp};
  Context ctx;
  build_app(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::string unknown = unknown_subcommand(app, argc, argv);
    Error usage(unknown.empty() ? e.what() : unknown, ErrorKind::Usage);
    std::cerr << format_error(usage);
    return exit_code(usage);
  }
  set_text_width(terminal_text_width(ctx.width));
  try {
    return ctx.run ? ctx.run() : 0;
  } catch (const std::exception& e) {
    std::cerr << format_error(e);
    return exit_code(e);
  }
}

CapturedRun run_captured(const std::vector<std::string>& args) {
  std::vector<std::string> storage;
  storage.reserve(args.size() + 1);
  storage.push_back("llmcost");
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  const int argc = static_cast<int>(argv.size());
  argv.push_back(nullptr);

  CLI::App app{kAppHelp};
  Context ctx;
  build_app(app, ctx);
  CapturedRun r;
  CaptureScope scope;
  try {
    app.parse(argc, argv.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) {
      std::string unknown = unknown_subcommand(app, argc, argv.data());
      throw Error(unknown.empty() ? e.what() : unknown, ErrorKind::Usage);
    }
    r.rc = app.exit(e, scope.out, scope.err);  // --help
  }
  // Captured output is not a terminal: fitted only when asked (--width).
  set_text_width(ctx.width > 0 ? static_cast<size_t>(ctx.width) : 0);
  if (r.rc == 0 && ctx.run) r.rc = ctx.run();
  r.out = scope.emitted + scope.out.str();
  r.err = scope.err.str();
  return r;
}

}  // namespace llmcost::cli
