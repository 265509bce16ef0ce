"""The engine's steps, each run alone on a small hand-built agency state.

Five posts: the head (0), one superior (1) and three staff (2-4) under the superior. Raters
are made exact (no leniency, noise, pay-purpose inflation or reluctance) and gaming and
missing SKP switched off, so that what a step must give follows from the regulation tables
and the policy's parameters alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from simlib.behaviour.adoption import draw_people
from simlib.core.domain import JOB_TYPES, PREDIKAT
from simlib.core.streams import Streams
from simlib.engine import steps
from simlib.engine.state import BAIK, YEAR_SUMS, AgencyState
from simlib.params.changes import apply_changes
from simlib.params.tables import gaji_pokok, predikat_matrix
from simlib.rules.incentives import BudgetYear, entitlement
from simlib.rules.raters import draw_traits
from simlib.world.flows import SANGAT_KURANG
from simlib.world.workforce import Workforce

N = 5
CODE = {p: i for i, p in enumerate(PREDIKAT)}


@pytest.fixture
def world(district):
    """The default district, with exact raters, no gaming and no one leaving by chance."""
    return apply_changes(
        district,
        {
            "raters.leniency_mean": 0.0,
            "raters.leniency_sd": 0.0,
            "raters.noise_sd": 0.0,
            "raters.pay_purpose_inflation": 0.0,
            "raters.reluctance.honest_probability": 1.0,
            "raters.reluctance.pay_sensitivity": 0.0,
            "raters.reluctance.closeness_effect": 0.0,
            "gaming.target_easing_share": 0.0,
            "adoption.skp_missing.resisting": 0.0,
            "adoption.skp_missing.complying": 0.0,
            "adoption.skp_missing.adopting": 0.0,
            "adoption.resisting_rater_inflation": 0.0,
            "flows.retirement": False,
            "flows.voluntary_exit_rate_pns": 0.0,
            "flows.voluntary_exit_rate_pppk": 0.0,
            "flows.forced_separation_share": 0.0,
            "flows.transfer_rate": 0.0,
            "flows.sangat_kurang_years_to_separation": 1,
        },
    )


def hand_built(world) -> AgencyState:
    """The five posts, their people and the state at the start of a year."""
    job = [JOB_TYPES.index(j) for j in ("jpt", "administrator", "pelaksana", "pelaksana",
                                        "fungsional")]  # fmt: skip
    wf = Workforce(
        unit=np.array([1, 0, 0, 0, 0], dtype=np.int32),
        supervisor=np.array([-1, 0, 1, 1, 1], dtype=np.int32),
        job_type=np.array(job, dtype=np.int8),
        kelas=np.array([14, 9, 5, 6, 8], dtype=np.int8),
        golongan=np.array([3, 2, 1, 1, 2], dtype=np.int8),
        pppk=np.zeros(N, dtype=bool),
        female=np.array([False, True, True, False, True]),
        age_years=np.array([52.0, 44.0, 30.0, 35.0, 28.0]),
        tenure_years=np.array([25.0, 18.0, 6.0, 10.0, 3.0]),
        competence=np.zeros(N),
        motivation=np.zeros(N),
        openness=np.zeros(N),
        conduct=np.zeros(N),
        unit_names=("Unit 01", "Pimpinan"),
    )
    streams = Streams(1)
    return AgencyState(
        index=0,
        name="Hand-built",
        wf=wf,
        people=draw_people(wf.openness, world, rng=streams.rng("behaviour", agency=0)),
        traits=draw_traits(N, world.raters, rng=streams.rng("raters", agency=0)),
        absence_rate=np.zeros(N),  # nobody is absent: no absence cut
        is_head=wf.supervisor < 0,
        gaji=gaji_pokok()[wf.golongan],
        budget=BudgetYear(0.0),
        pay_predikat=np.full(N, BAIK, dtype=np.int8),
        pay_score=np.zeros(N),
        valence=np.zeros(N),
        effort=np.zeros(N),
        hasil_true=np.zeros(N),
        perilaku_true=np.zeros(N),
        quarter_paid=np.zeros(N),
        quarter_entitled=np.zeros(N),
    )


def test_open_year_sets_the_cap_from_the_policy(world, regional):
    state, out = steps.open_year(hand_built(world), regional, year=0)
    month = entitlement(state.wf.kelas, regional.incentives).sum()
    assert state.budget.cap_idr == pytest.approx(
        12 * month * regional.budget.cap_share_of_entitlement
    )
    assert state.budget.spent_idr == 0.0 and out.metrics == {}
    assert set(state.year_sums) == set(YEAR_SUMS)
    assert all((v == 0).all() and len(v) == N for v in state.year_sums.values())


def test_pay_cuts_by_predikat_and_prorates_to_the_month_release(world, regional):
    state, _ = steps.open_year(hand_built(world), regional, year=0)
    codes = [CODE["baik"], CODE["baik"], CODE["sangat_kurang"], CODE["butuh_perbaikan"],
             CODE["sangat_baik"]]  # fmt: skip
    state.set_pay_basis(np.array(codes), np.zeros(N))
    inc = regional.incentives
    entitled = entitlement(state.wf.kelas, inc)
    multiplier = np.asarray(inc.multipliers.as_tuple())[codes]
    due = entitled * (1 - inc.performance_share * (1 - multiplier))
    # The first month releases a twelfth of the cap; what is due beyond it is prorated.
    release = state.budget.cap_idr / 12
    paid = due * min(1.0, release / due.sum())

    state, out = steps.pay(state, regional, world, month=0, streams=Streams(2))
    m = out.metrics
    assert m["employees"] == N
    assert m["entitled_idr"] == pytest.approx(entitled.sum())
    assert m["due_idr"] == pytest.approx(due.sum()), "performance cut by the PMA multipliers"
    assert m["absence_cut_idr"] == pytest.approx(0.0, abs=1e-6)
    assert m["paid_idr"] == pytest.approx(paid.sum())
    assert m["cap_cut_idr"] == pytest.approx(due.sum() - paid.sum())
    assert state.budget.spent_idr == pytest.approx(paid.sum())
    np.testing.assert_allclose(state.year_sums["paid"], paid)
    np.testing.assert_allclose(state.quarter_paid, paid)
    assert len(state.adoption_by_month) == 1, "the month's adoption step ran"


def test_appraise_with_exact_raters_gives_the_matrix_predikat(world, regional):
    state, _ = steps.open_year(hand_built(world), regional, year=0)
    # True results and behaviour: meets, meets, above/above, below/below, above/meets.
    state.hasil_true = np.array([0.0, 0.2, 2.0, -2.0, 1.5])
    state.perilaku_true = np.array([0.0, -0.3, 2.5, -1.5, 0.5])
    matrix = predikat_matrix()
    expected = [CODE["baik"], CODE["baik"], CODE["sangat_baik"], CODE["sangat_kurang"],
                CODE["baik"]]  # fmt: skip
    assert [matrix[h, p] for h, p in ((1, 1), (1, 1), (2, 2), (0, 0), (2, 1))] == expected

    state, out = steps.appraise(state, regional, world, quarter=0, streams=Streams(3))
    np.testing.assert_array_equal(state.pay_predikat, expected)  # pay basis: periodic
    m = out.metrics
    assert m["rating_accuracy"] == pytest.approx(1.0)
    assert m["predikat_agreement"] == 1.0
    assert m["share_sangat_baik"] == m["share_sangat_kurang"] == pytest.approx(1 / N)
    assert m["share_baik"] == pytest.approx(3 / N)
    assert m["skp_compliance"] == 1.0 and m["easy_target_share"] == 0.0
    assert state.quarters_in_year == 1
    np.testing.assert_allclose(state.year_sums["hasil_rating"], state.hasil_true)


def test_close_year_gives_the_annual_predikat_and_the_head_the_organisations(world, regional):
    policy = apply_changes(
        regional,
        {"appraisal.organisation_predikat": "baik", "appraisal.pay_basis": "annual"},
    )
    state, _ = steps.open_year(hand_built(world), policy, year=0)
    yearly = np.array([-2.0, 2.0, 0.0, -1.5, 1.5])  # mean ratings over the year
    for key in ("hasil_rating", "hasil_true", "perilaku_rating", "perilaku_true"):
        state.year_sums[key] = 4 * yearly
    state.year_sums["paid"] = np.full(N, 1e6)
    state.quarters_in_year = 4
    state, out = steps.close_year(state, policy, world, year=0, streams=Streams(4))
    # The head (rated -2 on results) is at the organisation's Baik: meets expectation.
    levels = [(1, 0), (2, 2), (1, 1), (0, 0), (2, 2)]
    expected = [predikat_matrix()[h, p] for h, p in levels]
    assert expected[3] == SANGAT_KURANG
    # Post 3 is Sangat Kurang: one year of it separates (the world's threshold is 1 year),
    # and the hire in the post is paid as Baik; the others are paid by the annual predikat.
    expected[3] = BAIK
    np.testing.assert_array_equal(state.pay_predikat, expected)
    m = out.metrics
    assert m["org_predikat"] == 1.0  # Baik
    assert m["tukin_paid_idr"] == pytest.approx(N * 1e6)
    assert m["budget_used_share"] == pytest.approx(N * 1e6 / state.budget.cap_idr)
    assert m["separations"] == m["hires"] == 1.0, m
    assert m["share_sangat_kurang"] == pytest.approx(1 / N), "shares before the flows"


def test_flows_replace_a_separated_person_with_a_new_one_keyed_by_post(world):
    state = hand_built(world)
    before = state.people.person.copy()
    codes = np.full(N, BAIK)
    codes[3] = SANGAT_KURANG
    month = 11
    state, out = steps.flows(state, world, month=month, codes=codes, rating=np.zeros(N),
                             streams=Streams(5))  # fmt: skip
    assert out.metrics["separations"] == 1.0 and out.metrics["headcount"] == N
    person = state.people.person
    assert person[3] == N * (month + 1) + 3, "a hire's id is n x (month + 1) + post"
    np.testing.assert_array_equal(np.delete(person, 3), np.delete(before, 3))
    assert state.pay_predikat[3] == BAIK, "a hire is paid as Baik until appraised"
    np.testing.assert_allclose(state.wf.age_years[[0, 1, 2, 4]],
                               hand_built(world).wf.age_years[[0, 1, 2, 4]] + 1)  # fmt: skip


def test_a_step_on_a_copy_leaves_the_original_alone(world, regional):
    state, _ = steps.open_year(hand_built(world), regional, year=0)
    copy = state.copy()
    _, out_a = steps.pay(state, regional, world, month=0, streams=Streams(6))
    _, out_b = steps.pay(copy.copy(), regional, world, month=0, streams=Streams(6))
    assert out_a.metrics == out_b.metrics, "same state, parameters and streams: same step"
    assert copy.budget.spent_idr == 0.0 and not copy.adoption_by_month
