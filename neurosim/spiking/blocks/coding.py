"""How neurons carry the rate model's numbers: spike sources and rate traces.

- :class:`SpikeSource`: an input neuron firing at a rate given by an expression (e.g. a
  TimedArray of the event stream), as a Poisson process or as a regular train.  Both draw the
  time of the next spike only when a spike occurs (``t >= next_spike``), so a source costs one
  comparison per time step: Poisson ISIs are exponential, regular ISIs are 1 / rate.  When the
  rate changes (checked every ``check_ms``, e.g. at each presentation window) the next spike is
  redrawn -- an exponential wait (memoryless, exact for piecewise-constant rates that change on
  the check grid) or a uniformly random phase of the new period.  ``use_poisson`` is a shared
  variable, so one build serves both.
- :class:`RateCode`: the neuron's firing-rate trace (an eligibility trace of its own spikes)
  and the signed number it codes.  rho decays with tau and jumps by 1 / (r_ref tau) at each
  spike, so E[rho] = rate / r_ref; the coded value is z = polarity (rho - baseline).  The trace
  is event-driven: rho(t) = rho_spike exp(-(t - t_spike) / tau) from its value at the last
  spike, exact and free between spikes.
  Push-pull (ON/OFF) coding of a signed x in [-1, 1]: an ON neuron fires at r_ref (1 + x) and
  an OFF neuron at r_ref (1 - x) (polarity +1 / -1, baseline 1), so both code z = x and the
  pair's total rate does not depend on x; an occluded entry (x = 0) leaves both at baseline.
  A one-sided population (e.g. the hidden layer) has polarity +1 and baseline 0: z = rate / r_ref.
  Locality (:mod:`neurosim.spiking.locality`): rho is a trace of the cell's own spikes, which
  its axon terminals can keep (axonal); polarity, the baseline and z are labels of the rate
  model's code, which no synapse may read.
"""
from __future__ import annotations

from dataclasses import dataclass

from neurosim.spiking.blocks.base import Fragment


@dataclass(frozen=True)
class SpikeSource:
    """Input neuron with instantaneous rate ``rate_expression`` (in Hz, may read TimedArrays);
    every ``check_ms`` it compares the rate with the last one seen and, if it changed,
    redraws the next spike from the new rate."""

    rate_expression: str = "rate_hz * Hz"
    check_ms: float = 1.0

    def __post_init__(self):
        if not self.check_ms > 0:
            raise ValueError("check_ms must be > 0")

    def fragment(self) -> Fragment:
        wait = "(use_poisson*(-log(1 - uniform)) + (1 - use_poisson){phase})/clip(rate, 1e-9*Hz, 1e9*Hz)"
        return Fragment(
            equations=f"""
rate = {self.rate_expression} : Hz
rate_seen : Hz
next_spike : second
use_poisson : 1 (shared, constant)
""",
            threshold="t >= next_spike",
            on_spike="uniform = rand()\nnext_spike = t + " + wait.format(phase=""),
            method="exact", initial={"next_spike": "1e9*second", "use_poisson": 1.0},
            regularly={"restart": (f"""
uniform = rand()
changed = int(abs(rate - rate_seen) > 1e-9*Hz)
next_spike = changed*(t + {wait.format(phase="*uniform")}) + (1 - changed)*next_spike
rate_seen = rate
""", self.check_ms)})


@dataclass(frozen=True)
class RateCode:
    """Rate trace rho (tau drho/dt = -rho, rho += 1 / (r_ref tau) per spike, evaluated
    event-driven) and coded value z = polarity (rho - baseline).  tau, r_ref and the baseline
    are shared variables of the group (settable after building, e.g. through run_args)."""

    r_ref_hz: float
    tau_ms: float = 10.0
    baseline: float = 0.0

    def __post_init__(self):
        if not self.r_ref_hz > 0 or not self.tau_ms > 0:
            raise ValueError("r_ref and tau of a rate code must be > 0")

    def fragment(self) -> Fragment:
        from brian2 import Hz, ms

        return Fragment(
            equations="""
rho = rho_spike*exp((t_spike - t)/tau_rho) : 1
rho_spike : 1
t_spike : second
z = polarity*(rho - rho_baseline) : 1
polarity : 1 (constant)
rho_baseline : 1 (shared, constant)
tau_rho : second (shared, constant)
r_ref : Hz (shared, constant)
""",
            on_spike="rho_spike = rho + 1/(r_ref*tau_rho)\nt_spike = t",
            axonal=("rho", "rho_spike", "t_spike"), labels=("polarity", "z", "rho_baseline"),
            initial={"polarity": 1.0, "rho_baseline": self.baseline, "tau_rho": self.tau_ms * ms,
                     "r_ref": self.r_ref_hz * Hz})
