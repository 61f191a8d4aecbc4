"""Local third factors gamma_t,i: which hidden neuron's dendrite allows
plasticity at step t (Tyulmankov et al. 2021, eq. 6-7)."""
from __future__ import annotations

import numpy as np

GATE_POLICIES = ("sequential", "random")


def sequential_gates(batch: int, steps: int, N: int) -> np.ndarray:
    """Eq. 6: [gamma_t]_i = 1 if t = i mod N (least-recently-used slot). The
    pointer advances at every step, stored or not. Shape (batch, steps, N)."""
    one_hot = np.arange(steps)[:, None] % N == np.arange(N)[None, :]
    return np.broadcast_to(one_hot, (batch, steps, N))


def random_gates(rng: np.random.Generator, batch: int, steps: int, N: int,
                 p: float) -> np.ndarray:
    """Eq. 7: [gamma_t]_i ~ Bernoulli(p), independently per neuron and step."""
    if not 0 <= p <= 1:
        raise ValueError(f"gate probability p must lie in [0, 1] (got {p})")
    return rng.random((batch, steps, N)) < p


def gate_probability(p: float | str, N: int) -> float:
    """Read p as a number or as 'k/N' (e.g. '4/N', the paper's p ~ 4/N)."""
    if isinstance(p, str) and p.replace(" ", "").endswith("/N"):
        return float(p.replace(" ", "")[:-2]) / N
    return float(p)


def make_gates(policy: str, rng: np.random.Generator, batch: int, steps: int, N: int,
               p: float | str = "4/N") -> np.ndarray:
    if policy == "sequential":
        return sequential_gates(batch, steps, N)
    if policy == "random":
        return random_gates(rng, batch, steps, N, gate_probability(p, N))
    raise ValueError(f"unknown gate policy {policy!r}; choose from {', '.join(GATE_POLICIES)}")
