"""Directional tests: the model moves the way evidence and the rules say it should."""

import itertools

import numpy as np
import pytest
from helpers import shrink, with_changes

import simlib

SEEDS = range(3)


def annual(result, metric):
    out = result.outcomes
    return out[(out.period_kind == "year") & (out.metric == metric)].value.to_numpy()


def quarterly(result, metric):
    out = result.outcomes
    return out[(out.period_kind == "quarter") & (out.metric == metric)].value.to_numpy()


@pytest.fixture(scope="module")
def medium(district):
    return shrink(district, employees=600, horizon_months=24)


@pytest.mark.parametrize("rule", ["prorate", "rank_order"])
def test_a_tighter_budget_cap_never_raises_total_pay(medium, regional, rule):
    for seed in SEEDS:
        totals = []
        for cap in (1.2, 1.0, 0.95, 0.9, 0.8, 0.5):
            policy = with_changes(
                regional, budget__cap_share_of_entitlement=cap, budget__over_cap_rule=rule
            )
            totals.append(simlib.simulate(medium, policy, seed=seed).ledger.paid_idr.sum())
        assert all(a >= b for a, b in itertools.pairwise(totals)), (rule, seed, totals)
        assert totals[-1] < totals[0], f"a cap at 50 % must bind: {totals}"


def test_enforcing_the_curve_moves_predikat_shares_to_the_curve(medium, regional):
    # A lenient free system (few rated below expectation), as observed (facts 1.9): more than
    # the curve's 70 % Baik, so the curve must move people every year.
    fixed = with_changes(
        regional, appraisal__organisation_predikat="baik", appraisal__cutoff_below=-1.5
    )
    enforced = with_changes(fixed, appraisal__distribution_curve__enforce=True)
    for seed in SEEDS:
        free = simlib.simulate(medium, fixed, seed=seed)
        curve = simlib.simulate(medium, enforced, seed=seed)
        assert (annual(free, "share_baik") > 0.70).all(), annual(free, "share_baik")
        baik = annual(curve, "share_baik")
        below = annual(curve, "share_butuh_perbaikan") + annual(curve, "share_kurang")
        # "sebagian besar (maksimal 70%)": more than half, at most 70 % (facts 1.4).
        assert ((baik > 0.5) & (baik <= 0.70 + 1e-9)).all(), baik
        assert (below > 0).all(), below
        assert (annual(curve, "curve_moved_share") > 0).all()


def test_a_stronger_pay_link_with_accurate_ratings_does_not_lower_effort(medium, regional):
    weak = with_changes(regional, incentives__performance_share=0.2)
    strong = with_changes(regional, incentives__performance_share=1.0,
                          incentives__multipliers__butuh_perbaikan=0.4)  # fmt: skip
    for seed in SEEDS:
        e_weak = quarterly(simlib.simulate(medium, weak, seed=seed), "mean_effort")
        e_strong = quarterly(simlib.simulate(medium, strong, seed=seed), "mean_effort")
        assert (e_strong >= e_weak).all(), (e_weak, e_strong)
        assert e_strong.mean() > e_weak.mean()


def test_harsher_cuts_for_kurang_and_sangat_kurang_alone_raise_effort(medium, regional):
    """Pay at stake counts the whole multiplier schedule: a reform of the bottom two
    multipliers only still changes what performance is worth."""
    harsh = with_changes(regional, incentives__multipliers__kurang=0.2,
                         incentives__multipliers__sangat_kurang=0.0)  # fmt: skip
    for seed in SEEDS:
        e_base = quarterly(simlib.simulate(medium, regional, seed=seed), "mean_effort")
        e_harsh = quarterly(simlib.simulate(medium, harsh, seed=seed), "mean_effort")
        assert e_harsh[0] > e_base[0], (seed, e_base[0], e_harsh[0])
        assert e_harsh.mean() > e_base.mean(), (seed, e_base, e_harsh)


def test_noisier_raters_give_less_accurate_ratings(medium, regional):
    noisy_raters = medium.raters.model_copy(update={"noise_sd": 1.5})
    noisy = medium.model_copy(update={"raters": noisy_raters})
    for seed in SEEDS:
        acc = quarterly(simlib.simulate(medium, regional, seed=seed), "rating_accuracy").mean()
        acc_noisy = quarterly(simlib.simulate(noisy, regional, seed=seed), "rating_accuracy")
        assert acc_noisy.mean() < acc, (acc, acc_noisy.mean())


def test_linking_pay_to_predikat_inflates_ratings(medium, regional):
    """Administrative purpose inflates ratings by about 0.33 SD (Jawahar & Williams 1997)."""
    unlinked = with_changes(
        regional,
        incentives__multipliers__butuh_perbaikan=1.0,
        incentives__multipliers__kurang=1.0,
        incentives__multipliers__sangat_kurang=1.0,
    )
    for seed in SEEDS:
        linked_sb = quarterly(simlib.simulate(medium, regional, seed=seed), "share_sangat_baik")
        free_sb = quarterly(simlib.simulate(medium, unlinked, seed=seed), "share_sangat_baik")
        assert linked_sb.mean() > free_sb.mean(), (linked_sb.mean(), free_sb.mean())


def test_rank_order_pays_better_rated_staff_first(medium, regional):
    tight = dict(budget__cap_share_of_entitlement=0.8)
    prorate = with_changes(regional, budget__over_cap_rule="prorate", **tight)
    ranked = with_changes(regional, budget__over_cap_rule="rank_order", **tight)
    diffs = []
    for seed in SEEDS:
        a = annual(simlib.simulate(medium, prorate, seed=seed), "pay_performance_corr")
        b = annual(simlib.simulate(medium, ranked, seed=seed), "pay_performance_corr")
        diffs.append(b.mean() - a.mean())
    assert np.mean(diffs) > 0, diffs
