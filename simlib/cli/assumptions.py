"""``simlib effects --assumptions`` and ``--discover``: effects under assumption uncertainty.

::

    simlib effects STORE --assumptions PSA_STORE [--json]
    simlib effects PSA_STORE --discover OUTCOME [--cap VALUE] [--json]

``--assumptions`` prints, for each headline effect of ``STORE`` (an experiment at the
default values), its Monte-Carlo interval beside the interval under assumption uncertainty
from ``PSA_STORE`` (the same arms with the assumptions drawn per replication, e.g.
``data/experiments/assumptions.yaml``) and the assumptions that drive it
(:func:`simlib.analysis.effects.effects_with_assumptions`). ``--discover`` finds, by PRIM,
the boxes of assumption ranges where each arm's effect on ``OUTCOME`` falls below zero, or
with ``--cap`` where the arm's own ``OUTCOME`` exceeds the cap
(:func:`simlib.analysis.discovery.failure_boxes`).
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from simlib.core.errors import ConfigError

__all__ = ["add_effects_arguments", "assumption_report"]


def add_effects_arguments(eff: argparse.ArgumentParser) -> None:
    """The options of ``simlib effects`` for assumption uncertainty and discovery."""
    eff.add_argument(
        "--assumptions",
        metavar="PSA_STORE",
        help="a store of the same arms with the assumptions drawn: print each headline "
        "effect's Monte-Carlo interval beside its interval under assumption uncertainty",
    )
    eff.add_argument(
        "--discover",
        metavar="OUTCOME",
        help="PRIM boxes of assumption ranges where each arm's effect on OUTCOME is below "
        "zero (the store, or --assumptions, must draw its assumptions)",
    )
    eff.add_argument(
        "--cap",
        type=float,
        default=None,
        metavar="VALUE",
        help="with --discover: a draw fails when the arm's OUTCOME exceeds VALUE (e.g. a cost)",
    )


def assumption_report(store: Any, args: argparse.Namespace) -> int:
    """Print the side-by-side intervals and/or the discovered boxes; exit status."""
    from simlib.engine.outcomes import OUTCOMES
    from simlib.store.runstore import open_store

    psa = open_store(args.assumptions) if args.assumptions else store
    if not psa.manifest.get("uncertainties"):
        where = "--assumptions" if args.assumptions else "STORE"
        raise ConfigError(
            "the store's experiment draws no assumptions (no uncertainties block); allowed: "
            "a store of an experiment with uncertainties, e.g. data/experiments/assumptions.yaml",
            path=where,
        )
    if args.cap is not None and not args.discover:
        raise ConfigError("allowed: --cap only with --discover", path="--cap")
    report: dict[str, Any] = {"store": str(args.store), "confidence": args.confidence}
    lines: list[str] = []
    if args.assumptions:
        side = _side_by_side(store, psa, confidence=args.confidence)
        report["assumptions_store"] = str(args.assumptions)
        report["effects"] = [_clean(r) for r in side.to_dict("records")]
        lines += _side_lines(side, store, args.confidence)
    if args.discover:
        names = {o.name for o in OUTCOMES}
        if args.discover not in names:
            raise ConfigError(f"{args.discover!r} is not a declared outcome", path="--discover")
        from simlib.analysis.discovery import failure_boxes

        boxes = failure_boxes(psa, args.discover, cap=args.cap)
        report["discovery"] = {
            "outcome": args.discover,
            "cap": args.cap,
            "boxes": [_clean(r) for r in boxes.to_dict("records")],
        }
        lines += _box_lines(boxes, args.discover, args.cap)
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        print("\n".join(lines))
    return 0


def _side_by_side(store: Any, psa: Any, *, confidence: float):
    from simlib.analysis.effects import effects_with_assumptions
    from simlib.reporting.briefing import HEADLINE

    side = effects_with_assumptions(
        store, psa, metrics=[m for m, _ in HEADLINE], confidence=confidence
    )
    kinds = dict(HEADLINE)
    return side[side["period_kind"] == side["metric"].map(kinds)].reset_index(drop=True)


def _side_lines(side, store: Any, confidence: float) -> list[str]:
    lines = [
        f"{store.manifest['experiment']}: headline effects at the horizon vs "
        f"{store.baseline!r}; Monte-Carlo {confidence:.0%} interval (defaults) beside the "
        f"central {confidence:.0%} range under assumption uncertainty",
        "",
        f"{'arm':<22} {'metric':<22} {'effect':>9} {'MC interval':>21}   "
        f"{'under assumptions':>21} {'P(<0)':>6}  drivers (main-effect share)",
    ]
    for r in side.itertuples(index=False):
        mc = f"[{_g(r.ci_low)}; {_g(r.ci_high)}]"
        psa = f"[{_g(r.psa_low)}; {_g(r.psa_high)}]" if _ok(r.psa_low) else "(not drawn)"
        p = f"{r.share_below_zero:.2f}" if _ok(r.share_below_zero) else ""
        lines.append(
            f"{r.arm:<22} {r.metric:<22} {_g(r.difference):>9} {mc:>21}   {psa:>21} {p:>6}  "
            f"{r.drivers if isinstance(r.drivers, str) else ''}"
        )
    return lines


def _box_lines(boxes, outcome: str, cap: float | None) -> list[str]:
    rule = f"{outcome} above {cap:g}" if cap is not None else f"effect on {outcome} below 0"
    lines = ["", f"Scenario discovery (PRIM): where {rule}"]
    for r in boxes.itertuples(index=False):
        head = f"  {r.arm:<22} {r.period_kind:<8} fails in {r.failing_share:.0%} of {r.draws} draws"
        if r.box == 0:
            lines.append(head + ": no box")
        else:
            lines.append(
                f"{head}; box {r.box}: {r.limits} (coverage {r.coverage:.2f}, density "
                f"{r.density:.2f}, mass {r.mass:.2f})"
            )
    return lines


def _ok(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def _g(x: Any) -> str:
    return f"{x:+.3g}" if _ok(x) else "nan"


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()}  # fmt: skip
