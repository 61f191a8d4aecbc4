"""Protocol definition and registry.

A protocol is a module in ``neurosim.protocols`` that defines ``PROTOCOL``, a
:class:`Protocol`. The engine expands its parameters into a grid of points,
calls ``run_point`` once per point (all seeds of a point in one call, so the
rate backend can put them on its batch axis), collects the tidy records, and
hands them to ``summarize`` and ``plot``.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from neurosim.errors import ParameterError
from neurosim.sweep import expand_grid


# Parameters of a spiking realization's noise (its input trains and noise seed): never part of a
# point's stream seed, so that rate and spiking twins meet the same streams.
SPIKING_NOISE_PARAMETERS = ("input", "seed_noise")


@dataclass(frozen=True)
class Param:
    """One protocol parameter.

    ``default`` is a scalar or a list. A list is a sweep axis (one grid point
    per value) unless ``inner`` is set: then the whole list goes to one
    ``run_point`` call as a tuple, for axes that the batch dimension carries
    (e.g. the number of stored items T, or the recall delay R).
    ``check`` returns an error message for a bad value, or None.
    """

    default: Any
    kind: type = float
    help: str = ""
    check: Callable[[Any], str | None] | None = None
    choices: tuple | None = None
    inner: bool = False

    def parse(self, name: str, text: str) -> Any:
        try:
            if self.kind is bool:
                low = text.strip().lower()
                if low not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                value = low in ("true", "1", "yes")
            elif self.kind is int:
                as_float = float(text)
                if not as_float.is_integer():
                    raise ValueError
                value = int(as_float)
            else:
                value = self.kind(text.strip())
        except ValueError:
            raise ParameterError(
                f"parameter {name}: cannot read {text!r} as {self.kind.__name__}") from None
        self.validate(name, value)
        return value

    def validate(self, name: str, value: Any) -> None:
        if self.kind in (int, float) and isinstance(value, float) and not np.isfinite(value):
            raise ParameterError(f"parameter {name}: {value} is not a finite number")
        if self.choices is not None and value not in self.choices:
            raise ParameterError(
                f"parameter {name}: {value!r} is not one of {', '.join(map(str, self.choices))}")
        if self.check is not None:
            try:
                message = self.check(value)
            except (TypeError, ValueError) as error:      # a check that could not read the value
                message = f"cannot read it ({error})"
            if message:
                raise ParameterError(f"parameter {name}: {message} (got {value})")


def positive(value) -> str | None:
    return None if value > 0 else "must be > 0"


def non_negative(value) -> str | None:
    return None if value >= 0 else "must be >= 0"


def probability(value) -> str | None:
    return None if 0 <= value <= 1 else "must lie in [0, 1]"


def fraction_below_one(value) -> str | None:
    return None if 0 <= value < 1 else "must lie in [0, 1)"


@dataclass(frozen=True)
class Estimate:
    """What one point is expected to need before it runs: peak memory in bytes
    and run time in seconds on one core of a 2-core machine (None: unknown).
    The engine refuses a point whose memory exceeds the memory available and
    warns before a point that will run long."""

    memory_bytes: float | None = None
    seconds: float | None = None


@dataclass
class RunContext:
    """What a point's run needs besides its parameters; spiking circuits append the
    physiology of each of their runs to ``physiology``."""

    backend: str = "rate"
    device: str = "cpp_standalone"
    record_dir: str | None = None
    progress: bool = False
    options: dict = field(default_factory=dict)
    physiology: list = field(default_factory=list)


@dataclass
class Protocol:
    """A benchmark: parameters, a per-point run, a summary and a figure.

    - ``run_point(point, seed_sequence, context)`` -> list of record dicts (metrics and inner
      coordinates such as T or seed); the engine adds the point's parameters and the backend
      to every record.
    - ``canonical(point)`` -> the point with the parameters it does not use set to None.
    - ``paper``: headline values the paper reports (same keys as the headline); the summary
      lists them with the measured difference. ``notes``: known gaps.
    - ``shared_streams``: parameters whose values are compared on the same streams (left out
      of the point's seed, like the backend).
    - ``estimate(point)`` -> Estimate of the point's memory and run time, checked before
      anything runs; None (the default): unknown, not checked (a MemoryError while running is
      still reported as one line).
    - ``requires``: modules the protocol imports (an optional extra); ``extra`` names the
      extra that installs them. Checked before anything runs.
    - ``summarize(frame, params)`` -> flat dict of headline numbers.
    - ``plot(frame, params)`` -> matplotlib Figure.
    - ``metric``, ``compare_on``: what ``neurosim compare`` sets side by side (the metric,
      averaged over seeds, at each point and each value of compare_on).
    """

    name: str
    description: str
    params: dict[str, Param]
    run_point: Callable[[dict, np.random.SeedSequence, RunContext], list[dict]]
    summarize: Callable[[Any, dict], dict]
    plot: Callable[[Any, dict], Any]
    backends: tuple[str, ...] = ("rate",)
    figure: str = ""
    metric: str = "accuracy"
    compare_on: tuple[str, ...] = ()
    canonical: Callable[[dict], dict] | None = None
    paper: dict = field(default_factory=dict)
    notes: str = ""
    shared_streams: tuple[str, ...] = ()
    estimate: Callable[[dict], Estimate] | None = None
    requires: tuple[str, ...] = ()
    extra: str = ""

    def missing_requirement(self) -> str | None:
        """A one-line message naming the missing modules and their extra, or None."""
        missing = [name for name in self.requires if importlib.util.find_spec(name) is None]
        if not missing:
            return None
        return (f"protocol {self.name} needs {', '.join(missing)}: "
                f"pip install 'neurosim[{self.extra}]'")

    def defaults(self) -> dict[str, list]:
        return {name: list(p.default) if isinstance(p.default, (list, tuple)) else [p.default]
                for name, p in self.params.items()}

    def points(self, values: dict[str, list]) -> list[dict]:
        """The grid: product of the sweep axes, inner axes passed whole as tuples,
        points made canonical (parameters a point does not use set to None) and
        de-duplicated (:meth:`compared_points` without the left-out points)."""
        return self.compared_points(values)[0]

    def compared_points(self, values: dict[str, list]) -> tuple[list[dict], dict[str, str]]:
        """The grid's points and, per compared backend, why it leaves points out.  A point
        that a compared backend (any backend but the first listed) does not realize -- its
        canonical form raises ParameterError, e.g. a model without a spiking circuit -- is
        left out as long as that backend keeps some point; otherwise, and on the first
        backend, the error stands."""
        grid_values = {name: [tuple(items)] if name in self.params and self.params[name].inner
                       else items for name, items in values.items()}
        backends = values.get("backend", [])
        points, left_out = [], {}
        for point in expand_grid(grid_values):
            try:
                point = self.canonical(point) if self.canonical else point
            except ParameterError as error:
                if len(backends) < 2 or point.get("backend") == backends[0]:
                    raise
                left_out.setdefault(point["backend"], error)
                continue
            if point not in points:
                points.append(point)
        for backend, error in left_out.items():
            if not any(point.get("backend") == backend for point in points):
                raise error
        return points, {backend: str(error) for backend, error in left_out.items()}

    def resolve(self, overrides: dict[str, str]) -> dict[str, list]:
        """Defaults updated by ``NAME=V1,V2`` overrides (already split by name)."""
        values = self.defaults()
        for name, text in overrides.items():
            if name not in self.params:
                raise ParameterError(
                    f"unknown parameter {name!r} for protocol {self.name}; "
                    f"known: {', '.join(self.params)}")
            items = text.split(",")     # ',' makes a sweep axis, ';' a list inside one point
            if any(not piece.strip() for item in items for piece in item.split(";")):
                raise ParameterError(f"parameter {name}: malformed value list {text!r} "
                                     "(an empty item between ',' or ';')")
            values[name] = [self.params[name].parse(name, item) for item in items]
        for name, items in values.items():
            for item in items:
                self.params[name].validate(name, item)
        return values


def protocol_names() -> list[str]:
    # Protocols are plugins found at run time: the engine does not import them statically.
    package = importlib.import_module("neurosim.protocols")
    return sorted(info.name.replace("_", "-") for info in pkgutil.iter_modules(package.__path__)
                  if not info.name.startswith("_") and not info.ispkg)


def get_protocol(name: str) -> Protocol:
    if name not in protocol_names():
        raise ParameterError(
            f"unknown protocol {name!r}; known: {', '.join(protocol_names())}")
    module = importlib.import_module(f"neurosim.protocols.{name.replace('-', '_')}")
    return module.PROTOCOL
