"""Suites: a paper's figures as a list of protocol runs at a size that finishes in minutes."""
from __future__ import annotations

from pathlib import Path

from .experiment import run_protocol
from .protocol import ParameterError

SUITES: dict[str, list[tuple[str, dict[str, str]]]] = {
    "kv-memory": [
        ("autoassociative", {"seeds": "20"}),
        ("capacity", {"N": "20,40,80,160", "seeds": "10"}),
        ("continual", {"seeds": "5"}),
        ("flashbulb", {"seeds": "5"}),
        ("correlated", {"seeds": "10"}),
        ("heteroassociative", {"seeds": "10"}),
        ("sequence", {"seeds": "10"}),
    ],
    "gsemm": [
        ("gsemm-episodes", {}),
        ("gsemm-capacity", {"degree": "1,2,3", "K": "4;8;12;16;24;32"}),
    ],
    "memoria": [
        ("memoria-attributes", {}),
        ("memoria-lifespan", {}),
        ("memoria-autocorrelation", {}),
        ("memoria-graph", {}),
        ("memoria-reference", {}),
    ],
}


def run_suite(suite: str, out: str, *, seed: int = 0, progress: bool = True) -> dict[str, dict]:
    """Run every protocol of ``suite`` into ``out/PROTOCOL``; return their summaries."""
    if suite not in SUITES:
        raise ParameterError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
    return {name: run_protocol(name, overrides, out=Path(out) / name, seed=seed, progress=progress)
            for name, overrides in SUITES[suite]}
