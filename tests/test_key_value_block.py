"""The key-value memory's block write (all learning rates 0 or 1) equals its
step-by-step write (eq. 9-11)."""
import numpy as np
import pytest

from neurosim.circuits.key_value.rate import KeyValueMemory
from neurosim.events import EventStream
from neurosim.memory.gates import make_gates
from neurosim.memory.patterns import random_patterns


def stepwise(memory, state, x, y, q, gate):
    for t in range(x.shape[1]):
        memory.write(state, x[:, t], y[:, t], q[:, t], gate[:, t])


@pytest.mark.parametrize("policy", ["sequential", "random"])
@pytest.mark.parametrize("L", [3, 9, 25])                    # L < N (rows per step) and L >= N
@pytest.mark.parametrize("value_write, beta", [("gated", 1.0), ("gated", 4.0), ("slot", 1.0)])
def test_block_write_equals_step_writes(policy, L, value_write, beta):
    rng = np.random.default_rng(L)
    B, N, d, m = 5, 8, 6, 4
    memory = KeyValueMemory(N, beta=beta, value_write=value_write)
    x, y = random_patterns(rng, (B, L, d)), random_patterns(rng, (B, L, m))
    q = (rng.random((B, L)) < 0.7) * np.where(rng.random((B, L)) < 0.2, 10.0, 1.0)
    gate = make_gates(policy, rng, B, L, N, 0.3)
    start = memory.initial_state(B, d, m)
    start.K[:] = rng.normal(size=start.K.shape)                 # keys stored before the block
    start.V[:] = rng.normal(size=start.V.shape)
    expected, block = (memory.initial_state(B, d, m) for _ in range(2))
    for state in (expected, block):
        state.K[:], state.V[:] = start.K, start.V
    stepwise(memory, expected, x, y, q, gate)
    assert memory.writes_at_once(q, gate)
    memory.write_block(block, x, y, (q > 0)[..., None] & gate, chunk_elements=40)
    np.testing.assert_allclose(block.K, expected.K, atol=1e-12)
    np.testing.assert_allclose(block.V, expected.V, atol=1e-12)


def test_run_takes_the_block_write_only_for_binary_rates():
    memory = KeyValueMemory(4)
    gate = np.ones((1, 3, 4), dtype=bool)
    assert memory.writes_at_once(np.array([[1.0, 0.0, 10.0]]), gate)
    assert not memory.writes_at_once(np.array([[0.5, 1.0, 1.0]]), gate)      # a partial rate
    assert not KeyValueMemory(4, stability=True).writes_at_once(np.ones((1, 3)), gate)
    assert not KeyValueMemory(4, similarity="cosine").writes_at_once(np.ones((1, 3)), gate)


def test_run_with_block_writes_matches_run_step_by_step():
    rng = np.random.default_rng(7)
    x = random_patterns(rng, (3, 12, 5))
    stream = EventStream(x=np.concatenate([x, x * (rng.random(x.shape) > 0.5)], axis=1),
                         y=np.concatenate([x, x], axis=1),
                         q=np.concatenate([np.ones((3, 12)), np.zeros((3, 12))], axis=1),
                         query=np.concatenate([np.zeros((3, 12)), np.ones((3, 12))], axis=1) > 0,
                         gate=make_gates("random", rng, 3, 24, 6, 0.4))
    fast = KeyValueMemory(6).run(stream)
    slow_memory = KeyValueMemory(6)
    slow_memory.writes_at_once = lambda q, gate: False
    np.testing.assert_allclose(fast, slow_memory.run(stream), atol=1e-12)
