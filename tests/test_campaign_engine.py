"""A vaccination campaign run from the agency calendar: coverage, team bonus, ledger."""

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import without_gaming

import simlib
from simlib.cli.main import main
from simlib.core.paths import DATA, SCENARIOS
from simlib.params.scenario import CampaignLink


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


def with_campaign(scenario, path, *, start_month=3):
    spec = scenario.agencies[0].model_copy(
        update={"campaign": CampaignLink(file=str(path), start_month=start_month)}
    )
    return scenario.model_copy(update={"agencies": (spec,)})


def campaign_rows(result):
    out = result.outcomes
    return out[out.period_kind == "campaign"].set_index("metric").value


def test_campaign_runs_and_pays_its_team_once(tiny, regional, small_campaign):
    scenario = with_campaign(tiny, small_campaign, start_month=3)
    result = simlib.simulate(scenario, regional, seed=5)
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
    assert campaign_rows(simlib.simulate(scenario, regional, seed=5)).equals(rows)


def test_better_staff_reach_more_people(tiny, regional, small_campaign):
    coverage = {}
    for mean in (-1.5, 1.5):
        workforce = tiny.workforce.model_copy(
            update={"competence": tiny.workforce.competence.model_copy(update={"mean": mean})}
        )
        scenario = with_campaign(tiny.model_copy(update={"workforce": workforce}), small_campaign)
        waits = []
        for seed in range(3):
            rows = campaign_rows(simlib.simulate(scenario, regional, seed=seed))
            waits.append((rows["campaign_coverage"], rows["campaign_mean_wait_min"]))
        coverage[mean] = np.mean(waits, axis=0)
    assert coverage[1.5][0] > coverage[-1.5][0], coverage
    assert coverage[1.5][1] < coverage[-1.5][1], coverage


def test_an_unattainable_target_pays_nothing(tiny, regional, small_campaign, tmp_path):
    raw = yaml.safe_load(small_campaign.read_text())
    raw["incentive"]["target_coverage"]["value"] = 0.99
    path = tmp_path / "hard.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    result = simlib.simulate(with_campaign(tiny, path), regional, seed=1)
    assert campaign_rows(result)["team_incentive_idr"] == 0
    assert result.ledger.team_incentive_idr.sum() == 0


def test_vaccination_scenario_runs_from_the_cli(tmp_path, capsys):
    out = tmp_path / "vac"
    assert main(["run", str(SCENARIOS / "vaccination_campaign.yaml"), "--out", str(out)]) == 0
    assert "campaign_coverage" in capsys.readouterr().out
    outcomes = pd.read_parquet(out / "outcomes.parquet")
    assert (outcomes.period_kind == "campaign").sum() == 7
    manifest = (out / "manifest.json").read_text()
    assert '"role": "campaign"' in manifest


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"file": "../services/missing.yaml"}, r"agencies\[0\]\.campaign\.file: .*not found .*; allowed"),
        ({"start_month": {"value": 33, "unit": "months", "source": "x"}},
         r"agencies\[0\]\.campaign\.start_month: 33 is too late.*allowed: 0 to 30"),
    ],
)  # fmt: skip
def test_bad_campaign_links_are_one_line_errors(tmp_path, change, match):
    raw = yaml.safe_load((SCENARIOS / "vaccination_campaign.yaml").read_text())
    raw["agencies"][0]["campaign"].update(change)
    raw["baseline_policy"] = str(SCENARIOS.parent / "policies" / "baseline_regional.yaml")
    raw["agencies"][0]["campaign"]["file"] = str(
        (SCENARIOS / raw["agencies"][0]["campaign"]["file"]).resolve()
    )
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(simlib.ConfigError, match=match):
        simlib.load_scenario(path)


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
        scenario = with_campaign(tiny, path, start_month=3)
        runs = [simlib.simulate(scenario, regional, seed=s) for s in range(3)]
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
    base = with_campaign(calm, small_campaign)
    spec = base.agencies[0]
    weighted = base.model_copy(update={"agencies": (spec.model_copy(update={
        "campaign": spec.campaign.model_copy(update={"objective_weight": 1.0})}),)})  # fmt: skip
    plain = simlib.simulate(base, regional, seed=6)
    objective = simlib.simulate(weighted, regional, seed=6)
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
