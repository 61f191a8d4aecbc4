import os

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session", autouse=True)
def build_dir(tmp_path_factory):
    """One Brian2 build folder for the whole session (tests and notebook kernels), so every
    circuit shape is compiled once; an existing NEUROSIM_BUILD_DIR (a CI cache) is kept."""
    from neurosim import devices

    previous = os.environ.get("NEUROSIM_BUILD_DIR")
    path = os.environ.setdefault("NEUROSIM_BUILD_DIR",
                                 str(tmp_path_factory.mktemp("brian2_builds")))
    yield path
    devices.reset()
    if previous is None:
        os.environ.pop("NEUROSIM_BUILD_DIR", None)
