"""Effort and true performance each quarter, vectorised over employees.

True *hasil kerja* (results) of employee *i* in quarter *q*::

    hasil[i, q] = competence_weight * competence[i] + effort_weight * effort[i, q]
                  + noise_sd * e[i, q]

and true *perilaku kerja* (BerAKHLAK behaviour) is ``conduct[i] + behaviour_noise_sd * u[i, q]``.
Effort follows the core of expectancy theory: a base, intrinsic motivation, and the pay
at stake times the instrumentality of performance for pay: how accurately ratings tracked
performance in the agency last quarter (one agency-wide number for now; the behaviour model
makes it individual). All in SD units of true performance.
"""

from __future__ import annotations

import numpy as np

from simlib.policy import Policy
from simlib.scenario import Behaviour, Performance
from simlib.workforce import Workforce

__all__ = ["effort", "pay_at_stake", "true_performance"]


def pay_at_stake(policy: Policy) -> float:
    """Share of tukin an employee gains by moving from Butuh Perbaikan to Sangat Baik."""
    inc = policy.incentives
    m = inc.multipliers
    return inc.performance_share * max(0.0, m.sangat_baik - m.butuh_perbaikan)


def effort(
    workforce: Workforce,
    params: Behaviour,
    *,
    stake: float,
    instrumentality: float,
    team_stake: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Effort of every employee this quarter (SD units).

    Parameters
    ----------
    workforce
        The agency's employees.
    params
        Effort parameters of the scenario.
    stake
        Pay at stake (share of tukin), see :func:`pay_at_stake`.
    instrumentality
        Correlation of ratings with true performance last quarter, floored at 0.
    team_stake
        Expected team bonus (outcome-based, e.g. a vaccination target) as a share of the
        employee's annual tukin; it needs no rating, so no instrumentality applies.
    """
    return (
        params.effort_base
        + params.motivation_weight * workforce.motivation
        + params.pay_sensitivity * (stake * instrumentality + team_stake)
    )


def true_performance(
    workforce: Workforce,
    effort_sd: np.ndarray,
    params: Performance,
    *,
    rng: np.random.Generator,
    competence: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """True hasil kerja and perilaku kerja this quarter (SD units).

    ``competence`` replaces the workforce's base competence when training or a technology
    shock has changed it (see :func:`simlib.training.effective_competence`).
    """
    z = rng.standard_normal((2, workforce.n))
    base = workforce.competence if competence is None else competence
    hasil = (
        params.competence_weight * base + params.effort_weight * effort_sd + params.noise_sd * z[0]
    )
    perilaku = workforce.conduct + params.behaviour_noise_sd * z[1]
    return hasil, perilaku
