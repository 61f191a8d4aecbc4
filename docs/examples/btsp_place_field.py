"""One-shot place field by BTSP, on stock Brian2 groups, compiled by cpp_standalone.

A mouse runs a 6 s lap: 60 place inputs (a ``PoissonGroup``) fire in turn, each for about a
quarter of a second.  At 3 s an instructive input burst (entorhinal layer III, a
``SpikeGeneratorGroup``) onto the apical dendrite of one CA1 cell triggers a plateau, and a
dopaminergic population (a ``PoissonGroup``) fires for 1.5 s around it.  BTSP potentiates the
inputs active seconds before and after the plateau: one lap writes a place field.

    python docs/examples/btsp_place_field.py [--out FOLDER] [--seed SEED]
"""
import argparse
from pathlib import Path

import numpy as np
from brian2 import (Network, PoissonGroup, SpikeGeneratorGroup, Synapses, ms, nS, second, seed,
                    set_device)

from neurosim.spiking.blocks import BTSP, Neuromodulator, Pyramidal, neuron_group
from neurosim.spiking.devices import precompiled_standard_headers

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="btsp_place_field", help="folder for the build and figure")
parser.add_argument("--seed", type=int, default=2017, help="the spikes' random seed")
arguments = parser.parse_args()
out = Path(arguments.out)
set_device("cpp_standalone", directory=str(out / "build"))
seed(arguments.seed)

LAP, PLATEAU, INPUTS = 6 * second, 3 * second, 60
places = PoissonGroup(INPUTS, rates="40*Hz*exp(-0.5*((t - (i + 0.5)*lap/inputs)/(120*ms))**2)",
                      namespace={"lap": LAP, "inputs": INPUTS}, name="places")
burst = SpikeGeneratorGroup(1, np.zeros(5, int), PLATEAU + np.arange(5) * 2 * ms, name="ec3")
dopaminergic = PoissonGroup(5, rates="20*Hz*int(abs(t - plateau - 250*ms) < 750*ms)",
                            namespace={"plateau": PLATEAU}, name="dopaminergic")

rule = BTSP()
modulator = Neuromodulator(n_neurons=5, rate_hz=20.0, tau_ms=300.0)   # M about 1 while it fires
cell = neuron_group(1, Pyramidal(plateau_ms=300.0), modulator, rule.instructive(), name="ca1")
dendritic = Synapses(burst, cell, on_pre="g_d_post += 20*nS", name="dendritic")
dendritic.connect()
release = modulator.volume_transmission(dopaminergic, cell, name="release")
plastic = rule.synapses(places, cell, name="plastic", transmit="g_e_post += w*nS")
plastic.connect()
rule.initialize(plastic, w=0.1)

with precompiled_standard_headers("cpp_standalone"):     # optional: compiles in half the time
    Network(places, burst, dopaminergic, cell, dendritic, release, plastic).run(LAP)

weights = np.asarray(plastic.w[:])
centres_s = (np.arange(INPUTS) + 0.5) * float(LAP) / INPUTS
field = centres_s[weights > 0.5 * (weights.min() + weights.max())]
print(f"weights: min {weights.min():.3f} max {weights.max():.3f}; "
      f"place field from {field.min():.2f} s to {field.max():.2f} s (plateau at {float(PLATEAU):g} s)")

import matplotlib                                                     # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt                                       # noqa: E402

figure, axis = plt.subplots(figsize=(5, 3))
axis.plot(centres_s, weights, "o-")
axis.axvline(float(PLATEAU), color="k", ls="--", label="plateau")
axis.set(xlabel="input's place on the lap (s)", ylabel="weight after one lap",
         title="BTSP: a place field in one lap")
axis.legend()
figure.tight_layout()
figure.savefig(out / "btsp_place_field.png", dpi=120)
np.save(out / "weights.npy", weights)
