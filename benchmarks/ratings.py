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
D. **lme4's InstEval end to end.** ``simlib ratings analyze`` on the InstEval CSV (73,421
   ratings of 1,128 lecturers ``d`` by 2,972 students ``s``; ``--factor dept:service``,
   lme4's ``(1 | dept:service)``, 28 levels) with its default profile intervals, as a
   child process: wall time from start to exit and its CPU time, the best of
   ``--repeat`` runs (default 2; bytecode cached as after any first run). The CSV is
   ``--insteval FILE`` or, when R with lme4 is installed (``apt-get install
   r-base-core r-cran-lme4``), written by ``Rscript`` from ``lme4::InstEval``; without
   either the part is not measured. References in the same run: the same command with
   the nested profile search (the path every ``ratings analyze`` took before ``--ci``;
   ``intervals.profile_intervals(..., method="nested")``), and, with R, lme4 itself:
   ``lmer(y ~ 1 + (1 | s) + (1 | d) + (1 | dept:service), REML = TRUE)`` timed inside R
   (CSV read and fit; with ``--lme4-profile`` also ``confint(method = "profile")``,
   which takes minutes and profiles the ML deviance, so its intervals are printed
   beside ours, not compared). Skipped with ``--no-profile``.

The ratio printed is statsmodels' time over ours on the largest data set statsmodels
finished (a lower bound on the next size when it ran out of budget). Targets: A under
10 s and 2 GB, D under 4 s end to end, each printed with met or MISSED; with ``--check``
the script exits with status 1 when one is missed. The last line printed is one JSON
object with all the figures.

How to run
----------
::

    .venv/bin/python benchmarks/ratings.py
    .venv/bin/python benchmarks/ratings.py --quick      # 20,000 ratings, sizes 250 and 500
    .venv/bin/python benchmarks/ratings.py --no-profile # parts A and B only
    .venv/bin/python benchmarks/ratings.py --quick --insteval InstEval.csv --lme4-profile
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
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


# -- D: lme4's InstEval end to end ------------------------------------------------------------

INSTEVAL_ARGS = ["--ratee", "d", "--rater", "s", "--score", "y", "--factor", "dept:service"]

#: The nested profile search (the previous path) inside the same command.
NESTED = """
import functools, runpy, sys
import simlib.analysis.intervals as intervals
import simlib.analysis.variance as variance
variance.profile_intervals = functools.partial(intervals.profile_intervals, method="nested")
sys.argv = ["simlib", *sys.argv[1:]]
runpy.run_module("simlib", run_name="__main__")
"""

LME4 = """
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
t0 <- proc.time()[["elapsed"]]
data <- read.csv(args[[1]])
for (col in c("s", "d", "dept", "service")) data[[col]] <- factor(data[[col]])
fit <- lmer(y ~ 1 + (1 | s) + (1 | d) + (1 | dept:service), data = data, REML = TRUE)
t1 <- proc.time()[["elapsed"]]
vc <- as.data.frame(VarCorr(fit))
out <- list(fit_s = t1 - t0, reml_criterion = REMLcrit(fit),
            variance = as.list(setNames(vc$vcov, vc$grp)))
if (length(args) > 1) {
  ci <- confint(fit, parm = "theta_", method = "profile", oldNames = FALSE)
  out$profile_s <- proc.time()[["elapsed"]] - t1
  out$sd_low <- as.list(setNames(ci[, 1], rownames(ci)))
  out$sd_high <- as.list(setNames(ci[, 2], rownames(ci)))
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = I(10)), "\n")
"""


def insteval_csv(path: str | None, folder: Path) -> Path | None:
    """The InstEval CSV: given, or written from lme4 by Rscript (``None``: neither)."""
    if path:
        return Path(path)
    if shutil.which("Rscript") is None:
        return None
    out = folder / "InstEval.csv"
    code = (
        "suppressPackageStartupMessages(library(lme4)); "
        "write.csv(InstEval, commandArgs(TRUE)[1], row.names = FALSE)"
    )
    done = subprocess.run(["Rscript", "-e", code, str(out)], capture_output=True, text=True)
    return out if done.returncode == 0 and out.is_file() else None


def timed_child(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall and CPU seconds of one child process, and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {done.stderr.strip()[-500:]}")
    return wall, cpu, done.stdout


def insteval_part(args: argparse.Namespace) -> dict[str, Any] | None:
    with tempfile.TemporaryDirectory() as tmp:
        csv = insteval_csv(args.insteval, Path(tmp))
        if csv is None:
            print("D. InstEval: no CSV (--insteval FILE, or R with lme4 to write one); skipped")
            return None
        analyze = ["ratings", "analyze", str(csv), *INSTEVAL_ARGS, "--json"]
        print(f"D. InstEval ({csv.name}): simlib {' '.join(analyze[:2] + analyze[3:])}")
        # Bytecode cached as after any first run (in a folder of our own, even where
        # PYTHONDONTWRITEBYTECODE is set): the best of the runs is one with the cache.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        cmd = [sys.executable, "-m", "simlib", *analyze]
        runs = [timed_child(cmd, env) for _ in range(max(args.repeat, 1))]
        wall, cpu, out = min(runs)
        ours = json.loads(out)
        nested_wall, nested_cpu, nested_out = timed_child(
            [sys.executable, "-c", NESTED, *analyze], env
        )
        nested = json.loads(nested_out)
        lme4 = None
        if shutil.which("Rscript") is not None:
            cmd = ["Rscript", "-e", LME4, str(csv), *(["profile"] if args.lme4_profile else [])]
            try:
                lme4 = json.loads(timed_child(cmd)[2])
            except (RuntimeError, json.JSONDecodeError) as exc:
                print(f"   lme4 reference failed: {exc}")
    comps = {c["component"]: c for c in ours["components"]}
    old = {c["component"]: c for c in nested["components"]}
    # The two searches find the same crossing; how far apart their ends are (relative, sd).
    differ = max(
        abs(math.sqrt(comps[k][end]) - math.sqrt(old[k][end])) / math.sqrt(comps[k]["variance"])
        for k in comps
        for end in ("ci_low", "ci_high")
    )
    load = os.getloadavg()[0]  # the wall times mean little on a machine busy with others
    print(
        f"   ours: {wall:.2f} s wall (best of {len(runs)}), {cpu:.2f} s CPU; "
        f"fit {ours['n_evaluations']} + intervals {ours['ci_evaluations']} REML evaluations; "
        f"load average {load:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"   nested profile search (previous path): {nested_wall:.2f} s wall, "
        f"{nested_cpu:.2f} s CPU, intervals {nested['ci_evaluations']} REML evaluations; "
        f"{nested_wall / wall:.1f}x ours; ends agree to {differ:.1e} of each sd"
    )
    names = {"ratee": "d", "rater": "s", "dept:service": "dept:service", "residual": "Residual"}
    for k, row in comps.items():
        line = (
            f"   {k:>13}: variance {row['variance']:.5f}, sd {math.sqrt(row['variance']):.5f} "
            f"[{math.sqrt(row['ci_low']):.5f}, {math.sqrt(row['ci_high']):.5f}]"
        )
        if lme4 is not None:
            line += f"; lme4 variance {lme4['variance'][names[k]]:.5f}"
            if "sd_low" in lme4:
                key = "sigma" if k == "residual" else f"sd_(Intercept)|{names[k]}"
                line += f" [{lme4['sd_low'][key]:.5f}, {lme4['sd_high'][key]:.5f}] (ML profile)"
        print(line)
    result = {
        "ratings": ours["n_obs"],
        "ours_s": round(wall, 3),
        "ours_cpu_s": round(cpu, 3),
        "load_average": round(load, 2),
        "fit_evaluations": ours["n_evaluations"],
        "ci_evaluations": ours["ci_evaluations"],
        "nested_s": round(nested_wall, 3),
        "nested_cpu_s": round(nested_cpu, 3),
        "nested_ci_evaluations": nested["ci_evaluations"],
        "ends_max_rel_diff": differ,
        "reml_criterion": ours["reml_criterion"],
    }
    if lme4 is not None:
        result["lme4_fit_s"] = round(lme4["fit_s"], 3)
        result["lme4_reml_criterion"] = lme4["reml_criterion"]
        reference = f"lme4 read + lmer {lme4['fit_s']:.2f} s"
        if "profile_s" in lme4:
            result["lme4_profile_s"] = round(lme4["profile_s"], 3)
            reference += f", confint(profile) {lme4['profile_s']:.1f} s more"
        print(
            f"   {reference}; REMLcrit lme4 {lme4['reml_criterion']:.4f}, "
            f"ours {ours['reml_criterion']:.4f}"
        )
        total = lme4["fit_s"] + lme4.get("profile_s", 0.0)
        result["ratio_lme4"] = round(total / wall, 1)
        print(f"   ratio: lme4 / ours end to end {total / wall:.1f}x")
    else:
        result["ratio_nested"] = round(nested_wall / wall, 1)
    return result


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
    parser.add_argument("--no-profile", action="store_true", help="skip parts C and D")
    parser.add_argument("--insteval", metavar="FILE", help="lme4's InstEval as CSV (part D)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of part D (best taken)")
    parser.add_argument(
        "--lme4-profile", action="store_true", help="also time lme4's confint (minutes)"
    )
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
    insteval = None
    targets["insteval_under_4_s"] = None
    if not args.no_profile:
        insteval = insteval_part(args)
        if insteval is not None:
            targets["insteval_under_4_s"] = insteval["ours_s"] < 4.0
        print(
            "   "
            + target_line(
                "InstEval end to end with profile intervals"
                + (
                    f" in {insteval['ours_s']:.2f} s ({insteval['ours_cpu_s']:.2f} s CPU)"
                    if insteval
                    else " (no InstEval CSV)"
                )
                + ", under 4 s",
                targets["insteval_under_4_s"],
            )
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
        "insteval": insteval,
        "python": platform.python_version(),
        "targets_met": targets,
    }
    print(json.dumps(summary))
    return exit_status(targets, check=args.check)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
