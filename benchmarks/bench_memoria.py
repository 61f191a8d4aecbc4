"""Memoria benchmark: time per remind + memorize step and memory, neurosim vs memoria-pytorch.

    python benchmarks/bench_memoria.py                       # LTM ~1,000 and ~10,000 engrams
    python benchmarks/bench_memoria.py --sizes 1000 --steps 5 --out /tmp/bench.json

Workload: the appendix B language-modeling sizes (N_wm = N_stm_rem = N_ltm_rem = 16,
STM capacity 128, depth 10, alpha 8) with a very long initial lifespan, so that no
engram dies and LTM grows by 16 engrams a step. neurosim builds the state (an
i.i.d. Gaussian stream, dim 16, reference-compatible options) until LTM holds the
target number of engrams and saves it; each implementation then loads that very
state in a fresh process and runs the same continuation of the stream:

* ``neurosim``: MemoriaCircuit with the reference-compatible options (same algorithm),
* ``neurosim-paper``: MemoriaCircuit with the paper's options,
* ``reference``: memoria-pytorch 1.1.0 (batch size 1, CPU), its dense
  [1, N, N] count matrix filled from neurosim's graph.

Measured per process (Linux /proc): ``state_mb`` = resident memory after
loading the state minus before; ``peak_mb`` = the peak resident memory during
the timed steps (VmHWM, reset with /proc/self/clear_refs just before them)
minus the same baseline; ``step_ms`` = median wall time of one step
(add working memory + remind + exploit + memorize & forget), ``step_cpu_ms`` its
median CPU time (less sensitive to other load on the machine). Both run with
one thread (OMP_NUM_THREADS=1, torch included).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DIM = 16
SIZES = dict(n_wm=16, stm_capacity=128, n_stm_rem=16, n_ltm_rem=16, depth=10, alpha=8.0,
             initial_lifespan=1e9)


def _status(key: str) -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def build_state(n_ltm: int, steps: int, folder: Path, seed: int = 0) -> Path:
    from neurosim.circuits.memoria import (MemoriaCircuit, MemoriaParams, random_stream,
                                           stream_rng)

    params = MemoriaParams(**SIZES).reference_compatible()
    build = (n_ltm + params.stm_capacity) // params.n_wm
    x = random_stream(stream_rng(seed), build + steps, params.n_wm, DIM)
    circuit = MemoriaCircuit(params, DIM, seed=seed)
    for t in range(build):
        circuit.step(x[t])
    path = folder / f"state_{n_ltm}.npz"
    circuit.save(path)
    np.save(folder / f"stream_{n_ltm}.npy", x[build:])
    return path


def worker(kind: str, state_path: str, stream_path: str) -> dict:
    """Load a state, run the stream continuation, report memory and time (one process)."""
    from dataclasses import replace

    from neurosim.circuits.memoria import MemoriaCircuit

    if kind == "reference":
        import torch  # noqa: F401  (imported before the baseline)
    stream = np.load(stream_path)
    gc.collect()
    baseline = _status("VmRSS")
    if kind == "reference":
        runner = reference_from_state(state_path)
        stepper = runner.step
        n_engrams = len(runner.model.engrams)
        n_edges = None
    else:
        circuit = MemoriaCircuit.load(state_path)
        if kind == "neurosim-paper":
            circuit.params = replace(circuit.params, ranking="exp", search="paper",
                                     forget_order="paper")
        stepper = circuit.step
        n_engrams = len(circuit)
        n_edges = circuit.graph.number_of_edges()
    gc.collect()
    state_mb = _status("VmRSS") - baseline
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    times, cpu = [], []
    for x in stream:
        started, started_cpu = time.perf_counter(), time.process_time()
        stepper(x)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    peak_mb = _status("VmHWM") - baseline
    return {"impl": kind, "n_engrams": n_engrams, "n_edges": n_edges,
            "state_mb": round(state_mb, 1), "peak_mb": round(peak_mb, 1),
            "step_ms": round(1e3 * float(np.median(times)), 2),
            "step_ms_mean": round(1e3 * float(np.mean(times)), 2),
            "step_cpu_ms": round(1e3 * float(np.median(cpu)), 2), "steps": len(times)}


def reference_from_state(state_path: str):
    """memoria-pytorch's Memoria holding exactly the engrams of a neurosim state."""
    import torch
    from memoria import Engrams

    from neurosim.circuits.memoria import MemoriaCircuit
    from neurosim.circuits.memoria.reference import ReferenceMemoria

    with np.load(state_path) as archive:
        state = {k: archive[k] for k in archive.files}
    meta = json.loads(str(state["meta"]))
    circuit_params = MemoriaCircuit.from_state(state).params
    order = np.argsort(state["ids"])  # creation order == the reference's global order
    index = {int(i): k for k, i in enumerate(state["ids"][order])}
    n = len(order)
    counts = torch.zeros((1, n, n), dtype=torch.int32)
    counts[0, torch.arange(n), torch.arange(n)] = torch.as_tensor(state["fires"][order],
                                                                  dtype=torch.int32)
    edges = state["edges"]
    if len(edges):
        rows = torch.as_tensor([index[int(u)] for u in edges[:, 0]])
        cols = torch.as_tensor([index[int(v)] for v in edges[:, 1]])
        counts[0, rows, cols] = torch.as_tensor(edges[:, 2], dtype=torch.int32)
    runner = ReferenceMemoria(circuit_params, DIM)
    runner.model.engrams = Engrams(
        torch.as_tensor(state["data"][order], dtype=torch.float32).unsqueeze(0),
        induce_counts=counts, engrams_types=torch.as_tensor(state["kind"][order]).unsqueeze(0),
        lifespan=torch.as_tensor(state["lifespan"][order], dtype=torch.float32).unsqueeze(0),
        age=torch.as_tensor(state["age"][order], dtype=torch.int32).unsqueeze(0),
        engram_ids=torch.as_tensor(state["ids"][order], dtype=torch.int32).unsqueeze(0),
        track_age=True, track_engram_id=True)
    runner.model.next_engram_id = meta["next_id"]
    runner.model.timestep = meta["step_count"]
    del state, edges
    return runner


def run(sizes: list[int], steps: int, impls: list[str]) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            started = time.perf_counter()
            state = build_state(size, steps, Path(folder))
            build_s = time.perf_counter() - started
            for kind in impls:
                out = subprocess.run(
                    [sys.executable, __file__, "--worker", kind, str(state),
                     str(Path(folder) / f"stream_{size}.npy")],
                    capture_output=True, text=True, check=False)
                if out.returncode != 0:
                    rows.append({"impl": kind, "target_ltm": size, "error": out.stderr[-500:]})
                    continue
                row = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append({"target_ltm": size, "build_s": round(build_s, 1), **row})
                print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| LTM target | impl | engrams | edges | state MB | peak MB | step ms (median) "
             "| step CPU ms |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['target_ltm']} | {r['impl']} | error | | | | | |")
            continue
        lines.append(f"| {r['target_ltm']} | {r['impl']} | {r['n_engrams']} | {r['n_edges'] or '-'} "
                     f"| {r['state_mb']} | {r['peak_mb']} | {r['step_ms']} | {r['step_cpu_ms']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--impls", default="neurosim,neurosim-paper,reference")
    parser.add_argument("--out", default=None, help="write the rows as JSON here")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "STATE", "STREAM"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return 0
    rows = run([int(s) for s in args.sizes.split(",")], args.steps, args.impls.split(","))
    print(table(rows))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if sys.argv[1:2] == ["--worker"]:
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:
            pass
    sys.exit(main())
