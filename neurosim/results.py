"""Tidy results on disk: atomic writes and resumable result folders.

A result folder holds ``results.csv`` (one row per measured record, a column
per parameter and metric, plus ``backend``, ``seed`` and ``point_id``),
``summary.json`` and ``figure.png``. Every file is written to a temporary
name in the same folder and renamed into place, so an interrupted run never
leaves a half-written file; a re-run into the same folder skips the points
whose ``point_id`` is already in ``results.csv``.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import tempfile
from pathlib import Path

import pandas as pd

from neurosim.errors import ParameterError

RESULTS = "results.csv"
SUMMARY = "summary.json"
FIGURE = "figure.png"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())          # mkstemp makes 0600; keep the usual mode
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_figure(figure, path: str | os.PathLike) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())


def check_writable(folder: str | os.PathLike, what: str = "--out") -> None:
    """Raise ParameterError unless ``folder`` is, or can become, a writable
    folder: not a file, below no file, and its nearest existing ancestor takes
    a new entry (probed with a temporary folder that is removed at once)."""
    folder = Path(folder).absolute()
    existing = folder
    try:
        while not existing.exists():
            existing = existing.parent
    except OSError as error:                          # e.g. a name longer than the file system takes
        raise ParameterError(f"{what} {folder}: {error.strerror or error}") from None
    if not existing.is_dir():
        raise ParameterError(f"{what} {folder}: {existing} is a file, not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".neurosim-probe-"))
    except OSError as error:
        raise ParameterError(f"{what} {folder}: cannot write in {existing} "
                             f"({error.strerror or error})") from None


def point_id(point: dict) -> str:
    """A stable identifier of a grid point (its parameters, canonical JSON)."""
    canonical = json.dumps(point, sort_keys=True, default=str)
    return hashlib.sha1(canonical.encode()).hexdigest()[:16]


POINT_ID = re.compile(r"[0-9a-f]{16}")
SUMMARY_TYPES = {"protocol": str, "figure": str, "description": str, "notes": str,
                 "headline": dict, "parameters": dict, "paper": dict, "difference_to_paper": dict}


def damaged(path: Path, what: str) -> ParameterError:
    return ParameterError(f"{path}: {what}; nothing in the folder was changed "
                          "(repair or move it, or choose another --out)")


def read_summary(folder: str | os.PathLike) -> dict | None:
    """``folder``'s summary.json (None where there is none), checked: a JSON object naming
    its protocol, whose keys of :data:`SUMMARY_TYPES` have their types; anything else is one
    line naming it."""
    path = Path(folder) / SUMMARY
    if not path.exists():
        return None
    if not path.is_file():
        raise damaged(path, "is not a file")
    try:
        summary = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise damaged(path, f"is not readable JSON ({error})") from None
    if not isinstance(summary, dict):
        raise damaged(path, f"holds JSON of type {type(summary).__name__}, not a summary "
                            "(a JSON object)")
    if "protocol" not in summary:
        raise damaged(path, "names no protocol")
    for key, kind in SUMMARY_TYPES.items():
        if key in summary and not isinstance(summary[key], kind):
            raise damaged(path, f"its {key!r} has type {type(summary[key]).__name__}, "
                                f"not {kind.__name__}")
    return summary


def check_result_folder(folder: str | os.PathLike) -> None:
    """Before a resume or a report: each file of a result folder that exists is a file, its
    results.csv parses with a valid ``point_id`` and a ``backend`` on every row, and its
    summary.json passes :func:`read_summary`; else one line naming the file."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for name in (RESULTS, SUMMARY, FIGURE):
        if (folder / name).exists() and not (folder / name).is_file():
            raise damaged(folder / name, "is not a file")
    path = folder / RESULTS
    if path.exists():
        try:
            cells = _cells(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise damaged(path, f"does not parse as CSV ({str(error).strip()})") from None
        for column in ("point_id", "backend"):
            if column not in cells:
                raise damaged(path, f"has no {column!r} column")
        bad = ~cells["point_id"].str.fullmatch(POINT_ID) | (cells["backend"] == "")
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise damaged(path, f"row {row + 2} has no valid point_id and backend "
                                f"({cells['point_id'].iloc[row]!r}, {cells['backend'].iloc[row]!r})")
    read_summary(folder)


class ResultStore:
    """The records of one result folder, extended point by point.

    Each point's cells are written as its own records print them and are never
    re-typed afterwards (a resumed or reordered file keeps every earlier cell's
    text); ``frame`` is the typed table a later run reads back."""

    def __init__(self, out_dir: str | os.PathLike):
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / RESULTS
        self._set(self.path.read_text() if self.path.exists() else "")

    def _set(self, text: str) -> None:
        self.text = text
        self.frame = _read(text) if text else pd.DataFrame()

    @property
    def done(self) -> set[str]:
        if self.frame.empty or "point_id" not in self.frame:
            return set()
        return set(self.frame["point_id"].astype(str))

    def _write(self, cells: pd.DataFrame) -> None:
        text = cells.to_csv(index=False)
        atomic_write_text(self.path, text)
        self._set(text)

    def add(self, point: dict, records: list[dict], pid: str | None = None) -> None:
        """Append a point's records under ``pid`` (default: the point's id)."""
        pid = pid or point_id(point)
        rows = [{**point, **record, "point_id": pid} for record in records]
        new = _cells(pd.DataFrame(rows).to_csv(index=False))
        self._write(pd.concat([_cells(self.text), new], ignore_index=True) if self.text else new)

    def reorder(self, ids: list[str]) -> None:
        """Rewrite the rows in the order of ``ids`` (the grid's order), keeping
        each point's records in order, so the file does not depend on the order
        in which points finished."""
        if not self.text:
            return
        cells = _cells(self.text)
        rank = {pid: i for i, pid in enumerate(ids)}
        position = cells["point_id"].map(rank).fillna(len(ids))
        self._write(cells.iloc[position.argsort(kind="stable")])


def _read(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"point_id": str})


def _cells(text: str) -> pd.DataFrame:
    """The CSV's cells as the text they hold (empty cells stay empty)."""
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def write_summary(out_dir: str | os.PathLike, summary: dict) -> None:
    """summary.json, strict JSON: numpy scalars as numbers, NaN and infinities as null."""
    text = json.dumps(_strict(summary), indent=2, allow_nan=False) + "\n"
    atomic_write_text(Path(out_dir) / SUMMARY, text)


def _strict(value):
    if isinstance(value, dict):
        return {str(key): _strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(item) for item in value]
    if hasattr(value, "tolist"):
        return _strict(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
