"""notebooks/gsemm.ipynb executes top to bottom at its small size (SMALL = True)."""
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "gsemm.ipynb"


def test_gsemm_notebook_executes():
    nbformat = pytest.importorskip("nbformat", reason="notebook tests need the test extra")
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "alpha_c = 0.3 ->" in text
    assert "(eq. 7: F <= 0)" in text
    assert "capacity" in text
