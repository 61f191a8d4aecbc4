"""The event stream: the protocol -> circuit contract.

Arrays over presentation steps t = 0..T-1 with a leading batch axis of B
independent trials:

- ``x``  (B, T, d) input presented at step t (a query is a partly occluded
  key: occluded entries are 0).
- ``y``  (B, T, m) target: the value clamped on the output during storage, and
  the expected answer at query steps.
- ``q``  (B, T) global third factor (neuromodulator): 0 means no plasticity,
  1 a normal store, > 1 a salient ("flashbulb") store.
- ``query`` (B, T) bool: steps whose readout is scored (eq. 18).
- ``gate`` (B, T, N) or None: local third factor per hidden neuron (dendritic
  plateau), drawn once by the protocol so that rate and spiking realizations
  see the same gates.
- ``feedback`` (B, T) bool or None: at these steps the input is replaced by
  sign of the previous step's readout (recurrent sequence recall).

A circuit reads at every step (readout before plasticity) and then applies
its plasticity with q_t; the readout ``y_hat`` has shape (B, T, m).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass
class EventStream:
    x: np.ndarray
    y: np.ndarray
    q: np.ndarray
    query: np.ndarray
    gate: np.ndarray | None = None
    feedback: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        B, T = self.q.shape
        if self.x.shape[:2] != (B, T) or self.y.shape[:2] != (B, T):
            raise ValueError(f"x {self.x.shape}, y {self.y.shape} and q {self.q.shape} "
                             "must share the (batch, steps) axes")
        if self.query.shape != (B, T):
            raise ValueError(f"query mask {self.query.shape} must be (batch, steps) = {(B, T)}")
        if self.gate is not None and self.gate.shape[:2] != (B, T):
            raise ValueError(f"gate {self.gate.shape} must start with (batch, steps) = {(B, T)}")
        if np.any(self.q < 0):
            raise ValueError("global third factor q must be >= 0")

    @property
    def batch(self) -> int:
        return self.q.shape[0]

    @property
    def steps(self) -> int:
        return self.q.shape[1]

    @property
    def d(self) -> int:
        return self.x.shape[2]

    @property
    def m(self) -> int:
        return self.y.shape[2]

    def with_gates(self, gate: np.ndarray) -> "EventStream":
        return replace(self, gate=gate)

    def padded(self, batch: int, steps: int) -> "EventStream":
        """The stream zero-padded to ``batch`` trials and ``steps`` steps: the
        added steps and trials are silent (x = y = 0, q = 0, not scored)."""
        def pad(a):
            if a is None:
                return None
            out = np.zeros((batch, steps) + a.shape[2:], dtype=a.dtype)
            out[:self.batch, :self.steps] = a
            return out

        return replace(self, x=pad(self.x), y=pad(self.y), q=pad(self.q), query=pad(self.query),
                       gate=pad(self.gate), feedback=pad(self.feedback))


def sign_accuracy(y_hat: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Eq. 18: fraction of entries with sign(y_hat) == target over the masked
    steps, per trial; sign(0) = 0 counts as wrong. Returns shape (B,); a trial
    with no masked step has no accuracy (NaN)."""
    correct = (np.sign(y_hat) == target).mean(axis=-1)
    counts = mask.sum(axis=1)
    total = (correct * mask).sum(axis=1)
    return np.divide(total, counts, out=np.full(total.shape, np.nan), where=counts > 0)


def blocks(stream: EventStream):
    """Split the steps into maximal blocks a circuit can process at once.

    Yields ``(start, stop, kind)`` with kind

    - "read": no plasticity (q = 0 in every trial) and no feedback: all the
      block's readouts can be computed in parallel;
    - "write": plasticity but no scored readout and no feedback: readouts are
      not needed (returned as NaN);
    - "step": anything else (reads and writes mixed across trials, or
      feedback), one step at a time.
    """
    plastic = np.any(stream.q > 0, axis=0)
    scored = np.any(stream.query, axis=0)
    fed = np.any(stream.feedback, axis=0) if stream.feedback is not None else np.zeros_like(plastic)
    kinds = np.where(fed, "step", np.where(~plastic, "read", np.where(~scored, "write", "step")))
    start = 0
    for t in range(1, stream.steps + 1):
        if t == stream.steps or kinds[t] != kinds[start] or kinds[start] == "step":
            yield start, t, str(kinds[start])
            start = t
