"""Declared outcomes: every metric the model reports, with its unit, level and meaning.

Outcomes are declared once in :data:`OUTCOMES`; the model reports exactly these, as a
tidy long table with one row per (agency, period, metric). Quarter-level metrics describe
a periodic appraisal; year-level metrics the annual predikat, pay and budget.
The helpers below compute metrics from arrays, vectorised over employees.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from simlib.core.domain import PREDIKAT

__all__ = [
    "BETTER",
    "CAREER_LEVELS",
    "OUTCOMES",
    "OUTCOME_COLUMNS",
    "POOLINGS",
    "Outcome",
    "chance_misclassification",
    "correlation",
    "gini",
    "implied_predikat",
    "misclassification",
    "predikat_shares",
    "requirements",
]


@dataclass(frozen=True, slots=True)
class Outcome:
    """A declared metric.

    ``pooling`` says how the metric of several agencies is combined into one figure:
    ``"sum"`` for amounts (rupiah, people), ``"mean"`` for everything else (shares, means,
    correlations). ``better`` says which direction a reader should take as an improvement:
    ``"higher"``, ``"lower"`` or ``""`` (neither: a transfer, a spread, a count of moves).
    ``requires`` names the policy lever without which the metric is not reported
    (``"careers"``: only a run under a careers lever promotes anyone), or the scenario's
    opt-in output (``"potential_records"``: ``outputs.potential_records``), or ``""``.
    """

    name: str
    unit: str
    levels: tuple[str, ...]
    meaning: str
    pooling: str = "mean"
    better: str = ""
    requires: str = ""

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS or self.better not in BETTER:
            raise ValueError(
                f"outcome {self.name}: pooling {self.pooling!r}, better {self.better!r}"
            )


#: How agencies' values of an outcome are combined.
POOLINGS = ("sum", "mean")
#: Which direction of an outcome is an improvement ("" for neither).
BETTER = ("higher", "lower", "")


_Q, _Y, _QY, _C, _T = ("quarter",), ("year",), ("quarter", "year"), ("campaign",), ("training",)
_R = ("run",)
#: The start of the run (year 0, with outputs.potential_records) and each year.
_SY = ("start", "year")
#: Levels of the position ladder whose careers outcomes are declared (bottom first).
CAREER_LEVELS = 8

OUTCOMES: tuple[Outcome, ...] = (
    Outcome(
        "mean_true_performance",
        "SD units",
        _QY,
        "Mean true hasil kerja (results) of employees",
        better="higher",
    ),
    Outcome("mean_effort", "SD units", _Q, "Mean effort of employees", better="higher"),
    Outcome(
        "rating_accuracy",
        "correlation",
        _QY,
        "Correlation of the hasil-kerja rating with true hasil kerja",
        better="higher",
    ),
    *(
        Outcome(
            f"share_{p}",
            "share of employees",
            _QY,
            f"Share of employees with predikat {p.replace('_', ' ')}",
        )
        for p in PREDIKAT
    ),
    Outcome(
        "misclassification",
        "share of employees",
        _QY,
        "Share whose predikat differs from the one their true scores imply at the same "
        "shares (the observed predikat counts laid over employees in order of true "
        "performance): 0 for ratings that rank perfectly, whatever the shares; "
        "1 - sum of squared shares when ratings are unrelated to performance",
        better="lower",
    ),
    Outcome(
        "predikat_kappa",
        "Cohen's kappa",
        _QY,
        "Agreement of predikat with the predikat the true scores imply at the same shares, "
        "beyond chance: 1 - misclassification / (1 - sum of squared shares); 1 perfect, "
        "0 no better than chance, whatever the shape of the distribution (NaN if everyone "
        "has the same predikat)",
        better="higher",
    ),
    Outcome(
        "predikat_agreement",
        "share of employees",
        _QY,
        "Share whose predikat equals the one their true scores would give under the same "
        "cut-offs and matrix (no rater error, no distribution curve); counts inflation and "
        "the curve as disagreement, and its chance level depends on the shares",
        better="higher",
    ),
    Outcome(
        "perilaku_accuracy",
        "correlation",
        _Q,
        "Correlation of the perilaku score (after aggregation) with true perilaku",
        better="higher",
    ),
    Outcome(
        "rating_leniency",
        "SD units",
        _Q,
        "Mean perilaku score minus true perilaku (positive: inflated)",
    ),
    Outcome(
        "rating_gap_sex", "SD units", _Q, "Mean perilaku rating error of women minus that of men"
    ),
    Outcome(
        "rating_gap_grade",
        "SD units",
        _Q,
        "Mean perilaku rating error of golongan III-IV minus that of golongan I-II",
    ),
    Outcome(
        "rating_unit_sd",
        "SD units",
        _Q,
        "Spread across units of the units' mean perilaku rating error",
    ),
    Outcome(
        "halo_index",
        "0-1",
        _Q,
        "1 - spread of a rater's scores across the seven BerAKHLAK values / their true "
        "spread (multi-source rating only; NaN otherwise)",
        better="lower",
    ),
    Outcome(
        "raters_per_employee",
        "raters",
        _Q,
        "Mean number of raters whose perilaku ratings each employee received",
    ),
    Outcome(
        "org_predikat", "code 0=istimewa..4=sangat_kurang", _Y, "Organisation predikat for the year"
    ),
    Outcome(
        "curve_moved_share",
        "share of employees",
        _Y,
        "Share whose annual predikat the distribution curve changed",
    ),
    Outcome(
        "curve_infeasible",
        "0/1",
        _Y,
        "1 if the distribution curve's rules could not be met and were not applied",
        better="lower",
    ),
    Outcome(
        "tukin_entitled_idr", "IDR", _QY, "Full tukin by the table, before any cut", pooling="sum"
    ),
    Outcome(
        "tukin_due_idr", "IDR", _QY, "Tukin due after performance and absence cuts", pooling="sum"
    ),
    Outcome("tukin_paid_idr", "IDR", _QY, "Tukin paid after the budget cap", pooling="sum"),
    Outcome("budget_cap_idr", "IDR", _Y, "Annual tukin budget cap", pooling="sum"),
    Outcome("budget_used_share", "share of cap", _Y, "Tukin paid as a share of the cap"),
    Outcome(
        "budget_pressure",
        "share of cap",
        _Y,
        "Tukin due as a share of the cap (above 1: the cap binds)",
        better="lower",
    ),
    Outcome(
        "pay_performance_corr",
        "correlation",
        _Y,
        "Correlation of annual tukin paid with annual mean true performance",
        better="higher",
    ),
    Outcome("pay_gini", "Gini coefficient", _Y, "Inequality of annual tukin paid"),
    Outcome("training_trainees", "people", _T, "Courses completed this quarter", pooling="sum"),
    Outcome("training_hours_jp", "JP", _T, "Training hours credited this quarter", pooling="sum"),
    Outcome(
        "training_cost_idr",
        "IDR",
        _T,
        "Training spent this quarter (ledger)",
        pooling="sum",
        better="lower",
    ),
    Outcome("training_budget_left_idr", "IDR", _T, "Training budget left this year", pooling="sum"),
    Outcome(
        "training_cost_per_sd_idr",
        "IDR per SD of competence",
        _T,
        "This quarter's training spend per unit of competence gained (summed over trainees)",
        better="lower",
    ),
    Outcome(
        "jp_compliance",
        "share of PNS",
        _T,
        "Share of PNS with at least 20 JP this year (PP 11/2017 jo PP 17/2020 Pasal 203)",
        better="higher",
    ),
    Outcome(
        "shock_penalised",
        "people",
        _T,
        "Employees still below their competence after a technology shock (untrained)",
        pooling="sum",
        better="lower",
    ),
    Outcome(
        "mean_competence",
        "SD units",
        _T,
        "Mean effective competence (base + training gain - shock penalty)",
        better="higher",
    ),
    Outcome(
        "campaign_coverage",
        "share of target population",
        _C,
        "People vaccinated by the agency's campaign over its target population",
        better="higher",
    ),
    Outcome(
        "campaign_vaccinated",
        "people",
        _C,
        "People vaccinated by the campaign",
        pooling="sum",
        better="higher",
    ),
    Outcome(
        "campaign_abandoned",
        "people",
        _C,
        "People who left the queue unserved",
        pooling="sum",
        better="lower",
    ),
    Outcome(
        "campaign_mean_wait_min",
        "minutes",
        _C,
        "Mean queueing time of those served",
        better="lower",
    ),
    Outcome(
        "campaign_p90_wait_min", "minutes", _C, "90th percentile of queueing time", better="lower"
    ),
    Outcome(
        "campaign_target_met", "0/1", _C, "1 if coverage reached the team target", better="higher"
    ),
    Outcome(
        "team_incentive_idr",
        "IDR",
        _C,
        "Team bonus paid to the campaign units' staff (outside the tukin budget cap)",
        pooling="sum",
        better="lower",
    ),
    # Behaviour: effort, fairness, adoption, gaming (simlib.behaviour.adoption).
    Outcome("effort_sd", "SD units", _Q, "Spread (SD) of effort across employees"),
    Outcome("effort_p10", "SD units", _Q, "10th percentile of effort"),
    Outcome("effort_p90", "SD units", _Q, "90th percentile of effort"),
    Outcome(
        "mean_instrumentality",
        "correlation",
        _Q,
        "Mean belief that ratings track performance, learned from experienced accuracy",
        better="higher",
    ),
    Outcome("mean_fairness", "SD units", _Q, "Mean perceived fairness", better="higher"),
    Outcome("fairness_sd", "SD units", _Q, "Spread (SD) of perceived fairness"),
    Outcome("fairness_p10", "SD units", _Q, "10th percentile of perceived fairness"),
    Outcome("fairness_p90", "SD units", _Q, "90th percentile of perceived fairness"),
    Outcome(
        "unfair_share",
        "share of employees",
        _Q,
        "Share with perceived fairness below -0.5",
        better="lower",
    ),
    Outcome(
        "adoption_share",
        "share of employees",
        _Q,
        "Share adopting the new performance system",
        better="higher",
    ),
    Outcome("complying_share", "share of employees", _Q, "Share complying without adopting"),
    Outcome(
        "resisting_share",
        "share of employees",
        _Q,
        "Share resisting the new system",
        better="lower",
    ),
    Outcome(
        "socialised_share",
        "share of employees",
        _Q,
        "Share who have attended a socialisation session",
        better="higher",
    ),
    Outcome(
        "socialisation_participants",
        "people",
        _Q,
        "Socialisation participants this quarter",
        pooling="sum",
    ),
    Outcome(
        "skp_compliance",
        "share of employees",
        _Q,
        "Share who filed their SKP on time this quarter",
        better="higher",
    ),
    Outcome(
        "gaming_incidence",
        "share of employees",
        _Q,
        "Share setting easy SKP targets (uncaught) or trading inflated peer ratings",
        better="lower",
    ),
    Outcome(
        "colluding_share",
        "share of employees",
        _Q,
        "Share trading inflated peer ratings (360 rules only)",
        better="lower",
    ),
    Outcome(
        "easy_target_share",
        "share of employees",
        _Q,
        "Share with easy SKP targets, uncaught",
        better="lower",
    ),
    Outcome(
        "months_to_50pct_adoption",
        "months",
        _R,
        "Months from the start until half the employees adopt (NaN if not within the run)",
        better="lower",
    ),
    Outcome(
        "months_to_80pct_adoption",
        "months",
        _R,
        "Months from the start until 80 % of employees adopt (NaN if not within the run)",
        better="lower",
    ),
    *(
        Outcome(
            f"months_to_{pct}pct_restricted",
            "months",
            _R,
            f"Months until {pct} % adopt, counting a run that never gets there as its length "
            "(restricted mean time: comparable across arms when some never reach it)",
            better="lower",
        )
        for pct in (50, 80)
    ),
    *(
        Outcome(
            f"reached_{pct}pct_adoption",
            "0/1",
            _R,
            f"1 if {pct} % adopted within the run",
            better="higher",
        )
        for pct in (50, 80)
    ),
    Outcome(
        "adoption_at_horizon",
        "share of employees",
        _R,
        "Share adopting at the end",
        better="higher",
    ),
    # Workforce flows at each year's close (simlib.world.flows).
    *(
        Outcome(name, "people", _Y, meaning, pooling="sum")
        for name, meaning in (
            ("forced_separations", "Separated as the bottom share of their unit (forced curve)"),
            ("performance_separations", "Separated after repeated Sangat Kurang"),
            ("contract_ends", "PPPK whose contract was not renewed"),
            ("retirements", "Retired at the batas usia pensiun"),
            ("voluntary_exits", "Left of their own accord"),
            ("separations", "All who left this year"),
            ("hires", "Hired into vacated posts"),
            ("transfers", "Staff moved to another unit"),
            ("headcount", "Employees after this year's flows"),
        )
    ),
    Outcome(
        "mean_workforce_potential",
        "SD units",
        _SY,
        "Mean base competence of the workforce after this year's flows (Scullen et al. 2005); "
        "at the start (with outputs.potential_records), of the initial workforce",
        better="higher",
    ),
    Outcome(
        "mean_staff_potential",
        "SD units",
        _SY,
        "Mean base competence of the staff who head no one, after this year's flows (Scullen "
        "et al. 2005's groups have no head in the mean; their end-of-year series)",
        better="higher",
    ),
    Outcome(
        "mean_staff_potential_rated",
        "SD units",
        _SY,
        "Mean base competence of the staff who head no one when the year's ratings close, "
        "before the close's separations: after the year's voluntary turnover and "
        "replacement under flows.voluntary_timing before_ratings (Scullen et al. 2005's "
        "recorded series); at the start, of the initial workforce",
        better="higher",
        requires="potential_records",
    ),
    # Careers at each year's close, under a policy's careers lever (engine.steps.promote):
    # by level of the position ladder, bottom (1) first; NaN for a level the ladder lacks.
    *(
        Outcome(
            f"women_share_level_{k}",
            "share of occupants",
            _Y,
            f"Share of women among the occupants of level {k} of the position ladder "
            "(1 = bottom) after this year's promotions",
            requires="careers",
        )
        for k in range(1, CAREER_LEVELS + 1)
    ),
    *(
        Outcome(
            f"competence_level_{k}",
            "SD units",
            _Y,
            f"Mean true (base) competence of the occupants of level {k} after this year's "
            "promotions",
            better="higher",
            requires="careers",
        )
        for k in range(1, CAREER_LEVELS + 1)
    ),
    Outcome(
        "promotions",
        "people",
        _Y,
        "People promoted one level this year",
        pooling="sum",
        requires="careers",
    ),
    Outcome(
        "promotion_accuracy",
        "correlation",
        _Y,
        "Correlation of being promoted with true competence among this year's candidates "
        "(the levels below a vacancy)",
        better="higher",
        requires="careers",
    ),
    Outcome(
        "years_to_promotion",
        "years",
        _Y,
        "Mean years the people promoted this year had spent in their former level",
        requires="careers",
    ),
    Outcome(
        "promotion_pay_gap_idr",
        "IDR per person per year",
        _Y,
        "Mean tukin paid this year, men minus women (promotion moves people to posts of "
        "higher kelas jabatan; compare with the arm without careers for the gap it creates)",
        better="lower",
        requires="careers",
    ),
    Outcome(
        "promotion_predikat_gap",
        "predikat steps",
        _Y,
        "Mean annual predikat code, women minus men (codes best first: positive, women "
        "rated worse)",
        better="lower",
        requires="careers",
    ),
    Outcome(
        "original_share",
        "share of employees",
        _Y,
        "Share of the posts held by someone of the workforce at the start (Martell et al. "
        "1996 run until none remains)",
        requires="careers",
    ),
    # Kenaikan pangkat at each year's close (engine.steps._kenaikan_pangkat), over PNS.
    Outcome(
        "kp_promotions",
        "share of PNS",
        _Y,
        "Share of PNS rising one golongan step (kenaikan pangkat) at this year's close",
        requires="kenaikan_pangkat",
    ),
    Outcome(
        "kp_pilihan_share",
        "share of rises",
        _Y,
        "Share of this year's kenaikan pangkat through KP pilihan (structural or JF post)",
        requires="kenaikan_pangkat",
    ),
    Outcome(
        "kp_at_cap_share",
        "share of PNS under KP reguler",
        _Y,
        "Share of the PNS under KP reguler who are at its cap (education or superior)",
        requires="kenaikan_pangkat",
    ),
    Outcome(
        "mean_golongan_step",
        "golongan step (1 = I/a .. 17 = IV/e)",
        _Y,
        "Mean golongan step of PNS after this year's kenaikan pangkat",
        requires="kenaikan_pangkat",
    ),
    Outcome(
        "golongan_gap_sex",
        "golongan steps",
        _Y,
        "Mean golongan step of PNS, men minus women",
        better="lower",
        requires="kenaikan_pangkat",
    ),
    Outcome(
        "kp_promotion_gap_sex",
        "share of PNS",
        _Y,
        "Share of men rising a golongan step this year minus the share of women",
        better="lower",
        requires="kenaikan_pangkat",
    ),
    Outcome(
        "mean_gaji_pokok_idr",
        "IDR per PNS per month",
        _Y,
        "Mean gaji pokok of PNS after this year's kenaikan pangkat (by golongan group)",
        requires="kenaikan_pangkat",
    ),
    # Tournament pay (engine.steps.pay), summed up at each year's close.
    Outcome(
        "tournament_prizes_idr",
        "IDR per year",
        _Y,
        "Tournament prizes awarded this year (before absence and budget-cap cuts), paid "
        "from the performance part of tukin beside the tiers",
        pooling="sum",
        requires="tournament",
    ),
    Outcome(
        "tournament_prize_performance_corr",
        "correlation",
        _Y,
        "Correlation of the year's tournament prizes with true hasil kerja, over posts",
        better="higher",
        requires="tournament",
    ),
    Outcome(
        "tournament_prize_gap_sex_idr",
        "IDR per person per year",
        _Y,
        "Mean tournament prize this year, men minus women",
        better="lower",
        requires="tournament",
    ),
)

#: Columns of the outcomes table.
OUTCOME_COLUMNS = (
    "scenario", "policy", "seed", "replication", "agency",
    "period_kind", "period", "t_month", "metric", "value",
)  # fmt: skip


def requirements(policy) -> frozenset[str]:
    """The ``requires`` values a policy meets (:class:`Outcome`): ``""`` and its levers'."""
    met = {""}
    lever = policy.careers
    if lever is not None:
        if lever.promotion is not None:
            met.add("careers")
        if lever.kenaikan_pangkat is not None:
            met.add("kenaikan_pangkat")
        if lever.tournament is not None and lever.tournament.share_of_budget > 0:
            met.add("tournament")
    return frozenset(met)


def correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN when either side has no variance."""
    if len(x) < 2:
        return float("nan")
    xc, yc = x - x.mean(), y - y.mean()
    denom = np.sqrt((xc @ xc) * (yc @ yc))
    return float(xc @ yc / denom) if denom > 0 else float("nan")


def predikat_shares(codes: np.ndarray) -> np.ndarray:
    """Share of employees in each predikat (best first)."""
    return np.bincount(codes, minlength=len(PREDIKAT)) / max(len(codes), 1)


def implied_predikat(
    codes: np.ndarray,
    *,
    rated_levels: tuple[np.ndarray, np.ndarray],
    true_axes: tuple[np.ndarray, np.ndarray],
    true_score: np.ndarray,
    matrix: np.ndarray,
) -> np.ndarray:
    """The predikat the true scores imply, at the shares of the predikat given.

    1. On each axis (hasil kerja, perilaku), the true scores are cut at the shares of the
       rated levels: as many employees as were rated *di atas* with the highest true
       scores are *di atas*, and so on.
    2. The matrix maps each pair of true levels to a predikat.
    3. The observed counts per predikat are laid over the employees ordered by that
       predikat (best first), then by ``true_score`` (highest first), then by position.

    Ratings that order employees as their true scores do give back ``codes`` exactly,
    whatever the cut-offs, leniency or distribution curve that set the shares (the curve
    moves the employees at each boundary by their score, as step 3 does).

    Parameters
    ----------
    codes
        Predikat codes given (0 = Sangat Baik ... 4 = Sangat Kurang).
    rated_levels
        Expectation levels (0 below, 1 meets, 2 above) of hasil kerja and perilaku behind
        ``codes``, before any distribution curve.
    true_axes
        True hasil kerja and perilaku (SD units).
    true_score
        True composite score, to order employees within a predikat.
    matrix
        The 3x3 predikat matrix (:func:`simlib.params.tables.predikat_matrix`).
    """
    # Selection (argpartition) instead of sorting: O(n), and the same result as sorting
    # except between exactly equal true scores (tests/test_outcomes.py checks it against
    # a sort by the definition above).
    levels = [_levels_at_shares(t, r) for r, t in zip(rated_levels, true_axes, strict=True)]
    implied = matrix[levels[0], levels[1]]
    k = len(PREDIKAT)
    cuts = np.cumsum(np.bincount(codes, minlength=k))[:-1]  # where the next predikat begins
    starts = np.concatenate([[0], np.cumsum(np.bincount(implied, minlength=k))[:-1]])
    out = np.empty(len(codes), dtype=np.asarray(codes).dtype)
    for g in range(k):
        members = np.flatnonzero(implied == g)
        if not len(members):
            continue
        first = starts[g]
        inside = np.unique(cuts[(cuts > first) & (cuts < first + len(members))] - first)
        scores = -true_score[members]
        order = np.argpartition(scores, inside) if len(inside) else np.arange(len(members))
        bounds = [0, *inside.tolist(), len(members)]
        for a, b in itertools.pairwise(bounds):
            out[members[order[a:b]]] = np.searchsorted(cuts, first + a, side="right")
    return out


def _levels_at_shares(true: np.ndarray, rated: np.ndarray) -> np.ndarray:
    """Levels 0/1/2 by rank of ``true``, as many at each level as ``rated`` has."""
    counts = np.bincount(rated, minlength=3)
    low, mid = int(counts[0]), int(counts[0] + counts[1])
    kth = [c for c in (low, mid) if 0 < c < len(true)]
    order = np.argpartition(true, kth) if kth else np.arange(len(true))
    level = np.empty(len(true), dtype=np.int64)
    level[order[:low]], level[order[low:mid]], level[order[mid:]] = 0, 1, 2
    return level


def misclassification(codes: np.ndarray, implied: np.ndarray) -> float:
    """Share whose predikat differs from the one their true scores imply (same shares)."""
    return float(np.mean(codes != implied)) if len(codes) else float("nan")


def chance_misclassification(codes: np.ndarray) -> float:
    """Expected misclassification of predikat unrelated to performance: ``1 - sum(p_k**2)``.

    Exact for a random assignment of the same counts: employee *i* keeps predikat *k*
    with probability ``n_k / n``.
    """
    shares = predikat_shares(codes)
    return float(1.0 - shares @ shares)


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative amounts (0 = equal)."""
    total = x.sum()
    if len(x) == 0 or total <= 0:
        return 0.0
    s = np.sort(x)
    n = len(s)
    return float((2.0 * np.arange(1, n + 1) - n - 1) @ s / (n * total))
