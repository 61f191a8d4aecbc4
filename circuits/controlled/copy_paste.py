"""The copy-paste task (Graves et al. 2014) of Tyulmankov et al. 2021 (section
3.4, Fig. 5c, appendix A.3) and the training of its controllers by
backpropagation through time.

A trial shows T random +-1 patterns s_1..s_T of dimension D, with an extra
end-of-sequence (EOS) unit at -1, then the EOS marker s_{T+1} = [-1 ... -1, +1];
over the next T + 1 steps (input 0) the output r must repeat s_1..s_{T+1}.
Loss: squared error summed over the D + 1 outputs, averaged over the scored
steps (the paper's code); accuracy: eq. 18 on sign(r). Trials of different T
share one array, padded at the end with silent, unscored steps.

Memories (``MODELS``): the key-value memory with the hand-designed rules
(pre-only keys, gated Hebbian values, rates 1) and sequential or random
(p) local third factors, and BAM with eta = 1/d (the paper's 1/40 at d = 40).
Only the controllers, the readout and the initial x_0, y~_0, q_0 are trained.
This module imports torch only inside its functions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.memory.gates import make_gates
from neurosim.memory.patterns import random_patterns
from neurosim.torch_support import one_torch_thread, training_bar

MODELS = ("kv-sequential", "kv-random", "bam")


def copy_paste_task(rng: np.random.Generator, T: np.ndarray, D: int):
    """Inputs s (B, L, D+1), targets (B, L, D+1) and the scored steps (B, L)
    for trials of T[b] patterns each; L = 2 max(T) + 2."""
    T = np.asarray(T, dtype=int)
    if T.ndim != 1 or np.any(T < 1):
        raise ValueError("T must be a 1-d array of positive sequence lengths")
    B, length = T.size, 2 * int(T.max()) + 2
    patterns = np.zeros((B, length, D))
    patterns[:, :T.max()] = random_patterns(rng, (B, int(T.max()), D))
    step = np.arange(length)[None, :]
    shown, eos = step < T[:, None], step == T[:, None]
    pasted, eos_out = (step > T[:, None]) & (step <= 2 * T[:, None]), step == 2 * T[:, None] + 1
    source = np.clip(step - T[:, None] - 1, 0, length - 1)[..., None]
    s = np.zeros((B, length, D + 1))
    s[..., :D] = np.where(shown[..., None], patterns, 0.0) - eos[..., None]
    s[..., D] = eos.astype(float) - shown
    target = np.zeros((B, length, D + 1))
    target[..., :D] = (np.where(pasted[..., None], np.take_along_axis(patterns, source, axis=1), 0.0)
                       - eos_out[..., None])
    target[..., D] = eos_out.astype(float) - pasted
    return s, target, pasted | eos_out


@dataclass(frozen=True)
class CopyPasteSettings:
    """Task, memory and training sizes (paper, appendix A.3: D = 25, d = N = 40,
    T uniform in 1..10; the paper's code trains with Adam, lr 1e-3, one
    sequence per step, for 600,000 steps). ``clip``: largest gradient norm
    (the paper's code does not clip)."""

    D: int = 25
    d: int = 40
    N: int = 40
    T_min: int = 1
    T_max: int = 10
    p: float | str = "4/N"
    steps: int = 1500
    batch: int = 32
    lr: float = 5e-3
    clip: float = 1.0


def build_memory(model: str, settings: CopyPasteSettings):
    import torch

    from neurosim.circuits.hopfield.torch import TorchBAM
    from neurosim.circuits.key_value.torch import TorchKeyValueMemory
    from neurosim.memory.plasticity import hebbian_rule, pre_only_rule

    if model == "bam":
        return TorchBAM(rate=1.0 / settings.d)
    if model in ("kv-sequential", "kv-random"):
        return TorchKeyValueMemory.from_rules(settings.N, pre_only_rule(), hebbian_rule(),
                                              dtype=torch.float32)
    raise ValueError(f"unknown copy-paste model {model!r}; choose from {', '.join(MODELS)}")


def build_network(model: str, settings: CopyPasteSettings, seed: int):
    """Controllers, readout and memory, initialized from ``seed``."""
    import torch

    from neurosim.circuits.controlled.torch import ControlledMemory

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return ControlledMemory(build_memory(model, settings), settings.D + 1, settings.D + 1,
                                settings.d)


def batch_tensors(model: str, settings: CopyPasteSettings, rng: np.random.Generator,
                  T: np.ndarray):
    """Inputs, targets, scored steps and the memory's local third factors (None for BAM)."""
    import torch

    s, target, scored = copy_paste_task(rng, T, settings.D)
    gate = None
    if model.startswith("kv-"):
        policy = model.removeprefix("kv-")
        gate = torch.tensor(make_gates(policy, rng, len(T), s.shape[1], settings.N, settings.p),
                            dtype=torch.float32)
    return (torch.as_tensor(s, dtype=torch.float32), torch.as_tensor(target, dtype=torch.float32),
            torch.as_tensor(scored), gate)


def loss_and_accuracy(r, target, scored):
    """Mean over trials of the summed squared error per scored step, and the
    per-trial accuracy (eq. 18 on sign(r))."""
    import torch

    squared = ((r - target) ** 2).sum(-1)
    counts = scored.sum(1)
    loss = ((squared * scored).sum(1) / counts).mean()
    correct = (torch.sign(r) == target).float().mean(-1)
    return loss, ((correct * scored).sum(1) / counts).detach()


@one_torch_thread("the copy-paste task")
def train_copy_paste(model: str, settings: CopyPasteSettings, rng: np.random.Generator,
                     log_every: int = 50, progress: bool = False):
    """Adam on the BPTT gradient; returns the network and the training history
    (one dict per logged step: mean loss and accuracy since the last log); ``progress``: a
    bar of the steps with the logged loss."""
    import torch

    network = build_network(model, settings, int(rng.integers(2**31)))
    optimizer = torch.optim.Adam(network.parameters(), lr=settings.lr)
    history, window = [], []
    bar = training_bar(settings.steps, f"{model} training", progress)
    for step in (index + 1 for index in bar):
        T = rng.integers(settings.T_min, settings.T_max + 1, size=settings.batch)
        s, target, scored, gate = batch_tensors(model, settings, rng, T)
        loss, accuracy = loss_and_accuracy(network(s, gate), target, scored)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), settings.clip)
        optimizer.step()
        window.append((loss.item(), accuracy.mean().item()))
        if step % log_every == 0 or step == settings.steps:
            losses, accuracies = zip(*window)
            history.append({"step": step, "loss": float(np.mean(losses)),
                            "accuracy": float(np.mean(accuracies))})
            bar.set_postfix(loss=f"{history[-1]['loss']:.3f}",
                            accuracy=f"{history[-1]['accuracy']:.3f}", refresh=False)
            window = []
    return network, history


@one_torch_thread("the copy-paste task")
def accuracy_by_length(network, model: str, settings: CopyPasteSettings,
                       rng: np.random.Generator, lengths, trials: int) -> np.ndarray:
    """Per-trial accuracy (len(lengths), trials) of a trained network, each length
    on its own batch of ``trials`` fresh sequences."""
    import torch

    with torch.no_grad():
        return np.stack([loss_and_accuracy(network(s, gate), target, scored)[1].numpy()
                         for s, target, scored, gate in
                         (batch_tensors(model, settings, rng, np.full(trials, T))
                          for T in lengths)])
