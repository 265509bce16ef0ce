"""A vaccination campaign run from the agency calendar (coverage, team bonus, ledger), and
the vectorised campaign queue docked against the per-citizen SimPy reference.

Campaigns are a policy lever (``campaign: {file, start_month, objective_weight}``): the
policy under study names the campaign, the scenario is the world it runs in.
"""

import importlib.util
import shutil
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import without_gaming
from scipy import stats

import simlib
from simlib.cli.main import main
from simlib.core.paths import DATA, POLICIES, ROOT, SCENARIOS
from simlib.core.streams import Streams
from simlib.engine import campaign_queue
from simlib.engine.campaign_queue import (
    arrival_cells,
    citizen_uniforms,
    fcfs_starts,
    post_day_starts,
)
from simlib.engine.services import run_campaign, team_incentive_idr
from simlib.params.campaign import campaign_from_dict
from simlib.params.changes import apply_changes
from simlib.params.resolve import resolve


@pytest.fixture(scope="module")
def small_campaign(tmp_path_factory):
    """The district campaign scaled down: 3 posts, 3,000 people, four weeks."""
    raw = yaml.safe_load((DATA / "services" / "vaccination_campaign.yaml").read_text())
    raw["target_population"]["value"] = 3000
    raw["window_days"]["value"] = 28
    raw["posts"]["count"]["value"] = 3
    path = tmp_path_factory.mktemp("campaign") / "small.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def with_campaign(policy, path, *, start_month=3, objective_weight=0.0):
    """``policy`` with the campaign in ``path`` as its campaign lever."""
    lever = {"file": str(path), "start_month": start_month, "objective_weight": objective_weight}
    return apply_changes(policy, {"campaign": lever})


def campaign_rows(result):
    out = result.outcomes
    return out[out.period_kind == "campaign"].set_index("metric").value


def test_campaign_runs_and_pays_its_team_once(tiny, regional, small_campaign):
    policy = with_campaign(regional, small_campaign, start_month=3)
    result = simlib.simulate(tiny, policy, seed=5)
    rows = campaign_rows(result)
    assert 0 < rows["campaign_coverage"] < 1
    assert rows["campaign_vaccinated"] == pytest.approx(rows["campaign_coverage"] * 3000)
    paid = result.ledger[result.ledger.team_incentive_idr > 0]
    # Four weeks occupy one month of the calendar: paid at the end of April 2025.
    if rows["campaign_target_met"]:
        assert list(paid.month) == ["2025-04"]
        assert paid.team_incentive_idr.sum() == pytest.approx(rows["team_incentive_idr"])
    else:
        assert paid.empty
    assert campaign_rows(simlib.simulate(tiny, policy, seed=5)).equals(rows)


def test_better_staff_reach_more_people(tiny, regional, small_campaign):
    coverage = {}
    for mean in (-1.5, 1.5):
        workforce = tiny.workforce.model_copy(
            update={"competence": tiny.workforce.competence.model_copy(update={"mean": mean})}
        )
        scenario = tiny.model_copy(update={"workforce": workforce})
        policy = with_campaign(regional, small_campaign)
        waits = []
        for seed in range(3):
            rows = campaign_rows(simlib.simulate(scenario, policy, seed=seed))
            waits.append((rows["campaign_coverage"], rows["campaign_mean_wait_min"]))
        coverage[mean] = np.mean(waits, axis=0)
    assert coverage[1.5][0] > coverage[-1.5][0], coverage
    assert coverage[1.5][1] < coverage[-1.5][1], coverage


def test_an_unattainable_target_pays_nothing(tiny, regional, small_campaign, tmp_path):
    raw = yaml.safe_load(small_campaign.read_text())
    raw["incentive"]["target_coverage"]["value"] = 0.99
    path = tmp_path / "hard.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    result = simlib.simulate(tiny, with_campaign(regional, path), seed=1)
    assert campaign_rows(result)["team_incentive_idr"] == 0
    assert result.ledger.team_incentive_idr.sum() == 0


def test_vaccination_campaign_variant_runs_from_the_cli(tmp_path, capsys):
    out = tmp_path / "vac"
    variant = POLICIES / "vaccination_campaign.yaml"
    scenario = SCENARIOS / "district_health_office.yaml"
    assert main(["run", str(scenario), "--policy", str(variant), "--out", str(out)]) == 0
    assert "campaign_coverage" in capsys.readouterr().out
    outcomes = pd.read_parquet(out / "outcomes.parquet")
    assert (outcomes.period_kind == "campaign").sum() == 7
    manifest = (out / "manifest.json").read_text()
    assert '"role": "campaign"' in manifest


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"file": "../services/missing.yaml"},
         r"bad\.yaml: changes\.campaign\.file: '\.\./services/missing\.yaml': campaign file "
         r"not found .*; allowed"),
        ({"start_month": {"value": 33, "unit": "months", "source": "x"}},
         r"bad\.yaml: campaign\.start_month: 33 is too late.*allowed: 0 to 30"),
    ],
)  # fmt: skip
def test_bad_campaign_levers_are_one_line_errors(tmp_path, district, regional, change, match):
    raw = yaml.safe_load((POLICIES / "vaccination_campaign.yaml").read_text())
    raw["changes"]["campaign"].update(change)
    (tmp_path / "policies").mkdir()
    path = tmp_path / "policies" / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    shutil.copytree(DATA / "services", tmp_path / "services")
    with pytest.raises(simlib.ConfigError, match=match):
        resolve(district, regional, (simlib.load_variant(path),))


def test_a_team_target_raises_coverage_only_when_attainable(
    tiny, regional, small_campaign, tmp_path
):
    raw = yaml.safe_load(small_campaign.read_text())

    def campaign(bonus, target):
        variant = yaml.safe_load(yaml.safe_dump(raw))
        variant["incentive"]["bonus_idr_per_staff"]["value"] = bonus
        variant["incentive"]["target_coverage"]["value"] = target
        # Capacity must bind for staff performance to matter: one vaccinator, more people.
        variant["posts"]["staff_per_post"]["value"] = 1
        variant["target_population"]["value"] = 6000
        path = tmp_path / f"c-{bonus}-{target}.yaml"
        path.write_text(yaml.safe_dump(variant, sort_keys=False))
        return path

    def coverage(path):
        policy = with_campaign(regional, path, start_month=3)
        runs = [simlib.simulate(tiny, policy, seed=s) for s in range(3)]
        return np.mean([campaign_rows(r)["campaign_coverage"] for r in runs]), runs

    none, _ = coverage(campaign(0, 0.6))
    attainable, runs = coverage(campaign(20_000_000, 0.6))
    out_of_reach, _ = coverage(campaign(20_000_000, 0.95))
    assert attainable > none + 0.005, (none, attainable)
    assert abs(out_of_reach - none) < 0.002, (none, out_of_reach)
    effort = runs[0].outcomes.query("metric == 'mean_effort'").set_index("period").value
    assert effort["2025Q2"] > effort["2025Q3"], "effort rises in the campaign quarter only"


def test_coverage_can_be_the_objective_part_of_hasil_kerja(tiny, regional, small_campaign):
    """With an objective weight, campaign staff's results follow the measured coverage."""
    outputs = tiny.outputs.model_copy(update={"employee_panel": True})
    calm = without_gaming(tiny.model_copy(update={"outputs": outputs}))
    plain = simlib.simulate(calm, with_campaign(regional, small_campaign), seed=6)
    weighted = with_campaign(regional, small_campaign, objective_weight=1.0)
    objective = simlib.simulate(calm, weighted, seed=6)
    rows = campaign_rows(objective)
    target = yaml.safe_load(small_campaign.read_text())["incentive"]
    expected = np.clip(
        (rows["campaign_coverage"] - target["target_coverage"]["value"])
        / target["coverage_uncertainty"]["value"], -3, 3,
    )  # fmt: skip
    q2 = objective.panel[objective.panel.period == "2025Q2"]
    # Three posts are staffed by the first three staff units (everyone in them).
    wf = objective.workforce
    in_posts = wf.employee[wf.unit.isin(["Unit 01", "Unit 02", "Unit 03"])]
    staff = q2.employee.isin(in_posts)
    assert np.allclose(q2.hasil_rating[staff], expected), "weight 1: results are the coverage"
    assert not np.isclose(q2.hasil_rating[~staff], expected).all()
    # Before the campaign nothing changes (common random numbers).
    a = plain.panel[plain.panel.period == "2025Q1"].hasil_rating.to_numpy()
    b = objective.panel[objective.panel.period == "2025Q1"].hasil_rating.to_numpy()
    np.testing.assert_array_equal(a, b)


# --- docking against the per-citizen SimPy reference (benchmarks/campaign_reference.py) ------

#: Significance level of every docking test (two-sided).
ALPHA = 0.01


@pytest.fixture(scope="module")
def reference():
    path = ROOT / "benchmarks" / "campaign_reference.py"
    spec = importlib.util.spec_from_file_location("campaign_reference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def same_draws(seed, *, posts, days, servers, hours, profile, base_min, log_sd, patience_min,
               citizens, open_hour=8):  # fmt: skip
    """Citizens drawn once, sorted as the vectorised queue takes them."""
    rng = np.random.default_rng(seed)
    cell, minute = arrival_cells(
        np.sort(rng.random(citizens)), cells=len(days) * posts, profile=np.array(profile)
    )
    day_index, post = np.divmod(cell, posts)
    opening = np.asarray(days) * 1440.0 + open_hour * 60.0
    arrive = opening[day_index] + minute
    return {
        "day_index": day_index, "post": post, "arrive": arrive,
        "give_up": arrive + rng.exponential(patience_min, citizens),
        "closing": (opening + 60.0 * hours)[day_index],
        "service": base_min * rng.lognormal(-0.5 * log_sd**2, log_sd, citizens),
        "servers": np.asarray(servers), "opening": opening,
    }  # fmt: skip


@pytest.mark.parametrize(
    "case",
    [
        # Busy posts, 1 to 6 vaccinators, closed on Sundays.
        dict(posts=3, days=[0, 1, 2, 3, 4, 5, 7, 8], servers=[1, 2, 6], hours=6,
             profile=[1.6, 1.4, 1.1, 0.8, 0.6, 0.5], base_min=7.0, log_sd=0.4,
             patience_min=30.0, citizens=5000),
        # Open round the clock with long services: queues carry over from day to day.
        dict(posts=2, days=[0, 1, 2, 3, 4], servers=[2, 1], hours=24, open_hour=0,
             profile=[1.0] * 24, base_min=30.0, log_sd=1.0, patience_min=1e4, citizens=800),
        # Hours without arrivals, heavy-tailed services, many queues.
        dict(posts=40, days=list(range(30)), servers=[1] * 40, hours=8, open_hour=7,
             profile=[0, 1, 0, 2, 0, 0, 1, 0], base_min=5.0, log_sd=2.0, patience_min=60.0,
             citizens=20_000),
    ],
    ids=["busy", "round-the-clock", "many-queues"],
)  # fmt: skip
def test_the_vectorised_queue_serves_as_simpy_does_on_the_same_draws(reference, case):
    """Same citizens, same draws: the same people are served, at the same minute.

    The reference runs one SimPy process per citizen with lazy reneging (patience checked
    at the server) and with a patience timer that takes the citizen out of the queue; under
    FCFS both give the same outcomes, and so must the recursion. Start times may differ by
    SimPy's clock arithmetic (``now + (arrive - now)``), far below 1e-9 minutes.
    """
    draws = same_draws(1, **case)
    start = post_day_starts(
        draws["day_index"], draws["post"], draws["arrive"], draws["give_up"], draws["closing"],
        draws["service"], servers=draws["servers"], opening=draws["opening"],
    )  # fmt: skip
    order = np.lexsort((draws["arrive"], draws["post"]))
    kwargs = {k: draws[k][order] for k in ("post", "arrive", "give_up", "closing", "service")}
    lazy, lazy_events = reference.simulate_queues(**kwargs, servers=draws["servers"])
    eager, eager_events = reference.simulate_queues(**kwargs, servers=draws["servers"], eager=True)
    ours = start[order]
    served = ~np.isnan(ours)
    assert 0 < served.sum() < len(ours), "some are served and some are not"
    for name, theirs in (("lazy", lazy), ("eager", eager)):
        differ = int((np.isnan(theirs) != ~served).sum())
        assert differ == 0, f"{differ} of {len(ours)} citizens served differently ({name})"
        gap = np.abs(theirs[served] - ours[served]).max()
        assert gap < 1e-9, f"start times differ by up to {gap} min ({name})"
    assert eager_events > lazy_events, (eager_events, lazy_events)


def test_where_the_queue_switches_method_changes_no_digit(monkeypatch):
    """Sorted free times, argmin over them, one citizen at a time: the same floats."""
    rng = np.random.default_rng(3)
    group = np.sort(rng.integers(0, 300, 30_000))
    arrive = group * 1440.0 + rng.random(group.size) * 360.0
    order = np.lexsort((arrive, group))
    group, arrive = group[order], arrive[order]
    deadline = arrive + rng.exponential(30.0, group.size)
    service = rng.lognormal(1.5, 0.6, group.size)
    servers = rng.integers(1, 8, 300)
    results = []
    for one_by_one_below, sorted_up_to in ((0, 100), (0, 0), (24, 4), (10**9, 4)):
        monkeypatch.setattr(campaign_queue, "SCALAR_BELOW", one_by_one_below)
        monkeypatch.setattr(campaign_queue, "SORTED_UP_TO", sorted_up_to)
        start, free_at = fcfs_starts(
            group, arrive, deadline, service, servers=servers, free_from=group[:300] * 0.0
        )
        results.append((start, np.sort(free_at, axis=1)))
    assert 0 < np.isnan(results[0][0]).sum() < group.size
    for start, free_at in results[1:]:
        np.testing.assert_array_equal(start, results[0][0])
        np.testing.assert_array_equal(free_at, results[0][1])


def mean_difference_z(a, b) -> float:
    """Difference of the means of two sets of independent runs over its Monte-Carlo error."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float((a.mean() - b.mean()) / np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size))


def test_the_campaign_docks_with_the_per_citizen_reference(reference):
    """Coverage, waiting times and the team bonus agree in distribution over 150 seeds.

    The engines draw differently, so runs are compared in distribution. A small campaign
    busy enough to queue and abandon (3 posts, 1 vaccinator each, 2,000 people, 10 days).
    Each test is two-sided at ``ALPHA`` = 0.01: means over seeds by their difference over
    its Monte-Carlo error; waits by a two-sample Kolmogorov-Smirnov test on the wait of one
    served citizen drawn at random from every (day, post) queue of every run (queues are
    independent; a run's waits are not), rounded to 1e-9 min (SimPy's clock rounding);
    the all-or-nothing bonus at a target that pays about half the runs (the pooled median
    coverage) by a two-proportion z-test.
    """
    raw = yaml.safe_load((DATA / "services" / "vaccination_campaign.yaml").read_text())
    raw["target_population"]["value"] = 2000
    raw["window_days"]["value"] = 10
    raw["posts"]["count"]["value"] = 3
    raw["posts"]["staff_per_post"]["value"] = 1
    campaign = campaign_from_dict(raw)
    perf = np.zeros(3)
    runs = {"library": [], "reference": []}
    waits = {"library": [], "reference": []}
    for seed in range(150):
        for name, engine in (("library", run_campaign), ("reference", reference.run_campaign)):
            result = engine(
                campaign, staff_performance=perf, rng=np.random.default_rng(seed), citizens=True
            )
            runs[name].append(result)
            served = result.citizens[result.citizens.wait_min.notna()]
            pick = served.iloc[np.random.default_rng([seed, 17]).permutation(len(served))]
            waits[name].append(pick.drop_duplicates(["day", "post"]).wait_min.to_numpy())
    z_crit = stats.norm.ppf(1 - ALPHA / 2)
    lib, ref = runs["library"], runs["reference"]
    for field in ("coverage", "mean_wait_min", "abandoned"):
        a, b = [getattr(r, field) for r in lib], [getattr(r, field) for r in ref]
        z = mean_difference_z(a, b)
        assert abs(z) < z_crit, (
            f"{field}: library {np.mean(a):.5g}, reference {np.mean(b):.5g}, z {z:.2f}"
        )
    a, b = (np.round(np.concatenate(waits[k]), 9) for k in ("library", "reference"))
    ks = stats.ks_2samp(a, b)
    assert ks.pvalue >= ALPHA, (
        f"waits: KS D {ks.statistic:.4f}, p {ks.pvalue:.4f}, n {a.size}, {b.size}"
    )
    target = float(np.median([r.coverage for r in lib + ref]))
    sharp = campaign.incentive.model_copy(update={"target_coverage": target})
    paid = {
        k: np.array([team_incentive_idr(sharp, coverage=r.coverage, staff=3) > 0 for r in v])
        for k, v in runs.items()
    }
    pooled = np.concatenate(list(paid.values())).mean()
    z = (paid["library"].mean() - paid["reference"].mean()) / np.sqrt(
        pooled * (1 - pooled) * 2 / 150
    )
    assert abs(z) < z_crit, (
        f"bonus paid at target {target}: {paid['library'].mean()} vs {paid['reference'].mean()}"
    )


@pytest.mark.parametrize("rng", ["generator", "keyed"])
def test_a_persons_draws_depend_on_nothing_but_the_person(rng):
    """Chunking, the turnout share and the stream's kind change no one's uniforms."""

    def draws(share, chunk):
        stream = (
            np.random.default_rng(4)
            if rng == "generator"
            else Streams(4).keyed("arrivals", period=0)
        )
        return citizen_uniforms(stream, 10_000, come_share=share, chunk=chunk)

    ids, u = draws(0.5, 1 << 20)
    ids_chunked, u_chunked = draws(0.5, 777)
    np.testing.assert_array_equal(ids, ids_chunked)
    np.testing.assert_array_equal(u, u_chunked)
    more_ids, more_u = draws(0.7, 1 << 20)
    # More outreach: everyone who came still comes, with the same draws; others join.
    assert set(ids) < set(more_ids), (len(ids), len(more_ids))
    np.testing.assert_array_equal(more_u[:, np.isin(more_ids, ids)], u)
    assert abs(len(ids) - 5000) < 5 * np.sqrt(10_000 * 0.25), len(ids)


def test_arrivals_follow_the_hourly_profile_and_sort_with_their_uniform():
    """One uniform per arrival: its cell, its hour in proportion to the profile, its minute."""
    profile = np.array([2.0, 0.0, 1.0, 1.0])
    u = np.sort(np.random.default_rng(8).random(40_000))
    cell, minute = arrival_cells(u, cells=5, profile=profile)
    key = cell * 1000 + minute
    assert (np.diff(key) >= 0).all(), "sorted by the uniform is sorted by cell, then time"
    np.testing.assert_array_equal(np.bincount(cell, minlength=5) > 7000, True)
    hours = np.bincount((minute // 60).astype(int), minlength=4) / u.size
    expected = profile / profile.sum()
    se = np.sqrt(expected * (1 - expected) / u.size)
    assert hours[1] == 0, "no arrivals in an hour with rate 0"
    assert (np.abs(hours - expected) < 4 * se + 1e-12).all(), (hours, expected)


def test_the_queue_refuses_citizens_out_of_order():
    t = np.array([10.0, 5.0])
    with pytest.raises(ValueError, match="sorted by queue"):
        fcfs_starts(np.array([0, 0]), t, t + 9, t, servers=np.array([1]), free_from=np.zeros(1))
