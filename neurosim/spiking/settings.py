"""What the spiking circuits' settings classes share: checks, the build key, the phase grid.

A circuit's settings (``KVCircuit``, ``HopfieldCircuit``) are a frozen dataclass of sizes,
neuron models, rates and gains.  Fields named in ``RUN_TIME`` reach a compiled build through
``run_args``; the others define the build (:meth:`structure`).  ``COUNTS`` must be >= 1,
``PROBABILITIES`` lie in (0, 1], every float field is >= 0, and the subclass's
``check_ms`` (its phase grid) must exist on the dt grid.
"""
from __future__ import annotations

from dataclasses import asdict, fields

import numpy as np

from neurosim.errors import ParameterError


class CircuitSettings:
    RUN_TIME: tuple[str, ...] = ()
    COUNTS: tuple[str, ...] = ()
    PROBABILITIES: tuple[str, ...] = ()

    def check(self) -> None:
        for name in self.COUNTS:
            if getattr(self, name) < 1:
                raise ParameterError(f"{name} must be >= 1")
        for name in self.PROBABILITIES:
            if not 0 < getattr(self, name) <= 1:
                raise ParameterError(f"{name} must lie in (0, 1]")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and value < 0:
                raise ParameterError(f"{f.name} must be >= 0 (got {value})")
        if not self.check_ms > 0:                  # every phase boundary lies on the dt grid
            raise ParameterError("the phase boundaries must be multiples of dt")

    def structure(self) -> dict:
        """What defines a build: every field but the run-time ones."""
        return {k: v for k, v in asdict(self).items() if k not in self.RUN_TIME}

    def phase_grid_ms(self, *durations_ms: float) -> float:
        """Grid on which the sources' rates may change: the greatest common divisor of the
        window's phases and the given phase boundaries (each a multiple of dt)."""
        w = self.windows
        return float(np.gcd.reduce([w.steps(x) for x in (w.read_ms, w.store_ms, *durations_ms)])
                     * w.dt_ms)
