"""The three-factor synapse: one :class:`~neurosim.memory.plasticity.ThreeFactorRule`, two realizations.

``ThreeFactorSynapse(rule, ...)`` holds a rule (the numpy realization is ``rule.update``,
used by the rate circuits) and generates the Brian2 model of a plastic, excitatory,
conductance-based synapse that realizes the same rule with spikes (Tyulmankov et al. 2021,
eq. 8-17):

- transmission: a presynaptic spike adds ``w`` (nS) to ``g_e_post`` after the synaptic
  ``delay`` (every plastic synapse is excitatory: Dale's law); with ``facilitation_U`` set,
  short-term facilitation (Tsodyks-Markram; Markram, Wang & Tsodyks 1998): the utilization u
  decays to 0 with ``facilitation_ms``, each arriving spike first sets u += U (1 - u) and then
  adds w u, so a sustained train transmits more per spike than an isolated spike (u_1 = U,
  u_(n+1) = U + u_n e^(-dt_n / tau_f) (1 - U));
- eligibility: the pre- and postsynaptic neurons keep rate traces (a
  :class:`~neurosim.spiking.blocks.coding.RateCode`: rho, the coded value z); the rule's target is
  K* = g(z_post) f(z_pre) with f(u) = pre_slope u + pre_offset, g(v) = post_slope v +
  post_offset (eq. 14-16) -- the pre-only key rule reads only the presynaptic trace;
- signed weights with one sign per synapse: a signed rate-model weight K is carried by
  non-negative conductances, p = polarity_pre x polarity_post being -1 for a synapse between an
  ON and an OFF cell.  ``coding="rectified"``: w = w_max clip(p K, 0, 1) -- the ON pathway
  carries K's positive part, the OFF pathway its negative part, an empty memory is silent
  synapses; for the gated (overwriting) rules w itself is the state.  ``coding="complementary"``:
  w = w_max (1 + p K) / 2 -- linear in K, so w alone carries the passive (accumulating) rule,
  at the cost of a common drive w_max / 2 from every synapse.  Either way a postsynaptic
  ON/OFF pair's drive difference is sum_j K_ij x_j (for |K| <= 1);
- the passive rule in rectified coding keeps K as a synaptic variable -- a latent efficacy,
  as in a silent synapse whose AMPA conductance is expressed only while p K > 0 (Isaac,
  Nicoll & Malenka 1995; Kerchner & Nicoll 2008) -- so the accumulated sum stays exact while
  w = w_max clip(p K, 0, 1) adds no common drive;
- third factors, gated rule (eq. 9, 11, 15): while the dendrite of the gating neuron is in a
  plateau (its event ``plateau_step``, emitted every ``plasticity_dt`` of a plateau: the local
  factor; see :class:`~neurosim.spiking.blocks.Pyramidal`), the weight relaxes towards w* at a rate
  set by the neuromodulator concentration M of the hidden neuron (the global factor):
      dw/dt = rate k M (1 - S) (w* - w),
  integrated exactly over each plasticity step Delta (w* and M held over the step):
      w <- w + (1 - exp(-rate k M (1 - S) Delta)) (w* - w),
  so a plateau of duration D at constant M moves w by the fraction eta_eff = 1 - exp(-rate k M D)
  (eq. 9's eta, saturating: ``plateau_fraction``);
- passive rule (eq. 13, 16): not gated by a dendrite; while M > 0 (event ``neuromodulated``)
  the signed weight (complementary: K = p (2 w / w_max - 1); rectified: the latent K) follows
  dK/dt = k M (rate K* - (1 - lambda) K);
- metaplastic stability (eq. 17): S (a synaptic variable) grows towards 1 while a plateau
  meets M above ``stable_above`` (a flashbulb release): dS/dt = (1 - S) / tau_S (exact over
  each plasticity step), which
  blocks later conversions (gated rules; the passive rule decays every synapse, eq. 16).

The plasticity runs only on the gating events and only for the synapses of neurons in a
plateau (or, passive rule, under neuromodulation: every time step), so its cost scales with the
gated synapses, not with the network.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.errors import ParameterError
from neurosim.memory.plasticity import ThreeFactorRule

SIDES = ("pre", "post")
CODINGS = ("rectified", "complementary")
NEVER = 1e30   # a stability threshold no concentration reaches (run_args cannot carry inf)
PARAMETERS = ("w_max", "k_conv", "eta_scale", "pre_slope", "pre_offset", "post_slope",
              "post_offset", "lambda_decay", "stable_above", "tau_S")


@dataclass(frozen=True)
class ThreeFactorSynapse:
    """``hidden_side``: which side of the synapse is the hidden (pyramidal) neuron that carries
    the dendritic plateau and the neuromodulator M ("post" for input -> hidden key synapses,
    "pre" for hidden -> output value synapses).  Both sides carry a
    :class:`~neurosim.spiking.blocks.coding.RateCode` (``z``, ``polarity``).  The rule's numbers and
    the synapse's own (w_max, conversion rate, stability threshold) are shared variables of the
    ``brian2.Synapses`` (:meth:`parameters`), so a compiled build takes another rule -- e.g. a
    meta-learned one -- through run_args; ``stable_above=None`` disables stability (eq. 17)."""

    rule: ThreeFactorRule
    w_max_nS: float = 1.0
    conversion_per_ms: float = 0.2
    hidden_side: str = "post"
    coding: str = "rectified"
    stable_above: float | None = None
    tau_stability_ms: float = 5.0
    delay_ms: float = 1.0
    delay_jitter_ms: float = 0.0
    facilitation_U: float | None = None
    facilitation_ms: float = 100.0

    def __post_init__(self):
        if self.hidden_side not in SIDES:
            raise ValueError(f"hidden_side must be one of {SIDES}")
        if self.coding not in CODINGS:
            raise ValueError(f"coding must be one of {CODINGS}")
        if not self.w_max_nS > 0 or not self.conversion_per_ms > 0 or not self.tau_stability_ms > 0:
            raise ValueError("w_max, the conversion rate and tau_S must be > 0")
        if self.delay_ms < 0 or self.delay_jitter_ms < 0:
            raise ValueError("synaptic delays must be >= 0")
        if self.facilitation_U is not None and not (0 < self.facilitation_U <= 1
                                                    and self.facilitation_ms > 0):
            raise ValueError("facilitation: U must lie in (0, 1] and tau_f be > 0")

    # ---------------------------------------------------------------- numpy realization
    def update(self, *args, **kwargs) -> np.ndarray:
        """The rate realization: :meth:`ThreeFactorRule.update`."""
        return self.rule.update(*args, **kwargs)

    def plateau_fraction(self, M: float, plateau_ms: float) -> float:
        """eta_eff: the fraction of the way to w* covered by one plateau at concentration M."""
        return float(1.0 - np.exp(-self.rule.rate * self.conversion_per_ms * M * plateau_ms))

    def conductance(self, K: np.ndarray, polarity: np.ndarray | float = 1.0) -> np.ndarray:
        """w (nS) carrying the signed weight K on a synapse of polarity product p."""
        pK = polarity * np.asarray(K)
        return self.w_max_nS * np.clip(pK if self.coding == "rectified" else (1.0 + pK) / 2.0,
                                       0.0, 1.0)

    def signed_weight(self, w_nS: np.ndarray, polarity: np.ndarray | float = 1.0) -> np.ndarray:
        """The part of K a conductance carries: p w / w_max (rectified; the partner synapse
        carries the other sign) or p (2 w / w_max - 1) (complementary)."""
        relative = np.asarray(w_nS) / self.w_max_nS
        return polarity * (relative if self.coding == "rectified" else 2.0 * relative - 1.0)

    # ---------------------------------------------------------------- Brian2 realization
    def parameters(self) -> dict:
        """Values of the synapses' shared variables (Brian2 quantities)."""
        from brian2 import ms, nS

        rule = self.rule
        facilitation = {} if self.facilitation_U is None else {
            "U_f": self.facilitation_U, "tau_f": self.facilitation_ms * ms}
        return {"w_max": self.w_max_nS * nS, "k_conv": self.conversion_per_ms / ms,
                "eta_scale": rule.rate, "pre_slope": rule.pre_slope,
                "pre_offset": rule.pre_offset, "post_slope": rule.post_slope,
                "post_offset": rule.post_offset, "lambda_decay": rule.passive_decay,
                "stable_above": NEVER if self.stable_above is None else self.stable_above,
                "tau_S": self.tau_stability_ms * ms, **facilitation}

    def plasticity_code(self) -> str:
        """Conversion of the eligibility into a weight change, run at the hidden neuron's
        gating event (eq. 9, 11, 15-17)."""
        h = self.hidden_side
        rule = "(post_slope*z_post + post_offset)*(pre_slope*z_pre + pre_offset)"
        if self.latent:
            return f"""
K += clip(k_conv*M_{h}*dt, 0, 1)*(eta_scale*{rule} - (1 - lambda_decay)*K)
w = w_max*clip(polarity_pre*polarity_post*K, 0, 1)
"""
        if self.rule.decay == "passive":
            return f"""
K_now = polarity_pre*polarity_post*(2*w/w_max - 1)
K_next = K_now + clip(k_conv*M_{h}*dt, 0, 1)*(eta_scale*{rule} - (1 - lambda_decay)*K_now)
w = w_max*clip((1 + polarity_pre*polarity_post*K_next)/2, 0, 1)
"""
        signed = f"polarity_pre*polarity_post*{rule}"
        target = signed if self.coding == "rectified" else f"(1 + {signed})/2"
        return f"""
w += (1 - exp(-eta_scale*k_conv*M_{h}*(1 - S)*plasticity_dt))*(w_max*clip({target}, 0, 1) - w)
S += int(M_{h} > stable_above)*(1 - S)*(1 - exp(-plasticity_dt/tau_S))
"""

    @property
    def latent(self) -> bool:
        """Whether the synapse keeps the signed weight K as its own variable (the passive
        rule in rectified coding)."""
        return self.rule.decay == "passive" and self.coding == "rectified"

    def event(self) -> str:
        """The hidden neuron's event that runs the conversion."""
        return "neuromodulated" if self.rule.decay == "passive" else "plateau_step"

    def model(self) -> dict:
        """Keyword arguments of ``brian2.Synapses`` for this synapse (all but source/target)."""

        pathway = {"plasticity": self.plasticity_code()}
        pre = {"transmit": self.transmission_code(),
               **(pathway if self.hidden_side == "pre" else {})}
        post = pathway if self.hidden_side == "post" else None
        shared = "\n".join(f"{name} : {unit} (shared, constant)" for name, unit in (
            ("w_max", "siemens"), ("k_conv", "1/second"), ("eta_scale", "1"), ("pre_slope", "1"),
            ("pre_offset", "1"), ("post_slope", "1"), ("post_offset", "1"),
            ("lambda_decay", "1"), ("stable_above", "1"), ("tau_S", "second")))
        latent = "K : 1\n" if self.latent else ""
        return {"model": f"w : siemens\nS : 1\n{latent}{self.transmission_model()}{shared}",
                "on_pre": pre, "on_post": post,
                "on_event": {"transmit": "spike", "plasticity": self.event()}}

    def transmission_model(self) -> str:
        """The facilitation's synaptic variables (none for a static synapse): utilization
        u_f, time of the last arrival t_f, and the shared U_f, tau_f."""
        if self.facilitation_U is None:
            return ""
        return ("u_f : 1\nt_f : second\nU_f : 1 (shared, constant)\n"
                "tau_f : second (shared, constant)\n")

    def transmission_code(self) -> str:
        """A spike's arrival: g_e += w, or with facilitation g_e += w u after u's decay since
        the last arrival (t_f) and its increment."""
        if self.facilitation_U is None:
            return "g_e_post += w"
        return """
u_f = u_f*exp(-(t - t_f)/tau_f)
u_f += U_f*(1 - u_f)
g_e_post += w*u_f
t_f = t
"""

    def synapses(self, source, target, name: str):
        """A ``brian2.Synapses`` realizing this synapse between groups that carry rate codes
        (and, on the hidden side, M and -- gated rules -- a Pyramidal dendrite, whose
        ``plasticity_dt`` the conversion uses).  After ``connect``, call :meth:`initialize`."""
        from brian2 import Synapses

        self.require_rate_codes(source, target)
        return Synapses(source, target, **self.model(), name=name,
                        namespace=self.plasticity_clock(target if self.hidden_side == "post"
                                                        else source))

    def require_rate_codes(self, source, target) -> None:
        """One line unless both groups carry what this rate-coded rule reads: a
        :class:`~neurosim.spiking.blocks.coding.RateCode` on each side, and the modulator ``M``
        on the hidden side.  Stock Brian2 groups (``PoissonGroup``, ...) carry none: they take
        the local rules (:class:`~neurosim.spiking.blocks.DopamineSTDP`,
        :class:`~neurosim.spiking.blocks.BTSP`)."""
        hidden = target if self.hidden_side == "post" else source
        for side, group in (("presynaptic", source), ("postsynaptic", target)):
            needed = {"polarity", "z"} | ({"M"} if group is hidden else set())
            missing = sorted(needed - set(group.variables))
            if missing:
                raise ParameterError(
                    f"ThreeFactorSynapse {self.hidden_side}-gated: the {side} group {group.name!r} "
                    f"lacks {', '.join(missing)} (a rate-coded rule: build it with neuron_group(..., "
                    f"RateCode(...){', Neuromodulator()' if group is hidden else ''}); stock Brian2 "
                    "groups take DopamineSTDP or BTSP)")

    def plasticity_clock(self, hidden) -> dict:
        """{"plasticity_dt": step} of the hidden group's plateau events (gated rules; the
        passive rule converts at every time step and needs none)."""
        if self.event() != "plateau_step":
            return {}
        step = hidden.namespace.get("plasticity_dt")
        if step is None:
            raise ValueError(f"a gated rule converts during the plateaus of a Pyramidal neuron; "
                             f"group {hidden.name!r} has none")
        steps = float(step / hidden.clock.dt)
        if abs(steps - round(steps)) > 1e-6 or round(steps) < 1:
            raise ValueError(f"plasticity_step_ms ({float(step) * 1e3:g} ms) must be a multiple "
                             f"of the time step ({float(hidden.clock.dt) * 1e3:g} ms)")
        return {"plasticity_dt": step}

    def initialize(self, synapses, K: float | np.ndarray = 0.0,
                   rng: np.random.Generator | None = None) -> None:
        """After connecting: the shared parameters, the weights carrying the signed weight K
        (0: an empty memory), no stability, and the delays
        (homogeneous, or jittered uniformly by ``delay_jitter_ms`` with ``rng``)."""
        from brian2 import ms, nS

        for name, value in self.parameters().items():
            setattr(synapses, name, value)
        polarity = np.asarray(synapses.polarity_pre[:]) * np.asarray(synapses.polarity_post[:])
        synapses.w = self.conductance(K, polarity) * nS
        if self.latent:
            synapses.K = np.broadcast_to(np.asarray(K, dtype=float), polarity.shape)
        synapses.S = 0.0
        jitter = 0.0 if rng is None else self.delay_jitter_ms * rng.random(len(synapses))
        synapses.transmit.delay = (self.delay_ms + jitter) * ms

    def run_args(self, synapses) -> dict:
        """run_args entries that load this synapse's parameters into a compiled build."""
        return {getattr(synapses, name): value for name, value in self.parameters().items()}
