"""The engram graph: a networkx.DiGraph with one slotted count per edge (Count_ij, sec. 3.1).
"""
from __future__ import annotations

from collections.abc import MutableMapping
from typing import Iterable

import networkx as nx


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
