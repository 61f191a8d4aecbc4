"""The two-layer modern Hopfield network of Krotov & Hopfield (2020): feature
neurons v (d of them) and memory neurons h (one per stored memory), coupled
in both directions by the same synapses W, whose row mu is memory mu written
in one shot by the gated Hebbian rule (``modern_hopfield.OneShotMemory``).
Rate realization, batched over trials; times in ms.

Dynamics (their eq. 1 with "model B" Lagrangians L_v = v.v / 2 and
L_h = lse(beta, h) / beta, so g(v) = v and f(h) = softmax(beta h) over the
recruited memory neurons):
    tau_f dv/dt = W^T f(h) - v,      tau_h dh/dt = W v - h,
integrated exactly over the leak for a step dt (exponential Euler, as
Brian2's ``exponential_euler``), from v(0) = query and h(0) = 0. With
tau_h -> 0 the fixed points are those of eq. 3, v* = X^T softmax(beta X v*),
and their energy (K&H 2020 eq. 2)
    E = v.v / 2 + [h . f(h) - L_h(h)] - f(h)^T W v
never increases along a trajectory. Readout: v at the end of the recall.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.circuits.modern_hopfield.rate import (OneShotMemory, check_beta, log_sum_exp,
                                                    masked_softmax)


@dataclass
class TwoLayerHopfield(OneShotMemory):
    beta: float = 1.0
    tau_f: float = 10.0
    tau_h: float = 2.0
    dt: float = 0.5
    duration: float = 50.0

    def __post_init__(self):
        check_beta(self.beta)
        if self.tau_f <= 0 or self.tau_h < 0:
            raise ValueError("tau_f must be > 0 and tau_h >= 0 (0: memory neurons at equilibrium)")
        if self.dt <= 0 or self.duration < 0:
            raise ValueError("dt must be > 0 and duration >= 0")

    def memory_activity(self, recruited: np.ndarray, h: np.ndarray) -> np.ndarray:
        return masked_softmax(self.beta * h, recruited[:, None, :])

    def integrate(self, W: np.ndarray, recruited: np.ndarray, v: np.ndarray, h: np.ndarray,
                  steps: int) -> tuple[np.ndarray, np.ndarray]:
        """``steps`` steps of dt from feature states v (B, T, d) and memory
        currents h (B, T, K); returns the new (v, h)."""
        keep_f = np.exp(-self.dt / self.tau_f)
        keep_h = np.exp(-self.dt / self.tau_h) if self.tau_h > 0 else 0.0
        for _ in range(steps):
            drive_h = v @ W.transpose(0, 2, 1)
            h = drive_h + (h - drive_h) * keep_h if self.tau_h > 0 else drive_h
            drive_f = self.memory_activity(recruited, h) @ W
            v = drive_f + (v - drive_f) * keep_f
        return v, h

    def recall(self, W, recruited, x):
        h = np.zeros(x.shape[:2] + (W.shape[1],))
        return self.integrate(W, recruited, x, h, int(round(self.duration / self.dt)))[0]

    def energy(self, W: np.ndarray, recruited: np.ndarray, v: np.ndarray,
               h: np.ndarray) -> np.ndarray:
        """K&H 2020 eq. 2 for model B: (B, T)."""
        mask = recruited[:, None, :]
        f = self.memory_activity(recruited, h)
        lagrangian_h = log_sum_exp(self.beta * h, mask) / self.beta
        memory_term = np.where(mask, h * f, 0.0).sum(axis=-1) - lagrangian_h
        interaction = (f * (v @ W.transpose(0, 2, 1))).sum(axis=-1)
        return 0.5 * (v * v).sum(axis=-1) + memory_term - interaction
