"""Citizen-facing services: a vaccination campaign at puskesmas posts, every citizen queued.

This module owns the campaign sub-simulation (:func:`run_campaign`), its result
(:class:`CampaignResult`), the turnout model (:func:`turnout_share`) and the team incentive
rule (:func:`team_incentive_idr`, :func:`expected_bonus_share`); the parameter records are
in :mod:`simlib.params.campaign`, the queueing arithmetic in
:mod:`simlib.engine.campaign_queue`. The agency engine (:mod:`simlib.engine.model`) calls
it with what it has at hand (mean staff performance per post, in SD units, and a numpy
Generator).

Time inside the simulation is counted in **minutes** from 00:00 of the campaign's first
day (day 0, a Monday). The model, in order:

1. **Demand.** Turnout over the window is a saturating function of outreach::

       turnout_share = base + (max - base) * x / (x + half_saturation)

   with ``x`` the outreach contacts per target person. Each person of the target
   population comes, once, with probability ``turnout_share`` (abandoners do not return),
   so the number who come is ``Binomial(target_population, turnout_share)``.
2. **Arrivals.** Each citizen's arrival falls independently in an open (day, post) cell
   (all equally likely) and, within the day, in an opening hour with probability
   proportional to the hourly profile, uniformly within the hour. Conditional on its
   total, this is exactly a non-homogeneous Poisson process with a piecewise-constant rate.
3. **Service.** Each post is a first-come-first-served queue with ``staff_per_post``
   servers (or ``staff`` per post). A citizen's service time in minutes is::

       base_min * exp(-performance_slope * performance[day, post]) * LogNormal(-s^2/2, s)

   so the mean at performance 0 is ``base_min``, and better staff serve faster.
4. **Abandonment.** Patience is exponential with mean ``patience.mean_min``. Queues are
   first come, first served, so a citizen whose patience runs out leaves without
   affecting anyone ahead of them: patience is checked when the citizen reaches a free
   server (lazy reneging), which gives the same outcomes as leaving on time.
5. **Closing.** Posts stop starting services at closing time; citizens still in the queue
   then go home (``waiting_at_close``) unless their patience had already run out
   (``abandoned``). Services under way at closing time are finished; if they are still
   running when the post opens again, that day's queue starts behind them.

So ``arrivals = served + abandoned + waiting_at_close`` for every post and day.

The queues are not simulated event by event: :mod:`simlib.engine.campaign_queue` computes
every citizen's start of service by the Kiefer-Wolfowitz recursion for multi-server FCFS
queues, vectorised over every (open day, post) queue at once. It gives the same start times
as a SimPy run with one process per citizen on the same draws (the implementation before
issue 17, kept as ``benchmarks/campaign_reference.py``; ``tests/test_campaign_engine.py``
and ``benchmarks/services.py`` dock the two).

Random draws belong to the persons of the target population: four uniforms each, in fixed
slots (:data:`simlib.engine.campaign_queue.CITIZEN_SLOTS`), from one
``target_population x 4`` block of the Generator in person order (or a keyed stream by
person id). Staff, their performance and the number of others who come change no one's
draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtri

from simlib.core.streams import Draws
from simlib.engine.campaign_queue import (
    arrival_cells,
    arrival_order,
    citizen_uniforms,
    daily_waits,
    post_day_starts,
)
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
    citizens
        With ``run_campaign(..., citizens=True)``: one row per citizen, ``day``, ``post``,
        ``arrive_min``, ``service_min`` and ``wait_min`` (NaN if not served); else None.
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
    citizens: pd.DataFrame | None = None


def run_campaign(
    params: Campaign,
    *,
    staff_performance: np.ndarray,
    rng: Draws,
    staff: np.ndarray | None = None,
    citizens: bool = False,
) -> CampaignResult:
    """Simulate a vaccination campaign: every citizen through its post's queue.

    Parameters
    ----------
    params
        The campaign.
    staff_performance
        Mean true performance of each post's staff, in SD units: shape ``(posts,)``, or
        ``(window_days, posts)`` for performance that changes during the campaign.
    rng
        Source of every random draw (who comes, when and where, service times, patience):
        a Generator, drawn as one ``target_population x 4`` block in person order, or a
        keyed stream, keyed by person.
    staff
        Vaccinators at each post, shape ``(posts,)``, whole numbers >= 1; by default
        ``posts.staff_per_post`` everywhere. The team bonus goes to all of them.
    citizens
        Keep one row per citizen in :attr:`CampaignResult.citizens`.

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
    cells = days.size * n_posts

    _, u = citizen_uniforms(rng, params.target_population, come_share=turnout_share(params.demand))
    # By the arrival uniform: by (open day, post) cell and, within a cell, by arrival time.
    order = arrival_order(u[0])
    u_arrival, u_service, u_patience = (row[order] for row in u)
    cell, minute = arrival_cells(u_arrival, cells=cells, profile=hours.arrival_profile)
    day_index, post = np.divmod(cell, n_posts)
    day = days[day_index]
    opening = days * MINUTES_PER_DAY + hours.open_hour * 60.0
    arrive = opening[day_index] + minute
    closing = (opening + hours.hours_per_day * 60.0)[day_index]
    s = params.service.log_sd
    # Uniforms from a Generator may be 0: the smallest keyed uniform instead (ndtri(0) = -inf).
    normal = ndtri(np.maximum(u_service, 2.0**-54))
    service = (
        params.service.base_min
        * np.exp(-params.service.performance_slope * perf[day, post])
        * np.exp(s * normal - 0.5 * s * s)
    )
    give_up = arrive - params.patience.mean_min * np.log1p(-u_patience)

    start = post_day_starts(
        day_index, post, arrive, give_up, closing, service, servers=servers, opening=opening
    )
    served = ~np.isnan(start)
    # Not served: gone before closing if patience ran out first, else still queueing.
    abandoned = ~served & (give_up < closing)
    waiting = ~served & ~abandoned
    wait = start - arrive
    daily = _daily(params, servers, days, cell, served, abandoned, waiting, wait, service)
    vaccinated = int(served.sum())
    coverage = vaccinated / params.target_population
    waits = wait[served]
    return CampaignResult(
        daily=daily,
        arrivals=len(order),
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
        citizens=pd.DataFrame(
            {"day": day, "post": post, "arrive_min": arrive, "service_min": service,
             "wait_min": wait}
        ) if citizens else None,
    )  # fmt: skip


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


def _daily(params, servers, days, cell, served, abandoned, waiting, wait, service):
    """One row per open day and post (``cell`` = open-day index x posts + post)."""
    n_posts = params.posts.count
    size = days.size * n_posts
    frame = pd.DataFrame(
        {
            "day": np.repeat(days, n_posts),
            "post": np.tile(np.arange(n_posts), days.size),
        }
    )

    def tally(mask: np.ndarray) -> np.ndarray:
        return np.bincount(cell[mask], minlength=size)

    frame["arrivals"] = np.bincount(cell, minlength=size)
    frame["served"] = tally(served)
    frame["abandoned"] = tally(abandoned)
    frame["waiting_at_close"] = tally(waiting)
    frame["mean_wait_min"], frame["p90_wait_min"] = daily_waits(cell, wait, queues=size)
    busy = np.bincount(cell[served], weights=service[served], minlength=size)
    capacity = np.tile(servers, days.size) * params.hours.hours_per_day * 60.0
    frame["utilisation"] = busy / capacity
    return frame[list(DAILY_COLUMNS)]
