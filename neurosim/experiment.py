"""Run a protocol into a result folder: grid, sweep, tidy records, summary, figure."""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from neurosim.spiking import physiology
from neurosim.spiking.devices import DEVICES, require_cuda
from neurosim.spiking.nwb import require_pynwb
from neurosim.spiking.physiology import point_columns
from neurosim.errors import ParameterError
from neurosim.protocol import SPIKING_NOISE_PARAMETERS, Protocol, RunContext, get_protocol
from neurosim.results import (FIGURE, ResultStore, atomic_save_figure, check_result_folder,
                              check_writable, point_id, read_summary, write_summary)
from neurosim.sweep import execute

BACKEND_CHOICES = ("rate", "spiking", "brian2", "graph")
RECORDING_BACKENDS = ("spiking", "brian2")
DEFAULT_DEVICE = "cpp_standalone"
LONG_POINT_S = 60.0          # points estimated to run longer are announced before they start


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
        records = protocol.run_point(params, seed, context)
        physiology = point_columns(context.physiology)
        return [{**record, **physiology} for record in records]


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
    """Rate points run in parallel processes, one per usable core (joblib's count: it honours
    ``LOKY_MAX_CPU_COUNT`` and the CPU quota of a container); spiking points share one build,
    serially."""
    from joblib import cpu_count

    return cpu_count() if set(backends) <= {"rate", "graph"} else 1


def backend_gap(frame: pd.DataFrame, protocol: Protocol, values: dict) -> dict:
    """Largest absolute difference of the seed-averaged metric between backends, over the
    points both backends ran.  A parameter that one backend leaves empty does not tell points
    apart where the other backend has one value of it (the spiking backend's noise
    parameters; a rate gain such as beta that a spiking circuit sets by its own gains)."""
    ignored = ("seeds", "backend", *SPIKING_NOISE_PARAMETERS)
    keys = [name for name in values if name not in ignored] + list(protocol.compare_on)
    keys = [k for k in dict.fromkeys(keys) if k in frame.columns and not _one_sided(frame, k)]
    means = frame.groupby(keys + ["backend"], dropna=False)[protocol.metric].mean().unstack("backend")
    means = means[means.notna().sum(axis=1) >= 2]
    if means.shape[1] < 2 or means.empty:
        return {}
    gap = (means.max(axis=1) - means.min(axis=1)).abs()
    return {f"max_abs_{protocol.metric}_gap": float(gap.max()),
            f"mean_abs_{protocol.metric}_gap": float(gap.mean())}


def _one_sided(frame: pd.DataFrame, column: str) -> bool:
    """Whether some backend leaves ``column`` empty while the others have one value of it."""
    filled = frame.groupby("backend")[column].agg(lambda c: c.dropna().astype(str).nunique())
    return bool((filled == 0).any() and (filled <= 1).all())


def note(message: str) -> None:
    """One line of information for the user, on stderr (results go to stdout), on a line of
    its own above any progress bar (tqdm.write clears the bars and draws them again)."""
    from tqdm.auto import tqdm

    tqdm.write(f"neurosim: {message}", file=sys.stderr)


def available_memory() -> float:
    """Bytes of memory available to a new point (Linux MemAvailable, else the
    physical memory, else unlimited)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return float("inf")


def human_bytes(count: float) -> str:
    unit = "B"
    for larger in ("kB", "MB", "GB", "TB", "PB"):
        if count < 1000:
            break
        count, unit = count / 1000, larger
    return f"{count:.0f} B" if unit == "B" else f"{count:.1f} {unit}"


def human_seconds(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def describe(point: dict) -> str:
    """A point as NAME=VALUE words (parameters it does not use left out)."""
    def text(value):
        if isinstance(value, tuple):
            return ",".join(map(str, value)) if len(value) <= 4 else \
                f"{value[0]},...,{value[-1]} ({len(value)} values)"
        return f"{value:g}" if isinstance(value, float) else str(value)

    return " ".join(f"{name}={text(value)}" for name, value in point.items() if value is not None)


def check_estimates(protocol: Protocol, points: list[dict], jobs: int, available: float) -> int:
    """Refuse a point whose estimated memory exceeds the ``available`` bytes, run
    fewer points at a time where ``jobs`` of them would not fit, and warn before
    points that will run longer than LONG_POINT_S. Returns the workers to use."""
    if protocol.estimate is None or not points:
        return jobs
    estimates = [(point, protocol.estimate(point)) for point in points]
    for point, estimate in estimates:
        if estimate.memory_bytes is not None and estimate.memory_bytes > available:
            raise ParameterError(
                f"point {describe(point)} needs about {human_bytes(estimate.memory_bytes)} of "
                f"memory (estimate), more than the {human_bytes(available)} available; "
                "make it smaller (N, T, R, steps or seeds)")
    largest = max(estimate.memory_bytes or 0 for _, estimate in estimates)
    fitting = max(1, int(available // largest)) if largest and available < float("inf") else jobs
    if fitting < min(jobs, len(points)):
        note(f"running {fitting} point(s) at a time: each needs up to about "
             f"{human_bytes(largest)} of the {human_bytes(available)} of memory available")
        jobs = fitting
    long = [(estimate.seconds, point) for point, estimate in estimates
            if estimate.seconds is not None and estimate.seconds > LONG_POINT_S]
    if long:
        seconds, point = max(long, key=lambda item: item[0])
        note(f"{len(long)} point(s) will run longer than {LONG_POINT_S:.0f} s; the longest, "
             f"{describe(point)}, about {human_seconds(seconds)} on one core (estimate)")
    return jobs


def brian2_device(backends: list[str], device: str) -> str | None:
    """The Brian2 device a run used: ``device`` where a Brian2 backend ran, else None (the rate
    and graph backends run numpy, torch or networkx on the CPU whatever ``--device`` says)."""
    return device if set(backends) & set(RECORDING_BACKENDS) else None


def foreign_points(out: Path, name: str, store: ResultStore, ids: set[str],
                   values: dict, seed: int, device: str) -> str | None:
    """Why ``out`` cannot take this grid, or None. A result folder holds one
    protocol and one grid: it may resume the grid it holds, or grow into a grid
    that contains it, but never mixes in another protocol's or another grid's
    rows (their summary and figure would describe only one of them)."""
    summary = read_summary(out)
    if summary and summary.get("protocol") != name:
        return f"--out {out} holds results of protocol {summary.get('protocol')}; choose another folder"
    extra = store.done - ids
    if not extra:
        return None
    if summary is None:
        return (f"--out {out} holds {len(extra)} point(s) that are not in this grid "
                "(an interrupted run of another grid or protocol); choose another folder")
    here = {**json.loads(json.dumps(values, default=str)), "seed": seed}
    there = {**summary.get("parameters", {}), "seed": summary.get("seed")}
    if brian2_device(values["backend"], device):          # the device matters to Brian2 runs only
        here["device"], there["device"] = device, summary.get("device")
    differ = [key for key in dict.fromkeys([*there, *here]) if there.get(key) != here.get(key)]

    def show(grid):
        return " ".join(f"{key}={_listed(grid.get(key))}" for key in differ)

    what = f" ({show(there)}; this run: {show(here)})" if differ else ""
    return (f"--out {out} holds {name} results of another grid{what}; choose another folder "
            "(a folder resumes its grid or grows by new points, it never mixes grids)")


def _listed(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


@dataclass
class PreparedRun:
    """A protocol run checked against every bad input, ready to execute; nothing
    has been simulated or written yet."""

    protocol: Protocol
    values: dict
    points: list[dict]
    out: Path
    seed: int
    device: str
    jobs: int
    scheduler: str | None
    record: bool
    progress: bool

    def resume_key(self, point: dict) -> str:
        """A point's records depend on the root seed and, off the rate backends, the device."""
        simulated = point["backend"] not in ("rate", "graph")
        return point_id({**point, "root_seed": self.seed,
                         "device": self.device if simulated else None})

    def execute(self) -> dict:
        """Run the pending points into ``out``; write the summary and figure; return the summary."""
        started = time.perf_counter()
        protocol, points, out, seed = self.protocol, self.points, self.out, self.seed
        store = ResultStore(out)
        done = store.done
        pending = [p for p in points if self.resume_key(p) not in done]
        if len(pending) < len(points):
            note(f"resuming {out}: {len(points) - len(pending)} of {len(points)} points "
                 f"already measured, {len(pending)} to run")
        task = PointTask(protocol.name, self.device, str(out / "record") if self.record else None,
                         self.progress and (len(pending) == 1 or self.jobs == 1)
                         and not self.scheduler)
        from tqdm.auto import tqdm

        with tqdm(total=len(points), initial=len(points) - len(pending), desc=protocol.name,
                  unit="point", disable=not self.progress or not pending, leave=False) as bar:
            # closed (and cleared) on an error too, so the error line starts a clean line
            for point, records in execute(task, pending, seed, jobs=self.jobs,
                                          scheduler=self.scheduler,
                                          shared=protocol.shared_streams
                                          + SPIKING_NOISE_PARAMETERS):
                store.add(point, [{**record, "root_seed": seed} for record in records],
                          self.resume_key(point))
                bar.update()
        store.reorder([self.resume_key(p) for p in points])
        frame = store.frame
        headline = protocol.summarize(frame, self.values)
        if len(self.values["backend"]) > 1:
            headline.update(backend_gap(frame, protocol, self.values))
        headline.update(physiology.headline(frame))
        paper = {key: value for key, value in protocol.paper.items() if key in headline}
        summary = {"protocol": protocol.name, "figure": protocol.figure,
                   "description": protocol.description, "headline": headline, "paper": paper,
                   "difference_to_paper": {key: round(headline[key] - value, 4)
                                           for key, value in paper.items()},
                   "notes": protocol.notes,
                   "parameters": self.values, "seed": seed,
                   "device": brian2_device(self.values["backend"], self.device),
                   "points": len(points), "resumed_points": len(points) - len(pending),
                   "elapsed_s": round(time.perf_counter() - started, 3), "versions": versions()}
        write_summary(out, summary)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure = protocol.plot(frame, self.values)
        atomic_save_figure(figure, out / FIGURE)
        plt.close(figure)
        return summary


def prepare_run(name: str, overrides: dict[str, str] | None = None, *,
                backends: tuple[str, ...] | None = None, out: str | os.PathLike = "results",
                seed: int = 0, jobs: int | None = None, scheduler: str | None = None,
                device: str = DEFAULT_DEVICE, record: bool = False,
                progress: bool = True) -> PreparedRun:
    """Check a run against every bad input before anything runs or is written:
    the protocol, its optional dependencies, backends, device, seed, jobs,
    ``--record``, the parameters, the result folder (writable, holding no other
    protocol or grid) and each point's estimated memory."""
    protocol = get_protocol(name)
    missing = protocol.missing_requirement()
    if missing:
        raise ParameterError(missing)
    backends = tuple(backends or protocol.backends[:1])
    if len(set(backends)) < len(backends):
        raise ParameterError(f"backends {', '.join(backends)}: each backend once (a compare "
                             "needs two different realizations)")
    for backend in backends:
        if backend not in protocol.backends:
            raise ParameterError(f"protocol {name} has no {backend!r} backend; "
                                 f"available: {', '.join(protocol.backends)}")
    if device not in DEVICES:
        raise ParameterError(f"unknown device {device!r}; choose from {', '.join(DEVICES)}")
    if seed < 0:
        raise ParameterError(f"--seed must be >= 0 (got {seed})")
    if jobs is not None and jobs < 1:
        raise ParameterError(f"--jobs must be >= 1 (got {jobs})")
    if record and not set(backends) & set(RECORDING_BACKENDS):
        raise ParameterError(f"--record needs a {' or '.join(RECORDING_BACKENDS)} backend "
                             f"(got {', '.join(backends)})")
    if record:
        require_pynwb()
    if device == "cuda" and set(backends) - {"rate", "graph"}:
        require_cuda()
    values = {"backend": list(backends), **protocol.resolve(overrides or {})}
    points, left_out = protocol.compared_points(values)
    for backend, reason in left_out.items():
        note(f"{backend} runs the points it realizes and leaves out the others ({reason})")
    out = Path(out)
    check_writable(out)
    check_result_folder(out)
    run = PreparedRun(protocol, values, points, out, seed, device,
                      jobs or default_jobs(backends), scheduler, record, progress)
    store = ResultStore(out)
    problem = foreign_points(out, name, store, {run.resume_key(p) for p in points},
                             values, seed, device)
    if problem:
        raise ParameterError(problem)
    pending = [p for p in points if run.resume_key(p) not in store.done]
    remote = scheduler not in (None, "local")     # a cluster's workers have their own memory
    run.jobs = check_estimates(protocol, pending, run.jobs,
                               float("inf") if remote else available_memory())
    return run


def run_protocol(name: str, overrides: dict[str, str] | None = None, **options) -> dict:
    """Run (or resume) ``name`` into ``out`` and return its summary; ``options``
    as for :func:`prepare_run` (``backends`` defaults to the protocol's first)."""
    return prepare_run(name, overrides, **options).execute()
