"""An agency's state during a run: its people as arrays, its budget, what it carries over.

:class:`AgencyState` is a plain record of everything that changes while an agency's
calendar runs: the workforce and the people's behavioural state (struct-of-arrays indexed
by post), rater traits, the budget year, the predikat pay is based on, this quarter's
effort and true performance, the sums that the quarter and the year close over, and the
training and campaign in progress. It holds no parameters (they come from the scenario and
the policy in force) and does no drawing: the step functions of :mod:`simlib.engine.steps`
take it with the parameters and the random streams and return it updated, with their
metrics.

:func:`initial_state` builds an agency's state at month 0 from its resolved inputs
(:class:`~simlib.params.resolve.AgencyInputs`): the workforce generated from its structure or
read from the CSV bytes the inputs carry, and the people's persistent draws. It opens no
file.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from simlib.behaviour.adoption import People, draw_people
from simlib.core.domain import JOB_TYPES, PREDIKAT
from simlib.core.streams import Streams
from simlib.engine.services import CampaignResult
from simlib.engine.training import TrainingState
from simlib.params.campaign import Campaign, campaign_months
from simlib.params.resolve import AgencyInputs
from simlib.params.scenario import AgencySpec, Scenario
from simlib.params.tables import gaji_pokok
from simlib.params.training import TrainingPlan
from simlib.rules.incentives import BudgetYear
from simlib.rules.raters import RaterTraits, draw_traits
from simlib.world.flows import hire
from simlib.world.workforce import Workforce, generate, read_org_csv

__all__ = [
    "BAIK",
    "YEAR_SUMS",
    "AgencyState",
    "CampaignState",
    "CareerState",
    "PangkatState",
    "build_workforce",
    "initial_frame",
    "initial_state",
]

BAIK = PREDIKAT.index("baik")
#: Per-employee sums over a budget year, reset when it opens.
YEAR_SUMS = (
    "entitled", "due", "paid", "hasil_rating", "perilaku_rating", "hasil_true", "perilaku_true",
    "prize",
)  # fmt: skip


@dataclass(slots=True)
class CampaignState:
    """A campaign the agency runs: its parameters, who staffs it, and its result once held.

    ``post_unit`` is the unit staffing each post (the staff units in turn); ``staff``
    marks the employees of those units, who share the team bonus.
    """

    params: Campaign
    start_month: int
    end_month: int
    objective_weight: float
    post_unit: np.ndarray
    staff: np.ndarray
    result: CampaignResult | None = None
    bonus_idr: float = 0.0


@dataclass(slots=True)
class PangkatState:
    """Each person's pangkat under a kenaikan pangkat rule (arrays indexed by post).

    ``golongan`` is the step 0-16 (I/a .. IV/e), ``years_in_pangkat`` the years since the
    last rise, ``baik_years`` the consecutive latest years with predikat at least Baik,
    ``angka_kredit`` a JF holder's credit towards the next step, ``cap`` the highest step
    by KP reguler (the education cap). All follow their person between posts.
    """

    golongan: np.ndarray
    years_in_pangkat: np.ndarray
    baik_years: np.ndarray
    angka_kredit: np.ndarray
    cap: np.ndarray

    def reordered(self, order: np.ndarray) -> PangkatState:
        """People moved between posts: the person in post ``order[i]`` now holds post ``i``."""
        return PangkatState(
            self.golongan[order], self.years_in_pangkat[order], self.baik_years[order],
            self.angka_kredit[order], self.cap[order],
        )  # fmt: skip


@dataclass(slots=True)
class CareerState:
    """Positions and careers, under a policy's ``careers`` lever (arrays indexed by post).

    ``post_level`` is each post's level on the position ladder (0 = bottom; fixed);
    ``years_in_level`` and ``original`` (held by someone of the workforce at the start)
    follow their person when people move between posts, as does ``pangkat`` (under a
    kenaikan pangkat rule; ``None`` otherwise).
    """

    post_level: np.ndarray
    years_in_level: np.ndarray
    original: np.ndarray
    pangkat: PangkatState | None = None

    def reordered(self, order: np.ndarray) -> CareerState:
        """People moved between posts: the person in post ``order[i]`` now holds post ``i``."""
        pangkat = self.pangkat.reordered(order) if self.pangkat is not None else None
        return CareerState(
            self.post_level, self.years_in_level[order], self.original[order], pangkat
        )


@dataclass(slots=True)
class AgencyState:
    """Everything about one agency that changes during a run (arrays indexed by post).

    Attributes
    ----------
    index, name
        Position of the agency in the scenario (part of its random-stream keys) and name.
    wf, people, traits, absence_rate
        The employees, their behavioural state, rater traits and absence rates
        (days per month); people move between posts and are replaced at year ends.
    is_head, gaji
        Who heads the agency; base salary by post (IDR per month, from the start).
    budget
        The budget year open.
    pay_predikat, pay_score
        The predikat (and composite score) pay is based on until the next appraisal.
    valence, effort, hasil_true, perilaku_true
        This quarter's share of take-home pay at stake, effort and true performance.
    quarter_paid, quarter_entitled, quarter_money
        Sums over the quarter's months: per employee, and the agency's totals of
        entitled, due and paid tukin (IDR).
    year_sums, quarters_in_year
        Per-employee sums over the budget year (:data:`YEAR_SUMS`) and quarters appraised.
    socialisation_left_idr, socialised_this_quarter, adoption_by_month
        Socialisation budget left this year, participants this quarter, and the adoption
        share after each month so far.
    skp_compliance
        Share of SKP handed in at the last appraisal.
    training_plan, training, training_cost_idr
        The training plan, its state, and what training spent this month (IDR, charged
        with the month's payroll).
    campaign
        The campaign the agency runs, or ``None``.
    """

    index: int
    name: str
    wf: Workforce
    people: People
    traits: RaterTraits
    absence_rate: np.ndarray
    is_head: np.ndarray
    gaji: np.ndarray
    budget: BudgetYear
    pay_predikat: np.ndarray
    pay_score: np.ndarray
    valence: np.ndarray
    effort: np.ndarray
    hasil_true: np.ndarray
    perilaku_true: np.ndarray
    quarter_paid: np.ndarray
    quarter_entitled: np.ndarray
    quarter_money: np.ndarray = field(default_factory=lambda: np.zeros(3))
    year_sums: dict[str, np.ndarray] = field(default_factory=dict)
    quarters_in_year: int = 0
    socialisation_left_idr: float = 0.0
    socialised_this_quarter: int = 0
    adoption_by_month: list[float] = field(default_factory=list)
    skp_compliance: float = float("nan")
    training_plan: TrainingPlan | None = None
    training: TrainingState | None = None
    training_cost_idr: float = 0.0
    campaign: CampaignState | None = None
    #: Payment order for ``rank_order`` (best predikat first), computed when needed.
    rank_cache: np.ndarray | None = None
    #: Positions and careers, set at the first year's close under a careers lever.
    careers: CareerState | None = None
    #: Leavers and hires when the year opened (``flows.voluntary_timing: before_ratings``),
    #: reported with the year's close.
    opening_flows: dict[str, float] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Employees (posts) of the agency."""
        return self.wf.n

    def copy(self) -> AgencyState:
        """A deep copy: steps update the state they are given."""
        return copy.deepcopy(self)

    def set_pay_basis(self, codes: np.ndarray, score: np.ndarray) -> None:
        """Base pay on ``codes`` (predikat) and ``score`` from now on."""
        self.pay_predikat = codes.astype(np.int8)
        self.pay_score = score
        self.rank_cache = None

    def pay_rank(self) -> np.ndarray:
        """Payment order for ``rank_order``: best predikat first, then highest score."""
        if self.rank_cache is None:
            n = len(self.pay_predikat)
            self.rank_cache = np.lexsort((np.arange(n), -self.pay_score, self.pay_predikat))
        return self.rank_cache


def build_workforce(
    scenario: Scenario, spec: AgencySpec, inputs: AgencyInputs, *, rng: np.random.Generator
) -> Workforce:
    """The agency's employees: generated from its structure or read from its CSV's bytes."""
    if spec.structure is not None:
        return generate(spec.structure, scenario.workforce, rng=rng)
    return read_org_csv(inputs.org_csv_path, scenario.workforce, rng=rng, data=inputs.org_csv)


def initial_state(
    inputs: AgencyInputs, *, index: int, world: Scenario, streams: Streams
) -> AgencyState:
    """The state of agency ``index`` of ``world`` at month 0, before its calendar starts.

    The workforce, rater traits, absence rates and people are drawn from their own
    streams (``workforce``, ``raters``, ``attendance``, ``behaviour``); pay is based on
    Baik until the first appraisal. With ``flows.initial_hiring: selected`` each post's
    competence is that of a hire through selection instead of a random draw.
    """
    spec = world.agencies[index]
    wf = build_workforce(world, spec, inputs, rng=streams.rng("workforce", agency=index))
    n = wf.n
    if world.flows.initial_hiring == "selected":
        # Every post filled as a vacancy is (Scullen et al. 2005): the hiring stream's draws
        # that belong to the post for good (keyed by post, no month).
        hires = hire(np.arange(n), world.flows, world.workforce, female_share=0.5,
                     rng=streams.keyed("hiring", agency=index))  # fmt: skip
        wf = replace(wf, competence=hires.competence)
    traits = draw_traits(n, world.raters, rng=streams.rng("raters", agency=index))
    att = world.attendance
    shape = att.heterogeneity_shape
    absence = streams.rng("attendance", agency=index).gamma(
        shape, att.absence_days_per_month / shape, n
    )
    people = draw_people(wf.openness, world, rng=streams.rng("behaviour", agency=index))
    state = AgencyState(
        index=index,
        name=spec.name,
        wf=wf,
        people=people,
        traits=traits,
        absence_rate=absence,
        is_head=wf.supervisor < 0,
        gaji=gaji_pokok()[wf.golongan],
        budget=BudgetYear(0.0),
        pay_predikat=np.full(n, BAIK, dtype=np.int8),  # before the first appraisal
        pay_score=np.zeros(n),
        valence=np.zeros(n),
        effort=np.zeros(n),
        hasil_true=np.zeros(n),
        perilaku_true=np.zeros(n),
        quarter_paid=np.zeros(n),
        quarter_entitled=np.zeros(n),
    )
    if inputs.training is not None:
        state.training_plan = inputs.training
        state.training = TrainingState.start(n, inputs.training)
    if inputs.campaign is not None:
        state.campaign = _campaign_state(inputs, wf)
    return state


def _campaign_state(inputs: AgencyInputs, wf: Workforce) -> CampaignState:
    """The campaign's posts, staffed by the agency's staff units in turn."""
    campaign, start = inputs.campaign, inputs.campaign_start_month
    staff_units = np.unique(wf.unit[wf.job_type >= JOB_TYPES.index("fungsional")])
    post_unit = staff_units[np.arange(campaign.posts.count) % len(staff_units)]
    return CampaignState(
        params=campaign,
        start_month=start,
        end_month=start + campaign_months(campaign),
        objective_weight=inputs.objective_weight,
        post_unit=post_unit,
        staff=np.isin(wf.unit, post_unit),
    )


def initial_frame(state: AgencyState) -> pd.DataFrame:
    """The agency's employees at the start, one row each, with their absence rates."""
    frame = state.wf.frame()
    frame["absence_rate_days_per_month"] = state.absence_rate
    return frame
