"""Memoria circuit: each stage on hand-built graphs of 3-5 engrams, hand-computed."""
import math

import numpy as np
import pytest

from neurosim.circuits.memoria import (LONGTERM, SHORTTERM, WORKING, MemoriaCircuit, MemoriaError,
                                       MemoriaParams, Reminded, attention_contribution,
                                       correlation_scores, lifespan_increments, random_stream,
                                       stream_rng)


def circuit(dim=2, seed=0, **kw):
    base = dict(n_wm=1, stm_capacity=4, n_stm_rem=1, n_ltm_rem=2, depth=2,
                initial_lifespan=3.0, alpha=2.0)
    return MemoriaCircuit(MemoriaParams(**{**base, **kw}), dim, seed=seed)


# ---------------------------------------------------------------- section 3.1
def test_edge_weight_is_count_over_own_count():
    m = circuit()
    a, b, c = (m.add_engram([k, 0.0], LONGTERM) for k in range(3))
    m.set_count(a, a, 4)
    m.set_count(a, b, 3)
    m.set_count(b, b, 6)
    m.set_count(b, a, 3)
    assert m.weight(a, b) == pytest.approx(3 / 4)
    assert m.weight(b, a) == pytest.approx(3 / 6)
    assert m.weight(a, c) == 0.0
    assert m.weight(c, a) == 0.0  # c never fired
    assert m.weight(a, a) == 1.0
    assert not m.graph.has_edge(a, c)  # sparse: no zero-count edges


# ---------------------------------------------------------------- section 3.2
def test_correlation_scores_hand_computed():
    wm = np.array([[0.0, 0.0], [1.0, 0.0]])
    key = np.array([[0.0, 1.0]])  # squared distances 1 and 2
    paper = correlation_scores(wm, key, "exp")
    assert math.exp(paper[0]) == pytest.approx((math.exp(-1) + math.exp(-2)) / 2)
    assert correlation_scores(wm, key, "sq_l2")[0] == pytest.approx(-1.5)


def test_log_space_score_separates_engrams_that_underflow():
    wm = np.zeros((1, 1))
    keys = np.array([[40.0], [41.0]])  # exp(-1600) underflows to 0 in float64
    scores = correlation_scores(wm, keys, "exp")
    assert scores[0] > scores[1]
    assert scores[0] == pytest.approx(-1600.0)


def test_remind_stm_top_by_paper_and_by_reference_ranking():
    # WM at (0,0) and (10,0). STM a=(0,0): d^2 = 0, 100 -> mean exp ~ 1/2, mean d^2 = 50.
    # STM b=(5,0): d^2 = 25, 25 -> mean exp = e^-25, mean d^2 = 25. Paper picks a, reference b.
    for ranking, expected in (("exp", 0), ("sq_l2", 1)):
        m = circuit(n_wm=2, ranking=ranking)
        a = m.add_engram([0.0, 0.0], SHORTTERM)
        b = m.add_engram([5.0, 0.0], SHORTTERM)
        m.add_engram([30.0, 0.0], SHORTTERM)
        m.add_working_memory([[0.0, 0.0], [10.0, 0.0]])
        rem = m.remind()
        assert rem.stm_ids == [(a, b)[expected]]
        assert rem.ltm_ids == []


def hand_graph(seed=0, **kw):
    """STM s -> LTM l1 (2), l2 (3), l3 (1); l2 -> l1 (1), l3 (2); l3 -> l1 (1), l4 (1).

    Data: l1 nearest the WM at the origin, then l3, l2, l4.
    """
    m = circuit(seed=seed, **kw)
    l1 = m.add_engram([0.1, 0.0], LONGTERM)
    l2 = m.add_engram([0.4, 0.0], LONGTERM)
    l3 = m.add_engram([0.2, 0.0], LONGTERM)
    l4 = m.add_engram([0.9, 0.0], LONGTERM)
    s = m.add_engram([0.0, 0.05], SHORTTERM)
    for node, fires in ((s, 4), (l1, 3), (l2, 3), (l3, 3), (l4, 1)):
        m.set_count(node, node, fires)
    for (i, j), c in {(s, l1): 2, (s, l2): 3, (s, l3): 1, (l2, l1): 1, (l2, l3): 2,
                      (l3, l1): 1, (l3, l4): 1}.items():
        m.set_count(i, j, c)
    m.add_working_memory([[0.0, 0.0]])
    return m, (s, l1, l2, l3, l4)


def test_remind_initial_ltm_search_and_final_selection():
    m, (s, l1, l2, l3, l4) = hand_graph()
    rem = m.remind()
    # step 4: strongest edge from s is l2 (3/4); step 5: l2 -> l3 (2/3, the strongest
    # unvisited), l3 -> {l1, l4} tie (1/3 each) -> one of them by the seed.
    assert rem.init_ids == [l2]
    assert rem.found_ids[:2] == [l2, l3]
    assert len(rem.found_ids) == 3 and rem.found_ids[2] in (l1, l4)
    # step 6: top-2 of found by correlation with the WM (nearest first)
    expected = sorted(rem.found_ids, key=lambda i: np.sum(m.data([i]) ** 2))[:2]
    assert rem.ltm_ids == expected
    assert rem.stm_ids == [s]
    assert rem.ids == [s] + expected


def test_depth_limits_the_walk_and_depth_zero_keeps_only_initial():
    m, (s, l1, l2, l3, l4) = hand_graph(depth=1)
    assert m.remind().found_ids == [l2, l3]
    m, (s, l1, l2, l3, l4) = hand_graph(depth=0)
    rem = m.remind()
    assert rem.found_ids == [l2] and rem.ltm_ids == [l2]


def test_ties_are_broken_from_the_seed():
    picks = []
    for seed in range(12):
        m, (s, l1, l2, l3, l4) = hand_graph(seed=seed)
        first = m.remind().found_ids
        again, _ = hand_graph(seed=seed)
        assert again.remind().found_ids == first  # same seed, same choice
        picks.append(first[2])
    assert set(picks) == {l1, l4}  # both tied engrams are reachable


def test_paper_search_needs_an_edge():
    m = circuit()
    m.add_engram([0.0, 0.0], LONGTERM)
    s = m.add_engram([0.0, 0.1], SHORTTERM)
    m.add_working_memory([[0.0, 0.0]])
    rem = m.remind()
    assert rem.ids == [s] and rem.init_ids == [] and rem.found_ids == []


def test_reference_search_quirks_on_a_hand_graph():
    # Unreached LTM engrams can be found: every STM slot (also the non-reminded one)
    # yields a start, a path steps through count-0 engrams (oldest first), and a
    # dead end puts a zero vector into the final ranking.
    m = circuit(search="reference", ranking="sq_l2", n_stm_rem=1, n_ltm_rem=3, depth=3)
    l1 = m.add_engram([3.0, 0.0], LONGTERM)
    l2 = m.add_engram([2.0, 0.0], LONGTERM)
    far = m.add_engram([50.0, 0.0], SHORTTERM)
    near = m.add_engram([0.1, 0.0], SHORTTERM)
    m.set_count(near, l1, 1)
    m.add_working_memory([[0.0, 0.0]])
    rem = m.remind()
    assert rem.stm_ids == [near]
    assert set(rem.found_ids) == {l1, l2}
    # the zero vector (distance 0) outranks both, so only 2 of the 3 places hold engrams
    assert rem.ltm_ids == [l2, l1]
    assert far not in rem.ids


def test_reference_search_with_empty_ltm_reminds_the_oldest_engram():
    m = circuit(search="reference", n_stm_rem=1)
    old = m.add_engram([9.0, 9.0], SHORTTERM)
    m.add_engram([0.0, 0.1], SHORTTERM)
    m.add_working_memory([[0.0, 0.0]])
    rem = m.remind()
    assert rem.ltm_ids == [old]
    paper = circuit(n_stm_rem=1)
    paper.add_engram([9.0, 9.0], SHORTTERM)
    paper.add_engram([0.0, 0.1], SHORTTERM)
    paper.add_working_memory([[0.0, 0.0]])
    assert paper.remind().ltm_ids == []


# ---------------------------------------------------------------- section 3.3-3.4
def test_default_exploit_is_mean_attention():
    wm = np.array([[0.0, 0.0]])
    rem = np.array([[1.0, 0.0], [0.0, 2.0]])  # logits -1, -4
    w = attention_contribution(wm, rem)
    assert w == pytest.approx([1 / (1 + math.exp(-3)), math.exp(-3) / (1 + math.exp(-3))])
    assert lifespan_increments([1.0, 3.0], 2.0) == pytest.approx([1.0, 3.0])
    assert lifespan_increments([0.0, 0.0], 2.0) == pytest.approx([0.0, 0.0])


def test_memorize_counts_lifespans_and_moves():
    m = circuit(stm_capacity=1, alpha=2.0)
    ltm = m.add_engram([0.0, 1.0], LONGTERM, lifespan=1.5)
    stm = m.add_engram([1.0, 0.0], SHORTTERM, lifespan=2.0)
    idle = m.add_engram([5.0, 5.0], LONGTERM, lifespan=1.0)
    m.set_count(stm, ltm, 2)
    wm = m.add_working_memory([[0.0, 0.0]])[0]
    rem = Reminded(ids=[stm, ltm], n_stm=1, data=m.data([stm, ltm]), wm_ids=[wm],
                   wm_data=m.data([wm]), init_ids=[ltm], found_ids=[ltm])
    out = m.memorize(rem, [1.0, 3.0])  # Inc = w / 4 * 2 * 2 = [1, 3]
    assert m.lifespan(stm) == pytest.approx(2.0 + 1.0 - 1.0)
    assert m.lifespan(ltm) == pytest.approx(1.5 + 3.0 - 1.0)
    assert m.lifespan(wm) == pytest.approx(3.0 - 1.0)
    assert out["removed"] == [idle] and idle not in m.graph
    assert m.count(stm, ltm) == 3 and m.count(ltm, stm) == 1
    assert m.count(wm, stm) == m.count(stm, wm) == m.count(wm, ltm) == 1
    assert [m.count(i, i) for i in (wm, stm, ltm)] == [1, 1, 1]
    # WM -> STM, the oldest STM engram beyond capacity 1 -> LTM
    assert out["to_ltm"] == [stm]
    assert m.kind(stm) == LONGTERM and m.kind(wm) == SHORTTERM
    assert list(m.stm) == [wm] and list(m.ltm) == [ltm, stm]
    assert m.age(wm) == 1 and m.step_count == 1


def test_forget_order_paper_versus_reference():
    results = {}
    for order in ("paper", "reference"):
        m = circuit(stm_capacity=2, forget_order=order)
        keep = m.add_engram([0.0, 0.0], SHORTTERM, lifespan=5.0)
        m.add_engram([1.0, 0.0], SHORTTERM, lifespan=1.0)  # dies this step
        wm = m.add_working_memory([[2.0, 0.0]])[0]
        empty = Reminded([], 0, np.zeros((0, 2)), [wm], m.data([wm]), [], [])
        m.memorize(empty, [])
        results[order] = (list(m.stm), list(m.ltm), keep)
    stm, ltm, keep = results["paper"]
    assert stm == [keep, stm[1]] and ltm == []        # removal first: room for the new one
    stm, ltm, keep = results["reference"]
    assert ltm == [keep] and len(stm) == 1            # the dying engram pushed keep out


def test_wm_engrams_start_with_the_initial_lifespan_and_type():
    m = circuit(n_wm=2, initial_lifespan=7.0)
    ids = m.add_working_memory(np.ones((2, 2)))
    assert [m.kind(i) for i in ids] == [WORKING, WORKING]
    assert [m.lifespan(i) for i in ids] == [7.0, 7.0]
    with pytest.raises(MemoriaError, match="already filled"):
        m.add_working_memory(np.ones((2, 2)))


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("bad, message", [
    (dict(stm_capacity=-1), "stm_capacity"), (dict(depth=-2), "depth"),
    (dict(n_stm_rem=-1), "n_stm_rem"), (dict(n_wm=0), "n_wm"),
    (dict(initial_lifespan=0.0), "initial_lifespan"), (dict(initial_lifespan=-3.0), "initial_lifespan"),
    (dict(alpha=float("nan")), "alpha"), (dict(alpha=-1.0), "alpha"),
    (dict(depth=1.5), "depth"), (dict(ranking="cosine"), "ranking"),
    (dict(search="bfs"), "search")])
def test_bad_parameters(bad, message):
    with pytest.raises(MemoriaError, match=message):
        circuit(**bad)


def test_bad_data():
    m = circuit(n_wm=2, dim=3)
    with pytest.raises(MemoriaError, match="shape"):
        m.add_working_memory(np.zeros((2, 4)))
    with pytest.raises(MemoriaError, match="n_wm"):
        m.add_working_memory(np.zeros((3, 3)))
    with pytest.raises(MemoriaError, match="NaN"):
        m.add_working_memory([[0, 0, np.nan], [0, 0, 0]])
    with pytest.raises(MemoriaError, match="lifespan"):
        m.add_engram([0, 0, 0], LONGTERM, lifespan=-1)
    with pytest.raises(MemoriaError, match="dim"):
        MemoriaCircuit(MemoriaParams(), 0)
    m.add_working_memory(np.zeros((2, 3)))
    rem = m.remind()
    with pytest.raises(MemoriaError, match="one contribution"):
        m.memorize(rem, [1.0])
    m2 = circuit(n_wm=1)
    m2.add_engram([0.0, 0.0], SHORTTERM)
    m2.add_working_memory([[0.0, 0.0]])
    rem = m2.remind()
    with pytest.raises(MemoriaError, match="finite"):
        m2.memorize(rem, [np.nan])


# ---------------------------------------------------------------- state
def run(m, x):
    return [m.step(row).ids for row in x]


@pytest.mark.parametrize("search", ["paper", "reference"])
def test_save_load_resumes_exactly(tmp_path, search):
    params = MemoriaParams(n_wm=3, stm_capacity=6, n_stm_rem=2, n_ltm_rem=3, depth=3,
                           initial_lifespan=4.0, alpha=3.0, search=search)
    x = random_stream(stream_rng(5), 40, 3, 4)
    straight = MemoriaCircuit(params, 4, seed=9)
    expected = run(straight, x)
    first = MemoriaCircuit(params, 4, seed=9)
    got = run(first, x[:20])
    first.save(tmp_path / "state.npz")
    resumed = MemoriaCircuit.load(tmp_path / "state.npz")
    got += run(resumed, x[20:])
    assert got == expected
    assert nx_edges(resumed) == nx_edges(straight)
    assert resumed.engrams() == straight.engrams()
    assert len(straight.ltm) > 0  # the run exercised LTM


def nx_edges(m):
    return sorted(m.graph.edges(data="count"))


def test_load_rejects_foreign_file(tmp_path):
    np.savez(tmp_path / "x.npz", meta='{"format": "other"}')
    with pytest.raises(MemoriaError, match="not a neurosim"):
        MemoriaCircuit.load(tmp_path / "x.npz")


def test_edges_hold_only_counts_and_weighted_graph_exports_weights():
    m = circuit()
    a, b, c = (m.add_engram([k, 0.0], LONGTERM) for k in range(3))
    m.set_count(a, a, 4)
    m.set_count(a, b, 3)
    with pytest.raises(KeyError, match="only 'count'"):
        m.graph.add_edge(a, c, weight=0.5)
    assert dict(m.graph.edges[a, b]) == {"count": 3}
    copy = m.graph.copy()
    assert copy.edges[a, b]["count"] == 3 and copy is not m.graph
    weighted = m.weighted_graph(threshold=0.5)
    assert weighted.edges[a, b]["weight"] == pytest.approx(0.75)
    assert weighted.nodes[c]["kind"] == "long-term"
    m.set_count(b, b, 10)
    m.set_count(b, a, 3)
    assert not m.weighted_graph(threshold=0.5).has_edge(b, a)  # E = 0.3 < 0.5


def test_add_unit_edges_matches_networkx_add_edges_from():
    from neurosim.circuits.memoria import EngramGraph

    fast, slow = EngramGraph(), EngramGraph()
    for g in (fast, slow):
        g.add_nodes_from(range(5))
    pairs = [(0, 1), (1, 0), (2, 4), (4, 3)]
    fast.add_unit_edges(pairs)
    slow.add_edges_from(pairs, count=1)
    assert sorted(fast.edges(data="count")) == sorted(slow.edges(data="count"))
    assert all(set(fast.pred[n]) == set(slow.pred[n]) for n in range(5))
    assert fast.succ[0][1] is fast.pred[1][0]  # one attribute object per edge, as networkx
    fast.remove_node(1)
    assert not fast.has_edge(0, 1) and fast.number_of_edges() == 2


def test_neighbour_cache_follows_deaths_and_new_edges():
    m = circuit(depth=1, n_ltm_rem=3)
    a = m.add_engram([0.0, 0.0], LONGTERM, lifespan=10.0)
    b = m.add_engram([0.5, 0.0], LONGTERM, lifespan=0.5)   # dies at the next memorize
    s = m.add_engram([0.0, 0.1], SHORTTERM, lifespan=10.0)
    for i, j in ((s, a), (s, b), (a, b), (b, a)):
        m.set_count(i, j, 2 if j == b else 1)
    m.add_working_memory([[0.0, 0.0]])
    rem = m.remind()
    assert rem.init_ids == [b]  # strongest edge from s
    m.memorize(rem, np.zeros(len(rem.ids)))  # no contribution: no lifespan gained
    assert b not in m.graph
    m.add_working_memory([[0.0, 0.0]])
    rem = m.remind()
    assert rem.init_ids == [a] and b not in rem.found_ids  # the cache dropped the dead engram
    c = m.add_engram([0.2, 0.0], LONGTERM, lifespan=10.0)
    m.set_count(s, c, 9)
    assert m._search_paper(rem.wm_data, [s])[0] == [c]  # set_count refreshed the cache


def test_cached_neighbours_drop_a_dead_target_whose_slot_is_reused():
    m = circuit()
    x = m.add_engram([0.0, 0.0], LONGTERM)
    a = m.add_engram([1.0, 0.0], LONGTERM)
    b = m.add_engram([2.0, 0.0], LONGTERM)
    m.set_count(x, a, 1)
    m.set_count(x, b, 5)
    slots, counts = m._neighbors(x)  # cached now
    assert sorted(counts.tolist()) == [1, 5]
    freed = m._slot[b]
    m._remove([b])
    c = m.add_engram([3.0, 0.0], LONGTERM)
    assert m._slot[c] == freed  # the slot is reused by an engram x has no edge to
    slots, counts = m._neighbors(x)
    assert slots.tolist() == [m._slot[a]] and counts.tolist() == [1]
