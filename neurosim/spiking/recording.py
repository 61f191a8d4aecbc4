"""``--record``: what a physiologist checks in one store/recall episode of a spiking circuit.

:func:`save_recording` writes ``NAME.nwb`` (NWB 2, read by pynwb and Neo:
:mod:`neurosim.spiking.nwb`), ``NAME.npz`` (the same arrays for ``numpy.load``) and ``NAME.png``.
Array layout (every name optional but the window ones):

- ``<pop>_t``, ``<pop>_i``, ``<pop>_cells``: spike times (s) and cell indices of each
  population, and its number of cells; ``dt_s``: the simulation time step;
- ``trace_t`` (s) and ``trace_<quantity>_<unit>`` (cells x samples): e.g. ``trace_v_mV``
  (soma), ``trace_v_d_mV`` (apical dendrite), ``trace_plateau`` (0/1), ``trace_M``
  (neuromodulator concentration), ``trace_rho`` (rate trace);
- ``weights_t`` (s) and ``weights_<projection>_nS`` (synapses x samples);
- ``window_s``, ``read_s``: the presentation window and its read phase; the episode's ``x``,
  ``y``, ``q``, ``query`` and the readout ``y_hat``.

The figure: one raster per population, then the somatic (solid) and dendritic (dashed)
voltages, the plateaus, the neuromodulator and the weights over time; store windows (q > 0)
are shaded red, query windows blue, each window's read phase left of a dotted line.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from neurosim.results import atomic_save_figure, atomic_write_bytes


def save_recording(folder: str | Path, name: str, recorded: dict, stream, y_hat,
                   parameters: dict) -> Path:
    """Write ``name``.nwb, .npz and .png into ``folder``; ``parameters``: the circuit's, kept
    in the NWB file's metadata."""
    from neurosim.spiking.nwb import write_nwb

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
    return write_nwb(folder / f"{name}.nwb", arrays, name, parameters)   # last: marks it done


def _trace_panels(arrays: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    """(y label, [(array name, line style)]) of each trace panel present in ``arrays``."""
    panels = []
    voltages = [(n, "-" if n == "trace_v_mV" else "--") for n in ("trace_v_mV", "trace_v_d_mV")
                if n in arrays]
    if voltages:
        label = "membrane (mV); dashed: dendrite" if len(voltages) == 2 else "membrane (mV)"
        panels.append((label, voltages))
    for name, label in (("trace_plateau", "plateau"), ("trace_M", "neuromodulator M"),
                        ("trace_rho", "rate trace rho")):
        if name in arrays:
            panels.append((label, [(name, "-")]))
    for name in sorted(n for n in arrays if n.startswith("weights_") and n != "weights_t"):
        panels.append((name.removeprefix("weights_").replace("_nS", " weights (nS)"),
                       [(name, "-")]))
    return panels


def plot_recording(arrays: dict, title: str = ""):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pops = [k[:-2] for k in arrays if k.endswith("_i")]
    panels = _trace_panels(arrays)
    rows = len(pops) + len(panels)
    figure, axes = plt.subplots(rows, 1, sharex=True, figsize=(10, 1.3 * rows + 0.8))
    axes = np.atleast_1d(axes)
    window = float(arrays["window_s"])
    read = float(arrays.get("read_s", window))
    q, query = arrays["q"], arrays["query"]
    for ax in axes:
        for step in range(len(q)):
            if q[step] > 0 or query[step]:
                ax.axvspan(step * window, (step + 1) * window, alpha=0.08, lw=0,
                           color="tab:red" if q[step] > 0 else "tab:blue")
            ax.axvline(step * window + read, color="0.6", lw=0.4, ls=":")
    for ax, pop in zip(axes, pops):
        ax.plot(arrays[f"{pop}_t"], arrays[f"{pop}_i"], "|", ms=2, color="k")
        ax.set_ylabel(pop, fontsize=8)
    for ax, (label, lines) in zip(axes[len(pops):], panels):
        for name, style in lines:
            t = arrays["weights_t" if name.startswith("weights_") else "trace_t"]
            values = np.atleast_2d(arrays[name])
            for row, color in zip(values, plt.cm.tab10.colors):
                ax.plot(t, row, ls=style, lw=0.7, color=color)
        ax.set_ylabel(label, fontsize=8)
    axes[-1].set_xlim(0, len(q) * window)
    axes[-1].set_xlabel("time (s); red: store windows, blue: query windows, dotted: end of read")
    axes[0].set_title(title)
    return figure
