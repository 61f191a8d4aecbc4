"""Hand-computed cases of the modern Hopfield family: eq. 3 (continuous
states), eq. 2 (dense polynomial energy), the two-layer feature/memory network
of Krotov & Hopfield 2020, their one-shot Hebbian storage, and stability at
extreme inverse temperatures."""
import numpy as np
import pytest

from neurosim.circuits.modern_hopfield.rate import (DenseAssociativeMemory, ModernHopfield,
                                                    OneShotMemory, masked_softmax, overlaps)
from neurosim.circuits.modern_hopfield.two_layer import TwoLayerHopfield
from neurosim.events import EventStream
from neurosim.memory.patterns import random_patterns


def stored(patterns):
    """W (1, K, d) holding ``patterns`` and every neuron recruited."""
    W = np.asarray(patterns, float)[None]
    return W, np.ones(W.shape[:2], dtype=bool)


def test_masked_softmax_ignores_masked_entries_and_never_overflows():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = masked_softmax(np.array([[1e300, 1e300 - 1e290, 5.0]]), np.array([True, True, False]))
        empty = masked_softmax(np.array([[1.0, 2.0]]), np.array([False, False]))
        p_small = masked_softmax(np.array([np.log(3.0), 0.0, 7.0]), np.array([True, True, False]))
    np.testing.assert_array_equal(p, [[1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(empty, [[0.0, 0.0]])
    np.testing.assert_allclose(p_small, [0.75, 0.25, 0.0])


def test_eq3_update_by_hand():
    W, recruited = stored([[1.0, 1], [1, -1]])
    network = ModernHopfield(beta=np.log(3.0) / 2)
    # scores X xi = (1, -1); softmax(beta * scores) = (3/4, 1/4)
    new = network.update(W, recruited, np.array([[[0.0, 1.0]]]))
    np.testing.assert_allclose(new[0, 0], [1.0, 0.5])


def test_eq3_never_increases_the_energy_and_converges():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(3, 12, 20))
    recruited = np.ones((3, 12), dtype=bool)
    network = ModernHopfield(beta=0.3)
    xi = rng.normal(size=(3, 5, 20))
    energies = [network.energy(W, recruited, xi)]
    for _ in range(30):
        xi = network.update(W, recruited, xi)
        energies.append(network.energy(W, recruited, xi))
    assert np.all(np.diff(np.array(energies), axis=0) <= 1e-9)
    fixed = network.recall(W, recruited, xi)
    np.testing.assert_allclose(network.update(W, recruited, fixed), fixed, atol=1e-8)


@pytest.mark.parametrize("beta", [1e4, 1e8, 1e12])
def test_extreme_beta_is_stable_and_recalls_the_nearest_memory(beta):
    rng = np.random.default_rng(2)
    patterns = random_patterns(rng, (4, 50, 64))
    recruited = np.ones((4, 50), dtype=bool)
    recruited[:, 40:] = False                        # unrecruited neurons keep out
    query = patterns[:, :10] * np.where(rng.random((4, 10, 64)) < 0.15, -1, 1)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        modern = ModernHopfield(beta=beta).recall(patterns, recruited, query)
        two_layer = TwoLayerHopfield(beta=beta, duration=200.0).recall(patterns, recruited, query)
        energy = ModernHopfield(beta=beta).energy(patterns, recruited, modern)
    assert np.all(np.isfinite(modern)) and np.all(np.isfinite(two_layer))
    assert np.all(np.isfinite(energy))
    np.testing.assert_array_equal(modern, patterns[:, :10])
    np.testing.assert_array_equal(np.sign(two_layer), patterns[:, :10])


def test_dense_flip_gain_by_hand():
    # F(z) = z^3, patterns (1, 1, 1) and (1, -1, -1), state (1, 1, -1):
    # gain_i = sum_mu F(x_mu,i + a_mu,i) - F(-x_mu,i + a_mu,i), a = field without i
    W, recruited = stored([[1.0, 1, 1], [1, -1, -1]])
    network = DenseAssociativeMemory(degree=3, max_iterations=1)
    state = np.array([[[1.0, 1, -1]]])
    np.testing.assert_allclose(network.flip_gain(W, recruited, state)[0, 0], [4, -24, 24])
    np.testing.assert_array_equal(network.recall(W, recruited, state)[0, 0], [1, -1, 1])


@pytest.mark.parametrize("degree", [1, 2, 3, 5])
def test_dense_flip_gain_equals_the_energy_difference(degree):
    rng = np.random.default_rng(degree)
    W = random_patterns(rng, (2, 6, 7))
    recruited = np.ones((2, 6), dtype=bool)
    recruited[:, -1] = False
    W[:, -1] = 0.0
    network = DenseAssociativeMemory(degree=degree)
    s = random_patterns(rng, (2, 3, 7))
    expected = np.empty_like(s)
    for i in range(7):
        up, down = s.copy(), s.copy()
        up[..., i], down[..., i] = 1.0, -1.0
        expected[..., i] = network.energy(W, recruited, down) - network.energy(W, recruited, up)
    np.testing.assert_allclose(network.flip_gain(W, recruited, s), expected)


def test_dense_degree_two_is_the_classical_hopfield_rule_without_self_coupling():
    """Eq. 2 with F(z) = z^2 is eq. 1: the flip gain is 4 (T - K I) s, T = X^T X."""
    rng = np.random.default_rng(3)
    W = random_patterns(rng, (1, 5, 9))
    s = random_patterns(rng, (1, 4, 9))
    T = W[0].T @ W[0]
    gain = DenseAssociativeMemory(degree=2).flip_gain(W, np.ones((1, 5), bool), s)
    np.testing.assert_allclose(gain[0], 4 * s[0] @ (T - 5 * np.eye(9)))


def test_dense_recall_stops_at_a_fixed_point_or_two_cycle_and_keeps_padding():
    """F(z) = z^3, D(a) = F(a + 1) - F(a - 1) = 6 a^2 + 2. From (1, 1, -1, 1):
    h = (2, -2), gain = 32 x1 + 32 x2 = (64, 0, 64, 0) -> (1, 1, 1, 1), where
    h = (4, 0), gain = (64, 48, 64, 48): a fixed point. From (1, 1, 1, -1):
    h = (2, 2), gain = (16, -48, 16, 48) -> (1, -1, 1, 1), whose gain flips
    it back: a 2-cycle, left at its first state."""
    W, recruited = stored([[1.0, 1, 1, 1], [1, -1, 1, -1]])
    network = DenseAssociativeMemory(degree=3)
    cues = np.array([[[1.0, 1, -1, 1], [1, 1, 1, -1], [0, 0, 0, 0]]])
    np.testing.assert_allclose(network.flip_gain(W, recruited, cues[:, :2])[0],
                               [[64, 0, 64, 0], [16, -48, 16, 48]])
    out = network.recall(W, recruited, cues)
    np.testing.assert_array_equal(out[0], [[1, 1, 1, 1], [1, 1, 1, -1], [0, 0, 0, 0]])
    with pytest.raises(ValueError, match="binary"):
        network.recall(W, recruited, np.array([[[1.0, 0, 1, -1]]]))


def test_one_shot_hebbian_write_recruits_the_gated_memory_neuron():
    W = np.zeros((2, 3, 2))
    recruited = np.zeros((2, 3), dtype=bool)
    OneShotMemory.write(W, recruited, np.array([[1.0, -1], [1, 1]]), np.array([1.0, 0.0]),
                        np.array([[0, 1, 0], [0, 1, 0]]))
    np.testing.assert_array_equal(W[0], [[0, 0], [1, -1], [0, 0]])
    np.testing.assert_array_equal(W[1], 0)                  # q = 0: no plasticity
    np.testing.assert_array_equal(recruited, [[False, True, False], [False, False, False]])


def test_two_layer_step_by_hand():
    """tau_h = 0: h = W v; one memory, so f = 1 and v relaxes to it:
    v(dt) = w + (v0 - w) exp(-dt / tau_f)."""
    W, recruited = stored([[1.0, -1.0]])
    network = TwoLayerHopfield(beta=1.0, tau_f=10.0, tau_h=0.0, dt=2.0)
    v, h = network.integrate(W, recruited, np.array([[[1.0, 0.0]]]), np.zeros((1, 1, 1)), 1)
    np.testing.assert_allclose(v[0, 0], [1.0, -1.0 + np.exp(-0.2)])
    np.testing.assert_allclose(h[0, 0], [1.0])


def test_two_layer_energy_decreases_and_settles_on_an_eq3_fixed_point():
    rng = np.random.default_rng(4)
    W = random_patterns(rng, (2, 6, 16))
    recruited = np.ones((2, 6), dtype=bool)
    network = TwoLayerHopfield(beta=0.5, tau_f=10.0, tau_h=2.0, dt=0.05)
    v, h = rng.normal(size=(2, 3, 16)), np.zeros((2, 3, 6))
    energies = [network.energy(W, recruited, v, h)]
    for _ in range(100):
        v, h = network.integrate(W, recruited, v, h, 40)
        energies.append(network.energy(W, recruited, v, h))
    assert np.all(np.diff(np.array(energies), axis=0) <= 1e-9)
    modern = ModernHopfield(beta=0.5)
    np.testing.assert_allclose(modern.update(W, recruited, v), v, atol=1e-6)


def test_run_stores_one_shot_and_recalls_from_30_percent_flipped_cues():
    rng = np.random.default_rng(5)
    patterns = random_patterns(rng, (3, 8, 100))
    cues = patterns * np.where(rng.random(patterns.shape).argsort(-1).argsort(-1) < 30, -1, 1)
    stream = EventStream(x=np.concatenate([patterns, cues], 1),
                         y=np.concatenate([patterns, patterns], 1),
                         q=np.repeat([[1.0] * 8 + [0.0] * 8], 3, 0),
                         query=np.repeat([[False] * 8 + [True] * 8], 3, 0))
    for network in (ModernHopfield(beta=1.0), DenseAssociativeMemory(degree=3),
                    TwoLayerHopfield(beta=1.0)):
        y_hat = network.run(stream)
        assert np.isnan(y_hat[:, :8]).all()
        np.testing.assert_array_equal(np.sign(y_hat[:, 8:]), patterns)
    m = overlaps(patterns, np.ones((3, 8), bool), patterns)
    np.testing.assert_allclose(np.diagonal(m, axis1=1, axis2=2), 1.0)


@pytest.mark.parametrize("make", [lambda: ModernHopfield(beta=0.0),
                                  lambda: ModernHopfield(beta=np.inf),
                                  lambda: DenseAssociativeMemory(degree=0),
                                  lambda: TwoLayerHopfield(tau_f=0.0)])
def test_bad_parameters_raise(make):
    with pytest.raises(ValueError):
        make()
