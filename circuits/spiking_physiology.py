"""Physiology of a spiking run, measured as a lab would from spike times and conductances.

Per population: the firing rate of every cell in every presentation window (mean and 99th
percentile over cells x windows, in Hz), the coefficient of variation of the inter-spike
intervals (pooled within each cell, averaged over cells with >= 3 spikes) and the shortest
interval (refractoriness).  For the hidden layer also the fraction of its cells that spike in
the read phase of a query window, and the ratio of excitatory to inhibitory synaptic current
onto its cells during read phases, mean g_e (E_e - v) / mean g_i (v - E_i).

Populations are named by role; ``EXCITATORY`` and ``INHIBITORY`` list which ones are which, so
that the summary can check the targets (99th-percentile rate <= 150 Hz excitatory, 300 Hz
inhibitory).
"""
from __future__ import annotations

import numpy as np

from .spiking_windows import Windows, window_counts

INHIBITORY = ("hidden_inh", "output_inh", "teacher_inh")
RATE_LIMIT_HZ = {"excitatory": 150.0, "inhibitory": 300.0}


def population_physiology(name: str, times_s: np.ndarray, indices: np.ndarray, n: int,
                          steps: int, windows: Windows) -> dict:
    """Rates (per cell and window), ISI CV and shortest ISI of cells 0..n-1 over ``steps``
    windows."""
    rates = window_counts(times_s, indices, n, steps, windows, 0.0, windows.window_ms) \
        / (windows.window_ms * 1e-3)
    keep = (indices < n) & (times_s < steps * windows.window_ms * 1e-3)
    order = np.lexsort((times_s[keep], indices[keep]))
    t, i = times_s[keep][order], indices[keep][order]
    same = i[1:] == i[:-1]
    isi, cell = np.diff(t)[same], i[1:][same]
    cvs = [np.std(isi[cell == c]) / np.mean(isi[cell == c]) for c in np.unique(cell)
           if np.sum(cell == c) >= 2 and np.mean(isi[cell == c]) > 0]
    return {f"rate_mean_hz_{name}": float(rates.mean()) if rates.size else 0.0,
            f"rate_p99_hz_{name}": float(np.percentile(rates, 99)) if rates.size else 0.0,
            f"isi_cv_{name}": float(np.mean(cvs)) if cvs else float("nan"),
            f"isi_min_ms_{name}": float(isi.min() * 1e3) if isi.size else float("nan")}


def active_fraction(times_s, indices, cells_per_trial: int, trials: int, steps: int,
                    windows: Windows, query: np.ndarray) -> float:
    """Mean fraction of a trial's cells that spike in the read phase of its query windows."""
    counts = window_counts(times_s, indices, trials * cells_per_trial, steps, windows,
                           windows.settle_ms, windows.read_ms)
    active = (counts > 0).reshape(trials, cells_per_trial, steps).mean(axis=1)   # (B, steps)
    mask = query[:trials, :steps]
    return float(active[mask].mean()) if mask.any() else float("nan")


def ei_ratio(monitor, E_e: float, E_i: float, windows: Windows) -> float:
    """mean g_e (E_e - v) / mean g_i (v - E_i) over the read phases (volts, siemens)."""
    t = np.asarray(monitor.t_)
    offset = (t % (windows.window_ms * 1e-3)) * 1e3
    read = (offset >= windows.settle_ms) & (offset < windows.read_ms)
    v, g_e, g_i = (np.asarray(getattr(monitor, name + "_"))[:, read] for name in ("v", "g_e", "g_i"))
    inhibitory = np.mean(g_i * (v - E_i))
    return float(np.mean(g_e * (E_e - v)) / inhibitory) if inhibitory > 0 else float("inf")


def spike_arrays(monitor) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(monitor.t_), np.asarray(monitor.i)


def kv_physiology(handles: dict, model, stream, steps: int) -> dict:
    """Physiology of a key-value run over the stream's own windows and trials."""
    windows = model.circuit.windows
    sizes = {name: len(group) // handles["B"] for name, group in handles["groups"].items()}
    out = {}
    for name, monitor in handles["spikes"].items():
        cells = sizes[name] * (stream.batch if name in ("hidden", "output") else 1)
        out.update(population_physiology(name, *spike_arrays(monitor), cells, stream.steps,
                                         windows))
    out["active_fraction_hidden"] = active_fraction(
        *spike_arrays(handles["spikes"]["hidden"]), model.N, stream.batch, stream.steps,
        windows, stream.query)
    hidden = model.circuit.hidden
    out["ei_current_ratio_hidden"] = ei_ratio(handles["currents"], hidden.E_e_mV * 1e-3,
                                              hidden.E_i_mV * 1e-3, windows)
    return out


def kv_record(handles: dict, model, stream) -> dict:
    """Arrays of one recorded run (trial 0): spikes of every population, voltage, plateau,
    neuromodulator and rate traces of hidden cells 0-3, key weights over time."""
    sizes = {name: len(group) // handles["B"] for name, group in handles["groups"].items()}
    out = {"window_s": np.asarray(model.circuit.windows.window_ms * 1e-3),
           "read_s": np.asarray(model.circuit.windows.read_ms * 1e-3)}
    for name, monitor in handles["spikes"].items():
        t, i = spike_arrays(monitor)
        keep = i < sizes[name]
        out[f"{name}_t"], out[f"{name}_i"] = t[keep], i[keep]
    hidden = handles["traces"]["hidden"]
    out["trace_t"] = np.asarray(hidden.t_)
    for name in ("v", "v_d", "plateau", "M", "rho"):
        out[f"hidden_{name}"] = np.asarray(getattr(hidden, name + "_") if name in ("v", "v_d")
                                           else getattr(hidden, name))
    keys = handles["traces"]["keys"]
    out["keys_t"], out["keys_w_nS"] = np.asarray(keys.t_), np.asarray(keys.w_) * 1e9
    return out
