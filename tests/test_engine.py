"""Sweeps, seeds, tidy results, resume, Dask."""
import json
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from neurosim.experiment import check_estimates, run_protocol
from neurosim.errors import ParameterError
from neurosim.protocol import Estimate, Protocol, RunContext, get_protocol
from neurosim.results import ResultStore, atomic_write_text
from neurosim.sweep import expand_grid, point_seed

SMALL = {"N": "8", "T": "4,8", "seeds": "3", "model": "kv,hopfield", "gate": "sequential"}


def test_grid_is_canonical_and_deduplicated():
    protocol = get_protocol("autoassociative")
    values = {"backend": ["rate"], **protocol.resolve({"model": "kv,hopfield"})}
    points = protocol.points(values)
    # kv x 2 gates, hopfield once (gate and p do not apply)
    assert sorted((p["model"], p["gate"], p["p"]) for p in points) == [
        ("hopfield", None, None), ("kv", "random", "0.1"), ("kv", "sequential", None)]
    assert all(p["T"] == tuple(values["T"]) for p in points)


def test_point_seed_depends_on_point_only():
    a = point_seed(7, {"N": 8, "model": "kv"}).generate_state(2)
    b = point_seed(7, {"model": "kv", "N": 8}).generate_state(2)
    c = point_seed(8, {"N": 8, "model": "kv"}).generate_state(2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    backend = point_seed(7, {"N": 8, "model": "kv", "backend": "spiking"}).generate_state(2)
    np.testing.assert_array_equal(a, backend)                 # every realization, same streams
    shared = [point_seed(7, {"N": 8, "model": m}, ("model",)).generate_state(2)
              for m in ("kv", "hopfield")]
    np.testing.assert_array_equal(*shared)                     # shared_streams axes
    assert expand_grid({"a": [1, 2], "b": ["x"]}) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]


def test_identical_seeds_give_identical_results_whatever_the_jobs(tmp_path):
    """The same file, rows in the grid's order, with one process or several."""
    grid = {**SMALL, "model": "hopfield,kv,bam"}
    run_protocol("autoassociative", grid, out=tmp_path / "a", seed=3, jobs=1, progress=False)
    run_protocol("autoassociative", grid, out=tmp_path / "b", seed=3, jobs=2, progress=False)
    run_protocol("autoassociative", grid, out=tmp_path / "c", seed=4, jobs=1, progress=False)
    assert (tmp_path / "a" / "results.csv").read_text() == (tmp_path / "b" / "results.csv").read_text()
    a, c = (pd.read_csv(tmp_path / x / "results.csv") for x in "ac")
    assert not a["accuracy"].equals(c["accuracy"])
    assert len(a) == 3 * 2 * 3
    assert list(dict.fromkeys(a["model"])) == ["hopfield", "kv", "bam"]      # the grid's order


def test_resume_skips_finished_points(tmp_path):
    first = run_protocol("autoassociative", SMALL, out=tmp_path, progress=False)
    assert first["resumed_points"] == 0
    frame = pd.read_csv(tmp_path / "results.csv")
    kept = frame[frame["model"] == "hopfield"]          # the grid's first point is lost
    atomic_write_text(tmp_path / "results.csv", kept.to_csv(index=False))   # "interrupted"
    second = run_protocol("autoassociative", SMALL, out=tmp_path, progress=False)
    assert second["resumed_points"] == 1 and second["points"] == 2
    final = pd.read_csv(tmp_path / "results.csv")
    pd.testing.assert_frame_equal(final, frame)          # resumed rows back in the grid's order
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["headline"] == first["headline"]
    assert summary["device"] is None                     # no Brian2 device in a rate run
    assert (tmp_path / "figure.png").stat().st_size > 1000


def test_result_store_writes_atomically(tmp_path):
    store = ResultStore(tmp_path)
    store.add({"a": 1}, [{"m": 0.5}])
    assert list(tmp_path.iterdir()) == [tmp_path / "results.csv"]   # no temporary left behind
    assert ResultStore(tmp_path).done == store.done


def test_unknown_backend_and_device_are_parameter_errors(tmp_path):
    with pytest.raises(ParameterError, match="no 'graph' backend"):
        run_protocol("autoassociative", {}, backends=("graph",), out=tmp_path)
    with pytest.raises(ParameterError, match="unknown device"):
        run_protocol("autoassociative", {}, device="tpu", out=tmp_path)
    assert not any(tmp_path.iterdir())


def test_dask_local_cluster_matches_serial(tmp_path):
    pytest.importorskip("dask.distributed", reason="the dask extra is not installed")
    serial = run_protocol("autoassociative", SMALL, out=tmp_path / "s", seed=1, jobs=1,
                          progress=False)
    dask = run_protocol("autoassociative", SMALL, out=tmp_path / "d", seed=1,
                        scheduler="local", progress=False)
    assert serial["headline"] == dask["headline"]


def test_summary_is_strict_json_and_point_ids_stay_text(tmp_path):
    from neurosim.results import write_summary

    write_summary(tmp_path, {"a": float("nan"), "b": np.float64(2.5), "c": (1, np.int64(2)),
                             "d": {"e": float("inf")}})
    assert json.loads((tmp_path / "summary.json").read_text()) == {
        "a": None, "b": 2.5, "c": [1, 2], "d": {"e": None}}
    store = ResultStore(tmp_path)
    store.add({"x": 1}, [{"m": 1.0}])
    digits_only = "0123456789012345"
    store.frame.loc[0, "point_id"] = digits_only
    atomic_write_text(tmp_path / "results.csv", store.frame.to_csv(index=False))
    assert ResultStore(tmp_path).done == {digits_only}


@pytest.mark.parametrize("name, overrides", [
    ("autoassociative", {"model": "kv", "gate": "random", "T": "200,1000"}),
    ("autoassociative", {"model": "hopfield", "T": "1000", "N": "100"}),
    ("heteroassociative", {"model": "bam", "task": "hetero", "T": "1000"}),
    ("continual", {"model": "kv", "gate": "sequential", "R": "50"}),
])
def test_memory_estimate_is_close_to_the_measured_peak(name, overrides):
    """The key-value estimate against tracemalloc's peak (numpy reports its buffers)."""
    protocol = get_protocol(name)
    point = protocol.points({"backend": ["rate"], **protocol.resolve({**overrides, "seeds": "2"})})[0]
    estimate = protocol.estimate(point)
    tracemalloc.start()
    try:
        protocol.run_point(point, point_seed(0, point), RunContext())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= estimate.memory_bytes <= 2 * peak
    assert estimate.seconds > 0


def test_points_too_large_are_refused_and_too_many_at_once_run_fewer(capsys):
    protocol = Protocol("fake", "", {}, run_point=None, summarize=None, plot=None,
                        estimate=lambda point: Estimate(memory_bytes=point["size"],
                                                        seconds=point["size"]))
    points = [{"size": 30}, {"size": 40}, {"size": 10}]
    assert check_estimates(protocol, points, jobs=4, available=100) == 2
    assert check_estimates(protocol, points, jobs=2, available=100) == 2
    assert "running 2 point(s) at a time" in capsys.readouterr().err
    assert check_estimates(protocol, points, jobs=4, available=1000) == 4
    assert not capsys.readouterr().err
    with pytest.raises(ParameterError, match="point size=40 needs about 40 B of memory"):
        check_estimates(protocol, points, jobs=1, available=39)
    check_estimates(protocol, [{"size": 100}], jobs=1, available=1000)
    assert "longest, size=100, about 100 s on one core (estimate)" in capsys.readouterr().err


def test_backend_gap_pairs_rate_and_spiking_rows_despite_spiking_only_parameters():
    """Rate rows leave the spiking noise parameters empty; the gap still pairs the points."""
    from neurosim.experiment import backend_gap

    frame = pd.DataFrame({"backend": ["rate", "rate", "spiking", "spiking"], "T": [4, 8, 4, 8],
                          "input": [None, None, "poisson", "poisson"],
                          "seed_noise": [None, None, 0, 0], "accuracy": [1.0, 0.9, 0.8, 0.85]})
    values = {"backend": ["rate", "spiking"], "T": [4, 8], "input": ["poisson"],
              "seed_noise": [0]}
    gap = backend_gap(frame, get_protocol("autoassociative"), values)
    assert gap == pytest.approx({"max_abs_accuracy_gap": 0.2, "mean_abs_accuracy_gap": 0.125})


def test_backend_gap_pairs_a_rate_gain_the_spiking_rows_leave_empty_only_when_single():
    """beta: one rate value pairs with the spiking rows (which have no beta); two do not."""
    from neurosim.experiment import backend_gap

    protocol = get_protocol("mhn-retrieval")
    frame = pd.DataFrame({"backend": ["rate", "rate", "spiking", "spiking"], "T": [4, 8, 4, 8],
                          "beta": [1.0, 1.0, None, None], "accuracy": [1.0, 0.9, 0.7, 0.8]})
    values = {"backend": ["rate", "spiking"], "T": [4, 8], "beta": [1.0]}
    assert backend_gap(frame, protocol, values) == pytest.approx(
        {"max_abs_accuracy_gap": 0.3, "mean_abs_accuracy_gap": 0.2})
    two_betas = pd.concat([frame, frame.iloc[:2].assign(beta=2.0, accuracy=0.5)])
    assert backend_gap(two_betas, protocol, {**values, "beta": [1.0, 2.0]}) == {}


def test_compare_leaves_out_the_points_a_twin_backend_does_not_realize():
    """mhn-retrieval on spiking realizes the two-layer network only: compared with rate, the
    other models run on rate alone (and the reason is kept); asked of spiking alone, the error
    stands, as it does when the twin realizes none of the points."""
    protocol = get_protocol("mhn-retrieval")
    values = {"backend": ["rate", "spiking"],
              **protocol.resolve({"model": "classical,two-layer", "T": "4,8", "beta": "1"})}
    points, left_out = protocol.compared_points(values)
    assert sorted((p["backend"], p["model"]) for p in points) == [
        ("rate", "classical"), ("rate", "two-layer"), ("spiking", "two-layer")]
    assert "two-layer network only" in left_out["spiking"]
    with pytest.raises(ParameterError, match="two-layer network only"):
        protocol.points({**values, "backend": ["spiking"]})
    with pytest.raises(ParameterError, match="two-layer network only"):
        protocol.points({**values, "model": ["classical"]})


def test_a_points_physiology_is_the_worst_case_of_its_runs():
    """p99 rates: the largest over runs; shortest ISI: the smallest; others: the mean; a
    measurement no run made (all NaN) stays NaN, without a RuntimeWarning."""
    import warnings

    from neurosim.spiking.physiology import point_columns

    runs = [{"rate_p99_hz_x": 100.0, "isi_min_ms_x": 4.0, "rate_mean_hz_x": 10.0,
             "isi_cv_x": np.nan},
            {"rate_p99_hz_x": 140.0, "isi_min_ms_x": 3.0, "rate_mean_hz_x": 20.0,
             "isi_cv_x": np.nan}]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        columns = point_columns(runs)
    assert np.isnan(columns.pop("isi_cv_x"))
    assert columns == {"rate_p99_hz_x": 140.0, "isi_min_ms_x": 3.0, "rate_mean_hz_x": 15.0}
