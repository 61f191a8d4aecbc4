"""Bidirectional associative memory (BAM, Kosko 1988), differentiable PyTorch
realization: the copy-paste baseline of Tyulmankov et al. 2021 (appendix A.3).

Storage, gated by the global third factor (the numpy
:class:`~neurosim.circuits.hopfield.rate.HebbianMemory` without decay, its q scaled
by the learning rate eta):
    W <- W + eta q y x^T
Readout, one step and linear (the paper's code for the copy-paste task reads
W x without taking the sign, so gradients reach the controllers):
    y~ = W x
sign(y~) is the numpy BAM's one-step readout (``max_iterations=0``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class TorchBAM:
    """``rate`` is eta; the paper's copy-paste BAM uses eta = 1/40 (= 1/d)."""

    rate: float = 1.0
    dtype: torch.dtype = torch.float32

    def initial_state(self, batch: int, d: int, m: int) -> torch.Tensor:
        return torch.zeros(batch, m, d, dtype=self.dtype)

    def write(self, W: torch.Tensor, x: torch.Tensor, y: torch.Tensor, q: torch.Tensor,
              gate: torch.Tensor | None = None) -> torch.Tensor:
        """One storage step for x (B, d), y (B, m), q (B,); the BAM has no local gate."""
        return torch.baddbmm(W, (self.rate * q)[:, None, None] * y[:, :, None], x[:, None, :])

    def read(self, W: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """y~ = W x for x (B, d) -> (B, m)."""
        return (W * x[:, None, :]).sum(-1)
