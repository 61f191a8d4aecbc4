"""The copy-paste task (Tyulmankov et al. 2021, appendix A.3): its layout by
hand, the torch BAM against the numpy BAM, the controllers' normalization,
and a short training run."""
import os

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch", reason="copy-paste needs the torch extra")

from neurosim.circuits.controlled.torch import ControlledMemory, to_norm  # noqa: E402
from neurosim.circuits.hopfield.rate import HebbianMemory  # noqa: E402
from neurosim.circuits.hopfield.torch import TorchBAM  # noqa: E402
from neurosim.circuits.controlled.copy_paste import (  # noqa: E402
    CopyPasteSettings, batch_tensors, build_network, copy_paste_task, loss_and_accuracy,
    train_copy_paste)
from neurosim.experiment import run_protocol  # noqa: E402

FULL = os.environ.get("NEUROSIM_FULL") == "1"


def test_copy_paste_layout_by_hand():
    """T = 2 patterns, EOS at step 2, the paste steps 3..5 repeat s_1, s_2 and the EOS."""
    s, target, scored = copy_paste_task(np.random.default_rng(0), np.array([2, 3]), 3)
    assert s.shape == target.shape == (2, 8, 4) and scored.shape == (2, 8)
    first = s[0]
    np.testing.assert_array_equal(first[:2, 3], [-1, -1])            # EOS unit off while shown
    np.testing.assert_array_equal(first[2], [-1, -1, -1, 1])          # the EOS marker
    np.testing.assert_array_equal(first[3:], 0.0)                     # silent paste and padding
    np.testing.assert_array_equal(scored[0], [0, 0, 0, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(target[0, 3:5], first[:2])          # s_1, s_2 repeated
    np.testing.assert_array_equal(target[0, 5], first[2])             # then the EOS marker
    np.testing.assert_array_equal(target[0, ~scored[0]], 0.0)
    np.testing.assert_array_equal(target[1, 4:8], s[1, :4])
    assert set(np.unique(s[:, :2, :3])) <= {-1.0, 1.0}


def test_torch_bam_matches_the_numpy_bam():
    """W = sum_t eta q_t y_t x_t^T (HebbianMemory with decay 1, q scaled by eta), and the
    sign of the linear readout is the numpy BAM's one-step readout."""
    rng = np.random.default_rng(0)
    x = rng.choice([-1.0, 1.0], size=(2, 5, 6))
    y = rng.choice([-1.0, 1.0], size=(2, 5, 4))
    q = np.array([[1.0, 0.0, 0.5, 1.0, 0.25], [0.0, 1.0, 1.0, 0.5, 1.0]])
    expected = HebbianMemory(bidirectional=True).store(np.zeros((2, 4, 6)), x, y, q)
    bam = TorchBAM(rate=0.25, dtype=torch.float64)
    W = bam.initial_state(2, 6, 4)
    for t in range(5):
        W = bam.write(W, torch.tensor(x[:, t]), torch.tensor(y[:, t]), torch.tensor(q[:, t]))
    np.testing.assert_allclose(W.numpy(), 0.25 * expected, atol=1e-12)
    readout = torch.stack([bam.read(W, torch.tensor(x[:, t])) for t in range(5)], dim=1)
    recall = HebbianMemory(bidirectional=True, max_iterations=0).recall(expected, x)
    np.testing.assert_array_equal(np.sign(readout.numpy()), recall)


def test_controller_outputs_have_norm_sqrt_d_and_the_readout_is_bounded():
    v = torch.tensor([[3.0, 4.0], [0.3, -0.4]])
    np.testing.assert_allclose(to_norm(v, 5.0).norm(dim=-1).numpy(), [5.0, 5.0], rtol=1e-6)
    settings = CopyPasteSettings(D=3, d=8, N=8, T_max=3)
    network = build_network("kv-sequential", settings, seed=0)
    assert isinstance(network, ControlledMemory)
    s, target, scored, gate = batch_tensors("kv-sequential", settings, np.random.default_rng(0),
                                            np.array([1, 3]))
    r = network(s, gate)
    assert r.shape == target.shape and float(r.detach().abs().max()) < 1.0
    assert gate.shape == (2, s.shape[1], 8)
    assert batch_tensors("bam", settings, np.random.default_rng(0), np.array([2]))[3] is None


@pytest.mark.parametrize("model", ["kv-sequential", "bam"])
def test_short_bptt_training_reduces_the_copy_loss(model):
    settings = CopyPasteSettings(D=3, d=8, N=8, T_max=3, steps=60, batch=16, lr=0.01)
    held_out = batch_tensors(model, settings, np.random.default_rng(9), np.array([1, 2, 3] * 20))

    def loss_of(network):
        with torch.no_grad():
            s, target, scored, gate = held_out
            return loss_and_accuracy(network(s, gate), target, scored)[0].item()

    before = loss_of(build_network(model, settings, seed=5))
    network, history = train_copy_paste(model, settings, np.random.default_rng(5), log_every=20)
    assert [row["step"] for row in history] == [20, 40, 60]
    assert loss_of(network) < 0.8 * before


def test_copy_paste_protocol_bam_learns_the_trained_lengths_only(tmp_path):
    """Fig. 5c's BAM at small size: it learns to copy the trained lengths (1..4) and
    fails beyond them."""
    summary = run_protocol("copy-paste", {
        "model": "bam", "D": "4", "d": "16", "T_max": "4", "steps": "200", "lr": "0.01",
        "trials": "32", "lengths": "1,2,3,4,8,12"}, out=tmp_path, progress=False)
    h = summary["headline"]
    assert h["bam_accuracy_trained_lengths"] > 0.95
    assert h["bam_accuracy_beyond"] < h["bam_accuracy_trained_lengths"] - 0.15
    frame = pd.read_csv(tmp_path / "results.csv")
    copies = frame[frame["record"] == "copy"]
    assert sorted(copies["T"].unique()) == [1, 2, 3, 4, 8, 12]
    assert (copies.groupby("T").size() == 32).all()
    assert frame[frame["record"] == "training"]["step"].max() == 200
    assert (tmp_path / "figure.png").stat().st_size > 0


@pytest.mark.slow
def test_copy_paste_fig5c_sequential_generalizes_beyond_bam(tmp_path):
    """Fig. 5c: with the protocol's training (D = 8, d = N = 40, lengths 1..10, 1500
    steps) the sequential key-value memory keeps copying beyond the trained lengths,
    BAM does not. CI: those two models, 20 test sequences per length;
    NEUROSIM_FULL=1: the protocol's defaults (also random gates, lengths 1..20, 40 each)."""
    overrides = {} if FULL else {"model": "kv-sequential,bam", "trials": "20",
                                 "lengths": "2,6,10,12,14,16,18,20"}
    h = run_protocol("copy-paste", overrides, out=tmp_path, progress=False)["headline"]
    print("copy-paste headline:", h)
    assert h["kv-sequential_accuracy_trained_lengths"] > 0.97
    assert h["bam_accuracy_trained_lengths"] > 0.97
    assert h["kv-sequential_minus_bam_beyond"] > 0.1


def test_a_serial_run_shows_the_training_steps(tmp_path, capsys):
    """One point run in this process: the training bar of its steps on stderr; with two
    points in worker processes, none."""
    tiny = {"model": "bam", "steps": "4", "log_every": "2", "trials": "2", "lengths": "2"}
    run_protocol("copy-paste", tiny, out=tmp_path / "serial", jobs=1)
    err = capsys.readouterr().err
    assert "bam training:" in err and "/4 [" in err
    run_protocol("copy-paste", {**tiny, "model": "bam,kv-sequential"}, out=tmp_path / "workers",
                 jobs=2)
    assert "training" not in capsys.readouterr().err
