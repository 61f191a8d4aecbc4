"""mhn-retrieval and generative-consolidation at small size: the papers'
qualitative results, their streams, and PyTorch staying optional."""
import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.experiment import run_protocol
from neurosim.errors import ParameterError
from neurosim.protocols import generative_consolidation
from neurosim.protocols.mhn_retrieval import retrieval_stream


def test_retrieval_stream_flips_the_noise_fraction_of_distinct_cued_patterns():
    rng = np.random.default_rng(0)
    stream = retrieval_stream(rng, np.array([3, 12]), 20, 0.3, queries=5)
    L = stream.info["phase_length"]
    assert L == 12 and stream.steps == 12 + 5
    np.testing.assert_array_equal(stream.q[:, :L].sum(axis=1), [3, 12])
    np.testing.assert_array_equal(stream.query[:, L:].sum(axis=1), [3, 5])
    cued = stream.info["cued"]
    for b, asked in enumerate([3, 5]):
        assert len(set(cued[b, :asked])) == asked and cued[b, :asked].max() < [3, 12][b]
        targets = stream.y[b, L:L + asked]
        np.testing.assert_array_equal(targets, stream.x[b, cued[b, :asked]])
        flipped = (stream.x[b, L:L + asked] != targets).sum(axis=1)
        np.testing.assert_array_equal(flipped, 6)           # round(0.3 * 20)


def test_mhn_retrieval_modern_capacity_far_above_classical(tmp_path):
    """d = 64, 30% flipped cues: the modern network stores many times more
    patterns than the classical one, recalls single memories at high beta and
    metastable mixtures at low beta, on the same one-shot stored patterns."""
    summary = run_protocol("mhn-retrieval", {
        "model": "classical,modern,two-layer", "d": "64", "T": "8,64", "beta": "0.02,1",
        "queries": "16", "seeds": "4", "capacity_models": "classical,modern", "T_max": "1024"},
        out=tmp_path, progress=False, jobs=1)
    h = summary["headline"]
    assert h["capacity_ratio_modern_to_classical"] >= 10
    assert h["capacity_ratio_beta"] == 1.0
    assert h["accuracy_modern_beta1_T64"] >= 0.97
    assert h["accuracy_two-layer_beta1_T64"] >= 0.97
    assert h["accuracy_classical_T64"] < 0.8
    for model in ("modern", "two-layer"):
        assert h[f"single_fraction_{model}_beta1_T64"] >= 0.9
        assert h[f"single_fraction_{model}_beta0.02_T64"] <= 0.1
    assert (tmp_path / "figure.png").stat().st_size > 0


def test_generative_consolidation_small(tmp_path):
    pytest.importorskip("torch", reason="generative-consolidation needs the torch extra")
    summary = run_protocol("generative-consolidation", {
        "stored": "400", "epochs": "4", "seeds": "1"}, out=tmp_path, progress=False, jobs=1)
    h = summary["headline"]
    assert h["decoding_accuracy_last_epoch"] > h["decoding_accuracy_first_epoch"] + 0.1
    assert h["decoding_accuracy_last_epoch"] > h["chance"] + 0.3
    assert h["reconstruction_error_last_epoch"] < h["reconstruction_error_first_epoch"]
    assert h["replay_landed_fraction"] >= 0.9
    assert set(summary["paper"]) == {"decoding_accuracy_first_epoch",
                                     "decoding_accuracy_last_epoch", "chance"}
    assert (tmp_path / "figure.png").stat().st_size > 0


def test_generative_consolidation_without_torch_is_one_line(monkeypatch, capsys, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(ParameterError, match=r"neurosim\[torch\]"):
        generative_consolidation.require_torch()
    assert main(["run", "generative-consolidation", "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("neurosim: error:") and error.count("\n") == 1
    assert not (tmp_path / "out").exists()


# A machine without torch: importing it fails (and no 'torch' entry sits in sys.modules, which
# scipy's array-API checks read).
BLOCK_TORCH = ("import sys, importlib.abc\n"
               "class NoTorch(importlib.abc.MetaPathFinder):\n"
               "    def find_spec(self, name, path, target=None):\n"
               "        if name.split('.')[0] == 'torch':\n"
               "            raise ModuleNotFoundError(f'No module named {name!r}')\n"
               "sys.meta_path.insert(0, NoTorch())\n")


def test_mhn_retrieval_runs_without_torch(tmp_path):
    """torch blocked: neurosim imports, lists every protocol, runs mhn-retrieval
    (here without a capacity search: no model of the grid is in capacity_models)."""
    code = (BLOCK_TORCH +
            "from neurosim.cli import main\n"
            "assert main(['list']) == 0\n"
            f"sys.exit(main(['run', 'mhn-retrieval', '--out', {str(tmp_path)!r}, '--quiet',"
            " '--set', 'model=classical,modern', '--set', 'd=16', '--set', 'T=4',"
            " '--set', 'beta=1', '--set', 'seeds=2', '--set', 'capacity_models=two-layer',"
            " '--set', 'T_max=64']))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert "torch" not in summary["versions"]
    assert 0.5 < summary["headline"]["accuracy_modern_beta1_T4"] <= 1.0
    assert not any(key.startswith("capacity") for key in summary["headline"])
