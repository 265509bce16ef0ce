"""Scenario discovery: where in the assumptions' ranges a reform fails, by PRIM.

An experiment that draws its assumptions (a probabilistic sensitivity analysis, see
:func:`simlib.analysis.effects.assumption_draws`) gives, for every draw, the values of the
assumptions and the reform's effect. Scenario discovery (Bryant & Lempert 2010,
*Technological Forecasting and Social Change* 77(1):34-49) asks which combinations of
assumption ranges make the reform fail -- its effect on an outcome below zero, or its cost
above a cap -- and answers with a few *boxes* (a range per restricted assumption) found by
the Patient Rule Induction Method (Friedman & Fisher 1999), here the ``prim`` package.

Each box is described by

* **coverage**: the share of all failing draws that lie in the box;
* **density**: the share of the draws in the box that fail;
* **mass**: the share of all draws in the box.

PRIM peels a box step by step (``peel_alpha`` of the draws at a time) and records the
trajectory; :func:`discover` keeps, on each trajectory, among the boxes whose density is at
least ``min_density``, the one with the largest coverage x density (the densest one if none
reaches it), then looks for a next box among the draws outside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Box", "discover", "failure_boxes"]


@dataclass(frozen=True)
class Box:
    """A box of assumption ranges and how well it captures the failing draws."""

    #: Restricted parameters: ``path -> (low, high)`` (the other parameters are free).
    limits: dict[str, tuple[float, float]]
    coverage: float
    density: float
    mass: float
    #: Draws in the box and failing draws in it.
    n: int
    n_failing: int
    #: The whole range of every parameter among the draws (for reading ``limits``).
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    def describe(self) -> str:
        """One line: each restricted range, then coverage, density and mass."""
        parts = [f"{p} in [{lo:.4g}, {hi:.4g}]" for p, (lo, hi) in self.limits.items()]
        where = " and ".join(parts) if parts else "anywhere"
        return (
            f"{where}: coverage {self.coverage:.2f}, density {self.density:.2f}, "
            f"mass {self.mass:.2f} ({self.n_failing} of {self.n} draws fail)"
        )


def discover(
    x: pd.DataFrame,
    failing: np.ndarray,
    *,
    max_boxes: int = 3,
    min_density: float = 0.8,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> list[Box]:
    """PRIM boxes of the draws in ``x`` where ``failing`` is true.

    Parameters
    ----------
    x
        One row per draw, one numeric column per assumption.
    failing
        Bool per draw: the reform fails there.
    max_boxes
        Most boxes to report (PRIM looks for the next box among the draws left outside
        the earlier ones); it stops earlier when no failing draw is left or a box's
        density is no better than the failing share overall.
    min_density
        On each peeling trajectory, the box kept is, among those whose density reaches
        this, the one with the largest coverage x density; the densest box if none does.
    peel_alpha, mass_min
        PRIM's share of draws peeled per step and smallest box mass.

    Returns
    -------
    list of Box
        Empty when no draw fails (or every draw does: there is nothing to separate).
    """
    import prim

    failing = np.asarray(failing, dtype=bool)
    if len(failing) != len(x):
        raise ValueError(f"{len(failing)} failure flags for {len(x)} draws")
    total_failing = int(failing.sum())
    if total_failing == 0 or total_failing == len(failing):
        return []
    x = x.reset_index(drop=True).astype(float)
    ranges = {c: (float(x[c].min()), float(x[c].max())) for c in x.columns}
    varying = [c for c in x.columns if ranges[c][0] < ranges[c][1]]
    if not varying:
        return []
    x = x[varying]
    p = prim.Prim(x, failing.astype(float), threshold=0.5, threshold_type=">",
                  peel_alpha=peel_alpha, mass_min=mass_min)  # fmt: skip
    boxes: list[Box] = []
    base_rate = total_failing / len(failing)
    inside_any = np.zeros(len(failing), dtype=bool)
    for _ in range(max_boxes):
        try:
            found = p.find_box()
        except (ValueError, IndexError):
            break
        if found is None:
            break
        trajectory = found.peeling_trajectory
        good = trajectory.index[trajectory["density"] >= min_density]
        if len(good):
            score = trajectory.loc[good, "coverage"] * trajectory.loc[good, "density"]
            i = int(score.idxmax())
        else:
            i = int(trajectory["density"].idxmax())
        found.select(i)
        limits = _restricted(found.limits, ranges)
        inside = _inside(x, limits)
        fresh = inside & ~inside_any
        n, n_fail = int(inside.sum()), int((inside & failing).sum())
        if n == 0 or n_fail / n <= base_rate or not fresh.any():
            break
        boxes.append(
            Box(
                limits=limits,
                coverage=n_fail / total_failing,
                density=n_fail / n,
                mass=n / len(failing),
                n=n,
                n_failing=n_fail,
                ranges={c: ranges[c] for c in limits},
            )
        )
        inside_any |= inside
        if not (failing & ~inside_any).any():
            break
    return boxes


def _restricted(limits: pd.DataFrame, ranges: dict[str, tuple[float, float]]) -> dict:
    """Parameters the box restricts (a bound inside the draws' range), with their bounds."""
    out = {}
    for name, row in limits.iterrows():
        lo, hi = float(row["min"]), float(row["max"])
        full_lo, full_hi = ranges[name]
        if lo > full_lo or hi < full_hi:
            out[str(name)] = (lo, hi)
    return out


def _inside(x: pd.DataFrame, limits: dict[str, tuple[float, float]]) -> np.ndarray:
    inside = np.ones(len(x), dtype=bool)
    for name, (lo, hi) in limits.items():
        inside &= (x[name].to_numpy() >= lo) & (x[name].to_numpy() <= hi)
    return inside


def failure_boxes(
    store: Any,
    outcome: str,
    *,
    cap: float | None = None,
    max_boxes: int = 3,
    min_density: float = 0.8,
) -> pd.DataFrame:
    """Scenario discovery on a store whose experiment draws its assumptions.

    For every arm, a draw *fails* when the arm's effect on ``outcome`` at the horizon is
    below zero, or, with ``cap``, when the arm's own value of ``outcome`` exceeds ``cap``
    (a cost above a budget, in the outcome's unit). :func:`discover` finds the boxes.

    Returns
    -------
    pandas.DataFrame
        One row per arm, period kind and box: ``arm, agency, period_kind, box`` (1, 2,
        ...), ``limits`` (text), ``coverage, density, mass, n, n_failing``,
        ``failing_share`` (of all the arm's draws) and ``draws``. An arm whose draws
        never fail (or all fail) has one row with ``box`` 0 and no limits.
    """
    from simlib.analysis.effects import _design_matrix, assumption_draws

    cols = ["arm", "agency", "period_kind", "box", "limits", "coverage", "density", "mass",
            "n", "n_failing", "failing_share", "draws"]  # fmt: skip
    draws = assumption_draws(store, metrics=[outcome])
    if draws.empty:
        return pd.DataFrame(columns=cols)
    design = store.manifest["uncertainties"]
    params = [p["path"] for p in design["parameters"]]
    rows = []
    for (arm, agency, kind), part in draws.groupby(["arm", "agency", "period_kind"], sort=False):
        part = part.reset_index(drop=True)
        value = part["arm_value"] if cap is not None else part["effect"]
        ok = np.isfinite(value.to_numpy(dtype=float))
        part, value = part[ok].reset_index(drop=True), value[ok].reset_index(drop=True)
        failing = (value > cap) if cap is not None else (value < 0)
        x = pd.DataFrame(_design_matrix(part, params, design), columns=params)
        head = {"arm": arm, "agency": agency, "period_kind": kind,
                "failing_share": float(failing.mean()),
                "draws": len(part)}  # fmt: skip
        boxes = discover(x, failing.to_numpy(), max_boxes=max_boxes, min_density=min_density)
        if not boxes:
            rows.append({**head, "box": 0, "limits": "", "coverage": np.nan,
                         "density": np.nan, "mass": np.nan, "n": 0,
                         "n_failing": int(failing.sum())})  # fmt: skip
        for k, b in enumerate(boxes, start=1):
            limits = "; ".join(f"{p} in [{lo:.4g}, {hi:.4g}]" for p, (lo, hi) in b.limits.items())
            rows.append({**head, "box": k, "limits": limits, "coverage": b.coverage,
                         "density": b.density, "mass": b.mass, "n": b.n,
                         "n_failing": b.n_failing})  # fmt: skip
    return pd.DataFrame(rows, columns=cols)
