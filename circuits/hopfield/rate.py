"""Classical Hebbian associative memories, rate realization, batched over trials:
the Hopfield network (Hopfield 1982) and the bidirectional associative memory
(BAM, Kosko 1988), the baselines of Tyulmankov et al. 2021.

Storage (outer-product rule, gated by the global third factor, with the
passive decay of the paper's footnote 4):
    W <- lambda_t W + w_t y x^T,   lambda_t = 1 - min(q_t, 1) (1 - lambda)
where w_t = q_t for ordinary stores (q <= 1) and w_t = ``flashbulb_strength``
for salient stores (q > 1), the paper's "large-magnitude update" (Fig. 4b).
Hopfield: y = x, W is d x d and keeps its diagonal. BAM: W is m x d.

Recall (synchronous, until a fixed point or ``max_iterations``; with 0
iterations BAM is the one-step heteroassociative readout y = sign(W x)):
    Hopfield: s <- sign(W s), starting from the query; readout s.
    BAM:      y <- sign(W x), x <- sign(W^T y), starting from the query x;
              readout y.
sign(0) = 0, which the accuracy (eq. 18) counts as wrong.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.events import EventStream, blocks


@dataclass
class HebbianMemory:
    """``bidirectional=False``: Hopfield network; True: BAM."""

    bidirectional: bool = False
    decay: float = 1.0
    flashbulb_strength: float | None = None
    max_iterations: int = 100

    def __post_init__(self):
        if not 0 < self.decay <= 1:
            raise ValueError(f"decay lambda must lie in (0, 1] (got {self.decay})")
        if self.max_iterations < 0:
            raise ValueError("max_iterations must be >= 0")

    def store_weights(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-step decay lambda_t and write strength w_t for q of shape (B, T)."""
        decay = 1.0 - np.minimum(q, 1.0) * (1.0 - self.decay)
        strength = q if self.flashbulb_strength is None else np.where(
            q > 1, self.flashbulb_strength, q)
        return decay, strength

    def store(self, W: np.ndarray, x: np.ndarray, y: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Apply T storage steps at once: W_T = (prod lambda) W_0 +
        sum_t w_t (prod_{s>t} lambda_s) y_t x_t^T. x (B,T,d), y (B,T,m), q (B,T)."""
        decay, strength = self.store_weights(q)
        later = np.cumprod(decay[:, ::-1], axis=1)[:, ::-1]
        after = np.concatenate([later[:, 1:], np.ones_like(later[:, :1])], axis=1)
        weight = strength * after
        return later[:, :1, None] * W + (y * weight[..., None]).transpose(0, 2, 1) @ x

    def recall(self, W: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Synchronous dynamics from queries x (B, T, d); returns the readout (B, T, m).
        Trials stop iterating once all their queries sit at a fixed point."""
        out = np.sign(x @ W.transpose(0, 2, 1)) if self.bidirectional else x.copy()
        active = np.arange(W.shape[0])
        for _ in range(self.max_iterations):
            everyone = active.size == W.shape[0]
            Wa, current = (W, out) if everyone else (W[active], out[active])
            if self.bidirectional:
                new = np.sign(np.sign(current @ Wa) @ Wa.transpose(0, 2, 1))
            else:
                new = np.sign(current @ Wa.transpose(0, 2, 1))
            changed = np.any(new != current, axis=(1, 2))
            out[active] = new
            active = active[changed]
            if active.size == 0:
                break
        return out

    def run(self, stream: EventStream) -> np.ndarray:
        """Drive the memory with an event stream; readout (B, T, m) before each
        step's storage, NaN at storage-only steps."""
        B, d, m = stream.batch, stream.d, stream.m
        if not self.bidirectional and d != m:
            raise ValueError(f"a Hopfield network needs d == m (got d={d}, m={m}); use BAM")
        W = np.zeros((B, m, d))
        y_hat = np.full((B, stream.steps, m), np.nan)
        for start, stop, kind in blocks(stream):
            span = slice(start, stop)
            if kind == "write":
                W = self.store(W, stream.x[:, span], stream.y[:, span], stream.q[:, span])
                continue
            x = stream.x[:, span]
            if kind == "step" and stream.feedback is not None and start > 0:
                x = np.where(stream.feedback[:, span, None], np.sign(y_hat[:, start - 1:start]), x)
            y_hat[:, span] = self.recall(W, x)
            if kind == "step":
                W = self.store(W, x, stream.y[:, span], stream.q[:, span])
        return y_hat
