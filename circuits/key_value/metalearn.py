"""Meta-learning of the key-value memory's plasticity rules (Tyulmankov et al.
2021, section 3.2, Fig. 3).

The learnable numbers, with the paper's names (eq. 12-16) and the fields of
:class:`~neurosim.memory.plasticity.ThreeFactorRule` they set:

    key rule (input -> hidden, gated, eq. 15)    value rule (hidden -> output, passive, eq. 16)
    a_fK, b_fK  pre_slope, pre_offset           a_fV, b_fV  pre_slope, pre_offset
    a_gK, b_gK  post_slope, post_offset         a_gV, b_gV  post_slope, post_offset
    eta_K       rate                             eta_V       rate
                                                 lambda      passive_decay

Training (:func:`train_rules`): Adam on the mean squared recall error of the
autoassociative benchmark (appendix A.1), backpropagated through the storage
and recall of every sequence (the differentiable memory of
:mod:`neurosim.circuits.key_value.torch`); sequence lengths T uniform in
[T_min, T_max]. S independent rules train side by side on the batch axis (Adam
is elementwise, so they do not interact). After each step the parameters are
projected onto the rule's domain: 0 <= eta_K <= 1 (the gated rate is clipped
to 1 anyway), eta_V >= 0, LAMBDA_MIN <= lambda <= 1.
:func:`evolve_rules` is the gradient-free path (CMA-ES, PyPI ``cma``).

The learned rules are plain ThreeFactorRule objects (:func:`rules_from_parameters`),
so the numpy circuit (and any realization generated from the rule) runs them;
:func:`load_learned_rules` reads them back from a ``metalearn-plasticity``
summary. This module imports torch only inside the functions that need it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurosim.memory.gates import make_gates
from neurosim.memory.patterns import recall_stream
from neurosim.memory.plasticity import ThreeFactorRule
from neurosim.errors import ParameterError
from neurosim.results import SUMMARY
from neurosim.torch_support import one_torch_thread, training_bar

PAPER_NAMES = {
    "a_fK": ("key", "pre_slope"), "a_gK": ("key", "post_slope"),
    "a_fV": ("value", "pre_slope"), "a_gV": ("value", "post_slope"),
    "b_fK": ("key", "pre_offset"), "b_gK": ("key", "post_offset"),
    "b_fV": ("value", "pre_offset"), "b_gV": ("value", "post_offset"),
    "eta_K": ("key", "rate"), "eta_V": ("value", "rate"), "lambda": ("value", "passive_decay"),
}
LAMBDA_MIN = 1e-3
# The paper's code (gyyang/bio-kvm, PlasticLinear defaults): affine transfers
# start at slope 1, offset 0 (both rules Hebbian), rate scales at 0.5, and the
# passive decay at 0.9-1.0 (we take the middle, 0.95).
INITIAL_PARAMETERS = {"a_fK": 1.0, "a_gK": 1.0, "a_fV": 1.0, "a_gV": 1.0,
                      "b_fK": 0.0, "b_gK": 0.0, "b_fV": 0.0, "b_gV": 0.0,
                      "eta_K": 0.5, "eta_V": 0.5, "lambda": 0.95}


def rules_from_parameters(parameters: dict) -> tuple[ThreeFactorRule, ThreeFactorRule]:
    """(key rule, value rule) from the paper's eleven numbers: a gated key rule
    (eq. 15) and a passive value rule (eq. 16)."""
    fields = {"key": {}, "value": {}}
    for name, (rule, field) in PAPER_NAMES.items():
        fields[rule][field] = float(parameters[name])
    return (ThreeFactorRule.from_dict({**fields["key"], "decay": "gated"}),
            ThreeFactorRule.from_dict({**fields["value"], "decay": "passive"}))


def parameters_from_rules(key_rule: ThreeFactorRule, value_rule: ThreeFactorRule) -> dict:
    """The paper's eleven numbers of a (key, value) rule pair."""
    rules = {"key": key_rule, "value": value_rule}
    return {name: getattr(rules[rule], field) for name, (rule, field) in PAPER_NAMES.items()}


def load_learned_rules(path: str | Path, prefix: str = "") -> tuple[ThreeFactorRule,
                                                                   ThreeFactorRule]:
    """The learned (key, value) rules saved by ``neurosim run metalearn-plasticity``:
    ``path`` is its output folder or summary.json; ``prefix`` selects a trained
    configuration (e.g. ``"random-4/N_N40_"``; empty: the headline's main one)."""
    path = Path(path)
    summary = json.loads((path / SUMMARY if path.is_dir() else path).read_text())
    return rules_from_parameters({name: summary["headline"][prefix + name] for name in PAPER_NAMES})


@dataclass(frozen=True)
class BenchmarkTask:
    """Autoassociative recall (appendix A.1) with T uniform in [T_min, T_max]."""

    N: int
    d: int
    T_min: int
    T_max: int
    gate: str = "sequential"
    p: float | str = "4/N"
    occlusion: float = 0.6

    def stream(self, rng: np.random.Generator, batch: int):
        T = rng.integers(self.T_min, self.T_max + 1, size=batch)
        stream = recall_stream(rng, T, self.d, occlusion=self.occlusion)
        return stream.with_gates(make_gates(self.gate, rng, batch, stream.steps, self.N, self.p))


def key_post_share(key_rule: ThreeFactorRule, value_rule: ThreeFactorRule, task: BenchmarkTask,
                   rng: np.random.Generator, batch: int = 64) -> float:
    """How much of the key update depends on the postsynaptic rate: the mean, over
    the written hidden neurons of every storage step, of |a_gK h_i| / (|a_gK h_i| + |b_gK|)
    with h the hidden rate at the write (eq. 15). 1 for a Hebbian key rule (b_gK = 0),
    0 for a pre-only one (a_gK = 0). Measured on the numpy circuit."""
    from neurosim.circuits.key_value.rate import KeyValueMemory, softmax

    memory = KeyValueMemory(task.N, key_rule=key_rule, value_rule=value_rule)
    stream = task.stream(rng, batch)
    state = memory.initial_state(stream.batch, stream.d, stream.m)
    shares = []
    for t in np.flatnonzero(np.any(stream.q > 0, axis=0)):
        written = (stream.q[:, t, None] * stream.gate[:, t]) > 0
        post = np.abs(key_rule.post_slope * softmax(memory.logits(state.K, stream.x[:, t])))
        total = post + abs(key_rule.post_offset)
        share = np.divide(post, total, out=np.zeros_like(post), where=total > 0)
        shares.append(share[written])
        memory.write(state, stream.x[:, t], stream.y[:, t], stream.q[:, t], stream.gate[:, t])
    return float(np.mean(np.concatenate(shares)))


def memory_from_parameters(N: int, parameters: dict, repeats: int = 1, beta: float = 1.0):
    """A differentiable key-value memory of N slots whose rules read the paper's
    numbers (tensors of shape (S,), each used by ``repeats`` consecutive trials)."""
    import torch

    from neurosim.circuits.key_value.torch import RuleTensors, TorchKeyValueMemory

    dtype = parameters["eta_K"].dtype
    tensors = {"key": {"passive_decay": torch.tensor(1.0, dtype=dtype)}, "value": {}}
    for name, (rule, field) in PAPER_NAMES.items():
        tensors[rule][field] = parameters[name]
    key = RuleTensors(**tensors["key"], decay="gated").expand(repeats)
    value = RuleTensors(**tensors["value"], decay="passive").expand(repeats)
    return TorchKeyValueMemory(N, key, value, beta)


def recall_loss(y_hat, stream, seeds: int):
    """Per rule (trials grouped by ``seeds``): the squared error summed over
    output units and averaged over the scored steps (the paper's code), and
    the sign accuracy (eq. 18). Returns two tensors of shape (seeds,)."""
    import torch

    query = torch.as_tensor(stream.query)
    target = torch.as_tensor(stream.y, dtype=y_hat.dtype)
    y_hat = torch.where(query[..., None], y_hat, target)
    squared = ((y_hat - target) ** 2).sum(-1)
    correct = (torch.sign(y_hat) == target).to(y_hat.dtype).mean(-1)
    counts = query.reshape(seeds, -1).sum(-1)
    loss = (squared * query).reshape(seeds, -1).sum(-1) / counts
    accuracy = (correct * query).reshape(seeds, -1).sum(-1) / counts
    return loss, accuracy.detach()


DOMAIN = {"eta_K": (0.0, 1.0), "eta_V": (0.0, None), "lambda": (LAMBDA_MIN, 1.0)}


def project(parameters: dict) -> None:
    """Keep the parameters (tensors) in the rule's domain, in place."""
    import torch

    with torch.no_grad():
        for name, (low, high) in DOMAIN.items():
            parameters[name].clamp_(low, high)


@dataclass
class TrainingResult:
    """``history``: one dict per logged step and rule (step, seed, loss,
    accuracy and the eleven parameters); ``rules``: the final (key, value)
    rule pair of each seed; ``final_loss``: each seed's mean loss over the
    last logging window."""

    history: list[dict]
    rules: list[tuple[ThreeFactorRule, ThreeFactorRule]]
    final_loss: np.ndarray


class History:
    """Loss and accuracy averaged over the steps since the last log, with the parameters."""

    def __init__(self, steps: int, log_every: int):
        self.steps, self.log_every = steps, log_every
        self.rows, self.window = [], []

    def add(self, step: int, loss: np.ndarray, accuracy: np.ndarray, values: dict) -> None:
        self.window.append((loss, accuracy))
        if step % self.log_every and step != self.steps:
            return
        self.losses, accuracies = (np.mean(part, axis=0) for part in zip(*self.window))
        self.rows += [{"step": step, "seed": s, "loss": float(self.losses[s]),
                       "accuracy": float(accuracies[s]),
                       **{name: float(v[s]) for name, v in values.items()}}
                      for s in range(len(self.losses))]
        self.window = []

    def result(self, values: dict) -> TrainingResult:
        seeds = len(self.losses)
        rules = [rules_from_parameters({name: v[s] for name, v in values.items()})
                 for s in range(seeds)]
        return TrainingResult(self.rows, rules, self.losses)


@one_torch_thread("meta-learning the plasticity rules")
def train_rules(task: BenchmarkTask, rng: np.random.Generator, *, seeds: int = 1,
                steps: int = 500, batch: int = 16, lr: float = 0.01, log_every: int = 10,
                initial: dict | None = None, progress: bool = False) -> TrainingResult:
    """Adam through storage and recall (see the module docstring); ``seeds``
    rules train at once, each on its own ``batch`` sequences per step; ``progress``: a bar
    of the steps with the mean loss."""
    import torch

    initial = {**INITIAL_PARAMETERS, **(initial or {})}
    parameters = {name: torch.full((seeds,), float(value), requires_grad=True)
                  for name, value in initial.items()}
    optimizer = torch.optim.Adam(parameters.values(), lr=lr)
    history = History(steps, log_every)

    def values():
        return {name: value.detach().numpy().copy() for name, value in parameters.items()}

    bar = training_bar(steps + 1, "meta-training", progress)
    for step in bar:
        stream = task.stream(rng, seeds * batch)
        y_hat = memory_from_parameters(task.N, parameters, batch).run(stream)
        loss, accuracy = recall_loss(y_hat, stream, seeds)
        history.add(step, loss.detach().numpy(), accuracy.numpy(), values())
        bar.set_postfix(loss=f"{float(loss.detach().mean()):.4f}", refresh=False)
        if step == steps:
            break
        optimizer.zero_grad()
        loss.sum().backward()
        optimizer.step()
        project(parameters)
    return history.result(values())


def repeated(stream, times: int):
    """The stream's trials repeated ``times`` over on the batch axis (candidates meet the
    same sequences)."""
    from dataclasses import replace

    def tile(a):
        return None if a is None else np.concatenate([a] * times)

    return replace(stream, x=tile(stream.x), y=tile(stream.y), q=tile(stream.q),
                   query=tile(stream.query), gate=tile(stream.gate))


@one_torch_thread("meta-learning the plasticity rules")
def evolve_rules(task: BenchmarkTask, rng: np.random.Generator, *, seeds: int = 1,
                 steps: int = 100, batch: int = 16, population: int = 12, sigma: float = 0.2,
                 log_every: int = 10, initial: dict | None = None) -> TrainingResult:
    """The gradient-free path: CMA-ES (PyPI ``cma``) on the same loss, one
    strategy per seed; every generation scores all candidates (projected onto
    the rule's domain) on the same ``batch`` sequences. The history logs each
    strategy's mean, scored on those sequences too."""
    import torch

    try:
        import cma
    except ImportError:
        raise ParameterError("the CMA-ES optimizer needs cma: pip install 'neurosim[cma]'") from None
    names = list(PAPER_NAMES)
    initial = {**INITIAL_PARAMETERS, **(initial or {})}
    strategies = [cma.CMAEvolutionStrategy([initial[n] for n in names], sigma,
                                           {"popsize": population, "verbose": -9,
                                            "seed": int(rng.integers(1, 2**31))})
                  for _ in range(seeds)]
    history = History(steps, log_every)
    bounds = [DOMAIN.get(name, (None, None)) for name in names]
    lows = np.array([-np.inf if low is None else low for low, _ in bounds])
    highs = np.array([np.inf if high is None else high for _, high in bounds])
    for step in range(steps + 1):
        asked = [strategy.ask() for strategy in strategies]
        scored = np.clip([[*candidates, strategy.mean] for candidates, strategy
                          in zip(asked, strategies)], lows, highs).reshape(-1, len(names))
        stream = repeated(task.stream(rng, batch), len(scored))
        with torch.no_grad():
            parameters = {name: torch.tensor(scored[:, i], dtype=torch.float32)
                          for i, name in enumerate(names)}
            y_hat = memory_from_parameters(task.N, parameters, batch).run(stream)
            loss, accuracy = recall_loss(y_hat, stream, len(scored))
        loss = loss.numpy().reshape(seeds, population + 1)
        accuracy = accuracy.numpy().reshape(seeds, population + 1)
        means = scored.reshape(seeds, population + 1, -1)[:, -1]
        values = {name: means[:, i] for i, name in enumerate(names)}
        history.add(step, loss[:, -1], accuracy[:, -1], values)
        if step == steps:
            break
        for strategy, candidates, losses in zip(strategies, asked, loss[:, :-1]):
            strategy.tell(candidates, losses.tolist())
    return history.result(values)
