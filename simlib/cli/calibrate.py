"""``simlib calibrate``: fit free parameters of a scenario to calibration targets.

::

    simlib calibrate SCENARIO --targets FILE [--targets FILE ...]
        --free PARAM[=LOW:HIGH] [--free ...] [--replications N] [--design N]
        [--method nelder-mead|powell|none] [--max-evaluations N] [--seed S] [--out FILE]
    simlib calibrate SCENARIO --targets FILE [...] --check [--replications N] [--seed S]
    simlib calibrate SCENARIO --ratings FILE.csv [--ratee COL] [--rater COL] [--score COL]
        [--source COL] [--dimension COL] [--factor COL ...] [--min-raters K] [--out FILE]

``--ratings`` estimates the scenario's rater-model parameters from a real rating file (the
variance decomposition of ``simlib ratings analyze``) and writes them as a scenario delta;
see :mod:`simlib.experiment.ratingcal`.

``--check`` simulates the scenario as it is and prints each target's simulated value, its
distance in tolerances (z) and whether it is met (|z| <= 1); nothing is written.

Writes the calibrated scenario delta (``--out``, default
``reports/calibration-<scenario>.yaml``), a policy variant beside it when a ``policy.``
parameter is free, and a JSON summary; simulated candidates are cached in
``<out stem>.cache/`` beside it, so an interrupted calibration, run again with the same
arguments, resumes where it stopped. See :mod:`simlib.experiment.calibration`.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from simlib.core.errors import ConfigError
from simlib.core.paths import DEFAULT_SCENARIO, REPORTS
from simlib.params.runinputs import add_file_argument

__all__ = ["add_calibrate_command"]


def add_calibrate_command(sub: Any) -> None:
    """Add ``simlib calibrate`` to the command line's subparsers."""
    from simlib.experiment.calibration import METHODS

    cal = sub.add_parser(
        "calibrate",
        help="fit free scenario or policy parameters to calibration targets by simulation",
    )
    add_file_argument(cal, "scenario", DEFAULT_SCENARIO)
    cal.add_argument(
        "--targets",
        action="append",
        default=[],
        metavar="FILE",
        help="calibration target file (data/calibration/*.yaml); repeatable",
    )
    cal.add_argument(
        "--ratings",
        metavar="FILE.csv",
        help="estimate the rater model from this rating file (one row per rating of one "
        "value) instead of fitting targets",
    )
    cal.add_argument("--ratee", default="ratee", metavar="COL", help="--ratings: ratee column")
    cal.add_argument("--rater", default="rater", metavar="COL", help="--ratings: rater column")
    cal.add_argument("--score", default="score", metavar="COL", help="--ratings: score column")
    cal.add_argument("--source", default="source", metavar="COL",
                     help="--ratings: source column (self, supervisor, peer, ...)")  # fmt: skip
    cal.add_argument("--dimension", default="dimension", metavar="COL",
                     help="--ratings: the rated value (BerAKHLAK dimension) column")  # fmt: skip
    cal.add_argument("--factor", action="append", default=[], metavar="COL",
                     help="--ratings: extra grouping column fitted beside the rater model "
                     "(a unit, a wave); repeatable")  # fmt: skip
    cal.add_argument(
        "--min-raters",
        type=_at_least(1),
        default=None,
        metavar="K",
        help="--ratings: withhold figures of groups with fewer raters (default 3)",
    )
    cal.add_argument(
        "--check",
        action="store_true",
        help="compare the scenario as it is with the targets (no fit, nothing written)",
    )
    cal.add_argument(
        "--free",
        action="append",
        default=[],
        metavar="PARAM[=LOW:HIGH]",
        help="a parameter to fit: a dotted scenario path (raters.leniency_mean) or a policy "
        "path prefixed 'policy.' (policy.appraisal.cutoff_below), with its range; repeatable",
    )
    cal.add_argument("--replications", type=_at_least(2), default=4, metavar="N",
                     help="replications per candidate, the same for all (default 4)")  # fmt: skip
    cal.add_argument("--design", type=_at_least(2), default=None, metavar="N",
                     help="Latin hypercube points (default 16 per free parameter)")  # fmt: skip
    cal.add_argument("--method", choices=METHODS, default="nelder-mead",
                     help="optimiser after the design (default nelder-mead)")  # fmt: skip
    cal.add_argument(
        "--max-evaluations",
        type=_at_least(0),
        default=None,
        metavar="N",
        help="candidates the optimiser may try (default 40 per free parameter)",
    )
    cal.add_argument("--seed", type=_at_least(0), default=1, help="root seed (default 1)")
    cal.add_argument("--out", metavar="FILE", help="scenario delta to write (YAML)")
    cal.set_defaults(func=_cmd_calibrate)


def _at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value < 2**63:
            raise argparse.ArgumentTypeError(f"{value} is out of range; allowed: {low} or more")
        return value

    return parse


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from simlib.experiment.calibration import (
        CandidateCache,
        calibrate,
        claim_outputs,
        output_paths,
        plan_calibration,
        write_delta,
    )

    if args.ratings is not None:
        return _cmd_ratings(args)
    if not args.targets:
        raise ConfigError("allowed: at least one --targets FILE, or --ratings FILE.csv",
                          path="--targets")  # fmt: skip
    if args.check:
        return _cmd_check(args)
    out = Path(args.out) if args.out else REPORTS / f"calibration-{Path(args.scenario).stem}.yaml"
    if out.suffix not in (".yaml", ".yml"):
        raise ConfigError("allowed: a file name ending in .yaml", file=out, path="--out")
    problem = plan_calibration(
        args.scenario, args.targets, args.free, replications=args.replications, seed=args.seed
    )
    claim_outputs(out)
    cache = CandidateCache(output_paths(out)["cache"])
    bars: list[Any] = []

    def progress(stage: str, total: int | None):
        for bar in bars:
            bar.close()
        bar = tqdm(total=total, unit="sim", desc=stage, dynamic_ncols=True, file=sys.stderr,
                   disable=None)  # fmt: skip
        bars.append(bar)
        return lambda: bar.update(1)

    try:
        result = calibrate(
            problem,
            design=args.design,
            method=args.method,
            max_evaluations=args.max_evaluations,
            cache=cache,
            progress=progress,
        )
    except KeyboardInterrupt:
        for bar in bars:
            bar.close()
        sys.stderr.write(
            f"simlib: interrupted; {cache.writes} candidates were cached in {cache.folder}: "
            "run the same command again to resume\n"
        )
        return 130
    for bar in bars:
        bar.close()
    written = write_delta(result, out)
    sys.stdout.write(_report(result, written) + "\n")
    return 0


def _cmd_ratings(args: argparse.Namespace) -> int:
    from simlib.experiment.ratingcal import calibrate_from_ratings, leaves, write_ratings_delta
    from simlib.store.ratingdata import DEFAULT_MIN_RATERS

    for flag, given in (("--targets", args.targets), ("--free", args.free),
                        ("--check", args.check)):  # fmt: skip
        if given:
            raise ConfigError(f"allowed: --ratings or {flag}, not both", path=flag)
    out = (
        Path(args.out)
        if args.out
        else REPORTS / f"calibration-{Path(args.scenario).stem}-ratings.yaml"
    )
    if out.suffix not in (".yaml", ".yml"):
        raise ConfigError("allowed: a file name ending in .yaml", file=out, path="--out")
    least = args.min_raters if args.min_raters is not None else DEFAULT_MIN_RATERS
    result = calibrate_from_ratings(
        args.scenario,
        args.ratings,
        ratee=args.ratee,
        rater=args.rater,
        score=args.score,
        source=args.source,
        dimension=args.dimension,
        factors=tuple(dict.fromkeys(args.factor)),
        min_raters=least,
    )
    written = write_ratings_delta(result, out)
    ins = result.instrument
    lines = [
        f"{Path(args.ratings).name}: {result.n_obs:,} ratings; groups: "
        + ", ".join(f"{k} {v:,}" for k, v in result.n_groups.items()),
        "",
        "Variance components (REML, points^2, 95 % profile intervals)",
        result.components[["component", "variance", "ci_low", "ci_high", "share"]].to_string(
            index=False, float_format="{:.4g}".format
        ),
        "",
        f"Rater model (SD of true performance; instrument from the scenario: points_per_sd "
        f"{ins.points_per_sd:g}, central_tendency {ins.central_tendency:g}, halo {ins.halo:g}, "
        f"{ins.values} values)",
        f"{'parameter':<44} {'estimate':>9} {'s.e.':>7}  from",
    ]
    for e in result.estimates:
        lines.append(f"{e.path:<44} {e.value:>9.4g} {e.se:>7.2g}  {e.from_components}")
    t = result.true_variance
    lines.append(f"{'(true perilaku variance of ratees)':<44} {t.value:>9.4g} {t.se:>7.2g}  "
                 f"{t.from_components}")  # fmt: skip
    withheld = result.sources.loc[result.sources["withheld"], "source"].astype(str).tolist()
    lines += [
        "",
        "perspective and idiosyncratic SDs are pooled over sources; written for "
        + (", ".join(result.written_sources) or "no source"),
    ]
    if withheld:
        lines.append(f"  not written for {', '.join(withheld)}: rated by fewer than {least} "
                     "raters")  # fmt: skip
    if not result.converged:
        lines.append("  warning: the REML optimiser did not meet its convergence test")
    lines += ["", f"{len(leaves(result))} leaves", *(f"wrote {p}" for p in written.values())]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from simlib.experiment.calibration import check_targets

    if args.free:
        raise ConfigError("allowed: --check or --free, not both", path="--check")
    table = check_targets(args.scenario, args.targets, replications=args.replications,
                          seed=args.seed)  # fmt: skip
    lines = [
        f"{Path(args.scenario).name} against {len(table)} targets ({args.replications} "
        f"replications, seed {args.seed}); met: |z| <= 1 (within the tolerance)",
        "",
        f"{'target':<40} {'status':>6} {'observed':>9} {'tol':>7} {'simulated':>9} "
        f"{'mc s.e.':>8} {'z':>7}  met",
    ]
    for row in table.itertuples(index=False):
        lines.append(
            f"{row.target:<40} {row.status:>6} {row.observed:>9.4g} {row.tolerance:>7.3g} "
            f"{row.simulated:>9.4g} {row.mc_se:>8.2g} {row.z:>7.2f}  "
            f"{'yes' if row.met else 'NO'}"
        )
    met = int(table["met"].sum())
    lines += ["", f"{met} of {len(table)} targets met"]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _report(result: Any, written: dict[str, Path]) -> str:
    pr = result.problem
    summ = result.best_summary
    lines = [
        f"calibrated {len(pr.free)} parameters to {len(pr.targets)} targets: "
        f"{result.evaluations} candidates, {result.simulations} simulations "
        f"({result.cached} replications from the cache), {result.wall_s:.1f} s",
        f"objective {summ['objective']:.4g}, max implausibility {summ['implausibility']:.3g}; "
        f"{len(result.non_implausible)} of {len(result.design)} design points non-implausible "
        "(< 3)",
        "",
        f"{'parameter':<48} {'best':>10}  non-implausible range",
    ]
    for p in pr.free:
        r = result.ranges[p.path]
        shown = f"{r[0]:.4g} to {r[1]:.4g}" if r else "none"
        lines.append(f"{p.path:<48} {result.best[p.path]:>10.4g}  {shown}")
    lines += ["", f"{'target':<40} {'status':>6} {'observed':>9} {'tol':>7} {'simulated':>9} "
              f"{'z':>7} {'impl.':>6}"]  # fmt: skip
    for ref in pr.targets:
        row = summ["targets"][ref.name]
        t = ref.target
        sim = row["simulated"]
        lines.append(
            f"{ref.name:<40} {t.status:>6} {t.observed:>9.4g} {t.tolerance:>7.3g} "
            f"{sim if math.isfinite(sim) else float('nan'):>9.4g} {row['z']:>7.2f} "
            f"{row['implausibility']:>6.2f}"
        )
    lines += ["", *(f"wrote {path}" for path in written.values())]
    return "\n".join(lines)
