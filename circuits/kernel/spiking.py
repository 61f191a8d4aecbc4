"""Softmax and threshold separations, and the two-layer modern Hopfield network, as spiking
circuits (Gershman, Fiete & Irie 2025, eq. 3-6; Krotov & Hopfield 2020, model B).

The dual form y~ = sum_n sigma(S(k_n, x))_n v_n (eq. 3) is the spiking key-value circuit of
:mod:`neurosim.circuits.key_value.spiking` with one memory cell per stored item: the local third
factor is sequential (item t -> memory cell t, eq. 6), so every item is written once into its
own cell's key synapses (the similarity S is the synaptic dot product of the input's ON/OFF
code with the learned key) and value synapses, by the plateau-gated three-factor rule during
its store window.  Nothing is set by hand: the weights are learned as in any key-value store,
and the read is measured from the output cells' spikes.

Separations sigma, both made by the hidden interneurons (no normalization is computed):

- ``softmax``: E -> I -> E feedback inhibition, the winner-take-all of the key-value circuit; its
  sharpness (eq. 6's beta) is set by the circuit's gains, not by a parameter beta.  The
  memory -> interneuron conductance is ``softmax_feedback_nS`` = 12 nS per spike, twice the
  key-value circuit's 6 nS: with one fully written memory cell per item and no unwritten
  cells, the winner of a query drove the interneurons alone and fired up to 1 / t_ref (per-T
  99th percentiles of the memory cells at 6 nS, seed 0, 16 trials: 215 / 181 / 175 / 156 Hz
  at T = 2 / 8 / 16 / 32, above the 150 Hz limit; at 12 nS 130 / 112 / 106 Hz at T = 2 / 8 /
  32, interneurons <= 231 Hz, accuracy 1.000 / 0.996 / 0.993 against 1.000 / 1.000 / 0.995);
- ``threshold``: feedback inhibition off (``hidden_to_inhibition_nS = 0``).  The interneurons
  then follow the input alone (feedforward inhibition), so a memory cell fires when its key
  drive exceeds the inhibition plus its own rheobase -- a threshold on the similarity -- and
  the output sums the values of every cell above it (sparse distributed memory).  The threshold
  is set by ``threshold_inhibition_nS`` (input -> interneuron conductance), not by a radius.
  With no feedback inhibition, the memory cells' own spike-frequency adaptation
  (``threshold_adaptation_pA`` per spike, 100 ms; :class:`~neurosim.spiking.blocks.LIF`) bounds
  the rate of the cells above threshold (without it they fire near 1 / t_ref: hidden and
  output 99th percentiles 231 and 175 Hz); it raises the effective threshold, so the gain was
  set with it (tuning streams, ``--seed 1``, T = 2..32, 16 trials: 0.55 nS without adaptation
  0.997 / 0.982 / 0.944 / 0.961 / 0.945, p99 hidden / output 231 / 175 Hz; 30 pA with
  0.55 / 0.45 / 0.35 nS: 0.841 / 0.924 / 0.858 / 0.922 / 0.920, 1.000 / 0.987 / 0.971 /
  0.960 / 0.930 and 1.000 / 0.992 / 0.983 / 0.953 / 0.903, p99 106 / 94, 131 / 138 and
  138 / 163 Hz).  Those gains were set while a plateau wrote a slot only partly (key-value
  conversion 0.1 per ms); the saturating write (0.4 per ms) makes every key stronger, which
  moves the similarity scale and with it the threshold: on the tuning streams, T = 8 / 16 / 32,
  0.45 / 0.55 / 0.65 nS gave 0.985 / 0.966 / 0.897, 0.996 / 0.994 / 0.978 (the default since;
  p99 hidden / output 119 / 94 Hz) and 0.784 / 0.817 / 0.821 (past the cliff: too few cells
  above threshold).  The softmax circuit keeps non-adapting cells: there the winner's
  adaptation hands the read to the runners-up (30 pA at T = 24 / 40: 0.958 / 0.938 against
  0.975 / 0.965).

The two-layer modern Hopfield network is the same circuit on an autoassociative stream
(values = keys, one-shot storage of each pattern): the input and output ON/OFF cells are the
feature neurons (the cue in, the completed pattern out), the hidden cells the memory neurons in
a winner-take-all.  The feature -> memory -> feature loop is traversed once per query window
(no output -> memory synapses): the spiking twin is one iteration of eq. 3 from the cue, which
is where the rate network's fixed point lies for a cue that one memory dominates.  Its feature
state is the sign of each feature pair's ON - OFF spike count (0: no decision).  Closing the
loop (output -> memory synapses written by the key rule from the clamped output, 0.2-4.8 nS
per output cell) was measured and lowered accuracy at every gain: the loop amplifies the
output pairs' common mode (both cells of a pair firing) until every memory cell fires.

A cue that shows every entry (the flipped cues of mhn-retrieval) drives a memory cell through
d active inputs, an occluded one (separation-capacity, 60% hidden) through about 0.4 d: the
memory's key conductance ``key_w_max_nS`` is a setting of the circuit (0.3 nS at d = 40 was set
for occluded cues; ``FULL_CUE_KEY_W_MAX_NS`` for cues with every entry shown).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from neurosim.events import EventStream
from neurosim.memory.gates import sequential_gates
from neurosim.errors import ParameterError

from neurosim.circuits.key_value.spiking import KVCircuit, SpikingKeyValueMemory
from neurosim.spiking.windows import Windows

SPIKING_SEPARATIONS = ("softmax", "threshold")
FULL_CUE_KEY_W_MAX_NS = 0.15


def read_window(read_ms: float) -> Windows:
    """The circuit's presentation window with a read phase of ``read_ms`` (checked)."""
    return replace(KVCircuit().windows, read_ms=read_ms)


@dataclass
class SpikingKernelMemory:
    """One memory cell per stored item (``slots`` cells: at least the largest number of items a
    trial stores), read through the ``separation`` made by the circuit's interneurons."""

    slots: int
    separation: str = "softmax"
    circuit: KVCircuit = field(default_factory=KVCircuit)
    threshold_inhibition_nS: float = 0.55
    threshold_adaptation_pA: float = 30.0
    softmax_feedback_nS: float | None = 12.0
    device: str = "cpp_standalone"
    seed: int = 0

    def __post_init__(self):
        if self.separation not in SPIKING_SEPARATIONS:
            raise ParameterError(f"separation {self.separation!r} is not available on spiking "
                                 f"(spiking separations: {', '.join(SPIKING_SEPARATIONS)})")
        if self.slots < 1:
            raise ParameterError("slots must be >= 1")
        if (self.threshold_inhibition_nS < 0 or self.threshold_adaptation_pA < 0
                or (self.softmax_feedback_nS or 0) < 0):
            raise ParameterError("threshold_inhibition_nS, threshold_adaptation_pA and "
                                 "softmax_feedback_nS must be >= 0")

    def memory(self) -> SpikingKeyValueMemory:
        """The key-value circuit that realizes the separation."""
        circuit = self.circuit
        if self.separation == "threshold":
            circuit = replace(circuit, hidden_to_inhibition_nS=0.0,
                              input_to_inhibition_nS=self.threshold_inhibition_nS,
                              hidden=replace(circuit.hidden,
                                             adaptation_pA=self.threshold_adaptation_pA))
        elif self.softmax_feedback_nS is not None:
            circuit = replace(circuit, hidden_to_inhibition_nS=self.softmax_feedback_nS)
        return SpikingKeyValueMemory(self.slots, device=self.device, seed=self.seed,
                                     circuit=circuit)

    def run(self, stream: EventStream, record: bool = False) -> np.ndarray:
        """Readout (B, T, m): each output pair's ON - OFF spike count in the read phase of
        every window.  ``self.physiology`` then holds the run's physiology."""
        stored = (stream.q > 0).sum(axis=1)
        if stored.max(initial=0) > self.slots:
            raise ParameterError(f"a trial stores {int(stored.max())} items but the spiking "
                                 f"memory has {self.slots} memory cells (one per item)")
        last_store = np.flatnonzero((stream.q > 0).any(axis=0))
        if last_store.size and last_store[-1] >= self.slots:
            raise ParameterError("the sequential write gives item t cell t mod slots: every "
                                 f"store must happen in the first {self.slots} steps")
        memory = self.memory()
        gated = stream.with_gates(sequential_gates(stream.batch, stream.steps, self.slots))
        y_hat = memory.run(gated, record=record)
        self.physiology = memory.physiology
        if record:
            self.recorded = memory.recorded
        return y_hat
