"""Each key-value protocol reproduces its figure's qualitative result at small size."""
import os

import numpy as np
import pandas as pd
import pytest

from neurosim.experiment import run_protocol
from neurosim.errors import ParameterError
from neurosim.protocols import capacity

FULL = os.environ.get("NEUROSIM_FULL") == "1"


def run(tmp_path, name, **overrides):
    summary = run_protocol(name, {k: str(v) for k, v in overrides.items()}, out=tmp_path / name,
                           seed=11, jobs=1, progress=False)
    return summary["headline"], pd.read_csv(tmp_path / name / "results.csv")


def test_autoassociative_fig2a(tmp_path):
    h, _ = run(tmp_path, "autoassociative", N=20, seeds=10, T="10,20,40",
               model="kv,tvt,hopfield")
    assert h["kv-sequential_N20_largest_T_at_0.98"] == 20       # perfect up to T = N
    assert h["kv-sequential_N20_first_T_below_0.98"] == 40      # the grid's next T fails
    assert h["kv-sequential_N20_accuracy_T40"] < 0.95           # overwriting beyond N
    assert abs(h["tvt_N20_accuracy_T20"] - h["kv-sequential_N20_accuracy_T20"]) < 0.01
    assert h["hopfield_N20_accuracy_T20"] < h["kv-sequential_N20_accuracy_T20"] - 0.05
    assert h["kv-random_N20_accuracy_T20"] < h["kv-sequential_N20_accuracy_T20"]


def scripted(outcomes):
    """accuracy_at for one trial that passes or fails as scripted, by T."""
    probes = []

    def accuracy_at(T):
        probes.append(int(T[0]))
        return np.array([1.0 if outcomes[T[0]].pop(0) else 0.0])
    return accuracy_at, probes


def test_paper_code_search_follows_the_reference_rule():
    """lo = 1, hi = 2; pass: lo = hi, hi = 2 hi; fail: hi = (lo + hi) // 2.
    A noisy model passes T = 4 after failing it once: the search forgets."""
    accuracy_at, probes = scripted({2: [True], 4: [False, True], 3: [True], 6: [False, False],
                                    8: [False], 5: [False]})
    assert capacity.paper_code_search(accuracy_at, 1, 0.98).tolist() == [4]
    assert probes == [2, 4, 3, 6, 4, 8, 6, 5]
    accuracy_at, probes = scripted({2: [False]})
    assert capacity.paper_code_search(accuracy_at, 1, 0.98).tolist() == [1]   # T = 1 never probed
    assert probes == [2]


def test_bisection_search_remembers_failures():
    accuracy_at, probes = scripted({1: [True], 2: [True], 4: [False], 3: [True]})
    assert capacity.bisection_search(accuracy_at, 1, 0.98).tolist() == [3]
    assert probes == [1, 2, 4, 3]
    accuracy_at, _ = scripted({1: [False]})
    assert capacity.bisection_search(accuracy_at, 1, 0.98).tolist() == [0]


@pytest.mark.parametrize("search", sorted(capacity.SEARCH))
def test_capacity_search_that_never_fails_stops_with_one_line(search):
    with pytest.raises(ParameterError, match="never fell below the threshold"):
        capacity.SEARCH[search](lambda T: np.ones(T.size), 3, 0.98)


def test_capacity_refuses_a_query_with_every_entry_hidden(tmp_path):
    """N = 1 (d = 1): an occluded query shows nothing, so any recall is luck."""
    with pytest.raises(ParameterError, match="hides all 1 entries of a query at d = 1"):
        run(tmp_path, "capacity", N=1, seeds=2)
    h, _ = run(tmp_path, "capacity", N=1, d=5, seeds=20, model="kv", gate="sequential")
    assert h["kv-sequential_capacity_N1"] < 1.5                 # one slot, one item


def test_paper_code_capacity_lies_above_bisection_for_noisy_models(tmp_path):
    h, _ = run(tmp_path, "capacity", N="20,40", seeds=30, model="kv,hopfield", gate="random",
               p="4/N", search="paper-code,bisection")
    for name in ("kv-random-p4/N", "hopfield"):
        assert h[f"{name}_capacity_N40"] > h[f"{name}_bisection_capacity_N40"]
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
               model="kv", gate="sequential", occlusion_mode="exact")
    key = "kv-sequential-exact_N20"
    assert h[f"{key}_rho0.6_accuracy_T10"] > 0.95        # minor degradation only
    assert h[f"{key}_rho0_accuracy_T20"] == 1.0
    assert h[f"{key}_rho0.6_accuracy_T20"] < 1.0         # spurious recall of similar keys


def test_correlated_hopfield_drops_with_the_template_convention(tmp_path):
    """Fig. 4c: with the paper code's patterns (correlation rho with a stored
    template) Hopfield falls to ~0.8; with pairwise correlation rho it stays higher."""
    h, _ = run(tmp_path, "correlated", model="hopfield", rho=0.6, T="5,40", seeds=20,
               rho_convention="template,pairwise")
    assert h["hopfield_N40_rho0.6_accuracy_T40"] < 0.83
    assert h["hopfield_N40_rho0.6_pairwise_accuracy_T40"] > 0.86


def test_heteroassociative_fig5a(tmp_path):
    h, _ = run(tmp_path, "heteroassociative", N=20, d=20, m=10, seeds=10, T="5,10,20",
               gate="sequential")
    assert abs(h["kv-sequential_N20_hetero_minus_auto"]) < 0.03   # key-value unaffected
    assert h["hebbian_N20_hetero_minus_auto"] < -0.05             # BAM worse than Hopfield


def test_sequence_fig5b(tmp_path):
    h, frame = run(tmp_path, "sequence", N=20, d=40, seeds=5, T="5,10,15,21,40", model="kv,bam")
    assert h["kv-sequential_N20_largest_T_error_free"] >= 21   # error-free up to N transitions
    assert h["bam_N20_largest_T_error_free"] < 21
    assert h["kv-sequential_N20_mean_accuracy"] > h["bam_N20_mean_accuracy"]


def test_curves_share_a_colour_per_model_and_sort_numerically():
    """compare figures: rate solid, spiking dashed, same colour; legend sorted by value."""
    import matplotlib

    matplotlib.use("Agg")
    from neurosim.protocols import _kv

    rows = [{"model": "hopfield", "gate": None, "p": None, "backend": backend, "seed": seed,
             "flashbulb_strength": strength, "R": R, "accuracy": 0.5 + 0.1 * seed}
            for backend in ("rate", "spiking") for strength in (1e6, 50.0, 1000.0, 10.0)
            for seed in range(2) for R in (5, 10)]
    figure = _kv.accuracy_curve_plot(pd.DataFrame(rows), "R", by="flashbulb_strength")
    lines = figure.axes[0].get_lines()
    labels = [line.get_label() for line in lines]
    assert labels[:4] == [f"hopfield, strength {s} ({b})" for s, b in
                          [("10", "rate"), ("10", "spiking"), ("50", "rate"), ("50", "spiking")]]
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert (lines[0].get_linestyle(), lines[1].get_linestyle()) == ("-", "--")
    assert figure.axes[0].get_ylabel() == "recall accuracy (eq. 18)"
