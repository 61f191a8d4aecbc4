"""Memory capacity vs network size (Tyulmankov et al. 2021, Fig. 2b).

Capacity C: the largest number of stored patterns T whose recall accuracy
(eq. 18) stays >= threshold (the paper: 0.98). Every probe of a T draws a
fresh trial (patterns, gates, occlusion); every seed runs its own search, and
all seeds of a grid point probe together on the batch axis, each at its own T.
Two searches (``search``):

- ``paper-code`` (default): the search of the paper's code (``get_capacity``
  in ``plot_all_figs_helper.py`` of gyyang/bio-kvm), which made its Fig. 2b:
  lo = 1, hi = 2; probe T = hi on one trial; a pass sets lo = hi, hi = 2 hi,
  a failure sets hi = floor((lo + hi) / 2); C = lo once hi = lo. T = 1 is
  never probed (C >= 1) and a failing T is not remembered, so a noisy model
  (random gates, Hopfield) can later pass a T above one that failed: C lands
  above the T where the mean accuracy curve crosses the threshold.
- ``bisection``: T doubles from 1 until a probe fails, then bisection between
  the last passing and the first failing T (C = 0 when T = 1 fails).
  Averaged over seeds, C is close to the threshold crossing of the mean
  accuracy curve.

The scaling C ~ a N is fitted by least squares over the mean capacity at
each N (slope a = C/N), as the paper's code does (linear regression over N).
"""
from __future__ import annotations

import numpy as np

from neurosim.events import sign_accuracy
from neurosim.memory.patterns import recall_stream
from neurosim.errors import ParameterError
from neurosim.protocol import Param, Protocol

from neurosim.protocols import _kv

T_LIMIT = 1 << 14
SEARCHES = ("paper-code", "bisection")


def _check_limit(T: np.ndarray) -> None:
    if T.size and T.max() > T_LIMIT:
        raise ParameterError(f"capacity search passed T = {T_LIMIT} items: recall never fell "
                             "below the threshold (e.g. a 1-dimensional pattern has only two "
                             "values); raise threshold or d")


def paper_code_search(accuracy_at, trials: int, threshold: float) -> np.ndarray:
    """Per trial, the paper code's capacity: lo = 1, hi = 2; probe T = hi;
    pass: lo, hi = hi, 2 hi; fail: hi = (lo + hi) // 2; return lo once lo = hi.

    ``accuracy_at(T)`` maps an int array of item counts (one per open trial)
    to accuracies, one fresh trial each; all open trials probe together."""
    lo = np.ones(trials, dtype=int)
    hi = np.full(trials, 2)
    while True:
        open_ = np.flatnonzero(lo < hi)
        if not open_.size:
            return lo
        ok = accuracy_at(hi[open_]) >= threshold
        passed, failed = open_[ok], open_[~ok]
        lo[passed] = hi[passed]
        hi[passed] *= 2
        hi[failed] = (lo[failed] + hi[failed]) // 2
        _check_limit(hi[passed])


def bisection_search(accuracy_at, trials: int, threshold: float) -> np.ndarray:
    """Per trial, the largest T with accuracy_at(T) >= threshold: doubling
    from T = 1, then bisection between the last passing and the first failing
    T; 0 when T = 1 fails. Same ``accuracy_at`` contract as
    :func:`paper_code_search`."""
    passing = np.zeros(trials, dtype=int)
    failing = np.zeros(trials, dtype=int)
    T = np.ones(trials, dtype=int)
    while (open_ := np.flatnonzero(failing == 0)).size:
        ok = accuracy_at(T[open_]) >= threshold
        passing[open_[ok]] = T[open_[ok]]
        failing[open_[~ok]] = T[open_[~ok]]
        T[open_[ok]] *= 2
        _check_limit(T[open_[ok]])
    while (open_ := np.flatnonzero(failing - passing > 1)).size:
        mid = (passing[open_] + failing[open_]) // 2
        ok = accuracy_at(mid) >= threshold
        passing[open_[ok]] = mid[ok]
        failing[open_[~ok]] = mid[~ok]
    return passing


SEARCH = {"paper-code": paper_code_search, "bisection": bisection_search}
CODE_CAPACITY = {"kv-sequential": (15.5, 41.9, 84.0, 167.6),
                 "kv-random": (3.05, 9.76, 18.7, 26.76),
                 "kv-random-p4/N": (5.32, 9.83, 15.97, 30.96),
                 "hopfield": (3.60, 6.64, 12.77, 24.37)}
PAPER = {"kv-sequential_slope_C_per_N": 1.0, "kv-random_slope_C_per_N": 0.16,
         "hopfield_slope_C_per_N": 0.14,
         **{f"{label}_capacity_N{N}": capacity for label, capacities in CODE_CAPACITY.items()
            for N, capacity in zip((20, 40, 80, 160), capacities)}}
NOTES = ("Paper values: the slopes from the paper's text (Fig. 2b, random gates p = 0.1); the "
         "capacities from the paper's code (gyyang/bio-kvm get_capacity, threshold 0.98, one "
         "trial per probe, d = N) run on this machine, mean of 100 searches per N (20 for "
         "sequential gates; at N = 20 their s.e.m. is about 1.5). Defaults follow that code: "
         "search=paper-code and Bernoulli occlusion. The paper-code search forgets failed T "
         "and never probes T = 1, so for noisy models its C lies above the threshold crossing "
         "of the mean accuracy curve, which search=bisection approximates: with random gates "
         "p = 4/N bisection gives about half the code's capacity at N = 160 (15 vs 31). With "
         "occlusion_mode=exact (round(0.6 d) entries hidden) the sequential capacity at N = 20 "
         "rises from 17.4 to 20.4 (the code: 15.5): at d = 20 a few Bernoulli queries show "
         "almost no entries, and one such query fails a trial.")


def run_point(point, seed, context):
    stream_rng, gate_rng = _kv.rngs(seed, 2)
    d = _kv.resolve_d(point)

    def accuracy_at(T):
        stream = recall_stream(stream_rng, T, d, **_kv.occlusion_options(point))
        y_hat = _kv.run_model(point, stream, gate_rng, context)
        return sign_accuracy(y_hat, stream.y, stream.query)

    capacity = SEARCH[point["search"]](accuracy_at, point["seeds"], point["threshold"])
    return [{"seed": i, "d": d, "capacity": int(c)} for i, c in enumerate(capacity)]


def fit_slopes(frame):
    """Least-squares line C = a N + b through the mean capacities of each
    curve: a model label (with _bisection for that search) and a backend.
    Returns {(name, backend): (a, b, means, sem, model)}."""
    name = _kv.model_label(frame) + np.where(frame["search"] == "bisection", "_bisection", "")
    fits = {}
    for key, group in frame.groupby([name, "backend"]):
        means = group.groupby("N")["capacity"].mean()
        if len(means) >= 2:
            slope, intercept = np.polyfit(means.index.to_numpy(float), means.to_numpy(), 1)
        else:
            slope, intercept = float(means.iloc[0] / means.index[0]), 0.0
        fits[key] = (float(slope), float(intercept), means,
                     group.groupby("N")["capacity"].sem().fillna(0), group["model"].iloc[0])
    return fits


def summarize(frame, values):
    headline = {}
    single = frame["backend"].nunique() == 1
    for (name, backend), (slope, _, means, _, _) in fit_slopes(frame).items():
        key = name if single else f"{name}_{backend}"
        headline[f"{key}_slope_C_per_N"] = round(slope, 4)
        for N, capacity in means.items():
            headline[f"{key}_capacity_N{int(N)}"] = round(float(capacity), 2)
    return headline


def plot(frame, values):
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(7.5, 4))
    style = _kv.CurveStyle()
    several_backends = frame["backend"].nunique() > 1
    for (name, backend), (slope, intercept, means, sem, model) in fit_slopes(frame).items():
        kwargs = style(name, model, backend)
        label = f"{name} ({backend})" if several_backends else name
        ax.errorbar(means.index, means, yerr=sem, capsize=2, label=f"{label}: C = {slope:.3f} N",
                    **kwargs)
        grid = np.array([means.index.min(), means.index.max()], float)
        ax.plot(grid, slope * grid + intercept, ls=":", lw=1, color=kwargs["color"])
    searches = ", ".join(sorted(frame["search"].unique()))
    ax.set_xlabel("network size N (hidden units; d = N unless set)")
    ax.set_ylabel(f"capacity C (stored items at accuracy >= {values['threshold'][0]:g})")
    ax.set_title(f"Capacity (Fig. 2b), {searches} search\npoints: mean of "
                 f"{frame['seed'].nunique()} seeds, bars: +- 1 s.e.m., dotted: least-squares fit",
                 fontsize=9)
    ax.grid(alpha=0.3)
    _kv.legend_outside(ax)
    return figure


PROTOCOL = Protocol(
    name="capacity",
    description="Fig. 2b: capacity (largest T at accuracy >= threshold) vs N, slope C/N",
    params={**_kv.common_params(model=["kv", "hopfield"], N=[20, 40, 80, 160]),
            "threshold": Param(0.98, float, "accuracy threshold (paper: 0.98)",
                               check=lambda v: None if 0 < v <= 1 else "must lie in (0, 1]"),
            "search": Param("paper-code", str,
                            "paper-code: the search of the paper's code (get_capacity in "
                            "gyyang/bio-kvm; C >= 1, lands above the mean curve's threshold "
                            "crossing for noisy models) | bisection: doubling then bisection "
                            "per trial (close to the mean curve's threshold crossing)",
                            choices=SEARCHES)},
    run_point=run_point, summarize=summarize, plot=plot, canonical=_kv.canonical,
    estimate=_kv.estimate,
    backends=("rate", "spiking"), figure="Fig. 2b", metric="capacity",
    paper=PAPER, notes=NOTES)
