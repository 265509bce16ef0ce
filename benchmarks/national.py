"""National scenario: one replication in-process against the same split over Dask workers.

Runs data/scenarios/national.yaml (all 632 agencies, 4.28 million ASN, or every
``1/share``-th agency with ``--fraction F``, alias ``--share``, for a smaller run) for
``--months`` (default 60: five years of quarterly cycles) under its baseline (the 360 rater
model, behaviour, the incentive ledger), first in this process with ``simlib.simulate`` (the
reference), then split by agency over a Dask LocalCluster of 1 and of ``--workers`` workers
started in the same run (``simlib.experiment.national.simulate_split``); checks the split
results equal the reference frame for frame, and prints wall time, employee-cycles
(employee-quarters) per second, peak memory (this process; the largest worker) and the
speed-up, with the machine's load average beside each timing (the machine may be shared).

Targets (defined at full size, ``--share 1 --months 60``; not measured smaller): in-process
wall under 5 minutes, peak memory under 8 GB; speed-up >= 1.7 on 2 workers (measured at
any size, against the in-process reference). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import pandas as pd
from _common import add_check_argument, exit_status, target_line  # beside this file
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import simlib  # noqa: E402
from simlib.experiment.national import scaled_scenario, simulate_split  # noqa: E402
from simlib.params.changes import apply_changes  # noqa: E402
from simlib.params.resolve import resolve  # noqa: E402

SCENARIO = ROOT / "data" / "scenarios" / "national.yaml"
WALL_TARGET_S = 300.0
MEMORY_TARGET_GB = 8.0
SPEEDUP_TARGET = 1.7


def _maxrss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def _warm() -> None:
    import simlib.experiment.national  # noqa: F401


def _dask_run(inputs, workers: int, seed: int):
    from distributed import Client, LocalCluster

    started = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)  # fmt: skip
    with cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        # A running cluster has the library imported: do it before the clock starts.
        client.run(_warm)
        up = time.perf_counter()
        load_before = _load()
        result = simulate_split(inputs, seed=seed, scheduler=cluster.scheduler_address)
        wall = time.perf_counter() - up
        rss = client.run(_maxrss_gb)
    return result, {"workers": workers, "startup_s": round(up - started, 2),
                    "wall_s": round(wall, 2), "load_before": load_before, "load_after": _load(),
                    "worker_peak_gb": round(max(rss.values()), 3)}  # fmt: skip


def _same(a, b) -> bool:
    for name in ("outcomes", "ledger", "workforce"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", "--share", dest="share", type=float, default=1.0,
                        help="fraction of agencies, every 1/F-th (default 1: all)")  # fmt: skip
    parser.add_argument("--months", type=int, default=60, help="horizon (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers (default 2)")
    parser.add_argument("--seed", type=int, default=1)
    add_check_argument(parser)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    scenario = simlib.load_scenario(SCENARIO)
    if args.share < 1.0:
        scenario = scaled_scenario(scenario, args.share)
    scenario = apply_changes(scenario, {"calendar.horizon_months": args.months})
    inputs = resolve(scenario, simlib.load_policy(scenario.resolve(scenario.baseline_policy)))
    load_s = time.perf_counter() - t0
    agencies = len(inputs.agencies)
    employees = sum(a.structure.employees for a in scenario.agencies)
    cycles = employees * (args.months // 3)
    print(f"national scenario: {agencies} agencies, {employees:,} employees, {args.months} "
          f"months ({cycles:,} employee-quarters); loaded in {load_s:.1f} s")  # fmt: skip

    load_before = _load()
    t = time.perf_counter()
    # One BLAS thread, as in the workers (a threaded BLAS changes the correlations' last bits).
    with threadpool_limits(limits=1):
        reference = simlib.simulate(inputs, seed=args.seed)
    wall_ref = time.perf_counter() - t
    peak_ref = _maxrss_gb()
    print(f"in-process (simulate)      : {wall_ref:8.2f} s  {cycles / wall_ref:>10,.0f} "
          f"employee-quarters/s  peak {peak_ref:.2f} GB  "
          f"load {load_before} -> {_load()}")  # fmt: skip

    runs = []
    for n in sorted({1, args.workers}):
        result, row = _dask_run(inputs, n, args.seed)
        row["equal_to_in_process"] = _same(reference, result)
        del result
        row["speedup"] = round(wall_ref / row["wall_s"], 3)
        row["employee_quarters_per_s"] = round(cycles / row["wall_s"])
        runs.append(row)
        print(f"Dask LocalCluster {n} worker{'s' if n > 1 else ' '}: {row['wall_s']:8.2f} s  "
              f"{row['employee_quarters_per_s']:>10,} employee-quarters/s  worker peak "
              f"{row['worker_peak_gb']:.2f} GB  speed-up {row['speedup']:.2f}x  (startup "
              f"{row['startup_s']:.1f} s)  load {row['load_before']} -> {row['load_after']}  "
              f"equal: {row['equal_to_in_process']}")  # fmt: skip
    full = args.share >= 1.0 and args.months == 60
    two = next((r for r in runs if r["workers"] == args.workers), runs[-1])
    peak = max(peak_ref, *(r["worker_peak_gb"] for r in runs))
    targets = {
        "wall_under_5_min": bool(wall_ref < WALL_TARGET_S) if full else None,
        "memory_under_8_gb": bool(peak < MEMORY_TARGET_GB) if full else None,
        "speedup_1_7_on_2_workers": bool(two["speedup"] >= SPEEDUP_TARGET)
        if args.workers == 2 else None,
        "split_equal_to_in_process": all(r["equal_to_in_process"] for r in runs),
    }  # fmt: skip
    print(target_line(f"national run in-process under {WALL_TARGET_S:.0f} s (full size)",
                      targets["wall_under_5_min"]))  # fmt: skip
    print(target_line(f"peak memory under {MEMORY_TARGET_GB:.0f} GB (full size)",
                      targets["memory_under_8_gb"]))  # fmt: skip
    print(target_line(f"speed-up >= {SPEEDUP_TARGET} on 2 Dask workers",
                      targets["speedup_1_7_on_2_workers"]))  # fmt: skip
    print(target_line("split results equal to the in-process run",
                      targets["split_equal_to_in_process"]))  # fmt: skip
    figures = {
        "share": args.share, "months": args.months, "agencies": agencies,
        "employees": employees, "employee_quarters": cycles, "load_s": round(load_s, 2),
        "in_process_wall_s": round(wall_ref, 2),
        "in_process_employee_quarters_per_s": round(cycles / wall_ref),
        "in_process_peak_gb": round(peak_ref, 3), "load_average_before": load_before,
        "cost_per_employee_quarter_us": round(wall_ref / cycles * 1e6, 2),
        "cost_per_agency_s": round(wall_ref / agencies, 4),
        "dask": runs, "cpus": os.cpu_count(), "targets_met": targets,
    }  # fmt: skip
    print(json.dumps(figures))
    return exit_status(targets, check=args.check)


if __name__ == "__main__":
    raise SystemExit(main())
