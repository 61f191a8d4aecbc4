"""A linear layer trained by gradient descent is a key-value memory (Gershman,
Fiete & Irie 2025, section 2.3, eq. 10-11; Irie et al. 2022), batched over trials.

Training (minibatch SGD on y = x W, loss L averaged over the minibatch):
    W = W_0 + sum_n x_n^T e_n,   e_n = -eta (dL/dy)_n              (eq. 10)
Dual form, the same output for any input x:
    y = x W_0 + sum_n alpha_n v_n,   alpha = x K^T,  k_n = x_n,  v_n = e_n   (eq. 11)
i.e. the correlation-matrix memory of ``kernel_memory`` (dot similarity,
identity separation) holding the training inputs as keys and the error
signals as values.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.circuits.key_value.rate import softmax

LOSSES = ("mse", "cross-entropy")


def output_gradient(loss: str, y: np.ndarray, target: np.ndarray) -> np.ndarray:
    """dL/dy per example: MSE L = ||y - t||^2 / 2 gives y - t; cross-entropy
    of softmax(y) against integer labels t gives softmax(y) - onehot(t)."""
    if loss == "mse":
        return y - target
    if loss == "cross-entropy":
        return softmax(y) - np.eye(y.shape[-1])[target.astype(int)]
    raise ValueError(f"loss must be one of {LOSSES} (got {loss!r})")


@dataclass
class GradientMemory:
    """The trained layer and its memory: W (B, d_in, d_out), and the pairs
    keys (B, N, d_in) = inputs seen, values (B, N, d_out) = error signals."""

    W0: np.ndarray
    W: np.ndarray
    keys: np.ndarray
    values: np.ndarray

    def primal(self, x: np.ndarray) -> np.ndarray:
        """y = x W for x (B, Q, d_in)."""
        return x @ self.W

    def dual(self, x: np.ndarray) -> np.ndarray:
        """Eq. 11: y = x W_0 + (x K^T) V."""
        return x @ self.W0 + (x @ self.keys.transpose(0, 2, 1)) @ self.values


def train_linear_layer(W0: np.ndarray, inputs: np.ndarray, targets: np.ndarray, *,
                       learning_rate: float, batch_size: int = 1,
                       loss: str = "mse") -> GradientMemory:
    """Minibatch SGD over inputs (B, N, d_in) in order, one pass; targets are
    (B, N, d_out) for MSE or integer labels (B, N) for cross-entropy."""
    if learning_rate <= 0 or batch_size < 1:
        raise ValueError("learning_rate must be > 0 and batch_size >= 1")
    W = W0.copy()
    values = np.empty(inputs.shape[:2] + (W0.shape[-1],))
    for start in range(0, inputs.shape[1], batch_size):
        span = slice(start, start + batch_size)
        x = inputs[:, span]
        error = -learning_rate / x.shape[1] * output_gradient(loss, x @ W, targets[:, span])
        values[:, span] = error
        W = W + x.transpose(0, 2, 1) @ error
    return GradientMemory(W0=W0, W=W, keys=inputs.copy(), values=values)
