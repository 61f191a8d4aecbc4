"""Key-value memory with three-factor plasticity, spiking realization (Brian2).

The rate twin is :mod:`neurosim.circuits.key_value.rate` (Tyulmankov et al. 2021, eq. 4-17); both
consume the same :class:`~neurosim.events.EventStream` and return y~ of shape (B, T, m).  This
is a network of conductance-based neurons built from :mod:`neurosim.spiking.blocks`; nothing in it
computes the rate model's equations -- the agreement between the two is measured.

Populations (per trial; the B trials of a stream are B independent copies in one network):

- **input**: ``neurons_per_input`` ON and as many OFF :class:`SpikeSource` cells per input
  dimension, firing at r0 (1 + x_j) and r0 (1 - x_j) (push-pull; an occluded entry, x = 0,
  leaves both at baseline r0; Poisson or regular trains);
- **hidden**: N two-compartment :class:`Pyramidal` cells.  Their somata receive the input
  through the plastic key synapses; their apical dendrites receive the **gating** input, one
  :class:`SpikeSource` per cell that fires a short burst at the start of the store phase where
  the stream's local third factor gamma_t,i = 1; a strong enough burst triggers a dendritic
  plateau (the local third factor).  Every hidden cell carries the concentration M of the
  **neuromodulator**, released by ``modulator.n_neurons`` cells firing at q_t x their rate
  during the store phase (the global third factor);
- **hidden interneurons**: fast-spiking cells driven by the input (feedforward inhibition,
  which cancels the push-pull code's constant total drive) and by the hidden cells (feedback
  inhibition), inhibiting every hidden cell: the winner-take-all of eq. 4 is made by these
  cells; its sharpness (the rate model's beta) is set by the gains below, not by a formula;
- **output**: an ON and an OFF population of ``cells_per_output`` LIF cells per output
  dimension (cell c of a trial in population c // k: ON dimensions, then OFF), each cell
  receiving every hidden cell through the plastic value synapses and the population's teacher
  pair, plus **output interneurons** (feedforward from the hidden layer, feedback from the
  output, the latter at 1 / k per cell) that cancel the value synapses' common drive; the
  readout sums each population's spikes.  Four cells per sign with t_ref 7 ms (a 143 Hz
  ceiling) keep every output cell under 150 Hz, which one cell per sign with t_ref 5 ms did
  not (99th percentile 150-163 Hz in the key-value compare and sequence recall).  The value
  synapses facilitate (Tsodyks-Markram, U = 0.2, tau_f = 50 ms; hippocampal mossy fibre
  and many pyramidal-cell synapses facilitate): at the winner's ~130 Hz the utilization
  settles at about 3.2 U, so its train transmits up to three times more per spike than a
  runner-up's isolated spikes and the readout weighs the winner's value more than a linear sum
  of the hidden spikes does (T = 40, d = N = 40, with 1 ms + jitter delays: accuracy 0.956
  static, 0.969 with the default, 0.958-0.970 over U = 0.1-0.3, tau_f = 30-100 ms, 40-80 nS);
- **teacher**: during a store (q > 0) the output is clamped to y by an excitatory teacher
  cell per output cell (firing for the cell whose sign is y_j) and an inhibitory one (for the
  other cell of the pair): push-pull teaching.

Closed-loop stimulation (streams with ``feedback`` steps, e.g. sequence recall): as a lab's
real-time system would, the stimulus apparatus counts each output pair's ON minus OFF spikes
in the scored part of a window's read phase (a counter on every input cell of that dimension,
fed by the output spikes) and, at the start of a feedback window, shows x = sign(count) through
the input cells instead of the stream's x.  The counters belong to the apparatus, not to the
circuit (no neuron reads them); they exist only in builds of streams with feedback steps.

Presentation window (one per stream step): ``read_ms`` with x_t shown, the readout being
the output's ON minus OFF spike counts in [``settle_ms``, ``read_ms``) (eq. 5, scored by
its sign, eq. 18), then ``store_ms`` with x_t still shown, the gating burst, the
neuromodulator release (q_t) and the teacher (if q_t > 0).

Plasticity (one :class:`~neurosim.spiking.blocks.ThreeFactorSynapse` per projection, from the
same :class:`~neurosim.memory.plasticity.ThreeFactorRule` objects as the rate circuit): key synapses
relax towards the pre-only target w_max (1 + x_j) / 2 while the hidden cell's dendrite is in a
plateau, at a rate set by M (eq. 9); value synapses relax towards w_max (1 + y_k h'_i) / 2,
h'_i the hidden cell's rate over ``hidden_rate_ref_hz``, while the presynaptic hidden cell's
dendrite is in a plateau (eq. 11; or the passive rule of eq. 16, or TVT's slot write).  With
stability (eq. 17) a plateau that meets a flashbulb concentration M > ``stable_above`` makes
the synapses stable.  The key write happens during the plateau, so the gated cell wins the
store phase's competition with its new key, as h' = softmax(beta K_new x) does (eq. 10).

Every synapse has one sign (excitatory synapses target ``g_e``, interneurons ``g_i``);
transmission delays are ``delay_ms`` plus a uniform jitter of ``delay_jitter_ms`` per synapse
(default: a homogeneous 0.5 ms, the minimal delay of a local chemical synapse).  The delay of
the E -> I -> E loop sets how fast the feedback inhibition answers the winner: at T = 40
(d = N = 40, 16 trials) homogeneous 1.5 / 1.0 / 0.75 / 0.5 ms gave accuracy 0.962 / 0.974 /
0.977 / 0.980, and 1 ms + a uniform jitter of 1 ms (mean 1.5 ms) 0.963 -- the mean loop delay
matters, not the jitter.  Homogeneous delays also take Brian2's fast path through the spike
queue (one push per spike, not one per synapse).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurosim.spiking.blocks import (LIF, Neuromodulator, Pyramidal, RateCode, SpikeSource,
                                     ThreeFactorSynapse, neuron_group)
from neurosim.events import EventStream
from neurosim.errors import ParameterError

from neurosim.circuits.key_value.rate import KeyValueParameters
from neurosim.spiking.settings import CircuitSettings
from neurosim.spiking.windows import (Windows, padded, padded_steps, run_circuit, window_counts,
                                      window_rows)
from neurosim.spiking.wiring import connect_trials, fixed_synapses

REFERENCE_DIMENSION = 40      # the input dimension at which the gains below were set
REFERENCE_CELLS = 8           # and the number of input cells per dimension (ON and OFF each)
SOURCES = ("input", "gate", "modulator", "teacher", "teacher_inh")
INSTRUCTIONS = ("gate", "teacher", "teacher_inh")
HIDDEN = Pyramidal(C_pF=200.0, g_L_nS=10.0, V_th_mV=-51.0, t_ref_ms=4.0, escape_mV=0.3,
                   escape_rate_hz=20.0, ahp_mV=0.2, C_d_pF=50.0, g_Ld_nS=10.0, g_c_nS=15.0,
                   plateau_ms=30.0)
INTERNEURON = LIF(C_pF=100.0, g_L_nS=10.0, t_ref_ms=1.0, V_reset_mV=-65.0, tau_i_ms=5.0)


@dataclass(frozen=True)
class KVCircuit(CircuitSettings):
    """Sizes, neuron models, rates and gains of the spiking key-value memory (units in the
    names).  Fields listed in ``RUN_TIME`` travel to a compiled build through ``run_args``;
    the others define the build.

    The window is one 160 ms theta cycle (about 6 Hz): a 100 ms retrieval phase, then a 60 ms
    encoding phase (the separation of retrieval and encoding within a theta cycle of Hasselmo,
    Bodelon & Wyble 2002).  Within the read phase the hidden winner-take-all runs in cycles of
    about 35 ms (the winner and some runners-up fire, the feedback interneurons silence them,
    the winner restarts), so a longer read averages more cycles.  Measured at d = N = 40, T = 40
    (16 trials, sequential gates, Poisson input, static value synapses, 1 ms + jitter delays):
    read phase 60 / 100 / 140 ms gave accuracy
    0.909 / 0.956 / 0.966; at 60 ms, 8 / 16 / 32 input cells per dimension (conductances scaled
    by :meth:`SpikingKeyValueMemory.input_scale`) gave 0.909 / 0.928 / 0.934, at 100 ms 4 / 8 /
    16 cells 0.931 / 0.956 / 0.955: from 8 cells at 100 ms on, the runners-up's spikes (a third
    of the hidden spikes) limit the readout, not the input's resolution.

    ``conversion_per_ms`` = 0.4: a plateau's write saturates.  A plateau of D = 30 ms moves a
    synapse by 1 - exp(-k M D) of the way to its target, and M, released by 40 Poisson cells
    with tau_M = 10 ms, fluctuates by about a third around q = 1 from store to store: at
    k = 0.1 / ms (the earlier default) the fraction ranged over 0.78-1.0, so slots were written
    with different strengths and a strongly written slot won the queries of weakly written ones
    (T = 40, 16 trials: the learned keys' largest overlap K x picked the right slot in 99.7% of
    queries, the hidden cell firing most only in 94%; the wrong winners' keys were the
    strongest, sum |K| 26.1 against 22.4 for the missed slot).  From k = 0.2 / ms on every
    ordinary store writes its slot almost fully, as eq. 9 does with q gamma = 1 (tuning streams,
    T = 24 / 40: k = 0.1 / 0.2 / 0.4 / 1.0: 0.981 / 0.960, 0.991 / 0.984, 0.991 / 0.985,
    0.989 / 0.983; a smoother M from 160 modulatory cells at k = 0.1: 0.988 / 0.976)."""

    windows: Windows = Windows(read_ms=100.0, settle_ms=15.0, store_ms=60.0)
    neurons_per_input: int = 8
    input_rate_hz: float = 40.0
    input_baseline_hz: float = 5.0
    input_trace_ms: float = 30.0
    hidden: Pyramidal = HIDDEN
    hidden_rate_ref_hz: float = 50.0
    hidden_trace_ms: float = 20.0
    output_trace_ms: float = 20.0
    interneuron: LIF = INTERNEURON
    hidden_interneurons: int = 100
    input_to_inhibition_p: float = 0.1
    hidden_to_inhibition_p: float = 0.5
    output: LIF = LIF(t_ref_ms=7.0)
    cells_per_output: int = 4
    output_interneurons: int = 20
    modulator: Neuromodulator = Neuromodulator()
    key_w_max_nS: float = 0.3
    value_w_max_nS: float = 45.0
    value_facilitation_U: float | None = 0.2
    value_facilitation_ms: float = 50.0
    conversion_per_ms: float = 0.4
    stable_above: float = 3.0
    gate_delay_ms: float = 25.0
    gate_ms: float = 10.0
    gate_rate_hz: float = 400.0
    gate_w_nS: float = 40.0
    teacher_rate_hz: float = 100.0
    teacher_w_nS: float = 20.0
    teacher_inhibition_w_nS: float = 150.0
    input_to_inhibition_nS: float = 0.01
    hidden_to_inhibition_nS: float = 6.0
    inhibition_to_hidden_nS: float = 0.2
    hidden_to_output_inhibition_nS: float = 0.5
    output_to_output_inhibition_nS: float = 0.1
    output_inhibition_to_output_nS: float = 0.2
    delay_ms: float = 0.5
    delay_jitter_ms: float = 0.0
    poisson: bool = True
    instruction_poisson: bool = False

    RUN_TIME = ("input_rate_hz", "input_baseline_hz", "input_trace_ms", "hidden_rate_ref_hz",
                "hidden_trace_ms", "output_trace_ms",
                "key_w_max_nS", "value_w_max_nS", "value_facilitation_U",
                "value_facilitation_ms", "conversion_per_ms", "stable_above",
                "gate_rate_hz", "gate_w_nS", "teacher_rate_hz", "teacher_w_nS",
                "teacher_inhibition_w_nS", "input_to_inhibition_nS", "hidden_to_inhibition_nS",
                "inhibition_to_hidden_nS", "hidden_to_output_inhibition_nS",
                "output_to_output_inhibition_nS", "output_inhibition_to_output_nS", "poisson",
                "instruction_poisson")

    COUNTS = ("neurons_per_input", "cells_per_output", "hidden_interneurons",
              "output_interneurons")
    PROBABILITIES = ("input_to_inhibition_p", "hidden_to_inhibition_p")

    def __post_init__(self):
        self.check()
        if not (0 < self.gate_ms and self.gate_delay_ms + self.gate_ms <= self.windows.store_ms):
            raise ParameterError("the gating burst (gate_delay_ms + gate_ms) must end within "
                                 "the store phase")

    @property
    def check_ms(self) -> float:
        """Grid on which the sources' rates may change: the phase boundaries."""
        return self.phase_grid_ms(self.gate_delay_ms, self.gate_ms)


@dataclass
class SpikingKeyValueMemory(KeyValueParameters):
    """N hidden cells; the parameters of the rate :class:`KeyValueMemory` (validated by the same
    base class, rules included), plus the circuit, the Brian2 device and the noise seed."""

    circuit: KVCircuit = field(default_factory=KVCircuit)
    device: str = "runtime"
    seed: int = 0

    def __post_init__(self):
        super().__post_init__()
        if self.similarity == "cosine" and self.value_write != "slot":
            raise ParameterError("spiking key-value memory: the cosine read is available with "
                                 "value_write='slot' (TVT) only")

    # ------------------------------------------------------------------ synapses
    def input_scale(self, d: int) -> float:
        """Conductances of the input's projections scale as (40 / d) (8 / neurons_per_input):
        a pattern drives a cell alike at every d and resolution (the gains are set at d = 40
        with 8 cells per dimension); more cells per dimension average more spikes."""
        return REFERENCE_DIMENSION / d * REFERENCE_CELLS / self.circuit.neurons_per_input

    def key_synapse(self, d: int = REFERENCE_DIMENSION) -> ThreeFactorSynapse:
        """Input -> hidden synapses, ``key_w_max_nS`` x :meth:`input_scale`."""
        c = self.circuit
        return ThreeFactorSynapse(self.key_rule, w_max_nS=c.key_w_max_nS * self.input_scale(d),
                                  conversion_per_ms=c.conversion_per_ms, hidden_side="post",
                                  stable_above=c.stable_above if self.stability else None,
                                  delay_ms=c.delay_ms, delay_jitter_ms=c.delay_jitter_ms)

    def value_synapse(self) -> ThreeFactorSynapse:
        c = self.circuit
        coding = "complementary" if self.value_rule.decay == "passive" else "rectified"
        return ThreeFactorSynapse(self.value_rule, w_max_nS=c.value_w_max_nS,
                                  conversion_per_ms=c.conversion_per_ms, hidden_side="pre",
                                  coding=coding,
                                  stable_above=c.stable_above if self.stability else None,
                                  delay_ms=c.delay_ms, delay_jitter_ms=c.delay_jitter_ms,
                                  facilitation_U=c.value_facilitation_U,
                                  facilitation_ms=c.value_facilitation_ms)

    # ------------------------------------------------------------------ inputs
    def stimulus(self, stream: EventStream, B: int, steps: int) -> dict[str, np.ndarray]:
        """TimedArray rows (one per window) of a stream padded to B trials and ``steps``
        windows: inputs x, gates gamma, neuromodulation q, teacher clamp y (where q > 0) and,
        for a stream with feedback steps, where the input is the previous readout's sign."""
        full = stream.padded(B, steps)
        rows = {"x": window_rows(full.x), "gate": window_rows(full.gate.astype(float)),
                "q": np.ascontiguousarray(full.q.T),
                "clamp": window_rows(full.y * (full.q > 0)[..., None])}
        if closed_loop(stream):
            rows["fed"] = np.ascontiguousarray(full.feedback.T.astype(float))
        return rows

    def run_args(self, handles: dict, values: dict) -> dict:
        """TimedArray values and every run-time parameter of the circuit (rates, gains, the
        plastic synapses' rules): one build serves them all."""
        from brian2 import Hz, ms, nS

        c = self.circuit
        groups, syn = handles["groups"], handles["synapses"]
        args = {handles["ta"][name]: values[name] for name in handles["ta"]}
        args.update(self.key_synapse(handles["d"]).run_args(syn["keys"]))
        args.update(self.value_synapse().run_args(syn["values"]))
        args.update({groups["input"].r_in: c.input_rate_hz * Hz,
                     groups["input"].r_base: c.input_baseline_hz * Hz,
                     groups["input"].r_ref: c.input_rate_hz * Hz,
                     groups["input"].tau_rho: c.input_trace_ms * ms,
                     groups["hidden"].r_ref: c.hidden_rate_ref_hz * Hz,
                     groups["hidden"].tau_rho: c.hidden_trace_ms * ms,
                     groups["output"].r_ref: c.teacher_rate_hz / 2 * Hz,
                     groups["output"].tau_rho: c.output_trace_ms * ms,
                     groups["gate"].r_gate: c.gate_rate_hz * Hz,
                     groups["teacher"].r_teach: c.teacher_rate_hz * Hz,
                     groups["teacher_inh"].r_teach: c.teacher_rate_hz * Hz})
        args.update({groups[name].use_poisson: self.source_is_poisson(name) for name in SOURCES})
        args.update({syn[name].w: value * nS
                     for name, value in self.fixed_weights(handles["d"]).items()})
        return args

    def source_is_poisson(self, name: str) -> float:
        """1.0 for Poisson trains, 0.0 for regular ones: the stimulus inputs follow ``poisson``,
        the instructive pathways (gating burst, teacher) ``instruction_poisson``, the
        neuromodulatory cells are always Poisson."""
        c = self.circuit
        if name == "modulator":
            return 1.0
        return float(c.instruction_poisson if name in INSTRUCTIONS else c.poisson)

    def fixed_weights(self, d: int) -> dict[str, float]:
        """Conductances (nS) of the non-plastic projections, by projection name (input ->
        interneuron scaled by :meth:`input_scale`, like the key synapses)."""
        c = self.circuit
        return {"gate": c.gate_w_nS, "teacher": c.teacher_w_nS,
                "teacher_inh": c.teacher_inhibition_w_nS,
                "input_inh": c.input_to_inhibition_nS * self.input_scale(d),
                "hidden_inh": c.hidden_to_inhibition_nS, "inh_hidden": c.inhibition_to_hidden_nS,
                "hidden_out_inh": c.hidden_to_output_inhibition_nS,
                "out_out_inh": c.output_to_output_inhibition_nS / c.cells_per_output,
                "out_inh_out": c.output_inhibition_to_output_nS}

    # ------------------------------------------------------------------ circuit
    def build(self, shape: dict, values: dict | None = None, record: bool = False) -> dict:
        """Create the Brian2 network for ``shape`` (B, steps, d, m, N; the circuit) with
        placeholder (``values=None``) or given stimulus values; returns its handles."""
        from brian2 import Hz, Network, SpikeMonitor, StateMonitor, TimedArray, ms, nS

        c = self.circuit
        B, steps, d, m, N = shape["B"], shape["steps"], shape["d"], shape["m"], shape["N"]
        w = c.windows
        win = w.steps(w.window_ms) * w.dt_ms * ms
        loop = shape.get("closed_loop", False)
        if values is None:
            values = {"x": np.zeros((steps, B * d)), "gate": np.zeros((steps, B * N)),
                      "q": np.zeros((steps, B)), "clamp": np.zeros((steps, B * m)),
                      **({"fed": np.zeros((steps, B))} if loop else {})}
        ta = {name: TimedArray(values[name], dt=win, name=f"kv_{name}")
              for name in ("x", "gate", "q", "clamp", *(("fed",) if loop else ()))}
        W, R = w.steps(w.window_ms), w.steps(w.read_ms)
        G0 = w.steps(w.read_ms + c.gate_delay_ms)
        phase = {"W_steps": W, "R_steps": R, "G0_steps": G0, "G1_steps": G0 + w.steps(c.gate_ms),
                 "S_steps": w.steps(w.settle_ms), **{f"kv_{k}": v for k, v in ta.items()}}
        store = "int(timestep(t, dt) % W_steps >= R_steps)"
        gating = ("int(timestep(t, dt) % W_steps >= G0_steps and "
                  "timestep(t, dt) % W_steps < G1_steps)")
        n_in = 2 * d * c.neurons_per_input
        check = c.check_ms

        def source(rate, n, name, extra="", code=None):
            return neuron_group(n, SpikeSource(rate, check_ms=check), *(code or ()), name=name,
                                extra_equations=extra, namespace=phase)

        shown = "x_now" if loop else "kv_x(t, column)"
        apparatus = ("\nx_now = kv_fed(t, trial)*x_fed + (1 - kv_fed(t, trial))*kv_x(t, column) : 1"
                     "\nx_fed : 1\ncount : 1\ntrial : integer (constant)") if loop else ""
        inputs = source(f"r_in*(1 + polarity*{shown}) + (r_base - r_in)*int({shown} == 0)",
                        B * n_in, "kv_input",
                        "r_in : Hz (shared, constant)\nr_base : Hz (shared, constant)\n"
                        "column : integer (constant)" + apparatus,
                        [RateCode(c.input_rate_hz, c.input_trace_ms, baseline=1.0)])
        per_dim = np.arange(n_in) // c.neurons_per_input          # 0..2d-1: ON dims, OFF dims
        inputs.column = (np.arange(B)[:, None] * d + per_dim[None] % d).ravel()
        inputs.polarity = np.tile(np.where(per_dim < d, 1.0, -1.0), B)
        gate = source(f"r_gate*kv_gate(t, i)*{gating}", B * N, "kv_gate",
                      "r_gate : Hz (shared, constant)")
        modulator = source(f"{c.modulator.rate_hz!r}*Hz*kv_q(t, trial)*{store}",
                           B * c.modulator.n_neurons, "kv_modulator",
                           "trial : integer (constant)")
        modulator.trial = np.repeat(np.arange(B), c.modulator.n_neurons)
        teacher_eqs = "r_teach : Hz (shared, constant)\npolarity : 1 (constant)\ncolumn : integer (constant)"
        k = c.cells_per_output
        n_out = 2 * m * k
        population = np.arange(n_out) // k      # of each output cell: ON dimensions, then OFF
        population_dim = np.arange(2 * m) % m
        population_polarity = np.where(np.arange(2 * m) < m, 1.0, -1.0)
        out_dims = population_dim[population]
        teacher = source(f"r_teach*{store}*clip(polarity*kv_clamp(t, column), 0, 1)", B * 2 * m,
                         "kv_teacher", teacher_eqs)
        teacher_inh = source(f"r_teach*{store}*clip(-polarity*kv_clamp(t, column), 0, 1)",
                             B * 2 * m, "kv_teacher_inh", teacher_eqs)
        for group in (teacher, teacher_inh):    # one teacher pair per output population
            group.column = (np.arange(B)[:, None] * m + population_dim[None]).ravel()
            group.polarity = np.tile(population_polarity, B)
        onto_population = (population, np.arange(n_out))

        hidden = neuron_group(B * N, c.hidden, c.modulator,
                              RateCode(c.hidden_rate_ref_hz, c.hidden_trace_ms), name="kv_hidden")
        hidden_inh = neuron_group(B * c.hidden_interneurons, c.interneuron, name="kv_hidden_inh")
        output = neuron_group(B * n_out, c.output,
                              RateCode(c.teacher_rate_hz / 2, c.output_trace_ms, baseline=1.0),
                              name="kv_output")
        output.polarity = np.tile(population_polarity[population], B)
        output_inh = neuron_group(B * c.output_interneurons, c.interneuron, name="kv_output_inh")

        rng = np.random.default_rng(0)        # fixed anatomy: delays drawn once per build
        keys = self.key_synapse(d).synapses(inputs, hidden, name="kv_keys")
        connect_trials(keys, B, n_in, N)
        self.key_synapse(d).initialize(keys, rng=rng)              # K = 0: empty slots
        vals = self.value_synapse().synapses(hidden, output, name="kv_values")
        connect_trials(vals, B, N, n_out)
        self.value_synapse().initialize(vals, rng=rng)
        release = fixed_synapses(modulator, hidden, "kv_release", B, c.modulator.n_neurons, N,
                                 on_pre="M_post += release", weighted=False,
                                 namespace={"release": c.modulator.release})
        syn = {
            "gate": fixed_synapses(gate, hidden, "kv_gate_syn", B, N, N, "g_d", one_to_one=True),
            "teacher": fixed_synapses(teacher, output, "kv_teacher_syn", B, 2 * m, n_out, "g_e",
                                      pairs=onto_population),
            "teacher_inh": fixed_synapses(teacher_inh, output, "kv_teacher_inh_syn", B, 2 * m,
                                          n_out, "g_i", pairs=onto_population),
            "input_inh": fixed_synapses(inputs, hidden_inh, "kv_input_inh", B, n_in,
                                        c.hidden_interneurons, "g_e", p=c.input_to_inhibition_p,
                                        rng=rng),
            "hidden_inh": fixed_synapses(hidden, hidden_inh, "kv_hidden_inh_syn", B, N,
                                         c.hidden_interneurons, "g_e",
                                         p=c.hidden_to_inhibition_p, rng=rng),
            "inh_hidden": fixed_synapses(hidden_inh, hidden, "kv_inh_hidden", B,
                                         c.hidden_interneurons, N, "g_i"),
            "hidden_out_inh": fixed_synapses(hidden, output_inh, "kv_hidden_out_inh", B, N,
                                             c.output_interneurons, "g_e"),
            "out_out_inh": fixed_synapses(output, output_inh, "kv_out_out_inh", B, n_out,
                                          c.output_interneurons, "g_e"),
            "out_inh_out": fixed_synapses(output_inh, output, "kv_out_inh_out", B,
                                          c.output_interneurons, n_out, "g_i"),
        }
        for name, synapses in syn.items():
            synapses.delay = (c.delay_ms + c.delay_jitter_ms * rng.random(len(synapses))) * ms
            synapses.w = self.fixed_weights(d)[name] * nS
        groups = {"input": inputs, "gate": gate, "modulator": modulator, "teacher": teacher,
                  "teacher_inh": teacher_inh, "hidden": hidden, "hidden_inh": hidden_inh,
                  "output": output, "output_inh": output_inh}
        inputs.r_in, inputs.r_base = c.input_rate_hz * Hz, c.input_baseline_hz * Hz
        gate.r_gate = c.gate_rate_hz * Hz
        teacher.r_teach = teacher_inh.r_teach = c.teacher_rate_hz * Hz
        for name in SOURCES:
            groups[name].use_poisson = self.source_is_poisson(name)
        # the readout (all trials) and the physiology (trial 0 of every population)
        spikes = {"output": SpikeMonitor(output, name="kv_spikes_output"),
                  "hidden": SpikeMonitor(hidden, name="kv_spikes_hidden")}
        for name in ("input", "gate", "modulator", "hidden_inh", "output_inh", "teacher"):
            group = groups[name]
            spikes[name] = SpikeMonitor(group[:len(group) // B], name=f"kv_spikes_{name}")
        currents = StateMonitor(hidden, ["v", "g_e", "g_i"], record=np.arange(N), dt=1 * ms,
                                name="kv_hidden_state")
        monitors = [*spikes.values(), currents]
        traces = {}
        if record:
            traces["hidden"] = StateMonitor(hidden, ["v", "v_d", "plateau", "M", "rho"],
                                            record=np.arange(min(N, 4)), dt=0.5 * ms,
                                            name="kv_trace_hidden")
            traces["keys"] = StateMonitor(keys, "w", record=recorded_keys(N, d, c),
                                          dt=1 * ms, name="kv_trace_keys")
            monitors += list(traces.values())
        extras = closed_loop_apparatus(inputs, output, B, n_in, per_dim % d, out_dims, win,
                                       phase) if loop else []
        net = Network(*groups.values(), keys, vals, release, *syn.values(), *monitors, *extras,
                      name="kv_network")
        return {"B": B, "d": d, "ta": ta, "groups": groups, "synapses": {**syn, "keys": keys, "values": vals},
                "spikes": spikes, "currents": currents, "traces": traces, "net": net}

    # ------------------------------------------------------------------ driving
    def run(self, stream: EventStream, record: bool = False) -> np.ndarray:
        """Drive the circuit with ``stream``; returns the readout (B, T, m): each output
        dimension's ON minus OFF spike count in the read phase of every window (also at
        unscored steps).  ``self.physiology`` then holds the physiology of the run and, with
        ``record``, ``self.recorded`` the traces of trial 0."""
        from neurosim.spiking.physiology import circuit_physiology, circuit_record, kv_traces

        if stream.gate is None:
            raise ValueError("the key-value memory needs the stream's local third factors (gate)")
        if stream.gate.shape[2] != self.N:
            raise ValueError(f"gate has {stream.gate.shape[2]} neurons, the memory N = {self.N}")
        if closed_loop(stream) and stream.d != stream.m:
            raise ParameterError("feedback steps show the readout as the next input: they need "
                                 f"d == m (got d={stream.d}, m={stream.m})")
        B, steps = padded(stream.batch, self.device), padded_steps(stream.steps, self.device)
        w = self.circuit.windows
        shape = {"B": B, "steps": steps, "d": stream.d, "m": stream.m, "N": self.N,
                 "circuit": self.circuit.structure(), "dt_ms": w.dt_ms,
                 "duration_ms": steps * w.window_ms, "record": record,
                 "rules": [self.key_synapse().plasticity_code(),
                           self.value_synapse().plasticity_code(),
                           self.value_synapse().transmission_code()],
                 **({"closed_loop": True} if closed_loop(stream) else {})}
        handles = run_circuit(self, shape, self.stimulus(stream, B, steps), record,
                              stop=(stream.steps, w))
        monitor = handles["spikes"]["output"]
        k = self.circuit.cells_per_output
        counts = window_counts(np.asarray(monitor.t_), np.asarray(monitor.i),
                               B * 2 * stream.m * k, steps, w, w.settle_ms, w.read_ms)
        counts = counts.reshape(B, 2, stream.m, k, steps).sum(axis=3)
        y_hat = (counts[:, 0] - counts[:, 1]).transpose(0, 2, 1)
        self.physiology = circuit_physiology(handles, w, stream, "hidden", self.N,
                                             self.circuit.hidden)
        if record:
            self.recorded = circuit_record(handles, w, kv_traces(handles))
        return y_hat[:stream.batch, :stream.steps]


def closed_loop(stream: EventStream) -> bool:
    """Whether the stream has feedback steps (closed-loop stimulation)."""
    return stream.feedback is not None and bool(np.any(stream.feedback))


def closed_loop_apparatus(inputs, output, B: int, n_in: int, input_dims: np.ndarray,
                          output_dims: np.ndarray, window, phase: dict) -> list:
    """The closed-loop stimulation (module docstring): output -> input-cell counters of the
    same dimension (``input_dims``, ``output_dims``: a trial's cells' dimensions), counting ON
    minus OFF spikes in [settle_ms, read_ms) of each window, read as x = sign(count) and
    cleared at the start of every window (before the sources redraw)."""
    from brian2 import Synapses

    inputs.trial = np.repeat(np.arange(B), n_in)
    counting = "int(timestep(t, dt) % W_steps >= S_steps and timestep(t, dt) % W_steps < R_steps)"
    counters = Synapses(output, inputs, on_pre=f"count_post += polarity_pre*{counting}",
                        namespace=phase, name="kv_closed_loop")
    connect_trials(counters, B, len(output_dims), n_in,
                   pairs=np.nonzero(output_dims[:, None] == input_dims[None, :]))
    inputs.run_regularly("x_fed = sign(count)\ncount = 0", dt=window, when="start", order=-1,
                         name="kv_closed_loop_update")
    return [counters]


def recorded_keys(N: int, d: int, circuit: KVCircuit) -> np.ndarray:
    """Synapse indices (trial 0) of the first ON cell of dimensions 0..3 onto hidden cells 0..3."""
    cells = np.arange(min(d, 4)) * circuit.neurons_per_input
    return (cells[:, None] * N + np.arange(min(N, 4))[None]).ravel()
