"""Careers: vacancies, promotion rules, kenaikan pangkat, talent boxes and tournament prizes.

Pure, vectorised functions over people held as numpy arrays (one entry per person or post
slot), and the parameter records of each rule. Nothing here reads a file, prints or keeps
state: the engine passes arrays in and gets arrays back; the regulation tables
(``data/tables/position_levels.csv``, ``golongan_ladder.csv``, ``education_caps.csv``,
``kenaikan_pangkat.csv``, ``talent_boxes.csv``, ``angka_kredit_kp.csv``) reach these
functions as arrays through :mod:`simlib.params.tables`.

Positions
    A ladder of levels ``0 .. L-1``, bottom first (pelaksana -> pengawas -> administrator
    -> JPT pratama -> JPT madya; or a functional ladder ahli pertama .. ahli utama; or
    the eight levels of Martell, Lane & Emrich 1996). ``level[i] = -1`` is an empty slot
    (someone left). ``posts[k]`` is the number of posts at level ``k``;
    :func:`vacancies` is ``posts - occupied``.

Promotion into positions (:func:`fill_top_down`)
    Vacancies are filled top down: level ``L-1`` takes candidates from level ``L-2``, then
    level ``L-2`` fills its own vacancies (old and just opened) from ``L-3``, and so on;
    what is left at level 0 goes to entrants (:func:`entrant_slots`, :func:`entrants`).
    Nobody moves more than one level a round. Who is chosen is the policy lever
    (:class:`Promotion`):

    * ``rating``: the best-rated eligible candidates (merit by appraisal);
    * ``seniority``: the longest in the level (ties: rating, then a keyed draw);
    * ``talent_pool``: the 9-box of kinerja x potensi (PermenPANRB 3/2020 as amended by
      20/2025): potensi is *assessed* with its own noise, ``assessed = potensi +
      potensi_noise_sd e``; only boxes ``>= min_box`` (the succession pool, boxes 7-9)
      are promoted, best box first, then by talent score ``w z(rating) + (1 - w)
      assessed`` (Kepka BKN 411/2025 weighs kinerja and potensial 50/50);
    * ``committee``: a shortlist of the ``shortlist_per_vacancy x vacancies`` best-rated,
      from which a committee chooses by its own view of competence, ``competence +
      judgment_noise_sd e``, with at least ``women_min_share`` of each round's
      promotions reserved for women (taken from a women's shortlist of the same depth).

    Every rule first requires ``years_in_level >= min_years_in_level`` and the caller's
    ``eligible`` mask (education, predikat, age: the position table's conditions).

Kenaikan pangkat (:func:`kp_reguler_eligible`, :func:`kp_pilihan_eligible`,
:func:`kp_fungsional_eligible`, :func:`kenaikan_pangkat`)
    Golongan are steps ``0 .. 16`` (I/a .. IV/e). KP reguler: ``years_in_pangkat >=
    4`` and predikat at least Baik in each of the last ``baik_years`` (2) years, below a
    cap (the education cap since Peraturan BKN 2/2025; the direct superior's pangkat under
    PP 99/2000). KP pilihan for a structural post: 4 years at the post's lowest pangkat,
    or 1 year in pangkat and 1 in the post one step below it, up to the post's highest;
    for a functional post: 2 years plus the angka kredit of the step.
    :func:`pangkat_at_entry` places the people of a workforce that knows only golongan
    groups I-IV on the 17 steps (from the education caps table and years of service),
    :func:`kp_routes` says who is under which rule, :func:`kp_round` who rises this
    round, :func:`angka_kredit_earned` the year's credit of a JF holder.

Tournament pay (:func:`tournament_prizes`)
    Lazear & Rosen (1981) rank-order prizes: within each unit (or grade), members are
    ranked by rating and fall into tiers (``tiers``: shares of members, best first); a
    member's prize is proportional to the tier's ``weights`` and the prizes of everyone
    sum exactly to the budget (the same budget that would otherwise pay tukin's
    performance part).

Randomness
    Every draw is keyed by the person it belongs to and the year (``rng`` is a
    :class:`simlib.core.streams.Keyed` stream or a ``numpy`` Generator, see
    :mod:`simlib.core.streams`): draw ``purpose`` of year ``y`` is slot ``y *
    SLOTS_PER_YEAR + purpose``. One more candidate adds that candidate's draws and
    changes nobody else's.

Outcomes by level
    :func:`share_by_level` (e.g. of women), :func:`mean_by_level` (true competence),
    :func:`promotion_accuracy` (correlation between being promoted and true competence
    among the candidates), :func:`group_gap` (pay or predikat gaps), and the years waited
    by the promoted (:func:`years_waited`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field

from simlib.core.streams import Draws, normals, uniforms
from simlib.params.careers import (
    Careers,
    Committee,
    KenaikanPangkat,
    Promotion,
    TalentPool,
    Tournament,
    load_careers,
)

__all__ = [
    "GOLONGAN_STEPS",
    "KP_ROUTES",
    "PURPOSES",
    "SLOTS_PER_YEAR",
    "Careers",
    "Committee",
    "Filled",
    "KenaikanPangkat",
    "People",
    "Promotion",
    "TalentPool",
    "Tournament",
    "advance_years",
    "angka_kredit_earned",
    "assess_potensi",
    "bias_for_variance_share",
    "entrant_slots",
    "entrants",
    "fill_top_down",
    "group_gap",
    "kenaikan_pangkat",
    "kp_cap",
    "kp_fungsional_eligible",
    "kp_pilihan_eligible",
    "kp_reguler_eligible",
    "kp_round",
    "kp_routes",
    "load_careers",
    "mean_by_level",
    "nine_box",
    "pangkat_at_entry",
    "predikat_streak",
    "promotion_accuracy",
    "random_leavers",
    "share_by_level",
    "three_levels",
    "tournament_prizes",
    "vacancies",
    "years_waited",
]

#: Golongan steps I/a .. IV/e (``data/tables/golongan_ladder.csv`` lists their names).
GOLONGAN_STEPS = 17
#: Keyed-stream slots per year; draw ``purpose`` of year ``y`` is slot ``y * 8 + purpose``.
SLOTS_PER_YEAR = 8
#: What each slot of a year is drawn for (append only: positions are part of the draws).
PURPOSES = ("tiebreak", "potensi", "committee", "leaving", "entrant_sex", "entrant_competence")
_TIEBREAK, _POTENSI, _COMMITTEE, _LEAVING, _SEX, _COMPETENCE = range(len(PURPOSES))

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Years = Annotated[float, Field(ge=0.0, le=45.0)]
SD = Annotated[float, Field(ge=0.0, le=10.0)]
Cutoff = Annotated[float, Field(ge=-5.0, le=5.0)]


def _slot(year: int, purpose: int) -> int:
    if year < 0:
        raise ValueError("year must be a non-negative whole number")
    return year * SLOTS_PER_YEAR + purpose


# --- people and draws -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class People:
    """What the promotion rules read, one entry per person or post slot.

    Parameters
    ----------
    ids
        Person ids (whole numbers, unique): the keys of the person's draws.
    rating
        The appraisal score the rules read (higher is better).
    years_in_level
        Years in the current level (for seniority and ``min_years_in_level``).
    female
        True for women.
    competence
        True competence (SD units); the committee's view and the outcomes read it.
    potensi
        True potensi (SD units); the talent pool assesses it with noise. ``None``: use
        ``competence``.
    kinerja
        Kinerja level 0..2 (di bawah, sesuai, di atas ekspektasi), e.g. from predikat.
        ``None``: from ``rating`` z-scores and the talent pool's cutoffs.
    eligible
        The caller's other conditions (education, predikat, age); ``None``: everyone.
    """

    ids: np.ndarray
    rating: np.ndarray
    years_in_level: np.ndarray
    female: np.ndarray
    competence: np.ndarray
    potensi: np.ndarray | None = None
    kinerja: np.ndarray | None = None
    eligible: np.ndarray | None = None


def bias_for_variance_share(share: float, *, sd: float = 1.0, female_share: float = 0.5) -> float:
    """Rating bias for men that makes sex explain ``share`` of the rating variance.

    With a share ``p`` of women and a within-sex SD ``sd``, sex explains
    ``p (1 - p) d^2 / (sd^2 + p (1 - p) d^2)`` of the variance of ratings shifted by ``d``
    for men, so ``d = sd * sqrt(share / ((1 - share) p (1 - p)))`` (Martell et al. 1996:
    1 % -> 0.201 SD, 5 % -> 0.459 SD at ``p = 0.5``).
    """
    if not 0.0 <= share < 1.0 or not 0.0 < female_share < 1.0 or sd < 0:
        raise ValueError("share in [0, 1), female_share in (0, 1), sd >= 0")
    return sd * math.sqrt(share / ((1.0 - share) * female_share * (1.0 - female_share)))


def entrants(
    count: int, *, first_id: int, female_share: float, year: int, rng: Draws
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids, sex and competence ``N(0, 1)`` of ``count`` entrants at the bottom level.

    Exactly ``round(female_share * count)`` are women (chosen by a keyed draw per entrant),
    as Martell et al. (1996) hire half women.
    """
    ids = np.arange(first_id, first_id + count, dtype=np.int64)
    u = uniforms(rng, ids, first=_slot(year, _SEX))
    women = round(female_share * count)
    female = np.zeros(count, dtype=bool)
    female[np.argsort(u, kind="stable")[:women]] = True
    competence = normals(rng, ids, first=_slot(year, _COMPETENCE))
    return ids, female, competence


def random_leavers(
    level: np.ndarray, share: float, *, ids: np.ndarray, year: int, rng: Draws, exact: bool = True
) -> np.ndarray:
    """Who leaves at random this year: a mask over people.

    ``exact``: exactly ``share * occupied`` of each level, rounded half to even (those
    with the lowest keyed uniforms; Martell et al. 1996); otherwise each person leaves
    with probability ``share``.
    """
    u = uniforms(rng, ids, first=_slot(year, _LEAVING))
    here = level >= 0
    if not exact:
        return here & (u < share)
    order = np.lexsort((u, level))  # by level, then by the draw
    sorted_level = level[order]
    first = np.searchsorted(sorted_level, sorted_level)  # where each entry's level starts
    count = np.searchsorted(sorted_level, sorted_level, side="right") - first
    position = np.arange(len(level)) - first
    out = np.zeros(len(level), dtype=bool)
    out[order] = (sorted_level >= 0) & (position < np.rint(share * count))
    return out


def assess_potensi(potensi: np.ndarray, noise_sd: float, *, ids: np.ndarray, year: int, rng: Draws):
    """Assessed potensi: ``potensi + noise_sd e`` with ``e`` keyed by person and year."""
    if noise_sd == 0:
        return np.asarray(potensi, dtype=np.float64).copy()
    return potensi + noise_sd * normals(rng, ids, first=_slot(year, _POTENSI))


# --- positions --------------------------------------------------------------------------


def vacancies(level: np.ndarray, posts: np.ndarray) -> np.ndarray:
    """Vacant posts per level: ``posts - occupied`` (never below 0)."""
    posts = np.asarray(posts, dtype=np.int64)
    occupied = np.bincount(level[level >= 0], minlength=len(posts))[: len(posts)]
    return np.maximum(posts - occupied, 0)


def entrant_slots(level: np.ndarray, posts: np.ndarray) -> np.ndarray:
    """Indices of the empty slots (``level == -1``) that take this round's entrants.

    As many as the bottom level's vacancies (fewer if there are fewer empty slots), the
    lowest indices first.
    """
    need = int(vacancies(level, posts)[0])
    return np.flatnonzero(level < 0)[:need]


@dataclass(frozen=True, slots=True)
class Filled:
    """The result of a promotion round.

    ``level``: each person's level after the round; ``promoted``: who moved up one level;
    ``candidates``: who could have been chosen for some level (for
    :func:`promotion_accuracy`); ``vacant``: posts left empty per level (level 0's go to
    entrants).
    """

    level: np.ndarray
    promoted: np.ndarray
    candidates: np.ndarray
    vacant: np.ndarray


def fill_top_down(
    level: np.ndarray,
    posts: np.ndarray,
    people: People,
    *,
    rule: Promotion,
    year: int,
    rng: Draws,
    boxes: np.ndarray | None = None,
) -> Filled:
    """Fill vacancies top down by ``rule``; everyone moves at most one level.

    Parameters
    ----------
    level
        Level per person (``-1``: empty slot); not changed.
    posts
        Posts per level, bottom first.
    people
        What the rules read (:class:`People`), aligned with ``level``.
    rule
        The promotion rule.
    year
        Year index (keys the draws).
    rng
        Keyed stream or Generator (:mod:`simlib.core.streams`).
    boxes
        The 9-box numbers ``boxes[kinerja, potensial]`` (``tables.talent_boxes()``);
        required by the ``talent_pool`` rule.
    """
    level = np.array(level, dtype=np.int64)
    posts = np.asarray(posts, dtype=np.int64)
    if rule.rule == "talent_pool" and boxes is None:
        raise ValueError("the talent_pool rule needs the 9-box table (boxes)")
    n = len(level)
    ok = people.years_in_level >= rule.min_years_in_level
    if people.eligible is not None:
        ok = ok & people.eligible
    tiebreak = uniforms(rng, people.ids, first=_slot(year, _TIEBREAK))
    view = _committee_view(people, rule, year, rng) if rule.rule == "committee" else None
    box = talent = None
    if rule.rule == "talent_pool":
        box, talent = _talent(people, rule.talent_pool, boxes, year, rng, level >= 0)
    promoted = np.zeros(n, dtype=bool)
    candidates = np.zeros(n, dtype=bool)
    occupied = np.bincount(level[level >= 0], minlength=len(posts))[: len(posts)]
    for k in range(len(posts) - 1, 0, -1):
        need = int(posts[k] - occupied[k])
        if need <= 0:
            continue
        cand = np.flatnonzero((level == k - 1) & ok)
        candidates[cand] = True
        if rule.rule == "rating":
            chosen = _best(cand, need, tiebreak, people.rating)
        elif rule.rule == "seniority":
            chosen = _best(cand, need, tiebreak, people.rating, people.years_in_level)
        elif rule.rule == "talent_pool":
            chosen = _from_pool(cand, need, tiebreak, box, talent, rule.talent_pool)
        else:
            chosen = _by_committee(cand, need, tiebreak, people, view, rule.committee)
        level[chosen] = k
        promoted[chosen] = True
        occupied[k] += len(chosen)
        occupied[k - 1] -= len(chosen)
    return Filled(level, promoted, candidates, np.maximum(posts - occupied, 0))


def _best(cand: np.ndarray, need: int, tiebreak: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """The ``need`` candidates first by ``keys`` (last key most significant, descending)."""
    if need >= len(cand):
        return cand
    order = np.lexsort((tiebreak[cand], *(-k[cand] for k in keys)))
    return cand[order[:need]]


def _zscore(x: np.ndarray, here: np.ndarray) -> np.ndarray:
    """``x`` standardised by the mean and SD of the occupied slots ``here``."""
    if not here.any():
        return np.zeros_like(x, dtype=np.float64)
    sd = x[here].std()
    return (x - x[here].mean()) / sd if sd > 0 else np.zeros_like(x, dtype=np.float64)


def _talent(
    people: People, rule: TalentPool, boxes: np.ndarray, year: int, rng: Draws, here: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Box and talent score (kinerja from ``people.kinerja`` or the rating's z among ``here``)."""
    z = _zscore(np.asarray(people.rating, dtype=np.float64), here)
    kinerja = people.kinerja
    if kinerja is None:
        kinerja = three_levels(z, rule.kinerja_cutoffs)
    true = people.potensi if people.potensi is not None else people.competence
    assessed = assess_potensi(true, rule.potensi_noise_sd, ids=people.ids, year=year, rng=rng)
    box = nine_box(kinerja, three_levels(assessed, rule.potensi_cutoffs), boxes)
    talent = rule.kinerja_weight * z + (1.0 - rule.kinerja_weight) * assessed
    return box, talent


def _from_pool(cand, need, tiebreak, box, talent, rule: TalentPool) -> np.ndarray:
    pool = cand[box[cand] >= rule.min_box]
    chosen = _best(pool, need, tiebreak, talent, box)
    if len(chosen) < need and rule.outside_pool == "lower_boxes":
        rest = cand[box[cand] < rule.min_box]
        chosen = np.concatenate([chosen, _best(rest, need - len(chosen), tiebreak, talent, box)])
    return chosen


def _committee_view(people: People, rule: Promotion, year: int, rng: Draws) -> np.ndarray:
    noise = rule.committee.judgment_noise_sd
    if noise == 0:
        return np.asarray(people.competence, dtype=np.float64)
    return people.competence + noise * normals(rng, people.ids, first=_slot(year, _COMMITTEE))


def _by_committee(cand, need, tiebreak, people: People, view, rule: Committee) -> np.ndarray:
    depth = rule.shortlist_per_vacancy
    women_seats = math.ceil(rule.women_min_share * need - 1e-9)
    chosen = np.empty(0, dtype=np.int64)
    if women_seats:
        women = cand[people.female[cand]]
        short = _best(women, depth * women_seats, tiebreak, people.rating)
        chosen = _best(short, women_seats, tiebreak, view)
    short = _best(cand, depth * need, tiebreak, people.rating)
    rest = short[~np.isin(short, chosen)]
    return np.concatenate([chosen, _best(rest, need - len(chosen), tiebreak, view)])


def advance_years(years: np.ndarray, reset: np.ndarray, *, step: float = 1.0) -> np.ndarray:
    """Years in level (or pangkat) a step later: ``+ step``, and 0 for those who moved."""
    return np.where(reset, 0.0, years + step)


# --- talent boxes -----------------------------------------------------------------------


def three_levels(x: np.ndarray, cutoffs: tuple[float, ...]) -> np.ndarray:
    """0 below ``cutoffs[0]``, 1 up to ``cutoffs[1]``, 2 from ``cutoffs[1]`` (int8)."""
    return np.digitize(x, cutoffs).astype(np.int8)


def nine_box(kinerja: np.ndarray, potensial: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Box number 1..9 of each person: ``boxes[kinerja, potensial]`` (levels 0..2)."""
    return np.asarray(boxes)[kinerja, potensial]


# --- kenaikan pangkat -------------------------------------------------------------------


def predikat_streak(previous: np.ndarray, predikat: np.ndarray, *, worst_ok: int = 1):
    """Consecutive latest years with predikat code ``<= worst_ok`` (1 = Baik; codes best first)."""
    return np.where(predikat <= worst_ok, previous + 1, 0)


def kp_cap(
    rule: KenaikanPangkat, *, education_cap: np.ndarray, superior: np.ndarray | None = None
) -> np.ndarray:
    """Highest golongan step each person may reach by KP reguler under ``rule.cap``.

    ``education``: the education cap (``tables.education_caps()``; Peraturan BKN 2/2025);
    ``superior``: also at most the direct superior's golongan (PP 99/2000); ``none``: IV/e.
    """
    if rule.cap == "education":
        return education_cap
    if rule.cap == "superior":
        if superior is None:
            raise ValueError("the 'superior' cap needs the direct superior's golongan")
        return np.minimum(superior, education_cap)
    return np.full_like(education_cap, GOLONGAN_STEPS - 1)


def kp_reguler_eligible(
    golongan: np.ndarray,
    years_in_pangkat: np.ndarray,
    baik_years: np.ndarray,
    cap: np.ndarray,
    *,
    rule: KenaikanPangkat,
) -> np.ndarray:
    """KP reguler: years in pangkat, Baik in the latest years, and room below the cap."""
    return (
        (years_in_pangkat >= rule.reguler_min_years)
        & (baik_years >= rule.baik_years)
        & (golongan < cap)
    )


def kp_pilihan_eligible(
    golongan: np.ndarray,
    years_in_pangkat: np.ndarray,
    years_in_post: np.ndarray,
    baik_years: np.ndarray,
    post_min: np.ndarray,
    post_max: np.ndarray,
    *,
    rule: KenaikanPangkat,
) -> np.ndarray:
    """KP pilihan in a structural post (``post_min``/``post_max``: the post's pangkat range).

    At or above the post's lowest pangkat: ``pilihan_years_at_lowest`` in pangkat; one
    step below it: ``pilihan_years_one_below`` in pangkat and ``pilihan_years_in_post`` in
    the post. Never above the post's highest pangkat. ``post_min < 0``: no structural post.
    """
    if not rule.pilihan:
        return np.zeros(len(golongan), dtype=bool)
    at = (golongan >= post_min) & (years_in_pangkat >= rule.pilihan_years_at_lowest)
    below = (
        (golongan == post_min - 1)
        & (years_in_pangkat >= rule.pilihan_years_one_below)
        & (years_in_post >= rule.pilihan_years_in_post)
    )
    return (post_min >= 0) & (at | below) & (baik_years >= rule.baik_years) & (golongan < post_max)


def kp_fungsional_eligible(
    golongan: np.ndarray,
    years_in_pangkat: np.ndarray,
    baik_years: np.ndarray,
    angka_kredit: np.ndarray,
    credit_needed: np.ndarray,
    jenjang_max: np.ndarray,
    *,
    rule: KenaikanPangkat,
) -> np.ndarray:
    """KP pilihan in a functional post: years in pangkat plus the step's angka kredit.

    ``credit_needed[g]``: credit for the step from golongan ``g`` (NaN where none; see
    ``tables.angka_kredit_kp()``). ``jenjang_max``: the jenjang's highest golongan
    (``-1``: not in a functional post).
    """
    if not rule.pilihan:
        return np.zeros(len(golongan), dtype=bool)
    need = np.asarray(credit_needed, dtype=np.float64)[np.clip(golongan, 0, GOLONGAN_STEPS - 1)]
    enough = np.nan_to_num(angka_kredit, nan=0.0) >= np.where(np.isnan(need), np.inf, need)
    return (
        (jenjang_max >= 0)
        & (golongan < jenjang_max)
        & (years_in_pangkat >= rule.fungsional_min_years)
        & (baik_years >= rule.baik_years)
        & enough
    )


#: Who is under which KP rule: KP reguler, KP pilihan of a structural post, of a JF post.
KP_ROUTES = ("reguler", "struktural", "fungsional")
_REGULER, _STRUKTURAL, _FUNGSIONAL = range(len(KP_ROUTES))


def pangkat_at_entry(
    group: np.ndarray,
    tenure_years: np.ndarray,
    *,
    group_steps: np.ndarray,
    education_caps: dict[str, tuple[int, int]],
    period_years: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Golongan step, years in pangkat and KP reguler cap of people known by group only.

    A workforce gives golongan groups I-IV (``group``: 0-3); KP needs the 17 steps. Each
    person is given the education that enters their group lowest (``education_caps``:
    start and cap steps by education; SD for I, SLTA/D1 for II, S1/D4 for III) or, for a
    group no education enters (IV), the education with the highest cap (S3), and is placed
    as if they had risen one step every ``period_years`` of service from its start,
    within their group (``group_steps[g]``: first and last step of group ``g``); the years
    since the last such rise are their years in pangkat. Returns ``(step, years, cap)``.
    """
    group = np.asarray(group, dtype=np.int64)
    tenure = np.asarray(tenure_years, dtype=np.float64)
    caps = list(education_caps.values())
    start = np.empty(len(group_steps), dtype=np.int64)
    cap = np.empty(len(group_steps), dtype=np.int64)
    for g, (first, last) in enumerate(group_steps):
        inside = [c for c in caps if first <= c[0] <= last]
        start[g], cap[g] = min(inside) if inside else max(caps, key=lambda c: (c[1], c[0]))
    rises = np.floor(tenure / period_years).astype(np.int64)
    step = np.clip(start[group] + rises, group_steps[group, 0], group_steps[group, 1])
    years = np.clip(tenure - period_years * np.maximum(step - start[group], 0), 0.0, tenure)
    return step, years, cap[group]


def angka_kredit_earned(
    predikat: np.ndarray, coefficient: np.ndarray, *, rule: KenaikanPangkat
) -> np.ndarray:
    """A year's angka kredit: the jenjang's coefficient times the predikat's multiplier."""
    multiplier = np.asarray(rule.credit_multipliers)[predikat]
    return np.asarray(coefficient, dtype=np.float64) * multiplier


def kp_routes(
    structural: np.ndarray, functional: np.ndarray, pns: np.ndarray, *, rule: KenaikanPangkat
) -> np.ndarray:
    """Each person's KP rule (:data:`KP_ROUTES` code; ``-1``: no pangkat, e.g. PPPK).

    With ``rule.pilihan``, holders of a structural post are under KP pilihan struktural
    and JF holders under the JF rule; everyone else (and everyone without ``pilihan``)
    under KP reguler.
    """
    route = np.where(pns, _REGULER, -1)
    if rule.pilihan:
        route = np.where(pns & structural, _STRUKTURAL, route)
        route = np.where(pns & functional & ~structural, _FUNGSIONAL, route)
    return route


def kp_round(
    golongan: np.ndarray,
    route: np.ndarray,
    *,
    years_in_pangkat: np.ndarray,
    baik_years: np.ndarray,
    cap: np.ndarray,
    years_in_post: np.ndarray,
    post_min: np.ndarray,
    post_max: np.ndarray,
    angka_kredit: np.ndarray,
    credit_needed: np.ndarray,
    rule: KenaikanPangkat,
) -> np.ndarray:
    """Who rises one golongan step this round, by their route (:func:`kp_routes`).

    KP reguler: :func:`kp_reguler_eligible` under ``cap``. KP pilihan struktural:
    :func:`kp_pilihan_eligible` in the post's range, or KP reguler where that allows (a
    holder more than one step below the post's range still rises by KP reguler). JF:
    :func:`kp_fungsional_eligible` (the credit of the step; the jenjang's own range is
    not applied: moves between jenjang are not modelled). ``-1``: nobody.
    """
    reguler = kp_reguler_eligible(golongan, years_in_pangkat, baik_years, cap, rule=rule)
    pilihan = kp_pilihan_eligible(
        golongan, years_in_pangkat, years_in_post, baik_years, post_min, post_max, rule=rule
    )
    top = np.full(len(golongan), GOLONGAN_STEPS - 1)
    fungsional = kp_fungsional_eligible(
        golongan, years_in_pangkat, baik_years, angka_kredit, credit_needed, top, rule=rule
    )
    return (
        ((route == _REGULER) & reguler)
        | ((route == _STRUKTURAL) & (pilihan | reguler))
        | ((route == _FUNGSIONAL) & fungsional)
    )


def kenaikan_pangkat(golongan: np.ndarray, eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One golongan step up for the eligible (never above IV/e); returns (golongan, promoted)."""
    promoted = eligible & (golongan < GOLONGAN_STEPS - 1)
    return golongan + promoted.astype(golongan.dtype), promoted


# --- tournament pay ---------------------------------------------------------------------


def tournament_prizes(
    score: np.ndarray,
    group: np.ndarray,
    budget_idr: float | np.ndarray,
    *,
    rule: Tournament,
    tiebreak: np.ndarray,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """Rank-order prizes (IDR) that spend exactly the budget (Lazear & Rosen 1981).

    Within each group (``group``: unit or grade code per person, ``-1``: not in the
    tournament) members are ranked by ``score`` (ties by ``tiebreak``, e.g. a keyed
    uniform); a member at rank ``r`` of ``n`` (0 best) falls in the first tier whose
    cumulative share exceeds ``r / n``. Prizes are proportional to the tier's weight
    (times the member's ``scale``, e.g. their own tukin entitlement, so that a unit's
    tournament moves pay between ranks and not between job classes) and sum to
    ``budget_idr``: one total shared by all groups (a number), or one budget per group
    code (an array indexed by group).
    """
    score = np.asarray(score, dtype=np.float64)
    group = np.asarray(group, dtype=np.int64)
    prize = np.zeros(len(score))
    inside = np.flatnonzero(group >= 0)
    if not inside.size:
        return prize
    g = group[inside]
    order = np.lexsort((tiebreak[inside], -score[inside], g))
    gs = g[order]
    first = np.searchsorted(gs, gs)  # first sorted position of each member's group
    size = np.searchsorted(gs, gs, side="right") - first
    rank_share = (np.arange(len(gs)) - first) / size
    edges = np.cumsum(rule.tiers)
    tier = np.minimum(np.searchsorted(edges, rank_share, side="right"), len(rule.tiers) - 1)
    weight = np.asarray(rule.weights, dtype=np.float64)[tier]
    if scale is not None:
        weight = weight * np.asarray(scale, dtype=np.float64)[inside[order]]
    if np.ndim(budget_idr) == 0:
        total = weight.sum()
        share = weight / total if total > 0 else np.zeros_like(weight)
        paid = float(budget_idr) * share
    else:
        budgets = np.asarray(budget_idr, dtype=np.float64)
        per_group = np.bincount(gs, weights=weight, minlength=len(budgets))
        denom = per_group[gs]
        paid = np.where(denom > 0, budgets[gs] * weight / np.where(denom > 0, denom, 1), 0.0)
    prize[inside[order]] = paid
    return prize


# --- outcomes ---------------------------------------------------------------------------


def share_by_level(level: np.ndarray, mask: np.ndarray, levels: int) -> np.ndarray:
    """Share of ``mask`` (e.g. women) among the occupants of each level (NaN if empty)."""
    here = level >= 0
    n = np.bincount(level[here], minlength=levels)[:levels].astype(np.float64)
    k = np.bincount(level[here], weights=mask[here].astype(np.float64), minlength=levels)[:levels]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, k / n, np.nan)


def mean_by_level(level: np.ndarray, values: np.ndarray, levels: int) -> np.ndarray:
    """Mean of ``values`` (e.g. true competence) at each level (NaN if empty)."""
    here = level >= 0
    n = np.bincount(level[here], minlength=levels)[:levels].astype(np.float64)
    s = np.bincount(level[here], weights=values[here], minlength=levels)[:levels]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / n, np.nan)


def promotion_accuracy(promoted: np.ndarray, competence: np.ndarray, candidates: np.ndarray):
    """Correlation of being promoted with true competence among the candidates (NaN if none)."""
    p = promoted[candidates].astype(np.float64)
    c = np.asarray(competence, dtype=np.float64)[candidates]
    if len(p) < 2 or p.std() == 0 or c.std() == 0:
        return math.nan
    return float(np.corrcoef(p, c)[0, 1])


def group_gap(values: np.ndarray, female: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean of ``values`` for men minus women (e.g. pay in IDR, predikat), over ``where``."""
    where = np.ones(len(values), dtype=bool) if where is None else where
    men, women = where & ~female, where & female
    if not men.any() or not women.any():
        return math.nan
    return float(values[men].mean() - values[women].mean())


def years_waited(years_in_level: np.ndarray, promoted: np.ndarray) -> float:
    """Mean years the promoted spent in their former level (NaN if nobody moved)."""
    return float(years_in_level[promoted].mean()) if promoted.any() else math.nan
