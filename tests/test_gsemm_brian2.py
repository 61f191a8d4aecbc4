"""GSEMM Brian2 realizations (circuits/gsemm_brian2.py) against the numpy RK4, cpp_standalone.

Two small cpp_standalone builds (~20-40 s each cold): the continuous equations and the spiking
delay variant, both on a batch of 2 networks replaying a 4-memory cycle.
"""
import numpy as np
import pytest

from neurosim.circuits.gsemm import (DenseGSEMM, cycle_graph, dominant, dominant_sequence,
                                     phi_from_graph, random_memories, simulate)

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


def test_spiking_delay_variant_replays_the_cycle(batch, standalone_dir):
    net, rate = batch
    out = run_brian2(net, cue=0, dt=0.01, duration=DURATION, sample_every=0.1, spiking=True,
                     rate=50.0, device="cpp_standalone", directory=standalone_dir, seed=3)
    gap = gap_to_rate(rate, out, DURATION)
    print("spiking delay vs numpy RK4:", gap)
    for seq in _sequences(out):
        assert seq[:5] == [0, 1, 2, 3, 0]
    assert gap["mean_transition_shift"] < 5.0                # Poisson noise in V_d moves them
    assert out["states"] is None
