// `llmcost run`'s measurement loop: slice, prepare, prefill and decode under the range profiler,
// then each IR op's measured median beside its calibrated roofline prediction.
#include "llmcost/run.h"

#include <algorithm>
#include <map>

#include "llmcost/calibrate.h"
#include "llmcost/cost_model.h"
#include "llmcost/memory.h"
#include "llmcost/params.h"
#include "llmcost/roofline.h"
#include "llmcost/value.h"
#include "strf.h"

namespace llmcost {

RunCalibration calibration_from_hardware(const HardwareSpec& hw, WeightDtype dt) {
  EffectiveRates r = effective_rates(hw);
  RunCalibration c;
  c.read_bw_bytes_per_s = r.mem_bw_bytes_per_s;
  const ComputeDtype cd = dt == WeightDtype::BF16 ? ComputeDtype::BF16 : ComputeDtype::FP32;
  c.gemm_flops_per_s = r.flops_per_s[static_cast<int>(cd)];
  if (c.gemm_flops_per_s <= 0) c.gemm_flops_per_s = r.flops_per_s[static_cast<int>(ComputeDtype::FP32)];
  if (c.read_bw_bytes_per_s <= 0 || c.gemm_flops_per_s <= 0)
    throw Error(hw.source_file + ": expected a memory bandwidth and a " + compute_dtype_name(cd) +
                " (or fp32) FLOP/s figure for the prediction");
  c.source = hw.source_file + (r.bw_calibrated ? " (calibrated)" : " (datasheet figures, not calibrated)");
  return c;
}

RunCalibration calibrate_in_process(const RunOptions& o, const std::function<void(const std::string&)>& progress) {
  return make_backend(o.backend)->calibrate(o.threads, o.weight_dtype, progress);
}

namespace {

// One op's predicted time: its matmuls at the calibrated rate for their row count M (rows through
// each weight: the step's tokens, or a routed expert's share of them, = matmul FLOPs x weight bytes
// per parameter / (2 x weight bytes)), its core attention at the largest calibrated rate, against
// its bytes at the read bandwidth: the larger of the two.
RooflineTime predict_op(const OpCost& c, const RunCalibration& cal, double bytes_per_weight) {
  double compute_s = 0;
  if (c.matmul_flops > 0 && c.weight_bytes > 0) {
    const double rows = c.matmul_flops * bytes_per_weight / (2.0 * c.weight_bytes);
    compute_s += c.matmul_flops / gemm_rate_at(cal, rows);
  } else {
    compute_s += c.matmul_flops / cal.gemm_flops_per_s;
  }
  double peak = cal.gemm_flops_per_s;
  for (const auto& [m, rate] : cal.gemm_rate_by_rows) peak = std::max(peak, rate);
  compute_s += (c.flops - c.matmul_flops) / peak;
  const double memory_s = c.bytes() / cal.read_bw_bytes_per_s;
  RooflineTime t;
  t.time_s = std::max(compute_s, memory_s);
  t.compute_bound = compute_s > memory_s;
  return t;
}

// error = (predicted - measured) / measured, in percent, once the op has a measured median.
void set_error(OpRow& r) {
  if (r.measured_s.median > 0) r.error_pct = (r.predicted_s - r.measured_s.median) / r.measured_s.median * 100.0;
}

// The rows' predictions (index-aligned with sc.ops) with `cal`; their sum into total_s. Called when
// the rows are made, and again when the run's own samples change the calibration.
void reprice(std::vector<OpRow>& rows, const StepCost& sc, const RunCalibration& cal, double bytes_per_weight, double* total_s) {
  *total_s = 0;
  for (size_t i = 0; i < rows.size() && i < sc.ops.size(); ++i) {
    RooflineTime t = predict_op(sc.ops[i], cal, bytes_per_weight);
    rows[i].predicted_s = t.time_s;
    rows[i].predicted_compute_bound = t.compute_bound;
    set_error(rows[i]);
    *total_s += t.time_s;
  }
}

std::vector<OpRow> predicted_rows(const StepCost& sc, const RunCalibration& cal, double bytes_per_weight, double* total_s) {
  std::vector<OpRow> rows;
  for (const OpCost& c : sc.ops) {
    OpRow r;
    r.name = c.name;
    r.kind = c.kind;
    r.layer = c.layer;
    r.predicted_distinct_experts = c.distinct_experts;
    r.predicted_bytes = c.bytes();
    rows.push_back(std::move(r));
  }
  reprice(rows, sc, cal, bytes_per_weight, total_s);
  return rows;
}

// Per op name: measured stats from the profiler, executed bytes/FLOPs averaged over steps.
void fill_measured(std::vector<OpRow>& rows, const std::vector<RangeRecord>& recs,
                   const std::map<std::string, std::pair<double, double>>& work_sum,
                   const std::map<std::string, double>& distinct_sum, double steps) {
  std::map<std::string, RangeSummary> by;
  for (auto& s : summarize_ranges(recs, "op")) by[s.name] = s;
  for (OpRow& r : rows) {
    auto it = by.find(r.name);
    if (it == by.end()) continue;
    r.measured_s = it->second.duration_s;
    auto w = work_sum.find(r.name);
    if (w != work_sum.end()) {
      r.bytes = w->second.first / steps;
      r.flops = w->second.second / steps;
    }
    auto d = distinct_sum.find(r.name);
    if (d != distinct_sum.end()) r.distinct_experts = d->second / steps;
    if (r.measured_s.median > 0) r.achieved_bw_bytes_per_s = r.bytes / r.measured_s.median;
    set_error(r);
  }
}

void accumulate(const StepWork& w, std::map<std::string, std::pair<double, double>>& work_sum,
                std::map<std::string, double>& distinct_sum) {
  for (const OpWork& o : w.ops) {
    auto& s = work_sum[o.name];
    s.first += o.weight_bytes + o.kv_bytes;
    s.second += o.flops;
    if (o.kind == OpKind::RoutedExperts) distinct_sum[o.name] += static_cast<double>(o.distinct_experts);
  }
}

// The counter pass: one more decode step, replayed under the backend's counter profiler until its
// op records carry DRAM bytes (replay_counter_step), per op the mean over the records that carry
// them (dram_by_op), the step's totals summed over the ops.
void counter_pass(Backend& be, const RunOptions& o, const std::function<std::vector<int32_t>(int64_t, int64_t)>& tokens_for,
                  RunResult& res) {
  if (o.counters == CounterMode::Off) {
    res.counters_unavailable = "counter pass off (--counters off)";
    return;
  }
  std::string why;
  std::unique_ptr<Profiler> cp = o.counters == CounterMode::Fake ? make_fake_counter_profiler() : be.make_counter_profiler(&why);
  if (!cp) {
    res.counters_unavailable = why.empty() ? be.name() + " has no hardware counters" : why;
    if (o.progress) o.progress("DRAM counters not measured: " + res.counters_unavailable);
    return;
  }
  res.counter_passes = replay_counter_step(*cp, [&](int pass) {
    if (o.progress) o.progress(strf("counter pass: decode step replay %d (%s)", pass, cp->backend()));
    be.decode(tokens_for(o.warmup + o.tokens + pass, o.batch), nullptr, cp.get());
  });
  const std::map<std::string, DramCounts> by_op = dram_by_op(cp->records());
  if (by_op.empty()) {
    res.counters_unavailable =
        strf("%s counters gave no DRAM bytes after %d replays of the decode step", cp->backend(), res.counter_passes);
    return;
  }
  res.counter_source = cp->backend();
  res.dram_read_bytes = res.dram_write_bytes = 0;
  for (OpRow& row : res.ops) {
    auto it = by_op.find(row.name);
    if (it == by_op.end()) continue;
    row.dram_read_bytes = it->second.read_bytes;
    row.dram_write_bytes = it->second.write_bytes;
    res.dram_read_bytes += row.dram_read_bytes;
    res.dram_write_bytes += row.dram_write_bytes;
  }
}

void check_cuda_graph(const RunOptions& o) {
  if (o.cuda_graph && o.backend != "cuda")
    throw Error("--cuda-graph: applies to the cuda backend only, got --backend " + o.backend, ErrorKind::Usage);
}

}  // namespace

namespace {
bool has_dram_counts(const RangeRecord& r) { return r.category == "op" && r.dram_read_bytes >= 0; }
}  // namespace

int replay_counter_step(Profiler& counters, const std::function<void(int pass)>& step) {
  int pass = 0;
  for (std::vector<RangeRecord> recs; pass < kMaxCounterPasses && std::none_of(recs.begin(), recs.end(), has_dram_counts);
       recs = counters.records()) {
    ++pass;
    counters.push("counter_step", "step");
    step(pass);
    counters.pop();
  }
  return pass;
}

std::map<std::string, DramCounts> dram_by_op(const std::vector<RangeRecord>& recs) {
  std::map<std::string, DramCounts> out;
  for (const RangeRecord& r : recs) {
    if (!has_dram_counts(r)) continue;
    DramCounts& c = out[r.name];
    c.read_bytes += r.dram_read_bytes;
    c.write_bytes += std::max(0.0, r.dram_write_bytes);
    ++c.records;
  }
  for (auto& [name, c] : out) {
    c.read_bytes /= c.records;
    c.write_bytes /= c.records;
  }
  return out;
}

ModelIR run_slice(const ModelIR& ir, const RunOptions& o) {
  std::vector<int> layers;
  if (o.layers.empty())
    for (const Layer& L : ir.layers) layers.push_back(L.index);
  else
    layers = select_layers(ir, o.layers);
  return slice_model(ir, layers);
}

BackendOptions run_backend_options(const RunOptions& o) {
  BackendOptions bo;
  bo.weight_dtype = o.weight_dtype;
  bo.seed = o.seed;
  bo.threads = o.threads;
  bo.routing = o.routing;
  bo.weights_path = o.weights_path;
  bo.max_batch = o.batch;
  bo.max_context = std::max(o.context + o.warmup + o.tokens, o.prompt) + 1;
  bo.max_step_tokens = std::max(o.batch, o.batch * o.prompt);
  bo.cuda_graph = o.cuda_graph.value_or(false);
  return bo;
}

void check_run_fits(const ModelIR& ir, const RunOptions& o) {
  check_cuda_graph(o);
  const ModelIR slice = run_slice(ir, o);
  check_slice_fits(slice, predict_slice_memory(slice, run_backend_options(o)), make_backend(o.backend)->free_memory());
}

RunResult run_measurement(const ModelIR& ir, const RunOptions& o, const RunCalibration& cal) {
  if (o.batch < 1 || o.context < 1 || o.tokens < 1 || o.warmup < 0 || o.prompt < 0 || o.prefill_reps < 1)
    throw Error(strf("run: expected --batch >= 1, --context >= 1, --tokens >= 1, --prompt >= 0; got %lld, %lld, %lld, %lld",
                     (long long)o.batch, (long long)o.context, (long long)o.tokens, (long long)o.prompt));
  check_cuda_graph(o);
  auto say = [&](const std::string& s) {
    if (o.progress) o.progress(s);
  };
  RunResult res;
  res.model = ir.name;
  const ModelIR slice = run_slice(ir, o);
  std::vector<int> layers;
  for (const Layer& L : slice.layers) layers.push_back(L.index);
  res.layers = layers;
  res.params = count_params(slice).total;
  QuantPolicy all;
  all.router = all.embedding = all.lm_head = all.other = true;
  const QuantScheme scheme = o.weight_dtype == WeightDtype::BF16 ? QuantScheme::BF16 : QuantScheme::FP32;
  res.weight_bytes = weight_bytes(slice, scheme, all);
  res.calibration = cal;
  res.batch = o.batch;
  res.context = o.context;
  res.prompt = o.prompt;
  res.tokens = o.tokens;
  res.routing = routing_override_name(o.routing);
  res.weight_dtype = weight_dtype_name(o.weight_dtype);
  res.cuda_graph = o.cuda_graph;

  // Predictions. The router's real choices are predicted as uniform routing (an upper bound on
  // distinct experts); zipf:S as the cost model's Zipf; fixed as exactly top_k experts.
  RoutingModel rm;
  if (o.routing.kind == RoutingOverride::Zipf) {
    rm.kind = RoutingModel::Zipf;
    rm.zipf_s = o.routing.zipf_s;
  }
  CostModel cm(slice, scheme, all, KvDtype::BF16);
  StepCost dec = cm.decode(o.batch, o.context, rm);
  // Fixed routing: one token's worth of experts (top_k) is read, whatever the number of tokens.
  const double one_token_experts = cm.decode(1, o.context, rm).mean_distinct_experts;
  auto fix_routing = [&](StepCost& sc) {
    if (o.routing.kind != RoutingOverride::Fixed) return;
    for (OpCost& c : sc.ops)
      if (c.kind == OpKind::RoutedExperts && c.distinct_experts > 0) {
        c.weight_bytes = c.weight_bytes / c.distinct_experts * one_token_experts;
        c.distinct_experts = one_token_experts;
      }
  };
  fix_routing(dec);
  res.predicted_distinct_experts = 0;
  for (const OpCost& c : dec.ops)
    if (c.kind == OpKind::RoutedExperts) res.predicted_distinct_experts = c.distinct_experts;
  const double bpw = o.weight_dtype == WeightDtype::BF16 ? 2.0 : 4.0;
  res.ops = predicted_rows(dec, cal, bpw, &res.predicted_decode_step_s);
  for (const OpRow& r : res.ops) res.predicted_decode_bytes += r.predicted_bytes;
  StepCost pre;
  if (o.prompt > 0) {
    pre = cm.prefill(o.batch, o.prompt, rm);
    fix_routing(pre);
    res.prefill_ops = predicted_rows(pre, cal, bpw, &res.predicted_prefill_s);
  }

  // Prepare.
  auto be = make_backend(o.backend);
  const BackendOptions bo = run_backend_options(o);
  say(strf("preparing %s: %zu layer(s), %.2f GB of %s weights", slice.name.c_str(), layers.size(),
           static_cast<double>(res.weight_bytes) / 1e9, res.weight_dtype.c_str()));
  be->prepare(slice, bo);
  res.backend = be->name();
  res.device = be->device();
  res.threads = o.threads;

  std::unique_ptr<Profiler> profiler = be->make_profiler();
  Profiler& prof = *profiler;
  std::vector<RangeRecord> trace;
  auto tokens_for = [&](int64_t step, int64_t n) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) t[static_cast<size_t>(i)] = static_cast<int32_t>((step * 7919 + i * 104729 + 1) % slice.vocab_size);
    return t;
  };

  // Prefill.
  if (o.prompt > 0) {
    std::map<std::string, std::pair<double, double>> ws;
    std::map<std::string, double> ds;
    std::vector<double> step_s;
    for (int64_t rep = 0; rep <= o.prefill_reps; ++rep) {
      say(strf("prefill %lld/%lld (%lld x %lld tokens)%s", (long long)rep, (long long)o.prefill_reps, (long long)o.batch,
               (long long)o.prompt, rep == 0 ? ", warm-up" : ""));
      be->reset(o.batch);
      const bool measured = rep > 0;
      const int64_t t0 = now_ns();
      if (measured) prof.push("prefill", "step");
      be->prefill(tokens_for(rep + 1000, o.batch * o.prompt), o.prompt, nullptr, measured ? &prof : nullptr);
      if (measured) {
        prof.pop();
        step_s.push_back(static_cast<double>(now_ns() - t0) * 1e-9);
        accumulate(be->last_step(), ws, ds);
      }
    }
    auto recs = prof.records();
    fill_measured(res.prefill_ops, recs, ws, ds, static_cast<double>(o.prefill_reps));
    res.prefill_s = summarize(step_s);
    if (o.keep_trace) {
      // A device profiler's trace also holds its kernels on per-stream tracks under each op.
      auto tr = prof.trace_records();
      trace.insert(trace.end(), tr.begin(), tr.end());
    }
    for (auto& n : prof.notes()) res.profiler_notes.push_back(n);
    prof.clear();
  }

  // Decode.
  say(strf("filling the KV cache: %lld sequences x %lld positions", (long long)o.batch, (long long)o.context));
  be->fill_kv(o.batch, o.context);
  for (int64_t s = 0; s < o.warmup; ++s) {
    say(strf("decode warm-up %lld/%lld", (long long)s + 1, (long long)o.warmup));
    be->decode(tokens_for(s, o.batch), nullptr, nullptr);
  }
  std::map<std::string, std::pair<double, double>> ws;
  std::map<std::string, double> ds;
  std::vector<double> step_s, step_bytes;
  std::vector<double> distinct_sum;
  // A run calibrated in-process samples the read bandwidth before each measured step and after the
  // last (outside the profiler's ranges), so its calibration sees the same neighbours as its steps.
  std::vector<double> probes;
  std::function<double()> probe;
  if (!cal.read_bw_samples.empty()) probe = be->make_read_probe(o.threads);
  for (int64_t s = 0; s < o.tokens; ++s) {
    say(strf("decode step %lld/%lld", (long long)s + 1, (long long)o.tokens));
    if (probe) probes.push_back(probe());
    const int64_t t0 = now_ns();
    prof.push("decode_step", "step");
    be->decode(tokens_for(o.warmup + s, o.batch), nullptr, &prof);
    prof.pop();
    step_s.push_back(static_cast<double>(now_ns() - t0) * 1e-9);
    const StepWork& w = be->last_step();
    accumulate(w, ws, ds);
    double b = 0;
    for (const OpWork& op : w.ops) b += op.weight_bytes + op.kv_bytes;
    step_bytes.push_back(b);
    res.distinct_experts_per_step.push_back(w.distinct_experts_per_layer);
    distinct_sum.resize(w.distinct_experts_per_layer.size(), 0.0);
    for (size_t i = 0; i < w.distinct_experts_per_layer.size(); ++i) distinct_sum[i] += static_cast<double>(w.distinct_experts_per_layer[i]);
  }
  if (probe) probes.push_back(probe());
  auto recs = prof.records();
  fill_measured(res.ops, recs, ws, ds, static_cast<double>(o.tokens));
  if (o.keep_trace) {
    auto tr = prof.trace_records();
    trace.insert(trace.end(), tr.begin(), tr.end());
  }
  for (auto& n : prof.notes()) res.profiler_notes.push_back(n);
  res.decode_step_s = summarize(step_s);
  for (double b : step_bytes) res.decode_bytes += b / static_cast<double>(step_bytes.size());
  if (res.decode_step_s.median > 0) res.achieved_bw_bytes_per_s = res.decode_bytes / res.decode_step_s.median;
  for (double d : distinct_sum) res.distinct_experts_per_layer.push_back(d / static_cast<double>(o.tokens));
  // Read samples interleaved with the steps join the calibration's: the best of all is the
  // ceiling, and a drift between the two sets says the machine changed under the run.
  if (!probes.empty()) {
    res.calibration.samples_before_run = res.calibration.read_bw_samples.size();
    res.calibration.read_bw_samples.insert(res.calibration.read_bw_samples.end(), probes.begin(), probes.end());
    summarize_read_bw(res.calibration);
    res.calibration.source += "; read bandwidth also sampled between the decode steps";
    reprice(res.ops, dec, res.calibration, bpw, &res.predicted_decode_step_s);
    if (o.prompt > 0) reprice(res.prefill_ops, pre, res.calibration, bpw, &res.predicted_prefill_s);
  }
  // The counter pass runs without the timing profiler: one CUPTI activity client per process, and
  // activity tracing would skew the counters' gpu__time_duration.
  profiler.reset();
  counter_pass(*be, o, tokens_for, res);
  res.trace = std::move(trace);
  return res;
}

}  // namespace llmcost
