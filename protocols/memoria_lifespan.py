"""memoria-lifespan: LTM size over a long stream against the bound of appendix E.1.

Appendix E.1 argues that the total lifespan l_n follows
l_{n+1} = l_n + alpha (N_stm_rem + N_ltm_rem) - N_ltm, hence
lim N_ltm = alpha (N_stm_rem + N_ltm_rem)                     (paper's bound).

That balance leaves out the lifespan every new engram brings (N_wm x initial
lifespan per step) and the engrams held in STM. Counting all lifespan that
enters per step (Little's law: in steady state the engrams alive equal the
lifespan injected per step, each engram spending one unit per step) gives

N_ltm* ~= N_wm L_0 + alpha E|M_rem| - N_wm - C_stm             (balance)

which equals the paper's bound exactly when N_wm L_0 = N_wm + C_stm (as in the
appendix B language-modeling setting, 16 x 9 = 16 + 128) and exceeds it
otherwise (classification: 64 x 12 > 64 + 128). Both are limits of a balance:
engrams that are reminded at almost every step gain more than one unit per
step and bank lifespan (the total lifespan keeps growing), so the number of
engrams settles below the balance. The protocol runs the stream and reports
the LTM size against both numbers, and the total lifespan every 10 steps.
"""
from __future__ import annotations

import numpy as np

from neurosim.circuits.memoria import (APPENDIX_B, MemoriaCircuit, MemoriaParams, random_stream,
                                       recurring_stream)
from neurosim.protocol import Param, Protocol, non_negative, positive


def balance_prediction(params: MemoriaParams, mean_reminded: float | None = None) -> float:
    """N_wm L_0 + alpha |M_rem| - N_wm - C_stm (|M_rem| defaults to N_stm_rem + N_ltm_rem)."""
    reminded = params.n_stm_rem + params.n_ltm_rem if mean_reminded is None else mean_reminded
    return (params.n_wm * params.initial_lifespan + params.alpha * reminded - params.n_wm
            - params.stm_capacity)


def run_point(point: dict, seed: np.random.SeedSequence, ctx) -> list[dict]:
    params = MemoriaParams.appendix_b(point["setting"], alpha=point["alpha"])
    if point["options"] == "reference":
        params = params.reference_compatible()
    records = []
    for k, child in enumerate(seed.spawn(point["seeds"])):
        stream_seed, circuit_seed = child.spawn(2)
        rng = np.random.default_rng(stream_seed)
        if point["stream"] == "recurring":
            x = recurring_stream(rng, point["steps"], params.n_wm, point["dim"], n_items=50,
                                 noise=0.3)[0]
        else:
            x = random_stream(rng, point["steps"], params.n_wm, point["dim"])
        circuit = MemoriaCircuit(params, point["dim"], seed=circuit_seed)
        for t in range(point["steps"]):
            reminded = circuit.step(x[t])
            records.append({
                "seed": k, "step": t, "n_ltm": len(circuit.ltm), "n_stm": len(circuit.stm),
                "n_rem": len(reminded.ids),
                "total_lifespan": float(sum(e["lifespan"] for e in circuit.engrams()))
                if t % 10 == 0 else np.nan,
                "n_edges": circuit.graph.number_of_edges(),
                "paper_bound": params.ltm_bound, "balance": balance_prediction(params)})
    return records


def summarize(frame, values) -> dict:
    out = {}
    for (setting, alpha, options), group in frame.groupby(["setting", "alpha", "options"]):
        tag = f"[{setting}|alpha={alpha:g}|{options}]"
        params = MemoriaParams.appendix_b(setting, alpha=alpha)
        tail = group[group["step"] >= group["step"].max() * 2 // 3]
        out[f"ltm_tail_mean{tag}"] = float(tail["n_ltm"].mean())
        out[f"ltm_max{tag}"] = float(group["n_ltm"].max())
        out[f"paper_bound{tag}"] = params.ltm_bound
        out[f"balance{tag}"] = balance_prediction(params, float(tail["n_rem"].mean()))
        out[f"under_paper_bound{tag}"] = int(out[f"ltm_max{tag}"] <= params.ltm_bound)
    return out


def plot(frame, values):
    import matplotlib.pyplot as plt

    groups = list(frame.groupby(["setting", "alpha", "options"]))
    fig, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 4), squeeze=False)
    for ax, ((setting, alpha, options), group) in zip(axes[0], groups):
        mean = group.groupby("step")["n_ltm"].mean()
        ax.plot(mean.index, mean.values, label="LTM engrams")
        ax.axhline(group["paper_bound"].iloc[0], color="C3", ls="--",
                   label="paper bound alpha(N_stm_rem+N_ltm_rem)")
        ax.axhline(group["balance"].iloc[0], color="k", ls=":",
                   label="balance N_wm L0 + alpha|M_rem| - N_wm - C_stm")
        ax.set_title(f"{setting}, alpha={alpha:g} ({options})")
        ax.set_xlabel("step")
        ax.set_ylabel("LTM size")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


PROTOCOL = Protocol(
    name="memoria-lifespan",
    description="Memoria: LTM size over a long stream vs the appendix E.1 bound alpha(N_stm_rem+N_ltm_rem)",
    params={
        "setting": Param(["lm-50", "classification"], str, "appendix B parameter set",
                         choices=tuple(APPENDIX_B)),
        "alpha": Param(8.0, float, "lifespan extension scale (appendix B: 8)", non_negative),
        "options": Param("paper", str, "paper or reference-compatible options",
                         choices=("paper", "reference")),
        "stream": Param("random", str, "random or recurring content", choices=("random", "recurring")),
        "steps": Param(500, int, "stream length", positive),
        "dim": Param(16, int, "engram dimension", positive),
        "seeds": Param(1, int, "streams per point", positive),
    },
    run_point=run_point, summarize=summarize, plot=plot, backends=("graph",),
    figure="App. E.1", metric="n_ltm",
    paper={f"under_paper_bound[{setting}|alpha=8|{options}]": 1 for setting in APPENDIX_B
           for options in ("paper", "reference")},
    notes="Appendix E.1 bounds the LTM size by alpha (N_stm_rem + N_ltm_rem) (the headline's "
          "paper_bound): the paper's value is 'stays under the bound' (1). The bound leaves out "
          "the initial lifespan N_wm L0 that every step's new working-memory engrams bring "
          "(the headline's balance), so settings with a large N_wm L0, such as classification, "
          "can exceed it.")
