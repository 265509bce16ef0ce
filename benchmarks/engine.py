"""Speed and memory of the simulation engine, against a lean reference and a naive design.

What is measured
----------------
The default scenario (``data/scenarios/district_health_office.yaml``) is scaled up in code
to ``--employees`` employees (default 100,000) in 10 agencies, each a copy of the default
agency with its own name and a generated structure (1 JPT post, 100 units with 2 sub-units
each at 10,000 employees per agency; fewer units for smaller agencies), over a 60-month
horizon: 5 budget years, 20 quarterly appraisal cycles. It runs under the scenario's
baseline policy with seed 1.

The unit of work is the **employee-cycle**: one employee through one quarterly cycle
(three monthly payrolls, an appraisal, and a quarter of the year-end close). A run does
``employees x 20`` of them.

A. **Engine**: :func:`simlib.simulate`, wall time (``time.perf_counter``), best of
   ``--repeat`` runs.
B. **SimPy scheduling overhead** (engine vs the same steps driven by a plain loop): the
   same agency states (:mod:`simlib.engine.state`), built exactly as :func:`simlib.simulate`
   builds them, driven by a plain Python loop over months calling the calendar's
   ``simlib.engine.calendar.tick`` (the agencies in the same order as the SimPy calendar
   runs them) instead of a SimPy environment, and turned into frames by the same
   ``simlib.engine.calendar.finish``. The outcomes and ledger frames of A and B are
   checked to be identical. B runs the engine's own code, so A/B measures only what the
   SimPy calendar adds; it is not a reference for the engine's arithmetic.
D. **Lean reference** (``benchmarks/lean_reference.py``): an independent implementation of
   the same monthly and quarterly loop in one plain numpy module, written from
   ``docs/model.md`` and sharing no code with ``simlib``. It leaves out workforce flows, so
   here it is timed against **A0**, the engine on the same scenario with flows switched off
   (``lean_reference.left_out``); A0 and D alternate, best of ``--repeat`` each.
   A0 / D is the engine's abstraction cost (the lean module builds no frames and computes
   only its headline outcomes; the engine computes all of ``simlib.engine.outcomes.OUTCOMES``).
   Before it is timed, D is docked with the engine (Axtell et al. 1996): both run the
   unscaled default scenario (flows off) over ``--dock-seeds`` seeds, and each headline
   outcome's mean must agree within 3 standard errors of the difference.
C. **Naive**: one SimPy process per employee, each yielding ``env.timeout(1)`` per month
   and doing the model's formulas with Python scalars and scalar draws from Python's
   ``random`` module (Poisson by inversion of one uniform): monthly
   pay (Poisson absence, multiplier lookup, amount due, performance cut, amount paid after
   the budget cap) and the month's adoption transition (reference point, up and down
   hazards); each quarter effort (valence, own instrumentality, crowding-out, response by
   state), true performance, supervisor ratings with resisting superiors, easy targets and
   missing SKP, expectation levels, predikat and composite scores of ratings and of true
   scores, then the employee's instrumentality and fairness; each year the annual predikat.
   Workforce flows are left out (they are annual and cheap in both designs).
   The agency's own steps (budget cap, rating accuracy, organisation
   predikat, predikat shares, misclassification and Gini by Python sorts) run once the
   last of its employees has reported. It runs ``--naive-employees`` employees (default
   10,000) in 10 agencies and is scaled linearly to ``--employees``. It leaves out the
   output frames; and its cost per employee grows with the number of processes (event
   heap, caches), so linear scaling from a smaller run still flatters it a little.

Memory is the ``tracemalloc`` peak of a separate engine run (so tracing does not slow the
timed runs) and the process's peak resident set size (``ru_maxrss``), which covers every
run in the script.

Targets printed beside the figures, each with met or MISSED: the engine within 1.5x of the
lean reference (A0 / D), every docked outcome agreeing, the SimPy scheduling overhead within
1.3x (A / B), at least 50x faster than the naive design, and 100,000 employees x 20 quarters
under 5 s on one core. With ``--check`` the script exits with status 1 when one is missed.
The last line printed is one JSON object with all the figures.

How to run
----------
::

    make bench
    .venv/bin/python benchmarks/engine.py
    .venv/bin/python benchmarks/engine.py --employees 20000 --repeat 1 --naive-employees 500
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import simpy

import simlib
from simlib.behaviour.adoption import gaming_shares
from simlib.behaviour.performance import pay_at_stake
from simlib.core.domain import ORG_PREDIKAT, PREDIKAT
from simlib.engine import calendar
from simlib.engine.model import RunResult
from simlib.engine.state import AgencyState
from simlib.params.changes import apply_changes
from simlib.params.policy import Policy, PolicySchedule
from simlib.params.resolve import resolve
from simlib.params.scenario import Scenario
from simlib.params.tables import gaji_pokok, predikat_matrix, reading, tukin_table
from simlib.rules.appraisal import org_predikat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lean_reference  # the lean reference and the target helpers sit beside this file
from _common import add_check_argument, exit_status, target_line

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_FILE = ROOT / "data" / "scenarios" / "district_health_office.yaml"
AGENCIES = 10
HORIZON_MONTHS = 60
QUARTERS = HORIZON_MONTHS // 3
SEED = 1
EMPLOYEES_PER_UNIT = 100  # 10,000 employees -> 100 units, as in the brief
REFERENCE_EMPLOYEES = 100_000
TARGET_SIMPY_OVERHEAD = 1.3
TARGET_VS_LEAN = 1.5
TARGET_VS_NAIVE = 50.0
TARGET_SECONDS = 5.0
BAIK = PREDIKAT.index("baik")


# -- the scenario ------------------------------------------------------------------------


def build_scenario(employees: int) -> tuple[Scenario, Policy]:
    """The default scenario scaled to ``employees`` in 10 agencies, over 60 months."""
    base = simlib.load_scenario(SCENARIO_FILE)
    policy = simlib.load_policy(base.resolve(base.baseline_policy))
    template = base.agencies[0]
    sizes = [employees // AGENCIES + (i < employees % AGENCIES) for i in range(AGENCIES)]
    agencies = []
    for i, size in enumerate(sizes):
        units = max(1, size // EMPLOYEES_PER_UNIT)
        structure = template.structure.model_copy(
            update={"employees": size, "units": units, "subunits_per_unit": 2, "jpt_posts": 1}
        )
        leaders = 1 + units * 3
        if size < leaders:
            raise SystemExit(f"{employees} employees is too few: each agency needs {leaders}")
        agencies.append(
            template.model_copy(
                update={"name": f"{template.name} {i + 1:02d}", "structure": structure}
            )
        )
    calendar = base.calendar.model_copy(update={"horizon_months": HORIZON_MONTHS})
    scenario = base.model_copy(update={"agencies": tuple(agencies), "calendar": calendar})
    return scenario, policy


def engine_agencies(
    scenario: Scenario, policy: Policy, *, seed: int
) -> tuple[list[AgencyState], calendar.Run, Any]:
    """The engine's agency states, built exactly as :func:`simlib.simulate` builds them.

    Returns the states, the run they belong to, and the inputs' tables (the steps read
    them inside ``simlib.params.tables.reading``).
    """
    inputs = resolve(scenario, PolicySchedule(((0, policy),)))
    with reading(inputs.tables):
        run, states = calendar.start(inputs, seed=seed, replication=0)
    return states, run, inputs.tables


# -- A: the engine -----------------------------------------------------------------------


def run_engine(scenario: Scenario, policy: Policy) -> RunResult:
    """A: the engine as users call it."""
    return simlib.simulate(scenario, policy, seed=SEED)


# -- B: the same steps driven by a plain loop (SimPy scheduling overhead) ----------------


def run_plain_loop(scenario: Scenario, policy: Policy) -> RunResult:
    """B: the engine's agencies and arithmetic, driven by a plain loop instead of SimPy.

    SimPy starts the calendars in agency order and, at each month boundary, resumes them in
    the same order; the loop below reproduces that order, so the recorded rows come out
    identical.
    """
    agencies, run, tables = engine_agencies(scenario, policy, seed=SEED)
    with reading(tables):
        agencies = [calendar.begin(run, agency) for agency in agencies]
        for t in range(1, scenario.calendar.horizon_months + 1):
            agencies = [calendar.tick(run, agency, t) for agency in agencies]
    return calendar.finish(run)


# -- C: the naive design -----------------------------------------------------------------


class Period:
    """What employees report for one appraisal period (quarter or year), in Python lists."""

    def __init__(self, matrix: list[list[int]]) -> None:
        self.matrix = matrix
        self.counts = [0] * len(PREDIKAT)
        self.agree = 0
        self.codes: list[int] = []
        self.true_scores: list[float] = []
        self.levels: tuple[list[int], list[int]] = ([], [])
        self.trues: tuple[list[float], list[float]] = ([], [])
        self.paid: list[float] = []
        self.sums = [0.0] * 6  # n, x, y, xx, yy, xy of (hasil rating, true hasil)

    def add(self, code: int, true_code: int, true_score: float, rating: float, true: float,
            levels: tuple[int, int], trues: tuple[float, float]):  # fmt: skip
        """One employee's predikat, true predikat and true score, rating and true hasil,
        rated levels (hasil, perilaku) and true scores (hasil, perilaku)."""
        self.counts[code] += 1
        self.agree += code == true_code
        self.codes.append(code)
        self.true_scores.append(true_score)
        for axis in (0, 1):
            self.levels[axis].append(levels[axis])
            self.trues[axis].append(trues[axis])
        s = self.sums
        s[0] += 1.0
        s[1] += rating
        s[2] += true
        s[3] += rating * rating
        s[4] += true * true
        s[5] += rating * true

    def correlation(self) -> float:
        """Pearson correlation of the hasil rating with true hasil; NaN without variance."""
        n, sx, sy, sxx, syy, sxy = self.sums
        denom = math.sqrt(max(n * sxx - sx * sx, 0.0) * max(n * syy - sy * sy, 0.0))
        return (n * sxy - sx * sy) / denom if denom > 0 else float("nan")

    def metrics(self) -> dict[str, float]:
        """Predikat shares, agreement, accuracy, and misclassification (Python sorts).

        Misclassification is against the predikat the true scores imply at the same shares:
        each axis's true scores cut at the rated levels' counts, the matrix, then the
        predikat counts laid over employees by that predikat and true score.
        """
        n = len(self.codes)
        true_levels = []
        for rated, true in zip(self.levels, self.trues, strict=True):
            order = sorted(range(n), key=true.__getitem__)
            level = [0] * n
            start = 0
            for k in range(3):
                count = rated.count(k)
                for i in order[start : start + count]:
                    level[i] = k
                start += count
            true_levels.append(level)
        implied = [self.matrix[h][q] for h, q in zip(*true_levels, strict=True)]
        scores = self.true_scores
        order = sorted(range(n), key=lambda i: (implied[i], -scores[i], i))
        laid = [k for k, c in enumerate(self.counts) for _ in range(c)]
        wrong = sum(laid[rank] != self.codes[i] for rank, i in enumerate(order))
        return {
            **{f"share_{k}": c / n for k, c in zip(PREDIKAT, self.counts, strict=True)},
            "predikat_agreement": self.agree / n,
            "rating_accuracy": self.correlation(),
            "misclassification": wrong / n,
        }


class NaiveAgency:
    """Agency-level state of the naive design: budget, period metrics, and a barrier.

    Employees report to it at every month boundary (and once more at a year end, with their
    annual figures); the last to report runs the agency's step for everyone: the budget cap
    and, at a quarter end, the rating accuracy that drives next quarter's effort and the
    quarter's metrics; at a year end the organisation predikat and the annual metrics. The
    agency-level arithmetic is plain Python, as the per-employee arithmetic is.
    """

    def __init__(self, env: simpy.Environment, kelas: list[int], p: dict) -> None:
        self.env, self.p, self.kelas, self.n = env, p, kelas, len(kelas)
        self.boundary = env.event()
        self.arrived = 0
        self.factor = 1.0  # budget-cap factor of the last closed month
        self.instrumentality = p["initial_instrumentality"]
        self.org = p["fixed_org"] if p["fixed_org"] is not None else 0
        self.cap = self.spent = 0.0
        self.month = [0.0, 0.0, 0.0]  # entitled, performance cut, due
        self.totals = {"entitled": 0.0, "due": 0.0, "paid": 0.0}
        self.year_true_hasil = self.effort_sum = 0.0
        self.quarter, self.year = Period(p["matrix"]), Period(p["matrix"])
        self.metrics: list[tuple[str, int, dict[str, float]]] = []
        # Behaviour: adoption states (for imitation and resisting superiors), the quarter's
        # rating and truth moments (experienced accuracy) and pay by true-performance decile.
        self.states: list[int] = []
        self.adopt_share, self.adopt_next = 0.0, 0
        self.moments = (0.0, 1.0, 0.0, 1.0)
        self.pay_reports: list[tuple[float, float]] = []
        self.edges: list[float] = []
        self.decile_mean = [1.0] * 10
        self.ease_share = 0.0
        self.open_year()

    def open_year(self) -> None:
        """Budget cap from the year's full entitlement (a Python loop over employees)."""
        p = self.p
        if p["cap_idr"] is not None:
            self.cap = float(p["cap_idr"])
        else:
            entitled = sum(p["table"][k] * p["table_scale"] for k in self.kelas)
            self.cap = 12.0 * entitled * p["cap_share"]
        self.spent = self.year_true_hasil = 0.0

    def arrive(self, step: Callable[[int], None], t: int) -> simpy.Event:
        """One employee is done; the last one runs ``step(t)`` and releases everyone."""
        released = self.boundary
        self.arrived += 1
        if self.arrived == self.n:
            self.arrived = 0
            step(t)
            self.boundary = self.env.event()
            released.succeed()
        return released

    def close_month(self, t: int) -> None:
        """Budget cap for month ``t - 1``; at a quarter end, accuracy and quarter metrics."""
        month = t - 1
        entitled, _performance_cut, due = self.month
        available = max(self.cap * (month % 12 + 1) / 12.0 - self.spent, 0.0)
        self.factor = 1.0 if due <= available else available / due  # prorate
        paid = due * self.factor
        self.spent += paid
        self.totals["entitled"] += entitled
        self.totals["due"] += due
        self.totals["paid"] += paid
        self.month = [0.0, 0.0, 0.0]
        self.adopt_share, self.adopt_next = self.adopt_next / self.n, 0
        if t % 3 == 0:
            self.quarter_behaviour()
            accuracy = self.quarter.correlation()
            self.instrumentality = max(0.0, accuracy) if math.isfinite(accuracy) else 0.0
            metrics = self.quarter.metrics()
            metrics["mean_effort"] = self.effort_sum / self.n
            self.metrics.append(("quarter", t, metrics))
            self.quarter, self.effort_sum = Period(self.p["matrix"]), 0.0
        if t % 12 == 0:
            p = self.p
            if p["fixed_org"] is None:
                shock = p["rng"].gauss(0.0, 1.0)
                achievement = self.year_true_hasil / (4 * self.n) + p["org_noise_sd"] * shock
                self.org = org_predikat(achievement, p["org_cutoffs"])
            if t < p["horizon"]:
                self.open_year()

    def quarter_behaviour(self) -> None:
        """Rating and truth moments, and mean pay ratio by decile of true performance."""
        n, sx, sy, sxx, syy, _ = self.quarter.sums
        mx, my = sx / n, sy / n
        sdx = math.sqrt(max(sxx / n - mx * mx, 1e-12))
        sdy = math.sqrt(max(syy / n - my * my, 1e-12))
        self.moments = (mx, sdx, my, sdy)
        reports = sorted(self.pay_reports)
        size = len(reports)
        self.edges = [reports[size * k // 10][0] for k in range(1, 10)]
        sums, counts = [0.0] * 10, [0] * 10
        for true, ratio in reports:
            d = bisect.bisect_right(self.edges, true)
            sums[d] += ratio
            counts[d] += 1
        self.decile_mean = [sums[d] / counts[d] if counts[d] else 1.0 for d in range(10)]
        self.pay_reports = []

    def close_year(self, t: int) -> None:
        """Annual metrics, once every employee has reported its annual figures."""
        metrics = self.year.metrics()
        paid = sorted(self.year.paid)
        total, n = sum(paid), len(paid)
        metrics["pay_gini"] = (
            sum((2 * i - n - 1) * x for i, x in enumerate(paid, 1)) / (n * total) if total else 0.0
        )
        self.metrics.append(("year", t, metrics))
        self.year = Period(self.p["matrix"])


def naive_params(scenario: Scenario, policy: Policy, rng: random.Random) -> dict:
    """Every parameter the naive employee needs, as Python scalars and lists."""
    inc, ap, b, perf = policy.incentives, policy.appraisal, scenario.behaviour, scenario.performance
    mults = inc.multipliers.as_tuple()
    linked = inc.performance_share > 0 and len(set(mults)) > 1
    if policy.budget.over_cap_rule != "prorate":
        raise SystemExit("the naive design implements the 'prorate' budget rule only")
    if ap.distribution_curve.enforce:
        raise SystemExit("the naive design does not enforce the distribution curve")
    derived = ap.organisation_predikat == "derived"
    return {
        "rng": rng,
        "horizon": scenario.calendar.horizon_months,
        "table": tukin_table(inc.tukin_table).tolist(),
        "table_scale": inc.table_scale,
        "share": inc.performance_share,
        "mults": list(mults),
        "deduction": inc.absence_deduction_per_day,
        "cap_idr": policy.budget.cap_idr,
        "cap_share": policy.budget.cap_share_of_entitlement,
        "stake": pay_at_stake(policy),
        "shift": scenario.raters.pay_purpose_inflation if linked else 0.0,
        "rating_noise_sd": scenario.raters.noise_sd,
        "cutoff_below": ap.cutoff_below,
        "cutoff_above": ap.cutoff_above,
        "skp_weight": ap.skp_weight,
        "periodic": ap.pay_basis == "periodic",
        "org_cutoffs": ap.org_cutoffs,
        "fixed_org": None if derived else ORG_PREDIKAT.index(ap.organisation_predikat),
        "org_noise_sd": scenario.organisation.achievement_noise_sd,
        "matrix": predikat_matrix().tolist(),
        "effort_base": b.effort_base,
        "motivation_weight": b.motivation_weight,
        "pay_sensitivity": b.pay_sensitivity,
        "initial_instrumentality": b.initial_instrumentality,
        "competence_weight": perf.competence_weight,
        "effort_weight": perf.effort_weight,
        "noise_sd": perf.noise_sd,
        "behaviour_noise_sd": perf.behaviour_noise_sd,
        **behaviour_params(scenario, policy, linked),
    }


def behaviour_params(scenario: Scenario, policy: Policy, linked: bool) -> dict:
    """Parameters of effort, fairness, adoption and gaming, as Python scalars."""
    b, ad, fa, gm = scenario.behaviour, scenario.adoption, scenario.fairness, scenario.gaming
    cm = policy.change_management
    return {
        "gaji": gaji_pokok().tolist(),
        "crowding": b.crowding_out,
        "lr_instrumentality": b.instrumentality_learning_rate,
        "response": list(b.state_response.as_tuple()),
        "p_external": ad.external_push_per_month,
        "q_imitation": ad.imitation_per_month,
        "unfairness": ad.unfairness_pullback_per_month,
        "loss": ad.loss_pullback * ad.loss_aversion,
        "gain": ad.gain_push,
        "alpha": ad.reference_adaptation,
        "skp_missing": list(ad.skp_missing.as_tuple()),
        "resisting_inflation": ad.resisting_rater_inflation,
        "neutral": fa.neutral_signal,
        "lr_fairness": fa.learning_rate,
        "w_rating": fa.rating_gap_weight,
        "w_pay": fa.pay_gap_weight,
        "transparency": fa.transparency_bonus if cm.transparent_indicators else 0.0,
        "easing_sd": gm.target_easing_sd,
        "audit_share": cm.audit_share,
        "gaming": gm,
        "collusion_share": scenario.raters.multi_source.collusion_share,
        "linked": linked,
    }


def employee(env: simpy.Environment, ag: NaiveAgency, person: tuple, p: dict):
    """SimPy process of one employee: the model's formulas on Python scalars, month by month.

    Per month: tukin entitled by kelas, a Poisson absence draw, the predikat multiplier, the
    amount due and the performance cut (:func:`simlib.rules.incentives.due`), and what is paid
    once the agency has applied the budget cap. Per quarter: effort and true performance
    (:mod:`simlib.behaviour.performance`), the supervisor's ratings
    (:mod:`simlib.rules.raters`), levels, predikat and composite scores of ratings and of
    true scores (:mod:`simlib.rules.appraisal`).
    Per year: the annual predikat from the year's mean ratings, the head's from the
    organisation predikat.
    """
    (kelas, competence, motivation, conduct, leniency, absence_rate, is_head, index, superior,
     golongan, state, fairness, instrumentality, self_bias, gaming_u, inertia,
     reactivity) = person  # fmt: skip
    uniform = p["rng"].random
    exp_minus_rate = math.exp(-absence_rate)
    gaji = p["gaji"][golongan]
    valence_i = p["stake"] * table_value(p, kelas) / (table_value(p, kelas) + gaji)
    crowd = 1.0 - p["crowding"] * max(motivation, 0.0)
    response = p["response"]
    reference = None
    rng, horizon, matrix, mults = p["rng"], p["horizon"], p["matrix"], p["mults"]
    gauss = rng.gauss  # gauss(0, sd): one Python call per normal draw

    def poisson() -> int:
        """Poisson(absence_rate) by inversion of one uniform (the rate is small)."""
        u, k, term = uniform(), 0, exp_minus_rate
        cdf = term
        while u > cdf and term > 0.0:
            k += 1
            term *= absence_rate / k
            cdf += term
        return k

    table, scale, share, deduction = p["table"], p["table_scale"], p["share"], p["deduction"]
    below, above, skp, shift = p["cutoff_below"], p["cutoff_above"], p["skp_weight"], p["shift"]
    rating_sd, periodic = p["rating_noise_sd"], p["periodic"]
    base, w_motivation = p["effort_base"], p["motivation_weight"]
    w_competence, w_effort, noise_sd = p["competence_weight"], p["effort_weight"], p["noise_sd"]
    behaviour_sd = p["behaviour_noise_sd"]

    def level(x: float) -> int:
        return (x >= below) + (x > above)

    def start_quarter() -> tuple[float, float]:
        pay_term = p["pay_sensitivity"] * response[state] * crowd * valence_i
        effort = base + w_motivation * motivation + pay_term * max(instrumentality, 0.0)
        ag.effort_sum += effort
        hasil = w_competence * competence + w_effort * effort + gauss(0.0, noise_sd)
        return hasil, conduct + gauss(0.0, behaviour_sd)

    pay_predikat = BAIK
    unsettled = 0.0  # due last month, paid once the agency has applied the cap
    year_paid = 0.0
    year_hasil = year_perilaku = year_hasil_true = year_perilaku_true = 0.0
    hasil_true, perilaku_true = start_quarter()
    q_paid = q_entitled = 0.0
    for t in range(1, horizon + 1):
        yield env.timeout(1)
        paid_before = unsettled * ag.factor
        year_paid += paid_before
        q_paid += paid_before
        # a month of adoption transitions against a slowly adapting pay reference point
        if reference is None:
            change, reference = 0.0, paid_before
        else:
            change = (paid_before - reference) / (table[kelas] * scale + gaji)
            reference += p["alpha"] * (paid_before - reference)
        push = pull = 0.0
        if state < 2:
            push = (p["p_external"] + p["q_imitation"] * ag.adopt_share
                    + p["gain"] * max(change, 0.0)) * inertia  # fmt: skip
        if state > 0:
            pull = (
                p["unfairness"] * max(-fairness, 0.0) + p["loss"] * max(-change, 0.0)
            ) * reactivity
        hazard = push + pull
        u_move, u_direction, _u_socialisation = uniform(), uniform(), uniform()
        if u_move < -math.expm1(-hazard):
            state += 1 if u_direction * hazard < push else -1
        ag.states[index] = state
        ag.adopt_next += state == 2
        # payroll of month t - 1
        entitled = table[kelas] * scale
        q_entitled += entitled
        absence = poisson()
        before_absence = entitled * (share * mults[pay_predikat] + (1.0 - share))
        due = before_absence * (1.0 - min(1.0, absence * deduction))
        month = ag.month
        month[0] += entitled
        month[1] += entitled - before_absence
        month[2] += due
        unsettled = due
        if t % 3:
            ag.arrive(ag.close_month, t)
            continue
        # periodic appraisal of the quarter ending at t
        bias = leniency + shift
        hasil = hasil_true + bias + gauss(0.0, rating_sd)
        perilaku = perilaku_true + bias + gauss(0.0, rating_sd)
        u_audit, u_missing = uniform(), uniform()
        if superior >= 0 and ag.states[superior] == 0:
            hasil += p["resisting_inflation"]
        if gaming_u < ag.ease_share and u_audit >= p["audit_share"]:
            hasil += p["easing_sd"]
        if u_missing < p["skp_missing"][state]:
            hasil = min(hasil, below - 0.5)
        ag.pay_reports.append((hasil_true, q_paid / q_entitled if q_entitled > 0 else 1.0))
        code = matrix[level(hasil)][level(perilaku)]
        true_code = matrix[level(hasil_true)][level(perilaku_true)]
        true_score = skp * hasil_true + (1.0 - skp) * perilaku_true
        ag.quarter.add(code, true_code, true_score, hasil, hasil_true,
                       (level(hasil), level(perilaku)), (hasil_true, perilaku_true))  # fmt: skip
        ag.year_true_hasil += hasil_true
        year_hasil += hasil
        year_perilaku += perilaku
        year_hasil_true += hasil_true
        year_perilaku_true += perilaku_true
        if periodic:
            pay_predikat = code
        yield ag.arrive(ag.close_month, t)  # cap, accuracy, organisation predikat
        # instrumentality and fairness from one's own rating and pay
        mx, sdx, my, sdy = ag.moments
        d = (hasil - mx) / sdx - (hasil_true - my) / sdy
        lr = p["lr_instrumentality"]
        instrumentality = min(1.0, max(-1.0, (1 - lr) * instrumentality + lr * (1 - d * d / 2)))
        ratio = q_paid / q_entitled if q_entitled > 0 else 1.0
        gap = ag.decile_mean[bisect.bisect_right(ag.edges, hasil_true)] - ratio
        signal = (p["neutral"] - p["w_rating"] * max(0.0, hasil_true + self_bias - hasil)
                  - p["w_pay"] * max(0.0, gap) + p["transparency"])  # fmt: skip
        fairness = (1 - p["lr_fairness"]) * fairness + p["lr_fairness"] * signal
        q_paid = q_entitled = 0.0
        paid_before = unsettled * ag.factor
        year_paid += paid_before
        q_paid += paid_before
        unsettled = 0.0
        if t % 12 == 0:  # annual predikat of the year ending at t
            hasil_y, perilaku_y = year_hasil / 4.0, year_perilaku / 4.0
            hasil_true_y, perilaku_true_y = year_hasil_true / 4.0, year_perilaku_true / 4.0
            org = ag.org
            h_level = (2 if org == 0 else (1 if org == 1 else 0)) if is_head else level(hasil_y)
            p_level = level(perilaku_y)
            code = matrix[h_level][p_level]
            true_code = matrix[level(hasil_true_y)][level(perilaku_true_y)]
            true_score = skp * hasil_true_y + (1.0 - skp) * perilaku_true_y
            ag.year.add(code, true_code, true_score, hasil_y, hasil_true_y,
                        (h_level, p_level), (hasil_true_y, perilaku_true_y))  # fmt: skip
            ag.year.paid.append(year_paid)
            if not periodic:
                pay_predikat = code
            ag.arrive(ag.close_year, t)
            year_paid = 0.0
            year_hasil = year_perilaku = year_hasil_true = year_perilaku_true = 0.0
        if t < horizon:
            hasil_true, perilaku_true = start_quarter()


def table_value(p: dict, kelas: int) -> float:
    """Monthly tukin entitlement of a kelas."""
    return p["table"][kelas] * p["table_scale"]


def run_naive(scenario: Scenario, policy: Policy, inputs: list[dict]) -> dict[str, float]:
    """C: one SimPy process per employee; returns a few aggregates for a sanity check."""
    env = simpy.Environment()
    p = naive_params(scenario, policy, random.Random(SEED))
    agencies = []
    for data in inputs:
        kelas = data["kelas"].tolist()
        ag = NaiveAgency(env, kelas, p)
        ag.states = data["state"].tolist()
        golongan = data["golongan"].tolist()
        stakes = [
            p["stake"] * table_value(p, k) / (table_value(p, k) + p["gaji"][g])
            for k, g in zip(kelas, golongan, strict=True)
        ]
        ag.ease_share = gaming_shares(
            p["gaming"], p["collusion_share"], stake=sum(stakes) / len(stakes),
            pay_linked=p["linked"], severity_adjusted=False, audit_share=p["audit_share"],
        )[1]  # fmt: skip
        people = zip(
            kelas,
            data["competence"].tolist(),
            data["motivation"].tolist(),
            data["conduct"].tolist(),
            data["leniency"].tolist(),
            data["absence_rate"].tolist(),
            data["is_head"].tolist(),
            range(len(kelas)),
            data["superior"].tolist(),
            golongan,
            ag.states,
            data["fairness"].tolist(),
            data["instrumentality"].tolist(),
            data["self_bias"].tolist(),
            data["gaming_u"].tolist(),
            data["inertia"].tolist(),
            data["reactivity"].tolist(),
            strict=True,
        )
        for person in people:
            env.process(employee(env, ag, person, p))
        agencies.append(ag)
    env.run()
    quarters = [m for ag in agencies for kind, _, m in ag.metrics if kind == "quarter"]
    totals = {k: sum(ag.totals[k] for ag in agencies) for k in ("entitled", "due", "paid")}
    return {
        "share_baik": float(np.mean([m["share_baik"] for m in quarters])),
        "misclassification": float(np.mean([m["misclassification"] for m in quarters])),
        "due_over_entitled": totals["due"] / totals["entitled"],
        "paid_over_due": totals["paid"] / totals["due"],
    }


def naive_inputs(scenario: Scenario, policy: Policy) -> list[dict]:
    """Per-employee inputs of the naive run, from the engine's own agencies (not timed)."""
    agencies, _, _ = engine_agencies(scenario, policy, seed=SEED)
    inputs = []
    for ag in agencies:
        wf = ag.wf
        rater = np.where(wf.supervisor < 0, wf.n, wf.supervisor)
        inputs.append(
            {
                "kelas": wf.kelas,
                "competence": wf.competence,
                "motivation": wf.motivation,
                "conduct": wf.conduct,
                "leniency": ag.traits.leniency[rater],
                "absence_rate": ag.absence_rate,
                "is_head": ag.is_head,
                "superior": wf.supervisor,
                "golongan": wf.golongan,
                "state": ag.people.state,
                "fairness": ag.people.fairness,
                "instrumentality": ag.people.instrumentality,
                "self_bias": ag.people.self_bias,
                "gaming_u": ag.people.gaming_u,
                "inertia": ag.people.inertia,
                "reactivity": ag.people.reactivity,
            }
        )
    return inputs


# -- measuring ---------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall and CPU seconds of one call, and its result."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def engine_aggregates(outcomes: pd.DataFrame) -> dict[str, float]:
    """The engine's counterparts of the naive run's aggregates."""
    quarters = outcomes[outcomes["period_kind"] == "quarter"]
    total = quarters.groupby("metric")["value"].sum()
    return {
        "share_baik": float(quarters.loc[quarters["metric"] == "share_baik", "value"].mean()),
        "misclassification": float(
            quarters.loc[quarters["metric"] == "misclassification", "value"].mean()
        ),
        "due_over_entitled": float(total["tukin_due_idr"] / total["tukin_entitled_idr"]),
        "paid_over_due": float(total["tukin_paid_idr"] / total["tukin_due_idr"]),
    }


def lean_agencies(scenario: Scenario) -> list[dict[str, Any]]:
    """The scaled scenario's agency structures as the plain records the lean module takes."""
    keys = ("employees", "jpt_posts", "units", "subunits_per_unit", "fungsional_share")
    return [{k: getattr(a.structure, k) for k in keys} for a in scenario.agencies]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--employees", type=int, default=REFERENCE_EMPLOYEES, help="employees, in 10 agencies"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure; best is kept")
    parser.add_argument(
        "--naive-employees", type=int, default=10_000, help="employees in the naive run"
    )
    parser.add_argument(
        "--dock-seeds", type=int, default=30, help="seeds per implementation in the docking"
    )
    add_check_argument(parser)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.dock_seeds < 10:
        parser.error("--dock-seeds must be at least 10 (fewer give no usable standard error)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scenario, policy = build_scenario(args.employees)
    naive_scenario, _ = build_scenario(args.naive_employees)
    off = lean_reference.left_out(SCENARIO_FILE)
    no_flows = apply_changes(scenario, off)
    lean_params = lean_reference.load_params(SCENARIO_FILE, changes=off)
    lean_specs = lean_agencies(scenario)
    n = sum(a.structure.employees for a in scenario.agencies)
    cycles = n * QUARTERS
    print(
        f"Kinerja Lab engine benchmark: {n:,} employees in {len(scenario.agencies)} agencies, "
        f"{QUARTERS} quarters ({HORIZON_MONTHS} months), policy {policy.name!r}, "
        f"best of {args.repeat}; python {sys.version.split()[0]}, numpy {np.__version__}, "
        f"simpy {simpy.__version__}; load average {os.getloadavg()[0]:.2f} on "
        f"{os.cpu_count()} CPUs"
    )

    # Docking first: a timing ratio against a reference that computes something else would
    # mean nothing.
    dock_rows = lean_reference.dock(seeds=range(1, args.dock_seeds + 1))
    lean_reference.print_docking(dock_rows, seeds=args.dock_seeds)
    docked = all(r["agrees"] for r in dock_rows)

    def lean_run() -> dict:
        return lean_reference.simulate(
            lean_params, seed=SEED, agencies=lean_specs, horizon_months=HORIZON_MONTHS
        )

    # Warm up on the small scenario (table caches, first calls), untimed; then A, B, A0 and D
    # alternate, so that drift in the machine's speed hits them alike.
    run_engine(naive_scenario, policy)
    run_plain_loop(naive_scenario, policy)
    lean_run()
    engine_runs, loop_runs, no_flows_runs, lean_runs = [], [], [], []
    for _ in range(args.repeat):
        engine_runs.append(timed(lambda: run_engine(scenario, policy)))
        loop_runs.append(timed(lambda: run_plain_loop(scenario, policy)))
        no_flows_runs.append(timed(lambda: run_engine(no_flows, policy)))
        lean_runs.append(timed(lean_run))
    engine_s, engine_cpu_s, engine_result = min(engine_runs, key=lambda r: r[0])
    loop_s, _, loop_result = min(loop_runs, key=lambda r: r[0])
    no_flows_s, _, no_flows_result = min(no_flows_runs, key=lambda r: r[0])
    lean_s, _, lean_result = min(lean_runs, key=lambda r: r[0])
    at_scale = (
        lean_reference.engine_headline(
            no_flows_result.outcomes, employees=n, months=HORIZON_MONTHS
        ),
        lean_reference.result_headline(lean_result, employees=n, months=HORIZON_MONTHS),
    )
    pd.testing.assert_frame_equal(engine_result.outcomes, loop_result.outcomes)
    pd.testing.assert_frame_equal(engine_result.ledger, loop_result.ledger)
    print("check: outcomes and ledger of A and B are identical (same code, same arithmetic)")
    expected = engine_aggregates(engine_result.outcomes)
    del engine_runs, loop_runs, no_flows_runs, lean_runs, engine_result, loop_result
    del no_flows_result, lean_result

    inputs = naive_inputs(naive_scenario, policy)
    naive_n = sum(len(d["kelas"]) for d in inputs)
    naive_runs = [
        timed(lambda: run_naive(naive_scenario, policy, inputs)) for _ in range(args.repeat)
    ]
    naive_s, _, naive_result = min(naive_runs, key=lambda r: r[0])
    naive_s_scaled = naive_s * n / naive_n

    tracemalloc.start()
    run_engine(scenario, policy)
    peak_tracemalloc_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    engine_rate, loop_rate = cycles / engine_s, cycles / loop_s
    lean_rate, naive_rate = cycles / lean_s, naive_n * QUARTERS / naive_s
    simpy_overhead = engine_s / loop_s
    vs_lean = no_flows_s / lean_s
    vs_naive = naive_s_scaled / engine_s
    reference_s = engine_s * REFERENCE_EMPLOYEES / n
    targets = {
        "engine_within_1_5x_lean_reference": vs_lean <= TARGET_VS_LEAN,
        "lean_reference_docks_with_engine": docked,
        "simpy_overhead_within_1_3x": simpy_overhead <= TARGET_SIMPY_OVERHEAD,
        "engine_at_least_50x_faster_than_naive": vs_naive >= TARGET_VS_NAIVE,
        "engine_100k_x_20_quarters_under_5_s": reference_s < TARGET_SECONDS,
    }

    print(
        f"A  engine (simlib.simulate)         {engine_s:8.3f} s  "
        f"{engine_rate:14,.0f} employee-cycles/s"
    )
    print(
        f"B  same steps, plain loop (no SimPy) {loop_s:7.3f} s  "
        f"{loop_rate:14,.0f} employee-cycles/s"
    )
    print(
        f"A0 engine, what D leaves out off    {no_flows_s:7.3f} s  "
        f"(flows cost {engine_s - no_flows_s:+.3f} s)"
    )
    print(
        f"D  lean reference                    {lean_s:7.3f} s  "
        f"{lean_rate:14,.0f} employee-cycles/s"
    )
    print(
        f"C  naive (1 SimPy process/employee, Python random) {naive_s:.3f} s for "
        f"{naive_n:,} employees; scaled to {n:,}: {naive_s_scaled:,.1f} s  "
        f"{naive_rate:,.0f} employee-cycles/s"
    )
    print(
        "sanity, engine vs naive: share baik {:.3f} vs {:.3f}; misclassification {:.3f} vs "
        "{:.3f}; due/entitled {:.4f} vs {:.4f}; paid/due {:.4f} vs {:.4f}".format(
            *(x for k in expected for x in (expected[k], naive_result[k]))
        )
    )
    sanity = (
        "q_share_baik",
        "q_mean_true_performance",
        "paid_over_entitled",
        "adoption_at_horizon",
    )
    print(
        "sanity at this size, one seed, A0 vs D: "
        + "; ".join(f"{k} {at_scale[0][k]:.4f} vs {at_scale[1][k]:.4f}" for k in sanity)
    )
    print(
        target_line(
            f"engine's abstraction cost, A0 / D = {vs_lean:.2f}x, within {TARGET_VS_LEAN}x",
            targets["engine_within_1_5x_lean_reference"],
        )
    )
    print(
        target_line(
            f"every headline outcome of the lean reference docks with the engine "
            f"({sum(r['agrees'] for r in dock_rows)}/{len(dock_rows)} agree)",
            docked,
        )
    )
    print(
        target_line(
            f"SimPy scheduling overhead, A / B = {simpy_overhead:.2f}x, within "
            f"{TARGET_SIMPY_OVERHEAD}x",
            targets["simpy_overhead_within_1_3x"],
        )
    )
    print(
        target_line(
            f"engine vs naive, {vs_naive:,.0f}x faster, at least {TARGET_VS_NAIVE:.0f}x",
            targets["engine_at_least_50x_faster_than_naive"],
        )
    )
    scaled_note = "" if n == REFERENCE_EMPLOYEES else f" (scaled from {n:,})"
    print(
        target_line(
            f"engine, 100,000 x {QUARTERS} quarters in {reference_s:.3f} s{scaled_note} "
            f"(CPU/wall {engine_cpu_s / engine_s:.2f}), under {TARGET_SECONDS:.0f} s on one core",
            targets["engine_100k_x_20_quarters_under_5_s"],
        )
    )
    print(
        f"memory: tracemalloc peak of one engine run {peak_tracemalloc_mb:,.1f} MB; "
        f"process max RSS {max_rss_mb:,.1f} MB"
    )

    figures = {
        "employees": n,
        "agencies": len(scenario.agencies),
        "quarters": QUARTERS,
        "repeat": args.repeat,
        "naive_employees": naive_n,
        "dock_seeds": args.dock_seeds,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "engine_s": round(engine_s, 4),
        "engine_cpu_s": round(engine_cpu_s, 4),
        "plain_loop_s": round(loop_s, 4),
        "engine_no_flows_s": round(no_flows_s, 4),
        "lean_reference_s": round(lean_s, 4),
        "naive_s": round(naive_s, 4),
        "naive_s_scaled": round(naive_s_scaled, 3),
        "engine_cycles_per_s": round(engine_rate),
        "plain_loop_cycles_per_s": round(loop_rate),
        "lean_cycles_per_s": round(lean_rate),
        "naive_cycles_per_s": round(naive_rate),
        "simpy_overhead": round(simpy_overhead, 3),
        "engine_vs_lean": round(vs_lean, 3),
        "engine_vs_naive_speedup": round(vs_naive, 1),
        "engine_s_per_100k": round(reference_s, 4),
        "peak_tracemalloc_mb": round(peak_tracemalloc_mb, 1),
        "max_rss_mb": round(max_rss_mb, 1),
        "docking": {
            r["outcome"]: {k: round(r[k], 6) for k in ("engine", "lean", "diff", "se")}
            for r in dock_rows
        },
        "targets_met": targets,
    }
    print(json.dumps(figures))
    return exit_status(targets, check=args.check)


if __name__ == "__main__":
    sys.exit(main())
