"""mhn-retrieval: recall in classical, dense and modern Hopfield networks
(Spens & Burgess, supplement A.2.2; Krotov & Hopfield 2016, 2020; Ramsauer et
al. 2020).

Each trial stores T random +-1 patterns of dimension d, each presented once
(q = 1 for one step: one-shot storage), then recalls ``queries`` of them
(chosen at random) from cues with a fraction ``noise`` of their entries
flipped. Every model meets the same streams (model, beta and degree are left
out of the point's seed). Models:
  classical   Hopfield 1982 (circuits/hopfield/rate.py: W = sum x x^T, sign dynamics)
  dense       eq. 2, F(z) = z**degree (Krotov & Hopfield 2016)
  modern      eq. 3, xi <- X^T softmax(beta X xi) (Ramsauer et al. 2020)
  two-layer   feature <-> memory neurons, memories one-shot Hebbian synapses,
              continuous-time dynamics (Krotov & Hopfield 2020, model B)
Per trial and T: ``accuracy`` (eq. 18: sign agreement with the stored
pattern), ``overlap`` m = x . v / d of the final state v with the cued pattern,
``single_fraction`` (recalls whose largest overlap with any stored pattern is
>= ``single_threshold``: a single memory, not a metastable mixture) and
``correct_single_fraction`` (that memory is the cued one).
Capacity (models listed in ``capacity_models``): the largest T with accuracy >=
``threshold``, found by doubling and bisection (protocols/capacity.py), capped
at ``T_max`` (a trial reaching the cap is marked censored).

Spiking backend (``neurosim compare mhn-retrieval --set model=two-layer``): the
two-layer network as the spiking circuit of circuits/kernel/spiking.py -- feature
ON/OFF cells, one memory cell per pattern (as many as the largest T of the grid,
at most ``MAX_SPIKING_MEMORY_CELLS``) in an inhibition-made winner-take-all,
patterns written one-shot by the plateau-gated three-factor rule; its feature
state is the sign of each feature pair's spike count difference, counted in
the read phase (``read_ms``, after 15 ms of settling). Its sharpness is set by
the circuit's gains (no beta: the compare pairs it with the rate network at the
one beta given); no capacity search on spiking.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from neurosim.circuits.gsemm.rate import blas_threads
from neurosim.circuits.hopfield.rate import HebbianMemory
from neurosim.circuits.kernel.spiking import read_window
from neurosim.circuits.modern_hopfield.rate import DenseAssociativeMemory, ModernHopfield, overlaps
from neurosim.circuits.modern_hopfield.two_layer import TwoLayerHopfield
from neurosim.events import EventStream, sign_accuracy
from neurosim.memory.patterns import occlude, random_patterns
from neurosim.errors import ParameterError
from neurosim.protocol import Param, Protocol, fraction_below_one, positive, probability

from neurosim.protocols._kv import rngs, spiking_noise_params, without_spiking_noise
from neurosim.protocols.capacity import bisection_search

MODELS = ("classical", "dense", "modern", "two-layer")
SOFTMAX_MODELS = ("modern", "two-layer")


def build_rate_model(point: dict):
    model = point["model"]
    if model == "classical":
        return HebbianMemory()
    if model == "dense":
        return DenseAssociativeMemory(degree=point["degree"])
    if model == "modern":
        return ModernHopfield(beta=point["beta"])
    return TwoLayerHopfield(beta=point["beta"])


MAX_SPIKING_MEMORY_CELLS = 256


def build_spiking_model(point: dict, context, rng: np.random.Generator):
    """The spiking two-layer network with one memory cell per pattern of the grid's largest T,
    read in a read phase of ``read_ms``."""
    from neurosim.protocols._spiking import kernel_memory

    memory = kernel_memory(point, max(point["T"]), "softmax", context, rng, two_layer=True)
    memory.circuit = replace(memory.circuit, windows=read_window(point["read_ms"]))
    return memory


def realize(point: dict, context, rng: np.random.Generator):
    """The point's model on the context's backend: an object whose ``run(stream)``
    returns the final feature states (B, steps, d) at the stream's read steps."""
    if context.backend == "spiking":
        return build_spiking_model(point, context, rng)
    return build_rate_model(point)


def flip(rng: np.random.Generator, x: np.ndarray, fraction: float) -> np.ndarray:
    """Flip the sign of round(fraction * d) randomly chosen entries of every
    pattern (the entries ``neurosim.memory.patterns.occlude`` would hide)."""
    return np.where(occlude(rng, x, fraction) == 0, -x, x)


def retrieval_stream(rng: np.random.Generator, T: np.ndarray, d: int, noise: float,
                     queries: int) -> EventStream:
    """Store phase: trial b stores T[b] random patterns, one step each (q = 1),
    padded to max(T) with silent steps. Query phase: min(queries, T[b]) of
    them, distinct and in random order, cued with ``noise`` of the entries
    flipped (target y = the stored pattern), padded to min(queries, max T).
    ``info["cued"]`` holds the index of the stored pattern each query cues."""
    T = np.asarray(T, dtype=int)
    B, length = T.size, int(T.max())
    valid = np.arange(length)[None, :] < T[:, None]
    patterns = random_patterns(rng, (B, length, d)) * valid[..., None]
    asked_count = min(queries, length)
    order = np.argsort(np.where(valid, rng.random((B, length)), np.inf), axis=1)[:, :asked_count]
    asked = np.arange(asked_count)[None, :] < np.minimum(T, queries)[:, None]
    targets = patterns[np.arange(B)[:, None], order] * asked[..., None]
    silent = np.zeros((B, asked_count), dtype=bool)
    return EventStream(
        x=np.concatenate([patterns, flip(rng, targets, noise)], axis=1),
        y=np.concatenate([patterns, targets], axis=1),
        q=np.concatenate([valid, silent], axis=1).astype(float),
        query=np.concatenate([np.zeros_like(valid), asked], axis=1),
        info={"T": T, "phase_length": length, "cued": order})


def recall_metrics(stream: EventStream, y_hat: np.ndarray, single_threshold: float) -> dict:
    """Per-trial metrics of a retrieval stream's readout (module docstring)."""
    length = stream.info["phase_length"]
    asked = stream.query[:, length:]
    final, targets = y_hat[:, length:], stream.y[:, length:]
    m = overlaps(stream.x[:, :length], stream.q[:, :length] > 0, final)
    best = np.nanmax(m, axis=-1)
    landed = best >= single_threshold
    hits = landed & (np.nanargmax(m, axis=-1) == stream.info["cued"])
    count = asked.sum(axis=1)

    def mean(values):
        return (values * asked).sum(axis=1) / count

    return {"accuracy": sign_accuracy(y_hat, stream.y, stream.query),
            "overlap": mean((final * targets).sum(axis=-1) / stream.d),
            "single_fraction": mean(landed), "correct_single_fraction": mean(hits)}


def run_point(point, seed, context):
    stream_rng, capacity_rng, noise_rng = rngs(seed, 3)
    model = realize(point, context, noise_rng)
    seeds, d = point["seeds"], point["d"]
    T = np.repeat(np.asarray(point["T"]), seeds)
    with blas_threads(1):
        stream = retrieval_stream(stream_rng, T, d, point["noise"], point["queries"])
        if context.backend == "spiking":
            from neurosim.protocols._spiking import run_logged

            y_hat = run_logged(model, stream, context, f"two-layer_d{d}")
        else:
            y_hat = model.run(stream)
        metrics = recall_metrics(stream, y_hat, point["single_threshold"])
        records = [{"kind": "recall", "seed": i % seeds, "T": int(T[i]),
                    **{name: float(values[i]) for name, values in metrics.items()}}
                   for i in range(T.size)]
        if point["model"] in point["capacity_models"]:
            capacity = bisection_search(
                lambda counts: _capped_accuracy(model, capacity_rng, counts, point),
                seeds, point["threshold"])
            records += [{"kind": "capacity", "seed": i, "T": None, "capacity": int(c),
                         "censored": bool(c >= point["T_max"])} for i, c in enumerate(capacity)]
    return records


def _capped_accuracy(model, rng, counts: np.ndarray, point: dict) -> np.ndarray:
    """Accuracy at ``counts`` stored patterns; -inf (a failure) above T_max."""
    accuracy = np.full(counts.size, -np.inf)
    within = counts <= point["T_max"]
    if within.any():
        stream = retrieval_stream(rng, counts[within], point["d"], point["noise"],
                                  point["queries"])
        accuracy[within] = sign_accuracy(model.run(stream), stream.y, stream.query)
    return accuracy


def canonical(point: dict) -> dict:
    point = without_spiking_noise(point)
    if point["backend"] == "spiking":
        if point["model"] != "two-layer":
            raise ParameterError("mhn-retrieval on spiking: the two-layer network only "
                                 "(set model=two-layer)")
        if "two-layer" in point["capacity_models"]:
            raise ParameterError("mhn-retrieval on spiking: no capacity search (leave two-layer "
                                 "out of capacity_models)")
        if max(point["T"]) > MAX_SPIKING_MEMORY_CELLS:
            raise ParameterError(f"mhn-retrieval on spiking: T <= {MAX_SPIKING_MEMORY_CELLS} "
                                 "(one memory cell per pattern; e.g. --set T=4,8,16,32)")
        read_window(point["read_ms"])
        point["beta"] = None
    else:
        point["read_ms"] = None
    if point["model"] not in SOFTMAX_MODELS:
        point["beta"] = None
    if point["model"] != "dense":
        point["degree"] = None
    return point


def model_label(frame):
    """model, with beta for the softmax models (e.g. modern_beta1); _spiking on spiking, with
    the read phase where the frame holds several (two-layer_spiking_read120ms)."""
    beta = frame["beta"].map(lambda b: "" if b != b or b is None else f"_beta{b:g}")
    spiking = frame["backend"] == "spiking"
    label = frame["model"] + beta + np.where(spiking, "_spiking", "")
    if "read_ms" in frame and frame.loc[spiking, "read_ms"].nunique() > 1:
        label = label + frame["read_ms"].map(lambda r: "" if r != r else f"_read{r:g}ms")
    return label


def reference_T(values: dict) -> int:
    """The T of the grid closest to d: the recall headline's load."""
    return min(values["T"], key=lambda T: (abs(T - values["d"][0]), T))


def summarize(frame, values):
    headline = {}
    recall = frame[frame["kind"] == "recall"].assign(label=model_label)
    T_ref = reference_T(values)
    at_ref = recall[recall["T"] == T_ref].groupby("label")
    for name in ("accuracy", "overlap", "single_fraction"):
        for label, value in at_ref[name].mean().items():
            headline[f"{name}_{label}_T{T_ref}"] = round(float(value), 4)
    capacity = frame[frame["kind"] == "capacity"].assign(label=model_label)
    if capacity.empty:
        return headline
    means = capacity.groupby("label")["capacity"].mean()
    for label, value in means.items():
        headline[f"capacity_{label}"] = round(float(value), 2)
        if capacity.loc[capacity["label"] == label, "censored"].astype(bool).any():
            headline[f"capacity_{label}_censored_at_T_max"] = True
    modern = means[[label.startswith("modern_") for label in means.index]]
    if "classical" in means.index and len(modern) and means["classical"] > 0:
        best = modern.idxmax()
        headline["capacity_ratio_modern_to_classical"] = round(
            float(modern[best] / means["classical"]), 2)
        headline["capacity_ratio_beta"] = float(best.split("_beta")[1])
    return headline


def plot(frame, values):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    recall = frame[frame["kind"] == "recall"].assign(label=model_label)
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    top_beta = max(values["beta"])
    shown = recall[recall["beta"].isna() | (recall["beta"] == top_beta)]
    for label, group in shown.groupby("label"):
        stats = group.groupby("T")["accuracy"].agg(["mean", "sem"])
        axes[0].errorbar(stats.index, stats["mean"], yerr=stats["sem"].fillna(0), marker="o",
                         ms=3, capsize=2, label=label)
    axes[0].set(xscale="log", xlabel="stored patterns T", ylabel="recall accuracy (eq. 18)",
                title=f"Recall from {values['noise'][0]:g}-flipped cues, d = {values['d'][0]}")
    axes[0].set_xticks(values["T"], [str(T) for T in values["T"]], fontsize=7)
    axes[0].xaxis.set_minor_formatter(NullFormatter())
    softmax = recall[recall["model"].isin(SOFTMAX_MODELS)]
    loads = sorted(softmax["T"].unique())
    colors = plt.cm.viridis(np.linspace(0, 0.9, max(len(loads), 1)))
    for (model, T), group in softmax.groupby(["model", "T"]):
        stats = group.groupby("beta")["single_fraction"].mean()
        axes[1].plot(stats.index, stats, marker="o" if model == "modern" else "x", ms=3,
                     ls="-" if model == "modern" else "--", color=colors[loads.index(T)],
                     label=f"{model}, T = {int(T)}")
    axes[1].set(xscale="log", xlabel="inverse temperature beta",
                ylabel="fraction of recalls on one stored pattern",
                title="Metastable mixtures -> single memories")
    capacity = frame[frame["kind"] == "capacity"].assign(label=model_label)
    if len(capacity):
        stats = capacity.groupby("label")["capacity"].agg(["mean", "sem"])
        axes[2].bar(range(len(stats)), stats["mean"], yerr=stats["sem"].fillna(0), capsize=2)
        axes[2].set_xticks(range(len(stats)), stats.index, rotation=45, ha="right", fontsize=7)
        axes[2].set(yscale="log", ylabel=f"capacity (accuracy >= {values['threshold'][0]})",
                    title="Capacity at the same dimension")
    else:
        axes[2].set_axis_off()
    for ax in axes[:2]:
        if ax.lines:
            ax.legend(fontsize=6)
        ax.grid(alpha=0.3)
    figure.tight_layout()
    return figure


PROTOCOL = Protocol(
    name="mhn-retrieval",
    description="Classical vs dense vs modern Hopfield: recall, beta sweep, capacity",
    params={
        "model": Param(list(MODELS), str, "classical | dense (eq. 2) | modern (eq. 3) | "
                       "two-layer (feature and memory neurons)", choices=MODELS),
        "d": Param(100, int, "pattern dimension (feature neurons)", check=positive),
        "T": Param([10, 20, 50, 100, 200, 500, 1000], int, "stored patterns (batched)",
                   check=positive, inner=True),
        "noise": Param(0.3, float, "fraction of cue entries flipped", check=fraction_below_one),
        "beta": Param([0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 1e4], float,
                      "inverse temperature of modern and two-layer (eq. 3)", check=positive),
        "degree": Param(3, int, "dense: F(z) = z**degree", check=positive),
        "queries": Param(64, int, "cued patterns per trial", check=positive),
        "single_threshold": Param(0.9, float, "overlap that counts as one stored pattern",
                                  check=probability),
        "capacity_models": Param(["classical", "dense", "modern"], str,
                          "models whose capacity is searched", choices=MODELS, inner=True),
        "threshold": Param(0.98, float, "capacity: accuracy threshold", check=probability),
        "T_max": Param(8192, int, "capacity search cap", check=positive),
        "seeds": Param(10, int, "independent trials per point", check=positive),
        **spiking_noise_params(),
        "read_ms": Param(120.0, float, "spiking: read phase of each presentation window (ms; "
                         "the spike-count readout's resolution)", check=positive),
    },
    run_point=run_point, summarize=summarize, plot=plot, canonical=canonical,
    backends=("rate", "spiking"), figure="supplement A.2.2", compare_on=("T",),
    shared_streams=("model", "beta", "degree", "capacity_models", "read_ms"),
    notes="Supplement A.2.2 quotes about 0.14 d patterns for the classical network and 2^(d/2) "
          "for exponential energies, both for clean cues. Here cues have 30% of their entries "
          "flipped and capacity needs accuracy >= 0.98: at d = 100 (defaults) classical 7.7, "
          "dense (n = 3) 82, modern 2049 at beta = 1 (ratio 266); the flipped cues, not the "
          "energy, limit the modern network. At beta = 1e4 its capacity is lower (1372): +-1 "
          "patterns give integer overlaps, and a cue equally close to two patterns stays on "
          "their 50/50 mixture (an exact fixed point) instead of breaking the tie.")
