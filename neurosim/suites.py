"""Suites: a paper's figures as a list of protocol runs at a size that finishes in minutes."""
from __future__ import annotations

from pathlib import Path

from neurosim.experiment import note, prepare_run
from neurosim.errors import ParameterError
from neurosim.protocol import get_protocol
from neurosim.report import write_report
from neurosim.results import check_writable

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


def run_suite(suite: str, out: str, *, seed: int = 0, progress: bool = True
              ) -> tuple[dict[str, dict], dict[str, str]]:
    """Run every protocol of ``suite`` into ``out/PROTOCOL`` and write ``out/report.html``.

    Every run is checked before the first one starts. A protocol whose optional
    dependencies are missing is skipped with a one-line note naming the extra to
    install (the other protocols still run). Returns the summaries by protocol
    and the skipped protocols with the reason."""
    if suite not in SUITES:
        raise ParameterError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
    check_writable(out)
    skipped = {}
    runs = []
    for name, overrides in SUITES[suite]:
        missing = get_protocol(name).missing_requirement()
        if missing:
            note(f"skipping {missing}")
            skipped[name] = missing
            continue
        runs.append(prepare_run(name, overrides, out=Path(out) / name, seed=seed,
                                progress=progress))
    summaries = {run.protocol.name: run.execute() for run in runs}
    if summaries:
        write_report(out, skipped=skipped)
    return summaries, skipped
