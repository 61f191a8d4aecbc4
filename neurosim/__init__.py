"""neurosim: rate and spiking simulations of biological memory circuits."""
from neurosim import _moved

__version__ = "0.2.0"

_moved.install()
