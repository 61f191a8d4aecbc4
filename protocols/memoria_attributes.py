"""memoria-attributes: the six Hebbian attributes of appendix A, checked on a stream.

After every step the engram graph before and after memorize & forget is
compared pair by pair (Gerstner & Kistler's six attributes as the paper states
them, appendix A), with E_{i->j} = Count_ij / Count_ii and M_act = WM U M_rem:

1. locality: Count_ij changes by exactly [i in M_act and j in M_act] (Count_ii by
   [i in M_act]): the update of (i, j) depends on e_i and e_j only.
2. cooperativity: E_{i->j} grows only if e_i and e_j both fired.
3. synaptic depression: if e_i fired and e_j did not, E_{i->j} (> 0) decreases.
4. boundedness: 0 <= E_{i->j} <= 1 for every edge.
5. competition: when e_i fires, every weight to a non-firing engram shrinks by
   the same factor Count_ii / (Count_ii + 1): growth of some weights is paid by all others.
6. long-term stability: Count is cumulative: every Count_ij equals the number of
   steps in the whole past at which e_i and e_j were activated together.

Each check counts how many pairs were tested and how many violated it.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from neurosim.circuits.memoria import (MemoriaCircuit, MemoriaParams, attention_contribution,
                                       random_stream, recurring_stream)
from neurosim.protocol import Estimate, Param, Protocol, non_negative, positive

ATTRIBUTES = ("locality", "cooperativity", "synaptic_depression", "boundedness", "competition",
              "long_term_stability")


def snapshot(circuit: MemoriaCircuit) -> tuple[dict, dict]:
    """(Count_ij for the edges i != j, Count_ii for every engram)."""
    counts = {(u, v): c for u, v, c in circuit.graph.edges(data="count")}
    fires = dict(circuit.graph.nodes(data="fires"))
    return counts, fires


class AttributeChecker:
    """Checks the six attributes step by step; keeps the activation history."""

    def __init__(self):
        self.history = Counter()  # co-activation tally of every pair (i, j), i <= j
        self.totals = {name: [0, 0] for name in ATTRIBUTES}  # [checks, violations]

    def step(self, circuit: MemoriaCircuit, data, exploit=None) -> dict:
        circuit.add_working_memory(data)
        reminded = circuit.remind()
        act = set(reminded.wm_ids) | set(reminded.ids)
        pre = snapshot(circuit)
        weights = (exploit or attention_contribution)(reminded.wm_data, reminded.data)
        circuit.memorize(reminded, weights)
        post = snapshot(circuit)
        ordered = sorted(act)
        for a, i in enumerate(ordered):
            for j in ordered[a:]:
                self.history[(i, j)] += 1
        result = self.check(pre, post, act)
        for name, (checks, bad) in result.items():
            self.totals[name][0] += checks
            self.totals[name][1] += bad
        return result

    def check(self, pre, post, act) -> dict:
        (c_pre, f_pre), (c_post, f_post) = pre, post
        alive = set(f_post)
        out = {name: [0, 0] for name in ATTRIBUTES}

        def tally(name, ok):
            out[name][0] += 1
            out[name][1] += not ok

        def weight(counts, fires, i, j):
            return counts.get((i, j), 0) / fires[i] if fires.get(i) else 0.0

        pairs = {p for p in c_pre if p[0] in alive and p[1] in alive} | set(c_post)
        for i, j in pairs:
            fired = i in act and j in act
            tally("locality", c_post.get((i, j), 0) - c_pre.get((i, j), 0) == int(fired))
            w_pre, w_post = weight(c_pre, f_pre, i, j), weight(c_post, f_post, i, j)
            if w_post > w_pre:
                tally("cooperativity", fired)
            if i in act and j not in act and c_pre.get((i, j), 0) > 0:
                tally("synaptic_depression", w_post < w_pre)
                tally("competition", np.isclose(w_post / w_pre, f_pre[i] / (f_pre[i] + 1)))
            if (i, j) in c_post:
                tally("boundedness", 0.0 <= w_post <= 1.0)
                key = (i, j) if i <= j else (j, i)
                tally("long_term_stability", c_post[(i, j)] == self.history[key])
        for i in alive:
            tally("locality", f_post[i] - f_pre.get(i, 0) == int(i in act))
            tally("long_term_stability", f_post[i] == self.history[(i, i)])
        return {name: tuple(v) for name, v in out.items()}


SIZE_NAMES = ("n_wm", "stm_capacity", "n_stm_rem", "n_ltm_rem", "depth", "initial_lifespan",
              "alpha")


def size_params(n_wm=4, stm_capacity=16, n_stm_rem=4, n_ltm_rem=4, depth=3,
                initial_lifespan=4.0, alpha=4.0) -> dict[str, Param]:
    """Protocol parameters for a small Memoria (shared by the demonstration protocols)."""
    return {"n_wm": Param(n_wm, int, "N_wm", positive),
            "stm_capacity": Param(stm_capacity, int, "STM capacity", non_negative),
            "n_stm_rem": Param(n_stm_rem, int, "N_stm_rem", non_negative),
            "n_ltm_rem": Param(n_ltm_rem, int, "N_ltm_rem", non_negative),
            "depth": Param(depth, int, "N_depth", non_negative),
            "initial_lifespan": Param(initial_lifespan, float, "initial lifespan", positive),
            "alpha": Param(alpha, float, "lifespan extension scale", non_negative)}


# Measured (tracemalloc, n_wm = 100-600, 2 steps): 135-175 bytes and 5-7 us per co-activation
# edge of the engram graph.
EDGE_BYTES = 175.0
EDGE_SECONDS = 7e-6


def graph_estimate(point: dict) -> Estimate:
    """Memory and time of a Memoria point from its sizes: every step links every pair of the
    engrams activated together (sec. 3.4: the working memory plus at most n_stm_rem +
    n_ltm_rem (depth + 1) reminded ones), so one step alone holds act^2 edges of EDGE_BYTES
    (a lower bound of the graph's peak: edges of earlier steps live on while their engrams
    do) and ``steps`` steps cost steps act^2 EDGE_SECONDS (an upper bound of the time)."""
    act = point["n_wm"] + point["n_stm_rem"] + point["n_ltm_rem"] * (point["depth"] + 1)
    return Estimate(memory_bytes=EDGE_BYTES * act ** 2,          # one circuit at a time
                    seconds=EDGE_SECONDS * point["steps"] * act ** 2 * point.get("seeds", 1))


def demo_params(point: dict) -> MemoriaParams:
    """MemoriaParams from a point holding the ``size_params`` names (paper options)."""
    return MemoriaParams(**{name: point[name] for name in SIZE_NAMES})


def make_stream(point: dict, rng: np.random.Generator, n_wm: int) -> np.ndarray:
    if point["stream"] == "recurring":
        return recurring_stream(rng, point["steps"], n_wm, point["dim"], n_items=point["items"],
                                noise=0.2)[0]
    return random_stream(rng, point["steps"], n_wm, point["dim"])


def run_point(point: dict, seed: np.random.SeedSequence, ctx) -> list[dict]:
    records = []
    for k, child in enumerate(seed.spawn(point["seeds"])):
        stream_seed, circuit_seed = child.spawn(2)
        params = demo_params(point)
        circuit = MemoriaCircuit(params, point["dim"], seed=circuit_seed)
        checker = AttributeChecker()
        x = make_stream(point, np.random.default_rng(stream_seed), params.n_wm)
        tracked = None
        for t in range(point["steps"]):
            result = checker.step(circuit, x[t])
            record = {"seed": k, "step": t, "n_edges": circuit.graph.number_of_edges(),
                      "n_ltm": len(circuit.ltm)}
            for name, (checks, bad) in result.items():
                record[f"{name}_checks"] = checks
                record[f"{name}_violations"] = bad
            if tracked is None and circuit.ltm:  # follow one engram's outgoing weights
                tracked = next(iter(circuit.ltm))
            if tracked is not None and tracked in circuit.graph:
                out = sorted(circuit.graph.succ[tracked])[:3]
                for r, target in enumerate(out):
                    record[f"tracked_w{r}"] = circuit.weight(tracked, target)
            records.append(record)
    return records


def summarize(frame, values) -> dict:
    out = {}
    for name in ATTRIBUTES:
        out[f"{name}_checks"] = int(frame[f"{name}_checks"].sum())
        out[f"{name}_violations"] = int(frame[f"{name}_violations"].sum())
    out["all_hold"] = int(all(out[f"{n}_violations"] == 0 for n in ATTRIBUTES))
    out["edges_final_mean"] = float(frame.groupby("seed")["n_edges"].last().mean())
    return out


def plot(frame, values):
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    checks = [frame[f"{n}_checks"].sum() for n in ATTRIBUTES]
    bad = [frame[f"{n}_violations"].sum() for n in ATTRIBUTES]
    pos = np.arange(len(ATTRIBUTES))
    ax1.bar(pos - 0.2, checks, 0.4, label="pairs checked")
    ax1.bar(pos + 0.2, np.maximum(bad, 0), 0.4, label="violations", color="C3")
    ax1.set_yscale("symlog")
    ax1.set_xticks(pos, [n.replace("_", "\n") for n in ATTRIBUTES], fontsize=8)
    ax1.set_title("Appendix A attributes: checks and violations")
    ax1.legend()
    first = frame[frame["seed"] == frame["seed"].min()]
    for column in [c for c in first.columns if str(c).startswith("tracked_w")]:
        ax2.plot(first["step"], first[column], label=f"E(tracked -> target {column[-1]})")
    ax2.set_xlabel("step")
    ax2.set_ylabel("edge weight E")
    ax2.set_ylim(0, 1.05)
    ax2.set_title("weights of one engram: potentiation and depression")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


PROTOCOL = Protocol(
    name="memoria-attributes",
    description="Memoria: the six Hebbian attributes (locality ... long-term stability) on a stream",
    params={
        "steps": Param(150, int, "stream length", positive),
        "stream": Param("recurring", str, "random or recurring content",
                        choices=("random", "recurring")),
        "items": Param(10, int, "distinct items of the recurring stream", positive),
        "dim": Param(8, int, "engram dimension", positive),
        **size_params(),
        "seeds": Param(2, int, "streams per point", positive),
    },
    run_point=run_point, summarize=summarize, plot=plot, backends=("graph",),
    estimate=graph_estimate, figure="App. A", metric="all_hold",
    paper={"all_hold": 1, **{f"{name}_violations": 0 for name in ATTRIBUTES}},
    notes="Paper (sec. 3 and appendix A): Memoria satisfies all six attributes of Gerstner & "
          "Kistler (2002); it states them without counts, so the paper's values here are "
          "'holds' (1) and zero violations.")
