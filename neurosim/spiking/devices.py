"""Brian2 device selection for the spiking backend, and the build cache.

``--device runtime``         Brian2's runtime device with the Cython target, or the
                             numpy target where no C compiler works (said once in
                             the log, never silently for the other devices).
``--device cpp_standalone``  C++ standalone. A circuit is built (code generation and
                             compilation) once per *shape* (batch, steps, sizes,
                             timing); every later stream and parameter value of the
                             same shape re-runs the compiled binary through
                             ``device.run(run_args=...)`` (TimedArray values and
                             group variables), each run in its own results
                             directory. Builds live under ``NEUROSIM_BUILD_DIR``
                             (default ``~/.cache/neurosim/brian2``), one folder per
                             shape, so a later process re-uses the compiled objects.
                             Processes that share a shape (the workers of a sweep)
                             take turns through a lock file in its folder
                             (:func:`shape_lock`): one compiles while none runs.
                             With GCC, the standard headers are precompiled once per
                             build folder root (:func:`precompiled_standard_headers`),
                             which halves a build; the makefile skips the serial
                             dependency scan and compiles the set-up code at -O0
                             (:mod:`neurosim.spiking.makefile`).
``--device cuda``            brian2cuda's ``cuda_standalone`` with the same build
                             cache; only where brian2cuda imports *and* a GPU with
                             nvcc is present, else :func:`require_cuda` raises a one
                             line :class:`ParameterError` (the CLI exits 2).

Noise: every run draws its own random numbers.  Brian2 fixes a standalone project's seed at
build time, so each build holds a one-neuron group ``noise_seed`` whose value ``run_args`` sets
(:func:`seed_args`), and C++ inserted after the command-line arguments are applied reseeds the
generator from it: the seed reaches the compiled binary, and the same seed gives the same spikes.

Known Brian2 traps handled here: ``network_operation`` is silently ignored in
standalone and ``store``/``restore`` raise (the circuits use TimedArrays,
``run_regularly`` and custom events only); OpenMP is kept at one thread (25x
slower with threads on 2-core machines), and compilation at two jobs (Brian2's default
``make -j`` starts a compiler per code object at once).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from neurosim.errors import ParameterError
from neurosim.spiking.makefile import lean_makefile

DEVICES = ("runtime", "cpp_standalone", "cuda")


def cuda_problem() -> str | None:
    """Why ``--device cuda`` cannot run here (None if it can)."""
    try:
        import brian2cuda  # noqa: F401
    except Exception:  # ImportError, or an incompatible brian2 version
        return ("--device cuda needs brian2cuda (pip install 'neurosim[cuda]', Python >= 3.12, "
                "brian2 2.10.1) and an NVIDIA GPU with nvcc; brian2cuda is not importable here")
    if shutil.which("nvcc") is None and not Path("/usr/local/cuda/bin/nvcc").exists():
        return "--device cuda needs the CUDA compiler nvcc, which is not on this machine"
    if shutil.which("nvidia-smi") is None and not Path("/dev/nvidia0").exists():
        return "--device cuda needs an NVIDIA GPU, and none is visible on this machine"
    return None


def require_cuda() -> None:
    """Raise a one-line ParameterError unless brian2cuda, nvcc and a GPU are all present."""
    problem = cuda_problem()
    if problem:
        raise ParameterError(problem)


def cython_available() -> bool:
    try:
        from brian2.codegen.runtime.cython_rt import CythonCodeObject

        return bool(CythonCodeObject.is_available())
    except Exception:
        return False


def runtime_target() -> str:
    """'cython' where a compiler works, else 'numpy'."""
    return "cython" if cython_available() else "numpy"


def build_root() -> Path:
    root = os.environ.get("NEUROSIM_BUILD_DIR") or Path.home() / ".cache" / "neurosim" / "brian2"
    return Path(root)


def shape_key(kind: str, device: str, shape: dict) -> str:
    text = json.dumps({"kind": kind, "device": device, **shape}, sort_keys=True, default=str)
    return f"{kind}-{device}-" + hashlib.sha1(text.encode()).hexdigest()[:12]


def shape_lock(directory: Path):
    """The inter-process lock of one shape's build folder.  Held while a process builds the
    shape and while it runs the binary: a build rewrites the binary, and a run writes and then
    removes run-time arrays, that a run of another process reads (seen without it: other
    spikes, silently, from arrays removed under a running binary; 'Text file busy')."""
    from brian2.utils.filelock import FileLock

    directory.mkdir(parents=True, exist_ok=True)
    return FileLock(str(directory / ".neurosim.lock"))


@dataclass
class Build:
    """A built standalone project: its objects (TimedArrays, groups, monitors)."""

    key: str
    device_name: str
    directory: Path
    objects: dict
    device: Any
    build_s: float
    runs: int = 0
    timings: list = field(default_factory=list)


class BuildCache:
    """The standalone builds of a process, one per shape, each on its own Brian2 device.

    ``get(kind, device, shape, builder)`` returns the build for ``shape``, building it the first
    time; a shape built before is made the active device again, not rebuilt, so a sweep or a
    test session that alternates shapes compiles each once (Brian2 has one *active* device, but
    a built project keeps working on its own ``CPPStandaloneDevice`` instance: its variables
    read their values from the device they were created on).  ``builder(shape)`` must create
    the Brian2 objects with placeholder TimedArrays of the final shape and return a dict of the
    objects the caller needs, the ``brian2.Network`` under ``net``; the cache adds the noise
    seed and runs it for ``shape["duration_ms"]``.  A build whose device was reinitialized by
    someone else (e.g. a test fixture) is built again."""

    def __init__(self):
        self.active: Build | None = None
        self.by_key: dict[str, Build] = {}
        self.builds = 0
        self.notices = True
        self.last_build_s: float | None = None

    @staticmethod
    def valid(build: Build) -> bool:
        project = getattr(build.device, "project_dir", None)
        return project is not None and os.path.abspath(project) == os.path.abspath(build.directory)

    def owns(self, device) -> bool:
        """Whether ``device`` is the device of one of the cached builds."""
        return any(build.device is device for build in self.by_key.values())

    def get(self, kind: str, device_name: str, shape: dict, builder: Callable[[dict], dict]) -> Build:
        from brian2 import get_device, ms, set_device

        key = shape_key(kind, device_name, shape)
        build = self.by_key.get(key)
        if build is not None and self.valid(build):
            if get_device() is not build.device:
                set_device(build.device, build_on_run=False)
                build.device.defaultclock.dt = shape["dt_ms"] * ms
            self.active = build
            return build
        directory = build_root() / key
        with shape_lock(directory):
            self.active = self.by_key[key] = self._build(kind, key, device_name, directory,
                                                         shape, builder)
        return self.active

    def clear(self) -> None:
        self.active = None
        self.by_key.clear()

    def _build(self, kind: str, key: str, device_name: str, directory: Path, shape: dict,
               builder: Callable[[dict], dict]) -> Build:
        """Generate and compile ``shape``'s project in ``directory`` (under its lock), on a
        device instance of its own."""
        import brian2
        from brian2 import set_device

        started = time.perf_counter()
        if device_name == "cuda":
            require_cuda()
            import brian2cuda  # noqa: F401

            brian2.device.reinit()
            set_device("cuda_standalone", directory=str(directory), build_on_run=False)
        else:
            from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

            set_device(CPPStandaloneDevice(), directory=str(directory), build_on_run=False)
            standalone_preferences()
        with names_of_a_fresh_process():
            brian2.defaultclock.dt = shape["dt_ms"] * brian2.ms
            if self.notices:
                print(build_notice(kind, self.last_build_s), file=sys.stderr, flush=True)
            objects = builder(shape)
            if device_name == "cuda":   # brian2cuda: seeded per build (the seed is in the shape)
                brian2.seed(shape["noise_seed"])
                objects["noise_seed"] = None
            else:
                objects["noise_seed"] = reseed_from_run_args(objects["net"])
            objects["net"].run(shape["duration_ms"] * brian2.ms, namespace={})
            current = brian2.get_device()
            canonical_clock_order(current.main_queue)
            with precompiled_standard_headers(device_name), lean_makefile(current, device_name):
                current.build(directory=str(directory), compile=True, run=False,
                              with_output=False)
        self.builds += 1
        self.last_build_s = time.perf_counter() - started
        return Build(key, device_name, directory, objects, current, self.last_build_s)

    def run(self, build: Build, run_args: dict) -> None:
        """Run the compiled binary with new TimedArray/variable values, in a
        fresh results directory (removed again when the next run starts)."""
        build.runs += 1
        results = f"results_{os.getpid()}_{build.runs}"
        previous = build.objects.get("_results")
        if previous and (build.directory / previous).exists():
            shutil.rmtree(build.directory / previous, ignore_errors=True)
        with shape_lock(build.directory):
            started = time.perf_counter()        # the run's own time, not the wait for the lock
            build.device.run(results_directory=results, run_args=run_args, with_output=False)
            for name in list(getattr(build.device, "run_args_arrays", [])):
                static = build.directory / "static_arrays" / name
                try:  # the values of this run; a re-run writes them anew
                    static.unlink()
                except OSError:
                    pass
            build.timings.append(time.perf_counter() - started)
        build.objects["_results"] = results
        for variable in recorded_2d(build.objects["net"]):
            variable.size = (0, variable.size[1])   # a run's length is read from its results


CACHE = BuildCache()


def build_notice(kind: str, last_build_s: float | None) -> str:
    """The line said before a cold build: what is built, and how long the process's previous
    build took (a typical range before the first)."""
    took = "about 30-90 s" if last_build_s is None else f"the last build took {last_build_s:.0f} s"
    return f"neurosim: building C++ for {kind} (first time for this shape; {took})"


def recorded_2d(net) -> list:
    """The 2-d recorded arrays (StateMonitor values: time x cells) of ``net``'s objects.  Runs
    of one build may end at different times (:func:`stop_from_run_args`); Brian2 reads a 2-d
    array's row count from the results file only while the size it remembers has no rows."""
    return [variable for obj in net.objects for variable in obj.variables.values()
            if isinstance(getattr(variable, "size", None), tuple) and len(variable.size) == 2]


def standalone_preferences() -> None:
    """One OpenMP thread, and at most two compiler jobs (Brian2's default ``make -j`` starts
    one compiler per code object at once)."""
    from brian2 import prefs

    prefs.devices.cpp_standalone.openmp_threads = 0
    prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]


# The standard headers that Brian2's generated C++ files include (objects.h, brianlib, the
# code objects' own includes): parsing them is most of the compile time of a code object.
STANDARD_HEADERS = ("algorithm", "cassert", "climits", "cmath", "cstdint", "cstdlib", "ctime",
                    "fstream", "iostream", "iterator", "limits", "map", "random", "set",
                    "string", "utility", "vector")


def cxx_compiler() -> str:
    """The C++ compiler Brian2's makefile runs (make's ``$(CXX)``)."""
    return os.environ.get("CXX", "g++")


def compiler_flags() -> list[str]:
    """The flags Brian2's makefile compiles every C++ file with (besides -c and -I)."""
    from brian2 import prefs

    return [*prefs.codegen.cpp.extra_compile_args_gcc, "-Wno-write-strings"]


def standard_header(flags: list[str]) -> Path | None:
    """A header including :data:`STANDARD_HEADERS`, precompiled by GCC for ``flags`` next to
    it (``neurosim_std.h.gch``) in the build root, once per compiler and flags; None where the
    compiler is not GCC or the precompilation fails.  GCC uses the ``.gch`` for
    ``-include neurosim_std.h`` when the flags match and silently parses the header otherwise,
    so the generated code is the same either way."""
    import subprocess

    compiler = cxx_compiler()
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    if "Free Software Foundation" not in version:
        return None
    text = "".join(f"#include <{name}>\n" for name in STANDARD_HEADERS)
    key = hashlib.sha1(json.dumps([version, flags, text]).encode()).hexdigest()[:12]
    folder = build_root() / f"pch-{key}"
    header = folder / "neurosim_std.h"
    with shape_lock(folder):
        if not header.exists():
            header.write_text(text)
        if not (folder / "neurosim_std.h.gch").exists():
            partial = folder / "neurosim_std.h.gch.partial"
            done = subprocess.run([compiler, *flags, "-x", "c++-header", str(header),
                                   "-o", str(partial)], capture_output=True, timeout=300)
            if done.returncode != 0:
                return None
            os.replace(partial, folder / "neurosim_std.h.gch")
    return header


@contextmanager
def precompiled_standard_headers(device_name: str):
    """Context of a standalone build: every C++ file is compiled with ``-include`` of the
    precompiled :func:`standard_header` (about 0.7 -> 0.2 s per code object with GCC 12; a
    circuit has about 120 of them: a key-value build took 89 s, 39 s with it).  Not for
    brian2cuda (nvcc), nor where the build root's path holds whitespace (Brian2 passes each
    flag as one makefile token)."""
    from brian2 import prefs

    header = standard_header(compiler_flags()) if device_name == "cpp_standalone" else None
    if header is None or any(c.isspace() for c in str(header)):
        yield
        return
    saved = list(prefs.codegen.cpp.extra_compile_args_gcc)
    prefs.codegen.cpp.extra_compile_args_gcc = [*saved, f"-include{header}"]
    try:
        yield
    finally:
        prefs.codegen.cpp.extra_compile_args_gcc = saved


@contextmanager
def names_of_a_fresh_process():
    """Generate a build as a fresh process would name it.  Brian2 names code objects
    ``<owner>_<template>_codeobject`` and appends _1, _2, ... while an object of that name is
    alive (``brian2.core.names.find_name``); the cache keeps earlier builds alive, so a process's
    second shape of one circuit got other file names than the same shape built first by another
    process, and reusing that build recompiled every file.  Objects alive before the build are
    hidden from Brian2's name registry while it is generated, and put back after."""
    from brian2.core.names import Nameable

    tracked = Nameable.__instances__()
    hidden = set(tracked)
    tracked.difference_update(hidden)
    try:
        yield
    finally:
        tracked.update(reference for reference in hidden if reference() is not None)


CLOCK_SETTING = re.compile(r"^_array_\w*clock_(t|timestep|dt)$")


def canonical_clock_order(queue: list) -> None:
    """Sort each run of consecutive clock settings of a standalone device's main queue by array
    name, in place.  Brian2 sets every clock's t and timestep in the order of a Python set
    (object ids), so the same network generated main.cpp with its lines in another order in
    another process, and a process reusing another's build of the shape recompiled main.cpp
    and regenerated the dependency file (about 15 s).  The settings are independent
    assignments (a stable sort keeps repeated ones in order): the program is the same."""
    def is_clock_setting(entry) -> bool:
        return entry[0] == "set_by_single_value" and bool(CLOCK_SETTING.match(entry[1][0]))

    start = 0
    while start < len(queue):
        end = start
        while end < len(queue) and is_clock_setting(queue[end]):
            end += 1
        queue[start:end] = sorted(queue[start:end], key=lambda entry: entry[1][0])
        start = max(end, start + 1)


def reseed_from_run_args(net):
    """Add a ``noise_seed`` group to ``net`` and reseed the standalone random generator from
    it once the run's arguments are applied; returns the group (cpp_standalone only)."""
    from brian2 import NeuronGroup, get_device

    holder = NeuronGroup(1, "noise_seed : integer (shared, constant)", name="noise_seed")
    net.add(holder)
    device = get_device()
    array = device.get_array_name(holder.variables["noise_seed"])
    device.apply_run_args()
    threads = max(1, int(__import__("brian2").prefs.devices.cpp_standalone.openmp_threads))
    device.insert_code("main", f"for (int _i=0; _i<{threads}; _i++) "
                               f"brian::_random_generators[_i].seed("
                               f"(unsigned long) brian::{array}[0] + _i);")
    return holder


def stop_from_run_args(net, every):
    """Add a ``run_until`` group to ``net`` that ends a compiled run once t reaches the time
    ``t_stop`` set through run_args (:func:`stop_args`; by default the build's full duration),
    checked every ``every`` (a Brian2 time; ``t_stop`` must lie on that grid): a build padded
    to more presentation windows than a stream has simulates only the stream's own.  The
    dynamics up to t_stop are those of the full run (cpp_standalone only; returns the group)."""
    from brian2 import NeuronGroup, check_units, implementation, second

    @implementation("cpp", """
    int neurosim_stop_run(const bool stop) {
        if (stop) Network::_globally_stopped = true;
        return stop;
    }""", headers=['"network.h"'], name="neurosim_stop_run")
    @check_units(stop=bool, result=1)
    def stop_run(stop):
        raise NotImplementedError("the early stop is compiled (cpp_standalone) only")

    holder = NeuronGroup(1, "t_stop : second (shared, constant)\nstopped : integer (shared)",
                         name="run_until",
                         namespace={"stop_run": stop_run, "half_check": every / 2})
    holder.t_stop = 1e9 * second
    holder.run_regularly("stopped = stop_run(t >= t_stop - half_check)", dt=every, when="start",
                         name="run_until_check")
    net.add(holder)
    return holder


def stop_args(objects: dict, stop_ms: float) -> dict:
    """run_args entry that ends a run built with :func:`stop_from_run_args` at ``stop_ms``
    (none where the build has no such group)."""
    from brian2 import ms

    holder = objects.get("run_until")
    return {} if holder is None else {holder.t_stop: stop_ms * ms}


def seed_args(objects: dict, seed: int) -> dict:
    """run_args entry that gives a standalone run the noise seed ``seed`` (none under
    brian2cuda, whose builds carry their seed)."""
    holder = objects.get("noise_seed")
    return {} if holder is None else {holder.noise_seed: int(seed)}


def use_runtime() -> str:
    """Switch Brian2 to the runtime device and pick the code target; returns the target name.
    A standalone device in use is reinitialized, unless it holds a cached build (which stays
    usable)."""
    from brian2 import get_device, prefs, set_device

    if get_device().__class__.__name__ != "RuntimeDevice":
        if not CACHE.owns(get_device()):
            get_device().reinit()
        set_device("runtime")
    target = runtime_target()
    prefs.codegen.target = target
    return target


def reset() -> None:
    """Return Brian2 to a fresh runtime device (tests).  The cached standalone builds stay
    built: each has its own device, which this leaves alone."""
    from brian2 import device, get_device, set_device

    CACHE.active = None
    if not CACHE.owns(get_device()):
        device.reinit()
        device.activate()
    set_device("runtime")


def check_device(name: str) -> None:
    if name not in DEVICES:
        raise ParameterError(f"unknown device {name!r}; choose from {', '.join(DEVICES)}")
    if name == "cuda":
        require_cuda()
