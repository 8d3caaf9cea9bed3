// Published serving measurements -> predictions, ratios and per-class error summaries.
#include "llmcost/published.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "llmcost/error.h"
#include "llmcost/kv_cache.h"
#include "llmcost/model_loader.h"
#include "llmcost/quant.h"
#include "llmcost/roofline.h"

namespace llmcost {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_tabs(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t t = s.find('\t', start);
    out.push_back(s.substr(start, t == std::string::npos ? std::string::npos : t - start));
    if (t == std::string::npos) break;
    start = t + 1;
  }
  return out;
}

const char* kColumns[] = {"model",      "precision",  "kv_dtype",    "gpu",    "count", "parallelism", "engine",
                          "input_len",  "output_len", "concurrency", "metric", "value", "role",        "source"};
const char* kMetrics[] = {"ttft_s", "tpot_s", "e2e_latency_s", "throughput_tokens_per_s", "decode_tokens_per_s_per_user"};

void load_file(const std::string& file, std::vector<PublishedCase>& out) {
  std::ifstream in(file);
  if (!in) throw Error(file + ": cannot read file", ErrorKind::BadInput);
  std::string line;
  std::vector<std::string> header;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    auto cells = split_tabs(line);
    if (header.empty()) {
      header = cells;
      for (const char* c : kColumns)
        if (std::find(header.begin(), header.end(), c) == header.end())
          throw Error(file + ":" + std::to_string(n) + ": header lacks the column \"" + c + "\"", ErrorKind::BadInput);
      continue;
    }
    auto where = [&](const std::string& col) { return file + ":" + std::to_string(n) + ": column " + col; };
    if (cells.size() != header.size())
      throw Error(file + ":" + std::to_string(n) + ": " + std::to_string(cells.size()) + " tab-separated cells, expected " +
                      std::to_string(header.size()) + " (as the header)",
                  ErrorKind::BadInput);
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size(); ++i) row[header[i]] = cells[i];
    auto integer = [&](const std::string& col, int64_t min) {
      const std::string& v = row[col];
      size_t used = 0;
      long long x = 0;
      try {
        x = std::stoll(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != v.size() || x < min)
        throw Error(where(col) + ": expected a whole number >= " + std::to_string(min) + ", got \"" + v + "\"", ErrorKind::BadInput);
      return static_cast<int64_t>(x);
    };
    PublishedCase c;
    c.file = file;
    c.line = n;
    c.model = row["model"];
    c.precision = row["precision"];
    c.kv_dtype = row["kv_dtype"];
    c.gpu = row["gpu"];
    c.engine = row["engine"];
    c.metric = row["metric"];
    c.role = row["role"];
    c.source = row["source"];
    if (!parse_quant_scheme(c.precision)) throw Error(where("precision") + ": unknown scheme \"" + c.precision + "\"", ErrorKind::BadInput);
    if (!parse_kv_dtype(c.kv_dtype)) throw Error(where("kv_dtype") + ": unknown KV dtype \"" + c.kv_dtype + "\"", ErrorKind::BadInput);
    c.count = integer("count", 1);
    c.input_len = integer("input_len", 1);
    c.output_len = integer("output_len", 1);
    c.concurrency = row["concurrency"] == "max" ? 0 : integer("concurrency", 1);
    // parallelism: tpN, epN, ppN joined by '/' or ','; count must be their product's devices.
    {
      std::string p = row["parallelism"];
      std::replace(p.begin(), p.end(), ',', '/');
      std::stringstream ss(p);
      std::string part;
      while (std::getline(ss, part, '/')) {
        if (part.size() < 3) throw Error(where("parallelism") + ": expected tpN[/epN][/ppN], got \"" + row["parallelism"] + "\"", ErrorKind::BadInput);
        std::string k = part.substr(0, 2);
        int64_t v = 0;
        try {
          v = std::stoll(part.substr(2));
        } catch (const std::exception&) {
          v = 0;
        }
        if (v < 1 || (k != "tp" && k != "ep" && k != "pp"))
          throw Error(where("parallelism") + ": expected tpN[/epN][/ppN], got \"" + row["parallelism"] + "\"", ErrorKind::BadInput);
        (k == "tp" ? c.tp : k == "ep" ? c.ep : c.pp) = v;
      }
      if (std::max(c.tp, c.ep) * c.pp != c.count)
        throw Error(where("count") + ": " + std::to_string(c.count) + " devices, but the parallelism forms " +
                        std::to_string(std::max(c.tp, c.ep) * c.pp),
                    ErrorKind::BadInput);
    }
    if (std::find(std::begin(kMetrics), std::end(kMetrics), c.metric) == std::end(kMetrics))
      throw Error(where("metric") + ": unknown metric \"" + c.metric +
                      "\" (ttft_s, tpot_s, e2e_latency_s, throughput_tokens_per_s, decode_tokens_per_s_per_user)",
                  ErrorKind::BadInput);
    {
      size_t used = 0;
      try {
        c.value = std::stod(row["value"], &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != row["value"].size() || !(c.value > 0) || !std::isfinite(c.value))
        throw Error(where("value") + ": expected a positive number, got \"" + row["value"] + "\"", ErrorKind::BadInput);
    }
    if (c.role != "fit" && c.role != "holdout") throw Error(where("role") + ": expected fit or holdout, got \"" + c.role + "\"", ErrorKind::BadInput);
    if (c.source.find("http") == std::string::npos)
      throw Error(where("source") + ": expected the URL (and date, table) the value was copied from", ErrorKind::BadInput);
    out.push_back(std::move(c));
  }
  if (header.empty()) throw Error(file + ": no header line", ErrorKind::BadInput);
}

}  // namespace

std::vector<PublishedCase> load_published(const std::string& path) {
  std::vector<PublishedCase> out;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(path, ec))
      if (e.path().extension() == ".tsv") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    if (files.empty()) throw Error(path + ": no *.tsv files", ErrorKind::BadInput);
    for (const auto& f : files) load_file(f, out);
  } else {
    load_file(path, out);
  }
  return out;
}

std::string published_class(const PublishedCase& c) {
  if (c.metric == "ttft_s") return "ttft";
  if (c.concurrency == 0 || c.concurrency >= 64 || c.metric == "throughput_tokens_per_s") return "throughput";
  return "decode";
}

PublishedResult predict_published(const PublishedCase& c, const std::string& config_dir, EfficiencyMode mode) {
  try {
    HardwareSpec hw = load_hardware(c.gpu, config_dir);
    ModelIR ir = load_model(c.model, config_dir);
    CompiledModel m = compile_model(ir, *parse_quant_scheme(c.precision), QuantPolicy{}, *parse_kv_dtype(c.kv_dtype), RoutingModel{});
    return predict_published(c, m, hw, mode);
  } catch (const Error& e) {
    PublishedResult r;
    r.c = c;
    r.why = e.what();
    return r;
  }
}

PublishedResult predict_published(const PublishedCase& c, const CompiledModel& m, const HardwareSpec& hw, EfficiencyMode mode) {
  PublishedResult r;
  r.c = c;
  try {
    PredictRequest req;
    req.parallel = ParallelConfig{c.tp, c.ep, c.pp};
    req.efficiency = mode;
    req.prompt_tokens = c.input_len;
    // Sequences in flight: what was asked, capped by what fits with every sequence at full length.
    req.context = c.input_len + c.output_len;
    req.batch = 1;
    Prediction fit = predict(m, hw, req, false);
    if (fit.memory.max_batch < 1) {
      r.why = "does not fit: " + fit.reason;
      return r;
    }
    const int64_t want = c.concurrency == 0 ? fit.memory.max_batch : c.concurrency;
    const int64_t B = c.metric == "ttft_s" ? 1 : std::min(want, fit.memory.max_batch);
    r.batch = B;
    req.batch = B;
    req.prefill_batch = B;
    req.context = c.input_len + c.output_len / 2;  // the mean cached length over the output
    Prediction p = predict(m, hw, req, false);
    r.basis = p.efficiency.label;
    const double request_s = batch_lifetime_s(p, c.output_len);  // the batch's prompts, then its steps
    if (c.metric == "ttft_s")
      r.predicted = p.prefill.time_s;
    else if (c.metric == "tpot_s")
      r.predicted = p.decode.time_s;
    else if (c.metric == "decode_tokens_per_s_per_user")
      r.predicted = 1.0 / p.decode.time_s;
    else if (c.metric == "e2e_latency_s")
      r.predicted = request_s;
    else  // throughput_tokens_per_s: output tokens of the batch per batch lifetime
      r.predicted = static_cast<double>(B) * static_cast<double>(c.output_len) / request_s;
    r.ratio = r.predicted / c.value;
    r.ok = true;
  } catch (const Error& e) {
    r.why = e.what();
  }
  return r;
}

std::vector<ClassSummary> summarize_published(const std::vector<PublishedResult>& rs) {
  std::vector<ClassSummary> out;
  for (const char* cls : {"decode", "ttft", "throughput"}) {
    for (const char* role : {"all", "fit", "holdout"}) {
      std::vector<double> errs;
      ClassSummary s;
      s.cls = cls;
      s.role = role;
      for (const auto& r : rs) {
        if (!r.ok || published_class(r.c) != cls || (std::string(role) != "all" && r.c.role != role)) continue;
        errs.push_back(std::fabs(r.ratio - 1.0));
        if (std::fabs(std::log(r.ratio)) > std::fabs(std::log(s.worst_ratio))) s.worst_ratio = r.ratio;
      }
      if (errs.empty()) continue;
      std::sort(errs.begin(), errs.end());
      size_t n = errs.size();
      s.n = static_cast<int>(n);
      s.median_abs_error = n % 2 ? errs[n / 2] : 0.5 * (errs[n / 2 - 1] + errs[n / 2]);
      out.push_back(s);
    }
  }
  return out;
}

}  // namespace llmcost
