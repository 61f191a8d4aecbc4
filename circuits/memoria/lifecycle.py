"""Memorize: Hebbian counts, lifespans, forgetting and moves between the stores (sec. 3.3-3.4,
Algorithm 3), as a mixin of :class:`~neurosim.circuits.memoria.circuit.MemoriaCircuit`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from neurosim.circuits.memoria.params import LONGTERM, SHORTTERM, MemoriaError
from neurosim.circuits.memoria.search import Reminded, squared_distances


def attention_contribution(wm: np.ndarray, reminded: np.ndarray) -> np.ndarray:
    """Default exploit (sec. 3.3) for protocols without a model.

    Each WM engram attends over the reminded engrams with a distance softmax
    a_{j,i} = softmax_i(-||wm_j - e_i||^2); the contribution of e_i is its
    average attention weight w_i = (1/N_wm) sum_j a_{j,i} (the paper averages a
    model's cross-attention weights the same way). The w_i sum to one.
    """
    if len(reminded) == 0:
        return np.zeros(0)
    logits = -squared_distances(wm, reminded)
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    weights /= weights.sum(axis=1, keepdims=True)
    return weights.mean(axis=0)


def lifespan_increments(w: np.ndarray, alpha: float) -> np.ndarray:
    """Inc_i = w_i / sum_k w_k * |M_rem| * alpha (sec. 3.4 step 2); zero if sum w = 0."""
    w = np.asarray(w, dtype=float)
    total = w.sum()
    if len(w) == 0 or total <= 0:
        return np.zeros(len(w))
    return w / total * len(w) * alpha


class EngramLifecycle:
    """The memorize stage of :class:`~neurosim.circuits.memoria.circuit.MemoriaCircuit`."""

    # ------------------------------------------------------------------ memorize
    def memorize(self, reminded: Reminded, contribution=None) -> dict:
        """Algorithm 3 / sec. 3.4 (memorize & forget). Returns what happened.

        1. Count_ij += 1 for all i, j in M_act = M_wm U M_rem (Count_ii included).
        2. lifespan_i += Inc_i = w_i / sum(w) * |M_rem| * alpha for e_i in M_rem.
        3. every lifespan -= 1 (and every age += 1).
        4. engrams with lifespan <= 0 are removed.
        5. WM -> STM. 6. the oldest STM engrams beyond the capacity -> LTM.
        (forget_order="reference": 5 and 6 happen before 4.)
        """
        p = self.params
        rem = list(reminded.ids)
        if contribution is None:
            contribution = attention_contribution(reminded.wm_data, reminded.data)
        w = np.asarray(contribution, dtype=float).reshape(-1)
        if len(w) != len(rem):
            raise MemoriaError(f"one contribution per reminded engram is needed "
                               f"(got {len(w)} for {len(rem)})")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise MemoriaError("contributions must be finite and >= 0")
        missing = [i for i in rem + list(reminded.wm_ids) if i not in self._slot]
        if missing:
            raise MemoriaError(f"reminded engrams {missing[:5]} no longer exist")
        act = list(dict.fromkeys(list(reminded.wm_ids) + rem))
        self._fire_together(act)
        increments = lifespan_increments(w, p.alpha)
        for engram_id, inc in zip(rem, increments):
            self._life[self._slot[engram_id]] += inc
        alive = self._ids >= 0
        self._life[alive] -= 1.0
        self._age[alive] += 1
        if p.forget_order == "paper":
            removed = self._forget()
            moved = self._move()
        else:
            moved = self._move()
            removed = self._forget()
        self.step_count += 1
        return {"removed": removed, "to_ltm": moved}

    def _fire_together(self, act: list[int]) -> None:
        graph = self.graph
        new_edges = []
        for i in act:
            self._nbr.pop(i, None)
            graph.nodes[i]["fires"] += 1
            succ = graph._succ[i]  # networkx's raw adjacency dict (hot path; read only)
            for j in act:
                if j == i:
                    continue
                attrs = succ.get(j)
                if attrs is None:
                    new_edges.append((i, j))
                else:
                    attrs.count += 1
        graph.add_unit_edges(new_edges)

    def _forget(self) -> list[int]:
        dead = self._ids[(self._ids >= 0) & (self._life <= 0)]
        dead = sorted(int(i) for i in dead)
        self._remove(dead)
        return dead

    def _move(self) -> list[int]:
        for engram_id in self.wm:
            self._kind[self._slot[engram_id]] = SHORTTERM
            self.stm.append(engram_id)
        self.wm = []
        moved = []
        while len(self.stm) > self.params.stm_capacity:
            engram_id = self.stm.popleft()
            self._kind[self._slot[engram_id]] = LONGTERM
            self.ltm[engram_id] = None
            moved.append(engram_id)
        return moved

    def step(self, data, exploit: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
             ) -> Reminded:
        """One full step: add WM, remind, exploit (default: attention_contribution), memorize."""
        self.add_working_memory(data)
        reminded = self.remind()
        weights = (exploit or attention_contribution)(reminded.wm_data, reminded.data)
        self.memorize(reminded, weights)
        return reminded
