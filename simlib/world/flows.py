"""Workforce flows at the close of each year: who leaves, who moves, who is hired.

Posts are fixed (the structure of the agency); people move through them. Each year, after
the annual predikat, in this order and each person counted under the first reason only:

1. **forced separation** of the bottom ``forced_separation_share`` of every unit by the
   annual rating score (the forced-distribution rule of Scullen, Bergey & Aiman-Smith 2005;
   0 for ASN);
2. **performance separation** after ``sangat_kurang_years_to_separation`` consecutive years
   of Sangat Kurang;
3. **PPPK contract end** without renewal, when the contract term ends and the predikat is
   worse than ``pppk_renewal_min_predikat``;
4. **retirement** at the batas usia pensiun of the post's job type (``data/tables``);
5. **voluntary exit** at the PNS or PPPK annual rate.

Then staff **transfer** between units (a random share of functional and pelaksana staff
move, each to the post of the next mover in a random cycle), everyone ages a year, and every
vacated post is **filled** by a hire: of ``1 / selection_ratio`` applicants with competence
``N(mu, 1)`` and selection score ``v competence + sqrt(1 - v^2) e``, the best scorer is hired
(Scullen et al. 2005, equation 1).

Scenario settings change this for a replication of Scullen, Bergey & Aiman-Smith (2005):
``voluntary_exit_model: poisson`` draws a Poisson number of voluntary leavers instead of
one draw per person (:func:`voluntary_leavers`); ``voluntary_timing: before_ratings``
moves voluntary exits to the year's opening, replaced through selection before any
rating (:func:`simlib.engine.steps.open_flows`); ``forced_separation_rounding:
floor_plus_random_units`` separates ``floor(share x unit size)`` per unit plus one more in
units drawn at random until ``round_half_up(share x staff)``; ``applicant_competence_sd``
gives the applicant pool its own spread; ``initial_hiring: selected`` hires the workforce
at the start as later vacancies are.

Random numbers are keyed by what they belong to (:class:`simlib.core.streams.Keyed`): the
voluntary-exit uniform and the transfer draws by person and year, the applicant pool and
the hire's attributes by the vacancy (its post and the month it opened). One extra leaver
thus adds one vacancy's draws and changes no other leaver, mover or hire.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlib.core.domain import JOB_TYPES, PREDIKAT
from simlib.core.streams import EXTERNAL, Draws, normals, poissons, uniforms
from simlib.params.scenario import Flows
from simlib.params.scenario import Workforce as WorkforceParams
from simlib.params.tables import retirement_age

__all__ = [
    "LEAVE_REASONS", "Hires", "YearFlows", "hire", "leavers", "transfer_order",
    "voluntary_leavers",
]  # fmt: skip

#: Reasons for leaving, in the order they are checked.
LEAVE_REASONS = (
    "forced_separations",
    "performance_separations",
    "contract_ends",
    "retirements",
    "voluntary_exits",
)
SANGAT_KURANG = PREDIKAT.index("sangat_kurang")
STAFF = (JOB_TYPES.index("fungsional"), JOB_TYPES.index("pelaksana"))
#: First slot of a vacancy's hire attributes (applicants use slots 0 .. 2 x applicants - 1).
_HIRE_SLOT = 1 << 20


@dataclass(frozen=True, slots=True)
class YearFlows:
    """Who leaves this year: a reason code per employee (-1 stays)."""

    reason: np.ndarray

    @property
    def leaving(self) -> np.ndarray:
        """Positions whose occupant leaves."""
        return np.flatnonzero(self.reason >= 0)

    def counts(self) -> dict[str, float]:
        """Leavers by reason."""
        tally = np.bincount(self.reason[self.reason >= 0], minlength=len(LEAVE_REASONS))
        return {name: float(c) for name, c in zip(LEAVE_REASONS, tally, strict=True)}


def _bottom_of_units(
    unit: np.ndarray,
    score: np.ndarray,
    share: float,
    *,
    exempt: np.ndarray,
    rounding: str = "nearest_per_unit",
    u_unit: np.ndarray | None = None,
) -> np.ndarray:
    """The ``share`` lowest scores of every unit (rounded to whole people), exempt skipped.

    ``rounding="nearest_per_unit"``: the quota is ``round(share x unit size)`` (halves to
    even), the exempt (the head of the agency) counted in the size and passed over, so the
    next-lowest fills their place in it. ``"floor_plus_random_units"`` (the Scullen et al.
    2005 reference's rule): each unit separates ``floor(share x m)`` of its ``m`` members who
    are not exempt, and ``round_half_up(share x M) - sum of the floors`` units (``M`` all
    members not exempt) one more each, drawn without replacement in proportion to the
    fraction their floor dropped, by the uniforms ``u_unit`` (one per unit code).
    """
    n = len(unit)
    if share <= 0 or n == 0:
        return np.zeros(n, dtype=bool)
    # Exempt people sort after everyone else in their unit.
    order = np.lexsort((np.arange(n), score, exempt, unit))
    sorted_unit = unit[order]
    starts = np.flatnonzero(np.r_[True, sorted_unit[1:] != sorted_unit[:-1]])
    sizes = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, sizes)
    if rounding == "nearest_per_unit":
        per_unit = np.rint(share * sizes)
    else:
        members = sizes - np.add.reduceat(exempt[order].astype(np.int64), starts)
        per_unit = np.floor(share * members + 1e-9)
        extra = int(np.floor(share * members.sum() + 0.5 + 1e-9) - per_unit.sum())
        if extra > 0:
            fraction = share * members - per_unit
            # Weighted sampling without replacement: the smallest -log(u) / weight win.
            with np.errstate(divide="ignore"):
                key = np.where(fraction > 1e-12, -np.log(u_unit[sorted_unit[starts]]) / fraction,
                               np.inf)  # fmt: skip
            per_unit[np.argsort(key, kind="stable")[:extra]] += 1
    quota = np.repeat(per_unit, sizes)
    out = np.zeros(n, dtype=bool)
    out[order] = rank < quota
    return out & ~exempt


def voluntary_leavers(
    rate: np.ndarray, *, model: str, person: np.ndarray, rng: Draws
) -> np.ndarray:
    """Who leaves of their own accord this year, given each person's annual ``rate``.

    ``model="per_person"``: each leaves when their uniform (keyed by person, slot 0) is
    below their rate. ``"poisson"`` (Scullen et al. 2005): ``L ~ Poisson(sum of rates)``
    leavers (at most everyone; the count keyed by the stream's "no entity" id), the ``L``
    with the smallest ``-log(u) / rate`` of the same uniforms: drawn without replacement in
    proportion to the rates, uniformly when they are equal.
    """
    u = uniforms(rng, person)
    if model == "per_person":
        return u < rate
    out = np.zeros(len(rate), dtype=bool)
    total = float(rate.sum())
    if total <= 0:
        return out
    count = int(poissons(rng, np.array([EXTERNAL], dtype=np.uint64), np.array([total]))[0])
    with np.errstate(divide="ignore"):
        key = np.where(rate > 0, -np.log(u) / rate, np.inf)
    out[np.argsort(key, kind="stable")[: min(count, int((rate > 0).sum()))]] = True
    return out


def leavers(
    *,
    unit: np.ndarray,
    job_type: np.ndarray,
    pppk: np.ndarray,
    age_years: np.ndarray,
    tenure_years: np.ndarray,
    is_head: np.ndarray,
    predikat: np.ndarray,
    score: np.ndarray,
    sk_streak: np.ndarray,
    params: Flows,
    person: np.ndarray | None = None,
    rng: Draws,
) -> YearFlows:
    """Decide who leaves at this year's close (see the module docstring for the order).

    ``person`` are the stable person ids the voluntary-exit uniforms are keyed by (default:
    positions); ``rng`` is the year's ``flows`` stream. With ``params.voluntary_timing``
    ``before_ratings`` nobody leaves voluntarily at the close (they left when the year
    opened, :func:`voluntary_leavers`).
    """
    n = len(unit)
    ids = np.arange(n) if person is None else person
    rate = np.where(pppk, params.voluntary_exit_rate_pppk, params.voluntary_exit_rate_pns)
    if params.voluntary_timing == "with_close":
        voluntary = voluntary_leavers(rate, model=params.voluntary_exit_model, person=ids, rng=rng)
    else:
        voluntary = np.zeros(n, dtype=bool)
    u_unit = None
    if params.forced_separation_rounding == "floor_plus_random_units":
        # One uniform per unit code, in slot 2 of the stream (people's uniforms are slot 0).
        u_unit = uniforms(rng, np.arange(int(unit.max()) + 1), first=2)
    forced = _bottom_of_units(
        unit,
        score,
        params.forced_separation_share,
        exempt=is_head,
        rounding=params.forced_separation_rounding,
        u_unit=u_unit,
    )
    checks = (
        forced,
        (params.sangat_kurang_years_to_separation > 0)
        & (sk_streak >= params.sangat_kurang_years_to_separation),
        pppk
        & (np.floor(tenure_years + 1) % params.pppk_contract_years == 0)
        & (predikat > PREDIKAT.index(params.pppk_renewal_min_predikat)),
        params.retirement & (age_years + 1 >= retirement_age()[job_type]),
        voluntary,
    )
    reason = np.full(n, -1, dtype=np.int8)
    for code in range(len(checks) - 1, -1, -1):  # the first reason wins
        reason[checks[code]] = code
    return YearFlows(reason)


def transfer_order(
    job_type: np.ndarray,
    leaving: np.ndarray,
    rate: float,
    *,
    person: np.ndarray | None = None,
    rng: Draws,
) -> tuple[np.ndarray, int]:
    """Permutation of posts moving staff between units; returns (order, movers).

    Each staying functional and pelaksana employee moves with probability ``rate``; the
    movers, in a random order, form one cycle: each takes the post of the next. So
    ``order[post]`` is the post whose occupant moves to ``post``. Both draws are keyed by
    ``person`` (default: positions): one more or one fewer mover changes the posts of two
    people only.
    """
    n = len(job_type)
    u = uniforms(rng, np.arange(n) if person is None else person, 2)
    stay = np.ones(n, dtype=bool)
    stay[leaving] = False
    movers = np.flatnonzero(np.isin(job_type, STAFF) & stay & (u[:, 0] < rate))
    order = np.arange(n)
    if len(movers) < 2:
        return order, 0
    cycle = movers[np.argsort(u[movers, 1], kind="stable")]
    order[np.roll(cycle, -1)] = cycle
    return order, len(movers)


@dataclass(frozen=True, slots=True)
class Hires:
    """Person-level attributes of new hires (arrays of length ``k``)."""

    competence: np.ndarray
    motivation: np.ndarray
    openness: np.ndarray
    conduct: np.ndarray
    female: np.ndarray
    age_years: np.ndarray
    tenure_years: np.ndarray


def hire(
    posts: np.ndarray,
    params: Flows,
    latent: WorkforceParams,
    *,
    female_share: float,
    rng: Draws,
) -> Hires:
    """Fill the vacancies in ``posts``, each with the best of its applicants.

    A vacancy has ``round(1 / selection_ratio)`` applicants; the best scorer is hired.
    Applicants' competence is ``applicant_competence_mean + sd z``; with
    ``applicant_competence_sd`` given (``sd``), the score is ``v z + sqrt(1 - v^2) e`` on
    the standardised ``z`` (Scullen et al. 2005, equation 1), else ``sd`` is the
    workforce's and the score is ``v competence + sqrt(1 - v^2) e``.
    ``rng`` is the month's ``hiring`` stream, keyed by post: applicant *j* of a vacancy draws
    slots ``2j`` (competence) and ``2j + 1`` (selection-score error), and the hire's own
    attributes come from slots of their own, so a vacancy's hire does not depend on how many
    other vacancies there are or on the size of the pool.
    """
    posts = np.asarray(posts)
    k = len(posts)
    applicants = max(1, round(1.0 / params.selection_ratio))
    v = params.selection_validity
    draws = normals(rng, posts, 2 * applicants).reshape(k, applicants, 2)
    sd = params.applicant_competence_sd
    if sd is None:
        pool = params.applicant_competence_mean + latent.competence.sd * draws[:, :, 0]
        score = v * pool + np.sqrt(1.0 - v * v) * draws[:, :, 1]
    else:
        pool = params.applicant_competence_mean + sd * draws[:, :, 0]
        score = v * draws[:, :, 0] + np.sqrt(1.0 - v * v) * draws[:, :, 1]
    competence = pool[np.arange(k), np.argmax(score, axis=1)]
    z = normals(rng, posts, 4, first=_HIRE_SLOT).T
    u = uniforms(rng, posts, first=_HIRE_SLOT + 4)
    rho = latent.conduct_motivation_corr
    age = np.maximum(params.entry_age_mean + params.entry_age_sd * z[3], 18.0)
    return Hires(
        competence=competence,
        motivation=latent.motivation.mean + latent.motivation.sd * z[0],
        openness=latent.openness.mean + latent.openness.sd * z[1],
        conduct=rho * z[0] + np.sqrt(1.0 - rho**2) * z[2],
        female=u < female_share,
        age_years=age,
        tenure_years=np.zeros(k),
    )
