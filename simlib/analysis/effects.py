"""Effects of policy arms: paired differences from the baseline with confidence intervals.

Replication *r* of every arm and uncertainty sample shares its random numbers (common
random numbers), so each arm's outcome is compared with the baseline's *in the same
replication and sample*: the paired difference removes the noise both share. The mean of
the paired differences and its Student-t interval (``statsmodels``
``DescrStatsW.tconfint_mean``) are reported with ``n``, the number of pairs; a pair where
either side is NaN (an outcome never reached, such as months to 80 % adoption) is dropped
and ``n`` says how many remain.

Headline families built on the same machinery:

- :func:`budget_effects`: total and per-year cost, probability that tukin due exceeds the
  budget cap, and cost per unit of performance gained;
- :func:`resistance_effects`: adoption at the horizon, time to 80 % adoption, SKP
  compliance;
- :func:`winners_losers`: change in pay and predikat shares by grade, job type, sex and
  unit;
- :func:`sensitivity`: how each effect depends on the uncertain parameters (Sobol indices
  with SALib for Sobol designs, standardised regression coefficients otherwise);
- :func:`assumption_effects`: each effect under assumption uncertainty (a probabilistic
  sensitivity analysis: the assumptions drawn per replication or per sample), its interval
  over the draws and the assumptions that drive it (:func:`main_effect_shares`);
  :func:`effects_with_assumptions` puts it beside the Monte-Carlo interval of a store run
  at the default values.

:func:`variance_reduction` shows what the pairing gains: for each outcome, the variance of
the paired differences against that of unpaired differences, ``var(arm) + var(baseline)``
across pairs. Their ratio, the variance-reduction factor, is the number of unpaired
replications one paired replication is worth; about 1 means the arms' random numbers are
not shared (a broken pairing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from simlib.engine.outcomes import OUTCOMES
from simlib.store.runstore import GROUP_METRICS, Store

__all__ = [
    "ASSUMPTION_COLUMNS",
    "EFFECT_COLUMNS",
    "RESISTANCE_METRICS",
    "assumption_draws",
    "assumption_effects",
    "budget_effects",
    "effects_with_assumptions",
    "horizon",
    "main_effect_shares",
    "paired_effects",
    "resistance_effects",
    "sensitivity",
    "variance_reduction",
    "winners_losers",
]

#: Columns of every effects table (winners and losers add ``dimension`` and ``group``).
EFFECT_COLUMNS = (
    "arm",
    "agency",
    "period_kind",
    "period",
    "metric",
    "unit",
    "baseline_mean",
    "arm_mean",
    "difference",
    "ci_low",
    "ci_high",
    "n",
)
#: The resistance family: adoption at the horizon, time to 80 % adoption, SKP compliance.
#: Ledger columns that make up the cost of a policy (IDR).
COST_COLUMNS = ("paid_idr", "team_incentive_idr", "training_cost_idr", "change_cost_idr")
RESISTANCE_METRICS = (
    "adoption_share",
    "resisting_share",
    "months_to_80pct_adoption",
    "months_to_80pct_restricted",
    "reached_80pct_adoption",
    "skp_compliance",
)
_KEYS = ("agency", "period_kind", "period", "metric")
_PAIR = ("sample", "replication")

_BUDGET_UNITS = {
    "total_cost_idr": "IDR over the horizon (tukin, team bonus, training, change management)",
    "cost_idr": "IDR per year (tukin, team bonus, training, change management)",
    "cap_exceeded": "probability (tukin due above the budget cap in any year)",
    "cost_per_performance_sd_idr": "IDR per SD of mean true performance gained",
}


def _units() -> dict[str, str]:
    units = {o.name: o.unit for o in OUTCOMES}
    units.update(GROUP_METRICS)
    units.update(_BUDGET_UNITS)
    return units


def _arm_pairs(outcomes: pd.DataFrame, *, baseline: str, by: list[str]):
    """Each arm's rows beside the baseline's of the same replication (and sample, seed).

    Yields ``(arm, merged)``, ``merged`` holding the ``by`` and pairing columns, the arm's
    ``value`` and the ``baseline`` value of the same pair.

    Raises
    ------
    ValueError
        If ``baseline`` is not among the arms.
    """
    arms = list(pd.unique(outcomes["arm"]))
    if baseline not in arms:
        raise ValueError(f"baseline {baseline!r} is not an arm; allowed: {', '.join(arms)}")
    pairs = [c for c in _PAIR if c in outcomes.columns]
    base = outcomes[outcomes["arm"] == baseline][[*by, *pairs, "value"]]
    base = base.rename(columns={"value": "baseline"})
    for arm in arms:
        if arm != baseline:
            mine = outcomes[outcomes["arm"] == arm][[*by, *pairs, "value"]]
            yield arm, mine.merge(base, on=[*by, *pairs], how="inner")


def paired_effects(
    outcomes: pd.DataFrame,
    *,
    baseline: str,
    confidence: float = 0.95,
    by: Sequence[str] = _KEYS,
) -> pd.DataFrame:
    """Mean paired difference of every arm from the baseline, with a confidence interval.

    Parameters
    ----------
    outcomes
        Tidy outcomes of a sweep (:meth:`simlib.store.runstore.Store.outcomes` or a frame like it):
        columns ``arm, sample, replication, value`` and the columns in ``by``.
    baseline
        Name of the baseline arm.
    confidence
        Coverage of the intervals (0.95 for 95 %).
    by
        Columns that identify one outcome (default ``agency, period_kind, period,
        metric``); one row per arm and distinct combination.

    Returns
    -------
    pandas.DataFrame
        Columns ``arm``, the ``by`` columns, ``unit``, ``baseline_mean``, ``arm_mean``,
        ``difference`` (arm minus baseline, mean over pairs), ``ci_low``, ``ci_high``
        (Student-t interval across pairs; NaN when ``n < 2``) and ``n`` (pairs with both
        values present; an outcome never reached in any pair keeps its row with
        ``n = 0``). Arms in their order of appearance, outcomes in theirs.

    Raises
    ------
    ValueError
        If ``baseline`` is not among the arms or ``confidence`` is not in (0, 1).
    """
    from statsmodels.stats.weightstats import DescrStatsW

    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence}: allowed: strictly between 0 and 1")
    by = list(by)
    pairs = [c for c in _PAIR if c in outcomes.columns]
    order = outcomes[by].drop_duplicates().reset_index(drop=True)
    order["_order"] = np.arange(len(order))
    frames = []
    for arm, merged in _arm_pairs(outcomes, baseline=baseline, by=by):
        merged = merged.merge(order, on=by, how="left").sort_values(
            ["_order", *pairs], kind="stable"
        )
        # A pair counts only when both sides have a value; outcomes with none keep a row.
        pair_ok = merged["value"].notna() & merged["baseline"].notna()
        merged.loc[~pair_ok, ["value", "baseline"]] = np.nan
        merged["diff"] = merged["value"] - merged["baseline"]
        grouped = merged.groupby("_order", sort=True)
        table = grouped[by].first()
        table["baseline_mean"] = grouped["baseline"].mean()
        table["arm_mean"] = grouped["value"].mean()
        table["n"] = grouped["diff"].count()
        table["difference"] = grouped["diff"].mean()
        table["ci_low"] = np.nan
        table["ci_high"] = np.nan
        # Intervals from statsmodels, vectorised: groups of equal size form one 2-D array.
        diffs = merged.loc[pair_ok, "diff"].to_numpy()
        starts = np.concatenate([[0], np.cumsum(table["n"].to_numpy())[:-1]])
        for n in np.unique(table["n"]):
            if n < 2:
                continue
            rows = np.flatnonzero(table["n"].to_numpy() == n)
            matrix = np.stack([diffs[starts[r] : starts[r] + n] for r in rows], axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                low, high = DescrStatsW(matrix).tconfint_mean(alpha=1 - confidence)
            table.iloc[rows, table.columns.get_loc("ci_low")] = low
            table.iloc[rows, table.columns.get_loc("ci_high")] = high
        table.insert(0, "arm", arm)
        frames.append(table)
    cols = ["arm", *by, "unit", "baseline_mean", "arm_mean", "difference", "ci_low", "ci_high", "n"]
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    if "metric" in out.columns:
        units = _units()
        out["unit"] = out["metric"].map(lambda m: units.get(m, ""))
    else:
        out["unit"] = ""
    out["n"] = out["n"].astype("int64")
    return out[cols].reset_index(drop=True)


def variance_reduction(
    outcomes: pd.DataFrame, *, baseline: str, by: Sequence[str] = _KEYS
) -> pd.DataFrame:
    """Variance-reduction factor of the pairing, for every arm and outcome.

    Parameters
    ----------
    outcomes
        Tidy outcomes of a sweep, as for :func:`paired_effects`.
    baseline
        Name of the baseline arm.
    by
        Columns that identify one outcome.

    Returns
    -------
    pandas.DataFrame
        Columns ``arm``, the ``by`` columns, ``var_paired`` (sample variance of the paired
        differences), ``var_unpaired`` (``var(arm) + var(baseline)``: the variance of the
        difference of independent draws), ``vrf`` (``var_unpaired / var_paired``; infinite
        when the paired differences are all equal and the arms vary, NaN when nothing
        varies or fewer than two pairs) and ``n`` (pairs with both values present).

    Raises
    ------
    ValueError
        If ``baseline`` is not among the arms.
    """
    by = list(by)
    cols = ["arm", *by, "var_paired", "var_unpaired", "vrf", "n"]
    frames = []
    for arm, merged in _arm_pairs(outcomes, baseline=baseline, by=by):
        merged = merged.dropna(subset=["value", "baseline"])
        merged["diff"] = merged["value"] - merged["baseline"]
        grouped = merged.groupby(by, sort=False)
        table = grouped["diff"].var(ddof=1).rename("var_paired").to_frame()
        table["var_unpaired"] = grouped["value"].var(ddof=1) + grouped["baseline"].var(ddof=1)
        table["n"] = grouped["diff"].count()
        table = table.reset_index()
        table.insert(0, "arm", arm)
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    paired, unpaired = out["var_paired"].to_numpy(), out["var_unpaired"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        vrf = np.where(paired > 0, unpaired / paired, np.where(unpaired > 0, np.inf, np.nan))
    out["vrf"] = np.where(out["n"] >= 2, vrf, np.nan)
    out["n"] = out["n"].astype("int64")
    return out[cols]


def horizon(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Rows of each metric's last period (per agency and period kind): values at the horizon."""
    if outcomes.empty:
        return outcomes
    last = outcomes.groupby(["agency", "period_kind", "metric"])["t_month"].transform("max")
    return outcomes[outcomes["t_month"] == last]


def budget_effects(store: Store, *, confidence: float = 0.95) -> pd.DataFrame:
    """The budget family: cost, probability of exceeding the cap, cost per performance gain.

    Costs add up all agencies: tukin paid, the campaign team bonus and training spend
    (from the ledger). ``cap_exceeded`` is 1 in a run where tukin due before the cap was
    above the annual cap in any budget year. ``cost_per_performance_sd_idr`` is the
    difference in total cost divided by the difference in mean true performance (mean of
    the yearly values, averaged over agencies), with a delta-method interval; it is NaN
    when the performance difference is zero.

    Returns
    -------
    pandas.DataFrame
        :data:`EFFECT_COLUMNS`; agency ``all``; metrics ``total_cost_idr`` (period
        ``horizon``), ``cost_idr`` (one row per year), ``cap_exceeded`` and
        ``cost_per_performance_sd_idr``.
    """
    ledger = store.ledger()
    if ledger.empty:
        return pd.DataFrame(columns=list(EFFECT_COLUMNS))
    # Stores written before a cost line existed lack its column: it counts as zero.
    parts = [c for c in COST_COLUMNS if c in ledger.columns]
    cost = ledger[parts].sum(axis=1)
    ledger = ledger.assign(cost=cost)
    run_cols = ["arm", *_PAIR]
    yearly = ledger.groupby([*run_cols, "year"], sort=False)["cost"].sum().reset_index()
    rows = [
        yearly.assign(
            agency="all",
            period_kind="year",
            period=yearly["year"],
            metric="cost_idr",
            value=yearly["cost"],
        )
    ]
    total = ledger.groupby(run_cols, sort=False)["cost"].sum().reset_index()
    rows.append(
        total.assign(
            agency="all",
            period_kind="run",
            period="horizon",
            metric="total_cost_idr",
            value=total["cost"],
        )
    )
    by_year = ledger.groupby([*run_cols, "agency", "year"], sort=False).agg(
        due=("due_idr", "sum"), cap=("budget_cap_idr", "max")
    )
    exceeded = (by_year["due"] > by_year["cap"]).groupby(run_cols, sort=False).any()
    exceeded = exceeded.astype(float).rename("value").reset_index()
    rows.append(
        exceeded.assign(agency="all", period_kind="run", period="horizon", metric="cap_exceeded")
    )
    tidy = pd.concat(rows, ignore_index=True)
    effects = paired_effects(tidy, baseline=store.baseline, confidence=confidence)
    ratio = _cost_per_performance(store, total, confidence=confidence)
    return pd.concat([effects, ratio], ignore_index=True)[list(EFFECT_COLUMNS)]


def _cost_per_performance(store: Store, total: pd.DataFrame, *, confidence: float) -> pd.DataFrame:
    from scipy import stats

    out = store.outcomes()
    perf = out[(out["metric"] == "mean_true_performance") & (out["period_kind"] == "year")]
    if perf.empty:
        return pd.DataFrame(columns=list(EFFECT_COLUMNS))
    perf = perf.groupby(["arm", *_PAIR], sort=False)["value"].mean().rename("perf")
    both = total.set_index(["arm", *_PAIR])[["cost"]].join(perf, how="inner").reset_index()
    base = both[both["arm"] == store.baseline].drop(columns="arm")
    rows = []
    for arm in pd.unique(both["arm"]):
        if arm == store.baseline:
            continue
        paired = both[both["arm"] == arm].merge(base, on=list(_PAIR), suffixes=("", "_b"))
        paired = paired.dropna()
        dc = (paired["cost"] - paired["cost_b"]).to_numpy()
        dp = (paired["perf"] - paired["perf_b"]).to_numpy()
        n = len(dc)
        ratio = low = high = np.nan
        if n >= 2 and dp.mean() != 0:
            ratio = dc.mean() / dp.mean()
            # Delta method for a ratio of means (Fieller would be exact; n is large here).
            var = (
                np.var(dc, ddof=1)
                - 2 * ratio * np.cov(dc, dp)[0, 1]
                + ratio**2 * np.var(dp, ddof=1)
            ) / (n * dp.mean() ** 2)
            half = stats.t.ppf(0.5 + confidence / 2, n - 1) * np.sqrt(max(var, 0.0))
            low, high = ratio - half, ratio + half
        rows.append(
            {
                "arm": arm,
                "agency": "all",
                "period_kind": "run",
                "period": "horizon",
                "metric": "cost_per_performance_sd_idr",
                "unit": _BUDGET_UNITS["cost_per_performance_sd_idr"],
                "baseline_mean": np.nan,
                "arm_mean": np.nan,
                "difference": ratio,
                "ci_low": low,
                "ci_high": high,
                "n": n,
            }
        )
    return pd.DataFrame(rows, columns=list(EFFECT_COLUMNS))


def resistance_effects(store: Store, *, confidence: float = 0.95) -> pd.DataFrame:
    """The resistance family at the horizon: adoption, time to 80 % adoption, SKP compliance.

    Uses whichever of :data:`RESISTANCE_METRICS` the model reports (each at its last
    period); NaN values (80 % never reached) are dropped pair by pair and ``n`` says how
    many pairs remain. Empty (with the usual columns) if the model reports none of them.
    """
    out = store.outcomes()
    out = horizon(out[out["metric"].isin(RESISTANCE_METRICS)])
    if out.empty:
        return pd.DataFrame(columns=list(EFFECT_COLUMNS))
    return paired_effects(out, baseline=store.baseline, confidence=confidence)


def winners_losers(
    store: Store, *, confidence: float = 0.95, last_year_only: bool = True
) -> pd.DataFrame:
    """Change in pay and predikat shares by grade, job type, sex and unit.

    Parameters
    ----------
    store
        A run store whose experiment kept group summaries (``group_summaries: true``).
    confidence
        Coverage of the intervals.
    last_year_only
        Only the last budget year of the horizon (default), else every year.

    Returns
    -------
    pandas.DataFrame
        :data:`EFFECT_COLUMNS` plus ``dimension`` (grade, job_type, sex, unit) and
        ``group``; metrics in :data:`simlib.store.runstore.GROUP_METRICS` (pay per employee in
        IDR per year, share of employee-months under each predikat). A positive pay
        difference marks a group that wins under the arm.
    """
    groups = store.groups()
    cols = [*EFFECT_COLUMNS[:4], "dimension", "group", *EFFECT_COLUMNS[4:]]
    if groups.empty:
        return pd.DataFrame(columns=cols)
    groups = groups[groups["metric"] != "employees"]
    if last_year_only:
        groups = groups[groups["t_month"] == groups["t_month"].max()]
    keys = ["agency", "period_kind", "period", "dimension", "group", "metric"]
    effects = paired_effects(groups, baseline=store.baseline, confidence=confidence, by=keys)
    return effects[cols]


def sensitivity(
    store: Store,
    *,
    metrics: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """How each arm's effect depends on the uncertain parameters.

    For every arm, metric (at its horizon) and agency, the effect in uncertainty sample
    *k* is the mean over replications of the paired difference from the baseline. With a
    Sobol design those effects give first-order and total Sobol indices (SALib
    ``sobol.analyze``); with factorial or Latin hypercube designs, standardised regression
    coefficients (statsmodels OLS of the effect on standardised parameters).

    Parameters
    ----------
    store
        A run store of an experiment with uncertainties.
    metrics
        Outcome names (default: every outcome reported at the horizon).
    confidence
        Level of the intervals (Sobol: bootstrap; regression: Student-t).

    Returns
    -------
    pandas.DataFrame
        Columns ``arm, agency, metric, parameter, index`` (``S1``, ``ST`` or ``SRC``),
        ``value, ci_low, ci_high``. Empty when the experiment has no uncertainties or
        fewer samples than needed.
    """
    cols = ["arm", "agency", "metric", "parameter", "index", "value", "ci_low", "ci_high"]
    design = store.manifest.get("uncertainties")
    samples = store.samples()
    if not design or len(samples) < 3:
        return pd.DataFrame(columns=cols)
    out = horizon(store.outcomes())
    if metrics is not None:
        out = out[out["metric"].isin(list(metrics))]
    params = [p["path"] for p in design["parameters"]]
    base = out[out["arm"] == store.baseline][["agency", "metric", *_PAIR, "value"]]
    merged = out[out["arm"] != store.baseline].merge(
        base, on=["agency", "metric", *_PAIR], suffixes=("", "_b")
    )
    merged["diff"] = merged["value"] - merged["value_b"]
    per_sample = (
        merged.groupby(["arm", "agency", "metric", "sample"], sort=False)["diff"]
        .mean()
        .reset_index()
    )
    x = _design_matrix(samples, params, design)
    rows: list[dict[str, Any]] = []
    for (arm, agency, metric), part in per_sample.groupby(["arm", "agency", "metric"], sort=False):
        y = part.set_index("sample")["diff"].reindex(range(len(samples))).to_numpy()
        if np.isnan(y).any() or np.nanstd(y) == 0:
            continue
        head = {"arm": arm, "agency": agency, "metric": metric}
        if design["method"] == "sobol":
            rows += _sobol_rows(head, params, y, confidence)
        else:
            rows += _src_rows(head, params, x, y, confidence)
    return pd.DataFrame(rows, columns=cols)


def _design_matrix(samples: pd.DataFrame, params: list[str], design: dict) -> np.ndarray:
    """Numeric design: levels become their position in the list."""
    columns = []
    for spec in design["parameters"]:
        values = samples[spec["path"]]
        if spec.get("levels") is not None:
            levels = list(spec["levels"])
            values = values.map(lambda v, lv=levels: lv.index(v))
        columns.append(values.to_numpy(dtype=float))
    return np.column_stack(columns) if columns else np.zeros((len(samples), 0))


def _sobol_rows(head: dict, params: list[str], y: np.ndarray, confidence: float) -> list[dict]:
    from SALib.analyze import sobol

    problem = {"num_vars": len(params), "names": params, "bounds": [[0.0, 1.0]] * len(params)}
    result = sobol.analyze(problem, y, calc_second_order=False, conf_level=confidence, seed=12345)
    rows = []
    for i, p in enumerate(params):
        for index in ("S1", "ST"):
            value, conf = float(result[index][i]), float(result[f"{index}_conf"][i])
            rows.append(
                {
                    **head,
                    "parameter": p,
                    "index": index,
                    "value": value,
                    "ci_low": value - conf,
                    "ci_high": value + conf,
                }
            )
    return rows


def _src_rows(
    head: dict, params: list[str], x: np.ndarray, y: np.ndarray, confidence: float
) -> list[dict]:
    import statsmodels.api as sm

    sd = x.std(axis=0)
    keep = sd > 0
    if not keep.any() or len(y) <= keep.sum() + 1:
        return []
    z = (x[:, keep] - x[:, keep].mean(axis=0)) / sd[keep]
    fit = sm.OLS((y - y.mean()) / y.std(), sm.add_constant(z)).fit()
    ci = fit.conf_int(alpha=1 - confidence)
    rows = []
    for j, p in enumerate(np.asarray(params)[keep]):
        rows.append(
            {
                **head,
                "parameter": p,
                "index": "SRC",
                "value": float(fit.params[j + 1]),
                "ci_low": float(ci[j + 1, 0]),
                "ci_high": float(ci[j + 1, 1]),
            }
        )
    return rows


# -- assumption uncertainty (probabilistic sensitivity analysis) ------------------------------

#: Columns of :func:`assumption_effects`.
ASSUMPTION_COLUMNS = (
    "arm",
    "agency",
    "period_kind",
    "metric",
    "unit",
    "psa_mean",
    "psa_median",
    "psa_low",
    "psa_high",
    "psa_n",
    "share_below_zero",
    "drivers",
)
#: A driver is named when its main effect explains at least this share of the variance.
DRIVER_SHARE = 0.05


def assumption_draws(store: Store, *, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One effect per draw of the assumptions, beside the drawn values (at the horizon).

    With ``per_replication`` uncertainties (replication *r* runs sample *r*), a draw is one
    replication: its paired difference from the baseline. With a crossed design (every
    sample with every replication), a draw is one sample: the mean over its replications.
    Either way every arm of a draw shares its random numbers and its assumption values.

    Returns
    -------
    pandas.DataFrame
        Columns ``arm, agency, period_kind, metric, sample, effect, arm_value,
        baseline_value`` and one column per uncertain parameter (its value in the sample;
        levels as drawn). Empty when the store's experiment has no uncertainties.
    """
    design = store.manifest.get("uncertainties")
    cols = ["arm", "agency", "period_kind", "metric", "sample", "effect", "arm_value",
            "baseline_value"]  # fmt: skip
    if not design:
        return pd.DataFrame(columns=cols)
    out = horizon(store.outcomes())
    if metrics is not None:
        out = out[out["metric"].isin(list(metrics))]
    keys = ["agency", "period_kind", "metric"]
    frames = []
    for arm, merged in _arm_pairs(out, baseline=store.baseline, by=keys):
        merged = merged.dropna(subset=["value", "baseline"])
        merged["effect"] = merged["value"] - merged["baseline"]
        grouped = merged.groupby([*keys, "sample"], sort=False)
        draws = grouped["effect"].mean().reset_index()
        draws["arm_value"] = grouped["value"].mean().to_numpy()
        draws["baseline_value"] = grouped["baseline"].mean().to_numpy()
        draws.insert(0, "arm", arm)
        frames.append(draws)
    if not frames:
        return pd.DataFrame(columns=cols)
    draws = pd.concat(frames, ignore_index=True)
    samples = store.samples().reset_index(drop=True)
    samples["sample"] = np.arange(len(samples))
    return draws.merge(samples, on="sample", how="left")


def main_effect_shares(x: np.ndarray, y: np.ndarray, *, bins: int | None = None) -> np.ndarray:
    """Share of the variance of ``y`` explained by each column of ``x`` alone.

    A given-data estimate of the first-order (main-effect) index Var(E[y | x_j]) / Var(y):
    ``y`` is averaged within quantile bins of ``x_j`` and the between-bin sum of squares,
    less what noise alone would give it ((bins - 1) x the within-bin mean square, as in
    omega squared), is divided by the total sum of squares (Plischke, Borgonovo & Smith
    2013 estimate first-order indices from a given sample this way). 0 for a column that
    does not vary; no model of ``y`` is assumed (unlike regression coefficients).

    Parameters
    ----------
    x
        Draws x parameters.
    y
        The effect in each draw.
    bins
        Bins per parameter (default: the number of draws / 10, between 2 and 10).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(y)
    total = float(((y - y.mean()) ** 2).sum())
    out = np.zeros(x.shape[1])
    if n < 4 or total <= 0:
        return out
    b = bins or int(np.clip(n // 10, 2, 10))
    for j in range(x.shape[1]):
        column = x[:, j]
        if np.ptp(column) == 0:
            continue
        ranks = np.argsort(np.argsort(column, kind="stable"), kind="stable")
        group = np.minimum(ranks * b // n, b - 1)
        counts = np.bincount(group, minlength=b)
        used = counts > 0
        means = np.bincount(group, weights=y, minlength=b)[used] / counts[used]
        between = float((counts[used] * (means - y.mean()) ** 2).sum())
        k = int(used.sum())
        within = (total - between) / max(n - k, 1)
        out[j] = max(0.0, (between - (k - 1) * within) / total)
    return out


def assumption_effects(
    store: Store,
    *,
    metrics: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Each arm's effect under assumption uncertainty, and the assumptions that drive it.

    The store's experiment draws its uncertain parameters (the assumptions, with their
    ranges in its ``uncertainties`` block) per replication or per sample
    (:func:`assumption_draws`). The interval is the central ``confidence`` range of the
    effect over the draws: what the effect may be given what is not known about the
    assumptions, together with the run-to-run noise of a single replication when draws are
    replications. ``drivers`` names the parameters whose main effect
    (:func:`main_effect_shares`) explains at least :data:`DRIVER_SHARE` of the variance of
    the effect over the draws, largest first, with their shares.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ASSUMPTION_COLUMNS`: ``psa_mean`` (mean over the draws: the expected
        effect), ``psa_median``, ``psa_low``, ``psa_high``, ``psa_n`` (draws),
        ``share_below_zero`` (share of draws with a negative effect), ``drivers`` (text).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence}: allowed: strictly between 0 and 1")
    draws = assumption_draws(store, metrics=metrics)
    if draws.empty:
        return pd.DataFrame(columns=list(ASSUMPTION_COLUMNS))
    design = store.manifest["uncertainties"]
    params = [p["path"] for p in design["parameters"]]
    x_all = _design_matrix(draws, params, design)
    units = _units()
    rows = []
    lo_q, hi_q = (1 - confidence) / 2, (1 + confidence) / 2
    keys = ["arm", "agency", "period_kind", "metric"]
    for key, index in draws.groupby(keys, sort=False).groups.items():
        part = draws.loc[index]
        y = part["effect"].to_numpy(dtype=float)
        ok = np.isfinite(y)
        y = y[ok]
        if len(y) == 0:
            continue
        shares = main_effect_shares(x_all[np.asarray(index)][ok], y)
        order = np.argsort(-shares, kind="stable")
        named = [f"{params[j]} ({shares[j]:.2f})" for j in order if shares[j] >= DRIVER_SHARE]
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "unit": units.get(key[3], ""),
                "psa_mean": float(y.mean()),
                "psa_median": float(np.median(y)),
                "psa_low": float(np.quantile(y, lo_q)),
                "psa_high": float(np.quantile(y, hi_q)),
                "psa_n": len(y),
                "share_below_zero": float(np.mean(y < 0)),
                "drivers": ", ".join(named),
            }
        )
    return pd.DataFrame(rows, columns=list(ASSUMPTION_COLUMNS))


def effects_with_assumptions(
    store: Store,
    assumptions: Store,
    *,
    metrics: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The Monte-Carlo interval beside the interval under assumption uncertainty.

    ``store`` is an experiment run at the default values (its interval says how well the
    replications pin the mean effect *given* the assumptions); ``assumptions`` the same
    arms with the assumptions drawn (:func:`assumption_effects`). Rows are each arm and
    metric at the horizon, matched on ``arm, agency, period_kind, metric``.

    Returns
    -------
    pandas.DataFrame
        ``arm, agency, period_kind, metric, unit, difference, ci_low, ci_high, n`` of
        :func:`paired_effects`, then the ``psa_*`` columns, ``share_below_zero`` and
        ``drivers`` of :func:`assumption_effects` (NaN where the assumption store lacks the
        arm or metric).
    """
    out = horizon(store.outcomes())
    if metrics is not None:
        out = out[out["metric"].isin(list(metrics))]
    mc = paired_effects(out, baseline=store.baseline, confidence=confidence)
    mc = mc[["arm", "agency", "period_kind", "metric", "unit", "difference", "ci_low",
             "ci_high", "n"]]  # fmt: skip
    psa = assumption_effects(assumptions, metrics=metrics, confidence=confidence)
    return mc.merge(psa.drop(columns="unit"), on=["arm", "agency", "period_kind", "metric"],
                    how="left")  # fmt: skip
