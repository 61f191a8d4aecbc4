"""The protocols of "Key-value memory in the brain" reproduce the review's
qualitative results at small size, from the command line."""
import json

import pandas as pd
import pytest

from neurosim.cli import main


def run_cli(tmp_path, name, **overrides):
    out = tmp_path / name
    args = ["run", name, "--out", str(out), "--seed", "5", "--jobs", "1", "--quiet"]
    for key, value in overrides.items():
        args += ["--set", f"{key}={value}"]
    assert main(args) == 0
    assert (out / "figure.png").stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    return summary["headline"], pd.read_csv(out / "results.csv")


def test_separation_capacity_ranks_the_separations(tmp_path):
    h, frame = run_cli(tmp_path, "separation-capacity", model="family,hopfield",
                       similarity="dot,manhattan", d=32, seeds=4,
                       T="1,2,4,8,16,32,64,128,256")
    assert h["dot_identity_capacity"] <= 4
    for name in ("softmax", "polynomial", "max", "threshold"):
        assert h[f"dot_{name}_capacity"] >= 4 * max(h["dot_identity_capacity"], 1), name
    assert h["dot_max_capacity"] >= h["dot_polynomial_capacity"]
    assert h["manhattan_identity_capacity"] == 0          # negative weights only
    assert h["hopfield_capacity"] <= h["dot_polynomial_capacity"] / 4
    assert set(frame["separation"].dropna()) == {"identity", "softmax", "max", "threshold",
                                                 "polynomial"}


def test_scaffold_degrades_gracefully_past_the_hopfield_cliff(tmp_path):
    h, _ = run_cli(tmp_path, "scaffold-degradation", d=64, dense=300, seeds=4,
                   T="4,8,16,32,64,128,256")
    assert h["hopfield_quality_at_T4"] > 0.95 and h["scaffold_quality_at_T4"] > 0.95
    assert h["hopfield_patterns_at_half_quality"] < 0.5 * 64
    assert h["scaffold_patterns_at_half_quality"] > 2 * h["hopfield_patterns_at_half_quality"]


def test_kv_representations_keys_separate_values_reach_features(tmp_path):
    h, frame = run_cli(tmp_path, "kv-representations", classes=2, per_class=30, steps=800,
                       lr=0.003, seeds=2, snapshots=4)
    assert 0.4 < h["classes2_key_same_class_attention_before"] < 0.6
    assert h["classes2_key_same_class_attention_after"] > 0.9
    assert h["classes2_value_feature_error_after"] < 0.5 * h["classes2_value_feature_error_before"]
    assert h["classes2_key_class_rsa_after"] > 0.5 > abs(h["classes2_key_class_rsa_before"])
    positions = frame[frame["kind"] == "position"]
    assert sorted(positions["step"].unique()) == [0, 200, 400, 600, 800]


def test_forgetting_and_reactivation(tmp_path):
    """Paper (reference notebook): 99.7% -> 9.1% after task 2, 99.5% at beta = 1.9."""
    h, frame = run_cli(tmp_path, "forgetting-reactivation", seeds=1, hidden=32)
    assert frame["beta"].dtype == float and frame["epoch"].dropna().max() == 10
    assert h["task1_accuracy_before"] > 0.95
    assert h["task1_accuracy_after_task2"] < 0.5
    assert h["task2_accuracy"] > 0.85
    assert h["task1_accuracy_recovered_best"] > 0.9 and h["beta_best"] <= 2.0


@pytest.mark.parametrize("name, setting", [
    ("separation-capacity", "radius=1.5"), ("scaffold-degradation", "periods=3-x"),
    ("scaffold-degradation", "periods=1-2"), ("scaffold-degradation", "periods=2-3"),
    ("kv-representations", "classes=4"), ("forgetting-reactivation", "task2=shoes"),
    ("kv-representations", "steps=-3")])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, name, setting):
    assert main(["run", name, "--out", str(tmp_path / "out"), "--set", setting]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("neurosim: error:") and "\n" not in error
    assert not (tmp_path / "out").exists()
