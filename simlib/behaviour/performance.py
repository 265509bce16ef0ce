"""Effort and true performance each quarter, vectorised over employees.

True *hasil kerja* (results) of employee *i* in quarter *q*::

    hasil[i, q] = competence_weight * competence[i] + effort_weight * effort[i, q]
                  + noise_sd * e[i, q]

and true *perilaku kerja* (BerAKHLAK behaviour) is ``conduct[i] + behaviour_noise_sd * u[i, q]``.
Effort follows the core of expectancy theory: a base, intrinsic motivation, and the pay
at stake times the instrumentality of performance for pay: how accurately ratings tracked
performance in the agency last quarter (one agency-wide number for now; the behaviour model
makes it individual). All in SD units of true performance. The pay at stake weighs the
whole multiplier schedule by where an employee can land on the predikat matrix
(:func:`pay_at_stake`).
"""

from __future__ import annotations

import numpy as np

from simlib.core.domain import PREDIKAT
from simlib.core.streams import Draws, Keyed, normals
from simlib.params.policy import Policy
from simlib.params.scenario import Behaviour, Performance
from simlib.params.tables import predikat_matrix
from simlib.world.workforce import Workforce

__all__ = ["effort", "landing_weights", "pay_at_stake", "true_performance"]


def landing_weights() -> np.ndarray:
    """Where an employee can land: the share of the matrix's cells giving each predikat.

    The nine cells are 3 hasil-kerja x 3 perilaku levels; best predikat first.
    PermenPANRB 6/2022: Sangat Baik 1/9, Baik 3/9, Butuh Perbaikan 2/9, Kurang 2/9,
    Sangat Kurang 1/9. A property of the rules, not of this year's shares.
    """
    matrix = predikat_matrix()
    return np.bincount(matrix.ravel(), minlength=len(PREDIKAT)) / matrix.size


def pay_at_stake(policy: Policy) -> float:
    """Share of tukin that the predikat puts at stake, over the whole multiplier schedule.

    ``phi * sum_j sum_k w_j w_k |m_j - m_k|``: the expected difference in the performance
    part between two independent landings on the predikat matrix (weights ``w`` from
    :func:`landing_weights`, multipliers ``m``, performance share ``phi``). Every
    multiplier counts, the Kurang and Sangat Kurang ones included; a flat schedule puts
    nothing at stake.
    """
    inc = policy.incentives
    m = np.asarray(inc.multipliers.as_tuple())
    w = landing_weights()
    return float(inc.performance_share * (w @ np.abs(m[:, None] - m[None, :]) @ w))


def effort(
    workforce: Workforce,
    params: Behaviour,
    *,
    stake: np.ndarray | float,
    instrumentality: np.ndarray | float,
    team_stake: np.ndarray | float = 0.0,
    response: np.ndarray | float = 1.0,
) -> np.ndarray:
    """Effort of every employee this quarter (SD units).

    ``effort = base + m motivation + s response crowd (stake max(I, 0) + team_stake)``,
    with ``crowd = 1 - crowding_out max(motivation, 0)``: rewards that feel controlling
    crowd out the response of the intrinsically motivated (negative ``crowding_out``
    crowds in).

    Parameters
    ----------
    workforce
        The agency's employees.
    params
        Effort parameters of the scenario.
    stake
        Valence: share of take-home pay at stake (see :func:`simlib.behaviour.adoption.valence`).
    instrumentality
        Each employee's belief that ratings track performance (correlation scale).
    team_stake
        Expected team bonus (outcome-based, e.g. a vaccination target) as a share of the
        employee's annual take-home pay; it needs no rating, so no instrumentality applies.
    response
        Share of the response left by the employee's adoption state (resisters respond less).
    """
    crowd = 1.0 - params.crowding_out * np.maximum(workforce.motivation, 0.0)
    extrinsic = stake * np.maximum(instrumentality, 0.0) + team_stake
    return (
        params.effort_base
        + params.motivation_weight * workforce.motivation
        + params.pay_sensitivity * response * crowd * extrinsic
    )


def true_performance(
    workforce: Workforce,
    effort_sd: np.ndarray,
    params: Performance,
    *,
    rng: Draws,
    competence: np.ndarray | None = None,
    person: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """True hasil kerja and perilaku kerja this quarter (SD units).

    ``competence`` replaces the workforce's base competence when training or a technology
    shock has changed it (see :func:`simlib.engine.training.effective_competence`). With a keyed
    stream the quarter's noise belongs to the person (``person``: stable ids, one per post),
    not to the post: someone who moves in one arm only keeps their own luck.
    """
    if isinstance(rng, Keyed):
        ids = np.arange(workforce.n) if person is None else person
        z = normals(rng, ids, 2).T
    else:
        z = rng.standard_normal((2, workforce.n))
    base = workforce.competence if competence is None else competence
    hasil = (
        params.competence_weight * base + params.effort_weight * effort_sd + params.noise_sd * z[0]
    )
    perilaku = workforce.conduct + params.behaviour_noise_sd * z[1]
    return hasil, perilaku
