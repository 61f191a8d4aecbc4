"""Each key-value protocol reproduces its figure's qualitative result at small size."""
import os

import pandas as pd
import pytest

from neurosim.experiment import run_protocol

FULL = os.environ.get("NEUROSIM_FULL") == "1"


def run(tmp_path, name, **overrides):
    summary = run_protocol(name, {k: str(v) for k, v in overrides.items()}, out=tmp_path / name,
                           seed=11, jobs=1, progress=False)
    return summary["headline"], pd.read_csv(tmp_path / name / "results.csv")


def test_autoassociative_fig2a(tmp_path):
    h, _ = run(tmp_path, "autoassociative", N=20, seeds=10, T="10,20,40",
               model="kv,tvt,hopfield")
    assert h["kv-sequential_largest_T_at_0.98"] == 20          # perfect up to T = N
    assert h["kv-sequential_accuracy_T40"] < 0.95              # overwriting beyond N
    assert abs(h["tvt_accuracy_T20"] - h["kv-sequential_accuracy_T20"]) < 0.01
    assert h["hopfield_accuracy_T20"] < h["kv-sequential_accuracy_T20"] - 0.05
    assert h["kv-random_accuracy_T20"] < h["kv-sequential_accuracy_T20"]


@pytest.mark.slow
def test_capacity_fig2b_slopes(tmp_path):
    """Paper: C/N ~ 1.0 (sequential), 0.16 (random p = 0.1), 0.14 (Hopfield).
    CI runs N = 20, 40, 80 with 10 seeds; NEUROSIM_FULL=1 adds N = 160, 50 seeds."""
    sizes, seeds = ("20,40,80,160", 50) if FULL else ("20,40,80", 10)
    h, _ = run(tmp_path, "capacity", N=sizes, seeds=seeds)
    assert 0.9 <= h["kv-sequential_slope_C_per_N"] <= 1.15
    assert 0.08 <= h["kv-random_slope_C_per_N"] <= 0.25
    assert 0.08 <= h["hopfield_slope_C_per_N"] <= 0.2


def test_continual_fig4a_steps_of_width_N(tmp_path):
    N = 10
    _, frame = run(tmp_path, "continual", N=N, d=40, seeds=4, steps=400, model="kv",
                   R="3,6,9,10,12,15,18,20,22,25,28,30")
    seq = frame[frame["gate"] == "sequential"].groupby("R")["accuracy"].mean()
    first, second, third = seq[seq.index <= N], seq[(seq.index > N) & (seq.index <= 2 * N)], \
        seq[seq.index > 2 * N]
    assert first.min() > 0.99                               # no overwrite before N steps
    assert second.max() < first.min() - 0.03                 # a step down at R = N
    assert third.max() < second.min()                        # and again at 2N
    assert second.max() - second.min() < 0.04                # flat within a step
    rnd = frame[frame["gate"] == "random"].groupby("R")["accuracy"].mean()
    assert rnd.iloc[0] > rnd.iloc[-1] + 0.1                  # random gates decay smoothly


def test_flashbulb_fig4b(tmp_path):
    h, _ = run(tmp_path, "flashbulb", N=40, seeds=3, steps=600, R="5,20,35,50,70",
               model="kv,hopfield", gate="sequential", flashbulb_strength="10,1000000")
    assert h["kv-sequential_flashbulb_accuracy"] > 0.95
    assert h["kv-sequential_flashbulb_accuracy"] > h["kv-sequential_regular_accuracy"]
    assert h["kv-sequential_regular_vs_no_flashbulb_mean_gap"] < 0.05
    # Hopfield trade-off: stronger flashbulbs cost regular memories more
    assert h["hopfield_strength1e+06_regular_accuracy"] < h["hopfield_strength10_regular_accuracy"]


def test_correlated_fig4c(tmp_path):
    h, _ = run(tmp_path, "correlated", N=20, d=40, seeds=10, T="10,20", rho="0,0.6",
               model="kv", gate="sequential")
    assert h["kv-sequential_rho0.6_accuracy_T10"] > 0.95     # minor degradation only
    assert h["kv-sequential_rho0_accuracy_T20"] == 1.0
    assert h["kv-sequential_rho0.6_accuracy_T20"] < 1.0       # spurious recall of similar keys


def test_heteroassociative_fig5a(tmp_path):
    h, _ = run(tmp_path, "heteroassociative", N=20, d=20, m=10, seeds=10, T="5,10,20",
               gate="sequential")
    assert abs(h["kv-sequential_hetero_minus_auto"]) < 0.03   # key-value unaffected
    assert h["hebbian_hetero_minus_auto"] < -0.05             # BAM worse than Hopfield


def test_sequence_fig5b(tmp_path):
    h, frame = run(tmp_path, "sequence", N=20, d=40, seeds=5, T="5,10,15,21,40", model="kv,bam")
    assert h["kv-sequential_largest_T_error_free"] >= 21       # error-free up to N transitions
    assert h["bam_largest_T_error_free"] < 21
    assert h["kv-sequential_mean_accuracy"] > h["bam_mean_accuracy"]
