"""Key-value memory with three-factor plasticity, rate realization
(Tyulmankov, Fang, Vadaparty, Yang, NeurIPS 2021), batched over trials.

Read (eq. 4-5):      h = softmax(beta K x~),   y~ = V h
Key write (eq. 9):   K <- (1 - eta) K + eta 1 x^T,   eta_i = (1 - S_i) q gamma_i
Value write (eq. 10-11, "gated"): h' = softmax(beta K_new x),
                     V <- (1 - eta) V + eta y h'^T
Value write (eq. 13, 16, "passive"): V <- lambda_t V + q eta~V y h'^T
Flashbulb metaplasticity (eq. 17): stability S_i set where eta_i > 1.
Both writes are :class:`~neurosim.memory.plasticity.ThreeFactorRule` objects; any
rule of eq. 12-16 (e.g. a meta-learned one) can replace the hand-designed ones.

``similarity="cosine"`` with ``value_write="slot"`` gives the slot memory of
TVT (Hung et al. 2019; the paper's appendix B): the gated slot's key row is
cleared and set to x, its value column to y, and the read is a softmax of
beta times the cosine similarity (beta is the fixed read strength).

Shapes: K (B, N, d), V (B, m, N), stability S (B, N) -- the learning rate
depends only on the hidden neuron, so one stability per neuron is exact.

A block of storage-only steps whose clipped learning rates are all 0 or 1
(q in {0, 1} or a flashbulb, binary gates, no stability) is written at once:
a write with rate 1 replaces row i of K by x_t, so after the block K_i = x_s
for the last step s that gated neuron i, and V_:,i = y_s h'_s,i (gated) or y_s
(slot), where h'_s = softmax(beta K_s x_s) is read with the keys as they stood
at step s -- dot products gathered from one batched product instead of a
Python loop over steps (same result; see ``write_block``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.events import EventStream, blocks
from neurosim.memory.plasticity import (ThreeFactorRule, hebbian_rule, learning_rate, pre_only_rule,
                                        slot_rule, update_stability)

VALUE_WRITES = ("gated", "passive", "slot")


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


@dataclass
class KeyValueState:
    K: np.ndarray
    V: np.ndarray
    stable: np.ndarray


@dataclass
class KeyValueParameters:
    """The parameters of a key-value memory, shared by its rate and spiking
    realizations: N hidden slots, softmax gain beta, the value write (gated
    eq. 11, passive eq. 16 with decay lambda and rate eta~V, or TVT's slot
    write), flashbulb stability (eq. 17) and the read similarity.

    ``key_rule`` and ``value_rule`` default to the hand-designed rules that
    ``value_write`` names; a rule given explicitly (e.g. loaded from a
    meta-learned parameter file) takes their place."""

    N: int
    beta: float = 1.0
    value_write: str = "gated"
    decay: float = 0.95
    value_rate: float = 1.0
    stability: bool = False
    similarity: str = "dot"
    key_rule: ThreeFactorRule | None = None
    value_rule: ThreeFactorRule | None = None

    def __post_init__(self):
        if self.N <= 0:
            raise ValueError(f"N must be > 0 (got {self.N})")
        if self.value_write not in VALUE_WRITES:
            raise ValueError(f"value_write must be one of {VALUE_WRITES}")
        if self.similarity not in ("dot", "cosine"):
            raise ValueError("similarity must be 'dot' or 'cosine'")
        self.key_rule = self.key_rule or pre_only_rule()
        self.value_rule = self.value_rule or {
            "gated": hebbian_rule(),
            "passive": hebbian_rule(passive=True, decay=self.decay, rate=self.value_rate),
            "slot": slot_rule()}[self.value_write]
        if self.stability and "passive" in (self.key_rule.decay, self.value_rule.decay):
            raise ValueError("stability (eq. 17) gates the learning rate of the gated rules; "
                             "the passive value write decays every synapse (eq. 16)")


@dataclass
class KeyValueMemory(KeyValueParameters):
    """Rate realization; see the module docstring for the equations."""

    def initial_state(self, batch: int, d: int, m: int) -> KeyValueState:
        return KeyValueState(K=np.zeros((batch, self.N, d)), V=np.zeros((batch, m, self.N)),
                             stable=np.zeros((batch, self.N)))

    def logits(self, K: np.ndarray, x: np.ndarray) -> np.ndarray:
        """beta K x for x of shape (B, d) or (B, T, d); cosine if configured."""
        single = x.ndim == 2
        xs = x[:, None, :] if single else x
        scores = xs @ K.transpose(0, 2, 1)
        if self.similarity == "cosine":
            norms = np.linalg.norm(xs, axis=-1)[..., None] * np.linalg.norm(K, axis=-1)[:, None, :]
            scores = np.divide(scores, norms, out=np.zeros_like(scores), where=norms > 0)
        scores = self.beta * scores
        return scores[:, 0] if single else scores

    def read(self, state: KeyValueState, x: np.ndarray) -> np.ndarray:
        """Eq. 4-5 for queries x (B, T, d): returns y~ (B, T, m)."""
        return softmax(self.logits(state.K, x)) @ state.V.transpose(0, 2, 1)

    def write(self, state: KeyValueState, x: np.ndarray, y: np.ndarray, q: np.ndarray,
              gate: np.ndarray) -> None:
        """One storage step (eq. 8-11, 13, 16, 17) for x (B, d), y (B, m), q (B,), gate (B, N)."""
        stable = state.stable if self.stability else None
        h = softmax(self.logits(state.K, x)) if self.key_rule.reads_post else None
        self.key_rule.update(state.K, x, h, q, gate, stable, hidden_axis=1)
        value_rule = self.value_rule
        if value_rule.decay == "passive" or np.any(q[:, None] * gate):
            h_new = softmax(self.logits(state.K, x)) if value_rule.reads_pre else None
            state.V = value_rule.update(state.V, h_new, y, q, gate, stable, hidden_axis=2)
        if self.stability:
            state.stable = update_stability(state.stable,
                                            self.key_rule.rate * learning_rate(q, gate, stable))

    def writes_at_once(self, q: np.ndarray, gate: np.ndarray) -> bool:
        """Can ``write_block`` store a block with global third factors q (B, L)
        and gates (B, L, N): are the rules the hand-designed ones and all clipped
        learning rates 0 or 1?"""
        hand_designed = (self.key_rule == pre_only_rule()
                         and self.value_rule in (hebbian_rule(), slot_rule()))
        binary_gate = gate.dtype == bool or bool(np.all((gate == 0) | (gate == 1)))
        return (hand_designed and not self.stability
                and (self.value_rule == slot_rule() or self.similarity == "dot")
                and binary_gate and bool(np.all((q == 0) | (q >= 1))))

    def write_block(self, state: KeyValueState, x: np.ndarray, y: np.ndarray,
                    written: np.ndarray, chunk_elements: int = 1 << 22) -> None:
        """L storage steps with clipped learning rates 0 or 1 at once
        (``writes_at_once``): x (B, L, d), y (B, L, m), ``written`` (B, L, N)
        marks rate 1. Equal to L calls of ``write``; trials are processed in
        chunks of about ``chunk_elements`` gathered scores."""
        B, L, N = written.shape
        step = max(1, chunk_elements // (N * max(L, N)))
        for lo in range(0, B, step):
            part = slice(lo, min(B, lo + step))
            self._write_block(state.K[part], state.V[part], x[part], y[part], written[part])

    def _write_block(self, K, V, x, y, written) -> None:
        """``write_block`` for one chunk; K (b, N, d) and V (b, m, N) in place.

        Neuron i's last write, at step s_i, stores y_s h'_s,i with h'_s =
        softmax(beta K_s x_s). The softmax is taken over R rows of keys: one
        row per step of the block where L < N (then h'_s_i,i is picked from
        row s_i), else one row per neuron (row i is read at s_i)."""
        b, L, N = written.shape
        steps = np.arange(L, dtype=np.int32)
        # last[., t, j]: the last step <= t that wrote neuron j (-1: none in this block)
        last = np.maximum.accumulate(np.where(written, steps[None, :, None], -1), axis=1)
        final = last[:, -1]                                             # s_i, (b, N)
        stored = final >= 0
        rows = np.arange(b)[:, None]
        source = np.maximum(final, 0)
        x_final = x[rows, source]                                       # (b, N, d)
        if self.value_rule == slot_rule():
            value = y[rows, source]
        else:
            per_step = L < N
            row_steps = np.broadcast_to(steps, (b, L)) if per_step else source   # (b, R)
            # key j at a row's step t: x at step last[t, j], or K_j from before the block
            key_step = last if per_step else np.take_along_axis(last, source[..., None], axis=1)
            x_rows = x[rows, row_steps]                                 # (b, R, d)
            scores = np.take_along_axis(x_rows @ x.transpose(0, 2, 1),
                                        np.maximum(key_step, 0), axis=2)   # (b, R, N)
            before = x_rows @ K.transpose(0, 2, 1) if K.any() else 0.0
            h = softmax(self.beta * np.where(key_step >= 0, scores, before))
            own_row = source if per_step else np.arange(N)
            value = y[rows, source] * h[rows, own_row, np.arange(N)][..., None]   # (b, N, m)
        V[:] = np.where(stored[:, None, :], value.transpose(0, 2, 1), V)
        K[:] = np.where(stored[..., None], x_final, K)

    def run(self, stream: EventStream, state: KeyValueState | None = None) -> np.ndarray:
        """Drive the memory with an event stream; returns y~ (B, T, m), read
        before each step's plasticity (NaN at unscored storage-only steps)."""
        if stream.gate is None:
            raise ValueError("the key-value memory needs the stream's local third factors (gate)")
        if stream.gate.shape[2] != self.N:
            raise ValueError(f"gate has {stream.gate.shape[2]} neurons, the memory N = {self.N}")
        state = state or self.initial_state(stream.batch, stream.d, stream.m)
        y_hat = np.full((stream.batch, stream.steps, stream.m), np.nan)
        for start, stop, kind in blocks(stream):
            if kind == "read":
                y_hat[:, start:stop] = self.read(state, stream.x[:, start:stop])
                continue
            if kind == "write":
                span = slice(start, stop)
                q, gate = stream.q[:, span], stream.gate[:, span]
                if self.writes_at_once(q, gate):
                    self.write_block(state, stream.x[:, span], stream.y[:, span],
                                     (q > 0)[..., None] & (gate > 0))
                    continue
            for t in range(start, stop):
                x = stream.x[:, t]
                if kind == "step":
                    if stream.feedback is not None and t > 0:
                        x = np.where(stream.feedback[:, t, None], np.sign(y_hat[:, t - 1]), x)
                    y_hat[:, t] = self.read(state, x[:, None])[:, 0]
                self.write(state, x, stream.y[:, t], stream.q[:, t], stream.gate[:, t])
        return y_hat
