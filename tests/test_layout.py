"""Import paths of 0.1 that the README or notebooks used keep working for one release, with a
DeprecationWarning naming the new place (neurosim/_moved.py)."""
import importlib
import sys

import pytest

from neurosim._moved import MOVED_MODULES


@pytest.mark.parametrize("old", sorted(MOVED_MODULES))
def test_an_old_module_path_returns_the_new_module_with_a_warning(old):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {MOVED_MODULES[old]}"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(MOVED_MODULES[old])


def test_a_family_package_gives_its_old_modules_names_with_a_warning():
    from neurosim.circuits.key_value.rate import KeyValueMemory

    with pytest.warns(DeprecationWarning, match="neurosim.circuits.key_value.rate.KeyValueMemory"):
        from neurosim.circuits.key_value import KeyValueMemory as old
    assert old is KeyValueMemory
    import neurosim.circuits.key_value as family

    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        getattr(family, "NoSuchThing")


def test_a_module_that_exists_is_never_shadowed():
    from neurosim.spiking import blocks

    assert blocks.__name__ == "neurosim.spiking.blocks"
    assert "neurosim.circuits.key_value" not in MOVED_MODULES
