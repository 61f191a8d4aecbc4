"""Circuits of "Key-value memory in the brain" (Gershman, Fiete & Irie 2025):
hand-computed cases, the dual-form identities (to 1e-10) and the scaffold's
fixed points."""
import numpy as np
import pytest

from neurosim.circuits.gradient.dual import output_gradient, train_linear_layer
from neurosim.circuits.kernel.rate import (CorrelationMatrixMemory, KernelMemory, Separation,
                                           feature_map, run_separations, similarity)
from neurosim.circuits.kernel.learned import Adam, LearnedKeyValueMemory, train
from neurosim.circuits.scaffold.rate import (ScaffoldMemory, grid_codes, module_winner_take_all,
                                             pseudo_inverse_solve)
from neurosim.circuits.gradient.two_task_mlp import TwoTaskMLP
from neurosim.protocols.analysis.datasets import load_images, read_idx
from neurosim.events import EventStream
from neurosim.memory.patterns import recall_stream
from neurosim.protocols.analysis.rsa import category_rdm, compare_rdms, rdm

KEYS = np.array([[[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]])      # (1, 3, 2)
VALUES = np.array([[[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]])
QUERY = np.array([[[2.0, 1.0]]])


def test_similarities_hand_computed():
    assert np.allclose(similarity("dot", QUERY, KEYS), [[[2, 2, 3]]])
    assert np.allclose(similarity("scaled-dot", QUERY, KEYS), np.array([[[2, 2, 3]]]) / np.sqrt(2))
    assert np.allclose(similarity("euclidean", QUERY, KEYS),
                       -np.sqrt([[[1 + 1, 4 + 1, 1 + 0]]]))
    assert np.allclose(similarity("manhattan", QUERY, KEYS), [[[-2, -3, -1]]])


@pytest.mark.parametrize("name, expected", [
    ("identity", 2 * np.array([1, 0]) + 2 * np.array([0, 1]) + 3 * np.array([2, 2])),
    ("max", [2, 2]),
    ("threshold", [2, 2]),
    ("polynomial", 8 * np.array([1, 0]) + 8 * np.array([0, 1]) + 27 * np.array([2, 2])),
])
def test_separations_hand_computed(name, expected):
    memory = KernelMemory("dot", Separation(name, theta=2.5, degree=3))
    assert np.allclose(memory.read(KEYS, VALUES, QUERY)[0, 0], expected)


def test_softmax_separation_and_masking():
    weights = np.exp([2.0, 2.0, 3.0]) / np.exp([2.0, 2.0, 3.0]).sum()
    memory = KernelMemory("dot", Separation("softmax"))
    assert np.allclose(memory.read(KEYS, VALUES, QUERY)[0, 0], weights @ VALUES[0])
    only_first_two = np.array([[[True, True, False]]])
    assert np.allclose(memory.read(KEYS, VALUES, QUERY, only_first_two)[0, 0], [0.5, 0.5])
    nothing = np.zeros((1, 1, 3), dtype=bool)
    for name in ("softmax", "max", "identity"):
        assert np.all(KernelMemory("dot", Separation(name)).read(KEYS, VALUES, QUERY, nothing) == 0)


def test_max_takes_the_first_of_tied_keys():
    out = KernelMemory("dot", Separation("max")).read(KEYS[:, :2], VALUES[:, :2], QUERY)
    assert np.allclose(out[0, 0], VALUES[0, 0])


def test_elu_feature_map():
    assert np.allclose(feature_map("elu+1", np.array([-1.0, 0.0, 2.0])), [np.exp(-1), 1, 3])


@pytest.mark.parametrize("feature", ["identity", "elu+1"])
def test_primal_and_dual_forms_are_equal(feature):
    """Eq. 2 = eq. 3 (and the fast weight form of linear attention, eq. 4)."""
    rng = np.random.default_rng(0)
    stream = recall_stream(rng, np.array([3, 7, 12]), 9, m=5, occlusion=0.3)
    stream.q[:, :4] *= rng.uniform(0.5, 2.0, (3, 4))
    primal = CorrelationMatrixMemory(feature).run(stream)
    dual = KernelMemory("dot", Separation("identity"), feature).run(stream)
    scored = stream.query
    assert np.max(np.abs(primal[scored] - dual[scored])) < 1e-10
    assert np.isnan(dual[~np.any(stream.query, axis=0)[None].repeat(3, 0)]).all()


def test_reads_see_only_earlier_stores():
    """Interleaved stream: a query at step 1 sees the pair of step 0 only."""
    x = np.array([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]])
    y = np.array([[[1.0], [0.0], [5.0], [0.0]]])
    stream = EventStream(x=x, y=y, q=np.array([[1.0, 0.0, 1.0, 0.0]]),
                         query=np.array([[False, True, False, True]]))
    for y_hat in (KernelMemory().run(stream), CorrelationMatrixMemory().run(stream)):
        assert y_hat[0, 1, 0] == 1.0 and y_hat[0, 3, 0] == 1.0


def test_run_separations_share_scores_and_match_single_runs():
    rng = np.random.default_rng(1)
    stream = recall_stream(rng, np.array([20, 20]), 16, occlusion=0.5)
    separations = [Separation(n, beta=0.5, theta=3.0) for n in
                   ("identity", "softmax", "max", "threshold", "polynomial")]
    for name in ("dot", "manhattan"):
        together = run_separations(stream, name, separations)
        for separation, y_hat in zip(separations, together):
            alone = KernelMemory(name, separation).run(stream)
            assert np.allclose(y_hat, alone, equal_nan=True)


def test_gradient_descent_dual_form_identity():
    """Eq. 10-11: W = W0 + K^T V, and x W equals the key-value readout."""
    rng = np.random.default_rng(2)
    inputs = rng.standard_normal((3, 40, 6))
    for loss, targets in (("mse", rng.standard_normal((3, 40, 4))),
                          ("cross-entropy", rng.integers(0, 4, (3, 40)))):
        memory = train_linear_layer(rng.standard_normal((3, 6, 4)), inputs, targets,
                                    learning_rate=0.05, batch_size=8, loss=loss)
        assert np.max(np.abs(memory.W - memory.W0 - memory.keys.transpose(0, 2, 1) @ memory.values)) < 1e-10
        x = rng.standard_normal((3, 10, 6))
        assert np.max(np.abs(memory.primal(x) - memory.dual(x))) < 1e-10


def test_gradient_descent_one_step_by_hand():
    W0 = np.array([[[1.0], [0.0]]])
    memory = train_linear_layer(W0, np.array([[[1.0, 2.0]]]), np.array([[[3.0]]]),
                                learning_rate=0.5)
    # y = 1, dL/dy = y - t = -2, e = -0.5 * -2 = 1, W = W0 + x^T e
    assert np.allclose(memory.values, [[[1.0]]])
    assert np.allclose(memory.W, [[[2.0], [2.0]]])
    assert np.allclose(output_gradient("cross-entropy", np.zeros((1, 2)), np.array([1])),
                       [[0.5, -0.5]])


def test_grid_codes_and_module_winner_take_all():
    codes = grid_codes((2, 3), 36)
    assert codes.shape == (36, 4 + 9)
    assert np.all(codes[:, :4].sum(1) == 1) and np.all(codes[:, 4:].sum(1) == 1)
    assert len({tuple(c) for c in codes}) == 36            # unique up to prod(periods)^2
    # position 7 = (x 1, y 1): module 2 cell (1 % 2) * 2 + 1 = 3; module 3 cell 1 * 3 + 1 = 4
    assert np.flatnonzero(codes[7]).tolist() == [3, 4 + 4]
    drive = np.array([[0.1, 0.9, 0.0, 0.2, 5.0, 1.0, 0, 0, 0, 0, 0, 0, 0]])
    assert np.flatnonzero(module_winner_take_all(drive, (2, 3))[0]).tolist() == [1, 4]
    with pytest.raises(ValueError):
        grid_codes((2, 3), 37)


def test_pseudo_inverse_solve_matches_numpy():
    rng = np.random.default_rng(3)
    for shape in ((2, 30, 8), (2, 8, 30)):
        D = rng.standard_normal(shape)
        A = rng.standard_normal((shape[1], 5))
        assert np.allclose(pseudo_inverse_solve(D, A), np.linalg.pinv(D) @ A)


def test_scaffold_states_are_fixed_points_and_clean_cues_recall():
    rng = np.random.default_rng(4)
    memory = ScaffoldMemory(periods=(3, 4, 5), dense=300, states=600)
    A, W_ad, D, W_da = memory.scaffold(rng, 2)
    assert np.all(module_winner_take_all(D @ W_da, memory.periods) == A)
    patterns = rng.choice([-1.0, 1.0], (2, 8, 50))
    stream = EventStream(x=np.concatenate([patterns, patterns], 1),
                         y=np.concatenate([patterns, patterns], 1),
                         q=np.repeat([[1.0] * 8 + [0.0] * 8], 2, 0),
                         query=np.repeat([[False] * 8 + [True] * 8], 2, 0))
    y_hat = memory.run(stream, rng)
    correct = (y_hat[:, 8:] == patterns).mean(axis=-1)
    assert correct.min() >= 0.9 and correct.mean() >= 0.98   # crosstalk of shared module cells
    assert np.isnan(y_hat[:, :8]).all()


def test_two_task_mlp_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    net = TwoTaskMLP.initial(rng, 1, d_in=5, hidden=4, classes=4)
    net.W_in[:, 1] = 0.1 * rng.standard_normal((1, 5, 4))
    x, labels = rng.standard_normal((1, 6, 5)), rng.integers(0, 4, (1, 6))

    def loss(n):
        logits, _ = n.forward(x)
        logits = logits - logits.max(-1, keepdims=True)
        p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        return -np.log(np.take_along_axis(p, labels[..., None], -1)).mean()

    before = TwoTaskMLP(net.W_in.copy(), net.W_out.copy())
    net.sgd_step(x, labels, task=1, learning_rate=1.0)
    step_in = before.W_in - net.W_in
    assert np.allclose(net.W_in[:, 0], before.W_in[:, 0])       # task-1 part frozen
    i, j = 2, 3
    bumped = TwoTaskMLP(before.W_in.copy(), before.W_out.copy())
    bumped.W_in[0, 1, i, j] += 1e-6
    assert np.isclose(step_in[0, 1, i, j], (loss(bumped) - loss(before)) / 1e-6, atol=1e-5)


def test_two_task_mlp_beta_scales_the_task1_part():
    rng = np.random.default_rng(6)
    net = TwoTaskMLP.initial(rng, 2, d_in=3, hidden=4, classes=4)
    x = rng.random((2, 5, 3))
    logits, _ = net.forward(x, beta=2.0)
    # with the task-2 part at zero and a ReLU network without biases: logits scale by beta^2
    assert np.allclose(logits, 4.0 * net.forward(x)[0])


def test_learned_kv_gradients_match_finite_differences():
    rng = np.random.default_rng(7)
    memory = LearnedKeyValueMemory(rng.random((1, 6, 2)), rng.random((1, 6, 2)),
                                   np.eye(2)[rng.integers(0, 2, (1, 6))])
    grad_keys, grad_values = memory.gradients()
    h = 1e-6
    bumped = LearnedKeyValueMemory(memory.keys.copy(), memory.values.copy(), memory.targets)
    bumped.values[0, 2, 1] += h
    assert np.isclose(grad_values[0, 2, 1], (bumped.loss() - memory.loss())[0] / h, atol=1e-6)
    # a key's gradient is its query role only (memory-side keys are constants, as the notebooks)
    def loss_with_queries(queries):
        scores = memory.keys[0] @ queries.T / np.sqrt(2)
        attention = np.exp(scores) / np.exp(scores).sum(axis=0)
        out = attention.T @ (1 / (1 + np.exp(-memory.values[0])))
        return ((out - memory.targets[0]) ** 2).mean()

    queries = memory.keys[0].copy()
    queries[4, 0] += h
    numeric = (loss_with_queries(queries) - loss_with_queries(memory.keys[0])) / h
    assert np.isclose(grad_keys[0, 4, 0], numeric, atol=1e-6)


def test_learned_kv_gradients_match_torch():
    torch = pytest.importorskip("torch", reason="the torch extra is not installed")
    rng = np.random.default_rng(8)
    memory = LearnedKeyValueMemory(rng.random((1, 7, 2)), rng.random((1, 7, 2)),
                                   np.eye(2)[rng.integers(0, 2, (1, 7))])
    keys = torch.tensor(memory.keys[0], requires_grad=True)
    values = torch.tensor(memory.values[0], requires_grad=True)
    attention = torch.softmax(keys.detach() @ keys.T * 2 ** -0.5, dim=0)
    out = attention.T @ torch.sigmoid(values)
    torch.nn.functional.mse_loss(out, torch.tensor(memory.targets[0])).backward()
    grad_keys, grad_values = memory.gradients()
    assert np.max(np.abs(grad_keys[0] - keys.grad.numpy())) < 1e-12
    assert np.max(np.abs(grad_values[0] - values.grad.numpy())) < 1e-12


def test_adam_first_step_and_accumulated_gradients():
    parameter = np.array([1.0])
    Adam(0.1).step([parameter], [np.array([5.0])])
    assert np.isclose(parameter[0], 0.9)                       # first step moves by lr
    memory = LearnedKeyValueMemory(np.ones((1, 2, 2)), np.zeros((1, 2, 2)), np.ones((1, 2, 2)))
    steps = list(train(memory, 3, checkpoints=(0, 3)))
    assert steps == [0, 3]


def test_rsa_hand_computed():
    patterns = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    assert np.allclose(rdm(patterns), [[0, 5, 1], [5, 0, np.sqrt(18)], [1, np.sqrt(18), 0]])
    assert np.allclose(rdm(np.array([[1.0, 0.0], [2.0, 0.0]]), "cosine"), 0)
    assert np.allclose(category_rdm(np.array([0, 0, 1])), [[0, 0, 1], [0, 0, 1], [1, 1, 0]])
    a = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0.0]])
    assert np.isclose(compare_rdms(a, 2 * a + 1, "pearson"), 1.0)
    assert np.isclose(compare_rdms(a, -a, "spearman"), -1.0)


def test_shipped_images_and_idx_reader(tmp_path):
    mnist = load_images("mnist", "test", (0, 1))
    assert mnist.images.shape == (200, 784) and np.bincount(mnist.labels).tolist() == [100, 100]
    assert 0.0 <= mnist.images.min() and mnist.images.max() <= 1.0
    fashion = load_images("fashion-mnist", "train", (2, 3))
    assert np.bincount(fashion.labels).tolist() == [0, 0, 500, 500]
    with pytest.raises(ValueError):
        load_images("mnist", "train", (7,))
    idx = tmp_path / "tiny-idx3-ubyte"
    idx.write_bytes(bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]))
    assert read_idx(idx).tolist() == [[1, 2, 3], [4, 5, 6]]
