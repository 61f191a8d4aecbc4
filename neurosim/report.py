"""A reproduction report: one self-contained HTML page built from result folders.

Every folder under RESULTS_DIR (or RESULTS_DIR itself) that holds a
``summary.json`` becomes one section: the figure (``figure.png`` embedded as
base64, so the page has no outside file), the headline numbers beside the
paper's values and their difference, the notes on known gaps, the parameters,
the root seed, device and versions. A table of contents links the sections.
"""
from __future__ import annotations

import base64
import datetime
import html
import os
from pathlib import Path

from neurosim.errors import ParameterError
from neurosim.results import (FIGURE, RESULTS, SUMMARY, atomic_write_text, check_result_folder,
                              check_writable, read_summary)

REPORT = "report.html"

STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; }
section { border-top: 2px solid #888; margin-top: 2em; }
.muted { color: #666; font-size: 0.9em; }
"""


def result_folders(root: Path) -> list[Path]:
    """Folders holding a summary.json: ``root`` itself or any folder below it, sorted."""
    return sorted(path.parent for path in root.rglob(SUMMARY))


def _value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value)
    return str(value)


def _cell(value) -> str:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f"<td{' class=number' if numeric else ''}>{html.escape(_value(value))}</td>"


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def headline_table(summary: dict) -> str:
    """A summary's headline as plain text for a terminal: a title line (protocol and figure),
    then one row per headline number with the paper's value and measured - paper where the
    summary records them (blank otherwise)."""
    paper = summary.get("paper") or {}
    difference = summary.get("difference_to_paper") or {}
    header = ["quantity", "measured", "paper", "measured - paper"]
    rows = [[key, _value(value), _value(paper.get(key)), _value(difference.get(key))]
            for key, value in (summary.get("headline") or {}).items()]
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    lines = ["  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                       for i, (cell, width) in enumerate(zip(row, widths))).rstrip()
             for row in [header, ["-" * width for width in widths], *rows]]
    figure = f" ({summary['figure']})" if summary.get("figure") else ""
    return "\n".join([f"{summary.get('protocol', '?')}{figure}", *lines])


def _anchor(folder: Path, root: Path) -> str:
    name = folder.relative_to(root).as_posix() if folder != root else folder.name
    return "r-" + "".join(c if c.isalnum() else "-" for c in name)


def _rows(folder: Path) -> int:
    if not (folder / RESULTS).exists():
        return 0
    with (folder / RESULTS).open() as results:
        return sum(1 for _ in results) - 1


def _section(folder: Path, root: Path, summary: dict) -> str:
    name = summary.get("protocol", folder.name)
    title = f"{name} ({summary['figure']})" if summary.get("figure") else name
    parts = [f"<section id={_anchor(folder, root)}><h2>{html.escape(title)}</h2>"]
    if summary.get("description"):
        parts.append(f"<p>{html.escape(summary['description'])}</p>")
    relative = folder.relative_to(root).as_posix() if folder != root else "."
    parts.append(f"<p class=muted>folder {html.escape(relative)}: {_rows(folder)} rows in {RESULTS}, "
                 f"{summary.get('points', '?')} points "
                 f"({summary.get('resumed_points', 0)} resumed), "
                 f"{_value(summary.get('elapsed_s'))} s</p>")
    if (folder / FIGURE).exists():
        data = base64.b64encode((folder / FIGURE).read_bytes()).decode("ascii")
        parts.append(f"<img alt='{html.escape(title)}' src='data:image/png;base64,{data}'>")
    paper = summary.get("paper") or {}
    difference = summary.get("difference_to_paper") or {}
    headline = summary.get("headline") or {}
    parts.append("<h3>Headline</h3>" + _table(
        ["quantity", "measured", "paper", "measured - paper"],
        [[key, value, paper.get(key), difference.get(key)] for key, value in headline.items()]))
    if not paper:
        parts.append("<p class=muted>No paper value recorded for these quantities.</p>")
    if summary.get("notes"):
        parts.append(f"<h3>Notes</h3><p>{html.escape(summary['notes'])}</p>")
    parameters = summary.get("parameters") or {}
    run = {"root seed": summary.get("seed")}
    if set(parameters.get("backend", [])) - {"rate", "graph"}:
        run["Brian2 device"] = summary.get("device")
    parts.append("<h3>Parameters</h3>" + _table(
        ["parameter", "values"], [[key, value] for key, value in {**parameters, **run}.items()]))
    versions = summary.get("versions") or {}
    parts.append("<p class=muted>versions: " + html.escape(
        ", ".join(f"{key} {value}" for key, value in versions.items())) + "</p></section>")
    return "\n".join(parts)


def render(root: str | os.PathLike, skipped: dict[str, str] | None = None) -> str:
    """The report page of the result folders under ``root``; ``skipped``: protocols
    a suite did not run, with the reason."""
    root = Path(root)
    if not root.is_dir():
        raise ParameterError(f"report: {root} is not a folder")
    folders = result_folders(root)
    if not folders:
        raise ParameterError(f"report: no result folder (one holding {SUMMARY}) under {root}")
    summaries = []
    for folder in folders:
        check_result_folder(folder)
        summaries.append(read_summary(folder))
    contents = "".join(
        f"<li><a href='#{_anchor(folder, root)}'>{html.escape(summary.get('protocol', folder.name))}"
        f"</a> {html.escape(summary.get('figure', ''))}</li>"
        for folder, summary in zip(folders, summaries))
    skipped_html = "".join(f"<li>{html.escape(name)}: {html.escape(reason)}</li>"
                           for name, reason in (skipped or {}).items())
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        "<!DOCTYPE html>", "<html lang=en><head><meta charset=utf-8>",
        f"<title>neurosim report: {html.escape(root.name)}</title><style>{STYLE}</style></head>",
        f"<body><h1>neurosim reproduction report</h1><p class=muted>{html.escape(str(root))}, "
        f"{len(folders)} protocol folder(s), generated {generated}</p>",
        f"<h2>Contents</h2><ol>{contents}</ol>",
        f"<p>Not run: </p><ul>{skipped_html}</ul>" if skipped_html else "",
        *(_section(folder, root, summary) for folder, summary in zip(folders, summaries)),
        "</body></html>", ""])


def write_report(root: str | os.PathLike, out: str | os.PathLike | None = None,
                 skipped: dict[str, str] | None = None) -> Path:
    """Write the report of ``root`` to ``out`` (default ``root/report.html``), atomically."""
    out = Path(out) if out is not None else Path(root) / REPORT
    if out.is_dir():
        raise ParameterError(f"--out {out} is a folder; give a file name such as {out / REPORT}")
    page = render(root, skipped)
    check_writable(out.parent)
    atomic_write_text(out, page)
    return out
