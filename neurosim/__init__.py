"""neurosim: rate and spiking simulations of biological memory circuits."""
__version__ = "0.1.0"
