"""The global third factor as a neuromodulator concentration with its own dynamics.

A neuromodulatory population (e.g. cholinergic neurons of the medial septum / basal forebrain,
``n_neurons`` :class:`~neurosim.spiking.blocks.coding.SpikeSource` neurons) fires at
q x ``rate_hz``; each of its spikes releases transmitter that reaches every neuron of the
target population (volume transmission), where the concentration M obeys

    tau_M dM/dt = -M,    M += release at each neuromodulatory spike,
    release = 1 / (n_neurons rate_hz tau_M)

so that M settles at E[M] = q: M = 1 is an ordinary store (q = 1), M = 10 a flashbulb
(q = 10) -- a difference in release, not another code path.  The event ``neuromodulated``
(M above ``floor``, a thousandth of an ordinary store's level) runs passive plasticity.  Plastic synapses read M of the
neuron that carries it (see :class:`~neurosim.spiking.blocks.synapses.ThreeFactorSynapse`).
"""
from __future__ import annotations

from dataclasses import dataclass

from neurosim.spiking.blocks.base import Fragment


@dataclass(frozen=True)
class Neuromodulator:
    n_neurons: int = 40
    rate_hz: float = 10.0
    tau_ms: float = 10.0
    floor: float = 1e-3

    def __post_init__(self):
        if self.n_neurons < 1 or not self.rate_hz > 0 or not self.tau_ms > 0:
            raise ValueError("a neuromodulator needs n_neurons >= 1, rate > 0 and tau > 0")

    @property
    def release(self) -> float:
        """Concentration step per spike, so that E[M] = q at q x rate_hz."""
        return 1.0 / (self.n_neurons * self.rate_hz * self.tau_ms * 1e-3)

    def fragment(self) -> Fragment:
        """The concentration, for the population the transmitter reaches."""
        from brian2 import ms

        return Fragment(equations="dM/dt = -M/tau_M : 1", namespace={"tau_M": self.tau_ms * ms, "M_floor": self.floor},
                        events={"neuromodulated": "M > M_floor"}, method="exact")

    def release_model(self) -> dict:
        """Keyword arguments of the release ``brian2.Synapses`` (source: the neuromodulatory
        population, target: a group with this block's fragment)."""
        return {"on_pre": "M_post += release", "namespace": {"release": self.release}}
