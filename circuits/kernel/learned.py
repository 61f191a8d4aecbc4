"""Keys and values as free parameters, trained by gradient descent (Gershman,
Fiete & Irie 2025, section 5.1, Fig. 2), batched over trials, numpy gradients.

N pairs (k_n, v_n) in D = 2 dimensions; each key in turn is the query and the
memory must return its class feature f_n:
    A_ij = softmax_i(k_i . k_j / sqrt(D))       (eq. 5-6; memory keys i, query j)
    out_j = sum_i A_ij sigmoid(v_i)              (eq. 3)
    L = mean_{j, dims} (out_j - f_j)^2
As in the reference notebooks (kazuki-irie/kv-memory-brain), the memory-side
keys k_i are treated as constants (the notebook detaches them), so a key is
trained only through its role as a query:
    dL/dk_j = sum_i dL/dS_ij k_i / sqrt(D),   dL/dS_ij = A_ij (G_ij - sum_i' A_i'j G_i'j),
    G_ij = sigmoid(v_i) . dL/dout_j,          dL/dv_i = sigmoid'(v_i) sum_j A_ij dL/dout_j
Optimizer: Adam (PyTorch's defaults: beta1 0.9, beta2 0.999, eps 1e-8).
``accumulate=True`` reproduces the notebooks' loop, which never zeroes the
gradients: the gradient handed to Adam at step t is the sum of the gradients
of steps 1..t.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.circuits.key_value.rate import softmax


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class LearnedKeyValueMemory:
    """keys, values (B, N, D); targets (B, N, D) the class features."""

    keys: np.ndarray
    values: np.ndarray
    targets: np.ndarray

    def attention(self) -> np.ndarray:
        """A (B, N_memory, N_query), normalized over the memory axis."""
        scores = self.keys @ self.keys.transpose(0, 2, 1) / np.sqrt(self.keys.shape[-1])
        return softmax(scores, axis=1)

    def output(self, attention: np.ndarray | None = None) -> np.ndarray:
        A = self.attention() if attention is None else attention
        return A.transpose(0, 2, 1) @ sigmoid(self.values)

    def loss(self) -> np.ndarray:
        return ((self.output() - self.targets) ** 2).mean(axis=(1, 2))

    def gradients(self) -> tuple[np.ndarray, np.ndarray]:
        """dL/dkeys (query role only) and dL/dvalues, each (B, N, D)."""
        A = self.attention()
        stored = sigmoid(self.values)
        grad_out = 2.0 * (self.output(A) - self.targets) / self.targets[0].size
        G = stored @ grad_out.transpose(0, 2, 1)
        grad_scores = A * (G - (A * G).sum(axis=1, keepdims=True))
        grad_keys = grad_scores.transpose(0, 2, 1) @ self.keys / np.sqrt(self.keys.shape[-1])
        grad_values = stored * (1.0 - stored) * (A @ grad_out)
        return grad_keys, grad_values


@dataclass
class Adam:
    """Adam over a list of parameter arrays, updated in place."""

    learning_rate: float
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self):
        self.step_count = 0
        self.moments: list[tuple[np.ndarray, np.ndarray]] | None = None

    def step(self, parameters: list[np.ndarray], gradients: list[np.ndarray]) -> None:
        if self.moments is None:
            self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in parameters]
        self.step_count += 1
        t = self.step_count
        for parameter, gradient, (m, v) in zip(parameters, gradients, self.moments):
            m *= self.beta1
            m += (1 - self.beta1) * gradient
            v *= self.beta2
            v += (1 - self.beta2) * gradient ** 2
            m_hat, v_hat = m / (1 - self.beta1 ** t), v / (1 - self.beta2 ** t)
            parameter -= self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)


def train(memory: LearnedKeyValueMemory, steps: int, learning_rate: float = 3e-4,
          accumulate: bool = True, checkpoints: tuple[int, ...] = ()):
    """Train in place; yields the step number at 0 and at each checkpoint
    (after that many steps) so the caller can measure the memory there."""
    optimizer = Adam(learning_rate)
    summed = [np.zeros_like(memory.keys), np.zeros_like(memory.values)]
    if 0 in checkpoints:
        yield 0
    for step in range(1, steps + 1):
        gradients = memory.gradients()
        if accumulate:
            for total, gradient in zip(summed, gradients):
                total += gradient
            gradients = summed
        optimizer.step([memory.keys, memory.values], list(gradients))
        if step in checkpoints:
            yield step
