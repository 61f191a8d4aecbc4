import os

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session", autouse=True)
def build_dir(tmp_path_factory):
    """One Brian2 build folder for the whole session (tests and notebook kernels), so every
    circuit shape is compiled once; an existing NEUROSIM_BUILD_DIR (a CI cache) is kept."""
    from neurosim.spiking import devices

    previous = os.environ.get("NEUROSIM_BUILD_DIR")
    path = os.environ.setdefault("NEUROSIM_BUILD_DIR",
                                 str(tmp_path_factory.mktemp("brian2_builds")))
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
