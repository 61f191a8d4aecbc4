"""Save and resume a Memoria circuit exactly: arrays plus the graph as edge lists (.npz).
"""
from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np

from neurosim.circuits.memoria.params import MemoriaError, MemoriaParams


class MemoriaPersistence:
    """``state`` / ``save`` / ``from_state`` / ``load`` of
    :class:`~neurosim.circuits.memoria.circuit.MemoriaCircuit`."""

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
    def from_state(cls, state: dict, tie_source=None) -> "MemoriaPersistence":
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
    def load(cls, path, tie_source=None) -> "MemoriaPersistence":
        with np.load(path, allow_pickle=False) as archive:
            return cls.from_state({k: archive[k] for k in archive.files}, tie_source)
