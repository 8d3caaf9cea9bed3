// Result files of serving-benchmark clients -> MeasuredRun -> PublishedCase rows. Each format's
// field names are those its tool writes (docs/MEASURED.md names the source file and commit read).
#include "llmcost/measured.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "llmcost/error.h"
#include "llmcost/input_file.h"
#include "llmcost/kv_cache.h"
#include "llmcost/quant.h"
#include "llmcost/value.h"

namespace llmcost {

namespace {

// One JSON object of a result file, with the path of fields for messages.
struct Obj {
  const Value& v;
  std::string where;  // "results.json" or "results.jsonl#3"

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(where + ": " + field + ": " + what, ErrorKind::BadInput);
  }
  // Walks "a.b.c"; nullptr when a step is absent or null.
  const Value* at(const std::string& path) const {
    const Value* cur = &v;
    std::stringstream ss(path);
    std::string step;
    while (std::getline(ss, step, '.')) {
      if (!cur->is_object()) return nullptr;
      cur = cur->find(step);
      if (!cur || cur->is_null()) return nullptr;
    }
    return cur;
  }
  bool has(const std::string& path) const { return at(path) != nullptr; }
  std::optional<double> opt_num(const std::string& path, const std::string& unit) const {
    const Value* x = at(path);
    if (!x) return std::nullopt;
    if (!x->is_number())
      fail(path, "expected a number (" + unit + "), got " +
                     (x->is_string() ? "the string \"" + escape(x->as_string()) + "\"" : std::string("a ") + Value::type_name(x->type())));
    double d = x->as_double();
    if (!std::isfinite(d) || d < 0) fail(path, "expected a finite number >= 0 (" + unit + ")");
    return d;
  }
  double num(const std::string& path, const std::string& unit) const {
    auto d = opt_num(path, unit);
    if (!d) fail(path, "missing; expected a number (" + unit + ")");
    return *d;
  }
  double positive(const std::string& path, const std::string& unit) const {
    double d = num(path, unit);
    if (!(d > 0)) fail(path, "expected a number > 0 (" + unit + "), got 0");
    return d;
  }
  std::optional<std::string> opt_str(const std::string& path) const {
    const Value* x = at(path);
    if (!x) return std::nullopt;
    if (!x->is_string()) fail(path, std::string("expected a string, got a ") + Value::type_name(x->type()));
    return x->as_string();
  }
  // A whole number that --metadata-style files may store as a string ("tp=2" -> "2").
  std::optional<int64_t> opt_count(const std::string& path) const {
    const Value* x = at(path);
    if (!x) return std::nullopt;
    double d = 0;
    if (x->is_number()) {
      d = x->as_double();
    } else if (x->is_string()) {
      size_t used = 0;
      try {
        d = std::stod(x->as_string(), &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != x->as_string().size()) fail(path, "expected a whole number, got \"" + escape(x->as_string()) + "\"");
    } else {
      fail(path, std::string("expected a whole number, got a ") + Value::type_name(x->type()));
    }
    if (d < 1 || d != std::floor(d) || d > 1e9) fail(path, "expected a whole number >= 1");
    return static_cast<int64_t>(d);
  }
  static std::string escape(const std::string& s) { return s.size() > 60 ? s.substr(0, 60) + "..." : s; }
};

// A mean length or count as a whole number >= 1; past 2^30 it names the field (no run has a
// billion-token request or a billion requests in flight, and llround would overflow further on).
int64_t round_tokens(const Obj& o, const std::string& field, double x) {
  if (!(x <= double(int64_t{1} << 30))) o.fail(field, "implies " + std::to_string(x) + ", expected at most 2^30");
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(x)));
}

// The model / hardware / layout fields every format shares: from the file where it gives them,
// else from the command line; the hardware and the model must come from one or the other.
void fill_common(MeasuredRun& r, const Obj& o, const MeasuredDefaults& d, const std::optional<std::string>& file_model,
                 const char* model_field) {
  if (file_model && !file_model->empty()) r.model = *file_model;
  else if (!d.model.empty()) r.model = d.model;
  else if (d.require_model_and_hw) o.fail(model_field, "missing; the file names no model, pass --model");
  auto hw = o.opt_str("hardware");
  r.hw = hw ? *hw : d.hw;
  if (r.hw.empty() && d.require_model_and_hw) o.fail("hardware", "missing; benchmark result files do not name the GPU, pass --hw");
  if (r.engine.empty()) r.engine = d.engine.empty() ? r.format : d.engine;
  if (r.precision.empty()) r.precision = d.precision;
  if (r.kv_dtype.empty()) r.kv_dtype = d.kv_dtype;
  if (!parse_quant_scheme(r.precision))
    throw Error(r.where() + ": precision \"" + r.precision + "\" is not a scheme llmcost knows; expected one of " +
                    quant_scheme_names() + " (--quant)",
                ErrorKind::BadInput);
  if (!parse_kv_dtype(r.kv_dtype))
    throw Error(r.where() + ": KV dtype \"" + r.kv_dtype + "\" is unknown; expected bf16, fp16, fp8 ... (--kv-dtype)", ErrorKind::BadInput);
  if (!r.ttft_s && !r.tpot_s && !r.throughput_tokens_per_s)
    o.fail("mean_ttft_ms", "no TTFT, time per output token or output throughput in the file; nothing to check");
}

void layout_from(MeasuredRun& r, const Obj& o, const MeasuredDefaults& d, const char* tp, const char* ep, const char* pp) {
  auto pick = [&](const char* key, const std::optional<int64_t>& flag) -> int64_t {
    if (key)
      if (auto v = o.opt_count(key)) return *v;
    return flag.value_or(1);
  };
  r.tp = pick(tp, d.tp);
  r.ep = pick(ep, d.ep);
  r.pp = pick(pp, d.pp);
}

// vLLM `vllm bench serve --save-result` and SGLang bench_serving: the same summary fields
// (completed, total_input_tokens, total_output_tokens, output_throughput, mean_ttft_ms,
// mean_tpot_ms); vLLM adds model_id / num_prompts, SGLang concurrency / mean_e2e_latency_ms.
MeasuredRun read_serve(const Obj& o, const std::string& format, const MeasuredDefaults& d) {
  MeasuredRun r;
  r.format = format;
  const double completed = o.positive("completed", "requests");
  r.input_len = round_tokens(o, "total_input_tokens", o.num("total_input_tokens", "tokens") / completed);
  r.output_len = round_tokens(o, "total_output_tokens", o.num("total_output_tokens", "tokens") / completed);
  if (auto t = o.opt_num("mean_ttft_ms", "ms"); t && *t > 0) r.ttft_s = *t / 1e3;
  if (auto t = o.opt_num("mean_tpot_ms", "ms"); t && *t > 0) r.tpot_s = *t / 1e3;
  if (auto t = o.opt_num("output_throughput", "output tokens/s"); t && *t > 0) r.throughput_tokens_per_s = *t;
  // SGLang bench_serving of late 2024 appended a shorter line per run under --output-file: medians
  // only (median_ttft_ms, median_itl_ms, median_e2e_latency_ms, with mean_e2e_latency_ms), and no
  // request_throughput (seen in datacrunch-research/h200-benchmarks sglang/outputs/*.jsonl @ c091ef5,
  // written by lmsysorg/sglang:latest of 2024-12). Those medians are read where the file has no
  // mean, and the run says so; the median inter-token latency stands for the time per output token.
  std::vector<std::string> medians;
  if (!r.ttft_s)
    if (auto t = o.opt_num("median_ttft_ms", "ms"); t && *t > 0) {
      r.ttft_s = *t / 1e3;
      medians.push_back("TTFT = median_ttft_ms");
    }
  if (!r.tpot_s)
    if (auto t = o.opt_num("median_itl_ms", "ms"); t && *t > 0) {
      r.tpot_s = *t / 1e3;
      medians.push_back("TPOT = median_itl_ms");
    }
  for (size_t i = 0; i < medians.size(); ++i) r.note += (i ? ", " : "") + medians[i];
  if (!r.note.empty()) r.note = "medians, not means (the file has no mean): " + r.note;
  // Requests in flight: the client's cap; else SGLang's measured mean (sum of latencies / duration);
  // else, Little's law, request throughput x mean request latency (request throughput: as the file
  // gives it, else completed requests / duration).
  if (auto c = o.opt_count("max_concurrency")) {
    r.concurrency = *c;
  } else if (auto m = o.opt_num("concurrency", "requests in flight"); m && *m > 0) {
    r.concurrency = round_tokens(o, "concurrency", *m);
  } else if (d.concurrency) {
    r.concurrency = *d.concurrency;
  } else {
    auto rate = o.opt_num("request_throughput", "requests/s");
    if (!rate)
      if (auto duration = o.opt_num("duration", "s"); duration && *duration > 0) rate = completed / *duration;
    auto e2e = o.opt_num(format == "sglang" ? "mean_e2e_latency_ms" : "mean_e2el_ms", "ms");
    double latency_s = e2e ? *e2e / 1e3 : (r.ttft_s.value_or(0) + (r.output_len - 1) * r.tpot_s.value_or(0));
    if (!rate || !(latency_s > 0))
      o.fail("max_concurrency", "null, and no request_throughput (or duration) with request latency to derive it from; pass --concurrency");
    r.concurrency = round_tokens(o, "request_throughput", *rate * latency_s);
  }
  layout_from(r, o, d, "tensor_parallel_size", "expert_parallel_size", "pipeline_parallel_size");
  if (format == "vllm") {
    auto backend = o.opt_str("backend");
    r.engine = d.engine.empty() ? "vllm" + (backend && *backend != "vllm" ? " (" + *backend + ")" : std::string()) : d.engine;
  } else {
    r.engine = d.engine.empty() ? "sglang" : d.engine;
  }
  fill_common(r, o, d, o.opt_str("model_id"), "model_id");
  return r;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// trtllm-bench --report_json: engine{model, version, quantization, kv_cache_dtype},
// world_info{tp_size, pp_size, ep_size}, request_info{avg_num_concurrent_requests,
// avg_input_length, avg_output_length}, performance{system_output_throughput_tok_s},
// streaming_metrics{avg_ttft_ms, avg_tpot_ms} (streaming runs only).
MeasuredRun read_trtllm(const Obj& o, const MeasuredDefaults& d) {
  MeasuredRun r;
  r.format = "trtllm-bench";
  r.input_len = round_tokens(o, "request_info.avg_input_length", o.positive("request_info.avg_input_length", "tokens"));
  r.output_len = round_tokens(o, "request_info.avg_output_length", o.positive("request_info.avg_output_length", "tokens"));
  if (auto c = o.opt_num("request_info.avg_num_concurrent_requests", "requests in flight"); c && *c > 0)
    r.concurrency = round_tokens(o, "request_info.avg_num_concurrent_requests", *c);
  else if (d.concurrency)
    r.concurrency = *d.concurrency;
  else
    o.fail("request_info.avg_num_concurrent_requests", "missing; pass --concurrency");
  if (auto t = o.opt_num("performance.system_output_throughput_tok_s", "output tokens/s"); t && *t > 0) r.throughput_tokens_per_s = *t;
  if (auto t = o.opt_num("streaming_metrics.avg_ttft_ms", "ms"); t && *t > 0) r.ttft_s = *t / 1e3;
  if (auto t = o.opt_num("streaming_metrics.avg_tpot_ms", "ms"); t && *t > 0) r.tpot_s = *t / 1e3;
  layout_from(r, o, d, "world_info.tp_size", "world_info.ep_size", "world_info.pp_size");
  auto version = o.opt_str("engine.version");
  r.engine = d.engine.empty() ? "TensorRT-LLM" + (version ? " " + *version : std::string()) : d.engine;
  // quant_algo names (FP8, NVFP4, W8A16 ...): those llmcost has a scheme of the same name for.
  if (auto q = o.opt_str("engine.quantization"); q && lower(*q) != "none") {
    if (!parse_quant_scheme(lower(*q)))
      o.fail("engine.quantization", "\"" + *q + "\" has no llmcost scheme of that name; expected one of " + quant_scheme_names());
    r.precision = lower(*q);
  }
  if (auto k = o.opt_str("engine.kv_cache_dtype"); k && lower(*k) != "none" && lower(*k) != "auto") {
    if (!parse_kv_dtype(lower(*k))) o.fail("engine.kv_cache_dtype", "\"" + *k + "\" is not a KV dtype llmcost knows (bf16, fp16, fp8 ...)");
    r.kv_dtype = lower(*k);
  }
  fill_common(r, o, d, o.opt_str("engine.model"), "engine.model");
  return r;
}

// AIPerf profile_export_aiperf.json and GenAI-Perf profile_export_genai_perf.json: each metric an
// object {unit, avg, p50, ...}; the run's settings under input_config.
MeasuredRun read_aiperf(const Obj& o, const MeasuredDefaults& d) {
  MeasuredRun r;
  r.format = "aiperf";
  auto metric = [&](const char* name, const char* unit) -> std::optional<double> {
    if (!o.has(name)) return std::nullopt;
    auto u = o.opt_str(std::string(name) + ".unit");
    if (u && *u != unit) o.fail(std::string(name) + ".unit", "expected \"" + std::string(unit) + "\", got \"" + *u + "\"");
    return o.num(std::string(name) + ".avg", unit);
  };
  auto isl = metric("input_sequence_length", "tokens");
  auto osl = metric("output_sequence_length", "tokens");
  if (!isl) o.fail("input_sequence_length.avg", "missing; expected the mean prompt length (tokens)");
  if (!osl) o.fail("output_sequence_length.avg", "missing; expected the mean output length (tokens)");
  r.input_len = round_tokens(o, "input_sequence_length.avg", *isl);
  r.output_len = round_tokens(o, "output_sequence_length.avg", *osl);
  if (auto t = metric("time_to_first_token", "ms"); t && *t > 0) r.ttft_s = *t / 1e3;
  if (auto t = metric("inter_token_latency", "ms"); t && *t > 0) r.tpot_s = *t / 1e3;
  if (auto t = metric("output_token_throughput", "tokens/sec"); t && *t > 0) r.throughput_tokens_per_s = *t;
  if (auto c = o.opt_count("input_config.loadgen.concurrency")) r.concurrency = *c;       // AIPerf
  else if (auto c2 = o.opt_count("input_config.concurrency")) r.concurrency = *c2;       // GenAI-Perf
  else if (d.concurrency) r.concurrency = *d.concurrency;
  else o.fail("input_config.loadgen.concurrency", "missing (a request-rate run); pass --concurrency");
  layout_from(r, o, d, nullptr, nullptr, nullptr);
  std::optional<std::string> model;
  for (const char* path : {"input_config.endpoint.model_names", "input_config.model"}) {
    const Value* m = o.at(path);
    if (!m) continue;
    if (!m->is_array() || m->items().empty() || !m->items()[0].is_string()) o.fail(path, "expected a list of model names");
    model = m->items()[0].as_string();
    break;
  }
  fill_common(r, o, d, model, "input_config.endpoint.model_names");
  return r;
}

// llama-bench -o json: one object per test; a pp test (n_prompt > 0, n_gen 0) gives the prompt's
// time (TTFT = n_prompt / avg_ts), a tg test (n_gen > 0, n_prompt 0) the time per token (1 / avg_ts)
// at batch 1 after n_depth cached tokens.
MeasuredRun read_llama_bench(const Obj& o, const MeasuredDefaults& d) {
  MeasuredRun r;
  r.format = "llama-bench";
  const double n_prompt = o.num("n_prompt", "tokens"), n_gen = o.num("n_gen", "tokens");
  const double ts = o.positive("avg_ts", "tokens/s");
  const double depth = o.opt_num("n_depth", "tokens").value_or(0);
  if (n_prompt > 0 && n_gen > 0)
    o.fail("n_gen", "a pp+tg test (-pg): prompt and generation time cannot be told apart; expected separate -p and -n tests");
  if (n_prompt > 0) {
    r.input_len = round_tokens(o, "n_prompt", n_prompt + depth);
    r.output_len = 1;
    r.ttft_s = n_prompt / ts;
  } else if (n_gen > 0) {
    r.input_len = round_tokens(o, "n_depth", std::max(1.0, depth));
    r.output_len = round_tokens(o, "n_gen", n_gen);
    r.tpot_s = 1.0 / ts;
  } else {
    o.fail("n_prompt", "n_prompt and n_gen are both 0; expected a pp or a tg test");
  }
  r.concurrency = 1;
  layout_from(r, o, d, nullptr, nullptr, nullptr);
  auto commit = o.opt_str("build_commit");
  r.engine = d.engine.empty() ? "llama.cpp" + (commit ? " " + *commit : std::string()) : d.engine;
  // model_filename is a path on the benchmark machine: used where it is readable here, else --model.
  std::optional<std::string> file_model = o.opt_str("model_filename");
  if (file_model && d.require_model_and_hw && !std::filesystem::exists(*file_model)) {
    if (d.model.empty()) o.fail("model_filename", "\"" + *file_model + "\" is not readable here; pass --model");
    file_model.reset();
  }
  fill_common(r, o, d, file_model, "model_filename");
  return r;
}

// Python's json module writes float('inf') and float('nan') as the bare tokens Infinity, -Infinity
// and NaN (SGLang's request_rate of an unpaced run is Infinity); they are not JSON, so outside
// strings they are read as null (no figure llmcost uses is one of them).
std::string python_json_to_json(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) out += text[++i];
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    bool replaced = false;
    for (const char* tok : {"-Infinity", "Infinity", "NaN"}) {
      const size_t n = std::char_traits<char>::length(tok);
      if (text.compare(i, n, tok) == 0) {
        out += "null";
        i += n - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += c;
  }
  return out;
}

std::string detect(const Value& v) {
  if (!v.is_object()) return "";
  if (v.find("world_info") && v.find("performance")) return "trtllm-bench";
  if (v.find("time_to_first_token") || v.find("output_token_throughput") || v.find("inter_token_latency")) return "aiperf";
  if (v.find("n_prompt") && v.find("avg_ts")) return "llama-bench";
  if (v.find("completed") && (v.find("mean_ttft_ms") || v.find("output_throughput"))) {
    if (v.find("total_output_tokens_retokenized") || v.find("mean_e2e_latency_ms") || v.find("dataset_name")) return "sglang";
    return "vllm";
  }
  return "";
}

}  // namespace

std::vector<MeasuredRun> load_measured(const std::string& path, const MeasuredDefaults& d) {
  const std::string text = python_json_to_json(read_input_file(path, kRecordInput));
  std::vector<std::pair<Value, std::string>> docs;  // (document, where)
  bool whole = true;
  Value v;
  try {
    v = parse_json(text, path, kRecordInput.max_values);
  } catch (const Error&) {
    whole = false;
  }
  if (whole) {
    if (v.is_array()) {
      for (size_t i = 0; i < v.items().size(); ++i) docs.emplace_back(v.items()[i], path + "#" + std::to_string(i + 1));
      if (docs.empty()) throw Error(path + ": an empty JSON array; expected benchmark results", ErrorKind::BadInput);
    } else {
      docs.emplace_back(v, path);
    }
  } else {
    // JSON Lines (SGLang bench_serving appends one run per line; llama-bench -o jsonl).
    std::stringstream ss(text);
    std::string line;
    int n = 0;
    while (std::getline(ss, line)) {
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      try {
        docs.emplace_back(parse_json(line, path + ":" + std::to_string(n), kRecordInput.max_values), path + "#" + std::to_string(n));
      } catch (const Error& e) {
        throw Error(path + ":" + std::to_string(n) + ": not JSON (expected one JSON object, or one per line): " + e.what(),
                    ErrorKind::BadInput);
      }
    }
    if (docs.empty()) throw Error(path + ": empty; expected benchmark results (JSON or JSON Lines)", ErrorKind::BadInput);
  }
  std::vector<MeasuredRun> out;
  int index = 0;
  for (const auto& [doc, where] : docs) {
    ++index;
    Obj o{doc, where};
    const std::string format = detect(doc);
    if (format.empty())
      throw Error(where + ": unknown result format; expected vLLM `bench serve --save-result` JSON (completed, mean_ttft_ms), "
                          "SGLang bench_serving JSONL, trtllm-bench --report_json (world_info, performance), AIPerf/GenAI-Perf "
                          "profile export (time_to_first_token.avg) or llama-bench -o json (n_prompt, avg_ts)",
                  ErrorKind::BadInput);
    MeasuredRun r = format == "trtllm-bench" ? read_trtllm(o, d)
                    : format == "aiperf"     ? read_aiperf(o, d)
                    : format == "llama-bench" ? read_llama_bench(o, d)
                                              : read_serve(o, format, d);
    r.file = path;
    r.index = docs.size() > 1 ? index : 0;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<PublishedCase> measured_cases(const MeasuredRun& r, const std::string& role) {
  std::vector<PublishedCase> out;
  auto add = [&](const char* metric, const std::optional<double>& v) {
    if (!v) return;
    PublishedCase c;
    c.file = r.where();
    c.line = 0;
    c.model = r.model;
    c.precision = r.precision;
    c.kv_dtype = r.kv_dtype;
    c.gpu = r.hw;
    c.tp = r.tp;
    c.ep = r.ep;
    c.pp = r.pp;
    c.count = std::max(r.tp, r.ep) * r.pp;
    c.engine = r.engine;
    c.input_len = r.input_len;
    c.output_len = r.output_len;
    c.concurrency = r.concurrency;
    c.metric = metric;
    c.value = *v;
    c.role = role;
    c.source = r.format + " result file " + r.where();
    out.push_back(std::move(c));
  };
  add("ttft_s", r.ttft_s);
  add("tpot_s", r.tpot_s);
  add("throughput_tokens_per_s", r.throughput_tokens_per_s);
  return out;
}

std::string measured_format(const Value& doc) {
  if (doc.is_array()) return doc.items().empty() ? "" : detect(doc.items()[0]);
  return detect(doc);
}

std::vector<MetricSummary> summarize_by_metric(const std::vector<PublishedResult>& rs) {
  std::vector<MetricSummary> out;
  for (const char* m : {"ttft_s", "tpot_s", "throughput_tokens_per_s", "all"}) {
    MetricSummary s;
    s.metric = m;
    std::vector<double> errs;
    for (const auto& r : rs) {
      if (s.metric != "all" && r.c.metric != s.metric) continue;
      if (!r.ok) {
        ++s.not_predicted;
        continue;
      }
      errs.push_back(std::fabs(r.ratio - 1.0));
      if (std::fabs(std::log(r.ratio)) > std::fabs(std::log(s.worst_ratio))) s.worst_ratio = r.ratio;
    }
    if (errs.empty() && s.not_predicted == 0) continue;
    std::sort(errs.begin(), errs.end());
    const size_t n = errs.size();
    s.n = static_cast<int>(n);
    if (n) s.median_abs_error = n % 2 ? errs[n / 2] : 0.5 * (errs[n / 2 - 1] + errs[n / 2]);
    out.push_back(s);
  }
  return out;
}

}  // namespace llmcost
