"""The two-layer modern Hopfield network (Krotov & Hopfield 2020, model B), spiking realization.

The rate twin is :class:`~neurosim.circuits.modern_hopfield.two_layer.TwoLayerHopfield`.  The
network is the spiking dual-form memory of :mod:`neurosim.circuits.kernel.spiking` (one memory
cell per stored pattern, softmax separation by feedback inhibition) read out at the feature
cells: the feature state is the sign of each feature pair's ON - OFF spike count.  Cues show
every entry, so key synapses use ``FULL_CUE_KEY_W_MAX_NS``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from neurosim.circuits.kernel.spiking import FULL_CUE_KEY_W_MAX_NS, SpikingKernelMemory
from neurosim.circuits.key_value.spiking import KVCircuit
from neurosim.events import EventStream


@dataclass
class SpikingTwoLayerHopfield(SpikingKernelMemory):
    """The two-layer modern Hopfield network (Krotov & Hopfield 2020, model B) on spikes: the
    feature state is the sign of each feature pair's ON - OFF spike count (module docstring)."""

    circuit: KVCircuit = field(
        default_factory=lambda: replace(KVCircuit(), key_w_max_nS=FULL_CUE_KEY_W_MAX_NS))
    softmax_feedback_nS: float | None = None      # the circuit's 6 nS: memory cells p99 56 Hz

    def run(self, stream: EventStream, record: bool = False) -> np.ndarray:
        return np.sign(super().run(stream, record))
