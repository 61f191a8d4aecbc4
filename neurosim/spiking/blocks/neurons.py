"""Spiking neuron models with units (mV, ms, nS, pF, pA) and refractoriness.

Conductance-based synapses on every model: an excitatory conductance ``g_e`` (reversal
``E_e``) and an inhibitory one ``g_i`` (reversal ``E_i``), each decaying exponentially;
a synapse adds its weight (in nS) to ``g_e_post`` or ``g_i_post``, so the sign of a synapse
is fixed by the conductance it targets (Dale's law).

- :class:`LIF`: leaky integrate-and-fire,
  C dv/dt = g_L (E_L - v) + g_e (E_e - v) + g_i (E_i - v) + I_ext,
  a spike at v > V_th, reset to V_reset and clamped for t_ref.  With ``escape_mV`` set, the
  threshold is soft (escape noise, Gerstner & Kistler 2002, ch. 5.3; Jolivet et al. 2006): the
  neuron fires with instantaneous rate rho_0 exp((v - V_th) / Delta_V), each spike lowers v by
  an after-hyperpolarization ``ahp_mV`` and is followed by ``t_ref`` without spikes (the
  membrane keeps integrating).  A population of such neurons sharing inhibition is a stochastic
  soft winner-take-all: spike shares ~ exp(v_i / Delta_V) (Nessler et al. 2013; Habenschuss,
  Jonke & Maass 2013).  With ``adaptation_pA`` > 0, spike-frequency adaptation (the slow
  calcium-dependent potassium current of regular-spiking pyramidal cells; Benda & Herz 2003):
  an outward current I_a, tau_a dI_a/dt = -I_a, I_a += b at each spike, subtracted from the
  membrane current -- a cell driven hard settles near r = I_excess / (b tau_a) instead of
  its refractory ceiling 1 / t_ref.
- :class:`AdEx`: adaptive exponential integrate-and-fire (Brette & Gerstner 2005),
  C dv/dt = ... + g_L Delta_T exp((v - V_T) / Delta_T) - w_a,  tau_w dw_a/dt = a (v - E_L) - w_a,
  w_a += b at each spike.
- :class:`Pyramidal`: two compartments (Pinsky & Rinzel 1994 style): a LIF soma and an apical
  dendrite coupled by g_c.  The dendrite receives its own excitatory input ``g_d`` (e.g. from
  entorhinal layer III, Bittner et al. 2017); when its potential crosses ``V_plateau`` it
  fires a plateau potential -- a regenerative calcium/NMDA conductance that holds the
  dendrite depolarized for ``plateau_ms`` -- and is then refractory for ``plateau_refractory_ms``.
  With ``plateau_hold_nS`` set, the plateau is regenerative (NMDA-like: it persists while
  glutamatergic drive keeps the dendrite's NMDA channels open; Schiller et al. 2000, Major et al.
  2013): every step of a plateau in which the dendritic input conductance g_d exceeds
  ``plateau_hold_nS`` extends it to at least ``plateau_ms`` later, so a plateau lasts about as
  long as its input plus ``plateau_ms`` (without it: exactly ``plateau_ms``, a fixed timer).
  ``plateau`` (0 or 1) is the dendritic spike, the local third factor of the three-factor
  synapse; during a plateau the event ``plateau_step`` is emitted every ``plasticity_step_ms``
  (at t = k x plasticity_step_ms: plasticity is slow, so it is sampled on a 1 ms grid rather
  than at every 0.1 ms time step; the synapses convert with the exact exponential over the
  step).
"""
from __future__ import annotations

from dataclasses import dataclass

from neurosim.spiking.blocks.base import Fragment


def _positive(**values) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name} must be > 0 (got {value})")


SYNAPTIC_CURRENTS = "g_e*(E_e - v) + g_i*(E_i - v) + I_ext"
CONDUCTANCES = """
dg_e/dt = -g_e/tau_e : siemens
dg_i/dt = -g_i/tau_i : siemens
I_ext : amp
"""


@dataclass(frozen=True)
class LIF:
    """Leaky integrate-and-fire neuron with conductance synapses; parameters in the units
    their names end with."""

    C_pF: float = 200.0
    g_L_nS: float = 10.0
    E_L_mV: float = -70.0
    V_th_mV: float = -50.0
    V_reset_mV: float = -60.0
    t_ref_ms: float = 2.0
    tau_e_ms: float = 5.0
    tau_i_ms: float = 10.0
    E_e_mV: float = 0.0
    E_i_mV: float = -80.0
    escape_mV: float | None = None
    escape_rate_hz: float = 20.0
    ahp_mV: float = 0.2
    adaptation_pA: float = 0.0
    adaptation_ms: float = 100.0

    def __post_init__(self):
        _positive(C_pF=self.C_pF, g_L_nS=self.g_L_nS, t_ref_ms=self.t_ref_ms,
                  tau_e_ms=self.tau_e_ms, tau_i_ms=self.tau_i_ms, escape_rate_hz=self.escape_rate_hz,
                  adaptation_ms=self.adaptation_ms)
        if self.adaptation_pA < 0:
            raise ValueError("adaptation_pA must be >= 0")
        if self.escape_mV is not None:
            _positive(escape_mV=self.escape_mV)
        if self.ahp_mV < 0:
            raise ValueError("ahp_mV must be >= 0")
        if not self.E_i_mV < self.E_L_mV < self.V_th_mV < self.E_e_mV:
            raise ValueError("need E_i < E_L < V_th < E_e")
        if not self.V_reset_mV < self.V_th_mV:
            raise ValueError("V_reset must lie below V_th")

    @property
    def tau_m_ms(self) -> float:
        return self.C_pF / self.g_L_nS

    def namespace(self) -> dict:
        from brian2 import Hz, mV, ms, nS, pA, pF

        names = {"C_m": self.C_pF * pF, "g_L": self.g_L_nS * nS, "E_L": self.E_L_mV * mV,
                 "V_th": self.V_th_mV * mV, "V_reset": self.V_reset_mV * mV,
                 "t_ref": self.t_ref_ms * ms, "tau_e": self.tau_e_ms * ms,
                 "tau_i": self.tau_i_ms * ms, "E_e": self.E_e_mV * mV, "E_i": self.E_i_mV * mV}
        if self.escape_mV is not None:
            names.update(Delta_V=self.escape_mV * mV, rho_0=self.escape_rate_hz * Hz,
                         V_ahp=self.ahp_mV * mV)
        if self.adaptation_pA > 0:
            names.update(b_a=self.adaptation_pA * pA, tau_a=self.adaptation_ms * ms)
        return names

    @property
    def adapting(self) -> bool:
        return self.adaptation_pA > 0

    def membrane_currents(self) -> str:
        """Synaptic and external currents onto the soma, minus the adaptation current."""
        return SYNAPTIC_CURRENTS + (" - I_a" if self.adapting else "")

    def adaptation_equations(self) -> str:
        return "\ndI_a/dt = -I_a/tau_a : amp" if self.adapting else ""

    @property
    def clamped(self) -> str:
        """Equation flag: a hard-threshold neuron's membrane is clamped while refractory."""
        return " (unless refractory)" if self.escape_mV is None else ""

    def spike_rule(self) -> tuple[str, str]:
        """(threshold, reset) of the soma: hard threshold or escape noise."""
        adapt = "\nI_a += b_a" if self.adapting else ""
        if self.escape_mV is None:
            return "v > V_th", "v = V_reset" + adapt
        return "rand() < rho_0*exp(clip((v - V_th)/Delta_V, -50, 20))*dt", "v -= V_ahp" + adapt

    def fragment(self) -> Fragment:
        threshold, reset = self.spike_rule()
        return Fragment(
            equations=f"dv/dt = (g_L*(E_L - v) + {self.membrane_currents()})/C_m : volt{self.clamped}"
                      + self.adaptation_equations() + CONDUCTANCES,
            namespace=self.namespace(), threshold=threshold, on_spike=reset,
            refractory="t_ref", initial={"v": "E_L"})


@dataclass(frozen=True)
class AdEx(LIF):
    """Adaptive exponential integrate-and-fire; spikes are cut at ``V_peak_mV``."""

    V_th_mV: float = -50.0
    Delta_T_mV: float = 2.0
    V_peak_mV: float = -30.0
    a_nS: float = 2.0
    b_pA: float = 40.0
    tau_w_ms: float = 100.0

    def __post_init__(self):
        super().__post_init__()
        _positive(Delta_T_mV=self.Delta_T_mV, tau_w_ms=self.tau_w_ms)
        if self.escape_mV is not None:
            raise ValueError("AdEx spikes at V_peak; escape noise applies to LIF and Pyramidal")
        if self.adapting:
            raise ValueError("AdEx adapts through a_nS and b_pA; adaptation_pA is LIF's")
        if not self.V_peak_mV > self.V_th_mV:
            raise ValueError("V_peak must lie above V_th (the exponential's threshold V_T)")

    def namespace(self) -> dict:
        from brian2 import mV, ms, nS, pA

        return {**super().namespace(), "Delta_T": self.Delta_T_mV * mV,
                "V_peak": self.V_peak_mV * mV, "a_w": self.a_nS * nS, "b_w": self.b_pA * pA,
                "tau_w": self.tau_w_ms * ms}

    def fragment(self) -> Fragment:
        return Fragment(
            equations="dv/dt = (g_L*(E_L - v) + g_L*Delta_T*exp((v - V_th)/Delta_T) - w_a + "
                      f"{SYNAPTIC_CURRENTS})/C_m : volt (unless refractory)\n"
                      "dw_a/dt = (a_w*(v - E_L) - w_a)/tau_w : amp" + CONDUCTANCES,
            namespace=self.namespace(), threshold="v > V_peak",
            on_spike="v = V_reset\nw_a += b_w", refractory="t_ref", initial={"v": "E_L"})


@dataclass(frozen=True)
class Pyramidal(LIF):
    """Two-compartment pyramidal neuron: LIF soma ``v`` and apical dendrite ``v_d`` with a
    plateau potential (the local third factor)::

        Dendrite: C_d dv_d/dt = g_Ld (E_L - v_d) + g_c (v - v_d) + g_d (E_e - v_d)
                                + g_plateau plateau (E_plateau - v_d)
        Soma:     C dv/dt = g_L (E_L - v) + g_c (v_d - v) + g_e (E_e - v) + g_i (E_i - v) + I_ext

    Plateau onset when v_d > V_plateau (outside the dendrite's refractory period); it lasts
    ``plateau_ms``, or, regenerative (``plateau_hold_nS``), until ``plateau_ms`` after the
    dendritic input conductance last exceeded ``plateau_hold_nS``.  The plastic synapses it gates convert every ``plasticity_step_ms`` of a
    plateau (a multiple of the time step; the namespace's ``plasticity_dt``)."""

    C_d_pF: float = 100.0
    g_Ld_nS: float = 5.0
    g_c_nS: float = 5.0
    tau_d_ms: float = 5.0
    V_plateau_mV: float = -35.0
    E_plateau_mV: float = -10.0
    g_plateau_nS: float = 30.0
    plateau_ms: float = 40.0
    plateau_refractory_ms: float = 20.0
    plasticity_step_ms: float = 1.0
    plateau_hold_nS: float | None = None

    def __post_init__(self):
        super().__post_init__()
        _positive(C_d_pF=self.C_d_pF, g_Ld_nS=self.g_Ld_nS, tau_d_ms=self.tau_d_ms,
                  plateau_ms=self.plateau_ms, plasticity_step_ms=self.plasticity_step_ms)
        if self.plateau_hold_nS is not None:
            _positive(plateau_hold_nS=self.plateau_hold_nS)
        if self.g_c_nS < 0 or self.g_plateau_nS < 0 or self.plateau_refractory_ms < 0:
            raise ValueError("g_c, g_plateau and the plateau refractory period must be >= 0")
        if not self.E_L_mV < self.V_plateau_mV < self.E_plateau_mV:
            raise ValueError("need E_L < V_plateau < E_plateau")

    def namespace(self) -> dict:
        from brian2 import mV, ms, nS, pF

        return {**super().namespace(), "C_d": self.C_d_pF * pF, "g_Ld": self.g_Ld_nS * nS,
                "g_c": self.g_c_nS * nS, "tau_d": self.tau_d_ms * ms,
                "V_plateau": self.V_plateau_mV * mV, "E_plateau": self.E_plateau_mV * mV,
                "g_plateau": self.g_plateau_nS * nS, "plateau_duration": self.plateau_ms * ms,
                "plateau_refractory": self.plateau_refractory_ms * ms,
                "plasticity_dt": self.plasticity_step_ms * ms,
                **({} if self.plateau_hold_nS is None else {"g_hold": self.plateau_hold_nS * nS})}

    def plateau_events(self) -> tuple[dict, dict]:
        """(events, their code): the threshold-triggered onset and, regenerative, the hold."""
        events = {"plateau_onset": "v_d > V_plateau and t > plateau_end + plateau_refractory",
                  "plateau_step": "t < plateau_end and (t + dt/2) % plasticity_dt < dt"}
        code = {"plateau_onset": "plateau_end = t + plateau_duration"}
        if self.plateau_hold_nS is not None:
            events["plateau_hold"] = "t < plateau_end and g_d > g_hold"
            code["plateau_hold"] = ("plateau_end += clip(t + plateau_duration - plateau_end, "
                                    "0*second, plateau_duration)")
        return events, code

    def fragment(self) -> Fragment:
        return Fragment(
            equations=f"""
dv/dt = (g_L*(E_L - v) + g_c*(v_d - v) + {self.membrane_currents()})/C_m : volt{self.clamped}{self.adaptation_equations()}
dv_d/dt = (g_Ld*(E_L - v_d) + g_c*(v - v_d) + g_d*(E_e - v_d) + g_plateau*plateau*(E_plateau - v_d))/C_d : volt
dg_d/dt = -g_d/tau_d : siemens
plateau = int(t < plateau_end) : 1
plateau_end : second
""" + CONDUCTANCES,
            namespace=self.namespace(), threshold=self.spike_rule()[0],
            on_spike=self.spike_rule()[1], refractory="t_ref",
            events=self.plateau_events()[0], on_events=self.plateau_events()[1],
            initial={"v": "E_L", "v_d": "E_L", "plateau_end": "-plateau_refractory"})
