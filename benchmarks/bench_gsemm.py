"""Throughput of the batched numpy RK4 of Dense GSEMM against per-network Python loops.

    python benchmarks/bench_gsemm.py [--steps 200] [--degree 3] [--json out.json]

N_f = 100, one cycle, alpha_s = 1, alpha_c = 1.5, dt = 0.01. Reports network-steps per second of

  loop_reference_style  one network, Python loop over steps, written the way the paper's public
                        code is (AdiabaticEpisodicTanh): derivative functions that rebuild the
                        N x N interaction matrices alpha_s Xi Xi^T and alpha_c Xi Phi Xi^T at every
                        call, V_f advanced by RK4 with V_d frozen, then V_d by its own RK4.
                        That code only has the linear (degree-1) model, so it runs degree 1.
  loop_lean             one network, Python loop, the coupled RK4 of eq. 9-10 on 1-D arrays with
                        the matrices precomputed, float64 (the fastest honest per-network loop).
  batched GxA, K        circuits.gsemm.DenseGSEMM: G memory sets x A networks per set, one RK4
                        step for all, in three forms:
                          vd_float64  the paper's (V_f, V_d), float64 (the previous code)
                          q_float64   (V_f, q = Xi^T V_d): one product fewer per stage
                          q_float32   the same in float32 (what gsemm-capacity runs where safe)
                        12x9 K=64 is the batch gsemm-capacity runs (12 seeds x 9 alpha_c values)
                        at degree 3; 256x1 (256 networks with their own Xi), 1x256 (256 sharing
                        Xi, an alpha_c sweep) and 16x16 at K = 50.
Loops run K = 50. All with one BLAS thread (circuits.gsemm.blas_threads), in one run, timed
by CPU time (see _rate).
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from neurosim.circuits.gsemm.rate import (DenseGSEMM, blas_threads, cycle_graph, int_power,
                                          phi_from_graph, random_memories)

N_F, K, ALPHA_S, ALPHA_C, T_F, T_D, DT = 100, 50, 1.0, 1.5, 1.0, 20.0, 0.01
BATCHES = ((12, 9, 64), (256, 1, K), (1, 256, K), (16, 16, K))     # (G, A, K)
FORMS = ("vd_float64", "q_float64", "q_float32")


class ReferenceStyleLoop:
    """One network, structured like the public code's AdiabaticEpisodicTanh (degree 1)."""

    def __init__(self, xi, phi):
        self.xi, self.phi = xi, phi
        self.v = xi[:, 0].copy()
        self.v_d = np.zeros(N_F)

    def g(self, x):
        return np.tanh(x)

    def func_v(self, v):
        return (1 / T_F) * (ALPHA_S * (self.xi @ self.xi.T) @ self.g(v)
                            + ALPHA_C * (self.xi @ self.phi @ self.xi.T) @ self.v_d - v)

    def func_v_d(self, v_d):
        return (1 / T_D) * (self.g(self.v) - v_d)

    @staticmethod
    def get_d(f, x):
        k1 = DT * f(x)
        k2 = DT * f(x + k1 / 2)
        k3 = DT * f(x + k2 / 2)
        k4 = DT * f(x + k3)
        return (k1 + 2 * k2 + 2 * k3 + k4) / 6

    def update(self):
        self.v += self.get_d(self.func_v, self.v)
        self.v_d += self.get_d(self.func_v_d, self.v_d)


class LeanLoop:
    """One network: the coupled RK4 of eq. 9-10 on 1-D arrays, matrices precomputed."""

    def __init__(self, xi, phi, degree):
        self.xi, self.xi_t, self.xi_phi = xi, np.ascontiguousarray(xi.T), xi @ phi
        self.degree = degree
        self.v, self.v_d = xi[:, 0].copy(), np.zeros(N_F)
        self.sa = np.sqrt(ALPHA_S)

    def f(self, v, v_d):
        t = np.tanh(v)
        h = self.sa * (t @ self.xi) + ALPHA_C * (v_d @ self.xi_phi)
        return (self.sa * (int_power(h, self.degree) @ self.xi_t) - v) / T_F, (t - v_d) / T_D

    def update(self):
        v, d = self.v, self.v_d
        a1, b1 = self.f(v, d)
        a2, b2 = self.f(v + DT / 2 * a1, d + DT / 2 * b1)
        a3, b3 = self.f(v + DT / 2 * a2, d + DT / 2 * b2)
        a4, b4 = self.f(v + DT * a3, d + DT * b3)
        self.v = v + DT / 6 * (a1 + 2 * a2 + 2 * a3 + a4)
        self.v_d = d + DT / 6 * (b1 + 2 * b2 + 2 * b3 + b4)


def _rate(step, steps: int, networks: int, repeats: int = 5) -> float:
    """Best of `repeats` timings of this process's CPU time, in network-steps per second.

    Everything runs on one thread, so CPU time equals wall time on an idle machine and is not
    inflated by other jobs waiting for the same cores on a shared one.
    """
    step()                                              # warm up
    best = np.inf
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(steps):
            step()
        best = min(best, time.process_time() - start)
    return networks * steps / best


def _batched_step(net: DenseGSEMM, form: str):
    """A closure advancing the batch by one RK4 step in the given form."""
    vf, vd = net.cue_state(0)
    if form.startswith("vd"):
        state, advance = [vf, vd], net.rk4_step
    else:
        state, advance = [vf, net.delayed_overlaps(vd)], net.rk4_step_q

    def step():
        state[:] = advance(state[0], state[1], DT)
    return step


def run(steps: int = 200, degree: int = 3) -> dict:
    rng = np.random.default_rng(0)
    xi1 = random_memories(rng, 1, N_F, K)[0]
    phi1 = phi_from_graph(cycle_graph(range(K)))
    degrees = sorted({1, degree})
    results = {}
    with blas_threads(1):
        ref = ReferenceStyleLoop(xi1, phi1)
        results["loop_reference_style_degree1"] = _rate(ref.update, max(5, steps // 4), 1)
        for d in degrees:
            lean = LeanLoop(xi1, phi1, d)
            results[f"loop_lean_degree{d}"] = _rate(lean.update, steps, 1)
        for G, A, k in BATCHES:
            xi = random_memories(rng, G, N_F, k)
            phi = phi_from_graph(cycle_graph(range(k)))
            for d in degrees:
                for form in FORMS:
                    net = DenseGSEMM(xi, phi, alpha_s=ALPHA_S, alpha_c=np.full(A, ALPHA_C),
                                     T_f=T_F, T_d=T_D, degree=d, dtype=form.split("_")[1])
                    results[f"batched_{G}x{A}_K{k}_{form}_degree{d}"] = _rate(
                        _batched_step(net, form), max(5, steps // 10), G * A)
    ratios = {}
    for G, A, k in BATCHES:
        for d in degrees:
            name = f"batched_{G}x{A}_K{k}_{{}}_degree{d}"
            for form in FORMS:
                ratios[f"{name.format(form)}_vs_lean_loop"] = (
                    results[name.format(form)] / results[f"loop_lean_degree{d}"])
            ratios[f"{name.format('q_float64')}_vs_vd_float64"] = (
                results[name.format("q_float64")] / results[name.format("vd_float64")])
            ratios[f"{name.format('q_float32')}_vs_q_float64"] = (
                results[name.format("q_float32")] / results[name.format("q_float64")])
        best = f"batched_{G}x{A}_K{k}_q_float32_degree1"
        ratios[f"{best}_vs_reference_style_loop"] = (
            results[best] / results["loop_reference_style_degree1"])
    return {"network_steps_per_s": results, "speedup": ratios,
            "setup": {"N_f": N_F, "K_loops": K, "dt": DT, "degree": degree, "steps": steps,
                      "machine": platform.processor() or platform.machine(),
                      "numpy": np.__version__}}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--degree", type=int, default=3)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    out = run(args.steps, args.degree)
    width = max(map(len, out["speedup"]))
    for name, value in out["network_steps_per_s"].items():
        print(f"{name:{width}s} {value:12,.0f} network-steps/s")
    for name, value in out["speedup"].items():
        print(f"{name:{width}s} {value:12.1f}x")
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(out, stream, indent=2)
    return out


if __name__ == "__main__":
    main()
