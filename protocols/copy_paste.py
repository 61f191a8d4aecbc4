"""Copy-paste (Tyulmankov et al. 2021, section 3.4, Fig. 5c, appendix A.3).

Each point trains ``seeds`` networks (three feedforward controllers, a memory
and a readout; :mod:`neurosim.circuits.controlled.copy_paste`) end to end by backpropagation
through time on sequences of T = 1..T_max patterns, then measures the copy
accuracy (eq. 18 on sign(r)) for every length in ``lengths``, including
lengths beyond T_max. Memories: the key-value memory with the hand-designed
rules and sequential or random (p) local third factors, and BAM.

Records (column ``record``): ``training`` (step, loss, accuracy) and
``copy`` (one row per test sequence: T, accuracy). Headline per model: mean
accuracy over the trained lengths and beyond them (and the spread of the
latter over the trained networks), and at T = 2 T_max.
"""
from __future__ import annotations


from neurosim.circuits.controlled.copy_paste import MODELS, CopyPasteSettings
from neurosim.memory.gates import gate_probability
from neurosim.torch_support import require_torch
from neurosim.errors import ParameterError
from neurosim.protocol import Param, Protocol, positive

from neurosim.protocols import _kv


def canonical(point: dict) -> dict:
    point = dict(point)
    if point["model"] != "kv-random":
        point["p"] = None
    elif not 0 <= gate_probability(point["p"], point["N"]) <= 1:
        raise ParameterError(f"parameter p: {point['p']} is not a probability at N = {point['N']}")
    if point["model"] == "bam":
        point["N"] = None
    return point


def settings_of(point: dict) -> CopyPasteSettings:
    return CopyPasteSettings(D=point["D"], d=point["d"], N=point["N"] or point["d"],
                             T_min=1, T_max=point["T_max"], p=point["p"] or "4/N",
                             steps=point["steps"], batch=point["batch"], lr=point["lr"],
                             clip=point["clip"])


def run_point(point, seed, context):
    require_torch("copy-paste")
    from neurosim.circuits.controlled.copy_paste import accuracy_by_length, train_copy_paste

    settings = settings_of(point)
    records = []
    for s, rng in enumerate(_kv.rngs(seed, point["seeds"])):
        network, history = train_copy_paste(point["model"], settings, rng,
                                            log_every=point["log_every"],
                                            progress=context.progress)
        records += [{"record": "training", "seed": s, **row} for row in history]
        accuracy = accuracy_by_length(network, point["model"], settings, rng, point["lengths"],
                                      point["trials"])
        records += [{"record": "copy", "seed": s, "trial": i, "T": int(T), "accuracy": float(a)}
                    for T, row in zip(point["lengths"], accuracy) for i, a in enumerate(row)]
    return [{"T": None, **record} for record in records]   # T: the length of copy rows only


def summarize(frame, values):
    """Per model, means over all trained networks and test sequences; the spread of
    the accuracy beyond the trained lengths over networks (min, max)."""
    headline = {}
    beyond = {}
    for model, rows in frame.groupby("model", sort=False):
        copies = rows[rows["record"] == "copy"]
        T_max = int(rows["T_max"].iloc[0])
        trained = copies["T"] <= T_max
        headline[f"{model}_accuracy_trained_lengths"] = round(float(copies[trained]["accuracy"].mean()), 4)
        if (~trained).any():
            per_network = copies[~trained].groupby("seed")["accuracy"].mean()
            beyond[model] = float(per_network.mean())
            headline[f"{model}_accuracy_beyond"] = round(beyond[model], 4)
            headline[f"{model}_accuracy_beyond_min"] = round(float(per_network.min()), 4)
            headline[f"{model}_accuracy_beyond_max"] = round(float(per_network.max()), 4)
        at_double = copies[copies["T"] == 2 * T_max]["accuracy"]
        if len(at_double):
            headline[f"{model}_accuracy_T{2 * T_max}"] = round(float(at_double.mean()), 4)
        training = rows[rows["record"] == "training"]
        last = training[training["step"] == training["step"].max()]
        headline[f"{model}_final_training_loss"] = round(float(last["loss"].mean()), 4)
    if {"kv-sequential", "bam"} <= set(beyond):
        headline["kv-sequential_minus_bam_beyond"] = round(beyond["kv-sequential"] - beyond["bam"], 4)
    return headline


def plot(frame, values):
    import matplotlib.pyplot as plt

    figure, (ax_train, ax_copy) = plt.subplots(1, 2, figsize=(11, 4))
    for model, rows in frame.groupby("model", sort=False):
        training = rows[rows["record"] == "training"].groupby("step")["loss"].mean()
        ax_train.plot(training.index, training, label=model)
        copies = rows[rows["record"] == "copy"]
        stats = copies.groupby("T")["accuracy"].agg(["mean", "sem"])
        line = ax_copy.plot(stats.index, stats["mean"], marker="o", ms=3, label=model)[0]
        ax_copy.fill_between(stats.index, stats["mean"] - stats["sem"].fillna(0),
                             stats["mean"] + stats["sem"].fillna(0), color=line.get_color(),
                             alpha=0.2)
    ax_copy.axvline(int(frame["T_max"].iloc[0]), color="grey", ls="--",
                    label="longest trained sequence")
    ax_train.set(xlabel="Adam step", ylabel="loss", yscale="log", title="training (BPTT)")
    ax_copy.set(xlabel="sequence length T", ylabel="accuracy", title="Copy-paste (Fig. 5c)")
    for ax in (ax_train, ax_copy):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    figure.tight_layout()
    return figure


PROTOCOL = Protocol(
    name="copy-paste",
    description="Fig. 5c: copy-paste with trained controllers around a key-value memory or BAM",
    params={
        "model": Param(list(MODELS), str, "memory: kv-sequential | kv-random | bam",
                       choices=MODELS),
        "D": Param(8, int, "pattern dimension (paper: 25)", check=positive),
        "d": Param(40, int, "key and value dimension of the memory (paper: 40)", check=positive),
        "N": Param(40, int, "hidden units of the key-value memory (paper: 40)", check=positive),
        "p": Param("4/N", str, "random gate probability: a number or k/N",
                   check=_kv.probability_or_fraction_of_N),
        "T_max": Param(10, int, "training lengths T = 1..T_max (paper: 10)", check=positive),
        "seeds": Param(1, int, "networks trained per model", check=positive),
        "steps": Param(1500, int, "Adam steps (paper's code: 600,000 with one sequence each)",
                       check=positive),
        "batch": Param(32, int, "sequences per Adam step", check=positive),
        "lr": Param(5e-3, float, "Adam learning rate (paper's code: 1e-3)", check=positive),
        "clip": Param(1.0, float, "largest gradient norm", check=positive),
        "log_every": Param(50, int, "steps between training records", check=positive),
        "trials": Param(40, int, "test sequences per length (paper: 40)", check=positive),
        "lengths": Param(list(range(1, 21)), int, "test lengths T (paper: 1..20)",
                         check=positive, inner=True),
    },
    run_point=run_point, summarize=summarize, plot=plot, canonical=canonical,
    figure="Fig. 5c", metric="accuracy",
    shared_streams=("trials", "lengths"),        # test settings do not change the training
    notes="Reduced from the paper (D = 25; its code: 600,000 Adam steps of one sequence, "
          "lr 1e-3) to D = 8 and 1,500 steps of 32 sequences, lr 5e-3, gradient norm clipped "
          "at 1 (unclipped, lr 1e-2 diverged after 500 steps). At D = 25 and 3,000 steps BAM "
          "learned the trained lengths while the sequential key-value controllers stayed at "
          "0.91 training accuracy. Controllers as the code's 'copy' experiment (one tanh layer "
          "each, sigmoid q, learned x_0, y~_0, q_0; the memory's own parameters frozen: "
          "hand-designed rules, rates 1); read after the write with x_t as query; BAM "
          "eta = 1/d (the paper's 1/40) with the linear one-step readout W x; random gates "
          "p = 4/N. The paper gives Fig. 5c as a plot only (no numbers).")
