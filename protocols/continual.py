"""Continual recall (Tyulmankov et al. 2021, Fig. 4a, appendix A.2): an endless
stream of stimuli and queries of the stimulus shown R steps earlier. With
sequential gates the accuracy falls in steps of width N in R; random gates
decay smoothly; the Hopfield network (decay lambda = 0.95) does worse."""
from __future__ import annotations

import numpy as np

from neurosim.events import sign_accuracy
from neurosim.patterns import continual_stream
from neurosim.protocol import Param, Protocol, positive

from . import _kv

R_DEFAULT = list(range(4, 121, 4))


def continual_params(**defaults):
    return {**_kv.common_params(seeds=defaults.pop("seeds", 5), **defaults),
            "R": Param(R_DEFAULT, int, "recall delay in steps (batched)", check=positive,
                       inner=True),
            "steps": Param(1000, int, "minimum stream length; a trial runs "
                           "max(steps, 20 max(R)) steps (paper: max(1000, 20 R))", check=positive),
            "decay": Param(0.95, float, "Hopfield weight decay lambda (paper footnote 4)",
                           check=lambda v: None if 0 < v <= 1 else "must lie in (0, 1]")}


def continual_canonical(point):
    point = _kv.canonical(point)
    if point["model"] not in ("hopfield", "bam"):
        point["decay"] = None
    return point


def make_stream(point, rng, **options):
    R = np.repeat(np.asarray(point["R"]), point["seeds"])
    steps = max(point["steps"], 20 * int(R.max()))
    return continual_stream(rng, R, _kv.resolve_d(point), steps, occlusion=point["occlusion"],
                            **options)


def run_point(point, seed, context):
    stream_rng, gate_rng = _kv.rngs(seed, 2)
    stream = make_stream(point, stream_rng)
    y_hat = _kv.run_model(point, stream, gate_rng, context, decay=point["decay"] or 1.0)
    return _kv.trial_records(point["seeds"], R=stream.info["R"],
                             accuracy=sign_accuracy(y_hat, stream.y, stream.query))


def band_means(group, N):
    """Mean accuracy over delays in (0, N], (N, 2N], (2N, 3N]."""
    band = np.ceil(group["R"] / N).astype(int)
    return group.groupby(band)["accuracy"].agg(["mean", "std"])


def summarize(frame, values):
    headline = {}
    for (name, backend), group in frame.groupby([_kv.model_label(frame), "backend"]):
        key = name if frame["backend"].nunique() == 1 else f"{name}_{backend}"
        N = int(group["N"].iloc[0])
        for band, row in band_means(group, N).iterrows():
            headline[f"{key}_accuracy_R_{(band - 1) * N}_to_{band * N}"] = round(row["mean"], 4)
    return headline


def plot(frame, values):
    figure = _kv.accuracy_curve_plot(frame, "R", title="Continual recall (Fig. 4a)",
                                     xlabel="recall delay R (steps)")
    for N in frame["N"].unique():
        for k in range(1, int(frame["R"].max() // N) + 1):
            figure.axes[0].axvline(k * N, color="grey", lw=0.5, ls=":")
    return figure


PROTOCOL = Protocol(
    name="continual",
    description="Fig. 4a: continual recall accuracy vs recall delay R",
    params=continual_params(),
    run_point=run_point, summarize=summarize, plot=plot, canonical=continual_canonical,
    estimate=_kv.estimate,
    backends=("rate", "spiking"), figure="Fig. 4a", compare_on=("R",))
