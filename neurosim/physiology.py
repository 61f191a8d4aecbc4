"""Physiology of spiking runs in tidy results and summaries.

A spiking circuit reports, per run, the measurements of
:mod:`neurosim.circuits.spiking_physiology` (rates per population, ISI CV, shortest ISI,
active fraction, E/I current ratio).  A point may run its circuit several times (e.g. a
capacity search); :func:`point_columns` averages those runs into columns of the point's records
(the 99th-percentile rates and the shortest ISI keep their worst case).  :func:`headline`
summarizes the columns of a result frame: mean rates, the worst 99th-percentile rate per
population, and whether every population stays under its limit (150 Hz excitatory, 300 Hz
inhibitory, the targets of a physiologist's check).
"""
from __future__ import annotations

import numpy as np

EXCITATORY_LIMIT_HZ = 150.0
INHIBITORY_LIMIT_HZ = 300.0
INHIBITORY_POPULATIONS = ("hidden_inh", "output_inh", "pair_inh", "pool_inh", "teacher_inh",
                          "feature_inh")
PREFIXES = ("rate_mean_hz_", "rate_p99_hz_", "isi_cv_", "isi_min_ms_", "active_fraction_",
            "ei_current_ratio_")


def worst(name: str):
    """How the runs of a point (or the points of a summary) combine one measurement."""
    if name.startswith("rate_p99_hz_"):
        return np.nanmax
    if name.startswith("isi_min_ms_"):
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
    return out
