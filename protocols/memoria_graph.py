"""memoria-graph: the engram graph over time (appendix G, Fig. 9-10) and repeated data.

1. Snapshots. A recurring-content stream runs through a small Memoria; at a few
   steps the graph is recorded: one row per engram (id, creation step, type,
   lifespan) and one per strong edge (E_{i->j} = Count_ij / Count_ii >=
   ``threshold``). The figure draws engrams by creation time (x) and memory
   (y), strong edges only, as Fig. 9-10 do.
2. The same data seen twice. A novel chunk (random vectors unlike the recurring
   items) is the WM of step t1 and is shown again, unchanged, at step
   t2 = t1 + ``gap`` (gap x N_wm <= C_stm: the originals are still in STM), and
   afterwards its content returns with noise every ``recall_every`` steps. Two
   identical copies are always reminded together, so by "fire together, wire
   together" (sec. 3.4 step 1) E(copy_k -> original_k) stays high while the
   copies' edges to the context they were first seen with are depressed.
   Recorded at every step from t2 to t2 + ``window`` for ``seeds`` streams:
   mean E(copy_k -> original_k), mean E from the copies to all their other
   neighbours, and the same for the originals (averaged over the streams in
   which the pair is still alive; a pair whose engrams both died drops out).
"""
from __future__ import annotations

import numpy as np

from neurosim.circuits.memoria import MemoriaCircuit, random_stream, recurring_stream
from neurosim.protocol import Param, Protocol, non_negative, positive, probability
from neurosim.protocols.memoria_attributes import demo_params, graph_estimate, size_params

LANES = {"working": 0, "short-term": 1, "long-term": 2}


def graph_rows(circuit: MemoriaCircuit, snapshot: int, threshold: float) -> list[dict]:
    """One row per engram and per edge with E >= threshold."""
    n_wm = circuit.params.n_wm
    rows = [{"row": "node", "snapshot": snapshot, "id": e["id"], "created": e["id"] // n_wm,
             "kind": e["kind"], "lifespan": e["lifespan"], "fires": e["fires"]}
            for e in circuit.engrams()]
    for i, j in circuit.graph.edges():
        weight = circuit.weight(i, j)
        if weight >= threshold:
            rows.append({"row": "edge", "snapshot": snapshot, "id": i, "target": j,
                         "created": i // n_wm, "target_created": j // n_wm, "weight": weight})
    return rows


def repeat_rows(circuit: MemoriaCircuit, originals: list, copies: list, when: str) -> list[dict]:
    """Mean E(copy -> its original) vs E(copy -> other neighbours), and the reverse."""
    rows = []
    for source, partner, label in ((copies, originals, "copy"), (originals, copies, "original")):
        paired, others = [], []
        for s, p in zip(source, partner):
            if s not in circuit.graph:
                continue
            for target in circuit.graph.succ[s]:
                (paired if target == p else others).append(circuit.weight(s, target))
        rows.append({"row": "repeat", "when": when, "source": label,
                     "paired_weight": float(np.mean(paired)) if paired else np.nan,
                     "other_weight": float(np.mean(others)) if others else np.nan,
                     "n_paired": len(paired), "n_alive": sum(s in circuit.graph for s in source)})
    return rows


def one_stream(point: dict, seed: np.random.SeedSequence, snapshots: bool) -> list[dict]:
    """One stream: graph snapshots (if asked) and the repeated-data rows."""
    params = demo_params(point)
    steps = point["steps"]
    stream_seed, circuit_seed = seed.spawn(2)
    rng = np.random.default_rng(stream_seed)
    x, _ = recurring_stream(rng, steps, params.n_wm, point["dim"], n_items=point["items"],
                            noise=0.3, stay=point["stay"])
    t1 = steps // 3
    t2 = min(steps - 1, t1 + point["gap"])
    novel = random_stream(rng, 1, params.n_wm, point["dim"])[0]
    x[t1] = x[t2] = novel  # a chunk unlike the recurring items, shown twice
    recalls = list(range(t2 + point["recall_every"], min(steps, t2 + point["window"] + 1),
                         point["recall_every"])) if point["recall_every"] > 0 else []
    for t in recalls:  # the content comes back, noisy: both copies are reminded together
        x[t] = novel + rng.normal(0, 0.3 / np.sqrt(point["dim"]), novel.shape)
    circuit = MemoriaCircuit(params, point["dim"], seed=circuit_seed)
    shots = sorted({max(1, round(steps * k / point["snapshots"])) - 1
                    for k in range(1, point["snapshots"] + 1)}) if snapshots else []
    records, originals, copies = [], [], []
    for t in range(steps):
        ids = circuit.add_working_memory(x[t])
        if t == t1:
            originals = ids
        if t == t2:
            copies = ids
        circuit.memorize(circuit.remind())
        if t2 <= t <= t2 + point["window"]:
            records += repeat_rows(circuit, originals, copies, t - t2)
        if t in shots:
            records += graph_rows(circuit, t + 1, point["threshold"])
    return records


def run_point(point: dict, seed: np.random.SeedSequence, ctx) -> list[dict]:
    """Snapshots of the first stream; repeated-data rows of every stream."""
    return [{**record, "seed": k} for k, child in enumerate(seed.spawn(point["seeds"]))
            for record in one_stream(point, child, snapshots=k == 0)]


def summarize(frame, values) -> dict:
    out = {}
    rep = frame[frame["row"] == "repeat"]
    if len(rep):
        last = rep[rep["when"] == rep["when"].max()]
        means = last.groupby("source")[["paired_weight", "other_weight"]].mean()  # skips NaN
        when = int(last["when"].iloc[0])
        for source, r in means.iterrows():
            out[f"paired_weight[{source}|t2+{when}]"] = float(r["paired_weight"])
            out[f"other_weight[{source}|t2+{when}]"] = float(r["other_weight"])
        alive = last[last["source"] == "copy"]
        out[f"streams_with_both_copies[t2+{when}]"] = int((alive["n_paired"] > 0).sum())
    nodes = frame[frame["row"] == "node"]
    edges = frame[frame["row"] == "edge"]
    for shot, group in nodes.groupby("snapshot"):
        out[f"engrams[t={int(shot)}]"] = int(len(group))
        out[f"strong_edges[t={int(shot)}]"] = int((edges["snapshot"] == shot).sum())
        if (edges["snapshot"] == shot).any():
            span = (edges[edges["snapshot"] == shot]["target_created"]
                    - edges[edges["snapshot"] == shot]["created"]).abs()
            out[f"strong_edge_median_span[t={int(shot)}]"] = float(span.median())
    return out


def plot(frame, values):
    import matplotlib.pyplot as plt

    nodes = frame[frame["row"] == "node"]
    edges = frame[frame["row"] == "edge"]
    shots = sorted(nodes["snapshot"].unique())
    fig, axes = plt.subplots(1, len(shots) + 1, figsize=(4.5 * (len(shots) + 1), 4))
    for ax, shot in zip(axes, shots):
        ns = nodes[nodes["snapshot"] == shot]
        jitter = {i: (i % 8) / 10 for i in ns["id"]}
        pos = {int(r["id"]): (r["created"], LANES[r["kind"]] + jitter[r["id"]])
               for _, r in ns.iterrows()}
        for _, e in edges[edges["snapshot"] == shot].iterrows():
            a, b = pos.get(int(e["id"])), pos.get(int(e["target"]))
            if a and b:
                ax.plot([a[0], b[0]], [a[1], b[1]], color="0.6", lw=0.4 + e["weight"], alpha=0.5)
        for kind, lane in LANES.items():
            sub = ns[ns["kind"] == kind]
            ax.scatter(sub["created"], [LANES[kind] + jitter[i] for i in sub["id"]], s=10,
                       label=kind, zorder=3)
        ax.set_title(f"t = {int(shot)}")
        ax.set_xlabel("creation step")
        ax.set_yticks([0.35, 1.35, 2.35], ["WM", "STM", "LTM"])
    axes[0].legend(fontsize=7)
    ax = axes[-1]
    rep = frame[frame["row"] == "repeat"]
    for source, group in rep.groupby("source"):
        mean = group.groupby("when")[["paired_weight", "other_weight"]].mean()
        ax.plot(mean.index, mean["paired_weight"], "o-", label=f"{source} -> its other copy")
        ax.plot(mean.index, mean["other_weight"], "x:", label=f"{source} -> other neighbours")
    ax.set_xlabel("steps after the second presentation")
    ax.set_ylabel("edge weight E (mean)")
    ax.set_ylim(0, 1.05)
    ax.set_title("same data seen twice")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


PROTOCOL = Protocol(
    name="memoria-graph",
    description="Memoria: the engram graph at several steps (Fig. 9-10) and repeated data linking",
    params={
        "steps": Param(130, int, "stream length (Fig. 9 shows t = 20, 60, 130)", positive),
        "snapshots": Param(3, int, "snapshots, evenly spaced", positive),
        "threshold": Param(0.7, float, "draw edges with E >= threshold", probability),
        "gap": Param(3, int, "steps between the two presentations of the same data", positive),
        "recall_every": Param(3, int, "after t2 the content returns (noisy) every k steps; 0: never",
                              non_negative),
        "window": Param(15, int, "steps after t2 that are followed", positive),
        "seeds": Param(8, int, "streams for the repeated-data experiment (snapshots: the first)",
                       positive),
        "items": Param(12, int, "distinct recurring items", positive),
        "stay": Param(0.6, float, "probability that an item stays on", probability),
        "dim": Param(8, int, "engram dimension", positive),
        **size_params(depth=4, initial_lifespan=5.0),
    },
    run_point=run_point, summarize=summarize, plot=plot, backends=("graph",),
    estimate=graph_estimate, figure="App. G, Fig. 9-10", metric="paired_weight",
    notes="Fig. 9-10 of the paper are drawings of the engram graph without numbers: their "
          "claims are that old engrams fade while useful ones stay, that strong edges join "
          "engrams made close in time, and that engrams of the same data seen twice link more "
          "strongly than to other engrams (here paired_weight vs other_weight). No paper values "
          "to compare.")


