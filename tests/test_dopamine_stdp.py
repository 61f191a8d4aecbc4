"""Dopamine-modulated STDP (neurosim.spiking.blocks.DopamineSTDP): a hand-computed case, units,
stock Brian2 groups, and the cross-check against NEST's stdp_dopamine_synapse (the nest extra)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from neurosim.errors import ParameterError
from neurosim.spiking import devices
from neurosim.spiking.blocks import DopamineSTDP
from neurosim.spiking.nest_crosscheck import (SpikeTrains, bounds_reached, poisson_trains,
                                              run_brian2, run_nest)

# Relative agreement with NEST: both integrate the same closed form between the same events in
# double precision, so only rounding separates them (measured: about 1e-12).
RTOL = 1e-6


def test_one_pairing_then_dopamine_by_hand():
    """Pre at 10 ms, post at 14 ms (seen at 15 ms: 1 ms dendritic delay), a dopaminergic spike
    at 20 ms (n rises at 21 ms); state at 500 ms.  By hand: c = A+ exp(-5/20) at 15 ms;
    n = 1 / tau_n from 21 ms; w = w0 + c(21) n(21) tau_s (1 - exp(-479/tau_s))."""
    rule = DopamineSTDP()
    trains = SpikeTrains(pre=[np.array([10.0])], post=[np.array([14.0])],
                         dopamine=[np.array([20.0])], duration_ms=500.0, dt_ms=0.1)
    got = run_brian2(trains, rule, np.array([[5.0]]), [500.0])
    c15 = 1.0 * math.exp(-5 / 20)
    c21 = c15 * math.exp(-6 / 1000)
    tau_s = 1000 * 200 / 1200
    w = 5.0 + c21 * (1 / 200) * tau_s * (1 - math.exp(-479 / tau_s))
    assert got["c"][0, 0, 0] == pytest.approx(c15 * math.exp(-485 / 1000), rel=1e-12)
    assert got["n"][0, 0, 0] == pytest.approx(math.exp(-479 / 200) / 200, rel=1e-12)
    assert got["w"][0, 0, 0] == pytest.approx(w, rel=1e-12)


def test_post_before_pre_depresses_and_a_baseline_above_n_turns_it():
    """Post at 10 ms (seen at 11), pre at 30 ms: c = -A- exp(-19/20) < 0; with dopamine the
    weight falls; with a baseline b above n it rises (dw/dt = c (n - b))."""
    trains = SpikeTrains(pre=[np.array([30.0])], post=[np.array([10.0])],
                         dopamine=[np.array([40.0])], duration_ms=300.0, dt_ms=0.1)
    falls = run_brian2(trains, DopamineSTDP(), np.array([[5.0]]), [300.0])
    rises = run_brian2(trains, DopamineSTDP(b=0.01), np.array([[5.0]]), [300.0])
    assert falls["c"][0, 0, 0] == pytest.approx(-1.5 * math.exp(-19 / 20) * math.exp(-270 / 1000))
    assert falls["w"][0, 0, 0] < 5.0 < rises["w"][0, 0, 0]


def test_parameters_take_quantities_and_a_wrong_dimension_is_one_line():
    from brian2 import nS, second

    assert DopamineSTDP(tau_c=2 * second).tau_c == 2000.0
    with pytest.raises(ParameterError) as error:
        DopamineSTDP(tau_n=3 * nS)
    message = str(error.value)
    assert "\n" not in message and "tau_n" in message and "ms" in message and "nS" in message
    with pytest.raises(ParameterError, match="Wmin"):
        DopamineSTDP(Wmin=2.0, Wmax=1.0)


def test_stock_brian2_groups_learn_and_a_target_without_dopamine_is_refused():
    """A PoissonGroup presynaptic, a plain LIF NeuronGroup (with the concentration lines) as the
    target, a PoissonGroup of dopaminergic cells: the weights change."""
    import brian2 as b2

    from neurosim.spiking.blocks import LIF, neuron_group

    devices.reset()
    b2.prefs.codegen.target = "numpy"
    b2.start_scope()
    rule = DopamineSTDP(Wmax=10.0)
    pre = b2.PoissonGroup(20, 20 * b2.Hz, name="stock_pre")
    dopaminergic = b2.PoissonGroup(5, 10 * b2.Hz, name="stock_dopaminergic")
    post = neuron_group(4, LIF(), rule.concentration(), name="stock_post")
    post.I_ext = 300 * b2.pA
    release = rule.release(dopaminergic, post, name="stock_release")
    plastic = rule.synapses(pre, post, name="stock_plastic", transmit="g_e_post += w*0.1*nS")
    plastic.connect()
    plastic.w = 5.0
    b2.Network(pre, dopaminergic, post, release, plastic).run(300 * b2.ms, namespace={})
    assert np.std(np.asarray(plastic.w)) > 0
    plain = b2.NeuronGroup(2, "v : 1", name="stock_plain")
    with pytest.raises(ParameterError, match="concentration"):
        rule.synapses(pre, plain, name="refused")


def crosscheck_trains(seed: int):
    """10 s of Poisson trains: 6 presynaptic cells at 5-20 Hz, 3 postsynaptic at 10 Hz, 4
    dopaminergic at 8 Hz; 18 synapses with initial weights from 10 to 60."""
    trains = poisson_trains(np.random.default_rng(seed), (np.linspace(5, 20, 6), 10.0, 8.0),
                            (6, 3, 4), 10_000.0, 0.1)
    return trains, np.linspace(10, 60, 18).reshape(6, 3)


def assert_agrees_with_nest(trains, weights, device, directory):
    pytest.importorskip("nest", reason="the NEST cross-check needs the nest extra")
    rule = DopamineSTDP(Wmin=-1e4, Wmax=1e4)
    checkpoints = [2000.0, 4000.0, 6000.0, 8000.0, 10000.0]
    nest_state = run_nest(trains, rule, weights, checkpoints)
    brian = run_brian2(trains, rule, weights, checkpoints, device=device, directory=directory)
    k = slice(None) if device == "runtime" else slice(-1, None)
    assert not bounds_reached(rule, nest_state["w"])
    assert np.abs(nest_state["w"][-1] - weights).min() > 1.0        # the weights moved
    for name in ("w", "c", "n"):
        np.testing.assert_allclose(brian[name], nest_state[name][k], rtol=RTOL,
                                   atol=RTOL * np.abs(nest_state[name]).max(), err_msg=name)


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_runtime_agrees_with_nests_stdp_dopamine_synapse(seed):
    """The same trains on a 1 ms grid (coincident pre, post and dopaminergic spikes are common
    there) through NEST 3 and Brian2's runtime device: w, c and n of every synapse agree to a
    relative 1e-6 every 2 s, for three seeds."""
    trains, weights = crosscheck_trains(seed)
    coarse = SpikeTrains(*([np.unique(np.round(t)) for t in group]
                           for group in (trains.pre, trains.post, trains.dopamine)),
                         trains.duration_ms, 1.0)
    assert_agrees_with_nest(coarse, weights, "runtime", None)


def test_cpp_standalone_agrees_with_nests_stdp_dopamine_synapse(tmp_path):
    """The same at 0.1 ms under cpp_standalone (one run: compared at 10 s)."""
    trains, weights = crosscheck_trains(7)
    assert_agrees_with_nest(trains, weights, "cpp_standalone", str(tmp_path / "build"))
