"""BTSP (neurosim.spiking.blocks.btsp): the update against hand-computed numbers, the Brian2
synapse against a numpy replay of the same traces, locality, and one-line errors."""
import brian2
import numpy as np
import pytest
from brian2 import Hz, Network, SpikeGeneratorGroup, StateMonitor, Synapses, ms, nS

from neurosim.errors import ParameterError
from neurosim.spiking.blocks import BTSP, LIF, Neuromodulator, Pyramidal, neuron_group
from neurosim.spiking.locality import violations


def test_one_conversion_step_by_hand():
    rule = BTSP(eta=0.5, w_max=1.0, plasticity_step=1.0)
    # rate = eta M e q = 0.5/s * 1 * 2 * 0.5 = 0.5/s = 5e-4 per ms; w = 1 - 0.8 exp(-5e-4)
    assert rule.convert(0.2, 2.0, 0.5, 1.0) == pytest.approx(1 - 0.8 * np.exp(-5e-4), rel=1e-12)
    assert rule.convert(0.2, 2.0, 0.5, 0.0) == pytest.approx(0.2, rel=1e-15)   # no modulator
    assert rule.convert(1.0, 9.0, 1.0, 5.0) == 1.0            # soft bound


def test_eligibility_by_hand():
    rule = BTSP(tau_e=1500.0)
    e = rule.eligibility([0.0, 100.0], [100.0, 1600.0])
    assert e == pytest.approx([np.exp(-100 / 1500), np.exp(-1600 / 1500) + np.exp(-1)])


def test_parameters_take_quantities_and_name_a_wrong_unit():
    assert BTSP(tau_e=2 * brian2.second).tau_e == pytest.approx(2000.0)
    assert BTSP(eta=3 * Hz).eta == pytest.approx(3.0)
    with pytest.raises(ParameterError) as error:
        BTSP(tau_q=5 * nS)
    assert "tau_q" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(ParameterError, match="must be > 0"):
        BTSP(tau_e=0)


PLATEAU_MS = 3500.0          # the dendritic input burst that triggers the plateau
PRESYNAPTIC_MS = {0: [-3000.0], 1: [-1000.0], 2: [500.0], 3: [-1000.0, -900.0, -800.0],
                  4: list(np.arange(-3000.0, 3000.0, 100.0))}         # 10 Hz throughout


def btsp_network():
    """Five presynaptic cells firing at the times above (relative to the plateau) onto one
    two-compartment cell; a dendritic input burst triggers its plateau; a modulatory population
    releases M (about 1) from 0.5 s before to 1 s after it.  q and M are recorded at the
    plasticity steps, after the cell's update (what the synapses read)."""
    rule = BTSP()
    brian2.start_scope()
    brian2.defaultclock.dt = 0.5 * ms
    cells, times = zip(*[(i, PLATEAU_MS + t) for i, ts in PRESYNAPTIC_MS.items() for t in ts])
    presynaptic = SpikeGeneratorGroup(len(PRESYNAPTIC_MS), cells, np.array(times) * ms, name="presynaptic")
    burst = SpikeGeneratorGroup(1, np.zeros(5, int), (PLATEAU_MS + np.arange(5) * 2.0) * ms,
                                name="burst")
    modulator = Neuromodulator(n_neurons=5, rate_hz=20.0, tau_ms=300.0)
    release_times = PLATEAU_MS - 500.0 + np.arange(0, 1500.0, 10.0)
    modulatory = SpikeGeneratorGroup(5, np.arange(release_times.size) % 5, release_times * ms,
                                     name="modulatory")
    cell = neuron_group(1, Pyramidal(plateau_ms=300.0), modulator, rule.instructive(),
                        name="cell")
    dendritic = Synapses(burst, cell, on_pre="g_d_post += 20*nS", name="dendritic")
    dendritic.connect()
    release = modulator.volume_transmission(modulatory, cell, name="release")
    plastic = rule.synapses(presynaptic, cell, name="plastic", transmit="g_e_post += w*nS")
    plastic.connect()
    rule.initialize(plastic, w=0.1)
    state = StateMonitor(cell, ["q_instructive", "M", "plateau"], record=0, when="thresholds",
                         dt=rule.plasticity_step * ms, name="state")
    return rule, Network(presynaptic, burst, modulatory, cell, dendritic, release, plastic,
                         state), plastic, state


def test_brian2_synapse_matches_a_numpy_replay_of_its_traces(monkeypatch):
    """The Brian2 pathway against BTSP.convert replayed over the recorded q and M at every
    plasticity step (the same exact-step formula: agreement to rounding), and the window of
    BTSP: inputs a second before or after the plateau gain, three seconds before much less;
    10 Hz input around one plateau is written in one shot."""
    monkeypatch.setattr(brian2.prefs.codegen, "target", "numpy")     # no compilation
    rule, net, plastic, state = btsp_network()
    net.run(PLATEAU_MS * ms + 3 * brian2.second)
    t = np.asarray(state.t / ms)
    q, M = np.asarray(state.q_instructive[0]), np.asarray(state.M[0])
    plateau = np.asarray(state.plateau[0])
    onset = t[np.argmax(plateau > 0)]
    assert PLATEAU_MS <= onset < PLATEAU_MS + 10            # triggered by the dendritic burst
    steps = np.nonzero(q > rule.floor)[0]
    expected = []
    for cell in PRESYNAPTIC_MS:
        w = 0.1
        spikes = np.asarray(PRESYNAPTIC_MS[cell]) + PLATEAU_MS
        e = rule.eligibility(spikes, t[steps])
        for k, step in enumerate(steps):
            w = rule.convert(w, e[k], q[step], M[step])
        expected.append(w)
    learned = np.asarray(plastic.w[:])
    print("BTSP weights after one plateau:", learned.round(4), "replay:", np.round(expected, 4))
    assert learned == pytest.approx(expected, rel=1e-9)
    gain = learned - 0.1
    assert gain[1] > 2 * gain[0] and gain[2] > 2 * gain[0] > 0       # -1 s, +0.5 s >> -3 s
    assert gain[3] > gain[1]                            # more presynaptic spikes, more eligibility
    assert learned[4] > 0.8                             # one shot


def test_btsp_is_local_and_needs_a_plateau():
    brian2.start_scope()
    rule = BTSP()
    cell = neuron_group(2, Pyramidal(), Neuromodulator(), rule.instructive(), name="cell")
    plastic = rule.synapses(brian2.PoissonGroup(3, 10 * Hz), cell, name="plastic")
    assert violations(plastic) == []
    with pytest.raises(ParameterError) as error:
        rule.synapses(brian2.PoissonGroup(3, 10 * Hz), neuron_group(2, LIF(), name="plain"),
                      name="onto_plain")
    assert "plateau" in str(error.value) and "BTSP().instructive()" in str(error.value)
