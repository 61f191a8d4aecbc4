"""Key-value memory with three-factor plasticity, differentiable PyTorch
realization (Tyulmankov et al. 2021, eq. 4-5, 12-16), for meta-learning the
plasticity rules and training controllers through the memory.

The same equations as :class:`neurosim.circuits.key_value.rate.KeyValueMemory`
(tested to give the same readout on the same streams), with every rule
parameter a tensor that gradients flow into:

Read (eq. 4-5):      h = softmax(beta K x~),   y~ = V h
Key write (eq. 15):  K <- (1 - eta) K + eta g_K(h) f_K(x)^T,  eta = min(eta~_K q gamma, 1)
Value write, passive (eq. 13, 16):
                     V <- lambda_t V + q eta~_V g_V(y) f_V(h')^T,
                     lambda_t = 1 - q (1 - lambda),  h' = softmax(beta K_new x)
Value write, gated (eq. 11): V <- (1 - eta) V + eta g_V(y) f_V(h')^T
with the linear transfers f(u) = a_f u + b_f, g(v) = a_g v + b_g (eq. 14).
As in the numpy rule, the gated learning rate is clipped to 1 and q to 1 in
the passive decay. Rule parameters are scalars or have one entry per trial
(shape (B,)), so independent rules train side by side on the batch axis.
Flashbulb stability (eq. 17) and the cosine read are not realized here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neurosim.events import EventStream, blocks
from neurosim.memory.plasticity import ThreeFactorRule

RULE_FIELDS = ("rate", "pre_slope", "pre_offset", "post_slope", "post_offset", "passive_decay")


def per_trial(value: torch.Tensor, ndim: int) -> torch.Tensor:
    """A scalar or (B,) tensor shaped to broadcast against a (B, ...) tensor of ``ndim`` axes."""
    return value.reshape(value.shape + (1,) * (ndim - value.ndim)) if value.ndim else value


@dataclass
class RuleTensors:
    """The parameters of one :class:`ThreeFactorRule` as tensors (scalars or (B,))."""

    rate: torch.Tensor
    pre_slope: torch.Tensor
    pre_offset: torch.Tensor
    post_slope: torch.Tensor
    post_offset: torch.Tensor
    passive_decay: torch.Tensor
    decay: str = "gated"

    @classmethod
    def from_rule(cls, rule: ThreeFactorRule, dtype=torch.float64) -> "RuleTensors":
        return cls(**{name: torch.tensor(getattr(rule, name), dtype=dtype)
                      for name in RULE_FIELDS}, decay=rule.decay)

    def transfers(self, pre: torch.Tensor, post: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq. 14: f(pre) (B, n_pre) and g(post) (B, n_post); Delta = g f^T."""
        f = per_trial(self.pre_slope, 2) * pre + per_trial(self.pre_offset, 2)
        g = per_trial(self.post_slope, 2) * post + per_trial(self.post_offset, 2)
        return f, g

    def update(self, W: torch.Tensor, pre: torch.Tensor, post: torch.Tensor, q: torch.Tensor,
               gate: torch.Tensor, hidden_axis: int) -> torch.Tensor:
        """One step on W (B, n_post, n_pre); gate (B, N) indexes axis ``hidden_axis`` of W.
        Written as decay + rank-one write, (1 - eta) W + (eta g) f^T, never forming Delta."""
        f, g = self.transfers(pre, post)
        if self.decay == "passive":
            q = q.clamp(max=1.0)
            factor = 1.0 - q * (1.0 - per_trial(self.passive_decay, 1))
            write = per_trial(q * self.rate, 2) * f
            return torch.baddbmm(per_trial(factor, 3) * W, g[:, :, None], write[:, None, :])
        eta = (per_trial(self.rate, 2) * q[:, None] * gate).clamp(max=1.0)
        if hidden_axis == 1:
            return torch.baddbmm((1.0 - eta)[:, :, None] * W, (eta * g)[:, :, None], f[:, None, :])
        return torch.baddbmm((1.0 - eta)[:, None, :] * W, g[:, :, None], (eta * f)[:, None, :])

    def expand(self, repeats: int) -> "RuleTensors":
        """Each entry repeated for ``repeats`` consecutive trials ((S,) -> (S * repeats,))."""
        return RuleTensors(**{name: getattr(self, name).repeat_interleave(repeats)
                              if getattr(self, name).ndim else getattr(self, name)
                              for name in RULE_FIELDS}, decay=self.decay)


@dataclass
class TorchKeyValueMemory:
    """Differentiable key-value memory of N slots; see the module docstring for
    the equations. Its state is the pair (K (B, N, d), V (B, m, N)), in the
    dtype of the rule tensors."""

    N: int
    key_rule: RuleTensors
    value_rule: RuleTensors
    beta: float = 1.0

    @classmethod
    def from_rules(cls, N: int, key_rule: ThreeFactorRule, value_rule: ThreeFactorRule,
                   beta: float = 1.0, dtype=torch.float64) -> "TorchKeyValueMemory":
        return cls(N, RuleTensors.from_rule(key_rule, dtype),
                   RuleTensors.from_rule(value_rule, dtype), beta)

    @property
    def dtype(self) -> torch.dtype:
        return self.key_rule.rate.dtype

    def initial_state(self, batch: int, d: int, m: int) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.zeros(batch, self.N, d, dtype=self.dtype),
                torch.zeros(batch, m, self.N, dtype=self.dtype))

    def hidden(self, K: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Eq. 4: softmax(beta K x) for x (B, d) -> (B, N), or (B, T, d) -> (B, T, N)."""
        scores = (K * x[:, None, :]).sum(-1) if x.ndim == 2 else torch.bmm(x, K.transpose(1, 2))
        return torch.softmax(self.beta * scores, dim=-1)

    def read(self, state: tuple[torch.Tensor, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Eq. 5: y~ = V h for queries x (B, d) -> (B, m) or (B, T, d) -> (B, T, m)."""
        K, V = state
        h = self.hidden(K, x)
        return (V * h[:, None, :]).sum(-1) if x.ndim == 2 else torch.bmm(h, V.transpose(1, 2))

    def write(self, state: tuple[torch.Tensor, torch.Tensor], x: torch.Tensor, y: torch.Tensor,
              q: torch.Tensor, gate: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One storage step (eq. 12-16) for x (B, d), y (B, m), q (B,), gate (B, N);
        returns the new state."""
        K, V = state
        K = self.key_rule.update(K, x, self.hidden(K, x), q, gate, hidden_axis=1)
        V = self.value_rule.update(V, self.hidden(K, x), y, q, gate, hidden_axis=2)
        return K, V

    def run(self, stream: EventStream) -> torch.Tensor:
        """Drive the memory with an event stream (as KeyValueMemory.run): y~ (B, T, m)
        read before each step's plasticity, NaN at storage-only steps."""
        if stream.gate is None:
            raise ValueError("the key-value memory needs the stream's local third factors (gate)")
        if stream.gate.shape[2] != self.N:
            raise ValueError(f"gate has {stream.gate.shape[2]} neurons, the memory N = {self.N}")
        if stream.feedback is not None:
            raise ValueError("the torch key-value memory does not realize feedback steps")
        x, y, q, gate = (torch.as_tensor(np.asarray(a, dtype=float), dtype=self.dtype)
                         for a in (stream.x, stream.y, stream.q, stream.gate))
        state = self.initial_state(stream.batch, stream.d, stream.m)
        unread = torch.full((stream.batch, 1, stream.m), float("nan"), dtype=self.dtype)
        outputs = []
        for start, stop, kind in blocks(stream):
            if kind == "read":
                outputs.append(self.read(state, x[:, start:stop]))
                continue
            for t in range(start, stop):
                outputs.append(self.read(state, x[:, t:t + 1]) if kind == "step" else unread)
                state = self.write(state, x[:, t], y[:, t], q[:, t], gate[:, t])
        return torch.cat(outputs, dim=1)
