"""Careers through the engine (issue 15): the policy's careers lever run by ``simulate``.

Directional tests on a small Martell-like organisation (scores are competence, rated
without error unless a test adds a bias): a bias for men leaves fewer women at the top;
promotion by rating with accurate ratings puts more competent people at the top than
promotion by seniority. Both compare arms on common random numbers, and the tolerance is
the Monte-Carlo error of the paired difference, computed here. A bad promotion rule in a
variant file is one line naming the field.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import simlib
from simlib.core.errors import ConfigError
from simlib.core.paths import ROOT
from simlib.params.changes import apply_changes
from simlib.params.policy import apply_variant, load_variant

REPL = ROOT / "data" / "replications"
#: A small ladder, bottom first (155 posts), for fast runs.
LADDER = [80, 40, 20, 10, 5]
SEEDS = range(8)


def world():
    """The Martell scenario, made small: 155 posts, 20 years."""
    scenario = simlib.load_scenario(REPL / "martell_1996_world.yaml")
    return apply_changes(
        scenario,
        {"agencies.0.structure.employees": sum(LADDER), "calendar.horizon_months": 240},
    )


def policy(*, rule="rating", bias=0.0):
    base = simlib.load_policy(ROOT / "data" / "policies" / "baseline_central.yaml")
    p = apply_variant(base, load_variant(REPL / "martell_bias_1pct.yaml"))
    return apply_changes(
        p,
        {
            "careers.ladder": tuple(LADDER),
            "careers.rating_bias_men_sd": bias,
            "careers.promotion.rule": rule,
        },
    )


@functools.cache
def run(rule: str, bias: float, seed: int):
    """One run of the small organisation (cached: tests share the biased and merit arms)."""
    return simlib.simulate(world(), policy(rule=rule, bias=bias), seed=seed)


def top_levels(result, metric: str, levels=(4, 5)) -> float:
    """Mean of ``metric_level_k`` over the top ``levels`` and the last ten years."""
    out = result.outcomes
    year = out[out["period_kind"] == "year"]
    periods = sorted(year["period"].unique())[-10:]
    rows = year[year["period"].isin(periods)]
    names = [f"{metric}_level_{k}" for k in levels]
    return float(rows[rows["metric"].isin(names)]["value"].mean())


def paired(a: list[float], b: list[float]) -> tuple[float, float]:
    d = np.asarray(a) - np.asarray(b)
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))


def test_more_bias_fewer_women_at_the_top():
    w0 = [top_levels(run("rating", 0.0, s), "women_share") for s in SEEDS]
    w1 = [top_levels(run("rating", 0.459, s), "women_share") for s in SEEDS]  # 5 % of variance
    diff, se = paired(w0, w1)
    assert diff > 2 * se, (
        f"women at the top: no bias {np.mean(w0):.3f}, bias {np.mean(w1):.3f}; "
        f"difference {diff:.3f} vs 2 SE {2 * se:.3f}"
    )


def test_biased_promotion_thins_women_towards_the_top():
    # Martell et al. (1996): with a bias the share of women falls from level 1 upwards.
    result = [run("rating", 0.459, s) for s in SEEDS]
    bottom = [top_levels(r, "women_share", levels=(1,)) for r in result]
    top = [top_levels(r, "women_share", levels=(4, 5)) for r in result]
    diff, se = paired(bottom, top)
    assert np.mean(bottom) > 0.5 and diff > 2 * se, (
        f"women: level 1 {np.mean(bottom):.3f}, levels 4-5 {np.mean(top):.3f}; "
        f"difference {diff:.3f} vs 2 SE {2 * se:.3f}"
    )


def test_merit_with_accurate_ratings_raises_leader_competence_over_seniority():
    merit = [top_levels(run("rating", 0.0, s), "competence") for s in SEEDS]
    senior = [top_levels(run("seniority", 0.0, s), "competence") for s in SEEDS]
    diff, se = paired(merit, senior)
    assert diff > 2 * se, (
        f"competence at the top: by rating {np.mean(merit):.3f}, by seniority "
        f"{np.mean(senior):.3f}; difference {diff:.3f} vs 2 SE {2 * se:.3f}"
    )


@pytest.mark.parametrize(
    ("line", "bad", "field"),
    [
        ("rule: {value: rating,", "rule: {value: lottery,", "careers.promotion.rule"),
        ("min_years_in_level: {value: 1,", "min_years_in_level: {value: -2,",
         "careers.promotion.min_years_in_level"),
        ("women_min_share: {value: 0.0,", "women_min_share: {value: 1.5,",
         "careers.promotion.committee.women_min_share"),
    ],
)  # fmt: skip
def test_bad_promotion_rule_is_one_line(tmp_path, line, bad, field):
    text = (ROOT / "data" / "policies" / "promotion_by_rating.yaml").read_text()
    assert line in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(line, bad, 1))
    base = simlib.load_policy(ROOT / "data" / "policies" / "baseline_central.yaml")
    with pytest.raises(ConfigError) as info:
        apply_variant(base, load_variant(path))
    message = str(info.value)
    assert "\n" not in message and field in message and "bad.yaml" in message, message


def test_a_ladder_that_does_not_fit_the_agency_is_refused():
    sc = apply_changes(world(), {"calendar.horizon_months": 12})
    bad = apply_changes(policy(), {"careers.ladder": (100, 10)})
    with pytest.raises(ConfigError, match=r"careers\.ladder: 110 posts"):
        simlib.simulate(sc, bad, seed=1)
