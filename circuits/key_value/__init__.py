"""Key-value memory with three-factor plasticity (Tyulmankov, Fang, Vadaparty & Yang, NeurIPS
2021): ``rate`` (numpy), ``torch`` (differentiable), ``spiking`` (Brian2), ``metalearn`` (the
meta-learned plasticity rules of section 3.2)."""


def __getattr__(name):
    from neurosim._moved import moved_attribute

    return moved_attribute(__name__, "neurosim.circuits.key_value.rate", name)
