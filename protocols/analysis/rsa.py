"""Representational similarity analysis (Kriegeskorte et al. 2008) for
comparing, e.g., the key and value representations of a key-value memory
(Gershman, Fiete & Irie 2025, sections 4.2 and 5.1).

A representational dissimilarity matrix (RDM) of n items holds one distance
per pair of items; two RDMs are compared by the Spearman (or Pearson)
correlation of their upper triangles. Everything is batched over leading axes.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

METRICS = ("euclidean", "correlation", "cosine")


def rdm(patterns: np.ndarray, metric: str = "euclidean") -> np.ndarray:
    """RDM (..., n, n) of patterns (..., n, features): Euclidean distance,
    1 - Pearson correlation, or 1 - cosine similarity between items."""
    x = np.asarray(patterns, dtype=float)
    if metric == "euclidean":
        squared = ((x[..., :, None, :] - x[..., None, :, :]) ** 2).sum(-1)
        return np.sqrt(squared)
    if metric in ("correlation", "cosine"):
        if metric == "correlation":
            x = x - x.mean(axis=-1, keepdims=True)
        norms = np.linalg.norm(x, axis=-1, keepdims=True)
        unit = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
        return 1.0 - unit @ np.swapaxes(unit, -1, -2)
    raise ValueError(f"metric must be one of {METRICS} (got {metric!r})")


def category_rdm(labels: np.ndarray) -> np.ndarray:
    """Model RDM of a labelling: 0 for items of one category, 1 otherwise."""
    labels = np.asarray(labels)
    return (labels[..., :, None] != labels[..., None, :]).astype(float)


def compare_rdms(a: np.ndarray, b: np.ndarray, method: str = "spearman") -> np.ndarray:
    """Correlation of the upper triangles (off-diagonal) of RDMs a and b (..., n, n)."""
    n = a.shape[-1]
    rows, cols = np.triu_indices(n, k=1)
    x, y = a[..., rows, cols], b[..., rows, cols]
    if method == "spearman":
        x, y = rankdata(x, axis=-1), rankdata(y, axis=-1)
    elif method != "pearson":
        raise ValueError(f"method must be 'spearman' or 'pearson' (got {method!r})")
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean(axis=-1, keepdims=True)
    return (x * y).sum(-1) / np.sqrt((x ** 2).sum(-1) * (y ** 2).sum(-1))
