"""The three-factor plasticity rule (Tyulmankov et al. 2021), written once.

Learning rate of synapse (i, j) onto hidden neuron i; gated update with rapid decay ("active"
decay, eq. 9 and 11); passive decay variant (eq. 13, 16), decay lambda on every stored step::

    eta_t,i = (1 - S_t,ij) q_t gamma_t,i                       (eq. 8, 17)
    W_t+1 = (1 - eta) . W_t + eta . Delta_t                    (eq. 9, 11)
    lambda_t = (1 - q_t) + q_t lambda,   W_t+1 = lambda_t W_t + q_t eta~ Delta_t

Metaplastic stability (eq. 17): S_t+1 = 1 wherever eta_t > 1 (a flashbulb
store), which then blocks every later update of that synapse.

The gated update uses min(eta, 1) both as the write and the decay factor, so a
flashbulb store (q = 10) writes Delta exactly instead of overshooting; the
excess above 1 only sets the stability (the paper's code clips the same way).
All arrays carry a leading batch axis; eta has shape (B, N) and applies to
every synapse of hidden neuron i (row i of K, column i of V).
:class:`ThreeFactorRule` declares one rule (its parameters and eq. 14-16's
transfer functions) on top of these functions.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

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


RULE_DECAYS = ("gated", "passive")


@dataclass(frozen=True)
class ThreeFactorRule:
    """One three-factor plasticity rule, declared once (Tyulmankov et al. 2021, eq. 8-17).

    Target of the update, pre-times-post with linear transfer functions (eq. 14-16)::

        Delta_ij = g(post_i) f(pre_j),   f(u) = pre_slope u + pre_offset,
                                         g(v) = post_slope v + post_offset

    ``decay="gated"`` (eq. 9, 11, 15): learning rate eta = rate q gamma (1 - S)
    (eq. 8, 12, 17), W <- (1 - min(eta, 1)) W + min(eta, 1) Delta on the gated
    hidden neurons only.  ``decay="passive"`` (eq. 13, 16): every synapse decays
    on every store, W <- lambda_t W + q rate Delta, lambda_t = 1 - q (1 - lambda).

    The hand-designed rules are special cases: the key rule is pre-only
    (f(x) = x, g = 1: :func:`pre_only_rule`), the value rule Hebbian (f(h') = h',
    g(y) = y: :func:`hebbian_rule`), TVT's slot write sets the column to y
    (f = 1, g(y) = y: :func:`slot_rule`).  The numpy realization is
    :meth:`update`; the spiking realization's Brian2 model text is generated from
    the same fields (:mod:`neurosim.spiking.blocks.synapses`).
    """

    rate: float = 1.0
    pre_slope: float = 1.0
    pre_offset: float = 0.0
    post_slope: float = 1.0
    post_offset: float = 0.0
    decay: str = "gated"
    passive_decay: float = 1.0

    def __post_init__(self):
        if self.decay not in RULE_DECAYS:
            raise ValueError(f"decay must be one of {RULE_DECAYS} (got {self.decay!r})")
        if not 0 < self.passive_decay <= 1:
            raise ValueError(f"passive decay lambda must lie in (0, 1] (got {self.passive_decay})")
        if self.rate < 0:
            raise ValueError(f"rate scale must be >= 0 (got {self.rate})")

    @property
    def reads_pre(self) -> bool:
        return self.pre_slope != 0

    @property
    def reads_post(self) -> bool:
        return self.post_slope != 0

    def target(self, pre: np.ndarray | None, post: np.ndarray | None) -> np.ndarray:
        """Delta = g(post) f(pre)^T, broadcastable to (B, n_post, n_pre); pre (B, n_pre)
        and post (B, n_post) may be None where the rule does not read them."""
        if (pre is None and self.reads_pre) or (post is None and self.reads_post):
            raise ValueError("this rule reads an activity it was not given")
        f = np.asarray(self.pre_offset if pre is None else self.pre_slope * pre + self.pre_offset)
        g = np.asarray(self.post_offset if post is None else self.post_slope * post + self.post_offset)
        return (g[..., None] if g.ndim else g) * (f[..., None, :] if f.ndim else f)

    def update(self, W: np.ndarray, pre: np.ndarray | None, post: np.ndarray | None,
               q: np.ndarray, gate: np.ndarray | None = None, stable: np.ndarray | None = None,
               hidden_axis: int = 1) -> np.ndarray:
        """Apply one step to W (B, n_post, n_pre), in place for the gated rule; returns W.
        ``gate`` and ``stable`` are (B, N) over the hidden neurons, which index axis
        ``hidden_axis`` of W (1: keys K, rows; 2: values V, columns)."""
        delta = self.target(pre, post)
        if self.decay == "passive":
            return passive_update(W, q, self.passive_decay, delta, self.rate)
        if gate is None:
            raise ValueError("a gated rule needs the local third factors (gate)")
        return gated_update(W, self.rate * learning_rate(q, gate, stable), delta, axis=hidden_axis)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, fields: dict) -> "ThreeFactorRule":
        """The rule that :meth:`as_dict` describes (e.g. read back from JSON);
        numbers become floats, an unknown field name is a ValueError."""
        unknown = set(fields) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown rule fields: {', '.join(sorted(unknown))}")
        return cls(**{name: value if name == "decay" else float(value)
                      for name, value in fields.items()})


def pre_only_rule(rate: float = 1.0) -> ThreeFactorRule:
    """Key rule (eq. 9): K <- (1 - eta) K + eta 1 x^T."""
    return ThreeFactorRule(rate=rate, pre_slope=1.0, pre_offset=0.0, post_slope=0.0,
                           post_offset=1.0)


def hebbian_rule(passive: bool = False, decay: float = 1.0, rate: float = 1.0) -> ThreeFactorRule:
    """Value rule: gated Hebbian (eq. 11) or passive decay (eq. 13, 16), Delta = y h'^T."""
    return ThreeFactorRule(rate=rate, decay="passive" if passive else "gated",
                           passive_decay=decay if passive else 1.0)


def slot_rule() -> ThreeFactorRule:
    """TVT's slot write (the paper's appendix B): the gated column becomes y."""
    return ThreeFactorRule(pre_slope=0.0, pre_offset=1.0)
