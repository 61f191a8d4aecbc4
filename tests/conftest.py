import os

import matplotlib
import pytest

matplotlib.use("Agg")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # One compute thread per pytest-xdist worker (torch and BLAS would each start one per
    # core, more threads than cores).
    # Likewise one process per worker for a sweep's default jobs (joblib's cpu_count).
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                     "LOKY_MAX_CPU_COUNT"):
        os.environ.setdefault(variable, "1")


@pytest.fixture(scope="session", autouse=True)
def build_dir(tmp_path_factory):
    """One Brian2 build folder for the whole session (tests, notebook kernels and, under
    pytest-xdist, every worker: a shape's lock makes processes take turns), so every circuit
    shape is compiled once; an existing NEUROSIM_BUILD_DIR (a CI cache) is kept."""
    from neurosim.spiking import devices

    previous = os.environ.get("NEUROSIM_BUILD_DIR")
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "brian2_builds"
    shared.mkdir(exist_ok=True)
    path = os.environ.setdefault("NEUROSIM_BUILD_DIR", str(shared))
    yield path
    devices.reset()
    if previous is None:
        os.environ.pop("NEUROSIM_BUILD_DIR", None)


@pytest.fixture
def assert_dale_and_units():
    """A check for a built spiking network: Dale's law (neurosim.spiking.blocks.check_dale: every
    synapse adds a non-negative conductance in siemens, no cell has synapses of both signs),
    both signs present, and membrane potentials in volts."""
    def check(net) -> dict:
        from brian2 import NeuronGroup, get_dimensions, volt
        from neurosim.spiking.blocks import check_dale

        signs = check_dale(net)
        assert {"excitatory", "inhibitory"} <= set(signs.values()), signs
        for obj in net.objects:
            if isinstance(obj, NeuronGroup) and "v" in obj.variables:
                assert get_dimensions(obj.variables["v"]) == volt.dim, obj.name
        return signs
    return check


def pytest_collection_modifyitems(items):
    """The spiking tests (the Brian2 builds, the longest files) first, then the slow
    reproductions: pytest-xdist hands out files in the order of their first test, so the
    workers end together instead of one finishing a long file alone."""
    items.sort(key=lambda item: (item.get_closest_marker("spiking") is None,
                                 item.get_closest_marker("slow") is None))
