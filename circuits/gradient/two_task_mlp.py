"""A one-hidden-layer ReLU network (no biases) trained on two tasks in turn,
read as two sets of key-value memories (Gershman, Fiete & Irie 2025, section
5.2), batched over trials (networks).

By eq. 10-11 each layer's weights are W = W_0 + sum_n x_n^T e_n: the
initialization plus one key-value pair per training input (key = layer input,
value = error signal). Summing the pairs of each task gives W = W_task1 +
W_task2 with W_task1 = W_0 + (task-1 pairs), W_task2 = (task-2 pairs), and
reactivating the task-1 memories by a factor beta reads
    h = relu(beta x W_task1_in + x W_task2_in),
    logits = beta h W_task1_out + h W_task2_out.
This is the reference notebook's construction (kazuki-irie/kv-memory-brain,
Forgetting_and_recovery.ipynb): the task-2 parts start at zero, the task-1
parts are frozen while task 2 is learned, and beta also scales W_0.

Training: minibatch SGD on the cross-entropy averaged over the minibatch;
initialization uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] (the paper's
methods). Shapes: W_in (B, 2, d_in, hidden), W_out (B, 2, hidden, classes).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.circuits.gradient.dual import output_gradient


@dataclass
class TwoTaskMLP:
    W_in: np.ndarray
    W_out: np.ndarray

    @classmethod
    def initial(cls, rng: np.random.Generator, batch: int, d_in: int = 784, hidden: int = 64,
                classes: int = 4) -> "TwoTaskMLP":
        W_in = np.zeros((batch, 2, d_in, hidden))
        W_out = np.zeros((batch, 2, hidden, classes))
        W_in[:, 0] = rng.uniform(-1, 1, (batch, d_in, hidden)) / np.sqrt(d_in)
        W_out[:, 0] = rng.uniform(-1, 1, (batch, hidden, classes)) / np.sqrt(hidden)
        return cls(W_in, W_out)

    def forward(self, x: np.ndarray, beta: float = 1.0):
        """Logits (B, n, classes) and hidden pre-activations for inputs x (B, n, d_in)."""
        scale = np.array([beta, 1.0])[None, :, None, None]
        pre = x @ (scale * self.W_in).sum(axis=1)
        hidden = np.maximum(pre, 0.0)
        return hidden @ (scale * self.W_out).sum(axis=1), pre

    def accuracy(self, x: np.ndarray, labels: np.ndarray, beta: float = 1.0) -> np.ndarray:
        """Fraction of inputs whose largest logit (over all classes) is the label, per trial."""
        logits, _ = self.forward(x, beta)
        return (logits.argmax(axis=-1) == labels).mean(axis=-1)

    def sgd_step(self, x: np.ndarray, labels: np.ndarray, task: int, learning_rate: float) -> None:
        """One SGD step on the part of ``task`` (0 or 1) only, at beta = 1."""
        logits, pre = self.forward(x)
        error = output_gradient("cross-entropy", logits, labels) / x.shape[1]
        hidden = np.maximum(pre, 0.0)
        error_hidden = (error @ self.W_out.sum(axis=1).transpose(0, 2, 1)) * (pre > 0)
        self.W_out[:, task] -= learning_rate * hidden.transpose(0, 2, 1) @ error
        self.W_in[:, task] -= learning_rate * x.transpose(0, 2, 1) @ error_hidden
