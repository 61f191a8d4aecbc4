"""Shared pieces of the key-value memory protocols (Tyulmankov et al. 2021):
the model registry, common parameters, running a model on a stream on either
backend, and plotting helpers."""
from __future__ import annotations

import numpy as np
import pandas as pd

from neurosim.circuits.hebbian import HebbianMemory
from neurosim.circuits.key_value import KeyValueMemory
from neurosim.events import EventStream
from neurosim.gates import GATE_POLICIES, gate_probability, make_gates
from neurosim.protocol import (Estimate, Param, ParameterError, RunContext, fraction_below_one,
                               positive)

MODELS = ("kv", "tvt", "hopfield", "bam")
TVT_READ_STRENGTH = 20.0


def probability_or_fraction_of_N(value: str) -> str | None:
    text = value.replace(" ", "")
    per_N = text.endswith("/N")
    try:
        number = float(text[:-2] if per_N else text)
    except ValueError:
        return "must be a number in [0, 1] or k/N such as 4/N"
    if per_N:
        return None if number > 0 else "k in k/N must be > 0"
    return None if 0 <= number <= 1 else "must lie in [0, 1]"


def dimension(value: str) -> str | None:
    if value == "N":
        return None
    return None if value.isdigit() and int(value) > 0 else "must be a positive integer or N"


def common_params(**defaults) -> dict[str, Param]:
    """Parameters shared by the key-value protocols, with per-protocol defaults."""
    params = {
        "model": Param(defaults.get("model", ["kv", "hopfield"]), str,
                       "circuit: kv (three-factor key-value), tvt (slot memory), "
                       "hopfield, bam", choices=MODELS),
        "gate": Param(defaults.get("gate", ["sequential", "random"]), str,
                      "local third factor of kv: sequential | random", choices=GATE_POLICIES),
        "p": Param(defaults.get("p", "0.1"), str,
                   "random gate probability: a number (paper: 0.1) or k/N (4/N = 0.1 at N = 40)",
                   check=probability_or_fraction_of_N),
        "N": Param(defaults.get("N", 40), int, "hidden units (memory slots)", check=positive),
        "d": Param(defaults.get("d", "N"), str, "input dimension (N: same as N)",
                   check=dimension),
        "occlusion": Param(defaults.get("occlusion", 0.6), float,
                           "fraction of query entries set to 0", check=fraction_below_one),
        "seeds": Param(defaults.get("seeds", 10), int, "independent trials per point",
                       check=positive),
    }
    for name, value in defaults.items():
        if name not in params:
            raise KeyError(name)
    return params


def canonical(point: dict) -> dict:
    """Parameters that a point's model does not use become None; a random gate
    probability given as k/N must be a probability at the point's N."""
    point = dict(point)
    if point.get("model") not in ("kv",):
        point["gate"] = None
    if point.get("gate") != "random":
        point["p"] = None
    elif not 0 <= gate_probability(point["p"], point["N"]) <= 1:
        raise ParameterError(f"parameter p: {point['p']} gives "
                             f"{gate_probability(point['p'], point['N']):g} at N = {point['N']}, "
                             "not a probability in [0, 1]")
    return point


def resolve_d(point: dict) -> int:
    return point["N"] if point["d"] == "N" else int(point["d"])


def model_label(frame: pd.DataFrame) -> pd.Series:
    gate = frame["gate"].fillna("") if "gate" in frame else ""
    return frame["model"] + np.where(gate != "", "-" + gate.astype(str), "")


def build_rate_model(point: dict, *, stability: bool = False, decay: float = 1.0,
                     flashbulb_strength: float | None = None, max_iterations: int = 100):
    model = point["model"]
    if model == "kv":
        return KeyValueMemory(point["N"], stability=stability)
    if model == "tvt":
        return KeyValueMemory(point["N"], beta=TVT_READ_STRENGTH, similarity="cosine",
                              value_write="slot", stability=stability)
    return HebbianMemory(bidirectional=model == "bam", decay=decay,
                         flashbulb_strength=flashbulb_strength, max_iterations=max_iterations)


def add_gates(point: dict, stream: EventStream, rng: np.random.Generator) -> EventStream:
    """Draw the local third factors of a slot model (TVT writes sequentially)."""
    if point["model"] == "kv":
        return stream.with_gates(make_gates(point["gate"], rng, stream.batch, stream.steps,
                                            point["N"], point["p"]))
    if point["model"] == "tvt":
        return stream.with_gates(make_gates("sequential", rng, stream.batch, stream.steps,
                                            point["N"]))
    return stream


def run_model(point: dict, stream: EventStream, rng: np.random.Generator, context: RunContext,
              **model_options) -> np.ndarray:
    """Readout y~ (B, T, m) of the point's model on ``stream``, on the context's backend."""
    stream = add_gates(point, stream, rng)
    if context.backend == "rate":
        return build_rate_model(point, **model_options).run(stream)
    if context.backend == "spiking":
        from neurosim.circuits.spiking_runner import run_spiking

        return run_spiking(point, stream, context, **model_options)
    raise ParameterError(f"backend {context.backend!r} is not available for this protocol")


def trial_records(seeds: int, **columns) -> list[dict]:
    """One record per trial: trial i has seed index i % seeds (trials are laid
    out as [inner value 0 x seeds, inner value 1 x seeds, ...])."""
    arrays = {name: np.asarray(values) for name, values in columns.items()}
    count = len(next(iter(arrays.values())))
    return [{"seed": i % seeds, **{name: a[i].item() for name, a in arrays.items()}}
            for i in range(count)]


def rngs(seed: np.random.SeedSequence, count: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in seed.spawn(count)]


def accuracy_curve_plot(frame: pd.DataFrame, x: str, y: str = "accuracy", *, by=None,
                        title: str = "", xlabel: str | None = None, ax=None):
    """Mean +- s.e.m. over seeds of ``y`` against ``x``, one line per model (and ``by``)."""
    import matplotlib.pyplot as plt

    if ax is None:
        figure, ax = plt.subplots(figsize=(5.5, 4))
    frame = frame.assign(_label=model_label(frame))
    groups = ["_label"] + ([by] if by else []) + (["backend"] if frame["backend"].nunique() > 1 else [])
    for key, group in frame.groupby(groups, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        stats = group.groupby(x)[y].agg(["mean", "sem"]).reset_index()
        name = " ".join(str(k) if i == 0 else f"{groups[i]}={k}" for i, k in enumerate(key))
        line = ax.plot(stats[x], stats["mean"], marker="o", ms=3, label=name,
                       ls="--" if "spiking" in key else "-")[0]
        ax.fill_between(stats[x], stats["mean"] - stats["sem"].fillna(0),
                        stats["mean"] + stats["sem"].fillna(0), color=line.get_color(), alpha=0.2)
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(y)
    ax.set_title(title)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return ax.figure


LOOP_STEP_S = 1.5e-4     # Python work of one sequential step of a rate circuit (measured)
PRODUCT_S = 1e-9         # seconds per multiply-add of the small batched products (measured)


def stream_shape(point: dict) -> tuple[int, int]:
    """(trials B, steps S) of a point's stream: a recall task stores and queries
    max(T) items, a continual task runs max(steps, 20 max(R)) steps, and the
    capacity search probes up to about twice the capacity: 2N items for a slot
    memory with sequential gates (C ~ N), N/2 for the others (C < 0.2 N)."""
    seeds = point["seeds"]
    if point.get("R") is not None:
        return seeds * len(point["R"]), max(point["steps"], 20 * max(point["R"]))
    if point.get("T") is not None:
        return seeds * len(point["T"]), 2 * max(point["T"])
    slots = point["model"] in ("kv", "tvt") and point.get("gate") != "random"
    return seeds, (4 if slots else 1) * point["N"]


def estimate(point: dict) -> Estimate:
    """Peak memory and rate-backend run time of a point. Against tracemalloc's
    peak the memory is 1.05-1.8x (never below) at N = 40-400, T = 500-2000; the
    time is within about 3x of a clock (it only decides a warning).

    Memory: the stream, its occluded queries and the readout, about
    8 B S (1.8 (d + m + N)) bytes for a key-value model and 8 B S (3.2 (d + m))
    for a Hebbian one (whose recall iterates on B x S x d arrays), plus the
    weights. Time: a Python step per storage step (the whole stream for the
    continual tasks) costing LOOP_STEP_S plus its B x weights products, and the
    batched reads (Hebbian recall: about 3 synchronous iterations). The
    capacity search costs about 1 + log2(N) / 2 such streams (doubling, then
    bisection)."""
    B, S = stream_shape(point)
    d = resolve_d(point)
    m = point.get("m") or d
    N = point["N"]
    hebbian = point["model"] in ("hopfield", "bam")
    weights = d * m if hebbian else N * (d + m)
    memory = 8.0 * B * (S * (3.2 * (d + m) if hebbian else 1.8 * (d + m + N)) + weights)
    if point.get("backend", "rate") != "rate":
        return Estimate(memory_bytes=memory)
    continual = point.get("R") is not None
    loop_steps = 0 if hebbian and not continual else (S if continual else S // 2)
    reads = (3 if hebbian else 1) * B * S * weights
    seconds = loop_steps * (LOOP_STEP_S + PRODUCT_S * B * weights) + PRODUCT_S * reads
    if point.get("T") is None and not continual:
        seconds *= 1 + np.log2(N) / 2
    return Estimate(memory_bytes=memory, seconds=seconds)
