"""Vaccination campaign: loader, reproducibility, conservation, direction of effects, pay."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from simlib.core.errors import ConfigError
from simlib.core.paths import DATA
from simlib.engine.services import DAILY_COLUMNS, run_campaign, team_incentive_idr, turnout_share
from simlib.params.campaign import Campaign, campaign_from_dict, load_campaign
from simlib.params.config import read_yaml

CAMPAIGN_FILE = DATA / "services" / "vaccination_campaign.yaml"
SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def district() -> Campaign:
    return load_campaign(CAMPAIGN_FILE)


@pytest.fixture(scope="module")
def small(district) -> Campaign:
    """3 posts, 2,000 people, 10 days, one vaccinator per post: busy enough to queue."""
    return change(
        district,
        target_population=2000,
        window_days=10,
        posts__count=3,
        posts__staff_per_post=1,
    )


def change(campaign: Campaign, **changes) -> Campaign:
    """``campaign`` with dotted-path changes (``posts__count=3``), validated again."""
    data = campaign.model_dump(exclude={"docs", "source_file"})
    for key, value in changes.items():
        *parents, leaf = key.split("__")
        node = data
        for part in parents:
            node = node[part]
        node[leaf] = value
    return Campaign.model_validate(data)


def run(campaign: Campaign, *, seed: int = 1, performance: float = 0.0):
    perf = np.full(campaign.posts.count, performance)
    return run_campaign(campaign, staff_performance=perf, rng=np.random.default_rng(seed))


def mean_over_seeds(campaign: Campaign, attribute: str, **kwargs) -> float:
    return float(np.mean([getattr(run(campaign, seed=s, **kwargs), attribute) for s in SEEDS]))


# --- loader ------------------------------------------------------------------------------


def test_the_campaign_file_loads_with_every_number_documented(district):
    assert district.posts.count == 30
    assert district.target_population == 500_000
    assert district.window_days == 182
    assert district.docs, "documentation of the leaves is kept"
    for where, doc in district.docs.items():
        assert doc.unit.strip() and doc.source.strip(), where


def test_a_bad_value_is_one_line_naming_the_field(tmp_path):
    raw = read_yaml(CAMPAIGN_FILE)
    raw["patience"]["mean_min"]["value"] = -5.0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_campaign(path)
    message = str(info.value)
    assert "\n" not in message
    assert "patience.mean_min" in message and "-5.0" in message and "> 0" in message, message


def test_an_undocumented_number_and_a_profile_of_the_wrong_length_are_refused():
    raw = read_yaml(CAMPAIGN_FILE)
    raw["window_days"] = 182
    with pytest.raises(ConfigError, match="window_days: bare value 182"):
        campaign_from_dict(raw)
    raw = read_yaml(CAMPAIGN_FILE)
    raw["hours"]["arrival_profile"]["value"] = [1.0, 1.0]
    with pytest.raises(ConfigError, match=r"hours: .*one per opening hour"):
        campaign_from_dict(raw)


def test_staff_performance_of_the_wrong_shape_is_refused(small):
    with pytest.raises(ValueError, match="staff_performance has shape"):
        run_campaign(small, staff_performance=np.zeros(4), rng=np.random.default_rng(1))


# --- reproducibility and bookkeeping -----------------------------------------------------


def test_same_seed_same_results_other_seed_other_results(small):
    a, b, c = run(small, seed=7), run(small, seed=7), run(small, seed=8)
    pd.testing.assert_frame_equal(a.daily, b.daily)
    for field in ("arrivals", "vaccinated", "abandoned", "mean_wait_min", "incentive_idr"):
        assert getattr(a, field) == getattr(b, field), field
    assert not a.daily.equals(c.daily)


def test_every_arrival_is_served_abandoned_or_still_waiting_at_close(small):
    result = run(small, seed=3)
    daily = result.daily
    assert tuple(daily.columns) == DAILY_COLUMNS
    assert (daily.arrivals == daily.served + daily.abandoned + daily.waiting_at_close).all()
    assert result.arrivals == daily.arrivals.sum()
    assert result.vaccinated == daily.served.sum()
    assert result.arrivals == result.vaccinated + result.abandoned + result.waiting_at_close
    assert result.abandoned > 0, "one vaccinator per post is busy enough for queues"
    assert result.coverage == result.vaccinated / small.target_population


def test_posts_are_closed_on_the_seventh_day_and_turnout_is_about_as_expected(small):
    result = run(small)
    assert set(result.daily.day) == set(range(10)) - {6}
    expected = turnout_share(small.demand) * small.target_population
    assert abs(result.arrivals - expected) < 5 * np.sqrt(expected), (result.arrivals, expected)


def test_performance_may_change_day_by_day(small):
    perf = np.zeros((small.window_days, small.posts.count))
    same = run_campaign(small, staff_performance=perf, rng=np.random.default_rng(1))
    pd.testing.assert_frame_equal(same.daily, run(small).daily)
    perf[5:] = 2.0
    later = run_campaign(small, staff_performance=perf, rng=np.random.default_rng(1))
    early = same.daily.day < 5
    pd.testing.assert_frame_equal(later.daily[early], same.daily[early])
    assert later.vaccinated > same.vaccinated, (later.vaccinated, same.vaccinated)


# --- direction of effects ----------------------------------------------------------------


def test_more_staff_shortens_waits_and_raises_coverage(small):
    one, two = small, change(small, posts__staff_per_post=2)
    waits = mean_over_seeds(one, "mean_wait_min"), mean_over_seeds(two, "mean_wait_min")
    cover = mean_over_seeds(one, "coverage"), mean_over_seeds(two, "coverage")
    assert waits[1] < waits[0], f"mean wait 1 vs 2 staff per post: {waits}"
    assert cover[1] > cover[0], f"coverage 1 vs 2 staff per post: {cover}"


def test_better_staff_shorten_waits_and_raise_coverage(small):
    waits = [mean_over_seeds(small, "mean_wait_min", performance=p) for p in (-1.0, 0.0, 1.0)]
    cover = [mean_over_seeds(small, "coverage", performance=p) for p in (-1.0, 0.0, 1.0)]
    assert waits[0] > waits[1] > waits[2], f"mean wait at performance -1, 0, 1 SD: {waits}"
    assert cover[0] < cover[1] < cover[2], f"coverage at performance -1, 0, 1 SD: {cover}"


def test_more_patience_fewer_abandon(small):
    abandoned = [
        mean_over_seeds(change(small, patience__mean_min=m), "abandoned") for m in (30.0, 240.0)
    ]
    assert abandoned[1] < abandoned[0], f"abandoned with 30 vs 240 min patience: {abandoned}"


def test_more_outreach_more_arrivals(small):
    low, high = (
        mean_over_seeds(change(small, demand__outreach_contacts_per_person=x), "arrivals")
        for x in (0.0, 3.0)
    )
    assert high > low, f"arrivals with 0 vs 3 contacts per person: {low}, {high}"


# --- team incentive ----------------------------------------------------------------------


def test_all_or_nothing_pays_only_when_the_target_is_attainable(small):
    reachable = change(small, incentive__target_coverage=0.3, posts__staff_per_post=2)
    unreachable = change(reachable, incentive__target_coverage=0.95)
    paid, unpaid = run(reachable), run(unreachable)
    bonus = small.incentive.bonus_idr_per_staff * reachable.staff
    assert paid.target_met and paid.incentive_idr == bonus, (paid.coverage, paid.incentive_idr)
    assert not unpaid.target_met and unpaid.incentive_idr == 0.0, (
        unpaid.coverage,
        unpaid.incentive_idr,
    )


def test_pro_rata_pays_in_proportion_to_coverage_up_to_the_cap(small):
    campaign = change(small, incentive__rule="pro_rata", incentive__target_coverage=0.9)
    result = run(campaign)
    full = campaign.incentive.bonus_idr_per_staff * campaign.staff
    assert 0 < result.incentive_idr < full
    assert result.incentive_idr == pytest.approx(full * result.coverage / 0.9)
    incentive = campaign.incentive.model_copy(update={"pro_rata_cap": 1.05})
    assert team_incentive_idr(incentive, coverage=0.45, staff=10) == pytest.approx(
        0.5 * 10 * incentive.bonus_idr_per_staff
    )
    assert team_incentive_idr(incentive, coverage=0.99, staff=10) == pytest.approx(
        1.05 * 10 * incentive.bonus_idr_per_staff
    )


def test_staff_may_differ_between_posts(small):
    perf = np.zeros(small.posts.count)
    default = run_campaign(small, staff_performance=perf, rng=np.random.default_rng(1))
    same = run_campaign(
        small, staff_performance=perf, rng=np.random.default_rng(1), staff=np.array([1, 1, 1])
    )
    pd.testing.assert_frame_equal(default.daily, same.daily)
    more = run_campaign(
        small, staff_performance=perf, rng=np.random.default_rng(1), staff=np.array([1, 1, 3])
    )
    waits = more.daily.groupby("post").mean_wait_min.mean()
    assert waits[2] < waits[0], f"mean wait by post with 1, 1, 3 staff: {waits.tolist()}"
    pro_rata = change(small, incentive__rule="pro_rata")
    paid = run_campaign(
        pro_rata, staff_performance=perf, rng=np.random.default_rng(1), staff=np.array([1, 1, 3])
    )
    share = paid.coverage / pro_rata.incentive.target_coverage
    assert paid.incentive_idr == pytest.approx(
        5 * pro_rata.incentive.bonus_idr_per_staff * min(share, 1.0)
    ), "the bonus goes to all five vaccinators"
    with pytest.raises(ValueError, match="allowed: whole numbers >= 1"):
        run_campaign(small, staff_performance=perf, rng=np.random.default_rng(1), staff=[1, 0, 1])
