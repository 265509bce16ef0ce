"""Pay for performance: tukin/TPP due each month, and the annual budget cap.

Monthly tukin of employee *i*::

    entitled[i] = table[kelas[i]] * table_scale
    due[i]      = entitled[i] * (share_p * multiplier[predikat[i]] + (1 - share_p))
                              * (1 - min(1, absence_days[i] * deduction_per_day))

``share_p`` is the performance part of tukin (e.g. 60 % in Permentan 20/2025; the rest is
the attendance part). Under a rank-order tournament (``careers.tournament``) a share ``s``
of the performance part is paid as prizes instead of through the tiers::

    due[i] = (entitled[i] * (share_p * (1 - s) * multiplier[predikat[i]] + (1 - share_p))
              + prize[i]) * (1 - min(1, absence_days[i] * deduction_per_day))

where the prizes of a group sum to ``s * share_p`` times its members' entitlement
(:func:`simlib.world.careers.tournament_prizes`). The annual budget cap is released
evenly by month with carry-over inside the budget year; when a month's payments exceed
what is available, the policy's rule applies: *prorate* (everyone gets the same fraction)
or *rank_order* (pay in order of predikat, then composite score, until the money runs
out). Prizes are part of what is due, so the cap holds with a tournament too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlib.params.policy import Budget, Incentives
from simlib.params.tables import tukin_table

__all__ = ["BudgetYear", "apply_cap", "due", "entitlement"]


def entitlement(kelas: np.ndarray, incentives: Incentives) -> np.ndarray:
    """Full monthly tukin in IDR by employee (table amount for the kelas jabatan)."""
    return tukin_table(incentives.tukin_table)[kelas] * incentives.table_scale


def due(
    entitled_idr: np.ndarray,
    predikat_codes: np.ndarray,
    absence_days: np.ndarray,
    incentives: Incentives,
    *,
    prizes_idr: np.ndarray | None = None,
    tournament_share: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Tukin due this month, and the part cut for performance (both IDR, by employee).

    With ``prizes_idr`` (tournament prizes before absence cuts) the tiers pay only ``1 -
    tournament_share`` of the performance part; the prizes pay the rest. The part "cut for
    performance" is then entitlement minus pay before absence: negative for a prize winner,
    and over all employees what tiers and prizes together withhold.
    """
    mult = np.asarray(incentives.multipliers.as_tuple())[predikat_codes]
    share = incentives.performance_share
    if prizes_idr is None:
        performance_factor = share * mult + (1.0 - share)
    else:
        performance_factor = share * (1.0 - tournament_share) * mult + (1.0 - share)
    attendance_factor = 1.0 - np.minimum(1.0, absence_days * incentives.absence_deduction_per_day)
    before_absence = entitled_idr * performance_factor
    if prizes_idr is not None:
        before_absence = before_absence + prizes_idr
    return before_absence * attendance_factor, entitled_idr - before_absence


def apply_cap(
    due_idr: np.ndarray, available_idr: float, *, rule: str, rank: np.ndarray | None
) -> np.ndarray:
    """What is actually paid when at most ``available_idr`` may be spent.

    Parameters
    ----------
    due_idr
        Amounts due by employee.
    available_idr
        Money available this month.
    rule
        ``"prorate"`` or ``"rank_order"``.
    rank
        Payment order for ``rank_order`` (indices, first paid first); needed only when
        the money runs short.
    """
    total = due_idr.sum()
    available = max(float(available_idr), 0.0)
    if total <= available:
        return due_idr.copy()
    if rule == "prorate":
        return due_idr * (available / total)
    paid = np.zeros_like(due_idr)
    ordered = due_idr[rank]
    before = np.cumsum(ordered) - ordered
    paid[rank] = np.clip(available - before, 0.0, ordered)
    return paid


@dataclass(slots=True)
class BudgetYear:
    """The tukin budget of one agency for one budget (calendar) year."""

    cap_idr: float
    spent_idr: float = 0.0

    @classmethod
    def open(cls, monthly_entitlement_idr: float, budget: Budget) -> BudgetYear:
        """Open a year: a fixed cap in IDR, or a share of the year's full entitlement."""
        if budget.cap_idr is not None:
            return cls(cap_idr=float(budget.cap_idr))
        return cls(cap_idr=12.0 * monthly_entitlement_idr * budget.cap_share_of_entitlement)

    def available(self, month_of_year: int) -> float:
        """Released so far this year (evenly by month, with carry-over) minus spending."""
        return self.cap_idr * (month_of_year + 1) / 12.0 - self.spent_idr
