"""Competence development: loader, reproducibility, budget, direction of effects, shocks."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from simlib.core.domain import JOB_TYPES
from simlib.core.errors import ConfigError
from simlib.core.paths import DATA
from simlib.engine.training import LEDGER_COLUMNS, TrainingState, effective_competence, run_quarter
from simlib.params.config import read_yaml
from simlib.params.training import TrainingPlan, load_training, training_from_dict

PLAN_FILE = DATA / "training" / "programmes.yaml"
N = 400


@pytest.fixture(scope="module")
def plan() -> TrainingPlan:
    return load_training(PLAN_FILE)


@pytest.fixture(scope="module")
def people():
    """A small workforce built with numpy: competence (SD) and job-type codes."""
    rng = np.random.default_rng(7)
    return rng.standard_normal(N), rng.integers(0, len(JOB_TYPES), N)


def change(plan: TrainingPlan, **changes) -> TrainingPlan:
    """``plan`` with dotted-path changes (``programmes__0__seats_per_quarter=5``)."""
    data = plan.model_dump(exclude={"docs", "source_file"})
    data["programmes"] = list(data["programmes"])
    for key, value in changes.items():
        *parents, leaf = key.split("__")
        node = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[leaf] = value
    return build(data)


def build(data: dict) -> TrainingPlan:
    """Validate a plan from a plain mapping (lists become tuples, as the loader does)."""

    def tuples(node):
        if isinstance(node, dict):
            return {k: tuples(v) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return tuple(tuples(v) for v in node)
        return node

    return TrainingPlan.model_validate(tuples(data))


def only(plan: TrainingPlan, index: int, **changes) -> TrainingPlan:
    """``plan`` with one programme and no technology shock."""
    data = plan.model_dump(exclude={"docs", "source_file"})
    data["programmes"] = [data["programmes"][index]]
    data["shock"] = None
    plan = build(data)
    return change(plan, **changes) if changes else plan


def run(plan, people, *, quarters=4, seed=1, eligible=None, predikat=None):
    """Run ``quarters`` quarters; return the final state and the reports."""
    competence, job_type = people
    rng = np.random.default_rng(seed)
    eligible = np.ones(N, dtype=bool) if eligible is None else eligible
    state = TrainingState.start(N, plan)
    reports = []
    for q in range(quarters):
        state, report = run_quarter(
            plan,
            state,
            competence,
            eligible,
            quarter=q,
            rng=rng,
            predikat=predikat,
            job_type=job_type,
        )
        reports.append(report)
    return state, reports


# --- loader -----------------------------------------------------------------------------


def test_the_plan_file_loads_and_every_number_is_documented(plan):
    assert plan.effect_d == pytest.approx(0.62)
    assert plan.min_hours_per_year == 20
    assert {p.provider for p in plan.programmes} == {"in_house", "university", "ngo"}
    assert "Arthur" in plan.docs["effect_d"].source
    assert "Pasal 203" in plan.docs["min_hours_per_year"].source
    for where, doc in plan.docs.items():
        assert doc.unit.strip() and doc.source.strip(), where


@pytest.mark.parametrize("path", sorted((DATA / "training").glob("*.yaml")), ids=lambda p: p.name)
def test_every_training_file_validates(path):
    assert load_training(path).programmes


def test_university_is_cheaper_with_more_seats_and_higher_quality_ngo_cheapest(plan):
    by = {p.provider: p for p in plan.programmes}
    uni, own, ngo = by["university"], by["in_house"], by["ngo"]
    assert uni.cost_idr < own.cost_idr and uni.seats_per_quarter > own.seats_per_quarter
    assert uni.quality > own.quality > ngo.quality
    assert ngo.cost_idr < uni.cost_idr


def test_a_bad_value_is_one_line_naming_the_field(tmp_path):
    raw = read_yaml(PLAN_FILE)
    raw["programmes"][1]["quality"]["value"] = 2.5
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_training(path)
    message = str(info.value)
    assert "programmes[1].quality" in message and "<= 2" in message, message
    assert "bad.yaml" in message and "\n" not in message, message


@pytest.mark.parametrize(
    ("where", "value", "field"),
    [
        (("annual_budget_idr",), -1, "annual_budget_idr"),
        (("selection",), "lottery", "selection"),
        (("shock", "job_types"), ["clerk"], "shock.job_types[0]"),
        (("programmes", 0, "duration_days"), 80, "programmes"),
    ],
)
def test_bad_values_name_their_field(where, value, field):
    raw = read_yaml(PLAN_FILE)
    node = raw
    for part in where[:-1]:
        node = node[part]
    leaf = node[where[-1]]
    if isinstance(leaf, dict) and "value" in leaf:
        leaf["value"] = value
    else:
        node[where[-1]] = value
    with pytest.raises(ConfigError) as info:
        training_from_dict(raw, file="plan.yaml")
    assert field in str(info.value) and "\n" not in str(info.value), str(info.value)


def test_an_undocumented_number_is_refused():
    raw = read_yaml(PLAN_FILE)
    raw["decay_per_year"] = 0.3
    with pytest.raises(ConfigError, match=r"decay_per_year: bare value 0\.3"):
        training_from_dict(raw, file="plan.yaml")


# --- mechanics ----------------------------------------------------------------------------


def test_same_seed_same_results(plan, people):
    random_plan = change(plan, selection="random")
    a_state, a = run(random_plan, people, quarters=6, seed=3)
    b_state, b = run(random_plan, people, quarters=6, seed=3)
    for name in ("courses", "hours_jp", "gain_sd", "penalty_sd"):
        np.testing.assert_array_equal(getattr(a_state, name), getattr(b_state, name))
    for x, y in zip(a, b, strict=True):
        assert x.ledger.equals(y.ledger)
        np.testing.assert_array_equal(x.trained, y.trained)
    _, c = run(random_plan, people, quarters=6, seed=4)
    assert any(not np.array_equal(x.trained, y.trained) for x, y in zip(a, c, strict=True))


@pytest.mark.parametrize("budget", [0.0, 7_500_000.0, 50_000_000.0, 600_000_000.0, 5e9])
def test_budget_is_never_exceeded(plan, people, budget):
    budgeted = change(plan, annual_budget_idr=budget)
    _, reports = run(budgeted, people, quarters=8)
    for year in (reports[:4], reports[4:]):
        spent = sum(r.cost_idr for r in year)
        assert spent <= budget + 1e-6, (budget, spent)
    for r in reports:
        assert r.cost_idr <= r.quarter_budget_idr + 1e-6, (r.cost_idr, r.quarter_budget_idr)
        assert r.budget_left_idr >= 0
        assert r.ledger["cost_idr"].sum() == pytest.approx(r.cost_idr)
        assert list(r.ledger.columns) == list(LEDGER_COLUMNS)
        # Nobody takes more courses than the seats allow in sequence.
        for p, row in zip(budgeted.programmes, r.ledger.itertuples(), strict=True):
            waves = budgeted.working_days_per_quarter // p.duration_days
            assert row.trainees <= p.seats_per_quarter * waves
            assert row.seat_days <= p.seats_per_quarter * budgeted.working_days_per_quarter


def test_unspent_budget_carries_over_within_the_year_not_across(plan, people):
    # Nobody eligible in the first two quarters: the money waits for the rest of the year.
    competence, _ = people
    lone = only(plan, 1)
    state = TrainingState.start(N, lone)
    rng = np.random.default_rng(1)
    nobody, everyone = np.zeros(N, dtype=bool), np.ones(N, dtype=bool)
    shares = []
    for q in range(5):
        state, r = run_quarter(
            lone, state, competence, nobody if q < 2 else everyone, quarter=q, rng=rng
        )
        shares.append(r.quarter_budget_idr)
    annual = lone.annual_budget_idr
    assert shares[:3] == pytest.approx([annual / 4, annual / 3, annual / 2]), shares
    assert shares[4] == pytest.approx(annual / 4), shares


def test_a_seat_serves_trainees_in_sequence(plan, people):
    # 2 seats, 10-day course, 63 working days: 6 courses per seat, 12 trainees in all.
    small = only(plan, 1, programmes__0__seats_per_quarter=2, annual_budget_idr=1e12)
    _, (report,) = run(small, people, quarters=1)
    assert report.trainees == 12, report.ledger
    assert report.ledger["seat_days"].iloc[0] == pytest.approx(120.0)


def test_more_seats_raise_mean_competence(plan, people):
    means = {}
    for seats in (5, 20, 60):
        ample = only(plan, 1, programmes__0__seats_per_quarter=seats, annual_budget_idr=1e12)
        state, _ = run(ample, people)
        means[seats] = effective_competence(people[0], state).mean()
    assert means[5] < means[20] < means[60], means


def test_cheaper_partnership_raises_mean_competence_for_the_same_budget(plan, people):
    budget = 200_000_000.0
    results = {}
    for name, index in (("in_house", 0), ("university", 1)):
        # Same seats and course length, so only price and quality differ.
        single = only(
            plan,
            index,
            annual_budget_idr=budget,
            programmes__0__seats_per_quarter=20,
            programmes__0__duration_days=5.0,
        )
        state, reports = run(single, people)
        results[name] = (
            effective_competence(people[0], state).mean(),
            sum(r.trainees for r in reports),
            sum(r.cost_idr for r in reports),
        )
    assert results["university"][0] > results["in_house"][0], results
    assert results["university"][1] > results["in_house"][1], results


def test_needs_based_beats_random_on_gain_per_rupiah_because_of_headroom(plan, people):
    """The lowest have more headroom (needs_boost > 0): needs-based gains more per rupiah.

    Without headroom (needs_boost = 0) a first course gains the same for everyone, so the
    two rules gain the same per rupiah: the headroom is the reason.
    """
    observed = {}
    for boost in (0.5, 0.0):
        for rule in ("needs_based", "random"):
            single = only(plan, 1, selection=rule, needs_boost=boost, repeat_factor=1.0)
            _, (report,) = run(single, people, quarters=1)
            observed[boost, rule] = report.total_gain_sd / report.cost_idr * 1e6
    assert observed[0.5, "needs_based"] > 1.2 * observed[0.5, "random"], observed
    assert observed[0.0, "needs_based"] == pytest.approx(observed[0.0, "random"]), observed


def test_needs_based_trains_the_lowest_and_merit_the_highest(plan, people):
    competence = people[0]
    picked = {}
    for rule in ("needs_based", "merit"):
        _, (report,) = run(only(plan, 1, selection=rule), people, quarters=1)
        picked[rule] = competence[report.trained].mean()
    assert picked["needs_based"] < competence.mean() < picked["merit"], picked


def test_needs_based_with_predikat_trains_the_worst_rated_first(plan, people):
    rng = np.random.default_rng(2)
    predikat = rng.integers(0, 5, N)
    single = only(plan, 1, programmes__0__seats_per_quarter=5, annual_budget_idr=1e12)
    _, (report,) = run(single, people, quarters=1, predikat=predikat)
    assert report.trainees == 30
    assert (predikat[report.trained] == 4).all(), predikat[report.trained]


def test_gains_decay_over_time(plan, people):
    trained_once = only(plan, 1, decay_per_year=0.3, annual_budget_idr=1e12)
    competence, _ = people
    rng = np.random.default_rng(1)
    state = TrainingState.start(N, trained_once)
    state, _ = run_quarter(
        trained_once, state, competence, np.ones(N, dtype=bool), quarter=0, rng=rng
    )
    after_training = state.gain_sd.sum()
    nobody = np.zeros(N, dtype=bool)
    totals = []
    for q in range(1, 9):
        state, _ = run_quarter(trained_once, state, competence, nobody, quarter=q, rng=rng)
        totals.append(state.gain_sd.sum())
    assert after_training > 0
    assert all(b < a for a, b in zip([after_training, *totals], totals, strict=False)), totals
    assert totals[3] == pytest.approx(after_training * 0.7), totals
    assert totals[7] == pytest.approx(after_training * 0.49), totals


def test_repeat_courses_gain_less(plan, people):
    # 60 seats x 6 waves = 360 of 400 trained each quarter: most take a second course.
    single = only(
        plan, 1, programmes__0__seats_per_quarter=60, annual_budget_idr=1e12, needs_boost=0.0
    )
    _, reports = run(single, people, quarters=2)
    assert reports[1].mean_gain_sd < reports[0].mean_gain_sd, (
        reports[0].mean_gain_sd,
        reports[1].mean_gain_sd,
    )


def test_compliance_rises_with_seats_and_resets_in_january(plan, people):
    compliance = {}
    for seats in (1, 3, 8):
        ample = only(plan, 2, programmes__0__seats_per_quarter=seats, annual_budget_idr=1e12)
        _, reports = run(ample, people, quarters=5)
        compliance[seats] = [round(r.compliance, 3) for r in reports]
    year_end = {s: c[3] for s, c in compliance.items()}
    assert year_end[1] < year_end[3] < year_end[8], compliance
    for c in compliance.values():
        assert c[:4] == sorted(c[:4]), c  # accumulates within the year
        assert c[4] < c[3], c  # hours reset in January (quarter 4)


def test_technology_shock_penalises_until_digital_training(plan, people):
    _, job_type = people
    shock = {"month": 3, "affected_share": 1.0, "job_types": ("pelaksana",), "penalty_sd": 0.4}
    data = plan.model_dump(exclude={"docs", "source_file"})
    data["shock"] = shock
    data["annual_budget_idr"] = 1e12
    # One digital seat (21 three-day courses a quarter): the gap closes over quarters.
    for p in data["programmes"]:
        if p["kind"] == "digital":
            p["seats_per_quarter"] = 1
    with_digital = build(data)
    data["programmes"] = [p for p in data["programmes"] if p["kind"] != "digital"]
    without_digital = build(data)
    affected = job_type == JOB_TYPES.index("pelaksana")

    gaps = {}
    for label, p in (("digital", with_digital), ("no digital", without_digital)):
        state, reports = run(p, people, quarters=6)
        gaps[label] = [r.penalised for r in reports]
        final_penalty = state.penalty_sd[affected]
        if label == "no digital":
            assert np.allclose(final_penalty, 0.4)
            assert (state.penalty_sd[~affected] == 0).all()
    # Quarter 0 is before the shock; the shock hits in quarter 1.
    assert gaps["digital"][0] == 0 and gaps["no digital"][0] == 0, gaps
    assert gaps["no digital"][1:] == [affected.sum()] * 5, gaps
    assert gaps["digital"][1] < affected.sum(), gaps  # some trained in the shock quarter
    assert gaps["digital"][1:] == sorted(gaps["digital"][1:], reverse=True), gaps
    assert gaps["digital"][-1] < gaps["digital"][1], gaps


def test_effective_competence_drops_at_the_shock_and_the_gap_closes(plan, people):
    competence, _ = people
    data = plan.model_dump(exclude={"docs", "source_file"})
    data["shock"] = {"month": 0, "affected_share": 1.0, "penalty_sd": 0.5}
    # Only the digital course, few seats: the gap closes over several quarters.
    data["programmes"] = [p for p in data["programmes"] if p["kind"] == "digital"]
    data["programmes"][0]["seats_per_quarter"] = 3
    data["annual_budget_idr"] = 1e12
    shocked = build(data)
    state, reports = run(shocked, people, quarters=4)
    penalty_share = [r.penalised / N for r in reports]
    assert penalty_share == sorted(penalty_share, reverse=True)
    assert penalty_share[0] < 1.0 and penalty_share[-1] < penalty_share[0], penalty_share
    untrained = state.courses == 0
    eff = effective_competence(competence, state)
    assert eff[untrained] == pytest.approx(competence[untrained] - 0.5)


def test_wrong_shapes_and_backward_quarters_are_refused(plan, people):
    competence, _ = people
    state = TrainingState.start(N, plan)
    rng = np.random.default_rng(1)
    eligible = np.ones(N, dtype=bool)
    with pytest.raises(ValueError, match="workforce_competence has shape"):
        run_quarter(plan, state, competence[:-1], eligible, quarter=0, rng=rng)
    with pytest.raises(ValueError, match="eligible has type"):
        run_quarter(plan, state, competence, eligible.astype(int), quarter=0, rng=rng)
    state, _ = run_quarter(only(plan, 0), state, competence, eligible, quarter=0, rng=rng)
    with pytest.raises(ValueError, match="increasing quarters"):
        run_quarter(only(plan, 0), state, competence, eligible, quarter=0, rng=rng)
    with pytest.raises(ValueError, match="job_type was not given"):
        run_quarter(plan, TrainingState.start(N, plan), competence, eligible, quarter=4, rng=rng)


def test_runs_on_a_generated_workforce(plan):
    from simlib.core.paths import DEFAULT_SCENARIO
    from simlib.params.scenario import load_scenario
    from simlib.world.workforce import generate

    scenario = load_scenario(DEFAULT_SCENARIO)
    agency = next(a for a in scenario.agencies if a.structure is not None)
    workforce = generate(agency.structure, scenario.workforce, rng=np.random.default_rng(5))
    state = TrainingState.start(workforce.n, plan)
    rng = np.random.default_rng(6)
    eligible = ~workforce.pppk
    for q in range(8):
        state, report = run_quarter(
            plan,
            state,
            workforce.competence,
            eligible,
            quarter=q,
            rng=rng,
            job_type=workforce.job_type,
        )
        assert 0.0 <= report.compliance <= 1.0
    assert report.penalised > 0
    assert (state.courses[~eligible] == 0).all()
