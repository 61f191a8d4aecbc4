"""memoria-autocorrelation: autocorrelation of reminding events (appendix D, Table 7).

For every engram we take the binary series x_t = [e reminded at step t] over the
steps it spent in STM, and separately over the steps it spent in LTM, and
compute the sample autocorrelation at lag k,

    r_k = sum_{t < n-k} (x_t - m)(x_{t+k} - m) / sum_t (x_t - m)^2.

Appendix D's conventions: a series of variance 0 (always or never reminded)
counts as r_k = 1; LTM coefficients are averaged with weights proportional to
each engram's time in LTM; STM lags go up to C_stm / N_wm - 1 (the time an
engram stays in STM), LTM lags up to 15. Two more columns keep the numbers
honest: the average without the variance-0 series, and a control where each
engram's series is shuffled in time (no temporal structure, same convention).

The stream has recurring content (a few items shown again and again), and an
item tends to stay on for a few steps (``stay``), as a topic does in text.
"""
from __future__ import annotations

import numpy as np

from neurosim.circuits.memoria import APPENDIX_B, MemoriaCircuit, MemoriaParams, recurring_stream
from neurosim.protocol import Param, Protocol, positive, probability

#: Appendix D, Table 7 (Wikitext-103, STM capacity 400, N_wm 50).
TABLE_7 = {"stm": [0.900, 0.893, 0.889, 0.888, 0.888, 0.890, 0.893],
           "ltm": [0.575, 0.529, 0.501, 0.475, 0.461, 0.442, 0.426, 0.413, 0.395, 0.381, 0.370,
                   0.356, 0.344, 0.333, 0.321]}


def acf(series: np.ndarray, lag: int) -> float | None:
    """Sample autocorrelation at ``lag``; 1.0 for a constant series; None if too short."""
    n = len(series)
    if n <= lag:
        return None
    centered = series - series.mean()
    denominator = float(centered @ centered)
    if denominator == 0.0:
        return 1.0
    return float(centered[:n - lag] @ centered[lag:]) / denominator


def reminding_series(circuit: MemoriaCircuit, stream: np.ndarray) -> dict[str, list[np.ndarray]]:
    """Run the stream; per engram, its 0/1 reminded series while in STM and while in LTM."""
    series = {"stm": {}, "ltm": {}}
    for x in stream:
        circuit.add_working_memory(x)
        stm, ltm = list(circuit.stm), list(circuit.ltm)
        reminded = circuit.remind()
        hit = set(reminded.ids)
        for store, ids in (("stm", stm), ("ltm", ltm)):
            for engram in ids:
                series[store].setdefault(engram, []).append(1.0 if engram in hit else 0.0)
        circuit.memorize(reminded)
    return {store: [np.array(s) for s in found.values()] for store, found in series.items()}


def average_acf(all_series: list[np.ndarray], lag: int, rng: np.random.Generator) -> dict:
    values, weights, nonconstant, nc_weights, shuffled = [], [], [], [], []
    for s in all_series:
        r = acf(s, lag)
        if r is None:
            continue
        values.append(r)
        weights.append(len(s))
        if s.min() != s.max():
            nonconstant.append(r)
            nc_weights.append(len(s))
        shuffled.append(acf(rng.permutation(s), lag))
    if not values:
        return {}
    return {"acf": float(np.average(values, weights=weights)),
            "acf_nonconstant": float(np.average(nonconstant, weights=nc_weights))
            if nonconstant else np.nan,
            "acf_shuffled": float(np.average(shuffled, weights=weights)),
            "n_engrams": len(values), "n_constant": len(values) - len(nonconstant)}


def run_point(point: dict, seed: np.random.SeedSequence, ctx) -> list[dict]:
    params = MemoriaParams.appendix_b(point["setting"])
    records = []
    for k, child in enumerate(seed.spawn(point["seeds"])):
        stream_seed, circuit_seed, shuffle_seed = child.spawn(3)
        x, _ = recurring_stream(np.random.default_rng(stream_seed), point["steps"], params.n_wm,
                                point["dim"], n_items=point["items"], noise=point["noise"],
                                stay=point["stay"])
        series = reminding_series(MemoriaCircuit(params, point["dim"], seed=circuit_seed), x)
        rng = np.random.default_rng(shuffle_seed)
        max_lag = {"stm": max(1, params.stm_capacity // params.n_wm - 1), "ltm": 15}
        for store in ("stm", "ltm"):
            for lag in range(1, max_lag[store] + 1):
                row = average_acf(series[store], lag, rng)
                if row:
                    records.append({"seed": k, "memory": store, "lag": lag, **row})
    return records


def summarize(frame, values) -> dict:
    out = {}
    mean = frame.groupby(["memory", "lag"])[["acf", "acf_nonconstant", "acf_shuffled"]].mean()
    for (store, lag), row in mean.iterrows():
        if lag in (1, 7, 15):
            for name, value in row.items():
                out[f"{store}_{name}_lag{lag}"] = float(value)
    for store in ("stm", "ltm"):
        if store in mean.index.get_level_values(0):
            sub = mean.loc[store]["acf"]
            out[f"{store}_acf_decreases"] = int(sub.iloc[0] >= sub.iloc[-1])
    return out


def plot(frame, values):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    mean = frame.groupby(["memory", "lag"])[["acf", "acf_nonconstant", "acf_shuffled"]].mean()
    for ax, store in zip(axes, ("stm", "ltm")):
        if store not in mean.index.get_level_values(0):
            continue
        sub = mean.loc[store]
        ax.plot(sub.index, sub["acf"], "o-", label="neurosim (variance 0 -> 1, as the paper)")
        ax.plot(sub.index, sub["acf_nonconstant"], "s-", label="neurosim, variance-0 excluded")
        ax.plot(sub.index, sub["acf_shuffled"], "x:", label="shuffled-time control")
        table = TABLE_7[store]
        ax.plot(range(1, len(table) + 1), table, "k--", label="paper Table 7 (Wikitext-103)")
        ax.set_title(f"{store.upper()} engrams")
        ax.set_xlabel("lag (steps)")
        ax.set_ylabel("autocorrelation")
        ax.set_ylim(-0.2, 1.05)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


PROTOCOL = Protocol(
    name="memoria-autocorrelation",
    description="Memoria: autocorrelation of reminded events by lag for STM and LTM (App. D, Table 7)",
    params={
        "setting": Param("lm-50", str, "appendix B parameter set", choices=tuple(APPENDIX_B)),
        "steps": Param(400, int, "stream length", positive),
        "items": Param(20, int, "distinct recurring items", positive),
        "noise": Param(0.3, float, "noise of each copy relative to the item norm", positive),
        "stay": Param(0.8, float, "probability that an item stays on for the next step (topics)",
                      probability),
        "dim": Param(16, int, "engram dimension", positive),
        "seeds": Param(1, int, "streams per point", positive),
    },
    run_point=run_point, summarize=summarize, plot=plot, backends=("graph",),
    figure="App. D, Table 7", metric="acf",
    paper={**{f"{store}_acf_lag{lag}": table[lag - 1] for store, table in TABLE_7.items()
              for lag in (1, 7, 15) if lag <= len(table)},
           "stm_acf_decreases": 1, "ltm_acf_decreases": 1},
    notes="Paper values: Table 7 (a Memoria Transformer on Wikitext-103; STM lags 1-7, LTM "
          "lags 1-15). Here the engrams come from a synthetic recurring stream, not a trained "
          "model, so only the shape (autocorrelation falling with the lag) is comparable; the "
          "levels depend on the stream's parameters.")
