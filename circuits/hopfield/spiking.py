"""Classical Hopfield network and BAM, spiking realization (Brian2).

The rate twin is :class:`neurosim.circuits.hopfield.rate.HebbianMemory` (Hopfield 1982; Kosko 1988
for BAM); both consume the same :class:`~neurosim.events.EventStream` and return the readout
(B, T, m).  A network of conductance-based neurons built from :mod:`neurosim.spiking.blocks`; nothing
in it computes sign(W s) -- the agreement with the rate model is measured.

Populations (per trial; n = d units for Hopfield, d + m for BAM):

- **input**: ``neurons_per_input`` ON and OFF :class:`SpikeSource` cells per unit firing at
  r0 (1 + x_i) and r0 (1 - x_i) while the cue is shown; an occluded entry (x = 0), a BAM query's
  y layer and any time outside the cue leave both at the baseline rate;
- **units**: an ON and an OFF population of ``cells_per_unit`` (k) excitatory LIF cells
  (escape noise, an after-hyperpolarization of 6 mV that grades the rate) per unit, the
  signed state s_i being which of the two fires (the readout: ON minus OFF spikes summed over
  the population); every input cell of a unit drives all k cells of its population, the
  pathways that sum over a unit's cells (recurrent, pair and pool inhibition) scale as 1 / k,
  so k is the network's resolution at a fixed mean drive; a tonic background current
  (``background_pA``, input from outside the circuit) holds the cells a few mV below
  threshold: silent without input;
- **pair interneurons**: one per unit cell, driven by it and inhibiting every cell of its
  partner population (ON_i -> I -> OFF_i and back): the pair's winner-take-all, made by
  inhibition;
- **pool interneurons**: driven by all unit cells, inhibiting all (feedback inhibition that
  holds the total rate);
- **reset interneurons**: ``reset_interneurons`` cells firing in the first ``reset_ms`` of
  every window onto every unit (theta-trough inhibition, Hasselmo et al. 2002): the previous
  item's activity is silenced, so the cue, not the last state, starts the recall;
- **teacher**: during a store (q > 0) the units are clamped to the stored pattern (BAM: [x, y])
  by an excitatory teacher cell on the cell of the target's sign and an inhibitory one on its
  partner;
- **neuromodulator**: ``modulator.n_neurons`` cells fire at w_t x their rate during the release
  window of a store (w_t = q, or ``flashbulb_strength`` where q > 1); every unit cell carries
  the concentration M.  A store's weight change is proportional to the integral of M over the
  release window, i.e. to the number of neuromodulatory spikes in it: 320 cells at 10 Hz over
  20 ms give about 64 (coefficient of variation 0.13), so every pattern is stored with about
  the same strength, as the rate model's W += q y x^T does.  With 40 cells (8 spikes, CV 0.35)
  the patterns' strengths differed by a third and the strongly stored ones captured the
  recall of the others (tuning streams, T = 2 / 4 / 6 / 8, 16 trials: 40 cells 0.988 / 0.917 /
  0.889 / 0.839, 320 cells 0.999 / 0.945 / 0.944 / 0.894).

Recurrent synapses (all unit cells -> all unit cells; BAM: between the layers only, both
directions) are one :class:`~neurosim.spiking.blocks.ThreeFactorSynapse` with the passive Hebbian
rule (eq. 13, 16 of Tyulmankov et al. 2021; Delta = z_post z_pre, z the cells' signed rate
codes).  ``recurrent_coding="rectified"`` (default): each synapse keeps its signed weight K
as a latent efficacy and expresses w = w_max clip(p K, 0, 1) (a silent synapse where p K <= 0),
so a cell is driven only by the pathways that support its sign and an ON/OFF pair's drive
difference is w_max sum_j K_ij s_j, the Hopfield field W s (clipped at |K| = 1), without the
common drive w_max / 2 per synapse of ``"complementary"`` (w = w_max (1 + p K) / 2), which
was measured to hold recall at the cued entries (accuracy ~0.7).  While M > 0 the signed
weight follows dK/dt = k M (rate z_post z_pre - (1 - lambda) K) with k = 1 / release_ms, so a
store moves K by about q rate z_post z_pre (the rate model: W += q y x^T) and decays it by
exp(-q (1 - lambda)) (the rate model: 1 - min(q, 1) (1 - lambda)).

Presentation window (one per stream step): a read phase -- the reset in its first
``reset_ms``, the cue shown for ``cue_ms`` (default: the whole read phase, i.e. pattern
completion with the stimulus present), the readout counting ON minus OFF spikes in
[``settle_ms``, ``read_ms``) -- then ``store_ms`` with the input shown, the teacher and,
``release_delay_ms`` after the store starts, the neuromodulator release (the rate traces have
risen by then).  A cue that ends before the readout tests persistent activity, which these
gains do not hold: the state drifts towards both cells of a pair active.  Continuous-time,
asynchronous dynamics where the rate model iterates synchronously (``max_iterations``): both
agree on fixed points.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurosim.spiking.blocks import (CODINGS, LIF, Neuromodulator, RateCode, SpikeSource,
                                     ThreeFactorSynapse, neuron_group)
from neurosim.events import EventStream
from neurosim.memory.plasticity import hebbian_rule
from neurosim.errors import ParameterError

from neurosim.circuits.hopfield.rate import HebbianMemory
from neurosim.spiking.settings import CircuitSettings
from neurosim.spiking.windows import (Windows, padded, padded_steps, run_circuit, window_counts,
                                      window_rows)
from neurosim.spiking.wiring import connect_trials, fixed_synapses

REFERENCE_DIMENSION = 40      # the number of units at which the recurrent gains were set
SOURCES = ("input", "modulator", "teacher", "teacher_inh", "reset")
UNIT = LIF(C_pF=200.0, g_L_nS=10.0, V_th_mV=-51.0, t_ref_ms=7.0, escape_mV=1.0,
           escape_rate_hz=20.0, ahp_mV=6.0)
INTERNEURON = LIF(C_pF=100.0, g_L_nS=10.0, t_ref_ms=1.0, V_reset_mV=-65.0, tau_i_ms=5.0)


@dataclass(frozen=True)
class HopfieldCircuit(CircuitSettings):
    """Sizes, neuron models, rates and gains of the spiking Hopfield network / BAM (units in
    the names).  Fields in ``RUN_TIME`` reach a compiled build through ``run_args``.

    The window is the key-value circuit's theta cycle: a 100 ms read phase (the cue shown
    throughout), then a 60 ms store.  A longer read averages more of the pairs' competition:
    60 / 100 / 140 ms gave 0.953 / 0.978 / 0.922 at T = 2 and 0.826 / 0.855 / 0.875 at T = 8
    (d = 40, four trials per T, one stream; one cell per unit, t_ref 4 ms).

    Four cells per unit and sign with t_ref 7 ms keep every cell under 150 Hz (a 143 Hz
    ceiling) at the accuracy of one cell with t_ref 4 ms; the rate code's reference
    (``unit_rate_ref_hz``) scales with the ceiling (0.4 of it), so a store writes weights of
    the same size (docs/spiking.md: the measured resolution curve)."""

    windows: Windows = Windows(read_ms=100.0, settle_ms=20.0, store_ms=60.0)
    cue_ms: float = 100.0
    reset_ms: float = 10.0
    reset_interneurons: int = 20
    reset_rate_hz: float = 200.0
    reset_w_nS: float = 0.8
    cells_per_unit: int = 4
    neurons_per_input: int = 8
    input_rate_hz: float = 40.0
    input_baseline_hz: float = 1.0
    unit: LIF = UNIT
    unit_rate_ref_hz: float = 57.0
    unit_trace_ms: float = 20.0
    background_pA: float = 160.0
    interneuron: LIF = INTERNEURON
    pool_interneurons: int = 50
    unit_to_pool_p: float = 0.5
    modulator: Neuromodulator = Neuromodulator(n_neurons=320, tau_ms=5.0)
    release_delay_ms: float = 25.0
    release_ms: float = 20.0
    hebbian_rate: float = 1.0
    recurrent_w_max_nS: float = 0.3
    input_w_nS: float = 5.0
    unit_to_pair_nS: float = 10.0
    pair_to_unit_nS: float = 6.0
    unit_to_pool_nS: float = 0.3
    pool_to_unit_nS: float = 0.4
    teacher_rate_hz: float = 100.0
    teacher_w_nS: float = 20.0
    teacher_inhibition_w_nS: float = 150.0
    recurrent_coding: str = "rectified"
    delay_ms: float = 1.0
    delay_jitter_ms: float = 1.0
    poisson: bool = True

    RUN_TIME = ("reset_rate_hz", "reset_w_nS", "input_rate_hz", "input_baseline_hz",
                "unit_rate_ref_hz", "unit_trace_ms", "background_pA", "hebbian_rate",
                "recurrent_w_max_nS", "input_w_nS", "unit_to_pair_nS", "pair_to_unit_nS",
                "unit_to_pool_nS", "pool_to_unit_nS", "teacher_rate_hz", "teacher_w_nS",
                "teacher_inhibition_w_nS", "poisson")

    COUNTS = ("cells_per_unit", "neurons_per_input", "pool_interneurons", "reset_interneurons")
    PROBABILITIES = ("unit_to_pool_p",)

    def __post_init__(self):
        self.check()
        if self.recurrent_coding not in CODINGS:
            raise ParameterError(f"recurrent_coding must be one of {CODINGS} "
                                 f"(got {self.recurrent_coding!r})")
        w = self.windows
        if not 0 < self.reset_ms <= self.cue_ms:
            raise ParameterError("the reset (reset_ms) must end within the cue (cue_ms)")
        if not self.cue_ms <= w.read_ms:
            raise ParameterError("the cue (cue_ms) must end within the read phase (read_ms)")
        if not (self.release_ms > 0 and self.release_delay_ms + self.release_ms <= w.store_ms):
            raise ParameterError("the release (release_delay_ms + release_ms) must end within "
                                 "the store phase")

    @property
    def check_ms(self) -> float:
        """Grid on which the sources' rates may change: the phase boundaries."""
        return self.phase_grid_ms(self.reset_ms, self.cue_ms, self.release_delay_ms,
                                  self.release_ms)


@dataclass
class SpikingHopfield:
    """``bidirectional=False``: Hopfield network (d units); True: BAM (x layer d units, y layer
    m units, recurrent synapses only between the layers, readout the y layer).  ``decay`` and
    ``flashbulb_strength`` as in :class:`HebbianMemory`."""

    bidirectional: bool = False
    decay: float = 1.0
    flashbulb_strength: float | None = None
    circuit: HopfieldCircuit = field(default_factory=HopfieldCircuit)
    device: str = "runtime"
    seed: int = 0

    def __post_init__(self):
        if not 0 < self.decay <= 1:
            raise ParameterError(f"decay lambda must lie in (0, 1] (got {self.decay})")

    def recurrent_synapse(self, n: int = REFERENCE_DIMENSION) -> ThreeFactorSynapse:
        """The Hebbian recurrent synapse; w_max scales as 40 / n (n presynaptic cells of each
        sign onto a cell: presynaptic units x ``cells_per_unit``)."""
        c = self.circuit
        return ThreeFactorSynapse(hebbian_rule(passive=True, decay=self.decay, rate=c.hebbian_rate),
                                  w_max_nS=c.recurrent_w_max_nS * REFERENCE_DIMENSION / n,
                                  conversion_per_ms=1.0 / c.release_ms, hidden_side="post",
                                  coding=c.recurrent_coding, delay_ms=c.delay_ms,
                                  delay_jitter_ms=c.delay_jitter_ms)

    def units(self, d: int, m: int) -> tuple[int, int]:
        """(units per trial, recurrent presynaptic units per unit)."""
        return (d + m, max(d, m)) if self.bidirectional else (d, d)

    def stimulus(self, stream: EventStream, B: int, steps: int) -> dict[str, np.ndarray]:
        """TimedArray rows: the cue (Hopfield: x; BAM: [x, y] at stores, [x, 0] at queries),
        the teacher's clamp (the stored pattern where q > 0) and the release strength w_t."""
        full = stream.padded(B, steps)
        _, strength = HebbianMemory(decay=self.decay,
                                    flashbulb_strength=self.flashbulb_strength).store_weights(full.q)
        stored = (full.q > 0)[..., None]
        if self.bidirectional:
            cue = np.concatenate([full.x, full.y * stored], 2)
            clamp = np.concatenate([full.x, full.y], 2) * stored
        else:
            cue, clamp = full.x, full.y * stored
        return {"cue": window_rows(cue), "clamp": window_rows(clamp),
                "strength": np.ascontiguousarray(strength.T)}

    def fixed_weights(self, n: int) -> dict[str, float]:
        """Conductances (nS) of the fixed pathways of n units; those that sum over a unit's
        ``cells_per_unit`` cells (its pair interneurons, the pool's inputs) scale as 1 / k."""
        c = self.circuit
        k = c.cells_per_unit
        return {"input": c.input_w_nS, "unit_pair": c.unit_to_pair_nS,
                "pair_unit": c.pair_to_unit_nS / k,
                "unit_pool": c.unit_to_pool_nS * REFERENCE_DIMENSION / (n * k),
                "pool_unit": c.pool_to_unit_nS, "teacher": c.teacher_w_nS,
                "teacher_inh": c.teacher_inhibition_w_nS, "reset": c.reset_w_nS}

    def run_args(self, handles: dict, values: dict) -> dict:
        from brian2 import Hz, ms, nS, pA

        c = self.circuit
        groups, syn = handles["groups"], handles["synapses"]
        units = groups["units"]
        args = {handles["ta"][name]: values[name] for name in handles["ta"]}
        recurrent = self.recurrent_synapse(handles["presynaptic_cells"])
        args.update(recurrent.run_args(syn["recurrent"]))
        args.update({groups["input"].r_in: c.input_rate_hz * Hz,
                     groups["input"].r_base: c.input_baseline_hz * Hz,
                     units.r_ref: c.unit_rate_ref_hz * Hz, units.tau_rho: c.unit_trace_ms * ms,
                     units.I_ext: np.full(len(units), c.background_pA) * pA,
                     groups["teacher"].r_teach: c.teacher_rate_hz * Hz,
                     groups["teacher_inh"].r_teach: c.teacher_rate_hz * Hz,
                     groups["reset"].r_reset: c.reset_rate_hz * Hz})
        args.update({groups[name].use_poisson: float(c.poisson or name == "modulator")
                     for name in SOURCES})
        args.update({syn[name].w: value * nS
                     for name, value in self.fixed_weights(handles["n"]).items()})
        return args

    def build(self, shape: dict, values: dict | None = None, record: bool = False) -> dict:
        from brian2 import Hz, Network, SpikeMonitor, StateMonitor, TimedArray, ms, nS, pA

        c, w = self.circuit, self.circuit.windows
        B, steps, d, m = shape["B"], shape["steps"], shape["d"], shape["m"]
        n, presynaptic = self.units(d, m)
        k = c.cells_per_unit
        cells = 2 * n * k                 # per trial: ON cells of units 0..n-1, then OFF cells
        if values is None:
            values = {"cue": np.zeros((steps, B * n)), "clamp": np.zeros((steps, B * n)),
                      "strength": np.zeros((steps, B))}
        win = w.steps(w.window_ms) * w.dt_ms * ms
        ta = {name: TimedArray(values[name], dt=win, name=f"hop_{name}") for name in values}
        W, R = w.steps(w.window_ms), w.steps(w.read_ms)
        R0 = R + w.steps(c.release_delay_ms)
        phase = {"W_steps": W, "R_steps": R, "C_steps": w.steps(c.cue_ms),
                 "Z_steps": w.steps(c.reset_ms), "R0_steps": R0,
                 "R1_steps": R0 + w.steps(c.release_ms), **{f"hop_{k}": v for k, v in ta.items()}}
        step = "timestep(t, dt) % W_steps"
        shown = f"int({step} < C_steps or {step} >= R_steps)"
        store = f"int({step} >= R_steps)"
        release = f"int({step} >= R0_steps and {step} < R1_steps)"
        n_in = 2 * n * c.neurons_per_input

        def source(rate, size, name, extra):
            return neuron_group(size, SpikeSource(rate, check_ms=c.check_ms), name=name,
                                extra_equations=extra, namespace=phase)

        cue = f"hop_cue(t, column)*{shown}"
        inputs = source(f"r_in*(1 + polarity*{cue}) + (r_base - r_in)*int({cue} == 0)", B * n_in,
                        "hop_input", "r_in : Hz (shared, constant)\nr_base : Hz (shared, constant)"
                        "\npolarity : 1 (constant)\ncolumn : integer (constant)")
        cell = np.arange(n_in) // c.neurons_per_input           # 0..2n-1: ON units, OFF units
        inputs.column = (np.arange(B)[:, None] * n + cell[None] % n).ravel()
        inputs.polarity = np.tile(np.where(cell < n, 1.0, -1.0), B)
        modulator = source(f"{c.modulator.rate_hz!r}*Hz*hop_strength(t, trial)*{release}",
                           B * c.modulator.n_neurons, "hop_modulator", "trial : integer (constant)")
        modulator.trial = np.repeat(np.arange(B), c.modulator.n_neurons)
        teacher_eqs = ("r_teach : Hz (shared, constant)\npolarity : 1 (constant)\n"
                       "column : integer (constant)")
        teacher = source(f"r_teach*{store}*clip(polarity*hop_clamp(t, column), 0, 1)", B * cells,
                         "hop_teacher", teacher_eqs)
        teacher_inh = source(f"r_teach*{store}*clip(-polarity*hop_clamp(t, column), 0, 1)",
                             B * cells, "hop_teacher_inh", teacher_eqs)
        population = np.arange(cells) // k                # 0..2n-1: ON units, then OFF units
        unit_column = (np.arange(B)[:, None] * n + population[None] % n).ravel()
        unit_polarity = np.tile(np.where(population < n, 1.0, -1.0), B)
        for group in (teacher, teacher_inh):
            group.column, group.polarity = unit_column, unit_polarity

        reset = source(f"r_reset*int({step} < Z_steps)", B * c.reset_interneurons, "hop_reset",
                       "r_reset : Hz (shared, constant)")
        units = neuron_group(B * cells, c.unit, c.modulator,
                             RateCode(c.unit_rate_ref_hz, c.unit_trace_ms, baseline=0.5),
                             name="hop_units")
        units.polarity = unit_polarity
        units.I_ext = c.background_pA * pA
        pair_inh = neuron_group(B * cells, c.interneuron, name="hop_pair_inh")
        pool = neuron_group(B * c.pool_interneurons, c.interneuron, name="hop_pool_inh")

        rng = np.random.default_rng(0)        # fixed anatomy: delays drawn once per build
        block = self.recurrent_synapse(presynaptic * k)
        recurrent = block.synapses(units, units, name="hop_recurrent")
        layer = population % n >= d                        # BAM: x cells <-> y cells only
        connect_trials(recurrent, B, cells, cells,
                       pairs=np.nonzero(layer[:, None] != layer[None, :]) if self.bidirectional
                       else None)
        block.initialize(recurrent, rng=rng)                           # K = 0: an empty memory
        members = np.arange(k)

        def onto_populations(pre: np.ndarray, target: np.ndarray):
            """(pre, post) pairs: each pre cell onto every cell of its target population."""
            return np.repeat(pre, k), (target[:, None] * k + members[None]).ravel()

        partner = (population + n) % (2 * n)
        syn = {
            "input": fixed_synapses(inputs, units, "hop_input_syn", B, n_in, cells, "g_e",
                                    pairs=onto_populations(np.arange(n_in), cell)),
            "unit_pair": fixed_synapses(units, pair_inh, "hop_unit_pair", B, cells, cells,
                                        "g_e", one_to_one=True),
            "pair_unit": fixed_synapses(pair_inh, units, "hop_pair_unit", B, cells, cells, "g_i",
                                        pairs=onto_populations(np.arange(cells), partner)),
            "unit_pool": fixed_synapses(units, pool, "hop_unit_pool", B, cells,
                                        c.pool_interneurons, "g_e", p=c.unit_to_pool_p, rng=rng),
            "pool_unit": fixed_synapses(pool, units, "hop_pool_unit", B, c.pool_interneurons,
                                        cells, "g_i"),
            "teacher": fixed_synapses(teacher, units, "hop_teacher_syn", B, cells, cells, "g_e",
                                      one_to_one=True),
            "teacher_inh": fixed_synapses(teacher_inh, units, "hop_teacher_inh_syn", B, cells,
                                          cells, "g_i", one_to_one=True),
            "reset": fixed_synapses(reset, units, "hop_reset_syn", B, c.reset_interneurons,
                                    cells, "g_i"),
        }
        release_syn = fixed_synapses(modulator, units, "hop_release", B,
                                     c.modulator.n_neurons, cells, weighted=False,
                                     **c.modulator.release_model())
        for name, synapses in syn.items():
            synapses.delay = (c.delay_ms + c.delay_jitter_ms * rng.random(len(synapses))) * ms
            synapses.w = self.fixed_weights(n)[name] * nS
        groups = {"input": inputs, "modulator": modulator, "teacher": teacher,
                  "teacher_inh": teacher_inh, "reset": reset, "units": units,
                  "pair_inh": pair_inh, "pool_inh": pool}
        inputs.r_in, inputs.r_base = c.input_rate_hz * Hz, c.input_baseline_hz * Hz
        teacher.r_teach = teacher_inh.r_teach = c.teacher_rate_hz * Hz
        reset.r_reset = c.reset_rate_hz * Hz
        for name in SOURCES:
            groups[name].use_poisson = float(c.poisson or name == "modulator")
        spikes = {"units": SpikeMonitor(units, name="hop_spikes_units")}
        for name in ("input", "modulator", "teacher", "reset", "pair_inh", "pool_inh"):
            group = groups[name]
            spikes[name] = SpikeMonitor(group[:len(group) // B], name=f"hop_spikes_{name}")
        currents = StateMonitor(units, ["v", "g_e", "g_i"], record=np.arange(cells), dt=1 * ms,
                                name="hop_unit_state")
        monitors = [*spikes.values(), currents]
        traces = {}
        if record:
            traces["units"] = StateMonitor(units, ["v", "M", "rho"],
                                           record=k * np.r_[0:min(n, 2), n:n + min(n, 2)],
                                           dt=0.5 * ms, name="hop_trace_units")
            traces["weights"] = StateMonitor(recurrent, "w", record=np.arange(min(n, 4)),
                                             dt=1 * ms, name="hop_trace_weights")
            monitors += list(traces.values())
        net = Network(*groups.values(), recurrent, release_syn, *syn.values(), *monitors,
                      name="hop_network")
        return {"B": B, "n": n, "cells": cells, "presynaptic_cells": presynaptic * k, "ta": ta,
                "groups": groups, "synapses": {**syn, "recurrent": recurrent}, "spikes": spikes,
                "currents": currents, "traces": traces, "net": net}

    def run(self, stream: EventStream, record: bool = False) -> np.ndarray:
        """Readout (B, T, m): ON minus OFF spikes of the output units (Hopfield: all; BAM: the
        y layer) in the readout part of every window's read phase.  ``self.physiology`` then
        holds the run's physiology and, with ``record``, ``self.recorded`` trial 0's traces."""
        from neurosim.spiking.physiology import circuit_physiology, circuit_record

        if stream.d != stream.m and not self.bidirectional:
            raise ParameterError(f"a Hopfield network needs d == m (got d={stream.d}, "
                                 f"m={stream.m})")
        if stream.feedback is not None and np.any(stream.feedback):
            raise ParameterError("feedback (recurrent sequence) streams are not available on "
                                 "the spiking Hopfield network")
        B, steps = padded(stream.batch, self.device), padded_steps(stream.steps, self.device)
        w = self.circuit.windows
        shape = {"B": B, "steps": steps, "d": stream.d, "m": stream.m,
                 "bidirectional": self.bidirectional, "circuit": self.circuit.structure(),
                 "dt_ms": w.dt_ms, "duration_ms": steps * w.window_ms, "record": record,
                 "rule": self.recurrent_synapse().plasticity_code()}
        handles = run_circuit(self, shape, self.stimulus(stream, B, steps), record,
                              stop=(stream.steps, w))
        n, cells = handles["n"], handles["cells"]
        monitor = handles["spikes"]["units"]
        counts = window_counts(np.asarray(monitor.t_), np.asarray(monitor.i), B * cells, steps,
                               w, w.settle_ms, w.read_ms).reshape(B, 2, n, -1, steps).sum(3)
        y_hat = (counts[:, 0] - counts[:, 1]).transpose(0, 2, 1)[:, :, n - stream.m:]
        self.physiology = circuit_physiology(handles, w, stream, "units", cells,
                                             self.circuit.unit)
        if record:
            self.recorded = circuit_record(handles, w, self.recorded_traces(handles))
        return y_hat[:stream.batch, :stream.steps]

    @staticmethod
    def recorded_traces(handles: dict) -> dict:
        units, weights = handles["traces"]["units"], handles["traces"]["weights"]
        return {"trace_t": np.asarray(units.t_), "trace_v_mV": np.asarray(units.v_) * 1e3,
                "trace_M": np.asarray(units.M), "trace_rho": np.asarray(units.rho),
                "weights_t": np.asarray(weights.t_),
                "weights_recurrent_nS": np.asarray(weights.w_) * 1e9}
