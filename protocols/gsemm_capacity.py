"""gsemm-capacity: sequence capacity of Dense GSEMM against the polynomial degree (paper Fig. 3).

One cyclic episode xi_1 -> ... -> xi_K -> xi_1 (Phi circulant), N_f = 100, alpha_s = 1, T_f = 1,
T_d = 20, RK4 (appendix C). A network succeeds at K when, cued with xi_1, it retrieves the cycle
in the correct order at least ``cycles`` (3) times with no error (appendix C).

Scoring (circuits.gsemm.SequenceTracker): the dominant memory is the one with the largest overlap
above ``threshold``; a memory's visit counts once it has stayed dominant for ``min_dwell`` time
units without a break. A visit to the successor is a correct transition, a visit to any other
memory an error, a memory held longer than ``max_dwell`` a failure (stuck). Without the minimum
dwell a distant memory that leads for one 0.1-time-unit sample in the middle of a switch (overlap
~0.6 against ~0.6) counted as an error; such flickers ended most degree-3 runs at K = 64 although
every memory visited reached overlap 1.00 and stayed about 10 time units or more. Real visits last
about 10-40 time units (T_d = 20), so min_dwell = 1 separates the two. (The public code's capacity
scripts, which use other models than the paper, take the majority argmax memory over a window of
10 samples in experiments/capacity_LISEM.py and of 1 sample in capacity_DSEM.py.)

Capacity of a (seed, degree) = the largest K of the K grid at which the network succeeds for some
alpha_c of the grid. Every K is evaluated for every seed (success is not monotone in K: a seed may
fail at 8 and succeed at 12); ``degree<n>_seeds_failing_below_capacity`` counts such seeds.
Memories of a seed are nested: K uses the first K columns of one N_f x K_max draw, and every
point of a run (degree, alpha_c, dt, precision, scoring) meets the same draws, so they compare on
the same memories.

Vectorized: one point is one degree; each K is one batched simulation of seeds x alpha_c networks
(a seed's alpha_c values share its memories, so each RK4 stage is a matrix-matrix product), shrunk
as networks are decided. ``precision=auto`` runs float32 unless V_h**n could overflow it
(circuits.gsemm.float32_overflow), then float64.

alpha_c grid (``alpha_c``, ';'-separated inside one value; ',' makes separate points):
  paper  appendix C: 0.01..0.1 step 0.01, 0.2..1.0 step 0.1 (19 values)
  x7     the appendix C grid times 7 (the public code's delay gain beta_d = 7)
  above  sqrt(alpha_s) * (1.05, 1.1, 1.2, 1.5, 2, 3): just above the transition threshold
  or explicit numbers (default 0.6 ... 2)
Measured: with alpha_s = 1 a transition needs alpha_c of order sqrt(alpha_s) = 1 (the delayed
drive of the next memory must outgrow the current memory's drive): of the paper's grid only
0.8-1.0 works, at degrees 1 and 2.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from neurosim.circuits.gsemm.rate import (MIN_DWELL, DenseGSEMM, blas_threads, cycle_graph,
                                          float32_overflow, phi_from_graph, random_memories,
                                          replay_until_decided, score_replay, successors)
from neurosim.errors import ParameterError
from neurosim.protocol import Param, Protocol, RunContext, non_negative, positive, probability

APPENDIX_C = (0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09,
              0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
ABOVE = (1.05, 1.1, 1.2, 1.5, 2.0, 3.0)
BRIAN2_MAX_DT = 0.01
BASELINE = 12          # Fig. 3's black line: the most memories a degree-1 network stores
SUMMARY_KEYS = ("success", "wrong_transition", "stuck", "correct_transitions", "mean_dwell")


def _int_positive(value):
    return None if int(value) == value and value > 0 else "must be a positive integer"


def alpha_c_grid(text: str, alpha_s: float) -> np.ndarray:
    """The alpha_c values named by ``text`` (see the module docstring)."""
    text = str(text).strip()
    if text == "paper":
        return np.array(APPENDIX_C)
    if text == "x7":
        return 7.0 * np.array(APPENDIX_C)
    if text == "above":
        return np.sqrt(alpha_s) * np.array(ABOVE)
    return np.array([float(v) for v in text.split(";") if v.strip()])


def _check_grid(text) -> str | None:
    try:
        values = alpha_c_grid(text, 1.0)
    except ValueError:
        return "must be paper, x7, above or numbers separated by ';'"
    return None if len(values) and (values >= 0).all() else "needs values >= 0"


def _check_k_grid(text) -> str | None:
    try:
        values = k_grid(text)
    except ValueError:
        return "must be integers >= 2 separated by ';'"
    return None if len(values) and min(values) >= 2 else "needs integers >= 2"


def k_grid(text: str) -> list[int]:
    return sorted({int(v) for v in str(text).split(";") if v.strip()})


PARAMS = {
    "N_f": Param(100, int, "feature neurons", _int_positive),
    "degree": Param([1, 2, 3, 5, 8, 15], int, "polynomial degree n, sigma_h(x) = x**n (sweep axis)",
                    _int_positive),
    "activation": Param("poly", str, "hidden activation: poly (x**n) or exp (softmax(beta x))",
                        choices=("poly", "exp")),
    "beta": Param(1.0, float, "inverse temperature of the exp activation", positive),
    "alpha_s": Param(1.0, float, "feature-hidden strength (appendix C: 1)", positive),
    "alpha_c": Param("0.6;0.8;1;1.1;1.2;1.35;1.5;1.75;2", str,
                     "alpha_c grid maximized over: paper | x7 | above | 'a;b;c' (appendix C's "
                     "paper grid stops at 1, where degree >= 2 makes no transition)", _check_grid),
    "K": Param("2;3;4;5;6;7;8;10;12;14;16;20;24;32;48;64;96;128", str,
               "cycle lengths, ';'-separated; every K is run for every seed", _check_k_grid),
    "T_f": Param(1.0, float, "feature timescale", positive),
    "T_d": Param(20.0, float, "delay timescale", positive),
    "dt": Param(0.1, float, "RK4 step; paper 0.01 (same capacities at 0.01 / 0.05 / 0.1, see "
                "docs/papers/gsemm.md); Brian2 backends use min(dt, 0.01)", positive),
    "cycles": Param(3, int, "error-free cycles needed for success", _int_positive),
    "min_dwell": Param(MIN_DWELL, float, "time a memory must stay dominant before its visit "
                       "counts (shorter leads inside a switch are ignored)", non_negative),
    "max_dwell": Param(200.0, float, "time on one memory after which a network counts as stuck",
                       positive),
    "threshold": Param(0.5, float, "overlap above which a memory is dominant", probability),
    "precision": Param("auto", str, "rate backend: float64, float32, or auto (float32 unless "
                       "V_h**n could overflow it)", choices=("auto", "float64", "float32")),
    "seeds": Param(12, int, "random memory sets per degree (paper: 30), on the batch axis",
                   _int_positive),
}


def _overflow(point: dict, K: int, alphas: np.ndarray) -> str | None:
    return float32_overflow(int(point["N_f"]), K, int(point["degree"]), point["alpha_s"],
                            float(alphas.max()), T_f=point["T_f"], activation=point["activation"])


def canonical(point: dict) -> dict:
    """Refuse a minimum dwell above the maximum and precision=float32 where it could overflow
    (before anything runs)."""
    if point["min_dwell"] > point["max_dwell"]:
        raise ParameterError(f"parameters min_dwell = {point['min_dwell']} and max_dwell = "
                             f"{point['max_dwell']}: a visit cannot need longer than a stuck "
                             "memory lasts (min_dwell <= max_dwell)")
    if point["precision"] == "float32":
        reason = _overflow(point, max(k_grid(point["K"])), alpha_c_grid(point["alpha_c"],
                                                                        point["alpha_s"]))
        if reason:
            raise ParameterError(f"parameter precision: {reason} (or precision=auto)")
    return point


def _dtype(point: dict, K: int, alphas: np.ndarray) -> str:
    if point["precision"] != "auto":
        return point["precision"]
    return "float64" if _overflow(point, K, alphas) else "float32"


def _network(point: dict, xi: np.ndarray, alphas: np.ndarray, dtype: str) -> DenseGSEMM:
    K = xi.shape[-1]
    return DenseGSEMM(xi, phi_from_graph(cycle_graph(range(K)), K), alpha_s=point["alpha_s"],
                      alpha_c=alphas, T_f=point["T_f"], T_d=point["T_d"],
                      degree=int(point["degree"]), activation=point["activation"],
                      beta=point["beta"], dtype=dtype)


def _verdicts(point: dict, net: DenseGSEMM, ctx: RunContext) -> dict:
    K = net.shape[-1]
    target = int(point["cycles"]) * K
    max_time = target * point["max_dwell"]
    scoring = {"threshold": point["threshold"], "min_dwell": point["min_dwell"]}
    if ctx.backend == "rate":
        with blas_threads(1):
            return replay_until_decided(net, 0, target=target, dt=point["dt"], max_time=max_time,
                                        max_dwell=point["max_dwell"], **scoring)
    from neurosim.circuits.gsemm.spiking import run_brian2

    # Brian2 runs a fixed duration: cycles * K transitions at up to T_d * 2 each. Its coupling is
    # first order in dt (summed variables), and at dt = 0.05 transitions already went astray
    # (tests/test_gsemm_brian2.py), so it never runs coarser than the paper's dt = 0.01.
    duration = target * 2.0 * point["T_d"] + point["max_dwell"]
    out = run_brian2(net, cue=0, dt=min(point["dt"], BRIAN2_MAX_DT), duration=duration,
                     sample_every=0.1,
                     spiking=ctx.backend == "spiking", device=ctx.device)
    if "physiology" in out:
        ctx.physiology.append(out["physiology"])
    G, A = net.shape[:2]
    tracker = score_replay(out["overlaps"], out["t"], successors(net.phi[0]), 0, target=target,
                           max_dwell=point["max_dwell"], **scoring)
    return {"success": tracker.success.reshape(G, A), "error": tracker.error.reshape(G, A),
            "stuck": tracker.stuck.reshape(G, A), "correct": tracker.correct.reshape(G, A),
            "dwell": (tracker.dwell_sum / np.maximum(tracker.correct, 1)).reshape(G, A)}


def run_point(point: dict, seed: np.random.SeedSequence, ctx: RunContext) -> list[dict]:
    rng = np.random.default_rng(seed)        # shared by all points but N_f, K, seeds
    alphas = alpha_c_grid(point["alpha_c"], point["alpha_s"])
    ks = k_grid(point["K"])
    S = int(point["seeds"])
    memories = random_memories(rng, S, int(point["N_f"]), max(ks))
    records = []
    for K in ks:                               # every K for every seed: success is not monotone
        dtype = _dtype(point, K, alphas) if ctx.backend == "rate" else "float64"
        verdict = _verdicts(point, _network(point, memories[:, :, :K], alphas, dtype), ctx)
        for s in range(S):
            for ai, a in enumerate(alphas):
                records.append({"seed": s, "K": K, "alpha_c_value": float(a),
                                "success": float(verdict["success"][s, ai]),
                                "wrong_transition": bool(verdict["error"][s, ai]),
                                "stuck": bool(verdict["stuck"][s, ai]),
                                "correct_transitions": int(verdict["correct"][s, ai]),
                                "mean_dwell": float(verdict["dwell"][s, ai]),
                                "dtype": dtype})
    return records


def _keys(frame) -> list[str]:
    return ["backend"] + [p for p in PARAMS if p not in ("K", "seeds") and p in frame.columns]


def capacities(frame):
    """Capacity per (point, seed): the largest K of the grid at which the seed succeeds for some
    alpha_c (0 if none; the grid's largest K is a lower bound), and ``failing_below``: whether
    it fails at some smaller K of the grid."""
    keys = _keys(frame)
    per_k = frame.groupby(keys + ["seed", "K"])["success"].max().reset_index()
    rows = []
    for key, group in per_k.groupby(keys + ["seed"]):
        won = group.loc[group["success"] > 0, "K"]
        capacity = int(won.max()) if len(won) else 0
        failing = bool(((group["K"] < capacity) & (group["success"] <= 0)).any())
        rows.append(dict(zip(keys + ["seed"], key), capacity=capacity, failing_below=failing))
    return pd.DataFrame(rows)


def _prefix(degree, others: list[str], key: tuple) -> str:
    label = ",".join(f"{k}={v}" for k, v in zip(others, key))
    return f"degree{degree}" + (f"[{label}]" if label else "")


def summarize(frame, values: dict) -> dict:
    caps = capacities(frame)
    others = [k for k, v in values.items() if len(v) > 1 and k not in ("degree", "seeds")]
    headline: dict = {}
    for key, group in caps.groupby(["degree"] + others):
        key = key if isinstance(key, tuple) else (key,)
        prefix = _prefix(key[0], others, key[1:])
        capacity = group["capacity"]
        headline[f"{prefix}_median_capacity"] = float(capacity.median())
        headline[f"{prefix}_capacity_q25"] = float(capacity.quantile(0.25))
        headline[f"{prefix}_capacity_q75"] = float(capacity.quantile(0.75))
        headline[f"{prefix}_min_capacity"] = float(capacity.min())
        headline[f"{prefix}_max_capacity"] = float(capacity.max())
        headline[f"{prefix}_mean_capacity"] = float(capacity.mean())
        headline[f"{prefix}_seeds"] = int(len(group))
        headline[f"{prefix}_seeds_failing_below_capacity"] = int(group["failing_below"].sum())
        rows = frame[frame["degree"] == key[0]]
        for name, value in zip(others, key[1:]):
            rows = rows[rows[name] == value]
        # capacity = the grid's largest K is a lower bound: the seed might store more
        headline[f"{prefix}_seeds_at_largest_K"] = int((capacity == rows["K"].max()).sum())
        won = rows[rows["success"] > 0]
        if len(won):
            headline[f"{prefix}_alpha_c_with_most_successes"] = float(
                won.groupby("alpha_c_value")["success"].count().idxmax())
    by_degree = caps.groupby("degree")["capacity"].median()
    if len(by_degree) > 1:
        headline["capacity_grows_with_degree"] = bool(by_degree.iloc[-1] > by_degree.iloc[0])
        rho = by_degree.reset_index().corr(method="spearman").iloc[0, 1]
        if np.isfinite(rho):                  # undefined when every capacity is equal
            headline["spearman_degree_vs_median_capacity"] = float(rho)
    if 15 in set(caps["degree"]) and frame["K"].max() > 100:
        headline["degree15_some_network_above_100"] = bool(
            (caps.loc[caps["degree"] == 15, "capacity"] > 100).any())
    return headline


def plot(frame, values: dict):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator

    caps = capacities(frame)
    degrees = sorted(caps["degree"].unique())
    data = [caps.loc[caps["degree"] == d, "capacity"].to_numpy() for d in degrees]
    fig, (dist, hist, rate) = plt.subplots(1, 3, figsize=(16, 4.8),
                                           gridspec_kw={"width_ratios": [1.1, 1.3, 1]})
    jitter = np.random.default_rng(0)
    for d, caps_d in zip(degrees, data):
        dist.scatter(d + jitter.uniform(-0.2, 0.2, len(caps_d)), caps_d, s=12, color="k",
                     alpha=0.5, zorder=3)
    q25, q50, q75 = (np.array([np.percentile(c, p) for c in data]) for p in (25, 50, 75))
    dist.errorbar(degrees, q50, yerr=np.vstack([q50 - q25, q75 - q50]), fmt="s",
                  color="tab:red", capsize=4, label="median, quartiles", zorder=4)
    dist.plot(degrees, [c.mean() for c in data], "b-o", ms=4, label="mean")
    dist.axhline(BASELINE, color="k", lw=1, label=f"paper: degree 1 stores {BASELINE}")
    dist.xaxis.set_major_locator(FixedLocator(degrees))
    dist.set(xlabel="polynomial degree n", ylabel="capacity (longest cycle replayed 3x)",
             title=f"Capacity per seed, N_f = {values.get('N_f', ['?'])[0]} (Fig. 3)")
    dist.legend(fontsize=8)

    levels = sorted(set(caps["capacity"]) | {0})
    counts = np.array([[np.sum(c == level) for level in levels] for c in data])
    hist.imshow(counts, aspect="auto", cmap="Greys", vmin=0, vmax=max(counts.max(), 1) * 1.6)
    for (i, j), n in np.ndenumerate(counts):
        if n:
            hist.text(j, i, str(n), ha="center", va="center", fontsize=8)
    hist.set_xticks(range(len(levels)), [str(level) for level in levels])
    hist.set_yticks(range(len(degrees)), [str(d) for d in degrees])
    hist.set(xlabel="capacity", ylabel="polynomial degree n",
             title="Histogram: seeds per capacity")

    per_k = frame.groupby(["degree", "seed", "K"])["success"].max().reset_index()
    for d in degrees:
        curve = per_k[per_k["degree"] == d].groupby("K")["success"].mean()
        rate.plot(curve.index, curve.to_numpy(), "-o", ms=3, label=f"n = {d}")
    rate.set_xscale("log", base=2)
    ks = sorted(frame["K"].unique())
    rate.xaxis.set_major_locator(FixedLocator(ks))
    rate.set_xticklabels([str(k) for k in ks], fontsize=7, rotation=90)
    rate.set(xlabel="cycle length K", ylabel="fraction of seeds replaying the cycle 3x",
             title="Success per K (every K run for every seed)", ylim=(-0.03, 1.03))
    rate.legend(fontsize=8)
    fig.tight_layout()
    return fig


PROTOCOL = Protocol(
    name="gsemm-capacity",
    description="GSEMM: longest cycle retrieved 3x vs polynomial degree (Fig. 3)",
    params=PARAMS, run_point=run_point, summarize=summarize, plot=plot, canonical=canonical,
    backends=("rate", "brian2", "spiking"), figure="Fig. 3", metric="success",
    compare_on=("seed", "K", "alpha_c_value"),
    shared_streams=tuple(name for name in PARAMS if name not in ("N_f", "K", "seeds")),
    paper={"degree1_max_capacity": float(BASELINE), "capacity_grows_with_degree": True,
           "degree15_some_network_above_100": True},
    notes="Paper (Fig. 3, 30 seeds, N_f = 100): degree 1 stores at most about 12 memories, "
          "capacity grows gradually with the degree, at degree 15 some networks store more than "
          "100. Measured (12 seeds, default grid): degree 1 median 7, max 14; from degree 2 on "
          "every seed replays the grid's longest cycle (128), so the growth is a step, not a "
          "ramp, and capacities at the grid's top are lower bounds (seeds_at_largest_K). "
          "Appendix C's alpha_c grid (0.01..1, alpha_s = 1) lies at or below the transition "
          "threshold alpha_c ~ sqrt(alpha_s) = 1: on it degree >= 3 makes no transition and "
          "degree 2 mostly stores only K = 2; the default grid 0.6..2 covers both. A visit "
          "counts after min_dwell time units as the dominant memory (protocol docstring).")
