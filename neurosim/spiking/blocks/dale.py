"""Dale's law on a built Brian2 network: every cell releases one kind of transmitter.

A synapse's sign is the postsynaptic variable its spike adds to: a conductance whose name is
``g_i`` or ends with ``_i`` is inhibitory, any other conductance (``g_e``, ``g_d``,
``g_fast_e``, ...) excitatory, ``M`` (a neuromodulator concentration) modulatory.  A network
obeys Dale's law when every synapse adds a non-negative weight in siemens to conductances of one
sign (``w_<conductance>`` per conductance where the synapse has one, else ``w``) and no
presynaptic cell has both excitatory and inhibitory synapses (modulatory release is a third
transmitter and may accompany either).  Silent synapses (weight 0) keep their sign.
Under cpp_standalone the weights and indices exist once the network has run: check after a run.
"""
from __future__ import annotations

import re

import numpy as np

_TARGET = re.compile(r"\b(\w+)_post\s*\+=")


def synapse_sign(variable: str) -> str:
    """'excitatory', 'inhibitory' or 'modulatory' for the postsynaptic variable a spike adds to."""
    if variable == "M":
        return "modulatory"
    if not variable.startswith("g_"):
        raise ValueError(f"a spike adds to {variable!r}, which is neither a conductance (g_...) "
                         "nor the neuromodulator M")
    return "inhibitory" if variable == "g_i" or variable.endswith("_i") else "excitatory"


def check_dale(net) -> dict[str, str]:
    """Raise ValueError at the first synapse or cell that breaks Dale's law (module docstring);
    return the sign of every projection, {synapses name: sign}."""
    from brian2 import Synapses, get_dimensions, siemens

    signs: dict[str, str] = {}
    cells: dict[str, dict[str, np.ndarray]] = {}
    for obj in net.objects:
        if not isinstance(obj, Synapses):
            continue
        targets = sorted({name for pathway in obj._pathways if pathway.prepost == "pre"
                          for name in _TARGET.findall(pathway.code)})
        kinds = {synapse_sign(variable) for variable in targets}
        if len(kinds) != 1:
            raise ValueError(f"{obj.name}: a presynaptic spike changes {targets}, "
                             "not postsynaptic variables of exactly one sign")
        sign = kinds.pop()
        if sign != "modulatory":
            for target in targets:
                if get_dimensions(obj.target.variables[target]) != siemens.dim:
                    raise ValueError(f"{obj.name}: {target} of {obj.target.name} is not in siemens")
                weight = f"w_{target}" if f"w_{target}" in obj.variables else "w"
                if weight in obj.variables:
                    if get_dimensions(obj.variables[weight]) != siemens.dim:
                        raise ValueError(f"{obj.name}: {weight} is not in siemens")
                    weights = np.asarray(getattr(obj, f"{weight}_"))
                    if weights.size and weights.min() < 0:
                        raise ValueError(f"{obj.name}: a negative weight onto {target}")
        source = obj.source
        group = getattr(source, "source", source)
        start = getattr(source, "start", 0)
        per_cell = cells.setdefault(group.name, {})
        mask = per_cell.setdefault(sign, np.zeros(len(group), bool))
        mask[np.asarray(obj.i) + start] = True
        if "excitatory" in per_cell and "inhibitory" in per_cell:
            both = np.flatnonzero(per_cell["excitatory"] & per_cell["inhibitory"])
            if both.size:
                raise ValueError(f"cell {both[0]} of {group.name} has excitatory and inhibitory "
                                 f"synapses ({obj.name} adds to {', '.join(targets)})")
        signs[obj.name] = sign
    return signs
