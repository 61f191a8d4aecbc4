"""Time the full Fig. 2b capacity sweep (N = 20, 40, 80, 160; 50 seeds; key-value
sequential, key-value random p = 0.1, Hopfield) two ways in one run:

- batched: ``neurosim run capacity`` as shipped -- the seeds of a grid point
  search together on the batch axis, grid points in local processes;
- per-trial loop: the same capacity search, one trial at a time (batch of 1),
  a Python loop over models, sizes and seeds, as the paper's code runs it.

Prints both wall times and their ratio. Usage:
    python benchmarks/bench_capacity.py [--seeds 50] [--jobs 2]
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from neurosim.experiment import RunContext, run_protocol
from neurosim.protocols import capacity

MODELS = [{"model": "kv", "gate": "sequential", "p": None},
          {"model": "kv", "gate": "random", "p": "0.1"},
          {"model": "hopfield", "gate": None, "p": None}]
SIZES = [20, 40, 80, 160]


def per_trial_loop(seeds: int) -> dict:
    capacities = {}
    for model in MODELS:
        for N in SIZES:
            point = {**model, "N": N, "d": "N", "occlusion": 0.6, "seeds": 1, "threshold": 0.98}
            values = [capacity.run_point(point, np.random.SeedSequence([s, N]), RunContext())[0]
                      ["capacity"] for s in range(seeds)]
            capacities[(_label(model), N)] = float(np.mean(values))
    return capacities


def _label(model):
    return model["model"] + (f"-{model['gate']}" if model["gate"] else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = run_protocol("capacity", {"N": ",".join(map(str, SIZES)),
                                            "seeds": str(args.seeds)},
                               out=out, jobs=args.jobs, progress=False)
        batched = time.perf_counter() - start
    start = time.perf_counter()
    looped = per_trial_loop(args.seeds)
    loop_time = time.perf_counter() - start
    print(f"Fig. 2b capacity sweep, N = {SIZES}, {args.seeds} seeds, 3 models")
    print(f"{'model':16s}" + "".join(f"{'N=' + str(N):>16s}" for N in SIZES) + "   (batched / loop)")
    for model in MODELS:
        name = _label(model)
        cells = "".join(f"{summary['headline'][f'{name}_capacity_N{N}']:>8.1f}/"
                        f"{looped[(name, N)]:<7.1f}" for N in SIZES)
        print(f"{name:16s}{cells}")
    print(f"batched sweep ({args.jobs} processes): {batched:8.2f} s")
    print(f"per-trial loop (1 process):     {loop_time:8.2f} s")
    print(f"speed-up: {loop_time / batched:.1f}x")


if __name__ == "__main__":
    main()
