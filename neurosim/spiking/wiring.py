"""Wiring of B independent trials in one Brian2 network.

A batch of B trials is B copies of a circuit in one network: neuron ``b * n + k`` is cell k of
trial b, and synapses only connect cells of the same trial, so one build and one run serve the
whole batch.  Random anatomy (connection probabilities, delays) is drawn once per build and
repeated in every trial.
"""
from __future__ import annotations

import numpy as np


def connect_trials(synapses, B: int, n_pre: int, n_post: int, one_to_one: bool = False,
                   p: float = 1.0, rng: np.random.Generator | None = None,
                   pairs: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """Connections within each trial's block of neurons: one-to-one, the given ``pairs``
    (pre, post indices within a trial), all-to-all, or each pair with probability p (one
    anatomy drawn from ``rng``, repeated in every trial)."""
    if one_to_one:
        pre = post = np.arange(B * n_pre)
    elif pairs is not None:
        pre = (np.arange(B)[:, None] * n_pre + np.asarray(pairs[0])[None]).ravel()
        post = (np.arange(B)[:, None] * n_post + np.asarray(pairs[1])[None]).ravel()
    else:
        i, j = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
        keep = np.ones(i.size, bool) if p >= 1 else rng.random(i.size) < p
        pre = (np.arange(B)[:, None] * n_pre + i.ravel()[keep][None]).ravel()
        post = (np.arange(B)[:, None] * n_post + j.ravel()[keep][None]).ravel()
    synapses.connect(i=pre, j=post)


def fixed_synapses(source, target, name: str, B: int, n_pre: int, n_post: int,
                   conductance: str | None = None, one_to_one: bool = False,
                   on_pre: str | None = None, weighted: bool = True, namespace=None,
                   p: float = 1.0, rng: np.random.Generator | None = None,
                   pairs: tuple[np.ndarray, np.ndarray] | None = None):
    """Non-plastic synapses within trials: a spike adds ``w`` (nS, one value per synapse,
    settable through run_args) to the target's ``conductance`` (g_e: excitatory, g_i:
    inhibitory, g_d: apical dendrite)."""
    from brian2 import Synapses

    synapses = Synapses(source, target, "w : siemens" if weighted else "",
                        on_pre=on_pre or f"{conductance}_post += w", namespace=namespace,
                        name=name)
    connect_trials(synapses, B, n_pre, n_post, one_to_one, p, rng, pairs)
    return synapses
