"""Behavioural-timescale synaptic plasticity (BTSP; Bittner et al. 2017, Science 357:1033;
Milstein et al. 2021, eLife 10:e73046) as a local three-factor rule on stock Brian2 groups.

A CA1 place field forms in one trial: inputs active seconds before or after a dendritic plateau
potential are potentiated.  The model (Bittner et al. 2017's, with a neuromodulator as the
third factor; potentiation only -- the bidirectional, weight-dependent form of Milstein et al.
2021 is not implemented) keeps two slow traces, one on each side of the synapse::

    de/dt = -e / tau_e,           e += 1 at each presynaptic spike   (presynaptic eligibility)
    dq/dt = (plateau - q) / tau_q                                   (postsynaptic instructive
                                                                     signal of the plateau)
    dw/dt = eta M e q (w_max - w)                                   (soft upper bound)

with M the neuromodulator concentration at the postsynaptic cell (volume transmission; e.g.
:class:`~neurosim.spiking.blocks.Neuromodulator` released by a modulatory population).  The
seconds-long e and q make the plasticity window span seconds on both sides of the plateau.
Time constants: ``tau_e`` = 1.5 s and ``tau_q`` = 0.5 s, in the range of the traces Bittner et
al. 2017 fit to their in-vivo induction data (a presynaptic trace of 1-2 s, a shorter
postsynaptic one); not their exact fitted values.  ``eta`` (per second per unit M) sets how much
one pairing writes: at the default 0.5/s, one 300 ms plateau amid 10 Hz input, with M about 1
from 0.5 s before to 1 s after it, moves w from 0.1 to 0.84 of ``w_max`` (tests/test_btsp.py):
one-shot storage, as the key-value paper proposes for keys (Tyulmankov et al. 2021).

Realization: e is event-driven (its value at the last presynaptic spike, decayed in closed
form); q is a variable of the postsynaptic cell (Euler, the cell's integration); the weight is
converted every ``plasticity_step_ms`` while q exceeds ``floor`` (the cell's event
``btsp_step``), exactly for factors held over the step::

    w <- w_max - (w_max - w) exp(-eta M e q Delta)

Locality: the synapse reads its own w and e, its presynaptic spikes, and q, M of its
postsynaptic cell -- nothing of another cell, no coding label, no schedule
(:mod:`neurosim.spiking.locality`).  The plateau is the cell's own (a
:class:`~neurosim.spiking.blocks.Pyramidal` dendrite, triggered by dendritic input)::

    rule = BTSP()
    cell = neuron_group(1, Pyramidal(), Neuromodulator(), rule.instructive(), name="cell")
    plastic = rule.synapses(PoissonGroup(100, 10*Hz), cell, name="plastic",
                            transmit="g_e_post += w*nS")
    plastic.connect()
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from neurosim.errors import ParameterError
from neurosim.spiking.blocks.base import Fragment
from neurosim.spiking.blocks.units import in_unit

SYNAPSE_MODEL = """
w : 1
e_at_spike : 1
t_presynaptic : second
"""


@dataclass(frozen=True)
class BTSP:
    """Parameters (times: a Brian2 Quantity or a number in ms; ``eta`` in 1/second, i.e. Hz;
    ``modulator``: the name of the concentration variable of the postsynaptic cell)."""

    tau_e: float = 1500.0
    tau_q: float = 500.0
    eta: float = 0.5
    w_max: float = 1.0
    floor: float = 1e-3
    plasticity_step: float = 1.0
    modulator: str = "M"

    TIMES = ("tau_e", "tau_q", "plasticity_step")

    def __post_init__(self):
        for f in fields(self):
            if f.name == "modulator":
                continue
            unit = "ms" if f.name in self.TIMES else "Hz" if f.name == "eta" else "1"
            object.__setattr__(self, f.name, in_unit(getattr(self, f.name), unit, f.name))
        for name in ("tau_e", "tau_q", "plasticity_step", "w_max", "floor"):
            if not getattr(self, name) > 0:
                raise ParameterError(f"BTSP: {name} must be > 0 (got {getattr(self, name)})")
        if self.eta < 0:
            raise ParameterError(f"BTSP: eta must be >= 0 (got {self.eta})")

    # ------------------------------------------------------------------ numpy
    def eligibility(self, spike_times_ms, t_ms) -> np.ndarray:
        """e at times ``t_ms`` from presynaptic spikes strictly before them."""
        spikes = np.asarray(spike_times_ms, float)[None, :]
        t = np.asarray(t_ms, float)[:, None]
        return np.where(spikes < t, np.exp(-(t - spikes) / self.tau_e), 0.0).sum(axis=1)

    def convert(self, w, e, q, M):
        """One plasticity step: w after ``plasticity_step`` ms with e, q, M held."""
        rate = self.eta * 1e-3 * np.asarray(M) * np.asarray(e) * np.asarray(q)
        return self.w_max - (self.w_max - np.asarray(w, float)) * np.exp(
            -rate * self.plasticity_step)

    # ------------------------------------------------------------------ Brian2
    def instructive(self) -> Fragment:
        """The postsynaptic cell's lines: the instructive trace q of its plateau and the event
        ``btsp_step`` (every plasticity step while q > floor).  Needs the cell's ``plateau``
        (:class:`~neurosim.spiking.blocks.Pyramidal`) and its modulator (e.g.
        :class:`~neurosim.spiking.blocks.Neuromodulator`)."""
        from brian2 import ms

        return Fragment(
            equations="dq_instructive/dt = (plateau - q_instructive)/tau_q : 1",
            namespace={"tau_q": self.tau_q * ms, "q_floor": self.floor,
                       "btsp_dt": self.plasticity_step * ms},
            events={"btsp_step": "q_instructive > q_floor and (t + dt/2) % btsp_dt < dt"})

    def namespace(self) -> dict:
        from brian2 import ms, second

        return {"tau_e": self.tau_e * ms, "eta": self.eta / second, "w_max": self.w_max,
                "btsp_dt": self.plasticity_step * ms}

    def synapses(self, source, target, name: str, transmit: str = ""):
        """``brian2.Synapses`` from ``source`` (any group that spikes) onto ``target`` (with
        :meth:`instructive`, a plateau and the modulator) learning by BTSP; ``transmit`` is
        what a presynaptic spike does on arrival (e.g. ``"g_e_post += w*nS"``)."""
        from brian2 import Synapses

        missing = {"q_instructive", "plateau", self.modulator} - set(target.variables)
        if missing:
            raise ParameterError(
                f"{target.name} lacks {', '.join(sorted(missing))}: build it with "
                f"neuron_group(..., Pyramidal(), Neuromodulator(), BTSP().instructive())")
        on_pre = {"pre": "e_at_spike = e_at_spike*exp(-(t - t_presynaptic)/tau_e) + 1\n"
                         "t_presynaptic = t"}
        if transmit:
            on_pre["transmit"] = transmit
        convert = (f"w = w_max - (w_max - w)*exp(-eta*{self.modulator}_post*q_instructive_post"
                   "*e_at_spike*exp(-(t - t_presynaptic)/tau_e)*btsp_dt)")
        synapses = Synapses(source, target, SYNAPSE_MODEL, on_pre=on_pre,
                            on_post={"btsp": convert}, on_event={"btsp": "btsp_step"},
                            namespace=self.namespace(), name=name)
        synapses.btsp.order, synapses.pre.order = -2, -1
        return synapses

    def initialize(self, synapses, w: float | np.ndarray = 0.0) -> None:
        """After connecting: the weights, no eligibility (no presynaptic spike yet)."""
        synapses.w = w
        synapses.e_at_spike = 0.0
