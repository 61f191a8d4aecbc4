"""Dispatch of the spiking backend: ``run_spiking(point, stream, context, **options)``
returns the readout y~ (B, T, m) of the point's model, like the rate circuits.

Models: ``kv`` -> :class:`~neurosim.circuits.kv_spiking.SpikingKeyValueMemory`,
``tvt`` -> the same circuit with TVT's cosine read (beta = 20) and slot writes,
``hopfield`` and ``bam`` -> :class:`~neurosim.circuits.hopfield_spiking.SpikingHopfield`;
other models have no spiking realization (a one-line ParameterError).
``context.options`` may carry spiking settings: ``poisson`` (bool, input
trains), ``seed`` (Brian2 seed of the build). With ``context.record_dir`` set,
one store/recall episode (the stream's first trial) is also recorded, once
per model label, into that folder (see :mod:`neurosim.recording`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from neurosim.events import EventStream
from neurosim.protocol import ParameterError, RunContext

SPIKING_MODELS = ("kv", "tvt", "hopfield", "bam")


def build_spiking_model(point: dict, device: str, *, stability: bool = False,
                        decay: float = 1.0, flashbulb_strength: float | None = None,
                        max_iterations: int = 100, value_write: str = "gated",
                        options: dict | None = None):
    options = options or {}
    model = point["model"]
    if model == "kv":
        from .kv_spiking import SpikingKeyValueMemory

        return SpikingKeyValueMemory(point["N"], stability=stability, value_write=value_write,
                                     device=device, poisson=bool(options.get("poisson", False)),
                                     seed=int(options.get("seed", 0)))
    if model in ("hopfield", "bam"):
        from .hopfield_spiking import SpikingHopfield

        if max_iterations < 1:
            raise ParameterError(f"spiking {model}: max_iterations = 0 (one-step readout) "
                                 "is not available on spiking")
        return SpikingHopfield(bidirectional=model == "bam", decay=decay,
                               flashbulb_strength=flashbulb_strength,
                               device=device, seed=int(options.get("seed", 0)))
    if model == "tvt":
        from neurosim.protocols._kv import TVT_READ_STRENGTH

        from .kv_spiking import SpikingKeyValueMemory

        return SpikingKeyValueMemory(point["N"], beta=TVT_READ_STRENGTH, similarity="cosine",
                                     value_write="slot", stability=stability, device=device,
                                     poisson=bool(options.get("poisson", False)),
                                     seed=int(options.get("seed", 0)))
    raise ParameterError(f"model {model!r} is not available on spiking "
                         f"(spiking models: {', '.join(SPIKING_MODELS)})")


def run_spiking(point: dict, stream: EventStream, context: RunContext, **model_options) -> np.ndarray:
    model = build_spiking_model(point, context.device, options=context.options, **model_options)
    y_hat = model.run(stream)
    if context.record_dir:
        record_episode(point, model, stream, Path(context.record_dir))
    return y_hat


def episode(stream: EventStream, trial: int = 0, max_steps: int = 16) -> EventStream:
    """A short store/recall episode of one trial: up to max_steps // 2 stores
    and the queries of those items (scored steps kept as in the stream)."""
    from dataclasses import replace

    stores = np.flatnonzero(stream.q[trial] > 0)[: max_steps // 2]
    queries = np.flatnonzero(stream.query[trial])[: max_steps // 2]
    steps = np.concatenate([stores, queries]) if len(stores) else np.arange(min(max_steps, stream.steps))
    take = lambda a: None if a is None else a[trial:trial + 1, steps]
    return replace(stream, x=take(stream.x), y=take(stream.y), q=take(stream.q),
                   query=take(stream.query), gate=take(stream.gate), feedback=None, info={})


def record_episode(point: dict, model, stream: EventStream, folder: Path) -> Path | None:
    from neurosim.protocols._kv import label
    from neurosim.recording import save_recording

    name = label(point) + f"_N{point.get('N', '')}"
    if (folder / f"{name}.npz").exists():
        return None
    short = episode(stream)
    y_hat = model.run(short, record=True)
    return save_recording(folder, name, model.recorded, short, y_hat)
