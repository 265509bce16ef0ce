"""Superiors' reluctance to rate below expectation (docs/model.md section 7.4b).

The mechanism alone (``raters.honest_low_rating_probability``, ``raters.closeness_to_superior``,
``appraisal.low_rating_pay_loss``, ``appraisal.reluctant_levels``), then directional tests
in the engine: reluctance lowers the share below Baik; a larger pay consequence of a low
predikat makes superiors record fewer of them.
"""

from __future__ import annotations

import numpy as np
import pytest

import simlib
from simlib.params.changes import apply_changes
from simlib.params.scenario import Reluctance
from simlib.params.tables import predikat_matrix
from simlib.rules.appraisal import low_rating_pay_loss, reluctant_levels
from simlib.rules.raters import closeness_to_superior, honest_low_rating_probability
from simlib.world.workforce import generate
from tests.helpers import shrink

BAIK, BUTUH_PERBAIKAN, KURANG, SANGAT_KURANG = 1, 2, 3, 4


def reluctance(p0: float, beta: float = 0.0, gamma: float = 0.0) -> Reluctance:
    return Reluctance(honest_probability=p0, pay_sensitivity=beta, closeness_effect=gamma)


@pytest.fixture(scope="module")
def district():
    return simlib.load_scenario("data/scenarios/district_health_office.yaml")


@pytest.fixture(scope="module")
def regional(district):
    return simlib.load_policy(district.resolve(district.baseline_policy))


# -- the probability ----------------------------------------------------------------------


def test_probability_is_the_base_without_pay_or_closeness_and_falls_with_both():
    params = reluctance(0.4, beta=10.0, gamma=0.5)
    loss = np.array([0.0, 0.0, 0.05, 0.10, 0.0])
    close = np.array([0.0, 1.0, 0.0, 0.0, 0.5])
    p = honest_low_rating_probability(params, pay_loss=loss, closeness=close)
    assert p[0] == pytest.approx(0.4)
    assert p[1] == pytest.approx(0.4 * np.exp(-0.5))
    assert p[2] == pytest.approx(0.4 * np.exp(-0.5 * 1.0))
    assert p[0] > p[2] > p[3], f"probability should fall with the pay loss: {p}"
    assert p[0] > p[4] > p[1], f"probability should fall with closeness: {p}"


def test_no_reluctance_means_every_judgement_is_recorded():
    p = honest_low_rating_probability(reluctance(1.0), pay_loss=np.full(3, 0.2),
                                      closeness=np.ones(3))  # fmt: skip
    assert np.array_equal(p, np.ones(3))


# -- closeness and pay loss ---------------------------------------------------------------


def test_closeness_is_one_for_a_superior_in_the_unit_and_zero_for_the_head(district):
    wf = generate(district.agencies[0].structure, district.workforce,
                  rng=np.random.default_rng(1))  # fmt: skip
    close = closeness_to_superior(wf)
    head = wf.supervisor < 0
    assert np.all(close[head] == 0.0)
    has = ~head
    same = wf.unit[wf.supervisor[has]] == wf.unit[has]
    assert np.array_equal(close[has], same.astype(float))
    assert 0 < close.mean() < 1, "some superiors sit outside their subordinates' unit"


def test_pay_loss_of_butuh_perbaikan_against_baik_is_the_cut_times_the_tukin_share(regional):
    share = np.array([0.5, 0.25])
    loss = low_rating_pay_loss(np.array([BUTUH_PERBAIKAN, SANGAT_KURANG]), np.array([BAIK, BAIK]),
                               regional.incentives, take_home_share=share)  # fmt: skip
    phi = regional.incentives.performance_share
    m = regional.incentives.multipliers
    assert loss[0] == pytest.approx(phi * (m.baik - m.butuh_perbaikan) * 0.5)
    assert loss[1] == pytest.approx(phi * (m.baik - m.sangat_kurang) * 0.25)
    # A lifted predikat that pays the same (or less) costs nothing.
    same = low_rating_pay_loss(np.array([BAIK]), np.array([BAIK]), regional.incentives,
                               take_home_share=np.ones(1))  # fmt: skip
    assert same[0] == 0.0


# -- the levels ----------------------------------------------------------------------------


def _levels(n: int, rng: np.random.Generator):
    return rng.integers(0, 3, n).astype(np.int8), rng.integers(0, 3, n).astype(np.int8)


def test_a_fully_reluctant_superior_records_sesuai_on_every_judged_axis(regional):
    rng = np.random.default_rng(2)
    n = 2000
    h, p = _levels(n, rng)
    judged_h = rng.random(n) < 0.7
    out_h, out_p = reluctant_levels(
        h, p, matrix=predikat_matrix(), params=reluctance(0.0), incentives=regional.incentives,
        take_home_share=np.full(n, 0.4), closeness=np.ones(n), u=rng.random(n),
        judged_hasil=judged_h, judged_perilaku=False,
    )  # fmt: skip
    assert np.array_equal(out_h, np.where(judged_h & (h == 0), 1, h))
    assert np.array_equal(out_p, p), "perilaku not judged by the superior keeps its level"
    assert np.all(out_h >= h), "reluctance never lowers a level"


def test_the_share_recorded_below_is_the_probability_within_monte_carlo_error(regional):
    # Everyone judged below on hasil kerja, perilaku sesuai: Butuh Perbaikan against Baik.
    n, share = 40_000, 0.4
    h, p = np.zeros(n, dtype=np.int8), np.ones(n, dtype=np.int8)
    params = reluctance(0.3, beta=8.0, gamma=0.5)
    close = (np.arange(n) % 2).astype(float)
    u = np.random.default_rng(3).random(n)
    out_h, _ = reluctant_levels(
        h, p, matrix=predikat_matrix(), params=params, incentives=regional.incentives,
        take_home_share=np.full(n, share), closeness=close, u=u,
    )  # fmt: skip
    inc = regional.incentives
    loss = inc.performance_share * (inc.multipliers.baik - inc.multipliers.butuh_perbaikan) * share
    for c in (0.0, 1.0):
        rows = close == c
        expected = 0.3 * np.exp(-8.0 * loss - 0.5 * c)
        observed = float(np.mean(out_h[rows] == 0))
        se = np.sqrt(expected * (1 - expected) / rows.sum())
        assert abs(observed - expected) < 4 * se, (c, observed, expected, se)


def test_a_larger_pay_consequence_never_adds_a_recorded_low_rating(regional):
    # Same judgements and the same uniforms: harsher cuts below Baik can only lift more.
    rng = np.random.default_rng(4)
    n = 5000
    h, p = _levels(n, rng)
    u = rng.random(n)
    kw = dict(matrix=predikat_matrix(), params=reluctance(0.5, beta=10.0),
              take_home_share=np.full(n, 0.4), closeness=np.zeros(n), u=u)  # fmt: skip
    harsh = apply_changes(regional, {"incentives.multipliers.butuh_perbaikan": 0.25,
                                     "incentives.multipliers.kurang": 0.1}, file="test")  # fmt: skip
    base_h, base_p = reluctant_levels(h, p, incentives=regional.incentives, **kw)
    harsh_h, harsh_p = reluctant_levels(h, p, incentives=harsh.incentives, **kw)
    base_low = (base_h == 0) | (base_p == 0)
    harsh_low = (harsh_h == 0) | (harsh_p == 0)
    assert not np.any(harsh_low & ~base_low)
    assert harsh_low.sum() < base_low.sum(), (int(harsh_low.sum()), int(base_low.sum()))


# -- in the engine (directional) -------------------------------------------------------------


def _below_baik(scenario, policy, seeds) -> np.ndarray:
    out = []
    for seed in seeds:
        res = simlib.simulate(scenario, policy, seed=seed)
        o = res.outcomes
        year = o[(o.period_kind == "year") & o.metric.isin(
            ["share_butuh_perbaikan", "share_kurang", "share_sangat_kurang"])]  # fmt: skip
        out.append(year.groupby("period")["value"].sum().mean())
    return np.asarray(out)


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    d = a - b
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def test_reluctant_superiors_leave_fewer_staff_below_baik(district, regional):
    small = shrink(district, employees=300, horizon_months=24)
    honest = apply_changes(small, {"raters.reluctance.honest_probability": 1.0,
                                   "raters.reluctance.pay_sensitivity": 0.0,
                                   "raters.reluctance.closeness_effect": 0.0},
                           file="test")  # fmt: skip
    seeds = range(1, 7)
    diff, se = _paired(_below_baik(honest, regional, seeds), _below_baik(small, regional, seeds))
    assert diff - 3 * se > 0, f"honest minus reluctant below-Baik share {diff:.4f} (SE {se:.4f})"


def test_a_stronger_pay_sensitivity_leaves_fewer_staff_below_baik(district, regional):
    small = shrink(district, employees=300, horizon_months=24)
    base = apply_changes(small, {"raters.reluctance.honest_probability": 0.6,
                                 "raters.reluctance.pay_sensitivity": 0.0}, file="test")  # fmt: skip
    sensitive = apply_changes(base, {"raters.reluctance.pay_sensitivity": 20.0}, file="test")
    seeds = range(1, 7)
    diff, se = _paired(_below_baik(base, regional, seeds), _below_baik(sensitive, regional, seeds))
    assert diff - 3 * se > 0, (
        f"insensitive minus sensitive below-Baik share {diff:.4f} (SE {se:.4f})"
    )
