"""The spiking-versus-rate walkthrough notebook executes (a file of its own: with Brian2 builds
it is the longest notebook, and pytest-xdist hands out whole files)."""
import pytest

from test_notebooks import executed_text


@pytest.mark.spiking
def test_spiking_vs_rate_notebook_runs(tmp_path, monkeypatch):
    """Its kernel inherits NEUROSIM_BUILD_DIR (conftest): the tests' builds are reused.  It runs
    at CI size (NEUROSIM_NOTEBOOK_QUICK: each resolution sweep at the circuit's default value,
    3 circuit shapes instead of 8); the committed outputs are the full sweeps."""
    monkeypatch.setenv("NEUROSIM_NOTEBOOK_QUICK", "1")
    text = executed_text("spiking_vs_rate.ipynb", cwd=tmp_path)
    assert "largest gap:" in text
    assert "input cells per dimension -> mean gap: {8:" in text
    assert "read phase (ms) -> mean gap: {100.0:" in text
    assert "cells per unit -> spiking accuracy: {4:" in text
