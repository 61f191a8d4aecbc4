"""The spiking backend of the key-value protocols: ``run_spiking(point, stream, context, rng,
name)`` returns the readout y~ (B, T, m) of the point's model, like the rate circuits.

Spiking circuits are looked up in ``SPIKING_CIRCUITS`` by model name: ``kv`` ->
:class:`~neurosim.circuits.key_value.spiking.SpikingKeyValueMemory`, ``tvt`` -> the same circuit with
TVT's slot value write, ``hopfield`` / ``bam`` ->
:class:`~neurosim.circuits.hopfield.spiking.SpikingHopfield`.  Other models have no spiking
realization (a one-line ParameterError).  :func:`kernel_memory` gives the spiking dual-form
memories (softmax / threshold separations, the two-layer Hopfield network) with the same noise.

Noise: the point's ``input`` parameter chooses Poisson or regular input trains; the Brian2 noise
seed is drawn from the point's generator after its gates (so rate and spiking twins draw the
same gates) and offset by ``seed_noise``: another root seed or ``seed_noise`` gives other
spikes, the same command the same spikes.  Each run's physiology is appended to
``context.physiology``.  With ``context.record_dir`` set, one store/recall episode (the
stream's first trial) is also recorded, once per model label, into that folder
(:mod:`neurosim.spiking.recording`).
"""
from __future__ import annotations

from dataclasses import asdict, is_dataclass, replace
from pathlib import Path

import numpy as np

from neurosim.events import EventStream
from neurosim.errors import ParameterError
from neurosim.protocol import RunContext

NOISE_SEED_STRIDE = 1_000_003


def _key_value(point, device, seed, poisson, *, stability=False, value_write="gated", **_):
    from neurosim.circuits.key_value.spiking import KVCircuit, SpikingKeyValueMemory

    circuit = replace(KVCircuit(), poisson=poisson)
    return SpikingKeyValueMemory(point["N"], stability=stability, value_write=value_write,
                                 device=device, seed=seed, circuit=circuit)


def _tvt(point, device, seed, poisson, *, stability=False, **_):
    """TVT's slot memory (the paper's appendix B): slot value writes; the read is the same
    winner-take-all (the spiking circuit has no separate cosine read, see circuits/key_value/spiking.py)."""
    return _key_value(point, device, seed, poisson, stability=stability, value_write="slot")


def _hebbian(point, device, seed, poisson, *, decay=1.0, flashbulb_strength=None,
             max_iterations=100, **_):
    from neurosim.circuits.hopfield.spiking import HopfieldCircuit, SpikingHopfield

    if max_iterations < 1:
        raise ParameterError(f"spiking {point['model']}: max_iterations = 0 (a one-step readout) "
                             "is not available on spiking")
    return SpikingHopfield(bidirectional=point["model"] == "bam", decay=decay,
                           flashbulb_strength=flashbulb_strength, device=device, seed=seed,
                           circuit=replace(HopfieldCircuit(), poisson=poisson))


SPIKING_CIRCUITS = {"kv": _key_value, "tvt": _tvt, "hopfield": _hebbian, "bam": _hebbian}


def noise_seed(point: dict, rng: np.random.Generator) -> int:
    """The Brian2 seed of a run: drawn from the point's generator, offset by ``seed_noise``."""
    return int((int(rng.integers(2**31)) + NOISE_SEED_STRIDE * int(point.get("seed_noise") or 0))
               % 2**31)


def poisson_inputs(point: dict) -> bool:
    return (point.get("input") or "poisson") == "poisson"


def build_spiking_model(point: dict, device: str, seed: int = 0, **model_options):
    if point["model"] not in SPIKING_CIRCUITS:
        raise ParameterError(f"model {point['model']!r} is not available on spiking "
                             f"(spiking models: {', '.join(SPIKING_CIRCUITS)})")
    return SPIKING_CIRCUITS[point["model"]](point, device, seed, poisson_inputs(point),
                                            **model_options)


def kernel_memory(point: dict, slots: int, separation: str, context: RunContext,
                  rng: np.random.Generator, two_layer: bool = False):
    """The spiking dual-form memory of ``slots`` memory cells (circuits/kernel/spiking.py;
    ``two_layer``: the two-layer Hopfield network's feature readout,
    circuits/modern_hopfield/spiking.py) with the point's noise (input trains, noise seed)."""
    from neurosim.circuits.kernel.spiking import SpikingKernelMemory
    from neurosim.circuits.modern_hopfield.spiking import SpikingTwoLayerHopfield

    memory_class = SpikingTwoLayerHopfield if two_layer else SpikingKernelMemory
    memory = memory_class(slots, separation, device=context.device, seed=noise_seed(point, rng))
    memory.circuit = replace(memory.circuit, poisson=poisson_inputs(point))
    return memory


def run_logged(model, stream: EventStream, context: RunContext, name: str) -> np.ndarray:
    """Run a spiking ``model`` on ``stream``; its physiology goes to the context and, with a
    record folder, one episode is recorded under ``name``."""
    y_hat = model.run(stream)
    context.physiology.append(model.physiology)
    if context.record_dir:
        record_episode(name, model, stream, Path(context.record_dir))
    return y_hat


def run_spiking(point: dict, stream: EventStream, context: RunContext,
                rng: np.random.Generator, name: str, **model_options) -> np.ndarray:
    """The point's spiking model run on ``stream``, logged under ``name`` (:func:`run_logged`)."""
    model = build_spiking_model(point, context.device, noise_seed(point, rng), **model_options)
    return run_logged(model, stream, context, name)


def episode(stream: EventStream, trial: int = 0, max_steps: int = 16) -> EventStream:
    """A short store/recall episode of one trial: up to max_steps // 2 stores and the
    queries of those items (scored steps kept as in the stream)."""
    stores = np.flatnonzero(stream.q[trial] > 0)[: max_steps // 2]
    queries = np.flatnonzero(stream.query[trial])[: max_steps // 2]
    steps = np.concatenate([stores, queries]) if len(stores) else np.arange(min(max_steps, stream.steps))
    take = lambda a: None if a is None else a[trial:trial + 1, steps]
    return replace(stream, x=take(stream.x), y=take(stream.y), q=take(stream.q),
                   query=take(stream.query), gate=take(stream.gate), feedback=None, info={})


def record_episode(name: str, model, stream: EventStream, folder: Path) -> Path | None:
    """Record one episode of ``model`` into ``folder`` (once per ``name``)."""
    from neurosim.spiking.recording import save_recording

    if (folder / f"{name}.nwb").exists():
        return None
    short = episode(stream)
    y_hat = model.run(short, record=True)
    circuit = getattr(model, "circuit", None)
    parameters = {"model": type(model).__name__,
                  **(asdict(circuit) if is_dataclass(circuit) else {})}
    return save_recording(folder, name, model.recorded, short, y_hat, parameters)
