import numpy as np
import pytest

from simlib.core.domain import ORG_PREDIKAT, PREDIKAT
from simlib.params.tables import CurveRule, distribution_curve, predikat_matrix
from simlib.rules.appraisal import (
    composite,
    curve_counts,
    enforce_curve,
    levels,
    org_predikat,
    predikat,
)

P = {name: i for i, name in enumerate(PREDIKAT)}
ORG = {name: i for i, name in enumerate(ORG_PREDIKAT)}
#: "sebagian besar": strictly more than half (facts 1.4), as the baseline policies set it.
MAJORITY = 0.5


def test_levels_use_both_cutoffs():
    r = np.array([-2.0, -1.0, 0.0, 1.0, 1.01])
    assert list(levels(r, cutoff_below=-1.0, cutoff_above=1.0)) == [0, 1, 1, 1, 2]


@pytest.mark.parametrize(
    ("hasil", "perilaku", "expected"),
    [
        (2, 2, "sangat_baik"), (2, 1, "baik"), (2, 0, "kurang"),
        (1, 2, "baik"), (1, 1, "baik"), (1, 0, "kurang"),
        (0, 2, "butuh_perbaikan"), (0, 1, "butuh_perbaikan"), (0, 0, "sangat_kurang"),
    ],
)  # fmt: skip
def test_matrix_is_the_permenpanrb_6_2022_table(hasil, perilaku, expected):
    got = predikat(np.array([hasil]), np.array([perilaku]), predikat_matrix())[0]
    assert PREDIKAT[got] == expected


def test_composite_weights():
    assert composite(np.array([1.0]), np.array([0.0]), skp_weight=0.7)[0] == pytest.approx(0.7)


@pytest.mark.parametrize(
    ("achievement", "expected"),
    [(-2.0, "sangat_kurang"), (-1.2, "kurang"), (-0.7, "butuh_perbaikan"), (0.0, "baik"),
     (0.75, "istimewa"), (2.0, "istimewa")],
)  # fmt: skip
def test_org_predikat_bands(achievement, expected):
    assert ORG_PREDIKAT[org_predikat(achievement, (-1.5, -1.0, -0.5, 0.75))] == expected


def _satisfies(counts, rules):
    n = counts.sum()
    return all(
        max(n // 2 + 1 if r.majority else np.ceil(r.min_share * n - 1e-9), r.min_count)
        <= counts[list(r.predikat)].sum()
        <= np.floor(r.max_share * n + 1e-9)
        for r in rules
    )


@pytest.mark.parametrize("org", ORG_PREDIKAT)
@pytest.mark.parametrize("tie_break", ["toward_higher", "toward_lower"])
def test_enforced_counts_satisfy_the_curve(org, tie_break):
    rules = distribution_curve()[ORG[org]]
    rng = np.random.default_rng(0)
    for _ in range(20):
        current = rng.multinomial(200, rng.dirichlet(np.ones(5)))
        target = curve_counts(current, rules, tie_break=tie_break, majority_share=MAJORITY)
        assert target is not None
        assert target.sum() == 200 and _satisfies(target, rules), (org, current, target)


def test_counts_that_already_satisfy_the_curve_are_kept():
    rules = distribution_curve()[ORG["baik"]]
    current = np.array([20, 65, 10, 3, 2])
    assert list(
        curve_counts(current, rules, tie_break="toward_lower", majority_share=MAJORITY)
    ) == list(current)


def test_moves_are_minimal_and_follow_the_tie_break():
    """95 % Baik in a Baik organisation: 25 % must leave Baik, to the side the tie-break says."""
    rules = distribution_curve()[ORG["baik"]]
    current = np.array([5, 95, 0, 0, 0])
    up = curve_counts(current, rules, tie_break="toward_higher", majority_share=MAJORITY)
    down = curve_counts(current, rules, tie_break="toward_lower", majority_share=MAJORITY)
    assert list(up) == [29, 70, 1, 0, 0], up  # at least one Butuh Perbaikan/Kurang
    assert list(down) == [5, 70, 25, 0, 0], down


def test_infeasible_rules_leave_predikat_unchanged():
    rules = (CurveRule((1,), 0.5, 0.7, 0), CurveRule((2, 3), 0.0, 1.0, 1))
    codes = np.array([1], dtype=np.int8)
    out, feasible = enforce_curve(
        codes, np.zeros(1), rules, tie_break="toward_lower", majority_share=MAJORITY
    )
    assert not feasible and list(out) == [1]


def test_only_boundary_employees_move_and_by_score():
    rules = distribution_curve()[ORG["baik"]]
    codes = np.full(100, P["baik"], dtype=np.int8)
    score = np.linspace(1, 0, 100)  # employee 0 best
    out, feasible = enforce_curve(
        codes, score, rules, tie_break="toward_lower", majority_share=MAJORITY
    )
    assert feasible
    # The 30 lowest-scoring move down one step; nobody else changes.
    assert (out[:70] == P["baik"]).all() and (out[70:] == P["butuh_perbaikan"]).all()


def test_sangat_kurang_org_allows_no_sangat_baik():
    rules = distribution_curve()[ORG["sangat_kurang"]]
    codes = np.array([0] * 10 + [1] * 90, dtype=np.int8)
    out, _ = enforce_curve(
        codes, np.zeros(100), rules, tie_break="toward_higher", majority_share=MAJORITY
    )
    assert (out == P["sangat_baik"]).sum() == 0
    assert (out == P["sangat_kurang"]).mean() >= 0.6


def test_sebagian_besar_is_a_strict_majority():
    """facts 1.4: 'sebagian besar (maksimal 70%)' is more than 50 % and at most 70 %: exactly
    half Baik in a Baik organisation is not a majority, and one more person must be Baik."""
    rules = distribution_curve()[ORG["baik"]]
    assert [r.majority for r in rules] == [True, False]
    current = np.array([0, 50, 49, 1, 0])
    got = curve_counts(current, rules, tie_break="toward_higher", majority_share=MAJORITY)
    assert list(got) == [0, 51, 48, 1, 0], got
    odd = np.array([0, 51, 49, 1, 0])  # 51 of 101 is more than half: kept
    assert list(curve_counts(odd, rules, tie_break="toward_higher", majority_share=MAJORITY)) == (
        list(odd)
    )


def test_majority_share_is_the_policy_parameter(regional, central):
    rules = distribution_curve()[ORG["istimewa"]]
    assert rules[0].majority and PREDIKAT[rules[0].predikat[0]] == "sangat_baik"
    for policy in (regional, central):
        curve = policy.appraisal.distribution_curve
        assert curve.majority_share == MAJORITY
        assert policy.docs["appraisal.distribution_curve.majority_share"].source.startswith(
            "facts 1.4"
        )
    current = np.array([60, 40, 0, 0, 0])  # 60 % Sangat Baik in an Istimewa organisation
    kept = curve_counts(current, rules, tie_break="toward_lower", majority_share=0.5)
    stricter = curve_counts(current, rules, tie_break="toward_lower", majority_share=0.6)
    assert list(kept) == [60, 40, 0, 0, 0] and list(stricter) == [61, 39, 0, 0, 0]
