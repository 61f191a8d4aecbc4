"""The reproduction report: every protocol folder the suites write, on one page."""
import base64
import json
import re
import sys

import pytest

from neurosim.cli import main
from neurosim.experiment import run_protocol
from neurosim.report import _value as report_value
from neurosim.suites import SUITES

# every protocol of every suite, at a size that runs in about a second
TINY = {
    "autoassociative": {"N": "8", "T": "4,8", "seeds": "2"},
    "capacity": {"N": "8,16", "seeds": "2"},
    "continual": {"N": "8", "R": "4,8", "steps": "60", "seeds": "2"},
    "flashbulb": {"N": "8", "R": "4,8", "steps": "60", "seeds": "2", "flashbulb_strength": "10"},
    "correlated": {"N": "8", "T": "4,8", "seeds": "2"},
    "heteroassociative": {"N": "8", "T": "4,8", "m": "4", "seeds": "2"},
    "sequence": {"N": "8", "T": "4,8", "seeds": "2"},
    "gsemm-episodes": {"N_f": "20", "duration": "20", "dt": "0.1", "seeds": "1"},
    "gsemm-capacity": {"N_f": "20", "degree": "1,2", "K": "4", "alpha_c": "1.5", "seeds": "1"},
    "memoria-attributes": {"steps": "20", "seeds": "1"},
    "memoria-lifespan": {"setting": "lm-50", "steps": "30"},
    "memoria-autocorrelation": {"steps": "40", "dim": "8"},
    "memoria-graph": {"steps": "20", "seeds": "2"},
    "memoria-reference": {"setting": "lm-50", "variant": "paper", "steps": "6"},
}


@pytest.fixture(scope="module")
def suites_folder(tmp_path_factory):
    """RESULTS_DIR/SUITE/PROTOCOL for every protocol of every suite, as `reproduce` lays it out."""
    root = tmp_path_factory.mktemp("results")
    for suite, runs in SUITES.items():
        for name, _ in runs:
            run_protocol(name, TINY[name], out=root / suite / name, jobs=1, progress=False)
    return root


def sections(page: str) -> dict[str, str]:
    parts = re.split(r"<section id=", page)[1:]
    return {part.split(">", 1)[0]: part for part in parts}


def test_the_tiny_sizes_cover_every_suite():
    assert set(TINY) == {name for runs in SUITES.values() for name, _ in runs}


def test_report_renders_every_protocol_folder(suites_folder, tmp_path, capsys):
    page_path = tmp_path / "page.html"
    assert main(["report", str(suites_folder), "--out", str(page_path)]) == 0
    assert capsys.readouterr().out.strip() == str(page_path)
    page = page_path.read_text()
    found = sections(page)
    assert len(found) == len(TINY)
    contents = page.split("<h2>Contents</h2>", 1)[1].split("<section", 1)[0]
    assert re.findall(r"href='#([^']+)'", contents) == list(found)    # one entry per section
    assert "src='http" not in page and "<link" not in page and "<script" not in page
    for suite, runs in SUITES.items():
        for name, _ in runs:
            anchor = f"r-{suite}-{name}"
            section = found[anchor]
            summary = json.loads((suites_folder / suite / name / "summary.json").read_text())
            assert f"<h2>{name}" in section
            png = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", section).group(1)
            assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
            for key in summary["headline"]:
                assert f"<td>{key}</td>" in section
            for key, value in summary["paper"].items():
                row = section.split(f"<td>{key}</td>", 1)[1].split("</tr>", 1)[0]
                cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
                if isinstance(value, bool):         # a qualitative claim: no difference
                    assert cells[1] == str(value)
                    continue
                assert float(cells[1]) == pytest.approx(value, rel=1e-3)
                assert float(cells[2]) == pytest.approx(summary["difference_to_paper"][key],
                                                        rel=1e-3, abs=1e-4)
            for parameter in summary["parameters"]:
                assert f"<td>{parameter}</td>" in section
            assert f"numpy {summary['versions']['numpy']}" in section


def test_report_bad_input_is_one_line(tmp_path, suites_folder, capsys):
    for args, message in [([str(tmp_path / "none")], "is not a folder"),
                          ([str(tmp_path)], "no result folder (one holding summary.json)"),
                          ([str(suites_folder), "--out", str(tmp_path)], "is a folder")]:
        assert main(["report", *args]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("neurosim: error: report") or err.startswith("neurosim: error: --out")
        assert message in err and "\n" not in err
    assert not any(tmp_path.iterdir())


def test_reproduce_skips_a_protocol_without_its_extra_and_writes_the_report(
        tmp_path, capsys, monkeypatch):
    """`reproduce memoria` without torch: the other protocols run, the missing one
    is named with its extra, and the report lists it as not run."""
    monkeypatch.setitem(SUITES, "memoria", [("memoria-attributes", TINY["memoria-attributes"]),
                                            ("memoria-reference", TINY["memoria-reference"])])
    monkeypatch.setitem(sys.modules, "torch", None)          # as if torch were not installed
    assert main(["reproduce", "memoria", "--out", str(tmp_path), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert err.strip() == ("neurosim: skipping protocol memoria-reference needs torch: "
                           "pip install 'neurosim[reference]'")
    lines = out.splitlines()
    headline = json.loads((tmp_path / "memoria-attributes" / "summary.json").read_text())["headline"]
    assert lines[0].startswith("memoria-attributes (") and lines[1].split() == [
        "quantity", "measured", "paper", "measured", "-", "paper"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:3 + len(headline)]}
    assert set(rows) == set(headline)
    for key, value in headline.items():
        assert rows[key][0] == report_value(value), key
    assert lines[-1] == f"report: {tmp_path / 'report.html'}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memoria-attributes", "report.html"]
    page = (tmp_path / "report.html").read_text()
    assert list(sections(page)) == ["r-memoria-attributes"]
    assert "Not run" in page and "memoria-reference needs torch" in page


def test_reproduce_json_prints_one_line_per_protocol(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(SUITES, "memoria", [("memoria-attributes", TINY["memoria-attributes"])])
    assert main(["reproduce", "memoria", "--out", str(tmp_path), "--quiet", "--json"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("memoria-attributes: ")
    headline = json.loads((tmp_path / "memoria-attributes" / "summary.json").read_text())["headline"]
    assert json.loads(first.removeprefix("memoria-attributes: ")) == headline
