"""Import paths that moved in 0.2 (the layout by circuit family), kept for one release.

``import neurosim.blocks`` and the other old paths that the README or the notebooks of 0.1
used still work and return the module at its new place, with a ``DeprecationWarning`` naming
it; the same for names that a family package's old module exported
(``from neurosim.circuits.key_value import KeyValueMemory``).  Remove in 0.3.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED_MODULES = {
    "neurosim.blocks": "neurosim.spiking.blocks",
    "neurosim.plasticity": "neurosim.memory.plasticity",
    "neurosim.gates": "neurosim.memory.gates",
    "neurosim.patterns": "neurosim.memory.patterns",
    "neurosim.recording": "neurosim.spiking.recording",
    "neurosim.copy_paste": "neurosim.circuits.controlled.copy_paste",
    "neurosim.metalearn": "neurosim.circuits.key_value.metalearn",
    "neurosim.circuits.gradient_dual": "neurosim.circuits.gradient.dual",
    "neurosim.circuits.kernel_memory": "neurosim.circuits.kernel.rate",
    "neurosim.circuits.hebbian": "neurosim.circuits.hopfield.rate",
    "neurosim.circuits.hopfield_spiking": "neurosim.circuits.hopfield.spiking",
    "neurosim.circuits.kv_spiking": "neurosim.circuits.key_value.spiking",
    "neurosim.circuits.spiking_runner": "neurosim.protocols._spiking",
}


def _warn(old: str, new: str) -> None:
    warnings.warn(f"{old} moved to {new}; the old path is removed in neurosim 0.3",
                  DeprecationWarning, stacklevel=3)


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves an old module path to the module at its new place (last on ``sys.meta_path``,
    so a module that exists is never shadowed)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        new = MOVED_MODULES[module.__name__]
        _warn(module.__name__, new)
        sys.modules[module.__name__] = importlib.import_module(new)


def moved_attribute(package: str, module: str, name: str):
    """``package.name`` for a family package whose 0.1 module exported ``name``: the object
    from ``module``, with a DeprecationWarning (an AttributeError for any other name)."""
    target = importlib.import_module(module)
    if name.startswith("__") or not hasattr(target, name):
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    _warn(f"{package}.{name}", f"{module}.{name}")
    return getattr(target, name)


def install() -> None:
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
