"""Scaffold memory after Box 1 of Gershman, Fiete & Irie 2025 (MESH, Sharma
et al. 2022; Vector-HaSH, Chandra et al. 2025), rate realization, batched over
trials.

Three layers: sensory s (d units), dense d (N_d units), attractor a (modules
of grid-like periodic codes). A scaffold state is a 2D position (x, y); module
i with period lambda_i codes it as the one-hot of (x mod lambda_i, y mod
lambda_i) among lambda_i^2 cells. The scaffold is fixed before any memory:
    dense state       d(a) = sign(a W_ad),  W_ad random Gaussian (keys, fixed)
    return weights    W_da = D^+ A  (pseudo-inverse over the scaffold states)
    attractor         a = WTA_modules(d W_da)  (winner-take-all in each module)
Memories are heteroassociative and Hebbian: the n-th stored pair (x_n, y_n)
gets the n-th of the scaffold states in a random order drawn per trial (so
successive memories spread over the cells of every module) and
    W_sd += q x_n^T d_n,   W_ds += q d_n^T y_n
Retrieval from a (noisy) cue x (Box 1, the query is denoised by the scaffold):
    a = WTA(x W_sd W_da),  [a <- WTA(d(a) W_da), ``iterations`` times],
    y~ = sign(d(a) W_ds)
In the key-value reading of Box 1: K = W_ad^T (fixed random keys), V = W_ds.
The readout has the event-stream shape (B, T, m), NaN at unscored steps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.events import EventStream, blocks


def grid_codes(periods: tuple[int, ...], states: int) -> np.ndarray:
    """Attractor states A (states, sum lambda^2): the first ``states`` positions
    of a raster over the L x L torus, L = prod(periods), one one-hot per module
    (positions within the torus have distinct codes)."""
    side = int(np.prod(periods))
    if states > side * side:
        raise ValueError(f"{states} scaffold states exceed the {side * side} unique grid codes")
    index = np.arange(states)
    x, y = index % side, index // side
    codes = [np.eye(p * p)[(x % p) * p + (y % p)] for p in periods]
    return np.concatenate(codes, axis=1)


def pseudo_inverse_solve(D: np.ndarray, A: np.ndarray) -> np.ndarray:
    """D^+ A for a full-rank batch D (B, n, k): (D^T D)^-1 D^T A when n >= k,
    else D^T (D D^T)^-1 A (the normal equations; much cheaper than an SVD)."""
    Dt = D.transpose(0, 2, 1)
    if D.shape[1] >= D.shape[2]:
        return np.linalg.solve(Dt @ D, Dt @ A)
    return Dt @ np.linalg.solve(D @ Dt, np.broadcast_to(A, D.shape[:2] + A.shape[-1:]))


def module_winner_take_all(drive: np.ndarray, periods: tuple[int, ...]) -> np.ndarray:
    """One-hot of the most driven cell in each module, drive (..., sum lambda^2)."""
    out = np.zeros_like(drive)
    start = 0
    for p in periods:
        span = slice(start, start + p * p)
        winner = drive[..., span].argmax(axis=-1)[..., None]
        np.put_along_axis(out[..., span], winner, 1.0, axis=-1)
        start += p * p
    return out


@dataclass(frozen=True)
class ScaffoldMemory:
    """``periods``: grid module periods; ``dense``: N_d; ``states``: scaffold
    states available as addresses (None: all prod(periods)^2 distinct codes;
    at least the number of stored items)."""

    periods: tuple[int, ...] = (3, 4, 5)
    dense: int = 400
    states: int | None = None
    iterations: int = 1

    def __post_init__(self):
        if not self.periods or min(self.periods) < 2:
            raise ValueError("periods must be integers >= 2")
        if self.dense < 1 or (self.states is not None and self.states < 1) or self.iterations < 0:
            raise ValueError("dense and states must be >= 1, iterations >= 0")

    @property
    def addresses(self) -> int:
        return self.states or int(np.prod(self.periods)) ** 2

    def scaffold(self, rng: np.random.Generator, batch: int):
        """Fixed random scaffold per trial: grid codes A, W_ad, dense states D, W_da."""
        A = grid_codes(self.periods, self.addresses)
        W_ad = rng.standard_normal((batch, A.shape[1], self.dense))
        D = self.dense_state(A[None], W_ad)
        return A, W_ad, D, pseudo_inverse_solve(D, A)

    @staticmethod
    def dense_state(a: np.ndarray, W_ad: np.ndarray) -> np.ndarray:
        """d = sign(a W_ad), with sign(0) = +1 so every dense unit is +-1."""
        return np.where(a @ W_ad >= 0, 1.0, -1.0)

    def recall(self, cues: np.ndarray, W_sd: np.ndarray, W_ds: np.ndarray, W_ad: np.ndarray,
               W_da: np.ndarray) -> np.ndarray:
        """y~ (B, Q, m) for cues (B, Q, d)."""
        a = module_winner_take_all(cues @ W_sd @ W_da, self.periods)
        for _ in range(self.iterations):
            a = module_winner_take_all(self.dense_state(a, W_ad) @ W_da, self.periods)
        return np.sign(self.dense_state(a, W_ad) @ W_ds)

    def run(self, stream: EventStream, rng: np.random.Generator) -> np.ndarray:
        """Store the pairs of q > 0 steps at successive scaffold states; read at
        scored steps before each step's storage."""
        if stream.feedback is not None:
            raise ValueError("the scaffold memory does not support feedback steps")
        stores = np.cumsum(stream.q > 0, axis=1)
        if stores[:, -1].max(initial=0) > self.addresses:
            raise ValueError(f"{stores[:, -1].max()} stored items exceed the {self.addresses} "
                             "scaffold states")
        _, W_ad, D, W_da = self.scaffold(rng, stream.batch)
        order = rng.random((stream.batch, self.addresses)).argsort(axis=1)
        address = np.take_along_axis(order, (stores - 1).clip(0), axis=1)
        d_store = np.take_along_axis(D, address[..., None], axis=1) * stream.q[..., None]
        W_sd = np.zeros((stream.batch, stream.d, self.dense))
        W_ds = np.zeros((stream.batch, self.dense, stream.m))
        y_hat = np.full((stream.batch, stream.steps, stream.m), np.nan)
        for start, stop, kind in blocks(stream):
            for t in (range(start, stop) if kind == "step" else [slice(start, stop)]):
                span = t if isinstance(t, slice) else slice(t, t + 1)
                if kind != "write":
                    y_hat[:, span] = self.recall(stream.x[:, span], W_sd, W_ds, W_ad, W_da)
                if kind != "read":
                    W_sd = W_sd + stream.x[:, span].transpose(0, 2, 1) @ d_store[:, span]
                    W_ds = W_ds + d_store[:, span].transpose(0, 2, 1) @ stream.y[:, span]
        return y_hat
