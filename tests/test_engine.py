"""Sweeps, seeds, tidy results, resume, Dask."""
import json

import numpy as np
import pandas as pd
import pytest

from neurosim.experiment import run_protocol
from neurosim.protocol import ParameterError, get_protocol
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


def test_identical_seeds_give_identical_results(tmp_path):
    run_protocol("autoassociative", SMALL, out=tmp_path / "a", seed=3, jobs=1, progress=False)
    run_protocol("autoassociative", SMALL, out=tmp_path / "b", seed=3, jobs=2, progress=False)
    run_protocol("autoassociative", SMALL, out=tmp_path / "c", seed=4, jobs=1, progress=False)
    key = ["model", "gate", "T", "seed"]
    a, b, c = (pd.read_csv(tmp_path / x / "results.csv").sort_values(key).reset_index(drop=True)
               for x in "abc")
    pd.testing.assert_frame_equal(a, b)
    assert not a["accuracy"].equals(c["accuracy"])
    assert len(a) == 2 * 2 * 3


def test_resume_skips_finished_points(tmp_path):
    first = run_protocol("autoassociative", SMALL, out=tmp_path, progress=False)
    assert first["resumed_points"] == 0
    frame = pd.read_csv(tmp_path / "results.csv")
    kept = frame[frame["model"] == "kv"]
    atomic_write_text(tmp_path / "results.csv", kept.to_csv(index=False))   # "interrupted"
    second = run_protocol("autoassociative", SMALL, out=tmp_path, progress=False)
    assert second["resumed_points"] == 1 and second["points"] == 2
    final = pd.read_csv(tmp_path / "results.csv")
    assert len(final) == len(frame)
    pd.testing.assert_frame_equal(
        final.sort_values(["model", "T", "seed"]).reset_index(drop=True),
        frame.sort_values(["model", "T", "seed"]).reset_index(drop=True))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["headline"] == first["headline"]
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
