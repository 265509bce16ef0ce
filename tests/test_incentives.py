import numpy as np
import pytest

from simlib.params.tables import tukin_table
from simlib.rules.incentives import BudgetYear, apply_cap, due, entitlement


def test_entitlement_reads_the_table(regional):
    inc = regional.incentives
    kelas = np.array([1, 7, 17])
    expected = tukin_table(inc.tukin_table)[kelas] * inc.table_scale
    np.testing.assert_array_equal(entitlement(kelas, inc), expected)
    assert tukin_table("bkn_perpres_103_2022")[17] == 33_240_000


def test_due_applies_multiplier_to_the_performance_part_and_absence_to_all(central):
    inc = central.incentives  # performance share 0.6, BP multiplier 0.75, 5 %/day
    entitled = np.array([10_000_000.0, 10_000_000.0, 10_000_000.0])
    predikat = np.array([1, 2, 1])  # baik, butuh perbaikan, baik
    absence = np.array([0, 0, 2])
    paid, perf_cut = due(entitled, predikat, absence, inc)
    np.testing.assert_allclose(paid, [10_000_000, 10_000_000 * (0.6 * 0.75 + 0.4), 9_000_000])
    np.testing.assert_allclose(perf_cut, [0, 10_000_000 * 0.6 * 0.25, 0])


def test_absence_cut_is_capped_at_the_whole_amount(central):
    paid, _ = due(np.array([1e6]), np.array([1]), np.array([40]), central.incentives)
    assert paid[0] == 0.0


def test_cap_prorates():
    paid = apply_cap(np.array([100.0, 300.0]), 200.0, rule="prorate", rank=np.array([0, 1]))
    np.testing.assert_allclose(paid, [50.0, 150.0])


def test_cap_in_rank_order_pays_the_first_in_full():
    paid = apply_cap(np.array([100.0, 300.0, 50.0]), 180.0, rule="rank_order",
                     rank=np.array([2, 0, 1]))  # fmt: skip
    np.testing.assert_allclose(paid, [100.0, 30.0, 50.0])


@pytest.mark.parametrize("rule", ["prorate", "rank_order"])
def test_cap_never_pays_more_than_available_or_due(rule):
    rng = np.random.default_rng(1)
    for _ in range(50):
        d = rng.uniform(0, 10, 20)
        available = rng.uniform(0, 250)
        paid = apply_cap(d, available, rule=rule, rank=rng.permutation(20))
        assert paid.sum() <= min(available, d.sum()) + 1e-9
        assert (paid <= d + 1e-12).all() and (paid >= 0).all()


def test_budget_released_evenly_with_carry_over(central):
    year = BudgetYear.open(1_000.0, central.budget)  # cap = 12 x entitlement x 1.0
    assert year.cap_idr == 12_000.0
    assert year.available(0) == 1_000.0
    year.spent_idr = 500.0
    assert year.available(1) == 1_500.0
