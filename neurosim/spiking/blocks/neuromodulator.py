"""The global third factor as a neuromodulator concentration with its own dynamics.

A neuromodulatory population (e.g. cholinergic neurons of the medial septum / basal forebrain,
``n_neurons`` :class:`~neurosim.spiking.blocks.coding.SpikeSource` neurons) fires at
q x ``rate_hz``; each of its spikes releases transmitter that reaches every neuron of the
target population (volume transmission), where the concentration M obeys

    tau_M dM/dt = -M,    M += release at each neuromodulatory spike,
    release = 1 / (n_neurons rate_hz tau_M)

so that M settles at E[M] = q: M = 1 is an ordinary store (q = 1), M = 10 a flashbulb
(q = 10) -- a difference in release, not another code path.

Optional kinetics for released modulators read over behavioural time scales: a tonic
``baseline`` M relaxes to, and a ``rise_ms`` (the transmitter released by a spike, R, reaches
the receptors with its own time constant; the increment per spike is the same, spread in
time):

    tau_M dM/dt = baseline - M + (tau_M / tau_rise) R,    tau_rise dR/dt = -R,   R += release.

Physiological orders of magnitude: dopamine transients decay over ~0.2-1 s (tau_M = 200 ms
is NEST's ``stdp_dopamine_synapse`` default, after Izhikevich 2007), acetylcholine over
seconds; the key-value circuit's 10 ms is a per-window pulse, not a physiological value.  The event ``neuromodulated``
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
    baseline: float = 0.0
    rise_ms: float | None = None

    def __post_init__(self):
        if self.n_neurons < 1 or not self.rate_hz > 0 or not self.tau_ms > 0:
            raise ValueError("a neuromodulator needs n_neurons >= 1, rate > 0 and tau > 0")
        if self.baseline < 0 or (self.rise_ms is not None and not self.rise_ms > 0):
            raise ValueError("a neuromodulator's baseline must be >= 0 and its rise time > 0")

    @property
    def release(self) -> float:
        """Concentration step per spike, so that E[M] = q at q x rate_hz."""
        return 1.0 / (self.n_neurons * self.rate_hz * self.tau_ms * 1e-3)

    def fragment(self) -> Fragment:
        """The concentration, for the population the transmitter reaches."""
        from brian2 import ms

        namespace = {"tau_M": self.tau_ms * ms, "M_floor": self.floor}
        if self.baseline == 0 and self.rise_ms is None:
            equations = "dM/dt = -M/tau_M : 1"
        else:
            rise = "" if self.rise_ms is None else " + M_rising/tau_rise"
            equations = f"dM/dt = (M_baseline - M)/tau_M{rise} : 1"
            namespace["M_baseline"] = self.baseline
        if self.rise_ms is not None:
            equations += "\ndM_rising/dt = -M_rising/tau_rise : 1"
            namespace["tau_rise"] = self.rise_ms * ms
        return Fragment(equations=equations, namespace=namespace,
                        events={"neuromodulated": "M > M_floor"}, method="exact",
                        concentrations=("M", "M_rising"))

    def volume_transmission(self, modulatory, cells, name: str):
        """Volume transmission: ``brian2.Synapses`` from every cell of the modulatory population
        (any spiking group) to every cell of ``cells`` (holding this block's fragment)."""
        from brian2 import Synapses

        synapses = Synapses(modulatory, cells, name=name, **self.release_model())
        synapses.connect()
        return synapses

    def release_model(self) -> dict:
        """Keyword arguments of the release ``brian2.Synapses`` (source: the neuromodulatory
        population, target: a group with this block's fragment)."""
        target = "M_post" if self.rise_ms is None else "M_rising_post"
        return {"on_pre": f"{target} += release", "namespace": {"release": self.release}}
