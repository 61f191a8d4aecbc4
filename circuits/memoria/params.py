"""Memoria's parameters (section 3, appendix B), engram kinds and errors.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np


WORKING, SHORTTERM, LONGTERM = 1, 2, 3
KIND_NAMES = {WORKING: "working", SHORTTERM: "short-term", LONGTERM: "long-term"}

#: Appendix B parameter sets (initial lifespan, alpha, depth, N_wm, N_stm_rem,
#: N_ltm_rem, STM capacity).
APPENDIX_B = {
    # B.1 sorting, segment length 256 (N_wm = L/8, N_stm_rem = L/4, N_ltm_rem = 5L/8, cap L/2)
    "sorting-256": dict(initial_lifespan=5.0, alpha=8.0, depth=10, n_wm=32, n_stm_rem=64,
                        n_ltm_rem=160, stm_capacity=128),
    # B.2 language modeling, Wikitext-103 with segment length 50
    "lm-50": dict(initial_lifespan=9.0, alpha=8.0, depth=10, n_wm=16, n_stm_rem=16,
                  n_ltm_rem=16, stm_capacity=128),
    # B.2 language modeling, Wikitext-103 / PG-19 with segment length 150
    "lm-150": dict(initial_lifespan=9.0, alpha=8.0, depth=10, n_wm=50, n_stm_rem=50,
                   n_ltm_rem=50, stm_capacity=400),
    # B.3 classification (Hyperpartisan)
    "classification": dict(initial_lifespan=12.0, alpha=8.0, depth=10, n_wm=64, n_stm_rem=64,
                           n_ltm_rem=64, stm_capacity=128),
}

class MemoriaError(ValueError):
    """Bad parameters or data for a Memoria circuit."""

@dataclass(frozen=True)
class MemoriaParams:
    """Memoria hyperparameters (section 3, appendix B).

    n_wm: engrams per step in working memory (N_wm).
    stm_capacity: STM queue capacity (C_stm).
    n_stm_rem, n_ltm_rem: engrams reminded from STM / LTM per step.
    depth: LTM search depth (N_depth).
    initial_lifespan: lifespan of a new engram.
    alpha: lifespan extension scale (sec. 3.4 step 2).
    ranking, search, forget_order: see the module docstring.
    """

    n_wm: int = 16
    stm_capacity: int = 128
    n_stm_rem: int = 16
    n_ltm_rem: int = 16
    depth: int = 10
    initial_lifespan: float = 9.0
    alpha: float = 8.0
    ranking: str = "exp"
    search: str = "paper"
    forget_order: str = "paper"

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        for name in ("n_wm", "stm_capacity", "n_stm_rem", "n_ltm_rem", "depth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise MemoriaError(f"{name} must be an integer (got {value!r})")
            if value < 0:
                raise MemoriaError(f"{name} must be >= 0 (got {value})")
        if self.n_wm < 1:
            raise MemoriaError(f"n_wm must be >= 1 (got {self.n_wm})")
        for name in ("initial_lifespan", "alpha"):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.number)) or not math.isfinite(value):
                raise MemoriaError(f"{name} must be a finite number (got {value!r})")
        if self.initial_lifespan <= 0:
            raise MemoriaError(f"initial_lifespan must be > 0 (got {self.initial_lifespan})")
        if self.alpha < 0:
            raise MemoriaError(f"alpha must be >= 0 (got {self.alpha})")
        choices = {"ranking": ("exp", "sq_l2"), "search": ("paper", "reference"),
                   "forget_order": ("paper", "reference")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise MemoriaError(f"{name} must be one of {', '.join(allowed)} "
                                   f"(got {getattr(self, name)!r})")

    @classmethod
    def appendix_b(cls, name: str, **overrides) -> "MemoriaParams":
        if name not in APPENDIX_B:
            raise MemoriaError(f"unknown appendix B setting {name!r}; known: {', '.join(APPENDIX_B)}")
        return cls(**{**APPENDIX_B[name], **overrides})

    def reference_compatible(self) -> "MemoriaParams":
        """The same sizes with every reference-package choice switched on."""
        return replace(self, ranking="sq_l2", search="reference", forget_order="reference")

    @property
    def ltm_bound(self) -> float:
        """Appendix E.1: lim N_ltm = alpha * (N_stm_rem + N_ltm_rem)."""
        return self.alpha * (self.n_stm_rem + self.n_ltm_rem)
