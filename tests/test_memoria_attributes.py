"""Appendix A: the six Hebbian attributes as hypothesis properties, and checks that can fail."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.circuits.memoria import MemoriaCircuit, MemoriaParams, random_stream
from neurosim.protocols.memoria_attributes import ATTRIBUTES, AttributeChecker

params_strategy = st.builds(
    MemoriaParams,
    n_wm=st.integers(1, 4), stm_capacity=st.integers(0, 8), n_stm_rem=st.integers(0, 4),
    n_ltm_rem=st.integers(0, 4), depth=st.integers(0, 4),
    initial_lifespan=st.floats(0.5, 6.0), alpha=st.floats(0.0, 6.0),
    ranking=st.sampled_from(["exp", "sq_l2"]), search=st.sampled_from(["paper", "reference"]),
    forget_order=st.sampled_from(["paper", "reference"]))


def run_checked(params, seed, steps=20, dim=3, circuit_class=MemoriaCircuit):
    circuit = circuit_class(params, dim, seed=seed)
    checker = AttributeChecker()
    x = random_stream(np.random.default_rng(seed), steps, params.n_wm, dim, scale=1.5)
    for row in x:
        checker.step(circuit, row)
    return checker.totals, circuit


@settings(max_examples=25, deadline=None)
@given(params=params_strategy, seed=st.integers(0, 2**16))
def test_six_attributes_hold_on_any_stream(params, seed):
    totals, circuit = run_checked(params, seed)
    for name in ATTRIBUTES:
        assert totals[name][1] == 0, (name, totals[name])
    if params.initial_lifespan > 1:  # otherwise every engram dies in its first step
        assert totals["locality"][0] > 0


@settings(max_examples=25, deadline=None)
@given(params=params_strategy, seed=st.integers(0, 2**16))
def test_weights_bounded_and_stores_within_capacity(params, seed):
    circuit = MemoriaCircuit(params, 3, seed=seed)
    for row in random_stream(np.random.default_rng(seed), 20, params.n_wm, 3):
        reminded = circuit.step(row)
        assert len(set(reminded.ids)) == len(reminded.ids)
        assert reminded.n_stm <= params.n_stm_rem
        assert len(reminded.ltm_ids) <= max(params.n_ltm_rem, 0)
        assert len(circuit.stm) <= params.stm_capacity
        assert not circuit.wm
        for u, v, c in circuit.graph.edges(data="count"):
            assert 0 < circuit.weight(u, v) <= 1.0
            assert c == circuit.count(v, u)  # co-firing is symmetric
        assert all(e["lifespan"] > 0 for e in circuit.engrams())


def test_the_checker_can_fail_on_a_broken_update():
    class Broken(MemoriaCircuit):
        def _fire_together(self, act):
            super()._fire_together(act)
            outsiders = [i for i in self.graph if i not in set(act)]
            if outsiders:  # wire one engram that did not fire
                self.graph.nodes[outsiders[0]]["fires"] += 1

    params = MemoriaParams(n_wm=2, stm_capacity=4, n_stm_rem=1, n_ltm_rem=1, depth=1,
                           initial_lifespan=6.0, alpha=2.0)
    totals, _ = run_checked(params, 1, circuit_class=Broken)
    assert totals["locality"][1] > 0
    assert totals["long_term_stability"][1] > 0


def test_attribute_checks_on_a_hand_built_step():
    # three engrams a, b, c; a and b fire together, c does not: E_a->b grows, E_a->c shrinks
    from neurosim.circuits.memoria import LONGTERM, SHORTTERM, Reminded

    m = MemoriaCircuit(MemoriaParams(n_wm=1, stm_capacity=4, n_stm_rem=1, n_ltm_rem=0,
                                     depth=0, initial_lifespan=5.0, alpha=1.0), 2)
    a = m.add_engram([0.0, 0.0], SHORTTERM)
    b = m.add_engram([1.0, 0.0], LONGTERM)
    c = m.add_engram([2.0, 0.0], LONGTERM)
    for i, j, n in ((a, a, 2), (a, b, 1), (b, a, 1), (a, c, 1), (c, a, 1), (b, b, 1), (c, c, 1)):
        m.set_count(i, j, n)
    checker = AttributeChecker()
    checker.history.update({(a, a): 2, (a, b): 1, (a, c): 1, (b, b): 1, (c, c): 1})
    from neurosim.protocols.memoria_attributes import snapshot

    wm = m.add_working_memory([[0.0, 0.1]])[0]
    pre = snapshot(m)
    m.memorize(Reminded([a, b], 1, m.data([a, b]), [wm], m.data([wm]), [], []), [1.0, 1.0])
    post = snapshot(m)
    for i in (wm, a, b):
        for j in (wm, a, b):
            if i <= j:
                checker.history[(i, j)] += 1
    assert m.weight(a, b) == pytest.approx(2 / 3) and m.weight(a, c) == pytest.approx(1 / 3)
    result = checker.check(pre, post, {wm, a, b})
    assert all(bad == 0 for _, bad in result.values()), result
    assert result["synaptic_depression"] == (1, 0) and result["competition"] == (1, 0)
