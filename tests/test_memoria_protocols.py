"""Memoria protocols at small size: lifespan bound, autocorrelation, graph, CLI."""
import json

import numpy as np
import pytest

from neurosim.circuits.memoria import MemoriaParams
from neurosim.cli import main
from neurosim.experiment import run_protocol
from neurosim.protocols.memoria_autocorrelation import acf
from neurosim.protocols.memoria_lifespan import balance_prediction


def test_acf_hand_computed():
    assert acf(np.array([1.0, 0.0, 1.0, 0.0]), 1) == pytest.approx(-0.75)
    assert acf(np.array([1.0, 1.0, 0.0, 0.0]), 2) == pytest.approx(-0.5)
    assert acf(np.array([1.0, 1.0, 1.0]), 1) == 1.0  # appendix D: variance 0 counts as 1
    assert acf(np.array([1.0, 0.0]), 2) is None


def test_balance_prediction_against_the_paper_bound():
    lm = MemoriaParams.appendix_b("lm-50")
    assert lm.ltm_bound == 8 * (16 + 16) == 256
    assert balance_prediction(lm) == 16 * 9 + 256 - 16 - 128 == 256
    cls = MemoriaParams.appendix_b("classification")
    assert cls.ltm_bound == 1024
    assert balance_prediction(cls) == 64 * 12 + 1024 - 64 - 128 == 1600


def test_lifespan_ltm_stays_under_the_bound(tmp_path):
    summary = run_protocol("memoria-lifespan", {"setting": "lm-50", "steps": "120"},
                           backends=("graph",), out=tmp_path, progress=False)
    head = summary["headline"]
    tag = "[lm-50|alpha=8|paper]"
    assert 0 < head[f"ltm_max{tag}"] <= head[f"paper_bound{tag}"]
    assert head[f"under_paper_bound{tag}"] == 1


def test_autocorrelation_ltm_decreases_with_lag(tmp_path):
    summary = run_protocol("memoria-autocorrelation", {"steps": "160", "dim": "8"},
                           backends=("graph",), out=tmp_path, progress=False)
    head = summary["headline"]
    assert head["ltm_acf_nonconstant_lag1"] > head["ltm_acf_nonconstant_lag15"]
    assert head["ltm_acf_nonconstant_lag1"] > 0.2
    assert head["ltm_acf_decreases"] == 1
    assert -1.0 <= head["stm_acf_lag1"] <= 1.0


def test_graph_repeated_data_links_its_copies(tmp_path):
    summary = run_protocol("memoria-graph", {"steps": "60"}, backends=("graph",), out=tmp_path,
                           progress=False)
    head = summary["headline"]
    assert head["paired_weight[copy|t2+15]"] > head["other_weight[copy|t2+15]"] + 0.2
    assert head["paired_weight[original|t2+15]"] > head["other_weight[original|t2+15]"]
    assert any(key.startswith("strong_edges") and value > 0 for key, value in head.items())
    assert (tmp_path / "figure.png").exists()


def test_attributes_cli_and_resume(tmp_path, capsys):
    args = ["run", "memoria-attributes", "--set", "steps=30", "--set", "seeds=1",
            "--out", str(tmp_path), "--quiet"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["all_hold"] == 1 and first["locality_checks"] > 0
    assert main(args) == 0  # resumed: nothing re-run, same headline
    assert json.loads(capsys.readouterr().out) == first
    assert json.loads((tmp_path / "summary.json").read_text())["resumed_points"] == 1


@pytest.mark.parametrize("protocol, bad", [
    ("memoria-lifespan", "steps=0"), ("memoria-lifespan", "setting=huge"),
    ("memoria-attributes", "depth=-1"), ("memoria-graph", "threshold=2"),
    ("memoria-autocorrelation", "stay=1.5")])
def test_bad_protocol_parameters_exit_2(tmp_path, capsys, protocol, bad):
    assert main(["run", protocol, "--set", bad, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neurosim: error:") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
