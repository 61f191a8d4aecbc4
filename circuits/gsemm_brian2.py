"""Dense GSEMM as Brian2 equations (continuous) and as a spiking network (every pathway spikes).

Same circuit as circuits/gsemm.py (paper eq. 1, 2, 9, 10). One model time unit is 1 ms of Brian2
time; all B = G x A networks of a DenseGSEMM batch live in one Brian2 network (block-diagonal
synapses), so one build serves the batch.

Continuous (``spiking=False``, :func:`build_network`), method rk4:
    feature i:  dvf/dt = (sqrt(a_s) drive - vf) / T_f,   dvd/dt = (tanh(vf) - vd) / T_d   (eq. 10, 1)
    hidden j:   h = sqrt(a_s) u + a_c w,   sig = h**n                                    (eq. 9)
    synapses:   u_post = Xi_ij tanh(vf_pre), w_post = (Xi Phi)_ij vd_pre,  drive_post = Xi_ij sig_pre
                (all three are summed variables)
Brian2 updates summed variables once per time step (before the state updaters, ordered here so
that u, w -> drive -> vf within one step), so the drive is frozen during the four RK4 stages:
the coupling is integrated to first order in dt, unlike the numpy RK4 (gap measured in
tests/test_gsemm_brian2.py and by ``gap_to_rate``). One temporary build per run.

Spiking twin (``spiking=True``, :class:`SpikingGSEMM`): every pathway is carried by spikes of
cells that obey Dale's law, with time in ms, rates in Hz and synaptic conductances in nS. One
model time unit is ``time_unit_ms`` = 10 ms of Brian2 time (T_f = 10 ms, dt = 0.01 = 0.1 ms).
Each signed quantity x is carried by four populations: ON cells firing at r (1 + x) / 2 (or
r clip(x, 0, 1)) and OFF cells at r (1 - x) / 2 (r clip(-x, 0, 1)), each as an excitatory and an
inhibitory copy with the same tuning (independent spikes). A signed weight W of eq. 9-10 goes
to the copy whose sign it needs: ON-E and OFF-I synapses carry max(W, 0), ON-I and OFF-E
synapses max(-W, 0) (the others are silent: Xi is a run-time input of the build), so each
target still receives one ON and one OFF train per source at the same rates and weights as a
signed synapse would give: the mean and the Poisson noise at every target are those of
signed spikes, the correlations between targets are not (a copy's spike reaches only the
targets of its sign; measured effect in the README). Cells are linear-nonlinear-Poisson: a cell's rate is a static function of its
unit's net synaptic conductance (current-based: no reversal potentials, so the sum is linear as
eq. 9-10 need) and it has no refractory period. Each simulated cell stands for a pool of
``pool_cells`` independent Poisson cells with identical synapses, which deliver exactly one
Poisson train at the pooled rate (the superposition Brian2's ``PoissonInput`` uses);
physiology reports rates per cell of the pool (pooled rate / ``pool_cells``).

- feature unit i: excitatory and inhibitory conductances g_e, g_i decaying with T_f; its
  potential is V_f,i = (g_e - g_i) / g_unit (g_unit = 1 nS). ON cells fire at
  r_f (1 + tanh V_f,i) / 2, OFF cells at r_f (1 - tanh V_f,i) / 2 (pooled r_f = 50 per time unit
  = 5 kHz: 50 cells at up to 100 Hz); their rate difference is r_f tanh V_f,i, so silence of
  the difference means sigma_f = 0.
- fast pathway (eq. 9, sqrt(a_s) Xi^T tanh V_f): ON (OFF) spikes add +Xi_ij (-Xi_ij) g_unit /
  (r_f tau_u) (split by sign as above) to the hidden unit's conductances g_fast_e, g_fast_i
  (tau_u = 0.2 = 2 ms), so E[(g_fast_e - g_fast_i) / g_unit] = (Xi^T tanh V_f)_j low-passed by
  tau_u (the paper's T_h -> 0 becomes tau_u << T_f).
- delayed pathway (eq. 1-2, a_c Phi^T Xi^T V_d): eq. 2 is the exponential kernel
  k(x) = exp(-x/T_d)/T_d. Each feature cell reaches hidden unit j through ``taps`` synapses of
  weight +-(Xi Phi)_ij g_unit / (taps r_f tau_s) with transmission delays (Brian2
  ``Synapses.delay``) drawn from p(d) = a delta(d) + (1 - a) exp(-d/T_d)/T_d, a = tau_s / T_d,
  and arrive on conductances g_slow_e, g_slow_i (tau_s = 2 = 20 ms). Delay distribution
  convolved with the synaptic filter exp(-x/tau_s)/tau_s is exactly eq. 2's kernel (Laplace:
  (a + (1-a)/(1 + s T_d)) / (1 + s tau_s) = 1 / (1 + s T_d)), so
  E[(g_slow_e - g_slow_i) / g_unit] = ((Xi Phi)^T V_d)_j. Delays are stratified per synapse
  (tap k of a pair draws its quantile in [k/taps, (k+1)/taps)), the exponential part truncated
  at ``delay_cap`` T_d (mass exp(-10) = 5e-5 at the default 10, renormalized; at 5 the mean
  delay fell 4%, which moved transitions of the test network 2 time units earlier), rounded to
  dt by Brian2, and drawn once per build (anatomy, the same in every network of the batch).
  With T_d = 20 = 200 ms the mean delay is 180 ms, far beyond an axon's few ms: the paper's
  delay kernel has no single-synapse counterpart in cortex (it would be a chain of cells or a
  slow intracellular process); here it is the transmission delay the model asks for.
- hidden unit j: h_j = (sqrt(a_s) (g_fast_e - g_fast_i) + a_c (g_slow_e - g_slow_i)) / g_unit,
  sigma_h = h**n (eq. 9); ``hidden_cells`` ON and as many OFF cells (each E and I) fire at
  r_h clip(+-sigma_h(h)/S, 0, 1) each, S = sigma_h(N_f (sqrt(a_s) + a_c c)),
  c = max_j sum_k |Phi_kj|: S bounds |sigma_h| (eq. 9 with |tanh| <= 1, |V_d| <= 1), so the clip
  never binds and the rate is linear in sigma_h. The price is a low rate where h is far below
  the bound at high degree n: a cue (h ~ 0.76 sqrt(a_s) N_f) fires at
  (0.76 sqrt(a_s) / (sqrt(a_s) + a_c c))**n of the top rate (0.8% at a_s = 1, a_c = 1.5, n = 4),
  and if no hidden spike comes before V_f decays (T_f) the cue is lost; more ``hidden_cells``
  fix that. Clipping at the larger term of eq. 9 instead (N_f max(sqrt(a_s), a_c c)) weakened
  the retrieved memory and made transitions come earlier (README setting: sequence agreement
  0.48 instead of 0.73-0.82 with the bound).
- hidden -> feature (eq. 10, sqrt(a_s) Xi sigma_h): each ON (OFF) spike adds
  +-sqrt(a_s) Xi_ij S g_unit / (hidden_cells r_h T_f) to g_e or g_i of feature unit i (split
  by sign), whose decay with T_f is the leak of eq. 10 (T_f dV_f/dt = -V_f + ...): E[dV_f] is
  eq. 10.

Noise this adds (Poisson counts): the overlaps the hidden layer reads have SD about
1/sqrt(2 N_f r_f tau) (tau = tau_u or tau_s); the drive has relative SD 1/sqrt(hidden_cells r_h
T_f rho) at rate fraction rho = |sigma_h| / S; the finite delay sample adds a fixed distortion of
the kernel of relative size ~ 1/sqrt(N_f taps). Rates ``feature_rate`` and ``hidden_rate`` are
pooled, per model time unit.

Initial state (V_f(0) = xi_cue, V_d(0) = 0): the feature conductances start at g_unit max(+-xi,
0) and the fast ones at their expected value Xi^T tanh V_f(0) (split by sign); no spike is in
flight on the delayed pathway and g_slow = 0, which under ON/OFF coding is exactly V_d(0) = 0
(an empty past = sigma_f = 0, not a silent -1).

Builds: :class:`SpikingGSEMM` goes through circuits/spiking_windows.run_circuit and the build cache
of neurosim.devices: one cpp_standalone build per shape (B, N_f, K, degree, dt, duration, time
constants, delays), reruns set Xi, Xi Phi, sqrt(a_s), a_c, the initial state, the rates and the
noise seed through ``run_args``.
"""
from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass

import numpy as np

from neurosim.protocol import ParameterError

from .gsemm import DenseGSEMM


def _require_poly(net: DenseGSEMM) -> None:
    if net.activation != "poly":
        raise NotImplementedError("the Brian2 realization implements sigma_h(x) = x**n only; "
                                  "the exp (softmax) activation needs a per-network normalization")


CELL_KINDS = ("on_e", "on_i", "off_e", "off_i")


def signed_parts(signed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(max(x, 0), max(-x, 0)): a signed quantity as excitatory and inhibitory magnitudes."""
    return np.maximum(signed, 0.0), np.maximum(-signed, 0.0)


def dale_split(signed: np.ndarray) -> dict[str, np.ndarray]:
    """Weights of the four cell kinds carrying a signed weight W under Dale's law: ON cells
    (rate ~ +x) add +W, OFF cells (rate ~ -x) add -W, each through its excitatory copy where
    that sign is positive and its inhibitory copy where it is negative (magnitudes >= 0)."""
    positive, negative = signed_parts(signed)
    return {"on_e": positive, "on_i": negative, "off_e": negative, "off_i": positive}


def _flat_blocks(net: DenseGSEMM):
    """Per network b (flattened G x A): its Xi, Xi Phi, sqrt(a_s), a_c."""
    G, A, N, K = net.shape
    xi = np.repeat(net.xi, A, axis=0)                  # (B, N, K)
    xi_phi = np.repeat(net.xi_phi, A, axis=0)
    return xi, xi_phi, np.sqrt(net.alpha_s).reshape(-1), net.alpha_c.reshape(-1)


def _block_pairs(B: int, n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    """Block-diagonal all-to-all index arrays: pre b*n_pre + i, post b*n_post + j (i-major)."""
    b, i, j = np.meshgrid(np.arange(B), np.arange(n_pre), np.arange(n_post), indexing="ij")
    return (b * n_pre + i).ravel(), (b * n_post + j).ravel()


def build_network(net: DenseGSEMM, cue: int, *, dt: float, sample_every: float,
                  record_states: bool = True):
    """Continuous Brian2 objects of the batch, started at V_f = xi_cue, V_d = 0; returns
    (Network, monitors)."""
    import brian2 as b2

    G, A, N, K = net.shape
    B = G * A
    xi, xi_phi, sa, ac = _flat_blocks(net)
    b2.defaultclock.dt = dt * b2.ms
    namespace = {"T_f": net.T_f * b2.ms, "T_d": net.T_d * b2.ms, "degree": int(net.degree)}
    feature = b2.NeuronGroup(B * N, """
    dvf/dt = (sa * drive - vf) / T_f : 1
    dvd/dt = (tanh(vf) - vd) / T_d : 1
    drive : 1
    sa : 1 (constant)
    """, method="rk4", namespace=namespace, order=2, name="feature")
    hidden = b2.NeuronGroup(B * K, """
    u : 1
    w : 1
    h = sa * u + ac * w : 1
    sig = h**degree : 1
    sa : 1 (constant)
    ac : 1 (constant)
    """, namespace=namespace, order=0, name="hidden")
    pre, post = _block_pairs(B, N, K)
    to_hidden = b2.Synapses(feature, hidden, """
    wx : 1 (constant)
    wp : 1 (constant)
    u_post = wx * tanh(vf_pre) : 1 (summed)
    w_post = wp * vd_pre : 1 (summed)
    """, namespace=namespace, name="to_hidden")
    to_hidden.connect(i=pre, j=post)
    to_hidden.wx = xi.ravel()
    to_hidden.wp = xi_phi.ravel()
    to_feature = b2.Synapses(hidden, feature, "wx : 1 (constant)\ndrive_post = wx * sig_pre : 1 (summed)",
                             namespace=namespace, name="to_feature")
    to_feature.connect(i=post, j=pre)
    to_feature.wx = xi.ravel()
    feature.sa = np.repeat(sa, N)
    hidden.sa = np.repeat(sa, K)
    hidden.ac = np.repeat(ac, K)
    feature.vf = xi[:, :, cue].ravel()
    # u of step t is summed from vf(t) in the 'groups' slot: read it at the end of the step
    monitors = {"hidden": b2.StateMonitor(hidden, "u", record=True, dt=sample_every * b2.ms,
                                          when="end", name="overlap_monitor")}
    if record_states:
        monitors["feature"] = b2.StateMonitor(feature, ["vf", "vd"], record=True,
                                              dt=sample_every * b2.ms, name="state_monitor")
    return b2.Network(feature, hidden, to_hidden, to_feature, *monitors.values()), monitors


def stratified_delays(rng: np.random.Generator, pairs: int, taps: int, T_d: float, tau_s: float,
                      cap: float) -> np.ndarray:
    """Delays (pairs, taps) from p(d) = a delta(d) + (1 - a) Exp(T_d), a = tau_s / T_d, the
    exponential truncated at cap T_d; tap k of every pair draws its quantile in [k, k+1) / taps."""
    a = tau_s / T_d
    top = a + (1 - a) * (1 - np.exp(-cap))                  # CDF at the cap
    quantile = (np.arange(taps)[None] + rng.random((pairs, taps))) / taps * top
    tail = np.clip((quantile - a) / (1 - a), 0.0, None)
    return -T_d * np.log1p(-tail)


def spike_pathway(source, target, conductance: str, pre: np.ndarray, post: np.ndarray,
                  name: str, delays_ms: np.ndarray | None = None):
    """Synapses pre[k] -> post[k]: a spike adds the synapse's ``w`` (siemens) to the target's
    ``conductance`` ``delays_ms[k]`` later (Brian2 ``Synapses.delay``, rounded to dt; none: the
    same time step)."""
    import brian2 as b2

    synapses = b2.Synapses(source, target, "w : siemens (constant)",
                           on_pre=f"{conductance}_post += w", name=name)
    synapses.connect(i=pre, j=post)
    if delays_ms is not None:
        synapses.delay = delays_ms * b2.ms
    return synapses


@dataclass(frozen=True)
class SpikingGSEMM:
    """The spiking twin of a DenseGSEMM batch (module docstring): pooled rates per model time
    unit, time constants in model time units, one unit = ``time_unit_ms``. ``feature_rate``,
    ``hidden_rate`` and ``pool_cells`` are run-time values; the rest defines the build."""

    device: str = "cpp_standalone"
    seed: int = 1
    feature_rate: float = 50.0
    hidden_rate: float = 50.0
    hidden_cells: int = 8
    taps: int = 8
    tau_fast: float = 0.2
    tau_delay_synapse: float = 2.0
    delay_cap: float = 10.0
    time_unit_ms: float = 10.0
    g_unit_nS: float = 1.0
    pool_cells: int = 50
    physiology_window: float = 10.0

    def check(self, net: DenseGSEMM, dt: float) -> None:
        _require_poly(net)
        if not 0 < self.tau_delay_synapse < net.T_d:
            raise ParameterError("tau_delay_synapse must lie in (0, T_d)")
        for name in ("feature_rate", "hidden_rate"):
            if not 0 < getattr(self, name) * dt <= 1:
                raise ParameterError(f"{name} x dt must lie in (0, 1] "
                                     "(one spike per step at most)")
        for name in ("time_unit_ms", "g_unit_nS", "pool_cells", "physiology_window"):
            if not getattr(self, name) > 0:
                raise ParameterError(f"{name} must be > 0 (got {getattr(self, name)})")

    def scale(self, net: DenseGSEMM) -> np.ndarray:
        """S per network (B,): sigma_h of the bound N_f (sqrt(a_s) + a_c max column sum |Phi|)
        of |V_h| (eq. 9 with |tanh| <= 1, |V_d| <= 1)."""
        G, A, N, K = net.shape
        column = np.abs(net.phi).sum(axis=-2).max(axis=-1)                     # (G,)
        bound = N * (np.sqrt(net.alpha_s) + np.abs(net.alpha_c) * column[:, None])
        return (bound ** int(net.degree)).reshape(-1)

    def values(self, net: DenseGSEMM, cue: int) -> dict:
        """Per-run arrays: synaptic weights per pathway and cell kind (in g_unit), scales,
        initial conductances (in g_unit)."""
        G, A, N, K = net.shape
        xi, xi_phi, sa, ac = _flat_blocks(net)
        S = self.scale(net)
        to_feature = xi * (sa * S)[:, None, None] / (self.hidden_cells * self.hidden_rate
                                                     * net.T_f)
        delayed = np.repeat(xi_phi / (self.taps * self.feature_rate * self.tau_delay_synapse),
                            self.taps)
        vf0 = xi[:, :, cue]
        u0 = np.einsum("bnk,bn->bk", xi, np.tanh(vf0))
        return {"fast": dale_split(xi.ravel() / (self.feature_rate * self.tau_fast)),
                "delayed": dale_split(delayed),
                "to_feature": dale_split(np.repeat(to_feature.transpose(0, 2, 1),
                                                   self.hidden_cells, axis=1).ravel()),
                "sa": np.repeat(sa, K), "ac": np.repeat(ac, K), "scale": np.repeat(S, K),
                "feature": signed_parts(vf0.ravel()), "fast0": signed_parts(u0.ravel())}

    def build(self, shape: dict, values: dict | None = None, record: bool = False) -> dict:
        """The Brian2 network of ``shape`` (B, N, K, degree, time constants and duration in
        model units); with ``values`` (runtime device) the per-run arrays are set at once."""
        import brian2 as b2

        B, N, K, P, M = shape["B"], shape["N"], shape["K"], self.hidden_cells, self.taps
        unit = self.time_unit_ms * b2.ms
        namespace = {"T_f": shape["T_f"] * unit, "tau_u": self.tau_fast * unit,
                     "tau_s": self.tau_delay_synapse * unit, "degree": int(shape["degree"]),
                     "g_unit": self.g_unit_nS * b2.nS}
        feature = b2.NeuronGroup(B * N, """
        dg_e/dt = -g_e / T_f : siemens
        dg_i/dt = -g_i / T_f : siemens
        vf = (g_e - g_i) / g_unit : 1
        """, method="exact", namespace=namespace, name="gsemm_feature")
        hidden = b2.NeuronGroup(B * K, """
        dg_fast_e/dt = -g_fast_e / tau_u : siemens
        dg_fast_i/dt = -g_fast_i / tau_u : siemens
        dg_slow_e/dt = -g_slow_e / tau_s : siemens
        dg_slow_i/dt = -g_slow_i / tau_s : siemens
        h = (sa * (g_fast_e - g_fast_i) + ac * (g_slow_e - g_slow_i)) / g_unit : 1
        rho = clip(h**degree / scale, -1, 1) : 1
        sa : 1 (constant)
        ac : 1 (constant)
        scale : 1 (constant)
        """, method="exact", namespace=namespace, name="gsemm_hidden")
        cells = {}
        for kind in CELL_KINDS:
            on = kind.startswith("on")
            cells[f"feature_{kind}"] = b2.NeuronGroup(
                B * N, "vf : 1 (linked)\nr_f : Hz (shared, constant)\nn_spikes : 1",
                threshold=f"rand() < r_f * (1 {'+' if on else '-'} tanh(vf)) / 2 * dt",
                reset="n_spikes += 1", namespace=namespace, name=f"gsemm_feature_{kind}")
            cells[f"feature_{kind}"].vf = b2.linked_var(feature, "vf")
            group = b2.NeuronGroup(
                B * K * P, "rho : 1 (linked)\nr_h : Hz (shared, constant)\nn_spikes : 1",
                threshold=f"rand() < r_h * clip({'' if on else '-'}rho, 0, 1) * dt",
                reset="n_spikes += 1", namespace=namespace, name=f"gsemm_hidden_{kind}")
            group.rho = b2.linked_var(hidden, "rho", index=np.repeat(np.arange(B * K), P))
            cells[f"hidden_{kind}"] = group
        pre, post = _block_pairs(B, N, K)
        rng = np.random.default_rng(0)        # anatomy: one draw of delays per build
        delays = stratified_delays(rng, len(pre), M, shape["T_d"], self.tau_delay_synapse,
                                   self.delay_cap).ravel() * self.time_unit_ms
        h_pre, f_post = _block_pairs(B, K * P, N)      # hidden cell b*K*P + j*P + c -> feature
        synapses = {"fast": {}, "delayed": {}, "to_feature": {}}
        for kind in CELL_KINDS:
            sign = kind[-1]
            source = cells[f"feature_{kind}"]
            synapses["fast"][kind] = spike_pathway(source, hidden, f"g_fast_{sign}", pre, post,
                                                   f"gsemm_fast_{kind}")
            synapses["delayed"][kind] = spike_pathway(
                source, hidden, f"g_slow_{sign}", np.repeat(pre, M), np.repeat(post, M),
                f"gsemm_delayed_{kind}", delays)
            synapses["to_feature"][kind] = spike_pathway(
                cells[f"hidden_{kind}"], feature, f"g_{sign}", h_pre, f_post,
                f"gsemm_to_feature_{kind}")
        monitors = {"vf": b2.StateMonitor(feature, "vf", record=True,
                                          dt=shape["sample_every"] * unit,
                                          name="gsemm_vf_monitor"),
                    "conductances": b2.StateMonitor(
                        hidden, ["g_fast_e", "g_fast_i", "g_slow_e", "g_slow_i"], record=True,
                        dt=self.physiology_window * unit, name="gsemm_conductance_monitor")}
        monitors.update({name: b2.StateMonitor(group, "n_spikes", record=True,
                                               dt=self.physiology_window * unit, when="end",
                                               name=f"gsemm_spikes_{name}")
                         for name, group in cells.items()})
        net = b2.Network(feature, hidden, *cells.values(),
                         *(s for pathway in synapses.values() for s in pathway.values()),
                         *monitors.values(), name="gsemm_network")
        handles = {"net": net, "feature": feature, "hidden": hidden, "cells": cells,
                   "synapses": synapses, "monitors": monitors}
        if values is not None:
            for view, value in self.run_args(handles, values).items():
                view[:] = value
        return handles

    def run_args(self, handles: dict, values: dict) -> dict:
        """Weights per pathway and cell kind, scales, initial conductances and pooled rates."""
        from brian2 import Hz, nS

        g_unit = self.g_unit_nS * nS
        args = {synapse.w: values[pathway][kind] * g_unit
                for pathway, kinds in handles["synapses"].items()
                for kind, synapse in kinds.items()}
        hidden, feature = handles["hidden"], handles["feature"]
        (f_e, f_i), (u_e, u_i) = values["feature"], values["fast0"]
        zero = np.zeros_like(u_e) * g_unit
        args.update({hidden.sa: values["sa"], hidden.ac: values["ac"],
                     hidden.scale: values["scale"], feature.g_e: f_e * g_unit,
                     feature.g_i: f_i * g_unit, hidden.g_fast_e: u_e * g_unit,
                     hidden.g_fast_i: u_i * g_unit, hidden.g_slow_e: zero,
                     hidden.g_slow_i: zero})
        per_second = 1e3 / self.time_unit_ms
        for name, group in handles["cells"].items():
            if name.startswith("feature"):
                args[group.r_f] = self.feature_rate * per_second * Hz
            else:
                args[group.r_h] = self.hidden_rate * per_second * Hz
        return args

    def physiology(self, handles: dict) -> dict:
        """Rates per cell of a pool (Hz; mean and 99th percentile over cells x the whole
        windows of ``physiology_window`` after the first step) of the excitatory and
        inhibitory feature and hidden cells, and the ratio of excitatory to inhibitory
        synaptic conductance onto the hidden units (current-based synapses: the ratio of
        currents). Pools are superposed Poisson trains: no ISI statistics per cell."""
        window_s = self.physiology_window * self.time_unit_ms * 1e-3
        out = {}
        for layer in ("feature", "hidden"):
            for sign, population in (("e", layer), ("i", f"{layer}_inh")):
                counts = [np.diff(np.asarray(handles["monitors"][f"{layer}_{kind}"].n_spikes),
                                  axis=1)
                          for kind in CELL_KINDS if kind.endswith(sign)]
                rates = np.concatenate(counts).ravel() / (self.pool_cells * window_s)
                out[f"rate_mean_hz_{population}"] = float(rates.mean())
                out[f"rate_p99_hz_{population}"] = float(np.percentile(rates, 99))
        g = handles["monitors"]["conductances"]
        excitatory = np.mean(np.asarray(g.g_fast_e_) + np.asarray(g.g_slow_e_))
        inhibitory = np.mean(np.asarray(g.g_fast_i_) + np.asarray(g.g_slow_i_))
        out["ei_current_ratio_hidden"] = (float(excitatory / inhibitory) if inhibitory > 0
                                          else float("inf"))
        return out

    def run(self, net: DenseGSEMM, cue: int, *, dt: float, duration: float,
            sample_every: float) -> dict:
        """Overlaps (S, B, K) of tanh(V_f) with the memories (t in model units), V_f at the
        end, spikes per population, physiology and the delays (model units) of the ON-E
        cells' delayed synapses, read back."""
        from brian2 import ms

        from .spiking_windows import run_circuit

        self.check(net, dt)
        G, A, N, K = net.shape
        unit = self.time_unit_ms
        shape = {"B": G * A, "N": N, "K": K, "degree": int(net.degree), "T_f": float(net.T_f),
                 "T_d": float(net.T_d), "dt_ms": float(dt) * unit,
                 "duration_ms": float(duration) * unit, "sample_every": float(sample_every),
                 "record": False,
                 "circuit": {k: v for k, v in asdict(self).items()
                             if k not in ("device", "seed", "feature_rate", "hidden_rate",
                                          "pool_cells")}}
        handles = run_circuit(self, shape, self.values(net, cue), False)
        monitor = handles["monitors"]["vf"]
        vf = np.asarray(monitor.vf).reshape(G * A, N, -1).transpose(2, 0, 1)   # (S, B, N)
        xi = _flat_blocks(net)[0]
        counts = {name: np.asarray(group.n_spikes[:]) for name, group in handles["cells"].items()}
        return {"t": np.asarray(monitor.t / ms) / unit,
                "overlaps": np.einsum("bnk,sbn->sbk", xi, np.tanh(vf)) / N,
                "states": None, "vf": vf[-1], "spike_counts": counts,
                "physiology": self.physiology(handles),
                "synapse_delays": np.asarray(handles["synapses"]["delayed"]["on_e"].delay / ms)
                / unit}


def run_brian2(net: DenseGSEMM, *, cue: int, dt: float, duration: float, sample_every: float = 0.1,
               spiking: bool = False, device: str = "runtime", rate: float = 50.0,
               record_states: bool = True, seed: int | None = 1, directory: str | None = None) -> dict:
    """Run the batch in Brian2; same output as gsemm.simulate: t, overlaps (S, B, K), states.

    Continuous: ``runtime`` (Cython, numpy fallback) or ``cpp_standalone`` (one build in a
    temporary or given directory, one OpenMP thread; the device is reset to runtime afterwards).
    Spiking: :class:`SpikingGSEMM` with feature and hidden rates ``rate`` and noise ``seed``,
    cpp_standalone builds cached per shape (``directory`` is not used: NEUROSIM_BUILD_DIR).
    """
    import brian2 as b2

    if device == "cuda":
        raise NotImplementedError("GSEMM has no brian2cuda build here (needs Python >= 3.12 and nvcc)")
    if spiking:
        model = SpikingGSEMM(device=device, seed=1 if seed is None else int(seed),
                             feature_rate=rate, hidden_rate=rate)
        return model.run(net, cue, dt=dt, duration=duration, sample_every=sample_every)
    _require_poly(net)
    standalone = device == "cpp_standalone"
    if standalone:
        from neurosim.devices import standalone_preferences

        b2.set_device("cpp_standalone", directory=directory or tempfile.mkdtemp(prefix="gsemm_b2_"),
                      build_on_run=True)
        standalone_preferences()
    else:
        b2.start_scope()
    try:
        network, monitors = build_network(net, cue, dt=dt, sample_every=sample_every,
                                          record_states=record_states)
        network.run(duration * b2.ms, namespace={})
        G, A, N, K = net.shape
        B = G * A
        u = np.asarray(monitors["hidden"].u)                   # (B*K, S)
        t = np.asarray(monitors["hidden"].t / b2.ms)
        out = {"t": t, "overlaps": u.reshape(B, K, -1).transpose(2, 0, 1) / N}
        if record_states:
            vf = np.asarray(monitors["feature"].vf).reshape(B, N, -1).transpose(2, 0, 1)
            vd = np.asarray(monitors["feature"].vd).reshape(B, N, -1).transpose(2, 0, 1)
            out["states"] = np.stack([vf, vd], axis=1)
            out["vf"] = vf[-1]
    finally:
        if standalone:
            b2.device.reinit()
            b2.device.activate()
            b2.set_device("runtime")
    return out


def transition_times(overlaps: np.ndarray, t: np.ndarray, threshold: float = 0.5,
                     min_dwell: float = 0.0) -> list[list]:
    """Per network: [(time, memory)] at which the dominant memory changes (first entry = start).
    Only runs of one dominant memory lasting at least ``min_dwell`` count (the settled visits of
    circuits.gsemm.settled_sequence), each timed at its first sample."""
    from .gsemm import dominant

    dom = dominant(overlaps, threshold)
    events = []
    for b in range(dom.shape[1]):
        d = dom[:, b]
        edges = np.flatnonzero(np.diff(d)) + 1
        first, last = np.r_[0, edges], np.r_[edges, len(d)] - 1
        keep = (d[first] >= 0) & (t[last] - t[first] >= min_dwell - 1e-9)
        seq = []
        for start in first[keep]:
            if not seq or seq[-1][1] != d[start]:
                seq.append((float(t[start]), int(d[start])))
        events.append(seq)
    return events


def gap_to_rate(rate_out: dict, brian_out: dict, until: float, threshold: float = 0.5,
                min_dwell: float = 0.0) -> dict:
    """Brian2 vs numpy RK4 on the same batch up to time `until`.

    max/mean |overlap difference| on common sample times, and the transition-time shift: for each
    network, |t_brian - t_rate| of the transitions both runs make while their dominant-memory
    sequences agree (``sequence_agreement`` = fraction of transitions that agree); with
    ``min_dwell`` only settled visits count (a one-sample lead inside a switch is no transition).
    """
    t_r, t_b = np.round(rate_out["t"], 6), np.round(brian_out["t"], 6)
    common = np.intersect1d(t_r, t_b)
    common = common[common <= until]
    ir, ib = np.searchsorted(t_r, common), np.searchsorted(t_b, common)
    diff = np.abs(rate_out["overlaps"][ir] - brian_out["overlaps"][ib])
    shifts, agree, total = [], 0, 0
    for er, eb in zip(transition_times(rate_out["overlaps"][ir], common, threshold, min_dwell),
                      transition_times(brian_out["overlaps"][ib], common, threshold, min_dwell)):
        n = max(len(er), len(eb)) - 1
        total += n
        for (tr, mr), (tb, mb) in zip(er[1:], eb[1:]):
            if mr != mb:
                break
            agree += 1
            shifts.append(abs(tb - tr))
    return {"max_abs_overlap_gap": float(diff.max()), "mean_abs_overlap_gap": float(diff.mean()),
            "max_transition_shift": float(max(shifts)) if shifts else float("nan"),
            "mean_transition_shift": float(np.mean(shifts)) if shifts else float("nan"),
            "sequence_agreement": agree / total if total else 1.0, "until": float(until)}
