"""Speed and memory of the variance-components estimator, against statsmodels MixedLM.

What is measured
----------------
A. **Our fit at scale.** A simulated 360-degree data set: ``--ratees`` ratees (default
   5,000), each rated ``--per-cell`` times (default 5) by each of 4 sources, raters drawn
   uniformly at random from ``--raters`` raters (default 5,000): 100,000 ratings. Random
   assignment is the hard case for the linear algebra (the ratee-rater graph has no small
   separators, so the rater block fills in completely). True standard deviations: ratee
   1.0, rater 0.7, source 0.5, ratee x source 0.4, residual 0.8; one numeric covariate
   with slope 0.5. Model: ``random = [ratee, rater, source, (ratee, source)]``,
   ``fixed = [x]``, ``ci=None``. The fit includes the conditional modes and their
   standard errors of every factor. Wall time (``time.perf_counter``) of one fit, then
   the ``tracemalloc`` peak of a second, traced fit (so tracing does not slow the timed
   one) and the process's peak resident set size (``ru_maxrss``, covering both).
A2. **Raters within work units.** The same data with each rater drawn from the ratee's
   own work unit of ``--unit-size`` employees (default 25), as 360 practice does: the
   rater block then splits into one block per unit and is eliminated by blocks. Time of
   one fit.
B. **statsmodels reference.** ``statsmodels`` ``MixedLM`` (REML, crossed effects as
   variance components of one all-ones group, the only way it takes crossed factors) on
   data sets of the same design and increasing size (``--sizes``, default 250, 500,
   1000, ... 16,000 ratings; ratees and raters = ratings / 20), each fit in a separate
   process killed after ``--budget`` seconds (default 60); the series stops at the first
   fit over budget. Our fit of the same data sets is timed too, and the estimates
   compared (relative difference of the variances, difference of the REML criteria:
   negative means ours found the higher likelihood).

C. **Profile-likelihood intervals at scale.** The data set of A fitted again with
   ``ci="profile"`` (all five intervals); skipped with ``--no-profile``.

The ratio printed is statsmodels' time over ours on the largest data set statsmodels
finished (a lower bound on the next size when it ran out of budget). Targets: A under
10 s and 2 GB, each printed with met or MISSED; with ``--check`` the script exits with
status 1 when one is missed. The last line printed is one JSON object with all the figures.

How to run
----------
::

    .venv/bin/python benchmarks/ratings.py
    .venv/bin/python benchmarks/ratings.py --quick      # 20,000 ratings, sizes 250 and 500
    .venv/bin/python benchmarks/ratings.py --no-profile # parts A and B only
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import sys
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simlib.analysis import fit_variance_components

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_check_argument, exit_status, target_line  # beside this file

RANDOM = ["ratee", "rater", "source", ("ratee", "source")]
TRUE_SD = {"ratee": 1.0, "rater": 0.7, "source": 0.5, "ratee:source": 0.4, "residual": 0.8}
SOURCES = 4


def simulate(
    n_ratees: int, n_raters: int, per_cell: int, *, seed: int, unit_size: int | None = None
) -> pd.DataFrame:
    """Ratings with crossed ratee, rater, source and ratee x source effects.

    Raters are drawn from all ``n_raters``, or with ``unit_size`` from the ratee's own work
    unit (employees ``unit * unit_size ...``, ratees and raters numbered alike).
    """
    rng = np.random.default_rng(seed)
    n = n_ratees * SOURCES * per_cell
    ratee = np.repeat(np.arange(n_ratees), SOURCES * per_cell)
    source = np.tile(np.repeat(np.arange(SOURCES), per_cell), n_ratees)
    if unit_size is None:
        rater = rng.integers(0, n_raters, n)
    else:
        first = (ratee // unit_size) * unit_size
        rater = np.minimum(first + rng.integers(0, unit_size, n), n_raters - 1)
    x = rng.normal(0.0, 1.0, n)
    score = (
        3.0
        + 0.5 * x
        + rng.normal(0, TRUE_SD["ratee"], n_ratees)[ratee]
        + rng.normal(0, TRUE_SD["rater"], n_raters)[rater]
        + rng.normal(0, TRUE_SD["source"], SOURCES)[source]
        + rng.normal(0, TRUE_SD["ratee:source"], n_ratees * SOURCES)[ratee * SOURCES + source]
        + rng.normal(0, TRUE_SD["residual"], n)
    )
    return pd.DataFrame({"score": score, "x": x, "ratee": ratee, "rater": rater, "source": source})


def ours(frame: pd.DataFrame):
    return fit_variance_components(frame, response="score", random=RANDOM, fixed=["x"], ci=None)


def _statsmodels_worker(frame: pd.DataFrame, queue: mp.Queue) -> None:
    import statsmodels.formula.api as smf

    frame = frame.assign(all=1)
    model = smf.mixedlm(
        "score ~ x",
        frame,
        groups="all",
        re_formula="0",
        vc_formula={
            "ratee": "0 + C(ratee)",
            "rater": "0 + C(rater)",
            "source": "0 + C(source)",
            "ratee:source": "0 + C(ratee):C(source)",
        },
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.fit(reml=True, method=["lbfgs"])
    seconds = time.perf_counter() - start
    variances = dict(zip(model.exog_vc.names, map(float, result.vcomp), strict=True))
    variances["residual"] = float(result.scale)
    queue.put({"seconds": seconds, "variances": variances, "reml_criterion": -2 * result.llf})


def statsmodels_fit(frame: pd.DataFrame, budget_s: float) -> dict[str, Any] | None:
    """statsmodels' fit in a child process; ``None`` when it ran over ``budget_s``."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_statsmodels_worker, args=(frame, queue))
    proc.start()
    try:
        return queue.get(timeout=budget_s + 30)  # model set-up is not timed; allow for it
    except Exception:  # queue.Empty: over budget (or the child died)
        return None
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ratees", type=int, default=5000)
    parser.add_argument("--raters", type=int, default=5000)
    parser.add_argument("--per-cell", type=int, default=5)
    parser.add_argument("--unit-size", type=int, default=25)
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[250, 500, 1000, 2000, 4000, 8000, 16000]
    )
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per statsmodels fit")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="20,000 ratings; sizes 250 500")
    parser.add_argument("--no-profile", action="store_true", help="skip part C")
    add_check_argument(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.ratees, args.raters, args.sizes = 1000, 1000, [250, 500]

    frame = simulate(args.ratees, args.raters, args.per_cell, seed=args.seed)
    print(
        f"A. {len(frame):,} ratings, {args.ratees:,} ratees x {args.raters:,} raters x "
        f"{SOURCES} sources (random rater assignment)"
    )
    start = time.perf_counter()
    fit = ours(frame)
    fit_s = time.perf_counter() - start
    tracemalloc.start()
    ours(frame)
    _, peak_b = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    comps = fit.components.set_index("component")
    print(f"   fit: {fit_s:.2f} s, {fit.n_evaluations} REML evaluations, converged {fit.converged}")
    print(f"   peak memory: tracemalloc {peak_b / 2**20:.0f} MiB, ru_maxrss {maxrss_mb:.0f} MiB")
    for name, sd in TRUE_SD.items():
        print(f"   {name:>13}: sd {comps.loc[name, 'sd']:.4f} (true {sd})")
    slope = fit.fixed_effects.set_index("term").loc["x"]
    print(f"   slope x: {slope['estimate']:.4f} +- {slope['se']:.4f} (true 0.5)")
    targets = {
        "fit_under_10_s": fit_s < 10,
        "fit_under_2_gb": max(maxrss_mb, peak_b / 2**20) < 2048,
    }
    print("   " + target_line(f"fit of A in {fit_s:.2f} s, under 10 s", targets["fit_under_10_s"]))
    print(
        "   "
        + target_line(
            f"peak memory {max(maxrss_mb, peak_b / 2**20):.0f} MiB, under 2 GB",
            targets["fit_under_2_gb"],
        )
    )

    units = simulate(
        args.ratees, args.raters, args.per_cell, seed=args.seed, unit_size=args.unit_size
    )
    start = time.perf_counter()
    units_fit = ours(units)
    units_s = time.perf_counter() - start
    print(
        f"A2. same size, raters within work units of {args.unit_size}: {units_s:.2f} s, "
        f"{units_fit.n_evaluations} REML evaluations, converged {units_fit.converged}"
    )

    print(f"B. statsmodels MixedLM vs ours, same design, budget {args.budget:.0f} s per fit")
    rows = []
    for size in args.sizes:
        n_groups = max(size // (SOURCES * args.per_cell), 5)
        sub = simulate(n_groups, n_groups, args.per_cell, seed=args.seed + size)
        start = time.perf_counter()
        mine = ours(sub)
        mine_s = time.perf_counter() - start
        theirs = statsmodels_fit(sub, args.budget)
        row = {"ratings": len(sub), "groups": n_groups, "ours_s": mine_s}
        if theirs is None or theirs["seconds"] > args.budget:
            row["statsmodels_s"] = None
            print(f"   {len(sub):>6,} ratings: ours {mine_s:.3f} s; statsmodels over budget")
            rows.append(row)
            break
        mine_var = mine.components.set_index("component")["variance"]
        rel = max(abs(mine_var[k] - v) / max(abs(v), 1e-12) for k, v in theirs["variances"].items())
        row.update(
            statsmodels_s=theirs["seconds"],
            ratio=theirs["seconds"] / mine_s,
            max_rel_diff_variance=rel,
            reml_criterion_diff=mine.reml_criterion - theirs["reml_criterion"],
        )
        rows.append(row)
        print(
            f"   {len(sub):>6,} ratings: ours {mine_s:.3f} s, statsmodels "
            f"{theirs['seconds']:.2f} s, ratio {row['ratio']:.0f}x; variances agree to "
            f"{rel:.1e} (relative), REML criterion ours - theirs {row['reml_criterion_diff']:+.2e}"
        )
    done = [r for r in rows if r.get("statsmodels_s") is not None]
    largest = done[-1] if done else None
    if largest:
        print(
            f"   largest data set statsmodels finished: {largest['ratings']:,} ratings, "
            f"ours {largest['ours_s']:.3f} s vs {largest['statsmodels_s']:.2f} s: "
            f"{largest['ratio']:.0f}x faster"
        )
    profile_s = None
    if not args.no_profile:
        start = time.perf_counter()
        prof = fit_variance_components(
            frame, response="score", random=RANDOM, fixed=["x"], ci="profile"
        )
        profile_s = time.perf_counter() - start
        print(f"C. profile-likelihood 95 % intervals on the data of A: {profile_s:.1f} s")
        for row in prof.components.itertuples():
            print(
                f"   {row.component:>13}: variance {row.variance:.4f} "
                f"[{row.ci_low:.4f}, {row.ci_high:.4f}]"
            )
    summary = {
        "benchmark": "ratings",
        "ratings": len(frame),
        "ratees": args.ratees,
        "raters": args.raters,
        "sources": SOURCES,
        "fit_s": round(fit_s, 3),
        "reml_evaluations": fit.n_evaluations,
        "converged": fit.converged,
        "tracemalloc_peak_mib": round(peak_b / 2**20, 1),
        "units_fit_s": round(units_s, 3),
        "unit_size": args.unit_size,
        "ru_maxrss_mib": round(maxrss_mb, 1),
        "target_s": 10,
        "target_mib": 2048,
        "estimates_sd": {k: round(float(comps.loc[k, "sd"]), 5) for k in TRUE_SD},
        "statsmodels": rows,
        "largest_ratio": round(largest["ratio"], 1) if largest else None,
        "profile_ci_s": round(profile_s, 1) if profile_s is not None else None,
        "python": platform.python_version(),
        "targets_met": targets,
    }
    print(json.dumps(summary))
    return exit_status(targets, check=args.check)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
