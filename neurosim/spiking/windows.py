"""Presentation windows: how a spiking circuit turns an event stream into one Brian2 run.

Each step t of an :class:`~neurosim.events.EventStream` becomes a window of fixed duration;
the stream's arrays become TimedArrays with one row per window (``window_rows``), so one build
(one compiled binary per *shape*) serves every stream of that shape through ``run_args``.
Builds are cached per shape, so batches are padded to multiples of 16 trials and step counts to
powers of two (:func:`padded`, :func:`padded_steps`; padding is silent: x = 0, q = 0, no
scoring), and a run stops after the stream's own windows (the padding windows of a build are
never simulated).  The readout is measured like a lab would, from spike monitors: spikes are counted
per neuron and window in an analysis window (:func:`window_counts`); no counter, reset or clock
inside the network stands in for it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.errors import ParameterError


def window_rows(a: np.ndarray) -> np.ndarray:
    """(B, steps, n) -> (steps, B * n): one TimedArray row per window, trial-major columns."""
    return np.ascontiguousarray(a.transpose(1, 0, 2).reshape(a.shape[1], -1))


@dataclass(frozen=True)
class Windows:
    """A presentation window of a read phase and a store phase (ms), on a clock of dt_ms.
    The readout counts spikes in [settle_ms, read_ms) of each window."""

    dt_ms: float = 0.1
    read_ms: float = 40.0
    settle_ms: float = 10.0
    store_ms: float = 50.0

    def __post_init__(self):
        for name in ("dt_ms", "read_ms", "store_ms"):
            if not getattr(self, name) > 0:
                raise ParameterError(f"window {name} must be > 0")
        if not 0 <= self.settle_ms < self.read_ms:
            raise ParameterError("settle_ms must lie in [0, read_ms)")
        for name in ("read_ms", "settle_ms", "store_ms"):
            self.steps(getattr(self, name))

    def steps(self, ms: float) -> int:
        count = ms / self.dt_ms
        if abs(count - round(count)) > 1e-9:
            raise ParameterError(f"{ms} ms is not a multiple of dt = {self.dt_ms} ms")
        return int(round(count))

    @property
    def window_ms(self) -> float:
        return self.read_ms + self.store_ms


def padded(batch: int, device: str) -> int:
    """Standalone builds are cached per shape: the batch is rounded up to a multiple of 16
    (padding trials are silent; a single trial stays one) so that a sweep re-uses few builds."""
    if device == "runtime" or batch == 1:
        return batch
    return -(-batch // 16) * 16


def padded_steps(steps: int, device: str) -> int:
    """Standalone: steps rounded up to a power of two (at least 16), above 256 to a multiple of
    256 (padding windows are silent, q = 0)."""
    if device == "runtime":
        return steps
    return max(16, 1 << (steps - 1).bit_length()) if steps <= 256 else -(-steps // 256) * 256


def window_counts(times_s: np.ndarray, indices: np.ndarray, n: int, steps: int,
                  windows: Windows, start_ms: float, stop_ms: float) -> np.ndarray:
    """Spike counts (n, steps) of neurons 0..n-1 in [start_ms, stop_ms) of every window."""
    window_s = windows.window_ms * 1e-3
    step = np.floor(times_s / window_s + 1e-9).astype(int)
    offset_ms = (times_s - step * window_s) * 1e3
    keep = (offset_ms >= start_ms - 1e-9) & (offset_ms < stop_ms - 1e-9) & (step < steps) \
        & (indices < n)
    counts = np.zeros((n, steps))
    np.add.at(counts, (indices[keep], step[keep]), 1)
    return counts


def run_circuit(model, shape: dict, values: dict, record: bool,
                stop: tuple[int, Windows] | None = None) -> dict:
    """Build-or-reuse and run ``model`` (a spiking circuit with ``build`` and ``run_args``) on
    ``model.device``; returns its object handles (after the run).  ``stop`` = (steps, windows):
    a cpp_standalone run ends after the stream's own ``steps`` windows, the padding windows of
    the build (:func:`padded_steps`) are not simulated."""
    from neurosim.spiking import devices

    if model.device == "runtime":
        import brian2

        devices.use_runtime()
        brian2.start_scope()
        brian2.defaultclock.dt = shape["dt_ms"] * brian2.ms
        brian2.seed(model.seed)
        handles = model.build(shape, values, record=record)
        handles["net"].run(shape["duration_ms"] * brian2.ms, namespace={})
        return handles
    devices.check_device(model.device)
    if model.device == "cuda":
        shape = {**shape, "noise_seed": model.seed}
        stop = None
    if stop is not None:
        shape = {**shape, "stop_check_ms": stop[1].window_ms}

    def builder(s: dict) -> dict:
        from brian2 import ms

        objects = model.build(s, None, record=s["record"])
        if stop is not None:
            objects["run_until"] = devices.stop_from_run_args(objects["net"],
                                                              s["stop_check_ms"] * ms)
        return objects

    build = devices.CACHE.get(type(model).__name__, model.device, shape, builder)
    extra = {} if stop is None else devices.stop_args(build.objects, stop[0] * stop[1].window_ms)
    devices.CACHE.run(build, {**model.run_args(build.objects, values),
                              **devices.seed_args(build.objects, model.seed), **extra})
    return build.objects
