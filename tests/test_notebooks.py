"""The walkthrough notebooks execute from top to bottom (nbclient, kernel python3)."""
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def executed_text(name: str, timeout: int = 900, cwd: Path = NOTEBOOKS) -> str:
    """Execute notebooks/NAME in ``cwd``, fail on any error output, return the printed text."""
    nbformat = pytest.importorskip("nbformat", reason="notebook tests need the test extra")
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    return "".join(o.get("text", "") for o in outputs)


def test_kv_memory_notebook_runs():
    assert "accuracy per trial" in executed_text("kv_memory.ipynb")


def test_gsemm_notebook_runs():
    text = executed_text("gsemm.ipynb")
    assert "alpha_c = 0.3 ->" in text
    assert "(eq. 7: F <= 0)" in text
    assert "capacity" in text


def test_memoria_notebook_runs():
    text = executed_text("memoria.ipynb")
    assert "all six attributes hold: True" in text
    assert "resumed run reminds the same engrams: True" in text
    assert "initial LTM:" in text


def test_kv_memory_in_the_brain_notebook_runs():
    text = executed_text("kv_memory_in_the_brain.ipynb")
    assert "largest |primal - dual| =" in text
    assert "largest |x W - (x W0 + x K^T V)| =" in text
    assert "task 1:" in text and "at beta =" in text


def test_generative_memory_notebook_runs():
    pytest.importorskip("torch", reason="the generative memory notebook needs the torch extra")
    text = executed_text("generative_memory.ipynb")
    assert "rows equal the images after one presentation: True" in text
    assert "beta =   2.5: landed on one stored image 1.00" in text
    assert "decoding accuracy per epoch:" in text
    assert "capacity ratio modern / classical:" in text


def test_metalearning_notebook_runs():
    pytest.importorskip("torch", reason="the meta-learning notebook needs the torch extra")
    text = executed_text("metalearning.ipynb")
    assert "key_post_share, learned:" in text
    assert "accuracy by T:" in text
    assert "copy accuracy by length:" in text
