"""The engine: agencies on a SimPy calendar, employees as numpy arrays.

:func:`simulate` runs one replication of a scenario under a policy (or a schedule of
policies) and returns a :class:`RunResult` of tidy frames. It does no file output, no
printing and no plotting.

Each agency is one SimPy process, its *calendar*, which at every month boundary ``t``
(months since the start date) does, in this order:

1. **payroll** for month ``t-1``: tukin due by predikat in force, absence cuts, budget cap;
2. at a quarter end: **appraisal** of the quarter (ratings -> levels -> predikat);
3. at a year end: **annual predikat** (organisation predikat, distribution curve) and the
   close of the budget year;
4. then, if the run goes on: a new **budget year** opens (January) and a new **quarter**
   starts, with effort and true performance for it.

The policy in force in each month comes from the :class:`~simlib.params.policy.PolicySchedule`,
so a variant with an effective date changes the rules from that month on. Every step is a
vectorised function over the agency's employees; there is no per-employee process and no
Python loop over employees.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import simpy

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
from simlib.core.domain import JOB_TYPES, ORG_PREDIKAT, PREDIKAT
from simlib.core.streams import Keyed, Streams, gammas, poissons, uniforms
from simlib.engine.outcomes import (
    OUTCOME_COLUMNS,
    chance_misclassification,
    correlation,
    gini,
    implied_predikat,
    misclassification,
    predikat_shares,
)
from simlib.engine.services import (
    expected_bonus_share,
    run_campaign,
    team_incentive_idr,
)
from simlib.engine.training import TrainingState, effective_competence
from simlib.engine.training import run_quarter as run_training_quarter
from simlib.params.campaign import campaign_months, load_campaign
from simlib.params.policy import Policy, PolicySchedule
from simlib.params.scenario import AgencySpec, Scenario
from simlib.params.tables import distribution_curve, gaji_pokok, predikat_matrix
from simlib.params.training import load_training
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
    closeness_to_superior,
    BERAKHLAK,
    RATING_RULES,
    RatingContext,
    Ratings,
    RatingTable,
    draw_traits,
    halo_index,
)
from simlib.world.flows import SANGAT_KURANG, hire, leavers, transfer_order
from simlib.world.workforce import Workforce, generate, read_org_csv

__all__ = ["Agency", "RunResult", "build_agencies", "build_workforce", "simulate"]

BAIK = PREDIKAT.index("baik")
LEDGER_COLUMNS = (
    "agency", "month", "t_month", "year", "policy", "employees", "entitled_idr",
    "performance_cut_idr", "absence_cut_idr", "due_idr", "cap_cut_idr", "paid_idr",
    "budget_cap_idr", "budget_spent_ytd_idr", "team_incentive_idr", "training_cost_idr",
    "change_cost_idr",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class RunResult:
    """Tables produced by one replication.

    Attributes
    ----------
    outcomes
        Declared outcomes, long format: one row per agency, period and metric.
    ledger
        Payments ledger: one row per agency and month (IDR).
    workforce
        Employees at the start of the run, one row per agency and employee.
    panel
        Opt-in employee panel: one row per employee and quarter.
    employee_ledger
        Opt-in payments by employee and month.
    ratings
        Opt-in long-format multi-source ratings with the true scores beside them.
    meta
        Seed, replication, scenario and policy names.
    """

    outcomes: pd.DataFrame
    ledger: pd.DataFrame
    workforce: pd.DataFrame
    panel: pd.DataFrame | None = None
    employee_ledger: pd.DataFrame | None = None
    ratings: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Recorder:
    """Plain lists that processes append to; frames are built once at the end."""

    outcomes: list[tuple] = field(default_factory=list)
    ledger: list[tuple] = field(default_factory=list)
    panel: list[dict[str, np.ndarray]] = field(default_factory=list)
    employee_ledger: list[dict[str, np.ndarray]] = field(default_factory=list)
    ratings: list[tuple[str, str, int, RatingTable]] = field(default_factory=list)


def build_workforce(scenario: Scenario, spec: AgencySpec, *, rng: np.random.Generator) -> Workforce:
    """The agency's employees: generated from its structure or read from its CSV."""
    if spec.structure is not None:
        return generate(spec.structure, scenario.workforce, rng=rng)
    return read_org_csv(scenario.resolve(spec.org_csv), scenario.workforce, rng=rng)


class Agency:
    """One simulated agency: its employees, budget, and calendar process.

    Parameters
    ----------
    index
        Position of the agency in the scenario (part of its random-stream keys).
    spec, workforce
        The agency's description and its employees.
    scenario, schedule
        The world and the policy in force month by month.
    streams
        Random streams of this replication.
    """

    def __init__(
        self,
        *,
        index: int,
        spec: AgencySpec,
        workforce: Workforce,
        scenario: Scenario,
        schedule: PolicySchedule,
        streams: Streams,
        recorder: _Recorder,
    ) -> None:
        self.index, self.name, self.wf = index, spec.name, workforce
        self.scenario, self.schedule, self.streams, self.rec = scenario, schedule, streams, recorder
        n = workforce.n
        self.traits = draw_traits(n, scenario.raters, rng=self._rng("raters"))
        att = scenario.attendance
        shape = att.heterogeneity_shape
        self.absence_rate = self._rng("attendance").gamma(
            shape, att.absence_days_per_month / shape, n
        )
        self.is_head = workforce.supervisor < 0
        self.initial_wf, self.initial_absence_rate = workforce, self.absence_rate
        self.people = draw_people(workforce.openness, scenario, rng=self._rng("behaviour"))
        self.gaji = gaji_pokok()[workforce.golongan]
        self.valence = np.zeros(n)
        self._q_paid, self._q_entitled = np.zeros(n), np.zeros(n)
        self._socialisation_left_idr = 0.0
        self._adoption_by_month: list[float] = []
        self.pay_predikat = np.full(n, BAIK, dtype=np.int8)  # before the first appraisal
        self.pay_score = np.zeros(n)
        self._rank_cache: np.ndarray | None = None
        self.effort = self.hasil_true = self.perilaku_true = np.zeros(n)
        self.budget = BudgetYear(0.0)
        self._setup_campaign(spec)
        self.training_plan = None
        if spec.training is not None:
            self.training_plan = load_training(scenario.resolve(spec.training))
            self.training_state = TrainingState.start(workforce.n, self.training_plan)
        self._training_cost_idr = 0.0
        self._year_sums: dict[str, np.ndarray] = {}
        self._quarter_money = np.zeros(3)
        self._socialised_this_quarter = 0
        self._skp_compliance = float("nan")
        self._quarters_in_year = 0

    # -- the calendar -------------------------------------------------------------------

    def calendar(self, env: simpy.Environment):
        """SimPy process: the agency's month boundaries until the horizon."""
        self.open_year(0)
        self.start_quarter(0)
        self._maybe_start_campaign(0)
        for t in range(1, self.scenario.calendar.horizon_months + 1):
            yield env.timeout(1)
            self.tick(t)

    def tick(self, t: int) -> None:
        """Everything that happens at month boundary ``t``, in the documented order."""
        self.pay(t - 1)
        if t % 3 == 0:
            self.appraise(t // 3 - 1)
        if t % 12 == 0:
            self.close_year(t // 12 - 1)
        if t == self.scenario.calendar.horizon_months:
            self.close_run(t)
            return
        if t % 12 == 0:
            self.open_year(t // 12)
        if t % 3 == 0:
            self.start_quarter(t // 3)
        self._maybe_start_campaign(t)

    # -- steps ---------------------------------------------------------------------------

    def open_year(self, year: int) -> None:
        """Open budget year ``year`` (0-based): cap from the policy in force in January."""
        policy = self.schedule.at(12 * year)
        entitled = entitlement(self.wf.kelas, policy.incentives)
        self.budget = BudgetYear.open(float(entitled.sum()), policy.budget)
        self._socialisation_left_idr = policy.change_management.socialisation.budget_idr_per_year
        n = self.wf.n
        self._year_sums = {
            k: np.zeros(n)
            for k in ("entitled", "due", "paid", "hasil_rating", "perilaku_rating", "hasil_true",
                      "perilaku_true")
        }  # fmt: skip
        self._quarters_in_year = 0

    def _setup_campaign(self, spec: AgencySpec) -> None:
        """Load the agency's campaign; its posts are staffed by the staff units in turn."""
        self.campaign = None
        self.campaign_result = None
        self.campaign_bonus_idr = 0.0
        self.spec_campaign = spec.campaign
        if spec.campaign is None:
            return
        self.campaign = load_campaign(self.scenario.resolve(spec.campaign.file))
        self.campaign_start = spec.campaign.start_month
        self.campaign_end = self.campaign_start + campaign_months(self.campaign)
        staff_units = np.unique(self.wf.unit[self.wf.job_type >= JOB_TYPES.index("fungsional")])
        posts = self.campaign.posts.count
        self.post_unit = staff_units[np.arange(posts) % len(staff_units)]
        self.campaign_staff = np.isin(self.wf.unit, self.post_unit)

    def train(self, quarter: int, month: int, policy: Policy) -> np.ndarray | None:
        """A quarter of training (SimPy seats); returns effective competence, or None."""
        plan = self.training_plan
        if plan is None:
            return None
        room = math.inf
        if policy.budget.training_from_tukin_budget:
            # One budget: courses start only as far as the tukin budget has money released
            # and unspent this month, so tukin plus training never exceeds the cap.
            room = max(self.budget.available(month % 12) - self._training_cost_idr, 0.0)
        self.training_state, report = run_training_quarter(
            plan,
            self.training_state,
            self.wf.competence,
            ~self.wf.pppk,  # the 20 JP rule of PP 11/2017 binds PNS
            quarter=quarter,
            rng=self._keyed("training", month),
            predikat=self.pay_predikat,
            job_type=self.wf.job_type,
            person=self.people.person,
            spend_limit_idr=room,
        )
        self._training_cost_idr += report.cost_idr
        competence = effective_competence(self.wf.competence, self.training_state)
        metrics = {
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
        self._record("training", self._quarter_label(quarter), month, policy, metrics)
        return competence

    def _with_objective_part(self, hasil: np.ndarray, quarter: int) -> np.ndarray:
        """Campaign staff's hasil kerja partly from measured coverage, while it runs.

        The objective score is (coverage − target) / coverage_uncertainty, in SD units and
        clipped to ±3: the scale on which staff judge the target's attainability.
        """
        link = self.spec_campaign
        result = self.campaign_result
        if link is None or result is None or link.objective_weight == 0:
            return hasil
        first, last = 3 * quarter, 3 * quarter + 2
        if last < self.campaign_start or first >= self.campaign_end:
            return hasil
        inc = self.campaign.incentive
        objective = np.clip((result.coverage - inc.target_coverage) / inc.coverage_uncertainty,
                            -3.0, 3.0)  # fmt: skip
        w = link.objective_weight
        return np.where(self.campaign_staff, (1 - w) * hasil + w * objective, hasil)

    def _team_stake(self, month: int, policy: Policy) -> np.ndarray | float:
        """Expected campaign bonus over annual tukin, for the campaign's staff, when it is on."""
        if self.campaign is None or not (
            self.campaign_start <= month + 2 and month < self.campaign_end
        ):
            return 0.0
        annual = 12.0 * (entitlement(self.wf.kelas, policy.incentives) + self.gaji)
        bonus = self.campaign.incentive.bonus_idr_per_staff * expected_bonus_share(self.campaign)
        with np.errstate(divide="ignore"):
            return np.where(self.campaign_staff & (annual > 0), bonus / annual, 0.0)

    def _maybe_start_campaign(self, month: int) -> None:
        if self.campaign is not None and month == self.campaign_start:
            self.hold_campaign(month)

    def hold_campaign(self, month: int) -> None:
        """Run the campaign citizen by citizen; post performance = its unit's mean this quarter."""
        counts = np.bincount(self.wf.unit)
        unit_mean = np.bincount(self.wf.unit, weights=self.hasil_true) / np.maximum(counts, 1)
        result = run_campaign(
            self.campaign,
            staff_performance=unit_mean[self.post_unit],
            rng=self._rng("arrivals", month),
        )
        self.campaign_result = result
        # The bonus goes to every staff member of the units that ran the posts.
        self.campaign_bonus_idr = team_incentive_idr(
            self.campaign.incentive, coverage=result.coverage, staff=int(self.campaign_staff.sum())
        )
        metrics = {
            "campaign_coverage": result.coverage,
            "campaign_vaccinated": float(result.vaccinated),
            "campaign_abandoned": float(result.abandoned),
            "campaign_mean_wait_min": result.mean_wait_min,
            "campaign_p90_wait_min": result.p90_wait_min,
            "campaign_target_met": float(result.target_met),
            "team_incentive_idr": self.campaign_bonus_idr,
        }
        label = f"{self._month_label(month)} {self.campaign.name}"
        self._record("campaign", label, self.campaign_end - 1, self.schedule.at(month), metrics)

    def start_quarter(self, quarter: int) -> None:
        """Effort and true performance for quarter ``quarter`` (0-based)."""
        month = 3 * quarter
        policy = self.schedule.at(month)
        beh = self.scenario.behaviour
        tukin = entitlement(self.wf.kelas, policy.incentives)
        self.valence = valence(pay_at_stake(policy), tukin, self.gaji)
        response = np.asarray(beh.state_response.as_tuple())[self.people.state]
        self.effort = effort(
            self.wf,
            beh,
            stake=self.valence,
            instrumentality=self.people.instrumentality,
            team_stake=self._team_stake(month, policy),
            response=response,
        )
        competence = self.train(quarter, month, policy)
        self.hasil_true, self.perilaku_true = true_performance(
            self.wf,
            self.effort,
            self.scenario.performance,
            rng=self._keyed("performance", month),
            competence=competence,
            person=self.people.person,
        )
        self._quarter_money[:] = 0.0
        self._q_paid[:] = 0.0
        self._q_entitled[:] = 0.0

    def pay(self, month: int) -> None:
        """Monthly payroll: tukin due, absence and performance cuts, the budget cap."""
        policy = self.schedule.at(month)
        inc = policy.incentives
        entitled = entitlement(self.wf.kelas, inc)
        absence = poissons(self._keyed("attendance", month), self.people.person, self.absence_rate)
        due_idr, performance_cut = due(entitled, self.pay_predikat, absence, inc)
        training_cost, self._training_cost_idr = self._training_cost_idr, 0.0
        if policy.budget.training_from_tukin_budget:
            # One budget: what training spent this month is no longer there for tukin.
            self.budget.spent_idr += training_cost
        available = self.budget.available(month % 12)
        rule = policy.budget.over_cap_rule
        over = rule == "rank_order" and due_idr.sum() > available
        # The payment order is only needed when the money runs short.
        paid = apply_cap(due_idr, available, rule=rule, rank=self._pay_rank() if over else None)
        team = self._team_incentive(month)
        change_cost = self._manage_change(month, policy, entitled, paid)
        total_entitled, total_due, total_paid = entitled.sum(), due_idr.sum(), paid.sum()
        self.budget.spent_idr += total_paid
        sums = self._year_sums
        sums["entitled"] += entitled
        sums["due"] += due_idr
        sums["paid"] += paid
        self._q_paid += paid
        self._q_entitled += entitled
        self._quarter_money += (total_entitled, total_due, total_paid)
        perf_cut = performance_cut.sum()
        self.rec.ledger.append(
            (
                self.name, self._month_label(month), month, self._year_label(month // 12),
                policy.name, self.wf.n, total_entitled, perf_cut,
                total_entitled - perf_cut - total_due, total_due, total_due - total_paid,
                total_paid, self.budget.cap_idr, self.budget.spent_idr, team.sum(), training_cost,
                change_cost,
            )
        )  # fmt: skip
        if self.scenario.outputs.employee_ledger:
            self.rec.employee_ledger.append(
                {
                    "agency": np.full(self.wf.n, self.name, dtype=object),
                    "t_month": np.full(self.wf.n, month),
                    "employee": np.arange(self.wf.n),
                    "person": self.people.person.copy(),
                    "predikat": self.pay_predikat.copy(),
                    "absence_days": absence,
                    "entitled_idr": entitled,
                    "due_idr": due_idr,
                    "paid_idr": paid,
                    "team_incentive_idr": team,
                }
            )

    def _team_incentive(self, month: int) -> np.ndarray:
        """The campaign's team bonus, shared equally by its units' staff in its last month."""
        team = np.zeros(self.wf.n)
        if self.campaign_result is not None and month == self.campaign_end - 1:
            share = self.campaign_bonus_idr / max(int(self.campaign_staff.sum()), 1)
            team[self.campaign_staff] = share
        return team

    def _manage_change(
        self, month: int, policy: Policy, entitled: np.ndarray, paid: np.ndarray
    ) -> float:
        """Socialisation sessions, SKP audit costs, and a month of adoption transitions.

        Returns the month's change-management cost (IDR): participants x cost per
        participant, plus, in a quarter's last month, the SKP audits of the quarter.
        """
        cm = policy.change_management
        people = self.people
        reached, cost = socialise(
            people, cm, self._socialisation_left_idr, rng=self._keyed("socialisation", month)
        )
        self._socialisation_left_idr -= cost
        self._socialised_this_quarter += reached
        if month % 3 == 2:
            cost += round(cm.audit_share * self.wf.n) * cm.audit_cost_idr_per_skp
        take_home = entitled + self.gaji
        with np.errstate(divide="ignore", invalid="ignore"):
            change = np.where(
                np.isfinite(people.last_paid) & (take_home > 0),
                (paid - people.last_paid) / take_home,
                0.0,
            )
        # The reference point adapts slowly: a lasting cut is felt as a loss for months.
        alpha = self.scenario.adoption.reference_adaptation
        people.last_paid = np.where(
            np.isfinite(people.last_paid), people.last_paid + alpha * (paid - people.last_paid),
            paid,
        )  # fmt: skip
        adoption_step(
            people, self.wf.unit, self.scenario.adoption, pay_change=change,
            rng=self._keyed("adoption", month),
        )  # fmt: skip
        self._adoption_by_month.append(float(np.mean(people.state == ADOPTING)))
        return cost

    def appraise(self, quarter: int) -> None:
        """Periodic appraisal of quarter ``quarter``: ratings, levels, predikat."""
        month = 3 * quarter + 2
        policy = self.schedule.at(month)
        ap = policy.appraisal
        cm = policy.change_management
        people = self.people
        multi = ap.rater == "multi_source"
        colluding_share, easing_share = gaming_shares(
            self.scenario.gaming,
            self.scenario.raters.multi_source.collusion_share,
            stake=float(self.valence.mean()),
            pay_linked=self._pay_linked(policy),
            severity_adjusted=ap.aggregation.rule == "severity_adjusted",
            audit_share=cm.audit_share,
        )
        colluding = people.collusion_u < colluding_share
        context = RatingContext(
            hasil_true=self.hasil_true,
            perilaku_true=self.perilaku_true,
            workforce=self.wf,
            traits=replace(self.traits, collusive=colluding),
            params=self.scenario.raters,
            pay_linked=self._pay_linked(policy),
            person=people.person,
        )
        ratings = RATING_RULES[ap.rater](context, rng=self._keyed("rating_noise", month))
        perilaku = ratings.perilaku
        if perilaku is None:
            agg = ap.aggregation
            perilaku = aggregate(
                ratings.table,
                self.wf,
                rule=agg.rule,
                weights=agg.weights.as_tuple(),
                trim_share=agg.trim_share,
            )
        hasil = self._with_objective_part(ratings.hasil_kerja, quarter)
        hasil, gaming = self._game_and_comply(hasil, policy, month, easing_share)
        ratings = Ratings(hasil, ratings.perilaku, ratings.table)
        cut = {"cutoff_below": ap.cutoff_below, "cutoff_above": ap.cutoff_above}
        h_level, p_level = levels(ratings.hasil_kerja, **cut), levels(perilaku, **cut)
        # The superior judges hasil kerja (a missing SKP is rated by rule) and, under the
        # supervisor rule, perilaku; an aggregated 360 score is not one person's judgement.
        h_level, p_level = self._reluctant(
            h_level, p_level, policy, month, slot=0,
            judged_hasil=~self._skp_missing, judged_perilaku=not multi,
        )  # fmt: skip
        matrix = predikat_matrix()
        codes = predikat(h_level, p_level, matrix)
        true_codes = predikat(levels(self.hasil_true, **cut), levels(self.perilaku_true, **cut),
                              matrix)  # fmt: skip
        true_score = composite(self.hasil_true, self.perilaku_true, skp_weight=ap.skp_weight)
        score = composite(ratings.hasil_kerja, perilaku, skp_weight=ap.skp_weight)
        accuracy = correlation(ratings.hasil_kerja, self.hasil_true)
        self._learn(ratings.hasil_kerja, policy)

        sums = self._year_sums
        sums["hasil_rating"] += ratings.hasil_kerja
        sums["perilaku_rating"] += perilaku
        sums["hasil_true"] += self.hasil_true
        sums["perilaku_true"] += self.perilaku_true
        self._quarters_in_year += 1
        if ap.pay_basis == "periodic":
            self._set_pay_basis(codes, score)

        label = self._quarter_label(quarter)
        entitled, due_q, paid_q = self._quarter_money
        metrics = {
            "mean_true_performance": float(self.hasil_true.mean()),
            "mean_effort": float(self.effort.mean()),
            "rating_accuracy": accuracy,
            **self._predikat_metrics(
                codes,
                true_codes,
                true_score,
                rated_levels=(h_level, p_level),
                true_axes=(self.hasil_true, self.perilaku_true),
                matrix=matrix,
            ),
            **self._rating_quality(perilaku, ratings.table),
            "tukin_entitled_idr": entitled,
            "tukin_due_idr": due_q,
            "tukin_paid_idr": paid_q,
            **self._behaviour_metrics(),
            "gaming_incidence": float(np.mean(gaming | (colluding if multi else False))),
            "colluding_share": float(colluding.mean()) if multi else 0.0,
            "easy_target_share": float(gaming.mean()),
            "skp_compliance": self._skp_compliance,
        }
        self._record("quarter", label, month, policy, metrics)
        if self.scenario.outputs.employee_panel:
            self.rec.panel.append(
                {
                    "agency": np.full(self.wf.n, self.name, dtype=object),
                    "period": np.full(self.wf.n, label, dtype=object),
                    "t_month": np.full(self.wf.n, month),
                    "employee": np.arange(self.wf.n),
                    "person": self.people.person.copy(),
                    "adoption_state": self.people.state.copy(),
                    "fairness": self.people.fairness.copy(),
                    "instrumentality": self.people.instrumentality.copy(),
                    "effort": self.effort,
                    "hasil_true": self.hasil_true,
                    "perilaku_true": self.perilaku_true,
                    "hasil_rating": ratings.hasil_kerja,
                    "perilaku_rating": perilaku,
                    "hasil_level": h_level,
                    "perilaku_level": p_level,
                    "predikat": codes,
                }
            )
        if self.scenario.outputs.ratings and ratings.table is not None:
            self.rec.ratings.append((self.name, label, month, ratings.table))

    def _game_and_comply(
        self, hasil: np.ndarray, policy: Policy, month: int, easing_share: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Resisting superiors' inflation, easy targets not caught by audit, missing SKP.

        Returns the hasil-kerja ratings after these and who set easy targets uncaught.
        """
        people, wf = self.people, self.wf
        ad, cm = self.scenario.adoption, policy.change_management
        u = uniforms(self._keyed("gaming", month), people.person, 2).T
        has_superior = wf.supervisor >= 0
        resisting_superior = np.zeros(wf.n, dtype=bool)
        resisting_superior[has_superior] = people.state[wf.supervisor[has_superior]] == RESISTING
        audited = u[0] < cm.audit_share
        gaming = (people.gaming_u < easing_share) & ~audited
        missing = u[1] < np.asarray(ad.skp_missing.as_tuple())[people.state]
        self._skp_missing = missing
        self._skp_compliance = float(1.0 - missing.mean())
        hasil = (
            hasil
            + ad.resisting_rater_inflation * resisting_superior
            + self.scenario.gaming.target_easing_sd * gaming
        )
        # A late or missing SKP is rated below expectation (di bawah ekspektasi).
        below = policy.appraisal.cutoff_below - 0.5
        return np.where(missing, np.minimum(hasil, below), hasil), gaming

    def _reluctant(
        self, h_level, p_level, policy: Policy, month: int, *, slot: int, judged_hasil,
        judged_perilaku,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Levels after the superiors' reluctance to rate below expectation (section 7.4).

        One uniform per person and appraisal (stream ``reluctance``: slot 0 the quarter,
        slot 1 the annual close, keyed by the appraisal month).
        """
        tukin = entitlement(self.wf.kelas, policy.incentives)
        total = tukin + self.gaji
        share = np.divide(tukin, total, out=np.zeros_like(tukin), where=total > 0)
        u = uniforms(self._keyed("reluctance", month), self.people.person, 1, first=slot)[:, 0]
        return reluctant_levels(
            h_level, p_level, matrix=predikat_matrix(), params=self.scenario.raters.reluctance,
            incentives=policy.incentives, take_home_share=share,
            closeness=closeness_to_superior(self.wf), u=u,
            judged_hasil=judged_hasil, judged_perilaku=judged_perilaku,
        )  # fmt: skip

    def _learn(self, hasil_rating: np.ndarray, policy: Policy) -> None:
        """Instrumentality and fairness from this quarter's own rating and pay."""
        people, beh, fa = self.people, self.scenario.behaviour, self.scenario.fairness
        lr = beh.instrumentality_learning_rate
        accuracy = experienced_accuracy(hasil_rating, self.hasil_true)
        people.instrumentality = np.clip(
            (1 - lr) * people.instrumentality + lr * accuracy, -1.0, 1.0
        )
        signal = fairness_signal(
            fa,
            rating=hasil_rating,
            self_view=self.hasil_true + people.self_bias,
            pay_gap=pay_gap_to_peers(self._q_paid, self._q_entitled, self.hasil_true),
            transparent=policy.change_management.transparent_indicators,
            multi_source=policy.appraisal.rater == "multi_source",
        )
        people.fairness = (1 - fa.learning_rate) * people.fairness + fa.learning_rate * signal

    def _behaviour_metrics(self) -> dict[str, float]:
        people = self.people
        state = people.state
        reached, self._socialised_this_quarter = self._socialised_this_quarter, 0
        effort_p10, effort_p90 = (float(x) for x in np.quantile(self.effort, [0.1, 0.9]))
        fairness_p10, fairness_p90 = (float(x) for x in np.quantile(people.fairness, [0.1, 0.9]))
        return {
            "effort_sd": float(self.effort.std()),
            "effort_p10": effort_p10,
            "effort_p90": effort_p90,
            "mean_instrumentality": float(people.instrumentality.mean()),
            "mean_fairness": float(people.fairness.mean()),
            "fairness_sd": float(people.fairness.std()),
            "fairness_p10": fairness_p10,
            "fairness_p90": fairness_p90,
            "unfair_share": float(np.mean(people.fairness < -0.5)),
            "adoption_share": float(np.mean(state == ADOPTING)),
            "complying_share": float(np.mean(state == COMPLYING)),
            "resisting_share": float(np.mean(state == RESISTING)),
            "socialised_share": float(people.socialised.mean()),
            "socialisation_participants": float(reached),
        }

    def close_run(self, t: int) -> None:
        """Run-level outcomes: months to 50 % and 80 % adoption (NaN if never reached)."""
        path = np.asarray(self._adoption_by_month)

        def months_to(level: float) -> float:
            hit = np.flatnonzero(path >= level)
            return float(hit[0] + 1) if len(hit) else float("nan")

        half, most = months_to(0.5), months_to(0.8)
        metrics = {
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
        self._record("run", "run", t - 1, self.schedule.at(t - 1), metrics)

    def close_year(self, year: int) -> None:
        """Annual predikat (with the distribution curve) and the close of the budget year."""
        month = 12 * year + 11
        policy = self.schedule.at(month)
        ap = policy.appraisal
        q = max(self._quarters_in_year, 1)
        sums = self._year_sums
        hasil, perilaku = sums["hasil_rating"] / q, sums["perilaku_rating"] / q
        hasil_true, perilaku_true = sums["hasil_true"] / q, sums["perilaku_true"] / q

        if ap.organisation_predikat == "derived":
            noise = self.scenario.organisation.achievement_noise_sd
            shock = self._rng("organisation", month).standard_normal()
            org = org_predikat(float(hasil_true.mean()) + noise * shock, ap.org_cutoffs)
        else:
            org = ORG_PREDIKAT.index(ap.organisation_predikat)

        cut = {"cutoff_below": ap.cutoff_below, "cutoff_above": ap.cutoff_above}
        h_level = levels(hasil, **cut)
        # The head's hasil kerja is the organisation's achievement (PermenPANRB 6/2022).
        h_level[self.is_head] = 2 if org == 0 else (1 if org == 1 else 0)
        matrix = predikat_matrix()
        p_level = levels(perilaku, **cut)
        h_level, p_level = self._reluctant(
            h_level, p_level, policy, month, slot=1,
            judged_hasil=~self.is_head, judged_perilaku=ap.rater != "multi_source",
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
            fa = self.scenario.fairness
            self.people.fairness -= fa.learning_rate * fa.quota_weight * (enforced > codes)
            codes = enforced
        if ap.pay_basis == "annual":
            self._set_pay_basis(codes, score)

        cap = self.budget.cap_idr
        paid_year = sums["paid"]
        true_score = composite(hasil_true, perilaku_true, skp_weight=ap.skp_weight)
        metrics = {
            "mean_true_performance": float(hasil_true.mean()),
            "rating_accuracy": correlation(hasil, hasil_true),
            **self._predikat_metrics(
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
            # Forced separation ranks people by their rated results (hasil kerja).
            **self._flows(month, codes, hasil),
        }
        self._record("year", self._year_label(year), month, policy, metrics)

    # -- workforce flows ---------------------------------------------------------------

    def _flows(self, month: int, codes: np.ndarray, rating: np.ndarray) -> dict[str, float]:
        """Leavers, transfers, ageing and hires at the close of a year (simlib.world.flows)."""
        fl, people, wf = self.scenario.flows, self.people, self.wf
        people.sk_streak = np.where(codes == SANGAT_KURANG, people.sk_streak + 1, 0).astype(
            np.int16
        )
        # Keyed draws: by person (exits, transfers) and by vacancy (hires), see simlib.world.flows.
        out = leavers(
            unit=wf.unit, job_type=wf.job_type, pppk=wf.pppk, age_years=wf.age_years,
            tenure_years=wf.tenure_years, is_head=self.is_head, predikat=codes, score=rating,
            sk_streak=people.sk_streak, params=fl, person=people.person,
            rng=self._keyed("flows", month),
        )  # fmt: skip
        leaving = out.leaving
        order, movers = transfer_order(
            wf.job_type, leaving, fl.transfer_rate, person=people.person,
            rng=self._keyed("transfers", month),
        )  # fmt: skip
        if movers:
            self._reorder(order)
        self.wf = self.wf.aged(1.0)
        if len(leaving):
            hires = hire(
                leaving, fl, self.scenario.workforce, female_share=float(wf.female.mean()),
                rng=self._keyed("hiring", month),
            )  # fmt: skip
            self._hire(leaving, hires, month)
        return {
            **out.counts(),
            "separations": float(len(leaving)),
            "hires": float(len(leaving)),
            "transfers": float(movers),
            "headcount": float(self.wf.n),
            "mean_workforce_potential": float(self.wf.competence.mean()),
        }

    def _reorder(self, order: np.ndarray) -> None:
        """Move people between posts: every person-level array follows its person."""
        n = self.wf.n
        self.wf = self.wf.moved(order)
        self.people.take(order)
        lenient = self.traits.leniency.copy()
        lenient[:n] = lenient[:n][order]
        self.traits = replace(self.traits, leniency=lenient, profile=self.traits.profile[order],
                              collusive=self.traits.collusive[order])  # fmt: skip
        self.absence_rate = self.absence_rate[order]
        self._set_pay_basis(self.pay_predikat[order], self.pay_score[order])
        if self.training_plan is not None:
            self.training_state = self.training_state.reordered(order)

    def _hire(self, positions: np.ndarray, hires, month: int) -> None:
        """New people in ``positions``: their own traits, state, absence and history.

        A hire's person id is ``n x (month + 1) + post``: stable across policy arms, and the
        key of the hire's own draws (traits, behaviour, absence rate).
        """
        k = len(positions)
        self.wf = self.wf.with_hires(positions, hires)
        person = self.wf.n * (month + 1) + np.asarray(positions, dtype=np.int64)
        self.people.put(positions, draw_people(hires.openness, self.scenario,
                                               rng=self._keyed("behaviour"), initial=False,
                                               person=person))  # fmt: skip
        new = draw_traits(k, self.scenario.raters, rng=self._keyed("raters"), person=person)
        lenient, profile = self.traits.leniency.copy(), self.traits.profile.copy()
        lenient[positions], profile[positions] = new.leniency[:k], new.profile
        self.traits = replace(self.traits, leniency=lenient, profile=profile)
        att = self.scenario.attendance
        shape = att.heterogeneity_shape
        self.absence_rate = self.absence_rate.copy()
        self.absence_rate[positions] = gammas(
            self._keyed("attendance"), person, shape, att.absence_days_per_month / shape
        )
        predikat, score = self.pay_predikat.copy(), self.pay_score.copy()
        predikat[positions], score[positions] = BAIK, 0.0
        self._set_pay_basis(predikat, score)
        if self.training_plan is not None:
            self.training_state = self.training_state.with_new_people(positions)

    # -- helpers -------------------------------------------------------------------------

    def _rng(self, name: str, period: int | None = None) -> np.random.Generator:
        return self.streams.rng(name, agency=self.index, period=period)

    def _keyed(self, name: str, period: int | None = None) -> Keyed:
        return self.streams.keyed(name, agency=self.index, period=period)

    @staticmethod
    def _pay_linked(policy: Policy) -> bool:
        """Whether ratings decide pay (some predikat cut tukin): raters then inflate."""
        inc = policy.incentives
        return inc.performance_share > 0 and len(set(inc.multipliers.as_tuple())) > 1

    def _rating_quality(self, perilaku: np.ndarray, table: RatingTable | None) -> dict:
        """Accuracy, leniency, disparities and halo of the perilaku ratings."""
        wf = self.wf
        error = perilaku - self.perilaku_true
        unit_error = np.bincount(wf.unit, weights=error) / np.maximum(np.bincount(wf.unit), 1)
        return {
            "perilaku_accuracy": correlation(perilaku, self.perilaku_true),
            "rating_leniency": float(error.mean()),
            "rating_gap_sex": _gap(error, wf.female),
            "rating_gap_grade": _gap(error, wf.golongan >= 2),
            "rating_unit_sd": float(unit_error[np.bincount(wf.unit) > 0].std()),
            "halo_index": halo_index(table) if table is not None else float("nan"),
            "raters_per_employee": (
                len(table.ratee) / len(BERAKHLAK) / wf.n if table is not None else 1.0
            ),
        }

    def _set_pay_basis(self, codes: np.ndarray, score: np.ndarray) -> None:
        self.pay_predikat = codes.astype(np.int8)
        self.pay_score = score
        self._rank_cache = None

    def _pay_rank(self) -> np.ndarray:
        """Payment order for ``rank_order``: best predikat first, then highest score."""
        if self._rank_cache is None:
            n = len(self.pay_predikat)
            self._rank_cache = np.lexsort((np.arange(n), -self.pay_score, self.pay_predikat))
        return self._rank_cache

    @staticmethod
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

    def _record(self, kind: str, label: str, month: int, policy: Policy, metrics: dict) -> None:
        for metric, value in metrics.items():
            self.rec.outcomes.append(
                (policy.name, self.name, kind, label, month, metric, float(value))
            )

    def _month_label(self, month: int) -> str:
        start = self.scenario.calendar.start_date
        return f"{start.year + month // 12}-{month % 12 + 1:02d}"

    def _quarter_label(self, quarter: int) -> str:
        return f"{self.scenario.calendar.start_date.year + quarter // 4}Q{quarter % 4 + 1}"

    def _year_label(self, year: int) -> str:
        return str(self.scenario.calendar.start_date.year + year)


def build_agencies(
    scenario: Scenario, schedule: PolicySchedule, *, streams: Streams, recorder: _Recorder
) -> list[Agency]:
    """The scenario's agencies with their employees, ready for their calendars."""
    return [
        Agency(
            index=i,
            spec=spec,
            workforce=build_workforce(scenario, spec, rng=streams.rng("workforce", agency=i)),
            scenario=scenario,
            schedule=schedule,
            streams=streams,
            recorder=recorder,
        )
        for i, spec in enumerate(scenario.agencies)
    ]


def simulate(
    scenario: Scenario,
    policy: Policy | PolicySchedule,
    *,
    seed: int,
    replication: int = 0,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Run one replication of ``scenario`` under ``policy``.

    Parameters
    ----------
    scenario
        The simulated world.
    policy
        The rules, or a schedule of rules changing at effective months.
    seed
        Root seed (non-negative integer). Same scenario, policy, seed and replication give
        identical results.
    replication
        Replication number; replication *r* of every policy arm uses the same random
        streams (common random numbers).
    progress
        Optional callback, called with the number of months simulated so far.

    Returns
    -------
    RunResult
        Tidy frames: outcomes, payments ledger, workforce, and opt-in panels.
    """
    schedule = policy if isinstance(policy, PolicySchedule) else PolicySchedule(((0, policy),))
    streams = Streams(seed, replication)
    env = simpy.Environment()
    rec = _Recorder()
    agencies = build_agencies(scenario, schedule, streams=streams, recorder=rec)
    for agency in agencies:
        env.process(agency.calendar(env))
    if progress is not None:
        env.process(_report_progress(env, progress, scenario.calendar.horizon_months))
    env.run()
    return _result(scenario, schedule, agencies, rec, seed=seed, replication=replication)


def _report_progress(env: simpy.Environment, progress: Callable[[int], None], horizon: int):
    for month in range(1, horizon + 1):
        yield env.timeout(1)
        progress(month)


def _result(scenario, schedule, agencies, rec, *, seed, replication) -> RunResult:
    head = {"scenario": scenario.name, "seed": seed, "replication": replication}
    inner = [c for c in OUTCOME_COLUMNS if c not in head]
    outcomes = pd.DataFrame.from_records(rec.outcomes, columns=inner)
    for i, (key, value) in enumerate(head.items()):
        outcomes.insert(i if key == "scenario" else i + 1, key, value)
    outcomes = outcomes[list(OUTCOME_COLUMNS)]
    ledger = pd.DataFrame.from_records(rec.ledger, columns=list(LEDGER_COLUMNS))
    ledger.insert(0, "scenario", scenario.name)
    frames = []
    for agency in agencies:
        wf = agency.initial_wf.frame()
        wf.insert(0, "agency", agency.name)
        wf["absence_rate_days_per_month"] = agency.initial_absence_rate
        frames.append(wf)
    workforce = pd.concat(frames, ignore_index=True)
    panel = _concat(rec.panel)
    if panel is not None:
        panel["predikat"] = pd.Categorical.from_codes(panel["predikat"], categories=PREDIKAT)
    employee_ledger = _concat(rec.employee_ledger)
    if employee_ledger is not None:
        employee_ledger["predikat"] = pd.Categorical.from_codes(
            employee_ledger["predikat"], categories=PREDIKAT
        )
    ratings = None
    if rec.ratings:
        parts = []
        for agency, period, month, table in rec.ratings:
            frame = table.frame()
            frame.insert(0, "t_month", month)
            frame.insert(0, "period", period)
            frame.insert(0, "agency", agency)
            parts.append(frame)
        ratings = pd.concat(parts, ignore_index=True)
    meta = {
        **head,
        "policies": [p.name for _, p in schedule.entries],
        "policy_change_months": list(schedule.change_months),
        "start_date": scenario.calendar.start_date.isoformat(),
        "horizon_months": scenario.calendar.horizon_months,
        "job_types": list(JOB_TYPES),
    }
    return RunResult(outcomes, ledger, workforce, panel, employee_ledger, ratings, meta)


def _gap(error: np.ndarray, group: np.ndarray) -> float:
    """Mean rating error of ``group`` minus that of the others (NaN if one side is empty)."""
    if group.all() or not group.any():
        return float("nan")
    return float(error[group].mean() - error[~group].mean())


def _concat(chunks: list[dict[str, np.ndarray]]) -> pd.DataFrame | None:
    if not chunks:
        return None
    keys = chunks[0].keys()
    return pd.DataFrame({k: np.concatenate([c[k] for c in chunks]) for k in keys})
