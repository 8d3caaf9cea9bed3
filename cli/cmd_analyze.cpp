// `llmcost analyze MODEL` and `llmcost models`.
#include <memory>

#include "commands.h"
#include "llmcost/analysis.h"
#include "llmcost/analyze_report.h"
#include "llmcost/kv_cache.h"
#include "llmcost/model_loader.h"
#include "llmcost/quant.h"
#include "llmcost/value.h"

namespace llmcost::cli {

void register_analyze(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string model;
    std::string format = "table";
    std::string output;
  };
  struct CostOpts {
    int64_t context = 4096;
    int64_t prompt = 0;
    std::string quant_policy = "default";
    std::string kv_dtype = "bf16";
  };
  auto o = std::make_shared<Opts>();
  auto co = std::make_shared<CostOpts>();
  auto* a = app.add_subcommand(
      "analyze", "Parameters, weight memory per quantization scheme, KV cache and FLOPs of one model");
  a->add_option("model", o->model,
                "config.json path, a directory with one, our YAML, or a bundled model (stem, HF id or alias)")
      ->required();
  a->add_option("--format", o->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  a->add_option("-o,--output", o->output, "Write to this file instead of stdout");
  a->add_option("--context", co->context, "Tokens per sequence for the KV cache and decode FLOPs (default 4096)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  a->add_option("--prompt", co->prompt, "Prefill length in tokens for the prefill FLOPs (default: the context)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  a->add_option("--quant-policy", co->quant_policy,
                "Tensors the quantized schemes apply to: default | experts | routed | all | a comma list of "
                "attention,mlp,experts,shared,router,embedding,lm_head,other")
      ->check(CLI::Validator(
          [](std::string& v) {
            return parse_quant_policy(v) ? std::string() : "unknown quant policy \"" + v + "\"";
          },
          "POLICY"));
  a->add_option("--kv-dtype", co->kv_dtype, "KV-cache dtype shown beside bf16: bf16, fp8, int8, int4")
      ->check(CLI::IsMember({"bf16", "fp8", "int8", "int4"}));
  a->callback([&ctx, o, co] {
    ctx.run = [&ctx, o, co] {
      AnalyzeOptions opts;
      opts.context = co->context;
      opts.prompt_tokens = co->prompt;
      opts.policy = *parse_quant_policy(co->quant_policy);
      opts.kv_dtype = *parse_kv_dtype(co->kv_dtype);
      ModelIR ir = load_model(o->model, ctx.configs());
      Analysis an;
      try {
        an = analyze(std::move(ir), opts);
      } catch (const WorkloadTooLarge& e) {
        const bool prompt = e.field() == "prompt_tokens";
        throw Error(std::string(prompt ? "--prompt " : "--context ") + std::to_string(prompt ? co->prompt : co->context) +
                    " is too large for this model: " + e.what());
      }
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
      if (rows.empty()) throw Error(ctx.configs() + "/models: no bundled model configs found", ErrorKind::BadConfig);
      emit(m->format == "json" ? models_json(rows) : models_table(rows));
      return 0;
    };
  });
}

}  // namespace llmcost::cli
