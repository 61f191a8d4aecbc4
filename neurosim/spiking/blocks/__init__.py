"""Spiking building blocks with units, usable in a plain Brian2 script.

Each block is a small frozen dataclass with validated parameters (in the units their names end
with) that yields Brian2 model text: neuron models (:class:`LIF`, :class:`AdEx`, the
two-compartment :class:`Pyramidal` with dendritic plateaus), spike sources and rate codes
(:class:`SpikeSource`, :class:`RateCode`: push-pull ON/OFF coding of signed numbers), the
:class:`Neuromodulator` (a concentration with its own time constant) and the
:class:`ThreeFactorSynapse` (one :class:`~neurosim.memory.plasticity.ThreeFactorRule`, realized by
numpy in the rate circuits and by these equations in Brian2), and :class:`DopamineSTDP`
(dopamine-modulated STDP with NEST's semantics, released by a dopaminergic population) and
:class:`BTSP` (behavioural-timescale plasticity: seconds-long traces, a plateau, a neuromodulator).  :func:`check_dale` checks a
built network against Dale's law (one sign per cell, weights in siemens).
:func:`neuron_group` composes blocks into a ``brian2.NeuronGroup``; a synapse block yields
``brian2.Synapses`` arguments::

    from brian2 import Network, ms
    from neurosim.spiking.blocks import (LIF, Neuromodulator, Pyramidal, RateCode, SpikeSource,
                                         ThreeFactorSynapse, neuron_group)
    from neurosim.memory.plasticity import pre_only_rule

    inputs = neuron_group(20, SpikeSource("40*Hz"), RateCode(r_ref_hz=40, baseline=1), name="inp")
    cells = neuron_group(5, Pyramidal(), Neuromodulator(), name="cells")
    keys = ThreeFactorSynapse(pre_only_rule(), w_max_nS=0.5).synapses(inputs, cells, name="keys")
    keys.connect()
    Network(inputs, cells, keys).run(100 * ms)
"""
from neurosim.spiking.blocks.base import Fragment, join, neuron_group
from neurosim.spiking.blocks.btsp import BTSP
from neurosim.spiking.blocks.coding import RateCode, SpikeSource
from neurosim.spiking.blocks.dale import check_dale
from neurosim.spiking.blocks.dopamine_stdp import DopamineSTDP
from neurosim.spiking.blocks.neuromodulator import Neuromodulator
from neurosim.spiking.blocks.neurons import LIF, AdEx, Pyramidal
from neurosim.spiking.blocks.synapses import CODINGS, ThreeFactorSynapse

__all__ = ["BTSP", "CODINGS", "AdEx", "DopamineSTDP", "Fragment", "LIF", "Neuromodulator", "Pyramidal", "RateCode",
           "SpikeSource", "ThreeFactorSynapse", "check_dale", "join", "neuron_group"]
