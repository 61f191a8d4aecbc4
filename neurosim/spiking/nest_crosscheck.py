"""The same spike trains through NEST's ``stdp_dopamine_synapse`` and through
:class:`~neurosim.spiking.blocks.DopamineSTDP` in Brian2 (the ``nest`` extra; NEST is imported
only here, inside :func:`run_nest`).

Every presynaptic cell connects to every postsynaptic cell; the dopaminergic cells feed one
volume transmitter (NEST) or release into every postsynaptic cell (Brian2).  NEST's cells are
``parrot_neuron``s repeating ``spike_generator`` trains (one step of delay, subtracted), the
plastic synapses enter the parrots' receptor 1, which does not repeat them; Brian2's are a
``SpikeGeneratorGroup`` (pre, dopamine) and a ``NeuronGroup`` that fires at the given times
(post).  Both report every synapse's w, c and n at the end of each ``checkpoints_ms`` interval
(NEST's volume transmitter updates every synapse at the end of each step of the minimum delay,
Brian2's states are advanced in closed form to that time).  The weight bounds are where the two
differ: NEST clips at those regular updates, Brian2 at each event of the synapse; the
cross-check keeps the weights inside them (:func:`bounds_reached`)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from neurosim.spiking.makefile import lean_makefile


@dataclass
class SpikeTrains:
    """Spike times in ms on the ``dt_ms`` grid, one array per cell."""

    pre: list
    post: list
    dopamine: list
    duration_ms: float
    dt_ms: float


def poisson_trains(rng: np.random.Generator, rates_hz: tuple, cells: tuple[int, int, int],
                   duration_ms: float, dt_ms: float) -> SpikeTrains:
    """Bernoulli-per-step Poisson trains (pre, post, dopaminergic; a rate per population or
    per cell) from 2 ms on (a NEST
    generator must fire after its delay to the parrots: keep ``min_delay_ms`` of
    :func:`run_nest` under 2 ms)."""
    steps = int(round(duration_ms / dt_ms))

    first = int(round(2.0 / dt_ms))

    def trains(rates, n):         # row by row: the draws of one (n, steps) array
        fired = (np.flatnonzero(rng.random(steps) < rate * dt_ms * 1e-3)
                 for rate in np.broadcast_to(rates, n))
        return [np.round(f[f >= first] * dt_ms, 6) for f in fired]

    return SpikeTrains(*(trains(rate, n) for rate, n in zip(rates_hz, cells)), duration_ms,
                       dt_ms)


def bounds_reached(rule, weights: np.ndarray) -> bool:
    return bool(np.any(weights <= rule.Wmin) or np.any(weights >= rule.Wmax))


def run_nest(trains: SpikeTrains, rule, weights: np.ndarray, checkpoints_ms: list[float],
             min_delay_ms: float | None = None) -> dict:
    """w, c, n (checkpoint x pre x post) from NEST, and its wall time for the simulation.
    ``min_delay_ms`` (default: one step) is the delay of the generator -> parrot connections,
    which sets NEST's minimum delay and so the interval of the volume transmitter's updates.
    Only one step is exact: with a longer interval NEST integrates a presynaptic spike's
    update back from the last update, across any release in between (its benchmark
    setting)."""
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.resolution = trains.dt_ms

    lead = trains.dt_ms if min_delay_ms is None else min_delay_ms

    def parrots(spike_times):
        generators = nest.Create("spike_generator", len(spike_times),
                                 [{"spike_times": list(np.round(t - lead, 6))}
                                  for t in spike_times])
        cells = nest.Create("parrot_neuron", len(spike_times))
        nest.Connect(generators, cells, "one_to_one", {"delay": lead})
        return cells

    pre, post, dopaminergic = (parrots(t) for t in (trains.pre, trains.post, trains.dopamine))
    post.set(tau_minus=rule.tau_minus)
    transmitter = nest.Create("volume_transmitter")
    nest.Connect(dopaminergic, transmitter, syn_spec={"delay": rule.release_delay})
    nest.SetDefaults("stdp_dopamine_synapse", {
        "volume_transmitter": transmitter, "A_plus": rule.A_plus, "A_minus": rule.A_minus,
        "tau_plus": rule.tau_plus, "tau_c": rule.tau_c, "tau_n": rule.tau_n, "b": rule.b,
        "Wmin": rule.Wmin, "Wmax": rule.Wmax})
    nest.Connect(pre, post, "all_to_all", {"synapse_model": "stdp_dopamine_synapse",
                                           "weight": np.asarray(weights, float).T,
                                           "delay": rule.delay, "receptor_type": 1})
    connections = nest.GetConnections(synapse_model="stdp_dopamine_synapse")
    first_pre, first_post = pre[0].global_id, post[0].global_id
    states, wall, now = [], 0.0, 0.0
    for checkpoint in checkpoints_ms:
        started = time.perf_counter()
        nest.Simulate(checkpoint - now)
        wall += time.perf_counter() - started
        now = checkpoint
        got = connections.get(["source", "target", "weight", "c", "n"])
        state = np.zeros((3, len(pre), len(post)))
        rows = np.asarray(got["source"]) - first_pre, np.asarray(got["target"]) - first_post
        for k, name in enumerate(("weight", "c", "n")):
            state[k][rows] = got[name]
        states.append(state)
    w, c, n = np.stack(states, axis=1)
    return {"w": w, "c": c, "n": n, "wall_s": wall}


def brian2_network(trains: SpikeTrains, rule, weights: np.ndarray):
    """The Brian2 objects (on the active device): generators, the firing postsynaptic cells
    with the dopamine concentration, the release and the plastic synapses."""
    import brian2 as b2

    from neurosim.spiking.blocks import neuron_group
    from neurosim.spiking.blocks.base import Fragment

    def generator(spike_times, name):
        index = np.concatenate([np.full(len(t), k) for k, t in enumerate(spike_times)])
        return b2.SpikeGeneratorGroup(len(spike_times), index,
                                      np.concatenate(spike_times) * b2.ms, name=name)

    b2.defaultclock.dt = trains.dt_ms * b2.ms
    fire = np.zeros((int(round(trains.duration_ms / trains.dt_ms)) + 2, len(trains.post)))
    for j, spike_times in enumerate(trains.post):
        fire[np.round(np.asarray(spike_times) / trains.dt_ms).astype(int), j] = 1
    post = neuron_group(len(trains.post), rule.concentration(),
                        Fragment(threshold="post_fires(t, i) > 0.5",
                                 namespace={"post_fires": b2.TimedArray(fire, dt=b2.defaultclock.dt)}),
                        name="crosscheck_post")
    pre = generator(trains.pre, "crosscheck_pre")
    dopaminergic = generator(trains.dopamine, "crosscheck_dopaminergic")
    release = rule.release(dopaminergic, post, name="crosscheck_release")
    plastic = rule.synapses(pre, post, name="crosscheck_plastic")
    plastic.connect()
    plastic.w = weights.ravel()                 # i-major order: pre i, post j
    return b2.Network(pre, dopaminergic, post, release, plastic), plastic, post


def state_at(rule, plastic, post, t_ms: float) -> np.ndarray:
    """(w, c, n) of every synapse (pre x post), advanced in closed form to ``t_ms``."""
    from brian2 import ms

    i, j = np.asarray(plastic.i), np.asarray(plastic.j)
    updated = np.asarray(plastic.t_update / ms)
    n_at_release = np.asarray(post.n_at_release * ms)[j]      # 1/ms, NEST's unit
    n_then = n_at_release * np.exp(-(updated - np.asarray(post.t_release / ms)[j]) / rule.tau_n)
    w, c, n = rule.advance(np.asarray(plastic.w), np.asarray(plastic.c), n_then, t_ms - updated)
    state = np.zeros((3, i.max() + 1, j.max() + 1))
    for k, values in enumerate((w, c, n)):
        state[k][i, j] = values
    return state


def run_brian2(trains: SpikeTrains, rule, weights: np.ndarray, checkpoints_ms: list[float],
               device: str = "runtime", directory: str | None = None) -> dict:
    """w, c, n (checkpoint x pre x post) from Brian2 and its wall time: the runtime device (numpy
    target) runs checkpoint by checkpoint; ``cpp_standalone`` builds in ``directory`` and runs
    once, so it reports the last checkpoint only (``build_s`` apart from ``wall_s``)."""
    import brian2 as b2

    from neurosim.spiking import devices

    if device == "runtime":
        devices.reset()
        b2.prefs.codegen.target = "numpy"
        b2.start_scope()
        net, plastic, post = brian2_network(trains, rule, weights)
        states, wall, now = [], 0.0, 0.0
        for checkpoint in checkpoints_ms:
            started = time.perf_counter()
            net.run((checkpoint - now) * b2.ms, namespace={})
            wall += time.perf_counter() - started
            now = checkpoint
            states.append(state_at(rule, plastic, post, checkpoint))
        w, c, n = np.stack(states, axis=1)
        return {"w": w, "c": c, "n": n, "wall_s": wall}
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    try:
        devices.standalone_preferences()
        net, plastic, post = brian2_network(trains, rule, weights)
        net.run(checkpoints_ms[-1] * b2.ms, namespace={})
        started = time.perf_counter()
        with devices.precompiled_standard_headers("cpp_standalone"), lean_makefile(b2.device, "cpp_standalone"):
            b2.device.build(directory=directory, compile=True, run=False)
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        b2.device.run()
        wall = time.perf_counter() - started
        w, c, n = (x[None] for x in state_at(rule, plastic, post, checkpoints_ms[-1]))
        return {"w": w, "c": c, "n": n, "wall_s": wall, "build_s": build_s}
    finally:
        b2.device.reinit()
        b2.device.activate()
        b2.set_device("runtime")
