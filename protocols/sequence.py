"""Sequence recall (Tyulmankov et al. 2021, Fig. 5b, appendix A.3): store the
transitions x_t -> x_{t+1} of a random sequence of T patterns, prompt with the
middle pattern and run recurrently (input = sign of the previous readout).
Accuracy is eq. 18 over the recalled rest of the sequence. The Hebbian
baseline ('bam') is the asymmetric outer-product memory W = sum x_{t+1} x_t^T
read in one synchronous step per recall step.

Spiking backend (``neurosim compare sequence --set model=kv``): the spiking key-value
circuit with closed-loop stimulation (circuits/key_value/spiking.py): the apparatus counts the
output's ON - OFF spikes in each read phase and shows their sign as the next input. The
Hebbian baseline has no spiking realization here (its one synchronous step has no spiking
counterpart)."""
from __future__ import annotations

import numpy as np

from neurosim.events import sign_accuracy
from neurosim.memory.patterns import sequence_stream
from neurosim.errors import ParameterError
from neurosim.protocol import Param, Protocol

from neurosim.protocols import _kv

T_DEFAULT = [5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 120]


def canonical(point):
    """A Hopfield network has no transitions to store: the Hebbian model here is 'bam', and
    model=hopfield is refused (it ran the BAM under another name). Prompts are whole
    patterns: the occlusion parameters are unused."""
    point = _kv.canonical({**point, "occlusion": None, "occlusion_mode": None})
    if point["model"] == "hopfield":
        raise ParameterError("parameter model: sequence has no hopfield model (an "
                             "autoassociative network stores no transition); its Hebbian "
                             "baseline is bam; choose from kv, tvt, bam")
    if point["backend"] == "spiking" and point["model"] not in ("kv", "tvt"):
        raise ParameterError("sequence on spiking: kv and tvt only (the Hebbian baseline reads "
                             "in one synchronous step)")
    return point


def run_point(point, seed, context):
    stream_rng, gate_rng = _kv.rngs(seed, 2)
    T = np.repeat(np.asarray(point["T"]), point["seeds"])
    stream = sequence_stream(stream_rng, T, _kv.resolve_d(point))
    y_hat = _kv.run_model(point, stream, gate_rng, context, max_iterations=0)
    accuracy = sign_accuracy(y_hat, stream.y, stream.query)
    return _kv.trial_records(point["seeds"], T=T, accuracy=accuracy, perfect=accuracy == 1.0)


PAPER_T = (10, 20, 30, 40, 50, 60)
CODE_FIG5B = {"kv-sequential": (1.0, 1.0, 1.0, 1.0, 0.871, 0.859),
              "kv-random": (0.899, 0.741, 0.669, 0.644, 0.629, 0.582)}
PAPER = _kv.paper_accuracies(CODE_FIG5B, PAPER_T)
NOTES = ("Paper values: the paper's code (gyyang/bio-kvm experiments 'seqrecall' and "
         "'seqrecall_random_reference', d = N = 40) run on this machine, 30 sequences per T. "
         "That code prompts at a uniformly random position of the sequence, so a sequence is "
         "error-free only while all T - 1 transitions fit in the N slots (T <= N + 1); this "
         "protocol prompts from the middle, as the paper's appendix A.3 says, so only the "
         "second half must survive and the sequential memory is error-free up to T = 2N: "
         "above T = N the curves differ by design. The code's BAM curve comes from a trained "
         "network (learned decay and rate), not reproduced here.")


def summarize(frame, values):
    """Per model: the largest T before the first T with an error in any
    trial, the accuracy at ``PAPER_T`` (the T range of the paper's Fig. 5b)
    and the mean accuracy over T."""
    headline = {}
    for key, (N,), group in _kv.curves(frame, "N"):
        perfect = group.groupby("T")["perfect"].all()
        failing = perfect.index[~perfect.to_numpy()]
        kept = perfect.index[perfect.index < failing.min()] if len(failing) else perfect.index
        prefix = f"{key}_N{N}"
        headline[f"{prefix}_largest_T_error_free"] = int(kept.max()) if len(kept) else 0
        headline.update(_kv.accuracy_at(group, PAPER_T, prefix))
        headline[f"{prefix}_mean_accuracy"] = round(float(group["accuracy"].mean()), 4)
    return headline


def plot(frame, values):
    figure = _kv.accuracy_curve_plot(frame, "T", title="Sequence recall (Fig. 5b)",
                                     xlabel="sequence length T")
    for N in frame["N"].unique():
        figure.axes[0].axvline(N, color="grey", lw=0.5, ls=":")
    return figure


PROTOCOL = Protocol(
    name="sequence",
    description="Fig. 5b: recurrent sequence recall from a middle prompt",
    params={**_kv.common_params(model=["kv", "bam"]),
            "T": Param(T_DEFAULT, int, "sequence length (batched)",
                       check=lambda v: None if v >= 2 else "must be >= 2", inner=True)},
    run_point=run_point, summarize=summarize, plot=plot, canonical=canonical,
    estimate=_kv.estimate,
    backends=("rate", "spiking"), figure="Fig. 5b", compare_on=("T",),
    paper=PAPER, notes=NOTES)
