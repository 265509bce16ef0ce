"""Speed of ``simlib calibrate``: four free parameters, predikat and rater targets.

What is measured
----------------
The default district (``data/scenarios/district_health_office.yaml``) is calibrated to the
national predikat distribution (``data/calibration/predikat_national.yaml``) and the rater
lab's targets (``data/calibration/rater_lab.yaml``) with four free parameters:

- ``raters.leniency_mean`` (0 to 2 SD), rater leniency;
- ``policy.appraisal.cutoff_below`` (-3.5 to -1 SD), the reluctance to rate "di bawah
  ekspektasi";
- ``raters.multi_source.residual_sd`` (0.5 to 1.1 SD), the random error of 360 ratings;
- ``raters.multi_source.sources.peer.perspective_sd`` (0.3 to 1.2 SD), the peers' shared
  perspective;

``--replications`` common-random-number replications per candidate (default 4), a Latin
hypercube of ``--design`` points (default 64), then ``--method`` (default Nelder-Mead) with
at most ``--max-evaluations`` candidates (default 160). Every candidate runs two settings
(today's rules for the predikat targets; developmental 360 ratings with two superiors,
12 months, for the rater targets). The cache is a fresh temporary folder: every candidate
is simulated and written.

Reference, measured in the same run: ``--reference`` plain :func:`simlib.simulate` calls
of the same two settings at the start values (no statistics, no cache), timed one by one;
their mean time per simulation, times the number of simulations the calibration ran, is
what the same number of plain simulations costs. The ratio is the calibration overhead
(statistics of the rating table, resolving candidates, hashing, caching, the optimiser).

Target: the whole calibration under 10 minutes on this 2-core machine. The last line
printed is one JSON object with all the figures.

How to run
----------
::

    .venv/bin/python benchmarks/calibrate.py
    .venv/bin/python benchmarks/calibrate.py --replications 2 --design 16 --max-evaluations 20
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simlib.core.paths import DATA, DEFAULT_SCENARIO  # noqa: E402
from simlib.engine.model import simulate  # noqa: E402
from simlib.experiment.calibration import CandidateCache, calibrate, plan_calibration  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_check_argument, exit_status, target_line  # noqa: E402  (beside this file)

FREE = [
    "raters.leniency_mean=0:2",
    "policy.appraisal.cutoff_below=-3.5:-1",
    "raters.multi_source.residual_sd=0.5:1.1",
    "raters.multi_source.sources.peer.perspective_sd=0.3:1.2",
]
TARGETS = [DATA / "calibration" / "predikat_national.yaml", DATA / "calibration" / "rater_lab.yaml"]
LIMIT_S = 600.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=4)
    parser.add_argument("--design", type=int, default=64)
    parser.add_argument("--max-evaluations", type=int, default=160)
    parser.add_argument("--method", default="nelder-mead")
    parser.add_argument("--reference", type=int, default=40, help="plain simulate calls")
    add_check_argument(parser)
    args = parser.parse_args()

    problem = plan_calibration(DEFAULT_SCENARIO, TARGETS, FREE, replications=args.replications)
    resolved = problem.resolve([p.start for p in problem.free])
    ref_times = []
    for i in range(args.reference):
        scenario, schedule = resolved[i % len(resolved)]
        started = time.perf_counter()
        simulate(scenario, schedule, seed=problem.seed, replication=i // len(resolved))
        ref_times.append(time.perf_counter() - started)
    ref_per_sim = sum(ref_times) / len(ref_times)

    with tempfile.TemporaryDirectory() as tmp:
        cache = CandidateCache(Path(tmp) / "bench.cache")
        started = time.perf_counter()
        result = calibrate(problem, design=args.design, method=args.method,
                           max_evaluations=args.max_evaluations, cache=cache)  # fmt: skip
        wall = time.perf_counter() - started
    per_sim = wall / max(result.simulations, 1)
    summary = result.best_summary
    figures = {
        "benchmark": "calibrate",
        "scenario": str(DEFAULT_SCENARIO.relative_to(ROOT)),
        "free_parameters": len(FREE),
        "targets": len(problem.targets),
        "settings": len(problem.settings),
        "replications": args.replications,
        "design_points": args.design,
        "method": args.method,
        "candidates": result.evaluations,
        "simulations": result.simulations,
        "wall_s": round(wall, 2),
        "s_per_simulation": round(per_sim, 4),
        "reference_s_per_simulation": round(ref_per_sim, 4),
        "reference_same_simulations_s": round(ref_per_sim * result.simulations, 2),
        "overhead_ratio": round(per_sim / ref_per_sim, 3),
        "objective": round(summary["objective"], 4),
        "max_implausibility": round(summary["implausibility"], 3),
        "non_implausible_design_points": len(result.non_implausible),
        "best": {k: round(v, 4) for k, v in result.best.items()},
        "under_10_min": wall < LIMIT_S,
        "targets_met": {"calibration_under_10_min": wall < LIMIT_S},
    }
    print(f"calibration: {result.evaluations} candidates, {result.simulations} simulations, "
          f"{wall:.1f} s ({per_sim * 1000:.0f} ms per simulation; plain simulate "
          f"{ref_per_sim * 1000:.0f} ms: overhead x{per_sim / ref_per_sim:.2f})")  # fmt: skip
    print(target_line(f"calibration in {wall:.1f} s, under {LIMIT_S:.0f} s", wall < LIMIT_S))
    print(f"best fit: objective {summary['objective']:.3g}, max implausibility "
          f"{summary['implausibility']:.3g}; {len(result.non_implausible)} of {args.design} "
          "design points non-implausible")  # fmt: skip
    for name, row in summary["targets"].items():
        print(f"  {name:<40} simulated {row['simulated']:.4g}  z {row['z']:+.2f}  "
              f"implausibility {row['implausibility']:.2f}")  # fmt: skip
    print(json.dumps(figures))
    return exit_status(figures["targets_met"], check=args.check)


if __name__ == "__main__":
    sys.exit(main())
