"""Command line of ``simlib report``: run an experiment's sweep if needed, write its briefing.

The reports themselves are :mod:`simlib.reporting`: the store and its run id
(:mod:`~simlib.reporting.stores`), the notebooks' execution and rendering
(:mod:`~simlib.reporting.notebooks`). This module adds the ``report`` subcommand to
:mod:`simlib.cli.main`'s parser, checks where it may write, runs the sweep with a progress
bar and prints what it wrote. Like the rest of the command line it may print; the library
modules below it do not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simlib.core.paths import DEFAULT_EXPERIMENT
from simlib.params.runinputs import add_file_argument
from simlib.reporting import i18n
from simlib.reporting.notebooks import (
    FORMATS,
    REPORT_NOTEBOOKS,
    NotebookError,
    build_report,
    report_foreign,
)
from simlib.reporting.stores import ensure_store, plan_store
from simlib.store.rundir import claim_dir

__all__ = ["add_report_command"]


def _run_dir_foreign(folder: Path) -> list[str] | None:
    """``owned`` for ``reports/<run id>/``: it holds a store or a report of ours.

    ``simlib report`` only adds ``store/`` and ``<lang>/`` to it (checked on their own),
    so other files beside them are kept and not reported.
    """
    from simlib.store.runstore import store_foreign  # pyarrow: imported when the command runs

    for name, owned in (("store", store_foreign), *((lang, report_foreign) for lang in i18n.LANGS)):
        sub = folder / name
        if sub.is_dir() and next(sub.iterdir(), None) is not None and owned(sub) == []:
            return []
    return None


def add_report_command(subparsers) -> None:
    """Add ``simlib report`` to the command line's subparsers."""

    def positive(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if number < 1:
            raise argparse.ArgumentTypeError(f"{number} is out of range; allowed: 1 or more")
        return number

    default = DEFAULT_EXPERIMENT
    rep = subparsers.add_parser(
        "report",
        help="run an experiment if its store is missing, then write its briefing (HTML)",
        description="Run EXPERIMENT's sweep unless its store exists, execute the report "
        "notebooks with papermill and render them as HTML (and the briefing as PDF with "
        "--format pdf) into reports/<run id>/<lang>/.",
    )
    add_file_argument(rep, "experiment", default)
    rep.add_argument(
        "--lang", choices=i18n.LANGS, default="id", help="report language (default: id)"
    )
    rep.add_argument("--out", metavar="DIR", help="reports folder (default: reports/)")
    rep.add_argument(
        "--format",
        choices=FORMATS,
        default="html",
        help="html (default): every notebook as a page; pdf: also the briefing as PDF",
    )
    rep.add_argument(
        "--replications",
        type=positive,
        metavar="N",
        help="override the experiment's replications (a different run id)",
    )
    rep.add_argument(
        "--workers", type=positive, metavar="N", help="worker processes (default: all cores)"
    )
    rep.set_defaults(func=_cmd_report)


def _cmd_report(args) -> int:
    """``simlib report``; its prints are the command's output (like :mod:`simlib.cli.main`)."""
    from tqdm import tqdm

    from simlib.store.runstore import store_foreign

    target = plan_store(args.experiment, reports=args.out, replications=args.replications)
    run_dir, store = target.run_dir, target.store
    # The ownership rule, before anything runs: the run folder, its store and the
    # language folder must each be new, empty or simlib's own (see simlib.store.rundir).
    claim_dir(run_dir, what="simlib report", owned=_run_dir_foreign)
    claim_dir(store, what="simlib report", owned=store_foreign)
    claim_dir(run_dir / args.lang, what="simlib report", owned=report_foreign)
    resume = target.started
    bars = []

    def progress(_record, done: int, total: int) -> None:
        if not bars:  # a bar only when there is something to run
            bars.append(tqdm(total=total, unit="run", desc="sweep", dynamic_ncols=True))
        bar = bars[0]
        if bar.total != total:
            bar.reset(total=total)
        bar.update(done - bar.n)

    try:
        manifest = ensure_store(target, workers=args.workers, progress=progress)
    finally:
        for bar in bars:
            bar.close()
    sweep = manifest["sweep"]
    if resume and not (sweep["runs_ok"] or sweep["runs_failed"] or sweep["runs_damaged_redone"]):
        print(f"Store: {_shown(store)} (complete; not rerun)")
    else:
        print(
            f"Store: {_shown(store)} ({sweep['runs_ok']} runs ok, {sweep['runs_failed']} "
            f"failed, {sweep['runs_skipped']} already done)"
        )
    try:
        pdf = {"formats": ("html", "pdf")} if args.format == "pdf" else {}
        folder = build_report(store, run_dir, lang=args.lang, **pdf)
    except NotebookError as exc:
        print(f"simlib: error: {exc}", file=sys.stderr)
        return 1
    for name, _show in REPORT_NOTEBOOKS:
        print(f"  {_shown(folder / (name + '.html'))}")
    print(f"  figures: {_shown(folder / 'figures')}")
    if args.format == "pdf":
        print(f"  {_shown(folder / '04-briefing.pdf')}")
    print(f"Briefing: {_shown(folder / '04-briefing.html')}")
    return 0


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
