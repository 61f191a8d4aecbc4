"""Execute notebooks/spiking_vs_rate.ipynb (kernel python3) and check its cells ran."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.spiking

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "spiking_vs_rate.ipynb"


def test_notebook_executes(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # builds shared with tests/test_spiking.py when run in the same session
    os.environ.setdefault("NEUROSIM_BUILD_DIR", str(tmp_path / "brian2_builds"))
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = "".join(out.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for out in cell.get("outputs", []))
    assert "largest gap:" in outputs
    errors = [out for cell in notebook.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors
