"""The vaccination campaign simulated citizen by citizen in SimPy: the docking reference.

This is ``simlib.engine.services.run_campaign`` as it was before the vectorised campaign queue
(issue 17), kept here, outside the library, so that ``benchmarks/services.py`` and
``tests/test_campaign_engine.py`` can dock the library's queue against it and time both in
the same run. It imports only the campaign's parameter record from ``simlib``, not the
library's simulation: the turnout share, the team-bonus rule and the daily table are copied
too, and :class:`ReferenceResult` has ``CampaignResult``'s fields plus ``events``.

The model (see ``docs/model.md`` §7.11): a ``Binomial(target_population, turnout)`` total
of citizens spread over (open day, post, hour) cells by the hourly profile, uniform in the
hour; each post a ``simpy.Resource`` with ``staff`` servers, first come first served, one
SimPy process per citizen; service ``base_min * exp(-slope * performance) * LogNormal``;
exponential patience checked when the citizen reaches a free server (lazy reneging, the
same outcomes as a timer under FCFS); no service starts at or after closing, services under
way then finish. The queue state carries from one open day to the next (one Resource per
post for the whole window).

:func:`simulate_queues` is the SimPy part alone, given every citizen's arrival, patience,
closing and service time, so a test can feed it the draws of the vectorised queue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import simpy

from simlib.params.campaign import Campaign

__all__ = ["ReferenceResult", "run_campaign", "simulate_queues"]

MINUTES_PER_DAY = 1440.0
DAILY_COLUMNS = (
    "day", "post", "arrivals", "served", "abandoned", "waiting_at_close",
    "mean_wait_min", "p90_wait_min", "utilisation",
)  # fmt: skip


def turnout_share(demand) -> float:
    """Expected share of the target population that comes over the window."""
    x = demand.outreach_contacts_per_person
    lift = x / (x + demand.half_saturation_contacts)
    return demand.base_turnout_share + (demand.max_turnout_share - demand.base_turnout_share) * lift


def team_incentive_idr(incentive, *, coverage: float, staff: int) -> float:
    """Bonus paid to the whole team (IDR): all_or_nothing or pro_rata (capped)."""
    if incentive.rule == "all_or_nothing":
        factor = 1.0 if coverage >= incentive.target_coverage else 0.0
    else:
        factor = min(coverage / incentive.target_coverage, incentive.pro_rata_cap)
    return factor * incentive.bonus_idr_per_staff * staff


@dataclass(frozen=True, eq=False)
class ReferenceResult:
    """What one reference run produced: the fields of ``CampaignResult``, and ``events``."""

    daily: pd.DataFrame
    arrivals: int
    vaccinated: int
    abandoned: int
    waiting_at_close: int
    coverage: float
    mean_wait_min: float
    p90_wait_min: float
    target_met: bool
    incentive_idr: float
    #: SimPy events scheduled in the run.
    events: int
    #: One row per citizen (``day``, ``post``, ``arrive_min``, ``service_min``,
    #: ``wait_min``: NaN if not served), if asked for.
    citizens: pd.DataFrame | None = None


def run_campaign(
    params: Campaign,
    *,
    staff_performance: np.ndarray,
    rng: np.random.Generator,
    staff: np.ndarray | None = None,
    citizens: bool = False,
) -> ReferenceResult:
    """Simulate a vaccination campaign citizen by citizen.

    Parameters
    ----------
    params
        The campaign.
    staff_performance
        Mean true performance of each post's staff, in SD units: shape ``(posts,)``, or
        ``(window_days, posts)``.
    rng
        Source of every random draw (turnout, arrivals, service times, patience).
    staff
        Vaccinators at each post, shape ``(posts,)``; by default ``posts.staff_per_post``.
    citizens
        Keep one row per citizen in ``ReferenceResult.citizens``.

    Returns
    -------
    ReferenceResult
    """
    n_posts = params.posts.count
    servers = _staff(params, staff)
    perf = np.asarray(staff_performance, dtype=float)
    if perf.shape == (n_posts,):
        perf = np.broadcast_to(perf, (params.window_days, n_posts))
    if perf.shape != (params.window_days, n_posts) or not np.isfinite(perf).all():
        raise ValueError(
            f"staff_performance has shape {np.shape(staff_performance)}; allowed: finite "
            f"numbers of shape ({n_posts},) or ({params.window_days}, {n_posts})"
        )
    hours = params.hours
    days = params.open_days()

    # Arrivals: a Binomial total spread over (day, post, hour) cells by the hourly profile.
    n = int(rng.binomial(params.target_population, turnout_share(params.demand)))
    profile = np.asarray(hours.arrival_profile, dtype=float)
    cell_p = np.broadcast_to(profile / profile.sum(), (days.size, n_posts, profile.size))
    counts = rng.multinomial(n, cell_p.ravel() / (days.size * n_posts)).reshape(cell_p.shape)
    day_i, post, hour = (np.repeat(g.ravel(), counts.ravel()) for g in np.indices(counts.shape))
    day = days[day_i]
    opening = day * MINUTES_PER_DAY + hours.open_hour * 60.0
    closing = opening + hours.hours_per_day * 60.0
    arrive = opening + hour * 60.0 + rng.random(n) * 60.0
    order = np.lexsort((arrive, post))  # each post's arrivals in time order
    day, post, arrive, closing = day[order], post[order], arrive[order], closing[order]

    s = params.service.log_sd
    service = (
        params.service.base_min
        * np.exp(-params.service.performance_slope * perf[day, post])
        * rng.lognormal(-0.5 * s * s, s, n)
    )
    give_up = arrive + rng.exponential(params.patience.mean_min, n)

    start, events = simulate_queues(
        post=post, arrive=arrive, give_up=give_up, closing=closing, service=service,
        servers=servers,
    )  # fmt: skip

    served = ~np.isnan(start)
    # Not served: gone before closing if patience ran out first, else still queueing.
    abandoned = ~served & (give_up < closing)
    waiting = ~served & ~abandoned
    wait = np.where(served, start - arrive, np.nan)
    daily = _daily(params, servers, days, day, post, served, abandoned, waiting, wait, service)
    vaccinated = int(served.sum())
    coverage = vaccinated / params.target_population
    waits = wait[served]
    return ReferenceResult(
        daily=daily,
        arrivals=n,
        vaccinated=vaccinated,
        abandoned=int(abandoned.sum()),
        waiting_at_close=int(waiting.sum()),
        coverage=coverage,
        mean_wait_min=float(waits.mean()) if waits.size else math.nan,
        p90_wait_min=float(np.quantile(waits, 0.9)) if waits.size else math.nan,
        target_met=bool(coverage >= params.incentive.target_coverage),
        incentive_idr=team_incentive_idr(
            params.incentive, coverage=coverage, staff=int(servers.sum())
        ),
        events=events,
        citizens=pd.DataFrame(
            {"day": day, "post": post, "arrive_min": arrive, "service_min": service,
             "wait_min": wait}
        ) if citizens else None,
    )  # fmt: skip


def simulate_queues(
    *,
    post: np.ndarray,
    arrive: np.ndarray,
    give_up: np.ndarray,
    closing: np.ndarray,
    service: np.ndarray,
    servers: np.ndarray,
    eager: bool = False,
) -> tuple[np.ndarray, int]:
    """Run every post's queue in SimPy, one process per citizen.

    Citizens must be sorted by post and, within a post, by arrival (minutes). ``eager``
    replaces lazy reneging by a patience timer that takes the citizen out of the queue.

    Returns
    -------
    tuple of numpy.ndarray and int
        Start of service per citizen (NaN if not served) and the SimPy events scheduled.
    """
    n = len(arrive)
    env = simpy.Environment()
    # Per-citizen bookkeeping in Python lists: numpy scalar writes are slower.
    started: list[float] = [math.nan] * n
    arrive_l, give_up_l = arrive.tolist(), give_up.tolist()
    closing_l, service_l = closing.tolist(), service.tolist()
    citizen = _citizen_eager if eager else _citizen
    bounds = np.searchsorted(post, np.arange(len(servers) + 1))
    for p in range(len(servers)):
        resource = simpy.Resource(env, capacity=int(servers[p]))
        env.process(_post(env, resource, range(bounds[p], bounds[p + 1]), arrive_l,
                          give_up_l, closing_l, service_l, started, citizen))  # fmt: skip
    env.run()
    return np.array(started, dtype=float), _events(env)


def _post(env, resource, citizens, arrive, give_up, closing, service, started, citizen):
    """Arrival source of one post: starts each citizen's process at their arrival time."""
    timeout, process = env.timeout, env.process
    for i in citizens:
        gap = arrive[i] - env.now
        if gap > 0:
            yield timeout(gap)
        process(citizen(env, resource, i, give_up[i], closing[i], service[i], started))


def _citizen(env, resource, i, give_up, closing, service, started):
    """One citizen: queue, then be vaccinated unless patience or opening hours ran out."""
    request = resource.request()
    yield request
    now = env.now
    if now > give_up or now >= closing:
        resource.release(request)
        return
    started[i] = now
    yield env.timeout(service)
    resource.release(request)


def _citizen_eager(env, resource, i, give_up, closing, service, started):
    """One citizen with a patience timer: leaves the queue when patience or hours run out."""
    request = resource.request()
    yield request | env.timeout(min(give_up, closing) - env.now)
    if not request.triggered:
        request.cancel()
        return
    started[i] = env.now
    yield env.timeout(service)
    resource.release(request)


def _events(env: simpy.Environment) -> int:
    """Events scheduled so far (SimPy numbers them from a counter; -1 if unavailable)."""
    counter = getattr(env, "_eid", None)
    if counter is None:
        return -1
    # Reading an itertools.count advances it; harmless after the run has ended.
    return next(counter)


def _staff(params: Campaign, staff: np.ndarray | None) -> np.ndarray:
    n_posts = params.posts.count
    if staff is None:
        return np.full(n_posts, params.posts.staff_per_post)
    servers = np.asarray(staff)
    if (
        servers.shape != (n_posts,)
        or not np.issubdtype(servers.dtype, np.integer)
        or (servers < 1).any()
    ):
        raise ValueError(
            f"staff has shape {servers.shape} and type {servers.dtype}; allowed: whole "
            f"numbers >= 1 of shape ({n_posts},)"
        )
    return servers.astype(np.int64)


def _daily(
    params, servers, days, day, post, served, abandoned, waiting, wait, service
) -> pd.DataFrame:
    n_posts = params.posts.count
    frame = pd.DataFrame(
        {
            "day": np.repeat(days, n_posts),
            "post": np.tile(np.arange(n_posts), days.size),
        }
    )
    key = np.searchsorted(days, day) * n_posts + post
    size = days.size * n_posts

    def tally(mask: np.ndarray) -> np.ndarray:
        return np.bincount(key[mask], minlength=size)

    frame["arrivals"] = np.bincount(key, minlength=size)
    frame["served"] = tally(served)
    frame["abandoned"] = tally(abandoned)
    frame["waiting_at_close"] = tally(waiting)
    waits = pd.Series(wait[served]).groupby(key[served])
    frame["mean_wait_min"] = waits.mean().reindex(range(size)).to_numpy()
    frame["p90_wait_min"] = waits.quantile(0.9).reindex(range(size)).to_numpy()
    busy = np.bincount(key[served], weights=service[served], minlength=size)
    capacity = np.tile(servers, days.size) * params.hours.hours_per_day * 60.0
    frame["utilisation"] = busy / capacity
    return frame[list(DAILY_COLUMNS)]
