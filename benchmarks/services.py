"""Speed and docking of the vectorised vaccination campaign against the per-citizen SimPy one.

What is measured
----------------
Both engines run the district campaign (``data/services/vaccination_campaign.yaml``: 30
posts x 2 vaccinators, 500,000 target population, 182 days) with staff performance 0 at
every post, in the same process:

* **library**: :func:`simlib.engine.services.run_campaign`, the vectorised campaign queue
  (:mod:`simlib.engine.campaign_queue`: the Kiefer-Wolfowitz recursion over every
  (open day, post) queue at once);
* **reference**: ``benchmarks/campaign_reference.py``, the implementation before issue 17:
  one SimPy process per citizen, one ``simpy.Resource`` per post.

A. **Speed**: wall time (``time.perf_counter``) of one whole call (draws, queues, daily
   table), best of ``--repeat`` for each engine, seed 1. Target: the library at least 20x
   faster per campaign run.
B. **Docking**: ``--seeds`` runs of each engine (seeds 1, 2, ...; the engines draw
   differently, so runs are compared in distribution, not one by one). Each test is
   two-sided at significance level ``alpha = 0.01``:

   - coverage and mean wait per run: the difference of the means over seeds against its
     Monte-Carlo error, ``z = (mean_a - mean_b) / sqrt(var_a / R + var_b / R)``,
     ``|z| < 2.576``;
   - waiting-time distribution: two-sample Kolmogorov-Smirnov test (``p >= alpha``) on the
     wait of one served citizen drawn at random from every (day, post) queue of every run:
     queues are independent, so these are independent draws (all of a run's waits are
     not). Waits are rounded to 1e-9 min first: SimPy's clock adds ~1e-13 min of rounding
     to waits that are exactly 0 in the library;
   - team bonus: under the campaign's rule, the mean over seeds as for coverage (equal when
     both always pay); and under an all-or-nothing target at the pooled median coverage,
     where paying is a coin flip, a two-proportion z-test on the share of runs paid.

   Docking is met when every test passes.

Targets printed with met or MISSED (the speed-up is not measured with ``--population``);
with ``--check`` the script exits with status 1 when one is missed. The last line printed is
one JSON object with all the figures.

How to run
----------
::

    .venv/bin/python benchmarks/services.py
    .venv/bin/python benchmarks/services.py --repeat 1 --seeds 2 --population 20000
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
import simpy
from scipy import stats

from simlib.core.paths import DATA
from simlib.engine.services import run_campaign, team_incentive_idr
from simlib.params.campaign import load_campaign

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_check_argument, exit_status, target_line  # beside this file

CAMPAIGN = DATA / "services" / "vaccination_campaign.yaml"
SPEEDUP_TARGET = 20.0
ALPHA = 0.01


def _reference():
    path = Path(__file__).with_name("campaign_reference.py")
    spec = importlib.util.spec_from_file_location("campaign_reference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


reference = _reference()


def best_of(repeat: int, fn):
    best, out = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def mean_difference(a, b) -> dict:
    """Difference of two means over independent runs, with its Monte-Carlo error."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    diff = float(a.mean() - b.mean())
    z = diff / se if se > 0 else (0.0 if diff == 0 else math.inf)
    return {
        "library": float(a.mean()), "reference": float(b.mean()), "difference": diff,
        "se": se, "z": z, "met": bool(abs(z) < stats.norm.ppf(1 - ALPHA / 2)),
    }  # fmt: skip


def one_wait_per_queue(citizens: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """The wait of one served citizen drawn at random from each (day, post) queue."""
    served = citizens[citizens.wait_min.notna()]
    shuffled = served.iloc[rng.permutation(len(served))]
    return np.round(shuffled.drop_duplicates(["day", "post"]).wait_min.to_numpy(), 9)


def dock(campaign, *, seeds: int) -> dict:
    """Both engines over ``seeds`` seeds: the tests of the module docstring, and timings."""
    perf = np.zeros(campaign.posts.count)
    runs = {"library": [], "reference": []}
    waits = {"library": [], "reference": []}
    walls = {"library": [], "reference": []}
    for seed in range(1, seeds + 1):
        for name, engine in (("library", run_campaign), ("reference", reference.run_campaign)):
            t0 = time.perf_counter()
            result = engine(
                campaign, staff_performance=perf, rng=np.random.default_rng(seed), citizens=True
            )
            walls[name].append(time.perf_counter() - t0)
            runs[name].append(result)
            sample = one_wait_per_queue(result.citizens, np.random.default_rng([seed, 17]))
            waits[name].append(sample)
    lib, ref = runs["library"], runs["reference"]
    coverage = mean_difference([r.coverage for r in lib], [r.coverage for r in ref])
    mean_wait = mean_difference([r.mean_wait_min for r in lib], [r.mean_wait_min for r in ref])
    ks = stats.ks_2samp(np.concatenate(waits["library"]), np.concatenate(waits["reference"]))
    bonus = mean_difference([r.incentive_idr for r in lib], [r.incentive_idr for r in ref])
    # A target where the all-or-nothing bonus is a coin flip: the pooled median coverage.
    sharp = campaign.incentive.model_copy(
        update={"rule": "all_or_nothing",
                "target_coverage": float(np.median([r.coverage for r in lib + ref]))}
    )  # fmt: skip
    paid = {
        name: np.array(
            [
                team_incentive_idr(sharp, coverage=r.coverage, staff=campaign.staff) > 0
                for r in runs[name]
            ]
        )
        for name in runs
    }
    p_pool = np.concatenate(list(paid.values())).mean()
    se = math.sqrt(p_pool * (1 - p_pool) * 2 / seeds)
    diff = float(paid["library"].mean() - paid["reference"].mean())
    z = diff / se if se > 0 else (0.0 if diff == 0 else math.inf)
    coin_flip = {
        "target_coverage": sharp.target_coverage,
        "library": float(paid["library"].mean()), "reference": float(paid["reference"].mean()),
        "z": z, "met": bool(abs(z) < stats.norm.ppf(1 - ALPHA / 2)),
    }  # fmt: skip
    waits_test = {
        "library_n": int(sum(w.size for w in waits["library"])),
        "reference_n": int(sum(w.size for w in waits["reference"])),
        "statistic": float(ks.statistic), "p": float(ks.pvalue), "met": bool(ks.pvalue >= ALPHA),
    }  # fmt: skip
    tests = {
        "coverage": coverage, "mean_wait_min": mean_wait, "waits_ks": waits_test,
        "bonus_idr": bonus, "bonus_coin_flip": coin_flip,
    }  # fmt: skip
    return {
        "seeds": seeds,
        "alpha": ALPHA,
        "tests": tests,
        "met": all(t["met"] for t in tests.values()),
        "median_wall_s": {k: float(np.median(v)) for k, v in walls.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each engine")
    parser.add_argument("--seeds", type=int, default=20, help="docking runs of each engine")
    parser.add_argument(
        "--population", type=int, default=None, help="target population (default: the file's)"
    )
    add_check_argument(parser)
    args = parser.parse_args(argv)

    campaign = load_campaign(CAMPAIGN)
    if args.population is not None:
        campaign = campaign.model_copy(update={"target_population": args.population})
    perf = np.zeros(campaign.posts.count)

    def library():
        return run_campaign(campaign, staff_performance=perf, rng=np.random.default_rng(1))

    def simpy_reference():
        return reference.run_campaign(
            campaign, staff_performance=perf, rng=np.random.default_rng(1)
        )

    wall_ref, ref = best_of(args.repeat, simpy_reference)
    wall_lib, lib = best_of(args.repeat, library)
    speedup = wall_ref / wall_lib
    # The speed target is set at the file's size; a smaller population is not measured.
    full_size = args.population is None
    print(
        f"reference (SimPy, per citizen): {wall_ref:7.3f} s  {ref.arrivals:>9,} citizens  "
        f"{ref.events:>10,} events  coverage {ref.coverage:.4f}"
    )
    print(
        f"library (vectorised queue)    : {wall_lib:7.3f} s  {lib.arrivals:>9,} citizens  "
        f"{'':>17}coverage {lib.coverage:.4f}"
    )
    print(f"speed-up per campaign run {speedup:.1f}x")

    docking = dock(campaign, seeds=args.seeds)
    for name, test in docking["tests"].items():
        if "p" in test:
            detail = (
                f"KS D = {test['statistic']:.4f}, p = {test['p']:.3f} "
                f"(n = {test['library_n']:,} and {test['reference_n']:,})"
            )
        elif "se" in test:
            detail = (
                f"library {test['library']:.6g}, reference {test['reference']:.6g}, "
                f"difference {test['difference']:.3g} +- {test['se']:.3g} (z = {test['z']:.2f})"
            )
        else:
            detail = (
                f"paid at target {test['target_coverage']:.5f}: library {test['library']:.2f}, "
                f"reference {test['reference']:.2f} of runs (z = {test['z']:.2f})"
            )
        print(f"docking {name:<16} {detail}: {'met' if test['met'] else 'MISSED'}")
    targets = {
        "speedup_20x": bool(speedup >= SPEEDUP_TARGET) if full_size else None,
        "docking": docking["met"],
    }
    print(target_line(f"library >= {SPEEDUP_TARGET:.0f}x faster per campaign run",
                      targets["speedup_20x"]))  # fmt: skip
    print(target_line(f"docks with the reference over {args.seeds} seeds, every test at "
                      f"alpha = {ALPHA}", targets["docking"]))  # fmt: skip
    figures = {
        "posts": campaign.posts.count,
        "staff_per_post": campaign.posts.staff_per_post,
        "target_population": campaign.target_population,
        "window_days": campaign.window_days,
        "reference_wall_s": round(wall_ref, 4),
        "library_wall_s": round(wall_lib, 4),
        "speedup": round(speedup, 1),
        "speedup_target": SPEEDUP_TARGET,
        "reference_events": ref.events,
        "citizens": {"library": lib.arrivals, "reference": ref.arrivals},
        "coverage": {"library": round(lib.coverage, 5), "reference": round(ref.coverage, 5)},
        "mean_wait_min": {
            "library": round(lib.mean_wait_min, 3),
            "reference": round(ref.mean_wait_min, 3),
        },
        "docking": docking,
        "targets_met": targets,
        "repeat": args.repeat,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "simpy": simpy.__version__,
    }
    print(json.dumps(figures))
    return exit_status(targets, check=args.check)


if __name__ == "__main__":
    sys.exit(main())
