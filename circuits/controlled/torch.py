"""A memory embedded in a larger system: feedforward controllers write to it
and a readout layer reads from it (Tyulmankov et al. 2021, section 3.4,
appendix A.3, the copy-paste task of Fig. 5c). PyTorch, trained end to end.

At step t the three controllers see v_t = [s_t, x_{t-1}, y~_{t-1}, q_{t-1}]:
    x'_t = tanh(R_x v_t + b_x),  y'_t = tanh(R_y v_t + b_y),  q_t = sigma(R_q v_t + b_q)
    x_t = sqrt(d) x'_t / ||x'_t||,  y_t = sqrt(d) y'_t / ||y'_t||      (eq. 19-20)
the memory stores (x_t, y_t) with global third factor q_t, is then read with
x_t as the query (y~_t, after the write, as the paper's code does), and
    r_t = tanh(R_o y~_t + b_o)                                         (eq. 21)
x_0, y~_0 and q_0 are learned. The memory is any object with
``initial_state(batch, d, m)``, ``write(state, x, y, q, gate)`` and
``read(state, x)``: the differentiable key-value memory
(:mod:`neurosim.circuits.key_value.torch`) or BAM
(:mod:`neurosim.circuits.hopfield.torch`); its own parameters are not trained.
"""
from __future__ import annotations

import math

import torch
from torch import nn

NORM_EPSILON = 1e-10


def to_norm(v: torch.Tensor, norm: float) -> torch.Tensor:
    """Eq. 19-20: v rescaled to L2 norm ``norm`` along its last axis."""
    return norm * v / (v.norm(dim=-1, keepdim=True) + NORM_EPSILON)


class ControlledMemory(nn.Module):
    """Controllers + memory + readout for sequences s (B, L, n_in) -> r (B, L, n_out)."""

    def __init__(self, memory, n_in: int, n_out: int, d: int):
        super().__init__()
        self.memory = memory
        self.d = d
        controller_in = n_in + 2 * d + 1
        self.key = nn.Linear(controller_in, d)
        self.value = nn.Linear(controller_in, d)
        self.modulator = nn.Linear(controller_in, 1)
        self.readout = nn.Linear(d, n_out)
        # Learned initial x_0, y~_0, q_0 (the paper's code: N(0, 0.05^2), N(0, 0.05^2), N(0, 1)).
        self.initial_key = nn.Parameter(0.05 * torch.randn(d))
        self.initial_read = nn.Parameter(0.05 * torch.randn(d))
        self.initial_modulator = nn.Parameter(torch.randn(1))

    def forward(self, s: torch.Tensor, gate: torch.Tensor | None = None) -> torch.Tensor:
        """``gate`` (B, L, N): the memory's local third factors (None for BAM)."""
        batch, steps, _ = s.shape
        state = self.memory.initial_state(batch, self.d, self.d)
        previous = (self.initial_key.expand(batch, -1), self.initial_read.expand(batch, -1),
                    self.initial_modulator.expand(batch, -1))
        outputs = []
        for t in range(steps):
            v = torch.cat([s[:, t], *previous], dim=-1)
            x = to_norm(torch.tanh(self.key(v)), math.sqrt(self.d))
            y = to_norm(torch.tanh(self.value(v)), math.sqrt(self.d))
            q = torch.sigmoid(self.modulator(v))
            state = self.memory.write(state, x, y, q[:, 0], None if gate is None else gate[:, t])
            y_read = self.memory.read(state, x)
            outputs.append(torch.tanh(self.readout(y_read)))
            previous = (x, y_read, q)
        return torch.stack(outputs, dim=1)
