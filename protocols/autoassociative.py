"""Autoassociative recall benchmark (Tyulmankov et al. 2021, Fig. 2a, appendix A.1):
store T random +-1 patterns, query each with 60% of its entries set to 0, and
score the sign of the readout (eq. 18) against the stored pattern."""
from __future__ import annotations

import numpy as np

from neurosim.events import sign_accuracy
from neurosim.patterns import recall_stream
from neurosim.protocol import Param, Protocol, positive

from . import _kv

T_DEFAULT = [1, 5, 10, 20, 30, 40, 50, 60, 80, 100, 120]


def run_point(point, seed, context):
    stream_rng, gate_rng = _kv.rngs(seed, 2)
    T = np.repeat(np.asarray(point["T"]), point["seeds"])
    stream = recall_stream(stream_rng, T, _kv.resolve_d(point), occlusion=point["occlusion"])
    y_hat = _kv.run_model(point, stream, gate_rng, context)
    return _kv.trial_records(point["seeds"], T=T, d=np.full(T.size, stream.d),
                             accuracy=sign_accuracy(y_hat, stream.y, stream.query))


def largest_T_above(frame, threshold):
    """The largest T before the mean accuracy first drops below the threshold."""
    means = frame.groupby("T")["accuracy"].mean().sort_index()
    failing = means.index[means < threshold]
    kept = means.index[means.index < failing.min()] if len(failing) else means.index
    return int(kept.max()) if len(kept) else 0


def summarize(frame, values):
    headline = {}
    for (name, backend), group in frame.groupby([_kv.model_label(frame), "backend"]):
        key = name if frame["backend"].nunique() == 1 else f"{name}_{backend}"
        N = int(group["N"].iloc[0])
        means = group.groupby("T")["accuracy"].mean()
        for T in (N, 2 * N):
            if T in means.index:
                headline[f"{key}_accuracy_T{T}"] = round(float(means[T]), 4)
        headline[f"{key}_largest_T_at_0.98"] = largest_T_above(group, 0.98)
    return headline


def plot(frame, values):
    return _kv.accuracy_curve_plot(frame, "T", by="N" if frame["N"].nunique() > 1 else None,
                                   title="Autoassociative recall (Fig. 2a)",
                                   xlabel="stored patterns T")


PROTOCOL = Protocol(
    name="autoassociative",
    description="Fig. 2a: recall accuracy vs number of stored patterns",
    params={**_kv.common_params(model=["kv", "tvt", "hopfield"]),
            "T": Param(T_DEFAULT, int, "stored patterns (batched)", check=positive, inner=True)},
    run_point=run_point, summarize=summarize, plot=plot, canonical=_kv.canonical,
    estimate=_kv.estimate,
    backends=("rate", "spiking"), figure="Fig. 2a", compare_on=("T",))
