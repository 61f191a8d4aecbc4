"""Benchmark of the spiking key-value memory (Brian2), in one run:

1. the same circuit (d = N = 40, one trial storing 40 patterns and recalling
   them: 80 presentation windows) on the runtime device (Cython) and on
   cpp_standalone: build time and per-run time of each;
2. the speed-up of re-running a built cpp_standalone project through
   ``device.run(run_args=...)`` (new stream, no recompilation) over building
   and running it anew, and over the runtime device;
3. wall time versus N (d = N = 40 ... 1000, the same 40-pattern stream):
   build time and per-run time on cpp_standalone.

Goal: after one build, a 40-pattern store-and-recall stream runs in < 1 s.

    python benchmarks/bench_spiking.py [--out DIR] [--sizes 40,100,200,500,1000] [--skip-runtime]

Writes DIR/bench_spiking.json (and prints it). Builds go to a fresh temporary
folder (cold compilation) unless --warm.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def stream_for(N: int, T: int, seed: int):
    from neurosim.gates import sequential_gates
    from neurosim.patterns import recall_stream

    stream = recall_stream(np.random.default_rng(seed), np.array([T]), N)
    return stream.with_gates(sequential_gates(stream.batch, stream.steps, N))


def accuracy(model, stream) -> float:
    from neurosim.events import sign_accuracy

    return float(sign_accuracy(model.run(stream), stream.y, stream.query).mean())


def bench_runtime(N: int, T: int, repeats: int) -> dict:
    from neurosim import devices
    from neurosim.circuits.kv_spiking import SpikingKeyValueMemory

    model = SpikingKeyValueMemory(N, device="runtime")
    started = time.perf_counter()
    first = accuracy(model, stream_for(N, T, 0))
    first_s = time.perf_counter() - started
    runs = []
    for r in range(repeats):
        started = time.perf_counter()
        accuracy(model, stream_for(N, T, r + 1))
        runs.append(time.perf_counter() - started)
    return {"target": devices.runtime_target(), "first_call_s": first_s,
            "per_run_s": float(np.median(runs)), "accuracy": first}


def bench_standalone(N: int, T: int, repeats: int) -> dict:
    from neurosim import devices
    from neurosim.circuits.kv_spiking import SpikingKeyValueMemory

    model = SpikingKeyValueMemory(N, device="cpp_standalone")
    builds = devices.CACHE.builds
    started = time.perf_counter()
    first = accuracy(model, stream_for(N, T, 0))
    first_s = time.perf_counter() - started
    build = devices.CACHE.active
    assert devices.CACHE.builds == builds + 1
    walls, binaries = [], []
    for r in range(repeats):
        started = time.perf_counter()
        accuracy(model, stream_for(N, T, r + 1))
        walls.append(time.perf_counter() - started)
        binaries.append(build.timings[-1])
    assert devices.CACHE.builds == builds + 1, "a re-run rebuilt the project"
    return {"build_s": build.build_s, "first_call_s": first_s,
            "per_run_s": float(np.median(walls)), "binary_run_s": float(np.median(binaries)),
            "accuracy": first}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/bench_spiking")
    parser.add_argument("--sizes", default="40,100,200,500,1000")
    parser.add_argument("--patterns", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-runtime", action="store_true")
    parser.add_argument("--warm", action="store_true", help="keep NEUROSIM_BUILD_DIR (warm builds)")
    args = parser.parse_args(argv)
    if not args.warm:
        os.environ["NEUROSIM_BUILD_DIR"] = tempfile.mkdtemp(prefix="neurosim_bench_")
    T = args.patterns
    report = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
              "patterns": T, "windows_per_run": 2 * T}
    standalone = bench_standalone(40, T, args.repeats)
    report["cpp_standalone_N40"] = standalone
    report["run_args_speedup_vs_rebuild"] = (standalone["first_call_s"]
                                             / standalone["per_run_s"])
    if not args.skip_runtime:
        from neurosim import devices

        devices.reset()
        runtime = bench_runtime(40, T, args.repeats)
        report["runtime_N40"] = runtime
        report["run_args_speedup_vs_runtime"] = runtime["per_run_s"] / standalone["per_run_s"]
    report["goal_under_1s_per_run"] = standalone["per_run_s"] < 1.0
    sweep = []
    for N in (int(n) for n in args.sizes.split(",")):
        row = bench_standalone(N, T, max(1, args.repeats - 1)) if N != 40 else standalone
        sweep.append({"N": N, "build_s": row["build_s"], "per_run_s": row["per_run_s"],
                      "binary_run_s": row["binary_run_s"], "accuracy": row["accuracy"]})
        print(f"N={N:5d} build {row['build_s']:7.1f} s  run {row['per_run_s']:6.2f} s "
              f"(binary {row['binary_run_s']:.2f} s)  accuracy {row['accuracy']:.3f}", flush=True)
    report["time_vs_N"] = sweep
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_spiking.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
