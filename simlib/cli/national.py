"""``simlib run`` split by agency: executor options and a progress bar by agency (issue 17).

:func:`add_split_arguments` adds the options to the ``run`` parser; :func:`simulate_run`
runs the resolved bundle either as one process (no option given: ``simlib.simulate``
with the month bar of ``simlib run``) or split by agency over the executor
(:func:`simlib.experiment.national.simulate_split`), with a tqdm bar counting agencies.
Both give the same frames, byte for byte.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from simlib.engine.model import simulate
from simlib.engine.recorder import RunResult
from simlib.experiment.national import simulate_split
from simlib.params.resolve import Inputs

__all__ = ["add_split_arguments", "simulate_run"]

#: Seconds before a progress bar appears (a short run shows none).
PROGRESS_DELAY_S = 2.0


def add_split_arguments(parser: argparse.ArgumentParser) -> None:
    """``--executor``, ``--workers`` and ``--scheduler`` for ``simlib run``."""
    from simlib.experiment.sweep import EXECUTORS

    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=None,
        help="split the run by agency over this executor (default: one process, no split)",
    )
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="worker processes for --executor (default: all cores)")  # fmt: skip
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="a running Dask scheduler (tcp://host:8786); implies "
                        "--executor dask")  # fmt: skip


def simulate_run(
    inputs: Inputs,
    args: argparse.Namespace,
    *,
    month_progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Run ``inputs`` as ``args`` ask: split by agency (with a bar by agency) or whole."""
    executor = getattr(args, "executor", None)
    scheduler = getattr(args, "scheduler", None)
    if executor is None and scheduler is None:
        return simulate(inputs, seed=args.seed, replication=args.replication,
                        progress=month_progress)  # fmt: skip
    from tqdm import tqdm

    bar = tqdm(total=len(inputs.agencies), unit="agency", desc="simulating",
               delay=PROGRESS_DELAY_S, leave=False)  # fmt: skip
    try:
        return simulate_split(
            inputs,
            seed=args.seed,
            replication=args.replication,
            executor=executor or "dask",
            workers=getattr(args, "workers", None),
            scheduler=scheduler,
            on_agency=lambda done, _total: bar.update(done - bar.n),
        )
    finally:
        bar.close()
