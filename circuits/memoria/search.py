"""Remind: rank STM engrams against working memory and search the LTM graph (sec. 3.2,
Algorithm 1), as a mixin of :class:`~neurosim.circuits.memoria.circuit.MemoriaCircuit`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np



@dataclass
class Reminded:
    """The result of one remind stage (sec. 3.2 step 7).

    ids: M_rem, STM engrams first (by rank) then LTM engrams (by rank).
    n_stm: how many of ``ids`` came from STM.
    data: their data vectors, shape (len(ids), dim).
    wm_ids, wm_data: the working memory that reminded them.
    init_ids, found_ids: M_ltm^init and M_ltm^found of the LTM search.
    kinds: the type of each reminded engram at remind time.
    """

    ids: list
    n_stm: int
    data: np.ndarray
    wm_ids: list
    wm_data: np.ndarray
    init_ids: list
    found_ids: list
    kinds: list | None = None

    @property
    def stm_ids(self) -> list:
        return self.ids[:self.n_stm]

    @property
    def ltm_ids(self) -> list:
        return self.ids[self.n_stm:]


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a_i - b_j||^2 for all pairs, shape (len(a), len(b)) (f_d^2 of sec. 3.2)."""
    diff = a[:, None, :] - b[None, :, :]
    return np.einsum("ijk,ijk->ij", diff, diff)


def correlation_scores(wm: np.ndarray, keys: np.ndarray, ranking: str = "exp") -> np.ndarray:
    """Score of each key engram against working memory (sec. 3.2 step 2).

    "exp": log C_i with C_i = (1/N_wm) sum_j exp(-||k_i - wm_j||^2), computed as a
    log-mean-exp (the same order as C_i, without underflow to ties).
    "sq_l2": (1/N_wm) sum_j -||k_i - wm_j||^2 (the reference's ranking).
    """
    if len(keys) == 0:
        return np.zeros(0)
    neg = -squared_distances(keys, wm)
    if ranking == "sq_l2":
        return neg.mean(axis=1)
    top = neg.max(axis=1, keepdims=True)
    return top[:, 0] + np.log(np.exp(neg - top).mean(axis=1))


class EngramSearch:
    """The remind stage of :class:`~neurosim.circuits.memoria.circuit.MemoriaCircuit`
    (its stores, graph and edge cache)."""

    def _top(self, scores: np.ndarray, k: int) -> np.ndarray:
        """Positions of the k largest scores, equal scores ordered by seeded random keys."""
        if k <= 0 or len(scores) == 0:
            return np.zeros(0, dtype=int)
        order = np.lexsort((self.rng.random(len(scores)), -scores))
        return order[:k]

    def _neighbors(self, source: int) -> tuple[np.ndarray, np.ndarray]:
        """(slots, counts) of the out-edges of ``source`` to living engrams; the arrays
        are cached until ``source`` fires again (edges are only added by firing)."""
        cached = self._nbr.get(source)
        if cached is None:
            succ = self.graph._succ[source]  # networkx's raw adjacency dict (hot path)
            ids = np.fromiter(succ, dtype=np.int64, count=len(succ))
            slots = np.fromiter((self._slot[j] for j in succ), dtype=np.int64, count=len(succ))
            counts = np.fromiter((a.count for a in succ.values()), dtype=np.int64, count=len(succ))
            cached = self._nbr[source] = (ids, slots, counts)
        ids, slots, counts = cached
        alive = self._ids[slots] == ids  # a target that died since (its slot freed or reused)
        return (slots, counts) if alive.all() else (slots[alive], counts[alive])

    def _ltm_index(self) -> tuple[list, np.ndarray]:
        """LTM ids in creation order and an array slot -> LTM position (-1: not LTM)."""
        ltm_ids = list(self.ltm)
        position = np.full(self._capacity, -1, dtype=np.int64)
        position[[self._slot[i] for i in ltm_ids]] = np.arange(len(ltm_ids))
        return ltm_ids, position

    def _ltm_edges(self, source: int, position: np.ndarray, visited: np.ndarray | None):
        """LTM positions and counts of the edges source -> unvisited LTM engrams."""
        slots, counts = self._neighbors(source)
        pos = position[slots]
        keep = pos >= 0
        pos, counts = pos[keep], counts[keep]
        if visited is not None and len(pos):
            keep = ~visited[pos]
            pos, counts = pos[keep], counts[keep]
        return pos, counts

    def _argmax_edge(self, source: int, position: np.ndarray, visited=None) -> int | None:
        """Sec. 3.2 steps 4-5: the LTM position j (not visited) with the largest
        Count_{source,j} > 0, hence the largest E_{source->j}; ties at random."""
        pos, counts = self._ltm_edges(source, position, visited)
        if len(pos) == 0:
            return None
        tied = np.sort(pos[counts == counts.max()])
        if len(tied) == 1:
            return int(tied[0])
        return int(tied[self.rng.integers(len(tied))])

    def remind(self) -> Reminded:
        """Algorithm 1 / sec. 3.2 steps 2-7."""
        p = self.params
        wm = list(self.wm)
        wm_data = self.data(wm)
        stm = list(self.stm)
        stm_scores = correlation_scores(wm_data, self.data(stm), p.ranking)
        stm_rem = [stm[i] for i in self._top(stm_scores, min(p.n_stm_rem, len(stm)))]
        if p.search == "reference":
            init, found, ltm_rem = self._search_reference(wm_data, stm, set(stm_rem))
        else:
            init, found, ltm_rem = self._search_paper(wm_data, stm_rem)
        ids = stm_rem + [i for i in ltm_rem if i not in set(stm_rem)]
        return Reminded(ids=ids, n_stm=len(stm_rem), data=self.data(ids), wm_ids=wm,
                        wm_data=wm_data, init_ids=init, found_ids=found,
                        kinds=[self.kind(i) for i in ids])

    def _search_paper(self, wm_data, stm_rem):
        """Sec. 3.2 steps 4-6.

        M^0 = M_ltm^init = {argmax_{j in LTM} E_{i->j} : e_i in M_stm^rem} (edges only);
        M^k = {argmax_{j in LTM, j not in M^{found,k-1}} E_{i->j} : e_i in M^{k-1}},
        k = 1..N_depth; M_ltm^found = union of the M^k. The "depth-first search
        toward the highest edge weight" is one greedy walk per starting engram;
        the walks advance in lockstep, as the equations index them by depth k, so
        an engram found at depth k is closed to every walk from depth k + 1 on.
        Equal counts (hence equal E, same source) are broken by the seeded RNG.
        Step 6: the N_ltm_rem engrams of M_ltm^found with the highest score.
        """
        p = self.params
        ltm_ids, position = self._ltm_index()
        init: list[int] = []
        for source in stm_rem:
            target = self._argmax_edge(source, position)
            if target is not None and target not in init:
                init.append(target)
        found = list(init)
        visited = np.zeros(len(ltm_ids), dtype=bool)
        visited[init] = True
        frontier = list(init)
        for _ in range(p.depth):
            step = []
            for k in frontier:
                target = self._argmax_edge(ltm_ids[k], position, visited)
                if target is not None and target not in step:
                    step.append(target)
            if not step:
                break
            visited[step] = True
            found.extend(step)
            frontier = step
        found = [ltm_ids[k] for k in found]
        scores = correlation_scores(wm_data, self.data(found), p.ranking)
        chosen = [found[i] for i in self._top(scores, min(p.n_ltm_rem, len(found)))]
        return [ltm_ids[k] for k in init], found, chosen

    def _search_reference(self, wm_data, stm, stm_rem):
        """The reference package's search (memoria-pytorch 1.1.0,
        ``Memoria._find_initial_longterm_memory``, ``_search_longterm_memories_with_initials``,
        ``_select_final_ltms``), batch size 1; see the module docstring."""
        p = self.params
        if not stm:
            return [], [], []
        if not self.ltm:
            # the reference searches from index 0: the oldest engram alive
            if p.n_ltm_rem <= 0:
                return [], [], []
            oldest = min(self._slot)
            return [], [oldest], [oldest]
        ltm_ids, position = self._ltm_index()
        n_ltm = len(ltm_ids)
        keys = None
        if self.tie_source is not None:
            keys = np.asarray(self.tie_source(len(stm), len(self._slot)), dtype=np.float64)
        init_pos, untied = set(), []
        for slot, source in enumerate(stm):
            pos, counts = self._ltm_edges(source, position, None) if source in stm_rem else ((), ())
            if not len(pos):  # an all-zero row (non-reminded slot, or no LTM edge): all tie
                untied.append(slot)
                continue
            row = np.zeros(n_ltm)
            row[pos] = counts
            tied = row == row.max()
            if keys is not None:
                init_pos.add(int(np.argmax(keys[slot, :n_ltm] * tied)))
            else:
                candidates = np.flatnonzero(tied)
                init_pos.add(int(candidates[self.rng.integers(len(candidates))]))
        if untied:  # each such slot starts at a uniformly random LTM engram
            picks = (np.argmax(keys[untied, :n_ltm], axis=1) if keys is not None
                     else self.rng.integers(n_ltm, size=len(untied)))
            init_pos.update(int(k) for k in picks)
        init = sorted(init_pos)
        visited = np.zeros(n_ltm, dtype=bool)
        visited[init] = True
        paths = list(init)
        found_pos = set(init)
        dead_end = False
        for _ in range(p.depth):
            if len(found_pos) == n_ltm:  # every engram visited: all paths return -1 from here
                dead_end = True
                break
            chosen = [self._reference_next(ltm_ids[last if last >= 0 else n_ltm - 1], position,
                                           visited) for last in paths]
            for k in chosen:
                if k >= 0:
                    visited[k] = True
                    found_pos.add(k)
                else:
                    dead_end = True
            paths = chosen
        found = [ltm_ids[k] for k in sorted(found_pos)]
        candidates = self.data(found)
        if dead_end:  # the reference's -1 index selects a zero vector
            candidates = np.vstack([candidates, np.zeros((1, self.dim))])
        scores = correlation_scores(wm_data, candidates, p.ranking)
        picked = self._top(scores, min(p.n_ltm_rem, len(candidates)))
        chosen_ids = [found[i] for i in sorted(picked, key=lambda i: -scores[i]) if i < len(found)]
        return [ltm_ids[k] for k in init], found, chosen_ids

    def _reference_next(self, source: int, position: np.ndarray, visited: np.ndarray) -> int:
        """argmax over unvisited LTM positions of Count_{source, .} (zero counts
        included), first position on ties; -1 if every LTM engram is visited."""
        pos, counts = self._ltm_edges(source, position, visited)
        if len(pos):
            return int(pos[counts == counts.max()].min())
        first = int(np.argmin(visited))  # the oldest unvisited engram (count 0)
        return -1 if visited[first] else first
