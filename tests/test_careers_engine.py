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


# --- kenaikan pangkat and tournament pay (issue 15) -------------------------------------

POL = ROOT / "data" / "policies"


def _small(**changes):
    sc = simlib.load_scenario(ROOT / "data" / "scenarios" / "district_health_office.yaml")
    i = "agencies.0.structure"
    base = {"calendar.horizon_months": 36, f"{i}.employees": 150, f"{i}.units": 5,
            f"{i}.subunits_per_unit": 1, f"{i}.jpt_posts": 1}  # fmt: skip
    return apply_changes(sc, {**base, **changes})


def _with(*names):
    p = simlib.load_policy(POL / "baseline_regional.yaml")
    for name in names:
        p = apply_variant(p, load_variant(POL / f"{name}.yaml"))
    return p


def test_kp_and_tournament_report_exactly_their_declared_outcomes():
    from simlib.engine.outcomes import OUTCOMES, requirements

    for name, lever in (("kp_pilihan", "kenaikan_pangkat"), ("tournament", "tournament")):
        policy = _with(name)
        out = simlib.simulate(_small(), policy, seed=2).outcomes
        met = requirements(policy)
        assert met == {"", lever}
        declared = {o.name for o in OUTCOMES if "year" in o.levels and o.requires in met}
        assert set(out.loc[out.period_kind == "year", "metric"]) == declared


def test_tournament_widens_pay_within_units_pays_the_better_and_keeps_the_cap():
    sc = _small(**{"outputs.employee_ledger": True})
    spread, corr = [], []
    for seed in range(4):
        runs = {}
        for arm in ("none", "tournament"):
            policy = _with() if arm == "none" else _with("tournament")
            runs[arm] = r = simlib.simulate(sc, policy, seed=seed)
            led = r.ledger
            # The budget cap holds every year, prizes included.
            year = led.groupby(led.t_month // 12)
            assert (year.paid_idr.sum() <= year.budget_cap_idr.max() * (1 + 1e-9)).all()
        sds = []
        for r in runs.values():
            e = r.employee_ledger
            unit = r.workforce.set_index("employee")["unit"]  # units stay with their posts
            e = e.assign(ratio=e.paid_idr / e.entitled_idr, unit=unit.loc[e.employee].to_numpy())
            sds.append(float(e.groupby(["t_month", "unit"]).ratio.std().mean()))
        spread.append(sds[1] - sds[0])
        y = runs["tournament"].outcomes
        corr.append(float(y.loc[y.metric == "tournament_prize_performance_corr", "value"].mean()))
    d, se = float(np.mean(spread)), float(np.std(spread, ddof=1) / math.sqrt(len(spread)))
    assert d > 2 * se, (
        f"within-unit SD of paid/entitled: tournament - none {d:.4f}, 2 SE {2 * se:.4f}"
    )
    c, se = float(np.mean(corr)), float(np.std(corr, ddof=1) / math.sqrt(len(corr)))
    assert c > 2 * se, f"prize-performance correlation {c:.3f} vs 2 SE {2 * se:.3f}"


def test_kp_needs_baik_years_and_raises_golongan():
    from simlib.world import careers as C

    rule = _with("kp_reguler").careers.kenaikan_pangkat
    gol = np.array([8, 8, 8])
    baik = C.predikat_streak(np.array([5, 5, 5]), np.array([1, 2, 0]))  # Baik, BP, SB
    rose = C.kp_round(
        gol, np.zeros(3, dtype=int), years_in_pangkat=np.full(3, 4.0), baik_years=baik,
        cap=np.full(3, 11), years_in_post=np.zeros(3), post_min=np.full(3, -1),
        post_max=np.full(3, -1), angka_kredit=np.zeros(3), credit_needed=np.full(17, np.nan),
        rule=rule,
    )  # fmt: skip
    assert rose.tolist() == [True, False, True], "a person rated below Baik does not rise"
    out = simlib.simulate(_small(), _with("kp_reguler"), seed=1).outcomes
    kp = out.loc[out.metric == "kp_promotions", "value"]
    assert (kp > 0).all() and (kp < 1).all(), kp.tolist()


@pytest.mark.parametrize(
    ("line", "bad", "field"),
    [
        ("share_of_budget: {value: 0.25,", "share_of_budget: {value: 1.5,",
         "careers.tournament.share_of_budget"),
        ("tiers: {value: [0.2, 0.5, 0.3],", "tiers: {value: [0.2, 0.5, 0.5],",
         "careers.tournament.tiers"),
    ],
)  # fmt: skip
def test_bad_tournament_is_one_line(tmp_path, line, bad, field):
    text = (POL / "tournament.yaml").read_text()
    assert line in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(line, bad, 1))
    with pytest.raises(ConfigError) as info:
        apply_variant(_with(), load_variant(path))
    message = str(info.value)
    assert "\n" not in message and field in message and "bad.yaml" in message, message
