"""Outcomes over several agencies, and which direction of each outcome is better.

How agencies' values combine and which change is an improvement are declared with each
outcome (:class:`simlib.engine.outcomes.Outcome` ``pooling`` and ``better``); the metrics
derived from the ledger by :mod:`simlib.analysis.effects` (costs, the chance of exceeding
the cap) are declared in :data:`DERIVED_BETTER`. :func:`assess` reads an effect and its
interval against that direction, so a rise in cost is never shown as good.
"""

from __future__ import annotations

import pandas as pd

from simlib.engine.outcomes import OUTCOMES

__all__ = ["DERIVED_BETTER", "POOLING", "assess", "better", "pool_agencies"]

#: Outcome -> ``"sum"`` or ``"mean"`` over agencies, as declared.
POOLING = {o.name: o.pooling for o in OUTCOMES}

#: Which direction is better for the metrics :mod:`simlib.analysis.effects` derives.
DERIVED_BETTER = {
    "total_cost_idr": "lower",
    "cost_idr": "lower",
    "cap_exceeded": "lower",
    "cost_per_performance_sd_idr": "lower",
    "pay_idr_per_employee": "",
}

_BETTER = {o.name: o.better for o in OUTCOMES} | DERIVED_BETTER


def better(metric: str) -> str:
    """``"higher"``, ``"lower"`` or ``""`` (no better direction, or not declared)."""
    return _BETTER.get(metric, "")


def assess(difference: float, ci_low: float, ci_high: float, direction: str) -> str:
    """What an effect means for a reader: ``better``, ``worse``, ``changed`` or ``unclear``.

    An effect whose interval includes zero is ``unclear``; a clear one is ``better`` or
    ``worse`` against ``direction`` (see :func:`better`), or ``changed`` when the metric
    has no better direction.
    """
    if not (ci_low > 0 or ci_high < 0):
        return "unclear"
    if not direction:
        return "changed"
    up = difference > 0
    return "better" if up == (direction == "higher") else "worse"


def pool_agencies(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Outcomes over all agencies (``agency == "all"``), each pooled as it declares.

    Amounts (rupiah, people) are added up, everything else averaged over agencies;
    a metric not declared in :data:`~simlib.engine.outcomes.OUTCOMES` is averaged. A
    table of one agency is returned unchanged.
    """
    if outcomes["agency"].nunique() <= 1:
        return outcomes
    keys = [
        c
        for c in ("arm", "sample", "replication", "period_kind", "period", "metric")
        if c in outcomes.columns
    ]
    summed = outcomes["metric"].map(POOLING).eq("sum")
    parts = [
        outcomes[mask]
        .groupby(keys, sort=False)
        .agg(value=("value", how), t_month=("t_month", "max"))
        for mask, how in ((summed, "sum"), (~summed, "mean"))
        if mask.any()
    ]
    return pd.concat(parts).reset_index().assign(agency="all")
