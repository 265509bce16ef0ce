"""Simulated statistics against observed targets: distance, tolerance, and what cannot meet.

Reads a tidy frame with one row per candidate parameter set (``point``) and target:
``target``, ``observed``, ``tolerance``, ``simulated`` (the mean over replications) and
``mc_se`` (its Monte-Carlo standard error), as
:func:`simlib.experiment.calibration.evaluate` gives them. The calibration itself (the
search, history matching) is :mod:`simlib.experiment.calibration`'s.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

__all__ = ["conflicts", "fit_table"]


def fit_table(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``z`` ((simulated - observed) / tolerance) and ``within`` (|z| <= 1)."""
    z = (frame["simulated"] - frame["observed"]) / frame["tolerance"]
    return frame.assign(z=z, within=np.isfinite(z) & (z.abs() <= 1.0))


def conflicts(frame: pd.DataFrame) -> pd.DataFrame:
    """Targets the model cannot reach together over the candidates of ``frame``.

    One row per target never within tolerance at any candidate (``other`` empty), and per
    pair of targets each within tolerance at some candidate but never at the same one.
    Columns ``target``, ``other``, ``reached`` (candidates where ``target`` is within
    tolerance), ``other_reached``. Empty when every pair is reached together somewhere.
    """
    table = fit_table(frame) if "within" not in frame.columns else frame
    within = table.pivot_table(index="point", columns="target", values="within", aggfunc="all")
    order = list(dict.fromkeys(table["target"]))
    within = within.reindex(columns=order).fillna(False).astype(bool)
    rows = []
    for name in order:
        if not within[name].any():
            rows.append({"target": name, "other": "", "reached": 0, "other_reached": 0})
    for a, b in itertools.combinations(order, 2):
        na, nb = int(within[a].sum()), int(within[b].sum())
        if na and nb and not (within[a] & within[b]).any():
            rows.append({"target": a, "other": b, "reached": na, "other_reached": nb})
    return pd.DataFrame(rows, columns=["target", "other", "reached", "other_reached"])
