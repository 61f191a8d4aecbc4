"""Brian2's standalone makefile, made cheaper to run on a cold build.

Two costs of a cold ``cpp_standalone`` build that buy nothing at run time (measured on a GSEMM
twin of 105 C++ files, GCC 12, precompiled standard headers: 32 s of ``make -j2``):

- ``make.deps``: Brian2's makefile first runs ``g++ -MM`` over every source, one process after
  the other (about 0.1 s each: 10 s before the first object compiles).  :func:`dependency_rules`
  writes the same dependencies from the sources' ``#include`` lines, for the objects' real
  paths (``-MM`` names a code object's target without its ``code_objects/`` folder, so a
  changed header never rebuilt it).
- ``objects.cpp`` (allocation, initial values, reading and writing the arrays) and ``main.cpp``
  (the order of operations) run once per run, yet at ``-O3`` ``objects.cpp`` alone takes 13.7 s
  to compile (3.1 s at ``-O0``).  :data:`SETUP_OPTIMISATION` compiles both at ``-O0``; every
  code object (the simulation itself) keeps Brian2's flags.
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

SETUP_UNITS = ("objects.o", "main.o")
SETUP_OPTIMISATION = "-O0"
INCLUDE = re.compile(r'^\s*#\s*include\s*(?:"([^"]+)"|<([^>]+)>)', re.MULTILINE)


def included_headers(source: Path, root: Path, seen: dict[Path, list[Path]]) -> list[Path]:
    """Every project header ``source`` includes, transitively, found as the compiler finds it:
    ``"name"`` next to the including file, then in the project root (``-I.``); ``<name>`` in
    the project root only (anything else is a system header)."""
    if source in seen:
        return seen[source]
    seen[source] = []
    found: list[Path] = []
    for quoted, angled in INCLUDE.findall(source.read_text(errors="replace")):
        for folder in ((source.parent, root) if quoted else (root,)):
            header = folder / (quoted or angled)
            if header.is_file():
                header = Path(os.path.normpath(header))
                found += [header, *included_headers(header, root, seen)]
                break
    seen[source] = list(dict.fromkeys(found))
    return seen[source]


def dependency_rules(root: Path, sources: list[str]) -> str:
    """make rules ``object: source headers...`` for ``sources`` (paths relative to ``root``)."""
    seen: dict[Path, list[Path]] = {}
    lines = []
    for name in sorted(sources):
        source = root / name
        headers = included_headers(source, root, seen)
        target = str(Path(name).with_suffix(".o"))
        prerequisites = [name, *(str(h.relative_to(root)) for h in headers)]
        lines.append(f"{target}: {' '.join(prerequisites)}")
    return "\n".join(lines) + "\n"


def write_if_changed(path: Path, text: str, newer_than: list[Path]) -> None:
    """Write ``text`` unless ``path`` holds it already; either way ``path`` ends newer than
    every file of ``newer_than`` (else make would regenerate it)."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    newest = max((p.stat().st_mtime_ns for p in newer_than), default=0)
    if path.stat().st_mtime_ns <= newest:
        os.utime(path, ns=(newest + 1, newest + 1))


def setup_rules() -> str:
    """Target-specific flags: the setup units at :data:`SETUP_OPTIMISATION` (the last ``-O``
    on GCC's command line wins)."""
    return "".join(f"\n{unit}: OPTIMISATIONS += {SETUP_OPTIMISATION}\n" for unit in SETUP_UNITS)


@contextmanager
def lean_makefile(device, device_name: str):
    """While ``device`` builds: its makefile gains :func:`setup_rules` and ``make.deps`` is
    written by :func:`dependency_rules`.  For ``cpp_standalone`` only (brian2cuda writes
    another makefile)."""
    if device_name != "cpp_standalone":
        yield
        return
    original = device.generate_makefile

    def generate_makefile(writer, *args, **kwargs):
        write = writer.write

        def write_makefile(filename, contents):
            write(filename, contents + setup_rules() if filename == "makefile" else contents)

        writer.write = write_makefile
        try:
            original(writer, *args, **kwargs)
        finally:
            writer.write = write
        root = Path(writer.project_dir)
        sources = sorted(writer.source_files)
        files = [root / name for name in [*sources, *writer.header_files]]
        write_if_changed(root / "make.deps", dependency_rules(root, sources), files)

    device.generate_makefile = generate_makefile
    try:
        yield
    finally:
        del device.generate_makefile
