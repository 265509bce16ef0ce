import pandas as pd
import pytest

import simlib


@pytest.fixture(scope="module")
def twice(tiny, regional):
    return simlib.simulate(tiny, regional, seed=5), simlib.simulate(tiny, regional, seed=5)


@pytest.mark.parametrize("table", ["outcomes", "ledger", "workforce"])
def test_same_seed_gives_identical_tables(twice, table):
    a, b = twice
    pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_exact=True)


@pytest.mark.parametrize("change", [{"seed": 6}, {"replication": 1}])
def test_other_seeds_or_replications_differ(tiny, regional, twice, change):
    other = simlib.simulate(tiny, regional, **{"seed": 5, **change})
    assert not other.outcomes.value.equals(twice[0].outcomes.value)
    assert not other.workforce.competence.equals(twice[0].workforce.competence)


def test_policy_arms_share_their_workforce(tiny, regional, central):
    """Common random numbers: the same replication draws the same people in every arm."""
    a = simlib.simulate(tiny, regional, seed=5)
    b = simlib.simulate(tiny, central, seed=5)
    pd.testing.assert_frame_equal(
        a.workforce.drop(columns="absence_rate_days_per_month"),
        b.workforce.drop(columns="absence_rate_days_per_month"),
        check_exact=True,
    )


def test_run_does_not_depend_on_what_ran_before(tiny, regional, central, twice):
    simlib.simulate(tiny, central, seed=99)
    again = simlib.simulate(tiny, regional, seed=5)
    pd.testing.assert_frame_equal(again.outcomes, twice[0].outcomes, check_exact=True)
