// llmcost._llmcost: the nanobind extension behind the Python package (python/llmcost/). It holds no
// logic of its own: the command line run in-process with its output captured (the same JSON
// writers as `--format json`), the CLI's main() for the console script, and one batch loop over
// the roofline for sweeps, so that 100,000 predictions cross into Python once.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "commands.h"
#include "llmcost/cost_model.h"
#include "llmcost/error.h"
#include "llmcost/hardware.h"
#include "llmcost/kv_cache.h"
#include "llmcost/model_loader.h"
#include "llmcost/quant.h"
#include "llmcost/roofline.h"

namespace nb = nanobind;
using namespace llmcost;

namespace {

// Raised for every failure; the Python layer re-raises it as the LlmcostError subclass of args[0]
// (error_kind_name) with args[1], the one line the CLI prints after "llmcost: error: ".
PyObject* g_cpp_error = nullptr;

template <class F>
auto translated(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    PyErr_SetObject(g_cpp_error, nb::make_tuple(error_kind_name(e.kind()), e.what()).ptr());
  } catch (const nb::python_error&) {
    throw;
  } catch (const std::exception& e) {
    PyErr_SetObject(g_cpp_error, nb::make_tuple(error_kind_name(ErrorKind::Internal), e.what()).ptr());
  }
  throw nb::python_error();
}

// The options of `llmcost predict` a sweep takes, by the same names.
struct SweepOptions {
  std::string quant = "auto", quant_policy = "default", kv_dtype = "bf16", routing = "uniform", efficiency = "derated";
  int64_t tp = 1, ep = 1, pp = 1, prefill_chunk = kDefaultPrefillChunkTokens;
  double mem_util = kDefaultMemUtil;
};

template <class T>
T parsed(const std::optional<T>& v, const char* option, const std::string& given) {
  if (!v) throw Error(std::string(option) + ": unknown value \"" + given + "\"", ErrorKind::Usage);
  return *v;
}

// Column-wise results, one row per (batch, context), batches outer. NaN where there is no figure
// (not runnable: no timing; a layout that cannot form: no memory either), as JSON's null.
struct SweepColumns {
  std::vector<int64_t> batch, context, runnable, fits, max_batch;
  std::vector<double> step_s, tokens_per_s, prefill_s, per_device_bytes;
};

SweepColumns run_sweep(const std::string& model, const std::string& hw_name, const std::vector<int64_t>& batches,
                       const std::vector<int64_t>& contexts, const SweepOptions& o, const std::string& config_dir) {
  const std::string dir = config_dir.empty() ? default_config_dir() : config_dir;
  HardwareSpec hw = load_hardware(hw_name, dir);
  ModelIR ir = load_model(model, dir);
  CompiledModel cm = compile_model(ir, parsed(parse_quant_scheme(o.quant), "quant", o.quant),
                                   parsed(parse_quant_policy(o.quant_policy), "quant_policy", o.quant_policy),
                                   parsed(parse_kv_dtype(o.kv_dtype), "kv_dtype", o.kv_dtype),
                                   parsed(parse_routing(o.routing), "routing", o.routing));
  PredictRequest req;
  req.parallel = ParallelConfig{o.tp, o.ep, o.pp};
  req.memory_fraction = o.mem_util;
  req.prefill_chunk_tokens = o.prefill_chunk;
  req.efficiency = parsed(parse_efficiency_mode(o.efficiency), "efficiency", o.efficiency);
  SweepColumns c;
  const size_t n = batches.size() * contexts.size();
  for (auto* v : {&c.batch, &c.context, &c.runnable, &c.fits, &c.max_batch}) v->reserve(n);
  for (auto* v : {&c.step_s, &c.tokens_per_s, &c.prefill_s, &c.per_device_bytes}) v->reserve(n);
  const double nan = std::nan("");
  for (int64_t b : batches)
    for (int64_t ctx : contexts) {
      req.batch = b;
      req.context = ctx;
      const Prediction p = predict_or_why(cm, hw, req, false);
      c.batch.push_back(b);
      c.context.push_back(ctx);
      c.runnable.push_back(p.runnable);
      c.fits.push_back(p.has_figures && p.memory.fits);
      c.max_batch.push_back(p.has_figures ? p.memory.max_batch : 0);
      c.step_s.push_back(p.runnable ? p.decode.time_s : nan);
      c.tokens_per_s.push_back(p.runnable ? p.tokens_per_s : nan);
      c.prefill_s.push_back(p.runnable ? p.prefill.time_s : nan);
      c.per_device_bytes.push_back(p.has_figures ? p.memory.per_device_bytes : nan);
    }
  return c;
}

template <class T>
nb::bytes raw(const std::vector<T>& v) {
  return nb::bytes(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

SweepOptions sweep_options(const std::string& quant, const std::string& quant_policy, const std::string& kv_dtype,
                           const std::string& routing, const std::string& efficiency, int64_t tp, int64_t ep, int64_t pp,
                           double mem_util, int64_t prefill_chunk) {
  SweepOptions o;
  o.quant = quant;
  o.quant_policy = quant_policy;
  o.kv_dtype = kv_dtype;
  o.routing = routing;
  o.efficiency = efficiency;
  o.tp = tp;
  o.ep = ep;
  o.pp = pp;
  o.mem_util = mem_util;
  o.prefill_chunk = prefill_chunk;
  return o;
}

}  // namespace

NB_MODULE(_llmcost, m) {
  m.doc() = "llmcost's C++ core (use the llmcost package, not this module)";
  g_cpp_error = PyErr_NewException("llmcost._llmcost.CppError", PyExc_RuntimeError, nullptr);
  m.attr("CppError") = nb::handle(g_cpp_error);

  m.def("set_default_config_dir", &set_default_config_dir, nb::arg("dir"));
  m.def("default_config_dir", &default_config_dir);

  // The command line in-process: (exit status, stdout, stderr). A failure raises CppError.
  m.def("run", [](const std::vector<std::string>& args) {
    return translated([&] {
      cli::CapturedRun r = cli::run_captured(args);
      return std::make_tuple(r.rc, r.out, r.err);
    });
  });

  // The console script: the CLI's main() on the real stdout/stderr; returns the exit status.
  m.def("main", [](const std::vector<std::string>& argv) {
    std::vector<std::string> storage = argv;
    std::vector<char*> ptrs;
    for (auto& s : storage) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
    return cli::run_main(static_cast<int>(storage.size()), ptrs.data());
  });

  // One model on one device over batches x contexts; columns as raw int64/float64 buffers.
  m.def(
      "predict_sweep",
      [](const std::string& model, const std::string& hw, const std::vector<int64_t>& batches,
         const std::vector<int64_t>& contexts, const std::string& quant, const std::string& quant_policy,
         const std::string& kv_dtype, const std::string& routing, const std::string& efficiency, int64_t tp, int64_t ep,
         int64_t pp, double mem_util, int64_t prefill_chunk, const std::string& config_dir) {
        return translated([&] {
          SweepColumns c = run_sweep(model, hw, batches, contexts,
                                     sweep_options(quant, quant_policy, kv_dtype, routing, efficiency, tp, ep, pp, mem_util,
                                                   prefill_chunk),
                                     config_dir);
          nb::dict d;
          d["batch"] = raw(c.batch);
          d["context"] = raw(c.context);
          d["runnable"] = raw(c.runnable);
          d["decode.step_s"] = raw(c.step_s);
          d["decode.tokens_per_s"] = raw(c.tokens_per_s);
          d["prefill.s"] = raw(c.prefill_s);
          d["memory.per_device_bytes"] = raw(c.per_device_bytes);
          d["memory.fits"] = raw(c.fits);
          d["memory.max_batch"] = raw(c.max_batch);
          return d;
        });
      },
      nb::arg("model"), nb::arg("hw"), nb::arg("batches"), nb::arg("contexts"), nb::arg("quant"), nb::arg("quant_policy"),
      nb::arg("kv_dtype"), nb::arg("routing"), nb::arg("efficiency"), nb::arg("tp"), nb::arg("ep"), nb::arg("pp"),
      nb::arg("mem_util"), nb::arg("prefill_chunk"), nb::arg("config_dir"));

  // The same sweep with nothing handed to Python: its wall time in seconds (bench/python_sweep.py's
  // C++ reference).
  m.def(
      "sweep_seconds_cpp",
      [](const std::string& model, const std::string& hw, const std::vector<int64_t>& batches,
         const std::vector<int64_t>& contexts, const std::string& config_dir) {
        return translated([&] {
          auto t0 = std::chrono::steady_clock::now();
          SweepColumns c = run_sweep(model, hw, batches, contexts, SweepOptions{}, config_dir);
          auto t1 = std::chrono::steady_clock::now();
          volatile double sink = c.step_s.empty() ? 0 : c.step_s.back();
          (void)sink;
          return std::chrono::duration<double>(t1 - t0).count();
        });
      },
      nb::arg("model"), nb::arg("hw"), nb::arg("batches"), nb::arg("contexts"), nb::arg("config_dir"));
}
