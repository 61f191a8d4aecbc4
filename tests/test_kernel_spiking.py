"""Spiking separations and the spiking two-layer Hopfield network (circuits/kernel/spiking.py, circuits/modern_hopfield/spiking.py),
driven through their protocols' spiking backends.  One circuit shape (d = 40, 8 memory cells,
16 trials x 16 windows, 60 ms read phase) is built once and shared by the runs below."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from neurosim.circuits.kernel.spiking import SpikingKernelMemory
from neurosim.circuits.modern_hopfield.spiking import SpikingTwoLayerHopfield
from neurosim.events import sign_accuracy
from neurosim.experiment import run_protocol
from neurosim.memory.patterns import recall_stream
from neurosim.errors import ParameterError

pytestmark = pytest.mark.spiking


def neurosim_cli(*args):
    return subprocess.run([sys.executable, "-m", "neurosim.cli", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args, message", [
    (["run", "separation-capacity", "--backend", "spiking", "--set", "model=family",
      "--set", "similarity=euclidean", "--set", "separation=softmax"], "dot similarity"),
    (["run", "separation-capacity", "--backend", "spiking", "--set", "model=family",
      "--set", "similarity=dot", "--set", "separation=max"], "softmax and threshold"),
    (["run", "mhn-retrieval", "--backend", "spiking", "--set", "model=modern"],
     "two-layer network only"),
    (["run", "mhn-retrieval", "--backend", "spiking", "--set", "model=two-layer",
      "--set", "capacity_models=two-layer", "--set", "T=4"], "no capacity search"),
    (["run", "mhn-retrieval", "--backend", "spiking", "--set", "model=two-layer"], "T <= 256"),
    (["run", "mhn-retrieval", "--backend", "spiking", "--set", "model=two-layer",
      "--set", "T=4", "--set", "read_ms=10"], "settle_ms"),
])
def test_bad_spiking_requests_fail_in_one_line(args, message):
    result = neurosim_cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("neurosim: error:") and message in lines[0]


def test_memory_refuses_more_items_than_memory_cells():
    stream = recall_stream(np.random.default_rng(0), np.array([5]), 8)
    with pytest.raises(ParameterError, match="5 items but the spiking memory has 4"):
        SpikingKernelMemory(4).run(stream)
    with pytest.raises(ParameterError, match="not available on spiking"):
        SpikingKernelMemory(4, separation="polynomial")


def test_spiking_separations_recall_and_the_compare_reports_the_gap(tmp_path):
    """d = 40, 8 stored patterns, 60% occluded queries: both spiking separations recall (the
    family's qualitative result: a separation makes recall exact where the identity is not),
    and the compare pairs each spiking curve with its rate twin."""
    summary = run_protocol("separation-capacity", {
        "model": "family", "similarity": "dot", "separation": "softmax,threshold,identity",
        "T": "8", "seeds": "8"}, backends=("rate",), out=tmp_path / "rate", progress=False)
    identity = summary["headline"]["dot_identity_capacity"]
    compared = run_protocol("separation-capacity", {
        "model": "family", "similarity": "dot", "separation": "softmax,threshold",
        "T": "8", "seeds": "8"}, backends=("rate", "spiking"), out=tmp_path / "compare",
        progress=False)
    h = compared["headline"]
    import pandas as pd

    frame = pd.read_csv(tmp_path / "compare" / "results.csv")
    spiking = frame[frame["backend"] == "spiking"].groupby("separation")["accuracy"].mean()
    assert identity == 0                       # the identity misses 0.98 already at T = 8
    assert spiking["softmax"] >= 0.9 and spiking["threshold"] >= 0.85
    assert 0 < h["max_abs_accuracy_gap"] < 0.2
    assert h["rate_p99_hz_hidden_inh"] <= 300


def test_spiking_two_layer_network_completes_flipped_cues(tmp_path):
    """d = 40, 8 patterns stored one-shot, cues with 30% of their entries flipped: the spiking
    two-layer network's feature cells end with more entries right than the cue had (0.7)."""
    summary = run_protocol("mhn-retrieval", {
        "model": "two-layer", "d": "40", "T": "8", "beta": "1", "queries": "8", "seeds": "8",
        "read_ms": "60", "capacity_models": "classical"}, backends=("spiking",),
        out=tmp_path, progress=False)
    h = summary["headline"]
    assert h["accuracy_two-layer_spiking_T8"] >= 0.8
    assert h["overlap_two-layer_spiking_T8"] > 0.6


def test_two_layer_feature_state_is_the_sign_of_the_counts(assert_dale_and_units):
    """The readout is the sign of the ON - OFF counts: values in {-1, 0, 1}; the circuit
    obeys Dale's law with units."""
    from neurosim.spiking import devices

    stream = recall_stream(np.random.default_rng(1), np.full(16, 2), 40, occlusion=0.3)
    y = SpikingTwoLayerHopfield(8, seed=3).run(stream)
    scored = y[stream.query]
    assert set(np.unique(scored)) <= {-1.0, 0.0, 1.0}
    assert sign_accuracy(y, stream.y, stream.query).mean() >= 0.8
    assert_dale_and_units(devices.CACHE.active.objects["net"])


@pytest.mark.parametrize("separation", ["softmax", "threshold"])
def test_spiking_separations_obey_dale_with_units(separation, assert_dale_and_units):
    from neurosim.spiking import devices

    stream = recall_stream(np.random.default_rng(2), np.full(16, 4), 40, occlusion=0.6)
    memory = SpikingKernelMemory(8, separation, seed=1)
    memory.run(stream)
    assert_dale_and_units(devices.CACHE.active.objects["net"])
    rates = memory.physiology      # threshold: adaptation bounds the rates; softmax: feedback
    print(separation, {k: v for k, v in rates.items() if k.startswith("rate_p99")})
    assert rates["rate_p99_hz_hidden"] <= 150 and rates["rate_p99_hz_output"] <= 150
    assert rates["rate_p99_hz_hidden_inh"] <= 300


def test_threshold_cells_adapt_and_softmax_cells_do_not():
    threshold = SpikingKernelMemory(8, "threshold", threshold_adaptation_pA=30.0).memory()
    assert threshold.circuit.hidden.adaptation_pA == 30.0
    assert threshold.circuit.hidden_to_inhibition_nS == 0.0
    softmax = SpikingKernelMemory(8, "softmax").memory().circuit
    assert softmax.hidden.adaptation_pA == 0.0 and softmax.hidden_to_inhibition_nS == 12.0
    assert SpikingTwoLayerHopfield(8).memory().circuit.hidden_to_inhibition_nS == 6.0
    with pytest.raises(ParameterError, match="threshold_adaptation_pA"):
        SpikingKernelMemory(8, "threshold", threshold_adaptation_pA=-1.0)
