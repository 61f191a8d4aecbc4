"""Scaffold memory after Box 1 of Gershman, Fiete & Irie 2025 (MESH, Vector-HaSH): ``rate``."""


def __getattr__(name):
    from neurosim._moved import moved_attribute

    return moved_attribute(__name__, "neurosim.circuits.scaffold.rate", name)
