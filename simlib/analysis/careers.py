"""Careers by level: women's share and competence on the position ladder, with intervals.

Reads the careers outcomes the engine reports at each year's close under a policy's
careers lever (``women_share_level_k``, ``competence_level_k``, ``original_share``; see
:mod:`simlib.engine.outcomes`) from a run store or an outcomes frame, and summarises them
over replications, per arm and level: the mean, the confidence interval of the mean
(normal, from the between-replication SD) and the central range of single replications.

The year read is chosen per run and agency: the horizon's last year (``at="last"``), a
given year (``at=2030``), or the first year in which nobody of the workforce at the start
remains (``at="no_originals"``, Martell et al. 1996's stopping rule; a run in which some
remain at the horizon is read at its last year and counted in ``unfinished``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from simlib.store.runstore import Store

__all__ = ["CAREERS_COLUMNS", "careers_by_level", "year_read"]

#: Columns of :func:`careers_by_level`.
CAREERS_COLUMNS = (
    "arm", "agency", "level", "metric", "mean", "ci_low", "ci_high", "range_low",
    "range_high", "n", "unfinished", "mean_year",
)  # fmt: skip
_BY_LEVEL = {"women_share": "women_share_level_", "competence": "competence_level_"}


def _outcomes(source: Store | pd.DataFrame) -> pd.DataFrame:
    frame = source.outcomes() if isinstance(source, Store) else source
    frame = frame[frame["period_kind"] == "year"]
    if "arm" not in frame.columns:
        frame = frame.assign(arm=frame["policy"])
    return frame


def year_read(source: Store | pd.DataFrame, *, at: str | int = "last") -> pd.DataFrame:
    """The year read for each run and agency: ``arm, replication, agency, period, finished``.

    ``finished`` is False where ``at="no_originals"`` found originals at the horizon.
    """
    frame = _outcomes(source)
    keys = ["arm", "replication", "agency"]
    years = frame.assign(year=pd.to_numeric(frame["period"]))
    if at == "last":
        out = years.groupby(keys, sort=False)["year"].max().rename("period").reset_index()
        return out.assign(finished=True)
    if isinstance(at, int) and not isinstance(at, bool):
        out = years[years["year"] == at][keys].drop_duplicates().assign(period=at)
        return out.assign(finished=True)
    if at != "no_originals":
        raise ValueError("at: 'last', 'no_originals' or a calendar year")
    orig = years[years["metric"] == "original_share"]
    if orig.empty:
        raise ValueError("no original_share outcome: the runs had no careers lever")
    done = orig[orig["value"] <= 0].groupby(keys, sort=False)["year"].min()
    last = orig.groupby(keys, sort=False)["year"].max()
    out = pd.DataFrame({"done": done, "last": last}).reset_index()
    out["finished"] = out["done"].notna()
    out["period"] = out["done"].fillna(out["last"]).astype(int)
    return out[[*keys, "period", "finished"]]


def careers_by_level(
    source: Store | pd.DataFrame, *, at: str | int = "last", confidence: float = 0.95
) -> pd.DataFrame:
    """Women's share and mean competence per arm, agency and level, over replications.

    Parameters
    ----------
    source
        A run store (:class:`simlib.store.runstore.Store`) or an outcomes frame (a
        :class:`~simlib.engine.recorder.RunResult`'s ``outcomes``, or several stacked).
    at
        Which year of each run: ``"last"``, a calendar year, or ``"no_originals"``.
    confidence
        Level of the interval of the mean.

    Returns
    -------
    pandas.DataFrame
        :data:`CAREERS_COLUMNS`, one row per arm, agency, level (1 = bottom) and metric
        (``women_share``, ``competence``): ``mean``, its interval ``ci_low, ci_high``, the
        central ``confidence`` range of single replications ``range_low, range_high``,
        ``n`` replications, ``unfinished`` (runs read at the horizon because originals
        remained) and ``mean_year`` (the mean calendar year read). Levels the ladder lacks
        are left out.
    """
    frame = _outcomes(source)
    keys = ["arm", "replication", "agency"]
    read = year_read(frame, at=at)
    frame = frame.assign(year=pd.to_numeric(frame["period"]))
    rows = frame.merge(read.rename(columns={"period": "year"}), on=[*keys, "year"])
    z = stats.norm.ppf(0.5 + confidence / 2)
    tail = (1 - confidence) / 2
    out = []
    for metric, prefix in _BY_LEVEL.items():
        part = rows[rows["metric"].str.startswith(prefix)]
        part = part.assign(level=part["metric"].str.slice(len(prefix)).astype(int))
        part = part[np.isfinite(part["value"])]
        for (arm, agency, level), g in part.groupby(["arm", "agency", "level"], sort=False):
            v = g["value"].to_numpy(dtype=float)
            n = len(v)
            se = v.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
            out.append(
                {
                    "arm": arm, "agency": agency, "level": int(level), "metric": metric,
                    "mean": v.mean(), "ci_low": v.mean() - z * se, "ci_high": v.mean() + z * se,
                    "range_low": np.quantile(v, tail), "range_high": np.quantile(v, 1 - tail),
                    "n": n, "unfinished": int((~g["finished"]).sum()),
                    "mean_year": float(g["year"].mean()),
                }
            )  # fmt: skip
    return pd.DataFrame(out, columns=list(CAREERS_COLUMNS))
