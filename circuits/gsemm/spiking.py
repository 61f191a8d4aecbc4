"""Dense GSEMM as Brian2 equations (continuous) and as a spiking network (every pathway spikes).

Same circuit as circuits/gsemm/rate.py (paper eq. 1, 2, 9, 10). One model time unit is 1 ms of Brian2
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
of eq. 9-10 reaches a target unit's ON pool through the copy whose sign it needs (ON-E and OFF-I
synapses carry max(W, 0), ON-I and OFF-E synapses max(-W, 0)) and its OFF pool through the
other copies (-W); a weight of 0 is a silent synapse (Xi is a run-time input of the build).

Cells are leaky integrate-and-fire neurons with escape noise (the soft threshold of
:class:`neurosim.spiking.blocks.LIF`; Gerstner & Kistler 2002, ch. 5.3): every cell has its own
membrane potential v (mV, time constant tau_m = ``membrane_ms``), fires with hazard rho(v)
outside an absolute refractory period t_ref, and its spike resets v, which then relaxes back
(relative refractoriness). Every unit has an ON pool and an OFF pool of cells (each as E and I
copies), and each pool has its own excitatory and inhibitory conductances: a source cell's
synapse onto a unit adds to the conductance of its own sign in both pools, with weights
chosen so that the ON pool integrates +W and the OFF pool -W (:func:`mirrored_weights`; an
ON-E cell excites the ON pool where W > 0 and the OFF pool where W < 0, its ON-I twin inhibits
the other). The cells of a pool receive identical synapses, so the pool's conductances are
simulated once (a summed input); membranes, resets and spikes are each cell's own. The
stationary rate follows renewal theory (:func:`renewal_survival`, tested against Brian2).

- feature unit i: conductances g_on_e, g_on_i, g_off_e, g_off_i decaying with T_f; the ON
  pool's V_on = (g_on_e - g_on_i) / g_unit (g_unit = 1 nS) is V_f,i, the OFF pool's V_off is
  -V_f,i in expectation; the overlaps read V_f = (V_on - V_off) / 2. A feature cell of a pool
  with potential V: C_m dv/dt = g_L (E_L - v) + I_background + 2 g_L Delta_V V, where the tonic
  I_background = g_L (V_th - E_L) holds it at threshold at V = 0, so v relaxes toward
  V_th + 2 Delta_V V; hazard rho_0 exp((v - V_th) / Delta_V) with rho_0 = 1 / t_ref; reset to
  V_reset = V_th - ``feature_reset_mV``. A relaxed cell fires at sigmoid(2 V) / t_ref =
  (1 +- tanh V_f) / (2 t_ref), the ON/OFF code of tanh (eq. 10); with tau_m = 2 ms the reset
  has nearly relaxed by the end of t_ref and the stationary rate is that code to within 1%
  (V_f = 0.5 / 0 / -0.5: 91.1 / 62.3 / 33.6 Hz against 91.4 / 62.5 / 33.6 Hz), while a 5 ms
  membrane would still be recovering and fire 75.6 / 53.3 / 30.7 Hz (tests). The ceiling
  1 / t_ref = 125 Hz per cell (t_ref 8 ms) holds either way (``feature_cells`` = 40 cells per
  pool: the pooled rate difference at saturation is r_f = 40 / 8 ms = 50 per time unit).
  tau_m = 2 ms (both layers) is at the short end of a cortical cell's effective time constant
  in the high-conductance state (a few ms; Destexhe, Rudolph & Pare 2003). A membrane adds a lag to
  every pathway: on the documented default point (docs/papers/gsemm.md) (degree 1, three noise seeds each) sequence
  agreement was 0.47 / 0.44 / 0.37 at tau_m = 1 / 2 / 5 ms, so 1-2 ms cost nothing beyond
  the run-to-run spread (+-0.05) and 5 ms does.
- fast pathway (eq. 9, sqrt(a_s) Xi^T tanh V_f): ON (OFF) spikes add +Xi_ij (-Xi_ij) g_unit /
  (r_f tau_u) (split by sign as above) to the hidden unit's ON-pool conductances
  g_fast_on_e, g_fast_on_i and the mirror image to its OFF pool's, so
  E[(g_fast_on_e - g_fast_on_i) / g_unit] = (Xi^T tanh V_f)_j low-passed by tau_u (the paper's
  T_h -> 0). tau_u = 0.8 = 8 ms, not shorter: V_f runs far outside tanh's range (|V_f| ~ 10^3
  at degree 2), so a unit's flip turns all its silent, non-refractory cells on at once, and
  this volley is about t_ref / tau_u times the steady drive; at tau_u = 2 ms it lifted a
  competing memory past the hidden cells' rate bound (docs/papers/gsemm.md).
- delayed pathway (eq. 1-2, a_c Phi^T Xi^T V_d): eq. 2 is the exponential kernel
  k(x) = exp(-x/T_d)/T_d. Each feature cell reaches hidden unit j through one synapse of
  weight +-(Xi Phi)_ij g_unit / (r_f tau_s) whose transmission delay (Brian2
  ``Synapses.delay``) is drawn from p(d) = a delta(d) + (1 - a) exp(-d/T_d)/T_d,
  a = tau_s / T_d; spikes arrive on conductances g_slow_*_e, g_slow_*_i of both pools
  (tau_s = 2 = 20 ms). The
  delay distribution convolved with the synaptic filter exp(-x/tau_s)/tau_s is exactly eq. 2's
  kernel (Laplace: (a + (1-a)/(1 + s T_d)) / (1 + s tau_s) = 1 / (1 + s T_d)), so
  E[(g_slow_on_e - g_slow_on_i) / g_unit] = ((Xi Phi)^T V_d)_j. The delays of a pool's cells to one
  hidden unit are stratified (cell k draws its quantile in [k/C, (k+1)/C), C = feature_cells),
  the exponential part truncated at ``delay_cap`` T_d (mass exp(-10) = 5e-5 at the default 10,
  renormalized; at 5 the mean delay fell 4%, which moved transitions of the test network 2
  time units earlier), rounded to dt by Brian2, and drawn once per build (anatomy). With
  T_d = 20 = 200 ms the mean delay is 180 ms, far beyond an axon's few ms: the paper's delay
  kernel has no single-synapse counterpart in cortex (it would be a chain of cells or a slow
  intracellular process); here it is the transmission delay the model asks for.
- hidden unit j: per pool, h = (sqrt(a_s) (g_fast_e - g_fast_i) + a_c (g_slow_e - g_slow_i))
  / g_unit (the ON pool's is h_j, the OFF pool's -h_j in expectation), sigma_h = h**n (eq. 9);
  x = h / H with the bound H = N_f (sqrt(a_s) + a_c c), c = max_j sum_k |Phi_kj| (eq. 9 with
  |tanh| <= 1, |V_d| <= 1). Its ``hidden_cells`` = 200 ON cells (per copy) have membranes
  tau_m dv/dt = Delta_h x_on - v (v relative to rest) and fire with the power-law hazard
  rho_h clip((v / Delta_h)**n, 0, 1) (spike rate as a power of depolarization: Priebe &
  Ferster 2008; here with the paper's degree n); its OFF cells relax toward Delta_h x_off and
  fire at rho_h clip(-(-v / Delta_h)**n, 0, 1) (silent at even n, where h**n >= 0 is carried
  by the ON cells on both sides of rest); a spike moves v by ``hidden_ahp_mV`` toward rest
  (an after-hyperpolarization of a depolarized cell, relaxing with tau_m; at even n an ON cell
  below rest fires too, and its shift toward rest lowers its hazard as well; a reset to rest
  instead compressed the degree-1 rates enough to break the default point's replay: 0 of 8
  networks, agreement 0.12, at tau_m = 5 ms, against 0.37 with the 1 mV AHP); rho_h = 200 Hz, t_ref 2 ms: at most 143 Hz
  per cell, and the dead time compresses the rate below the hazard by 1 / (1 + lambda t_ref)
  (<= 0.71 at the bound), the after-hyperpolarization a little more. A cue
  (h ~ 0.76 sqrt(a_s) N_f) fires at (0.76 sqrt(a_s) / (sqrt(a_s) + a_c c))**n of the top
  hazard (0.8% at a_s = 1, a_c = 1.5, n = 4), and if no hidden spike comes before V_f decays
  (T_f) the cue is lost; more ``hidden_cells`` fix that. Clipping at the larger term of eq. 9
  instead (N_f max(sqrt(a_s), a_c c)) weakened the retrieved memory and made transitions come
  earlier (docs/papers/gsemm.md setting, Poisson twin: sequence agreement 0.48 instead of 0.73-0.82).
- hidden -> feature (eq. 10, sqrt(a_s) Xi sigma_h): each ON (OFF) spike adds
  +-sqrt(a_s) Xi_ij S g_unit / (r_h T_f) to feature unit i's ON pool and the mirror image to
  its OFF pool (split by sign;
  S = H**n, r_h = hidden_cells rho_h per time unit), whose decay with T_f is the leak of eq. 10
  (T_f dV_f/dt = -V_f + ...): E[dV_f] is eq. 10 where lambda t_ref << 1.

Noise this adds (spike counts): the overlaps the hidden layer reads have SD about
1/sqrt(2 N_f r_f tau) (tau = tau_u or tau_s; less for the feature cells' regular trains near
their ceiling); the drive has relative SD 1/sqrt(r_h T_f rho) at hazard fraction
rho = |sigma_h| / S; the finite delay sample adds a fixed distortion of the kernel of relative
size ~ 1/sqrt(N_f C).

Initial state (V_f(0) = xi_cue, V_d(0) = 0): the feature conductances start at g_unit max(+-xi,
0) and the fast ones at their expected value Xi^T tanh V_f(0) (split by sign and mirrored onto
the OFF pools); every cell starts in the stationary state of its initial drive: its time since
the last spike drawn from renewal theory (:func:`stationary_ages`), its potential where its
reset and the relaxation since left it (a network that has been at the cue, without a volley
at t = 0); no spike is in flight on the delayed pathway
and g_slow = 0, which under ON/OFF coding is exactly V_d(0) = 0 (an empty past = sigma_f = 0,
not a silent -1).

Builds: :class:`SpikingGSEMM` goes through neurosim/spiking/windows.run_circuit and the build cache
of neurosim.spiking.devices: one cpp_standalone build per shape (B, N_f, K, degree, dt, duration, time
constants, cells, delays), reruns set Xi, Xi Phi, sqrt(a_s), a_c, the initial state (with the
cells' last spikes and potentials) and the noise seed through ``run_args``.
"""
from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass

import numpy as np

from neurosim.spiking.blocks import LIF
from neurosim.errors import ParameterError

from neurosim.circuits.gsemm.rate import DenseGSEMM


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


def spike_pathway(source, target, conductances: tuple[str, ...], pre: np.ndarray,
                  post: np.ndarray, name: str, delays_ms: np.ndarray | None = None):
    """Synapses pre[k] -> post[k]: a spike adds the synapse's weight ``w_<c>`` (siemens) to
    each target conductance ``c`` of ``conductances`` ``delays_ms[k]`` later (Brian2
    ``Synapses.delay``, rounded to dt; none: the same time step). A source cell's contact
    with a unit's ON and OFF pools is one Brian2 synapse with a weight per pool and one
    delay."""
    import brian2 as b2

    synapses = b2.Synapses(source, target,
                           "\n".join(f"w_{c} : siemens (constant)" for c in conductances),
                           on_pre="\n".join(f"{c}_post += w_{c}" for c in conductances),
                           name=name)
    synapses.connect(i=pre, j=post)
    if delays_ms is not None:
        synapses.delay = delays_ms * b2.ms
    return synapses


def pool_conductances(prefix: str, kind: str) -> tuple[str, str]:
    """The conductances a source cell of ``kind`` drives at its target unit: those of its own
    sign (Dale's law) on the unit's ON pool and on its OFF pool."""
    sign = kind[-1]
    return f"{prefix}on_{sign}", f"{prefix}off_{sign}"


def mirrored_weights(signed: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per source cell kind: (weights onto the target's ON pool, onto its OFF pool). The ON
    pool integrates +W, the OFF pool -W, each through the copies of the sign it needs."""
    on, off = dale_split(signed), dale_split(-signed)
    return {kind: (on[kind], off[kind]) for kind in CELL_KINDS}


def spike_times(last_spike_s: np.ndarray, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(times in s, cell indices + offset) of the spikes after t = 0 from samples (cells,
    samples) of each cell's last spike time taken at least once per refractory period."""
    samples = np.asarray(last_spike_s)
    new = (np.diff(samples, axis=1, prepend=-np.inf) != 0) & (samples >= 0)
    cells, sample = np.nonzero(new)                  # cell-major, times ascending per cell
    return samples[cells, sample], cells + offset


def renewal_survival(hazard_hz: np.ndarray, dt_ms: float, t_ref_ms: float) -> np.ndarray:
    """S_a = P(no spike in the a time steps after a spike), a = 0 ... A - 1, of cells whose
    hazard a steps after their spike is hazard_hz[..., a]: Brian2's escape rule fires with
    probability hazard dt in each step outside the refractory period (steps a < t_ref / dt)."""
    p = np.clip(np.asarray(hazard_hz, float) * dt_ms * 1e-3, 0.0, 1.0)
    p[..., :max(1, int(round(t_ref_ms / dt_ms)))] = 0.0
    return np.cumprod(1.0 - p, axis=-1)


def stationary_ages(rng: np.random.Generator, survival: np.ndarray, rows: np.ndarray,
                    dt_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """(time since the last spike in ms, per cell; stationary rate in Hz, per row) of renewal
    processes with ISI survival ``survival`` (rows, A) whose hazard is constant after step
    A - 1 (a relaxed membrane): the age at a random moment is a with probability r dt S_a
    (renewal theory), r = 1 / (dt sum_a S_a), the tail sum S_{A-1} (1 - p) / p. Cells (one row
    each, ``rows``) whose age falls in the tail get -inf: they spiked long ago."""
    last = survival[:, -1]
    p = 1.0 - last / np.where(survival[:, -2] > 0, survival[:, -2], 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(last > 0, last * (1 - p) / p, 0.0)
    weights = np.concatenate([survival, tail[:, None]], axis=1)
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore"):
        cdf = np.cumsum(weights, axis=1) / total[:, None]
    age = (cdf[rows] < rng.random(len(rows))[:, None]).sum(axis=1)
    age_ms = np.where(age < survival.shape[1], age * dt_ms, np.inf)
    return age_ms, 1e3 / (dt_ms * total)


PATHWAY_CONDUCTANCES = {"fast": "g_fast_", "delayed": "g_slow_", "to_feature": "g_"}


def relaxed_potential(v_inf: np.ndarray, v_reset: np.ndarray | float,
                      last_spike_ms: np.ndarray, tau_m_ms: float) -> np.ndarray:
    """Membrane potential of a cell reset to v_reset at its last spike (ms, <= 0) and relaxing
    toward v_inf with tau_m since: v_inf + (v_reset - v_inf) exp(last_spike / tau_m)."""
    return v_inf + (v_reset - v_inf) * np.exp(np.maximum(last_spike_ms / tau_m_ms, -700.0))


@dataclass(frozen=True)
class SpikingGSEMM:
    """The spiking twin of a DenseGSEMM batch (module docstring): leaky integrate-and-fire
    cells with escape noise, reset and refractoriness; time constants in model time units, one
    unit = ``time_unit_ms``.  Every field defines the build but ``device`` and ``seed`` (the
    noise of the run). Millivolts matter through ratios: ``feature_reset_mV`` / ``escape_mV``
    (5) is the feature cells' reset depth in escape widths, ``hidden_ahp_mV`` /
    ``hidden_swing_mV`` (0.1) a hidden cell's after-hyperpolarization in units of the
    depolarization at h = H; scaling both of a pair leaves the rates unchanged."""

    device: str = "cpp_standalone"
    seed: int = 1
    feature_cells: int = 40
    feature_refractory_ms: float = 8.0
    escape_mV: float = 2.0
    feature_reset_mV: float = 10.0
    membrane_ms: float = 2.0
    hidden_cells: int = 200
    hidden_refractory_ms: float = 2.0
    hidden_hazard_hz: float = 200.0
    hidden_swing_mV: float = 10.0
    hidden_ahp_mV: float = 1.0
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
        for name in ("feature_refractory_ms", "escape_mV", "feature_reset_mV", "membrane_ms",
                     "hidden_refractory_ms", "hidden_swing_mV", "time_unit_ms", "g_unit_nS",
                     "physiology_window"):
            if not getattr(self, name) > 0:
                raise ParameterError(f"{name} must be > 0 (got {getattr(self, name)})")
        if not self.hidden_ahp_mV >= 0:
            raise ParameterError(f"hidden_ahp_mV must be >= 0 (got {self.hidden_ahp_mV})")

    @property
    def feature_cell(self) -> LIF:
        """The feature cells: membrane tau_m = ``membrane_ms`` (C_m / g_L), reset
        ``feature_reset_mV`` below threshold, soft threshold rho_0 exp((v - V_th) / Delta_V)
        with rho_0 = 1 / t_ref (module docstring)."""
        g_L_nS = 10.0
        return LIF(C_pF=self.membrane_ms * g_L_nS, g_L_nS=g_L_nS,
                   V_reset_mV=LIF.V_th_mV - self.feature_reset_mV,
                   t_ref_ms=self.feature_refractory_ms, escape_mV=self.escape_mV,
                   escape_rate_hz=1e3 / self.feature_refractory_ms, ahp_mV=0.0)

    def feature_cell_arguments(self, drive: str = "drive : 1 (linked)") -> dict:
        """NeuronGroup arguments of feature cells driven by their pool's V_f (``drive``):
        C_m dv/dt = g_L (E_L - v) + I_background + I_syn, I_background = g_L (V_th - E_L) (the
        tonic input that holds a cell at threshold when V_f = 0), I_syn = 2 g_L Delta_V V_f;
        spike with hazard rho_0 exp((v - V_th) / Delta_V) outside t_ref, reset to V_reset."""
        from brian2 import pA

        cell = self.feature_cell
        background = cell.g_L_nS * (cell.V_th_mV - cell.E_L_mV) * pA
        return {"model": drive + """
        I_syn = 2 * g_L * Delta_V * drive : amp
        dv/dt = (g_L * (E_L - v) + I_background + I_syn) / C_m : volt
        n_spikes : 1
        """, "threshold": cell.spike_rule()[0], "reset": "v = V_reset\nn_spikes += 1",
                "refractory": "t_ref", "method": "exact",
                "namespace": {**cell.namespace(), "I_background": background}}

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

    def values(self, net: DenseGSEMM, cue: int, dt_ms: float) -> dict:
        """Per-run arrays: synaptic weights per pathway and cell kind onto the target's (ON,
        OFF) pools (in g_unit; cell-major: network, unit, cell, target), scales, initial
        conductances per pool (in g_unit), and every cell's start in the stationary state of
        its initial drive (time steps dt_ms): its last spike (ms; drawn from the noise seed,
        :func:`stationary_ages`) and the potential (mV) its reset and relaxation left it at."""
        G, A, N, K = net.shape
        xi, xi_phi, sa, ac = _flat_blocks(net)
        S = self.scale(net)
        r_f, r_h = self.pooled_rates()
        per_cell = (xi.shape[0], N, self.feature_cells, K)
        to_feature = xi * (sa * S)[:, None, None] / (r_h * net.T_f)
        vf0 = xi[:, :, cue]
        u0 = np.einsum("bnk,bn->bk", xi, np.tanh(vf0))
        x0 = sa[:, None] * u0 / S[:, None] ** (1.0 / int(net.degree))
        cell, n = self.feature_cell, int(net.degree)
        rho_f, rho_h = 1e3 / self.feature_refractory_ms, self.hidden_hazard_hz
        v_th, d_v, d_h = cell.V_th_mV, self.escape_mV, self.hidden_swing_mV

        def escape(v):
            return rho_f * np.exp(np.clip((v - v_th) / d_v, -50, 20))

        f_on, f_off, h_on = v_th + 2 * d_v * vf0, v_th - 2 * d_v * vf0, d_h * x0
        layers = {   # per pool: resting potential, potential after a spike (mV), hazard (Hz) of v
            "feature": ({"on": (f_on, np.full_like(f_on, cell.V_reset_mV), escape),
                         "off": (f_off, np.full_like(f_off, cell.V_reset_mV), escape)},
                        self.feature_refractory_ms, self.feature_cells),
            "hidden": ({"on": (h_on, h_on - self.hidden_ahp_mV * np.sign(h_on),
                               lambda v: rho_h * np.clip((v / d_h) ** n, 0, 1)),
                        "off": (-h_on, -h_on + self.hidden_ahp_mV * np.sign(h_on),
                                lambda v: rho_h * np.clip(-(-v / d_h) ** n, 0, 1))},
                       self.hidden_refractory_ms, self.hidden_cells)}
        rng = np.random.default_rng(self.seed)
        last_spike, potential = {}, {}
        for layer, (pools, t_ref, cells) in layers.items():
            ages = np.arange(int(np.ceil((t_ref + 12 * self.membrane_ms) / dt_ms))) * dt_ms
            for pool, (rest, reset, hazard) in pools.items():
                rest, reset = rest.ravel(), reset.ravel()
                survival = renewal_survival(hazard(relaxed_potential(
                    rest[:, None], reset[:, None], -ages, self.membrane_ms)), dt_ms, t_ref)
                rows = np.repeat(np.arange(len(rest)), cells)
                for kind in (f"{pool}_e", f"{pool}_i"):
                    age, _ = stationary_ages(rng, survival, rows, dt_ms)
                    last_spike[f"{layer}_{kind}"] = np.where(np.isinf(age), -1e7, -age)
                    potential[f"{layer}_{kind}"] = relaxed_potential(rest[rows], reset[rows], -age,
                                                                     self.membrane_ms)
        return {"last_spike_ms": last_spike, "v_mV": potential,
                "fast": mirrored_weights(np.broadcast_to(xi[:, :, None] / (r_f * self.tau_fast),
                                                         per_cell).ravel()),
                "delayed": mirrored_weights(np.broadcast_to(
                    xi_phi[:, :, None] / (r_f * self.tau_delay_synapse), per_cell).ravel()),
                "to_feature": mirrored_weights(np.repeat(to_feature.transpose(0, 2, 1),
                                                         self.hidden_cells, axis=1).ravel()),
                "sa": np.repeat(sa, K), "ac": np.repeat(ac, K), "scale": np.repeat(S, K),
                "feature": {"on": signed_parts(vf0.ravel()), "off": signed_parts(-vf0.ravel())},
                "fast0": {"on": signed_parts(u0.ravel()), "off": signed_parts(-u0.ravel())}}

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
                     "g_unit": self.g_unit_nS * b2.nS,
                     **self.feature_cell_arguments()["namespace"],
                     "tau_m": self.membrane_ms * b2.ms,
                     "t_ref_h": self.hidden_refractory_ms * b2.ms,
                     "rho_h": self.hidden_hazard_hz * b2.Hz,
                     "Delta_h": self.hidden_swing_mV * b2.mV,
                     "V_ahp_h": self.hidden_ahp_mV * b2.mV}
        pools = ("on", "off")

        def conductances(prefix, tau):
            return "\n".join(f"d{prefix}{pool}_{sign}/dt = -{prefix}{pool}_{sign} / {tau} : siemens"
                             for pool in pools for sign in "ei")

        feature = b2.NeuronGroup(B * N, conductances("g_", "T_f") + "".join(
            f"\nvf_{pool} = (g_{pool}_e - g_{pool}_i) / g_unit : 1" for pool in pools)
            + "\nvf = (vf_on - vf_off) / 2 : 1",
            method="exact", namespace=namespace, name="gsemm_feature")
        hidden = b2.NeuronGroup(B * K, conductances("g_fast_", "tau_u") + "\n"
                                + conductances("g_slow_", "tau_s") + "".join(
            f"\nx_{pool} = (sa * (g_fast_{pool}_e - g_fast_{pool}_i) + ac * (g_slow_{pool}_e"
            f" - g_slow_{pool}_i)) / g_unit / scale**(1.0 / degree) : 1" for pool in pools) + """
        sa : 1 (constant)
        ac : 1 (constant)
        scale : 1 (constant)
        """, method="exact", namespace=namespace, name="gsemm_hidden")
        cells = {}
        for kind in CELL_KINDS:
            pool = kind[:-2]
            sign = "+" if pool == "on" else "-"
            group = b2.NeuronGroup(B * N * C, **{**self.feature_cell_arguments(),
                                                 "namespace": namespace},
                                   name=f"gsemm_feature_{kind}")
            group.drive = b2.linked_var(feature, f"vf_{pool}", index=np.repeat(np.arange(B * N), C))
            cells[f"feature_{kind}"] = group
            group = b2.NeuronGroup(B * K * P, """
            drive : 1 (linked)
            dv/dt = (Delta_h * drive - v) / tau_m : volt
            n_spikes : 1
            """, threshold=f"rand() < rho_h*clip({sign}(({sign}v)/Delta_h)**degree, 0, 1)*dt",
                reset="v -= sign(v)*V_ahp_h\nn_spikes += 1", refractory="t_ref_h", method="exact",
                namespace=namespace, name=f"gsemm_hidden_{kind}")
            group.drive = b2.linked_var(hidden, f"x_{pool}", index=np.repeat(np.arange(B * K), P))
            cells[f"hidden_{kind}"] = group
        pre, post = _block_pairs(B, N * C, K)          # feature cell b*N*C + i*C + c -> hidden
        delays = self.delays(shape)
        h_pre, f_post = _block_pairs(B, K * P, N)      # hidden cell b*K*P + j*P + p -> feature
        wiring = {"fast": ("feature", hidden, pre, post, None),
                  "delayed": ("feature", hidden, pre, post, delays),
                  "to_feature": ("hidden", feature, h_pre, f_post, None)}
        synapses = {pathway: {kind: spike_pathway(
            cells[f"{layer}_{kind}"], target,
            pool_conductances(PATHWAY_CONDUCTANCES[pathway], kind), i, j,
            f"gsemm_{pathway}_{kind}", lag) for kind in CELL_KINDS}
            for pathway, (layer, target, i, j, lag) in wiring.items()}
        hidden_conductances = [f"g_{path}_{pool}_{sign}" for path in ("fast", "slow")
                               for pool in pools for sign in "ei"]
        monitors = {"vf": b2.StateMonitor(feature, "vf", record=True,
                                          dt=shape["sample_every"] * unit,
                                          name="gsemm_vf_monitor"),
                    "conductances": b2.StateMonitor(
                        hidden, hidden_conductances, record=True,
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
        """Weights per pathway, cell kind and target pool, scales, initial conductances, the
        cells' last spikes and potentials."""
        from brian2 import mV, ms, nS

        g_unit = self.g_unit_nS * nS
        args = {}
        for pathway, kinds in handles["synapses"].items():
            for kind, synapse in kinds.items():
                targets = pool_conductances(PATHWAY_CONDUCTANCES[pathway], kind)
                for conductance, weight in zip(targets, values[pathway][kind]):
                    args[getattr(synapse, f"w_{conductance}")] = weight * g_unit
        hidden, feature = handles["hidden"], handles["feature"]
        for pool in ("on", "off"):
            (f_e, f_i), (u_e, u_i) = values["feature"][pool], values["fast0"][pool]
            zero = np.zeros_like(u_e) * g_unit
            args.update({getattr(feature, f"g_{pool}_e"): f_e * g_unit,
                         getattr(feature, f"g_{pool}_i"): f_i * g_unit,
                         getattr(hidden, f"g_fast_{pool}_e"): u_e * g_unit,
                         getattr(hidden, f"g_fast_{pool}_i"): u_i * g_unit,
                         getattr(hidden, f"g_slow_{pool}_e"): zero,
                         getattr(hidden, f"g_slow_{pool}_i"): zero})
        for name, group in handles["cells"].items():
            args[group.lastspike] = values["last_spike_ms"][name] * ms
            args[group.v] = values["v_mV"][name] * mV
        args.update({hidden.sa: values["sa"], hidden.ac: values["ac"],
                     hidden.scale: values["scale"]})
        return args

    def physiology(self, handles: dict) -> dict:
        """Rates per cell (Hz; mean and 99th percentile over cells x the whole windows of
        ``physiology_window`` after the first step), ISI CV and shortest ISI (the first
        ``ISI_SAMPLE`` cells of each group) of the excitatory and inhibitory feature and hidden
        cells, and the ratio of excitatory to inhibitory synaptic conductance onto the hidden
        units (current-based synapses: the ratio of currents)."""
        from neurosim.spiking.physiology import isi_statistics

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
        conductance = {sign: sum(np.mean(getattr(g, f"{name}_")) for name in g.record_variables
                                 if name.endswith(sign)) for sign in ("_e", "_i")}
        out["ei_current_ratio_hidden"] = (float(conductance["_e"] / conductance["_i"])
                                          if conductance["_i"] > 0 else float("inf"))
        return out

    def run(self, net: DenseGSEMM, cue: int, *, dt: float, duration: float,
            sample_every: float) -> dict:
        """Overlaps (S, B, K) of tanh(V_f) with the memories (t in model units; V_f read as
        the mean of a unit's ON pool potential and its OFF pool's negative), V_f at the end,
        spikes per cell, physiology and the delays (model units) of the ON-E cells' delayed
        synapses, read back."""
        from brian2 import ms

        from neurosim.spiking.windows import run_circuit

        self.check(net, dt)
        G, A, N, K = net.shape
        unit = self.time_unit_ms
        shape = {"B": G * A, "N": N, "K": K, "degree": int(net.degree), "T_f": float(net.T_f),
                 "T_d": float(net.T_d), "dt_ms": float(dt) * unit,
                 "duration_ms": float(duration) * unit, "sample_every": float(sample_every),
                 "record": False,
                 "circuit": {k: v for k, v in asdict(self).items() if k not in ("device", "seed")}}
        handles = run_circuit(self, shape, self.values(net, cue, float(dt) * unit), False)
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
        from neurosim.spiking.devices import standalone_preferences

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
    from neurosim.circuits.gsemm.rate import dominant

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
