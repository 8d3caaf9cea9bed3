"""llmcost from Python: what a large language model costs (parameters, memory, FLOPs, latency).

Every function runs the same C++ core as the `llmcost` command and returns its `--format json`
document as plain Python data (dicts and lists with the JSON's field names and units). A model is
named as on the command line (a config path, a Hub id, an alias) or given as a dict of config
fields for a hypothetical model. Options are the command's long options with `_` for `-`
(`kv_dtype="fp8"` is `--kv-dtype fp8`; `True` is a bare flag; a list is a comma list).
Failures raise LlmcostError subclasses (llmcost.errors) carrying the command's one-line message.

    >>> import llmcost
    >>> llmcost.analyze("meta-llama/Llama-3.1-8B")["params"]["total"]
    8030261248
"""

import array
import json
import os
import sys
import tempfile
from contextlib import contextmanager

from . import _llmcost
from .errors import (ConfigError, DeviceUnavailableError, InputError, InternalError, LlmcostError, UnsupportedError,
                     UsageError, from_kind)
from .records import Report, Sweep, to_records

__all__ = ["analyze", "predict", "plan", "compare", "report", "models", "hardware", "predict_sweep", "to_records",
           "run_cli", "config_dir", "Report", "Sweep", "LlmcostError", "ConfigError", "InputError", "UnsupportedError",
           "DeviceUnavailableError", "UsageError", "InternalError"]
__version__ = "0.1.0"

# The bundled configs: the wheel carries configs/ inside the package; a build tree has none there and
# the C++ side falls back to the source tree's. $LLMCOST_CONFIG_DIR still wins, as for the CLI.
_PACKAGE_CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
if os.path.isdir(os.path.join(_PACKAGE_CONFIGS, "models")):
    _llmcost.set_default_config_dir(_PACKAGE_CONFIGS)


def config_dir():
    """The configs/ directory models, hardware and scenarios are looked up in by default."""
    return _llmcost.default_config_dir()


def _raise(e):
    kind, message = e.args
    raise from_kind(kind, message) from None


def _options(options):
    args = []
    for name, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        if value is True:
            args.append(flag)
        elif isinstance(value, (list, tuple)):
            args += [flag, ",".join(str(v) for v in value)]
        else:
            args += [flag, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    return args


@contextmanager
def _named(spec, what):
    """A command-line name for a model or scenario: a dict is written to a temporary file."""
    if isinstance(spec, dict):
        with tempfile.TemporaryDirectory(prefix="llmcost-") as d:
            # JSON is YAML too: one file serves a config.json-style model and a scenario.
            path = os.path.join(d, ("hypothetical.json" if what == "model" else "scenario.yaml"))
            with open(path, "w") as f:
                json.dump(spec, f)
            yield path
    elif isinstance(spec, (str, os.PathLike)):
        yield os.fspath(spec)
    else:
        raise UsageError(f"{what}: expected a name, a path or a dict of config fields, got {type(spec).__name__}")


def run_cli(args, config_dir=None):
    """Runs `llmcost ARGS...` in-process: (exit status, stdout text, stderr text); failures raise."""
    pre = ["--config-dir", os.fspath(config_dir)] if config_dir else []
    try:
        return _llmcost.run(pre + [os.fspath(a) for a in args])
    except _llmcost.CppError as e:
        _raise(e)


def _json(args, config_dir):
    rc, out, err = run_cli(args, config_dir)
    doc = json.loads(out) if out.strip() else None
    if rc != 0 and doc is None:
        line = err.strip().splitlines()[-1] if err.strip() else f"exit status {rc}"
        for prefix in ("llmcost: error: ", "llmcost: "):
            if line.startswith(prefix):
                line = line[len(prefix):]
                break
        raise LlmcostError(line)
    return doc


def analyze(model, *, config_dir=None, **options):
    """`llmcost analyze MODEL --format json`: parameters, weight memory per scheme, KV cache, FLOPs.

    Options: context, prompt, quant_policy, kv_dtype. A checkpoint (safetensors, GGUF) gives its
    header count, as on the command line.
    """
    with _named(model, "model") as m:
        return _json(["analyze", m, "--format", "json"] + _options(options), config_dir)


def predict(model, hw, *, config_dir=None, **options):
    """`llmcost predict MODEL --hw HW --format json`: decode step, TTFT, memory per device, max batch.

    Options: batch, context, prompt, quant, quant_policy, kv_dtype, routing, tp, ep, pp, mem_util,
    prefill_chunk, efficiency, roofline. A request that cannot run returns its document with
    "runnable": false and "reason" (the command exits 1 then).
    """
    with _named(model, "model") as m:
        return _json(["predict", m, "--hw", os.fspath(hw), "--format", "json"] + _options(options), config_dir)


def compare(model, hw=None, *, config_dir=None, **options):
    """`llmcost compare MODEL [--hw A,B] --format json`: one model and workload on several devices."""
    with _named(model, "model") as m:
        return _json(["compare", m, "--format", "json"] + _options({"hw": hw}) + _options(options), config_dir)


def plan(scenario, *, config_dir=None):
    """`llmcost plan SCENARIO --format json`: capacity planning (a YAML path, a bundled name or a dict)."""
    with _named(scenario, "scenario") as s:
        return _json(["plan", s, "--format", "json"], config_dir)


def models(*, config_dir=None):
    """`llmcost models --format json`: the bundled models with total and active parameters."""
    return _json(["models", "--format", "json"], config_dir)


def hardware(*, config_dir=None):
    """`llmcost hw --format json`: the bundled hardware specs."""
    return _json(["hw", "--format", "json"], config_dir)


def report(scenario, *, run=None, config_dir=None):
    """`llmcost report SCENARIO`: the capacity-planning report as a Report (HTML inline in Jupyter,
    .data the JSON document, .markdown the Markdown one)."""
    with _named(scenario, "scenario") as s, tempfile.TemporaryDirectory(prefix="llmcost-report-") as out:
        args = ["report", s, "-o", out, "--format", "html,json,md"] + _options({"run": run})
        run_cli(args, config_dir)
        stem = os.path.splitext(os.path.basename(s))[0]
        texts = {}
        for ext in ("html", "json", "md"):
            with open(os.path.join(out, f"{stem}.{ext}"), encoding="utf-8") as f:
                texts[ext] = f.read()
    return Report(texts["html"], json.loads(texts["json"]), texts["md"])


def predict_sweep(model, hw, batches, contexts, *, quant="auto", quant_policy="default", kv_dtype="bf16",
                  routing="uniform", efficiency="derated", tp=1, ep=1, pp=1, mem_util=0.9, prefill_chunk=8192,
                  config_dir=None):
    """Predictions for every (batch, context) pair, batches outer, in one call into C++.

    Returns a Sweep: columns by the names of `predict`'s JSON (dotted: "decode.step_s",
    "prefill.s", "memory.per_device_bytes", ...) as array.array; NaN where the JSON has null.
    """
    if isinstance(model, dict):
        with _named(model, "model") as m:
            return predict_sweep(m, hw, batches, contexts, quant=quant, quant_policy=quant_policy, kv_dtype=kv_dtype,
                                 routing=routing, efficiency=efficiency, tp=tp, ep=ep, pp=pp, mem_util=mem_util,
                                 prefill_chunk=prefill_chunk, config_dir=config_dir)
    try:
        raw = _llmcost.predict_sweep(os.fspath(model), os.fspath(hw), list(batches), list(contexts), quant,
                                     quant_policy, kv_dtype, routing, efficiency, tp, ep, pp, float(mem_util),
                                     prefill_chunk, os.fspath(config_dir) if config_dir else "")
    except _llmcost.CppError as e:
        _raise(e)
    cols = {}
    for name, buf in raw.items():
        a = array.array("d" if name.split(".")[-1] in ("step_s", "tokens_per_s", "s", "per_device_bytes") else "q")
        a.frombytes(buf)
        cols[name] = a
    return Sweep(cols)
