#!/usr/bin/env python3
"""A sweep of 100,000 predictions from Python vs the same sweep in C++ (issue 13: at most 2x).

Python: llmcost.predict_sweep (one call into C++, columns back as array.array), timed around the
call. C++: the same C++ loop (model and hardware load, compile, predict per (batch, context))
timed inside C++ with nothing handed to Python (_llmcost.sweep_seconds_cpp). Best of N runs each.
Usage: PYTHONPATH=build/python python3 bench/python_sweep.py [MODEL] [HW] [RUNS]
"""
import sys
import time

import llmcost
from llmcost import _llmcost

model = sys.argv[1] if len(sys.argv) > 1 else "meta-llama/Llama-3.1-8B"
hw = sys.argv[2] if len(sys.argv) > 2 else "h100-sxm"
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
batches = list(range(1, 101))                  # 100 batch sizes
contexts = [128 * k for k in range(1, 1001)]   # 1,000 contexts: 128 .. 128,000 tokens

py, cpp = [], []
for _ in range(runs):
    t0 = time.perf_counter()
    s = llmcost.predict_sweep(model, hw, batches, contexts)
    py.append(time.perf_counter() - t0)
    cpp.append(_llmcost.sweep_seconds_cpp(model, hw, batches, contexts, ""))
n = s.rows
print(f"{model} on {hw}: {n} predictions per sweep, best of {runs}")
print(f"  C++ sweep:    {min(cpp):.3f} s ({n / min(cpp):,.0f} predictions/s)")
print(f"  Python sweep: {min(py):.3f} s ({n / min(py):,.0f} predictions/s)")
print(f"  ratio Python / C++: {min(py) / min(cpp):.3f} (goal <= 2)")
sys.exit(0 if min(py) <= 2 * min(cpp) else 1)
