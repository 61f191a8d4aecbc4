"""Dense associative memories whose memories are synaptic weights, rate
realization, batched over trials: the modern Hopfield network with continuous
states (Ramsauer et al. 2020) and the dense associative memory with a
polynomial energy (Krotov & Hopfield 2016), as used in the generative memory
model of Spens & Burgess (supplement A.2.2, eq. 2-3).

Storage, shared by every network here (Krotov & Hopfield 2020): each memory is
a memory neuron whose synapses from the feature neurons hold the pattern. A
store step recruits the memory neuron whose dendritic gate gamma is open and
writes it in one shot with the gated Hebbian rule of ``neurosim.memory.plasticity``
    W_mu <- (1 - eta_mu) W_mu + eta_mu x,   eta_mu = q gamma_mu,
so with q = 1 row mu of W is the pattern after a single presentation. The
rows of W are the stored patterns X of eq. 2-3; neurons never recruited take
no part in recall.

Recall (from queries as initial states, until a fixed point or a step cap):
    modern (eq. 3):   xi <- X^T softmax(beta X xi)
    dense (eq. 2):    E(s) = -sum_mu F(x_mu . s),  F(z) = z**n; every neuron
                      takes the sign of E(s_i = -1) - E(s_i = +1) computed
                      from the current state (synchronous, as the reference
                      code's DenseHopfield); a tie keeps s_i. A trial stops
                      when all its states sit at a fixed point or a 2-cycle.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.events import EventStream, blocks
from neurosim.memory.gates import sequential_gates
from neurosim.memory.plasticity import gated_update, learning_rate

from neurosim.circuits.gsemm.rate import int_power


def masked_softmax(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """softmax over the last axis restricted to ``mask`` (broadcastable), stable
    at any scale of the logits: the largest logit is subtracted first, so
    exp never overflows; a row with no unmasked entry gives zeros, not NaN."""
    logits = np.where(mask, logits, -np.inf)
    top = logits.max(axis=-1, keepdims=True)
    shifted = np.exp(logits - np.where(np.isfinite(top), top, 0.0))
    total = shifted.sum(axis=-1, keepdims=True)
    return shifted / np.where(total > 0, total, 1.0)


def log_sum_exp(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """log sum exp over the last axis restricted to ``mask``, without overflow."""
    logits = np.where(mask, logits, -np.inf)
    top = logits.max(axis=-1)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.exp(logits - safe[..., None]).sum(axis=-1))


def overlaps(W: np.ndarray, recruited: np.ndarray, state: np.ndarray) -> np.ndarray:
    """m_mu = x_mu . state / d for every stored pattern: (B, T, K), NaN where
    memory neuron mu was never recruited."""
    m = state @ W.transpose(0, 2, 1) / W.shape[-1]
    return np.where(recruited[:, None, :], m, np.nan)


def check_beta(beta: float) -> None:
    if not (np.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a finite number > 0 (got {beta})")


def check_iterations(count: int) -> None:
    if count < 0:
        raise ValueError(f"max_iterations must be >= 0 (got {count})")


class OneShotMemory:
    """Memory neurons written in one shot (module docstring); subclasses define
    ``recall(W, recruited, x)`` for queries x (B, T, d) -> final states (B, T, d)."""

    @staticmethod
    def write(W: np.ndarray, recruited: np.ndarray, x: np.ndarray, q: np.ndarray,
              gate: np.ndarray) -> None:
        """One store step, in place: x (B, d), q (B,), gate (B, N)."""
        eta = learning_rate(q, gate)
        gated_update(W, eta, x[:, None, :], axis=1)
        recruited |= eta > 0

    def recall(self, W: np.ndarray, recruited: np.ndarray, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def run(self, stream: EventStream) -> np.ndarray:
        """Drive the memory with an event stream; returns the final states
        (B, T, d) at read steps (read before each step's storage), NaN at
        storage-only steps. Without gates in the stream every step has its own
        memory neuron (sequential gates with N = steps)."""
        if stream.feedback is not None and np.any(stream.feedback):
            raise ValueError("recurrent (feedback) recall streams are not supported here")
        gate = stream.gate if stream.gate is not None else sequential_gates(
            stream.batch, stream.steps, stream.steps)
        W = np.zeros((stream.batch, gate.shape[2], stream.d))
        recruited = np.zeros((stream.batch, gate.shape[2]), dtype=bool)
        y_hat = np.full((stream.batch, stream.steps, stream.d), np.nan)
        for start, stop, kind in blocks(stream):
            if kind == "read":
                y_hat[:, start:stop] = self.recall(W, recruited, stream.x[:, start:stop])
                continue
            for t in range(start, stop):
                if kind == "step":
                    y_hat[:, t] = self.recall(W, recruited, stream.x[:, t:t + 1])[:, 0]
                self.write(W, recruited, stream.x[:, t], stream.q[:, t], gate[:, t])
        return y_hat


@dataclass
class ModernHopfield(OneShotMemory):
    """Eq. 3 with inverse temperature beta, iterated until no entry of any
    state moves by more than ``tolerance`` or ``max_iterations`` updates."""

    beta: float = 1.0
    max_iterations: int = 100
    tolerance: float = 1e-9

    def __post_init__(self):
        check_beta(self.beta)
        check_iterations(self.max_iterations)

    def separation(self, W: np.ndarray, recruited: np.ndarray, xi: np.ndarray) -> np.ndarray:
        """softmax(beta X xi): the memory neurons' activity, (B, T, K)."""
        return masked_softmax(self.beta * (xi @ W.transpose(0, 2, 1)), recruited[:, None, :])

    def update(self, W: np.ndarray, recruited: np.ndarray, xi: np.ndarray) -> np.ndarray:
        """One step of eq. 3 for states xi (B, T, d)."""
        return self.separation(W, recruited, xi) @ W

    def recall(self, W, recruited, x):
        xi = x
        for _ in range(self.max_iterations):
            new = self.update(W, recruited, xi)
            converged = np.max(np.abs(new - xi), initial=0.0) <= self.tolerance
            xi = new
            if converged:
                break
        return xi

    def energy(self, W: np.ndarray, recruited: np.ndarray, xi: np.ndarray) -> np.ndarray:
        """Ramsauer et al.'s energy E = -lse(beta, X xi) + xi.xi / 2 (constants
        dropped), which eq. 3 never increases: (B, T)."""
        lse = log_sum_exp(self.beta * (xi @ W.transpose(0, 2, 1)), recruited[:, None, :])
        return -lse / self.beta + 0.5 * (xi * xi).sum(axis=-1)


@dataclass
class DenseAssociativeMemory(OneShotMemory):
    """Eq. 2 with F(z) = z**degree on binary states s in {-1, +1}^d and
    patterns in {-1, 0, +1} (0: an unrecruited or padded neuron)."""

    degree: int = 3
    max_iterations: int = 100

    def __post_init__(self):
        check_iterations(self.max_iterations)
        if self.degree < 1 or int(self.degree) != self.degree:
            raise ValueError(f"degree must be a positive integer (got {self.degree})")

    def energy(self, W: np.ndarray, recruited: np.ndarray, s: np.ndarray) -> np.ndarray:
        """E(s) = -sum_mu F(x_mu . s) over recruited memories: (B, T)."""
        fields = s @ W.transpose(0, 2, 1)
        return -np.where(recruited[:, None, :], int_power(fields, self.degree), 0.0).sum(axis=-1)

    def flip_gain(self, W: np.ndarray, recruited: np.ndarray, s: np.ndarray) -> np.ndarray:
        """E(s_i = -1) - E(s_i = +1) for every neuron i, (B, T, d).

        With a_mu,i = x_mu . s - x_mu,i s_i and D(a) = F(a + 1) - F(a - 1),
        sum_mu [F(a + x_mu,i) - F(a - x_mu,i)] equals
        [X^T A]_i + s_i [(X o X)^T C]_i with A = (D(h - 1) + D(h + 1)) / 2,
        C = (D(h - 1) - D(h + 1)) / 2, h = X s (exact for x in {-1, 0, 1}),
        so a step costs O(K d), not O(K d^2)."""
        n = self.degree
        h = s @ W.transpose(0, 2, 1)

        def D(a):
            return int_power(a + 1.0, n) - int_power(a - 1.0, n)

        low, high = D(h - 1.0), D(h + 1.0)
        mask = recruited[:, None, :]
        A = np.where(mask, (low + high) / 2, 0.0)
        C = np.where(mask, (low - high) / 2, 0.0)
        return A @ W + s * (C @ (W * W))

    def recall(self, W, recruited, x):
        """Queries must be +-1; an all-zero query (a padded step) returns zeros."""
        padded = np.all(x == 0, axis=-1, keepdims=True)
        s = np.where(padded, 1.0, x)
        if not np.all(np.abs(s) == 1):
            raise ValueError("the dense associative memory needs binary +-1 queries")
        previous = s.copy()
        active = np.arange(W.shape[0])
        for _ in range(self.max_iterations):
            current = s[active]
            gain = self.flip_gain(W[active], recruited[active], current)
            new = np.where(gain == 0, current, np.sign(gain))
            settled = (np.all(new == current, axis=2) | np.all(new == previous[active], axis=2))
            previous[active] = current
            s[active] = new
            active = active[~settled.all(axis=1)]
            if active.size == 0:
                break
        return np.where(padded, 0.0, s)
