"""Flashbulb memories (Tyulmankov et al. 2021, Fig. 4b, appendix A.2): the
continual task with 5 salient stimuli per trial stored with q = 10. The
key-value memory uses metaplastic stability (eq. 17), so a flashbulb slot is
never overwritten; the Hopfield network stores flashbulbs as large updates
of strength 10, 50, 1e3 or 1e6 (no stability). Scored separately: regular
queries and flashbulb queries; ``flashbulbs = 0`` is the plain continual
curve for comparison."""
from __future__ import annotations

import numpy as np

from neurosim.events import sign_accuracy
from neurosim.protocol import Param, ParameterError, Protocol, non_negative, positive

from . import _kv
from .continual import continual_canonical, continual_params, make_stream


def canonical(point):
    point = continual_canonical(point)
    steps = max(point["steps"], 20 * max(point["R"]))
    if point["flashbulbs"] > steps // 10:
        raise ParameterError(f"parameter flashbulbs: {point['flashbulbs']} is more than a tenth "
                             f"of the {steps}-step stream; raise steps or lower flashbulbs")
    if point["model"] not in ("hopfield", "bam") or point["flashbulbs"] == 0:
        point["flashbulb_strength"] = None
    return point


def run_point(point, seed, context):
    stream_rng, gate_rng = _kv.rngs(seed, 2)
    stream = make_stream(point, stream_rng, flashbulbs=point["flashbulbs"],
                         flashbulb_q=point["flashbulb_q"])
    y_hat = _kv.run_model(point, stream, gate_rng, context, stability=True,
                          decay=point["decay"] or 1.0,
                          flashbulb_strength=point["flashbulb_strength"])
    flash = stream.info["flashbulb"]
    return _kv.trial_records(point["seeds"], R=stream.info["R"],
                             accuracy=sign_accuracy(y_hat, stream.y, stream.query & ~flash),
                             accuracy_flashbulb=sign_accuracy(y_hat, stream.y, flash))


def summarize(frame, values):
    headline = {}
    labels = _kv.model_label(frame)
    strength = frame["flashbulb_strength"].fillna(0) if "flashbulb_strength" in frame else 0
    for (name, backend, s), group in frame.groupby([labels, "backend", strength]):
        key = name + (f"_strength{s:g}" if s else "")
        key = key if frame["backend"].nunique() == 1 else f"{key}_{backend}"
        with_flash = group[group["flashbulbs"] > 0]
        if with_flash.empty:
            continue
        headline[f"{key}_flashbulb_accuracy"] = round(with_flash["accuracy_flashbulb"].mean(), 4)
        plain = frame[(labels == name) & (frame["backend"] == backend) & (frame["flashbulbs"] == 0)]
        regular = with_flash.groupby("R")["accuracy"].mean()
        headline[f"{key}_regular_accuracy"] = round(regular.mean(), 4)
        if not plain.empty:
            gap = (regular - plain.groupby("R")["accuracy"].mean()).abs()
            headline[f"{key}_regular_vs_no_flashbulb_max_gap"] = round(gap.max(), 4)
            headline[f"{key}_regular_vs_no_flashbulb_mean_gap"] = round(gap.mean(), 4)
    return headline


def plot(frame, values):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    data = frame.assign(model=_kv.model_label(frame) + np.where(
        frame["flashbulb_strength"].notna(), " s=" + frame["flashbulb_strength"].astype(str), ""),
        gate=None)
    _kv.accuracy_curve_plot(data, "R", by="flashbulbs", ax=axes[0],
                            title="Regular memories (Fig. 4b)", xlabel="recall delay R")
    _kv.accuracy_curve_plot(data[data["flashbulbs"] > 0], "R", "accuracy_flashbulb", ax=axes[1],
                            title="Flashbulb memories", xlabel="recall delay R")
    return figure


PROTOCOL = Protocol(
    name="flashbulb",
    description="Fig. 4b: flashbulb memories (q = 10) with metaplastic stability",
    params={**continual_params(),
            "flashbulbs": Param([0, 5], int, "flashbulb memories per trial", check=non_negative),
            "flashbulb_q": Param(10.0, float, "global third factor of a flashbulb store",
                                 check=lambda v: None if v > 1 else "must be > 1"),
            "flashbulb_strength": Param([10.0, 50.0, 1e3, 1e6], float,
                                        "Hopfield write strength of a flashbulb", check=positive)},
    run_point=run_point, summarize=summarize, plot=plot, canonical=canonical,
    estimate=_kv.estimate,
    backends=("rate", "spiking"), figure="Fig. 4b", compare_on=("R",),
    notes="A flashbulb store (q = 10) makes its slot stable for good (eq. 17); with sequential "
          "gates the pointer keeps cycling, so a later flashbulb that lands on an already "
          "stable slot is not stored at all and a regular item landing there is lost: this is "
          "why flashbulb accuracy is about 0.98 rather than 1 at N = 40 and lower for smaller N.")
