"""The spiking building blocks against hand-computed cases (Brian2 runtime, numpy target: no
compilation): membrane decay, refractory period, spike-frequency adaptation, escape noise, plateau threshold and
duration, rate-trace (eligibility) update, neuromodulator decay, delay arrival to the time step,
short-term facilitation of transmission, the three-factor conversion and stability, and the
README's plain-Brian2 example."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from neurosim.spiking import devices
from neurosim.spiking.blocks import (LIF, AdEx, Neuromodulator, Pyramidal, RateCode, SpikeSource,
                                     ThreeFactorSynapse, check_dale, neuron_group)
from neurosim.memory.plasticity import hebbian_rule, pre_only_rule

DT_MS = 0.1


@pytest.fixture()
def b2():
    """A fresh Brian2 scope on the runtime device with the numpy target."""
    import brian2

    devices.reset()
    brian2.prefs.codegen.target = "numpy"
    brian2.start_scope()
    brian2.defaultclock.dt = DT_MS * brian2.ms
    yield brian2
    brian2.prefs.codegen.target = devices.runtime_target()


def test_lif_membrane_decays_to_rest_with_tau_m(b2):
    """No input: v(t) = E_L + (v0 - E_L) exp(-t / tau_m), tau_m = C / g_L = 20 ms (Euler)."""
    cell = LIF()
    group = neuron_group(1, cell, name="cell")
    group.v = -60 * b2.mV
    b2.Network(group).run(10 * b2.ms)
    steps = round(10 / DT_MS)
    expected = cell.E_L_mV + 10.0 * (1 - DT_MS / cell.tau_m_ms) ** steps
    assert float(group.v[0] / b2.mV) == pytest.approx(expected, abs=1e-9)


def test_lif_interspike_interval_includes_the_refractory_period(b2):
    """Constant current I: ISI = t_ref + tau_m ln((E_L + I/g_L - V_reset)/(E_L + I/g_L - V_th))."""
    cell = LIF()
    group = neuron_group(1, cell, name="cell")
    group.I_ext = 300 * b2.pA
    monitor = b2.SpikeMonitor(group)
    b2.Network(group, monitor).run(200 * b2.ms)
    isi = np.diff(np.asarray(monitor.t / b2.ms))
    drive = cell.E_L_mV + 300 / cell.g_L_nS
    expected = cell.t_ref_ms + cell.tau_m_ms * np.log((drive - cell.V_reset_mV) /
                                                      (drive - cell.V_th_mV))
    assert isi.min() >= cell.t_ref_ms
    np.testing.assert_allclose(isi[1:], expected, atol=2 * DT_MS)


def test_adaptation_current_steps_by_b_at_a_spike_and_decays_with_tau_a(b2):
    """A spike adds b to I_a, which then decays as tau_a dI_a/dt = -I_a (Euler): the cell,
    started above threshold, spikes in the first step (after that step's update) and I_a
    decays over the remaining 99 steps of 10 ms."""
    cell = LIF(adaptation_pA=50.0, adaptation_ms=100.0)
    group = neuron_group(1, cell, name="cell")
    group.v = (cell.V_th_mV + 1.0) * b2.mV
    monitor = b2.SpikeMonitor(group)
    b2.Network(group, monitor).run(10 * b2.ms)
    assert list(np.asarray(monitor.t / b2.ms)) == [0.0]
    expected = 50.0 * (1 - DT_MS / cell.adaptation_ms) ** (round(10 / DT_MS) - 1)
    assert float(group.I_a[0] / b2.pA) == pytest.approx(expected, rel=1e-9)


def test_pyramidal_soma_adapts_like_the_lif(b2):
    """The two-compartment cell takes the same adaptation current on its soma: a spike adds b."""
    cell = Pyramidal(adaptation_pA=30.0)
    group = neuron_group(1, cell, name="pyramidal")
    group.v = (cell.V_th_mV + 1.0) * b2.mV
    b2.Network(group).run(DT_MS * b2.ms)
    assert float(group.I_a[0] / b2.pA) == pytest.approx(30.0, rel=1e-12)


def test_adaptation_current_hyperpolarizes_and_slows_firing(b2):
    """An adaptation current I_a held at 100 pA moves the rest to E_L - I_a / g_L = -80 mV.
    Under a constant drive I the intervals lengthen to the mean-field fixed point
    ISI = t_ref + tau_m ln((D - V_reset) / (D - V_th)), D = E_L + (I - b tau_a / ISI) / g_L
    (the mean adaptation current of a regular train), and the cell fires fewer spikes than
    without adaptation."""
    held = LIF(adaptation_pA=1.0, adaptation_ms=1e9)
    group = neuron_group(1, held, name="held")
    group.I_a = 100 * b2.pA
    b2.Network(group).run(300 * b2.ms)                     # 15 tau_m
    assert float(group.v[0] / b2.mV) == pytest.approx(held.E_L_mV - 100 / held.g_L_nS, abs=1e-3)

    b2.start_scope()
    cells = neuron_group(2, LIF(adaptation_pA=20.0), name="adapting")
    plain = neuron_group(1, LIF(), name="plain")
    cells.I_ext = plain.I_ext = 600 * b2.pA
    adapting_spikes, plain_spikes = b2.SpikeMonitor(cells), b2.SpikeMonitor(plain)
    b2.Network(cells, plain, adapting_spikes, plain_spikes).run(300 * b2.ms)
    isi = np.diff(np.asarray(adapting_spikes.t / b2.ms)[np.asarray(adapting_spikes.i) == 0])
    cell, fixed_point = LIF(adaptation_pA=20.0), 20.0
    for _ in range(200):                               # damped iteration to ISI = f(ISI)
        drive = cell.E_L_mV + (600 - cell.adaptation_pA * cell.adaptation_ms / fixed_point) / cell.g_L_nS
        fixed_point = (fixed_point + cell.t_ref_ms + cell.tau_m_ms
                       * np.log((drive - cell.V_reset_mV) / (drive - cell.V_th_mV))) / 2
    assert isi[0] < 0.7 * fixed_point
    assert isi[-5:].mean() == pytest.approx(fixed_point, rel=0.05)
    plain_isi = cell.t_ref_ms + cell.tau_m_ms * np.log((cell.E_L_mV + 60 - cell.V_reset_mV)
                                                       / (cell.E_L_mV + 60 - cell.V_th_mV))
    assert plain_spikes.count[0] == pytest.approx(300 / plain_isi, abs=1.5)
    assert adapting_spikes.count[0] < 0.8 * plain_spikes.count[0]


def test_escape_noise_rate_at_threshold(b2):
    """Escape noise: a membrane held at V_th fires at rho_0 (Poisson), nowhere near it never."""
    cell = LIF(escape_mV=0.5, escape_rate_hz=50.0, ahp_mV=0.0, t_ref_ms=0.1)
    group = neuron_group(400, cell, name="cells")
    group.v = np.where(np.arange(400) < 200, cell.V_th_mV, cell.V_th_mV - 20) * b2.mV
    group.namespace["g_L"] = 0 * b2.nS                  # hold v: no leak, no input
    monitor = b2.SpikeMonitor(group)
    b2.Network(group, monitor).run(200 * b2.ms)
    counts = np.bincount(np.asarray(monitor.i), minlength=400)
    rate = counts[:200].mean() / 0.2
    assert rate == pytest.approx(50.0, rel=0.15)        # 2000 expected spikes: 2.2% s.e.
    assert counts[200:].sum() == 0


def test_dendritic_plateau_needs_threshold_and_lasts_its_duration(b2):
    """A gating conductance kick below threshold gives no plateau; above, one plateau of
    exactly ``plateau_ms`` starting when v_d crosses V_plateau."""
    cell = Pyramidal()
    group = neuron_group(2, cell, name="pyr")
    group.g_d = [2.0, 60.0] * b2.nS
    state = b2.StateMonitor(group, ["plateau", "v_d"], record=True)
    b2.Network(group, state).run(100 * b2.ms)
    plateau = np.asarray(state.plateau)
    assert plateau[0].sum() == 0
    assert np.asarray(state.v_d[0] / b2.mV).max() < cell.V_plateau_mV
    # set at the onset step, the plateau holds for the plateau_ms / dt - 1 steps that follow
    assert plateau[1].sum() == round(cell.plateau_ms / DT_MS) - 1
    onset = np.flatnonzero(plateau[1])[0]
    assert np.asarray(state.v_d[1] / b2.mV)[onset] > cell.V_plateau_mV


def test_rate_trace_is_the_exponential_kernel_over_spike_times(b2):
    """rho(t) = sum_k exp(-(t - t_k) / tau) / (r_ref tau) over the spikes t_k so far."""
    code = RateCode(r_ref_hz=40.0, tau_ms=20.0)
    group = neuron_group(1, SpikeSource("100*Hz*int(t < 30*ms)", check_ms=1.0), code,
                         name="source")
    group.use_poisson = 0.0
    monitor = b2.SpikeMonitor(group)
    b2.Network(group, monitor).run(50 * b2.ms)
    spikes = np.asarray(monitor.t / b2.ms)
    assert len(spikes) == 3                              # regular 100 Hz for 30 ms
    expected = np.exp(-(50.0 - spikes) / 20.0).sum() / (40.0 * 20e-3)
    assert float(group.rho[0]) == pytest.approx(expected, rel=1e-6)
    assert float(group.z[0]) == pytest.approx(expected - 0.0, rel=1e-6)


def test_neuromodulator_release_and_decay(b2):
    """One neuromodulatory spike at t_s raises M by `release`, which then decays with tau_M."""
    modulator = Neuromodulator(n_neurons=1, rate_hz=10.0, tau_ms=10.0)
    source = b2.SpikeGeneratorGroup(1, [0], [5.0] * b2.ms)
    target = neuron_group(1, modulator, name="target")
    release = b2.Synapses(source, target, **modulator.release_model())
    release.connect()
    b2.Network(source, target, release).run(25 * b2.ms)
    assert modulator.release == pytest.approx(10.0)      # 1 / (1 x 10 Hz x 10 ms)
    expected = modulator.release * np.exp(-(25.0 - 5.0 - DT_MS) / 10.0)
    assert float(target.M[0]) == pytest.approx(expected, rel=1e-3)


def test_synaptic_delay_arrives_on_the_time_step(b2):
    """A spike at 10 ms through a 3 ms delay reaches the target's conductance at 13 ms."""
    source = b2.SpikeGeneratorGroup(1, [0], [10.0] * b2.ms)
    target = neuron_group(1, LIF(), name="target")
    synapse = b2.Synapses(source, target, on_pre="g_e_post += 1*nS", delay=3 * b2.ms)
    synapse.connect()
    state = b2.StateMonitor(target, "g_e", record=0)
    b2.Network(source, target, synapse, state).run(20 * b2.ms)
    first = np.flatnonzero(np.asarray(state.g_e[0]) > 0)[0]
    assert first == round(13.0 / DT_MS) + 1              # recorded at the start of the next step


def test_facilitating_transmission_follows_tsodyks_markram(b2):
    """Spikes at 10, 20 and 50 ms through the block's facilitating transmission (U = 0.2,
    tau_f = 50 ms, w = 1 nS) onto a cell whose g_e does not decay: g_e = w (u_1 + u_2 + u_3),
    u_1 = U, u_(n+1) = U + u_n e^(-dt / tau_f) (1 - U)."""
    block = ThreeFactorSynapse(hebbian_rule(), facilitation_U=0.2, facilitation_ms=50.0)
    source = b2.SpikeGeneratorGroup(1, [0, 0, 0], [10.0, 20.0, 50.0] * b2.ms)
    target = neuron_group(1, LIF(tau_e_ms=1e9), name="target")
    synapse = b2.Synapses(source, target, "w : siemens\n" + block.transmission_model(),
                          on_pre=block.transmission_code())
    synapse.connect()
    synapse.w = 1 * b2.nS
    synapse.U_f, synapse.tau_f = block.parameters()["U_f"], block.parameters()["tau_f"]
    b2.Network(source, target, synapse).run(60 * b2.ms)
    u1 = 0.2
    u2 = 0.2 + u1 * np.exp(-10 / 50) * 0.8
    u3 = 0.2 + u2 * np.exp(-30 / 50) * 0.8
    assert float(target.g_e[0] / b2.nS) == pytest.approx(u1 + u2 + u3, rel=1e-6)
    assert float(synapse.u_f[0]) == pytest.approx(u3, rel=1e-9)
    static = ThreeFactorSynapse(hebbian_rule())
    assert static.transmission_code() == "g_e_post += w" and static.transmission_model() == ""


def test_three_factor_conversion_during_a_plateau(b2):
    """While the post dendrite is in a plateau and M is constant, the pre-only key rule moves
    w towards w_max clip(p z_pre, 0, 1) by a factor exp(-k M Delta) per plasticity step Delta
    (dw/dt = k M (w* - w) integrated exactly): a 20 ms plateau converts at t = 0, 2, ..., 18 ms
    with Delta = 2 ms, so w = w* (1 - exp(-k M 20 ms)); outside the plateau nothing changes."""
    block = ThreeFactorSynapse(pre_only_rule(), w_max_nS=2.0, conversion_per_ms=0.05,
                               hidden_side="post")
    pre = neuron_group(2, SpikeSource("0*Hz"), RateCode(r_ref_hz=40.0, baseline=1.0),
                       name="pre")
    pre.polarity = [1.0, -1.0]
    pre.tau_rho = 1e9 * b2.second      # hold the traces: rho = 1.5, so z = +0.5 (ON), -0.5 (OFF)
    pre.rho_spike = 1.5
    post = neuron_group(1, Pyramidal(plasticity_step_ms=2.0), Neuromodulator(tau_ms=1e9),
                        RateCode(50.0), name="post")
    post.M = 0.8
    post.plateau_end = 20 * b2.ms     # a plateau from t = 0 to 20 ms
    synapses = block.synapses(pre, post, name="keys")
    synapses.connect()
    block.initialize(synapses)
    conversions = b2.EventMonitor(post, "plateau_step")
    b2.Network(pre, post, synapses, conversions).run(40 * b2.ms)
    np.testing.assert_allclose(np.asarray(conversions.t / b2.ms), np.arange(0.0, 20.0, 2.0),
                               atol=1e-9)
    # both synapses carry |K*| = 0.5: the ON cell codes x = +0.5, the OFF cell x = -0.5
    expected = 2.0 * 0.5 * (1 - np.exp(-0.05 * 0.8 * 20.0))
    np.testing.assert_allclose(np.asarray(synapses.w / b2.nS), expected, rtol=1e-6)


def test_stability_grows_only_above_the_flashbulb_concentration(b2):
    """S -> 1 - (1 - S) exp(-Delta / tau_S) per plasticity step while M > stable_above (ten
    1 ms steps in a 10 ms plateau), and blocks conversion."""
    block = ThreeFactorSynapse(pre_only_rule(), w_max_nS=1.0, conversion_per_ms=0.1,
                               hidden_side="post", stable_above=3.0, tau_stability_ms=5.0)
    pre = neuron_group(1, SpikeSource("0*Hz"), RateCode(40.0, baseline=1.0), name="pre")
    post = neuron_group(2, Pyramidal(), Neuromodulator(tau_ms=1e9), RateCode(50.0), name="post")
    post.M = [1.0, 10.0]
    post.plateau_end = 10 * b2.ms
    synapses = block.synapses(pre, post, name="keys")
    synapses.connect()
    block.initialize(synapses)
    b2.Network(pre, post, synapses).run(20 * b2.ms)
    S = np.asarray(synapses.S[:])
    assert S[0] == 0.0
    assert S[1] == pytest.approx(1 - np.exp(-10.0 / 5.0), rel=1e-9)


@pytest.mark.parametrize("coding", ["rectified", "complementary"])
def test_passive_rule_accumulates_the_signed_weight_while_modulated(b2, coding):
    """Passive rule (eq. 13, 16) at constant M, z_post z_pre = 0.8 x 0.5 = 0.4 on all four
    ON/OFF synapses: K_n = K* (1 - (1 - a (1 - lambda))^n), K* = rate 0.4 / (1 - lambda),
    a = k M dt (Euler); rectified coding keeps K latent (w = w_max clip(p K, 0, 1): the
    synapses between an ON and an OFF cell stay silent), complementary carries it in w."""
    block = ThreeFactorSynapse(hebbian_rule(passive=True, decay=0.5, rate=0.5), w_max_nS=2.0,
                               conversion_per_ms=0.05, coding=coding)
    pre = neuron_group(2, SpikeSource("0*Hz"), RateCode(40.0, baseline=1.0), name="pre")
    pre.polarity = [1.0, -1.0]
    pre.tau_rho = 1e9 * b2.second
    pre.rho_spike = [1.5, 0.5]                           # both code z = +0.5
    post = neuron_group(2, LIF(), Neuromodulator(tau_ms=1e9), RateCode(50.0, baseline=1.0),
                        name="post")
    post.polarity = [1.0, -1.0]
    post.tau_rho = 1e9 * b2.second
    post.rho_spike = [1.8, 0.2]                          # both code z = +0.8
    post.M = 0.8
    synapses = block.synapses(pre, post, name="recurrent")
    synapses.connect()
    block.initialize(synapses)
    b2.Network(pre, post, synapses).run(20 * b2.ms)
    steps = round(20 / DT_MS)
    K = 0.5 * 0.4 / 0.5 * (1 - (1 - 0.05 * 0.8 * DT_MS * 0.5) ** steps)
    p = np.asarray(synapses.polarity_pre[:]) * np.asarray(synapses.polarity_post[:])
    w = np.asarray(synapses.w / b2.nS)
    np.testing.assert_allclose(w, block.conductance(K, p), rtol=1e-6)
    if coding == "rectified":
        np.testing.assert_allclose(np.asarray(synapses.K[:]), K, rtol=1e-6)
        assert w[p < 0].max() == 0.0 and w[p > 0].min() > 0.0
    else:
        np.testing.assert_allclose(block.signed_weight(w, p), K, rtol=1e-6)


def test_blocks_validate_their_parameters():
    with pytest.raises(ValueError, match="E_i < E_L < V_th < E_e"):
        LIF(V_th_mV=-80.0)
    with pytest.raises(ValueError, match="escape noise"):
        AdEx(escape_mV=1.0)
    with pytest.raises(ValueError, match="adaptation_pA must be >= 0"):
        LIF(adaptation_pA=-1.0)
    with pytest.raises(ValueError, match="adaptation_ms must be > 0"):
        LIF(adaptation_pA=10.0, adaptation_ms=0.0)
    with pytest.raises(ValueError, match="a_nS and b_pA"):
        AdEx(adaptation_pA=10.0)
    with pytest.raises(ValueError, match="coding"):
        ThreeFactorSynapse(hebbian_rule(passive=True), coding="linear")
    with pytest.raises(ValueError, match="hidden_side"):
        ThreeFactorSynapse(pre_only_rule(), hidden_side="both")
    with pytest.raises(ValueError, match="facilitation"):
        ThreeFactorSynapse(hebbian_rule(), facilitation_U=1.5)


def test_gated_synapses_need_a_plateau_clock_on_the_time_grid(b2):
    """A gated rule converts on a Pyramidal neuron's plateau events: onto a plain LIF group, or
    with a plasticity step that is not a multiple of the time step, building fails in one line."""
    pre = neuron_group(1, SpikeSource("0*Hz"), RateCode(40.0, baseline=1.0), name="pre")
    lif = neuron_group(1, LIF(), Neuromodulator(), RateCode(50.0), name="lif")
    odd = neuron_group(1, Pyramidal(plasticity_step_ms=0.25), Neuromodulator(), RateCode(50.0),
                       name="odd")
    block = ThreeFactorSynapse(pre_only_rule(), hidden_side="post")
    with pytest.raises(ValueError, match="plateaus of a Pyramidal neuron; group 'lif'"):
        block.synapses(pre, lif, name="keys_lif")
    with pytest.raises(ValueError, match=r"0.25 ms\) must be a multiple of the time step"):
        block.synapses(pre, odd, name="keys_odd")
    with pytest.raises(ValueError, match="plasticity_step_ms must be > 0"):
        Pyramidal(plasticity_step_ms=0.0)


def test_push_pull_conductances_carry_the_signed_weight():
    rectified = ThreeFactorSynapse(pre_only_rule(), w_max_nS=2.0)
    complementary = ThreeFactorSynapse(hebbian_rule(passive=True), w_max_nS=2.0,
                                       coding="complementary")
    K = np.array([0.5, -0.25])
    np.testing.assert_allclose(rectified.conductance(K, 1.0), [1.0, 0.0])
    np.testing.assert_allclose(rectified.conductance(K, -1.0), [0.0, 0.5])
    np.testing.assert_allclose(complementary.conductance(K, 1.0), [1.5, 0.75])
    np.testing.assert_allclose(complementary.signed_weight(complementary.conductance(K, -1.0),
                                                           -1.0), K)
    assert rectified.plateau_fraction(M=1.0, plateau_ms=0.0) == 0.0


def test_readme_plain_brian2_example_runs(b2):
    """The README's ten-line example: the declared three-factor synapse in a plain script."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"```python\n(# plain Brian2.*?)```", readme, re.S)
    assert code, "README must hold the plain-Brian2 example"
    namespace: dict = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    w = np.asarray(namespace["keys"].w / b2.nS)
    assert w[:10].mean() > 0.3 and w[10:].max() == 0.0   # active inputs (x = +1) vs silent (x = -1)


def _two_projections(b2, first: str, second: str, w_nS=(1.0, 1.0), cells=(0, 0)):
    """Cells of ``source`` -> ``target`` through two synapse objects adding to ``first`` and
    ``second``; synapse k leaves from source cell ``cells[k]`` with weight ``w_nS[k]``."""
    source = b2.NeuronGroup(2, "v : volt", threshold="False")
    target = b2.NeuronGroup(2, "g_e : siemens\ng_i : siemens\ng_fast_i : siemens\nx : 1")
    synapses = []
    for k, variable in enumerate((first, second)):
        s = b2.Synapses(source, target, "w : siemens", on_pre=f"{variable}_post += w",
                        name=f"proj{k}")
        s.connect(i=cells[k], j=k)
        s.w = w_nS[k] * b2.nS
        synapses.append(s)
    return b2.Network(source, target, *synapses)


def test_check_dale_reads_one_weight_per_pool_a_spike_reaches(b2):
    """A spike adding w_g_e and w_fast_e (both excitatory) passes; a negative one of them, a
    spike reaching conductances of both signs, or a negative w_<conductance> of a synapse with
    one target fails."""
    source = b2.NeuronGroup(1, "v : volt", threshold="False")
    target = b2.NeuronGroup(1, "g_e : siemens\ng_fast_e : siemens\ng_i : siemens")

    def projection(first, second, w_nS):
        synapses = b2.Synapses(source, target, f"w_{first} : siemens\nw_{second} : siemens",
                               on_pre=f"{first}_post += w_{first}\n{second}_post += w_{second}",
                               name="pools")
        synapses.connect(i=0, j=0)
        getattr(synapses, f"w_{first}")[:] = w_nS[0] * b2.nS
        getattr(synapses, f"w_{second}")[:] = w_nS[1] * b2.nS
        return b2.Network(source, target, synapses)

    assert check_dale(projection("g_e", "g_fast_e", (1.0, 0.0))) == {"pools": "excitatory"}
    with pytest.raises(ValueError, match="pools: a negative weight onto g_fast_e"):
        check_dale(projection("g_e", "g_fast_e", (1.0, -0.5)))
    with pytest.raises(ValueError, match="not postsynaptic variables of exactly one sign"):
        check_dale(projection("g_e", "g_i", (1.0, 1.0)))
    named = b2.Synapses(source, target, "w_g_e : siemens", on_pre="g_e_post += w_g_e",
                        name="named")
    named.connect(i=0, j=0)
    named.w_g_e = -1.0 * b2.nS
    with pytest.raises(ValueError, match="named: a negative weight onto g_e"):
        check_dale(b2.Network(source, target, named))


def test_check_dale_names_the_sign_of_each_projection(b2):
    """Different cells may differ in sign; g_fast_i counts as inhibitory."""
    net = _two_projections(b2, "g_e", "g_fast_i", cells=(0, 1))
    assert check_dale(net) == {"proj0": "excitatory", "proj1": "inhibitory"}


@pytest.mark.parametrize("first, second, w_nS, cells, message", [
    ("g_e", "g_i", (1.0, 0.0), (0, 0), "cell 0 of .* excitatory and inhibitory"),
    ("g_e", "g_e", (1.0, -0.5), (0, 1), "proj1: a negative weight"),
    ("g_e", "x", (1.0, 1.0), (0, 1), "'x', which is neither a conductance"),
])
def test_check_dale_rejects_mixed_cells_negative_weights_and_non_conductances(
        b2, first, second, w_nS, cells, message):
    """A silent synapse (w = 0) still carries its sign."""
    with pytest.raises(ValueError, match=message):
        check_dale(_two_projections(b2, first, second, w_nS, cells))


def test_neuromodulator_baseline_and_rise_by_hand(monkeypatch):
    """tau_M dM/dt = baseline - M + (tau_M / tau_rise) R, tau_rise dR/dt = -R, R += release:
    from M = 0 without spikes M = b (1 - exp(-t / tau_M)); one release r at t = 0 with b = 0
    gives M = r tau_M / (tau_M - tau_rise) (exp(-t / tau_M) - exp(-t / tau_rise))."""
    import brian2
    from brian2 import ms

    from neurosim.spiking.blocks import Neuromodulator, neuron_group

    monkeypatch.setattr(brian2.prefs.codegen, "target", "numpy")
    brian2.start_scope()
    brian2.defaultclock.dt = 0.1 * ms
    tonic = Neuromodulator(tau_ms=100.0, baseline=0.5)
    phasic = Neuromodulator(tau_ms=100.0, rise_ms=20.0)
    relaxing = neuron_group(1, tonic, name="relaxing")
    rising = neuron_group(1, phasic, name="rising")
    rising.M_rising = 0.3
    brian2.Network(relaxing, rising).run(50 * ms)
    t = 50.0
    assert relaxing.M[0] == pytest.approx(0.5 * (1 - np.exp(-t / 100)), rel=1e-6)
    assert rising.M[0] == pytest.approx(0.3 * 100 / 80 * (np.exp(-t / 100) - np.exp(-t / 20)),
                                        rel=1e-6)
    assert phasic.release_model()["on_pre"] == "M_rising_post += release"
    with pytest.raises(ValueError, match="baseline"):
        Neuromodulator(baseline=-1.0)


def test_a_regenerative_plateau_lasts_as_long_as_its_input(b2):
    """plateau_hold_nS: a plateau ends plateau_ms after g_d last exceeded the hold conductance.
    A 60 nS kick decays (tau_d = 5 ms; Euler steps, g_d(k) = 60 (1 - dt/tau_d)^(k+1) after step
    k) below 10 nS after step k_last: the plateau ends at k_last dt + plateau_ms (to the step).
    Input held at 60 nS until 150 ms: it ends 150 ms later."""
    cell = Pyramidal(plateau_hold_nS=10.0, plateau_ms=40.0)
    group = neuron_group(2, cell, name="pyr")
    group.g_d = 60 * b2.nS
    group.run_regularly("g_d = int(i == 1 and t < 150*ms)*60*nS + int(i == 0 or t >= 150*ms)*g_d",
                        when="start")
    state = b2.StateMonitor(group, "plateau", record=True)
    b2.Network(group, state).run(300 * b2.ms)
    plateau = np.asarray(state.plateau)
    end_ms = np.array([np.flatnonzero(row)[-1] + 1 for row in plateau]) * DT_MS
    k_last = np.flatnonzero(60 * (1 - DT_MS / cell.tau_d_ms) ** (np.arange(1, 200)) > 10)[-1]
    assert end_ms == pytest.approx([k_last * DT_MS + 40, 150 + k_last * DT_MS + 40],
                                   abs=DT_MS / 2)
    assert all(np.all(np.diff(np.flatnonzero(row)) == 1) for row in plateau)    # one plateau
    assert "plateau_hold" not in Pyramidal().fragment().events      # the fixed timer by default


def test_a_rate_coded_synapse_refuses_a_stock_group_in_one_line(b2):
    from neurosim.errors import ParameterError

    cells = neuron_group(2, Pyramidal(), RateCode(40.0), Neuromodulator(), name="cells")
    with pytest.raises(ParameterError) as error:
        ThreeFactorSynapse(pre_only_rule()).synapses(b2.PoissonGroup(3, 10 * b2.Hz), cells,
                                                     name="keys")
    message = str(error.value)
    assert "presynaptic group" in message and "polarity, z" in message and "\n" not in message
    assert "BTSP" in message
