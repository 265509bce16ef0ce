"""Speed of a sweep: parallel efficiency on 1 and 2 workers, and the store's overhead.

What is measured
----------------
A. **One worker**: the default experiment (``data/experiments/default.yaml``; every arm,
   ``--replications`` per arm) swept with the process-pool executor and one worker into a
   fresh store. Wall time of :func:`simlib.experiment.sweep.run_sweep` (``time.perf_counter``),
   planning included, worker start-up included (the forkserver that forks workers is
   started once beforehand by a warm-up sweep, as in any session that sweeps twice).
B. **Two workers**: the same sweep with two workers into another fresh store, in the same
   run. Parallel efficiency = A / (2 x B). Both stores must be identical (checked).
C. **Store overhead**: inside each run the worker times the model (``simulate``), the
   building of the run's table (outcomes, ledger and the group summaries for winners and
   losers) and the writing of its Parquet file (encode, write, rename). Overhead = (table +
   write) / simulate, summed over the runs of A, and the median of that ratio over runs
   (the long campaign runs dilute the sum); the write alone is also reported, and the
   part of it spent in fsync (the run file, then its folder after the rename, so that a
   power cut cannot tear the store).
   The group summaries need the model's opt-in employee ledger, whose cost is part of
   ``simulate``.

Printed: per-arm median seconds per run, the wall times, efficiency and overheads. Targets,
each printed with met or MISSED: efficiency >= 0.85 on 2 cores; store overhead < 5 %; the
default experiment with 30 replications per arm in under 60 s on 2 cores (not measured with
fewer replications). With ``--check`` the script exits with status 1 when one is missed.
The last line printed is one JSON object with all the figures.

How to run
----------
::

    .venv/bin/python benchmarks/sweep.py
    .venv/bin/python benchmarks/sweep.py --replications 2 \
        --experiment tests/data/tiny_experiment.yaml
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from simlib.core.paths import DEFAULT_EXPERIMENT
from simlib.experiment.sweep import plan_sweep, run_sweep
from simlib.store.runstore import open_store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_check_argument, exit_status, target_line  # beside this file


def sweep(plan, store: Path, workers: int) -> float:
    started = time.perf_counter()
    run_sweep(plan, store, executor="processes", workers=workers)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default=str(DEFAULT_EXPERIMENT))
    parser.add_argument("--replications", type=int, default=30)
    add_check_argument(parser)
    args = parser.parse_args()

    plan = plan_sweep(args.experiment, replications=args.replications)
    runs = len(plan.runs)
    print(f"{plan.experiment.name}: {len(plan.experiment.arms)} arms x {len(plan.samples)} "
          f"samples x {args.replications} replications = {runs} runs; "
          f"{os.cpu_count()} cores")  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    try:
        # Start the forkserver once (as any long session would) so A and B start alike.
        sweep(plan_sweep(args.experiment, replications=1), tmp / "warm-up", 1)
        one = sweep(plan, tmp / "one", 1)
        two = sweep(plan, tmp / "two", 2)
        a, b = open_store(tmp / "one"), open_store(tmp / "two")
        identical = sorted(p.read_bytes() for p in (tmp / "one" / "runs").glob("*.parquet")) == (
            sorted(p.read_bytes() for p in (tmp / "two" / "runs").glob("*.parquet"))
        )
        table = a.runs()
        # Runs slower in B than in A mean that other jobs shared the cores during B.
        busy_b = float(b.runs()[["simulate_s", "store_s"]].sum().sum())
        ok = int((table["status"] == "ok").sum()) + int((b.runs()["status"] == "ok").sum())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    timed = ["simulate_s", "table_s", "write_s", "fsync_s"]
    per_arm = table.groupby("arm", sort=False)[timed].median()
    print("\nMedian seconds per run, one worker")
    print(per_arm.to_string(float_format=lambda x: f"{x:.4f}"))
    sim, tab, write = (table[c].sum() for c in ("simulate_s", "table_s", "write_s"))
    fsync = table["fsync_s"].sum()
    efficiency = one / (2 * two)
    busy_a = float(table[["simulate_s", "store_s"]].sum().sum())
    overhead = (tab + write) / sim
    # The campaign arm's long runs dilute the total: the typical run's share matters too.
    per_run = ((table["table_s"] + table["write_s"]) / table["simulate_s"]).median()
    print(f"\nA. 1 worker: {one:.1f} s    B. 2 workers: {two:.1f} s    "
          f"efficiency {efficiency:.2f} (target >= 0.85)")  # fmt: skip
    print(f"C. store overhead {overhead:.1%} of simulate (target < 5 %): table "
          f"{tab / sim:.1%} (of which group summaries most), write {write / sim:.1%}; "
          f"median run {per_run:.1%}")  # fmt: skip
    print(f"   of which fsync (file and folder) {fsync / sim:.2%} of simulate, "
          f"{fsync / write:.0%} of the write; median {table['fsync_s'].median() * 1e3:.2f} ms "
          "per run")  # fmt: skip
    print(f"Run seconds summed: A {busy_a:.1f}, B {busy_b:.1f} (B/A {busy_b / busy_a:.2f}; "
          "well above 1 means other jobs shared the cores during B)")  # fmt: skip
    targets = {
        "efficiency_at_least_0_85": bool(efficiency >= 0.85),
        "store_overhead_under_5pct": bool(overhead < 0.05),
        "default_30_replications_under_60_s_on_2_workers": (
            bool(two < 60) if args.replications >= 30 else None
        ),
    }
    print(target_line(f"parallel efficiency {efficiency:.2f} >= 0.85",
                      targets["efficiency_at_least_0_85"]))  # fmt: skip
    print(target_line(f"store overhead {overhead:.1%} < 5 %",
                      targets["store_overhead_under_5pct"]))  # fmt: skip
    print(target_line(f"{args.replications} replications per arm on 2 workers in {two:.1f} s; "
                      "30 in under 60 s",
                      targets["default_30_replications_under_60_s_on_2_workers"]))  # fmt: skip
    slowest = per_arm["simulate_s"].idxmax()
    print(f"Slowest arm: {slowest}, {per_arm.loc[slowest, 'simulate_s']:.2f} s per run; "
          f"stores identical: {identical}; runs ok {ok} of {2 * runs}")  # fmt: skip
    figures = {
        "experiment": plan.experiment.name,
        "arms": len(plan.experiment.arms),
        "samples": len(plan.samples),
        "replications": args.replications,
        "runs": runs,
        "cores": os.cpu_count(),
        "wall_1_worker_s": round(one, 3),
        "wall_2_workers_s": round(two, 3),
        "parallel_efficiency": round(efficiency, 3),
        "simulate_s_total": round(float(sim), 3),
        "store_overhead": round(float(overhead), 4),
        "store_overhead_median_run": round(float(per_run), 4),
        "store_table_share": round(float(tab / sim), 4),
        "store_write_share": round(float(write / sim), 4),
        "store_fsync_share": round(float(fsync / sim), 4),
        "fsync_share_of_write": round(float(fsync / write), 4),
        "median_fsync_ms": round(float(table["fsync_s"].median()) * 1e3, 3),
        "median_simulate_s_by_arm": {
            k: round(float(v), 4) for k, v in per_arm["simulate_s"].items()
        },
        "run_seconds_b_over_a": round(busy_b / busy_a, 3),
        "stores_identical": identical,
        "runs_ok": ok,
        "target_efficiency_met": bool(efficiency >= 0.85),
        "target_overhead_met": bool(overhead < 0.05),
        "target_60s_on_2_workers_met": bool(two < 60) if args.replications >= 30 else None,
        "targets_met": targets,
    }
    print(json.dumps(figures, sort_keys=True))
    return exit_status(targets, check=args.check)


if __name__ == "__main__":
    sys.exit(main())
