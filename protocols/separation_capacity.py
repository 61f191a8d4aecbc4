"""Recall accuracy vs stored patterns for every "similarity x separation" pair
(Gershman, Fiete & Irie 2025, section 2.1, eq. 3-6), next to the three-factor
key-value memory and the Hopfield network, all on the same patterns and
queries (the setting of Tyulmankov et al. 2021, Fig. 2: random +-1 patterns of
dimension d, stored once each, queried with a fraction ``occlusion`` of the
entries set to 0; accuracy eq. 18).

Capacity of a memory: the largest T of the grid such that the mean accuracy
over seeds is >= ``threshold`` at that T and at every smaller T of the grid
(censored at the largest T of the grid when it never falls below).
The family memories store every pair (no slot limit); the key-value memory
has N = d slots with sequential gates; the Hopfield network has d neurons.

The threshold separation (sparse distributed memory) activates the stored
keys within a Hamming radius: at most ``radius`` x (visible query entries)
mismatches, converted to each similarity's units (see ``hamming_threshold``).

Spiking backend (``neurosim compare separation-capacity``): the softmax and
threshold separations of the dot similarity as the spiking circuit of
circuits/kernel/spiking.py (one memory cell per stored item, written one-shot
by the three-factor rule; the separation made by inhibitory interneurons:
feedback winner-take-all or feedforward threshold), with as many memory cells
as the largest T of the grid; the kv and hopfield models run their spiking
circuits. The spiking separations have no beta, degree or radius: the circuit's
gains set their sharpness and threshold (circuits/kernel/spiking.py's docstring). Each T is
its own stream on both backends (the same streams), so each padded number of
steps is one build.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from neurosim.circuits.kernel.rate import SEPARATIONS, SIMILARITIES, Separation, run_separations
from neurosim.circuits.kernel.spiking import SPIKING_SEPARATIONS
from neurosim.events import sign_accuracy
from neurosim.memory.patterns import recall_stream
from neurosim.errors import ParameterError
from neurosim.protocol import Param, Protocol, fraction_below_one, positive, probability

from neurosim.protocols import _kv

MODELS = ("family", "kv", "hopfield")
T_DEFAULT = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024,
             1536, 2048]


def hamming_threshold(similarity: str, d: int, visible: int, radius: float) -> float:
    """Similarity of a +-1 key that mismatches radius x visible of the visible
    entries of an occluded query (hidden entries 0): dot v(1 - 2r), scaled-dot
    that / sqrt(d), euclidean -sqrt(4 r v + d - v), manhattan -(2 r v + d - v)."""
    mismatches = radius * visible
    if similarity == "dot":
        return visible - 2 * mismatches
    if similarity == "scaled-dot":
        return (visible - 2 * mismatches) / np.sqrt(d)
    if similarity == "euclidean":
        return -np.sqrt(4 * mismatches + d - visible)
    return -(2 * mismatches + d - visible)


def canonical(point: dict) -> dict:
    point = _kv.without_spiking_noise(point)
    if point["model"] != "family":
        for name in ("similarity", "separation", "beta", "degree", "radius"):
            point[name] = None
    elif point["backend"] == "spiking":
        unavailable = [name for name in point["separation"] if name not in SPIKING_SEPARATIONS]
        if point["similarity"] != "dot" or unavailable:
            raise ParameterError("the spiking family has the dot similarity with the "
                                 f"{' and '.join(SPIKING_SEPARATIONS)} separations only (set "
                                 f"similarity=dot separation={','.join(SPIKING_SEPARATIONS)})")
        point.update(beta=None, degree=None, radius=None)
    return point


def family_outputs(point: dict, stream, context, rng) -> tuple[list[np.ndarray], list[str]]:
    """Readouts of the point's separations on ``stream`` (one per separation)."""
    names = list(point["separation"])
    if context.backend == "spiking":
        from neurosim.protocols._spiking import kernel_memory, run_logged

        slots = max(point["T"])
        return [run_logged(kernel_memory(point, slots, name, context, rng), stream, context,
                           f"dot_{name}_slots{slots}") for name in names], names
    visible = point["d"] - int(round(point["occlusion"] * point["d"]))
    theta = hamming_threshold(point["similarity"], point["d"], visible, point["radius"])
    separations = [Separation(name, beta=point["beta"], theta=theta, degree=point["degree"])
                   for name in names]
    return run_separations(stream, point["similarity"], separations), names


def run_point(point, seed, context):
    stream_rng, gate_rng = _kv.rngs(seed, 2)
    d, B = point["d"], point["seeds"]
    records = []
    for T in point["T"]:
        stream = recall_stream(stream_rng, np.full(B, T), d, occlusion=point["occlusion"])
        if point["model"] == "family":
            outputs, labels = family_outputs(point, stream, context, gate_rng)
        else:
            model_point = {"model": point["model"], "gate": "sequential", "N": d, "p": None,
                           "input": point["input"], "seed_noise": point["seed_noise"]}
            outputs, labels = [_kv.run_model(model_point, stream, gate_rng, context)], [None]
        for y_hat, label in zip(outputs, labels):
            columns = {"separation": np.full(B, label)} if label else {}
            records += _kv.trial_records(B, T=np.full(B, T), **columns,
                                         accuracy=sign_accuracy(y_hat, stream.y, stream.query))
    return records


def memory_label(frame):
    """similarity_separation or the model name; with the backend appended where the frame
    holds several."""
    family = frame["model"] == "family"
    label = pd.Series(np.where(family, frame["similarity"].astype(str) + "_"
                               + frame["separation"].astype(str), frame["model"]),
                      index=frame.index)
    if frame["backend"].nunique() > 1:
        label = label + "_" + frame["backend"]
    return label


def capacities(frame, threshold: float) -> dict[str, tuple[int, bool]]:
    """Per memory: (capacity, censored) from the mean accuracy curve."""
    means = frame.assign(memory=memory_label(frame)).groupby(["memory", "T"])["accuracy"].mean()
    found = {}
    for memory, curve in means.groupby(level="memory"):
        curve = curve.droplevel("memory").sort_index()
        failing = curve.index[curve.to_numpy() < threshold]
        if failing.empty:
            found[memory] = (int(curve.index.max()), True)
        else:
            passing = curve.index[curve.index < failing[0]]
            found[memory] = (int(passing.max()) if len(passing) else 0, False)
    return found


def summarize(frame, values):
    headline = {}
    for memory, (capacity, censored) in capacities(frame, values["threshold"][0]).items():
        headline[f"{memory}_capacity"] = capacity
        if censored:
            headline[f"{memory}_capacity_censored"] = True
    return headline


def plot(frame, values):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    frame = frame.assign(memory=memory_label(frame))
    similarities = [s for s in SIMILARITIES if s in set(frame["similarity"].dropna())]
    columns = max(len(similarities), 1)
    figure, axes = plt.subplots(1, columns, figsize=(4.2 * columns, 3.8), sharey=True,
                                squeeze=False)
    found = capacities(frame, values["threshold"][0])
    several = frame["backend"].nunique() > 1
    for ax, similarity in zip(axes[0], similarities or [None]):
        for (color, name), backend in itertools.product(enumerate(SEPARATIONS + MODELS[1:]),
                                                        sorted(frame["backend"].unique())):
            memory = (name if name in MODELS else f"{similarity}_{name}") \
                + (f"_{backend}" if several else "")
            group = frame[frame["memory"] == memory]
            if group.empty:
                continue
            stats = group.groupby("T")["accuracy"].agg(["mean", "sem"])
            capacity, censored = found[memory]
            ax.errorbar(stats.index, stats["mean"], yerr=stats["sem"].fillna(0),
                        marker="s" if backend == "spiking" else "o", ms=2, capsize=1,
                        color=f"C{color}", ls=":" if backend == "spiking" else
                        "--" if name in MODELS else "-",
                        label=f"{name}{f' ({backend})' if several else ''}: "
                              f"C = {capacity}{'+' if censored else ''}")
        ax.axhline(values["threshold"][0], color="grey", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        if len(values["T"]) <= 8:
            ax.set_xticks(sorted(values["T"]), [str(T) for T in sorted(values["T"])])
        ax.set_xlabel("stored patterns T")
        ax.set_title(f"similarity: {similarity}")
        ax.legend(fontsize=6)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("recall accuracy (eq. 18)")
    figure.suptitle(f"similarity x separation, d = {values['d'][0]}, "
                    f"occlusion {values['occlusion'][0]}", fontsize=9)
    figure.tight_layout()
    return figure


PROTOCOL = Protocol(
    name="separation-capacity",
    description="Sec. 2.1, eq. 3-6: accuracy vs T for every similarity x separation pair, "
                "with the key-value and Hopfield memories, on the same patterns",
    params={
        "model": Param(list(MODELS), str, "family (similarity x separation), kv (three-factor, "
                       "N = d slots, sequential gates) or hopfield", choices=MODELS),
        "similarity": Param(list(SIMILARITIES), str, "similarity kernel", choices=SIMILARITIES),
        "separation": Param(list(SEPARATIONS), str, "separation operators (batched)",
                            choices=SEPARATIONS, inner=True),
        "d": Param(40, int, "pattern dimension", check=positive),
        "occlusion": Param(0.6, float, "fraction of query entries set to 0",
                           check=fraction_below_one),
        "T": Param(T_DEFAULT, int, "stored patterns (batched)", check=positive, inner=True),
        "beta": Param(1.0, float, "softmax gain", check=positive),
        "degree": Param(3.0, float, "rectified polynomial degree", check=positive),
        "radius": Param(0.1, float, "threshold separation: Hamming radius as a fraction of the "
                        "visible query entries", check=probability),
        "threshold": Param(0.98, float, "accuracy threshold of the capacity", check=probability),
        "seeds": Param(10, int, "independent trials per point", check=positive),
        **_kv.spiking_noise_params(),
    },
    run_point=run_point, summarize=summarize, plot=plot, canonical=canonical,
    backends=("rate", "spiking"),
    shared_streams=("model", "similarity"), figure="eq. 3-6", metric="accuracy",
    compare_on=("T", "separation"),
    notes="The review states no capacities: it argues that separation operators (softmax, "
          "max, dense associative memory's rectified polynomial) sharpen retrieval relative to "
          "the identity (correlation-matrix memory). With the identity separation a distance "
          "similarity (euclidean, manhattan) weights every value negatively and does not "
          "recall (capacity 0), and the rectified polynomial of a similarity that is never "
          "positive is 0 (capacity 0). dot and scaled-dot differ only under softmax (the scale is a "
          "gain). Capacities censored at the largest T of the grid carry "
          "'<memory>_capacity_censored'.")
