"""Hand-computed cases of the rate circuits: key-value read/write (eq. 4-11),
Hopfield and BAM storage and recall, TVT slot memory."""
import numpy as np
import pytest

from neurosim.circuits.hopfield.rate import HebbianMemory
from neurosim.circuits.key_value.rate import KeyValueMemory, KeyValueState
from neurosim.events import EventStream, sign_accuracy


def test_kv_read_eq4_eq5():
    memory = KeyValueMemory(2)
    state = KeyValueState(K=np.array([[[1.0, 1, 0], [0, 0, 1]]]),
                          V=np.array([[[1.0, -1], [1, 1], [-1, 0]]]), stable=np.zeros((1, 2)))
    y = memory.read(state, np.array([[[1.0, 1, 1]]]))
    h = np.exp([2.0, 1.0]) / np.exp([2.0, 1.0]).sum()
    np.testing.assert_allclose(y[0, 0], [h[0] - h[1], 1.0, -h[0]])


def test_kv_write_eq9_to_eq11():
    memory = KeyValueMemory(3)
    state = KeyValueState(K=np.array([[[1.0, -1, 1], [0, 0, 0], [1, 1, 1]]]),
                          V=np.zeros((1, 3, 3)), stable=np.zeros((1, 3)))
    memory.write(state, np.array([[1.0, 1, -1]]), np.array([[1.0, -1, 1]]), np.array([1.0]),
                 np.array([[0, 1, 0]]))
    np.testing.assert_array_equal(state.K[0], [[1, -1, 1], [1, 1, -1], [1, 1, 1]])
    np.testing.assert_allclose(state.V[0, :, 1], [0.8668133, -0.8668133, 0.8668133], atol=1e-6)
    np.testing.assert_array_equal(state.V[0, :, [0, 2]], 0)


def test_kv_passive_value_write_eq16():
    memory = KeyValueMemory(2, value_write="passive", decay=0.5, value_rate=1.0)
    state = memory.initial_state(1, 2, 2)
    state.V[:] = 1.0
    memory.write(state, np.array([[1.0, 0]]), np.array([[1.0, -1]]), np.array([1.0]),
                 np.array([[1, 0]]))
    h = np.exp([1.0, 0]) / np.exp([1.0, 0]).sum()           # K = [[1, 0], [0, 0]]
    np.testing.assert_allclose(state.V[0], 0.5 + np.outer([1, -1], h))


def test_tvt_slot_write_and_cosine_read():
    memory = KeyValueMemory(2, beta=20.0, similarity="cosine", value_write="slot")
    state = memory.initial_state(1, 2, 1)
    memory.write(state, np.array([[2.0, 0]]), np.array([[1.0]]), np.array([1.0]), np.array([[1, 0]]))
    memory.write(state, np.array([[0.0, 1]]), np.array([[-1.0]]), np.array([1.0]), np.array([[0, 1]]))
    np.testing.assert_array_equal(state.K[0], [[2, 0], [0, 1]])
    np.testing.assert_array_equal(state.V[0], [[1, -1]])
    y = memory.read(state, np.array([[[1.0, 0]]]))           # cosines 1 and 0
    w = np.exp([20.0, 0]) / np.exp([20.0, 0]).sum()
    np.testing.assert_allclose(y[0, 0, 0], w[0] - w[1])


def hopfield_stream(patterns, queries, q=None):
    x = np.concatenate([patterns, queries])[None]
    T = len(patterns)
    qs = np.r_[np.ones(T) if q is None else q, np.zeros(len(queries))][None]
    query = np.r_[np.zeros(T, bool), np.ones(len(queries), bool)][None]
    return EventStream(x=x, y=x.copy(), q=qs, query=query)


def test_hopfield_storage_and_recall_by_hand():
    patterns = np.array([[1.0, 1, -1], [1, -1, 1]])
    memory = HebbianMemory()
    W = memory.store(np.zeros((1, 3, 3)), patterns[None], patterns[None], np.ones((1, 2)))
    np.testing.assert_array_equal(W[0], [[2, 0, 0], [0, 2, -2], [0, -2, 2]])
    y = memory.run(hopfield_stream(patterns, np.array([[1.0, 0, 0], [0, 1, 0]])))
    np.testing.assert_array_equal(y[0, 2:], [[1, 0, 0], [0, 1, -1]])


def test_hopfield_decay_and_gating():
    patterns = np.array([[1.0, 1, -1], [1, -1, 1], [-1, -1, -1]])
    memory = HebbianMemory(decay=0.5)
    W = memory.store(np.zeros((1, 3, 3)), patterns[None], patterns[None],
                     np.array([[1.0, 1.0, 0.0]]))
    expected = 0.5 * np.outer(patterns[0], patterns[0]) + np.outer(patterns[1], patterns[1])
    np.testing.assert_allclose(W[0], expected)


def test_hopfield_flashbulb_strength():
    memory = HebbianMemory(flashbulb_strength=50.0)
    p = np.array([[1.0, -1]])
    W = memory.store(np.zeros((1, 2, 2)), p[None], p[None], np.array([[10.0]]))
    np.testing.assert_allclose(W[0], 50 * np.outer(p[0], p[0]))


def test_bam_recall_by_hand():
    memory = HebbianMemory(bidirectional=True)
    x = np.array([[[1.0, -1, 1]]])
    y = np.array([[[1.0, -1]]])
    W = memory.store(np.zeros((1, 2, 3)), x, y, np.ones((1, 1)))
    np.testing.assert_array_equal(W[0], [[1, -1, 1], [-1, 1, -1]])
    np.testing.assert_array_equal(memory.recall(W, np.array([[[1.0, 0, 0]]]))[0, 0], [1, -1])


def test_sign_zero_counts_as_wrong():
    acc = sign_accuracy(np.array([[[0.0, 2.0]]]), np.array([[[1.0, 1.0]]]), np.array([[True]]))
    assert acc[0] == 0.5
    unscored = sign_accuracy(np.ones((2, 1, 2)), np.ones((2, 1, 2)), np.array([[True], [False]]))
    assert unscored[0] == 1.0 and np.isnan(unscored[1])


def test_kv_rejects_bad_configuration():
    with pytest.raises(ValueError):
        KeyValueMemory(0)
    with pytest.raises(ValueError):
        KeyValueMemory(3).run(hopfield_stream(np.ones((1, 3)), np.ones((1, 3))))
    with pytest.raises(ValueError):
        HebbianMemory(decay=0)
    with pytest.raises(ValueError, match="stability"):
        KeyValueMemory(3, value_write="passive", stability=True)


from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["gated", "passive", "slot"]))
def test_kv_weights_unchanged_when_q_is_zero(seed, value_write):
    rng = np.random.default_rng(seed)
    memory = KeyValueMemory(4, value_write=value_write, stability=value_write != "passive")
    state = KeyValueState(K=rng.normal(size=(3, 4, 5)), V=rng.normal(size=(3, 2, 4)),
                          stable=np.zeros((3, 4)))
    K, V = state.K.copy(), state.V.copy()
    memory.write(state, rng.normal(size=(3, 5)), rng.normal(size=(3, 2)), np.zeros(3),
                 rng.random((3, 4)) < 0.5)
    np.testing.assert_array_equal(state.K, K)
    np.testing.assert_array_equal(state.V, V)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_protocol_point_is_reproducible_for_any_seed(seed):
    from neurosim.protocol import RunContext
    from neurosim.protocols import autoassociative

    point = {"model": "kv", "gate": "random", "p": "0.2", "N": 6, "d": "N", "occlusion": 0.5,
             "occlusion_mode": "bernoulli", "seeds": 3, "T": (2, 6)}
    first = autoassociative.run_point(point, np.random.SeedSequence(seed), RunContext())
    second = autoassociative.run_point(point, np.random.SeedSequence(seed), RunContext())
    assert first == second


def test_explicit_rules_replace_the_hand_designed_ones():
    """A memory given a rule equal to the default behaves identically; a different
    value rule (anti-Hebbian, g(y) = -y) flips the readout's sign."""
    from neurosim.memory.gates import sequential_gates
    from neurosim.memory.patterns import recall_stream
    from neurosim.memory.plasticity import ThreeFactorRule, hebbian_rule, pre_only_rule

    stream = recall_stream(np.random.default_rng(0), np.array([3, 5]), 6)
    stream = stream.with_gates(sequential_gates(stream.batch, stream.steps, 6))
    default = KeyValueMemory(6).run(stream)
    explicit = KeyValueMemory(6, key_rule=pre_only_rule(), value_rule=hebbian_rule()).run(stream)
    np.testing.assert_array_equal(default, explicit)
    anti = KeyValueMemory(6, value_rule=ThreeFactorRule(post_slope=-1.0)).run(stream)
    np.testing.assert_allclose(anti, -default)
