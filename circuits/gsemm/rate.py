"""General Sequential Episodic Memory Model (GSEMM), dense limit, rate realization in numpy.

Karuvally, Sejnowski & Siegelmann, "General Sequential Episodic Memory Model" (ICML 2023);
equation numbers below refer to that paper (/work/shared/papers/gsemm-sequential-episodic-memory.txt).

Circuit (eq. 1): a feature layer V_f (N_f neurons, sigma_f = tanh), a hidden layer V_h (one neuron
per memory, K of them) connected to the features by the symmetric synapses Xi (N_f x K, column mu =
memory xi_mu), hidden-hidden *delay* synapses Phi (K x K, Phi[k, j] = 1 for a transition k -> j,
the adjacency matrix of the episode graph) that read the delayed feature signal V_d (eq. 2):

    T_d dV_d/dt = sigma_f(V_f) - V_d                                               (eq. 1, third line)

Dense limit T_h -> 0 (eq. 9-10), the form integrated here:

    V_h = sqrt(alpha_s) Xi^T sigma_f(V_f) + alpha_c Phi^T Xi^T V_d                      (eq. 9)
    T_f dV_f/dt = sqrt(alpha_s) Xi sigma_h(V_h) - V_f                                   (eq. 10)

Note: eq. 10 as printed drops the factor sqrt(alpha_s) inside sigma_h; eq. 9 (and eq. 1 from which
both follow) has it. We follow eq. 9; the two agree for alpha_s = 1 (all of Fig. 3).

Hidden activations: ``poly``  sigma_h(x) = x**n,  L_h = sum x**(n+1) / (n+1)   (Dense GSEMM)
                    ``exp``   sigma_h(x) = softmax(beta x),  L_h = (1/beta) log sum exp(beta x)

Energy (eq. 4) with V_h at its dense-limit value (eq. 9). The two coupling terms of eq. 4 then add
up to V_h^T sigma_h(V_h), which cancels the hidden layer's first term, leaving

    E(V_f, V_d) = sum_i [V_f,i tanh(V_f,i) - log cosh(V_f,i)] - L_h(V_h(V_f, V_d)).

Its derivative along a trajectory is exactly dE/dt = F + G (eq. 5) with

    F = -T_f (dV_f/dt)^T H(L_f) (dV_f/dt),  H(L_f) = diag(1 - tanh^2 V_f)  (eq. 6; T_h -> 0) <= 0 (eq. 7)
    G = -alpha_c sigma_h(V_h)^T Phi^T Xi^T dV_d/dt                                      (eq. 8)

so E is non-increasing when T_d is large (dV_d/dt -> 0, the adiabatic limit).

Delayed overlaps. V_d enters the dynamics only through q = Xi^T V_d (K numbers per network), and
eq. 1 projected on the memories is exactly

    T_d dq/dt = Xi^T tanh(V_f) - q,        V_h = sqrt(alpha_s) Xi^T tanh(V_f) + alpha_c Phi^T q,

whose first term is the product V_h needs anyway. Integrating (V_f, q) instead of (V_f, V_d) saves
the product Xi^T V_d (N_f x K) at every RK4 stage; Phi^T q is a gather for graphs whose memories
have at most one predecessor (cycles, the episodes of Fig. 2). ``simulate`` and
``replay_until_decided`` integrate (V_f, q); the paper form (V_f, V_d) stays for the energy and for
recorded states. Both forms are the same RK4 up to rounding (tests/test_gsemm.py).

Everything is batched: states are (G, A, N_f) arrays, G groups of memories (seeds) times A networks
per group (e.g. alpha_c values) that share their Xi, so one RK4 stage is two stacked matrix-matrix
products for the whole batch, never a Python loop over networks. ``dtype='float32'`` runs about
twice as fast (tanh and the products vectorize wider); it is refused where sigma_h(V_h) = V_h**n
could overflow float32 (``float32_overflow``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from threadpoolctl import threadpool_limits

ACTIVATIONS = ("poly", "exp")


# ----------------------------------------------------------------------------- BLAS threads
def blas_threads(n: int = 1):
    """Limit the BLAS library to n threads inside the block (threadpoolctl).

    The batched GEMMs here are small (e.g. 256 x 100 x 50): with several OpenBLAS threads on a
    loaded 2-core machine one product took 13 ms instead of 0.1 ms, so simulations run with one.
    """
    return threadpool_limits(limits=n, user_api="blas")


# ----------------------------------------------------------------------------- episodes -> Phi
def cycle_graph(members) -> nx.DiGraph:
    """A cyclic episode m0 -> m1 -> ... -> m_last -> m0 as a directed graph of memory indices."""
    members = list(members)
    graph = nx.DiGraph()
    graph.add_edges_from(zip(members, members[1:] + members[:1]))
    return graph


def episodes_graph(*episodes) -> nx.DiGraph:
    """The union of several cyclic episodes (each a sequence of memory indices)."""
    return nx.compose_all([cycle_graph(e) for e in episodes])


def phi_from_graph(graph: nx.DiGraph, K: int | None = None) -> np.ndarray:
    """Phi[k, j] = weight of the edge k -> j (default 1): the transition k -> j (eq. 1, 9).

    Nodes are memory indices 0..K-1; memories that take part in no episode have empty rows.
    """
    K = K if K is not None else (max(graph.nodes) + 1 if len(graph) else 0)
    phi = np.zeros((K, K))
    for k, j, data in graph.edges(data=True):
        phi[k, j] = data.get("weight", 1.0)
    return phi


def successors(phi: np.ndarray) -> np.ndarray:
    """succ[k] = the memory that follows k (argmax of its row of Phi), -1 where k has no successor."""
    phi = np.asarray(phi)
    succ = phi.argmax(axis=-1)
    return np.where(phi.max(axis=-1) > 0, succ, -1)


def random_memories(rng: np.random.Generator, batch: int, N_f: int, K: int) -> np.ndarray:
    """Xi of shape (batch, N_f, K): independent +-1 entries, Pr = 1/2 each (appendix B)."""
    return rng.choice(np.array([-1.0, 1.0]), size=(batch, N_f, K))


# ----------------------------------------------------------------------------- activations
def sigma_h(x: np.ndarray, activation: str, degree: int, beta: float = 1.0) -> np.ndarray:
    """Hidden activation: x**degree (``poly``) or softmax(beta x) over the last axis (``exp``)."""
    if activation == "poly":
        return int_power(x, degree)
    z = beta * x
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def int_power(x: np.ndarray, n: int) -> np.ndarray:
    """x**n (a new array) for an integer n >= 0 by repeated squaring (libm pow of negative bases is
    ~50x slower)."""
    if n == 0:
        return np.ones_like(x)
    result, base = None, x
    while True:
        if n & 1:
            result = base if result is None else result * base
        n >>= 1
        if not n:
            return x.copy() if result is x else result
        base = base * base


def lagrangian_h(x: np.ndarray, activation: str, degree: int, beta: float = 1.0) -> np.ndarray:
    """L_h with sigma_h = grad L_h (eq. 3): sum x**(n+1)/(n+1), or (1/beta) logsumexp(beta x)."""
    if activation == "poly":
        return int_power(x, degree + 1).sum(axis=-1) / (degree + 1)
    z = beta * x
    top = z.max(axis=-1)
    return (top + np.log(np.exp(z - top[..., None]).sum(axis=-1))) / beta


def log_cosh(x: np.ndarray) -> np.ndarray:
    """log cosh x without overflow: |x| + log1p(exp(-2|x|)) - log 2."""
    a = np.abs(x)
    return a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)


def _grid(value, groups: int) -> np.ndarray:
    """A scalar, (A,) or (G, A) parameter as a (G, A) array."""
    value = np.asarray(value, dtype=float)
    value = value.reshape(1, -1) if value.ndim <= 1 else value
    return np.broadcast_to(value, (groups, value.shape[1])).copy()


def _predecessors(phi: np.ndarray):
    """(index, weight) with Phi^T q = weight * q[..., index] when every column of Phi has at most
    one nonzero entry (every memory has at most one predecessor), else None.

    index: (K,) when all groups share Phi, else (G, 1, K) for take_along_axis; weight: (G, 1, K).
    """
    if (np.count_nonzero(phi, axis=1) > 1).any():
        return None
    index = np.abs(phi).argmax(axis=1)                              # (G, K): k with Phi[k, j] != 0
    weight = np.take_along_axis(phi, index[:, None, :], axis=1)     # (G, 1, K)
    shared = (index == index[:1]).all()
    return (index[0] if shared else index[:, None, :]), weight


def float32_overflow(N_f: int, K: int, degree: int, alpha_s: float, alpha_c: float, *,
                     phi_column_sum: float = 1.0, xi_max: float = 1.0, T_f: float = 1.0,
                     activation: str = "poly") -> str | None:
    """Why float32 could overflow for these parameters, or None when it cannot.

    With |tanh| <= 1 and |V_d| <= 1 (V_d starts at 0 and follows tanh V_f, eq. 1), eq. 9 bounds
    |V_h| <= N_f xi_max (sqrt(alpha_s) + alpha_c max_j sum_k |Phi_kj|); the drive of eq. 10 is then
    at most sqrt(alpha_s) K xi_max |V_h|**n, and an RK4 stage holds up to about 4x that / T_f.
    alpha_s, alpha_c: the largest values of the batch.
    """
    if activation != "poly":
        return None                                     # softmax is normalized: O(1) values
    sa = float(np.sqrt(alpha_s))
    vh_max = N_f * xi_max * (sa + abs(alpha_c) * phi_column_sum)
    with np.errstate(over="ignore"):
        peak = 4.0 * sa * K * xi_max * np.float64(vh_max) ** degree / min(T_f, 1.0)
    limit = float(np.finfo(np.float32).max)
    if peak < limit:
        return None
    return (f"float32 would overflow at degree {degree}: |V_h| can reach {vh_max:.3g}, so "
            f"V_h**{degree} and the drive of eq. 10 reach ~{peak:.2g} > {limit:.2g}; use float64")


# ----------------------------------------------------------------------------- the circuit
@dataclass
class DenseGSEMM:
    """A batch of dense GSEMM networks (eq. 9-10), integrated with classical RK4.

    The batch has two axes, G memory groups x A networks per group: ``xi`` is (G, N_f, K) (or
    (N_f, K) for G = 1) and is shared by the A networks of its group, which differ in alpha_s,
    alpha_c or initial state; alpha_s, alpha_c are scalars, (A,) or (G, A) arrays. States are
    (G, A, N_f) arrays, so a group is one matrix-matrix product per stage. B independent networks
    with their own memories are G = B, A = 1; B networks sharing their memories are G = 1, A = B.
    phi: (K, K) or (G, K, K), Phi[k, j] = 1 for the transition k -> j. dtype: float64 or float32
    (refused with a ValueError where it could overflow, see ``float32_overflow``).
    """

    xi: np.ndarray
    phi: np.ndarray
    alpha_s: float | np.ndarray = 1.0
    alpha_c: float | np.ndarray = 0.1
    T_f: float = 1.0
    T_d: float = 20.0
    degree: int = 1
    activation: str = "poly"
    beta: float = 1.0
    dtype: str = "float64"
    xi_t: np.ndarray = field(init=False, repr=False)
    xi_phi: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        dtype = np.dtype(self.dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float64 or float32, got {self.dtype!r}")
        self.dtype = dtype.name
        xi = np.asarray(self.xi, dtype=dtype)
        self.xi = xi[None] if xi.ndim == 2 else xi
        G, N, K = self.xi.shape
        self.phi = np.broadcast_to(np.asarray(self.phi, dtype=dtype), (G, K, K))
        self.alpha_s = _grid(self.alpha_s, G)
        self.alpha_c = _grid(self.alpha_c, G)
        if self.alpha_s.shape != self.alpha_c.shape:
            A = max(self.alpha_s.shape[1], self.alpha_c.shape[1])
            self.alpha_s = np.broadcast_to(self.alpha_s, (G, A)).copy()
            self.alpha_c = np.broadcast_to(self.alpha_c, (G, A)).copy()
        if dtype == np.float32 and (reason := float32_overflow(
                N, K, self.degree, self.alpha_s.max(), np.abs(self.alpha_c).max(),
                phi_column_sum=np.abs(self.phi).sum(axis=1).max(initial=0.0),
                xi_max=np.abs(self.xi).max(initial=0.0), T_f=self.T_f,
                activation=self.activation)):
            raise ValueError(reason)
        self._sa = np.sqrt(self.alpha_s)[..., None].astype(dtype)
        self._ac = self.alpha_c[..., None].astype(dtype)
        self._drive_gain = (self._sa / self.T_f).astype(dtype)
        self.xi_t = np.ascontiguousarray(np.swapaxes(self.xi, 1, 2))
        self.xi_phi = self.xi @ self.phi           # Xi Phi: V_d @ Xi Phi = (Phi^T Xi^T V_d)^T
        self._sparse = _predecessors(self.phi)
        if self._sparse is not None:
            self._ac_weight = (self._ac * self._sparse[1]).astype(dtype)   # (G, A, K)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(G, A, N_f, K)."""
        G, N, K = self.xi.shape
        return G, self.alpha_s.shape[1], N, K

    # -- eq. 9
    def delayed_overlaps(self, vd: np.ndarray) -> np.ndarray:
        """q = Xi^T V_d, shape (G, A, K): the delay line as the memories see it."""
        return vd @ self.xi

    def delayed_drive(self, q: np.ndarray) -> np.ndarray:
        """alpha_c Phi^T q: the delayed input of each hidden unit (second term of eq. 9)."""
        if self._sparse is None:
            return self._ac * (q @ self.phi)
        index = self._sparse[0]
        previous = q[..., index] if index.ndim == 1 else np.take_along_axis(q, index, axis=-1)
        return self._ac_weight * previous

    def hidden(self, vf: np.ndarray, vd: np.ndarray) -> np.ndarray:
        """V_h = sqrt(a_s) Xi^T tanh(V_f) + a_c Phi^T Xi^T V_d, shape (G, A, K)  (eq. 9)."""
        return self._sa * (np.tanh(vf) @ self.xi) + self.delayed_drive(self.delayed_overlaps(vd))

    def sigma(self, vh: np.ndarray) -> np.ndarray:
        return sigma_h(vh, self.activation, self.degree, self.beta)

    # -- eq. 10 and eq. 1 (delay)
    def derivatives_q(self, vf: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(dV_f/dt, dq/dt): eq. 10 and the projected delay line T_d dq/dt = Xi^T tanh(V_f) - q."""
        drive_in = np.tanh(vf) @ self.xi                   # Xi^T tanh(V_f), (G, A, K)
        vh = self._sa * drive_in
        vh += self.delayed_drive(q)
        s = self.sigma(vh)
        s *= self._drive_gain
        dvf = s @ self.xi_t
        dvf -= vf / self.T_f
        drive_in -= q
        drive_in /= self.T_d
        return dvf, drive_in

    def derivatives(self, vf: np.ndarray, vd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(dV_f/dt, dV_d/dt): eq. 10 and the delay line T_d dV_d/dt = tanh(V_f) - V_d (eq. 1)."""
        dvf, _ = self.derivatives_q(vf, self.delayed_overlaps(vd))
        return dvf, (np.tanh(vf) - vd) / self.T_d

    def rk4_step(self, vf: np.ndarray, vd: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """One classical fourth-order Runge-Kutta step of size dt (appendix B/C: dt = 0.01)."""
        return rk4_step(self.derivatives, (vf, vd), dt)

    def rk4_step_q(self, vf: np.ndarray, q: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """The same RK4 step on (V_f, q = Xi^T V_d): one product fewer per stage."""
        return rk4_step(self.derivatives_q, (vf, q), dt)

    # -- eq. 4-8
    def energy(self, vf: np.ndarray, vd: np.ndarray) -> np.ndarray:
        """E(V_f, V_d) of eq. 4 with V_h from eq. 9, shape (G, A) (see the module docstring)."""
        feature = (vf * np.tanh(vf) - log_cosh(vf)).sum(axis=-1)
        return feature - lagrangian_h(self.hidden(vf, vd), self.activation, self.degree, self.beta)

    def energy_rates(self, vf: np.ndarray, vd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(F, G) of eq. 6 and eq. 8 at the state (V_f, V_d); dE/dt = F + G (eq. 5)."""
        dvf, dvd = self.derivatives(vf, vd)
        F = -self.T_f * (dvf * (1.0 - np.tanh(vf) ** 2) * dvf).sum(axis=-1)
        # G = -a_c sigma_h(V_h)^T Phi^T Xi^T dV_d/dt
        delayed_rate = self.delayed_drive(self.delayed_overlaps(dvd))
        G = -(self.sigma(self.hidden(vf, vd)) * delayed_rate).sum(axis=-1)
        return F, G

    def energy_gradient(self, vf: np.ndarray, vd: np.ndarray) -> np.ndarray:
        """dE/dV_f at fixed V_d: (1 - tanh^2 V_f) * (V_f - sqrt(a_s) Xi sigma_h(V_h))."""
        dvf, _ = self.derivatives(vf, vd)
        return -(1.0 - np.tanh(vf) ** 2) * dvf * self.T_f

    def fixed_point(self, vf: np.ndarray, vd: np.ndarray, *, step: float = 0.1, tol: float = 1e-6,
                    max_iter: int = 5000) -> tuple[np.ndarray, np.ndarray]:
        """Fixed point of the instantaneous energy surface E(., V_d) reached from V_f (appendix B.2).

        V_d is held fixed and V_f descends the energy, V_f <- V_f - step * H(L_f)^-1 dE/dV_f
        = V_f + step * T_f dV_f/dt, i.e. the fast subsystem's own flow (a preconditioned gradient
        descent; E decreases along it by eq. 6-7) until no update changes sigma_f(V_f) by more than
        tol. Returns (V_f*, converged of shape (G, A)).
        """
        vf = np.array(vf, dtype=self.dtype)
        q = self.delayed_overlaps(np.asarray(vd, dtype=self.dtype))
        converged = np.zeros(vf.shape[:-1], dtype=bool)
        for _ in range(max_iter):
            dvf, _ = self.derivatives_q(vf, q)
            new = vf + step * self.T_f * dvf
            change = np.abs(np.tanh(new) - np.tanh(vf)).max(axis=-1)
            vf = np.where(converged[..., None], vf, new)
            converged |= change < tol
            if converged.all():
                break
        return vf, converged

    def overlaps(self, vf: np.ndarray) -> np.ndarray:
        """m_mu = (1/N_f) sum_j xi_mu,j tanh(V_f,j), shape (G, A, K)  (appendix B)."""
        return (np.tanh(vf) @ self.xi) / self.xi.shape[1]

    def subset(self, groups: np.ndarray, columns: np.ndarray) -> "DenseGSEMM":
        """The networks of the given memory groups and parameter columns, as a new batch."""
        return DenseGSEMM(self.xi[groups], self.phi[groups], self.alpha_s[np.ix_(groups, columns)],
                          self.alpha_c[np.ix_(groups, columns)], self.T_f, self.T_d, self.degree,
                          self.activation, self.beta, self.dtype)

    def cue_state(self, cue: int, amplitude: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Initial state: V_f = amplitude * xi_cue, V_d = 0 (the network is shown memory `cue`)."""
        G, A, N, K = self.shape
        vf = np.broadcast_to(amplitude * self.xi[:, None, :, cue], (G, A, N)).copy()
        return vf, np.zeros_like(vf)


def rk4_step(f, state: tuple, dt: float) -> tuple:
    """Classical RK4 for a tuple of arrays: y + dt/6 (k1 + 2 k2 + 2 k3 + k4)."""
    def shift(k, c):
        return tuple(y + c * d for y, d in zip(state, k))

    k1 = f(*state)
    k2 = f(*shift(k1, dt / 2))
    k3 = f(*shift(k2, dt / 2))
    k4 = f(*shift(k3, dt))
    return tuple(y + dt / 6.0 * (a + 2 * b + 2 * c + d) for y, a, b, c, d in zip(state, k1, k2, k3, k4))


# ----------------------------------------------------------------------------- sequence readout
def dominant(overlaps: np.ndarray, threshold: float) -> np.ndarray:
    """Index of the memory with the largest overlap where it exceeds threshold, else -1."""
    best = overlaps.argmax(axis=-1)
    return np.where(np.take_along_axis(overlaps, best[..., None], -1)[..., 0] > threshold, best, -1)


MIN_DWELL = 1.0          # time units a memory must stay dominant before its visit counts
_EPS = 1e-9              # tolerance on sample times (t = step * dt)


@dataclass
class SequenceTracker:
    """Follows the dominant memory of every network online and scores the replay of its episode.

    A memory's visit counts once it has stayed dominant (largest overlap, above threshold) for
    ``min_dwell`` time units without a break: a settled visit. Shorter excursions, such as a
    distant memory leading for one sample in the middle of a switch, are ignored. A settled visit
    to succ[current] is a correct transition, to any other memory an error; a network whose
    current memory stays longer than ``max_dwell`` (from its onset to the onset of the next
    settled visit) is stuck. A network succeeds once it has made ``target`` correct transitions
    without an error. Times of a visit are its onsets; dwell = time between consecutive onsets.
    """

    succ: np.ndarray
    start: np.ndarray
    target: int
    max_dwell: float
    min_dwell: float = MIN_DWELL
    current: np.ndarray = field(init=False)
    candidate: np.ndarray = field(init=False)
    since: np.ndarray = field(init=False)
    correct: np.ndarray = field(init=False)
    error: np.ndarray = field(init=False)
    stuck: np.ndarray = field(init=False)
    last_change: np.ndarray = field(init=False)
    dwell_sum: np.ndarray = field(init=False)

    STATE = ("current", "candidate", "since", "correct", "error", "stuck", "last_change",
             "dwell_sum")

    def __post_init__(self):
        B = len(self.start)
        self.current = np.array(self.start, dtype=int)
        self.candidate = np.full(B, -1)
        self.since = np.zeros(B)
        self.correct = np.zeros(B, dtype=int)
        self.error = np.zeros(B, dtype=bool)
        self.stuck = np.zeros(B, dtype=bool)
        self.last_change = np.zeros(B)
        self.dwell_sum = np.zeros(B)

    @property
    def success(self) -> np.ndarray:
        return (self.correct >= self.target) & ~self.error

    @property
    def decided(self) -> np.ndarray:
        return self.success | self.error | self.stuck

    def update(self, dom: np.ndarray, t: float) -> None:
        active = ~self.decided
        away = (dom >= 0) & (dom != self.current)
        self.since = np.where(away & (dom != self.candidate), t, self.since)
        self.candidate = np.where(away, dom, -1)
        settled = active & away & (t - self.since >= self.min_dwell - _EPS)
        right = settled & (dom == self.succ[np.maximum(self.current, 0)])
        self.correct += right
        self.error |= settled & ~right
        self.dwell_sum += np.where(right, self.since - self.last_change, 0.0)
        self.last_change = np.where(settled, self.since, self.last_change)
        self.current = np.where(settled, dom, self.current)
        self.candidate = np.where(settled, -1, self.candidate)
        onset = np.where(self.candidate >= 0, self.since, t)     # of the next visit, if pending
        self.stuck |= active & ~settled & (onset - self.last_change > self.max_dwell)

    def select(self, keep: np.ndarray) -> "SequenceTracker":
        """The tracker of the networks where keep is True (a boolean mask over the batch)."""
        new = SequenceTracker(self.succ, self.start[keep], self.target, self.max_dwell,
                              self.min_dwell)
        for name in self.STATE:
            setattr(new, name, getattr(self, name)[keep])
        return new


def simulate(net: DenseGSEMM, vf: np.ndarray, vd: np.ndarray, *, dt: float, duration: float,
             sample_every: float = 0.1, tracker: SequenceTracker | None = None,
             threshold: float = 0.5, record: bool = True, record_states: bool = False,
             stop_when_decided: bool = False):
    """Integrate the batch from (V_f, V_d) for `duration` with RK4 steps of dt.

    Every `sample_every` time units the overlaps are computed, fed to `tracker` (if any) and, with
    record=True, stored. With stop_when_decided the run ends as soon as the tracker has decided
    every network. The run integrates (V_f, q = Xi^T V_d) (module docstring), or with
    record_states the paper's (V_f, V_d), whose states it records. Overlaps are flattened to
    (B = G*A, K). Returns dict(t, overlaps (S, B, K), vf, q, vd (None unless record_states),
    t_end, states (S, 2, G, A, N_f) if asked).
    """
    every = max(1, int(round(sample_every / dt)))
    n_steps = int(round(duration / dt))
    vf, vd = np.asarray(vf, dtype=net.dtype), np.asarray(vd, dtype=net.dtype)
    if record_states:
        state, step_fn = (vf, vd), net.rk4_step
    else:
        state, step_fn = (vf, net.delayed_overlaps(vd)), net.rk4_step_q
    times, over, states = [], [], []
    step = 0
    while True:
        if step % every == 0:
            t = step * dt
            m = net.overlaps(state[0]).reshape(-1, net.shape[-1])
            if tracker is not None:
                tracker.update(dominant(m, threshold), t)
            if record:
                times.append(t)
                over.append(m)
            if record_states:
                states.append(np.stack(state))
            if stop_when_decided and tracker is not None and tracker.decided.all():
                break
        if step >= n_steps:
            break
        state = step_fn(*state, dt)
        step += 1
    vf = state[0]
    out = {"t": np.array(times), "vf": vf, "vd": state[1] if record_states else None,
           "q": net.delayed_overlaps(state[1]) if record_states else state[1],
           "t_end": step * dt, "overlaps": np.array(over) if record else None}
    if record_states:
        out["states"] = np.array(states)
    return out


def score_replay(overlaps: np.ndarray, times: np.ndarray, succ: np.ndarray, start, *, target: int,
                 threshold: float = 0.5, max_dwell: float = np.inf,
                 min_dwell: float = MIN_DWELL) -> SequenceTracker:
    """Run a SequenceTracker over a recorded overlap trajectory (S, B, K) sampled at `times`."""
    tracker = SequenceTracker(np.asarray(succ), np.broadcast_to(start, overlaps.shape[1]).copy(),
                              target, max_dwell, min_dwell)
    for t, m in zip(times, overlaps):
        tracker.update(dominant(m, threshold), t)
    return tracker


def dominant_sequence(dom: np.ndarray) -> list[int]:
    """The dominant memories of one network in order of appearance (repeats and -1 removed)."""
    seq: list[int] = []
    for d in np.asarray(dom):
        if d >= 0 and (not seq or seq[-1] != d):
            seq.append(int(d))
    return seq


def settled_sequence(dom: np.ndarray, times: np.ndarray,
                     min_dwell: float = MIN_DWELL) -> list[int]:
    """The settled visits of one network in order: runs of one dominant memory that last at least
    min_dwell (t_last - t_first of the run), repeats removed (the visits SequenceTracker counts)."""
    dom, times = np.asarray(dom), np.asarray(times)
    if not len(dom):
        return []
    edges = np.flatnonzero(np.diff(dom)) + 1
    first, last = np.r_[0, edges], np.r_[edges, len(dom)] - 1
    keep = (dom[first] >= 0) & (times[last] - times[first] >= min_dwell - _EPS)
    return dominant_sequence(dom[first][keep])


def replay_until_decided(net: DenseGSEMM, cue: int, *, target: int, dt: float, max_time: float,
                         max_dwell: float, threshold: float = 0.5, min_dwell: float = MIN_DWELL,
                         sample_every: float = 0.1, compact_every: float = 50.0) -> dict:
    """Run every network from xi_cue until its replay of the cycle is decided; (G, A) verdicts.

    Decided = `target` correct transitions (success), a wrong settled visit, or a memory held
    longer than max_dwell (stuck), scored by SequenceTracker; networks still undecided at max_time
    count as failures. Integrates (V_f, q). Every `compact_every` time units the batch is shrunk
    to the groups and columns that still have an undecided network, so easy failures stop costing
    time.
    """
    G, A, N, K = net.shape
    succ = successors(net.phi[0])
    verdict = {name: np.zeros((G, A), dtype=dtype) for name, dtype in
               (("success", bool), ("error", bool), ("stuck", bool), ("correct", int),
                ("dwell", float))}
    rows, cols = np.arange(G), np.arange(A)
    vf, vd = net.cue_state(cue)
    q = net.delayed_overlaps(vd)
    tracker = SequenceTracker(succ, np.full(G * A, cue), target, max_dwell, min_dwell)
    every = max(1, int(round(sample_every / dt)))
    per_chunk = max(every, int(round(compact_every / dt)) // every * every)
    step, total = 0, int(round(max_time / dt))

    def store():
        shape = (len(rows), len(cols))
        sel = np.ix_(rows, cols)
        verdict["success"][sel] = tracker.success.reshape(shape)
        verdict["error"][sel] = tracker.error.reshape(shape)
        verdict["stuck"][sel] = tracker.stuck.reshape(shape)
        verdict["correct"][sel] = tracker.correct.reshape(shape)
        verdict["dwell"][sel] = (tracker.dwell_sum / np.maximum(tracker.correct, 1)).reshape(shape)

    while True:
        if step % every == 0:
            tracker.update(dominant(net.overlaps(vf).reshape(-1, K), threshold), step * dt)
        if step % per_chunk == 0 or step >= total:
            store()
            open_ = ~tracker.decided.reshape(len(rows), len(cols))
            if not open_.any() or step >= total:
                break
            keep_r, keep_c = open_.any(axis=1), open_.any(axis=0)
            if not (keep_r.all() and keep_c.all()):
                net = net.subset(np.flatnonzero(keep_r), np.flatnonzero(keep_c))
                vf, q = vf[keep_r][:, keep_c], q[keep_r][:, keep_c]
                tracker = tracker.select((keep_r[:, None] & keep_c[None, :]).reshape(-1))
                rows, cols = rows[keep_r], cols[keep_c]
        vf, q = net.rk4_step_q(vf, q, dt)
        step += 1
    verdict["t_end"] = step * dt
    return verdict
