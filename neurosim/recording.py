"""``--record``: spike rasters and population rates of one store/recall episode.

:func:`save_recording` writes ``NAME.npz`` (arrays a lab can load with
``numpy.load``: for each population ``<pop>_t`` spike times in s and
``<pop>_i`` neuron indices; ``<pop>_rate_t``/``_hz`` smoothed population
rates; ``window_s`` the presentation window; the episode's ``x``, ``y``,
``q``, ``query`` and the readout ``y_hat``) and ``NAME.png`` (raster per
population plus the population rate, windows shaded: stores vs queries).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .results import atomic_save_figure, atomic_write_bytes


def save_recording(folder: str | Path, name: str, recorded: dict, stream, y_hat) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.asarray(v) for k, v in recorded.items()}
    arrays.update(x=stream.x[0], y=stream.y[0], q=stream.q[0], query=stream.query[0],
                  y_hat=np.asarray(y_hat)[0])
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(folder / f"{name}.npz", buffer.getvalue())
    figure = plot_recording(arrays, title=name)
    atomic_save_figure(figure, folder / f"{name}.png")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return folder / f"{name}.npz"


def plot_recording(arrays: dict, title: str = ""):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pops = [k[:-2] for k in arrays if k.endswith("_i")]
    rates = [k[:-3] for k in arrays if k.endswith("_hz")]
    figure, axes = plt.subplots(len(pops) + len(rates), 1, sharex=True,
                                figsize=(9, 1.6 * (len(pops) + len(rates)) + 0.6))
    axes = np.atleast_1d(axes)
    window = float(arrays["window_s"])
    q, query = arrays["q"], arrays["query"]
    for ax in axes:
        for step in range(len(q)):
            if q[step] > 0 or query[step]:
                ax.axvspan(step * window, (step + 1) * window, alpha=0.08,
                           color="tab:red" if q[step] > 0 else "tab:blue", lw=0)
    for ax, pop in zip(axes, pops):
        ax.plot(arrays[f"{pop}_t"], arrays[f"{pop}_i"], "|", ms=2, color="k")
        ax.set_ylabel(pop, fontsize=8)
    for ax, rate in zip(axes[len(pops):], rates):
        ax.plot(arrays[f"{rate}_t"], arrays[f"{rate}_hz"], lw=0.8)
        ax.set_ylabel(f"{rate} (Hz)", fontsize=8)
    axes[-1].set_xlim(0, len(q) * window)
    axes[-1].set_xlabel("time (s); red: store windows, blue: query windows")
    axes[0].set_title(title)
    return figure
