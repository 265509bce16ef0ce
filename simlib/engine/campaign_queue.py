"""The vaccination campaign's queues, vectorised: every post and day at once, no event loop.

This module owns the queueing arithmetic of the campaign (:func:`fcfs_starts`,
:func:`post_day_starts`) and its citizens' random draws (:func:`citizen_uniforms`). It
replaces a SimPy run with one process per citizen (kept as the docking reference in
``benchmarks/campaign_reference.py``) by the recursion that run computes.

**The recursion.** A post is a first-come-first-served queue with ``c`` servers. Keep the
times at which each server next falls free, ``W`` (Kiefer & Wolfowitz 1955; ``c = 1`` is
Lindley's recursion). Citizens in order of arrival: citizen ``i``, arriving at ``a_i``,
reaches a server at ``t_i = max(a_i, min W)``. It is vaccinated if ``t_i <= give_up_i``
(its patience has not run out) and ``t_i < closing_i`` (no service starts at or after
closing); then the server it took falls free at ``t_i + service_i``, which replaces
``min W``. Otherwise it leaves and ``W`` is unchanged: it held the server for no time, and
everyone after it arrived no earlier, so they see the same free times. This is exactly what
the per-citizen simulation does with lazy reneging (patience checked at the server), which
under FCFS gives the same outcomes as a patience timer.

**Vectorised.** Queues that do not interact run side by side: the loop runs over the
position ``k`` in the queue, and each step is a few numpy operations over every queue that
has a ``k``-th citizen (queues sorted by length, so these are a prefix, and their ``k``-th
citizens are one contiguous slice of a step-major layout). The campaign's queues are
(open day, post): a post's queue starts each open day empty, unless services of the day
before are still running when it opens. That is checked after the run; a post where it
happens is run again as one queue over the whole window, so the answer is exact in every
case. When fewer than :data:`SCALAR_BELOW` queues are still active, the rest of their
citizens go through the same recursion one by one in Python (a heap of free times), which is
cheaper than numpy calls on a handful of elements; both paths compute the same floating
point operations, so where the switch falls does not change a digit.

**Draws.** Every draw belongs to a person of the target population (id ``0 ..
target_population - 1``), four uniforms each in fixed slots (:data:`CITIZEN_SLOTS`): whether
they come, when they come, their service time and their patience. From a ``numpy``
Generator they are one block of ``target_population x 4`` in id order (drawn in chunks, which
gives the same numbers); from a keyed stream (:class:`simlib.core.streams.Keyed`) they are a
function of the person's id. Either way a person's draws do not depend on the staff, their
performance, how many others come or the order of evaluation. The ``arrival`` uniform ``u``
gives both the (open day, post) cell, ``floor(u x cells)``, and, from its remainder, the
time in the day by inversion of the hourly profile (:func:`arrival_cells`): so sorting
citizens by that one uniform sorts them by cell and, within a cell, by arrival time, which
is the order the recursion needs, with one sort.
"""

from __future__ import annotations

import heapq

import numpy as np

from simlib.core.streams import Draws, uniforms

__all__ = [
    "CITIZEN_SLOTS",
    "SCALAR_BELOW",
    "SORTED_UP_TO",
    "arrival_cells",
    "arrival_order",
    "citizen_uniforms",
    "daily_waits",
    "fcfs_starts",
    "post_day_starts",
]

#: The uniforms each person of the target population owns, in slot order.
CITIZEN_SLOTS = ("comes", "arrival", "service", "patience")

#: Fewer active queues than this and the recursion goes on one citizen at a time.
SCALAR_BELOW = 24

#: Up to this many servers per queue, their free times are kept sorted (else argmin).
SORTED_UP_TO = 4

#: Persons whose uniforms are drawn at once (a block that stays in the processor's cache).
CHUNK = 1 << 16


def citizen_uniforms(
    rng: Draws, population: int, *, come_share: float, chunk: int = CHUNK
) -> tuple[np.ndarray, np.ndarray]:
    """The persons who come and their uniforms.

    Person ``i`` comes if its ``comes`` uniform is below ``come_share``, so the number who
    come is ``Binomial(population, come_share)``.

    Parameters
    ----------
    rng
        A Generator (one ``population x 4`` block in id order) or a keyed stream.
    population
        Persons in the target population.
    come_share
        Probability that a person comes.
    chunk
        Persons drawn at once (any value gives the same draws).

    Returns
    -------
    ids : numpy.ndarray
        Ids of the persons who come, ascending (int64).
    draws : numpy.ndarray
        Their uniforms in slots 1 to 3 of :data:`CITIZEN_SLOTS` (arrival, service,
        patience), shape ``(3, len(ids))``.
    """
    slots = len(CITIZEN_SLOTS)
    ids = np.empty(population, dtype=np.int64)
    # Slot-major, so that each slot is one contiguous array (gathering rows is slow).
    draws = np.empty((slots - 1, population))
    kept = 0
    for first in range(0, population, chunk):
        block_ids = np.arange(first, min(first + chunk, population), dtype=np.int64)
        block = uniforms(rng, block_ids, slots)
        comes = block[:, 0] < come_share
        k = int(comes.sum())
        ids[kept : kept + k] = block_ids[comes]
        draws[:, kept : kept + k] = np.compress(comes, block[:, 1:], axis=0).T
        kept += k
    return ids[:kept], draws[:, :kept]


def arrival_order(u: np.ndarray) -> np.ndarray:
    """Indices that sort citizens by their arrival uniform, equal ones in input order.

    Equal uniforms are rare (about n^2 / 2^54 pairs), so a quicksort, checked for ties, is
    used, and the stable sort only when there are any: the same order either way.
    """
    u = np.ascontiguousarray(u)
    order = np.argsort(u)
    ranked = u[order]
    if (ranked[1:] == ranked[:-1]).any():
        order = np.argsort(u, kind="stable")
    return order


def arrival_cells(
    u: np.ndarray, *, cells: int, profile: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cell and minute after opening of each arrival, from one uniform each.

    ``floor(u x cells)`` is the cell (all cells equally likely); the remainder, uniform on
    [0, 1) and independent of the cell, is inverted through the hourly profile (a
    piecewise-constant arrival rate), so the time is uniform within its hour and the hour
    has probability proportional to its profile entry. Both are non-decreasing in ``u``.

    Parameters
    ----------
    u
        Uniforms on [0, 1).
    cells
        Number of cells (open days x posts).
    profile
        Relative arrival rate in each opening hour (non-negative, positive sum).

    Returns
    -------
    cell : numpy.ndarray
        Cell of each arrival (int64, ``0 .. cells - 1``).
    minute : numpy.ndarray
        Minutes after opening, in ``[0, 60 x len(profile)]``.
    """
    profile = np.asarray(profile, dtype=float)
    x = u * cells
    cell = np.minimum(x.astype(np.int64), cells - 1)
    edges = np.concatenate(([0.0], np.cumsum(profile)))
    y = (x - cell) * edges[-1]
    # The last hour with arrivals: where y reaches the total by rounding.
    last = int(np.flatnonzero(profile > 0)[-1])
    hour = np.minimum(np.searchsorted(edges, y, side="right") - 1, last)
    within = np.clip((y - edges[hour]) / (edges[hour + 1] - edges[hour]), 0.0, 1.0)
    return cell, 60.0 * hour + 60.0 * within


def fcfs_starts(
    group: np.ndarray,
    arrive: np.ndarray,
    deadline: np.ndarray,
    service: np.ndarray,
    *,
    servers: np.ndarray,
    free_from: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Start of service of every citizen in independent multi-server FCFS queues.

    Parameters
    ----------
    group
        Queue of each citizen, ``0 .. len(servers) - 1``. Citizens are sorted by queue and,
        within a queue, by arrival: that order is the queue's order (ties included).
    arrive, deadline, service
        Per citizen, in minutes: arrival, the latest time its service may start (its
        patience runs out after it, or the post closes), and its service time.
    servers
        Servers of each queue (whole numbers >= 1).
    free_from
        Time from which every server of each queue is free.

    Returns
    -------
    start : numpy.ndarray
        Start of service per citizen (NaN for those not served).
    free_at : numpy.ndarray
        Time each server of each queue falls free after its last service, shape
        ``(len(servers), max(servers))`` (``inf`` past a queue's servers).

    Raises
    ------
    ValueError
        If the citizens are not sorted by queue and arrival.
    """
    n, n_groups = len(arrive), len(servers)
    width = int(servers.max()) if n_groups else 0
    free_at = np.where(np.arange(width)[None, :] < servers[:, None], free_from[:, None], np.inf)
    start = np.full(n, np.nan)
    if n == 0:
        return start, free_at
    step = np.diff(group)
    if (step < 0).any() or ((step == 0) & (np.diff(arrive) < 0)).any():
        raise ValueError("citizens must be sorted by queue and, within a queue, by arrival")
    # Queues by length, longest first; step-major layout: step k holds the k-th citizen of
    # each of the active[k] longest queues, one contiguous slice.
    counts = np.bincount(group, minlength=n_groups)
    rank = np.argsort(-counts, kind="stable")
    column = np.empty(n_groups, dtype=np.int64)
    column[rank] = np.arange(n_groups)
    offset = np.concatenate(([0], np.cumsum(counts)[:-1]))
    length = int(counts.max())
    active = n_groups - np.cumsum(np.bincount(counts, minlength=length + 1))[:length]
    step_at = np.concatenate(([0], np.cumsum(active)))
    flat = step_at[np.arange(n) - offset[group]] + column[group]
    a, d, s = np.empty(n), np.empty(n), np.empty(n)
    a[flat], d[flat], s[flat] = arrive, deadline, service
    started = np.full(n, np.nan)
    state = free_at[rank]  # queues in column order
    steps = int(np.searchsorted(-active, -SCALAR_BELOW, side="right"))  # active >= SCALAR_BELOW
    if width <= SORTED_UP_TO:
        _steps_sorted(steps, step_at, a, d, s, state, started)
    else:
        _steps_argmin(steps, step_at, a, d, s, state, started)
    start[:] = started[flat]
    if steps < length:
        _one_by_one(steps, counts, rank, offset, arrive, deadline, service, servers, state, start)
    free_at[rank] = state
    return start, free_at


def _steps_sorted(steps, step_at, a, d, s, state, started) -> None:
    """Steps ``0 .. steps - 1`` with each queue's free times kept sorted (few servers).

    ``min W`` is then the first row, and a service replaces it by merging its end into
    the rest: element-wise minima and maxima over contiguous slices, no fancy indexing.
    """
    free = np.sort(state, axis=1).T.copy()  # (servers, queues), each column ascending
    for k in range(steps):
        lo, hi = step_at[k], step_at[k + 1]
        na = hi - lo
        t = np.maximum(a[lo:hi], free[0, :na])
        ok = t <= d[lo:hi]
        started[lo:hi] = np.where(ok, t, np.nan)
        end = t + s[lo:hi]
        # Drop free[0], insert end: row i becomes max(free[i], min(free[i + 1], end)).
        for i in range(len(free) - 1):
            np.copyto(free[i, :na], np.maximum(free[i, :na], np.minimum(free[i + 1, :na], end)),
                      where=ok)  # fmt: skip
        np.copyto(free[-1, :na], np.maximum(free[-1, :na], end), where=ok)
    state[:] = free.T


def _steps_argmin(steps, step_at, a, d, s, state, started) -> None:
    """Steps ``0 .. steps - 1``: the free server is found by ``argmin`` (many servers)."""
    rows = np.arange(len(state))
    for k in range(steps):
        lo, hi = step_at[k], step_at[k + 1]
        r = rows[: hi - lo]
        j = state[: hi - lo].argmin(axis=1)
        t = np.maximum(a[lo:hi], state[r, j])
        ok = t <= d[lo:hi]
        t_ok = t[ok]
        started[lo:hi][ok] = t_ok
        state[r[ok], j[ok]] = t_ok + s[lo:hi][ok]


def _one_by_one(k, counts, rank, offset, arrive, deadline, service, servers, state, start):
    """The recursion from position ``k`` on, citizen by citizen, for the queues still active."""
    for col in np.flatnonzero(counts[rank] > k).tolist():
        q = int(rank[col])
        lo, hi = offset[q] + k, offset[q] + counts[q]
        a, d, s = arrive[lo:hi].tolist(), deadline[lo:hi].tolist(), service[lo:hi].tolist()
        free = state[col, : servers[q]].tolist()
        heapq.heapify(free)
        out = [np.nan] * len(a)
        for i in range(len(a)):
            t = a[i] if a[i] > free[0] else free[0]
            if t <= d[i]:
                out[i] = t
                heapq.heapreplace(free, t + s[i])
        start[lo:hi] = out
        state[col, : servers[q]] = free


def post_day_starts(
    day_index: np.ndarray,
    post: np.ndarray,
    arrive: np.ndarray,
    give_up: np.ndarray,
    closing: np.ndarray,
    service: np.ndarray,
    *,
    servers: np.ndarray,
    opening: np.ndarray,
) -> np.ndarray:
    """Start of service of every citizen of a campaign (NaN if not served).

    Each (open day, post) is run as its own queue, its servers free from opening; a post
    where a day's last services end after the next open day's opening is run again as one
    queue over the whole window (what the queue really is).

    Parameters
    ----------
    day_index
        Open day of each citizen, as an index into ``opening``.
    post
        Post of each citizen, ``0 .. len(servers) - 1``. Citizens are sorted by
        ``(day_index, post)`` and then by arrival.
    arrive, give_up, closing, service
        Per citizen, in minutes since the campaign's first midnight: arrival, the time its
        patience runs out, its post's closing time that day (no service starts at or after
        it) and its service time.
    servers
        Servers at each post.
    opening
        Opening time of each open day (minutes), increasing.

    Returns
    -------
    numpy.ndarray
        Start of service per citizen.
    """
    n_posts, n_days = len(servers), len(opening)
    if len(arrive) == 0:
        return np.full(0, np.nan)
    # Served if it reaches a server at t <= give_up and t < closing: t <= deadline.
    deadline = np.minimum(give_up, np.nextafter(closing, -np.inf))
    # Only the (day, post) queues someone comes to: an empty one changes nothing.
    queue = day_index * n_posts + post
    new = np.concatenate(([True], queue[1:] != queue[:-1]))
    used = queue[new]
    day_of, post_of = np.divmod(used, n_posts)
    start, free_at = fcfs_starts(
        np.cumsum(new) - 1, arrive, deadline, service,
        servers=servers[post_of], free_from=opening[day_of],
    )  # fmt: skip
    last_free = np.where(np.isfinite(free_at), free_at, -np.inf).max(axis=1)
    has_next = day_of < n_days - 1
    late = last_free[has_next] > opening[day_of[has_next] + 1]
    spill = np.unique(post_of[has_next][late])
    if spill.size:
        again = np.flatnonzero(np.isin(post, spill))
        again = again[np.lexsort((arrive[again], post[again]))]
        start[again] = fcfs_starts(
            np.searchsorted(spill, post[again]), arrive[again], deadline[again],
            service[again], servers=servers[spill], free_from=np.full(spill.size, opening[0]),
        )[0]  # fmt: skip
    return start


def daily_waits(
    queue: np.ndarray, wait: np.ndarray, *, queues: int, q: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and ``q``-quantile of the waits of the served in each queue (NaN if none).

    The quantile is numpy's default (linear interpolation, ``np.quantile``), computed for
    all queues at once from one sort.

    Parameters
    ----------
    queue
        Queue of each citizen (``0 .. queues - 1``).
    wait
        Minutes each citizen waited; NaN for those not served.
    queues
        Number of queues.
    q
        The quantile.

    Returns
    -------
    mean, quantile : numpy.ndarray
        One entry per queue.
    """
    served = ~np.isnan(wait)
    key, w = queue[served], wait[served]
    count = np.bincount(key, minlength=queues)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(key, weights=w, minlength=queues) / count
    has = count > 0
    m = count[has]
    virtual = (m - 1) * q
    lo = np.floor(virtual).astype(np.int64)
    gamma = virtual - lo
    hi = np.minimum(lo + 1, m - 1)
    longest = int(count.max()) if key.size else 0
    if queues * longest <= 4 * key.size + 4096:
        # Few empty places: the waits in a (queue, position) table, each row sorted.
        base = np.concatenate(([0], np.cumsum(count)[:-1]))
        if (np.diff(key) < 0).any():
            order = np.argsort(key, kind="stable")
            key, w = key[order], w[order]
        table = np.full((queues, longest), np.inf)
        table[key, np.arange(key.size) - base[key]] = w
        table.sort(axis=1)
        rows = table[has]
        a, b = rows[np.arange(m.size), lo], rows[np.arange(m.size), hi]
    else:
        # Sorted by queue, then wait: a stable sort by wait, then a stable one by queue.
        order = np.argsort(w, kind="stable")
        order = order[np.argsort(key[order].astype(np.min_scalar_type(queues)), kind="stable")]
        ws = w[order]
        base = np.concatenate(([0], np.cumsum(count)[:-1]))[has]
        a, b = ws[base + lo], ws[base + hi]
    # numpy's lerp, for the same digits as np.quantile.
    diff = b - a
    value = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
    quantile = np.full(queues, np.nan)
    quantile[has] = value
    return mean, quantile
