"""Dense associative memories: the modern Hopfield network (Ramsauer et al. 2020) and the dense
associative memory (Krotov & Hopfield 2016) in ``rate``; the two-layer network of Krotov &
Hopfield (2020) in ``two_layer`` (numpy) and ``spiking`` (Brian2)."""


def __getattr__(name):
    from neurosim._moved import moved_attribute

    return moved_attribute(__name__, "neurosim.circuits.modern_hopfield.rate", name)
