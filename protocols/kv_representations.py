"""Distinct representations for keys and values (Gershman, Fiete & Irie 2025,
section 5.1, Fig. 2): keys and values of a softmax key-value memory trained by
gradient descent to return each item's class feature ((1, 0), (0, 1), and
(1, 1) for a third class), starting from uniform [0, 1] positions in 2D
(``neurosim.circuits.kernel.learned``; the reference notebooks' settings: 100
items per class on average, classes drawn at random, Adam with learning rate
3e-4 for 5,000 steps with two classes and 10,000 with three).

Measures, before and after training (mean over networks):
- key discriminability: attention mass a query key puts on keys of its own
  class (``key_same_class_attention``; chance is about 1 / classes);
- value fidelity: distance of sigmoid(v) from its class feature
  (``value_feature_error``);
- RSA: Spearman correlation of the key RDM and of the value RDM (Euclidean)
  with the class RDM, and of the key RDM with the value RDM.
Positions of the first network's keys and values are recorded at
``snapshots`` points of training for the figure (rows of kind "position").
"""
from __future__ import annotations

import numpy as np

from neurosim.circuits.kernel.learned import LearnedKeyValueMemory, sigmoid, train
from neurosim.protocol import Param, Protocol, positive
from neurosim.protocols.analysis.rsa import category_rdm, compare_rdms, rdm

from neurosim.protocols import _kv

CLASS_FEATURES = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
PAPER_STEPS = {2: 5000, 3: 10000}


def steps_value(text: str) -> str | None:
    return None if text == "paper" or (text.isdigit() and int(text) > 0) else \
        "must be 'paper' or a positive integer"


def measures(memory: LearnedKeyValueMemory, classes: np.ndarray) -> dict[str, np.ndarray]:
    """Per-trial discriminability, fidelity and RSA measures."""
    same = classes[:, :, None] == classes[:, None, :]
    attention = memory.attention()
    stored = sigmoid(memory.values)
    class_rdm = category_rdm(classes)
    key_rdm, value_rdm = rdm(memory.keys), rdm(stored)
    return {
        "loss": memory.loss(),
        "key_same_class_attention": (attention * same).sum(axis=1).mean(axis=1),
        "value_feature_error": np.linalg.norm(stored - memory.targets, axis=-1).mean(axis=1),
        "key_class_rsa": compare_rdms(key_rdm, class_rdm),
        "value_class_rsa": compare_rdms(value_rdm, class_rdm),
        "key_value_rsa": compare_rdms(key_rdm, value_rdm),
    }


def run_point(point, seed, context):
    rng = _kv.rngs(seed, 1)[0]
    B, C = point["seeds"], point["classes"]
    N = point["per_class"] * C
    steps = PAPER_STEPS[C] if point["steps"] == "paper" else int(point["steps"])
    classes = rng.integers(0, C, (B, N))
    memory = LearnedKeyValueMemory(keys=rng.random((B, N, 2)), values=rng.random((B, N, 2)),
                                   targets=CLASS_FEATURES[classes])
    snapshots = tuple(int(round(s)) for s in np.linspace(0, steps, point["snapshots"] + 1))
    records = []
    for step in train(memory, steps, point["lr"], point["gradients"] == "accumulated",
                      checkpoints=snapshots):
        if step in (0, steps):
            found = measures(memory, classes)
            records += _kv.trial_records(B, kind=np.full(B, "trial"), step=np.full(B, step),
                                         **found)
        stored = sigmoid(memory.values[0])
        records += [{"kind": "position", "seed": 0, "step": step, "item": n,
                     "item_class": int(classes[0, n]),
                     "key_x": float(memory.keys[0, n, 0]), "key_y": float(memory.keys[0, n, 1]),
                     "value_x": float(stored[n, 0]), "value_y": float(stored[n, 1])}
                    for n in range(N)]
    return records


MEASURES = ("key_same_class_attention", "value_feature_error", "key_class_rsa",
            "value_class_rsa", "key_value_rsa", "loss")


def summarize(frame, values):
    headline = {}
    trials = frame[frame["kind"] == "trial"]
    for C, group in trials.groupby("classes"):
        first, last = group["step"].min(), group["step"].max()
        for name in MEASURES:
            for label, step in (("before", first), ("after", last)):
                value = group.loc[group["step"] == step, name].mean()
                headline[f"classes{int(C)}_{name}_{label}"] = round(float(value), 4)
    return headline


def plot(frame, values):
    import matplotlib.pyplot as plt

    positions = frame[frame["kind"] == "position"]
    rows = sorted(positions["classes"].unique())
    figure, axes = plt.subplots(2 * len(rows), 3, figsize=(11, 3.4 * 2 * len(rows)),
                                squeeze=False)
    colors = plt.get_cmap("hsv")(np.linspace(0, 0.7, 3))
    for r, C in enumerate(rows):
        group = positions[positions["classes"] == C]
        steps = sorted(group["step"].unique())
        for offset, (kind, title) in enumerate((("key", "keys"), ("value", "values (sigmoid)"))):
            row = axes[2 * r + offset]
            start, end = group[group["step"] == steps[0]], group[group["step"] == steps[-1]]
            row[0].scatter(start[f"{kind}_x"], start[f"{kind}_y"], s=6,
                           c=colors[start["item_class"].to_numpy(int)])
            trajectory = group.sort_values("step")
            row[1].scatter(trajectory[f"{kind}_x"], trajectory[f"{kind}_y"], s=2, alpha=0.15,
                           c=colors[trajectory["item_class"].to_numpy(int)])
            row[1].scatter(end[f"{kind}_x"], end[f"{kind}_y"], s=8, c="grey", marker="+")
            row[2].scatter(end[f"{kind}_x"], end[f"{kind}_y"], s=6,
                           c=colors[end["item_class"].to_numpy(int)])
            for ax, phase in zip(row, ("initial", "during training", "final")):
                ax.set_title(f"{C} classes: {title}, {phase}", fontsize=8)
                ax.grid(alpha=0.3)
    figure.tight_layout()
    return figure


PROTOCOL = Protocol(
    name="kv-representations",
    description="Sec. 5.1, Fig. 2: keys and values trained by gradient descent; keys "
                "separate by class, values converge to the class features",
    params={
        "classes": Param([2, 3], int, "number of classes (2 or 3)", choices=(2, 3)),
        "per_class": Param(100, int, "items per class (on average; classes drawn at random)",
                           check=positive),
        "steps": Param("paper", str, "Adam steps: paper (5,000 for 2 classes, 10,000 for 3) "
                       "or a number", check=steps_value),
        "lr": Param(3e-4, float, "Adam learning rate", check=positive),
        "gradients": Param("accumulated", str, "accumulated (the notebooks never zero the "
                           "gradients) or fresh (plain Adam)", choices=("accumulated", "fresh")),
        "snapshots": Param(20, int, "recorded positions during training", check=positive),
        "seeds": Param(5, int, "independent networks", check=positive),
    },
    run_point=run_point, summarize=summarize, plot=plot,
    figure="Fig. 2", metric="key_same_class_attention",
    notes="The paper reports this result qualitatively (figures, no numbers). Settings follow "
          "the reference notebooks, including their detached memory keys and their "
          "never-zeroed gradients (--set gradients=fresh trains with plain Adam). Gradients "
          "are written out in numpy (checked against PyTorch autograd in the tests when "
          "PyTorch is installed); float64 instead of float32.")
