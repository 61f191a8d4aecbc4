"""notebooks/memoria.ipynb executes from top to bottom (nbclient, kernel python3)."""
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "memoria.ipynb"


def test_memoria_notebook_runs():
    nbformat = pytest.importorskip("nbformat", reason="notebook tests need the test extra")
    nbclient = pytest.importorskip("nbclient", reason="notebook tests need the test extra")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "all six attributes hold: True" in text
    assert "resumed run reminds the same engrams: True" in text
    assert "initial LTM:" in text

