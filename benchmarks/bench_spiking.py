"""Benchmark of the spiking key-value memory (circuits/key_value/spiking.py, Brian2), in one run.

At d = N = 40, one stream storing T = 40 patterns and recalling them (80 presentation
windows of 160 ms at dt = 0.1 ms, sequential gates, Poisson inputs), side by side:

1. cpp_standalone, one trial: the build (code generation and compilation, cold: a fresh
   build folder), the first call (build + run: what a run costs without the build cache,
   "rebuild + run") and a re-run of the built binary through ``run_args`` with a new stream
   (no recompilation): wall time of ``model.run`` and of the binary alone;
2. cpp_standalone, a batch of 16 trials in one build: per run and per trial (run / 16);
3. the runtime device (Cython target, or numpy where no compiler works): first call
   (code objects compiled or loaded from the Cython cache) and a later run.

Ratios: re-run vs rebuild + run, and runtime device vs re-run.  Goal (issue 8): after one
build, well under 1 s per 40-pattern run.

    python benchmarks/bench_spiking.py [--out DIR] [--patterns 40] [--trials 16]
        [--repeats 3] [--skip-runtime] [--sizes 100,200] [--warm]

Writes DIR/bench_spiking.json and prints a table.  Builds go to a fresh temporary folder
(cold compilation) unless --warm.  ``--sizes`` adds single-trial rows at other N = d.
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

N_REFERENCE = 40


def stream_for(N: int, T: int, seed: int, trials: int = 1):
    from neurosim.memory.gates import sequential_gates
    from neurosim.memory.patterns import recall_stream

    stream = recall_stream(np.random.default_rng(seed), np.full(trials, T), N)
    return stream.with_gates(sequential_gates(stream.batch, stream.steps, N))


def accuracy(model, stream) -> float:
    from neurosim.events import sign_accuracy

    return float(sign_accuracy(model.run(stream), stream.y, stream.query).mean())


def timed(model, N: int, T: int, trials: int, seed: int) -> tuple[float, float]:
    """(wall seconds of model.run on a new stream, its accuracy)."""
    stream = stream_for(N, T, seed, trials)
    started = time.perf_counter()
    score = accuracy(model, stream)
    return time.perf_counter() - started, score


def bench_standalone(N: int, T: int, trials: int, repeats: int) -> dict:
    from neurosim.spiking import devices
    from neurosim.circuits.key_value.spiking import SpikingKeyValueMemory

    model = SpikingKeyValueMemory(N, device="cpp_standalone")
    builds = devices.CACHE.builds
    first_s, first_accuracy = timed(model, N, T, trials, 0)
    build = devices.CACHE.active
    assert devices.CACHE.builds == builds + 1
    runs = [timed(model, N, T, trials, r + 1) for r in range(repeats)]
    assert devices.CACHE.builds == builds + 1, "a re-run rebuilt the project"
    per_run = float(np.median([wall for wall, _ in runs]))
    print(f"cpp_standalone N={N} trials={trials}: build {build.build_s:.1f} s, first call "
          f"{first_s:.1f} s, re-runs {[round(wall, 2) for wall, _ in runs]} s", flush=True)
    return {"trials": trials, "build_s": build.build_s, "rebuild_and_run_s": first_s,
            "per_run_s": per_run, "binary_run_s": float(np.median(build.timings[1:])),
            "per_trial_s": per_run / trials,
            "accuracy": float(np.mean([first_accuracy] + [score for _, score in runs]))}


def bench_runtime(N: int, T: int, repeats: int) -> dict:
    from neurosim.spiking import devices
    from neurosim.circuits.key_value.spiking import SpikingKeyValueMemory

    devices.reset()
    model = SpikingKeyValueMemory(N, device="runtime")
    first_s, first_accuracy = timed(model, N, T, 1, 0)
    runs = [timed(model, N, T, 1, r + 1) for r in range(repeats)]
    print(f"runtime N={N}: first call {first_s:.1f} s, later {[round(w, 2) for w, _ in runs]} s",
          flush=True)
    return {"target": devices.runtime_target(), "first_call_s": first_s,
            "per_run_s": float(np.median([wall for wall, _ in runs])),
            "accuracy": float(np.mean([first_accuracy] + [score for _, score in runs]))}


def table(report: dict) -> str:
    single, batch = report["cpp_standalone_1_trial"], report.get("cpp_standalone_batch")
    rows = [("cpp_standalone build (1 trial, cold)", single["build_s"]),
            ("cpp_standalone rebuild + run (1 trial)", single["rebuild_and_run_s"]),
            ("cpp_standalone re-run via run_args (1 trial)", single["per_run_s"]),
            ("  of which the binary", single["binary_run_s"])]
    if batch:
        rows += [(f"cpp_standalone build ({batch['trials']} trials)", batch["build_s"]),
                 (f"cpp_standalone re-run ({batch['trials']} trials)", batch["per_run_s"]),
                 ("  per trial", batch["per_trial_s"])]
    if "runtime" in report:
        runtime = report["runtime"]
        rows += [(f"runtime ({runtime['target']}) first call", runtime["first_call_s"]),
                 (f"runtime ({runtime['target']}) later run", runtime["per_run_s"])]
    lines = [f"{label:48s} {seconds:9.2f} s" for label, seconds in rows]
    lines += [f"{name:48s} {value:9.1f} x" for name, value in report["ratios"].items()]
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/bench_spiking")
    parser.add_argument("--patterns", type=int, default=40)
    parser.add_argument("--trials", type=int, default=16, help="batch size (0: no batch row)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-runtime", action="store_true")
    parser.add_argument("--sizes", default="", help="extra N = d values (single trial)")
    parser.add_argument("--warm", action="store_true", help="keep NEUROSIM_BUILD_DIR (warm builds)")
    args = parser.parse_args(argv)
    if not args.warm:
        os.environ["NEUROSIM_BUILD_DIR"] = tempfile.mkdtemp(prefix="neurosim_bench_")
    T = args.patterns
    report = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
              "load_average_start": os.getloadavg(), "N": N_REFERENCE, "d": N_REFERENCE,
              "patterns": T, "windows_per_run": 2 * T}
    single = bench_standalone(N_REFERENCE, T, 1, args.repeats)
    report["cpp_standalone_1_trial"] = single
    ratios = {"re-run vs rebuild + run": single["rebuild_and_run_s"] / single["per_run_s"]}
    if args.trials > 1:
        report["cpp_standalone_batch"] = bench_standalone(N_REFERENCE, T, args.trials,
                                                          max(1, args.repeats - 1))
    if not args.skip_runtime:
        report["runtime"] = bench_runtime(N_REFERENCE, T, 1)
        ratios["runtime later run vs re-run"] = report["runtime"]["per_run_s"] / single["per_run_s"]
    report["ratios"] = ratios
    report["under_1s_per_run"] = single["per_run_s"] < 1.0
    if args.trials > 1:
        report["under_1s_per_trial_of_batch"] = report["cpp_standalone_batch"]["per_trial_s"] < 1.0
    if args.sizes:
        report["time_vs_N"] = [{"N": N, **bench_standalone(N, T, 1, 1)}
                               for N in (int(n) for n in args.sizes.split(","))]
    report["load_average_end"] = os.getloadavg()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_spiking.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    print(table(report))
    return report


if __name__ == "__main__":
    main()
