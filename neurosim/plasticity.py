"""The three-factor plasticity rule (Tyulmankov et al. 2021), written once.

Learning rate of synapse (i, j) onto hidden neuron i:
    eta_t,i = (1 - S_t,ij) q_t gamma_t,i                       (eq. 8, 17)
Gated update with rapid decay ("active" decay, eq. 9 and 11):
    W_t+1 = (1 - eta) . W_t + eta . Delta_t
Passive decay variant (eq. 13, 16), decay lambda on every stored step:
    lambda_t = (1 - q_t) + q_t lambda,   W_t+1 = lambda_t W_t + q_t eta~ Delta_t
Metaplastic stability (eq. 17): S_t+1 = 1 wherever eta_t > 1 (a flashbulb
store), which then blocks every later update of that synapse.

The gated update uses min(eta, 1) both as the write and the decay factor, so a
flashbulb store (q = 10) writes Delta exactly instead of overshooting; the
excess above 1 only sets the stability (the paper's code clips the same way).
All arrays carry a leading batch axis; eta has shape (B, N) and applies to
every synapse of hidden neuron i (row i of K, column i of V).
"""
from __future__ import annotations

import numpy as np


def learning_rate(q: np.ndarray, gate: np.ndarray, stable: np.ndarray | None = None) -> np.ndarray:
    """Eq. 8 / 17: eta = (1 - S) q gamma. q (B,), gate (B, N), stable (B, N)."""
    eta = q[:, None] * gate
    return eta if stable is None else eta * (1.0 - stable)


def gated_update(W: np.ndarray, eta: np.ndarray, delta: np.ndarray, axis: int) -> np.ndarray:
    """Eq. 9 / 11, in place: W <- (1 - eta) W + eta Delta, eta clipped to [0, 1].

    ``axis`` is the axis of W indexed by the hidden neuron: 1 for the key
    matrix K (B, N, d), 2 for the value matrix V (B, m, N). ``delta`` is
    broadcastable to W. Only the synapses of gated neurons (eta > 0) are
    touched, so a step costs O(gated neurons x fan-in), not O(B N d).
    Returns W (the same array, updated)."""
    b, i = np.nonzero(eta)
    if b.size == 0:
        return W
    rate = np.minimum(eta[b, i], 1.0)[:, None]
    full = np.broadcast_to(delta, W.shape)
    if axis == 1:
        W[b, i, :] += rate * (full[b, i, :] - W[b, i, :])
    else:
        W[b, :, i] += rate * (full[b, :, i] - W[b, :, i])
    return W


def passive_update(W: np.ndarray, q: np.ndarray, decay: float, delta: np.ndarray,
                   rate: float = 1.0) -> np.ndarray:
    """Eq. 13 / 16: W <- lambda_t W + q eta~ Delta with lambda_t = 1 - q (1 - lambda).
    The paper's q is 0 or 1 here; a larger q (a flashbulb) counts as 1."""
    q = np.minimum(q, 1.0)
    factor = (1.0 - q * (1.0 - decay))[:, None, None]
    return factor * W + (q * rate)[:, None, None] * delta


def update_stability(stable: np.ndarray, eta: np.ndarray, threshold: float = 1.0) -> np.ndarray:
    """Eq. 17: a synapse whose learning rate exceeds the threshold becomes stable."""
    return np.maximum(stable, (eta > threshold).astype(stable.dtype))
