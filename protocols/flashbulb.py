"""Flashbulb memories (Tyulmankov et al. 2021, Fig. 4b, appendix A.2): the
continual task with 5 salient stimuli per trial stored with q = 10. The
key-value memory uses metaplastic stability (eq. 17), so a flashbulb slot is
never overwritten; the Hopfield network stores flashbulbs as large updates
of strength 10, 50, 1e3 or 1e6 (no stability). Scored separately: regular
queries and flashbulb queries; ``flashbulbs = 0`` is the plain continual
curve for comparison."""
from __future__ import annotations

from neurosim.events import sign_accuracy
from neurosim.errors import ParameterError
from neurosim.protocol import Param, Protocol, non_negative, positive

from neurosim.protocols import _kv
from neurosim.protocols.continual import continual_canonical, continual_params, make_stream


CODE_HOPFIELD = {"10": (0.807, 0.650), "50": (0.886, 0.640), "1000": (0.962, 0.622),
                 "1e+06": (0.968, 0.590)}


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

    figure, axes = plt.subplots(1, 2, figsize=(13, 4), sharey=True)
    style = _kv.CurveStyle()
    by = ["flashbulbs", "flashbulb_strength"]
    _kv.accuracy_curve_plot(frame, "R", by=by, ax=axes[0], style=style, legend=False,
                            title="Regular memories (Fig. 4b)", xlabel="recall delay R (steps)")
    _kv.accuracy_curve_plot(frame[frame["flashbulbs"] > 0], "R", "accuracy_flashbulb", by=by,
                            ax=axes[1], style=style, legend=False,
                            title="Flashbulb memories (Fig. 4b)", xlabel="recall delay R (steps)")
    _kv.legend_outside(axes[1], handles_from=axes[0])
    figure.tight_layout()
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
    paper={"kv-sequential_flashbulb_accuracy": 0.982, "kv-sequential_regular_accuracy": 0.873,
           "kv-sequential_regular_vs_no_flashbulb_mean_gap": 0.017,
           "kv-random_flashbulb_accuracy": 0.986, "kv-random_regular_accuracy": 0.760,
           "kv-random_regular_vs_no_flashbulb_mean_gap": 0.022,
           **{f"hopfield_strength{strength}_{kind}_accuracy": accuracy
              for strength, accuracies in CODE_HOPFIELD.items()
              for kind, accuracy in zip(("flashbulb", "regular"), accuracies)}},
    notes="Paper values (N = 40, delays R = 4, 8, ..., 120): the paper's code "
          "(get_flashbulb_performance's configs and its evaluate_run loop, 5 flashbulbs in a "
          "1000-step stream, 3 trials per R) run on this machine; the regular-vs-plain gap "
          "against the code's continual curves. The key-value memory agrees within 0.005. A "
          "flashbulb store (q = 10) makes its slot stable for good (eq. 17); with sequential "
          "gates the pointer keeps cycling, so a later flashbulb that lands on an already "
          "stable slot is not stored at all and a regular item landing there is lost: this is "
          "why flashbulb accuracy is about 0.98 rather than 1 at N = 40 and lower for smaller "
          "N. Hopfield differs by design: the code's flashbulb Hopfield runs 3 synchronous "
          "recall steps and decays W at every step; this one recalls to a fixed point and "
          "decays on stored steps only (see the continual protocol's notes), so its flashbulbs "
          "are recalled better (0.99 vs 0.81-0.97) and its regular items too (0.73 -> 0.60 vs "
          "0.65 -> 0.59 from strength 10 to 1e6); the trade-off of Fig. 4b holds in both.")
