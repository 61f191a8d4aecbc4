"""The documentation's runnable examples run (docs/examples)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


@pytest.mark.spiking
def test_btsp_example_writes_a_place_field_in_one_lap(tmp_path):
    """Stock PoissonGroup / SpikeGeneratorGroup inputs, a two-compartment cell, BTSP and a
    dopaminergic population under cpp_standalone: on two seeds (one build, the seed only
    changes main.cpp), the inputs active within 0.5 s of the plateau end strong, those 2 s or
    more away stay near their initial 0.1; the figure is written."""
    centres = (np.arange(60) + 0.5) * 0.1
    for seed in (1, 2):
        result = subprocess.run([sys.executable, str(EXAMPLES / "btsp_place_field.py"),
                                 "--out", str(tmp_path), "--seed", str(seed)],
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stderr[-3000:]
        print(result.stdout)
        weights = np.load(tmp_path / "weights.npy")
        near, far = weights[np.abs(centres - 3.0) < 0.5], weights[np.abs(centres - 3.0) > 2.0]
        assert near.mean() > 0.5 and far.mean() < 0.2, (near.mean(), far.mean())
        assert (tmp_path / "btsp_place_field.png").stat().st_size > 0
