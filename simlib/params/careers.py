"""Careers rule records: promotion into positions, kenaikan pangkat, tournament pay.

The parameter records of the careers rules (their behaviour is in
:mod:`simlib.world.careers`, pure array functions) and :class:`CareersLever`, the
``careers:`` field of a policy (:class:`simlib.params.policy.Policy`): which rule fills
the vacancies of the position ladder at each year's close, and whether a rank-order
tournament shares the performance part of tukin. ``careers: null`` (the default) is
today's rule in the engine: a leaver's post goes to an entrant, nobody is promoted.

Here, in the records layer, so that the policy record can hold them without importing
model code.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from simlib.core.errors import ConfigError
from simlib.params.config import Record, require_documented, unwrap, validate

__all__ = [
    "Careers",
    "CareersLever",
    "Committee",
    "KenaikanPangkat",
    "Promotion",
    "TalentPool",
    "Tournament",
    "load_careers",
]

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Years = Annotated[float, Field(ge=0.0, le=45.0)]
SD = Annotated[float, Field(ge=0.0, le=10.0)]
Cutoff = Annotated[float, Field(ge=-5.0, le=5.0)]


def _increasing_pair(value: tuple[float, ...], what: str) -> tuple[float, ...]:
    if len(value) != 2 or not value[0] < value[1]:
        raise ValueError(f"allowed: two increasing {what} cutoffs [lower, upper]")
    return value


class TalentPool(Record):
    """The 9-box talent pool rule: kinerja x assessed potensi (PermenPANRB 3/2020)."""

    #: SD of the potensi assessment around true potensi (SD units of true potensi).
    potensi_noise_sd: SD
    #: Rating z-scores splitting kinerja into di bawah | sesuai | di atas ekspektasi.
    kinerja_cutoffs: tuple[Cutoff, ...]
    #: Assessed-potensi values splitting potensial into rendah | menengah | tinggi.
    potensi_cutoffs: tuple[Cutoff, ...]
    #: Lowest box promoted (7: the succession pool of boxes 7-9).
    min_box: Annotated[int, Field(ge=1, le=9)]
    #: Weight of kinerja in the talent score within a box (Kepka BKN 411/2025: 0.5).
    kinerja_weight: Share
    #: When the pool has too few: leave posts vacant, or fill from lower boxes.
    outside_pool: Literal["leave_vacant", "lower_boxes"]

    @field_validator("kinerja_cutoffs", "potensi_cutoffs")
    @classmethod
    def _two_increasing(cls, value: tuple[float, ...], info: ValidationInfo) -> tuple:
        return _increasing_pair(value, info.field_name.split("_")[0])


class Committee(Record):
    """A promotion committee choosing from a shortlist, with a quota for women."""

    #: Shortlist depth: the best-rated ``k`` candidates per vacancy are interviewed.
    shortlist_per_vacancy: Annotated[int, Field(ge=1, le=20)]
    #: SD of the committee's view of competence around true competence (SD units).
    judgment_noise_sd: SD
    #: Least share of each round's promotions (per level) that goes to women.
    women_min_share: Share


class Promotion(Record):
    """How vacancies in positions are filled (the promotion rule is the policy lever)."""

    rule: Literal["rating", "seniority", "talent_pool", "committee"]
    #: Least years in the current level before promotion (e.g. 4 as pelaksana, PP 17/2020).
    min_years_in_level: Years
    talent_pool: TalentPool
    committee: Committee


class KenaikanPangkat(Record):
    """Rank promotion (kenaikan pangkat) reguler and pilihan (PP 99/2000; Peraturan BKN)."""

    #: Least years in the current pangkat for KP reguler (PP 99/2000: 4).
    reguler_min_years: Years
    #: Consecutive latest years with predikat at least Baik (PP 99/2000: 2).
    baik_years: Annotated[int, Field(ge=0, le=10)]
    #: Highest golongan by KP reguler: the education cap (Peraturan BKN 2/2025), the
    #: direct superior's (PP 99/2000), or none.
    cap: Literal["education", "superior", "none"]
    #: KP pilihan for holders of structural and functional posts.
    pilihan: bool
    #: Structural post, already at the post's lowest pangkat: years in pangkat (4).
    pilihan_years_at_lowest: Years
    #: Structural post, one step below its lowest pangkat: years in pangkat (1) ...
    pilihan_years_one_below: Years
    #: ... and years in the post (1).
    pilihan_years_in_post: Years
    #: Functional post: years in pangkat (2), plus the step's angka kredit.
    fungsional_min_years: Years
    #: Angka kredit earned a year by predikat (best first), as a share of the jenjang's
    #: annual coefficient (PermenPANRB 1/2023 per BKN slides: 1.5, 1, 0.75, 0.5, 0.25).
    credit_multipliers: Annotated[
        tuple[Annotated[float, Field(ge=0.0, le=5.0)], ...], Field(min_length=5, max_length=5)
    ]

    @field_validator("credit_multipliers")
    @classmethod
    def _credit_not_rising(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(b > a for a, b in itertools.pairwise(value)):
            raise ValueError("allowed: five multipliers that do not rise from Sangat Baik down")
        return value


class Tournament(Record):
    """Rank-order tournament pay (Lazear & Rosen 1981) within units or grades, one budget."""

    #: Share of the performance-pay budget paid as tournament prizes (0: off).
    share_of_budget: Share
    #: Rank within the unit (``unit``) or within the grade (``grade``).
    group_by: Literal["unit", "grade"]
    #: Shares of each group's members in each tier, best first; they sum to 1.
    tiers: Annotated[tuple[Share, ...], Field(min_length=1, max_length=10)]
    #: Relative prize per member of each tier, best first.
    weights: Annotated[tuple[Annotated[float, Field(ge=0.0, le=100.0)], ...], Field(min_length=1)]

    @field_validator("tiers")
    @classmethod
    def _sum_to_one(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if abs(sum(value) - 1.0) > 1e-9:
            raise ValueError(f"shares sum to {sum(value):g}; allowed: shares summing to 1")
        return value

    @field_validator("weights")
    @classmethod
    def _one_per_tier(cls, value: tuple[float, ...], info: ValidationInfo) -> tuple:
        tiers = info.data.get("tiers")
        if tiers is not None and len(value) != len(tiers):
            raise ValueError(f"{len(value)} weights for {len(tiers)} tiers; allowed: one per tier")
        if not any(value):
            raise ValueError("every weight is 0; allowed: at least one tier with a prize")
        if any(b > a for a, b in itertools.pairwise(value)):
            raise ValueError("allowed: weights that do not rise from the best tier down")
        return value


class Careers(Record):
    """Careers rules: promotion into positions, kenaikan pangkat, tournament pay."""

    promotion: Promotion
    kenaikan_pangkat: KenaikanPangkat
    tournament: Tournament


def load_careers(raw: dict[str, Any], *, file: str | None = None, prefix: str = "") -> Careers:
    """Validate a documented ``careers`` tree (``{value, unit, source}`` leaves) into a record.

    Raises
    ------
    ConfigError
        One line naming the file, the field path, the bad value and what is allowed.
    """
    try:
        plain, _docs, bare = unwrap(raw, prefix=prefix)
    except ConfigError as exc:
        raise exc.in_file(file) if file else exc from None
    record = validate(Careers, plain, file=file)
    require_documented(plain, bare, file=file, prefix=prefix)
    return record


PostCount = Annotated[int, Field(ge=1, le=1_000_000)]


class CareersLever(Record):
    """The ``careers:`` field of a policy: promotion, kenaikan pangkat, tournament pay.

    Each part is optional (``None``: not in the policy). At each year's close, after the
    flows, vacancies are filled top down by ``promotion`` from the level below (reading the
    year's hasil-kerja ratings, the ones pay reads); what is left at the bottom goes to the
    year's entrants. ``ladder`` gives the posts per level, bottom first, taken from the
    agency's posts in order of kelas jabatan (highest kelas at the top); empty: the ladder
    of job types (pelaksana and fungsional, pengawas, administrator, JPT). Then
    ``kenaikan_pangkat`` moves the PNS whose years in pangkat and Baik years meet the rule
    one golongan step up (gaji pokok follows the golongan). The tournament, when
    ``tournament.share_of_budget > 0``, pays that share of each month's performance part
    of tukin as rank prizes within each unit or grade, beside the tukin tiers, from the
    same budget.
    """

    promotion: Promotion | None = None
    kenaikan_pangkat: KenaikanPangkat | None = None
    tournament: Tournament | None = None
    #: Posts per level, bottom first (empty: from job types).
    ladder: Annotated[tuple[PostCount, ...], Field(max_length=40)] = ()
    #: Bias of the promotion reading of ratings for men, in SD of the ratings (Martell et
    #: al. 1996; 0: none). Rater biases of the appraisal itself carry up on their own.
    rating_bias_men_sd: Annotated[float, Field(ge=-5.0, le=5.0)] = 0.0
