"""GSEMM protocols at small size: the paper's qualitative results (Fig. 2, Fig. 3) and the CLI."""
import json

import numpy as np
import pandas as pd
import pytest

from neurosim.cli import main
from neurosim.experiment import run_protocol
from neurosim.errors import ParameterError
from neurosim.protocol import get_protocol
from neurosim.protocols.gsemm_capacity import PROTOCOL as CAPACITY
from neurosim.protocols.gsemm_capacity import alpha_c_grid, capacities, summarize


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
    summary = run_protocol("gsemm-capacity", {"degree": "1,5", "seeds": "2", "K": "4;8;16",
                                              "alpha_c": "1.1;1.5;2"},
                           out=tmp_path, progress=False)
    frame = pd.read_csv(tmp_path / "results.csv")
    assert len(frame) == 2 * 2 * 3 * 3           # every K for every seed: degree x seed x K x a
    caps = capacities(frame)
    median = caps.groupby("degree")["capacity"].median()
    assert median[5] > median[1]
    assert median[5] >= 16
    head = summary["headline"]
    assert head["capacity_grows_with_degree"] is True
    assert (head["degree5_capacity_q25"] <= head["degree5_median_capacity"]
            <= head["degree5_max_capacity"])
    assert summary["paper"]["degree1_max_capacity"] == 12.0


def _frame(rows):
    """A results frame of one degree-1 point from (seed, K, alpha_c, success) tuples."""
    frame = pd.DataFrame(rows, columns=["seed", "K", "alpha_c_value", "success"])
    point = {name: (param.default[0] if isinstance(param.default, list) else param.default)
             for name, param in CAPACITY.params.items() if name not in ("K", "seeds")}
    return frame.assign(backend="rate", **point)


def test_capacity_is_the_largest_K_that_succeeds_not_the_first_failure():
    frame = _frame([(0, 2, 1.0, 1), (0, 4, 1.0, 0), (0, 4, 1.5, 0), (0, 8, 1.0, 0), (0, 8, 1.5, 1),
                    (1, 2, 1.0, 1), (1, 4, 1.5, 1), (1, 8, 1.5, 0),
                    (2, 2, 1.0, 0), (2, 4, 1.0, 0), (2, 8, 1.0, 0),
                    (3, 2, 1.0, 1), (3, 4, 1.0, 1), (3, 8, 1.0, 1)])
    caps = capacities(frame).set_index("seed")
    assert caps["capacity"].tolist() == [8, 4, 0, 8]        # seed 0 fails at 4, succeeds at 8
    assert caps["failing_below"].tolist() == [True, False, False, False]
    head = summarize(frame, {"degree": [1], "seeds": [4]})
    assert head["degree1_median_capacity"] == 6.0
    assert head["degree1_capacity_q25"] == 3.0 and head["degree1_capacity_q75"] == 8.0
    assert head["degree1_max_capacity"] == 8.0 and head["degree1_min_capacity"] == 0.0
    assert head["degree1_seeds"] == 4 and head["degree1_seeds_failing_below_capacity"] == 1
    assert head["degree1_seeds_at_largest_K"] == 2


def test_float32_is_refused_with_one_line_where_it_can_overflow(tmp_path, capsys):
    assert main(["run", "gsemm-capacity", "--set", "degree=15", "--set", "precision=float32",
                 "--out", str(tmp_path / "bad")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("neurosim: error: parameter precision: float32 would overflow")
    assert len(error.splitlines()) == 1
    assert not (tmp_path / "bad" / "results.csv").exists()


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
    """Reduced Fig. 3 at N_f = 100: degrees 1, 3, 2 seeds, K up to 64 (about 20 s).

    A degree-3 network replays a 64-memory cycle 3 times; with one-sample leads inside a switch
    counted as errors (min_dwell = 0) fewer of the same networks succeed."""
    values = {"degree": "1,3", "seeds": "2", "K": "4;8;16;32;64", "alpha_c": "1.2;1.5;2"}
    summary = run_protocol("gsemm-capacity", values, out=tmp_path / "settled", progress=False)
    head = summary["headline"]
    print("reduced Fig. 3:", {k: v for k, v in head.items() if "median" in k})
    assert head["degree1_median_capacity"] < head["degree3_median_capacity"]
    assert head["degree3_max_capacity"] >= 64
    run_protocol("gsemm-capacity", {**values, "degree": "3", "K": "64", "min_dwell": "0"},
                 out=tmp_path / "strict", progress=False)
    settled = pd.read_csv(tmp_path / "settled" / "results.csv").query("degree == 3 and K == 64")
    strict = pd.read_csv(tmp_path / "strict" / "results.csv")
    assert strict["success"].sum() < settled["success"].sum()
