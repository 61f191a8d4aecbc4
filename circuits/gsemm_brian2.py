"""Dense GSEMM as Brian2 equations: continuous (rate) and spiking-delay realizations.

Same circuit as circuits/gsemm.py (paper eq. 1, 9, 10). One model time unit is 1 ms of Brian2
time; all B = G x A networks of a DenseGSEMM batch live in one Brian2 network (block-diagonal
synapses), so one build serves the batch.

Continuous (``spiking=False``), method rk4:
    feature i:  dvf/dt = (sqrt(a_s) drive - vf) / T_f,   dvd/dt = (tanh(vf) - vd) / T_d   (eq. 10, 1)
    hidden j:   h = sqrt(a_s) u + a_c w,   sig = h**n                                    (eq. 9)
    synapses:   u_post = Xi_ij tanh(vf_pre), w_post = (Xi Phi)_ij vd_pre,  drive_post = Xi_ij sig_pre
                (all three are summed variables)
Brian2 updates summed variables once per time step (before the state updaters, ordered here so
that u, w -> drive -> vf within one step), so the drive is frozen during the four RK4 stages:
the coupling is integrated to first order in dt, unlike the numpy RK4 (gap measured in
tests/test_gsemm_brian2.py and by ``gap_to_rate``).

Spiking delay (``spiking=True``): the delay line V_d is carried by spikes. Feature neuron i fires
as an inhomogeneous Poisson process with rate r_max (1 + tanh(vf_i)) / 2 per time unit; each spike
reaches hidden unit j through a delay synapse of weight (Xi Phi)_ij and increments a slow synaptic
trace, T_d dz_j/dt = -z_j, z_j += 2 (Xi Phi)_ij / (r_max T_d). Then E[z_j] - sum_i (Xi Phi)_ij is
exactly the (Xi Phi)^T V_d of eq. 1-2 (the trace is eq. 2's exponential kernel applied to the
spike train), with Poisson noise of relative size ~ 1/sqrt(r_max T_d).
"""
from __future__ import annotations

import tempfile

import numpy as np

from .gsemm import DenseGSEMM


def _flat_blocks(net: DenseGSEMM):
    """Per network b (flattened G x A): its Xi, Xi Phi, sqrt(a_s), a_c."""
    G, A, N, K = net.shape
    xi = np.repeat(net.xi, A, axis=0)                  # (B, N, K)
    xi_phi = np.repeat(net.xi_phi, A, axis=0)
    return xi, xi_phi, np.sqrt(net.alpha_s).reshape(-1), net.alpha_c.reshape(-1)


def build_network(net: DenseGSEMM, cue: int, *, dt: float, sample_every: float,
                  spiking: bool = False, rate: float = 50.0, record_states: bool = True,
                  seed: int | None = None):
    """Brian2 objects of the batch, started at V_f = xi_cue, V_d = 0; returns (Network, monitors)."""
    import brian2 as b2

    if net.activation != "poly":
        raise NotImplementedError("the Brian2 realization implements sigma_h(x) = x**n only; "
                                  "the exp (softmax) activation needs a per-network normalization")
    G, A, N, K = net.shape
    B = G * A
    xi, xi_phi, sa, ac = _flat_blocks(net)
    b2.defaultclock.dt = dt * b2.ms
    if seed is not None:
        b2.seed(seed)
    namespace = {"T_f": net.T_f * b2.ms, "T_d": net.T_d * b2.ms, "degree": int(net.degree),
                 "r_max": rate / b2.ms}
    feature_eqs = """
    dvf/dt = (sa * drive - vf) / T_f : 1
    drive : 1
    sa : 1 (constant)
    """
    if spiking:
        feature = b2.NeuronGroup(B * N, feature_eqs, method="rk4", namespace=namespace,
                                 threshold="rand() < r_max * (1 + tanh(vf)) / 2 * dt",
                                 order=2, name="feature")
        hidden = b2.NeuronGroup(B * K, """
        dz/dt = -z / T_d : 1
        u : 1
        offset : 1 (constant)
        h = sa * u + ac * (z - offset) : 1
        sig = h**degree : 1
        sa : 1 (constant)
        ac : 1 (constant)
        """, method="exact", namespace=namespace, order=0, name="hidden")
    else:
        feature = b2.NeuronGroup(B * N, feature_eqs + "dvd/dt = (tanh(vf) - vd) / T_d : 1\n",
                                 method="rk4", namespace=namespace, order=2, name="feature")
        hidden = b2.NeuronGroup(B * K, """
        u : 1
        w : 1
        h = sa * u + ac * w : 1
        sig = h**degree : 1
        sa : 1 (constant)
        ac : 1 (constant)
        """, namespace=namespace, order=0, name="hidden")
    # block-diagonal all-to-all index arrays: pre feature b*N + i, post hidden b*K + j
    b_idx, i_idx, j_idx = np.meshgrid(np.arange(B), np.arange(N), np.arange(K), indexing="ij")
    pre, post = (b_idx * N + i_idx).ravel(), (b_idx * K + j_idx).ravel()
    w_xi = xi.ravel()
    w_xiphi = xi_phi.ravel()
    if spiking:
        to_hidden = b2.Synapses(feature, hidden, "wx : 1 (constant)\nu_post = wx * tanh(vf_pre) : 1 (summed)",
                                namespace=namespace, name="to_hidden")
        delay = b2.Synapses(feature, hidden, "wp : 1 (constant)",
                            on_pre="z_post += 2 * wp / (r_max * T_d)", namespace=namespace,
                            name="delay_synapses")
        delay.connect(i=pre, j=post)
        delay.wp = w_xiphi
        hidden.offset = xi_phi.sum(axis=1).ravel()     # sum_i (Xi Phi)_ij per network
        hidden.z = hidden.offset[:]                     # V_d(0) = 0: the trace starts at its offset
    else:
        to_hidden = b2.Synapses(feature, hidden, """
        wx : 1 (constant)
        wp : 1 (constant)
        u_post = wx * tanh(vf_pre) : 1 (summed)
        w_post = wp * vd_pre : 1 (summed)
        """, namespace=namespace, name="to_hidden")
        delay = None
    to_hidden.connect(i=pre, j=post)
    to_hidden.wx = w_xi
    if not spiking:
        to_hidden.wp = w_xiphi
    to_feature = b2.Synapses(hidden, feature, "wx : 1 (constant)\ndrive_post = wx * sig_pre : 1 (summed)",
                             namespace=namespace, name="to_feature")
    to_feature.connect(i=post, j=pre)
    to_feature.wx = w_xi
    feature.sa = np.repeat(sa, N)
    hidden.sa = np.repeat(sa, K)
    hidden.ac = np.repeat(ac, K)
    feature.vf = xi[:, :, cue].ravel()
    # u of step t is summed from vf(t) in the 'groups' slot: read it at the end of the step
    monitors = {"hidden": b2.StateMonitor(hidden, "u", record=True, dt=sample_every * b2.ms,
                                          when="end", name="overlap_monitor")}
    if record_states:
        variables = ["vf"] if spiking else ["vf", "vd"]
        monitors["feature"] = b2.StateMonitor(feature, variables, record=True,
                                              dt=sample_every * b2.ms, name="state_monitor")
    objects = [feature, hidden, to_hidden, to_feature] + ([delay] if delay else [])
    return b2.Network(*objects, *monitors.values()), monitors


def run_brian2(net: DenseGSEMM, *, cue: int, dt: float, duration: float, sample_every: float = 0.1,
               spiking: bool = False, device: str = "runtime", rate: float = 50.0,
               record_states: bool = True, seed: int | None = 1, directory: str | None = None) -> dict:
    """Run the batch in Brian2; same output as gsemm.simulate: t, overlaps (S, B, K), states.

    device: ``runtime`` (Cython, numpy fallback) or ``cpp_standalone`` (one build in a temporary
    or given directory, one OpenMP thread; the device is reset to runtime afterwards).
    """
    import brian2 as b2

    if device == "cuda":
        raise NotImplementedError("GSEMM has no brian2cuda build here (needs Python >= 3.12 and nvcc)")
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
                                          spiking=spiking, rate=rate, record_states=record_states,
                                          seed=seed)
        network.run(duration * b2.ms, namespace={})
        G, A, N, K = net.shape
        B = G * A
        u = np.asarray(monitors["hidden"].u)                   # (B*K, S)
        t = np.asarray(monitors["hidden"].t / b2.ms)
        overlaps = u.reshape(B, K, -1).transpose(2, 0, 1) / N
        out = {"t": t, "overlaps": overlaps}
        if record_states:
            vf = np.asarray(monitors["feature"].vf).reshape(B, N, -1).transpose(2, 0, 1)
            vd = (np.asarray(monitors["feature"].vd).reshape(B, N, -1).transpose(2, 0, 1)
                  if not spiking else None)
            out["states"] = np.stack([vf, vd], axis=1) if vd is not None else None
            out["vf"] = vf[-1]
    finally:
        if standalone:
            b2.device.reinit()
            b2.device.activate()
            b2.set_device("runtime")
    return out


def transition_times(overlaps: np.ndarray, t: np.ndarray, threshold: float = 0.5) -> list[list]:
    """Per network: [(time, memory)] at which the dominant memory changes (first entry = start)."""
    from .gsemm import dominant

    dom = dominant(overlaps, threshold)
    events = []
    for b in range(dom.shape[1]):
        seq, last = [], -1
        for ti, d in zip(t, dom[:, b]):
            if d >= 0 and d != last:
                seq.append((float(ti), int(d)))
                last = d
        events.append(seq)
    return events


def gap_to_rate(rate_out: dict, brian_out: dict, until: float, threshold: float = 0.5) -> dict:
    """Brian2 vs numpy RK4 on the same batch up to time `until`.

    max/mean |overlap difference| on common sample times, and the transition-time shift: for each
    network, |t_brian - t_rate| of the transitions both runs make while their dominant-memory
    sequences agree (``sequence_agreement`` = fraction of transitions that agree).
    """
    t_r, t_b = np.round(rate_out["t"], 6), np.round(brian_out["t"], 6)
    common = np.intersect1d(t_r, t_b)
    common = common[common <= until]
    ir, ib = np.searchsorted(t_r, common), np.searchsorted(t_b, common)
    diff = np.abs(rate_out["overlaps"][ir] - brian_out["overlaps"][ib])
    shifts, agree, total = [], 0, 0
    for er, eb in zip(transition_times(rate_out["overlaps"][ir], common, threshold),
                      transition_times(brian_out["overlaps"][ib], common, threshold)):
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
