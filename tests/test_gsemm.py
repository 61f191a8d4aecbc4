"""Unit tests of the GSEMM rate circuit (circuits/gsemm/rate.py): each equation against a small case."""
import math

import numpy as np
import pytest
import scipy.linalg

from neurosim.circuits.gsemm.rate import (DenseGSEMM, SequenceTracker, cycle_graph, dominant,
                                          dominant_sequence, episodes_graph, float32_overflow,
                                          int_power, lagrangian_h, log_cosh, phi_from_graph,
                                          random_memories, replay_until_decided, rk4_step,
                                          score_replay, settled_sequence, sigma_h, simulate,
                                          successors)

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
    # min_dwell = 0: every sample counts (one sample per 2 time units)
    succ = np.array([1, 2, 0])
    tracker = SequenceTracker(succ, np.array([0, 0, 0]), target=4, max_dwell=5.0, min_dwell=0.0)
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


def _track(stream, min_dwell, *, target=3, max_dwell=100.0, every=0.1):
    """Feed one network's dominant-memory stream (one sample per `every`) to a tracker."""
    tracker = SequenceTracker(np.array([1, 2, 3, 0]), np.array([0]), target, max_dwell, min_dwell)
    for i, d in enumerate(stream):
        tracker.update(np.array([d]), round(i * every, 10))
    return tracker


def test_a_one_sample_lead_inside_a_switch_is_not_an_error():
    # 0 for 2.0, memory 3 leads for ONE sample, then 1 for 2.0, then 2 for 1.5 (0.1 per sample)
    stream = [0] * 20 + [3] + [1] * 20 + [2] * 15
    strict = _track(stream, min_dwell=0.0)
    assert strict.error[0] and strict.correct[0] == 0           # the old criterion: a failure
    settled = _track(stream, min_dwell=1.0)
    assert not settled.error[0]
    assert settled.correct[0] == 2 and settled.success[0] is np.False_
    # onsets: 1 at t = 2.1, 2 at t = 4.1 -> dwell of 0 = 2.1 and of 1 = 2.0
    assert settled.dwell_sum[0] == pytest.approx(4.1)
    assert settled.last_change[0] == pytest.approx(4.1)
    assert settled_sequence(stream, np.arange(len(stream)) * 0.1, 1.0) == [0, 1, 2]
    assert settled_sequence(stream, np.arange(len(stream)) * 0.1, 0.0) == [0, 3, 1, 2]


def test_a_wrong_memory_that_settles_is_an_error_and_a_broken_run_restarts():
    # 3 leads for 1.0 time unit (11 samples, t_last - t_first = 1.0): settled -> wrong transition
    assert _track([0] * 5 + [3] * 11 + [1] * 30, min_dwell=1.0).error[0]
    # 3 leads 0.9, drops below threshold for one sample, leads 0.9 again: never settles
    stream = [0] * 5 + [3] * 10 + [-1] + [3] * 10 + [1] * 30
    tracker = _track(stream, min_dwell=1.0)
    assert not tracker.error[0] and tracker.correct[0] == 1
    assert tracker.last_change[0] == pytest.approx(2.6)         # onset of memory 1


def test_stuck_counts_from_onset_to_the_next_onset():
    # memory 0 for 5.0, then 1: with max_dwell 4.9 stuck, with max_dwell 5.0 not (the next
    # onset at t = 5.0 is pending while t runs past 5.0 during its min_dwell)
    stream = [0] * 50 + [1] * 30
    assert _track(stream, min_dwell=1.0, max_dwell=4.9).stuck[0]
    tracker = _track(stream, min_dwell=1.0, max_dwell=5.0)
    assert not tracker.stuck[0] and tracker.correct[0] == 1


def test_tracker_select_keeps_the_state_of_the_kept_networks():
    tracker = SequenceTracker(np.array([1, 0]), np.array([0, 0, 0]), 5, 50.0, 1.0)
    for i in range(15):
        tracker.update(np.array([1, 0, 1 if i > 3 else 0]), 0.1 * i)
    kept = tracker.select(np.array([True, False, True]))
    for name in SequenceTracker.STATE:
        np.testing.assert_array_equal(getattr(kept, name), getattr(tracker, name)[[0, 2]])
    np.testing.assert_array_equal(kept.correct, [1, 1])


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


def test_delayed_overlaps_integrate_exactly_like_the_delay_line():
    # (V_f, q = Xi^T V_d) with T_d dq/dt = Xi^T tanh V_f - q is the same RK4 as (V_f, V_d)
    rng = np.random.default_rng(6)
    K = 6
    xi = random_memories(rng, 2, 30, K)
    net = DenseGSEMM(xi, phi_from_graph(cycle_graph(range(K))), alpha_s=1.0,
                     alpha_c=np.array([1.2, 2.0]), degree=3)
    vf, _ = net.cue_state(2)
    vd = 0.5 * np.tanh(rng.standard_normal(vf.shape))
    q = net.delayed_overlaps(vd)
    np.testing.assert_allclose(q, np.einsum("gik,gai->gak", xi, vd))      # Xi^T V_d by hand
    _, dq = net.derivatives_q(vf, q)
    np.testing.assert_allclose(dq, (np.einsum("gik,gai->gak", xi, np.tanh(vf)) - q) / net.T_d)
    paper, fast = (vf, vd), (vf, q)
    for _ in range(300):
        paper, fast = net.rk4_step(*paper, 0.05), net.rk4_step_q(*fast, 0.05)
    scale = np.abs(paper[0]).max()
    np.testing.assert_allclose(fast[0], paper[0], rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(fast[1], net.delayed_overlaps(paper[1]), rtol=0, atol=1e-9)


@pytest.mark.parametrize("graph", ["cycle", "episodes", "dense"])
def test_delayed_drive_is_alpha_c_phi_transpose_q(graph):
    rng = np.random.default_rng(7)
    K = 7
    phi = {"cycle": phi_from_graph(cycle_graph(range(K))),
           "episodes": phi_from_graph(episodes_graph([0, 1, 2], [3, 4, 5, 6])),
           "dense": rng.random((K, K)) * (rng.random((K, K)) < 0.5)}[graph]
    net = DenseGSEMM(random_memories(rng, 3, 10, K), phi, alpha_c=np.array([0.3, 0.7]))
    q = rng.standard_normal((3, 2, K))
    expected = np.array([[0.3, 0.7]]).T[None] * np.einsum("kj,gak->gaj", phi, q)
    np.testing.assert_allclose(net.delayed_drive(q), expected, atol=1e-14)
    # groups with different cycles (the gather per group)
    phis = np.stack([phi_from_graph(cycle_graph(order), K)
                     for order in (range(K), [3, 1, 0, 6, 5, 4, 2], range(K - 1, -1, -1))])
    net = DenseGSEMM(random_memories(rng, 3, 10, K), phis, alpha_c=0.5)
    np.testing.assert_allclose(net.delayed_drive(q[:, :1]),
                               0.5 * np.einsum("gkj,gak->gaj", phis, q[:, :1]), atol=1e-14)


def test_float32_is_refused_where_v_h_to_the_n_can_overflow():
    # |V_h| <= N_f (sqrt(a_s) + a_c) = 100 * (1 + 2) = 300; drive <= 4 * 128 * 300**15 = 7.3e39
    assert float32_overflow(100, 128, 15, 1.0, 2.0) is not None
    assert "degree 15" in float32_overflow(100, 128, 15, 1.0, 2.0)
    assert float32_overflow(100, 128, 8, 1.0, 2.0) is None           # 4 * 128 * 300**8 = 3.4e22
    assert float32_overflow(100, 128, 15, 1.0, 1.0) is None           # 4 * 128 * 200**15 = 1.7e37
    assert float32_overflow(100, 128, 15, 1.0, 2.0, activation="exp") is None
    rng = np.random.default_rng(8)
    phi = phi_from_graph(cycle_graph(range(128)))
    with pytest.raises(ValueError, match="float32 would overflow"):
        DenseGSEMM(random_memories(rng, 1, 100, 128), phi, alpha_c=2.0, degree=15, dtype="float32")
    DenseGSEMM(random_memories(rng, 1, 100, 128), phi, alpha_c=2.0, degree=15)   # float64 runs


def test_the_overflow_bound_holds_along_a_run():
    # the largest |V_f| of a degree-5 replay stays below the bound's drive (peak / 4)
    rng = np.random.default_rng(9)
    K = 8
    net = DenseGSEMM(random_memories(rng, 2, 40, K), phi_from_graph(cycle_graph(range(K))),
                     alpha_c=np.array([1.5, 2.0]), degree=5)
    vf, vd = net.cue_state(0)
    out = simulate(net, vf, vd, dt=0.05, duration=100, sample_every=0.5, record_states=True)
    bound = 8 * (40 * (1 + 2.0)) ** 5                                    # K |V_h|**5
    assert np.abs(out["states"]).max() < bound
    assert np.abs(out["states"][:, 1]).max() <= 1.0                    # |V_d| <= 1


def test_float32_follows_float64():
    rng = np.random.default_rng(10)
    K = 8
    xi = random_memories(rng, 3, 100, K)
    runs = {}
    for dtype in ("float64", "float32"):
        net = DenseGSEMM(xi, phi_from_graph(cycle_graph(range(K))), alpha_c=1.5, degree=3,
                         dtype=dtype)
        vf, vd = net.cue_state(0)
        runs[dtype] = simulate(net, vf, vd, dt=0.05, duration=60, sample_every=0.5)
    assert runs["float32"]["vf"].dtype == np.float32
    gap = np.abs(runs["float32"]["overlaps"] - runs["float64"]["overlaps"]).max()
    assert gap < 1e-3
    assert (runs["float64"]["overlaps"][-1].max(-1) > 0.9).all()       # it did move on and settle


def test_int_power_returns_a_new_array():
    x = np.array([1.5, -2.0, 0.3])
    for n in range(8):
        y = int_power(x, n)
        np.testing.assert_allclose(y, x ** n)
        assert not np.shares_memory(y, x)


def test_replay_until_decided_matches_simulate_then_score():
    # the shrinking batch of replay_until_decided gives the verdicts of one plain run
    rng = np.random.default_rng(11)
    K = 5
    net = DenseGSEMM(random_memories(rng, 3, 60, K), phi_from_graph(cycle_graph(range(K))),
                     alpha_c=np.array([0.8, 1.2, 2.0]), degree=2)
    verdict = replay_until_decided(net, 0, target=2 * K, dt=0.05, max_time=600, max_dwell=100,
                                   compact_every=10)
    vf, vd = net.cue_state(0)
    out = simulate(net, vf, vd, dt=0.05, duration=600, sample_every=0.1)
    tracker = score_replay(out["overlaps"], out["t"], successors(net.phi[0]), 0, target=2 * K,
                           max_dwell=100)
    np.testing.assert_array_equal(verdict["success"], tracker.success.reshape(3, 3))
    np.testing.assert_array_equal(verdict["error"], tracker.error.reshape(3, 3))
    assert verdict["success"].any() and not verdict["success"].all()
