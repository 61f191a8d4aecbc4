"""Memoria: the Hebbian engram graph (Park & Bak, "Memoria: Hebbian memory architecture for
human-like sequential processing"), one module per idea:

- :mod:`~neurosim.circuits.memoria.params`: parameters (appendix B), engram kinds, errors;
- :mod:`~neurosim.circuits.memoria.graph`: the engram graph (networkx, Count_ij per edge);
- :mod:`~neurosim.circuits.memoria.search`: remind (sec. 3.2, Algorithm 1);
- :mod:`~neurosim.circuits.memoria.lifecycle`: memorize, lifespans, forgetting (sec. 3.3-3.4);
- :mod:`~neurosim.circuits.memoria.persistence`: exact save and resume;
- :mod:`~neurosim.circuits.memoria.circuit`: :class:`MemoriaCircuit`, which joins them;
- :mod:`~neurosim.circuits.memoria.streams`: input streams for the protocols;
- :mod:`~neurosim.circuits.memoria.reference`: the paper's own package on the same stream.
"""
from neurosim.circuits.memoria.circuit import MemoriaCircuit
from neurosim.circuits.memoria.graph import EdgeCount, EngramGraph
from neurosim.circuits.memoria.lifecycle import attention_contribution, lifespan_increments
from neurosim.circuits.memoria.params import (APPENDIX_B, KIND_NAMES, LONGTERM, SHORTTERM, WORKING,
                                              MemoriaError, MemoriaParams)
from neurosim.circuits.memoria.search import Reminded, correlation_scores, squared_distances
from neurosim.circuits.memoria.streams import random_stream, recurring_stream, stream_rng

__all__ = ["APPENDIX_B", "EdgeCount", "EngramGraph", "KIND_NAMES", "LONGTERM", "SHORTTERM",
           "WORKING", "MemoriaCircuit", "MemoriaError", "MemoriaParams", "Reminded",
           "attention_contribution", "correlation_scores", "lifespan_increments", "random_stream",
           "recurring_stream", "squared_distances", "stream_rng"]
