"""360-degree ratings against the truth: aggregation rules compared, bias by source and group.

The functions read one tidy frame of ratings, simulated (:func:`simulate_360`, where the
true scores are known) or loaded (:func:`from_rating_data`): one row per rating with
``period``, ``ratee``, ``rater``, ``source``, ``score``, ``latent`` (the score in SD units
of the scale), ``true`` (NaN when unknown), ``unit``, ``ratee_sex`` and ``ratee_grade``
(``""`` when unknown).

- :func:`pair_scores`: one row per rater and ratee (scores averaged over the values rated);
- :func:`source_summary`: ratings, raters and mean score by source, small groups withheld;
- :func:`compare_rules`: every aggregation rule of :mod:`simlib.rules.appraisal` against the
  truth (correlation, mean error, gaps by sex and grade, rank agreement);
- :func:`rating_bias`: mean rating error by source and ratee group, small groups withheld.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "GROUPS",
    "RULE_COLUMNS",
    "compare_rules",
    "from_rating_data",
    "pair_scores",
    "rating_bias",
    "simulate_360",
    "source_summary",
]

#: Columns of :func:`compare_rules`.
RULE_COLUMNS = ("rule", "correlation", "mean_error", "gap_sex", "gap_grade", "rank_agreement")
#: Ratee groups of :func:`rating_bias`, in order.
GROUPS = ("all", "F", "M", "I-II", "III-IV")


def simulate_360(
    scenario: str | Path, policy: str | Path | None = None, *, seed: int, quarters: int = 1
) -> tuple[pd.DataFrame, Any]:
    """Multi-source ratings of ``quarters`` appraisal rounds, with the true scores.

    The scenario runs for ``3 * quarters`` months under its baseline policy (and the
    variant or policy ``policy``), its rating rule switched to multi-source if needed.
    Returns the ratings frame (see the module docstring; ratees and raters numbered
    across agencies) and the policy's aggregation settings.
    """
    from simlib.engine.model import simulate
    from simlib.params.changes import apply_changes
    from simlib.params.policy import build_schedule
    from simlib.params.runinputs import resolve_inputs
    from simlib.rules.raters import SCALES
    from simlib.store.ratingdata import simulated_ratings

    scenario_, base, variants = resolve_inputs(scenario, [policy] if policy else [])
    months = 3 * quarters
    scenario_ = apply_changes(
        scenario_, {"outputs.ratings": True, "calendar.horizon_months": months}, where="quarters"
    )
    if base.appraisal.rater != "multi_source":
        base = apply_changes(base, {"appraisal.rater": "multi_source"})
    schedule = build_schedule(base, variants, month_of=scenario_.month_of, horizon_months=months)
    table = simulated_ratings(simulate(scenario_, schedule, seed=seed))
    ms = scenario_.raters.multi_source
    mid = SCALES[ms.scale][1]
    ratee_key = table["agency"].astype(str) + "/" + table["ratee"].astype(str)
    rater_key = table["agency"].astype(str) + "/" + table["rater"].astype(str)
    ratings = pd.DataFrame(
        {
            "period": table["agency"].astype(str) + " " + table["period"].astype(str),
            "ratee": pd.factorize(ratee_key, sort=True)[0],
            "rater": pd.factorize(rater_key, sort=True)[0],
            "source": table["source"].astype(str),
            "dimension": table["dimension"].astype(str),
            "score": table["score"].astype(float),
            "latent": (table["score"] - mid) / ms.points_per_sd,
            "true": table["true_score"].astype(float),
            "unit": table["agency"].astype(str) + "/" + table["ratee_unit"].astype(str),
            "ratee_sex": table["ratee_sex"].astype(str),
            "ratee_grade": table["ratee_golongan"].astype(str),
        }
    )
    return ratings, schedule.entries[-1][1].appraisal.aggregation


def from_rating_data(data, *, true_score: str | None = None) -> pd.DataFrame:
    """The ratings frame of loaded rating data (:func:`simlib.store.ratingdata.read_ratings`).

    Real scales differ, so ``latent`` is the standardised score; ``true`` is the column
    ``true_score`` when given.
    """
    frame = data.frame
    score = frame["score"].to_numpy(dtype=float)
    spread = score.std() or 1.0
    return pd.DataFrame(
        {
            "period": "1",
            "ratee": frame["ratee"],
            "rater": frame["rater"],
            "source": frame["source"].astype(str) if data.has_source else "all",
            "dimension": "score",
            "score": score,
            "latent": (score - score.mean()) / spread,
            "true": frame[true_score].astype(float) if true_score else np.nan,
            "unit": "all",
            "ratee_sex": "",
            "ratee_grade": "",
        }
    )


def pair_scores(ratings: pd.DataFrame) -> pd.DataFrame:
    """One row per period, ratee, rater and source: the mean over the values rated."""
    return (
        ratings.groupby(["period", "ratee", "rater", "source"], sort=False, observed=True)
        .agg(
            latent=("latent", "mean"),
            true=("true", "mean"),
            unit=("unit", "first"),
            ratee_sex=("ratee_sex", "first"),
            ratee_grade=("ratee_grade", "first"),
        )
        .reset_index()
    )


def source_summary(ratings: pd.DataFrame, *, min_raters: int) -> pd.DataFrame:
    """Ratings, raters and mean score by source; sources with fewer raters withheld.

    As :func:`simlib.store.ratingdata.source_summary` (which reads loaded rating data):
    columns ``source``, ``ratings``, ``raters``, ``mean_score``, ``withheld``.
    """
    from simlib.store.ratingdata import RatingData
    from simlib.store.ratingdata import source_summary as summary

    has_source = ratings["source"].nunique() > 1
    data = RatingData(ratings[["ratee", "rater", "source", "score"]], (), (), has_source, "")
    return summary(data, min_raters=min_raters)


def compare_rules(pairs: pd.DataFrame, *, aggregation) -> pd.DataFrame:
    """Every aggregation rule's scores against the truth, one row per rule.

    Each rule of :func:`simlib.rules.appraisal.aggregate_scores` is applied per period to
    the pair-level scores of :func:`pair_scores`. Columns: ``rule``, ``correlation`` (with
    the ratee's true score), ``mean_error`` (score minus truth, SD units), ``gap_sex``
    (mean error of women minus men), ``gap_grade`` (golongan III-IV minus I-II) and
    ``rank_agreement`` (Spearman correlation with the equal-weight 360 mean, useful when
    the truth is unknown). Empty when the sources are not named like the model's (the
    rules weigh sources by name).
    """
    from simlib.rules.appraisal import AGGREGATION_RULES, aggregate_scores
    from simlib.rules.raters import BERAKHLAK, SOURCES, RatingTable

    if not set(pairs["source"].unique()) <= set(SOURCES):
        return pd.DataFrame(columns=list(RULE_COLUMNS))
    k = len(BERAKHLAK)
    scores: dict[str, list[np.ndarray]] = {rule: [] for rule in AGGREGATION_RULES}
    truth, sex, grade = [], [], []
    for _period, part in pairs.groupby("period", sort=False):
        ratee_codes, ratees = pd.factorize(part["ratee"], sort=True)
        firsts = part.groupby(ratee_codes).first()
        source_codes = np.array([SOURCES.index(s) for s in part["source"]], dtype=np.int8)
        latent = part["latent"].to_numpy(dtype=float)
        # The pair's mean stands for each of the k values (the rules average them again).
        table = RatingTable(
            ratee=np.repeat(ratee_codes, k),
            rater=np.repeat(pd.factorize(part["rater"])[0], k),
            source=np.repeat(source_codes, k),
            dimension=np.tile(np.arange(k, dtype=np.int8), len(part)),
            score=np.repeat(latent, k),
            latent=np.repeat(latent, k),
            true=np.repeat(part["true"].to_numpy(dtype=float), k),
        )
        units = pd.factorize(firsts["unit"])[0].astype(np.int32)
        for rule in AGGREGATION_RULES:
            scores[rule].append(
                aggregate_scores(
                    table,
                    n=len(ratees),
                    unit=units,
                    rule=rule,
                    weights=aggregation.weights.as_tuple(),
                    trim_share=aggregation.trim_share,
                )
            )
        truth.append(firsts["true"].to_numpy(dtype=float))
        sex.append(firsts["ratee_sex"].to_numpy(dtype=str))
        grade.append(firsts["ratee_grade"].to_numpy(dtype=str))
    true = np.concatenate(truth)
    sexes, grades = np.concatenate(sex), np.concatenate(grade)
    female, male = sexes == "F", sexes == "M"
    senior, junior = np.isin(grades, ("III", "IV")), np.isin(grades, ("I", "II"))
    reference = pd.Series(np.concatenate(scores["equal_360"])).rank().to_numpy()
    known = np.isfinite(true)
    rows = []
    for rule, parts in scores.items():
        score = np.concatenate(parts)
        error = score - true
        rows.append(
            {
                "rule": rule,
                "correlation": _corr(score[known], true[known]),
                "mean_error": float(error[known].mean()) if known.any() else np.nan,
                "gap_sex": _gap(error, female, male),
                "gap_grade": _gap(error, senior, junior),
                "rank_agreement": _corr(pd.Series(score).rank().to_numpy(), reference),
            }
        )
    return pd.DataFrame(rows, columns=list(RULE_COLUMNS))


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    from simlib.engine.outcomes import correlation

    return correlation(np.asarray(x, float), np.asarray(y, float)) if len(x) > 2 else np.nan


def _gap(error: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(error)
    if not (a & ok).any() or not (b & ok).any():
        return np.nan
    return float(error[a & ok].mean() - error[b & ok].mean())


def rating_bias(pairs: pd.DataFrame, *, min_raters: int) -> pd.DataFrame:
    """Mean rating error (score minus truth, SD units) by source and ratee group.

    Rows are sources, columns the :data:`GROUPS` present (``all``, ``F``, ``M``,
    ``I-II``, ``III-IV``). A cell with fewer than ``min_raters`` distinct raters is NaN
    (withheld, as 360 practice requires). Empty when the truth is unknown.
    """
    if not pairs["true"].notna().any():
        return pd.DataFrame()
    frame = pairs.assign(error=pairs["latent"] - pairs["true"])
    masks = {
        "all": np.ones(len(frame), bool),
        "F": (frame["ratee_sex"] == "F").to_numpy(),
        "M": (frame["ratee_sex"] == "M").to_numpy(),
        "I-II": frame["ratee_grade"].isin(("I", "II")).to_numpy(),
        "III-IV": frame["ratee_grade"].isin(("III", "IV")).to_numpy(),
    }
    sources = list(dict.fromkeys(frame["source"]))
    table = pd.DataFrame(index=sources, dtype=float)
    for name, mask in masks.items():
        if not mask.any():
            continue
        part = frame[mask].groupby("source", sort=False)
        means = part["error"].mean()
        raters = part["rater"].nunique()
        table[name] = means.where(raters >= min_raters).reindex(sources)
    return table
