"""Parameters given as a Brian2 Quantity or as a plain number in the documented unit."""
from __future__ import annotations

from neurosim.errors import ParameterError


def in_unit(value, unit: str, name: str) -> float:
    """``value`` as a float in ``unit`` (a Brian2 unit name such as ``"ms"``, ``"nS"``, or
    ``"1"`` for a dimensionless number): a Quantity is converted, a plain number is taken to
    be in ``unit`` already; a Quantity of another dimension is one line naming the parameter,
    what was given and what was expected."""
    import brian2
    from brian2 import Quantity, get_dimensions, get_unit

    label = "a plain number" if unit == "1" else unit
    if not isinstance(value, Quantity):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{name} must be a number in {label} or a Brian2 quantity "
                                 f"(got {value!r})") from None
    scale = 1 if unit == "1" else getattr(brian2, unit)
    expected = get_dimensions(scale)
    if value.dim is not expected:
        given = get_unit(value.dim) if not value.is_dimensionless else "a number"
        raise ParameterError(f"{name} must be {label if unit == '1' else 'in ' + unit} "
                             f"(dimension {expected}); got {value} ({given}, dimension "
                             f"{value.dim})")
    return float(value / scale)
