"""Memoria: the Hebbian engram graph (paper: "Memoria: Hebbian memory architecture
for human-like sequential processing", section 3 and appendix E.1).

The memory is a set of *engrams* (a data vector, a type, a lifespan, an age and
an id) in three stores:

* working memory (WM): the engrams of the current step (a queue of ``n_wm``),
* short-term memory (STM): a first-in first-out queue of ``stm_capacity``,
* long-term memory (LTM): unbounded; engrams leave it only when they die.

Every pair of engrams that were *activated* together (section 3.1) is linked in
a ``networkx.DiGraph`` whose nodes are engram ids: the edge ``i -> j`` carries
``count`` = Count_ij (i != j), the node carries ``fires`` = Count_ii, and the
edge weight is the empirical conditional probability

    E_{i->j} = P(e_j reminded | e_i reminded) = Count_ij / Count_ii      (sec. 3.1)

The graph is an adjacency structure: memory grows with the number of edges,
not with the square of the number of engrams (the reference package keeps a
dense N x N count matrix; appendix E.1, Table 8). Data vectors, lifespans,
ages and types live in numpy arrays indexed by a storage slot.

One step of the algorithm (Algorithms 1-3) is

    ids = circuit.add_working_memory(x)      # sec. 3.2 step 1
    reminded = circuit.remind()              # sec. 3.2 steps 2-7, Algorithm 1
    w = contribution(...)                    # sec. 3.3 exploit (caller's score)
    circuit.memorize(reminded, w)            # sec. 3.4, Algorithm 3

or simply ``circuit.step(x)`` with the default exploit
:func:`attention_contribution`.

Options where the reference package (PyPI ``memoria-pytorch`` 1.1.0) differs
from the paper's text; the paper's choice is the default, the reference's is
available (``MemoriaParams.reference_compatible``):

``ranking``       "exp": rank by mean_j exp(-||e_i - wm_j||^2) (sec. 3.2 step 2),
                  computed in log space (log-mean-exp) so that far engrams do
                  not underflow to exact ties; "sq_l2": rank by the mean
                  (equivalently the sum) of -||e_i - wm_j||^2, as the reference.
``search``        "paper": start from each reminded STM engram's strongest LTM
                  edge and walk the strongest edges to unvisited LTM engrams;
                  an engram without such an edge ends its path. "reference":
                  the reference's tensor search - every STM slot (reminded or
                  not) yields a starting LTM engram (non-reminded slots read an
                  all-zero count row, so they start at a uniformly random LTM
                  engram, as does a reminded engram without LTM edges), the
                  walk may step to unconnected engrams (count 0, oldest first),
                  a path that found no unvisited engram continues from the
                  newest LTM engram, a dead end adds a zero vector to the final
                  ranking (which can take one of the N_ltm_rem places), and
                  with an empty LTM the oldest engram is reminded.
``forget_order``  "paper": remove dead engrams, then WM -> STM -> LTM
                  (sec. 3.4 steps 4-6); "reference": move first, remove after
                  (dead STM engrams then still occupy STM capacity).
"""
from __future__ import annotations

import math
from collections import deque
from typing import Callable, Iterable, Sequence

import networkx as nx
import numpy as np

from neurosim.circuits.memoria.graph import EngramGraph
from neurosim.circuits.memoria.lifecycle import EngramLifecycle
from neurosim.circuits.memoria.params import (KIND_NAMES, LONGTERM, SHORTTERM, WORKING,
                                              MemoriaError, MemoriaParams)
from neurosim.circuits.memoria.persistence import MemoriaPersistence
from neurosim.circuits.memoria.search import EngramSearch


class MemoriaCircuit(EngramSearch, EngramLifecycle, MemoriaPersistence):
    """Memoria's three memories and engram graph (section 3).

    ``seed`` (int or numpy SeedSequence) drives every tie-break, so a run is
    reproducible. ``tie_source`` (reference search only) may replace the random
    draws that pick a starting LTM engram among equal counts: a callable
    ``(n_stm_slots, n_engrams) -> array (n_stm_slots, n_engrams)`` of keys;
    slot s picks the first LTM engram (creation order) with the largest key
    among its tied candidates, as ``torch.argmax(rand * tied)`` in the
    reference. See ``neurosim.circuits.memoria.reference``.

    Change the memory only through the circuit (``add_engram``, ``set_count``,
    ``memorize``): the search caches each engram's out-edges as numpy arrays
    and these methods keep that cache in step with the graph.
    """

    def __init__(self, params: MemoriaParams, dim: int, seed=0,
                 tie_source: Callable[[int, int], np.ndarray] | None = None):
        if not isinstance(params, MemoriaParams):
            raise MemoriaError("params must be a MemoriaParams")
        params.validate()
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise MemoriaError(f"dim must be an integer >= 1 (got {dim!r})")
        self.params = params
        self.dim = int(dim)
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.rng = np.random.default_rng(seq)
        self.tie_source = tie_source
        self.graph = EngramGraph()
        self._nbr: dict[int, tuple] = {}  # out-edge arrays per engram (see _neighbors)
        self.step_count = 0
        self.next_id = 0
        self._capacity = 0
        self._data = np.zeros((0, self.dim))
        self._life = np.zeros(0)
        self._age = np.zeros(0, dtype=np.int64)
        self._kind = np.zeros(0, dtype=np.int8)
        self._ids = np.full(0, -1, dtype=np.int64)
        self._free: list[int] = []
        self._slot: dict[int, int] = {}
        self.wm: list[int] = []
        self.stm: deque[int] = deque()
        self.ltm: dict[int, None] = {}  # insertion order == creation order

    # ------------------------------------------------------------------ storage
    def _grow(self) -> None:
        new = max(64, 2 * self._capacity)
        self._data = np.concatenate([self._data, np.zeros((new - self._capacity, self.dim))])
        self._life = np.concatenate([self._life, np.zeros(new - self._capacity)])
        self._age = np.concatenate([self._age, np.zeros(new - self._capacity, dtype=np.int64)])
        self._kind = np.concatenate([self._kind, np.zeros(new - self._capacity, dtype=np.int8)])
        self._ids = np.concatenate([self._ids, np.full(new - self._capacity, -1, dtype=np.int64)])
        self._free.extend(range(new - 1, self._capacity - 1, -1))
        self._capacity = new

    def _check_data(self, data, rows: int | None = None) -> np.ndarray:
        array = np.asarray(data, dtype=float)
        if array.ndim == 1:
            array = array[None, :]
        if array.ndim != 2 or array.shape[1] != self.dim:
            raise MemoriaError(f"engram data must have shape (n, {self.dim}) (got {np.shape(data)})")
        if rows is not None and array.shape[0] != rows:
            raise MemoriaError(f"working memory needs exactly n_wm = {rows} engrams "
                               f"(got {array.shape[0]})")
        if not np.all(np.isfinite(array)):
            raise MemoriaError("engram data contains NaN or infinite values")
        return array

    def add_engram(self, data, kind: int = LONGTERM, lifespan: float | None = None,
                   age: int = 0, engram_id: int | None = None) -> int:
        """Create one engram (used for hand-built memories and by add_working_memory)."""
        vector = self._check_data(data, 1)[0]
        if kind not in KIND_NAMES:
            raise MemoriaError(f"unknown engram type {kind!r}")
        lifespan = self.params.initial_lifespan if lifespan is None else float(lifespan)
        if not math.isfinite(lifespan) or lifespan <= 0:
            raise MemoriaError(f"lifespan must be a finite number > 0 (got {lifespan})")
        engram_id = self.next_id if engram_id is None else int(engram_id)
        if engram_id in self._slot:
            raise MemoriaError(f"engram id {engram_id} already exists")
        if not self._free:
            self._grow()
        slot = self._free.pop()
        self._data[slot] = vector
        self._life[slot] = lifespan
        self._age[slot] = age
        self._kind[slot] = kind
        self._ids[slot] = engram_id
        self._slot[engram_id] = slot
        self.graph.add_node(engram_id, fires=0)
        self.next_id = max(self.next_id, engram_id + 1)
        if kind == WORKING:
            self.wm.append(engram_id)
        elif kind == SHORTTERM:
            self.stm.append(engram_id)
        else:
            self.ltm[engram_id] = None
        return engram_id

    def set_count(self, i: int, j: int, count: int) -> None:
        """Set Count_ij (Count_ii when i == j) directly, for hand-built graphs."""
        if i not in self._slot or j not in self._slot:
            raise MemoriaError(f"unknown engram in ({i}, {j})")
        if count < 0:
            raise MemoriaError("counts are >= 0")
        self._nbr.pop(i, None)
        if i == j:
            self.graph.nodes[i]["fires"] = int(count)
        elif count == 0:
            if self.graph.has_edge(i, j):
                self.graph.remove_edge(i, j)
        else:
            self.graph.add_edge(i, j, count=int(count))

    def _remove(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if not ids:
            return
        dead = set(ids)
        for engram_id in ids:  # (cached arrays of other engrams drop dead targets when read)
            self._nbr.pop(engram_id, None)
        self.graph.remove_nodes_from(ids)
        for engram_id in ids:
            slot = self._slot.pop(engram_id)
            self._ids[slot] = -1
            self._kind[slot] = 0
            self._free.append(slot)
            self.ltm.pop(engram_id, None)
        if any(i in dead for i in self.stm):
            self.stm = deque(i for i in self.stm if i not in dead)
        if any(i in dead for i in self.wm):
            self.wm = [i for i in self.wm if i not in dead]

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return len(self._slot)

    def data(self, ids: Sequence[int]) -> np.ndarray:
        return self._data[[self._slot[i] for i in ids]] if len(ids) else np.zeros((0, self.dim))

    def lifespan(self, engram_id: int) -> float:
        return float(self._life[self._slot[engram_id]])

    def age(self, engram_id: int) -> int:
        return int(self._age[self._slot[engram_id]])

    def kind(self, engram_id: int) -> int:
        return int(self._kind[self._slot[engram_id]])

    def count(self, i: int, j: int) -> int:
        """Count_ij (Count_ii for i == j)."""
        if i == j:
            return int(self.graph.nodes[i]["fires"])
        edge = self.graph.get_edge_data(i, j)
        return 0 if edge is None else int(edge["count"])

    def weight(self, i: int, j: int) -> float:
        """E_{i->j} = Count_ij / Count_ii (sec. 3.1); 0 when e_i never fired."""
        fires = self.graph.nodes[i]["fires"]
        return self.count(i, j) / fires if fires else 0.0

    def weighted_graph(self, threshold: float = 0.0) -> nx.DiGraph:
        """A plain DiGraph copy with ``weight`` = E_ij (edges with E_ij >= threshold),
        ``count`` on edges and ``kind``/``lifespan`` on nodes (for drawing and analysis)."""
        graph = nx.DiGraph()
        graph.add_nodes_from((i, {"kind": KIND_NAMES[self.kind(i)], "lifespan": self.lifespan(i)})
                             for i in self.graph)
        for i, j, c in self.graph.edges(data="count"):
            weight = c / self.graph.nodes[i]["fires"] if self.graph.nodes[i]["fires"] else 0.0
            if weight >= threshold:
                graph.add_edge(i, j, weight=weight, count=c)
        return graph

    def engrams(self) -> list[dict]:
        """One record per engram: id, kind, lifespan, age, fires."""
        return [{"id": i, "kind": KIND_NAMES[self.kind(i)], "lifespan": self.lifespan(i),
                 "age": self.age(i), "fires": self.graph.nodes[i]["fires"]}
                for i in sorted(self._slot)]

    def sizes(self) -> dict:
        return {"n_wm": len(self.wm), "n_stm": len(self.stm), "n_ltm": len(self.ltm),
                "n_edges": self.graph.number_of_edges()}

    # ------------------------------------------------------------------ remind
    def add_working_memory(self, data) -> list[int]:
        """Sec. 3.2 step 1: put this step's engrams (shape (n_wm, dim)) into WM."""
        if self.wm:
            raise MemoriaError("working memory is already filled; call memorize() first")
        array = self._check_data(data, self.params.n_wm)
        return [self.add_engram(row, WORKING) for row in array]
