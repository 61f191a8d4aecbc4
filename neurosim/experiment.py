"""Run a protocol into a result folder: grid, sweep, tidy records, summary, figure."""
from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .devices import DEVICES, require_cuda
from .protocol import ParameterError, Protocol, RunContext, get_protocol
from .results import FIGURE, ResultStore, atomic_save_figure, point_id, write_summary
from .sweep import execute

BACKEND_CHOICES = ("rate", "spiking", "brian2", "graph")
DEFAULT_DEVICE = "cpp_standalone"


@dataclass(frozen=True)
class PointTask:
    """A picklable call of one protocol point (sent to worker processes)."""

    protocol: str
    device: str
    record_dir: str | None
    progress: bool

    def __call__(self, point: dict, seed: np.random.SeedSequence) -> list[dict]:
        protocol = get_protocol(self.protocol)
        context = RunContext(backend=point["backend"], device=self.device,
                             record_dir=self.record_dir, progress=self.progress)
        params = {k: v for k, v in point.items() if k != "backend"}
        return protocol.run_point(params, seed, context)


def versions() -> dict:
    import neurosim

    found = {"python": platform.python_version(), "neurosim": neurosim.__version__,
             "numpy": np.__version__, "pandas": pd.__version__}
    for name in ("brian2", "networkx", "scipy", "torch"):
        module = sys.modules.get(name)
        if module is not None:
            found[name] = getattr(module, "__version__", "?")
    return found


def default_jobs(backends: tuple[str, ...]) -> int:
    """Rate points run in parallel processes; spiking points share one build, serially."""
    return (os.cpu_count() or 1) if set(backends) <= {"rate", "graph"} else 1


def backend_gap(frame: pd.DataFrame, protocol: Protocol, values: dict) -> dict:
    """Largest absolute difference of the seed-averaged metric between backends."""
    keys = [name for name in values if name not in ("seeds", "backend")] + list(protocol.compare_on)
    keys = [k for k in dict.fromkeys(keys) if k in frame.columns]
    means = frame.groupby(keys + ["backend"], dropna=False)[protocol.metric].mean().unstack("backend")
    if means.shape[1] < 2:
        return {}
    gap = (means.max(axis=1) - means.min(axis=1)).abs()
    return {f"max_abs_{protocol.metric}_gap": float(gap.max()),
            f"mean_abs_{protocol.metric}_gap": float(gap.mean())}


def run_protocol(name: str, overrides: dict[str, str] | None = None, *,
                 backends: tuple[str, ...] | None = None, out: str | os.PathLike = "results",
                 seed: int = 0, jobs: int | None = None, scheduler: str | None = None,
                 device: str = DEFAULT_DEVICE, record: bool = False, progress: bool = True) -> dict:
    """Run (or resume) ``name`` into ``out`` and return its summary.
    ``backends`` defaults to the protocol's first backend."""
    started = time.perf_counter()
    protocol = get_protocol(name)
    backends = tuple(backends or protocol.backends[:1])
    for backend in backends:
        if backend not in protocol.backends:
            raise ParameterError(f"protocol {name} has no {backend!r} backend; "
                                 f"available: {', '.join(protocol.backends)}")
    if device not in DEVICES:
        raise ParameterError(f"unknown device {device!r}; choose from {', '.join(DEVICES)}")
    if seed < 0:
        raise ParameterError(f"--seed must be >= 0 (got {seed})")
    if device == "cuda" and set(backends) - {"rate", "graph"}:
        require_cuda()
    values = {"backend": list(backends), **protocol.resolve(overrides or {})}
    points = protocol.points(values)
    out = Path(out)
    store = ResultStore(out)
    done = store.done

    def resume_key(point):
        """A point's records depend on the root seed and, off the rate backends, the device."""
        simulated = point["backend"] not in ("rate", "graph")
        return point_id({**point, "root_seed": seed, "device": device if simulated else None})

    pending = [p for p in points if resume_key(p) not in done]
    task = PointTask(name, device, str(out / "record") if record else None,
                     progress and len(points) == 1)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(points), initial=len(points) - len(pending), desc=name,
               unit="point", disable=not progress or not pending, leave=False)
    for point, records in execute(task, pending, seed,
                                  jobs=jobs or default_jobs(backends), scheduler=scheduler,
                                  shared=protocol.shared_streams):
        store.add(point, [{**record, "root_seed": seed} for record in records], resume_key(point))
        bar.update()
    bar.close()
    ids = {resume_key(p) for p in points}
    frame = store.frame[store.frame["point_id"].astype(str).isin(ids)].reset_index(drop=True)
    headline = protocol.summarize(frame, values)
    if len(backends) > 1:
        headline.update(backend_gap(frame, protocol, values))
    paper = {key: value for key, value in protocol.paper.items() if key in headline}
    summary = {"protocol": name, "figure": protocol.figure, "headline": headline,
               "paper": paper,
               "difference_to_paper": {key: round(headline[key] - value, 4)
                                       for key, value in paper.items()},
               "notes": protocol.notes,
               "parameters": values, "seed": seed, "device": device,
               "points": len(points), "resumed_points": len(points) - len(pending),
               "elapsed_s": round(time.perf_counter() - started, 3), "versions": versions()}
    write_summary(out, summary)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = protocol.plot(frame, values)
    atomic_save_figure(figure, out / FIGURE)
    plt.close(figure)
    return summary
