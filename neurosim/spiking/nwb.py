"""``--record`` in the field's exchange format: one episode of a spiking run as an NWB file.

:func:`write_nwb` turns the arrays of :mod:`neurosim.spiking.recording` into NWB 2 (pynwb,
the ``nwb`` extra), readable by Neo (``neo.io.NWBIO``) and so by Elephant:

- ``units``: one row per recorded cell: its spike times (s), ``population`` and ``cell`` index,
  observed over the whole episode;
- ``acquisition``: each state-variable trace as a ``TimeSeries`` (samples x recorded cells) with
  its unit (``v`` in volts, weights in siemens, plateau, neuromodulator and rate traces
  dimensionless);
- ``intervals/presentations``: one interval per presentation window with its kind (store,
  query or idle), the neuromodulator drive ``q``, the start of its read phase, the key ``x``
  and value ``y`` presented and the circuit's readout ``y_hat``;
- metadata: the circuit's parameters as JSON in ``notes``, neurosim's version in
  ``source_script``.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from neurosim.errors import ParameterError

UNITS = {"mV": ("volts", 1e-3), "nS": ("siemens", 1e-9)}
# nwbinspector's checks of an animal subject that a simulated network cannot meet honestly:
# it has no age and no species (sex is given as "U", unknown, which NWB allows).
NOT_APPLICABLE = ("check_subject_age", "check_subject_species_exists")


def require_pynwb() -> None:
    """One line where the ``nwb`` extra is missing (the CLI exits 2)."""
    try:
        import pynwb  # noqa: F401
    except ImportError:
        raise ParameterError("--record writes NWB files: pip install 'neurosim[nwb]'") from None


def populations(arrays: dict) -> list[str]:
    return [name[:-2] for name in arrays if name.endswith("_i") and f"{name[:-2]}_t" in arrays]


def trace_unit(name: str) -> tuple[str, str, float]:
    """``trace_v_mV`` -> (``v``, ``volts``, 1e-3); names without a unit are dimensionless."""
    stem, _, unit = name.rpartition("_")
    if unit in UNITS:
        return stem, *UNITS[unit]
    return name, "dimensionless", 1.0


def write_nwb(path: str | Path, arrays: dict, description: str, parameters: dict) -> Path:
    """Write one recorded episode (the layout of :mod:`neurosim.spiking.recording`) to ``path``."""
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.epoch import TimeIntervals
    from pynwb.file import Subject
    from pynwb.misc import Units

    from neurosim import __version__

    window = float(arrays["window_s"])
    read = float(arrays.get("read_s", window))
    observed = [[0.0, len(arrays["q"]) * window]]
    nwb = NWBFile(session_description=description, identifier=str(uuid.uuid4()),
                  session_start_time=datetime.now(timezone.utc),
                  notes=json.dumps(parameters, sort_keys=True, default=str),
                  source_script=f"neurosim {__version__}",
                  source_script_file_name="neurosim", institution="simulation",
                  experiment_description="a simulated spiking memory circuit "
                                         "(no animal, no electrodes)",
                  subject=Subject(subject_id=description.replace("/", "-"), sex="U",
                                  description="a simulated network, not an animal"),
                  units=Units(name="units", resolution=float(arrays["dt_s"]),
                              description="cells of the simulated circuit"))
    nwb.add_unit_column(name="population", description="the circuit's population of the cell")
    nwb.add_unit_column(name="cell", description="the cell's index in its population")
    nwb.add_unit_column(name="_name", description="population[cell], the name Neo reads")
    for population in populations(arrays):
        times, cells = np.asarray(arrays[f"{population}_t"]), np.asarray(arrays[f"{population}_i"])
        size = int(arrays.get(f"{population}_cells", cells.max(initial=-1) + 1))
        for cell in range(size):
            nwb.add_unit(spike_times=np.sort(times[cells == cell]), obs_intervals=observed,
                         population=population, cell=cell, _name=f"{population}[{cell}]")
    for prefix, clock in (("trace_", "trace_t"), ("weights_", "weights_t")):
        names = [n for n in arrays if n.startswith(prefix) and n != clock]
        if not names:
            continue
        t = np.asarray(arrays[clock])
        rate = 1.0 / float(t[1] - t[0]) if len(t) > 1 else 1.0
        for name in sorted(names):
            stem, unit, conversion = trace_unit(name.removeprefix(prefix))
            nwb.add_acquisition(TimeSeries(
                name=f"{prefix}{stem}", data=np.asarray(arrays[name], dtype=float).T, unit=unit,
                conversion=conversion, starting_time=float(t[0]) if len(t) else 0.0, rate=rate,
                description=f"{stem} of the recorded cells (samples x cells)"))
    q = np.asarray(arrays["q"], dtype=float)
    query = np.asarray(arrays["query"], dtype=bool)
    presentations = TimeIntervals(name="presentations",
                                  description="the stream's presentation windows")
    for column, meaning in (("kind", "store (q > 0), query or idle"),
                            ("q", "neuromodulator drive (global third factor)"),
                            ("read_start", "start of the read phase (s)"),
                            ("x", "key presented"), ("y", "value (teacher) presented"),
                            ("y_hat", "the circuit's readout (read phase)")):
        presentations.add_column(name=column, description=meaning)
    for step in range(len(q)):
        presentations.add_interval(
            start_time=step * window, stop_time=(step + 1) * window,
            kind="store" if q[step] > 0 else "query" if query[step] else "idle",
            q=float(q[step]), read_start=step * window + read,
            **{name: np.asarray(arrays[name][step], dtype=float) for name in ("x", "y", "y_hat")})
    nwb.add_time_intervals(presentations)
    path = Path(path)
    partial = path.with_name(f".{path.stem}.partial.nwb")
    with NWBHDF5IO(str(partial), "w") as io:
        io.write(nwb)
    partial.replace(path)
    return path


def inspection(path: str | Path) -> list:
    """nwbinspector's CRITICAL and BEST_PRACTICE_VIOLATION messages on ``path``, without the
    animal-subject checks of :data:`NOT_APPLICABLE`."""
    from nwbinspector import Importance, inspect_nwbfile

    return [message for message in inspect_nwbfile(
        nwbfile_path=str(path), ignore=list(NOT_APPLICABLE),
        importance_threshold=Importance.BEST_PRACTICE_VIOLATION) if message is not None]
