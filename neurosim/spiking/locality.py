"""Locality of plastic synapses: what a synapse may read, declared by the blocks and checked.

A plastic synapse's update may read only (DESIGN.md, "Locality"):

- its own state (weight, traces, eligibility, shared constants of the ``Synapses``);
- what its presynaptic cell's axon terminal sees: the spikes (and the ``lastspike``) of that
  cell and the variables its block declares **axonal** (spike-derived traces, burst or
  short-term-plasticity state); a custom event of the presynaptic cell only if declared
  axonal too (a burst is carried by the axon, a dendritic plateau is not);
- its own postsynaptic cell's variables (voltage, spike traces, the dendritic plateau of *that*
  cell) and events;
- the **concentration** of a neuromodulator at its postsynaptic cell (volume transmission).

It may not read a **coding label** (a cell's ON/OFF polarity, the rate-coded value z: numbers
of the rate model's code, not of the cell), a concentration at another cell, or a protocol
``TimedArray`` (directly, or through a postsynaptic variable computed from one).

Blocks declare their variables in their :class:`~neurosim.spiking.blocks.base.Fragment`
(``axonal``, ``concentrations``, ``labels``, ``axonal_events``);
:func:`~neurosim.spiking.blocks.base.neuron_group` records the declaration for the group it
builds.  A stock Brian2 group (``PoissonGroup``, ``SpikeGeneratorGroup``, a plain
``NeuronGroup``) declares nothing: downstream synapses see its spikes only.

:func:`violations` lists what one ``brian2.Synapses`` reads against that rule;
:func:`network_violations` does it for every plastic synapse of a network.  A synapse is
plastic when a pathway or a regular operation writes one of its own variables, or its model
has differential equations (a transmission-only synapse writes only ``*_post``).  The rule is
for synapses that learn: the key-value circuit's closed-loop counters (output -> input, reading
the ON/OFF polarity) write only ``count_post`` and stand for the experimenter's recording and
stimulation rig, not for synapses, so they are outside it.
"""
from __future__ import annotations

import re
import weakref
from dataclasses import dataclass

SPIKE_DERIVED = frozenset({"lastspike"})          # what any presynaptic terminal sees
ALWAYS = frozenset({"t", "dt", "t_in_timesteps", "i", "j", "N", "N_pre", "N_post",
                    "N_incoming", "N_outgoing", "lastupdate", "delay", "rand", "randn"})
ASSIGNMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:[+\-*/]?=)(?!=)")


@dataclass(frozen=True)
class Visibility:
    """What a group's block declares about its variables and events."""

    axonal: frozenset = frozenset()
    concentrations: frozenset = frozenset()
    labels: frozenset = frozenset()
    axonal_events: frozenset = frozenset({"spike"})


# group name -> (the group, weakly; its declaration).  By name: Synapses and Subgroups hold
# their groups through weak proxies, and names are unique within a Brian2 network.
_DECLARED: dict[str, tuple[weakref.ref, Visibility]] = {}


def declare(group, *, axonal=(), concentrations=(), labels=(), axonal_events=()) -> None:
    """Record which of ``group``'s variables are axonal, concentrations or coding labels."""
    _DECLARED[group.name] = (weakref.ref(group), Visibility(
        frozenset(axonal), frozenset(concentrations), frozenset(labels),
        frozenset({"spike", *axonal_events})))


def cell_group(group):
    """The group a Subgroup is a part of (the group itself otherwise)."""
    source = getattr(group, "source", None)
    return group if source is None or not hasattr(group, "start") else cell_group(source)


def visibility(group) -> Visibility:
    """The declaration of ``group`` (or of the group it is a part of); none for stock groups."""
    reference, declared = _DECLARED.get(cell_group(group).name, (lambda: None, Visibility()))
    return declared if reference() is not None else Visibility()


def _identifiers(code: str) -> set[str]:
    from brian2.utils.stringtools import get_identifiers

    return set(get_identifiers(code))


def _timed_arrays(group, names) -> set[str]:
    from brian2 import TimedArray

    namespace = getattr(group, "namespace", None) or {}
    return {name for name in names if isinstance(namespace.get(name), TimedArray)}


def _equation_code(group) -> dict[str, str]:
    """Variable -> the expression that defines or drives it (subexpressions, ODEs)."""
    equations = getattr(group, "equations", None)
    if equations is None:
        return {}
    return {eq.varname: str(eq.expr) for eq in equations.values() if eq.expr is not None}


def own_variables(synapses) -> set[str]:
    """Variables the synapse holds itself: those of its model equations (Brian2 also gives it
    copies of its groups' subexpressions, named with _pre/_post, which are not its own)."""
    return set(synapses.equations.names)


def _codes(synapses) -> list[tuple[str, str]]:
    """(where, code) of every pathway, regular operation and model equation."""
    codes = [(f"on_{p.prepost} ({p.objname})", p.code) for p in synapses._pathways]
    codes += [(f"operation {o.name}", o.abstract_code)
              for o in synapses.contained_objects
              if getattr(o, "abstract_code", None) and not hasattr(o, "prepost")
              and o not in synapses._pathways]
    codes += [(f"equation of {name}", code) for name, code in _equation_code(synapses).items()]
    return codes


def is_plastic(synapses) -> bool:
    own = own_variables(synapses)
    written = {match.group(1) for _, code in _codes(synapses) for line in code.splitlines()
               if (match := ASSIGNMENT.match(line))}
    differential = any(eq.type == "differential equation"
                       for eq in synapses.equations.values())
    return differential or bool(written & own)


def _post_reads(group, name: str, seen: set[str]) -> list[str]:
    """Why reading ``name`` of the postsynaptic ``group`` is not local (empty: it is)."""
    if name in seen:
        return []
    seen.add(name)
    declared = visibility(group)
    if name in declared.labels:
        return [f"{name} is a coding label of {cell_group(group).name}"]
    code = _equation_code(group).get(name)
    if code is None:
        return []
    identifiers = _identifiers(code)
    problems = [f"{name} of {cell_group(group).name} follows the protocol TimedArray {ta}"
                for ta in sorted(_timed_arrays(group, identifiers))]
    for other in sorted(identifiers & set(group.variables)):
        problems += _post_reads(group, other, seen)
    return problems


def _read(synapses, name: str, own: set[str]) -> list[str]:
    source, target = synapses.source, synapses.target
    if name in own or name in ALWAYS:
        return []
    variable = synapses.variables.get(name)
    if name.endswith("_pre") or name.endswith("_post"):
        base = name.rsplit("_", 1)[0]
        side = "pre" if name.endswith("_pre") else "post"
    elif variable is not None and getattr(variable, "owner", None) is not None:
        base = name
        side = "post" if variable.owner.name == cell_group(target).name else "pre"
    else:
        return [f"reads the protocol TimedArray {name}"] if _timed_arrays(synapses, {name}) else []
    if side == "pre":
        declared = visibility(source)
        if base in declared.axonal or base in SPIKE_DERIVED:
            return []
        kind = ("a coding label" if base in declared.labels else
                "a concentration at the presynaptic cell" if base in declared.concentrations else
                "not carried by the axon")
        return [f"reads {name}: {kind} of {cell_group(source).name}"]
    return [f"reads {name}: {why}" for why in _post_reads(target, base, set())]


def violations(synapses) -> list[str]:
    """Every read of ``synapses`` that breaks locality, one line each (empty: local)."""
    own = own_variables(synapses)
    problems = []
    for where, code in _codes(synapses):
        for name in sorted(_identifiers(code)):
            problems += [f"{synapses.name}, {where}: {why}" for why in _read(synapses, name, own)]
    for pathway in synapses._pathways:
        event_group = synapses.source if pathway.prepost == "pre" else None
        if event_group is not None and pathway.event not in visibility(event_group).axonal_events:
            problems.append(f"{synapses.name}: learns on event {pathway.event!r} of the "
                            f"presynaptic {cell_group(event_group).name}, not carried by the axon")
    return list(dict.fromkeys(problems))


def network_violations(objects) -> dict[str, list[str]]:
    """{synapses name: violations} for every plastic ``Synapses`` among ``objects`` (a
    ``brian2.Network`` or an iterable of Brian2 objects)."""
    from brian2 import Synapses

    return {obj.name: violations(obj) for obj in getattr(objects, "objects", objects)
            if isinstance(obj, Synapses) and is_plastic(obj)}
