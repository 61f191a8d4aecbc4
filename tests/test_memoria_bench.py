"""The Memoria benchmark script runs end to end at a tiny size (both implementations)."""
import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("memoria", reason="the benchmark compares with memoria-pytorch (extra 'reference')")

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_memoria.py"


def test_benchmark_smoke(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_memoria", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.json"
    assert bench.main(["--sizes", "64", "--steps", "2", "--impls", "neurosim,reference",
                       "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [r["impl"] for r in rows] == ["neurosim", "reference"], rows
    assert rows[0]["n_engrams"] == rows[1]["n_engrams"] > 64
    assert all(r["step_ms"] > 0 and r["state_mb"] == r["state_mb"] for r in rows)
    assert "| LTM target |" in capsys.readouterr().out
