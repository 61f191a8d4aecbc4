"""Sweeps: a grid of independent points run serially, in local processes
(joblib/loky) or on a Dask cluster.

Each point gets its own ``numpy.random.SeedSequence`` derived from the root
seed and the point's identifier, so a point's numbers do not depend on which
other points are in the grid, on the executor or on the order of completion.
All seeds of one point travel as one task (the rate backend vectorizes them),
which keeps Dask's per-task overhead small.
"""
from __future__ import annotations

import itertools
from typing import Callable, Iterable, Iterator

import numpy as np

from neurosim.results import point_id


def expand_grid(values: dict[str, list]) -> list[dict]:
    """Cartesian product of the parameter lists, in the order given."""
    names = list(values)
    return [dict(zip(names, combo)) for combo in itertools.product(*(values[n] for n in names))]


def point_seed(root_seed: int, point: dict, shared: tuple[str, ...] = ()) -> np.random.SeedSequence:
    """SeedSequence of one point: root entropy, spawn key from the point's
    parameters without its backend, so that every realization of a point (rate,
    spiking, brian2) is driven by the same streams (``neurosim compare``), and
    without the ``shared`` parameters, whose values all meet the same streams."""
    point = {name: value for name, value in point.items()
             if name != "backend" and name not in shared}
    return np.random.SeedSequence(root_seed, spawn_key=(int(point_id(point), 16) % 2**63,))


def _run_one(task: Callable, point: dict, seed: np.random.SeedSequence):
    return point, task(point, seed)


def execute(task: Callable, points: list[dict], root_seed: int, *, jobs: int = 1,
            scheduler: str | None = None, shared: tuple[str, ...] = ()) -> Iterator[tuple[dict, list]]:
    """Yield ``(point, task(point, seed))`` as points finish.

    ``scheduler`` is a Dask scheduler address (``tcp://host:port``) or
    ``local`` for a LocalCluster on this machine; otherwise ``jobs`` > 1 uses
    joblib's process pool and ``jobs == 1`` runs in this process.
    """
    seeded = [(point, point_seed(root_seed, point, shared)) for point in points]
    if scheduler:
        yield from _execute_dask(task, seeded, scheduler)
    elif jobs > 1 and len(points) > 1:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=min(jobs, len(points)), return_as="generator_unordered")
        yield from parallel(delayed(_run_one)(task, p, s) for p, s in seeded)
    else:
        for point, seed in seeded:
            yield _run_one(task, point, seed)


CONNECT_TIMEOUT_S = 10


def connect(scheduler: str):
    """A Dask client of the scheduler at ``scheduler``, or a one-line
    ParameterError after at most CONNECT_TIMEOUT_S seconds (an unreachable
    host, a closed port, a malformed address, something that is not a
    scheduler)."""
    from dask.distributed import Client

    from neurosim.errors import ParameterError

    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ParameterError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler "
                             f"there ({reason})") from None


def _execute_dask(task: Callable, seeded: Iterable, scheduler: str):
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        from neurosim.errors import ParameterError

        raise ParameterError("--scheduler needs Dask: pip install 'neurosim[dask]'") from None
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None) if scheduler == "local" else None
    try:
        with Client(cluster) if cluster is not None else connect(scheduler) as client:
            futures = [client.submit(_run_one, task, p, s, pure=False) for p, s in seeded]
            for future in as_completed(futures):
                yield future.result()
    finally:
        if cluster is not None:
            cluster.close()
