"""A neuron-model fragment and the composition of fragments into one Brian2 NeuronGroup.

A :class:`Fragment` is a piece of a neuron model: equation lines with units, the names its
equations use (a Brian2 namespace of Quantities), lines to run when the neuron spikes, and
custom events with the code they trigger, initial values (the rest state) and operations
run at the start of a time step at regular intervals (``regularly``: name -> (code, interval
in ms; None: every step)), and what downstream synapses may read of it
(:mod:`neurosim.spiking.locality`: ``axonal`` variables and events, ``concentrations``,
coding ``labels``).  Blocks (:mod:`neurosim.spiking.blocks.neurons`,
:mod:`~neurosim.spiking.blocks.coding`, :mod:`~neurosim.spiking.blocks.neuromodulator`) yield fragments;
:func:`neuron_group` joins a spiking model's fragment with any number of others::

    group = neuron_group(40, LIF(), RateCode(r_ref_hz=40.0), name="exc")

The result is a plain ``brian2.NeuronGroup``: nothing of neurosim is needed to run it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from neurosim.spiking.locality import declare


@dataclass(frozen=True)
class Fragment:
    equations: str = ""
    namespace: dict = field(default_factory=dict)
    on_spike: str = ""
    events: dict = field(default_factory=dict)
    on_events: dict = field(default_factory=dict)
    threshold: str | None = None
    refractory: object = False
    method: str = "euler"
    initial: dict = field(default_factory=dict)
    regularly: dict = field(default_factory=dict)
    axonal: tuple = ()
    concentrations: tuple = ()
    labels: tuple = ()
    axonal_events: tuple = ()


DECLARATIONS = ("axonal", "concentrations", "labels", "axonal_events")


def join(*fragments: Fragment) -> Fragment:
    """One fragment holding all the parts; the (single) spiking fragment -- else the first --
    gives the threshold, refractoriness and integration method.  Two fragments may not define
    one name differently."""
    spiking = [f for f in fragments if f.threshold is not None]
    if len(spiking) > 1:
        raise ValueError("only one fragment may define the spike threshold")
    namespace: dict = {}
    for fragment in fragments:
        for name, value in fragment.namespace.items():
            if name in namespace and namespace[name] is not value and namespace[name] != value:
                raise ValueError(f"two blocks define {name!r} differently")
            namespace[name] = value
    events: dict = {}
    on_events: dict = {}
    for fragment in fragments:
        events.update(fragment.events)
        for name, code in fragment.on_events.items():
            on_events[name] = "\n".join(filter(None, [on_events.get(name, ""), code]))
    head = spiking[0] if spiking else fragments[0]
    initial = {name: value for fragment in fragments for name, value in fragment.initial.items()}
    regularly = {name: op for fragment in fragments for name, op in fragment.regularly.items()}
    return Fragment(equations="\n".join(f.equations.strip("\n") for f in fragments if f.equations),
                    namespace=namespace,
                    on_spike="\n".join(f.on_spike.strip("\n") for f in fragments if f.on_spike),
                    events=events, on_events=on_events, threshold=head.threshold,
                    refractory=head.refractory, method=head.method, initial=initial,
                    regularly=regularly,
                    **{kind: tuple(name for f in fragments for name in getattr(f, kind))
                       for kind in DECLARATIONS})


def neuron_group(n: int, *fragments, name: str, extra_equations: str = "", namespace=None,
                 events=None, order: int = 0):
    """A ``brian2.NeuronGroup`` of n neurons from the fragments of one or more blocks
    (objects with a ``fragment()`` method, or Fragments); ``extra_equations`` adds the
    circuit's own lines (e.g. a TimedArray input), ``namespace`` and ``events`` its names."""
    from brian2 import NeuronGroup, ms

    model = join(*(f if isinstance(f, Fragment) else f.fragment() for f in fragments))
    all_events = {**model.events, **(events or {})}
    group = NeuronGroup(n, "\n".join(filter(None, [model.equations, extra_equations.strip("\n")])),
                        threshold=model.threshold, reset=model.on_spike or None,
                        refractory=model.refractory, events=all_events or None,
                        namespace={**model.namespace, **(namespace or {})}, method=model.method,
                        name=name, order=order)
    declare(group, **{kind: getattr(model, kind) for kind in DECLARATIONS})
    for event, code in model.on_events.items():
        group.run_on_event(event, code)
    for variable, value in model.initial.items():
        setattr(group, variable, value)
    for operation, (code, every_ms) in model.regularly.items():
        group.run_regularly(code, dt=None if every_ms is None else every_ms * ms, when="start",
                            name=f"{name}_{operation}")
    return group
