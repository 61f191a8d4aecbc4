"""Classical Hopfield network (and BAM) as a spiking attractor network (Brian2).

The rate twin is :class:`neurosim.circuits.hebbian.HebbianMemory` with
``bidirectional=False``; both consume the same event stream and return the
readout (B, T, d).

Each Hopfield unit i (d per trial, B trials as independent copies in one
Network) is one integrate-and-fire neuron with two output events: an ON spike
when v > 1 and an OFF event when v < -1 (reset v = 0 and a refractory period
t_ref after either), so its signed activity ON - OFF carries the +-1 state and
a silent unit is the rate model's 0. Recurrent synapses carry *signed
currents*: an ON spike of unit j adds W_ij to unit i's synaptic current, an
OFF event subtracts it (exponential current, time constant tau_s). The drive
is integrated with a large gain, so a unit fires at its saturated rate
1 / t_ref with the sign of its input: the spiking analogue of s_i = sign(W s).

Presentation window (one per stream step) = T1 + T2 + T3:

- T1, *cue*: the input x_t is applied as a strong external current
  (+1 -> ON, -1 -> OFF, 0 = occluded -> no cue); recurrent input is off.
- T2, *recall*: cue off, the network runs on its recurrent currents from the
  state left by the cue; the attractor it falls into is read out as the
  ON - OFF count of each unit in the last ``read_ms`` of T2 (sign, eq. 18).
  This is continuous-time, effectively asynchronous dynamics, where the rate
  model updates synchronously (up to ``max_iterations``): the two agree on
  fixed points but can differ where the synchronous map cycles.
- T3, *store*: where q_t > 0, units are clamped to the target y_t (strong
  current) and at the end of T3 every unit emits a store event that updates
  its incoming synapses once (Hebbian outer product, as the rate model):
      W_ij <- lambda_t W_ij + w_t sign(post T3 activity) sign(pre T1 activity)
  lambda_t = 1 - min(q, 1) (1 - decay), w_t = q (or ``flashbulb_strength``
  where q > 1). The diagonal is kept (a unit's self-synapse), as in the rate
  model and the reference code.

BAM (``bidirectional=True``): the x and y layers are units of one group with
synapses only between the layers (x_j -> y_i and y_i -> x_j, both learning
W_ij from the same pre/post signs, so the backward weights stay W^T). Stores
cue and clamp both layers ([x, y]); a query cues the x layer with x~ (y
layer silent) and the readout is the y layer after recurrent settling.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from neurosim.events import EventStream
from neurosim.protocol import ParameterError

from .hebbian import HebbianMemory
from .kv_spiking import WindowTiming, padded, padded_steps, run_circuit, window_rows


@dataclass(frozen=True)
class HopfieldTiming(WindowTiming):
    """T1 cue, T2 recurrent recall, T3 store (clamp); the readout is the last
    read_ms of T2."""

    T1_ms: float = 3.0
    T2_ms: float = 20.0
    T3_ms: float = 3.0
    read_ms: float = 8.0    # readout: last part of T2
    t_ref_ms: float = 2.0   # refractory period: saturated rate 1 / t_ref
    tau_s_ms: float = 4.0   # synaptic current time constant
    gain_per_ms: float = 20.0   # integration gain of the recurrent current
    cue_per_ms: float = 100.0   # cue / clamp current


@dataclass
class SpikingHopfield:
    """``bidirectional=False``: Hopfield network (d units, all-to-all with the
    diagonal); True: BAM (a d-unit x layer and an m-unit y layer, synapses
    x_j -> y_i and y_i -> x_j carrying the same W_ij, readout the y layer)."""

    bidirectional: bool = False
    decay: float = 1.0
    flashbulb_strength: float | None = None
    timing: HopfieldTiming = HopfieldTiming()
    device: str = "runtime"
    seed: int = 0

    def __post_init__(self):
        if not 0 < self.decay <= 1:
            raise ValueError(f"decay lambda must lie in (0, 1] (got {self.decay})")

    def stimulus(self, stream: EventStream, B: int, steps: int) -> dict[str, np.ndarray]:
        full = stream.padded(B, steps)
        x, y, q = full.x, full.y, full.q
        lam, strength = HebbianMemory(decay=self.decay, flashbulb_strength=self.flashbulb_strength,
                                      ).store_weights(q)
        stored = (q > 0)[..., None]
        if self.bidirectional:   # units [x layer, y layer]; y is cued only when stored
            cue, clamp = np.concatenate([x, y * stored], 2), np.concatenate([x, y], 2) * stored
        else:
            cue, clamp = x, y * stored
        return {"cue": window_rows(cue), "clamp": window_rows(clamp),
                "q": np.ascontiguousarray(q.T), "lam": np.ascontiguousarray(lam.T),
                "wq": np.ascontiguousarray(strength.T)}

    def parameters(self) -> dict:
        return {}

    def run_args(self, handles: dict, values: dict) -> dict:
        return {handles["ta"][name]: values[name] for name in handles["ta"]}

    def build(self, shape: dict, values: dict | None = None, record: bool = False) -> dict:
        import brian2 as b2
        from brian2 import Network, NeuronGroup, StateMonitor, Synapses, TimedArray, ms

        tm = HopfieldTiming(**shape["timing"])
        B, steps, d, m = shape["B"], shape["steps"], shape["d"], shape["m"]
        n = d + m if shape["bidirectional"] else d
        W = tm.steps(tm.window_ms)
        P1, P2 = tm.steps(tm.T1_ms), tm.steps(tm.T1_ms + tm.T2_ms)
        R = P2 - tm.steps(tm.read_ms)
        win = tm.window_ms * ms
        if values is None:
            values = {"cue": np.zeros((steps, B * n)), "clamp": np.zeros((steps, B * n)),
                      "q": np.zeros((steps, B)), "lam": np.ones((steps, B)),
                      "wq": np.zeros((steps, B))}
        ta = {name: TimedArray(values[name], dt=win, name=f"hop_ta_{name}")
              for name in ("cue", "clamp", "q", "lam", "wq")}
        b2.seed(self.seed)
        ns = {f"hop_ta_{k}": v for k, v in ta.items()}
        ns.update({"W_steps": W, "P1": P1, "P2": P2, "R": R, "t_ref": tm.t_ref_ms * ms,
                   "tau_s": tm.tau_s_ms * ms, "gain": tm.gain_per_ms / ms,
                   "gain_cue": tm.cue_per_ms / ms})
        units = NeuronGroup(
            B * n, """
            ph = timestep(t, dt) % W_steps : integer
            trial : integer (constant)
            cue = hop_ta_cue(t, i) * int(ph < P1) + hop_ta_clamp(t, i) * int(ph >= P2) : 1
            ready = int(t - tlast > t_ref) : 1
            dv/dt = (gain * I * int(ph >= P1 and ph < P2) + gain_cue * cue) * ready : 1
            dI/dt = -I / tau_s : 1
            tlast : second
            c1 : 1
            c2 : 1
            c3 : 1
            qt = hop_ta_q(t, trial) : 1
            lam = hop_ta_lam(t, trial) : 1
            wq = hop_ta_wq(t, trial) : 1
            """,
            threshold="v > 1", reset="""
            v = 0
            tlast = t
            c1 += int(ph < P1)
            c2 += int(ph >= R and ph < P2)
            c3 += int(ph >= P2)
            """,
            events={"off": "v < -1", "store": "ph == W_steps - 1 and qt > 0"},
            method="euler", namespace=ns, name="hop_units")
        units.run_on_event("off", """
            v = 0
            tlast = t
            c1 -= int(ph < P1)
            c2 -= int(ph >= R and ph < P2)
            c3 -= int(ph >= P2)
            """)
        units.trial = np.repeat(np.arange(B), n)
        units.tlast = -1e9 * ms
        readout = StateMonitor(units, "c2", record=True, dt=win, when="start", order=-10,
                               name="hop_readout")
        units.run_regularly("v = 0\nI = 0\nc1 = 0\nc2 = 0\nc3 = 0", dt=win, when="start",
                            name="hop_reset")
        rec = Synapses(
            units, units, "Wt : 1",
            on_pre={"on": "I_post += Wt", "off": "I_post -= Wt"},
            on_post={"store": "Wt = lam_post * Wt + wq_post * (int(c3_post > 0) - "
                              "int(c3_post < 0)) * (int(c1_pre > 0) - int(c1_pre < 0))"},
            on_event={"on": "spike", "off": "off", "store": "store"},
            namespace=ns, name="hop_recurrent")
        if shape["bidirectional"]:
            xs, ys = np.meshgrid(np.arange(d), d + np.arange(m), indexing="ij")
            pre = np.concatenate([xs.ravel(), ys.ravel()])
            post = np.concatenate([ys.ravel(), xs.ravel()])
        else:
            pre, post = (a.ravel() for a in np.meshgrid(np.arange(d), np.arange(d), indexing="ij"))
        offs = np.arange(B)[:, None] * n
        rec.connect(i=(offs + pre[None]).ravel(), j=(offs + post[None]).ravel())
        objects = [units, readout, rec]
        handles = {"ta": ta, "units": units, "readout": readout, "recurrent": rec}
        if record:
            from brian2 import EventMonitor, PopulationRateMonitor, SpikeMonitor

            handles["record"] = {"units_on": SpikeMonitor(units, name="hop_rec_on"),
                                 "units_off": EventMonitor(units, "off", name="hop_rec_off"),
                                 "units_rate": PopulationRateMonitor(units, name="hop_rec_rate")}
            objects += list(handles["record"].values())
        net = Network(*objects, name="hop_network")
        net.run(steps * win + b2.defaultclock.dt, namespace=ns)
        handles["net"] = net
        return handles

    def run(self, stream: EventStream, record: bool = False) -> np.ndarray:
        """Readout (B, T, d): ON - OFF counts of the recall phase of every window."""
        from .kv_spiking import collect_record

        if stream.d != stream.m and not self.bidirectional:
            raise ValueError(f"a Hopfield network needs d == m (got d={stream.d}, m={stream.m})")
        if stream.feedback is not None and np.any(stream.feedback):
            raise ParameterError("feedback (recurrent sequence) streams are not available on "
                                 "the spiking backend")
        B, steps = padded(stream.batch, self.device), padded_steps(stream.steps, self.device)
        shape = {"B": B, "steps": steps, "d": stream.d, "m": stream.m,
                 "bidirectional": self.bidirectional, "timing": asdict(self.timing),
                 "dt_ms": self.timing.dt_ms, "record": record, "seed": self.seed}
        handles = run_circuit(self, shape, self.stimulus(stream, B, steps), record)
        counts = np.asarray(handles["readout"].c2)[:, 1:steps + 1]
        n = stream.d + stream.m if self.bidirectional else stream.d
        y_hat = counts.reshape(B, n, steps).transpose(0, 2, 1)[:, :, n - stream.m:]
        if record:
            self.recorded = collect_record(handles, self.timing)
        return y_hat[:stream.batch, :stream.steps]
