"""From ratings to predikat: expectation levels, the 3x3 matrix, and the distribution curve.

0. With multi-source (360) rating, the perilaku ratings of all sources are first
   aggregated into one score per employee by the policy's rule (:func:`aggregate`).
1. Each axis (hasil kerja, perilaku kerja) is rated *di bawah / sesuai / di atas*
   ekspektasi by two cut-offs on the rating (SD units). On the axes the superior judges,
   a *di bawah* stands only where the superior is willing to say so
   (:func:`reluctant_levels`); otherwise the superior records *sesuai*.
2. The PermenPANRB 6/2022 matrix (``data/tables/predikat_matrix.csv``) maps the pair to a
   predikat: Sangat Baik, Baik, Butuh Perbaikan, Kurang/Misconduct, Sangat Kurang.
3. The organisation's own predikat (Istimewa ... Sangat Kurang) follows from its
   achievement, or is fixed by the policy.
4. Optionally, the SE MenPANRB 03/2023 distribution curve for that organisation predikat is
   enforced: the counts per predikat move as little as possible (earth mover's distance on
   the ordered predikat, solved exactly as a small integer programme) to satisfy every rule,
   and the employees who move are those at the boundaries, ranked by the composite score
   (PP 30/2019 weights: SKP 70 / behaviour 30).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from simlib.core.domain import AGGREGATION_RULES, PREDIKAT
from simlib.params.policy import Incentives
from simlib.params.scenario import Reluctance
from simlib.params.tables import CurveRule
from simlib.rules.raters import BERAKHLAK, SOURCES, RatingTable, honest_low_rating_probability
from simlib.world.workforce import Workforce

__all__ = [
    "AGGREGATION_RULES",
    "aggregate",
    "aggregate_scores",
    "composite",
    "curve_counts",
    "enforce_curve",
    "levels",
    "low_rating_pay_loss",
    "org_predikat",
    "predikat",
    "reluctant_levels",
]

K = len(PREDIKAT)


def levels(rating: np.ndarray, *, cutoff_below: float, cutoff_above: float) -> np.ndarray:
    """0 = di bawah, 1 = sesuai, 2 = di atas ekspektasi."""
    return (rating >= cutoff_below).astype(np.int8) + (rating > cutoff_above).astype(np.int8)


def low_rating_pay_loss(
    honest_codes: np.ndarray,
    lifted_codes: np.ndarray,
    incentives: Incentives,
    *,
    take_home_share: np.ndarray,
) -> np.ndarray:
    """Share of monthly take-home pay a predikat costs against another (float[n], >= 0).

    ``performance_share * (m[lifted] - m[honest]) * tukin / (tukin + gaji pokok)``: the pay
    the rules attach to the honest predikat instead of the lifted one (the multipliers
    apply to the performance part of tukin; section 7.9 of docs/model.md).
    """
    m = np.asarray(incentives.multipliers.as_tuple())
    gap = incentives.performance_share * (m[lifted_codes] - m[honest_codes])
    return np.maximum(gap, 0.0) * take_home_share


def reluctant_levels(
    hasil_level: np.ndarray,
    perilaku_level: np.ndarray,
    *,
    matrix: np.ndarray,
    params: Reluctance,
    incentives: Incentives,
    take_home_share: np.ndarray,
    closeness: np.ndarray,
    u: np.ndarray,
    judged_hasil: np.ndarray | bool = True,
    judged_perilaku: np.ndarray | bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Expectation levels after the superiors' reluctance to rate below expectation.

    For each employee with a *di bawah* on an axis the superior judges (``judged_hasil``,
    ``judged_perilaku``: bool or bool[n]), the superior records it with probability
    :func:`~simlib.rules.raters.honest_low_rating_probability` (from the pay the low
    predikat would cost against the one with those axes at *sesuai*, and the closeness);
    otherwise every such axis becomes *sesuai*. ``u`` holds one uniform per employee (one
    decision per employee and appraisal). Axes the superior does not judge (an aggregated
    360 score, a missing SKP, the head's organisation rule) keep their level.

    Returns
    -------
    hasil_level, perilaku_level
        The levels recorded (int8[n] each).
    """
    h_lift = np.where(judged_hasil & (hasil_level == 0), 1, hasil_level).astype(hasil_level.dtype)
    p_lift = np.where(judged_perilaku & (perilaku_level == 0), 1, perilaku_level).astype(
        perilaku_level.dtype
    )
    loss = low_rating_pay_loss(
        matrix[hasil_level, perilaku_level],
        matrix[h_lift, p_lift],
        incentives,
        take_home_share=take_home_share,
    )
    honest = u < honest_low_rating_probability(params, pay_loss=loss, closeness=closeness)
    return np.where(honest, hasil_level, h_lift), np.where(honest, perilaku_level, p_lift)


def predikat(hasil_level: np.ndarray, perilaku_level: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Predikat codes (0 = Sangat Baik ... 4 = Sangat Kurang) from the two levels."""
    return matrix[hasil_level, perilaku_level]


def composite(hasil: np.ndarray, perilaku: np.ndarray, *, skp_weight: float) -> np.ndarray:
    """Weighted score used to rank employees (PP 30/2019: SKP 70 % or 60 %)."""
    return skp_weight * hasil + (1.0 - skp_weight) * perilaku


def org_predikat(achievement: float, cutoffs: tuple[float, ...]) -> int:
    """Organisation predikat code (0 = Istimewa ... 4 = Sangat Kurang) from achievement."""
    return int(len(cutoffs) - np.searchsorted(np.asarray(cutoffs), achievement, side="right"))


def curve_counts(
    current: np.ndarray,
    rules: tuple[CurveRule, ...],
    *,
    tie_break: str,
    majority_share: float,
) -> np.ndarray | None:
    """Counts per predikat closest to ``current`` that satisfy every curve rule.

    Closeness is the earth mover's distance on the ordered predikat (person-steps moved).
    Among equally close solutions, ``tie_break`` prefers moving people toward higher
    (better) or lower predikat. A majority rule ("sebagian besar") needs strictly more
    than ``majority_share`` of the employees: at least ``floor(majority_share * n) + 1``.
    Returns ``None`` when the rules cannot all be met with this many employees.
    """
    n = int(current.sum())
    if not rules:
        return current.copy()
    # Variables: counts c[0..K-1], then d[0..K-2] >= |cumsum(c) - cumsum(current)|.
    lower_tri = np.tril(np.ones((K - 1, K)))
    cum_now = np.cumsum(current)[: K - 1]
    eps = 0.5 / (K * n + 1)
    sign = -1.0 if tie_break == "toward_higher" else 1.0
    cost = np.concatenate([sign * eps * lower_tri.sum(axis=0), np.ones(K - 1)])
    rows, lo, hi = [], [], []

    def add(row: np.ndarray, low: float, high: float) -> None:
        rows.append(row)
        lo.append(low)
        hi.append(high)

    add(np.concatenate([np.ones(K), np.zeros(K - 1)]), n, n)
    for k in range(K - 1):
        dk = np.zeros(K - 1)
        dk[k] = 1.0
        add(np.concatenate([-lower_tri[k], dk]), -cum_now[k], np.inf)
        add(np.concatenate([lower_tri[k], dk]), cum_now[k], np.inf)
    for rule in rules:
        row = np.zeros(K + K - 1)
        row[list(rule.predikat)] = 1.0
        if rule.majority:
            low = max(np.floor(majority_share * n + 1e-9) + 1, rule.min_count)
        else:
            low = max(np.ceil(rule.min_share * n - 1e-9), rule.min_count)
        high = np.floor(rule.max_share * n + 1e-9)
        if low > high:
            return None
        add(row, low, high)
    result = milp(
        cost,
        constraints=LinearConstraint(np.array(rows), np.array(lo), np.array(hi)),
        integrality=np.ones(2 * K - 1),
        bounds=Bounds(0, np.inf),
    )
    if result.status != 0:
        return None
    return np.round(result.x[:K]).astype(np.int64)


def enforce_curve(
    codes: np.ndarray,
    score: np.ndarray,
    rules: tuple[CurveRule, ...],
    *,
    tie_break: str,
    majority_share: float,
) -> tuple[np.ndarray, bool]:
    """Move employees between predikat until the curve's rules hold.

    Employees are ordered by current predikat (best first), then by ``score`` (highest
    first), then by position; the new counts are laid over that order, so the people who
    move are those at the boundaries of each predikat, and the order by predikat is kept.

    Returns
    -------
    codes, feasible
        The new predikat codes, and whether the rules could be met (if not, the codes are
        returned unchanged).
    """
    current = np.bincount(codes, minlength=K)
    target = curve_counts(current, rules, tie_break=tie_break, majority_share=majority_share)
    if target is None:
        return codes.copy(), False
    if np.array_equal(target, current):
        return codes.copy(), True
    order = np.lexsort((np.arange(len(codes)), -score, codes))
    out = np.empty_like(codes)
    out[order] = np.repeat(np.arange(K, dtype=codes.dtype), target)
    return out, True


def aggregate(
    table: RatingTable,
    workforce: Workforce,
    *,
    rule: str,
    weights: tuple[float, ...],
    trim_share: float,
) -> np.ndarray:
    """One perilaku score per employee of ``workforce``: :func:`aggregate_scores`."""
    return aggregate_scores(
        table, n=workforce.n, unit=workforce.unit, rule=rule, weights=weights,
        trim_share=trim_share,
    )  # fmt: skip


def aggregate_scores(
    table: RatingTable,
    *,
    n: int,
    unit: np.ndarray,
    rule: str,
    weights: tuple[float, ...],
    trim_share: float,
) -> np.ndarray:
    """One perilaku score per ratee ``0..n-1`` (SD units) from multi-source ratings.

    ``unit`` is each ratee's unit code (the calibration committee normalises per unit);
    the rules need nothing else about the ratees, so rating data from outside the model
    are aggregated by the same code.

    Ratings are first averaged over the seven BerAKHLAK values for each rater and ratee.
    Rules:

    ``supervisor_only``
        the superior's rating;
    ``weighted``
        a weighted mean of the sources' means, weights renormalised over the sources
        present (PP 30/2019 lets peers' and subordinates' opinions count);
    ``equal_360``
        every source other than self weighs the same;
    ``trimmed_mean``
        mean of the other-raters' ratings after dropping ``trim_share`` at each end;
    ``severity_adjusted``
        each rater's leniency is estimated (alternating least squares on rater and ratee
        means) and removed;
    ``calibration_committee``
        equal-weight 360 scores normalised per unit to the agency's mean and spread.

    A ratee without the ratings a rule needs falls back to the equal-weight mean of
    whatever sources rated them (self included), and to 0 (meets expectation) if none.
    """
    k = len(BERAKHLAK)
    pair_score = table.latent.reshape(-1, k).mean(axis=1)
    pair_ratee = table.ratee[::k]
    pair_rater = table.rater[::k]
    pair_source = table.source[::k].astype(np.int64)
    means = _source_means(pair_score, pair_ratee, pair_source, n)
    others = np.ones(len(SOURCES))
    others[SOURCES.index("self")] = 0.0
    if rule == "supervisor_only":
        w = np.zeros(len(SOURCES))
        w[SOURCES.index("supervisor")] = 1.0
        score = _weighted(means, w)
    elif rule == "weighted":
        score = _weighted(means, np.asarray(weights, dtype=float))
    elif rule in ("equal_360", "calibration_committee"):
        score = _weighted(means, others)
        if rule == "calibration_committee":
            score = _normalise_per_unit(score, unit)
    elif rule in ("trimmed_mean", "severity_adjusted"):
        keep = pair_source != SOURCES.index("self")
        y, ratee, rater = pair_score[keep], pair_ratee[keep], pair_rater[keep]
        if rule == "trimmed_mean":
            score = _trimmed_means(y, ratee, n, trim_share)
        else:
            score = _severity_adjusted(y, ratee, rater, n)
    else:
        raise ValueError(f"unknown aggregation rule {rule!r}")
    fallback = _weighted(means, np.ones(len(SOURCES)))
    score = np.where(np.isfinite(score), score, fallback)
    return np.where(np.isfinite(score), score, 0.0)


def _source_means(score, ratee, source, n):
    idx = ratee * len(SOURCES) + source
    sums = np.bincount(idx, weights=score, minlength=n * len(SOURCES))
    counts = np.bincount(idx, minlength=n * len(SOURCES))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums / counts).reshape(n, len(SOURCES))


def _weighted(means: np.ndarray, weights: np.ndarray) -> np.ndarray:
    present = np.isfinite(means)
    w = np.where(present, weights[None, :], 0.0)
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(present, means, 0.0) @ weights / np.where(total > 0, total, np.nan)


def _trimmed_means(y, ratee, n, trim_share):
    order = np.lexsort((y, ratee))
    y, ratee = y[order], ratee[order]
    count = np.bincount(ratee, minlength=n)
    first = np.searchsorted(ratee, ratee, side="left")
    rank = np.arange(len(y)) - first
    cut = np.floor(trim_share * count[ratee])
    keep = (rank >= cut) & (rank < count[ratee] - cut)
    sums = np.bincount(ratee[keep], weights=y[keep], minlength=n)
    kept = np.bincount(ratee[keep], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / kept


def _severity_adjusted(y, ratee, rater, n, *, iterations: int = 25):
    """Ratee levels with each rater's leniency removed.

    Alternating estimates of ratee levels and rater leniencies; each rater's leniency is
    shrunk toward 0 by ``n_r / (n_r + kappa)`` (empirical Bayes for a one-way random
    effect, kappa = residual variance / variance of true leniencies, re-estimated each
    round), so raters with few ratings are not over-corrected.
    """
    raters, rater_idx = np.unique(rater, return_inverse=True)
    n_ratee = np.bincount(ratee, minlength=n)
    n_rater = np.bincount(rater_idx, minlength=len(raters))
    severity = np.zeros(len(raters))
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(iterations):
            level = np.bincount(ratee, weights=y - severity[rater_idx], minlength=n) / n_ratee
            resid = y - np.nan_to_num(level[ratee])
            raw = np.bincount(rater_idx, weights=resid, minlength=len(raters)) / n_rater
            noise = np.var(resid - raw[rater_idx])
            between = max(np.var(raw) - np.mean(noise / n_rater), 1e-12)
            severity = raw * n_rater / (n_rater + noise / between)
            severity -= severity.mean()
    return level


def _normalise_per_unit(score: np.ndarray, unit: np.ndarray) -> np.ndarray:
    n_unit = np.bincount(unit)
    mean = np.bincount(unit, weights=score) / n_unit
    var = np.bincount(unit, weights=score**2) / n_unit - mean**2
    sd = np.sqrt(np.maximum(var, 0.0))
    centred = score - mean[unit]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(sd[unit] > 1e-12, centred / sd[unit], 0.0)
    return score.mean() + score.std() * z
