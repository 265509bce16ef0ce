"""Behaviour: perceived fairness, resistance to change and adoption, and gaming.

Every employee carries a small behavioural state (:class:`People`), updated by vectorised
functions over the agency's employees:

* **Instrumentality** — each employee's belief that ratings track performance, learned from
  the accuracy they experience: with ``zr``, ``zt`` their rating and true hasil kerja
  standardised within the agency, ``a = 1 - (zr - zt)**2 / 2`` has mean equal to the
  rating's correlation with the truth, and ``I <- (1 - lr) I + lr a`` each quarter.
* **Valence** — the share of take-home pay (gaji pokok + tukin) at stake:
  ``V = stake x tukin / (tukin + gaji)``.
* **Perceived fairness** ``f`` (SD units) — ``f <- (1 - lr) f + lr s`` with the signal
  ``s = s0 - w_r max(0, self-view - rating) - w_p max(0, pay gap to peers of similar true
  performance) + transparency + multi-source``, and ``f -= lr w_q`` for an employee moved
  down by the distribution curve.
* **Adoption** of the new system: states resisting (0), complying (1), adopting (2).
  Dispositional resistance has Oreg's (2003) four facets, each ``L R + sqrt(1 - L^2) e`` on a
  general disposition ``R = -openness``. Each month an employee moves one state up with
  Bass-type hazard ``(p + p_soc + q F_unit + g gain) exp(-w (routine + rigidity) / 2)`` and
  one state down with ``(u max(0, -f) + l lambda loss) exp(w (emotion + short_term) / 2)``,
  where gain and loss are pay against a slowly adapting reference point (share of
  take-home pay) and ``lambda`` is loss aversion.
* **Gaming** — reciprocal peer inflation (colluders) and easy SKP targets, whose incidence
  grows with the stake relative to a reference and falls with severity-adjusted ratings and
  SKP audits.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from simlib.core.streams import Draws, normals, uniforms
from simlib.params.policy import ChangeManagement
from simlib.params.scenario import ADOPTION_STATES, Adoption, Fairness, Gaming, Scenario

__all__ = [
    "ADOPTING",
    "COMPLYING",
    "FACETS",
    "RESISTING",
    "People",
    "adoption_step",
    "draw_people",
    "experienced_accuracy",
    "fairness_signal",
    "gaming_shares",
    "pay_gap_to_peers",
    "socialise",
    "valence",
]

RESISTING, COMPLYING, ADOPTING = range(3)
#: Oreg (2003) facets of dispositional resistance to change, in column order.
FACETS = ("routine_seeking", "emotional_reaction", "short_term_focus", "cognitive_rigidity")


@dataclass(eq=False)
class People:
    """Behavioural state of each employee (arrays of length ``n``; positions of posts).

    Attributes
    ----------
    facets
        (n, 4) Oreg facets of dispositional resistance (SD units), see :data:`FACETS`.
    state
        Adoption state code: 0 resisting, 1 complying, 2 adopting.
    fairness
        Perceived fairness (SD units).
    instrumentality
        Belief that ratings track performance (correlation scale).
    self_bias
        Persistent gap between one's self-view and one's true hasil kerja (SD units).
    gaming_u, collusion_u
        Uniform propensities: an employee games when the gaming share exceeds them.
    socialised
        Attended a socialisation session.
    last_paid
        Reference point for gains and losses (IDR): tukin paid, adapting slowly.
    sk_streak
        Consecutive annual predikat of Sangat Kurang.
    inertia, reactivity
        ``exp(-w (routine + rigidity) / 2)`` and ``exp(w (emotion + short_term) / 2)``: how the
        facets scale the up and down hazards (fixed per person).
    person
        Identifier of the person (posts keep their position; people move and are replaced).
    """

    facets: np.ndarray
    state: np.ndarray
    fairness: np.ndarray
    instrumentality: np.ndarray
    self_bias: np.ndarray
    gaming_u: np.ndarray
    collusion_u: np.ndarray
    socialised: np.ndarray
    last_paid: np.ndarray
    sk_streak: np.ndarray
    inertia: np.ndarray
    reactivity: np.ndarray
    person: np.ndarray

    def take(self, order: np.ndarray) -> None:
        """Reorder every array (people moving between posts): ``x <- x[order]``."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name)[order])

    def put(self, positions: np.ndarray, other: People) -> None:
        """Put the people of ``other`` (new hires) into ``positions``."""
        for f in fields(self):
            getattr(self, f.name)[positions] = getattr(other, f.name)


def draw_people(
    openness: np.ndarray,
    scenario: Scenario,
    *,
    rng: Draws,
    initial: bool = True,
    person: np.ndarray | None = None,
) -> People:
    """Behavioural state of employees at the start (``initial``) or of new hires.

    At the start the most resistant ``initial_resisting_share`` resist, the least resistant
    ``initial_adopting_share`` adopt, and the rest comply. New hires join in the scenario's
    ``new_hire_state``. ``person`` are the people's ids (default ``0 .. n-1``); a keyed
    ``rng`` draws each person's facets and propensities by their id.
    """
    n = len(openness)
    person = np.arange(n, dtype=np.int64) if person is None else np.asarray(person, np.int64)
    ad, fa = scenario.adoption, scenario.fairness
    z = normals(rng, person, len(FACETS) + 1)
    u = uniforms(rng, person, 2, first=len(FACETS) + 1).T
    load = ad.facet_loading
    latent = scenario.workforce.openness
    general = -(openness - latent.mean) / (latent.sd if latent.sd > 0 else 1.0)
    facets = load * general[:, None] + np.sqrt(1.0 - load**2) * z[:, : len(FACETS)]
    state = np.full(n, ADOPTION_STATES.index(ad.new_hire_state), dtype=np.int8)
    if initial:
        state[:] = COMPLYING
        order = np.argsort(-facets.mean(axis=1), kind="stable")  # most resistant first
        n_res = round(ad.initial_resisting_share * n)
        n_ado = min(round(ad.initial_adopting_share * n), n - n_res)
        state[order[:n_res]] = RESISTING
        state[order[n - n_ado :]] = ADOPTING
    return People(
        facets=facets,
        state=state,
        fairness=np.full(n, fa.initial_mean),
        instrumentality=np.full(n, scenario.behaviour.initial_instrumentality),
        self_bias=fa.self_view_bias + fa.self_view_noise_sd * z[:, -1],
        gaming_u=u[0],
        collusion_u=u[1],
        socialised=np.zeros(n, dtype=bool),
        last_paid=np.full(n, np.nan),
        sk_streak=np.zeros(n, dtype=np.int16),
        inertia=np.exp(-ad.disposition_weight * (facets[:, 0] + facets[:, 3]) / 2.0),
        reactivity=np.exp(ad.disposition_weight * (facets[:, 1] + facets[:, 2]) / 2.0),
        person=person.copy(),
    )


def valence(stake: float, tukin_idr: np.ndarray, gaji_idr: np.ndarray) -> np.ndarray:
    """Share of take-home pay at stake: ``stake`` (share of tukin) x tukin / (tukin + gaji)."""
    total = tukin_idr + gaji_idr
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, stake * tukin_idr / total, 0.0)


def _standardise(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def experienced_accuracy(rating: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Each employee's experienced rating accuracy; its mean is the rating-truth correlation.

    ``1 - (zr - zt)**2 / 2`` for standardised rating ``zr`` and true score ``zt``: 1 when
    one's rating sits where one's performance does, lower the further it strays.
    """
    d = _standardise(rating) - _standardise(true)
    return 1.0 - d * d / 2.0


def pay_gap_to_peers(
    paid: np.ndarray, entitled: np.ndarray, true: np.ndarray, *, groups: int = 10
) -> np.ndarray:
    """How far below peers of similar true performance one was paid (share of tukin).

    Peers are the employees in the same decile of true hasil kerja in the agency; the gap is
    their mean paid/entitled ratio minus one's own (positive: paid less than one's peers).
    """
    if len(paid) == 0:
        return np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(entitled > 0, paid / entitled, 1.0)
    edges = np.quantile(true, np.arange(1, groups) / groups)
    group = np.searchsorted(edges, true, side="right")
    mean = np.bincount(group, weights=ratio, minlength=groups) / np.maximum(
        np.bincount(group, minlength=groups), 1
    )
    return mean[group] - ratio


def fairness_signal(
    params: Fairness,
    *,
    rating: np.ndarray,
    self_view: np.ndarray,
    pay_gap: np.ndarray,
    transparent: bool,
    multi_source: bool,
) -> np.ndarray:
    """Fairness signal of each employee from this quarter (SD units)."""
    return (
        params.neutral_signal
        - params.rating_gap_weight * np.maximum(0.0, self_view - rating)
        - params.pay_gap_weight * np.maximum(0.0, pay_gap)
        + (params.transparency_bonus if transparent else 0.0)
        + (params.multi_source_bonus if multi_source else 0.0)
    )


def socialise(
    people: People,
    cm: ChangeManagement,
    budget_left_idr: float,
    *,
    rng: Draws,
) -> tuple[int, float]:
    """One month of socialisation sessions; returns (participants, cost in IDR).

    Up to ``capacity_per_month`` employees not yet reached attend, as far as the year's
    budget allows, chosen at random: those with the lowest of a uniform per person and
    month (keyed by ``people.person``).
    """
    soc = cm.socialisation
    waiting = np.flatnonzero(~people.socialised)
    seats = min(soc.capacity_per_month, int(budget_left_idr // soc.cost_per_participant_idr))
    if seats <= 0 or len(waiting) == 0:
        return 0, 0.0
    u = uniforms(rng, people.person)  # keyed: not drawing when no one attends changes nothing
    chosen = waiting[np.argsort(u[waiting], kind="stable")[:seats]]
    people.socialised[chosen] = True
    return len(chosen), len(chosen) * soc.cost_per_participant_idr


def adoption_step(
    people: People,
    unit: np.ndarray,
    params: Adoption,
    *,
    pay_change: np.ndarray,
    rng: Draws,
) -> None:
    """One month of adoption transitions (in place); competing up and down hazards.

    ``pay_change`` is this month's change in tukin paid as a share of take-home pay. The
    two uniforms of each employee (whether and which way they move) are keyed by
    ``people.person``.
    """
    adopting = (people.state == ADOPTING).astype(float)
    counts = np.maximum(np.bincount(unit), 1)
    share = (np.bincount(unit, weights=adopting) / counts)[unit]
    push = (
        params.external_push_per_month
        + params.socialised_push_per_month * people.socialised
        + params.imitation_per_month * share
        + params.gain_push * np.maximum(pay_change, 0.0)
    ) * people.inertia
    pull = (
        params.unfairness_pullback_per_month * np.maximum(-people.fairness, 0.0)
        + params.loss_pullback * params.loss_aversion * np.maximum(-pay_change, 0.0)
    ) * people.reactivity
    push = np.where(people.state < ADOPTING, push, 0.0)
    pull = np.where(people.state > RESISTING, pull, 0.0)
    hazard = push + pull
    u = uniforms(rng, people.person, 2).T
    moves = u[0] < -np.expm1(-hazard)
    up = u[1] * hazard < push
    step = np.where(moves, np.where(up, 1, -1), 0)
    people.state = (people.state + step).astype(np.int8)


def gaming_shares(
    params: Gaming,
    base_collusion: float,
    *,
    stake: float,
    pay_linked: bool,
    severity_adjusted: bool,
    audit_share: float,
) -> tuple[float, float]:
    """Shares of employees who collude and who set easy targets this quarter.

    Both grow linearly with ``stake`` / ``reference_stake`` and shrink by
    ``max(0, 1 - audit_deterrence x audit_share)``; severity-adjusted aggregation removes
    ``severity_adjustment_reduction`` of the collusion. Easy targets pay only when pay depends
    on the rating.
    """
    rel = stake / params.reference_stake
    deter = max(0.0, 1.0 - params.audit_deterrence * audit_share)
    collusion = base_collusion * (1.0 + params.collusion_stake_growth * rel) * deter
    if severity_adjusted:
        collusion *= 1.0 - params.severity_adjustment_reduction
    easing = params.target_easing_share * rel * deter if pay_linked else 0.0
    return min(collusion, 1.0), min(easing, 1.0)
