"""The command line, run as a user would (real commands into temporary folders)."""
import json
import subprocess
import sys

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
    (["run", "capacity", "--set", "N"], "--set expects NAME=V1,V2"),
    (["run", "capacity", "--set", "gate=diagonal"], "parameter gate: 'diagonal' is not one of"),
    (["run", "sequence", "--backend", "spiking"], "has no 'spiking' backend"),
    (["run", "autoassociative", "--set", "gate=random", "--set", "p=80/N"],
     "parameter p: 80/N gives 2 at N = 40"),
    (["run", "flashbulb", "--set", "flashbulbs=600", "--set", "R=4"], "parameter flashbulbs"),
    (["run", "capacity", "--seed", "x"], "argument --seed: invalid int value"),
    (["run", "capacity", "--device", "tpu"], "argument --device: invalid choice"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neurosim: error:") and message in err
    assert "\n" not in err and "Traceback" not in err
    assert not out.exists()


def test_reproduce_suite_rejects_unknown_suite():
    result = neurosim("reproduce", "nosuch")
    assert result.returncode == 2 and "invalid choice" in result.stderr
    assert result.stderr.count("\n") == 1


def test_resume_is_keyed_by_the_root_seed(tmp_path):
    args = ["run", "autoassociative", "--set", "N=8", "--set", "T=4", "--set", "seeds=4",
            "--set", "model=hopfield", "--out", str(tmp_path), "--quiet"]
    assert main([*args, "--seed", "0"]) == 0
    assert main([*args, "--seed", "7"]) == 0          # not skipped as "already measured"
    frame = pd.read_csv(tmp_path / "results.csv")
    assert sorted(frame["root_seed"].unique()) == [0, 7]
    assert oct((tmp_path / "results.csv").stat().st_mode & 0o777) != oct(0o600)
