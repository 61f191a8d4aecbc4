"""Time the capacity computation of Fig. 2b (key-value sequential, key-value
random p = 4/N, Hopfield; N = 20, 40, 80, 160; d = N; threshold 0.98;
Bernoulli occlusion 0.6) side by side in one run:

- batched: ``protocols.capacity.run_point`` for every grid point, in one
  process, both searches; the repeats of a point search together on the
  batch axis;
- per-trial loop: the paper-code search one trial at a time (batch of 1), a
  Python loop over models, sizes and repeats, as the paper's code runs it;
- reference: the paper's own code, gyyang/bio-kvm's ``get_capacity``
  (``plot_all_figs_helper.py``, one trial per probe, a torch network stepped
  in Python), with ``--reference PATH`` pointing at a checkout of it. That
  code is not part of neurosim (fetch it yourself); plotting and logging
  packages it imports but ``get_capacity`` never calls (seaborn, sklearn,
  tensorboard) are replaced by empty modules where they are not installed.

Every timing runs on one thread (BLAS and torch). Prints the mean capacities,
wall and CPU seconds and the ratios. Usage:
    python benchmarks/bench_capacity.py [--repeats 10] [--reference PATH]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import types

import numpy as np
from threadpoolctl import threadpool_limits

from neurosim.protocol import RunContext
from neurosim.protocols import capacity

MODELS = {"kv-sequential": {"model": "kv", "gate": "sequential", "p": None},
          "kv-random-p4/N": {"model": "kv", "gate": "random", "p": "4/N"},
          "hopfield": {"model": "hopfield", "gate": None, "p": None}}
REFERENCE_CONFIGS = {"kv-sequential": "ref_seq", "kv-random-p4/N": "ref_rand",
                     "hopfield": "hopfield"}
SIZES = [20, 40, 80, 160]
THRESHOLD = 0.98


def point(model: str, N: int, seeds: int, search: str) -> dict:
    return {**MODELS[model], "N": N, "d": "N", "occlusion": 0.6, "occlusion_mode": "bernoulli",
            "seeds": seeds, "threshold": THRESHOLD, "search": search}


def timed(run):
    """(result, wall seconds, CPU seconds) of ``run()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def batched(repeats: int, search: str) -> dict:
    return {(model, N): float(np.mean([r["capacity"] for r in capacity.run_point(
                point(model, N, repeats, search), np.random.SeedSequence([N, 1]), RunContext())]))
            for model in MODELS for N in SIZES}


def per_trial_loop(repeats: int) -> dict:
    return {(model, N): float(np.mean([capacity.run_point(
                point(model, N, 1, "paper-code"), np.random.SeedSequence([N, 2, s]),
                RunContext())[0]["capacity"] for s in range(repeats)]))
            for model in MODELS for N in SIZES}


def load_reference(path: str):
    """bio-kvm's ``plot_all_figs_helper`` and ``configs`` from a checkout at ``path``."""
    sys.path.insert(0, path)
    unused = ["seaborn", "sklearn", "sklearn.linear_model", "tensorboard", "tensorboard.backend",
              "tensorboard.backend.event_processing",
              "tensorboard.backend.event_processing.event_accumulator", "torch.utils.tensorboard"]
    for name in unused:
        try:
            __import__(name)
        except ImportError:
            module = types.ModuleType(name)
            module.LinearRegression = module.EventAccumulator = module.SummaryWriter = None
            sys.modules[name] = module
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    import configs
    import plot_all_figs_helper

    return plot_all_figs_helper, configs


def reference_loop(path: str, repeats: int) -> dict:
    helper, configs = load_reference(path)
    capacities = {}
    for model, name in REFERENCE_CONFIGS.items():
        for N in SIZES:
            config = configs.get_config(name, stim_dim=N, hidden_size=N)
            with contextlib.redirect_stdout(io.StringIO()):
                values = [helper.get_capacity(config, thres=THRESHOLD, repeat=1)
                          for _ in range(repeats)]
            capacities[(model, N)] = float(np.mean(values))
    return capacities


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--reference", help="path of a gyyang/bio-kvm checkout")
    args = parser.parse_args()
    runs = {}
    with threadpool_limits(1):
        runs["batched, paper-code search"] = timed(lambda: batched(args.repeats, "paper-code"))
        runs["batched, bisection search"] = timed(lambda: batched(args.repeats, "bisection"))
        runs["per-trial loop, paper-code"] = timed(lambda: per_trial_loop(args.repeats))
        if args.reference:
            runs["bio-kvm get_capacity"] = timed(lambda: reference_loop(args.reference,
                                                                        args.repeats))
    print(f"Fig. 2b capacity, N = {SIZES}, {args.repeats} repeats, threshold {THRESHOLD}, "
          "one thread")
    print(f"{'mean capacity at N = ' + ' / '.join(map(str, SIZES)):46s}"
          + "".join(f"{model:>26s}" for model in MODELS))
    for name, (capacities, _, _) in runs.items():
        print(f"{name:46s}" + "".join(
            f"{' / '.join(f'{capacities[(model, N)]:.1f}' for N in SIZES):>26s}"
            for model in MODELS))
    base_wall, base_cpu = runs["batched, paper-code search"][1:]
    print(f"\n{'':46s}{'wall s':>10s}{'CPU s':>10s}{'wall / batched':>16s}{'CPU / batched':>15s}")
    for name, (_, wall, cpu) in runs.items():
        print(f"{name:46s}{wall:10.2f}{cpu:10.2f}{wall / base_wall:16.1f}{cpu / base_cpu:15.1f}")


if __name__ == "__main__":
    main()
