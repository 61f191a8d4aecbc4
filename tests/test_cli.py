"""The command line, run as a user would (real commands into temporary folders)."""
import json
import os
import re
import subprocess
import sys
import time

import pandas as pd
import pytest

from neurosim.cli import main


def neurosim(*args):
    return subprocess.run([sys.executable, "-m", "neurosim.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_list_names_every_protocol(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("autoassociative", "capacity", "continual", "flashbulb", "correlated",
                 "heteroassociative", "sequence"):
        assert name in out


def test_run_writes_tidy_results(tmp_path):
    out = tmp_path / "cap"
    result = neurosim("run", "capacity", "--backend", "rate", "--set", "N=8,16", "--set", "d=40", "--set",
                      "seeds=2", "--set", "model=kv", "--set", "gate=sequential", "--seed", "5",
                      "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    headline = json.loads(result.stdout)
    assert headline["kv-sequential_capacity_N8"] >= 8
    assert {"results.csv", "summary.json", "figure.png"} <= {p.name for p in out.iterdir()}
    header = (out / "results.csv").read_text().splitlines()[0].split(",")
    assert {"backend", "model", "N", "seed", "capacity", "point_id"} <= set(header)


@pytest.mark.parametrize("args, message", [
    (["run", "nosuch"], "unknown protocol 'nosuch'"),
    (["run", "capacity", "--set", "Q=3"], "unknown parameter 'Q'"),
    (["run", "capacity", "--set", "N=0"], "parameter N: must be > 0"),
    (["run", "capacity", "--set", "N=-4"], "parameter N: must be > 0"),
    (["run", "capacity", "--set", "p=1.5"], "parameter p: must lie in [0, 1]"),
    (["run", "autoassociative", "--set", "occlusion=1"], "parameter occlusion: must lie in [0, 1)"),
    (["run", "autoassociative", "--set", "occlusion=-0.1"], "parameter occlusion: must lie in [0, 1)"),
    (["run", "capacity", "--set", "N=abc"], "parameter N: cannot read 'abc' as int"),
    (["run", "capacity", "--set", "N=4,,8"], "malformed value list"),
    (["run", "autoassociative", "--set", "d=\u00b2"], "parameter d: must be a positive integer or N"),
    (["run", "capacity", "--set", "N"], "--set expects NAME=V1,V2"),
    (["run", "capacity", "--set", "gate=diagonal"], "parameter gate: 'diagonal' is not one of"),
    (["run", "scaffold-degradation", "--backend", "spiking"], "has no 'spiking' backend"),
    (["run", "sequence", "--backend", "spiking", "--set", "model=bam"], "kv and tvt only"),
    (["run", "autoassociative", "--set", "gate=random", "--set", "p=80/N"],
     "parameter p: 80/N gives 2 at N = 40"),
    (["run", "flashbulb", "--set", "flashbulbs=600", "--set", "R=4"], "parameter flashbulbs"),
    (["run", "capacity", "--seed", "x"], "argument --seed: invalid int value"),
    (["run", "capacity", "--device", "tpu"], "argument --device: invalid choice"),
    (["run", "autoassociative", "--set", "N=1000000000"], "needs about"),
    (["run", "autoassociative", "--set", "N=100000"], "TB of memory (estimate), more than"),
    (["run", "capacity", "--set", "seeds=100000000"], "seeds=100000000 threshold=0.98 search=paper-code needs about"),
    (["run", "autoassociative", "--set", "seeds=1000000"], "make it smaller"),
    (["run", "capacity", "--set", "N=20", "--set", "N=40"], "parameter N is set twice"),
    (["run", "capacity", "--jobs", "0"], "--jobs must be >= 1 (got 0)"),
    (["run", "capacity", "--jobs", "-1"], "--jobs must be >= 1 (got -1)"),
    (["run", "capacity", "--record"], "--record needs a spiking or brian2 backend (got rate)"),
    (["run", "sequence", "--set", "model=hopfield"], "sequence has no hopfield model"),
    (["run", "memoria-attributes", "--set", "n_wm=100000"], "of memory (estimate), more than"),
    (["run", "memoria-graph", "--set", "n_wm=100000"], "of memory (estimate), more than"),
    (["compare", "autoassociative", "--backends", "rate,rate"], "backends rate, rate: each backend once"),
    (["run", "gsemm-capacity", "--set", "K=4;;8"], "parameter K: malformed value list '4;;8'"),
    (["run", "gsemm-capacity", "--set", "K=4;8;"], "parameter K: malformed value list"),
    (["run", "gsemm-capacity", "--set", "min_dwell=5", "--set", "max_dwell=2"],
     "min_dwell <= max_dwell"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neurosim: error:") and message in err
    assert "\n" not in err and "Traceback" not in err
    assert not out.exists()


def test_an_out_name_longer_than_the_file_system_takes_is_one_line(tmp_path, capsys):
    assert main(["run", "autoassociative", "--out", str(tmp_path / ("x" * 300))]) == 2
    assert "File name too long" in one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_reproduce_suite_rejects_unknown_suite():
    result = neurosim("reproduce", "nosuch")
    assert result.returncode == 2 and "invalid choice" in result.stderr
    assert result.stderr.count("\n") == 1


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("neurosim: error:") and "\n" not in err and "Traceback" not in err
    return err


def test_out_must_be_a_writable_folder(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("kept")
    for out, message in [(a_file, "is a file, not a folder"),
                         (a_file / "below", "a_file is a file, not a folder")]:
        assert main(["run", "autoassociative", "--out", str(out)]) == 2
        assert message in one_line_error(capsys)
    assert a_file.read_text() == "kept" and list(tmp_path.iterdir()) == [a_file]
    if not os.path.isdir("/sys"):
        pytest.skip("no /sys here: the unwritable-folder case needs it")
    assert main(["run", "autoassociative", "--out", "/sys/neurosim-test"]) == 2
    assert "cannot write in /sys" in one_line_error(capsys)


def test_unreachable_scheduler_is_one_line_within_the_timeout(tmp_path, capsys, monkeypatch):
    pytest.importorskip("dask.distributed", reason="the dask extra is not installed")
    from neurosim import sweep

    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT_S", 1)
    started = time.perf_counter()
    assert main(["run", "autoassociative", "--set", "N=8", "--set", "T=4", "--scheduler",
                 "tcp://127.0.0.1:1", "--out", str(tmp_path / "never"), "--quiet"]) == 2
    assert time.perf_counter() - started < 8
    assert "--scheduler tcp://127.0.0.1:1: cannot connect" in one_line_error(capsys)
    assert not (tmp_path / "never").exists()


def test_missing_optional_dependency_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)          # as if torch were not installed
    assert main(["run", "memoria-reference", "--out", str(tmp_path / "never")]) == 2
    assert ("protocol memoria-reference needs torch: pip install 'neurosim[reference]'"
            in one_line_error(capsys))
    assert not (tmp_path / "never").exists()


def test_record_without_the_nwb_extra_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynwb", None)          # as if pynwb were not installed
    assert main(["run", "autoassociative", "--backend", "spiking", "--record",
                 "--out", str(tmp_path / "never")]) == 2
    assert "--record writes NWB files: pip install 'neurosim[nwb]'" in one_line_error(capsys)
    assert not (tmp_path / "never").exists()


def test_out_of_memory_while_running_is_one_line(tmp_path, capsys, monkeypatch):
    from neurosim import experiment

    def exhausted(*args, **kwargs):
        raise MemoryError("Unable to allocate 3.1 TiB")
        yield

    monkeypatch.setattr(experiment, "execute", exhausted)
    assert main(["run", "autoassociative", "--set", "N=8", "--out", str(tmp_path), "--quiet"]) == 2
    assert "out of memory (Unable to allocate 3.1 TiB)" in one_line_error(capsys)


def test_a_long_point_is_announced_with_an_estimate_before_it_runs(tmp_path):
    """T = 1000000 items on N = 4 slots: little memory, minutes of sequential steps."""
    process = subprocess.Popen(
        [sys.executable, "-m", "neurosim.cli", "run", "autoassociative", "--set", "N=4",
         "--set", "T=1000000", "--set", "seeds=1", "--set", "model=kv", "--set", "gate=sequential",
         "--out", str(tmp_path / "long"), "--quiet"], stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
    finally:
        process.kill()
        process.wait()
    assert line.startswith("neurosim: 1 point(s) will run longer than 60 s"), line
    assert re.search(r"T=1000000, about \d+ (s|min) on one core \(estimate\)$", line), line


def test_resume_says_how_many_points_were_reused(tmp_path, capsys):
    args = ["run", "autoassociative", "--set", "N=8", "--set", "T=4", "--set", "seeds=2",
            "--set", "model=kv,hopfield", "--set", "gate=sequential", "--out", str(tmp_path),
            "--quiet", "--jobs", "1"]
    assert main(args) == 0
    assert "resuming" not in capsys.readouterr().err
    assert main(args) == 0
    assert f"resuming {tmp_path}: 2 of 2 points already measured, 0 to run" in \
        capsys.readouterr().err


def test_a_result_folder_holds_one_protocol_and_one_grid(tmp_path, capsys):
    """Another protocol or another grid is refused (rows untouched); a grid that
    contains the folder's grid resumes it and grows the folder."""
    base = ["run", "autoassociative", "--set", "N=8", "--set", "T=4", "--set", "seeds=4",
            "--out", str(tmp_path), "--quiet", "--jobs", "1"]
    args = [*base, "--set", "model=hopfield"]
    assert main([*args, "--seed", "0"]) == 0
    capsys.readouterr()
    rows = (tmp_path / "results.csv").read_text()
    assert main(["run", "capacity", "--set", "N=8", "--out", str(tmp_path)]) == 2
    assert "holds results of protocol autoassociative" in one_line_error(capsys)
    assert main([*args, "--seed", "7"]) == 2
    assert "another grid (seed=0; this run: seed=7)" in one_line_error(capsys)
    assert main([*args, "--set", "occlusion=0.5"]) == 2
    assert "(occlusion=0.6; this run: occlusion=0.5)" in one_line_error(capsys)
    assert (tmp_path / "results.csv").read_text() == rows
    assert main([*base, "--set", "model=hopfield,bam"]) == 0
    assert "1 of 2 points already measured" in capsys.readouterr().err
    frame = pd.read_csv(tmp_path / "results.csv")
    assert sorted(frame["model"].unique()) == ["bam", "hopfield"] and len(frame) == 8
    assert oct((tmp_path / "results.csv").stat().st_mode & 0o777) != oct(0o600)


def test_list_into_a_closed_pipe_exits_quietly():
    result = subprocess.run(f"{sys.executable} -m neurosim.cli list | head -1", shell=True,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.count("\n") == 1
    assert "Traceback" not in result.stderr


def damage(folder, name):
    """A result folder of autoassociative with one file damaged as ``name`` says."""
    path = {"csv junk": "results.csv", "csv row": "results.csv", "csv dir": "results.csv",
            "summary list": "summary.json", "summary string": "summary.json",
            "summary not json": "summary.json", "summary params": "summary.json",
            "summary protocol": "summary.json", "summary headline": "summary.json",
            "summary dir": "summary.json", "figure dir": "figure.png"}[name]
    target = folder / path
    if name.endswith("dir"):
        target.unlink()
        target.mkdir()
        return
    if name == "csv junk":
        target.write_text("a,b\n1,2,3,4\nx\n")
    elif name == "csv row":
        target.write_text(target.read_text() + "zz,rate\n")
    elif name == "summary not json":
        target.write_text("{nope")
    elif name in ("summary list", "summary string"):
        target.write_text("[1, 2]" if name == "summary list" else '"x"')
    else:
        summary = json.loads(target.read_text())
        key = name.split()[1].replace("params", "parameters")
        summary[key] = 5 if key != "headline" else [1]
        target.write_text(json.dumps(summary))


DAMAGES = ["csv junk", "csv row", "csv dir", "summary list", "summary string", "summary not json",
           "summary params", "summary protocol", "summary headline", "summary dir", "figure dir"]


@pytest.fixture(scope="module")
def measured_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("measured") / "auto"
    assert main(["run", "autoassociative", "--set", "N=8", "--set", "T=2", "--set", "seeds=1",
                 "--out", str(folder), "--quiet"]) == 0
    return folder


@pytest.mark.parametrize("name", DAMAGES)
def test_a_damaged_result_folder_is_one_line_and_left_as_it_was(measured_folder, tmp_path,
                                                                 capsys, name):
    """Resume and report on a folder with one damaged file: one line naming the file, exit 2,
    every file unchanged."""
    import shutil

    folder = shutil.copytree(measured_folder, tmp_path / "auto")
    damage(folder, name)
    before = {p.name: (p.read_bytes() if p.is_file() else None) for p in folder.iterdir()}
    capsys.readouterr()
    assert main(["run", "autoassociative", "--set", "N=8", "--set", "T=2", "--set", "seeds=1",
                 "--out", str(folder), "--quiet"]) == 2
    first = one_line_error(capsys)
    assert main(["report", str(folder)]) == 2
    assert one_line_error(capsys) == first
    damaged_file = {"csv": "results.csv", "summary": "summary.json", "figure": "figure.png"}
    assert f"{damaged_file[name.split()[0]]}:" in first and "nothing in the folder was changed" in first
    assert {p.name: (p.read_bytes() if p.is_file() else None) for p in folder.iterdir()} == before


def test_an_error_during_a_run_starts_a_line_of_its_own(tmp_path, capsys, monkeypatch):
    """The sweep's bar is cleared before the error line, so the line starts at column 0."""
    from neurosim import experiment
    from neurosim.errors import ParameterError

    def failing(*args, **kwargs):
        yield from ()
        raise ParameterError("a point failed")

    monkeypatch.setattr(experiment, "execute", failing)
    assert main(["run", "autoassociative", "--set", "N=8", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.rstrip("\n").split("\n")[-1].split("\r")[-1] == "neurosim: error: a point failed"
