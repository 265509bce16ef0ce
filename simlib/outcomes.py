"""Declared outcomes: every metric the model reports, with its unit, level and meaning.

Outcomes are declared once in :data:`OUTCOMES`; the model reports exactly these, as a
tidy long table with one row per (agency, period, metric). Quarter-level metrics describe
a periodic appraisal; year-level metrics the annual predikat, pay and budget.
The helpers below compute metrics from arrays, vectorised over employees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlib.domain import PREDIKAT

__all__ = [
    "OUTCOMES",
    "OUTCOME_COLUMNS",
    "Outcome",
    "correlation",
    "gini",
    "misclassification",
    "predikat_shares",
]


@dataclass(frozen=True, slots=True)
class Outcome:
    """A declared metric."""

    name: str
    unit: str
    levels: tuple[str, ...]
    meaning: str


_Q, _Y, _QY, _C, _T = ("quarter",), ("year",), ("quarter", "year"), ("campaign",), ("training",)
_R = ("run",)

OUTCOMES: tuple[Outcome, ...] = (
    Outcome(
        "mean_true_performance", "SD units", _QY, "Mean true hasil kerja (results) of employees"
    ),
    Outcome("mean_effort", "SD units", _Q, "Mean effort of employees"),
    Outcome(
        "rating_accuracy",
        "correlation",
        _QY,
        "Correlation of the hasil-kerja rating with true hasil kerja",
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
        "Share whose predikat rank differs from their true-performance quintile "
        "(top quintile = Sangat Baik ... bottom = Sangat Kurang)",
    ),
    Outcome(
        "predikat_agreement",
        "share of employees",
        _QY,
        "Share whose predikat equals the one their true scores would give under the same "
        "cut-offs and matrix (no rater error, no distribution curve)",
    ),
    Outcome(
        "perilaku_accuracy",
        "correlation",
        _Q,
        "Correlation of the perilaku score (after aggregation) with true perilaku",
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
    ),
    Outcome("tukin_entitled_idr", "IDR", _QY, "Full tukin by the table, before any cut"),
    Outcome("tukin_due_idr", "IDR", _QY, "Tukin due after performance and absence cuts"),
    Outcome("tukin_paid_idr", "IDR", _QY, "Tukin paid after the budget cap"),
    Outcome("budget_cap_idr", "IDR", _Y, "Annual tukin budget cap"),
    Outcome("budget_used_share", "share of cap", _Y, "Tukin paid as a share of the cap"),
    Outcome(
        "budget_pressure",
        "share of cap",
        _Y,
        "Tukin due as a share of the cap (above 1: the cap binds)",
    ),
    Outcome(
        "pay_performance_corr",
        "correlation",
        _Y,
        "Correlation of annual tukin paid with annual mean true performance",
    ),
    Outcome("pay_gini", "Gini coefficient", _Y, "Inequality of annual tukin paid"),
    Outcome("training_trainees", "people", _T, "Courses completed this quarter"),
    Outcome("training_hours_jp", "JP", _T, "Training hours credited this quarter"),
    Outcome("training_cost_idr", "IDR", _T, "Training spent this quarter (ledger)"),
    Outcome("training_budget_left_idr", "IDR", _T, "Training budget left this year"),
    Outcome(
        "training_cost_per_sd_idr",
        "IDR per SD of competence",
        _T,
        "This quarter's training spend per unit of competence gained (summed over trainees)",
    ),
    Outcome(
        "jp_compliance",
        "share of PNS",
        _T,
        "Share of PNS with at least 20 JP this year (PP 11/2017 jo PP 17/2020 Pasal 203)",
    ),
    Outcome(
        "shock_penalised",
        "people",
        _T,
        "Employees still below their competence after a technology shock (untrained)",
    ),
    Outcome(
        "mean_competence",
        "SD units",
        _T,
        "Mean effective competence (base + training gain - shock penalty)",
    ),
    Outcome(
        "campaign_coverage",
        "share of target population",
        _C,
        "People vaccinated by the agency's campaign over its target population",
    ),
    Outcome("campaign_vaccinated", "people", _C, "People vaccinated by the campaign"),
    Outcome("campaign_abandoned", "people", _C, "People who left the queue unserved"),
    Outcome("campaign_mean_wait_min", "minutes", _C, "Mean queueing time of those served"),
    Outcome("campaign_p90_wait_min", "minutes", _C, "90th percentile of queueing time"),
    Outcome("campaign_target_met", "0/1", _C, "1 if coverage reached the team target"),
    Outcome(
        "team_incentive_idr",
        "IDR",
        _C,
        "Team bonus paid to the campaign units' staff (outside the tukin budget cap)",
    ),
    # Behaviour: effort, fairness, adoption, gaming (simlib.behaviour).
    Outcome("effort_sd", "SD units", _Q, "Spread (SD) of effort across employees"),
    Outcome("effort_p10", "SD units", _Q, "10th percentile of effort"),
    Outcome("effort_p90", "SD units", _Q, "90th percentile of effort"),
    Outcome(
        "mean_instrumentality",
        "correlation",
        _Q,
        "Mean belief that ratings track performance, learned from experienced accuracy",
    ),
    Outcome("mean_fairness", "SD units", _Q, "Mean perceived fairness"),
    Outcome("fairness_sd", "SD units", _Q, "Spread (SD) of perceived fairness"),
    Outcome("fairness_p10", "SD units", _Q, "10th percentile of perceived fairness"),
    Outcome("fairness_p90", "SD units", _Q, "90th percentile of perceived fairness"),
    Outcome("unfair_share", "share of employees", _Q, "Share with perceived fairness below -0.5"),
    Outcome(
        "adoption_share", "share of employees", _Q, "Share adopting the new performance system"
    ),
    Outcome("complying_share", "share of employees", _Q, "Share complying without adopting"),
    Outcome("resisting_share", "share of employees", _Q, "Share resisting the new system"),
    Outcome(
        "socialised_share",
        "share of employees",
        _Q,
        "Share who have attended a socialisation session",
    ),
    Outcome("socialisation_participants", "people", _Q, "Socialisation participants this quarter"),
    Outcome(
        "skp_compliance", "share of employees", _Q, "Share who filed their SKP on time this quarter"
    ),
    Outcome(
        "gaming_incidence",
        "share of employees",
        _Q,
        "Share setting easy SKP targets (uncaught) or trading inflated peer ratings",
    ),
    Outcome(
        "colluding_share",
        "share of employees",
        _Q,
        "Share trading inflated peer ratings (360 rules only)",
    ),
    Outcome("easy_target_share", "share of employees", _Q, "Share with easy SKP targets, uncaught"),
    Outcome(
        "months_to_50pct_adoption",
        "months",
        _R,
        "Months from the start until half the employees adopt (NaN if not within the run)",
    ),
    Outcome(
        "months_to_80pct_adoption",
        "months",
        _R,
        "Months from the start until 80 % of employees adopt (NaN if not within the run)",
    ),
    *(
        Outcome(
            f"months_to_{pct}pct_restricted",
            "months",
            _R,
            f"Months until {pct} % adopt, counting a run that never gets there as its length "
            "(restricted mean time: comparable across arms when some never reach it)",
        )
        for pct in (50, 80)
    ),
    *(
        Outcome(f"reached_{pct}pct_adoption", "0/1", _R, f"1 if {pct} % adopted within the run")
        for pct in (50, 80)
    ),
    Outcome("adoption_at_horizon", "share of employees", _R, "Share adopting at the end"),
    # Workforce flows at each year's close (simlib.flows).
    *(
        Outcome(name, "people", _Y, meaning)
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
        _Y,
        "Mean base competence of the workforce after this year's flows (Scullen et al. 2005)",
    ),
)

#: Columns of the outcomes table.
OUTCOME_COLUMNS = (
    "scenario", "policy", "seed", "replication", "agency",
    "period_kind", "period", "t_month", "metric", "value",
)  # fmt: skip


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


def misclassification(codes: np.ndarray, true_score: np.ndarray) -> float:
    """Share whose predikat rank differs from their true-score quintile (top = 0)."""
    n = len(codes)
    order = np.argsort(-true_score)
    ranked = true_score[order]
    if (ranked[1:] == ranked[:-1]).any():  # ties: keep them in position order
        order = np.argsort(-true_score, kind="stable")
    quintile = np.empty(n, dtype=np.int64)
    quintile[order] = np.arange(n) * 5 // max(n, 1)
    return float(np.mean(quintile != codes))


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative amounts (0 = equal)."""
    total = x.sum()
    if len(x) == 0 or total <= 0:
        return 0.0
    s = np.sort(x)
    n = len(s)
    return float((2.0 * np.arange(1, n + 1) - n - 1) @ s / (n * total))
