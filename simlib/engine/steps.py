"""The agency's steps: each takes its state, the parameters in force and the random streams.

Every step is a function ``step(state, policy, world, *, <period>, streams) -> (state,
out)``: ``state`` is the agency's :class:`~simlib.engine.state.AgencyState`, ``policy`` the
:class:`~simlib.params.policy.Policy` in force, ``world`` the
:class:`~simlib.params.scenario.Scenario` (its behaviour, rater, flow and output parameters),
``streams`` the replication's :class:`~simlib.core.streams.Streams` (each draw keyed by the
agency, the stream's name and what it belongs to). A step updates the state it is given
and returns it, with a :class:`StepOut`: its metrics (the period's declared outcomes, or the
month's ledger columns) and, when the scenario's outputs ask for them, per-employee rows.
Copy the state first (:meth:`~simlib.engine.state.AgencyState.copy`) to keep the old one.

The calendar (:mod:`simlib.engine.calendar`) calls them in the documented order:

* :func:`pay` -- the month's payroll: tukin due by the predikat in force, absence and
  performance cuts, the budget cap, the team bonus, and the month's change management
  (:func:`manage_change`: socialisation, SKP audits, adoption transitions);
* :func:`appraise` -- a quarter's ratings, levels and predikat, and what employees learn
  from them;
* :func:`close_year` -- the annual predikat (organisation predikat, distribution curve),
  the close of the budget year and the workforce flows (:func:`flows`);
* :func:`open_year`, :func:`start_quarter` (effort, :func:`train`, true performance) and
  :func:`hold_campaign`;
* :func:`close_run` -- run-level adoption outcomes.

Steps are vectorised over the agency's employees; none loops over them in Python. They
open no file: the tables they read come from the run's inputs
(:func:`simlib.params.tables.reading`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from simlib.behaviour.adoption import (
    ADOPTING,
    COMPLYING,
    RESISTING,
    adoption_step,
    draw_people,
    experienced_accuracy,
    fairness_signal,
    gaming_shares,
    pay_gap_to_peers,
    socialise,
    valence,
)
from simlib.behaviour.performance import effort, pay_at_stake, true_performance
from simlib.core.domain import GOLONGAN, JOB_TYPES, ORG_PREDIKAT, PREDIKAT
from simlib.core.errors import ConfigError
from simlib.core.streams import Keyed, Streams, gammas, poissons, uniforms
from simlib.engine.outcomes import (
    CAREER_LEVELS,
    chance_misclassification,
    correlation,
    gini,
    implied_predikat,
    misclassification,
    predikat_shares,
)
from simlib.engine.services import expected_bonus_share, run_campaign, team_incentive_idr
from simlib.engine.state import BAIK, YEAR_SUMS, AgencyState, CareerState, PangkatState
from simlib.engine.training import effective_competence
from simlib.engine.training import run_quarter as run_training_quarter
from simlib.params.policy import Policy
from simlib.params.scenario import Scenario
from simlib.params.tables import (
    angka_kredit_kp,
    distribution_curve,
    education_caps,
    gaji_pokok,
    golongan_ladder,
    kenaikan_pangkat_rules,
    position_ladders,
    predikat_matrix,
    talent_boxes,
)
from simlib.rules.appraisal import (
    aggregate,
    composite,
    enforce_curve,
    levels,
    org_predikat,
    predikat,
    reluctant_levels,
)
from simlib.rules.incentives import BudgetYear, apply_cap, due, entitlement
from simlib.rules.raters import (
    BERAKHLAK,
    RATING_RULES,
    RatingContext,
    Ratings,
    RatingTable,
    closeness_to_superior,
    draw_traits,
    halo_index,
)
from simlib.world import careers as C
from simlib.world.flows import SANGAT_KURANG, hire, leavers, transfer_order, voluntary_leavers

__all__ = [
    "StepOut",
    "appraise",
    "close_run",
    "close_year",
    "flows",
    "hold_campaign",
    "manage_change",
    "open_flows",
    "open_year",
    "pay",
    "pay_linked",
    "potential_metrics",
    "promote",
    "record_start",
    "start_quarter",
    "train",
]


@dataclass(frozen=True, eq=False)
class StepOut:
    """What a step reports besides the new state.

    Attributes
    ----------
    metrics
        The step's numbers: declared outcomes of the period (quarter, year, training,
        campaign, run), or the month's ledger columns for :func:`pay`.
    employees
        Opt-in per-employee rows (panel or employee ledger), one array per column (the
        calendar adds the agency and period columns).
    ratings
        Opt-in multi-source rating table of the quarter.
    """

    metrics: dict[str, float]
    employees: dict[str, np.ndarray] | None = None
    ratings: RatingTable | None = None


# -- mechanisms that cannot act: skipped, with their draws -----------------------------------
# Each draw is keyed by what it belongs to (simlib.core.streams), so a draw not made changes
# no other draw. A step skips a mechanism when its parameters make it a no-op exactly (a
# uniform on (0, 1) is never below 0 and always below 1; Poisson(0) is 0): the results are
# the same to the last digit (tests/test_steps_skip.py forces every one of these on).


def _absence_possible(state: AgencyState) -> bool:
    """Some employee has a positive absence rate (else every month's count is 0)."""
    return bool(state.absence_rate.any())


def _socialisation_possible(soc, budget_left_idr: float) -> bool:
    """A seat this month: capacity, and the year's budget left covers one participant."""
    return soc.capacity_per_month > 0 and budget_left_idr >= soc.cost_per_participant_idr


def _adoption_moves(params) -> bool:
    """Some adoption hazard rate is not zero (else no one ever changes state)."""
    return (
        params.external_push_per_month > 0
        or params.socialised_push_per_month > 0
        or params.imitation_per_month > 0
        or params.gain_push > 0
        or params.unfairness_pullback_per_month > 0
        or params.loss_pullback > 0
    )


def _audit_or_missing_possible(audit_share: float, p_missing: np.ndarray) -> bool:
    """SKP audits happen, or some adoption state misses SKP with positive probability."""
    return audit_share > 0 or bool(p_missing.any())


def _inflation_possible(inflation: float) -> bool:
    """Resisting superiors add something to the hasil-kerja ratings they give."""
    return inflation != 0


def _reluctance_possible(rel) -> bool:
    """A below-expectation judgement can go unrecorded (probability of honesty below 1)."""
    return not (rel.honest_probability == 1.0 and rel.pay_sensitivity == 0
                and rel.closeness_effect == 0)  # fmt: skip


def _rng(streams: Streams, state: AgencyState, name: str, period: int | None = None):
    return streams.rng(name, agency=state.index, period=period)


def _keyed(streams: Streams, state: AgencyState, name: str, period: int | None = None) -> Keyed:
    return streams.keyed(name, agency=state.index, period=period)


def pay_linked(policy: Policy) -> bool:
    """Whether ratings decide pay (some predikat cut tukin): raters then inflate."""
    inc = policy.incentives
    return inc.performance_share > 0 and len(set(inc.multipliers.as_tuple())) > 1


# -- the budget year and the quarter ---------------------------------------------------------


def open_year(state: AgencyState, policy: Policy, *, year: int) -> tuple[AgencyState, StepOut]:
    """Open budget year ``year`` (0-based): the cap from the policy in force in January."""
    entitled = entitlement(state.wf.kelas, policy.incentives)
    state.budget = BudgetYear.open(float(entitled.sum()), policy.budget)
    state.socialisation_left_idr = policy.change_management.socialisation.budget_idr_per_year
    state.year_sums = {k: np.zeros(state.n) for k in YEAR_SUMS}
    state.quarters_in_year = 0
    return state, StepOut({})


def start_quarter(
    state: AgencyState, policy: Policy, world: Scenario, *, quarter: int, streams: Streams
) -> tuple[AgencyState, StepOut]:
    """Effort and true performance for quarter ``quarter`` (0-based), after its training.

    Returns the quarter's training metrics (none without a training plan).
    """
    month = 3 * quarter
    beh, people = world.behaviour, state.people
    tukin = entitlement(state.wf.kelas, policy.incentives)
    state.valence = valence(pay_at_stake(policy), tukin, state.gaji)
    response = np.asarray(beh.state_response.as_tuple())[people.state]
    state.effort = effort(
        state.wf,
        beh,
        stake=state.valence,
        instrumentality=people.instrumentality,
        team_stake=_team_stake(state, month, policy),
        response=response,
    )
    state, out = train(state, policy, quarter=quarter, streams=streams)
    competence = None
    if state.training is not None:
        competence = effective_competence(state.wf.competence, state.training)
    state.hasil_true, state.perilaku_true = true_performance(
        state.wf,
        state.effort,
        world.performance,
        rng=_keyed(streams, state, "performance", month),
        competence=competence,
        person=people.person,
    )
    state.quarter_money[:] = 0.0
    state.quarter_paid[:] = 0.0
    state.quarter_entitled[:] = 0.0
    return state, out


def train(
    state: AgencyState, policy: Policy, *, quarter: int, streams: Streams
) -> tuple[AgencyState, StepOut]:
    """A quarter of training (SimPy seats, :mod:`simlib.engine.training`), if there is a plan.

    With ``budget.training_from_tukin_budget`` courses start only as far as the tukin
    budget has money released and unspent this month; the cost is charged to the budget
    with the month's payroll.
    """
    plan = state.training_plan
    if plan is None:
        return state, StepOut({})
    month = 3 * quarter
    room = math.inf
    if policy.budget.training_from_tukin_budget:
        # One budget: courses start only as far as the tukin budget has money released
        # and unspent this month, so tukin plus training never exceeds the cap.
        room = max(state.budget.available(month % 12) - state.training_cost_idr, 0.0)
    state.training, report = run_training_quarter(
        plan,
        state.training,
        state.wf.competence,
        ~state.wf.pppk,  # the 20 JP rule of PP 11/2017 binds PNS
        quarter=quarter,
        rng=_keyed(streams, state, "training", month),
        predikat=state.pay_predikat,
        job_type=state.wf.job_type,
        person=state.people.person,
        spend_limit_idr=room,
    )
    state.training_cost_idr += report.cost_idr
    competence = effective_competence(state.wf.competence, state.training)
    return state, StepOut(
        {
            "training_trainees": float(report.trainees),
            "training_hours_jp": report.hours_jp,
            "training_cost_idr": report.cost_idr,
            "training_budget_left_idr": report.budget_left_idr,
            "training_cost_per_sd_idr": (
                report.cost_idr / report.total_gain_sd if report.total_gain_sd > 0 else np.nan
            ),
            "jp_compliance": report.compliance,
            "shock_penalised": float(report.penalised),
            "mean_competence": float(competence.mean()),
        }
    )


# -- the campaign ------------------------------------------------------------------------------


def _campaign_on(state: AgencyState, first: int, last: int) -> bool:
    c = state.campaign
    return c is not None and not (last < c.start_month or first >= c.end_month)


def _team_stake(state: AgencyState, month: int, policy: Policy) -> np.ndarray | float:
    """Expected campaign bonus over annual tukin, for the campaign's staff, when it is on."""
    c = state.campaign
    if c is None or not (c.start_month <= month + 2 and month < c.end_month):
        return 0.0
    annual = 12.0 * (entitlement(state.wf.kelas, policy.incentives) + state.gaji)
    bonus = c.params.incentive.bonus_idr_per_staff * expected_bonus_share(c.params)
    with np.errstate(divide="ignore"):
        return np.where(c.staff & (annual > 0), bonus / annual, 0.0)


def hold_campaign(
    state: AgencyState, *, month: int, streams: Streams
) -> tuple[AgencyState, StepOut]:
    """Run the campaign; each post's performance is its unit's mean true hasil this quarter."""
    c = state.campaign
    unit = state.wf.unit
    counts = np.bincount(unit)
    unit_mean = np.bincount(unit, weights=state.hasil_true) / np.maximum(counts, 1)
    result = run_campaign(
        c.params,
        staff_performance=unit_mean[c.post_unit],
        rng=_rng(streams, state, "arrivals", month),
    )
    c.result = result
    # The bonus goes to every staff member of the units that ran the posts.
    c.bonus_idr = team_incentive_idr(
        c.params.incentive, coverage=result.coverage, staff=int(c.staff.sum())
    )
    return state, StepOut(
        {
            "campaign_coverage": result.coverage,
            "campaign_vaccinated": float(result.vaccinated),
            "campaign_abandoned": float(result.abandoned),
            "campaign_mean_wait_min": result.mean_wait_min,
            "campaign_p90_wait_min": result.p90_wait_min,
            "campaign_target_met": float(result.target_met),
            "team_incentive_idr": c.bonus_idr,
        }
    )


def _team_incentive(state: AgencyState, month: int) -> np.ndarray:
    """The campaign's team bonus, shared equally by its units' staff in its last month."""
    team = np.zeros(state.n)
    c = state.campaign
    if c is not None and c.result is not None and month == c.end_month - 1:
        team[c.staff] = c.bonus_idr / max(int(c.staff.sum()), 1)
    return team


def _with_objective_part(state: AgencyState, hasil: np.ndarray, quarter: int) -> np.ndarray:
    """Campaign staff's hasil kerja partly from measured coverage, while it runs.

    The objective score is (coverage - target) / coverage_uncertainty, in SD units and
    clipped to +-3: the scale on which staff judge the target's attainability.
    """
    c = state.campaign
    if c is None or c.result is None or c.objective_weight == 0:
        return hasil
    if not _campaign_on(state, 3 * quarter, 3 * quarter + 2):
        return hasil
    inc = c.params.incentive
    objective = np.clip((c.result.coverage - inc.target_coverage) / inc.coverage_uncertainty,
                        -3.0, 3.0)  # fmt: skip
    w = c.objective_weight
    return np.where(c.staff, (1 - w) * hasil + w * objective, hasil)


# -- the month's payroll -----------------------------------------------------------------------


def pay(
    state: AgencyState, policy: Policy, world: Scenario, *, month: int, streams: Streams
) -> tuple[AgencyState, StepOut]:
    """Monthly payroll of month ``month``: tukin due, absence and performance cuts, the cap.

    Returns the month's ledger columns
    (:data:`simlib.engine.recorder.LEDGER_VALUES`) and, with ``outputs.employee_ledger``,
    one row per employee.
    """
    inc = policy.incentives
    wf, people, budget = state.wf, state.people, state.budget
    entitled = entitlement(wf.kelas, inc)
    if _absence_possible(state):
        absence = poissons(
            _keyed(streams, state, "attendance", month), people.person, state.absence_rate
        )
    else:  # Poisson(0) is 0: the draws are keyed, so skipping them changes no other draw
        absence = np.zeros(wf.n, dtype=np.int64)
    tournament = _tournament_on(policy)
    if tournament is None:
        due_idr, performance_cut = due(entitled, state.pay_predikat, absence, inc)
    else:
        prizes = _tournament_prizes(state, policy, tournament, entitled, month, streams)
        due_idr, performance_cut = due(
            entitled, state.pay_predikat, absence, inc, prizes_idr=prizes,
            tournament_share=tournament.share_of_budget,
        )  # fmt: skip
        state.year_sums["prize"] += prizes
    training_cost, state.training_cost_idr = state.training_cost_idr, 0.0
    if policy.budget.training_from_tukin_budget:
        # One budget: what training spent this month is no longer there for tukin.
        budget.spent_idr += training_cost
    available = budget.available(month % 12)
    rule = policy.budget.over_cap_rule
    over = rule == "rank_order" and due_idr.sum() > available
    # The payment order is only needed when the money runs short.
    paid = apply_cap(due_idr, available, rule=rule, rank=state.pay_rank() if over else None)
    team = _team_incentive(state, month)
    state, change = manage_change(
        state, policy, world, month=month, entitled=entitled, paid=paid, streams=streams
    )
    total_entitled, total_due, total_paid = entitled.sum(), due_idr.sum(), paid.sum()
    budget.spent_idr += total_paid
    sums = state.year_sums
    sums["entitled"] += entitled
    sums["due"] += due_idr
    sums["paid"] += paid
    state.quarter_paid += paid
    state.quarter_entitled += entitled
    state.quarter_money += (total_entitled, total_due, total_paid)
    perf_cut = performance_cut.sum()
    metrics = {
        "employees": wf.n,
        "entitled_idr": total_entitled,
        "performance_cut_idr": perf_cut,
        "absence_cut_idr": total_entitled - perf_cut - total_due,
        "due_idr": total_due,
        "cap_cut_idr": total_due - total_paid,
        "paid_idr": total_paid,
        "budget_cap_idr": budget.cap_idr,
        "budget_spent_ytd_idr": budget.spent_idr,
        "team_incentive_idr": team.sum(),
        "training_cost_idr": training_cost,
        "change_cost_idr": change.metrics["change_cost_idr"],
    }
    employees = None
    if world.outputs.employee_ledger:
        employees = {
            "t_month": np.full(wf.n, month),
            "employee": np.arange(wf.n),
            "person": people.person.copy(),
            "predikat": state.pay_predikat.copy(),
            "absence_days": absence,
            "entitled_idr": entitled,
            "due_idr": due_idr,
            "paid_idr": paid,
            "team_incentive_idr": team,
        }
    return state, StepOut(metrics, employees)


def _tournament_on(policy: Policy):
    """The policy's tournament when it pays anything, else ``None``."""
    lever = policy.careers
    rule = lever.tournament if lever is not None else None
    return rule if rule is not None and rule.share_of_budget > 0 else None


def _tournament_prizes(
    state: AgencyState, policy: Policy, rule, entitled: np.ndarray, month: int, streams: Streams
) -> np.ndarray:
    """The month's tournament prizes (IDR, before absence cuts), by employee.

    Each group (unit, or kelas jabatan for ``group_by: grade``) shares ``share_of_budget``
    of its members' performance part of tukin (``performance_share x entitled``) as
    rank-order prizes (:func:`simlib.world.careers.tournament_prizes`), ranked by the
    composite score pay is based on (the latest appraisal's); a prize is the tier's weight
    times the winner's own entitlement, so the tournament moves pay between ranks, not
    between kelas jabatan. Ties are broken by a uniform keyed by person and month (stream
    ``careers``, period = month).
    """
    wf = state.wf
    group = (wf.unit if rule.group_by == "unit" else wf.kelas).astype(np.int64)
    pool = rule.share_of_budget * policy.incentives.performance_share * entitled
    budgets = np.bincount(group, weights=pool)
    tiebreak = uniforms(_keyed(streams, state, "careers", month), state.people.person)
    return C.tournament_prizes(
        state.pay_score, group, budgets, rule=rule, tiebreak=tiebreak, scale=entitled
    )


def manage_change(
    state: AgencyState,
    policy: Policy,
    world: Scenario,
    *,
    month: int,
    entitled: np.ndarray,
    paid: np.ndarray,
    streams: Streams,
) -> tuple[AgencyState, StepOut]:
    """Socialisation sessions, SKP audit costs, and a month of adoption transitions.

    ``entitled`` and ``paid`` are the month's tukin per employee (IDR). Reports
    ``change_cost_idr``: participants x cost per participant, plus, in a quarter's last
    month, the SKP audits of the quarter.
    """
    cm = policy.change_management
    people = state.people
    soc = cm.socialisation
    reached, cost = 0, 0.0
    # No seat this month (no capacity, or the year's budget below one participant): no draws.
    if _socialisation_possible(soc, state.socialisation_left_idr):
        reached, cost = socialise(
            people, cm, state.socialisation_left_idr,
            rng=_keyed(streams, state, "socialisation", month),
        )  # fmt: skip
    state.socialisation_left_idr -= cost
    state.socialised_this_quarter += reached
    if month % 3 == 2:
        cost += round(cm.audit_share * state.n) * cm.audit_cost_idr_per_skp
    take_home = entitled + state.gaji
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(
            np.isfinite(people.last_paid) & (take_home > 0),
            (paid - people.last_paid) / take_home,
            0.0,
        )
    # The reference point adapts slowly: a lasting cut is felt as a loss for months.
    alpha = world.adoption.reference_adaptation
    people.last_paid = np.where(
        np.isfinite(people.last_paid), people.last_paid + alpha * (paid - people.last_paid),
        paid,
    )  # fmt: skip
    if _adoption_moves(world.adoption):
        adoption_step(
            people, state.wf.unit, world.adoption, pay_change=change,
            rng=_keyed(streams, state, "adoption", month),
        )  # fmt: skip
    state.adoption_by_month.append(float(np.mean(people.state == ADOPTING)))
    return state, StepOut({"change_cost_idr": cost})


# -- the quarter's appraisal -------------------------------------------------------------------


def appraise(
    state: AgencyState, policy: Policy, world: Scenario, *, quarter: int, streams: Streams
) -> tuple[AgencyState, StepOut]:
    """Periodic appraisal of quarter ``quarter``: ratings, levels, predikat, and learning.

    Returns the quarter's outcomes and, with ``outputs.employee_panel``, one panel row per
    employee; with ``outputs.ratings``, the multi-source rating table.
    """
    month = 3 * quarter + 2
    ap = policy.appraisal
    cm = policy.change_management
    people = state.people
    multi = ap.rater == "multi_source"
    linked = pay_linked(policy)
    colluding_share, easing_share = gaming_shares(
        world.gaming,
        world.raters.multi_source.collusion_share,
        stake=float(state.valence.mean()),
        pay_linked=linked,
        severity_adjusted=ap.aggregation.rule == "severity_adjusted",
        audit_share=cm.audit_share,
    )
    colluding = people.collusion_u < colluding_share
    context = RatingContext(
        hasil_true=state.hasil_true,
        perilaku_true=state.perilaku_true,
        workforce=state.wf,
        traits=replace(state.traits, collusive=colluding),
        params=world.raters,
        pay_linked=linked,
        person=people.person,
    )
    ratings = RATING_RULES[ap.rater](context, rng=_keyed(streams, state, "rating_noise", month))
    perilaku = ratings.perilaku
    if perilaku is None:
        agg = ap.aggregation
        perilaku = aggregate(
            ratings.table,
            state.wf,
            rule=agg.rule,
            weights=agg.weights.as_tuple(),
            trim_share=agg.trim_share,
        )
    hasil = _with_objective_part(state, ratings.hasil_kerja, quarter)
    hasil, gaming, missing = _game_and_comply(state, hasil, policy, world, month, easing_share,
                                              streams)  # fmt: skip
    ratings = Ratings(hasil, ratings.perilaku, ratings.table)
    cut = {"cutoff_below": ap.cutoff_below, "cutoff_above": ap.cutoff_above}
    h_level, p_level = levels(ratings.hasil_kerja, **cut), levels(perilaku, **cut)
    # The superior judges hasil kerja (a missing SKP is rated by rule) and, under the
    # supervisor rule, perilaku; an aggregated 360 score is not one person's judgement.
    h_level, p_level = _reluctant(
        state, h_level, p_level, policy, world, month, slot=0, streams=streams,
        judged_hasil=~missing, judged_perilaku=not multi,
    )  # fmt: skip
    matrix = predikat_matrix()
    codes = predikat(h_level, p_level, matrix)
    true_codes = predikat(levels(state.hasil_true, **cut), levels(state.perilaku_true, **cut),
                          matrix)  # fmt: skip
    true_score = composite(state.hasil_true, state.perilaku_true, skp_weight=ap.skp_weight)
    score = composite(ratings.hasil_kerja, perilaku, skp_weight=ap.skp_weight)
    accuracy = correlation(ratings.hasil_kerja, state.hasil_true)
    _learn(state, ratings.hasil_kerja, policy, world)

    sums = state.year_sums
    sums["hasil_rating"] += ratings.hasil_kerja
    sums["perilaku_rating"] += perilaku
    sums["hasil_true"] += state.hasil_true
    sums["perilaku_true"] += state.perilaku_true
    state.quarters_in_year += 1
    if ap.pay_basis == "periodic":
        state.set_pay_basis(codes, score)

    entitled, due_q, paid_q = state.quarter_money
    metrics = {
        "mean_true_performance": float(state.hasil_true.mean()),
        "mean_effort": float(state.effort.mean()),
        "rating_accuracy": accuracy,
        **_predikat_metrics(
            codes,
            true_codes,
            true_score,
            rated_levels=(h_level, p_level),
            true_axes=(state.hasil_true, state.perilaku_true),
            matrix=matrix,
        ),
        **_rating_quality(state, perilaku, ratings.table),
        "tukin_entitled_idr": entitled,
        "tukin_due_idr": due_q,
        "tukin_paid_idr": paid_q,
        **_behaviour_metrics(state),
        "gaming_incidence": float(np.mean(gaming | (colluding if multi else False))),
        "colluding_share": float(colluding.mean()) if multi else 0.0,
        "easy_target_share": float(gaming.mean()),
        "skp_compliance": float(1.0 - missing.mean()),
    }
    employees = None
    if world.outputs.employee_panel:
        n = state.n
        employees = {
            "t_month": np.full(n, month),
            "employee": np.arange(n),
            "person": people.person.copy(),
            "adoption_state": people.state.copy(),
            "fairness": people.fairness.copy(),
            "instrumentality": people.instrumentality.copy(),
            "effort": state.effort,
            "hasil_true": state.hasil_true,
            "perilaku_true": state.perilaku_true,
            "hasil_rating": ratings.hasil_kerja,
            "perilaku_rating": perilaku,
            "hasil_level": h_level,
            "perilaku_level": p_level,
            "predikat": codes,
        }
    table = ratings.table if world.outputs.ratings else None
    return state, StepOut(metrics, employees, table)


def _game_and_comply(
    state: AgencyState,
    hasil: np.ndarray,
    policy: Policy,
    world: Scenario,
    month: int,
    easing_share: float,
    streams: Streams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resisting superiors' inflation, easy targets not caught by audit, missing SKP.

    Returns the hasil-kerja ratings after these, who set easy targets uncaught, and whose
    SKP is missing.
    """
    people, wf = state.people, state.wf
    ad, cm = world.adoption, policy.change_management
    p_missing = np.asarray(ad.skp_missing.as_tuple())
    if _audit_or_missing_possible(cm.audit_share, p_missing):
        u = uniforms(_keyed(streams, state, "gaming", month), people.person, 2).T
        audited = u[0] < cm.audit_share
        missing = u[1] < p_missing[people.state]
    else:  # a uniform is never below 0: no audit, no missing SKP, and no draws needed
        audited = missing = np.zeros(wf.n, dtype=bool)
    gaming = (people.gaming_u < easing_share) & ~audited
    if _inflation_possible(ad.resisting_rater_inflation):
        has_superior = wf.supervisor >= 0
        resisting_superior = np.zeros(wf.n, dtype=bool)
        resisting_superior[has_superior] = people.state[wf.supervisor[has_superior]] == RESISTING
        hasil = hasil + ad.resisting_rater_inflation * resisting_superior
    hasil = hasil + world.gaming.target_easing_sd * gaming
    # A late or missing SKP is rated below expectation (di bawah ekspektasi).
    below = policy.appraisal.cutoff_below - 0.5
    return np.where(missing, np.minimum(hasil, below), hasil), gaming, missing


def _reluctant(
    state: AgencyState,
    h_level: np.ndarray,
    p_level: np.ndarray,
    policy: Policy,
    world: Scenario,
    month: int,
    *,
    slot: int,
    streams: Streams,
    judged_hasil,
    judged_perilaku,
) -> tuple[np.ndarray, np.ndarray]:
    """Levels after the superiors' reluctance to rate below expectation (section 7.4).

    One uniform per person and appraisal (stream ``reluctance``: slot 0 the quarter,
    slot 1 the annual close, keyed by the appraisal month). Without reluctance (probability
    1 of an honest low rating, whatever the pay or closeness) every level is kept as rated
    and nothing is drawn; so too under ``raters.source: measurement``, where no superior
    rates.
    """
    if world.raters.source == "measurement":
        return h_level, p_level
    if not _reluctance_possible(world.raters.reluctance):
        return h_level, p_level
    tukin = entitlement(state.wf.kelas, policy.incentives)
    total = tukin + state.gaji
    share = np.divide(tukin, total, out=np.zeros_like(tukin), where=total > 0)
    u = uniforms(_keyed(streams, state, "reluctance", month), state.people.person, 1,
                 first=slot)[:, 0]  # fmt: skip
    return reluctant_levels(
        h_level, p_level, matrix=predikat_matrix(), params=world.raters.reluctance,
        incentives=policy.incentives, take_home_share=share,
        closeness=closeness_to_superior(state.wf), u=u,
        judged_hasil=judged_hasil, judged_perilaku=judged_perilaku,
    )  # fmt: skip


def _learn(state: AgencyState, hasil_rating: np.ndarray, policy: Policy, world: Scenario) -> None:
    """Instrumentality and fairness from this quarter's own rating and pay."""
    people, beh, fa = state.people, world.behaviour, world.fairness
    lr = beh.instrumentality_learning_rate
    accuracy = experienced_accuracy(hasil_rating, state.hasil_true)
    people.instrumentality = np.clip((1 - lr) * people.instrumentality + lr * accuracy, -1.0, 1.0)
    signal = fairness_signal(
        fa,
        rating=hasil_rating,
        self_view=state.hasil_true + people.self_bias,
        pay_gap=pay_gap_to_peers(state.quarter_paid, state.quarter_entitled, state.hasil_true),
        transparent=policy.change_management.transparent_indicators,
        multi_source=policy.appraisal.rater == "multi_source",
    )
    people.fairness = (1 - fa.learning_rate) * people.fairness + fa.learning_rate * signal


def _behaviour_metrics(state: AgencyState) -> dict[str, float]:
    """Effort, fairness and adoption over employees; resets the quarter's participants."""
    people = state.people
    adoption = people.state
    reached, state.socialised_this_quarter = state.socialised_this_quarter, 0
    effort_p10, effort_p90 = (float(x) for x in np.quantile(state.effort, [0.1, 0.9]))
    fairness_p10, fairness_p90 = (float(x) for x in np.quantile(people.fairness, [0.1, 0.9]))
    return {
        "effort_sd": float(state.effort.std()),
        "effort_p10": effort_p10,
        "effort_p90": effort_p90,
        "mean_instrumentality": float(people.instrumentality.mean()),
        "mean_fairness": float(people.fairness.mean()),
        "fairness_sd": float(people.fairness.std()),
        "fairness_p10": fairness_p10,
        "fairness_p90": fairness_p90,
        "unfair_share": float(np.mean(people.fairness < -0.5)),
        "adoption_share": float(np.mean(adoption == ADOPTING)),
        "complying_share": float(np.mean(adoption == COMPLYING)),
        "resisting_share": float(np.mean(adoption == RESISTING)),
        "socialised_share": float(people.socialised.mean()),
        "socialisation_participants": float(reached),
    }


def _rating_quality(state: AgencyState, perilaku: np.ndarray, table: RatingTable | None) -> dict:
    """Accuracy, leniency, disparities and halo of the perilaku ratings."""
    wf = state.wf
    error = perilaku - state.perilaku_true
    unit_error = np.bincount(wf.unit, weights=error) / np.maximum(np.bincount(wf.unit), 1)
    return {
        "perilaku_accuracy": correlation(perilaku, state.perilaku_true),
        "rating_leniency": float(error.mean()),
        "rating_gap_sex": _gap(error, wf.female),
        "rating_gap_grade": _gap(error, wf.golongan >= 2),
        "rating_unit_sd": float(unit_error[np.bincount(wf.unit) > 0].std()),
        "halo_index": halo_index(table) if table is not None else float("nan"),
        "raters_per_employee": (
            len(table.ratee) / len(BERAKHLAK) / wf.n if table is not None else 1.0
        ),
    }


def _predikat_metrics(
    codes, true_codes, true_score, *, rated_levels, true_axes, matrix
) -> dict[str, float]:
    """Shares, and agreement with the true scores' predikat at the same shares and cut-offs.

    ``rated_levels`` are the levels behind ``codes`` before any distribution curve.
    """
    shares = predikat_shares(codes)
    implied = implied_predikat(codes, rated_levels=rated_levels, true_axes=true_axes,
                               true_score=true_score, matrix=matrix)  # fmt: skip
    wrong, chance = misclassification(codes, implied), chance_misclassification(codes)
    return {
        **{f"share_{p}": float(s) for p, s in zip(PREDIKAT, shares, strict=True)},
        "misclassification": wrong,
        "predikat_kappa": 1.0 - wrong / chance if chance > 0 else float("nan"),
        "predikat_agreement": float(np.mean(codes == true_codes)),
    }


def _gap(error: np.ndarray, group: np.ndarray) -> float:
    """Mean rating error of ``group`` minus that of the others (NaN if one side is empty)."""
    if group.all() or not group.any():
        return float("nan")
    return float(error[group].mean() - error[~group].mean())


# -- the year's close --------------------------------------------------------------------------


def close_year(
    state: AgencyState, policy: Policy, world: Scenario, *, year: int, streams: Streams
) -> tuple[AgencyState, StepOut]:
    """Annual predikat (with the distribution curve), the budget year's close, the flows.

    The year's workforce flows are :func:`flows`, after the predikat.
    """
    month = 12 * year + 11
    ap = policy.appraisal
    q = max(state.quarters_in_year, 1)
    sums = state.year_sums
    hasil, perilaku = sums["hasil_rating"] / q, sums["perilaku_rating"] / q
    hasil_true, perilaku_true = sums["hasil_true"] / q, sums["perilaku_true"] / q

    if ap.organisation_predikat == "derived":
        noise = world.organisation.achievement_noise_sd
        shock = _rng(streams, state, "organisation", month).standard_normal()
        org = org_predikat(float(hasil_true.mean()) + noise * shock, ap.org_cutoffs)
    else:
        org = ORG_PREDIKAT.index(ap.organisation_predikat)

    cut = {"cutoff_below": ap.cutoff_below, "cutoff_above": ap.cutoff_above}
    h_level = levels(hasil, **cut)
    # The head's hasil kerja is the organisation's achievement (PermenPANRB 6/2022).
    h_level[state.is_head] = 2 if org == 0 else (1 if org == 1 else 0)
    matrix = predikat_matrix()
    p_level = levels(perilaku, **cut)
    h_level, p_level = _reluctant(
        state, h_level, p_level, policy, world, month, slot=1, streams=streams,
        judged_hasil=~state.is_head, judged_perilaku=ap.rater != "multi_source",
    )  # fmt: skip
    codes = predikat(h_level, p_level, matrix)
    true_codes = predikat(levels(hasil_true, **cut), levels(perilaku_true, **cut), matrix)
    score = composite(hasil, perilaku, skp_weight=ap.skp_weight)
    moved, infeasible = 0.0, 0.0
    if ap.distribution_curve.enforce:
        curve = ap.distribution_curve
        enforced, feasible = enforce_curve(
            codes, score, distribution_curve()[org], tie_break=curve.tie_break,
            majority_share=curve.majority_share,
        )  # fmt: skip
        moved = float(np.mean(enforced != codes))
        infeasible = 0.0 if feasible else 1.0
        # Being moved down by a quota, against one's rating, is felt as unfair.
        fa = world.fairness
        state.people.fairness -= fa.learning_rate * fa.quota_weight * (enforced > codes)
        codes = enforced
    if ap.pay_basis == "annual":
        state.set_pay_basis(codes, score)

    cap = state.budget.cap_idr
    paid_year = sums["paid"]
    true_score = composite(hasil_true, perilaku_true, skp_weight=ap.skp_weight)
    metrics = {
        "mean_true_performance": float(hasil_true.mean()),
        "rating_accuracy": correlation(hasil, hasil_true),
        **_predikat_metrics(
            codes,
            true_codes,
            true_score,
            rated_levels=(h_level, p_level),
            true_axes=(hasil_true, perilaku_true),
            matrix=matrix,
        ),
        "org_predikat": float(org),
        "curve_moved_share": moved,
        "curve_infeasible": infeasible,
        "tukin_entitled_idr": float(sums["entitled"].sum()),
        "tukin_due_idr": float(sums["due"].sum()),
        "tukin_paid_idr": float(paid_year.sum()),
        "budget_cap_idr": cap,
        "budget_used_share": float(paid_year.sum() / cap) if cap > 0 else float("nan"),
        "budget_pressure": float(sums["due"].sum() / cap) if cap > 0 else float("nan"),
        "pay_performance_corr": correlation(paid_year, hasil_true),
        "pay_gini": gini(paid_year),
    }
    if world.outputs.potential_records:
        # Scullen et al. 2005's recorded point: after the year's voluntary turnover (with
        # voluntary_timing before_ratings), before the close's separations.
        metrics["mean_staff_potential_rated"] = _staff_mean(state.wf.competence,
                                                            state.wf.supervisor)  # fmt: skip
    # Forced separation ranks people by their rated results (hasil kerja).
    before = state.people.person.copy() if policy.careers is not None else None
    state, out = flows(state, world, month=month, codes=codes, rating=hasil, streams=streams)
    metrics.update(out.metrics)
    if before is not None:
        # Flows keep each person's place (transfers permute whole rows): the posts whose
        # person is new are this year's hires, the entrants promotion places.
        hired = ~np.isin(state.people.person, before)
        state, out = promote(state, policy, year=year, hired=hired, codes=codes, streams=streams)
        metrics.update(out.metrics)
    return state, StepOut(metrics)


def flows(
    state: AgencyState,
    world: Scenario,
    *,
    month: int,
    codes: np.ndarray,
    rating: np.ndarray,
    streams: Streams,
) -> tuple[AgencyState, StepOut]:
    """Leavers, transfers, ageing and hires at the close of a year (:mod:`simlib.world.flows`).

    ``codes`` are the year's predikat and ``rating`` the rated results forced separation
    ranks by. Draws are keyed by person (exits, transfers) and by vacancy (hires).
    """
    fl, people, wf = world.flows, state.people, state.wf
    people.sk_streak = np.where(codes == SANGAT_KURANG, people.sk_streak + 1, 0).astype(np.int16)
    out = leavers(
        unit=wf.unit, job_type=wf.job_type, pppk=wf.pppk, age_years=wf.age_years,
        tenure_years=wf.tenure_years, is_head=state.is_head, predikat=codes, score=rating,
        sk_streak=people.sk_streak, params=fl, person=people.person,
        rng=_keyed(streams, state, "flows", month),
    )  # fmt: skip
    leaving = out.leaving
    order, movers = transfer_order(
        wf.job_type, leaving, fl.transfer_rate, person=people.person,
        rng=_keyed(streams, state, "transfers", month),
    )  # fmt: skip
    if movers:
        _reorder(state, order)
    state.wf = state.wf.aged(1.0)
    _replace(state, world, leaving, float(wf.female.mean()), month, streams)
    metrics = {
        **out.counts(),
        "separations": float(len(leaving)),
        "hires": float(len(leaving)),
        "transfers": float(movers),
    }
    # Those who left when the year opened (voluntary_timing before_ratings) count this year.
    for name, count in state.opening_flows.items():
        metrics[name] += count
    state.opening_flows = {}
    return state, StepOut(
        {
            **metrics,
            "headcount": float(state.wf.n),
            **potential_metrics(state),
        }
    )


def potential_metrics(state: AgencyState) -> dict[str, float]:
    """Mean base competence of the workforce, and of the staff who head no one."""
    wf = state.wf
    return {
        "mean_workforce_potential": float(wf.competence.mean()),
        "mean_staff_potential": _staff_mean(wf.competence, wf.supervisor),
    }


def record_start(state: AgencyState, world: Scenario) -> StepOut:
    """The workforce's potential at the start (year 0), with ``outputs.potential_records``."""
    if not world.outputs.potential_records:
        return StepOut({})
    metrics = potential_metrics(state)
    return StepOut({**metrics, "mean_staff_potential_rated": metrics["mean_staff_potential"]})


def open_flows(
    state: AgencyState, world: Scenario, *, year: int, streams: Streams
) -> tuple[AgencyState, StepOut]:
    """Voluntary turnover when budget year ``year`` opens, before any of its ratings.

    Only with ``flows.voluntary_timing: before_ratings`` (Scullen et al. 2005: turnover
    and replacement through selection, then ratings, then firing); otherwise nothing
    happens. The leavers are drawn by ``flows.voluntary_exit_model`` from the ``flows``
    stream keyed by person and the year's first month, their posts filled at once
    through selection (stream ``hiring`` keyed by post and that month); the counts are
    reported with the year's close (:func:`flows`).
    """
    fl = world.flows
    if fl.voluntary_timing != "before_ratings":
        return state, StepOut({})
    month = 12 * year
    wf, people = state.wf, state.people
    rate = np.where(wf.pppk, fl.voluntary_exit_rate_pppk, fl.voluntary_exit_rate_pns)
    leaving = np.flatnonzero(voluntary_leavers(
        rate, model=fl.voluntary_exit_model, person=people.person,
        rng=_keyed(streams, state, "flows", month),
    ))  # fmt: skip
    _replace(state, world, leaving, float(wf.female.mean()), month, streams)
    k = float(len(leaving))
    state.opening_flows = {"voluntary_exits": k, "separations": k, "hires": k}
    return state, StepOut({})


def _replace(
    state: AgencyState,
    world: Scenario,
    leaving: np.ndarray,
    female_share: float,
    month: int,
    streams: Streams,
) -> None:
    """Fill the posts ``leaving`` through selection (stream ``hiring``, keyed by month)."""
    if len(leaving):
        hires = hire(
            leaving, world.flows, world.workforce, female_share=female_share,
            rng=_keyed(streams, state, "hiring", month),
        )  # fmt: skip
        _hire(state, world, leaving, hires, month, streams)


def _staff_mean(values: np.ndarray, supervisor: np.ndarray) -> float:
    """Mean of ``values`` over the posts that head no one (the heads of groups left out)."""
    heads = np.zeros(len(values), dtype=bool)
    heads[supervisor[supervisor >= 0]] = True
    return float(values[~heads].mean()) if (~heads).any() else float("nan")


def _reorder(state: AgencyState, order: np.ndarray) -> None:
    """Move people between posts: every person-level array follows its person."""
    n = state.n
    state.wf = state.wf.moved(order)
    state.people.take(order)
    traits = state.traits
    lenient = traits.leniency.copy()
    lenient[:n] = lenient[:n][order]
    state.traits = replace(traits, leniency=lenient, profile=traits.profile[order],
                           collusive=traits.collusive[order])  # fmt: skip
    state.absence_rate = state.absence_rate[order]
    state.set_pay_basis(state.pay_predikat[order], state.pay_score[order])
    if state.training is not None:
        state.training = state.training.reordered(order)
    if state.careers is not None:
        state.careers = state.careers.reordered(order)


def _hire(
    state: AgencyState, world: Scenario, positions: np.ndarray, hires, month: int, streams
) -> None:
    """New people in ``positions``: their own traits, state, absence and history.

    A hire's person id is ``n x (month + 1) + post``: stable across policy arms, and the
    key of the hire's own draws (traits, behaviour, absence rate).
    """
    k = len(positions)
    state.wf = state.wf.with_hires(positions, hires)
    person = state.wf.n * (month + 1) + np.asarray(positions, dtype=np.int64)
    state.people.put(positions, draw_people(hires.openness, world,
                                            rng=_keyed(streams, state, "behaviour"),
                                            initial=False, person=person))  # fmt: skip
    new = draw_traits(k, world.raters, rng=_keyed(streams, state, "raters"), person=person)
    lenient, profile = state.traits.leniency.copy(), state.traits.profile.copy()
    lenient[positions], profile[positions] = new.leniency[:k], new.profile
    state.traits = replace(state.traits, leniency=lenient, profile=profile)
    att = world.attendance
    shape = att.heterogeneity_shape
    state.absence_rate = state.absence_rate.copy()
    state.absence_rate[positions] = gammas(
        _keyed(streams, state, "attendance"), person, shape, att.absence_days_per_month / shape
    )
    predikat_, score = state.pay_predikat.copy(), state.pay_score.copy()
    predikat_[positions], score[positions] = BAIK, 0.0
    state.set_pay_basis(predikat_, score)
    if state.training is not None:
        state.training = state.training.with_new_people(positions)


# -- careers: promotion into positions at the year's close -----------------------------------

#: Level of each job type on the default position ladder (``domain.JOB_TYPES`` order):
#: pelaksana and fungsional 0, pengawas 1, administrator 2, JPT 3.
JOB_TYPE_LEVEL = np.array([3, 2, 1, 0, 0], dtype=np.int64)
JOB_FUNGSIONAL = JOB_TYPES.index("fungsional")


def post_levels(state: AgencyState, ladder: tuple[int, ...]) -> np.ndarray:
    """Each post's level: the job-type ladder, or ``ladder`` posts per level by kelas.

    With a ``ladder`` (posts per level, bottom first, summing to the agency's posts) the
    posts of highest kelas jabatan (then highest job type, then lowest index) form the top.
    """
    wf = state.wf
    if not ladder:
        return JOB_TYPE_LEVEL[wf.job_type]
    if sum(ladder) != wf.n:
        raise ConfigError(
            f"careers.ladder: {sum(ladder)} posts for agency {state.name!r} of {wf.n}; "
            "allowed: posts per level summing to the agency's employees"
        )
    order = np.lexsort((np.arange(wf.n), wf.job_type, -wf.kelas.astype(np.int64)))
    level = np.empty(wf.n, dtype=np.int64)
    level[order] = np.repeat(np.arange(len(ladder))[::-1], ladder[::-1])
    return level


def promote(
    state: AgencyState,
    policy: Policy,
    *,
    year: int,
    hired: np.ndarray,
    codes: np.ndarray,
    streams: Streams,
) -> tuple[AgencyState, StepOut]:
    """Careers at the year's close: positions, kenaikan pangkat, the tournament's year.

    After the flows, under the policy's ``careers`` lever: the year's pangkat records are
    brought up to date (:func:`_pangkat_year`, before anyone moves: ``codes`` are the
    year's predikat by post), vacancies in positions are filled by the promotion rule
    (:func:`_fill_positions`), then the PNS whose years in pangkat and Baik years meet the
    kenaikan pangkat rule rise one golongan step (:func:`_kenaikan_pangkat`), and the
    year's tournament prizes are summed up. Each part only when the lever has it.
    """
    lever = policy.careers
    wf = state.wf
    if state.careers is None:
        # Years in level are not known at the start: years of service stand for them.
        state.careers = CareerState(
            post_levels(state, lever.ladder), np.where(hired, 0.0, wf.tenure_years), ~hired
        )
    else:
        state.careers.years_in_level = np.where(hired, 0.0, state.careers.years_in_level + 1.0)
        state.careers.original = state.careers.original & ~hired
    metrics: dict[str, float] = {}
    if lever.kenaikan_pangkat is not None:
        _pangkat_year(state, lever.kenaikan_pangkat, hired=hired, codes=codes)
    if lever.promotion is not None:
        state, out = _fill_positions(
            state, lever, year=year, hired=hired, codes=codes, streams=streams
        )
        metrics.update(out.metrics)
    if lever.kenaikan_pangkat is not None:
        metrics.update(_kenaikan_pangkat(state, lever.kenaikan_pangkat))
    if _tournament_on(policy) is not None:
        metrics.update(_tournament_year(state))
    return state, StepOut(metrics)


def _fill_positions(
    state: AgencyState,
    lever,
    *,
    year: int,
    hired: np.ndarray,
    codes: np.ndarray,
    streams: Streams,
) -> tuple[AgencyState, StepOut]:
    """Fill this year's vacancies in positions by the lever's promotion rule.

    After the flows, the posts of the year's leavers hold entrants (``hired``). Here they
    are vacancies: filled top down by :func:`simlib.world.careers.fill_top_down` from the
    level below, reading the year's hasil-kerja ratings (the ones pay reads, so the
    raters' biases carry up the ladder, plus the lever's ``rating_bias_men_sd``); every
    promoted person leaves a vacancy one level down; the entrants take what is left,
    lowest levels first. People move between posts with everything they carry
    (:func:`_reorder`); a post's kelas jabatan, unit and superior stay with the post.
    ``codes`` are the year's predikat (by post, before the moves). Draws: stream
    ``careers``, keyed by person and year.
    """
    wf = state.wf
    n = wf.n
    cs = state.careers
    levels_n = int(cs.post_level.max()) + 1
    posts = np.bincount(cs.post_level, minlength=levels_n)
    sums = state.year_sums
    q = max(state.quarters_in_year, 1)
    rating = sums["hasil_rating"] / q + lever.rating_bias_men_sd * ~wf.female
    level = np.where(hired, -1, cs.post_level)
    people = C.People(
        ids=state.people.person, rating=rating, years_in_level=cs.years_in_level,
        female=wf.female, competence=wf.competence,
    )  # fmt: skip
    filled = C.fill_top_down(
        level, posts, people, rule=lever.promotion, year=year,
        rng=_keyed(streams, state, "careers"),
        boxes=talent_boxes()[0] if lever.promotion.rule == "talent_pool" else None,
    )  # fmt: skip
    promoted = filled.promoted
    # Women minus men, predikat codes best first: positive when women are rated worse.
    predikat_gap = -C.group_gap(codes.astype(np.float64), wf.female)
    waited = C.years_waited(cs.years_in_level, promoted)
    accuracy = C.promotion_accuracy(promoted, wf.competence, filled.candidates)
    # Posts left by the promoted and by the leavers, filled by the promoted one level up.
    order = np.arange(n)
    vacated = hired | promoted
    left = []
    for k in range(levels_n - 1, -1, -1):
        free = np.flatnonzero(vacated & (cs.post_level == k))
        incoming = np.flatnonzero(promoted & (filled.level == k))
        order[free[: len(incoming)]] = incoming
        left.append(free[len(incoming) :])
    rest = np.sort(np.concatenate(left)) if left else np.empty(0, dtype=np.int64)
    # What promotion did not fill goes to the year's entrants, lowest levels first.
    rest = rest[np.argsort(cs.post_level[rest], kind="stable")]
    order[rest] = np.flatnonzero(hired)
    cs.years_in_level = np.where(promoted, 0.0, cs.years_in_level)
    if promoted.any():
        _reorder(state, order)
    cs = state.careers
    wf = state.wf
    female = wf.female
    metrics = {
        "promotions": float(promoted.sum()),
        "promotion_accuracy": accuracy,
        "years_to_promotion": waited,
        "promotion_pay_gap_idr": C.group_gap(sums["paid"], female),
        "promotion_predikat_gap": predikat_gap,
        "original_share": float(cs.original.mean()),
    }
    share = C.share_by_level(cs.post_level, female, CAREER_LEVELS)
    competence = C.mean_by_level(cs.post_level, wf.competence, CAREER_LEVELS)
    for k in range(CAREER_LEVELS):
        metrics[f"women_share_level_{k + 1}"] = float(share[k])
        metrics[f"competence_level_{k + 1}"] = float(competence[k])
    return state, StepOut(metrics)


# -- careers: kenaikan pangkat at the year's close, the tournament's year ---------------------

#: Years between rises assumed when placing the workforce on the golongan steps at the start
#: (the KP reguler period of PP 99/2000, ``kenaikan_pangkat.csv`` row ``reguler``).
_ENTRY_RULE = "reguler"
#: Baik years assumed before the run for the people of the workforce at the start (99.7 %
#: of appraisals are Baik or better, facts 1.9; M): enough for any rule.
BAIK_YEARS_BEFORE_RUN = 10
#: Structural post of each job type (``domain.JOB_TYPES`` order) in the struktural ladder
#: of ``position_levels.csv`` (a JPT post taken as JPT pratama; M).
_STRUCTURAL_POST = ("jpt_pratama", "administrator", "pengawas", "", "")


@dataclass(frozen=True)
class _KPTables:
    """What kenaikan pangkat reads from the regulation tables, as arrays."""

    group_steps: np.ndarray  # (4, 2): first and last step of golongan groups I-IV
    group_of_step: np.ndarray  # (17,): group 0-3 of each step
    post_min: np.ndarray  # (job types,): lowest step of the job type's post, -1: none
    post_max: np.ndarray
    coefficient: np.ndarray  # (17,): JF keahlian angka kredit a year at each step, 0: none
    credit_needed: np.ndarray  # (17,): angka kredit for the step from each golongan
    keahlian_from: int  # lowest step of the JF keahlian ladder
    period_years: float


def _kp_tables() -> _KPTables:
    """The tables kenaikan pangkat reads (from the run's inputs: ``tables.reading``)."""
    ladder = golongan_ladder()
    group_of_step = np.array([GOLONGAN.index(code.split("/")[0]) for code in ladder])
    steps = np.arange(len(ladder))
    group_steps = np.array(
        [[steps[group_of_step == g].min(), steps[group_of_step == g].max()]
         for g in range(len(GOLONGAN))]
    )  # fmt: skip
    struktural = {level.level: level for level in position_ladders()["struktural"]}
    post_min = np.array([struktural[p].golongan_min if p else -1 for p in _STRUCTURAL_POST])
    post_max = np.array([struktural[p].golongan_max if p else -1 for p in _STRUCTURAL_POST])
    coefficient = np.zeros(len(ladder))
    keahlian = position_ladders()["fungsional_keahlian"]
    for level in keahlian:
        coefficient[level.golongan_min : level.golongan_max + 1] = level.angka_kredit_per_year
    return _KPTables(
        group_steps, group_of_step, post_min, post_max, coefficient, angka_kredit_kp(),
        min(level.golongan_min for level in keahlian),
        kenaikan_pangkat_rules()[_ENTRY_RULE].min_years_in_pangkat,
    )  # fmt: skip


def _entry_pangkat(state: AgencyState, posts: np.ndarray, kt: _KPTables):
    """Step, years in pangkat and cap of the people in ``posts`` placed on the ladder."""
    wf = state.wf
    return C.pangkat_at_entry(
        wf.golongan[posts], wf.tenure_years[posts], group_steps=kt.group_steps,
        education_caps=education_caps(), period_years=kt.period_years,
    )  # fmt: skip


def _pangkat_year(state: AgencyState, rule, *, hired: np.ndarray, codes: np.ndarray) -> None:
    """The year's pangkat records, before anyone moves: years, Baik years, angka kredit.

    At the first close the workforce is placed on the golongan steps
    (:func:`simlib.world.careers.pangkat_at_entry`); each year after, everyone's years in
    pangkat grow by one and the year's entrants (``hired``) are placed the same way, with no
    Baik years yet. The year's predikat (``codes``, by post: a hired post's belong to the
    leaver) extend or break each person's run of Baik years; a JF holder earns the year's
    angka kredit (:func:`simlib.world.careers.angka_kredit_earned`).
    """
    kt = _kp_tables()
    cs, wf = state.careers, state.wf
    everyone = np.arange(wf.n)
    if cs.pangkat is None:
        step, years, cap = _entry_pangkat(state, everyone, kt)
        before = np.where(hired, 0, BAIK_YEARS_BEFORE_RUN)
        # A JF holder's credit so far: the years in pangkat at a Baik year's credit (M).
        credit = np.where(wf.job_type == JOB_FUNGSIONAL, years * kt.coefficient[step], 0.0)
        cs.pangkat = PangkatState(step, years, before, credit, cap)
        earned = np.zeros(wf.n)
    else:
        pk = cs.pangkat
        pk.years_in_pangkat = pk.years_in_pangkat + 1.0
        new = np.flatnonzero(hired)
        if len(new):
            step, years, cap = _entry_pangkat(state, new, kt)
            pk.golongan[new], pk.years_in_pangkat[new], pk.cap[new] = step, years, cap
            pk.baik_years[new], pk.angka_kredit[new] = 0, 0.0
        jf = (wf.job_type == JOB_FUNGSIONAL) & ~hired
        earned = np.where(
            jf, C.angka_kredit_earned(codes, kt.coefficient[pk.golongan], rule=rule), 0.0
        )
    pk = cs.pangkat
    pk.baik_years = np.where(hired, pk.baik_years, C.predikat_streak(pk.baik_years, codes))
    pk.angka_kredit = pk.angka_kredit + earned


def _kenaikan_pangkat(state: AgencyState, rule) -> dict[str, float]:
    """One golongan step up for the PNS who meet the rule, in the posts they now hold.

    Routes (:func:`simlib.world.careers.kp_routes`): holders of a structural post (by job
    type: pengawas, administrator, JPT) under KP pilihan with the post's pangkat range and
    their years in the post (years in level); JF holders from the JF keahlian ladder's
    lowest golongan under the JF rule (angka kredit of the step, spent when they rise);
    everyone else under KP reguler, capped by ``rule.cap`` (the education cap, or also the
    direct superior's golongan). PPPK have no pangkat. Gaji pokok then follows each PNS's
    golongan group (``gaji_pokok.csv``). Returns the year's kenaikan pangkat outcomes.
    """
    kt = _kp_tables()
    cs, wf = state.careers, state.wf
    pk = cs.pangkat
    pns = ~wf.pppk
    post_min, post_max = kt.post_min[wf.job_type], kt.post_max[wf.job_type]
    route = C.kp_routes(
        post_min >= 0, (wf.job_type == JOB_FUNGSIONAL) & (pk.golongan >= kt.keahlian_from),
        pns, rule=rule,
    )  # fmt: skip
    superior = None
    if rule.cap == "superior":
        top = C.GOLONGAN_STEPS - 1
        superior = np.where(wf.supervisor >= 0, pk.golongan[np.maximum(wf.supervisor, 0)], top)
    cap = C.kp_cap(rule, education_cap=pk.cap, superior=superior)
    eligible = C.kp_round(
        pk.golongan, route, years_in_pangkat=pk.years_in_pangkat, baik_years=pk.baik_years,
        cap=cap, years_in_post=cs.years_in_level, post_min=post_min, post_max=post_max,
        angka_kredit=pk.angka_kredit, credit_needed=kt.credit_needed, rule=rule,
    )  # fmt: skip
    golongan, rose = C.kenaikan_pangkat(pk.golongan, eligible)
    jf_rose = rose & (route == C.KP_ROUTES.index("fungsional"))
    need = np.nan_to_num(kt.credit_needed[pk.golongan])
    pk.angka_kredit = np.where(jf_rose, pk.angka_kredit - need, pk.angka_kredit)
    pk.years_in_pangkat = np.where(rose, 0.0, pk.years_in_pangkat)
    pk.golongan = golongan
    table = gaji_pokok()
    state.gaji = np.where(wf.pppk, table[wf.golongan], table[kt.group_of_step[golongan]])
    female = wf.female
    reguler = route == C.KP_ROUTES.index("reguler")
    rises = int(rose.sum())
    return {
        "kp_promotions": float(rose[pns].mean()) if pns.any() else math.nan,
        "kp_pilihan_share": float((rose & ~reguler).sum() / rises) if rises else math.nan,
        "kp_at_cap_share": (
            float(np.mean(golongan[reguler] >= cap[reguler])) if reguler.any() else math.nan
        ),
        "mean_golongan_step": float(golongan[pns].mean() + 1) if pns.any() else math.nan,
        "golongan_gap_sex": C.group_gap(golongan.astype(np.float64), female, pns),
        "kp_promotion_gap_sex": C.group_gap(rose.astype(np.float64), female, pns),
        "mean_gaji_pokok_idr": float(state.gaji[pns].mean()) if pns.any() else math.nan,
    }


def _tournament_year(state: AgencyState) -> dict[str, float]:
    """The year's tournament prizes (IDR awarded, before absence and cap cuts), by post.

    Read with the year's sums by post (the holder during the year), so the correlation
    with true results pairs each prize with the results of whoever won it.
    """
    sums = state.year_sums
    prize, q = sums["prize"], max(state.quarters_in_year, 1)
    return {
        "tournament_prizes_idr": float(prize.sum()),
        "tournament_prize_performance_corr": correlation(prize, sums["hasil_true"] / q),
        "tournament_prize_gap_sex_idr": C.group_gap(prize, state.wf.female),
    }


# -- the run's close ---------------------------------------------------------------------------


def close_run(state: AgencyState, *, months: int) -> tuple[AgencyState, StepOut]:
    """Run-level outcomes after ``months``: months to 50 % and 80 % adoption (NaN if never)."""
    path = np.asarray(state.adoption_by_month)

    def months_to(level: float) -> float:
        hit = np.flatnonzero(path >= level)
        return float(hit[0] + 1) if len(hit) else float("nan")

    half, most = months_to(0.5), months_to(0.8)
    t = months
    return state, StepOut(
        {
            "months_to_50pct_adoption": half,
            "months_to_80pct_adoption": most,
            # Restricted to the run: a run that never gets there counts its length, so that
            # arms can be compared even when the baseline never reaches the level.
            "months_to_50pct_restricted": min(half, t) if np.isfinite(half) else float(t),
            "months_to_80pct_restricted": min(most, t) if np.isfinite(most) else float(t),
            "reached_50pct_adoption": float(np.isfinite(half)),
            "reached_80pct_adoption": float(np.isfinite(most)),
            "adoption_at_horizon": float(path[-1]) if len(path) else float("nan"),
        }
    )
