"""GSEMM Brian2 realizations (circuits/gsemm_brian2.py) against the numpy RK4, cpp_standalone.

Two small cpp_standalone builds (~20-40 s each cold): the continuous equations and the spiking
twin (one cached build, three noise seeds), both on a batch of 2 networks replaying a 4-memory
cycle; the delay pathway's arrival times on Brian2's numpy target (no build).
"""
import numpy as np
import pytest

from neurosim.circuits.gsemm import (MIN_DWELL, DenseGSEMM, cycle_graph, dominant,
                                     dominant_sequence, phi_from_graph, random_memories,
                                     settled_sequence, simulate)

brian2 = pytest.importorskip("brian2", reason="Brian2 is not installed")
from neurosim.circuits.gsemm_brian2 import gap_to_rate, run_brian2  # noqa: E402

pytestmark = pytest.mark.spiking

DURATION = 160.0


@pytest.fixture
def standalone_dir(tmp_path):
    """A fresh cpp_standalone project folder; the device is back to runtime afterwards."""
    yield str(tmp_path / "b2")
    brian2.device.reinit()
    brian2.device.activate()
    brian2.set_device("runtime")


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(12)
    K = 4
    net = DenseGSEMM(random_memories(rng, 2, 60, K), phi_from_graph(cycle_graph(range(K))),
                     alpha_s=1.0, alpha_c=1.5, degree=4)
    vf, vd = net.cue_state(0)
    return net, simulate(net, vf, vd, dt=0.01, duration=DURATION, sample_every=0.1)


def _sequences(out):
    return [dominant_sequence(dominant(out["overlaps"][:, b], 0.5)) for b in range(2)]


def test_continuous_brian2_tracks_numpy_rk4(batch, standalone_dir):
    net, rate = batch
    out = run_brian2(net, cue=0, dt=0.01, duration=DURATION, sample_every=0.1,
                     device="cpp_standalone", directory=standalone_dir)
    assert out["overlaps"].shape[1:] == (2, 4)
    gap = gap_to_rate(rate, out, DURATION)
    print("continuous Brian2 vs numpy RK4:", gap)
    for seq in _sequences(rate):
        assert seq[:5] == [0, 1, 2, 3, 0]
    assert _sequences(out) == [s[:len(o)] for s, o in zip(_sequences(rate), _sequences(out))]
    assert gap["sequence_agreement"] == 1.0
    # summed variables are frozen during the RK4 stages: first order in the coupling, so the
    # transitions shift by a fraction of a time unit, not more
    assert gap["max_transition_shift"] < 1.0
    assert gap["mean_abs_overlap_gap"] < 0.05
    np.testing.assert_allclose(out["overlaps"][0], rate["overlaps"][0], atol=1e-12)


SPIKING_SEEDS = (3, 4, 5)
AGREEMENT_MIN = 0.9
SHIFT_MAX = 20.0


@pytest.fixture(scope="module")
def spiking_runs():
    """The spiking twin on a degree-2 batch (2 networks, 4-memory cycle): one cached build,
    then one run per noise seed; the rate model on the same batch; build counts around it."""
    from neurosim import devices

    rng = np.random.default_rng(12)
    net = DenseGSEMM(random_memories(rng, 2, 60, 4), phi_from_graph(cycle_graph(range(4))),
                     alpha_s=1.0, alpha_c=1.5, degree=2)
    vf, vd = net.cue_state(0)
    rate = simulate(net, vf, vd, dt=0.01, duration=DURATION, sample_every=0.1)
    devices.reset()
    runs, builds = [], []
    for seed in SPIKING_SEEDS:
        runs.append(run_brian2(net, cue=0, dt=0.01, duration=DURATION, sample_every=0.1,
                               spiking=True, device="cpp_standalone", seed=seed))
        builds.append(devices.CACHE.builds)
    build = devices.CACHE.active
    yield {"net": net, "rate": rate, "runs": runs, "builds": builds, "build_s": build.build_s,
           "rerun_s": list(build.timings)}
    devices.reset()


def test_delayed_spike_arrives_delay_later_to_the_time_step():
    """spike_pathway: a spike sent at t0 raises z of target k at t0 + delay_k exactly."""
    from brian2 import NeuronGroup, SpikeGeneratorGroup, StateMonitor, defaultclock, ms, prefs
    from neurosim import devices
    from neurosim.circuits.gsemm_brian2 import spike_pathway

    devices.reset()
    target = prefs.codegen.target
    prefs.codegen.target = "numpy"                   # no compilation for three neurons
    try:
        brian2.start_scope()
        defaultclock.dt = 0.01 * ms
        delays = np.array([0.0, 1.23, 7.5])
        source = SpikeGeneratorGroup(1, [0], [2.0] * ms)
        hidden = NeuronGroup(3, "z : 1")
        synapses = spike_pathway(source, hidden, "z", np.zeros(3, int), np.arange(3), "delayed",
                                 delays)
        synapses.w = [1.0, 2.0, 3.0]
        monitor = StateMonitor(hidden, "z", record=True, when="end")
        brian2.run(12 * ms)
        first = (np.asarray(monitor.z) > 0).argmax(axis=1)          # first step with z > 0
        np.testing.assert_array_equal(first, np.round((2.0 + delays) / 0.01).astype(int))
        np.testing.assert_allclose(np.asarray(monitor.z)[:, -1], [1.0, 2.0, 3.0])
    finally:
        prefs.codegen.target = target


def test_delays_and_synaptic_filter_make_the_exponential_kernel():
    """p(d) = a delta + (1 - a) Exp(T_d), a = tau_s / T_d, convolved with exp(-x/tau_s)/tau_s
    is eq. 2's exp(-x/T_d)/T_d: delay fraction at 0 is a, mean delay (1 - a) T_d."""
    from neurosim.circuits.gsemm_brian2 import stratified_delays

    delays = stratified_delays(np.random.default_rng(0), 20000, 8, 20.0, 2.0, 10.0)
    assert abs((delays == 0).mean() - 0.1) < 0.005
    assert abs(delays.mean() - 0.9 * 20.0) < 0.1
    assert delays.max() <= 200.0
    x = np.arange(0.0, 100.0, 0.05)
    kernel = np.array([np.mean(np.where(delays <= xi, np.exp(-(xi - delays) / 2.0), 0.0)) / 2.0
                       for xi in x[::100]])
    np.testing.assert_allclose(kernel, np.exp(-x[::100] / 20.0) / 20.0, rtol=0.02, atol=1e-4)


def test_spiking_twin_spikes_on_every_pathway(spiking_runs):
    out = spiking_runs["runs"][0]
    counts = {name: int(c.sum()) for name, c in out["spike_counts"].items()}
    print("spikes per population:", counts)
    for name in ("feature_on", "feature_off", "hidden_on"):
        assert counts[name] > 0
    delays = out["synapse_delays"]                   # read back from the Brian2 synapses
    assert delays.min() == 0 and np.median(delays) > 5.0 and delays.max() <= 10 * 20.0
    assert out["states"] is None


def test_spiking_twin_replays_the_rate_models_sequence(spiking_runs):
    """Settled visits (MIN_DWELL, as the protocols score them). Measured at noise seeds 1-10:
    sequence agreement 1.0 at every seed; mean transition shift 3.6-13.7 time units (mean 9.4),
    the spiking transitions coming earlier (Poisson noise lets the state leave a memory before
    the deterministic crossing). SHIFT_MAX = 20 is below one visit (25-30 time units here), so a
    missed or extra transition fails."""
    rate = spiking_runs["rate"]
    for seq in _sequences(rate):
        assert seq[:5] == [0, 1, 2, 3, 0]
    gaps = [gap_to_rate(rate, out, DURATION, min_dwell=MIN_DWELL) for out in spiking_runs["runs"]]
    for gap in gaps:
        print("spiking twin vs numpy RK4:", gap)
    for out in spiking_runs["runs"]:       # visits of at least MIN_DWELL (no one-sample leads)
        dom = dominant(out["overlaps"], 0.5)
        for b in range(2):
            assert settled_sequence(dom[:, b], out["t"], MIN_DWELL)[:4] == [0, 1, 2, 3]
    assert np.mean([g["sequence_agreement"] for g in gaps]) >= AGREEMENT_MIN
    assert np.mean([g["mean_transition_shift"] for g in gaps]) < SHIFT_MAX


def test_second_run_of_a_shape_reuses_the_build(spiking_runs):
    builds = spiking_runs["builds"]
    print("builds after each run:", builds, "build s:", spiking_runs["build_s"],
          "reruns s:", spiking_runs["rerun_s"])
    assert builds[1:] == [builds[0]] * (len(builds) - 1)
    assert len(spiking_runs["rerun_s"]) == len(SPIKING_SEEDS)
    assert max(spiking_runs["rerun_s"][1:]) < spiking_runs["build_s"]
