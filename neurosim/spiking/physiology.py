"""Physiology of a spiking run, measured as a lab would from spike times and conductances,
and its place in tidy results and summaries.

Per population: the firing rate of every cell in every presentation window (mean and 99th
percentile over cells x windows, in Hz), the coefficient of variation of the inter-spike
intervals (pooled within each cell, averaged over cells with >= 3 spikes) and the shortest
interval (refractoriness).  For the circuit's scored population (the key-value memory's
hidden layer, the Hopfield units) also the fraction of its cells that spike in the read phase
of a query window, and the ratio of excitatory to inhibitory synaptic current onto its cells
during read phases, mean g_e (E_e - v) / mean g_i (v - E_i).  Populations are named by role.

A spiking circuit reports, per run, the measurements above (rates per population, ISI CV, shortest ISI,
active fraction, E/I current ratio).  A point may run its circuit several times (e.g. a
capacity search); :func:`point_columns` averages those runs into columns of the point's records
(the 99th-percentile rates and the shortest ISI keep their worst case).  :func:`headline`
summarizes the columns of a result frame: mean rates, the worst 99th-percentile rate per
population, and whether every population stays under its limit (150 Hz excitatory, 300 Hz
inhibitory, the targets of a physiologist's check).  ``local_learning`` (1 or 0 per run) says
whether every plastic synapse of the built network passed the locality check
(:mod:`neurosim.spiking.locality`); the headline's ``learning`` is then "local" or
"rate-coded learning".
"""
from __future__ import annotations

import numpy as np

from neurosim.spiking.locality import network_violations
from neurosim.spiking.windows import Windows, window_counts

EXCITATORY_LIMIT_HZ = 150.0
INHIBITORY_LIMIT_HZ = 300.0
INHIBITORY_POPULATIONS = ("hidden_inh", "output_inh", "pair_inh", "pool_inh", "teacher_inh",
                          "feature_inh")
LOCAL_LEARNING = "local_learning"
PREFIXES = ("rate_mean_hz_", "rate_p99_hz_", "isi_cv_", "isi_min_ms_", "active_fraction_",
            "ei_current_ratio_", LOCAL_LEARNING)


def worst(name: str):
    """How the runs of a point (or the points of a summary) combine one measurement."""
    if name.startswith("rate_p99_hz_"):
        return np.nanmax
    if name.startswith("isi_min_ms_") or name == LOCAL_LEARNING:
        return np.nanmin
    return np.nanmean


def combined(name: str, values: list[float]) -> float:
    """The runs' values of one measurement combined by :func:`worst`; NaN where no run
    measured it (e.g. the ISI CV of a population that never fired twice), without a warning."""
    values = np.asarray(values, float)
    return float(worst(name)(values)) if not np.isnan(values).all() else float("nan")


def point_columns(runs: list[dict]) -> dict:
    """The physiology of one point from its runs' measurements."""
    if not runs:
        return {}
    names = dict.fromkeys(name for run in runs for name in run)
    return {name: combined(name, [run.get(name, np.nan) for run in runs]) for name in names}


def headline(frame) -> dict:
    """Headline physiology of a result frame's spiking rows (nothing without them)."""
    columns = [c for c in frame.columns if c.startswith(PREFIXES)]
    if not columns:
        return {}
    out = {}
    for column in columns:
        values = frame[column].dropna().to_numpy(float)
        if values.size:
            out[column] = round(float(worst(column)(values)), 3)
    limits = {name: (INHIBITORY_LIMIT_HZ if name.removeprefix("rate_p99_hz_") in
                     INHIBITORY_POPULATIONS else EXCITATORY_LIMIT_HZ)
              for name in out if name.startswith("rate_p99_hz_")}
    out["rates_within_limits"] = bool(all(out[name] <= limit for name, limit in limits.items()))
    if LOCAL_LEARNING in out:
        out["learning"] = "local" if out[LOCAL_LEARNING] == 1 else "rate-coded learning"
    return out


def population_physiology(name: str, times_s: np.ndarray, indices: np.ndarray, n: int,
                          steps: int, windows: Windows) -> dict:
    """Rates (per cell and window), ISI CV and shortest ISI of cells 0..n-1 over ``steps``
    windows."""
    rates = window_counts(times_s, indices, n, steps, windows, 0.0, windows.window_ms) \
        / (windows.window_ms * 1e-3)
    keep = (indices < n) & (times_s < steps * windows.window_ms * 1e-3)
    return {f"rate_mean_hz_{name}": float(rates.mean()) if rates.size else 0.0,
            f"rate_p99_hz_{name}": float(np.percentile(rates, 99)) if rates.size else 0.0,
            **isi_statistics(name, times_s[keep], indices[keep])}


def isi_statistics(name: str, times_s: np.ndarray, indices: np.ndarray) -> dict:
    """CV of the inter-spike intervals (pooled within each cell, averaged over cells with
    >= 3 spikes) and the shortest interval (ms) of the cells' spikes."""
    order = np.lexsort((times_s, indices))
    t, i = times_s[order], indices[order]
    same = i[1:] == i[:-1]
    isi, cell = np.diff(t)[same], i[1:][same]
    per_cell = np.split(isi, np.unique(cell, return_index=True)[1][1:])   # cell is sorted
    cvs = [np.std(x) / np.mean(x) for x in per_cell if x.size >= 2 and np.mean(x) > 0]
    return {f"isi_cv_{name}": float(np.mean(cvs)) if cvs else float("nan"),
            f"isi_min_ms_{name}": float(isi.min() * 1e3) if isi.size else float("nan")}


def active_fraction(times_s, indices, cells_per_trial: int, trials: int, steps: int,
                    windows: Windows, query: np.ndarray) -> float:
    """Mean fraction of a trial's cells that spike in the read phase of its query windows."""
    counts = window_counts(times_s, indices, trials * cells_per_trial, steps, windows,
                           windows.settle_ms, windows.read_ms)
    active = (counts > 0).reshape(trials, cells_per_trial, steps).mean(axis=1)   # (B, steps)
    mask = query[:trials, :steps]
    return float(active[mask].mean()) if mask.any() else float("nan")


def ei_ratio(monitor, E_e: float, E_i: float, windows: Windows, steps: int) -> float:
    """mean g_e (E_e - v) / mean g_i (v - E_i) over the read phases of the first ``steps``
    windows (volts, siemens)."""
    t = np.asarray(monitor.t_)
    offset = (t % (windows.window_ms * 1e-3)) * 1e3
    read = (offset >= windows.settle_ms) & (offset < windows.read_ms) \
        & (t < steps * windows.window_ms * 1e-3)
    v, g_e, g_i = (np.asarray(getattr(monitor, name + "_"))[:, read] for name in ("v", "g_e", "g_i"))
    inhibitory = np.mean(g_i * (v - E_i))
    return float(np.mean(g_e * (E_e - v)) / inhibitory) if inhibitory > 0 else float("inf")


def spike_arrays(monitor) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(monitor.t_), np.asarray(monitor.i)


def circuit_physiology(handles: dict, windows: Windows, stream, scored: str, cells: int,
                       neuron) -> dict:
    """Physiology of a run over the stream's own windows and trials: every monitored
    population (all trials where the monitor covers the group, else trial 0), the active
    fraction of the ``scored`` population (``cells`` per trial) in query read phases and the
    E/I current ratio onto it (``neuron``: its model, for the reversal potentials)."""
    out = {}
    for name, monitor in handles["spikes"].items():
        group = handles["groups"][name]
        per_trial = len(group) // handles["B"]
        trials = stream.batch if len(monitor.source) == len(group) else 1
        out.update(population_physiology(name, *spike_arrays(monitor), per_trial * trials,
                                         stream.steps, windows))
    out[f"active_fraction_{scored}"] = active_fraction(
        *spike_arrays(handles["spikes"][scored]), cells, stream.batch, stream.steps, windows,
        stream.query)
    out[f"ei_current_ratio_{scored}"] = ei_ratio(handles["currents"], neuron.E_e_mV * 1e-3,
                                                 neuron.E_i_mV * 1e-3, windows, stream.steps)
    out[LOCAL_LEARNING] = float(not any(network_violations(handles["net"]).values()))
    return out


def circuit_record(handles: dict, windows: Windows, traces: dict) -> dict:
    """Arrays of one recorded run (trial 0) in the layout of :mod:`neurosim.spiking.recording`: the
    windows, the time step, the spikes and size of every population and the circuit's
    ``traces`` (trace_*, weights_*)."""
    out = {"window_s": np.asarray(windows.window_ms * 1e-3),
           "read_s": np.asarray(windows.read_ms * 1e-3)}
    for name, monitor in handles["spikes"].items():
        t, i = spike_arrays(monitor)
        cells = len(handles["groups"][name]) // handles["B"]
        out[f"{name}_t"], out[f"{name}_i"] = t[i < cells], i[i < cells]
        out[f"{name}_cells"] = np.asarray(cells)
        out["dt_s"] = np.asarray(float(monitor.clock.dt_))
    return {**out, **traces}


def kv_traces(handles: dict) -> dict:
    """Somatic and dendritic voltage, plateau, neuromodulator and rate traces of hidden cells
    0-3 of trial 0, and the key weights onto them over time."""
    hidden, keys = handles["traces"]["hidden"], handles["traces"]["keys"]
    return {"trace_t": np.asarray(hidden.t_), "trace_v_mV": np.asarray(hidden.v_) * 1e3,
            "trace_v_d_mV": np.asarray(hidden.v_d_) * 1e3,
            "trace_plateau": np.asarray(hidden.plateau), "trace_M": np.asarray(hidden.M),
            "trace_rho": np.asarray(hidden.rho), "weights_t": np.asarray(keys.t_),
            "weights_keys_nS": np.asarray(keys.w_) * 1e9}
