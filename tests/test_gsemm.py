"""Unit tests of the GSEMM rate circuit (circuits/gsemm.py): each equation against a small case."""
import math

import numpy as np
import pytest
import scipy.linalg

from neurosim.circuits.gsemm import (DenseGSEMM, SequenceTracker, cycle_graph, dominant,
                                     dominant_sequence, episodes_graph, int_power, lagrangian_h,
                                     log_cosh, phi_from_graph, random_memories, rk4_step,
                                     sigma_h, simulate, successors)

XI = np.array([[1.0, 1.0], [1.0, -1.0]])          # N_f = 2, K = 2
PHI = np.array([[0.0, 1.0], [0.0, 0.0]])          # the transition 0 -> 1


def small(**kw):
    args = dict(alpha_s=0.25, alpha_c=0.5, T_f=2.0, T_d=10.0, degree=2)
    args.update(kw)
    return DenseGSEMM(XI, PHI, **args)


def test_rk4_matches_matrix_exponential_of_a_linear_system():
    A = np.array([[-0.3, 2.0], [-2.0, -0.3]])
    f = lambda x, y: (A[0, 0] * x + A[0, 1] * y, A[1, 0] * x + A[1, 1] * y)
    errors = []
    for dt in (0.1, 0.05):
        state = (np.array(1.0), np.array(0.0))
        for _ in range(int(round(2.0 / dt))):
            state = rk4_step(f, state, dt)
        exact = scipy.linalg.expm(2.0 * A) @ np.array([1.0, 0.0])
        errors.append(np.abs(np.array(state) - exact).max())
    assert errors[1] < 1e-5
    assert 12 < errors[0] / errors[1] < 20           # fourth order: halving dt -> error / 16


def test_feature_layer_decays_exponentially_without_coupling():
    # alpha_s = 0: T_f dV_f/dt = -V_f exactly, so V_f(t) = V_f(0) exp(-t / T_f)
    net = DenseGSEMM(XI, PHI, alpha_s=0.0, alpha_c=0.0, T_f=2.0, T_d=10.0)
    vf = np.array([[[0.7, -1.3]]])
    vd = np.zeros_like(vf)
    for _ in range(100):
        vf, vd = net.rk4_step(vf, vd, 0.01)
    np.testing.assert_allclose(vf[0, 0], [0.7 * math.exp(-0.5), -1.3 * math.exp(-0.5)], rtol=1e-9)


def test_hidden_and_derivatives_by_hand():
    net = small()
    vf = np.array([[[0.5, -0.2]]])
    vd = np.array([[[0.3, 0.1]]])
    t0, t1 = math.tanh(0.5), math.tanh(-0.2)
    # eq. 9: h_j = sqrt(a_s) sum_i xi_ij tanh(vf_i) + a_c sum_k Phi_kj sum_i xi_ik vd_i
    h0 = 0.5 * (t0 + t1) + 0.5 * 0.0
    h1 = 0.5 * (t0 - t1) + 0.5 * (0.3 + 0.1)         # memory 1 gets memory 0's delayed signal
    np.testing.assert_allclose(net.hidden(vf, vd)[0, 0], [h0, h1])
    # eq. 10 with sigma_h = x**2: T_f dvf_i = sqrt(a_s) sum_j xi_ij h_j**2 - vf_i
    dvf, dvd = net.derivatives(vf, vd)
    np.testing.assert_allclose(dvf[0, 0], [(0.5 * (h0 ** 2 + h1 ** 2) - 0.5) / 2.0,
                                           (0.5 * (h0 ** 2 - h1 ** 2) + 0.2) / 2.0])
    np.testing.assert_allclose(dvd[0, 0], [(t0 - 0.3) / 10.0, (t1 - 0.1) / 10.0])


def test_energy_and_F_G_by_hand():
    net = small()
    vf = np.array([[[0.5, -0.2]]])
    vd = np.array([[[0.3, 0.1]]])
    h = net.hidden(vf, vd)[0, 0]
    feature = sum(v * math.tanh(v) - math.log(math.cosh(v)) for v in (0.5, -0.2))
    assert net.energy(vf, vd)[0, 0] == pytest.approx(feature - (h[0] ** 3 + h[1] ** 3) / 3)
    dvf, dvd = net.derivatives(vf, vd)
    F, G = net.energy_rates(vf, vd)
    F_hand = -2.0 * sum(dvf[0, 0, i] ** 2 * (1 - math.tanh(v) ** 2) for i, v in enumerate((0.5, -0.2)))
    # G = -a_c sigma_h(h)^T Phi^T Xi^T dVd: only memory 1 receives (from memory 0)
    G_hand = -0.5 * h[1] ** 2 * (dvd[0, 0, 0] + dvd[0, 0, 1])
    assert F[0, 0] == pytest.approx(F_hand)
    assert G[0, 0] == pytest.approx(G_hand)


@pytest.mark.parametrize("activation,degree", [("poly", 1), ("poly", 3), ("exp", 1)])
def test_dE_dt_equals_F_plus_G_along_a_trajectory(activation, degree):
    rng = np.random.default_rng(1)
    K = 5
    xi = random_memories(rng, 3, 20, K)
    net = DenseGSEMM(xi, phi_from_graph(cycle_graph(range(K))), alpha_s=0.05 if degree == 1 else 0.002,
                     alpha_c=0.1, T_d=5.0, degree=degree, activation=activation, beta=2.0)
    vf = 0.3 * rng.standard_normal((3, 1, 20))
    vd = 0.3 * rng.standard_normal((3, 1, 20))
    dt = 1e-4
    e0 = net.energy(vf, vd)
    F, G = net.energy_rates(vf, vd)
    vf1, vd1 = net.rk4_step(vf, vd, dt)
    vfm, vdm = net.rk4_step(vf, vd, -dt)
    numeric = (net.energy(vf1, vd1) - net.energy(vfm, vdm)) / (2 * dt)
    np.testing.assert_allclose(numeric, F + G, rtol=1e-5, atol=1e-8 * np.abs(e0).max())
    assert (F <= 0).all()                                      # eq. 7


def test_energy_non_increasing_in_the_adiabatic_limit():
    rng = np.random.default_rng(2)
    K = 6
    net = DenseGSEMM(random_memories(rng, 4, 40, K), phi_from_graph(cycle_graph(range(K))),
                     alpha_s=0.05, alpha_c=0.3, T_d=1e7, degree=1)
    vf = rng.standard_normal((4, 1, 40))
    vd = np.tile(np.tanh(rng.standard_normal((1, 1, 40))), (4, 1, 1))
    energies = []
    for _ in range(2000):
        energies.append(net.energy(vf, vd))
        vf, vd = net.rk4_step(vf, vd, 0.01)
    rises = np.diff(np.array(energies), axis=0)
    assert rises.max() <= 1e-9 * np.abs(energies).max()
    assert rises.min() < -1e-3                                 # it does move
    # ... while with a fast delay (T_d = 1) the G term makes the energy rise somewhere
    fast = DenseGSEMM(net.xi, net.phi[0], alpha_s=0.05, alpha_c=0.3, T_d=1.0)
    vf, vd = fast.cue_state(0)
    e = [fast.energy(*state) for state in [(vf, vd)]]
    for _ in range(3000):
        vf, vd = fast.rk4_step(vf, vd, 0.01)
        e.append(fast.energy(vf, vd))
    assert np.diff(np.array(e), axis=0).max() > 0


def test_fixed_point_finder_lands_on_a_stationary_low_energy_state():
    rng = np.random.default_rng(3)
    K = 4
    net = DenseGSEMM(random_memories(rng, 2, 50, K), phi_from_graph(cycle_graph(range(K))),
                     alpha_s=1.0, alpha_c=0.0, degree=3)
    vf0 = net.xi[:, None, :, 2] * 0.3 + 0.2 * rng.standard_normal((2, 1, 50))
    vd = np.zeros_like(vf0)
    vf, converged = net.fixed_point(vf0, vd)
    assert converged.all()
    assert (net.energy(vf, vd) < net.energy(vf0, vd)).all()
    assert np.abs(net.energy_gradient(vf, vd)).max() < 1e-4 * np.abs(vf).max()
    np.testing.assert_array_equal(net.overlaps(vf).argmax(-1), [[2], [2]])   # nearest memory


def test_episode_graph_to_phi_and_successors():
    phi = phi_from_graph(episodes_graph([0, 1, 2], [3, 4, 5, 6]))
    expected = np.zeros((7, 7))
    for k, j in [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 6), (6, 3)]:
        expected[k, j] = 1
    np.testing.assert_array_equal(phi, expected)
    np.testing.assert_array_equal(successors(phi), [1, 2, 0, 4, 5, 6, 3])
    np.testing.assert_array_equal(successors(phi_from_graph(cycle_graph([0, 1]), 3)), [1, 0, -1])


def test_activations_are_gradients_of_their_lagrangians():
    x = np.array([[1.3, -0.7, 0.2]])
    eps = 1e-6
    for activation, degree in [("poly", 1), ("poly", 4), ("poly", 7), ("exp", 1)]:
        grad = [(lagrangian_h(x + eps * e, activation, degree, 1.5)
                 - lagrangian_h(x - eps * e, activation, degree, 1.5)) / (2 * eps)
                for e in np.eye(3)]
        np.testing.assert_allclose(np.ravel(grad), sigma_h(x, activation, degree, 1.5)[0], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(int_power(x, 5), x ** 5)
    np.testing.assert_allclose(log_cosh(np.array([0.3, -800.0])), [math.log(math.cosh(0.3)), 800 - math.log(2)])


def test_batch_equals_networks_run_one_by_one():
    rng = np.random.default_rng(4)
    K = 5
    xi = random_memories(rng, 3, 30, K)
    phi = phi_from_graph(cycle_graph(range(K)))
    alphas = np.array([0.1, 0.3])
    batch = DenseGSEMM(xi, phi, alpha_s=0.05, alpha_c=alphas, degree=2)
    vf, vd = batch.cue_state(1)
    for _ in range(50):
        vf, vd = batch.rk4_step(vf, vd, 0.01)
    for g in range(3):
        for a in range(2):
            one = DenseGSEMM(xi[g], phi, alpha_s=0.05, alpha_c=alphas[a], degree=2)
            v1, d1 = one.cue_state(1)
            for _ in range(50):
                v1, d1 = one.rk4_step(v1, d1, 0.01)
            np.testing.assert_allclose(vf[g, a], v1[0, 0], rtol=1e-12, atol=1e-12)


def test_sequence_tracker_counts_transitions_errors_and_stuck():
    succ = np.array([1, 2, 0])
    tracker = SequenceTracker(succ, np.array([0, 0, 0]), target=4, max_dwell=5.0)
    streams = np.array([[0, 1, 2, 0, 1, 1],      # 4 correct -> success
                        [0, 1, -1, 0, 0, 0],     # 1 -> 0 is wrong
                        [0, 0, 0, 0, 0, 0]])     # never moves -> stuck after t > 5
    for t, dom in enumerate(streams.T):
        tracker.update(dom, 2.0 * t)
    np.testing.assert_array_equal(tracker.success, [True, False, False])
    np.testing.assert_array_equal(tracker.error, [False, True, False])
    np.testing.assert_array_equal(tracker.stuck, [False, False, True])
    assert dominant_sequence([-1, 3, 3, -1, 3, 4]) == [3, 4]
    np.testing.assert_array_equal(dominant(np.array([[0.2, 0.9], [0.4, 0.3]]), 0.5), [1, -1])


def test_simulate_records_and_replays_a_cycle():
    rng = np.random.default_rng(5)
    K = 4
    net = DenseGSEMM(random_memories(rng, 2, 100, K), phi_from_graph(cycle_graph(range(K))),
                     alpha_s=1.0, alpha_c=1.5, degree=4)
    vf, vd = net.cue_state(0)
    out = simulate(net, vf, vd, dt=0.05, duration=200, sample_every=0.5)
    assert out["overlaps"].shape == (401, 2, K)
    for b in range(2):
        seq = dominant_sequence(dominant(out["overlaps"][:, b], 0.5))
        assert seq[:6] == [0, 1, 2, 3, 0, 1]
