"""Event-stream generators of appendix A."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.events import blocks
from neurosim.memory.patterns import (continual_stream, correlated_patterns, occlude, recall_stream,
                                      sequence_stream)


def test_occlude_sets_exact_fraction_to_zero():
    x = np.ones((3, 7, 40))
    out = occlude(np.random.default_rng(0), x, 0.6)
    np.testing.assert_array_equal((out == 0).sum(axis=-1), 24)


def test_occlude_bernoulli_hides_each_entry_independently():
    x = np.ones((4, 500, 40))
    hidden = occlude(np.random.default_rng(0), x, 0.6, mode="bernoulli") == 0
    assert abs(hidden.mean() - 0.6) < 0.01
    counts = hidden.sum(axis=-1)
    assert counts.min() < 24 < counts.max()                   # not a fixed count per query
    assert abs(counts.var() - 40 * 0.6 * 0.4) < 1.5            # binomial spread


def test_correlated_patterns_pairwise_convention_correlates_two_patterns_by_rho():
    x = correlated_patterns(np.random.default_rng(1), 200, 2, 200, 0.6, "pairwise")
    corr = (x[:, 0] * x[:, 1]).mean()
    assert abs(corr - 0.6) < 0.02


def test_correlated_patterns_template_convention_stores_the_template_first():
    """The paper's code: item 1 is the template, every item correlates with it
    by rho, two later items by rho^2."""
    x = correlated_patterns(np.random.default_rng(2), 200, 3, 200, 0.6)
    with_template = (x[:, :1] * x[:, 1:]).mean()
    between = (x[:, 1] * x[:, 2]).mean()
    assert abs(with_template - 0.6) < 0.02
    assert abs(between - 0.36) < 0.02


def test_recall_stream_pads_trials_of_different_length():
    stream = recall_stream(np.random.default_rng(0), np.array([2, 4]), 8)
    assert stream.steps == 8
    np.testing.assert_array_equal(stream.q[0], [1, 1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(stream.query[0], [0, 0, 0, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(stream.y[1, 4:], stream.x[1, :4])
    assert [kind for *_, kind in blocks(stream)] == ["write", "read"]


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 12), st.integers(0, 2**31))
def test_continual_stream_rules(R, seed):
    stream = continual_stream(np.random.default_rng(seed), np.array([R, R]), 10, 200)
    for b in range(2):
        queries = np.flatnonzero(stream.query[b])
        sources = queries - R
        assert np.all(sources >= 0)
        assert not np.any(stream.query[b, sources])            # a query is never queried
        np.testing.assert_array_equal(stream.y[b, queries], stream.x[b, sources])
        stored = np.flatnonzero(stream.q[b] > 0)
        np.testing.assert_array_equal(stored, sources)         # q = 1 only for tested stimuli


def test_flashbulb_stream_marks_flashbulb_queries():
    stream = continual_stream(np.random.default_rng(2), np.array([5]), 10, 300, flashbulbs=5)
    assert (stream.q == 10).sum() == 5
    np.testing.assert_array_equal(np.flatnonzero(stream.info["flashbulb"][0]),
                                  np.flatnonzero(stream.q[0] == 10) + 5)


def test_sequence_stream_layout():
    stream = sequence_stream(np.random.default_rng(0), np.array([6]), 8)
    # 5 transitions stored, prompt x_3 then recurrent recall of x_4, x_5
    np.testing.assert_array_equal(stream.q[0], [1, 1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(stream.query[0], [0, 0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(stream.feedback[0], [0, 0, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(stream.x[0, 5], stream.x[0, 3])
    np.testing.assert_array_equal(stream.y[0, 6], stream.y[0, 4])


def test_padded_stream_adds_silent_unscored_steps_and_trials():
    stream = recall_stream(np.random.default_rng(0), np.array([2, 3]), 4).with_gates(
        np.ones((2, 6, 5)))
    padded = stream.padded(3, 8)
    assert padded.x.shape == (3, 8, 4) and padded.gate.shape == (3, 8, 5)
    np.testing.assert_array_equal(padded.x[:2, :6], stream.x)
    assert not padded.q[2].any() and not padded.query[:, 6:].any() and not padded.x[:, 6:].any()
