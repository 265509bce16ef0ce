"""Command line (``python -m simlib``): ``run``, ``validate``, ``params``, ``sweep``, ``effects``.

User errors (bad files, bad values) end with one line on stderr and exit status 2, with
nothing written to the output folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pandas as pd

# Only what every command needs is imported here: each command imports the rest when it
# runs, and the parser builds only the command asked for, so that `simlib ratings analyze`
# does not import the engine (tests/test_lazy_import.py).
from simlib.core.domain import PREDIKAT
from simlib.core.errors import ConfigError
from simlib.core.paths import DEFAULT_SCENARIO, POLICIES, REPORTS
from simlib.store.ratingdata import (
    DEFAULT_MIN_RATERS,
    fixed_effects_table,
    read_ratings,
    reference_levels,
    source_summary,
    with_safe_reference,
)

if TYPE_CHECKING:
    from simlib.params.policy import Policy
    from simlib.params.resolve import Inputs
    from simlib.params.scenario import Scenario

__all__ = ["main"]

EXIT_USER_ERROR = 2
PROGRESS_DELAY_S = 3.0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``simlib`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser(argv).parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"simlib: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("simlib: interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): not an error of the run.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other error of the CLI."""

    def error(self, message: str) -> NoReturn:
        """Print one line naming the problem and where help is, and exit with status 2."""
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def _parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser of every command, or only of the command (and subcommand) ``argv`` names.

    A command's options import what their defaults and checks come from (the parameter
    records, the engine, the notebooks); building only the one asked for keeps a command
    from importing the others' (``simlib ratings analyze`` reads a CSV and fits a model, and
    imports neither the engine nor the records). Anything else (``--help``, a misspelt
    command) gets the whole parser, with every command listed.
    """
    parser = _Parser(
        prog="simlib",
        description="Kinerja Lab: simulate performance appraisal and pay in ASN agencies.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    commands = {
        "run": _add_run,
        "ratings": _add_ratings,
        "validate": _add_validate,
        "params": _add_params,
        "report": _add_report,
        "calibrate": _add_calibrate,
        "sweep": _add_sweep,
        "effects": _add_effects,
    }
    chosen = argv[0] if argv and argv[0] in commands else None
    for name, add in commands.items():
        if chosen in (None, name):
            add(sub, argv[1:] if chosen else ())
    return parser


def _add_run(sub, rest: Sequence[str]) -> None:
    from simlib.cli.national import add_split_arguments
    from simlib.params.runinputs import add_file_argument

    run = sub.add_parser("run", help="run one scenario under a policy and write its tables")
    add_file_argument(run, "scenario", DEFAULT_SCENARIO)
    run.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="FILE",
        help="a full policy (replaces the scenario's baseline; first only) or a variant "
        "(override, applied in order; may take effect at a date). Repeatable.",
    )
    run.add_argument("--seed", type=_seed, default=1, help="root seed (default 1)")
    run.add_argument("--replication", type=_seed, default=0, help="replication number")
    run.add_argument("--out", metavar="DIR", help="output folder (default reports/<run id>)")
    run.add_argument(
        "--panel",
        action="store_true",
        help="also write the employee panel (ratings with true scores) and employee ledger",
    )
    add_split_arguments(run)  # --executor, --workers, --scheduler: split by agency
    run.set_defaults(func=_cmd_run)


def _add_ratings(sub, rest: Sequence[str]) -> None:
    ratings = sub.add_parser("ratings", help="360-degree rating data: simulate or analyse")
    rsub = ratings.add_subparsers(dest="ratings_command", required=True)
    chosen = rest[0] if rest and rest[0] in ("simulate", "analyze") else None
    if chosen in (None, "simulate"):
        _add_ratings_simulate(rsub)
    if chosen in (None, "analyze"):
        _add_ratings_analyze(rsub)


def _add_ratings_simulate(rsub) -> None:
    from simlib.params.runinputs import add_file_argument

    rsim = rsub.add_parser(
        "simulate", help="write simulated multi-source ratings with true scores beside them"
    )
    add_file_argument(rsim, "scenario", DEFAULT_SCENARIO)
    rsim.add_argument("--policy", action="append", default=[], metavar="FILE")
    rsim.add_argument("--seed", type=_seed, default=1)
    rsim.add_argument(
        "--quarters", type=_quarters, default=1, help="appraisal rounds to simulate (default 1)"
    )
    rsim.add_argument("--out", required=True, metavar="FILE.csv")
    rsim.set_defaults(func=_cmd_ratings_simulate)


def _add_ratings_analyze(rsub) -> None:
    ran = rsub.add_parser("analyze", help="decompose rating variance (crossed random effects)")
    ran.add_argument("file", metavar="FILE.csv")
    ran.add_argument("--ratee", required=True, metavar="COL")
    ran.add_argument("--rater", required=True, metavar="COL")
    ran.add_argument("--score", required=True, metavar="COL")
    ran.add_argument("--source", metavar="COL", help="rating source (self, peer, ...)")
    ran.add_argument("--factor", action="append", default=[], metavar="COL[:COL...]",
                     help="extra grouping column (random effect), or an interaction of any "
                     "columns joined by ':' (lme4's (1 | a:b)); repeatable")  # fmt: skip
    ran.add_argument("--covariate", action="append", default=[], metavar="COL",
                     help="fixed effect (numeric or categorical); repeatable")  # fmt: skip
    ran.add_argument("--min-raters", type=_positive, default=DEFAULT_MIN_RATERS, metavar="K",
                     help="withhold figures of groups with fewer raters (default 3)")  # fmt: skip
    ran.add_argument("--ci", choices=("profile", "bootstrap", "none"), default="profile",
                     help="95 %% intervals of the variances: profile likelihood (default), "
                     "parametric bootstrap, or none")  # fmt: skip
    ran.add_argument("--n-boot", type=_boot_resamples, default=None, metavar="N",
                     help=f"resamples (--ci bootstrap; default {DEFAULT_N_BOOT})")  # fmt: skip
    ran.add_argument("--seed", type=_seed, default=None, metavar="S",
                     help="seed of the keyed resamples (--ci bootstrap; default 1)")  # fmt: skip
    ran.add_argument("--json", action="store_true", help="print one JSON object")
    ran.set_defaults(func=_cmd_ratings_analyze)


def _add_validate(sub, rest: Sequence[str]) -> None:
    val = sub.add_parser(
        "validate",
        help="check input files of every kind (scenarios, policies, variants, experiments, "
        "training plans, campaigns, organisation CSVs, tables)",
    )
    val.add_argument("files", nargs="+", metavar="FILE")
    val.add_argument(
        "--base",
        metavar="POLICY",
        default=str(POLICIES / "baseline_central.yaml"),
        help="policy that variants are checked against (default: baseline_central.yaml)",
    )
    val.set_defaults(func=_cmd_validate)


def _add_params(sub, rest: Sequence[str]) -> None:
    par = sub.add_parser(
        "params",
        help="the parameter tree: every parameter with its default, unit, source, status and "
        "range (data/parameters)",
    )
    par.add_argument("path", nargs="?", help="one parameter's dotted path (e.g. raters.noise_sd)")
    par.add_argument("--kind", choices=("scenario", "policy"), default=None,
                     help="the tree to read (default: the one with PATH)")  # fmt: skip
    par.add_argument("--markdown", action="store_true",
                     help="print the reference page (> docs/parameters.md)")  # fmt: skip
    par.add_argument("--assumptions", metavar="FILE",
                     help="print the plausible ranges of the assumptions a scenario or policy "
                     "file rests on, as JSON (for sensitivity analysis)")  # fmt: skip
    par.set_defaults(func=_cmd_params)


def _add_report(sub, rest: Sequence[str]) -> None:
    from simlib.cli.report import add_report_command

    add_report_command(sub)


def _add_calibrate(sub, rest: Sequence[str]) -> None:
    from simlib.cli.calibrate import add_calibrate_command

    add_calibrate_command(sub)


def _add_sweep(sub, rest: Sequence[str]) -> None:
    """``simlib sweep``: run an experiment into a run store."""
    from simlib.core.paths import DEFAULT_EXPERIMENT
    from simlib.experiment.sweep import EXECUTORS
    from simlib.params.runinputs import add_file_argument

    sw = sub.add_parser("sweep", help="run an experiment (arms x samples x replications)")
    add_file_argument(sw, "experiment", DEFAULT_EXPERIMENT)
    sw.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="processes",
        help="where runs execute (default: a local process pool)",
    )
    sw.add_argument(
        "--workers",
        type=_positive,
        default=None,
        metavar="N",
        help="worker processes (default: all cores)",
    )
    sw.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of a running Dask scheduler (implies --executor dask)",
    )
    sw.add_argument("--store", metavar="DIR", help="run store (default reports/sweep-<name>)")
    sw.add_argument("--resume", action="store_true", help="continue a sweep; skip done runs")
    sw.add_argument(
        "--replications",
        type=_positive,
        default=None,
        metavar="N",
        help="override the experiment's replications",
    )
    sw.set_defaults(func=_cmd_sweep)


def _add_effects(sub, rest: Sequence[str]) -> None:
    """``simlib effects``: paired effects from a run store."""
    from simlib.cli.assumptions import add_effects_arguments

    eff = sub.add_parser("effects", help="paired effects of each arm vs the baseline")
    eff.add_argument("store", metavar="STORE")
    eff.add_argument("--confidence", type=float, default=0.95, help="interval level (0.95)")
    eff.add_argument("--json", action="store_true", help="print one JSON object")
    add_effects_arguments(eff)
    eff.set_defaults(func=_cmd_effects)


def _whole(text: str, low: int, high: int = 2**63 - 1) -> int:
    """A whole number from ``low`` to ``high``; the error states this option's own range."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not low <= value <= high:
        top = "2**63-1" if high == 2**63 - 1 else str(high)
        raise argparse.ArgumentTypeError(f"{value} is out of range; allowed: {low} to {top}")
    return value


def _seed(text: str) -> int:
    return _whole(text, 0)


def _quarters(text: str) -> int:
    return _whole(text, 1, 200)


def _positive(text: str) -> int:
    return _whole(text, 1)


#: Resamples of ``ratings analyze --ci bootstrap`` unless ``--n-boot`` says otherwise.
DEFAULT_N_BOOT = 200


def _boot_resamples(text: str) -> int:
    return _whole(text, 2, 100_000)


def _cmd_run(args: argparse.Namespace) -> int:
    from simlib.cli.national import simulate_run
    from simlib.params.changes import apply_changes
    from simlib.params.policy import build_schedule
    from simlib.params.resolve import resolve
    from simlib.params.runinputs import resolve_inputs
    from simlib.store.provenance import code_version, package_versions, stable_hash
    from simlib.store.rundir import claim_dir, run_folder_foreign, write_run

    started = time.perf_counter()
    scenario, base, variants = resolve_inputs(args.scenario, args.policy)
    if args.panel:
        scenario = apply_changes(
            scenario, {"outputs.employee_panel": True, "outputs.employee_ledger": True}
        )
    horizon = scenario.calendar.horizon_months
    schedule = build_schedule(base, variants, month_of=scenario.month_of, horizon_months=horizon)
    bundle = resolve(scenario, schedule)  # every file the run needs, read once
    inputs = _input_files(bundle, base, variants)
    resolved = bundle.content()
    version = code_version()
    digest = stable_hash({"inputs": resolved, "seed": args.seed, "rep": args.replication,
                          "code": version["key"]})  # fmt: skip
    run_id = f"{Path(args.scenario).stem}-seed{args.seed}-{digest[:10]}"
    out = Path(args.out) if args.out else REPORTS / run_id
    # Before the simulation: a folder we may not write is refused at once (write_run
    # checks again when it writes).
    claim_dir(out, what="simlib run", owned=run_folder_foreign)
    loaded = time.perf_counter()

    split = args.executor is not None or args.scheduler is not None
    progress = None if split else _progress_bar(horizon)  # a split run counts agencies
    try:
        result = simulate_run(bundle, args, month_progress=progress)
    finally:
        if progress is not None:
            progress.close()
    simulated = time.perf_counter()
    manifest = {
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "simlib run " + " ".join(sys.argv[2:] if len(sys.argv) > 2 else []),
        "seed": args.seed,
        "replication": args.replication,
        "inputs": inputs,
        "resolved_inputs": resolved,
        "inputs_sha256": digest,
        "parameter_sources": {
            "scenario": _sources(scenario.docs),
            **{f"policy_from_month_{m}": _sources(p.docs) for m, p in schedule.entries},
        },
        "code_version": version,
        "packages": package_versions(),
        "timings_s": {"load": loaded - started, "simulate": simulated - loaded},
        "meta": result.meta,
    }
    written = write_run(result, out, manifest=manifest)
    print(_summary(result, scenario))
    print(f"\nResults: {_display(written)}")
    print("  outcomes.csv/.parquet (agency x period x metric), ledger (payments by month),")
    print("  workforce (employees at the start), manifest.json (inputs, seed, code version)")
    return 0


def _sources(docs) -> dict[str, dict[str, str]]:
    return {path: {"unit": d.unit, "source": d.source} for path, d in sorted(docs.items())}


def _input_files(bundle: Inputs, base: Policy, variants) -> list[dict]:
    from simlib.params.tree import parent_files
    from simlib.store.provenance import file_sha256

    files = [("scenario", bundle.scenario.source_file), ("policy", base.source_file)]
    files += [("variant", v.source_file) for v in variants]
    files += [("parent", str(p)) for v in variants for p in parent_files(v.source_file, "variant")]
    listed = [
        {"role": role, "path": _display(Path(p)), "sha256": file_sha256(p)} for role, p in files
    ]
    # What the run's inputs were read from (organisation CSVs, training plans, campaigns,
    # parents and parameter trees, tables), hashed as they were read.
    return listed + [
        {"role": f.role, "path": _display(f.path), "sha256": f.sha256} for f in bundle.files
    ]


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class _Progress:
    """A tqdm bar that appears only when a run lasts more than a few seconds."""

    def __init__(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=total, unit="month", desc="simulating", delay=PROGRESS_DELAY_S, leave=False
        )

    def __call__(self, month: int) -> None:
        self.bar.update(month - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def _progress_bar(total: int) -> _Progress:
    return _Progress(total)


#: Quarter outcomes shown after a run: adoption, resistance, fairness, compliance, gaming.
BEHAVIOUR_SUMMARY = (
    "mean_effort", "adoption_share", "resisting_share", "mean_fairness", "skp_compliance",
    "gaming_incidence",
)  # fmt: skip


def _summary(result, scenario: Scenario) -> str:
    out = result.outcomes
    years = out[out["period_kind"] == "year"]
    if years.empty:
        quarters = out[out["period_kind"] == "quarter"]
        last = quarters["period"].iloc[-1]
        table = quarters[quarters["period"] == last].pivot_table(
            index="metric", columns="agency", values="value", sort=False
        )
        title = f"{scenario.name}: quarter {last}"
    else:
        last = years["period"].iloc[-1]
        table = years[years["period"] == last].pivot_table(
            index="metric", columns="agency", values="value", sort=False
        )
        title = f"{scenario.name}: year {last}"
    rows = [
        "mean_true_performance",
        "rating_accuracy",
        *(f"share_{p}" for p in PREDIKAT),
        "tukin_paid_idr",
        "budget_used_share",
        "hires",
        "separations",
        "mean_workforce_potential",
    ]
    shown = table.loc[[r for r in rows if r in table.index]]
    quarters = out[out["period_kind"] == "quarter"]
    behaviour = quarters[
        (quarters["period"] == quarters["period"].iloc[-1])
        & quarters["metric"].isin(BEHAVIOUR_SUMMARY)
    ].pivot_table(index="metric", columns="agency", values="value", sort=False)
    campaigns = out[out["period_kind"] == "campaign"].pivot_table(
        index="metric", columns=["agency", "period"], values="value", sort=False
    )
    with pd.option_context("display.float_format", _fmt, "display.width", 120):
        text = f"{title} (seed {result.meta['seed']})\n{shown.to_string()}"
        if not behaviour.empty:
            last_quarter = quarters["period"].iloc[-1]
            text += f"\n\nBehaviour, quarter {last_quarter}\n{behaviour.to_string()}"
        if not campaigns.empty:
            text += f"\n\nCampaigns\n{campaigns.to_string()}"
        return text


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1e5 else f"{x:.3f}"


def _cmd_ratings_simulate(args: argparse.Namespace) -> int:
    from simlib.engine.model import simulate
    from simlib.params.changes import apply_changes
    from simlib.params.policy import build_schedule
    from simlib.params.runinputs import resolve_inputs
    from simlib.store.provenance import code_version, file_sha256
    from simlib.store.ratingdata import simulated_ratings
    from simlib.store.rundir import (
        claim_file,
        clean_leftovers,
        fsync_dir,
        make_parents,
        temp_file_name,
        write_bytes_atomic,
    )

    scenario, base, variants = resolve_inputs(args.scenario, args.policy)
    scenario = apply_changes(
        scenario,
        {"outputs.ratings": True, "calendar.horizon_months": 3 * args.quarters},
        where="--quarters",
    )
    if base.appraisal.rater != "multi_source":
        base = apply_changes(base, {"appraisal.rater": "multi_source"})
    schedule = build_schedule(
        base, variants, month_of=scenario.month_of, horizon_months=3 * args.quarters
    )
    out = claim_file(args.out, what="simlib ratings simulate", owned=_own_ratings_csv)
    sidecar = _ratings_sidecar(out)
    if sidecar.exists() and _read_sidecar(sidecar) is None:
        raise ConfigError(
            "exists and was not written by 'simlib ratings simulate'; allowed: a file name "
            "whose FILE.manifest.json is free or simlib's",
            file=sidecar,
        )
    result = simulate(scenario, schedule, seed=args.seed)
    table = simulated_ratings(result)
    make_parents(out, path=args.out)
    clean_leftovers(out)
    data = table.to_csv(index=False).encode()
    # The sidecar first, naming the new content and the one it replaces: a kill between
    # the two writes leaves a CSV that is still recognised as simlib's.
    previous = file_sha256(out) if out.is_file() else None
    record = {
        "kind": "ratings",
        "sha256": hashlib.sha256(data).hexdigest(),
        "replaces_sha256": previous,
        "command": "simlib ratings simulate " + " ".join(sys.argv[3:]),
        "scenario": _display(Path(args.scenario)),
        "seed": args.seed,
        "quarters": args.quarters,
        "code_version": code_version(),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    write_bytes_atomic(sidecar, text.encode())
    tmp = temp_file_name(out)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
        fsync_dir(out.parent)
    finally:
        tmp.unlink(missing_ok=True)
    print(
        f"{len(table):,} ratings of {table.ratee.nunique():,} employees by "
        f"{table.rater.nunique():,} raters ({', '.join(map(str, table.source.unique()))}), "
        f"{args.quarters} quarter(s), seed {args.seed}: {_display(out)}"
    )
    print("  true_score is each ratee's true standing on the value; score is the rating.")
    print(f"  {_display(sidecar)}: how it was made (simlib overwrites the CSV only if unchanged)")
    return 0


def _ratings_sidecar(csv: Path) -> Path:
    """The provenance file beside a simulated rating CSV (``FILE.csv.manifest.json``)."""
    return csv.with_name(csv.name + ".manifest.json")


def _read_sidecar(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("kind") == "ratings" else None


def _own_ratings_csv(csv: Path) -> bool:
    """A CSV that ``ratings simulate`` wrote and nobody changed since (by its sidecar)."""
    from simlib.store.provenance import file_sha256

    record = _read_sidecar(_ratings_sidecar(csv))
    if record is None:
        return False
    return file_sha256(csv) in {record.get("sha256"), record.get("replaces_sha256")} - {None}


def _cmd_ratings_analyze(args: argparse.Namespace) -> int:
    if args.ci != "bootstrap":
        given = "--n-boot" if args.n_boot is not None else "--seed" if args.seed is not None else ""
        if given:
            raise ConfigError(
                "only the bootstrap uses it; allowed: with --ci bootstrap", path=given
            )
    n_boot = args.n_boot if args.n_boot is not None else DEFAULT_N_BOOT
    seed = args.seed if args.seed is not None else 1
    columns, parts, interactions = _factor_terms(args)
    data = read_ratings(
        args.file,
        ratee=args.ratee,
        rater=args.rater,
        score=args.score,
        source=args.source,
        factors=columns + parts,
        covariates=tuple(args.covariate),
    )
    from simlib.analysis import fit_variance_components, icc

    least = args.min_raters
    n_raters = int(data.frame["rater"].nunique())
    if n_raters < least:
        # Every figure, the intercept first, would describe fewer than k raters.
        raise ConfigError(
            f"ratings by {n_raters} raters; allowed: at least --min-raters ({least}) distinct "
            "raters, since every figure would describe fewer",
            file=args.file,
            path=args.rater,
        )
    data = with_safe_reference(data, min_raters=least)
    random: list = ["ratee", "rater"]
    if data.has_source:
        random += ["source", ("ratee", "source")]
    random += list(columns) + interactions
    try:
        fit = fit_variance_components(
            data.frame,
            response="score",
            random=random,
            fixed=data.covariates,
            ci=None if args.ci == "none" else args.ci,
            n_boot=n_boot,
            seed=seed,
        )
    except ConfigError as exc:
        raise exc.in_file(args.file) from None
    fixed = fixed_effects_table(fit.fixed_effects, data, min_raters=least)
    references = reference_levels(data)
    sources = source_summary(data, min_raters=least)
    iccs = {"ratee_icc1": icc(fit, "ratee", k=1)}
    pairs = data.frame[["ratee", "rater"]].drop_duplicates()
    raters_per_ratee = len(pairs) / data.frame["ratee"].nunique()
    iccs[f"ratee_icck_k{raters_per_ratee:.1f}"] = icc(fit, "ratee", k=raters_per_ratee)
    if args.json:
        report = {
            "file": _display(Path(args.file)),
            **fit.to_dict(),
            "fixed_effects": _records(fixed),
            "reference_levels": references,
            "icc": iccs,
            "sources": json.loads(sources.to_json(orient="records")),
            "min_raters": least,
        }
        print(json.dumps(report, sort_keys=True))
        return 0
    print(f"{_display(Path(args.file))}: {fit.n_obs:,} ratings; groups: "
          + ", ".join(f"{k} {v:,}" for k, v in fit.n_groups.items()))  # fmt: skip
    with pd.option_context("display.float_format", "{:.4g}".format, "display.width", 120):
        print(f"\nVariance components (REML, {_interval_words(fit)})")
        print(fit.components.to_string(index=False))
        print(f"\nFixed effects (withheld where they would reveal fewer than {least} raters)")
        print(fixed.to_string(index=False))
        if references:
            print(f"  reference level (first sorted level with at least {least} raters): "
                  + ", ".join(f"{c} = {v}" for c, v in references.items()))  # fmt: skip
        if fixed["withheld"].any():
            hidden = ", ".join(fixed.loc[fixed["withheld"], "term"])
            print(f"  withheld: {hidden} (estimated, not shown: rated by fewer than "
                  f"{least} raters, or revealing them)")  # fmt: skip
        if len(sources):
            print(f"\nBy source (withheld where fewer than {least} raters)")
            print(sources.to_string(index=False))
    print(f"\nResidual variance {fit.residual_variance:.4g}; REML criterion "
          f"{fit.reml_criterion:.6g}; "
          + "; ".join(f"{k} {v:.3f}" for k, v in iccs.items()))  # fmt: skip
    return 0


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: missing values become None, numpy scalars Python ones."""
    return [
        {c: None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for c, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def _interval_words(fit) -> str:
    """How the printed intervals were made, with the bootstrap's resamples and seed."""
    level = f"{100 * fit.level:g} %"
    if fit.ci == "profile":
        return f"{level} profile-likelihood intervals"
    if fit.ci == "bootstrap":
        return (
            f"{level} parametric-bootstrap percentile intervals, {fit.n_boot} resamples, "
            f"seed {fit.seed}"
        )
    return "no intervals: --ci none"


def _factor_terms(
    args: argparse.Namespace,
) -> tuple[tuple[str, ...], tuple[str, ...], list[tuple[str, ...]]]:
    """``--factor`` as grouping columns, the columns only interactions use, the interactions.

    The interactions are tuples of the columns' names in the read data.

    An interaction ``a:b`` may join any columns of the file: the rating roles by their
    column name or role name (``ratee``, ``rater``, ``source``), the other factors, the
    covariates, or columns named nowhere else (read as grouping columns, not fitted on
    their own). Every name is checked against the file's header first, so a bad one is
    one line naming ``--factor`` and the columns allowed.
    """
    roles = {args.ratee: "ratee", args.rater: "rater", "ratee": "ratee", "rater": "rater"}
    if args.source:
        roles.update({args.source: "source", "source": "source"})
    header = _csv_header(args.file)
    plain = tuple(dict.fromkeys(f for f in args.factor if ":" not in f))
    parts: list[str] = []
    interactions = []
    for term in args.factor:
        names = term.split(":")
        if len(names) < 2 and header is not None and term not in header:
            raise ConfigError(
                f"no column {term!r}; allowed: one of {', '.join(map(repr, header))}, or "
                "an interaction of them joined by ':'",
                file=args.file,
                path="--factor",
            )
        if len(names) < 2:
            continue
        for name in names:
            known = name in roles or (header is not None and name in header)
            if not name or (header is not None and not known):
                what = "an empty name" if not name else f"no column {name!r}"
                allowed = ", ".join(sorted({*(header or ()), *roles.values()}))
                raise ConfigError(
                    f"interaction {term!r}: {what}; allowed: two or more of {allowed} "
                    "joined by ':'",
                    file=args.file,
                    path="--factor",
                )
        canonical = tuple(roles.get(n, n) for n in names)
        for name in canonical:
            if name in ("ratee", "rater", "source") or name in plain:
                continue
            if name not in args.covariate and name not in parts:
                parts.append(name)
        interactions.append(canonical)
    return plain, tuple(parts), interactions


def _csv_header(path: str) -> list[str] | None:
    """The column names of a CSV's first line (``None``: unreadable; read_ratings says why)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return [c.strip() for c in next(csv.reader(handle, skipinitialspace=True))]
    except (OSError, UnicodeDecodeError, StopIteration, csv.Error):
        return None


def _cmd_validate(args: argparse.Namespace) -> int:
    from simlib.experiment.filekinds import check_file

    # Every file is checked; each bad one is one line on stderr, and the status is 2.
    bad = 0
    for file in args.files:
        try:
            _, summary = check_file(file, base_policy=args.base)
        except ConfigError as exc:
            print(f"simlib: error: {exc}", file=sys.stderr)
            bad += 1
            continue
        print(f"ok  {file}: {summary}")
    return EXIT_USER_ERROR if bad else 0


def _cmd_params(args: argparse.Namespace) -> int:
    from simlib.params import tree
    from simlib.params.config import read_yaml
    from simlib.params.policy import Policy, load_policy_or_variant
    from simlib.params.scenario import Scenario, load_scenario

    if args.markdown:
        sys.stdout.write(tree.markdown())
        return 0
    if args.assumptions:
        path = Path(args.assumptions)
        raw_kind = tree.file_kind_of(read_yaml(path), path)
        record = load_scenario(path) if raw_kind == "scenario" else load_policy_or_variant(path)
        if not isinstance(record, Scenario | Policy):
            raise ConfigError(
                "a variant has no record of its own; allowed: a scenario or policy file",
                file=path,
            )
        ranges = tree.assumption_ranges(record)
        print(json.dumps({k: list(v) for k, v in ranges.items()}, indent=1))
        return 0
    kinds = (args.kind,) if args.kind else tree.TREE_KINDS
    if args.path:
        found = [k for k in kinds if tree.tree_path(args.path) in tree.load_tree(k).parameters]
        p = tree.parameter(found[0] if found else kinds[0], args.path)
        print(_describe_parameter(p))
        return 0
    for kind in kinds:
        for p in tree.load_tree(kind).parameters.values():
            default = tree.format_value(p.value) if not p.values else "dated"
            shown = default if p.has_default else "-"
            print(
                f"{kind:8} {p.path} = {shown}{' ' + p.unit if p.unit else ''} [{p.status or '-'}]"
            )
    return 0


def _describe_parameter(p) -> str:
    from simlib.params import tree

    if p.values:
        default = "; ".join(
            f"{tree.format_value(v)} from {d.isoformat()}" for d, v in p.values.items()
        )
    else:
        default = tree.format_value(p.value) if p.has_default else "none (every file gives it)"
    lines = [
        f"{p.path}: {p.description}",
        f"  default: {default}" + (f" ({p.unit})" if p.unit else ""),
        f"  status:  {p.status or '-'}" + (f" ({tree.STATUSES[p.status]})" if p.status else ""),
    ]
    if p.source:
        lines.append(f"  source:  {p.source}")
    if p.note:
        lines.append(f"  note:    {p.note}")
    if p.range is not None:
        low, high = (tree.format_value(x) for x in p.range)
        lines.append(f"  range:   {low} to {high} ({p.range_source})")
    return "\n".join(lines)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from simlib.experiment.sweep import plan_sweep, run_sweep
    from simlib.store.rundir import claim_dir
    from simlib.store.runstore import store_foreign

    store = Path(args.store) if args.store else REPORTS / f"sweep-{Path(args.experiment).stem}"
    claim_dir(store, what="simlib sweep", owned=store_foreign)  # before planning: fail fast
    plan = plan_sweep(args.experiment, replications=args.replications)
    executor = "dask" if args.scheduler else args.executor
    bars: list = []  # a bar once there is a run to show: an error stays one line
    failures = 0

    def progress(record, done: int, total: int) -> None:
        nonlocal failures
        if not bars:
            bars.append(tqdm(total=total, unit="run", desc="sweep", dynamic_ncols=True))
        bar = bars[0]
        if bar.total != total:
            bar.reset(total=total)
        failures += record.status == "failed"
        bar.set_postfix(failed=failures, refresh=False)
        bar.update(done - bar.n)

    try:
        manifest = run_sweep(
            plan,
            store,
            executor=executor,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
            progress=progress,
        )
    except KeyboardInterrupt:
        print(f"simlib: interrupted; completed runs are kept in {_display(store)}: "
              "continue with --resume", file=sys.stderr)  # fmt: skip
        return 130
    finally:
        for bar in bars:
            bar.close()
    sweep = manifest["sweep"]
    print(
        f"{manifest['experiment']}: {sweep['runs_ok']} runs ok, {sweep['runs_failed']} failed, "
        f"{sweep['runs_skipped']} already done; {manifest['timings_s']['sweep']:.1f} s "
        f"({sweep['executor']}, {sweep['workers']} workers)"
    )
    if sweep.get("runs_inputs_changed"):
        print(f"Resume: {sweep['runs_inputs_changed']} runs whose input files or code changed "
              "run again")  # fmt: skip
    if sweep.get("runs_damaged_redone") or sweep.get("log_lines_rebuilt"):
        print(f"Resume: {sweep['runs_damaged_redone']} damaged run files run again; "
              f"{sweep['log_lines_rebuilt']} log lines rebuilt from run files")  # fmt: skip
    print(f"Store: {_display(store)}   next: simlib effects {_display(store)}")
    return 1 if sweep["runs_failed"] else 0


def _cmd_effects(args: argparse.Namespace) -> int:
    from simlib.analysis.effects import paired_effects, variance_reduction
    from simlib.store.runstore import open_store

    store = open_store(args.store)
    if not 0 < args.confidence < 1:
        raise ConfigError(
            f"{args.confidence}: allowed: strictly between 0 and 1", path="--confidence"
        )
    if args.assumptions or args.discover:
        from simlib.cli.assumptions import assumption_report

        return assumption_report(store, args)
    outcomes = store.outcomes()
    if store.damaged:
        first = next(iter(store.damaged))
        print(f"simlib: warning: {len(store.damaged)} damaged run file(s) left out (e.g. "
              f"runs/{first}.parquet: {store.damaged[first]}); 'simlib sweep --resume' runs "
              "them again", file=sys.stderr)  # fmt: skip
    if outcomes.empty:
        raise ConfigError("the store holds no completed run yet", file=args.store)
    effects = paired_effects(outcomes, baseline=store.baseline, confidence=args.confidence)
    keys = ["arm", "agency", "period_kind", "period", "metric"]
    vrf = variance_reduction(outcomes, baseline=store.baseline)
    effects = effects.merge(vrf.drop(columns="n"), on=keys, how="left")
    headline = _headline_vrf(effects)
    if args.json:
        report: dict = {
            "store": _display(Path(args.store)),
            "experiment": store.manifest["experiment"],
            "baseline": store.baseline,
            "confidence": args.confidence,
            "effects": {},
            "variance_reduction": {
                arm: {m: _finite(v) for m, v in row.items()} for arm, row in headline.iterrows()
            },
        }
        for row in effects.itertuples(index=False):
            name = f"{row.agency}|{row.period_kind}|{row.period}|{row.metric}"
            report["effects"].setdefault(row.arm, {})[name] = {
                "agency": row.agency,
                "period_kind": row.period_kind,
                "period": row.period,
                "metric": row.metric,
                "unit": row.unit,
                "difference": _num(row.difference),
                "ci_low": _num(row.ci_low),
                "ci_high": _num(row.ci_high),
                "n": int(row.n),
                "var_paired": _num(row.var_paired),
                "var_unpaired": _num(row.var_unpaired),
                "vrf": _finite(row.vrf),
            }
        print(json.dumps(report, sort_keys=True))
        return 0
    last = effects.groupby(["agency", "period_kind", "metric"])["period"].transform("last")
    shown = effects[(effects["period"] == last) & (effects["period_kind"] != "quarter")]
    with pd.option_context(
        "display.float_format", _fmt, "display.width", 160, "display.max_rows", 400
    ):
        cols = ["arm", "agency", "period", "metric", "difference", "ci_low", "ci_high", "n",
                "vrf"]  # fmt: skip
        print(
            f"{store.manifest['experiment']}: arms vs {store.baseline!r}, "
            f"{args.confidence:.0%} intervals (last period of each outcome)"
        )
        print(shown[cols].to_string(index=False))
        if not headline.empty:
            print(
                "\nvariance-reduction factor of the pairing, headline outcomes at the horizon "
                "(var(arm) + var(baseline)) / var(paired difference); about 1: not paired"
            )
            print(headline.to_string())
    return 0


def _headline_vrf(effects: pd.DataFrame) -> pd.DataFrame:
    """Arms x headline metrics: the variance-reduction factor at the horizon (agency mean)."""
    from simlib.reporting.briefing import HEADLINE

    rows = []
    for metric, kind in HEADLINE:
        mine = effects[(effects["metric"] == metric) & (effects["period_kind"] == kind)]
        if mine.empty:
            continue
        last = mine["period"] == mine.groupby("agency")["period"].transform("last")
        rows.append(mine[last].groupby("arm", sort=False)["vrf"].mean().rename(metric))
    return pd.concat(rows, axis=1) if rows else pd.DataFrame()


def _num(x: float) -> float | None:
    return None if pd.isna(x) else float(x)


def _finite(x: float) -> float | None:
    """A number for JSON: None when NaN or infinite (JSON has no infinity)."""
    return None if pd.isna(x) or abs(x) == float("inf") else float(x)
