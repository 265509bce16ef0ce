import datetime as dt

import numpy as np
import pandas as pd
import pytest
import simpy
from helpers import shrink, with_changes

import simlib
from simlib.core.paths import POLICIES
from simlib.engine.outcomes import OUTCOMES
from simlib.params.policy import build_schedule


@pytest.fixture(scope="module")
def run(tiny, regional):
    return simlib.simulate(tiny, regional, seed=11)


def test_reports_exactly_the_declared_outcomes(run, tiny, regional):
    """Every declared outcome is reported, except those whose lever the policy lacks."""
    careers = simlib.apply_variant(
        regional, simlib.load_variant(POLICIES / "promotion_by_rating.yaml")
    )
    with_careers = simlib.simulate(tiny, careers, seed=11)
    for result, lever in ((run, None), (with_careers, "careers")):
        out = result.outcomes
        for kind in ("quarter", "year"):
            declared = {o.name for o in OUTCOMES if kind in o.levels and o.requires in ("", lever)}
            reported = set(out.loc[out.period_kind == kind, "metric"])
            assert reported == declared, (lever, kind, reported ^ declared)
        assert list(out.columns) == list(simlib.engine.outcomes.OUTCOME_COLUMNS)


def test_periods_cover_the_horizon(run, tiny):
    out = run.outcomes
    quarters = out.loc[out.period_kind == "quarter", "period"].unique()
    years = out.loc[out.period_kind == "year", "period"].unique()
    assert list(quarters) == [f"{y}Q{q}" for y in (2025, 2026) for q in (1, 2, 3, 4)]
    assert list(years) == ["2025", "2026"]
    assert len(run.ledger) == tiny.calendar.horizon_months


def test_ledger_adds_up(run):
    led = run.ledger
    np.testing.assert_allclose(
        led.entitled_idr - led.performance_cut_idr - led.absence_cut_idr, led.due_idr, rtol=1e-12
    )
    np.testing.assert_allclose(led.due_idr - led.cap_cut_idr, led.paid_idr, rtol=1e-12)
    assert (led.paid_idr <= led.due_idr + 1e-6).all() and (led.due_idr <= led.entitled_idr).all()
    for _, year in led.groupby("year"):
        assert year.paid_idr.sum() <= year.budget_cap_idr.iloc[0] * (1 + 1e-12)
        assert year.budget_spent_ytd_idr.is_monotonic_increasing


def test_annual_outcomes_match_the_ledger(run):
    out = run.outcomes
    paid = out[(out.period_kind == "year") & (out.metric == "tukin_paid_idr")]
    by_year = run.ledger.groupby("year").paid_idr.sum()
    np.testing.assert_allclose(paid.value.to_numpy(), by_year.loc[paid.period].to_numpy())


def test_shares_sum_to_one(run):
    out = run.outcomes
    shares = out[out.metric.str.startswith("share_")]
    total = shares.groupby(["period_kind", "period"]).value.sum()
    np.testing.assert_allclose(total.to_numpy(), 1.0)


def test_one_simpy_process_per_agency_not_per_employee(monkeypatch, district, regional):
    calls = []
    original = simpy.Environment.process

    def counting(self, generator):
        calls.append(generator)
        return original(self, generator)

    monkeypatch.setattr(simpy.Environment, "process", counting)
    simlib.simulate(shrink(district, employees=500, horizon_months=12), regional, seed=1)
    assert len(calls) == 1, f"{len(calls)} SimPy processes for one agency of 500 employees"


def test_multi_agency_scenario_reports_every_agency(regional):
    prov = shrink(simlib.load_scenario(simlib.core.paths.SCENARIOS / "provincial_government.yaml"),
                  employees=80, horizon_months=12)  # fmt: skip
    result = simlib.simulate(prov, regional, seed=2)
    assert set(result.outcomes.agency) == {a.name for a in prov.agencies}
    assert set(result.ledger.agency) == {a.name for a in prov.agencies}


def test_variant_takes_effect_at_its_date_and_not_before(tiny, regional):
    cut = simlib.Variant(
        name="cut", description="", changes={"incentives.table_scale": 0.5},
        effective_date=dt.date(2026, 1, 1), source_file="test", docs={},
    )  # fmt: skip
    schedule = build_schedule(regional, (cut,), month_of=tiny.month_of, horizon_months=24)
    changed = simlib.simulate(tiny, schedule, seed=3)
    base = simlib.simulate(tiny, regional, seed=3)
    first, second = changed.ledger.t_month < 12, changed.ledger.t_month >= 12
    # Common random numbers: before the change the two runs are identical.
    pd.testing.assert_frame_equal(
        changed.ledger[first].drop(columns="policy"), base.ledger[first].drop(columns="policy")
    )
    assert (changed.ledger[second].policy == "Baseline (regional TPP) + cut").all()
    ratio = changed.ledger[second].entitled_idr / base.ledger[second].entitled_idr
    np.testing.assert_allclose(ratio, 0.5)


def test_employee_panel_is_opt_in(tiny, regional):
    assert simlib.simulate(tiny, regional, seed=1).panel is None
    outputs = tiny.outputs.model_copy(update={"employee_panel": True, "employee_ledger": True})
    result = simlib.simulate(tiny.model_copy(update={"outputs": outputs}), regional, seed=1)
    n = tiny.agencies[0].structure.employees
    assert len(result.panel) == n * 8
    assert len(result.employee_ledger) == n * 24
    assert set(result.panel.predikat.cat.categories) == set(simlib.core.domain.PREDIKAT)
    # The panel's ratings reproduce the reported accuracy.
    q1 = result.panel[result.panel.period == "2025Q1"]
    acc = result.outcomes.query("period == '2025Q1' and metric == 'rating_accuracy'").value.item()
    assert np.corrcoef(q1.hasil_rating, q1.hasil_true)[0, 1] == pytest.approx(acc)


def test_head_is_rated_on_the_organisation(tiny, regional):
    """The head's annual hasil-kerja level is the organisation's predikat (PermenPANRB
    6/2022): above expectation for Istimewa, meets for Baik, below for the rest. Everyone
    else's annual predikat does not depend on it."""
    outputs = tiny.outputs.model_copy(update={"employee_panel": True, "employee_ledger": True})
    scenario = tiny.model_copy(update={"outputs": outputs})
    matrix = simlib.params.tables.predikat_matrix()
    cut = {"cutoff_below": regional.appraisal.cutoff_below,
           "cutoff_above": regional.appraisal.cutoff_above}  # fmt: skip
    annual = {}
    for org, expected_level in (("istimewa", 2), ("baik", 1), ("sangat_kurang", 0)):
        fixed = with_changes(regional, appraisal__organisation_predikat=org,
                             appraisal__pay_basis="annual")  # fmt: skip
        result = simlib.simulate(scenario, fixed, seed=4)
        org_code = result.outcomes.query("metric == 'org_predikat'").value
        assert (org_code == simlib.core.domain.ORG_PREDIKAT.index(org)).all()
        head = int(np.flatnonzero(result.workforce.supervisor.to_numpy() < 0)[0])
        # The 2025 annual predikat pays from January 2026 (pay_basis annual).
        led = result.employee_ledger
        paid_on = led[led.t_month == 12].set_index("employee").predikat.cat.codes
        panel = result.panel[result.panel.period.str.startswith("2025")]
        perilaku = panel[panel.employee == head].perilaku_rating.mean()
        p_level = simlib.rules.appraisal.levels(np.array([perilaku]), **cut)[0]
        assert paid_on[head] == matrix[expected_level, p_level], (org, paid_on[head], p_level)
        annual[org] = paid_on.drop(head)
    # The head's own ratings play no part; nobody else's predikat depends on the organisation.
    pd.testing.assert_series_equal(annual["istimewa"], annual["sangat_kurang"])
    pd.testing.assert_series_equal(annual["istimewa"], annual["baik"])


def test_tukin_and_training_together_stay_within_the_cap(regional):
    """One budget: training charged to the tukin cap may spend only what is released and
    unspent, so tukin plus training never exceeds the cap (year) or the release (month)."""
    district = shrink(
        simlib.load_scenario(simlib.core.paths.SCENARIOS / "district_health_office.yaml")
    )
    plan = str(simlib.core.paths.DATA / "training" / "programmes.yaml")
    # A cap of Rp 120 m a year (Rp 10 m a month) against Rp 150 m of training a quarter.
    small = with_changes(regional, budget__cap_idr=120_000_000.0, training={"plan": plan})
    led = simlib.simulate(district, small, seed=5).ledger
    assert led.training_cost_idr.sum() > 0, "the test needs some training"
    for year, rows in led.groupby("year"):
        cap = rows.budget_cap_idr.iloc[0]
        spent = rows.paid_idr.sum() + rows.training_cost_idr.sum()
        assert spent <= cap * (1 + 1e-12), (year, spent, cap)
        released = cap * (rows.t_month.to_numpy() % 12 + 1) / 12
        assert (rows.budget_spent_ytd_idr.to_numpy() <= released * (1 + 1e-12)).all(), (
            year, rows.budget_spent_ytd_idr.to_numpy(), released,
        )  # fmt: skip
