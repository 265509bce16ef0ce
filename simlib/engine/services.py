"""Citizen-facing services: a vaccination campaign at puskesmas posts, citizen by citizen.

This module owns the campaign's parameter records (:class:`Campaign`), their loader
(:func:`load_campaign`), the queueing simulation (:func:`run_campaign`) and the team
incentive rule (:func:`team_incentive_idr`). It is standalone: the agency engine
(:mod:`simlib.engine.model`) does not call it yet, but the call takes what the engine has at hand
(mean staff performance per post, in SD units, and a numpy Generator).

Time inside the simulation is counted in **minutes** from 00:00 of the campaign's first
day (day 0, a Monday). The model, in order:

1. **Demand.** Turnout over the window is a saturating function of outreach::

       turnout_share = base + (max - base) * x / (x + half_saturation)

   with ``x`` the outreach contacts per target person. The number of citizens who come is
   ``Binomial(target_population, turnout_share)``; each comes once (abandoners do not
   return).
2. **Arrivals.** Given the total, each citizen's arrival falls independently in an open
   (day, post, hour) cell with probability proportional to the hourly profile (posts and
   open days equally likely), uniformly within the hour. Conditional on its total, this is
   exactly a non-homogeneous Poisson process with a piecewise-constant rate.
3. **Service.** Each post is a ``simpy.Resource`` with ``staff_per_post`` servers. A
   citizen's service time in minutes is::

       base_min * exp(-performance_slope * performance[post]) * LogNormal(-s^2/2, s)

   so the mean at performance 0 is ``base_min``, and better staff serve faster.
4. **Abandonment.** Patience is exponential with mean ``patience.mean_min``. Queues are
   first come, first served, so a citizen whose patience runs out leaves without
   affecting anyone ahead of them; the simulation therefore checks patience when the
   citizen reaches a free server (lazy reneging): same outcomes, no extra timer event.
5. **Closing.** Posts stop starting services at closing time; citizens still in the queue
   then go home (``waiting_at_close``) unless their patience had already run out
   (``abandoned``). Services under way at closing time are finished.

So ``arrivals = served + abandoned + waiting_at_close`` for every post and day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import simpy

from simlib.params.campaign import Campaign, Demand, TeamIncentive

__all__ = [
    "DAILY_COLUMNS",
    "MINUTES_PER_DAY",
    "CampaignResult",
    "expected_bonus_share",
    "run_campaign",
    "team_incentive_idr",
    "turnout_share",
]


MINUTES_PER_DAY = 1440.0
DAILY_COLUMNS = (
    "day", "post", "arrivals", "served", "abandoned", "waiting_at_close",
    "mean_wait_min", "p90_wait_min", "utilisation",
)  # fmt: skip


def turnout_share(demand: Demand) -> float:
    """Expected share of the target population that comes over the window."""
    x = demand.outreach_contacts_per_person
    lift = x / (x + demand.half_saturation_contacts)
    return demand.base_turnout_share + (demand.max_turnout_share - demand.base_turnout_share) * lift


def expected_bonus_share(params: Campaign) -> float:
    """Share of the full team bonus staff expect, judging the target's attainability.

    Staff expect the coverage that demand allows (:func:`turnout_share`) give or take
    ``coverage_uncertainty`` (normal). Under ``all_or_nothing`` they expect the bonus with
    the probability of reaching the target; under ``pro_rata`` in proportion to the
    expected coverage over the target (capped).
    """
    inc = params.incentive
    expected = turnout_share(params.demand)
    if inc.rule == "pro_rata":
        return min(expected / inc.target_coverage, inc.pro_rata_cap)
    z = (expected - inc.target_coverage) / inc.coverage_uncertainty
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def team_incentive_idr(incentive: TeamIncentive, *, coverage: float, staff: int) -> float:
    """Bonus paid to the whole team (IDR) for a campaign's coverage.

    ``all_or_nothing`` pays ``bonus_idr_per_staff`` to every staff member when coverage
    reaches the target and nothing otherwise; ``pro_rata`` pays the bonus times
    ``coverage / target``, capped at ``pro_rata_cap``.

    Parameters
    ----------
    incentive
        The target and rule.
    coverage
        Vaccinated people as a share of the target population.
    staff
        Staff sharing the bonus.

    Returns
    -------
    float
        Total bonus in IDR.
    """
    if incentive.rule == "all_or_nothing":
        factor = 1.0 if coverage >= incentive.target_coverage else 0.0
    else:
        factor = min(coverage / incentive.target_coverage, incentive.pro_rata_cap)
    return factor * incentive.bonus_idr_per_staff * staff


@dataclass(frozen=True, eq=False)
class CampaignResult:
    """What one campaign run produced.

    Attributes
    ----------
    daily
        One row per open day and post: ``day`` (days since the start), ``post``,
        ``arrivals``, ``served``, ``abandoned``, ``waiting_at_close``, ``mean_wait_min``
        and ``p90_wait_min`` (queueing time of the citizens served; NaN if none) and
        ``utilisation`` (service minutes started that day over staff x opening minutes;
        can pass 1 by services finishing after closing).
    arrivals, vaccinated, abandoned, waiting_at_close
        Totals over the campaign (people).
    coverage
        ``vaccinated / target_population``.
    mean_wait_min, p90_wait_min
        Queueing time of the citizens served, over the whole campaign (minutes).
    target_met
        Whether coverage reached the team target.
    incentive_idr
        Team bonus paid under the campaign's rule (IDR, whole team).
    events
        SimPy events processed (for benchmarks).
    """

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
    events: int


def run_campaign(
    params: Campaign,
    *,
    staff_performance: np.ndarray,
    rng: np.random.Generator,
    staff: np.ndarray | None = None,
) -> CampaignResult:
    """Simulate a vaccination campaign citizen by citizen.

    Parameters
    ----------
    params
        The campaign.
    staff_performance
        Mean true performance of each post's staff, in SD units: shape ``(posts,)``, or
        ``(window_days, posts)`` for performance that changes during the campaign.
    rng
        Source of every random draw (turnout, arrivals, service times, patience).
    staff
        Vaccinators at each post, shape ``(posts,)``, whole numbers >= 1; by default
        ``posts.staff_per_post`` everywhere. The team bonus goes to all of them.

    Returns
    -------
    CampaignResult

    Raises
    ------
    ValueError
        If ``staff_performance`` or ``staff`` has the wrong shape or bad values.
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

    env = simpy.Environment()
    start = np.full(n, np.nan)
    # Per-citizen bookkeeping in Python lists: numpy scalar writes are slower.
    started: list[float] = [math.nan] * n
    arrive_l, give_up_l = arrive.tolist(), give_up.tolist()
    closing_l, service_l = closing.tolist(), service.tolist()
    bounds = np.searchsorted(post, np.arange(n_posts + 1))
    for p in range(n_posts):
        resource = simpy.Resource(env, capacity=int(servers[p]))
        env.process(_post(env, resource, range(bounds[p], bounds[p + 1]), arrive_l,
                          give_up_l, closing_l, service_l, started))  # fmt: skip
    env.run()
    events = _events(env)
    start[:] = started

    served = ~np.isnan(start)
    # Not served: gone before closing if patience ran out first, else still queueing.
    abandoned = ~served & (give_up < closing)
    waiting = ~served & ~abandoned
    wait = np.where(served, start - arrive, np.nan)
    daily = _daily(params, servers, days, day, post, served, abandoned, waiting, wait, service)
    vaccinated = int(served.sum())
    coverage = vaccinated / params.target_population
    waits = wait[served]
    return CampaignResult(
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
    )


def _post(env, resource, citizens, arrive, give_up, closing, service, started):
    """Arrival source of one post: starts each citizen's process at their arrival time."""
    timeout, process = env.timeout, env.process
    for i in citizens:
        gap = arrive[i] - env.now
        if gap > 0:
            yield timeout(gap)
        process(_citizen(env, resource, i, give_up[i], closing[i], service[i], started))


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
