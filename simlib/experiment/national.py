"""One replication split by agency over an executor (in-process, process pool, Dask).

:func:`simulate_split` cuts a replication's agencies into groups balanced by employees,
runs each group with :func:`simlib.engine.national.run_agencies` on the executor the sweeps
use (:data:`simlib.experiment.sweep.EXECUTORS`: this process, a local process pool, a Dask
``LocalCluster`` or a running scheduler at ``scheduler``), and merges the parts
(:func:`simlib.engine.national.merge`). The result is equal, byte for byte, to
``simulate(inputs, seed=..., replication=...)`` in one process, on every executor: each
agency draws from its own streams, keyed by its position in the scenario.

The Dask task graph is flat: the inputs bundle is scattered once to every worker, one
task per group (``run_agencies(inputs, group)``), the parts gathered as they finish and
merged on the client. Every executor runs with one BLAS thread (as the sweeps do): a
multi-threaded BLAS sums some products (the rating-accuracy correlations) in another order,
so equality holds against a ``simulate`` run under ``threadpool_limits(1)``. Groups are
formed largest agency first (longest-processing-time rule) into about four per worker, so
one 200,000-person ministry does not finish last.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from simlib.engine.national import (
    DETAIL,
    AgencyPart,
    agency_result,
    agency_sizes,
    merge,
    run_agencies,
    without_detail,
)
from simlib.engine.recorder import RunResult
from simlib.params.changes import apply_changes
from simlib.params.resolve import Inputs
from simlib.params.scenario import Scenario

__all__ = ["agency_groups", "scaled_scenario", "simulate_split"]

#: Groups per worker: enough to balance uneven agencies, few enough to keep messages cheap.
GROUPS_PER_WORKER = 4

_WORKER_INPUTS: list[Inputs] = []


def agency_groups(sizes: Sequence[int], groups: int) -> list[tuple[int, ...]]:
    """Agency indices in ``groups`` groups of about equal employees, largest group first.

    Longest-processing-time rule: agencies in decreasing size, each to the lightest group.
    A run's cost is about proportional to its employees (docs/scaling.md).
    """
    groups = max(1, min(groups, len(sizes)))
    load = [0] * groups
    members: list[list[int]] = [[] for _ in range(groups)]
    for i in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        g = min(range(groups), key=lambda g: (load[g], g))
        members[g].append(i)
        load[g] += max(1, sizes[i])
    order = sorted(range(groups), key=lambda g: -load[g])
    return [tuple(sorted(members[g])) for g in order if members[g]]


def scaled_scenario(scenario: Scenario, share: float) -> Scenario:
    """Every ``1/share``-th agency of ``scenario`` (at least one): a scaled-down scenario.

    Agencies keep their order and are taken from the middle of each stretch of
    ``1/share`` (positions ``step // 2``, ``step // 2 + step``, ...), so a scenario listed
    by class and size keeps its mix of classes and sizes without always taking the largest.
    """
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share {share} is out of range; allowed: 0 < share <= 1")
    step = max(1, round(1.0 / share))
    first = min(step // 2, len(scenario.agencies) - 1)
    return apply_changes(scenario, {"agencies": tuple(scenario.agencies[first::step])})


def simulate_split(
    inputs: Inputs,
    *,
    seed: int,
    replication: int = 0,
    executor: str = "inprocess",
    workers: int | None = None,
    scheduler: str | None = None,
    on_agency: Callable[[int, int], None] | None = None,
    detail_dir: str | Path | None = None,
) -> RunResult:
    """One replication of ``inputs``, its agencies split over ``executor``.

    Parameters
    ----------
    inputs
        A resolved bundle (:func:`simlib.params.resolve.resolve`).
    seed, replication
        As for :func:`simlib.simulate`; the result is equal to its, byte for byte, when it
        runs with one BLAS thread (``threadpoolctl.threadpool_limits(1)``).
    executor
        ``inprocess``, ``processes`` (a local process pool) or ``dask`` (a LocalCluster of
        ``workers``, or the running scheduler at ``scheduler``).
    workers
        Worker processes (default: all cores); ignored in-process and with ``scheduler``.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); implies ``dask``.
    on_agency
        Optional callback, called with (agencies done, agencies in all) as parts arrive.
    detail_dir
        If given, the opt-in per-employee outputs (employee panel, employee ledger, rating
        table) are written per agency as they arrive, to
        ``detail_dir/<output>/agency-<index>.parquet``, and left out of the result (which
        then holds the agency-level frames and the starting workforce), so memory holds one
        agency's detail at a time. Each file is that agency's rows of the whole run's frame.
    """
    if scheduler is not None:
        executor = "dask"
    total = len(inputs.agencies)
    workers = workers or os.cpu_count() or 1
    parts: list[AgencyPart] = []

    def arrived(new: list[AgencyPart]) -> None:
        if detail_dir is not None:
            new = [_write_detail(inputs, p, Path(detail_dir), seed, replication) for p in new]
        parts.extend(new)
        if on_agency is not None:
            on_agency(len(parts), total)

    if executor == "inprocess":
        for i in range(total):
            arrived(_limited(inputs, [i], seed, replication))
    elif executor in ("processes", "dask"):
        groups = agency_groups(agency_sizes(inputs), GROUPS_PER_WORKER * workers)
        run = _run_pool if executor == "processes" else _run_dask
        run(inputs, groups, seed, replication, workers, scheduler, arrived)
    else:
        raise ValueError(f"unknown executor {executor!r}; allowed: inprocess, processes, dask")
    return merge(inputs, parts, seed=seed, replication=replication)


def _write_detail(inputs, part: AgencyPart, folder: Path, seed, replication) -> AgencyPart:
    """Write the part's per-employee outputs (those the scenario asks for); drop them."""
    frames = agency_result(inputs, part, seed=seed, replication=replication)
    for name in DETAIL:
        frame = getattr(frames, name)
        if frame is None:
            continue
        (folder / name).mkdir(parents=True, exist_ok=True)
        frame.to_parquet(folder / name / f"agency-{part.index:04d}.parquet", index=False)
    return without_detail(part)


def _limited(inputs, group, seed, replication) -> list[AgencyPart]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # parallelism comes from the workers
        return run_agencies(inputs, group, seed=seed, replication=replication)


def _init_worker(inputs: Inputs) -> None:
    _WORKER_INPUTS[:] = [inputs]


def _pool_group(group, seed, replication) -> list[AgencyPart]:
    return _limited(_WORKER_INPUTS[0], group, seed, replication)


def _run_pool(inputs, groups, seed, replication, workers, _scheduler, arrived) -> None:
    context = multiprocessing.get_context("forkserver")
    with cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(inputs,)
    ) as pool:
        futures = [pool.submit(_pool_group, g, seed, replication) for g in groups]
        for future in cf.as_completed(futures):
            arrived(future.result())


def _run_dask(inputs, groups, seed, replication, workers, scheduler, arrived) -> None:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)  # fmt: skip
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        [bundle] = client.scatter([inputs], broadcast=True)
        futures = [
            client.submit(_limited, bundle, g, seed, replication, pure=False) for g in groups
        ]
        for future in as_completed(futures):
            arrived(future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
