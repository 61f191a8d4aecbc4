"""Spiking backend (Brian2): encoders, plasticity updates, rate-vs-spiking
agreement, devices. Every circuit is built small under cpp_standalone; builds
are shared by shape within the session (one kv/TVT, one Hopfield and one BAM
build, about 2-3 minutes cold)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from neurosim import devices
from neurosim.circuits.hebbian import HebbianMemory
from neurosim.circuits.hopfield_spiking import SpikingHopfield
from neurosim.circuits.key_value import KeyValueMemory
from neurosim.circuits.kv_spiking import SpikingKeyValueMemory, padded, padded_steps
from neurosim.events import EventStream, sign_accuracy
from neurosim.gates import sequential_gates
from neurosim.patterns import recall_stream

pytestmark = pytest.mark.spiking

D = 8           # small circuits: d = m = N = 8
B = 4           # trials per stream (padded to 16 trials and 16 steps: one build per circuit)
STEPS = 16      # padded steps
# Stated tolerance of the small agreement test: mean accuracy over the batch.
AGREEMENT_TOLERANCE = 0.06


def stream_of(x, y, q, query, gate=None):
    return EventStream(x=np.asarray(x, float), y=np.asarray(y, float), q=np.asarray(q, float),
                       query=np.asarray(query, bool),
                       gate=None if gate is None else np.asarray(gate, float))


# --------------------------------------------------------------- encoders
def test_kv_input_encoding_on_off_with_baseline():
    model = SpikingKeyValueMemory(2, device="cpp_standalone")
    x = np.array([[[1.0, -1.0, 0.0]]])
    stream = stream_of(x, x, [[1.0]], [[False]], gate=[[[1.0, 0.0]]])
    values = model.stimulus(stream, 1, 2)
    # ON rates r0 (1 + x), OFF rates r0 (1 - x): +1 -> (2, 0), -1 -> (0, 2), 0 -> (1, 1)
    np.testing.assert_array_equal(values["rate"][0], [2, 0, 1, 0, 2, 1])
    np.testing.assert_array_equal(values["rate"][1], [1] * 6)       # padded window: silent x = 0
    np.testing.assert_array_equal(values["eta"][0], [1, 0])
    np.testing.assert_array_equal(values["clamp"][0], [1, -1, 0])   # clamped only where q > 0
    assert values["q"].shape == (2, 1)


def test_hopfield_store_factors():
    model = SpikingHopfield(decay=0.9, flashbulb_strength=50.0)
    x = np.ones((1, 3, 2))
    values = model.stimulus(stream_of(x, x, [[1.0, 0.0, 10.0]], [[0, 1, 0]]), 1, 3)
    np.testing.assert_allclose(values["lam"][:, 0], [0.9, 1.0, 0.9])
    np.testing.assert_allclose(values["wq"][:, 0], [1.0, 0.0, 50.0])
    np.testing.assert_array_equal(values["clamp"][1], [0, 0])


def test_padding_buckets():
    assert [padded(b, "cpp_standalone") for b in (1, 2, 3, 16, 17, 800)] == [1, 16, 16, 16, 32, 800]
    assert padded(33, "runtime") == 33
    assert [padded_steps(s, "cpp_standalone") for s in (3, 16, 17, 65, 240, 300)] == \
        [16, 16, 32, 128, 256, 512]


def test_regular_trains_are_exact():
    """Regular trains: the count of an input in T1 is exactly rate * T1."""
    tm = SpikingKeyValueMemory(2).timing
    count0 = tm.r0_hz * tm.T1_ms * 1e-3
    assert count0 == pytest.approx(round(count0)) and count0 >= 1


# --------------------------------------------------------------- plasticity (hand-computed)
def kv_write_stream():
    """Trial 0: store x1 in slot 0 (q = 1), then x2 in slot 0 with q = 0.5,
    then query. Trial 1: flashbulb store (q = 10) in slot 1, overwrite attempt
    (q = 1) of slot 1. Trials 2, 3: nothing."""
    x1 = np.array([1, -1, 1, 1, -1, -1, 1, -1.0])
    x2 = np.array([1, 1, -1, 1, -1, 1, -1, -1.0])
    x = np.zeros((B, 9, D))
    q = np.zeros((B, 9))
    gate = np.zeros((B, 9, D))
    x[0, 0], x[0, 1], x[0, 2] = x1, x2, x1 * (np.arange(D) < 4)
    q[0, :2] = [1.0, 0.5]
    gate[0, :2, 0] = 1
    x[1, 0], x[1, 1] = x1, x2
    q[1, :2] = [10.0, 1.0]
    gate[1, :2, 1] = 1
    query = np.zeros((B, 9), bool)
    query[:, 2] = True
    return stream_of(x, x, q, query, gate), x1, x2


@pytest.fixture(scope="module")
def kv_writes():
    stream, x1, x2 = kv_write_stream()
    model = SpikingKeyValueMemory(D, device="cpp_standalone", stability=True)
    y_hat = model.run(stream)
    build = devices.CACHE.active
    syn = build.objects["keys"]
    w = np.asarray(syn.w)
    i, j = np.asarray(syn.i), np.asarray(syn.j)
    vals = build.objects["values"]
    return {"stream": stream, "x1": x1, "x2": x2, "w": w, "i": i, "j": j, "y_hat": y_hat,
            "V": np.asarray(vals.V), "vi": np.asarray(vals.i), "vj": np.asarray(vals.j)}


def key_matrix(res, trial):
    """K (N, d) of a trial from the ON synapses (the OFF ones carry -K)."""
    K = np.zeros((D, D))
    on = (res["i"] // (2 * D) == trial) & (res["i"] % (2 * D) < D)
    K[res["j"][on] % D, res["i"][on] % (2 * D)] = res["w"][on]
    off = (res["i"] // (2 * D) == trial) & (res["i"] % (2 * D) >= D)
    K_off = np.zeros((D, D))
    K_off[res["j"][off] % D, res["i"][off] % (2 * D) - D] = res["w"][off]
    np.testing.assert_allclose(K_off, -K)
    return K


def test_gated_pre_only_key_rule(kv_writes):
    """K_0 <- (1 - eta) K_0 + eta x: after x1 (eta 1) and x2 (eta 0.5), row 0 is
    0.5 x1 + 0.5 x2; every other row stays 0."""
    K = key_matrix(kv_writes, 0)
    np.testing.assert_allclose(K[0], 0.5 * kv_writes["x1"] + 0.5 * kv_writes["x2"], atol=1e-9)
    np.testing.assert_allclose(K[1:], 0.0)


def test_flashbulb_stability_blocks_overwrite(kv_writes):
    """q = 10 sets S = 1 in slot 1; the later q = 1 store does not change it."""
    K = key_matrix(kv_writes, 1)
    np.testing.assert_allclose(K[1], kv_writes["x1"], atol=1e-9)
    np.testing.assert_allclose(np.delete(K, 1, axis=0), 0.0)


def test_gated_hebbian_value_rule(kv_writes):
    """V column of the gated slot <- (1 - eta) V + eta y h': sign y, magnitude
    the spike share h' (about 1 for a one-hot store); ungated columns 0."""
    V = np.zeros((2, D, D))
    for t in range(2):
        sel = kv_writes["vi"] // D == t
        V[t, kv_writes["vj"][sel] % D, kv_writes["vi"][sel] % D] = kv_writes["V"][sel]
    np.testing.assert_array_equal(np.sign(V[1, :, 1]), kv_writes["x1"])
    assert 0.5 < np.abs(V[1, :, 1]).mean() < 1.5
    np.testing.assert_allclose(np.delete(V[1], 1, axis=1), 0.0)
    # trial 0: V <- 0.5 V + 0.5 x2 h'  => sign of (h1' x1 + h2' x2) where they agree
    agree = kv_writes["x1"] == kv_writes["x2"]
    np.testing.assert_array_equal(np.sign(V[0, agree, 0]), kv_writes["x1"][agree])


def test_kv_query_reads_the_stored_value(kv_writes):
    y = np.sign(kv_writes["y_hat"][1, 2])
    np.testing.assert_array_equal(y, kv_writes["x1"] * 0 + np.sign(kv_writes["x1"]))


def test_hopfield_hebbian_weights_hand_computed():
    """W <- lambda W + w x x^T: two stores (q = 1, then q = 10 with strength 5
    and decay 0.5): W = 0.5 x1 x1^T + 5 x2 x2^T, diagonal kept."""
    x1 = np.array([1, -1, 1, 1, -1, -1, 1, -1.0])
    x2 = np.array([1, 1, -1, 1, -1, 1, -1, -1.0])
    x = np.zeros((B, 3, D))
    x[:, 0], x[:, 1], x[:, 2] = x1, x2, x2 * (np.arange(D) < 5)
    q = np.zeros((B, 3))
    q[:, :2] = [1.0, 10.0]
    query = np.zeros((B, 3), bool)
    query[:, 2] = True
    stream = stream_of(x, x, q, query)
    model = SpikingHopfield(decay=0.5, flashbulb_strength=5.0, device="cpp_standalone")
    y_hat = model.run(stream)
    syn = devices.CACHE.active.objects["recurrent"]
    i, j, w = np.asarray(syn.i), np.asarray(syn.j), np.asarray(syn.Wt)
    first = i < D
    W = np.zeros((D, D))
    W[j[first], i[first]] = w[first]
    np.testing.assert_allclose(W, 0.5 * np.outer(x1, x1) + 5 * np.outer(x2, x2))
    np.testing.assert_array_equal(np.sign(y_hat[0, 2]), x2)


# --------------------------------------------------------------- rate vs spiking
def test_kv_spiking_agrees_with_rate_on_a_short_stream():
    rng = np.random.default_rng(3)
    stream = recall_stream(rng, np.array([2, 4, 6, 8]), D)
    stream = stream.with_gates(sequential_gates(stream.batch, stream.steps, D))
    rate = sign_accuracy(KeyValueMemory(D).run(stream), stream.y, stream.query)
    spiking = sign_accuracy(SpikingKeyValueMemory(D, device="cpp_standalone").run(stream),
                            stream.y, stream.query)
    gap = abs(rate.mean() - spiking.mean())
    assert gap <= AGREEMENT_TOLERANCE, (rate, spiking)


def test_tvt_spiking_agrees_with_rate_on_a_short_stream():
    """TVT = the same build with the cosine read gain and slot value writes."""
    rng = np.random.default_rng(6)
    stream = recall_stream(rng, np.array([2, 4, 6, 8]), D)
    stream = stream.with_gates(sequential_gates(stream.batch, stream.steps, D))
    options = dict(beta=20.0, similarity="cosine", value_write="slot")
    rate = sign_accuracy(KeyValueMemory(D, **options).run(stream), stream.y, stream.query)
    spiking = sign_accuracy(SpikingKeyValueMemory(D, device="cpp_standalone", **options)
                            .run(stream), stream.y, stream.query)
    assert abs(rate.mean() - spiking.mean()) <= AGREEMENT_TOLERANCE, (rate, spiking)


def test_rerun_through_run_args_does_not_rebuild():
    rng = np.random.default_rng(5)
    builds = []
    for _ in range(3):
        stream = recall_stream(rng, np.array([3, 5, 7, 8]), D)
        stream = stream.with_gates(sequential_gates(stream.batch, stream.steps, D))
        SpikingKeyValueMemory(D, device="cpp_standalone").run(stream)
        builds.append(devices.CACHE.builds)
    assert builds[1] == builds[0] and builds[2] == builds[0]   # built at most once, first


def test_hopfield_spiking_agrees_with_rate_on_a_short_stream():
    rng = np.random.default_rng(4)
    stream = recall_stream(rng, np.array([1, 2, 3, 4]), D, occlusion=0.25)
    rate = sign_accuracy(HebbianMemory().run(stream), stream.y, stream.query)
    spiking = sign_accuracy(SpikingHopfield(device="cpp_standalone").run(stream),
                            stream.y, stream.query)
    gap = abs(rate.mean() - spiking.mean())
    assert gap <= AGREEMENT_TOLERANCE, (rate, spiking)


def test_bam_spiking_agrees_with_rate_on_a_short_stream():
    rng = np.random.default_rng(8)
    stream = recall_stream(rng, np.array([1, 2, 3, 4]), D, m=D, occlusion=0.0)
    rate = sign_accuracy(HebbianMemory(bidirectional=True).run(stream), stream.y, stream.query)
    spiking = sign_accuracy(SpikingHopfield(bidirectional=True, device="cpp_standalone")
                            .run(stream), stream.y, stream.query)
    assert abs(rate.mean() - spiking.mean()) <= AGREEMENT_TOLERANCE, (rate, spiking)


# --------------------------------------------------------------- devices
def test_cuda_without_gpu_fails_cleanly(tmp_path):
    if devices.cuda_problem() is None:
        pytest.skip("a CUDA device is available here")
    result = subprocess.run(
        [sys.executable, "-m", "neurosim.cli", "run", "autoassociative", "--backend", "spiking",
         "--device", "cuda", "--set", "model=kv", "--set", "N=8", "--set", "seeds=1",
         "--set", "T=2", "--out", str(tmp_path / "out"), "--quiet"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("neurosim: error: --device cuda")
    assert not (tmp_path / "out" / "results.csv").exists()


def test_unknown_spiking_model_is_a_parameter_error():
    from neurosim.circuits.spiking_runner import run_spiking
    from neurosim.protocol import ParameterError, RunContext

    with pytest.raises(ParameterError, match="not available on spiking"):
        run_spiking({"model": "gsemm", "N": 4}, None, RunContext(backend="spiking"))
