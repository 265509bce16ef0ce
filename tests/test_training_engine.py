"""Training run from the agency calendar: competence, performance, budget, 20 JP compliance.

Training plans are a policy lever (``training: {plan: ...}``): the policy under study names
the plan, the scenario is the world it runs in.
"""

import pytest
import yaml
from helpers import shrink, static_workforce

import simlib
from simlib.core.paths import DATA, POLICIES
from simlib.params.changes import apply_changes

PLAN = DATA / "training" / "programmes.yaml"


def with_training(policy, path):
    """``policy`` with the training plan in ``path`` as its training lever."""
    return apply_changes(policy, {"training": {"plan": str(path)}})


def quarterly(result, kind, metric):
    out = result.outcomes
    rows = out[(out.period_kind == kind) & (out.metric == metric)]
    return rows.set_index("period").value


@pytest.fixture(scope="module")
def scenario(district):
    # Hires arrive untrained: keep the same people so that gains can be followed.
    return static_workforce(shrink(district, employees=400, horizon_months=36))


def test_training_raises_competence_and_performance(scenario, regional, tmp_path):
    raw = yaml.safe_load(PLAN.read_text())
    raw.pop("shock", None)
    plain = tmp_path / "no_shock.yaml"
    plain.write_text(yaml.safe_dump(raw, sort_keys=False))
    trained = simlib.simulate(scenario, with_training(regional, plain), seed=2)
    untrained = simlib.simulate(scenario, regional, seed=2)
    competence = quarterly(trained, "training", "mean_competence")
    # Gains accumulate, then level off where decay balances new courses.
    assert competence.iloc[:8].is_monotonic_increasing, competence.tolist()
    assert competence.iloc[-1] > 2 * competence.iloc[0], competence.tolist()
    gap = (quarterly(trained, "quarter", "mean_true_performance")
           - quarterly(untrained, "quarter", "mean_true_performance"))  # fmt: skip
    # Common random numbers: the only difference is the training.
    gain = competence.iloc[0] - trained.workforce.competence.mean()
    assert gap.iloc[0] == pytest.approx(gain * scenario.performance.competence_weight)
    assert (gap.iloc[4:] > 0).all(), gap.tolist()


def test_a_technology_shock_lowers_performance_until_training_catches_up(scenario, regional):
    result = simlib.simulate(scenario, with_training(regional, PLAN), seed=3)
    penalised = quarterly(result, "training", "shock_penalised")
    competence = quarterly(result, "training", "mean_competence")
    assert penalised["2025Q4"] == 0 and penalised["2026Q1"] > 0
    assert penalised["2027Q4"] < penalised["2026Q1"], penalised.tolist()
    assert competence["2026Q1"] < competence["2025Q4"], "the shock lowers effective competence"
    assert competence["2027Q4"] > competence["2026Q1"], "training closes the gap"


def test_training_spend_is_in_the_ledger_and_within_budget(scenario, regional):
    result = simlib.simulate(scenario, with_training(regional, PLAN), seed=4)
    budget = simlib.params.training.load_training(PLAN).annual_budget_idr
    by_year = result.ledger.groupby("year").training_cost_idr.sum()
    assert (by_year <= budget + 1e-6).all(), by_year.tolist()
    assert by_year.sum() == pytest.approx(quarterly(result, "training", "training_cost_idr").sum())
    compliance = quarterly(result, "training", "jp_compliance")
    assert compliance["2025Q4"] > compliance["2025Q1"] > 0


def test_training_variant_loads_and_bad_plans_are_refused(tmp_path, district):
    variant = simlib.load_variant(POLICIES / "training_programmes.yaml")
    assert variant.changes["training"]["plan"] == str(PLAN)
    raw = yaml.safe_load((POLICIES / "training_programmes.yaml").read_text())
    raw["changes"]["training"]["plan"] = "missing.yaml"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(simlib.ConfigError, match=r"bad\.yaml: changes\.training\.plan: "
                       r"'missing\.yaml': training plan not found.*allowed"):  # fmt: skip
        simlib.load_variant(path)
    # A scenario whose agency still names a plan says where plans went.
    raw = {"extends": str(DATA / "scenarios" / "district_health_office.yaml"),
           "agencies": [{"name": "Dinkes Kabupaten", "training": str(PLAN)}]}  # fmt: skip
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(simlib.ConfigError, match=r"old\.yaml: agencies\[0\]: 'training' is not "
                       r"a key of an agency: training plans are policy levers now"):  # fmt: skip
        simlib.load_scenario(old)


def test_one_budget_for_training_and_tukin_leaves_less_for_pay(scenario, regional):
    assert regional.budget.training_from_tukin_budget, "one budget unless a policy separates"
    separate = simlib.apply_variant(regional, simlib.Variant(
        "separate", "", {"budget.training_from_tukin_budget": False}, None, "test", {}))  # fmt: skip
    apart = simlib.simulate(scenario, with_training(separate, PLAN), seed=5).ledger
    together = simlib.simulate(scenario, with_training(regional, PLAN), seed=5).ledger
    assert together.paid_idr.sum() < apart.paid_idr.sum() - 1e6, (
        apart.paid_idr.sum(),
        together.paid_idr.sum(),
    )
    for _, year in together.groupby("year"):
        spent = year.paid_idr.sum() + year.training_cost_idr.sum()
        assert spent <= year.budget_cap_idr.iloc[0] * (1 + 1e-9)
    run = simlib.simulate(scenario, with_training(regional, PLAN), seed=5)
    cost_per_sd = quarterly(run, "training", "training_cost_per_sd_idr")
    assert (cost_per_sd.dropna() > 0).all()
