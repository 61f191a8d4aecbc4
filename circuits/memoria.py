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

import json
import math
from collections import deque
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass, replace
from typing import Callable, Iterable, Sequence

import networkx as nx
import numpy as np

WORKING, SHORTTERM, LONGTERM = 1, 2, 3
KIND_NAMES = {WORKING: "working", SHORTTERM: "short-term", LONGTERM: "long-term"}

#: Appendix B parameter sets (initial lifespan, alpha, depth, N_wm, N_stm_rem,
#: N_ltm_rem, STM capacity).
APPENDIX_B = {
    # B.1 sorting, segment length 256 (N_wm = L/8, N_stm_rem = L/4, N_ltm_rem = 5L/8, cap L/2)
    "sorting-256": dict(initial_lifespan=5.0, alpha=8.0, depth=10, n_wm=32, n_stm_rem=64,
                        n_ltm_rem=160, stm_capacity=128),
    # B.2 language modeling, Wikitext-103 with segment length 50
    "lm-50": dict(initial_lifespan=9.0, alpha=8.0, depth=10, n_wm=16, n_stm_rem=16,
                  n_ltm_rem=16, stm_capacity=128),
    # B.2 language modeling, Wikitext-103 / PG-19 with segment length 150
    "lm-150": dict(initial_lifespan=9.0, alpha=8.0, depth=10, n_wm=50, n_stm_rem=50,
                   n_ltm_rem=50, stm_capacity=400),
    # B.3 classification (Hyperpartisan)
    "classification": dict(initial_lifespan=12.0, alpha=8.0, depth=10, n_wm=64, n_stm_rem=64,
                           n_ltm_rem=64, stm_capacity=128),
}


class MemoriaError(ValueError):
    """Bad parameters or data for a Memoria circuit."""


class EdgeCount(MutableMapping):
    """The attribute mapping of one edge: only ``count`` (Count_ij).

    A slotted object instead of networkx's default per-edge dict: about 120
    bytes per edge instead of about 270 (measured with tracemalloc, 500k edges).
    Weights E_ij are not stored (they change whenever Count_ii does); see
    ``MemoriaCircuit.weight`` and ``MemoriaCircuit.weighted_graph``.
    """

    __slots__ = ("count",)

    def __init__(self):
        self.count = 0

    def __getitem__(self, key):
        if key != "count":
            raise KeyError(key)
        return self.count

    def __setitem__(self, key, value):
        if key != "count":
            raise KeyError(f"engram graph edges hold only 'count' (got {key!r})")
        self.count = int(value)

    def __delitem__(self, key):
        raise KeyError(f"cannot delete {key!r} from an engram graph edge")

    def __iter__(self):
        return iter(("count",))

    def __len__(self):
        return 1

    def update(self, other=(), **extra) -> None:
        """Fast path for networkx's ``datadict.update(attr)`` (no ABC checks)."""
        items = other.items() if hasattr(other, "items") else other
        for key, value in items:
            self[key] = value
        for key, value in extra.items():
            self[key] = value

    def copy(self) -> dict:
        return {"count": self.count}

    def __repr__(self):
        return f"{{'count': {self.count}}}"


class EngramGraph(nx.DiGraph):
    """networkx.DiGraph whose edge attributes are :class:`EdgeCount` objects."""

    edge_attr_dict_factory = EdgeCount

    def add_unit_edges(self, pairs: Iterable[tuple[int, int]]) -> None:
        """``add_edges_from(pairs, count=1)`` for new edges between existing nodes.

        The same adjacency updates DiGraph.add_edges_from makes (successor and
        predecessor dicts share one attribute object), without its per-edge
        attribute merging, which dominated a step with ~10^5 new edges.
        """
        succ, pred = self._succ, self._pred
        for u, v in pairs:
            attrs = EdgeCount()
            attrs.count = 1
            succ[u][v] = attrs
            pred[v][u] = attrs
        clear = getattr(nx, "_clear_cache", None)
        if clear is not None:
            clear(self)


@dataclass(frozen=True)
class MemoriaParams:
    """Memoria hyperparameters (section 3, appendix B).

    n_wm: engrams per step in working memory (N_wm).
    stm_capacity: STM queue capacity (C_stm).
    n_stm_rem, n_ltm_rem: engrams reminded from STM / LTM per step.
    depth: LTM search depth (N_depth).
    initial_lifespan: lifespan of a new engram.
    alpha: lifespan extension scale (sec. 3.4 step 2).
    ranking, search, forget_order: see the module docstring.
    """

    n_wm: int = 16
    stm_capacity: int = 128
    n_stm_rem: int = 16
    n_ltm_rem: int = 16
    depth: int = 10
    initial_lifespan: float = 9.0
    alpha: float = 8.0
    ranking: str = "exp"
    search: str = "paper"
    forget_order: str = "paper"

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        for name in ("n_wm", "stm_capacity", "n_stm_rem", "n_ltm_rem", "depth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise MemoriaError(f"{name} must be an integer (got {value!r})")
            if value < 0:
                raise MemoriaError(f"{name} must be >= 0 (got {value})")
        if self.n_wm < 1:
            raise MemoriaError(f"n_wm must be >= 1 (got {self.n_wm})")
        for name in ("initial_lifespan", "alpha"):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.number)) or not math.isfinite(value):
                raise MemoriaError(f"{name} must be a finite number (got {value!r})")
        if self.initial_lifespan <= 0:
            raise MemoriaError(f"initial_lifespan must be > 0 (got {self.initial_lifespan})")
        if self.alpha < 0:
            raise MemoriaError(f"alpha must be >= 0 (got {self.alpha})")
        choices = {"ranking": ("exp", "sq_l2"), "search": ("paper", "reference"),
                   "forget_order": ("paper", "reference")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise MemoriaError(f"{name} must be one of {', '.join(allowed)} "
                                   f"(got {getattr(self, name)!r})")

    @classmethod
    def appendix_b(cls, name: str, **overrides) -> "MemoriaParams":
        if name not in APPENDIX_B:
            raise MemoriaError(f"unknown appendix B setting {name!r}; known: {', '.join(APPENDIX_B)}")
        return cls(**{**APPENDIX_B[name], **overrides})

    def reference_compatible(self) -> "MemoriaParams":
        """The same sizes with every reference-package choice switched on."""
        return replace(self, ranking="sq_l2", search="reference", forget_order="reference")

    @property
    def ltm_bound(self) -> float:
        """Appendix E.1: lim N_ltm = alpha * (N_stm_rem + N_ltm_rem)."""
        return self.alpha * (self.n_stm_rem + self.n_ltm_rem)


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


class MemoriaCircuit:
    """Memoria's three memories and engram graph (section 3).

    ``seed`` (int or numpy SeedSequence) drives every tie-break, so a run is
    reproducible. ``tie_source`` (reference search only) may replace the random
    draws that pick a starting LTM engram among equal counts: a callable
    ``(n_stm_slots, n_engrams) -> array (n_stm_slots, n_engrams)`` of keys;
    slot s picks the first LTM engram (creation order) with the largest key
    among its tied candidates, as ``torch.argmax(rand * tied)`` in the
    reference. See ``neurosim.circuits.memoria_reference``.

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

    # ------------------------------------------------------------------ state
    def state(self) -> dict:
        """Everything needed to resume exactly: arrays plus the graph as edge lists."""
        ids = np.array(sorted(self._slot), dtype=np.int64)
        slots = np.array([self._slot[i] for i in ids], dtype=np.int64)
        edges = np.array([(u, v, c) for u, v, c in self.graph.edges(data="count")],
                         dtype=np.int64).reshape(-1, 3)
        meta = {"params": asdict(self.params), "dim": self.dim, "step_count": self.step_count,
                "next_id": self.next_id, "rng": self.rng.bit_generator.state,
                "wm": list(self.wm), "stm": list(self.stm), "ltm": list(self.ltm),
                "format": "neurosim-memoria-1"}
        return {"meta": json.dumps(meta), "ids": ids, "data": self._data[slots].reshape(-1, self.dim),
                "lifespan": self._life[slots], "age": self._age[slots], "kind": self._kind[slots],
                "fires": np.array([self.graph.nodes[i]["fires"] for i in ids], dtype=np.int64),
                "edges": edges}

    def save(self, path) -> None:
        """Write the state to ``path`` (.npz; atomic via the engine's writer)."""
        import io

        from neurosim.results import atomic_write_bytes

        buffer = io.BytesIO()
        np.savez_compressed(buffer, **self.state())
        atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def from_state(cls, state: dict, tie_source=None) -> "MemoriaCircuit":
        meta = json.loads(str(state["meta"]))
        if meta.get("format") != "neurosim-memoria-1":
            raise MemoriaError("not a neurosim Memoria state")
        params = MemoriaParams(**meta["params"])
        circuit = cls(params, meta["dim"], seed=0, tie_source=tie_source)
        circuit.rng.bit_generator.state = meta["rng"]
        kinds = dict(zip(state["ids"].tolist(), state["kind"].tolist()))
        rows = dict(zip(state["ids"].tolist(), range(len(state["ids"]))))
        order = list(meta["ltm"]) + list(meta["stm"]) + list(meta["wm"])
        if sorted(order) != sorted(rows):
            raise MemoriaError("corrupt Memoria state: stores and engrams disagree")
        for engram_id in order:
            r = rows[engram_id]
            circuit.add_engram(state["data"][r], kinds[engram_id], lifespan=1.0,
                               age=int(state["age"][r]), engram_id=engram_id)
            circuit._life[circuit._slot[engram_id]] = state["lifespan"][r]
            circuit.graph.nodes[engram_id]["fires"] = int(state["fires"][r])
        circuit.graph.add_edges_from((int(u), int(v), {"count": int(c)}) for u, v, c in state["edges"])
        circuit.step_count = meta["step_count"]
        circuit.next_id = meta["next_id"]
        return circuit

    @classmethod
    def load(cls, path, tie_source=None) -> "MemoriaCircuit":
        with np.load(path, allow_pickle=False) as archive:
            return cls.from_state({k: archive[k] for k in archive.files}, tie_source)


def stream_rng(seed) -> np.random.Generator:
    """A numpy Generator from an int or SeedSequence (for protocol streams)."""
    return np.random.default_rng(seed if isinstance(seed, np.random.SeedSequence)
                                 else np.random.SeedSequence(seed))


def random_stream(rng: np.random.Generator, steps: int, n_wm: int, dim: int,
                  scale: float = 1.0) -> np.ndarray:
    """Continuous i.i.d. stream, shape (steps, n_wm, dim): x ~ N(0, scale^2 / dim) per
    coordinate (so ||x||^2 ~ scale^2), rounded to float32 so that a float32 reference
    sees exactly the same numbers. No two engrams are equal (no distance ties)."""
    x = rng.normal(0.0, scale / math.sqrt(dim), size=(steps, n_wm, dim))
    return x.astype(np.float32).astype(np.float64)


def recurring_stream(rng: np.random.Generator, steps: int, n_wm: int, dim: int,
                     n_items: int = 20, noise: float = 0.1, scale: float = 1.0,
                     repeat_every: int = 0, stay: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A stream with recurring content: ``n_items`` prototype vectors; each step shows
    n_wm noisy copies of prototypes (one item per step; every ``repeat_every`` steps the
    item of an earlier step returns when repeat_every > 0, else items are drawn at random,
    and with probability ``stay`` the previous step's item stays on, like a topic in text).
    Returns (data (steps, n_wm, dim), item (steps,))."""
    protos = rng.normal(0.0, scale / math.sqrt(dim), size=(n_items, dim))
    items = rng.integers(n_items, size=steps)
    if stay > 0:
        keep = rng.random(steps) < stay
        for t in range(1, steps):
            if keep[t]:
                items[t] = items[t - 1]
    if repeat_every > 0:
        items = np.arange(steps) % repeat_every % n_items
    data = protos[items][:, None, :] + rng.normal(0.0, noise * scale / math.sqrt(dim),
                                                    size=(steps, n_wm, dim))
    return data.astype(np.float32).astype(np.float64), items


__all__ = ["APPENDIX_B", "EdgeCount", "EngramGraph", "KIND_NAMES", "LONGTERM", "SHORTTERM", "WORKING",
           "MemoriaCircuit",
           "MemoriaError", "MemoriaParams", "Reminded", "attention_contribution",
           "correlation_scores", "lifespan_increments", "random_stream", "recurring_stream",
           "squared_distances", "stream_rng"]
