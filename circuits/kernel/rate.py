"""Key-value memories as "similarity kernel x separation operator" (Gershman,
Fiete & Irie, "Key-value memory in the brain", 2025, section 2.1; Millidge et
al. 2022), rate realization, batched over trials.

Correlation-matrix memory (Kohonen; eq. 1-2), recurrent "fast weight" form:
    M_t = M_{t-1} + q_t phi(k_t)^T v_t,     v~ = phi(query) M
Dual form (eq. 3-4): the same readout from the stored pairs,
    v~ = sum_n alpha_n v_n,   alpha = sigma(S(K, query)),   S = phi(query) phi(K)^T
With phi = identity and sigma = identity the two forms are equal (eq. 2 = eq. 3);
with another feature map phi it is linear attention written as a fast weight
programmer (eq. 4, the recurrent form of linearized attention).

Similarity kernels S(k, query) (one score per stored key):
    dot          query . k
    scaled-dot   query . k / sqrt(d)                     (eq. 5)
    euclidean    -||query - k||_2                        (negative Euclidean distance)
    manhattan    -||query - k||_1
Separation operators sigma over the stored items of one query:
    identity     alpha = s                               (correlation-matrix memory)
    softmax      alpha = exp(beta s) / sum exp(beta s)    (eq. 6; attention)
    max          alpha = one-hot of argmax s (the first on ties)
    threshold    alpha = 1[s >= theta]                    (sparse distributed memory)
    polynomial   alpha = max(s, 0)^n                      (dense associative memory)

Event-stream contract (as the other circuits): at a step with q > 0 the pair
(x_t, y_t) is stored with strength q_t (the value becomes q_t y_t); every
scored step reads with x_t as the query before that step's storage. Readout
y~ has shape (B, T, m), NaN at unscored steps. Keys, values and the scores of
one query are the same arrays a spiking twin would consume: the stored pairs
(B, N, d), (B, N, m) and the queries (B, Q, d).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.circuits.key_value.rate import softmax
from neurosim.events import EventStream

SIMILARITIES = ("dot", "scaled-dot", "euclidean", "manhattan")
SEPARATIONS = ("identity", "softmax", "max", "threshold", "polynomial")
FEATURE_MAPS = ("identity", "elu+1")
CHUNK_ELEMENTS = 1 << 22


def feature_map(name: str, x: np.ndarray) -> np.ndarray:
    """phi of eq. 4: identity, or elu(x) + 1 (positive features of linear attention)."""
    if name == "identity":
        return x
    if name == "elu+1":
        return np.where(x > 0, x + 1.0, np.exp(np.minimum(x, 0.0)))
    raise ValueError(f"feature map must be one of {FEATURE_MAPS} (got {name!r})")


def similarity(name: str, queries: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Scores S (B, Q, N) of queries (B, Q, d) against keys (B, N, d)."""
    if name in ("dot", "scaled-dot"):
        scores = queries @ keys.transpose(0, 2, 1)
        return scores / np.sqrt(keys.shape[-1]) if name == "scaled-dot" else scores
    if name == "euclidean":
        squared = ((queries ** 2).sum(-1)[:, :, None] + (keys ** 2).sum(-1)[:, None, :]
                   - 2.0 * queries @ keys.transpose(0, 2, 1))
        return -np.sqrt(np.maximum(squared, 0.0))
    if name == "manhattan":
        return -np.abs(queries[:, :, None, :] - keys[:, None, :, :]).sum(-1)
    raise ValueError(f"similarity must be one of {SIMILARITIES} (got {name!r})")


@dataclass(frozen=True)
class Separation:
    """A separation operator sigma with its parameters: softmax gain ``beta``,
    threshold ``theta`` (in the units of the similarity), polynomial ``degree``."""

    name: str
    beta: float = 1.0
    theta: float = 0.0
    degree: float = 3.0

    def __post_init__(self):
        if self.name not in SEPARATIONS:
            raise ValueError(f"separation must be one of {SEPARATIONS} (got {self.name!r})")

    def __call__(self, scores: np.ndarray, stored: np.ndarray) -> np.ndarray:
        """Attention weights alpha (B, Q, N); items not ``stored`` (a mask
        broadcastable to the scores) get 0."""
        name = self.name
        if name == "identity":
            alpha = scores
        elif name == "softmax":
            logits = np.where(stored, self.beta * scores, -np.inf)
            top = logits.max(axis=-1, keepdims=True)
            alpha = np.where(np.isfinite(top), softmax(np.where(np.isfinite(top), logits, 0.0)), 0.0)
        elif name == "max":
            masked = np.where(stored, scores, -np.inf)
            alpha = np.zeros_like(scores)
            winner = masked.argmax(axis=-1)[..., None]
            np.put_along_axis(alpha, winner, 1.0, axis=-1)
            alpha *= np.isfinite(np.take_along_axis(masked, winner, axis=-1))
        elif name == "threshold":
            alpha = (scores >= self.theta).astype(float)
        else:
            alpha = np.maximum(scores, 0.0) ** self.degree
        return np.where(stored, alpha, 0.0)


def read_pairs(similarity_name: str, separations: list[Separation], keys: np.ndarray,
               values: np.ndarray, queries: np.ndarray, stored: np.ndarray,
               feature: str = "identity") -> list[np.ndarray]:
    """Dual-form readouts (eq. 3) sum_n sigma(S(phi(K), phi(query)))_n v_n, one
    (B, Q, m) array per separation, from keys (B, N, d), values (B, N, m),
    queries (B, Q, d) and the mask ``stored`` (B, Q or 1, N) of items a query
    may see. The similarity is computed once, in chunks of queries."""
    keys, queries = feature_map(feature, keys), feature_map(feature, queries)
    B, Q, _ = queries.shape
    N, d = keys.shape[1], keys.shape[2]
    per_row = B * N * (d if similarity_name == "manhattan" else 1)
    rows = max(1, CHUNK_ELEMENTS // max(per_row, 1))
    outputs = [np.empty((B, Q, values.shape[-1])) for _ in separations]
    for start in range(0, Q, rows):
        span = slice(start, start + rows)
        scores = similarity(similarity_name, queries[:, span], keys)
        mask = stored[:, span] if stored.shape[1] == Q else stored
        for out, separation in zip(outputs, separations):
            out[:, span] = separation(scores, mask) @ values
    return outputs


def _stored_pairs(stream: EventStream):
    """Columns of the steps that store something, the scored rows, and the
    causal mask: query step t sees the items stored at steps s < t."""
    columns = np.flatnonzero(np.any(stream.q > 0, axis=0))
    rows = np.flatnonzero(np.any(stream.query, axis=0))
    stored = (stream.q[:, columns] > 0)[:, None, :] & (columns[None, None, :] < rows[None, :, None])
    keys = stream.x[:, columns]
    values = stream.q[:, columns, None] * stream.y[:, columns]
    return rows, keys, values, stored


@dataclass(frozen=True)
class KernelMemory:
    """Dual form (eq. 3-6): a similarity kernel, a separation operator and a
    feature map; stores every (x, y) pair of the stream (no slot limit)."""

    similarity: str = "dot"
    separation: Separation = Separation("identity")
    feature: str = "identity"

    def __post_init__(self):
        if self.similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {SIMILARITIES} (got {self.similarity!r})")
        if self.feature not in FEATURE_MAPS:
            raise ValueError(f"feature map must be one of {FEATURE_MAPS} (got {self.feature!r})")

    def read(self, keys: np.ndarray, values: np.ndarray, queries: np.ndarray,
             stored: np.ndarray | None = None) -> np.ndarray:
        """Readout (B, Q, m) of queries (B, Q, d) from the pairs (B, N, d), (B, N, m)."""
        if stored is None:
            stored = np.ones((keys.shape[0], 1, keys.shape[1]), dtype=bool)
        return read_pairs(self.similarity, [self.separation], keys, values, queries, stored,
                          self.feature)[0]

    def run(self, stream: EventStream) -> np.ndarray:
        return run_separations(stream, self.similarity, [self.separation], self.feature)[0]


def run_separations(stream: EventStream, similarity_name: str, separations: list[Separation],
                    feature: str = "identity") -> list[np.ndarray]:
    """Readouts y~ (B, T, m) of one stream for several separations that share
    a similarity (the scores are computed once)."""
    if stream.feedback is not None:
        raise ValueError("the kernel memories read the stream's inputs; feedback steps are not supported")
    rows, keys, values, stored = _stored_pairs(stream)
    outputs = []
    for readout in read_pairs(similarity_name, separations, keys, values, stream.x[:, rows],
                              stored, feature):
        y_hat = np.full((stream.batch, stream.steps, stream.m), np.nan)
        y_hat[:, rows] = readout
        outputs.append(y_hat)
    return outputs


@dataclass(frozen=True)
class CorrelationMatrixMemory:
    """Primal form: Kohonen's associator (eq. 1-2), or with a feature map phi
    the fast weight programmer of linear attention. The weights M (B, d, m)
    are updated recurrently, M_t = M_{t-1} + q_t phi(x_t)^T y_t, and read as
    phi(x_t) M_{t-1} before each step's update."""

    feature: str = "identity"

    def __post_init__(self):
        if self.feature not in FEATURE_MAPS:
            raise ValueError(f"feature map must be one of {FEATURE_MAPS} (got {self.feature!r})")

    def run(self, stream: EventStream) -> np.ndarray:
        if stream.feedback is not None:
            raise ValueError("the correlation-matrix memory does not support feedback steps")
        phi = feature_map(self.feature, stream.x)
        M = np.zeros((stream.batch, stream.d, stream.m))
        y_hat = np.full((stream.batch, stream.steps, stream.m), np.nan)
        for t in range(stream.steps):
            if stream.query[:, t].any():
                y_hat[:, t] = np.einsum("bd,bdm->bm", phi[:, t], M)
            M = M + np.einsum("b,bd,bm->bdm", stream.q[:, t], phi[:, t], stream.y[:, t])
        return y_hat
