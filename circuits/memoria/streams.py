"""Input streams for Memoria protocols: i.i.d. engrams and streams with recurring content.
"""
from __future__ import annotations

import math

import numpy as np


def stream_rng(seed) -> np.random.Generator:
    """A numpy Generator from an int or SeedSequence (for protocol streams)."""
    return np.random.default_rng(seed if isinstance(seed, np.random.SeedSequence)
                                 else np.random.SeedSequence(seed))


def random_stream(rng: np.random.Generator, steps: int, n_wm: int, dim: int,
                  scale: float = 1.0) -> np.ndarray:
    """Continuous i.i.d. stream, shape (steps, n_wm, dim): x ~ N(0, scale^2 / dim) per
    coordinate (so ||x||^2 ~ scale^2), rounded to float32 so that a float32 reference
    sees exactly the same numbers. No two engrams are equal (no distance ties)."""
    x = rng.normal(0.0, scale / math.sqrt(dim), size=(steps, n_wm, dim))
    return x.astype(np.float32).astype(np.float64)


def recurring_stream(rng: np.random.Generator, steps: int, n_wm: int, dim: int,
                     n_items: int = 20, noise: float = 0.1, scale: float = 1.0,
                     repeat_every: int = 0, stay: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A stream with recurring content: ``n_items`` prototype vectors; each step shows
    n_wm noisy copies of prototypes (one item per step; every ``repeat_every`` steps the
    item of an earlier step returns when repeat_every > 0, else items are drawn at random,
    and with probability ``stay`` the previous step's item stays on, like a topic in text).
    Returns (data (steps, n_wm, dim), item (steps,))."""
    protos = rng.normal(0.0, scale / math.sqrt(dim), size=(n_items, dim))
    items = rng.integers(n_items, size=steps)
    if stay > 0:
        keep = rng.random(steps) < stay
        for t in range(1, steps):
            if keep[t]:
                items[t] = items[t - 1]
    if repeat_every > 0:
        items = np.arange(steps) % repeat_every % n_items
    data = protos[items][:, None, :] + rng.normal(0.0, noise * scale / math.sqrt(dim),
                                                    size=(steps, n_wm, dim))
    return data.astype(np.float32).astype(np.float64), items
