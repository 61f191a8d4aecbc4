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
cells that obey Dale's law and have a refractory period, with time in ms, rates in Hz, membrane
potentials in mV and synaptic conductances in nS. One model time unit is ``time_unit_ms`` =
10 ms of Brian2 time (T_f = 10 ms, dt = 0.01 = 0.1 ms). Each signed quantity x is carried by four
populations: ON cells whose rate rises with x and OFF cells whose rate falls, each as an
excitatory and an inhibitory copy with the same tuning (independent spikes). A signed weight W
of eq. 9-10 goes to the copy whose sign it needs: ON-E and OFF-I synapses carry max(W, 0), ON-I
and OFF-E synapses max(-W, 0) (the others are silent: Xi is a run-time input of the build), so
each target receives one ON and one OFF train per source: the mean and the count noise at every
target are those of signed spikes, the correlations between targets are not (a copy's spike
reaches only the targets of its sign; measured effect in the README).

Cells are escape-noise integrate-and-fire neurons (the soft threshold of
:class:`neurosim.blocks.LIF`; Gerstner & Kistler 2002, ch. 5.3): a cell fires with hazard
rho(v) outside an absolute refractory period t_ref. The cells of a pool (a unit's ON-E, ON-I,
OFF-E or OFF-I cells) receive identical synapses, so their subthreshold potentials coincide and
are simulated once, by the unit; ON cells read it with one sign, OFF cells with the other
(push-pull). With a constant hazard lambda, dead time t_ref makes the stationary rate
lambda / (1 + lambda t_ref) (renewal process).

- feature unit i: excitatory and inhibitory conductances g_e, g_i decaying with T_f;
  V_f,i = (g_e - g_i) / g_unit (g_unit = 1 nS). Its ON cells sit at v = V_th + 2 Delta_V V_f,i,
  its OFF cells at V_th - 2 Delta_V V_f,i, with hazard rho_0 exp((v - V_th) / Delta_V) and
  rho_0 = 1 / t_ref: the stationary rate is sigmoid(+-2 V_f) / t_ref = (1 +- tanh V_f) / (2 t_ref)
  (the ON/OFF code of tanh, eq. 10), at most 1 / t_ref = 125 Hz per cell (t_ref 8 ms,
  ``feature_cells`` = 40 cells per pool: the pooled rate difference is r_f tanh V_f,i with
  r_f = 40 / 8 ms = 50 per time unit).
- fast pathway (eq. 9, sqrt(a_s) Xi^T tanh V_f): ON (OFF) spikes add +Xi_ij (-Xi_ij) g_unit /
  (r_f tau_u) (split by sign as above) to the hidden unit's conductances g_fast_e, g_fast_i,
  so E[(g_fast_e - g_fast_i) / g_unit] = (Xi^T tanh V_f)_j low-passed by tau_u (the paper's
  T_h -> 0). tau_u = 0.8 = 8 ms, not shorter: V_f runs far outside tanh's range (|V_f| ~ 10^3
  at degree 2), so a unit's flip turns all its silent, non-refractory cells on at once, and
  this volley is about t_ref / tau_u times the steady drive; at tau_u = 2 ms it lifted a
  competing memory past the hidden cells' rate bound (README, GSEMM section).
- delayed pathway (eq. 1-2, a_c Phi^T Xi^T V_d): eq. 2 is the exponential kernel
  k(x) = exp(-x/T_d)/T_d. Each feature cell reaches hidden unit j through one synapse of
  weight +-(Xi Phi)_ij g_unit / (r_f tau_s) whose transmission delay (Brian2
  ``Synapses.delay``) is drawn from p(d) = a delta(d) + (1 - a) exp(-d/T_d)/T_d,
  a = tau_s / T_d; spikes arrive on conductances g_slow_e, g_slow_i (tau_s = 2 = 20 ms). The
  delay distribution convolved with the synaptic filter exp(-x/tau_s)/tau_s is exactly eq. 2's
  kernel (Laplace: (a + (1-a)/(1 + s T_d)) / (1 + s tau_s) = 1 / (1 + s T_d)), so
  E[(g_slow_e - g_slow_i) / g_unit] = ((Xi Phi)^T V_d)_j. The delays of a pool's cells to one
  hidden unit are stratified (cell k draws its quantile in [k/C, (k+1)/C), C = feature_cells),
  the exponential part truncated at ``delay_cap`` T_d (mass exp(-10) = 5e-5 at the default 10,
  renormalized; at 5 the mean delay fell 4%, which moved transitions of the test network 2
  time units earlier), rounded to dt by Brian2, and drawn once per build (anatomy). With
  T_d = 20 = 200 ms the mean delay is 180 ms, far beyond an axon's few ms: the paper's delay
  kernel has no single-synapse counterpart in cortex (it would be a chain of cells or a slow
  intracellular process); here it is the transmission delay the model asks for.
- hidden unit j: h_j = (sqrt(a_s) (g_fast_e - g_fast_i) + a_c (g_slow_e - g_slow_i)) / g_unit,
  sigma_h = h**n (eq. 9); x_j = h_j / H with the bound H = N_f (sqrt(a_s) + a_c c),
  c = max_j sum_k |Phi_kj| (eq. 9 with |tanh| <= 1, |V_d| <= 1). Its ``hidden_cells`` = 200 ON
  cells (per copy) depolarize by Delta_h x_j and fire with the power-law hazard
  rho_h clip((v / Delta_h)**n, 0, 1) (spike rate as a power of depolarization: Priebe &
  Ferster 2008; here with the paper's degree n), OFF cells read -Delta_h x_j and fire at
  rho_h clip(-x**n, 0, 1) (silent at even n, where h**n >= 0 is carried by the ON cells on both
  sides of rest); rho_h = 200 Hz, t_ref 2 ms: at most 143 Hz per cell, and the dead time
  compresses the rate below the hazard by 1 / (1 + lambda t_ref) (<= 0.71 at the bound). A cue
  (h ~ 0.76 sqrt(a_s) N_f) fires at (0.76 sqrt(a_s) / (sqrt(a_s) + a_c c))**n of the top
  hazard (0.8% at a_s = 1, a_c = 1.5, n = 4), and if no hidden spike comes before V_f decays
  (T_f) the cue is lost; more ``hidden_cells`` fix that. Clipping at the larger term of eq. 9
  instead (N_f max(sqrt(a_s), a_c c)) weakened the retrieved memory and made transitions come
  earlier (README setting, Poisson twin: sequence agreement 0.48 instead of 0.73-0.82).
- hidden -> feature (eq. 10, sqrt(a_s) Xi sigma_h): each ON (OFF) spike adds
  +-sqrt(a_s) Xi_ij S g_unit / (r_h T_f) to g_e or g_i of feature unit i (split by sign;
  S = H**n, r_h = hidden_cells rho_h per time unit), whose decay with T_f is the leak of eq. 10
  (T_f dV_f/dt = -V_f + ...): E[dV_f] is eq. 10 where lambda t_ref << 1.

Noise this adds (spike counts): the overlaps the hidden layer reads have SD about
1/sqrt(2 N_f r_f tau) (tau = tau_u or tau_s; less for the feature cells' regular trains near
their ceiling); the drive has relative SD 1/sqrt(r_h T_f rho) at hazard fraction
rho = |sigma_h| / S; the finite delay sample adds a fixed distortion of the kernel of relative
size ~ 1/sqrt(N_f C).

Initial state (V_f(0) = xi_cue, V_d(0) = 0): the feature conductances start at g_unit max(+-xi,
0) and the fast ones at their expected value Xi^T tanh V_f(0) (split by sign); every cell starts
in the stationary state of its initial hazard (refractory with probability
lambda t_ref / (1 + lambda t_ref), its last spike then uniform in the last t_ref: a network that
has been at the cue, without a volley at t = 0); no spike is in flight on the delayed pathway
and g_slow = 0, which under ON/OFF coding is exactly V_d(0) = 0 (an empty past = sigma_f = 0,
not a silent -1).

Builds: :class:`SpikingGSEMM` goes through circuits/spiking_windows.run_circuit and the build cache
of neurosim.devices: one cpp_standalone build per shape (B, N_f, K, degree, dt, duration, time
constants, cells, delays), reruns set Xi, Xi Phi, sqrt(a_s), a_c, the initial state (with the
cells' last spikes) and the noise seed through ``run_args``.
"""
from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass

import numpy as np

from neurosim.blocks import LIF
from neurosim.protocol import ParameterError

from .gsemm import DenseGSEMM


def _require_poly(net: DenseGSEMM) -> None:
    if net.activation != "poly":
        raise NotImplementedError("the Brian2 realization implements sigma_h(x) = x**n only; "
                                  "the exp (softmax) activation needs a per-network normalization")


CELL_KINDS = ("on_e", "on_i", "off_e", "off_i")
ISI_SAMPLE = 64          # cells per group whose spike times the physiology's ISI statistics use


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


def spike_times(last_spike_s: np.ndarray, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(times in s, cell indices + offset) of the spikes after t = 0 from samples (cells,
    samples) of each cell's last spike time taken at least once per refractory period."""
    samples = np.asarray(last_spike_s)
    new = (np.diff(samples, axis=1, prepend=-np.inf) != 0) & (samples >= 0)
    cells, sample = np.nonzero(new)                  # cell-major, times ascending per cell
    return samples[cells, sample], cells + offset


def stationary_last_spike(rng: np.random.Generator, hazard_hz: np.ndarray,
                          t_ref_ms: float) -> np.ndarray:
    """Last spike times (ms, before t = 0) of cells in the stationary state of a constant
    hazard with dead time t_ref: refractory with probability lambda t_ref / (1 + lambda t_ref),
    the time since that spike uniform in [0, t_ref); the others spiked long ago (-1e7 ms)."""
    busy = hazard_hz * t_ref_ms * 1e-3
    refractory = rng.random(hazard_hz.shape) < busy / (1 + busy)
    return np.where(refractory, -t_ref_ms * rng.random(hazard_hz.shape), -1e7)


@dataclass(frozen=True)
class SpikingGSEMM:
    """The spiking twin of a DenseGSEMM batch (module docstring): escape-noise cells with
    refractoriness, time constants in model time units, one unit = ``time_unit_ms``.  Every
    field defines the build but ``device`` and ``seed`` (the noise of the run).
    ``escape_mV`` and ``hidden_swing_mV`` set only the millivolt scale of the potentials
    (V_f = 1 depolarizes an ON cell by 2 Delta_V, h = H a hidden cell by Delta_h): the
    hazards depend on v / Delta, so the rates do not change with them."""

    device: str = "cpp_standalone"
    seed: int = 1
    feature_cells: int = 40
    feature_refractory_ms: float = 8.0
    escape_mV: float = 2.0
    hidden_cells: int = 200
    hidden_refractory_ms: float = 2.0
    hidden_hazard_hz: float = 200.0
    hidden_swing_mV: float = 10.0
    tau_fast: float = 0.8
    tau_delay_synapse: float = 2.0
    delay_cap: float = 10.0
    time_unit_ms: float = 10.0
    g_unit_nS: float = 1.0
    physiology_window: float = 10.0

    def check(self, net: DenseGSEMM, dt: float) -> None:
        _require_poly(net)
        if not 0 < self.tau_delay_synapse < net.T_d:
            raise ParameterError("tau_delay_synapse must lie in (0, T_d)")
        for name in ("feature_cells", "hidden_cells"):
            cells = getattr(self, name)
            if not (isinstance(cells, (int, np.integer)) and cells >= 1):
                raise ParameterError(f"{name} must be an integer >= 1 (got {cells})")
        if not 0 < self.hidden_hazard_hz * dt * self.time_unit_ms * 1e-3 <= 1:
            raise ParameterError("hidden_hazard_hz x dt must lie in (0, 1] "
                                 "(one spike per step at most)")
        for name in ("feature_refractory_ms", "escape_mV", "hidden_refractory_ms",
                     "hidden_swing_mV", "time_unit_ms", "g_unit_nS", "physiology_window"):
            if not getattr(self, name) > 0:
                raise ParameterError(f"{name} must be > 0 (got {getattr(self, name)})")

    @property
    def feature_cell(self) -> LIF:
        """The feature cells' soft threshold: hazard rho_0 exp((v - V_th) / Delta_V) with
        rho_0 = 1 / t_ref, so that with the dead time t_ref the rate is
        sigmoid((v - V_th) / Delta_V) / t_ref (module docstring)."""
        return LIF(t_ref_ms=self.feature_refractory_ms, escape_mV=self.escape_mV,
                   escape_rate_hz=1e3 / self.feature_refractory_ms, ahp_mV=0.0)

    def pooled_rates(self) -> tuple[float, float]:
        """(r_f, r_h) per model time unit: a feature unit's ON-minus-OFF rate at tanh V_f = 1
        (feature_cells / t_ref) and a hidden unit's summed hazard at rho = 1."""
        return (self.feature_cells * self.time_unit_ms / self.feature_refractory_ms,
                self.hidden_cells * self.hidden_hazard_hz * self.time_unit_ms * 1e-3)

    def scale(self, net: DenseGSEMM) -> np.ndarray:
        """S per network (B,): sigma_h of the bound N_f (sqrt(a_s) + a_c max column sum |Phi|)
        of |V_h| (eq. 9 with |tanh| <= 1, |V_d| <= 1)."""
        G, A, N, K = net.shape
        column = np.abs(net.phi).sum(axis=-2).max(axis=-1)                     # (G,)
        bound = N * (np.sqrt(net.alpha_s) + np.abs(net.alpha_c) * column[:, None])
        return (bound ** int(net.degree)).reshape(-1)

    def values(self, net: DenseGSEMM, cue: int) -> dict:
        """Per-run arrays: synaptic weights per pathway and cell kind (in g_unit; cell-major:
        network, unit, cell, target), scales, initial conductances (in g_unit) and the cells'
        last spikes (ms; drawn from the noise seed)."""
        G, A, N, K = net.shape
        xi, xi_phi, sa, ac = _flat_blocks(net)
        S = self.scale(net)
        r_f, r_h = self.pooled_rates()
        per_cell = (xi.shape[0], N, self.feature_cells, K)
        to_feature = xi * (sa * S)[:, None, None] / (r_h * net.T_f)
        vf0 = xi[:, :, cue]
        u0 = np.einsum("bnk,bn->bk", xi, np.tanh(vf0))
        rho0 = (sa[:, None] * u0 / S[:, None] ** (1.0 / int(net.degree))) ** int(net.degree)
        hazards = {"feature": np.exp([2 * vf0, -2 * vf0]) * 1e3 / self.feature_refractory_ms,
                   "hidden": self.hidden_hazard_hz * np.clip([rho0, -rho0], 0, 1)}
        cells = {"feature": self.feature_cells, "hidden": self.hidden_cells}
        refractory = {"feature": self.feature_refractory_ms, "hidden": self.hidden_refractory_ms}
        rng = np.random.default_rng(self.seed)
        last_spike = {f"{layer}_{kind}": stationary_last_spike(
            rng, np.repeat(hazards[layer][int(kind.startswith("off"))].ravel(), cells[layer]),
            refractory[layer]) for layer in hazards for kind in CELL_KINDS}
        return {"last_spike_ms": last_spike,
                "fast": dale_split(np.broadcast_to(xi[:, :, None] / (r_f * self.tau_fast),
                                                   per_cell).ravel()),
                "delayed": dale_split(np.broadcast_to(
                    xi_phi[:, :, None] / (r_f * self.tau_delay_synapse), per_cell).ravel()),
                "to_feature": dale_split(np.repeat(to_feature.transpose(0, 2, 1),
                                                   self.hidden_cells, axis=1).ravel()),
                "sa": np.repeat(sa, K), "ac": np.repeat(ac, K), "scale": np.repeat(S, K),
                "feature": signed_parts(vf0.ravel()), "fast0": signed_parts(u0.ravel())}

    def delays(self, shape: dict) -> np.ndarray:
        """Delays (ms) of the delayed synapses, cell-major (network, unit, cell, hidden unit):
        the feature_cells cells of a pool reach each hidden unit with stratified delays."""
        B, N, K, C = shape["B"], shape["N"], shape["K"], self.feature_cells
        rng = np.random.default_rng(0)        # anatomy: one draw of delays per build
        drawn = stratified_delays(rng, B * N * K, C, shape["T_d"], self.tau_delay_synapse,
                                  self.delay_cap).reshape(B, N, K, C)
        return drawn.transpose(0, 1, 3, 2).ravel() * self.time_unit_ms

    def build(self, shape: dict, values: dict | None = None, record: bool = False) -> dict:
        """The Brian2 network of ``shape`` (B, N, K, degree, time constants and duration in
        model units); with ``values`` (runtime device) the per-run arrays are set at once."""
        import brian2 as b2

        B, N, K = shape["B"], shape["N"], shape["K"]
        C, P = self.feature_cells, self.hidden_cells
        unit = self.time_unit_ms * b2.ms
        namespace = {"T_f": shape["T_f"] * unit, "tau_u": self.tau_fast * unit,
                     "tau_s": self.tau_delay_synapse * unit, "degree": int(shape["degree"]),
                     "g_unit": self.g_unit_nS * b2.nS, **self.feature_cell.namespace(),
                     "t_ref_h": self.hidden_refractory_ms * b2.ms,
                     "rho_h": self.hidden_hazard_hz * b2.Hz,
                     "Delta_h": self.hidden_swing_mV * b2.mV}
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
        x = h / scale**(1.0 / degree) : 1
        sa : 1 (constant)
        ac : 1 (constant)
        scale : 1 (constant)
        """, method="exact", namespace=namespace, name="gsemm_hidden")
        feature_threshold = self.feature_cell.spike_rule()[0]
        cells = {}
        for kind in CELL_KINDS:
            sign = "+" if kind.startswith("on") else "-"
            cells[f"feature_{kind}"] = b2.NeuronGroup(
                B * N * C, f"vf : 1 (linked)\nv = V_th {sign} 2*Delta_V*vf : volt\nn_spikes : 1",
                threshold=feature_threshold, reset="n_spikes += 1", refractory="t_ref",
                namespace=namespace, name=f"gsemm_feature_{kind}")
            cells[f"feature_{kind}"].vf = b2.linked_var(feature, "vf",
                                                        index=np.repeat(np.arange(B * N), C))
            group = b2.NeuronGroup(
                B * K * P, f"x : 1 (linked)\nv = {sign}Delta_h*x : volt\nn_spikes : 1",
                threshold=f"rand() < rho_h*clip({sign}(({sign}v)/Delta_h)**degree, 0, 1)*dt",
                reset="n_spikes += 1", refractory="t_ref_h", namespace=namespace,
                name=f"gsemm_hidden_{kind}")
            group.x = b2.linked_var(hidden, "x", index=np.repeat(np.arange(B * K), P))
            cells[f"hidden_{kind}"] = group
        pre, post = _block_pairs(B, N * C, K)          # feature cell b*N*C + i*C + c -> hidden
        delays = self.delays(shape)
        h_pre, f_post = _block_pairs(B, K * P, N)      # hidden cell b*K*P + j*P + p -> feature
        synapses = {"fast": {}, "delayed": {}, "to_feature": {}}
        for kind in CELL_KINDS:
            sign = kind[-1]
            source = cells[f"feature_{kind}"]
            synapses["fast"][kind] = spike_pathway(source, hidden, f"g_fast_{sign}", pre, post,
                                                   f"gsemm_fast_{kind}")
            synapses["delayed"][kind] = spike_pathway(source, hidden, f"g_slow_{sign}", pre,
                                                      post, f"gsemm_delayed_{kind}", delays)
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
        every = min(self.feature_refractory_ms, self.hidden_refractory_ms) / 2 * b2.ms
        monitors.update({f"isi_{name}": b2.StateMonitor(            # at most one spike per sample
            group, "lastspike", record=np.arange(min(ISI_SAMPLE, len(group))), dt=every,
            when="end", name=f"gsemm_isi_{name}") for name, group in cells.items()})
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
        """Weights per pathway and cell kind, scales, initial conductances and the cells'
        last spikes."""
        from brian2 import ms, nS

        g_unit = self.g_unit_nS * nS
        args = {synapse.w: values[pathway][kind] * g_unit
                for pathway, kinds in handles["synapses"].items()
                for kind, synapse in kinds.items()}
        hidden, feature = handles["hidden"], handles["feature"]
        (f_e, f_i), (u_e, u_i) = values["feature"], values["fast0"]
        zero = np.zeros_like(u_e) * g_unit
        args.update({group.lastspike: values["last_spike_ms"][name] * ms
                     for name, group in handles["cells"].items()})
        args.update({hidden.sa: values["sa"], hidden.ac: values["ac"],
                     hidden.scale: values["scale"], feature.g_e: f_e * g_unit,
                     feature.g_i: f_i * g_unit, hidden.g_fast_e: u_e * g_unit,
                     hidden.g_fast_i: u_i * g_unit, hidden.g_slow_e: zero,
                     hidden.g_slow_i: zero})
        return args

    def physiology(self, handles: dict) -> dict:
        """Rates per cell (Hz; mean and 99th percentile over cells x the whole windows of
        ``physiology_window`` after the first step), ISI CV and shortest ISI (the first
        ``ISI_SAMPLE`` cells of each group) of the excitatory and inhibitory feature and hidden
        cells, and the ratio of excitatory to inhibitory synaptic conductance onto the hidden
        units (current-based synapses: the ratio of currents)."""
        from .spiking_physiology import isi_statistics

        window_s = self.physiology_window * self.time_unit_ms * 1e-3
        monitors = handles["monitors"]
        out = {}
        for layer in ("feature", "hidden"):
            for sign, population in (("e", layer), ("i", f"{layer}_inh")):
                kinds = [kind for kind in CELL_KINDS if kind.endswith(sign)]
                counts = [np.diff(np.asarray(monitors[f"{layer}_{kind}"].n_spikes), axis=1)
                          for kind in kinds]
                rates = np.concatenate(counts).ravel() / window_s
                out[f"rate_mean_hz_{population}"] = float(rates.mean())
                out[f"rate_p99_hz_{population}"] = float(np.percentile(rates, 99))
                times, cells = zip(*(spike_times(monitors[f"isi_{layer}_{kind}"].lastspike_,
                                                 offset=k * ISI_SAMPLE)
                                     for k, kind in enumerate(kinds)))
                out.update(isi_statistics(population, np.concatenate(times),
                                          np.concatenate(cells)))
        g = handles["monitors"]["conductances"]
        excitatory = np.mean(np.asarray(g.g_fast_e_) + np.asarray(g.g_slow_e_))
        inhibitory = np.mean(np.asarray(g.g_fast_i_) + np.asarray(g.g_slow_i_))
        out["ei_current_ratio_hidden"] = (float(excitatory / inhibitory) if inhibitory > 0
                                          else float("inf"))
        return out

    def run(self, net: DenseGSEMM, cue: int, *, dt: float, duration: float,
            sample_every: float) -> dict:
        """Overlaps (S, B, K) of tanh(V_f) with the memories (t in model units), V_f at the
        end, spikes per cell, physiology and the delays (model units) of the ON-E cells'
        delayed synapses, read back."""
        from brian2 import ms

        from .spiking_windows import run_circuit

        self.check(net, dt)
        G, A, N, K = net.shape
        unit = self.time_unit_ms
        shape = {"B": G * A, "N": N, "K": K, "degree": int(net.degree), "T_f": float(net.T_f),
                 "T_d": float(net.T_d), "dt_ms": float(dt) * unit,
                 "duration_ms": float(duration) * unit, "sample_every": float(sample_every),
                 "record": False,
                 "circuit": {k: v for k, v in asdict(self).items() if k not in ("device", "seed")}}
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
               spiking: bool = False, device: str = "runtime",
               record_states: bool = True, seed: int | None = 1, directory: str | None = None) -> dict:
    """Run the batch in Brian2; same output as gsemm.simulate: t, overlaps (S, B, K), states.

    Continuous: ``runtime`` (Cython, numpy fallback) or ``cpp_standalone`` (one build in a
    temporary or given directory, one OpenMP thread; the device is reset to runtime afterwards).
    Spiking: :class:`SpikingGSEMM` (its default cells) with noise ``seed``,
    cpp_standalone builds cached per shape (``directory`` is not used: NEUROSIM_BUILD_DIR).
    """
    import brian2 as b2

    if device == "cuda":
        raise NotImplementedError("GSEMM has no brian2cuda build here (needs Python >= 3.12 and nvcc)")
    if spiking:
        model = SpikingGSEMM(device=device, seed=1 if seed is None else int(seed))
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
