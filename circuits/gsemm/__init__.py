"""General Sequential Episodic Memory Model (Karuvally, Sejnowski & Siegelmann, ICML 2023):
``rate`` (numpy RK4) and ``spiking`` (Brian2: the same equations, and the spiking twin)."""


def __getattr__(name):
    from neurosim._moved import moved_attribute

    return moved_attribute(__name__, "neurosim.circuits.gsemm.rate", name)
