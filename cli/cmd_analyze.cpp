// `llmcost analyze MODEL` and `llmcost models`.
#include <memory>

#include "commands.h"
#include "llmcost/analysis.h"
#include "llmcost/analyze_report.h"
#include "llmcost/model_loader.h"
#include "llmcost/value.h"

namespace llmcost::cli {

void register_analyze(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string model;
    std::string format = "table";
    std::string output;
  };
  auto o = std::make_shared<Opts>();
  auto* a = app.add_subcommand("analyze", "Parameters (total, active, breakdown) of one model");
  a->add_option("model", o->model,
                "config.json path, a directory with one, our YAML, or a bundled model (stem, HF id or alias)")
      ->required();
  a->add_option("--format", o->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  a->add_option("-o,--output", o->output, "Write to this file instead of stdout");
  a->callback([&ctx, o] {
    ctx.run = [&ctx, o] {
      Analysis an = analyze(load_model(o->model, ctx.configs()));
      emit(o->format == "json" ? analyze_json(an) : analyze_table(an), o->output);
      return 0;
    };
  });

  auto m = std::make_shared<Opts>();
  auto* ms = app.add_subcommand("models", "List the bundled models with total and active parameters");
  ms->add_option("--format", m->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  ms->callback([&ctx, m] {
    ctx.run = [&ctx, m] {
      std::vector<ModelsRow> rows;
      for (const auto& b : list_bundled_models(ctx.configs())) {
        ModelIR ir = load_model(b.path, ctx.configs());
        ir.name = b.hf_id;
        rows.push_back({b.hf_id, b.aliases.back(), analyze(std::move(ir))});
      }
      if (rows.empty()) throw Error(ctx.configs() + "/models: no bundled model configs found");
      emit(m->format == "json" ? models_json(rows) : models_table(rows));
      return 0;
    };
  });
}

}  // namespace llmcost::cli
