"""Key-value memory with three-factor plasticity, spiking realization (Brian2).

The rate twin is :mod:`neurosim.circuits.key_value`; both consume the same
:class:`~neurosim.events.EventStream` and return y~ of shape (B, T, m).

Batching: the B trials of a stream are B independent copies of the circuit in
one Network (neuron index = trial * size + unit, synapses only within a trial),
so one build and one ``run`` serve the whole stream.

Presentation window (one per event-stream step, ``window`` = T1 + T2 + T3):

- T1, *integration*: the input spike trains of x_t arrive. Encoding: per input
  dimension an ON and an OFF neuron with rates r0 (1 + x) and r0 (1 - x), so
  x = +1 -> ON at 2 r0, OFF silent; -1 the reverse; 0 (occluded) -> both at
  the baseline r0. ``poisson=False``: regular trains (an integrate-and-fire
  clock with a random phase per window, so the count is exact); True:
  Poisson trains. Each input keeps a rate trace a_j = count / (r0 T1) in
  {0, 1, 2} (regular) and each hidden neuron a dendritic potential
  u_i = 1/2 sum_j w_ij a_j, which equals (K x)_i because the OFF synapse of a
  dimension always carries minus the ON synapse's weight (see the key rule).
- T2, *read*: hidden neurons fire as exponential escape-rate (Poisson)
  neurons, rate_i = r_hidden exp(beta u_i - c) / Z with Z = sum_k exp(beta u_k - c)
  over the trial's hidden layer: a shared inhibitory pool divides every rate by
  the population's summed drive (divisive normalization, a Brian2 summed
  variable updated once per time step; c = max(0, beta n - 600), n the number
  of non-zero inputs, is a feedforward-inhibition offset that only prevents
  floating-point overflow). So the spike *shares* of the hidden layer are
  exactly softmax(beta K x) in expectation, whatever the total rate -- the
  soft winner-take-all of the rate model (eq. 4) -- and the total rate is the
  constant r_hidden. We chose this normalized escape-rate population over
  lateral inhibition because lateral-inhibition dynamics give a k-WTA whose
  shares depend on time constants and gains, not a softmax with a known beta.
  Output units integrate the hidden spikes through the value weights V (a
  perfect integrator emitting an ON spike when v > theta and an OFF event when
  v < -theta); the readout y~ is the ON minus OFF count in T2 (eq. 5, up to a
  positive factor), scored by its sign (eq. 18). At the onset of T3 the
  integrator is reset (the clamp overrides the state left by the read).
- end of T2, *dendritic plateau*: where gamma_t,i q_t > 0 the hidden neuron
  emits a plateau event that updates all its input (key) synapses by the gated
  pre-only rule w <- w + eta (x_j - w), eta = min(1, (1 - S_i) q_t gamma_t,i)
  and x_j = clip(a_j - 1, -1, 1) (the presynaptic rate deviation from
  baseline: +-1, 0 when occluded) -- eq. 9; the dendritic potential moves by
  1/2 dw a_j, so u becomes K_new x.
- T3, *store*: the hidden layer fires again (now softmax(beta K_new x), eq. 10)
  and the output is clamped to the target: units are driven at r_clamp
  towards ON (y = +1) or OFF (y = -1) and ignore the hidden input. At the end
  of T3, in every window with q_t > 0, each hidden neuron emits a
  consolidation event that updates its outgoing value synapses with the
  presynaptic share h'_i = n_i / (r_hidden T3) (its T3 spike count over the
  expected total) and the postsynaptic clamp trace y_j = count / (r_clamp T3):
  gated Hebbian V <- V + eta (y h' - V) (eq. 11), or passive
  V <- lambda_t V + q eta~ y h' with lambda_t = 1 - q (1 - decay) (eq. 13, 16).
  Flashbulb metaplasticity (eq. 17): S_i <- 1 where (1 - S_i) q gamma_i > 1.
  ``value_write="slot"`` (TVT's slot memory, the paper's appendix B): the
  gated column is set to the clamp trace, V <- V + eta (y - V).

The read gain beta is a TimedArray per trial and window. ``similarity="cosine"``
(TVT: softmax of beta times the cosine similarity) uses the gain
beta / sqrt(d n): exact when every stored key row is a full +-1 key or empty
(norm sqrt(d) or 0), which holds for TVT's slot writes (eta in {0, 1}) of +-1
patterns.

All weight updates happen once per window at these two events (not per spike),
from the traces accumulated during the window: this is exactly the rate
model's order (read before plasticity, key write, then value write with the
new keys). Randomness in the spiking realization: Poisson hidden spikes (and
Poisson inputs if chosen). In cpp_standalone the random seed is fixed per
build (``seed``), so repeated runs of one build draw the same noise sequence.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from neurosim.circuits.key_value import KeyValueParameters
from neurosim.events import EventStream
from neurosim.protocol import ParameterError


def window_rows(a: np.ndarray) -> np.ndarray:
    """(B, steps, n) -> (steps, B * n): one TimedArray row per window, trial-major columns."""
    return np.ascontiguousarray(a.transpose(1, 0, 2).reshape(a.shape[1], -1))


@dataclass(frozen=True)
class WindowTiming:
    """A presentation window of three phases (time in ms) on a clock of dt_ms."""

    dt_ms: float = 0.1
    T1_ms: float = 5.0
    T2_ms: float = 10.0
    T3_ms: float = 6.0

    def steps(self, ms: float) -> int:
        count = ms / self.dt_ms
        if abs(count - round(count)) > 1e-9:
            raise ParameterError(f"{ms} ms is not a multiple of dt = {self.dt_ms} ms")
        return int(round(count))

    @property
    def window_ms(self) -> float:
        return self.T1_ms + self.T2_ms + self.T3_ms


@dataclass(frozen=True)
class KVTiming(WindowTiming):
    """Window layout and rates (time in ms, rates in Hz): T1 input integration,
    T2 read (readout counted here), T3 store (output clamped)."""

    r0_hz: float = 200.0    # baseline input rate; r0 * T1 = expected baseline count
    r_hidden_hz: float = 3000.0   # total hidden-layer rate per trial
    r_clamp_hz: float = 1000.0    # output clamp rate
    theta: float = 0.5      # output integrator threshold (in units of V)


@dataclass
class SpikingKeyValueMemory(KeyValueParameters):
    """N hidden neurons; the parameters of the rate :class:`KeyValueMemory`
    (validated by the same base class), plus the spike encoding (``poisson``),
    the timing and the Brian2 device."""

    poisson: bool = False
    timing: KVTiming = KVTiming()
    device: str = "runtime"
    seed: int = 0

    def __post_init__(self):
        super().__post_init__()
        if self.similarity == "cosine" and self.value_write != "slot":
            raise ParameterError("spiking key-value memory: the cosine read is available with "
                                 "value_write='slot' (TVT) only")

    # ------------------------------------------------------------------ inputs
    def stimulus(self, stream: EventStream, B: int, steps: int) -> dict[str, np.ndarray]:
        """TimedArray values (rows: windows) for a stream padded to B trials and
        ``steps`` windows (padding: silent windows and trials, q = 0)."""
        full = stream.padded(B, steps)
        x, y, q, gate, d = full.x, full.y, full.q, full.gate, stream.d
        rates = np.concatenate([1.0 + x, 1.0 - x], axis=2)            # (B, steps, 2d): ON, OFF
        active = (x != 0).sum(axis=2)
        if self.similarity == "cosine":   # rows of K are +-1 keys (norm sqrt(d)) or empty
            gain = self.beta / np.sqrt(np.maximum(d * active, 1))
        else:
            gain = np.full((B, steps), float(self.beta))
        shift = np.maximum(0.0, gain * active - 600.0)
        clamp = y * (q > 0)[..., None]
        return {"rate": window_rows(rates), "eta": window_rows(q[..., None] * gate),
                "q": np.ascontiguousarray(q.T), "shift": np.ascontiguousarray(shift.T),
                "gain": np.ascontiguousarray(gain.T), "clamp": window_rows(clamp)}

    def parameters(self) -> dict[str, float]:
        return {"slot": float(self.value_write == "slot"),
                "passive": float(self.value_write == "passive"),
                "decay": float(self.decay), "vrate": float(self.value_rate),
                "use_S": float(self.stability), "poisson": float(self.poisson)}

    # ------------------------------------------------------------------ circuit
    def build(self, shape: dict, values: dict | None = None, record: bool = False) -> dict:
        """Create the Brian2 objects for ``shape`` (B, steps, d, m, N, timing) and
        run the network (under a standalone device this only records the run).
        ``values``: TimedArray values and parameters (None: placeholders)."""
        import brian2 as b2
        from brian2 import Network, NeuronGroup, StateMonitor, Synapses, TimedArray, ms

        tm = KVTiming(**shape["timing"])
        B, steps, d, m, N = shape["B"], shape["steps"], shape["d"], shape["m"], shape["N"]
        W = tm.steps(tm.window_ms)
        P1, P2 = tm.steps(tm.T1_ms), tm.steps(tm.T1_ms + tm.T2_ms)
        win = tm.window_ms * ms
        if values is None:
            values = {"rate": np.ones((steps, B * 2 * d)), "eta": np.zeros((steps, B * N)),
                      "q": np.zeros((steps, B)), "shift": np.zeros((steps, B)),
                      "gain": np.ones((steps, B)),
                      "clamp": np.zeros((steps, B * m)), **self.parameters()}
        ta = {name: TimedArray(values[name], dt=win, name=f"kv_ta_{name}")
              for name in ("rate", "eta", "q", "shift", "gain", "clamp")}
        b2.seed(self.seed)
        count0 = tm.r0_hz * tm.T1_ms * 1e-3
        ns = {"kv_ta_rate": ta["rate"], "kv_ta_eta": ta["eta"], "kv_ta_q": ta["q"],
              "kv_ta_shift": ta["shift"], "kv_ta_clamp": ta["clamp"], "kv_ta_gain": ta["gain"],
              "W_steps": W, "P1": P1, "P2": P2, "count0": count0,
              "r0": tm.r0_hz * b2.Hz, "r_hidden": tm.r_hidden_hz * b2.Hz,
              "r_clamp": tm.r_clamp_hz * b2.Hz, "theta": tm.theta,
              "inv_n3": 1.0 / (tm.r_hidden_hz * tm.T3_ms * 1e-3),
              "inv_c3": tm.theta / (tm.r_clamp_hz * tm.T3_ms * 1e-3)}

        inputs = NeuronGroup(
            B * 2 * d, """
            ph = timestep(t, dt) % W_steps : integer
            f = kv_ta_rate(t, i) : 1
            dv/dt = f * r0 * int(ph < P1) : 1
            a : 1
            use_poisson : 1 (shared, constant)
            """,
            threshold="ph < P1 and ((use_poisson == 0 and v > 1) or "
                      "(use_poisson > 0 and rand() < f * r0 * dt))",
            reset="v -= 1.0 * (use_poisson == 0)\na += 1.0 / count0",
            method="euler", namespace=ns, name="kv_input")
        inputs.use_poisson = values["poisson"]
        inputs.run_regularly("a = 0\nv = 0.05 + 0.9 * rand()", dt=win, when="start",
                             name="kv_input_reset")

        hidden = NeuronGroup(
            B * N, """
            ph = timestep(t, dt) % W_steps : integer
            trial : integer (constant)
            u : 1
            S : 1
            n3 : 1
            Z : 1 (linked)
            eta_raw = kv_ta_eta(t, i) : 1
            eta = clip(eta_raw * (1 - use_S * S), 0, 1e12) : 1
            qt = kv_ta_q(t, trial) : 1
            shift = kv_ta_shift(t, trial) : 1
            gain = kv_ta_gain(t, trial) : 1
            use_S : 1 (shared, constant)
            """,
            threshold="ph >= P1 and rand() < r_hidden * dt * exp(gain * u - shift) / Z",
            reset="n3 += int(ph >= P2)",
            events={"plateau": "ph == P2 - 1 and eta > 0",
                    "consolidate": "ph == W_steps - 1 and qt > 0"},
            namespace=ns, name="kv_hidden")
        hidden.trial = np.repeat(np.arange(B), N)
        hidden.use_S = values["use_S"]
        hidden.run_on_event("consolidate", "S = S + use_S * (1 - S) * int(eta > 1)")
        hidden.run_regularly("u = 0\nn3 = 0", dt=win, when="start", name="kv_hidden_reset")

        pool = NeuronGroup(B, "Z : 1", name="kv_pool")
        normalize = Synapses(hidden, pool, "Z_post = exp(gain_pre * u_pre - shift_pre) : 1 (summed)",
                             name="kv_normalize")
        normalize.connect(i=np.arange(B * N), j=np.repeat(np.arange(B), N))
        hidden.Z = b2.linked_var(pool, "Z", index=np.repeat(np.arange(B), N))

        output = NeuronGroup(
            B * m, """
            ph = timestep(t, dt) % W_steps : integer
            dv/dt = r_clamp * kv_ta_clamp(t, i) * int(ph >= P2) : 1
            c2 : 1
            c3 : 1
            """,
            threshold="v > theta", reset="v -= theta\nc2 += int(ph >= P1 and ph < P2)\n"
                                         "c3 += int(ph >= P2)",
            events={"off": "v < -theta", "clamp_onset": "ph == P2"}, method="euler",
            namespace=ns, name="kv_output")
        # the clamp overrides the state left by the read phase
        output.run_on_event("clamp_onset", "v = 0")
        output.run_on_event("off", "v += theta\nc2 -= int(ph >= P1 and ph < P2)\nc3 -= int(ph >= P2)")
        readout = StateMonitor(output, "c2", record=True, dt=win, when="start", order=-10,
                               name="kv_readout")
        output.run_regularly("v = 0\nc2 = 0\nc3 = 0", dt=win, when="start",
                             name="kv_output_reset")

        keys = Synapses(
            inputs, hidden, "w : 1",
            on_pre={"pre": "u_post += 0.5 * w / count0"},
            on_post={"plateau": """
                dw = clip(eta_post, 0, 1) * (clip(a_pre - 1, -1, 1) - w)
                u_post += 0.5 * dw * a_pre
                w += dw
                """},
            on_event={"pre": "spike", "plateau": "plateau"}, namespace=ns, name="kv_keys")
        pre_k, post_k = np.meshgrid(np.arange(2 * d), np.arange(N), indexing="ij")
        offs = np.arange(B)[:, None]
        keys.connect(i=(offs * 2 * d + pre_k.ravel()[None]).ravel(),
                     j=(offs * N + post_k.ravel()[None]).ravel())

        vals = Synapses(
            hidden, output, """
            V : 1
            slot : 1 (shared, constant)
            passive : 1 (shared, constant)
            decay : 1 (shared, constant)
            vrate : 1 (shared, constant)
            """,
            on_pre={"pre": "v_post += V * int(ph_post < P2)",
                    "learn": """
                yh = c3_post * inv_c3 * (slot + (1 - slot) * n3_pre * inv_n3)
                lam = 1 - qt_pre * (1 - decay)
                V = passive * (lam * V + qt_pre * vrate * yh) + (1 - passive) * (V + clip(eta_pre, 0, 1) * (yh - V))
                """},
            on_event={"pre": "spike", "learn": "consolidate"}, namespace=ns, name="kv_values")
        pre_v, post_v = np.meshgrid(np.arange(N), np.arange(m), indexing="ij")
        vals.connect(i=(offs * N + pre_v.ravel()[None]).ravel(),
                     j=(offs * m + post_v.ravel()[None]).ravel())
        vals.slot = values["slot"]
        vals.passive = values["passive"]
        vals.decay = values["decay"]
        vals.vrate = values["vrate"]

        objects = [inputs, hidden, pool, normalize, output, readout, keys, vals]
        handles = {"ta": ta, "inputs": inputs, "hidden": hidden, "values": vals,
                   "readout": readout, "keys": keys, "output": output}
        if record:
            from brian2 import EventMonitor, PopulationRateMonitor, SpikeMonitor

            handles["record"] = {
                "input": SpikeMonitor(inputs, name="kv_rec_input"),
                "hidden": SpikeMonitor(hidden, name="kv_rec_hidden"),
                "output_on": SpikeMonitor(output, name="kv_rec_on"),
                "output_off": EventMonitor(output, "off", name="kv_rec_off"),
                "hidden_rate": PopulationRateMonitor(hidden, name="kv_rec_rate"),
            }
            objects += list(handles["record"].values())
        net = Network(*objects, name="kv_network")
        net.run(steps * win + b2.defaultclock.dt, namespace=ns)
        handles["net"] = net
        return handles

    def run_args(self, handles: dict, values: dict) -> dict:
        args = {handles["ta"][name]: values[name] for name in handles["ta"]}
        params = self.parameters()
        args[handles["hidden"].use_S] = params["use_S"]
        args[handles["inputs"].use_poisson] = params["poisson"]
        for name in ("slot", "passive", "decay", "vrate"):
            args[getattr(handles["values"], name)] = params[name]
        return args

    # ------------------------------------------------------------------ driving
    def run(self, stream: EventStream, record: bool = False) -> np.ndarray:
        """Drive the circuit with ``stream``; returns the readout (B, T, m): the
        output ON minus OFF spike counts of each window's read phase (also at
        unscored steps). ``record``: keep the monitors' data in ``self.recorded``."""
        if stream.gate is None:
            raise ValueError("the key-value memory needs the stream's local third factors (gate)")
        if stream.gate.shape[2] != self.N:
            raise ValueError(f"gate has {stream.gate.shape[2]} neurons, the memory N = {self.N}")
        if stream.feedback is not None and np.any(stream.feedback):
            raise ParameterError("feedback (recurrent sequence) streams are not available on "
                                 "the spiking backend")
        B, steps = padded(stream.batch, self.device), padded_steps(stream.steps, self.device)
        shape = {"B": B, "steps": steps, "d": stream.d, "m": stream.m, "N": self.N,
                 "timing": asdict(self.timing), "dt_ms": self.timing.dt_ms, "record": record,
                 "seed": self.seed}
        values = self.stimulus(stream, B, steps)
        handles = run_circuit(self, shape, values, record)
        counts = np.asarray(handles["readout"].c2)[:, 1:steps + 1]      # (B*m, steps)
        y_hat = counts.reshape(B, stream.m, steps).transpose(0, 2, 1)
        if record:
            self.recorded = collect_record(handles, self.timing)
        return y_hat[:stream.batch, :stream.steps]


def padded(batch: int, device: str) -> int:
    """Standalone builds are cached per shape: the batch is rounded up to a
    multiple of 16 (padding trials are silent; a single trial stays one) so that a sweep, e.g. the
    capacity search with its shrinking set of open trials, re-uses few builds."""
    if device == "runtime" or batch == 1:
        return batch
    return -(-batch // 16) * 16


def padded_steps(steps: int, device: str) -> int:
    """Standalone: steps rounded up to a power of two (at least 16), above 256
    to a multiple of 256 (padding windows are silent, q = 0)."""
    if device == "runtime":
        return steps
    return max(16, 1 << (steps - 1).bit_length()) if steps <= 256 else -(-steps // 256) * 256


def run_circuit(model, shape: dict, values: dict, record: bool) -> dict:
    """Build-or-reuse and run ``model`` (a spiking circuit with ``build`` and
    ``run_args``) on ``model.device``; returns its object handles."""
    from neurosim import devices

    if model.device == "runtime":
        import brian2

        devices.use_runtime()
        brian2.start_scope()
        brian2.defaultclock.dt = shape["dt_ms"] * brian2.ms
        return model.build(shape, {**values, **model.parameters()}, record=record)
    devices.check_device(model.device)
    build = devices.CACHE.get(type(model).__name__, model.device, shape,
                              lambda s: model.build(s, None, record=s["record"]))
    devices.CACHE.run(build, model.run_args(build.objects, values))
    return build.objects


def collect_record(handles: dict, timing) -> dict:
    """Arrays of the recording monitors: spike times (s) and indices per
    population, and the smoothed population rates (Hz) with their times."""
    from brian2 import Hz, ms

    out = {}
    for name, monitor in handles["record"].items():
        if name.endswith("rate"):
            out[f"{name}_t"] = np.asarray(monitor.t_)
            out[f"{name}_hz"] = np.asarray(monitor.smooth_rate(width=1 * ms) / Hz)
        else:
            out[f"{name}_t"] = np.asarray(monitor.t_)
            out[f"{name}_i"] = np.asarray(monitor.i)
    out["window_s"] = np.asarray(timing.window_ms * 1e-3)
    return out
