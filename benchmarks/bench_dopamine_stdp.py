"""Benchmark: dopamine-modulated STDP in NEST 3 (``stdp_dopamine_synapse``) and in Brian2
(neurosim's ``DopamineSTDP``, cpp_standalone), the same network and spike trains, side by side.

1,000 presynaptic cells (Poisson, 10 Hz) -> 100 postsynaptic cells (Poisson, 10 Hz), all to all:
100,000 plastic synapses; 10 dopaminergic cells (5 Hz) releasing into every postsynaptic cell;
10 s at dt = 0.1 ms (``neurosim.spiking.nest_crosscheck``: NEST parrot neurons replay the trains,
Brian2 a SpikeGeneratorGroup and a NeuronGroup firing at the given times).  NEST runs with a
1 ms minimum delay (its volume transmitter updates every synapse once per minimum delay: at
one step, 0.1 ms, it took over 10 minutes here), which makes it integrate a presynaptic
spike's update back across releases in between: the weights then differ slightly.  Reports each
simulator's wall time for the simulation (Brian2's build apart) and the largest relative
difference of the final weights.  Needs the ``nest`` extra.

    python benchmarks/bench_dopamine_stdp.py [--seconds 10] [--pre 1000] [--post 100] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pre", type=int, default=1000)
    parser.add_argument("--post", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    args = parser.parse_args()

    from neurosim.spiking.blocks import DopamineSTDP
    from neurosim.spiking.nest_crosscheck import poisson_trains, run_brian2, run_nest

    rng = np.random.default_rng(0)
    duration = args.seconds * 1e3
    trains = poisson_trains(rng, (10.0, 10.0, 5.0), (args.pre, args.post, 10), duration, 0.1)
    weights = rng.uniform(20.0, 60.0, (args.pre, args.post))
    rule = DopamineSTDP(Wmin=-1e4, Wmax=1e4)
    nest_result = run_nest(trains, rule, weights, [duration], min_delay_ms=1.0)
    with tempfile.TemporaryDirectory() as build:
        brian = run_brian2(trains, rule, weights, [duration], device="cpp_standalone",
                           directory=build)
    scale = np.abs(nest_result["w"]).max()
    row = {"synapses": args.pre * args.post, "seconds": args.seconds,
           "nest_s": round(nest_result["wall_s"], 2), "brian2_run_s": round(brian["wall_s"], 2),
           "brian2_build_s": round(brian["build_s"], 2),
           "brian2_over_nest": round(brian["wall_s"] / nest_result["wall_s"], 2),
           "max_weight_difference_relative": float(np.abs(brian["w"] - nest_result["w"]).max()
                                                   / scale)}
    print(f"{'simulator':<28}{'wall time (s)':>14}")
    print(f"{'NEST 3 stdp_dopamine_synapse':<28}{row['nest_s']:>14.2f}")
    print(f"{'Brian2 cpp_standalone (run)':<28}{row['brian2_run_s']:>14.2f}")
    print(f"{'Brian2 cpp_standalone build':<28}{row['brian2_build_s']:>14.2f}")
    print(f"Brian2 / NEST: {row['brian2_over_nest']}x; largest weight difference (relative): "
          f"{row['max_weight_difference_relative']:.1e}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_dopamine_stdp.json").write_text(json.dumps(row, indent=1) + "\n")


if __name__ == "__main__":
    main()
