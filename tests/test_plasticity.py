"""Hand-computed 3x3 cases of the three-factor rule (Tyulmankov et al. 2021)
and properties of the gates."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from neurosim.memory.gates import gate_probability, make_gates, random_gates, sequential_gates
from neurosim.memory.plasticity import gated_update, learning_rate, passive_update, update_stability

K0 = np.array([[[1.0, -1, 1], [0, 0, 0], [1, 1, 1]]])
X = np.array([[1.0, 1, -1]])


def test_learning_rate_eq8_eq17():
    eta = learning_rate(np.array([2.0]), np.array([[0, 1, 1]]), np.array([[0, 0, 1.0]]))
    np.testing.assert_array_equal(eta, [[0, 2, 0]])


def test_key_write_eq9_full_rate():
    eta = learning_rate(np.array([1.0]), np.array([[0, 1, 0]]))
    K1 = K0.copy()
    gated_update(K1, eta, X[:, None, :], axis=1)
    np.testing.assert_array_equal(K1[0], [[1, -1, 1], [1, 1, -1], [1, 1, 1]])


def test_key_write_eq9_half_rate():
    eta = learning_rate(np.array([0.5]), np.array([[1, 0, 0]]))
    K1 = K0.copy()
    gated_update(K1, eta, X[:, None, :], axis=1)
    np.testing.assert_allclose(K1[0], [[1, 0, 0], [0, 0, 0], [1, 1, 1]])


def test_value_write_eq11_gated_hebbian():
    h_new = np.exp([-1.0, 3, 1]) / np.exp([-1.0, 3, 1]).sum()   # softmax(K1 x) by hand
    y = np.array([[1.0, -1, 1]])
    delta = y[:, :, None] * h_new[None, None, :]
    V1 = np.zeros((1, 3, 3))
    gated_update(V1, np.array([[0, 1.0, 0]]), delta, axis=2)
    expected = np.zeros((3, 3))
    expected[:, 1] = np.array([1, -1, 1]) * 0.8668133
    np.testing.assert_allclose(V1[0], expected, atol=1e-6)


def test_value_write_eq16_passive_decay():
    delta = np.full((1, 3, 3), 2.0)
    V1 = passive_update(np.ones((1, 3, 3)), np.array([1.0]), 0.5, delta, rate=0.25)
    np.testing.assert_allclose(V1, 0.5 + 0.5)
    unchanged = passive_update(np.ones((1, 3, 3)), np.array([0.0]), 0.5, delta)
    np.testing.assert_array_equal(unchanged, 1.0)
    salient = passive_update(np.ones((1, 3, 3)), np.array([10.0]), 0.5, delta, rate=0.25)
    np.testing.assert_allclose(salient, V1)                    # q > 1 counts as 1


def test_flashbulb_stability_eq17():
    stable = np.zeros((1, 3))
    eta = learning_rate(np.array([10.0]), np.array([[0, 1, 0]]), stable)
    K1 = K0.copy()
    gated_update(K1, eta, X[:, None, :], axis=1)
    np.testing.assert_array_equal(K1[0, 1], X[0])          # rate clipped to 1: exact write
    stable = update_stability(stable, eta)
    np.testing.assert_array_equal(stable, [[0, 1, 0]])
    eta2 = learning_rate(np.array([1.0]), np.array([[0, 1, 0]]), stable)
    K2 = K1.copy()
    gated_update(K2, eta2, -X[:, None, :], axis=1)
    np.testing.assert_array_equal(K2, K1)                   # the stable slot is protected


@settings(max_examples=50, deadline=None)
@given(arrays(float, (2, 4, 3), elements=st.floats(-5, 5)),
       arrays(float, (2, 4), elements=st.sampled_from([0.0, 1.0])),
       arrays(float, (2, 1, 3), elements=st.floats(-1, 1)))
def test_no_weight_change_when_q_is_zero(K, gate, x):
    eta = learning_rate(np.zeros(2), gate)
    K1 = K.copy()
    gated_update(K1, eta, x, axis=1)
    np.testing.assert_array_equal(K1, K)
    np.testing.assert_array_equal(passive_update(K, np.zeros(2), 0.9, K + 1), K)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 4), st.integers(1, 60), st.integers(1, 30))
def test_sequential_gates_select_exactly_one_slot(batch, steps, N):
    gates = sequential_gates(batch, steps, N)
    assert gates.shape == (batch, steps, N)
    np.testing.assert_array_equal(gates.sum(axis=2), 1)
    np.testing.assert_array_equal(gates[0].argmax(axis=1), np.arange(steps) % N)


@settings(max_examples=30, deadline=None)
@given(arrays(float, (3, 5, 4), elements=st.floats(-1, 1)),
       arrays(float, (3, 5), elements=st.floats(0, 3)),
       arrays(float, (3, 1, 4), elements=st.floats(-1, 1)))
def test_gated_weights_stay_bounded(K, q, x):
    """A convex update keeps every weight within the range of old weights and inputs."""
    eta = learning_rate(q[:, 0], np.ones((3, 5)))
    gated_update(K, eta, x, axis=1)
    assert np.all(np.abs(K) <= 1 + 1e-12)


def test_random_gates_rate_and_reproducibility():
    a = random_gates(np.random.default_rng(3), 4, 500, 40, 0.1)
    b = random_gates(np.random.default_rng(3), 4, 500, 40, 0.1)
    np.testing.assert_array_equal(a, b)
    assert abs(a.mean() - 0.1) < 0.01


def test_gate_probability_per_N_and_errors():
    assert gate_probability("4/N", 40) == 0.1
    assert gate_probability(0.3, 40) == 0.3
    with pytest.raises(ValueError):
        random_gates(np.random.default_rng(0), 1, 1, 3, 1.5)
    with pytest.raises(ValueError):
        make_gates("bogus", np.random.default_rng(0), 1, 1, 3)


# --------------------------------------------------------------- the declared rule (eq. 12-16)
def test_rule_target_linear_transfers_eq14():
    """Delta_ij = (a_g post_i + b_g)(a_f pre_j + b_f), by hand for a 2 x 3 case."""
    from neurosim.memory.plasticity import ThreeFactorRule

    rule = ThreeFactorRule(pre_slope=0.5, pre_offset=0.2, post_slope=0.3, post_offset=1.0)
    pre, post = np.array([[1.0, -1.0, 0.0]]), np.array([[2.0, -1.0]])
    f, g = np.array([0.7, -0.3, 0.2]), np.array([1.6, 0.7])
    np.testing.assert_allclose(rule.target(pre, post)[0], np.outer(g, f))


def test_rule_gated_update_eq15_with_rate_scale_eq12():
    """eta = rate q gamma = 0.5 on neuron 1 only: row 1 moves half-way to g f^T."""
    from neurosim.memory.plasticity import ThreeFactorRule

    rule = ThreeFactorRule(rate=0.5, pre_slope=1.0, pre_offset=0.0, post_slope=0.0,
                           post_offset=2.0)
    K = K0.copy()
    rule.update(K, X, None, np.array([1.0]), np.array([[0, 1.0, 0]]))
    expected = K0[0].copy()
    expected[1] = 0.5 * expected[1] + 0.5 * 2.0 * X[0]
    np.testing.assert_allclose(K[0], expected)


def test_rule_passive_update_eq16():
    """V <- lambda V + q rate g(y) f(h)^T for every synapse; q = 0 leaves V alone."""
    from neurosim.memory.plasticity import hebbian_rule

    rule = hebbian_rule(passive=True, decay=0.5, rate=0.25)
    V = np.ones((1, 2, 3))
    h, y = np.array([[0.2, 0.3, 0.5]]), np.array([[1.0, -1.0]])
    out = rule.update(V, h, y, np.array([1.0]))
    np.testing.assert_allclose(out[0], 0.5 + 0.25 * np.outer([1, -1], [0.2, 0.3, 0.5]))
    np.testing.assert_array_equal(rule.update(V, h, y, np.array([0.0])), V)


def test_hand_designed_rules_are_special_cases():
    """pre-only key rule = eq. 9, Hebbian value rule = eq. 11, slot rule sets the column to y."""
    from neurosim.memory.plasticity import hebbian_rule, pre_only_rule, slot_rule

    eta = np.array([[0, 1.0, 0]])
    K_rule, K_ref = K0.copy(), K0.copy()
    pre_only_rule().update(K_rule, X, None, np.array([1.0]), eta)
    gated_update(K_ref, eta, X[:, None, :], axis=1)
    np.testing.assert_array_equal(K_rule, K_ref)
    h, y = np.array([[0.1, 0.7, 0.2]]), np.array([[1.0, -1.0, 1.0]])
    V_rule, V_ref = np.ones((1, 3, 3)), np.ones((1, 3, 3))
    hebbian_rule().update(V_rule, h, y, np.array([1.0]), eta, hidden_axis=2)
    gated_update(V_ref, eta, y[:, :, None] * h[:, None, :], axis=2)
    np.testing.assert_array_equal(V_rule, V_ref)
    V_slot = np.zeros((1, 3, 3))
    slot_rule().update(V_slot, None, y, np.array([1.0]), eta, hidden_axis=2)
    np.testing.assert_array_equal(V_slot[0, :, 1], y[0])
    np.testing.assert_array_equal(np.delete(V_slot[0], 1, axis=1), 0.0)


def test_rule_refuses_missing_activity_and_bad_parameters():
    from neurosim.memory.plasticity import ThreeFactorRule, hebbian_rule

    with pytest.raises(ValueError, match="not given"):
        hebbian_rule().target(None, np.ones((1, 2)))
    with pytest.raises(ValueError, match="decay"):
        ThreeFactorRule(decay="sometimes")
    with pytest.raises(ValueError, match="lambda"):
        ThreeFactorRule(decay="passive", passive_decay=0.0)


def test_rule_from_dict_reads_back_as_dict():
    from neurosim.memory.plasticity import ThreeFactorRule, hebbian_rule

    rule = hebbian_rule(passive=True, decay=0.9, rate=0.5)
    assert ThreeFactorRule.from_dict(rule.as_dict()) == rule
    assert ThreeFactorRule.from_dict({"rate": "0.25", "post_slope": 0}).rate == 0.25
    with pytest.raises(ValueError, match="unknown rule fields: slope"):
        ThreeFactorRule.from_dict({"slope": 1.0})
    with pytest.raises(ValueError, match="lambda"):
        ThreeFactorRule.from_dict({"decay": "passive", "passive_decay": 1.5})
