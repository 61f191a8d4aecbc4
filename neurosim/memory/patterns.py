"""Pattern generators and the event streams of the key-value paper's tasks
(Tyulmankov et al. 2021, appendix A). Every generator is batched: a leading
axis of B trials, each with its own T or R where the task needs it.
"""
from __future__ import annotations

import numpy as np

from neurosim.events import EventStream


def random_patterns(rng: np.random.Generator, shape) -> np.ndarray:
    """Uniform random +-1 patterns (appendix A.1)."""
    return rng.choice(np.array([-1.0, 1.0]), size=shape)


RHO_CONVENTIONS = ("template", "pairwise")
OCCLUSION_MODES = ("exact", "bernoulli")


def correlated_patterns(rng: np.random.Generator, batch: int, count: int, d: int,
                        rho: float, convention: str = "template") -> np.ndarray:
    """Patterns made from one random template per trial by flipping entries
    (appendix A.2). Each entry of a pattern flips with probability
    f = (1 - c) / 2, so that the pattern's correlation with the template is
    E[x_t . template] / d = 1 - 2f = c.

    - ``convention="template"`` (the paper's code, gyyang/bio-kvm): the first
      pattern is the template itself and c = rho, the correlation of every
      pattern with the template; two later patterns correlate by rho^2. (The
      code re-draws each template entry with probability 1 - rho, which flips
      it with probability (1 - rho) / 2.)
    - ``convention="pairwise"``: every pattern is a perturbed template and
      c = sqrt(rho), so that two patterns correlate by rho, the correlation
      the paper's text states.

    Returns shape (batch, count, d)."""
    if not 0 <= rho <= 1:
        raise ValueError(f"rho must lie in [0, 1] (got {rho})")
    if convention not in RHO_CONVENTIONS:
        raise ValueError(f"rho convention must be one of {RHO_CONVENTIONS} (got {convention!r})")
    template = random_patterns(rng, (batch, 1, d))
    similarity = rho if convention == "template" else np.sqrt(rho)
    flip = rng.random((batch, count, d)) < (1 - similarity) / 2
    if convention == "template":
        flip[:, 0] = False
    return np.where(flip, -template, template)


def occlude(rng: np.random.Generator, x: np.ndarray, fraction: float,
            mode: str = "exact") -> np.ndarray:
    """Set entries of every pattern to 0: ``mode="exact"`` hides
    round(fraction * d) randomly chosen entries (the paper's text: "60% of the
    entries"); ``mode="bernoulli"`` hides each entry independently with
    probability ``fraction`` (the paper's code)."""
    if not 0 <= fraction < 1:
        raise ValueError(f"occlusion must lie in [0, 1) (got {fraction})")
    if mode not in OCCLUSION_MODES:
        raise ValueError(f"occlusion mode must be one of {OCCLUSION_MODES} (got {mode!r})")
    draws = rng.random(x.shape)
    if mode == "bernoulli":
        return np.where(draws < fraction, 0.0, x)
    hidden = int(round(fraction * x.shape[-1]))
    if hidden == 0:
        return x.copy()
    smallest = np.argpartition(draws, hidden - 1, axis=-1)[..., :hidden]
    out = x.copy()
    np.put_along_axis(out, smallest, 0.0, axis=-1)
    return out


def recall_stream(rng: np.random.Generator, T: np.ndarray, d: int, *, m: int | None = None,
                  occlusion: float = 0.6, occlusion_mode: str = "exact",
                  rho: float | None = None, rho_convention: str = "template") -> EventStream:
    """Store-then-recall benchmark (appendix A.1, A.3): trial b stores T[b]
    patterns with q = 1 (input clamped to x_t, output to y_t), then is queried
    with every stored key, occluded, in the same order (q = 0).

    Trials of different T share one array: the store and query phases are
    padded to max(T) with silent steps (x = 0, q = 0, not scored).
    ``m`` given: heteroassociative (random values y_t of size m); else y = x.
    ``rho`` given: correlated keys (see :func:`correlated_patterns` for
    ``rho_convention``). ``occlusion_mode``: see :func:`occlude`.
    """
    T = np.asarray(T, dtype=int)
    if T.ndim != 1 or np.any(T < 1):
        raise ValueError("T must be a 1-d array of positive item counts")
    B, length = T.size, int(T.max())
    keys = (correlated_patterns(rng, B, length, d, rho, rho_convention) if rho is not None
            else random_patterns(rng, (B, length, d)))
    values = random_patterns(rng, (B, length, m)) if m is not None else keys
    valid = np.arange(length)[None, :] < T[:, None]
    keys = keys * valid[..., None]
    values = values * valid[..., None]
    queries = occlude(rng, keys, occlusion, occlusion_mode)
    return EventStream(
        x=np.concatenate([keys, queries], axis=1),
        y=np.concatenate([values, values], axis=1),
        q=np.concatenate([valid, np.zeros_like(valid)], axis=1).astype(float),
        query=np.concatenate([np.zeros_like(valid), valid], axis=1),
        info={"T": T, "phase_length": length})


def continual_stream(rng: np.random.Generator, R: np.ndarray, d: int, steps: int, *,
                     occlusion: float = 0.6, occlusion_mode: str = "exact", p_gen: float = 0.5,
                     flashbulbs: int = 0,
                     flashbulb_q: float = 10.0) -> EventStream:
    """Continual recall (appendix A.2): at each step, with probability p_gen a
    new random stimulus, otherwise a query of the input shown R steps ago; if
    that input was itself a query, a stimulus is generated instead (so no query
    is presented twice). Stimuli that are later queried are stored with q = 1,
    the others are shown with q = 0. ``flashbulbs`` of the queried stimuli per
    trial are stored with q = flashbulb_q instead; ``info['flashbulb']`` marks
    their query steps. Each trial b has its own delay R[b]."""
    R = np.asarray(R, dtype=int)
    if np.any(R < 1):
        raise ValueError("recall delay R must be >= 1")
    B = R.size
    rows = np.arange(B)
    stimuli = random_patterns(rng, (B, steps, d))
    x = stimuli.copy()
    target = np.zeros((B, steps, d))
    is_query = np.zeros((B, steps), dtype=bool)
    q = np.zeros((B, steps))
    wants_query = rng.random((B, steps)) >= p_gen
    for t in range(steps):
        source = t - R
        can = wants_query[:, t] & (source >= 0)
        can[can] &= ~is_query[rows[can], source[can]]
        b, s = rows[can], source[can]
        is_query[b, t] = True
        target[b, t] = stimuli[b, s]
        x[b, t] = stimuli[b, s]
        q[b, s] = 1.0
    x = np.where(is_query[..., None], occlude(rng, x, occlusion, occlusion_mode), x)
    y = np.where(is_query[..., None], target, x)
    flash_query = np.zeros((B, steps), dtype=bool)
    if flashbulbs:
        for b in range(B):
            stored = np.flatnonzero(q[b] > 0)
            if stored.size < flashbulbs:
                raise ValueError("stream too short for the requested flashbulb memories")
            chosen = rng.choice(stored, size=flashbulbs, replace=False)
            q[b, chosen] = flashbulb_q
            flash_query[b, chosen + R[b]] = True
    return EventStream(x=x, y=y, q=q, query=is_query,
                       info={"R": R, "flashbulb": flash_query})


def sequence_stream(rng: np.random.Generator, T: np.ndarray, d: int) -> EventStream:
    """Sequence recall (appendix A.3): trial b stores the T[b] - 1 transitions
    x_t -> x_{t+1} of a random sequence (key x_t, value x_{t+1}, q = 1), then
    is prompted with the middle pattern x_{T//2} and runs recurrently: at each
    later step the input is sign of the previous readout (``feedback``), and
    the target is the next pattern, up to x_{T-1}."""
    T = np.asarray(T, dtype=int)
    if np.any(T < 2):
        raise ValueError("a sequence needs T >= 2 patterns")
    B, length = T.size, int(T.max())
    seq = random_patterns(rng, (B, length, d))
    rows = np.arange(B)[:, None]
    n_store = length - 1
    store_valid = np.arange(n_store)[None, :] < (T - 1)[:, None]
    start = T // 2
    n_recall = int((T - 1 - start).max())
    k = np.arange(n_recall)[None, :]
    recall_valid = k < (T - 1 - start)[:, None]
    index = np.minimum(start[:, None] + k, length - 1)
    prompt = seq[rows, index] * recall_valid[..., None]
    recall_target = seq[rows, np.minimum(index + 1, length - 1)] * recall_valid[..., None]
    feedback = np.concatenate([np.zeros((B, n_store), bool), recall_valid & (k > 0)], axis=1)
    x_store = seq[:, :-1] * store_valid[..., None]
    y_store = seq[:, 1:] * store_valid[..., None]
    return EventStream(
        x=np.concatenate([x_store, prompt], axis=1),
        y=np.concatenate([y_store, recall_target], axis=1),
        q=np.concatenate([store_valid, np.zeros_like(recall_valid)], axis=1).astype(float),
        query=np.concatenate([np.zeros_like(store_valid), recall_valid], axis=1),
        feedback=feedback, info={"T": T})
