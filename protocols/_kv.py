"""Shared pieces of the key-value memory protocols (Tyulmankov et al. 2021):
the model registry, common parameters, running a model on a stream on either
backend, and plotting helpers."""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from neurosim.circuits.hopfield.rate import HebbianMemory
from neurosim.circuits.key_value.rate import KeyValueMemory
from neurosim.events import EventStream
from neurosim.memory.gates import GATE_POLICIES, gate_probability, make_gates
from neurosim.memory.patterns import OCCLUSION_MODES
from neurosim.errors import ParameterError
from neurosim.protocol import (SPIKING_NOISE_PARAMETERS, Estimate, Param, RunContext,
                               fraction_below_one, non_negative, positive)

INPUT_TRAINS = ("poisson", "regular")
TVT_READ_STRENGTH = 20.0
PAPER_P = "0.1"
AXIS_LABELS = {"accuracy": "recall accuracy (eq. 18)",
               "accuracy_flashbulb": "flashbulb recall accuracy (eq. 18)",
               "flashbulb_strength": "strength"}


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
    return None if value.isdecimal() and int(value) > 0 else "must be a positive integer or N"


def common_params(**defaults) -> dict[str, Param]:
    """Parameters shared by the key-value protocols, with per-protocol defaults."""
    params = {
        "model": Param(defaults.get("model", ["kv", "hopfield"]), str,
                       "circuit: kv (three-factor key-value), tvt (slot memory), "
                       "hopfield, bam", choices=tuple(RATE_MODELS)),
        "gate": Param(defaults.get("gate", ["sequential", "random"]), str,
                      "local third factor of kv: sequential | random", choices=GATE_POLICIES),
        "p": Param(defaults.get("p", PAPER_P), str,
                   "random gate probability: a number (paper: 0.1) or k/N (4/N = 0.1 at N = 40)",
                   check=probability_or_fraction_of_N),
        "N": Param(defaults.get("N", 40), int, "hidden units (memory slots)", check=positive),
        "d": Param(defaults.get("d", "N"), str, "input dimension (N: same as N)",
                   check=dimension),
        "occlusion": Param(defaults.get("occlusion", 0.6), float,
                           "fraction of query entries set to 0", check=fraction_below_one),
        "occlusion_mode": Param(defaults.get("occlusion_mode", "bernoulli"), str,
                                "bernoulli: each query entry set to 0 with probability "
                                "occlusion (the paper's code) | exact: round(occlusion d) "
                                "entries of every query", choices=OCCLUSION_MODES),
        "seeds": Param(defaults.get("seeds", 10), int, "independent trials per point",
                       check=positive),
        **spiking_noise_params(defaults.get("input", "poisson"), defaults.get("seed_noise", 0)),
    }
    for name, value in defaults.items():
        if name not in params:
            raise KeyError(name)
    return params


def spiking_noise_params(input_trains: str = "poisson", seed_noise: int = 0) -> dict[str, Param]:
    """The spiking backend's noise parameters (``SPIKING_NOISE_PARAMETERS``)."""
    return {
        "input": Param(input_trains, str, "spiking backend: input trains, poisson | regular",
                       choices=INPUT_TRAINS),
        "seed_noise": Param(seed_noise, int,
                            "spiking backend: offset of the noise seed (0: drawn from the "
                            "point's seed; any other value gives other spikes on the same "
                            "streams)", check=non_negative),
    }


def without_spiking_noise(point: dict) -> dict:
    """Off the spiking backend the noise parameters are unused (None)."""
    point = dict(point)
    if point.get("backend", "spiking") != "spiking":
        point.update({name: None for name in SPIKING_NOISE_PARAMETERS if name in point})
    return point


def canonical(point: dict) -> dict:
    """Parameters that a point's model does not use become None; a random gate
    probability given as k/N must be a probability at the point's N; a query
    must show at least one entry."""
    point = without_spiking_noise(point)
    if point.get("occlusion") is not None:
        d = resolve_d(point)
        if round(point["occlusion"] * d) >= d:
            raise ParameterError(f"parameter occlusion: {point['occlusion']:g} hides all {d} "
                                 f"entries of a query at d = {d}, leaving nothing to recall "
                                 "from; lower occlusion or raise d (or N)")
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


def occlusion_options(point: dict) -> dict:
    """The point's query occlusion as keyword arguments of the stream generators."""
    return {"occlusion": point["occlusion"], "occlusion_mode": point["occlusion_mode"]}


def _p_suffix(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = f"{value:g}" if isinstance(value, (int, float)) else str(value)
    return "" if text == PAPER_P else f"-p{text}"


def model_label(frame: pd.DataFrame) -> pd.Series:
    """kv-sequential, kv-random (kv-random-p4/N where p is not the paper's
    0.1), tvt, hopfield, bam; with -exact for exact occlusion (the paper's
    code, and the default, occlude each entry with a probability)."""
    gate = frame["gate"].astype(object).fillna("") if "gate" in frame else ""
    label = frame["model"] + np.where(gate != "", "-" + gate.astype(str), "")
    if "p" in frame:
        label = label + frame["p"].map(_p_suffix)
    if "occlusion_mode" in frame:
        label = label + np.where(frame["occlusion_mode"] == "exact", "-exact", "")
    return label


def curves(frame: pd.DataFrame, *columns: str, labels: pd.Series | None = None):
    """Yield ``(key, values, group)``: one curve per model label (or
    ``labels``), value of ``columns`` and backend; ``key`` is the label, with
    the backend appended where the frame holds several."""
    several = frame["backend"].nunique() > 1
    labels = model_label(frame) if labels is None else labels
    for (label, *values, backend), group in frame.groupby([labels, *columns, "backend"]):
        yield (f"{label}_{backend}" if several else label), values, group


def accuracy_at(group: pd.DataFrame, Ts, prefix: str) -> dict:
    """Headline entries ``{prefix}_accuracy_T{T}``: mean accuracy at each T of
    ``Ts`` that the group measured."""
    means = group.groupby("T")["accuracy"].mean()
    return {f"{prefix}_accuracy_T{T}": round(float(means[T]), 4) for T in Ts if T in means.index}


def paper_accuracies(table: dict, Ts, prefix: str = "{label}_N40") -> dict:
    """Paper values keyed like ``accuracy_at``'s headline: ``table`` maps a
    model label to its accuracies at ``Ts``; ``prefix`` is formatted with it."""
    return {f"{prefix.format(label=label)}_accuracy_T{T}": accuracy
            for label, accuracies in table.items() for T, accuracy in zip(Ts, accuracies)}


def _key_value(point: dict, *, stability: bool = False, **_) -> KeyValueMemory:
    return KeyValueMemory(point["N"], stability=stability)


def _tvt(point: dict, *, stability: bool = False, **_) -> KeyValueMemory:
    """TVT's slot memory (the paper's appendix B): slot value writes, a sharp cosine read."""
    return KeyValueMemory(point["N"], beta=TVT_READ_STRENGTH, similarity="cosine",
                          value_write="slot", stability=stability)


def _hebbian(point: dict, *, decay: float = 1.0, flashbulb_strength: float | None = None,
             max_iterations: int = 100, **_) -> HebbianMemory:
    return HebbianMemory(bidirectional=point["model"] == "bam", decay=decay,
                         flashbulb_strength=flashbulb_strength, max_iterations=max_iterations)


#: The rate models by name (the spiking ones: ``neurosim.protocols._spiking.SPIKING_CIRCUITS``).
RATE_MODELS = {"kv": _key_value, "tvt": _tvt, "hopfield": _hebbian, "bam": _hebbian}


def build_rate_model(point: dict, **model_options):
    """The point's rate model; ``model_options`` (stability, decay, flashbulb_strength,
    max_iterations) go to the models that have them."""
    return RATE_MODELS[point["model"]](point, **model_options)


def add_gates(point: dict, stream: EventStream, rng: np.random.Generator) -> EventStream:
    """Draw the local third factors of a slot model (TVT writes sequentially)."""
    if point["model"] == "kv":
        return stream.with_gates(make_gates(point["gate"], rng, stream.batch, stream.steps,
                                            point["N"], point["p"]))
    if point["model"] == "tvt":
        return stream.with_gates(make_gates("sequential", rng, stream.batch, stream.steps,
                                            point["N"]))
    return stream


@functools.cache
def blas_threads():
    """The BLAS libraries' thread pools (threadpoolctl), looked up once."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def run_model(point: dict, stream: EventStream, rng: np.random.Generator, context: RunContext,
              **model_options) -> np.ndarray:
    """Readout y~ (B, T, m) of the point's model on ``stream``, on the context's backend.
    The rate models run on one BLAS thread: their products are per trial and small
    (N x d), where BLAS threads cost more than they give (a capacity sweep ran 10x
    slower with two threads on two busy cores); --jobs spreads points over cores."""
    stream = add_gates(point, stream, rng)
    if context.backend == "rate":
        with blas_threads().limit(limits=1, user_api="blas"):
            return build_rate_model(point, **model_options).run(stream)
    if context.backend == "spiking":
        from neurosim.protocols._spiking import run_spiking

        return run_spiking(point, stream, context, rng, record_name(point), **model_options)
    raise ParameterError(f"backend {context.backend!r} is not available for this protocol")


def record_name(point: dict) -> str:
    """The name of a point's recording: its model label and N."""
    return f"{model_label(pd.DataFrame([point]))[0]}_N{point.get('N', '')}"


def trial_records(seeds: int, **columns) -> list[dict]:
    """One record per trial: trial i has seed index i % seeds (trials are laid
    out as [inner value 0 x seeds, inner value 1 x seeds, ...])."""
    arrays = {name: np.asarray(values) for name, values in columns.items()}
    count = len(next(iter(arrays.values())))
    return [{"seed": i % seeds, **{name: a[i].item() for name, a in arrays.items()}}
            for i in range(count)]


def rngs(seed: np.random.SeedSequence, count: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in seed.spawn(count)]


class CurveStyle:
    """Line styles shared by the key-value figures: one colour per curve (a
    model and its variant), the same colour solid for the rate and dashed for
    the spiking backend, and TVT drawn as a wide pale line with open squares
    beneath the others, so that the kv-sequential curve it equals stays
    visible on top of it."""

    def __init__(self):
        self.colors = {}

    def __call__(self, identity, model: str, backend: str) -> dict:
        color = self.colors.setdefault(identity, f"C{len(self.colors) % 10}")
        tvt = model == "tvt"
        return {"color": color, "ls": "--" if backend == "spiking" else "-",
                "marker": "s" if tvt else "o", "ms": 8 if tvt else 3,
                "mfc": "none" if tvt else color, "lw": 5.0 if tvt else 1.5,
                "alpha": 0.45 if tvt else 1.0, "zorder": 1 if tvt else 2}


def legend_outside(ax, handles_from=None) -> None:
    """Legend to the right of the axes, clear of the curves (with the lines
    of ``handles_from``, another axes, if given)."""
    handles, labels = (handles_from or ax).get_legend_handles_labels()
    ax.legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0)


def _value_text(column: str, value) -> str:
    shown = f"{value:g}" if isinstance(value, (int, float, np.number)) else str(value)
    return f"{AXIS_LABELS.get(column, column)} {shown}"


def accuracy_curve_plot(frame: pd.DataFrame, x: str, y: str = "accuracy", *, by=(),
                        title: str = "", xlabel: str | None = None, ax=None,
                        style: CurveStyle | None = None, legend: bool = True):
    """Mean +- s.e.m. over seeds of ``y`` against ``x``: one line per model
    label and value of the ``by`` columns (sorted by value); one colour per
    line, solid for rate and dashed for spiking (see :class:`CurveStyle`);
    the legend outside the axes unless ``legend`` is False."""
    import matplotlib.pyplot as plt

    if ax is None:
        figure, ax = plt.subplots(figsize=(7.5, 4))
    by = [by] if isinstance(by, str) else list(by)
    style = style or CurveStyle()
    several_backends = frame["backend"].nunique() > 1
    frame = frame.assign(_label=model_label(frame))
    for key, group in frame.groupby(["_label", *by, "backend"], dropna=False, sort=True):
        label, *values, backend = key
        name = ", ".join([label] + [_value_text(column, value) for column, value in zip(by, values)
                                    if not pd.isna(value)])
        name += f" ({backend})" if several_backends else ""
        identity = (label, *(None if pd.isna(value) else value for value in values))
        kwargs = style(identity, group["model"].iloc[0], backend)
        stats = group.groupby(x)[y].agg(["mean", "sem"]).reset_index()
        ax.plot(stats[x], stats["mean"], label=name, **kwargs)
        sem = stats["sem"].fillna(0)
        ax.fill_between(stats[x], stats["mean"] - sem, stats["mean"] + sem,
                        color=kwargs["color"], alpha=0.15, lw=0)
    seeds = frame["seed"].nunique()
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(AXIS_LABELS.get(y, y))
    ax.set_title(f"{title}\nlines: mean of {seeds} seeds; shaded band: +- 1 s.e.m.", fontsize=9)
    ax.grid(alpha=0.3)
    if legend:
        legend_outside(ax)
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
