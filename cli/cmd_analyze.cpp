// `llmcost analyze MODEL` (a config, or a checkpoint's headers) and `llmcost models`.
#include <memory>

#include "commands.h"
#include "llmcost/analysis.h"
#include "llmcost/analyze_report.h"
#include "llmcost/checkpoint.h"
#include "llmcost/checkpoint_report.h"
#include "llmcost/families.h"
#include "llmcost/kv_cache.h"
#include "llmcost/model_loader.h"
#include "llmcost/params.h"
#include "llmcost/quant.h"
#include "llmcost/value.h"

namespace llmcost::cli {

namespace {

// Counts from the headers of the checkpoint at `loc`; with a config.json beside it whose family
// llmcost knows, that family's tensors checked against them.
CheckpointReport checkpoint_report(const CheckpointLocation& loc) {
  CheckpointReport r;
  r.hf_snapshot = loc.hf_snapshot;
  if (loc.format == CheckpointFormat::Gguf) {
    r.summary = summarize_checkpoint(read_gguf_header(loc.path));
    r.notes.push_back("GGUF names tensors the llama.cpp way; the family cross-check reads Hugging Face names, so it "
                      "is not done for GGUF");
    return r;
  }
  SafetensorsCheckpointHeaders ck = read_safetensors_checkpoint(loc.path);
  r.summary = summarize_checkpoint(ck);
  if (ck.unindexed_tensors)
    r.notes.push_back(std::to_string(ck.unindexed_tensors) +
                      " tensors in the shards are not in the index's weight_map and are not counted");
  if (loc.config_path.empty()) {
    r.notes.push_back("no config.json beside the checkpoint: no family cross-check");
    return r;
  }
  try {
    ModelIR ir = build_model_ir(parse_config_file(loc.config_path), loc.config_path);
    r.check = cross_check_checkpoint(ir, ck);
    r.family_total = count_params(ir).total;
  } catch (const Error& e) {  // no family (or a config it refuses): the header counts stand alone
    r.notes.push_back(std::string("no family cross-check: ") + e.what());
  }
  return r;
}

}  // namespace

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
                "config.json path, a directory with one, our YAML, a bundled model (stem, HF id or alias), or a "
                "checkpoint: a directory of safetensors (+ index), a .safetensors, index.json or .gguf file, or a HF id "
                "in the local Hugging Face cache (counted from the headers only)")
      ->required();
  add_format_option(a, o->format, {"table", "json"}, "Output format");
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
      if (auto loc = find_checkpoint(o->model)) {
        CheckpointReport r = checkpoint_report(*loc);
        emit(o->format == "json" ? checkpoint_json(r) : checkpoint_table(r), o->output);
        return 0;
      }
      ModelIR ir = load_named_model(ctx, o->model);
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
  add_format_option(ms, m->format, {"table", "json"}, "Output format");
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
