"""Sequence recall (Tyulmankov et al. 2021, Fig. 5b, appendix A.3): store the
transitions x_t -> x_{t+1} of a random sequence of T patterns, prompt with the
middle pattern and run recurrently (input = sign of the previous readout).
Accuracy is eq. 18 over the recalled rest of the sequence. The Hebbian
baseline ('bam') is the asymmetric outer-product memory W = sum x_{t+1} x_t^T
read in one synchronous step per recall step."""
from __future__ import annotations

import numpy as np

from neurosim.events import sign_accuracy
from neurosim.patterns import sequence_stream
from neurosim.protocol import Param, Protocol

from . import _kv

T_DEFAULT = [5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 120]


def canonical(point):
    """A Hopfield network has no transitions to store: the Hebbian model here is 'bam'."""
    point = _kv.canonical(point)
    if point["model"] == "hopfield":
        point["model"] = "bam"
    return point


def run_point(point, seed, context):
    stream_rng, gate_rng = _kv.rngs(seed, 2)
    T = np.repeat(np.asarray(point["T"]), point["seeds"])
    stream = sequence_stream(stream_rng, T, _kv.resolve_d(point))
    y_hat = _kv.run_model(point, stream, gate_rng, context, max_iterations=0)
    accuracy = sign_accuracy(y_hat, stream.y, stream.query)
    return _kv.trial_records(point["seeds"], T=T, accuracy=accuracy, perfect=accuracy == 1.0)


def summarize(frame, values):
    headline = {}
    for (name, backend), group in frame.groupby([_kv.model_label(frame), "backend"]):
        key = name if frame["backend"].nunique() == 1 else f"{name}_{backend}"
        perfect = group.groupby("T")["perfect"].all()
        ok = perfect.index[perfect.to_numpy()]
        below = perfect.index[~perfect.to_numpy()]
        first_error = int(below.min()) if len(below) else None
        headline[f"{key}_largest_T_error_free"] = int(ok[ok < (first_error or np.inf)].max()) \
            if len(ok) and (first_error is None or ok.min() < first_error) else 0
        headline[f"{key}_mean_accuracy"] = round(float(group["accuracy"].mean()), 4)
    return headline


def plot(frame, values):
    figure = _kv.accuracy_curve_plot(frame, "T", title="Sequence recall (Fig. 5b)",
                                     xlabel="sequence length T")
    for N in frame["N"].unique():
        figure.axes[0].axvline(N, color="grey", lw=0.5, ls=":")
    return figure


PROTOCOL = Protocol(
    name="sequence",
    description="Fig. 5b: recurrent sequence recall from a middle prompt",
    params={**_kv.common_params(model=["kv", "bam"]),
            "T": Param(T_DEFAULT, int, "sequence length (batched)",
                       check=lambda v: None if v >= 2 else "must be >= 2", inner=True)},
    run_point=run_point, summarize=summarize, plot=plot, canonical=canonical,
    estimate=_kv.estimate,
    backends=("rate",), figure="Fig. 5b", compare_on=("T",))
