"""Behaviour: effort, fairness, adoption, gaming and workforce flows (issue: behaviour).

Directional tests run small agencies under common random numbers (same seeds in both arms)
and average over a few seeds; each assertion message prints the observed values.
"""

import datetime as dt

import numpy as np
import pytest
from helpers import shrink, static_workforce, with_changes

import simlib
from simlib.behaviour.adoption import (
    ADOPTING,
    RESISTING,
    adoption_step,
    draw_people,
    experienced_accuracy,
    gaming_shares,
    pay_gap_to_peers,
)
from simlib.cli.main import main
from simlib.core.paths import SCENARIOS
from simlib.params.policy import build_schedule
from simlib.params.tables import retirement_age
from simlib.world.flows import LEAVE_REASONS, _bottom_of_units, hire, leavers, transfer_order

SEEDS = (1, 2, 3)


def metric(result, name, kind="quarter"):
    out = result.outcomes
    return out[(out.period_kind == kind) & (out.metric == name)].set_index("period").value


def mean_over_seeds(scenario, policy, name, *, kind="quarter", seeds=SEEDS, last=None):
    values = []
    for seed in seeds:
        series = metric(simlib.simulate(scenario, policy, seed=seed), name, kind)
        values.append(series.iloc[-last:].mean() if last else series.mean())
    return float(np.mean(values))


@pytest.fixture(scope="module")
def small(district):
    return shrink(district, employees=300, horizon_months=24)


# -- unit level ------------------------------------------------------------------------------


def test_experienced_accuracy_averages_to_the_rating_correlation():
    rng = np.random.default_rng(0)
    true = rng.standard_normal(200_000)
    for rho in (0.2, 0.5, 0.9):
        rating = rho * true + np.sqrt(1 - rho**2) * rng.standard_normal(true.size)
        got = experienced_accuracy(rating, true).mean()
        assert abs(got - rho) < 0.01, (rho, got)


def test_pay_gap_is_positive_for_the_underpaid_among_equals():
    true = np.repeat(np.arange(10.0), 10)
    entitled = np.full(100, 100.0)
    paid = entitled.copy()
    paid[::10] = 80.0  # one in each decile paid 20 % less
    gap = pay_gap_to_peers(paid, entitled, true)
    assert np.allclose(gap[::10], 0.18), gap[::10]
    assert np.allclose(np.delete(gap, np.arange(0, 100, 10)), -0.02)


def test_initial_states_follow_dispositional_resistance(district):
    rng = np.random.default_rng(1)
    openness = rng.standard_normal(5000)
    people = draw_people(openness, district, rng=rng)
    ad = district.adoption
    shares = np.bincount(people.state, minlength=3) / 5000
    assert abs(shares[RESISTING] - ad.initial_resisting_share) < 0.001, shares
    assert abs(shares[ADOPTING] - ad.initial_adopting_share) < 0.001, shares
    # Resisters are the least open; every facet loads on the disposition.
    assert openness[people.state == RESISTING].mean() < -1.0, openness[people.state == 0].mean()
    for k in range(4):
        r = np.corrcoef(people.facets[:, k], -openness)[0, 1]
        assert abs(r - ad.facet_loading) < 0.03, (k, r)


def test_adoption_hazard_rises_with_adopters_in_the_unit_and_socialisation(district):
    params = district.adoption
    n = 20_000
    unit = np.repeat([0, 1], n // 2)

    def step(adopters_in_unit0, socialised):
        people = draw_people(np.zeros(n), district, rng=np.random.default_rng(2))
        people.state[:] = 1
        people.fairness[:] = 0.0
        people.inertia[:] = people.reactivity[:] = 1.0
        people.state[: int(adopters_in_unit0 * n / 2)] = ADOPTING
        people.socialised[:] = socialised
        before = people.state.copy()
        adoption_step(people, unit, params, pay_change=np.zeros(n),
                      rng=np.random.default_rng(3))  # fmt: skip
        movable = before[n // 2 :] == 1  # unit 1 has no adopters: external push only
        return np.mean(people.state[: n // 2][before[: n // 2] == 1] == ADOPTING), np.mean(
            people.state[n // 2 :][movable] == ADOPTING
        )

    imitating, external = step(0.5, False)
    expected_ext = 1 - np.exp(-params.external_push_per_month)
    expected_imit = 1 - np.exp(-(params.external_push_per_month + 0.5 * params.imitation_per_month))
    assert abs(external - expected_ext) < 0.003, (external, expected_ext)
    assert abs(imitating - expected_imit) < 0.006, (imitating, expected_imit)
    _, socialised = step(0.0, True)
    assert socialised > external + 0.02, (socialised, external)


def test_losses_weigh_more_than_equal_gains(district):
    params = district.adoption
    n = 50_000
    people = draw_people(np.zeros(n), district, rng=np.random.default_rng(4))
    people.state[:] = 1
    people.fairness[:] = 0.0
    people.inertia[:] = people.reactivity[:] = 1.0
    unit = np.zeros(n, dtype=int)
    cut, rise = people, draw_people(np.zeros(n), district, rng=np.random.default_rng(4))
    rise.state[:], rise.fairness[:] = 1, 0.0
    rise.inertia[:] = rise.reactivity[:] = 1.0
    adoption_step(cut, unit, params, pay_change=np.full(n, -0.1), rng=np.random.default_rng(5))
    adoption_step(rise, unit, params, pay_change=np.full(n, 0.1), rng=np.random.default_rng(5))
    down = np.mean(cut.state == RESISTING)
    up = np.mean(rise.state == ADOPTING)
    assert down > 1.5 * (up - 1 + np.exp(-params.external_push_per_month)), (down, up)


def test_gaming_grows_with_stakes_and_shrinks_with_audits_and_adjustment(district):
    g = district.gaming
    base = dict(pay_linked=True, severity_adjusted=False, audit_share=0.0)
    low = gaming_shares(g, 0.1, stake=0.05, **base)
    high = gaming_shares(g, 0.1, stake=0.2, **base)
    audited = gaming_shares(g, 0.1, stake=0.2, **{**base, "audit_share": 0.2})
    adjusted = gaming_shares(g, 0.1, stake=0.2, **{**base, "severity_adjusted": True})
    assert high[0] > low[0] and high[1] > low[1], (low, high)
    assert audited[0] < high[0] and audited[1] < high[1], (high, audited)
    assert adjusted[0] < high[0] and adjusted[1] == high[1], (high, adjusted)
    assert gaming_shares(g, 0.1, stake=0.2, **{**base, "pay_linked": False})[1] == 0.0


# -- flows -----------------------------------------------------------------------------------


def test_bottom_of_units_takes_the_share_of_each_unit():
    unit = np.repeat(np.arange(4), 10)
    score = np.tile(np.arange(10.0), 4)
    out = _bottom_of_units(unit, score, 0.2, exempt=np.zeros(len(unit), dtype=bool))
    assert out.sum() == 8 and np.all(score[out] < 2), score[out]


def test_an_exempt_head_is_replaced_by_the_next_lowest(district):
    """Forced separation takes its full quota: the exempt head's place goes to the next-lowest."""
    fl = district.flows.model_copy(update={
        "forced_separation_share": 0.2, "voluntary_exit_rate_pns": 0.0,
        "voluntary_exit_rate_pppk": 0.0, "retirement": False,
    })  # fmt: skip
    n = 10
    is_head = np.zeros(n, dtype=bool)
    is_head[0] = True
    out = leavers(
        unit=np.zeros(n, dtype=int), job_type=np.full(n, 3, dtype=np.int8),
        pppk=np.zeros(n, bool), age_years=np.full(n, 30.0), tenure_years=np.full(n, 3.0),
        is_head=is_head, predikat=np.ones(n, dtype=int), score=np.arange(n, dtype=float),
        sk_streak=np.zeros(n, dtype=int), params=fl, rng=np.random.default_rng(0),
    )  # fmt: skip
    forced = np.flatnonzero(out.reason == LEAVE_REASONS.index("forced_separations"))
    # A 20 % quota of 10 is 2: the head (lowest score) is exempt, so the 2nd and 3rd lowest go.
    assert forced.tolist() == [1, 2], forced


def test_leavers_by_reason(district):
    fl = district.flows.model_copy(update={"voluntary_exit_rate_pns": 0.0,
                                           "voluntary_exit_rate_pppk": 0.0})  # fmt: skip
    n = 6
    job = np.array([3, 3, 3, 4, 0, 3], dtype=np.int8)
    age = np.array([30, 57.5, 30, 30, 59.2, 30])
    out = leavers(
        unit=np.zeros(n, dtype=int), job_type=job,
        pppk=np.array([0, 0, 1, 1, 0, 0], bool), age_years=age,
        tenure_years=np.array([3, 30, 4, 4, 30, 3.0]), is_head=np.zeros(n, bool),
        predikat=np.array([1, 1, 2, 1, 1, 4]), score=np.zeros(n),
        sk_streak=np.array([0, 0, 0, 0, 0, 2]), params=fl, rng=np.random.default_rng(0),
    )  # fmt: skip
    names = [LEAVE_REASONS[r] if r >= 0 else "stays" for r in out.reason]
    # 57.5 + 1 >= 58 retires; a JPT of 59.2 retires at 60; a PPPK rated below Baik at the end
    # of a 5-year contract is not renewed; two years of Sangat Kurang end in separation.
    assert names == ["stays", "retirements", "contract_ends", "stays", "retirements",
                     "performance_separations"], (names, retirement_age())  # fmt: skip


def test_selection_with_validity_raises_hires_competence(district):
    fl = district.flows
    latent = district.workforce
    rng = np.random.default_rng(0)
    posts = np.arange(20_000)
    valid = hire(posts, fl.model_copy(update={"selection_validity": 0.5}), latent,
                 female_share=0.5, rng=rng)  # fmt: skip
    blind = hire(posts, fl.model_copy(update={"selection_validity": 0.0}), latent,
                 female_share=0.5, rng=rng)  # fmt: skip
    # Best of 10 on a score of validity v: expected competence v x 1.539.
    assert abs(valid.competence.mean() - 0.5 * 1.539) < 0.03, valid.competence.mean()
    assert abs(blind.competence.mean()) < 0.03, blind.competence.mean()


def test_transfers_move_whole_people_between_units():
    job = np.array([0, 1, 3, 3, 4, 3, 4, 3], dtype=np.int8)
    order, movers = transfer_order(job, np.array([7]), 1.0, rng=np.random.default_rng(1))
    assert sorted(order) == list(range(8)), order
    assert order[0] == 0 and order[1] == 1 and order[7] == 7, "leaders and leavers stay put"
    assert movers == 5, movers
    staff = [2, 3, 4, 5, 6]
    assert all(order[p] != p for p in staff), f"every mover takes another's post: {order}"


def test_people_keep_their_identity_through_flows(district):
    outputs = district.outputs.model_copy(update={"employee_panel": True})
    scenario = shrink(district, employees=200, horizon_months=36).model_copy(
        update={"outputs": outputs}
    )
    regional = simlib.load_policy(SCENARIOS.parent / "policies" / "baseline_regional.yaml")
    result = simlib.simulate(scenario, regional, seed=3)
    panel = result.panel
    for _, quarter in panel.groupby("period"):
        assert quarter.person.is_unique
    first, last = panel[panel.period == "2025Q1"], panel[panel.period == "2027Q4"]
    hires = metric(result, "hires", "year")
    # Everyone hired at the close of 2025 and 2026 appears in a later quarter, once each
    # (a hire who leaves again within a year counts too); 2027's hires come after the panel.
    new_people = len(set(panel.person) - set(first.person))
    assert new_people == hires.iloc[:2].sum(), (new_people, hires.tolist())
    moved = last.merge(first, on="person", suffixes=("_end", "_start"))
    assert (moved.employee_end != moved.employee_start).any(), "transfers move people"


# -- directional -----------------------------------------------------------------------------


def _accuracy(scenario, noise_sd):
    # Accurate raters also record what they rate: no reluctance to rate below expectation
    # (docs/model.md 7.4b), which would lift the noisy raters' many low verdicts.
    honest = scenario.raters.reluctance.model_copy(
        update={"honest_probability": 1.0, "pay_sensitivity": 0.0, "closeness_effect": 0.0}
    )
    raters = scenario.raters.model_copy(
        update={"noise_sd": noise_sd, "leniency_sd": 0.0, "reluctance": honest}
    )
    return static_workforce(scenario).model_copy(update={"raters": raters})


def test_stronger_pay_link_raises_effort_more_when_ratings_are_accurate(small, regional):
    steep = with_changes(
        regional,
        incentives__performance_share=0.8,
        incentives__multipliers__butuh_perbaikan=0.4,
        incentives__multipliers__kurang=0.2,
        incentives__multipliers__sangat_kurang=0.0,
    )
    gains = {}
    for label, noise in (("accurate", 0.1), ("noisy", 2.5)):
        scenario = _accuracy(small, noise)
        base = mean_over_seeds(scenario, regional, "mean_effort", last=4)
        strong = mean_over_seeds(scenario, steep, "mean_effort", last=4)
        gains[label] = strong - base
    assert gains["accurate"] > 0.03, gains
    assert gains["noisy"] < 0.5 * gains["accurate"], gains


def _long(small, months=72):
    calendar = small.calendar.model_copy(update={"horizon_months": months})
    return small.model_copy(update={"calendar": calendar})


def _months_to_80(scenario, policy):
    months = []
    for seed in SEEDS:
        value = metric(simlib.simulate(scenario, policy, seed=seed), "months_to_80pct_adoption",
                       "run").iloc[0]  # fmt: skip
        months.append(value if np.isfinite(value) else scenario.calendar.horizon_months + 1)
    return float(np.mean(months))


def test_larger_socialisation_budget_brings_80pct_adoption_earlier(small, regional):
    scenario = _long(small, 96)

    def campaign(budget_idr):
        return with_changes(
            regional,
            change_management__socialisation__budget_idr_per_year=budget_idr,
            change_management__socialisation__capacity_per_month=100,
        )

    # Runs that never reach 80 % count as the horizon + 1 (97 months).
    small_budget = _months_to_80(scenario, campaign(5_000_000))
    large_budget = _months_to_80(scenario, campaign(100_000_000))
    assert large_budget < small_budget - 6, (small_budget, large_budget)


def test_forced_quota_lowers_fairness_and_slows_adoption(small, regional):
    scenario = static_workforce(_long(small, 48))
    quota = with_changes(
        regional,
        appraisal__distribution_curve__enforce=True,
        appraisal__organisation_predikat="butuh_perbaikan",
    )
    fair = mean_over_seeds(scenario, regional, "mean_fairness", last=4)
    forced = mean_over_seeds(scenario, quota, "mean_fairness", last=4)
    adopt = mean_over_seeds(scenario, regional, "adoption_share", last=1)
    adopt_forced = mean_over_seeds(scenario, quota, "adoption_share", last=1)
    assert forced < fair - 0.05, (fair, forced)
    assert adopt_forced < adopt - 0.02, (adopt, adopt_forced)


def test_pay_cut_brings_more_resistance_than_an_equal_rise_brings_adoption(small, regional):
    scenario = static_workforce(small)

    def scaled(factor):
        variant = simlib.Variant(
            name=f"scale {factor}",
            description="",
            changes={"incentives.table_scale": factor},
            effective_date=dt.date(2026, 1, 1),
            source_file="test",
            docs={},
        )
        return build_schedule(regional, (variant,), month_of=scenario.month_of,
                              horizon_months=scenario.calendar.horizon_months)  # fmt: skip

    def change(policy, name):
        """Change against today's rules over the two quarters after the change (2026H1)."""
        values = []
        for seed in SEEDS:
            arm = metric(simlib.simulate(scenario, policy, seed=seed), name)
            base = metric(simlib.simulate(scenario, regional, seed=seed), name)
            values.append((arm - base)[["2026Q1", "2026Q2"]].mean())
        return float(np.mean(values))

    resistance = change(scaled(0.85), "resisting_share")
    adoption = change(scaled(1.15), "adoption_share")
    assert resistance > 0.03, (resistance, adoption)
    assert resistance > 1.25 * adoption, (resistance, adoption)


def test_resistance_costs_compliance_and_effort(small, regional):
    scenario = static_workforce(small)
    ad = scenario.adoption
    resisting = scenario.model_copy(
        update={"adoption": ad.model_copy(update={"initial_resisting_share": 0.8})}
    )
    compliance = mean_over_seeds(scenario, regional, "skp_compliance")
    compliance_r = mean_over_seeds(resisting, regional, "skp_compliance")
    effort = mean_over_seeds(scenario, regional, "mean_effort")
    effort_r = mean_over_seeds(resisting, regional, "mean_effort")
    assert compliance_r < compliance - 0.05, (compliance, compliance_r)
    assert effort_r < effort, (effort, effort_r)


# -- the Scullen et al. (2005) scenario -------------------------------------------------------


def test_scullen_scenario_runs_from_the_cli_and_potential_rises(tmp_path, capsys):
    path = SCENARIOS / "scullen_forced_distribution.yaml"
    assert main(["run", str(path), "--out", str(tmp_path / "run")]) == 0
    import pandas as pd

    out = pd.read_parquet(tmp_path / "run" / "outcomes.parquet")
    yearly = out[out.period_kind == "year"]
    curve = yearly[yearly.metric == "mean_workforce_potential"].set_index("period").value
    assert len(curve) == 30, len(curve)
    # Large early gains that level off (Scullen et al. 2005): year 1 > year 10 > year 25.
    steps = curve.diff()
    assert curve.iloc[0] > 0.1 and curve.iloc[-1] > 0.7, curve.round(3).tolist()
    assert steps.iloc[1:4].mean() > 3 * steps.iloc[20:].mean(), steps.round(3).tolist()
    # The measure has reliability .70 for potential of variance 1 (raters.source measurement):
    # for the hired workforce of variance v the first year's correlation is
    # sqrt(v / (v + (1 - .7) / .7)). Band: 4 Monte-Carlo SE of a correlation over n people,
    # (1 - r^2) / sqrt(n).
    first_year = out[(out.metric == "rating_accuracy") & (out.period_kind == "year")]
    accuracy = first_year.sort_values("t_month").value.iloc[0]
    n = out[out.metric == "headcount"].value.iloc[0]
    v = pd.read_parquet(tmp_path / "run" / "workforce.parquet").competence.var()
    expected = np.sqrt(v / (v + 0.3 / 0.7))
    assert abs(accuracy - expected) < 4 * (1 - expected**2) / np.sqrt(n), (accuracy, v, n)


def test_scullen_without_forced_separation_gains_less(tmp_path):
    scenario = simlib.load_scenario(SCENARIOS / "scullen_forced_distribution.yaml")
    short = scenario.model_copy(
        update={"calendar": scenario.calendar.model_copy(update={"horizon_months": 60})}
    )
    central = simlib.load_policy(SCENARIOS.parent / "policies" / "baseline_central.yaml")
    no_fire = short.model_copy(
        update={"flows": short.flows.model_copy(update={"forced_separation_share": 0.0})}
    )
    fired = metric(simlib.simulate(short, central, seed=1), "mean_workforce_potential", "year")
    kept = metric(simlib.simulate(no_fire, central, seed=1), "mean_workforce_potential", "year")
    assert fired.iloc[-1] > kept.iloc[-1] + 0.2, (fired.tolist(), kept.tolist())
