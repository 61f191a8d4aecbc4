"""Dopamine-modulated STDP (Izhikevich 2007, Cereb. Cortex 17:2443) with the parameters and
the semantics of NEST's ``stdp_dopamine_synapse`` (Potjans, Morrison & Diesmann 2010, Front.
Comput. Neurosci. 4:141), on stock Brian2 groups.

Each synapse keeps a weight w, an eligibility trace c and a presynaptic trace K+; its
postsynaptic cell keeps the postsynaptic trace K- (per synapse here, the same numbers) and the
dopamine concentration n it sits in.  Between events (everything below is exact, integrated in
closed form at each event, as NEST does)::

    dc/dt = -c / tau_c                 dn/dt = -n / tau_n
    dw/dt = c (n - b),   w clipped to [w_min, w_max] at every event

so over an interval of length D from (c0, n0)::

    w += c0 (n0 (1 - exp(-D/tau_s)) tau_s - b tau_c (1 - exp(-D/tau_c))),
    1 / tau_s = 1 / tau_c + 1 / tau_n.

Events: a presynaptic spike depresses, ``c -= A_minus K-`` (K- from postsynaptic spikes
strictly before it), then ``K+ += 1``; a postsynaptic spike, seen by the synapse a dendritic
delay later, facilitates, ``c += A_plus K+``, then ``K- += 1``; a spike of the dopaminergic
population raises n by 1 / tau_n in every cell of the region (volume transmission: a well-mixed
concentration, one value per region, held by each cell; no diffusion).

Locality: the synapse reads its own state, its presynaptic spikes, its postsynaptic cell's
spikes and the concentration at that cell -- nothing else.  The protocol drives the
dopaminergic cells, never n.

Brian2 wiring (any presynaptic group: ``PoissonGroup``, ``SpikeGeneratorGroup``, ``NeuronGroup``;
the postsynaptic ``NeuronGroup`` gets the lines of :meth:`DopamineSTDP.concentration`)::

    rule = DopamineSTDP()
    post = neuron_group(10, LIF(), rule.concentration(), name="post")
    release = rule.release(dopaminergic_cells, post, name="release")
    plastic = rule.synapses(pre, post, name="plastic", transmit="g_e_post += w*nS")
    plastic.connect(p=0.1)
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from neurosim.errors import ParameterError
from neurosim.spiking.blocks.base import Fragment
from neurosim.spiking.blocks.units import in_unit

# The time of the last update, the presynaptic and the postsynaptic spike (all 0 at the start,
# when both traces are 0: a coincident postsynaptic spike is excluded only where K- > 0).
SYNAPSE_MODEL = """
w : 1
c : 1
K_plus : 1
K_minus : 1
t_update : second
t_presynaptic : second
t_postsynaptic : second
"""


def require_concentration(group) -> None:
    """One line unless ``group`` holds the lines of :meth:`DopamineSTDP.concentration`."""
    if not {"arriving", "n_at_release", "t_release"} <= set(group.variables):
        raise ParameterError(f"{group.name} holds no dopamine concentration: build it with "
                             "neuron_group(..., DopamineSTDP().concentration())")


@dataclass(frozen=True)
class DopamineSTDP:
    """NEST's ``stdp_dopamine_synapse`` parameters (same names, same defaults; times in ms):
    ``A_plus``, ``A_minus``, ``tau_plus`` (K+), ``tau_c`` (eligibility), ``tau_n`` (dopamine),
    ``b`` (dopamine baseline, in 1/ms like n, which rises by 1 / tau_n per spike), ``Wmin``,
    ``Wmax``; ``tau_minus`` is the postsynaptic cell's
    (NEST: the neuron's, default 20 ms), ``delay`` the dendritic delay after which the synapse
    sees a postsynaptic spike and ``release_delay`` the time from a dopaminergic spike to the
    rise of n (NEST: the delay of the connection to the volume transmitter).  Each time
    accepts a Brian2 Quantity or a number in ms."""

    A_plus: float = 1.0
    A_minus: float = 1.5
    tau_plus: float = 20.0
    tau_minus: float = 20.0
    tau_c: float = 1000.0
    tau_n: float = 200.0
    b: float = 0.0
    Wmin: float = 0.0
    Wmax: float = 200.0
    delay: float = 1.0
    release_delay: float = 1.0

    TIMES = ("tau_plus", "tau_minus", "tau_c", "tau_n", "delay", "release_delay")

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            value = in_unit(value, "ms", f.name) if f.name in self.TIMES else \
                in_unit(value, "1", f.name)
            object.__setattr__(self, f.name, value)
        for name in ("tau_plus", "tau_minus", "tau_c", "tau_n"):
            if not getattr(self, name) > 0:
                raise ParameterError(f"DopamineSTDP: {name} must be > 0 ms "
                                     f"(got {getattr(self, name)})")
        if self.delay < 0 or self.release_delay < 0:
            raise ParameterError("DopamineSTDP: delay and release_delay must be >= 0 ms")
        if not self.Wmin <= self.Wmax:
            raise ParameterError(f"DopamineSTDP: Wmin ({self.Wmin}) must not exceed Wmax "
                                 f"({self.Wmax})")

    # ------------------------------------------------------------------ numpy
    @property
    def tau_s(self) -> float:
        return self.tau_c * self.tau_n / (self.tau_c + self.tau_n)

    def advance(self, w, c, n, duration_ms):
        """(w, c, n) after ``duration_ms`` without events: the closed form above, w clipped."""
        w, c, n = (np.asarray(x, float) for x in (w, c, n))
        D = np.asarray(duration_ms, float)
        w = w + c * (n * self.tau_s * -np.expm1(-D / self.tau_s)
                     - self.b * self.tau_c * -np.expm1(-D / self.tau_c))
        return (np.clip(w, self.Wmin, self.Wmax), c * np.exp(-D / self.tau_c),
                n * np.exp(-D / self.tau_n))

    # ------------------------------------------------------------------ Brian2
    def namespace(self) -> dict:
        from brian2 import ms

        return {"A_plus": self.A_plus, "A_minus": self.A_minus, "b_dopamine": self.b / ms,
                "w_min": self.Wmin, "w_max": self.Wmax, "tau_plus": self.tau_plus * ms,
                "tau_minus": self.tau_minus * ms, "tau_c": self.tau_c * ms,
                "tau_n": self.tau_n * ms, "tau_s": self.tau_s * ms}

    def concentration(self) -> Fragment:
        """The postsynaptic cell's lines: the dopamine concentration n at the cell (its value
        ``n_at_release`` at the last release ``t_release``; n(t) = n_at_release
        exp(-(t - t_release) / tau_n)).  Dopaminergic spikes arrive in ``arriving``; at the start
        of the next step they become this step's ``releases``, which the custom event
        ``dopamine`` applies after the synapses have read n (a synapse integrates up to a
        release with the concentration before it)."""
        from brian2 import ms

        return Fragment(
            equations="n_at_release : hertz\nt_release : second\nreleases : 1\narriving : 1",
            namespace={"tau_n": self.tau_n * ms},
            events={"dopamine": "releases > 0"},
            on_events={"dopamine": "n_at_release = n_at_release*exp(-(t - t_release)/tau_n)"
                                   " + releases/tau_n\nt_release = t\nreleases = 0"},
            regularly={"dopamine_arrivals": ("releases = arriving\narriving = 0", None)},
            concentrations=("n_at_release", "t_release", "releases", "arriving"))

    def release(self, dopaminergic, cells, name: str):
        """Volume transmission: every dopaminergic spike reaches every cell of ``cells`` (a
        region) after :attr:`release_delay` minus one step (the cells apply it in the next
        step, when their ``dopamine`` event fires)."""
        from brian2 import Synapses, defaultclock, ms

        require_concentration(cells)
        synapses = Synapses(dopaminergic, cells, on_pre="arriving_post += 1", name=name)
        synapses.connect()
        synapses.delay = max(self.release_delay * ms - defaultclock.dt, 0 * ms)
        return synapses

    def synapses(self, source, target, name: str, transmit: str = ""):
        """``brian2.Synapses`` from ``source`` (any group that spikes) to ``target`` (with
        :meth:`concentration`) that learn by this rule; ``transmit`` is the statement a
        presynaptic spike runs on arrival (e.g. ``"g_e_post += w*nS"``), after ``delay``.
        Pathways run in the order dopamine, postsynaptic, presynaptic within a step (NEST's
        order for coincident events)."""
        from brian2 import Synapses, ms

        require_concentration(target)
        advance = ("elapsed = t - t_update\n"
                   "n_then = n_at_release_post*exp(-(t_update - t_release_post)/tau_n)\n"
                   "w = clip(w + c*(n_then*tau_s*(1 - exp(-elapsed/tau_s))"
                   " - b_dopamine*tau_c*(1 - exp(-elapsed/tau_c))), w_min, w_max)\n"
                   "c = c*exp(-elapsed/tau_c)\n"
                   "t_update = t\n")
        on_pre = {"pre": advance
                  + "c -= A_minus*(K_minus*exp(-(t - t_postsynaptic)/tau_minus)"
                    " - int(abs(t - t_postsynaptic) < 0.5*dt and K_minus > 0))\n"
                    "K_plus = K_plus*exp(-(t - t_presynaptic)/tau_plus) + 1\n"
                    "t_presynaptic = t"}
        if transmit:
            on_pre["transmit"] = transmit
        on_post = {"post": advance + "c += A_plus*K_plus*exp(-(t - t_presynaptic)/tau_plus)\n"
                                     "K_minus = K_minus*exp(-(t - t_postsynaptic)/tau_minus) + 1\n"
                                     "t_postsynaptic = t",
                   "dopamine": advance}
        delays = {"post": self.delay * ms, **({"transmit": self.delay * ms} if transmit else {})}
        synapses = Synapses(source, target, SYNAPSE_MODEL, on_pre=on_pre, on_post=on_post,
                            on_event={"dopamine": "dopamine"}, delay=delays,
                            namespace=self.namespace(), name=name)
        synapses.dopamine.order, synapses.post.order, synapses.pre.order = -3, -2, -1
        return synapses
