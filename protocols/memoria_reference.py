"""memoria-reference: neurosim's Memoria side by side with the paper's own package.

Both implementations (neurosim ``MemoriaCircuit`` and PyPI ``memoria-pytorch``
1.1.0, batch size 1) consume the same random continuous stream (i.i.d.
Gaussian engrams, float32-exact, so no distance ties) and the same default
exploit (mean distance-softmax attention, sec. 3.3), and after every step we
compare the sets of reminded engram ids (sec. 3.2 step 7, M_rem).

Variants of neurosim's options (``variant``):

* ``paper``: the paper's text (mean exp(-L2^2) ranking, searches along edges
  only, removal before the WM -> STM -> LTM moves);
* ``ranking``: only the ranking switched to the reference's squared L2;
* ``reference``: every reference choice (ranking, tensor search quirks, forget
  order), ties between equal counts broken by neurosim's own seeded RNG;
* ``reference-shared``: as ``reference`` with the reference's own random
  numbers for those ties (``SharedTieKeys``), which isolates the algorithm from
  the luck of the draw;
* ``shared-paper-ranking``, ``shared-paper-forget``: ablations of
  ``reference-shared`` with one choice switched back to the paper's;
* ``reference-self``: not neurosim but a second memoria-pytorch run with its own
  torch random numbers: how often the reference agrees with itself.

All variants meet the same stream and the same reference run (the variant is
left out of the point's seed: ``shared_streams``).
Headline: the fraction of steps with identical reminded sets once LTM is
non-empty (``agree_ltm[setting|variant]``), and over all steps.
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from neurosim.circuits.memoria import (APPENDIX_B, LONGTERM, SHORTTERM, MemoriaCircuit,
                                       MemoriaParams, random_stream)
from neurosim.protocol import Param, Protocol, positive

VARIANTS = ("paper", "ranking", "reference", "reference-shared", "shared-paper-ranking",
            "shared-paper-forget", "reference-self")


def variant_params(setting: str, variant: str) -> MemoriaParams:
    """neurosim's options for a variant (the ablations switch one choice back to the paper)."""
    params = MemoriaParams.appendix_b(setting)
    if variant == "ranking":
        return replace(params, ranking="sq_l2")
    if variant == "shared-paper-ranking":
        return replace(params.reference_compatible(), ranking="exp")
    if variant == "shared-paper-forget":
        return replace(params.reference_compatible(), forget_order="paper")
    if variant.startswith("reference"):  # reference, reference-shared, reference-self
        return params.reference_compatible()
    return params


def shares_ties(variant: str) -> bool:
    return variant == "reference-shared" or variant.startswith("shared-")


def compare_stream(setting: str, variant: str, steps: int, dim: int, scale: float,
                   seed: np.random.SeedSequence,
                   circuit_seed: np.random.SeedSequence | None = None) -> list[dict]:
    """Run both implementations on one stream; one record per step.

    ``seed`` fixes the stream and the reference's torch seed (so every variant
    meets the same stream and the same reference run); ``circuit_seed`` seeds
    neurosim's own tie-breaks (default: derived from ``seed``).
    """
    from neurosim.circuits.memoria.reference import ReferenceMemoria, SharedTieKeys

    import torch

    stream_seed, default_circuit_seed, torch_seed = seed.spawn(3)
    circuit_seed = default_circuit_seed if circuit_seed is None else circuit_seed
    params = variant_params(setting, variant)
    torch.manual_seed(int(torch_seed.generate_state(1)[0]))
    reference = ReferenceMemoria(params, dim)
    if variant == "reference-self":
        ours = _ReseededReference(params, dim, int(circuit_seed.generate_state(1)[0]))
    else:
        ties = SharedTieKeys(reference) if shares_ties(variant) else None
        ours = _Neurosim(MemoriaCircuit(params, dim, seed=circuit_seed, tie_source=ties))
    x = random_stream(np.random.default_rng(stream_seed), steps, params.n_wm, dim, scale)
    records = []
    for t in range(steps):
        ltm_before = (reference.sizes()["n_ltm"], ours.n_ltm())
        started = time.perf_counter()
        theirs = reference.step(x[t])
        ref_s = time.perf_counter() - started
        started = time.perf_counter()
        mine = ours.step(x[t])
        our_s = time.perf_counter() - started
        ref_set, our_set = set(theirs["ids"]), set(mine["ids"])
        union = ref_set | our_set
        records.append({
            "step": t, "agree": ref_set == our_set,
            "agree_stm": set(theirs["stm"]) == set(mine["stm"]),
            "agree_ltm_part": set(theirs["ltm"]) == set(mine["ltm"]),
            "jaccard": len(ref_set & our_set) / len(union) if union else 1.0,
            "ltm_nonempty": ltm_before[0] > 0 and ltm_before[1] > 0,
            "ref_ltm_empty": ltm_before[0] == 0,
            "n_ltm_ref": reference.sizes()["n_ltm"], "n_ltm_neurosim": ours.n_ltm(),
            "n_rem_ref": len(ref_set), "n_rem_neurosim": len(our_set),
            "ref_step_s": ref_s, "neurosim_step_s": our_s,
        })
    return records


class _Neurosim:
    """MemoriaCircuit stepped like ReferenceMemoria (reminded ids by type at remind time)."""

    def __init__(self, circuit: MemoriaCircuit):
        self.circuit = circuit

    def n_ltm(self) -> int:
        return len(self.circuit.ltm)

    def step(self, x) -> dict:
        mine = self.circuit.step(x)
        return {"ids": mine.ids,
                "stm": [i for i, k in zip(mine.ids, mine.kinds) if k == SHORTTERM],
                "ltm": [i for i, k in zip(mine.ids, mine.kinds) if k == LONGTERM]}


class _ReseededReference:
    """A second memoria-pytorch run with its own torch random stream (variant
    ``reference-self``: how far the reference agrees with itself)."""

    def __init__(self, params: MemoriaParams, dim: int, seed: int):
        import torch

        from neurosim.circuits.memoria.reference import ReferenceMemoria

        self.torch = torch
        self.reference = ReferenceMemoria(params, dim)
        generator = torch.Generator()
        generator.manual_seed(seed)
        self.state = generator.get_state()

    def n_ltm(self) -> int:
        return self.reference.sizes()["n_ltm"]

    def step(self, x) -> dict:
        main = self.torch.get_rng_state()
        self.torch.set_rng_state(self.state)
        out = self.reference.step(x)
        self.state = self.torch.get_rng_state()
        self.torch.set_rng_state(main)
        return out


def run_point(point: dict, seed: np.random.SeedSequence, ctx) -> list[dict]:
    records = []
    for k, child in enumerate(seed.spawn(point["seeds"])):
        for record in compare_stream(point["setting"], point["variant"], point["steps"],
                                     point["dim"], point["scale"], child):
            records.append({**record, "seed": k})
    return records


def _agreement(frame):
    import pandas as pd

    rows = {}
    for (setting, variant), group in frame.groupby(["setting", "variant"], sort=False):
        ltm = group[group["ltm_nonempty"].astype(bool)]
        disagree = group[~group["agree"].astype(bool)]
        rows[(setting, variant)] = {
            "agree_ltm": float(ltm["agree"].mean()) if len(ltm) else float("nan"),
            "agree_all": float(group["agree"].mean()),
            "agree_stm": float(group["agree_stm"].mean()),
            "agree_ltm_part": float(group["agree_ltm_part"].mean()),
            "jaccard": float(group["jaccard"].mean()),
            "steps_ltm": int(len(ltm)),
            "first_disagreement": int(disagree["step"].min()) if len(disagree) else -1,
            "disagree_empty_ltm": int((~group["agree"].astype(bool)
                                       & group["ref_ltm_empty"].astype(bool)).sum()),
        }
    return pd.DataFrame(rows).T


def summarize(frame, values) -> dict:
    table = _agreement(frame)
    out = {}
    for (setting, variant), row in table.iterrows():
        for name, value in row.items():
            out[f"{name}[{setting}|{variant}]"] = float(value)
    out["ref_step_ms_mean"] = float(frame["ref_step_s"].mean() * 1e3)
    out["neurosim_step_ms_mean"] = float(frame["neurosim_step_s"].mean() * 1e3)
    return out


def plot(frame, values):
    import matplotlib.pyplot as plt

    settings = list(dict.fromkeys(frame["setting"]))
    fig, axes = plt.subplots(2, len(settings), figsize=(5.5 * len(settings), 7), squeeze=False)
    for col, setting in enumerate(settings):
        sub = frame[frame["setting"] == setting]
        ax = axes[0, col]
        for variant, group in sub.groupby("variant", sort=False):
            per_step = group.groupby("step")["agree"].mean()
            ax.plot(per_step.index, per_step.expanding().mean(), label=variant)
        ax.set_title(f"{setting}: reminded sets equal (running mean)")
        ax.set_xlabel("step")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=8)
        ax = axes[1, col]
        first = sub[sub["variant"] == sub["variant"].iloc[0]].groupby("step")
        ax.plot(first["n_ltm_ref"].mean(), label="memoria-pytorch", color="k", lw=2.5, alpha=0.5)
        for variant, group in sub.groupby("variant", sort=False):
            ax.plot(group.groupby("step")["n_ltm_neurosim"].mean(), label=f"neurosim ({variant})",
                    alpha=0.7)
        ax.set_xlabel("step")
        ax.set_ylabel("LTM engrams")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _variant(value):
    return None if value in VARIANTS else f"must be one of {', '.join(VARIANTS)}"


PROTOCOL = Protocol(
    name="memoria-reference",
    description="Memoria vs the paper's memoria-pytorch package on one stream: reminded-set agreement",
    params={
        "setting": Param(["lm-50", "classification"], str, "appendix B parameter set",
                         choices=tuple(APPENDIX_B)),
        "variant": Param(["paper", "reference", "reference-shared"], str,
                         "neurosim options: " + ", ".join(VARIANTS), check=_variant),
        "steps": Param(200, int, "stream length", positive),
        "dim": Param(16, int, "engram dimension", positive),
        "scale": Param(1.0, float, "engram norm scale (x ~ N(0, scale^2/dim))", positive),
        "seeds": Param(1, int, "independent streams per point", positive),
    },
    run_point=run_point, summarize=summarize, plot=plot, backends=("graph",),
    shared_streams=("variant",), requires=("torch", "memoria"), extra="reference",
    figure="sec. 3 (Algorithms 1-3) vs memoria-pytorch", metric="agree",
    paper={f"agree_ltm[{setting}|reference-shared]": 1.0 for setting in APPENDIX_B},
    notes="The paper's code (memoria-pytorch 1.1.0) is the reference: with every reference "
          "choice and the reference's own random numbers for count ties (reference-shared), "
          "neurosim should remind the same engrams at every step (1.0). The other variants "
          "measure how far the paper's text (paper) and independent tie-breaking (reference) "
          "move from it; reference-self is memoria-pytorch against itself under another seed.")

__all__ = ["PROTOCOL", "VARIANTS", "compare_stream", "variant_params"]
