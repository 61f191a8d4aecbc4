"""GSEMM protocols at small size: the paper's qualitative results (Fig. 2, Fig. 3) and the CLI."""
import json

import numpy as np
import pandas as pd
import pytest

from neurosim.cli import main
from neurosim.experiment import run_protocol
from neurosim.protocol import ParameterError, get_protocol
from neurosim.protocols.gsemm_capacity import alpha_c_grid, capacities


def _seeds(out):
    frame = pd.read_csv(out / "results.csv", dtype={"sequence": str})
    return frame[frame["kind"] == "seed"]


def test_episode_protocol_replays_the_cued_episode(tmp_path):
    # degree 3, alpha_c = 0.3 (just above sqrt(alpha_s) = 0.22): 28 of 32 seeds pass at N_f = 100
    summary = run_protocol("gsemm-episodes", {"degree": "3", "alpha_c": "0.3", "seeds": "6",
                                              "duration": "520"},
                           out=tmp_path, progress=False)
    head = summary["headline"]
    assert head["pass_fraction"] >= 0.5
    seeds = _seeds(tmp_path)
    good = seeds[seeds["passed"] > 0]
    for sequence in good["sequence"]:
        assert sequence.startswith("5-6-7-4-5-6-7-4-5-6-7-4-5")   # cued episode in order, 3 cycles
        assert not set(sequence.split("-")) & {"1", "2", "3"}
    assert (tmp_path / "figure.png").stat().st_size > 10_000
    trace = pd.read_csv(tmp_path / "results.csv").query("kind == 'trace'")
    assert trace["fixed_point_converged"].astype(bool).mean() > 0.8


def test_papers_appendix_b_parameters_make_no_transition(tmp_path):
    # the discrepancy reported in summary.json: alpha_c = 0.007 leaves the network on xi5
    summary = run_protocol("gsemm-episodes", {"alpha_c": "0.007", "seeds": "4", "duration": "150"},
                           out=tmp_path, progress=False)
    assert summary["headline"]["mean_cycles_replayed"] == 0
    assert set(_seeds(tmp_path)["sequence"].astype(str)) == {"5"}       # stays on xi5


def test_capacity_grows_with_degree_at_small_size(tmp_path):
    summary = run_protocol("gsemm-capacity", {"degree": "1,5", "seeds": "2", "K": "4;8;16"},
                           out=tmp_path, progress=False)
    caps = capacities(pd.read_csv(tmp_path / "results.csv"))
    mean = caps.groupby("degree")["capacity"].mean()
    assert mean[5] > mean[1]
    assert mean[5] >= 16
    assert summary["headline"]["capacity_grows_with_degree"] is True


def test_alpha_c_grids():
    assert len(alpha_c_grid("paper", 1.0)) == 19
    np.testing.assert_allclose(alpha_c_grid("x7", 1.0)[[0, -1]], [0.07, 7.0])
    np.testing.assert_allclose(alpha_c_grid("above", 4.0)[0], 2 * 1.05)
    np.testing.assert_allclose(alpha_c_grid("1.1;2", 1.0), [1.1, 2.0])
    with pytest.raises(ParameterError):
        get_protocol("gsemm-capacity").resolve({"alpha_c": "fast"})


def test_cli_runs_both_protocols(tmp_path, capsys):
    assert main(["run", "gsemm-episodes", "--set", "N_f=50", "--set", "seeds=2", "--set",
                 "duration=60", "--out", str(tmp_path / "ep"), "--quiet"]) == 0
    assert main(["run", "gsemm-capacity", "--set", "degree=2", "--set", "seeds=2", "--set",
                 "K=4;6", "--set", "N_f=50", "--out", str(tmp_path / "cap"), "--quiet"]) == 0
    for name in ("ep", "cap"):
        summary = json.loads((tmp_path / name / "summary.json").read_text())
        assert summary["headline"]
        assert (tmp_path / name / "figure.png").exists()
    assert main(["run", "gsemm-episodes", "--set", "cue=9", "--out", str(tmp_path / "bad")]) == 2


@pytest.mark.slow
def test_reduced_figure_3_reproduction(tmp_path):
    """Reduced Fig. 3 at N_f = 100: degrees 1, 3, 6, 2 seeds, K up to 32 (a few minutes)."""
    summary = run_protocol("gsemm-capacity", {"degree": "1,3,6", "seeds": "2",
                                              "K": "4;8;16;24;32"},
                           out=tmp_path, progress=False)
    caps = capacities(pd.read_csv(tmp_path / "results.csv"))
    mean = caps.groupby("degree")["capacity"].mean()
    print("reduced Fig. 3 mean capacities:", mean.to_dict())
    assert mean[1] < mean[3]
    assert mean[1] < mean[6]
    assert summary["headline"]["degree6_max_capacity"] >= 24
