"""Benchmark: the two published careers simulations through ``simlib sweep``, against the
independent plain-numpy reference (``replications_reference.py``) on the same work.

A. Martell, Lane & Emrich (1996): ``data/replications/martell_1996.yaml`` (two arms, bias
   explaining 1 % and 5 % of the score variance; ``--organisations`` replications of the
   1,425-post organisation for 70 years), read in the year no original remains
   (``simlib.analysis.careers.careers_by_level(..., at="no_originals")``); the reference's
   ``martell`` on as many organisations.
B. Scullen, Bergey & Aiman-Smith (2005): ``data/replications/scullen_2005_factorial.yaml``
   (80 conditions; ``--scullen-replications`` replications of 100 groups, 30 years); the
   reference's ``scullen`` for each condition on as many groups (the initial workforce hired
   through selection), its recorded series (after turnover, before firing; year 0 from the
   engine's ``start`` record), 30-year gain.

Printed: wall time of each and the ratio to the reference; targets (met/MISSED): each
sweep under 2 minutes; Martell: the engine's women's share per level within 3.5 SE of the
difference from the reference (both Monte-Carlo errors), and fewer women at the top with
5 % bias than at level 1; Scullen: every condition's 30-year gain above zero (the published
statement) and the engine's gains within 3.5 SE of the reference's. The last line is one
JSON object. ``--check`` exits 1 on a missed target.

::

    .venv/bin/python benchmarks/replications.py                       # both, full size
    .venv/bin/python benchmarks/replications.py --organisations 10 --scullen-replications 1
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import replications_reference as ref  # beside this file
from _common import add_check_argument, exit_status, target_line

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
TARGET_S = 120.0


def sweep(experiment: str, store: Path, replications: int, workers: int) -> float:
    """Run ``simlib sweep`` in a child process; its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run(
        [PYTHON, "-m", "simlib", "sweep", str(ROOT / experiment), "--store", str(store),
         "--replications", str(replications), "--workers", str(workers)],
        check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started


def martell(args, figures: dict, targets: list) -> None:
    from simlib.analysis.careers import careers_by_level
    from simlib.store.runstore import open_store

    n = args.organisations
    with tempfile.TemporaryDirectory() as tmp:
        engine_s = sweep("data/replications/martell_1996.yaml", Path(tmp) / "s", n, args.workers)
        frame = careers_by_level(open_store(Path(tmp) / "s"), at="no_originals")
    started = time.perf_counter()
    reference = {v: ref.martell(v, organisations=n, seed=args.seed) for v in (0.01, 0.05)}
    ref_s = time.perf_counter() - started
    print(f"A. Martell et al. 1996, {n} organisations x 2 arms to completion")
    print(f"   simlib sweep {engine_s:.1f} s; reference {ref_s:.1f} s; "
          f"ratio {engine_s / ref_s:.1f}")  # fmt: skip
    out = {"engine_s": round(engine_s, 2), "reference_s": round(ref_s, 2)}
    worst = 0.0
    for arm, v in (("bias_1pct", 0.01), ("bias_5pct", 0.05)):
        w = frame[(frame["arm"] == arm) & (frame["metric"] == "women_share")].sort_values("level")
        r = reference[v]["women_share_by_level"]
        se_e = (w["ci_high"] - w["ci_low"]).to_numpy() / (2 * 1.96)
        z = (w["mean"].to_numpy() - np.asarray(r["mean"])) / np.hypot(se_e, r["se"])
        worst = max(worst, float(np.max(np.abs(z))))
        print(f"   {arm}: level  engine % [95 % CI]          reference % [95 % CI]     z")
        for k, row in enumerate(w.itertuples()):
            print(f"      {row.level:>9}  {100 * row.mean:5.1f} [{100 * row.ci_low:5.1f}, "
                  f"{100 * row.ci_high:5.1f}]   {100 * r['mean'][k]:5.1f} "
                  f"[{100 * r['ci95_low'][k]:5.1f}, {100 * r['ci95_high'][k]:5.1f}]  "
                  f"{z[k]:+5.2f}")  # fmt: skip
        out[arm] = {
            "engine": w[["level", "mean", "ci_low", "ci_high", "unfinished"]].to_dict("list"),
            "reference": r["mean"],
            "z": np.round(z, 2).tolist(),
        }
    w5 = frame[(frame["arm"] == "bias_5pct") & (frame["metric"] == "women_share")]
    top, bottom = float(w5["mean"].iloc[-1]), float(w5["mean"].iloc[0])
    targets.append(("Martell sweep under 2 minutes", engine_s, engine_s < TARGET_S, "s < 120"))
    targets.append(("Martell: engine within 3.5 SE of the reference at every level", worst,
                    worst <= 3.5, "max |z| <= 3.5"))  # fmt: skip
    targets.append(("Martell 5 %: fewer women at the top than at level 1", top - bottom,
                    top < bottom, "top - level 1 < 0"))  # fmt: skip
    figures["martell"] = out


def engine_series(out, metric: str):
    """Mean potential per (arm, sample, replication) and year 0..T: the ``start`` record is
    year 0, the calendar years follow as 1..T."""
    rows = out[out["metric"] == metric]
    start = rows[rows["period_kind"] == "start"].assign(year=0)
    years = rows[rows["period_kind"] == "year"]
    first = years["period"].astype(int).min()
    years = years.assign(year=years["period"].astype(int) - first + 1)
    both = [start, years] if len(start) else [years]
    import pandas as pd

    return pd.concat(both).pivot_table(
        index=["arm", "sample", "replication"], columns="year", values="value"
    )


def scullen(args, figures: dict, targets: list) -> None:
    from simlib.store.runstore import open_store

    reps = args.scullen_replications
    with tempfile.TemporaryDirectory() as tmp:
        store_dir = Path(tmp) / "s"
        engine_s = sweep("data/replications/scullen_2005_factorial.yaml", store_dir, reps,
                         args.workers)  # fmt: skip
        store = open_store(store_dir)
        out = store.outcomes()
        samples = store.samples()
    # The paper's recorded point (after turnover, before firing), year 0 included.
    series = engine_series(out, "mean_staff_potential_rated")
    years = int(series.columns.max())
    gain = (series[years] - series[0]).groupby(["arm", "sample"]).agg(["mean", "std", "count"])
    started = time.perf_counter()
    rows = []
    for (arm, sample), g in gain.iterrows():
        s = samples.set_index("sample").loc[sample]
        fire = 0.10 if arm == "fire_10" else 0.05
        recorded = ref.scullen(
            organisations=10 * reps, years=years, fire=fire,
            reliability=float(s["raters.measurement_reliability"]),
            validity=s["flows.selection_validity"], selection_ratio=s["flows.selection_ratio"],
            voluntary_turnover=s["flows.voluntary_exit_rate_pns"], initial="selected",
            seed=args.seed + int(sample) + (0 if fire == 0.10 else 500),
        )["recorded"]  # fmt: skip
        # The reference's organisations have 10 groups, the engine's 100: ten reference
        # organisations make one engine replication, so the engine's SE is over replications.
        r_gain = (recorded[:, years] - recorded[:, 0]).reshape(reps, 10).mean(axis=1)
        se_e = g["std"] / math.sqrt(g["count"]) if g["count"] > 1 else math.nan
        se_r = r_gain.std(ddof=1) / math.sqrt(len(r_gain)) if reps > 1 else math.nan
        rows.append({"arm": arm, "sample": int(sample), "engine_gain": g["mean"],
                     "reference_gain": float(r_gain.mean()),
                     "z": (g["mean"] - r_gain.mean()) / math.hypot(se_e, se_r)})  # fmt: skip
    ref_s = time.perf_counter() - started
    z = np.array([r["z"] for r in rows])
    eg = np.array([r["engine_gain"] for r in rows])
    rg = np.array([r["reference_gain"] for r in rows])
    print(f"\nB. Scullen et al. 2005, {len(rows)} conditions x {reps} replications of 100 groups")
    print(f"   simlib sweep {engine_s:.1f} s; reference {ref_s:.1f} s; "
          f"ratio {engine_s / ref_s:.1f}")  # fmt: skip
    print(f"   gain from year 0 to year {years} (SD, recorded series): engine {eg.min():.3f} to "
          f"{eg.max():.3f}, reference {rg.min():.3f} to {rg.max():.3f}; correlation over "
          f"conditions {np.corrcoef(eg, rg)[0, 1]:.3f}; |z| > 3.5 in "
          f"{int(np.sum(np.abs(z) > 3.5))} of {len(z)}; mean engine - reference "
          f"{np.mean(eg - rg):+.3f} SD")  # fmt: skip
    targets.append(("Scullen sweep under 2 minutes", engine_s, engine_s < TARGET_S, "s < 120"))
    targets.append(("Scullen: every condition gains (published)", float(eg.min()),
                    bool(eg.min() > 0), "min gain > 0"))  # fmt: skip
    worst = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else math.nan
    targets.append(("Scullen: engine gains within 3.5 SE of the reference", worst,
                    bool(worst <= 3.5), "max |z| <= 3.5"))  # fmt: skip
    figures["scullen"] = {"engine_s": round(engine_s, 2), "reference_s": round(ref_s, 2),
                          "conditions": rows}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organisations", type=int, default=100)
    parser.add_argument("--scullen-replications", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--only", choices=("martell", "scullen"))
    add_check_argument(parser)
    args = parser.parse_args(argv)
    figures: dict = {"organisations": args.organisations,
                     "scullen_replications": args.scullen_replications}  # fmt: skip
    targets: list = []
    if args.only in (None, "martell"):
        martell(args, figures, targets)
    if args.only in (None, "scullen"):
        scullen(args, figures, targets)
    print("\nTargets:")
    for name, value, met, rule in targets:
        print(target_line(f"{name}: {value:.3f} ({rule})", bool(met)))
    figures["targets_met"] = {name: bool(met) for name, _, met, _ in targets}
    print(json.dumps(figures, default=float))
    return exit_status(figures["targets_met"], check=args.check)


if __name__ == "__main__":
    sys.exit(main())
