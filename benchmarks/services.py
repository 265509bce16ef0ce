"""Speed of the vaccination-campaign simulation against a bare SimPy queue in the same run.

What is measured
----------------
A. **Campaign**: :func:`simlib.engine.services.run_campaign` on the district campaign
   (``data/services/vaccination_campaign.yaml``: 30 posts, 500,000 target population,
   182 days) with staff performance 0 at every post, seed 1. Wall time
   (``time.perf_counter``, best of ``--repeat``) of the whole call: drawing turnout,
   arrivals, service and patience times with numpy, the SimPy run with one process per
   citizen and one ``simpy.Resource`` per post, and the daily table. Events are the SimPy
   events scheduled in the run (``CampaignResult.events``).
B. **Bare SimPy queue**: the textbook model with the same number of posts and servers per
   post: one source per post with exponential gaps, one process per customer that
   requests a server, holds it for an exponential service time and releases it; no
   opening hours, no abandonment, no bookkeeping beyond a served count. The arrival rate
   gives the same expected number of customers as A over the same open minutes, run
   continuously, and the mean service time is A's base service time. Random numbers are
   drawn up front with numpy, as in A, so B measures SimPy's own overhead.

Printed: both wall times, events and events per second, and the ratios A/B of wall time per
customer and of events per second. Target: A within 2x of B, printed with met or MISSED;
with ``--check`` the script exits with status 1 when it is missed. The last line printed is
one JSON object with all the figures.

How to run
----------
::

    .venv/bin/python benchmarks/services.py
    .venv/bin/python benchmarks/services.py --repeat 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import simpy

from simlib.core.paths import DATA
from simlib.engine.services import run_campaign
from simlib.params.campaign import load_campaign

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_check_argument, exit_status, target_line  # beside this file

CAMPAIGN = DATA / "services" / "vaccination_campaign.yaml"


def bare_queue(
    *, posts: int, servers: int, customers: int, minutes: float, service_min: float, seed: int
) -> tuple[int, int]:
    """Bare M/M/c queues, one per post. Returns (customers served, events scheduled)."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    served = [0]
    rate = customers / (posts * minutes)

    def customer(resource, service):
        request = resource.request()
        yield request
        yield env.timeout(service)
        resource.release(request)
        served[0] += 1

    def source(resource, gaps, services):
        for gap, service in zip(gaps, services, strict=True):
            yield env.timeout(gap)
            env.process(customer(resource, service))

    for _ in range(posts):
        # Enough gaps to pass the horizon with near certainty; the run stops at the horizon.
        k = int(rate * minutes + 10 * np.sqrt(rate * minutes) + 10)
        gaps = rng.exponential(1.0 / rate, k).tolist()
        services = rng.exponential(service_min, k).tolist()
        env.process(source(simpy.Resource(env, capacity=servers), gaps, services))
    env.run(until=minutes)
    return served[0], next(env._eid)


def best_of(repeat: int, fn):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    add_check_argument(parser)
    args = parser.parse_args(argv)

    campaign = load_campaign(CAMPAIGN)
    perf = np.zeros(campaign.posts.count)
    wall_a, result = best_of(
        args.repeat,
        lambda: run_campaign(campaign, staff_performance=perf, rng=np.random.default_rng(1)),
    )
    open_minutes = campaign.open_days().size * campaign.hours.hours_per_day * 60.0
    wall_b, (served_b, events_b) = best_of(
        args.repeat,
        lambda: bare_queue(
            posts=campaign.posts.count,
            servers=campaign.posts.staff_per_post,
            customers=result.arrivals,
            minutes=open_minutes,
            service_min=campaign.service.base_min,
            seed=1,
        ),
    )
    eps_a, eps_b = result.events / wall_a, events_b / wall_b
    per_customer_ratio = (wall_a / result.arrivals) / (wall_b / served_b)
    figures = {
        "posts": campaign.posts.count,
        "staff_per_post": campaign.posts.staff_per_post,
        "target_population": campaign.target_population,
        "window_days": campaign.window_days,
        "campaign_wall_s": round(wall_a, 3),
        "campaign_citizens": result.arrivals,
        "campaign_vaccinated": result.vaccinated,
        "campaign_abandoned": result.abandoned,
        "campaign_coverage": round(result.coverage, 4),
        "campaign_mean_wait_min": round(result.mean_wait_min, 2),
        "campaign_p90_wait_min": round(result.p90_wait_min, 2),
        "campaign_events": result.events,
        "campaign_events_per_s": round(eps_a),
        "bare_wall_s": round(wall_b, 3),
        "bare_customers": served_b,
        "bare_events": events_b,
        "bare_events_per_s": round(eps_b),
        "wall_per_customer_ratio": round(per_customer_ratio, 3),
        "events_per_s_ratio_bare_over_campaign": round(eps_b / eps_a, 3),
        "repeat": args.repeat,
        "python": sys.version.split()[0],
        "simpy": simpy.__version__,
    }
    print(
        f"A campaign : {wall_a:7.3f} s  {result.arrivals:>9,} citizens  "
        f"{result.events:>10,} events  {eps_a:>12,.0f} events/s"
    )
    print(
        f"B bare     : {wall_b:7.3f} s  {served_b:>9,} customers "
        f"{events_b:>10,} events  {eps_b:>12,.0f} events/s"
    )
    targets = {"campaign_within_2x_bare_queue": per_customer_ratio <= 2.0}
    figures["targets_met"] = targets
    print(
        f"A/B wall time per customer {per_customer_ratio:.2f}x, B/A events per second "
        f"{eps_b / eps_a:.2f}x"
    )
    print(
        target_line(
            "campaign within 2x of the bare queue", targets["campaign_within_2x_bare_queue"]
        )
    )
    print(json.dumps(figures))
    return exit_status(targets, check=args.check)


if __name__ == "__main__":
    sys.exit(main())
