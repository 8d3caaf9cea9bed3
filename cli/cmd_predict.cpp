// `llmcost predict`, `hw`, `plan` and `compare`: roofline predictions, hardware specs, capacity
// planning and hardware sizing.
#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "report_input.h"
#include "llmcost/error.h"
#include "llmcost/hardware.h"
#include "llmcost/model_loader.h"
#include "llmcost/plan.h"
#include "llmcost/predict_report.h"
#include "llmcost/roofline.h"
#include "llmcost/value.h"
#include "report_input.h"

namespace llmcost::cli {

namespace {

// Options shared by predict and compare.
struct WorkloadOpts {
  int64_t batch = 1;
  int64_t context = 4096;
  int64_t prompt = 0;
  std::string quant = "auto";
  std::string quant_policy = "default";
  std::string kv_dtype = "bf16";
  std::string routing = "uniform";
  int64_t tp = 1, ep = 1, pp = 1;
  bool dp_attention = false;
  double mem_util = kDefaultMemUtil;
  int64_t prefill_chunk = kDefaultPrefillChunkTokens;
  std::string efficiency = "derated";
  bool roofline = false;
};

void add_workload_options(CLI::App* c, WorkloadOpts& w, bool parallel_defaults_auto) {
  c->add_option("--batch", w.batch, "Sequences decoded together (default 1)")->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  c->add_option("--context", w.context, "Cached tokens per sequence at the decode step (default 4096)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  c->add_option("--prompt", w.prompt, "Prompt tokens for the prefill / time to first token (default: the context)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  c->add_option("--quant", w.quant,
                "Weight format: auto (default: as the checkpoint ships, from quantization_config / hf_quant_config.json, "
                "else the config dtype) or a what-if scheme: " + quant_scheme_names())
      ->check(CLI::Validator(
          [](std::string& v) { return parse_quant_scheme(v) ? std::string() : "unknown scheme \"" + v + "\" (one of " + quant_scheme_names() + ")"; },
          "SCHEME"));
  c->add_option("--quant-policy", w.quant_policy,
                "Tensors a what-if scheme applies to (ignored by auto): default | experts | routed | all | a comma list of "
                "attention,mlp,experts,shared,router,embedding,lm_head,other")
      ->check(CLI::Validator(
          [](std::string& v) { return parse_quant_policy(v) ? std::string() : "unknown quant policy \"" + v + "\""; }, "POLICY"));
  c->add_option("--kv-dtype", w.kv_dtype, "KV-cache dtype: bf16, fp8, int8, int4")->check(CLI::IsMember({"bf16", "fp8", "int8", "int4"}));
  c->add_option("--routing", w.routing, "MoE routing for distinct experts per step: uniform or zipf:S (S > 0)")
      ->check(CLI::Validator(
          [](std::string& v) { return parse_routing(v) ? std::string() : "must be uniform or zipf:S with S > 0, got \"" + v + "\""; },
          "ROUTING"));
  c->add_option("--mem-util", w.mem_util,
                "Share of each device's memory usable for weights, KV, activations and engine overhead, in (0, 1] "
                "(default 0.9, as vLLM's gpu_memory_utilization)")
      ->check(CLI::Validator(
          [](std::string& v) {
            double x = 0;
            try {
              size_t used = 0;
              x = std::stod(v, &used);
              if (used != v.size()) x = -1;
            } catch (const std::exception&) {
              x = -1;
            }
            return x > 0 && x <= 1 ? std::string() : "--mem-util must be a number in (0, 1], got \"" + v + "\"";
          },
          "FRACTION"));
  c->add_option("--prefill-chunk", w.prefill_chunk,
                "Tokens one forward pass takes at most (chunked prefill; sizes the activation workspace; default 8192, "
                "vLLM's max_num_batched_tokens)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  c->add_option("--efficiency", w.efficiency,
                "derated (default: the hardware YAML's efficiency block: achievable bandwidth, GEMM efficiency by M, "
                "per-step overhead) or datasheet (the pure roofline at peak figures)")
      ->check(CLI::IsMember({"derated", "datasheet"}));
  c->add_flag("--roofline", w.roofline, "Same as --efficiency datasheet");
  std::string suffix = parallel_defaults_auto ? " (default: the smallest layout that fits)" : " (default 1)";
  c->add_option("--tp", w.tp, "Tensor-parallel devices" + suffix)->check(CLI::Range(int64_t{1}, int64_t{4096}));
  c->add_option("--ep", w.ep, "Expert-parallel devices" + suffix)->check(CLI::Range(int64_t{1}, int64_t{4096}));
  c->add_option("--pp", w.pp, "Pipeline stages" + suffix)->check(CLI::Range(int64_t{1}, int64_t{4096}));
  c->add_flag("--dp-attention", w.dp_attention,
              "Data-parallel attention with --ep N: attention replicated on each of the N devices, each replica "
              "holding its own sequences' KV cache, experts split N ways (tp 1; how DeepSeek/Kimi MoE are served)");
}

CompiledModel compile(const ModelIR& ir, const WorkloadOpts& w) {
  return compile_model(ir, *parse_quant_scheme(w.quant), *parse_quant_policy(w.quant_policy), *parse_kv_dtype(w.kv_dtype),
                       *parse_routing(w.routing));
}

PredictRequest request(const WorkloadOpts& w) {
  PredictRequest r;
  r.batch = w.batch;
  r.context = w.context;
  r.prompt_tokens = w.prompt;
  if (w.dp_attention && w.ep < 2) throw Error("--dp-attention needs --ep N with N > 1 (the devices attention is replicated over)", ErrorKind::Usage);
  if (w.dp_attention && w.tp != 1)
    throw Error("--dp-attention replicates attention on every one of the --ep devices (tp 1): leave out --tp " + std::to_string(w.tp),
                ErrorKind::Usage);
  r.parallel = ParallelConfig{w.tp, w.ep, w.pp};
  r.memory_fraction = w.mem_util;
  r.prefill_chunk_tokens = w.prefill_chunk;
  r.efficiency = w.roofline ? EfficiencyMode::Datasheet : *parse_efficiency_mode(w.efficiency);
  return r;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

void register_predict(CLI::App& app, Context& ctx) {
  // ---- hw
  auto ho = std::make_shared<std::string>("table");
  auto* h = app.add_subcommand("hw", "List the hardware specs (configs/hardware/*.yaml) with their sources");
  add_format_option(h, *ho, {"table", "json"}, "Output format");
  h->callback([&ctx, ho] {
    ctx.run = [&ctx, ho] {
      auto all = list_hardware(ctx.configs());
      if (all.empty()) throw Error(ctx.configs() + "/hardware: no hardware specs found", ErrorKind::BadConfig);
      emit(*ho == "json" ? hw_json(all) : hw_table(all));
      return 0;
    };
  });

  // ---- predict
  struct PredictOpts {
    std::string model, hw, profile, format = "table", output;
    WorkloadOpts w;
    int64_t spec_tokens = 0;
    double spec_acceptance = 0;
  };
  auto po = std::make_shared<PredictOpts>();
  auto* p = app.add_subcommand("predict",
                               "Roofline prediction on a device: decode step and tokens/s, prefill (TTFT), memory per device "
                               "vs capacity and max batch, MoE experts per step, parallel communication");
  p->add_option("model", po->model, "config.json path, a directory with one, our YAML, or a bundled model")->required();
  p->add_option("--hw", po->hw, "Hardware: a bundled name (see `llmcost hw`) or a hardware YAML path")->required();
  p->add_option("--profile", po->profile, "Efficiency profile of the hardware YAML (`profiles:`, written by calibrate --from)");
  add_workload_options(p, po->w, false);
  auto* spec_n = p->add_option("--spec-tokens", po->spec_tokens,
                               "Speculative decoding / MTP: draft tokens proposed per step (needs --spec-acceptance)")
                     ->check(CLI::Range(int64_t{1}, int64_t{64}));
  auto* spec_a = p->add_option("--spec-acceptance", po->spec_acceptance,
                               "Speculative decoding: probability that each draft token is accepted, in [0, 1] (an assumption)")
                     ->check(CLI::Validator(
                         [](std::string& text) -> std::string {
                           double v = std::strtod(text.c_str(), nullptr);
                           return v >= 0 && v <= 1 ? "" : "must be a probability in [0, 1], got " + text;
                         },
                         "A in [0, 1]"));
  add_format_option(p, po->format, {"table", "json"}, "Output format");
  p->add_option("-o,--output", po->output, "Write to this file instead of stdout");
  p->callback([&ctx, po, spec_n, spec_a] {
    if (spec_a->count() > 0 && spec_n->count() == 0)
      throw CLI::ValidationError("--spec-acceptance", "needs --spec-tokens N (the draft tokens per step)");
    if (spec_n->count() > 0 && spec_a->count() == 0)
      throw CLI::ValidationError("--spec-tokens", "needs --spec-acceptance A (the per-token acceptance probability, 0..1)");
    ctx.run = [&ctx, po] {
      HardwareSpec hw = apply_profile(load_hardware(po->hw, ctx.configs()), po->profile);
      if (!hw.resolved_note.empty()) std::cerr << "note: " << hw.resolved_note << "\n";
      ModelIR ir = load_named_model(ctx, po->model);
      CompiledModel m = compile(ir, po->w);
      PredictRequest req = request(po->w);
      req.spec_tokens = po->spec_tokens;
      req.spec_acceptance = po->spec_acceptance;
      Prediction pr = predict_or_why(m, hw, req, true);
      // The largest batch and context per device count, up to the asked layout's devices (at least 16: tp 8 x pp 2).
      std::vector<DeviceCountFit> fits;
      PredictRequest plain = req;  // the fits are the decode step's, without speculation
      plain.spec_tokens = 0;
      if (pr.has_figures) fits = fit_by_device_count(m, hw, plain, std::max<int64_t>(16, pr.layout.devices));
      emit(po->format == "json" ? predict_json(pr, fits) : predict_table(pr, fits), po->output);
      if (pr.runnable) return 0;
      // Not runnable: the document says why; the one error line and exit 1 say so to scripts.
      std::cerr << format_error(Error("not runnable: " + pr.reason));
      return 1;
    };
  });

  // ---- plan
  struct PlanOpts {
    std::string scenario, format = "table", output;
  };
  auto lo = std::make_shared<PlanOpts>();
  auto* l = app.add_subcommand("plan",
                               "Capacity planning for a scenario (models x hardware x quantization x workload): devices needed, "
                               "max concurrency, throughput, latency, cost per million tokens");
  l->add_option("scenario", lo->scenario, "Scenario YAML path, or a name in configs/scenarios (default, chat-sizing, bundled)")
      ->required();
  add_format_option(l, lo->format, {"table", "json", "csv", "markdown"}, "Output format");
  l->add_option("-o,--output", lo->output, "Write to this file instead of stdout");
  l->callback([&ctx, lo] {
    ctx.run = [&ctx, lo] {
      PlanResult r = run_plan(load_scenario(lo->scenario, ctx.configs()), ctx.configs());
      std::string text = lo->format == "json" ? plan_json(r)
                         : lo->format == "csv" ? plan_csv(r)
                         : lo->format == "markdown" ? plan_markdown(r)
                                                    : plan_table(r);
      emit(text, lo->output);
      return 0;
    };
  });

  // ---- compare
  struct CompareOpts {
    std::string model, hw, format = "table", output;
    int64_t max_devices = 8;
    WorkloadOpts w;
  };
  auto co = std::make_shared<CompareOpts>();
  auto* c = app.add_subcommand("compare", "Hardware sizing: one model and workload on several devices side by side");
  c->add_option("model", co->model, "config.json path, a directory with one, our YAML, or a bundled model")->required();
  c->add_option("--hw", co->hw, "Comma list of hardware names or YAML paths (default: every bundled spec)");
  add_workload_options(c, co->w, true);
  c->add_option("--max-devices", co->max_devices, "Largest layout tried when choosing one (default 8)")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  add_format_option(c, co->format, {"table", "json", "csv", "markdown", "html"}, "Output format (html: the sizing page with SVG charts)");
  c->add_option("-o,--output", co->output, "Write to this file instead of stdout");
  c->callback([&ctx, co, c] {
    bool fixed_layout = c->count("--tp") + c->count("--ep") + c->count("--pp") > 0;
    ctx.run = [&ctx, co, fixed_layout] {
      std::vector<HardwareSpec> hws;
      if (co->hw.empty()) {
        hws = list_hardware(ctx.configs());
      } else {
        for (const auto& name : split_commas(co->hw)) {
          hws.push_back(load_hardware(name, ctx.configs()));
          if (!hws.back().resolved_note.empty()) std::cerr << "note: " << hws.back().resolved_note << "\n";
        }
      }
      if (hws.empty()) throw Error("--hw: no hardware given");
      ModelIR ir = load_named_model(ctx, co->model);
      CompiledModel m = compile(ir, co->w);
      CompareResult r = run_compare(m, hws, request(co->w), !fixed_layout, co->max_devices);
      std::string text = co->format == "html" ? compare_page_html(ir, m, r, request(co->w), "llmcost compare " + co->model)
                         : co->format == "json" ? compare_json(r)
                         : co->format == "csv" ? compare_csv(r)
                         : co->format == "markdown" ? compare_markdown(r)
                                                    : compare_table(r);
      emit(text, co->output);
      return 0;
    };
  });
}

}  // namespace llmcost::cli
