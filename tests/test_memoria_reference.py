"""neurosim Memoria against the paper's package (memoria-pytorch), batch size 1."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the reference comparison needs torch (extra 'reference')")
pytest.importorskip("memoria", reason="the reference comparison needs memoria-pytorch (extra 'reference')")

from neurosim.cli import main  # noqa: E402
from neurosim.protocols.memoria_reference import compare_stream  # noqa: E402


@pytest.mark.parametrize("setting, steps", [("lm-50", 30), ("classification", 8)])
def test_reference_compatible_options_reproduce_the_reference(setting, steps):
    records = compare_stream(setting, "reference-shared", steps, 8, 1.0,
                             np.random.SeedSequence(11))
    with_ltm = [r for r in records if r["ltm_nonempty"]]
    assert len(with_ltm) >= steps // 2 - 1
    assert all(r["agree"] for r in records), [r["step"] for r in records if not r["agree"]]
    assert [r["n_ltm_ref"] for r in records] == [r["n_ltm_neurosim"] for r in records]


def test_paper_options_differ_from_the_reference():
    records = compare_stream("lm-50", "paper", 20, 8, 1.0, np.random.SeedSequence(11))
    assert np.mean([r["agree"] for r in records if r["ltm_nonempty"]]) < 0.5
    # before any LTM exists the reference reminds index 0 (the oldest engram); the paper does not
    early = [r for r in records if r["ref_ltm_empty"] and r["step"] > 0]
    assert all(r["n_rem_ref"] - r["n_rem_neurosim"] in (0, 1) for r in early)
    assert any(r["n_rem_ref"] == r["n_rem_neurosim"] + 1 and not r["agree"] for r in early)


def test_cli_run_writes_results(tmp_path):
    out = tmp_path / "ref"
    code = main(["run", "memoria-reference", "--set", "steps=12", "--set", "setting=lm-50",
                 "--set", "variant=reference-shared", "--out", str(out), "--quiet"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["headline"]["agree_ltm[lm-50|reference-shared]"] == 1.0
    assert (out / "figure.png").stat().st_size > 0


def test_cli_rejects_unknown_variant(tmp_path, capsys):
    code = main(["run", "memoria-reference", "--set", "variant=exact", "--out", str(tmp_path)])
    assert code == 2
    assert "variant" in capsys.readouterr().err
