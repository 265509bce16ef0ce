"""The multi-source (360-degree) rater model: structure, calibration, and each effect."""

import numpy as np
import pytest
from helpers import params_with

import simlib
from simlib.behaviour.performance import true_performance
from simlib.params.scenario import Structure
from simlib.rules.appraisal import aggregate
from simlib.rules.raters import (
    BERAKHLAK,
    SOURCES,
    RatingContext,
    between_source_correlation,
    draw_traits,
    expected_agreement,
    halo_index,
    multi_source_table,
    within_source_reliability,
)
from simlib.world.workforce import generate

K = len(BERAKHLAK)
S = {name: i for i, name in enumerate(SOURCES)}


def simulate_table(district, params, *, n=3000, seed=2, pay_linked=False, units=60):
    structure = Structure(employees=n, jpt_posts=1, units=units, subunits_per_unit=3,
                          fungsional_share=0.6, pppk_share=0.1, female_share=0.5)  # fmt: skip
    wf = generate(structure, district.workforce, rng=np.random.default_rng(1))
    rng = np.random.default_rng(seed)
    hasil, perilaku = true_performance(wf, np.zeros(wf.n), district.performance, rng=rng)
    traits = draw_traits(wf.n, params, rng=rng)
    ctx = RatingContext(hasil, perilaku, wf, traits, params, pay_linked)
    return wf, perilaku, traits, multi_source_table(ctx, rng=rng)


@pytest.fixture(scope="module")
def big(district):
    params = params_with(district.raters, supervisor__count=2)
    return params, *simulate_table(district, params, n=20_000, units=400)


def pair_view(table, column):
    return getattr(table, column).reshape(-1, K)[:, 0]


def test_who_rates_whom(district):
    params = params_with(district.raters, service_user__count=2)
    wf, _, _, t = simulate_table(district, params)
    ratee, rater, source = pair_view(t, "ratee"), pair_view(t, "rater"), pair_view(t, "source")
    assert (t.dimension.reshape(-1, K) == np.arange(K)).all()
    is_self = source == S["self"]
    assert (ratee[is_self] == rater[is_self]).all()
    assert (ratee[~is_self] != rater[~is_self]).all()
    sup = source == S["supervisor"]
    np.testing.assert_array_equal(rater[sup], wf.supervisor[ratee[sup]])
    peer = source == S["peer"]
    assert (wf.unit[rater[peer]] == wf.unit[ratee[peer]]).all(), "peers come from the same unit"
    sub = source == S["subordinate"]
    np.testing.assert_array_equal(wf.supervisor[rater[sub]], ratee[sub])
    users = source == S["service_user"]
    assert (rater[users] >= wf.n).all(), "service users are outside raters"
    per_ratee = np.bincount(ratee[peer], minlength=wf.n)
    assert per_ratee.max() <= params.multi_source.sources.peer.count
    lo, hi = 1, 5
    assert set(np.unique(t.score)) <= set(range(lo, hi + 1))


def test_non_response_follows_the_response_rates(district):
    params = params_with(district.raters, peer__response_rate=0.5)
    wf, _, _, t = simulate_table(district, params)
    peer = pair_view(t, "source") == S["peer"]
    # Each employee in a unit of more than 3 has 3 peer candidates.
    answered = peer.sum() / (3 * wf.n)
    assert 0.45 < answered < 0.53, answered


def test_calibration_reproduces_published_agreement(big):
    """Within-source reliability (Conway & Huffcutt 1997) and source agreement (Harris &
    Schaubroeck 1988; Heidemeier & Moser) in simulated data and in the implied values."""
    params, _, perilaku, _, t = big
    expected = expected_agreement(params, true_var=float(perilaku.var()))
    targets = {"supervisor": 0.50, "peer": 0.37, "subordinate": 0.30}
    for source, target in targets.items():
        observed = within_source_reliability(t, source)
        assert abs(observed - target) < 0.06, (source, observed, target)
        assert abs(expected["reliability"][source] - observed) < 0.06, (source, expected)
    corrected = expected["corrected_correlation"]
    for pair, target in {
        "peer-supervisor": 0.62,
        "self-supervisor": 0.35,
        "self-peer": 0.36,
    }.items():
        assert abs(corrected[pair] - target) < 0.08, (pair, corrected[pair], target)
    # Observed self-supervisor agreement r = .22 (Heidemeier & Moser, k = 115).
    r_self = between_source_correlation(t, "self", "supervisor")
    assert 0.15 < r_self < 0.29, r_self


def peer_shares(big):
    params, _, perilaku, _, _ = big
    parts = expected_agreement(params, true_var=float(perilaku.var()))["peer"]
    total = sum(parts.values())
    return {k: v / total for k, v in parts.items()}


def test_expected_variance_shares_land_near_scullen(big):
    """Idiosyncratic rater effects 53-62 % and ratee 21-25 % of rating variance (Scullen,
    Mount & Goff 2000, two data sets; facts.md section 2), for peer ratings."""
    shares = peer_shares(big)
    assert 0.21 <= shares["ratee"] <= 0.25, shares
    assert 0.53 <= shares["rater"] <= 0.62, shares
    assert shares["source"] <= 0.15, shares


@pytest.mark.xfail(
    strict=True,
    reason="calibration gap, not a code defect: the residual is 9.8 % of peer-rating "
    "variance against the published 11-18 % (Scullen, Mount & Goff 2000), while the "
    "perspective (source) share is 12 % against about 4-6 %: the perspective SD is set by "
    "the corrected peer-supervisor correlation .62 (Harris & Schaubroeck 1988) and the "
    "two targets are not met together yet; docs/model.md section 7.3b",
)
def test_residual_share_is_within_the_published_range(big):
    shares = peer_shares(big)
    assert 0.11 <= shares["residual"] <= 0.18, shares


def test_self_ratings_are_lenient_by_d(district):
    params = params_with(district.raters, similarity_unit=0.0, similarity_grade=0.0,
                         similarity_sex=0.0, collusion_share=0.0, central_tendency=0.0)  # fmt: skip
    _, _, _, t = simulate_table(district, params, n=5000)
    source = pair_view(t, "source")
    latent = t.latent.reshape(-1, K).mean(axis=1)
    gap = latent[source == S["self"]].mean() - latent[source == S["supervisor"]].mean()
    d = gap / latent[source == S["supervisor"]].std()
    assert 0.15 < d < 0.5, d  # d = .32 on single values; averaging over values shifts it


def test_pay_purpose_inflates_other_ratings_not_self(district):
    params = district.raters
    _, _, _, free = simulate_table(district, params, seed=4)
    _, _, _, paid = simulate_table(district, params, seed=4, pay_linked=True)
    for name, moved in (("peer", True), ("self", False)):
        rows = free.source == S[name]
        delta = paid.latent[rows].mean() - free.latent[rows].mean()
        assert (delta > 0.3) if moved else (abs(delta) < 1e-12), (name, delta)


@pytest.mark.parametrize("rule", ["equal_360", "severity_adjusted"])
def test_leniency_variance_lowers_the_accuracy_of_means(district, rule):
    accuracy = {}
    for leniency_sd in (0.2, 1.5):
        params = params_with(district.raters, leniency_sd=leniency_sd)
        wf, perilaku, _, t = simulate_table(district, params, n=6000, seed=7)
        score = aggregate(t, wf, rule=rule, weights=(0, 0.5, 0.25, 0.25, 0), trim_share=0.2)
        accuracy[leniency_sd] = np.corrcoef(score, perilaku)[0, 1]
    assert accuracy[1.5] < accuracy[0.2], accuracy


def test_severity_adjustment_beats_plain_means_when_raters_differ(district):
    params = params_with(district.raters, leniency_sd=1.5)
    wf, perilaku, _, t = simulate_table(district, params, n=6000, seed=7)
    kw = {"weights": (0, 0.5, 0.25, 0.25, 0), "trim_share": 0.2}
    plain = np.corrcoef(aggregate(t, wf, rule="equal_360", **kw), perilaku)[0, 1]
    adjusted = np.corrcoef(aggregate(t, wf, rule="severity_adjusted", **kw), perilaku)[0, 1]
    assert adjusted > plain + 0.02, (plain, adjusted)


def test_halo_and_central_tendency(district):
    base = params_with(district.raters, halo=0.0, central_tendency=0.0)
    strong = params_with(district.raters, halo=0.7, central_tendency=0.0)
    squeezed = params_with(district.raters, halo=0.0, central_tendency=0.6)
    h0 = halo_index(simulate_table(district, base)[3])
    h1 = halo_index(simulate_table(district, strong)[3])
    assert h1 > h0 + 0.3, (h0, h1)
    spread = simulate_table(district, base)[3].score.std()
    squeezed_spread = simulate_table(district, squeezed)[3].score.std()
    assert squeezed_spread < 0.7 * spread, (spread, squeezed_spread)


def test_similarity_bias_favours_the_raters_own_sex(district):
    """With mostly-female raters, same-sex affinity inflates women's ratings."""
    gaps = {}
    for affinity in (0.0, 1.0):
        params = params_with(district.raters, similarity_sex=affinity)
        structure = Structure(employees=3000, jpt_posts=1, units=60, subunits_per_unit=3,
                              fungsional_share=0.6, pppk_share=0.1, female_share=0.8)  # fmt: skip
        wf = generate(structure, district.workforce, rng=np.random.default_rng(1))
        rng = np.random.default_rng(3)
        _, perilaku = true_performance(wf, np.zeros(wf.n), district.performance, rng=rng)
        traits = draw_traits(wf.n, params, rng=rng)
        t = multi_source_table(
            RatingContext(perilaku, perilaku, wf, traits, params, False), rng=rng
        )
        score = aggregate(t, wf, rule="equal_360", weights=(0,) * 5, trim_share=0.2)
        error = score - perilaku
        gaps[affinity] = error[wf.female].mean() - error[~wf.female].mean()
    assert gaps[1.0] > gaps[0.0] + 0.15, gaps


def test_collusion_inflates_peer_ratings_between_colluders(district):
    params = params_with(district.raters, collusion_share=0.5, collusion_shift=1.0)
    _, _, traits, t = simulate_table(district, params)
    peer = t.source == S["peer"]
    both = (
        peer
        & traits.collusive[t.ratee]
        & traits.collusive[t.rater.clip(max=len(traits.collusive) - 1)]
    )
    gap = t.latent[both].mean() - t.latent[peer & ~both].mean()
    assert gap > 0.5, gap


def test_more_idiosyncratic_noise_lowers_reliability(district):
    low = params_with(district.raters, peer__idiosyncratic_sd=0.5)
    high = params_with(district.raters, peer__idiosyncratic_sd=2.5)
    r_low = within_source_reliability(simulate_table(district, low)[3], "peer")
    r_high = within_source_reliability(simulate_table(district, high)[3], "peer")
    assert r_high < r_low - 0.2, (r_low, r_high)


@pytest.mark.parametrize(("scale", "allowed"), [("expectation_3", {1, 2, 3}), ("skp_0_120", None)])
def test_scores_are_rounded_to_the_instrument(district, scale, allowed):
    params = params_with(
        district.raters, scale=scale, points_per_sd=10.0 if allowed is None else 0.8
    )
    t = simulate_table(district, params)[3]
    assert (t.score == np.rint(t.score)).all()
    if allowed:
        assert set(np.unique(t.score)) <= allowed
    else:
        assert t.score.min() >= 0 and t.score.max() <= 120


def test_calibration_committee_removes_unit_differences(district):
    params = params_with(district.raters, leniency_sd=1.0)
    wf, perilaku, _, t = simulate_table(district, params, n=4000)
    kw = {"weights": (0,) * 5, "trim_share": 0.2}

    def unit_spread(score):
        err = score - perilaku
        means = np.bincount(wf.unit, weights=err) / np.bincount(wf.unit)
        return means.std()

    plain = unit_spread(aggregate(t, wf, rule="equal_360", **kw))
    committee = unit_spread(aggregate(t, wf, rule="calibration_committee", **kw))
    assert committee < 0.75 * plain, (plain, committee)


def test_360_runs_in_the_engine_with_every_rule(tiny, regional):
    variant = simlib.load_variant(simlib.core.paths.POLICIES / "pp30_360.yaml")
    outputs = tiny.outputs.model_copy(update={"ratings": True})
    scenario = tiny.model_copy(update={"outputs": outputs})
    for rule in ("supervisor_only", "weighted", "equal_360", "trimmed_mean",
                 "severity_adjusted", "calibration_committee"):  # fmt: skip
        policy = simlib.apply_variant(simlib.apply_variant(regional, variant), simlib.Variant(
            "rule", "", {"appraisal.aggregation.rule": rule}, None, "test", {}))  # fmt: skip
        result = simlib.simulate(scenario, policy, seed=3)
        q = result.outcomes.query("period_kind == 'quarter'")
        acc = q[q.metric == "perilaku_accuracy"].value
        assert (acc > 0.3).all(), (rule, acc.tolist())
        assert np.isfinite(q[q.metric == "halo_index"].value).all()
        assert set(result.ratings.source.unique()) >= {"self", "supervisor", "peer"}
        assert {"ratee", "rater", "score", "true_score", "dimension"} <= set(result.ratings.columns)


def test_fitted_variance_shares_land_near_scullen_mount_goff(district):
    """Fit the crossed random-effects model to simulated other-ratings (boss, peer,
    subordinate) and compare the shares with Scullen, Mount & Goff (2000): ratee
    (general + dimensional) 21-25 %, idiosyncratic rater (rater + rater x ratee) 53-62 %,
    error 11-18 %, small perspective effects. The bands below are wider on the rater and
    source sides: matching the .62 peer-supervisor correlation of Harris & Schaubroeck
    (1988) needs a perspective variance that is not small (docs/model.md, 7.3b)."""
    from simlib.analysis import fit_variance_components

    _wf, _, _, t = simulate_table(district, district.raters, n=600, units=12, seed=2)
    df = t.frame()
    df["latent"] = t.latent
    df = df[df.source != "self"].astype({"source": str, "dimension": str})
    fit = fit_variance_components(
        df,
        response="latent",
        random=[
            "ratee",
            ("ratee", "dimension"),
            "rater",
            ("ratee", "rater"),
            "source",
            ("ratee", "source"),
        ],
        ci=None,
    )
    share = fit.components.set_index("component")["share"]
    ratee = share["ratee"] + share["ratee:dimension"]
    rater = share["rater"] + share["ratee:rater"]
    source = share["source"] + share["ratee:source"]
    observed = {"ratee": ratee, "rater": rater, "source": source, "residual": share["residual"]}
    assert 0.19 <= ratee <= 0.28, observed
    assert 0.40 <= rater <= 0.65, observed
    assert 0.09 <= share["residual"] <= 0.20, observed
    assert source <= 0.25, observed
