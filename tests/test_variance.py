"""Variance components of ratings: truth recovery, statsmodels, lme4, coverage, BLUPs, input."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simlib.analysis.reml as reml
from simlib.analysis import VarianceFit, fit_variance_components, icc
from simlib.analysis.reml import REMLProblem
from simlib.analysis.variance import _design
from simlib.core.errors import ConfigError

REFERENCE = Path(__file__).parent / "reference"
FOUR = ["ratee", "rater", "source", ("ratee", "source")]


def simulate(
    *,
    seed: int,
    n_ratees: int,
    n_raters: int,
    per_cell: int,
    sd: dict[str, float],
    n_sources: int = 4,
    slope: float = 0.5,
    rater_weights: np.ndarray | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Crossed 360 ratings with known effects: every ratee gets ``per_cell`` ratings from
    each source, raters drawn at random (with ``rater_weights`` if given)."""
    rng = np.random.default_rng(seed)
    n = n_ratees * n_sources * per_cell
    ratee = np.repeat(np.arange(n_ratees), n_sources * per_cell)
    source = np.tile(np.repeat(np.arange(n_sources), per_cell), n_ratees)
    rater = rng.choice(n_raters, size=n, p=rater_weights)
    x = rng.normal(0.0, 1.0, n)
    eff = {
        "ratee": rng.normal(0.0, sd["ratee"], n_ratees),
        "rater": rng.normal(0.0, sd["rater"], n_raters),
        "source": rng.normal(0.0, sd.get("source", 0.0), n_sources),
        "ratee:source": rng.normal(0.0, sd.get("cell", 0.0), n_ratees * n_sources),
    }
    y = (
        3.0
        + slope * x
        + eff["ratee"][ratee]
        + eff["rater"][rater]
        + eff["source"][source]
        + eff["ratee:source"][ratee * n_sources + source]
        + rng.normal(0.0, sd["resid"], n)
    )
    frame = pd.DataFrame({"score": y, "x": x, "ratee": ratee, "rater": rater, "source": source})
    return frame, eff


TRUTH = {"ratee": 1.0, "rater": 0.7, "source": 0.5, "cell": 0.4, "resid": 0.8}


@pytest.fixture(scope="module")
def big():
    frame, eff = simulate(seed=7, n_ratees=220, n_raters=160, per_cell=3, sd=TRUTH)
    fit = fit_variance_components(frame, response="score", random=FOUR, fixed=["x"], ci=None)
    return frame, eff, fit


# -- known truth --------------------------------------------------------------------------


def test_known_truth_is_recovered(big):
    frame, _, fit = big
    comps = fit.components.set_index("component")["variance"]
    truth = {
        "ratee": TRUTH["ratee"] ** 2,
        "rater": TRUTH["rater"] ** 2,
        "ratee:source": TRUTH["cell"] ** 2,
        "residual": TRUTH["resid"] ** 2,
    }
    for name, true in truth.items():
        assert comps[name] == pytest.approx(true, rel=0.25), (name, comps[name], true)
    # Four sources cannot pin a variance down; it only has to be of the right order.
    assert 0.02 < comps["source"] < 1.5, comps["source"]
    slope = fit.fixed_effects.set_index("term").loc["x"]
    assert abs(slope["estimate"] - 0.5) < 3 * slope["se"], slope
    assert fit.converged
    assert fit.n_obs == len(frame)
    assert fit.n_groups == {"ratee": 220, "rater": 160, "source": 4, "ratee:source": 880}
    assert list(fit.components["component"]) == [*fit.n_groups, "residual"]
    assert fit.components["share"].sum() == pytest.approx(1.0)
    assert fit.residual_variance == pytest.approx(comps["residual"])
    assert np.isnan(fit.components["ci_low"]).all()


def test_dense_and_elimination_paths_agree(big, monkeypatch):
    frame, _, fit = big
    monkeypatch.setattr(reml, "DENSE_LIMIT", 0)
    fit_e = fit_variance_components(frame, response="score", random=FOUR, fixed=["x"], ci=None)
    assert fit_e.reml_criterion == pytest.approx(fit.reml_criterion, abs=1e-6)
    np.testing.assert_allclose(fit_e.components["variance"], fit.components["variance"], rtol=1e-5)
    for name in fit.n_groups:
        a, b = fit.conditional_modes(name), fit_e.conditional_modes(name)
        np.testing.assert_allclose(a["estimate"], b["estimate"], atol=1e-6)
        np.testing.assert_allclose(a["se"], b["se"], rtol=1e-6)


def test_raters_within_work_units_are_eliminated_by_blocks(monkeypatch):
    # Raters who only rate within their work unit: the rater block splits into one small
    # block per unit, eliminated exactly; the result must equal the all-dense fit.
    frame, _ = simulate(seed=9, n_ratees=120, n_raters=120, per_cell=2, sd=TRUTH)
    rng = np.random.default_rng(9)
    frame["rater"] = (frame["ratee"] // 10) * 10 + rng.integers(0, 10, len(frame))
    codes = [pd.factorize(frame[c], sort=True)[0] for c in ("ratee", "rater", "source")]
    codes.append(pd.factorize(frame["ratee"] * 4 + frame["source"], sort=True)[0])
    x = np.column_stack([np.ones(len(frame)), frame["x"]])
    levels = [int(c.max()) + 1 for c in codes]
    problem = REMLProblem(codes, levels, x, frame["score"].to_numpy(), strategy="eliminate")
    assert problem.eliminated == [3, 0, 1]  # ratee:source, ratee, then raters by blocks
    assert problem.dense_rows == 4 + 2 + 1  # source, X and y
    theta = np.array([1.1, 0.8, 0.5, 0.4])
    grad = problem.deviance_gradient(problem.evaluate(theta))
    fd = []
    for k in range(4):
        step = np.eye(4)[k] * 1e-6
        up = problem.deviance(problem.evaluate(theta + step, gradient=False))
        down = problem.deviance(problem.evaluate(theta - step, gradient=False))
        fd.append((up - down) / 2e-6)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-4)

    fit = fit_variance_components(frame, response="score", random=FOUR, fixed=["x"], ci=None)
    monkeypatch.setattr(reml, "DENSE_LIMIT", 10**6)
    dense = fit_variance_components(frame, response="score", random=FOUR, fixed=["x"], ci=None)
    assert fit.reml_criterion == pytest.approx(dense.reml_criterion, abs=1e-6)
    np.testing.assert_allclose(fit.components["variance"], dense.components["variance"], rtol=1e-6)
    for name in fit.n_groups:
        a, b = fit.conditional_modes(name), dense.conditional_modes(name)
        assert list(a["level"]) == list(b["level"])
        np.testing.assert_allclose(a["estimate"], b["estimate"], atol=1e-7)
        np.testing.assert_allclose(a["se"], b["se"], rtol=1e-6)


def test_analytic_gradient_matches_finite_differences(big):
    frame, _, _ = big
    codes = [pd.factorize(frame[c])[0] for c in ("ratee", "rater", "source")]
    codes.append(pd.factorize(frame["ratee"] * 4 + frame["source"])[0])
    levels = [int(c.max()) + 1 for c in codes]
    x = np.column_stack([np.ones(len(frame)), frame["x"]])
    y = frame["score"].to_numpy()
    theta = np.array([1.1, 0.8, 0.5, 0.4])
    for strategy in ("dense", "eliminate"):
        problem = REMLProblem(codes, levels, x, y, strategy=strategy)
        grad = problem.deviance_gradient(problem.evaluate(theta))
        h = 1e-6
        fd = []
        for k in range(4):
            step = np.eye(4)[k] * h
            up = problem.deviance(problem.evaluate(theta + step, gradient=False))
            down = problem.deviance(problem.evaluate(theta - step, gradient=False))
            fd.append((up - down) / (2 * h))
        np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-4, err_msg=strategy)


# -- statsmodels -------------------------------------------------------------------------------


def test_agrees_with_statsmodels_mixedlm():
    import statsmodels.formula.api as smf

    frame, _ = simulate(
        seed=3, n_ratees=40, n_raters=30, per_cell=3, sd={**TRUTH, "cell": 0.0}, n_sources=4
    )
    frame = frame.iloc[:420].copy()
    fit = fit_variance_components(
        frame, response="score", random=["ratee", "rater", "source"], fixed=["x"], ci=None
    )
    frame["all"] = 1
    model = smf.mixedlm(
        "score ~ x",
        frame,
        groups="all",
        re_formula="0",
        vc_formula={
            "ratee": "0 + C(ratee)",
            "rater": "0 + C(rater)",
            "source": "0 + C(source)",
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.fit(reml=True, method=["lbfgs"])
    # statsmodels orders variance components by name: ratee, rater, source.
    ours = fit.components.set_index("component")["variance"]
    theirs = dict(zip(model.exog_vc.names, result.vcomp, strict=True))
    # statsmodels stops its optimiser earlier than we do (and lme4): 3 significant digits.
    for name in ("ratee", "rater", "source"):
        assert ours[name] == pytest.approx(theirs[name], rel=2e-3), name
    assert ours["residual"] == pytest.approx(result.scale, rel=2e-3)
    fe = fit.fixed_effects.set_index("term")
    assert fe.loc["x", "estimate"] == pytest.approx(result.fe_params["x"], rel=1e-3)
    assert fe.loc["x", "se"] == pytest.approx(result.bse_fe["x"], rel=2e-3)
    # Same REML log-likelihood definition; ours is the lower (better) minimum.
    assert fit.reml_criterion == pytest.approx(-2 * result.llf, abs=1e-3)
    assert fit.reml_criterion <= -2 * result.llf + 1e-8


# -- lme4 (stored references, see benchmarks/lme4_check.R) ------------------------------------


CASES = json.loads((REFERENCE / "cases.json").read_text())


@pytest.mark.parametrize("strategy", ["dense", "eliminate"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_agrees_with_lme4(case, strategy, monkeypatch):
    spec = CASES[case]
    ref = json.loads((REFERENCE / f"{case}.lme4.json").read_text())
    if strategy == "eliminate":
        monkeypatch.setattr(reml, "DENSE_LIMIT", 0)
    frame = pd.read_csv(REFERENCE / spec["csv"])
    random = [tuple(r) if isinstance(r, list) else r for r in spec["random"]]
    fit = fit_variance_components(
        frame, response=spec["response"], random=random, fixed=spec["fixed"], ci=None
    )
    assert fit.converged
    assert fit.n_obs == ref["n_obs"]
    assert fit.reml_criterion == pytest.approx(ref["reml_criterion"], abs=1e-6)
    ours = fit.components.set_index("component")
    total = ours["variance"].sum()
    for comp in ref["components"]:
        # 4 significant digits; a variance on the boundary (0) to 1e-6 of the total.
        assert ours.loc[comp["component"], "variance"] == pytest.approx(
            comp["variance"], rel=1e-4, abs=1e-6 * total
        ), comp
    assert len(fit.fixed_effects) == len(ref["fixed_effects"])
    for row, theirs in zip(fit.fixed_effects.itertuples(), ref["fixed_effects"], strict=True):
        assert row.term.replace("[T.", "").replace("]", "") == theirs["term"]
        assert row.estimate == pytest.approx(theirs["estimate"], rel=1e-4, abs=1e-6), row
        assert row.se == pytest.approx(theirs["se"], rel=1e-4), row
    for factor, theirs in ref["conditional_modes"].items():
        modes = fit.conditional_modes(factor)
        assert [str(v) for v in modes["level"]] == theirs["level"]
        scale = math.sqrt(total)
        np.testing.assert_allclose(modes["estimate"], theirs["estimate"], atol=1e-4 * scale)
        np.testing.assert_allclose(modes["se"], theirs["se"], rtol=1e-4, atol=1e-6 * scale)


# -- interval coverage -------------------------------------------------------------------------


def test_profile_intervals_cover_at_about_the_nominal_rate():
    true = {"ratee": 0.6**2, "rater": 0.5**2, "residual": 0.7**2}
    hits = []
    for seed in range(100):
        frame, _ = simulate(
            seed=1000 + seed,
            n_ratees=24,
            n_raters=20,
            per_cell=2,
            n_sources=3,
            sd={"ratee": 0.6, "rater": 0.5, "resid": 0.7},
        )
        fit = fit_variance_components(
            frame, response="score", random=["ratee", "rater"], fixed=["x"]
        )
        comps = fit.components.set_index("component")
        for name, value in true.items():
            assert comps.loc[name, "ci_low"] <= comps.loc[name, "variance"]
            assert comps.loc[name, "variance"] <= comps.loc[name, "ci_high"]
            hits.append(comps.loc[name, "ci_low"] <= value <= comps.loc[name, "ci_high"])
    rate = float(np.mean(hits))
    # Binomial Monte-Carlo error of a coverage estimate from n intervals around the nominal
    # 0.95 (the three intervals of one fit are counted as independent); two-sided 0.1 %.
    n, nominal, z = len(hits), 0.95, 3.29
    half = z * math.sqrt(nominal * (1 - nominal) / n)
    assert nominal - half <= rate <= nominal + half, (rate, n, nominal - half, nominal + half)


def test_profile_endpoints_are_where_the_reml_profile_crosses_chi2():
    # The fast secant/Newton search against a brute-force profile: a generic optimiser
    # from several starts over every other parameter, sigma_c held at the endpoint.
    from scipy import optimize, stats

    spec = CASES["crossed4"]
    frame = pd.read_csv(REFERENCE / spec["csv"])
    fit = fit_variance_components(frame, response="score", random=FOUR, fixed=["tenure_years"])
    codes = [pd.factorize(frame[c], sort=True)[0] for c in ("ratee", "rater", "source")]
    codes.append(pd.factorize(frame["ratee"] + ":" + frame["source"], sort=True)[0])
    x = np.column_stack([np.ones(len(frame)), frame["tenure_years"]])
    problem = REMLProblem(codes, [int(c.max()) + 1 for c in codes], x, frame["score"].to_numpy())
    dof = len(frame) - 2
    crit = stats.chi2.ppf(0.95, 1)

    def profile(c: int, v: float) -> float:
        def neg2ll(z):
            s = math.exp(z[-1])
            theta = np.insert(z[:-1], c, v / math.sqrt(s)) if c < 4 else z[:-1]
            if c == 4:
                s = v**2
            ev = problem.evaluate(theta, gradient=False)
            return ev.logdet_mx + dof * math.log(2 * math.pi * s) + ev.r2 / s

        best = math.inf
        for scale in (0.5, 1.0, 2.0):
            z0 = np.append(np.delete(np.array(fit.theta), c) if c < 4 else fit.theta, 0.0)
            z0[:-1] *= scale
            z0[-1] = math.log(fit.residual_variance)
            res = optimize.minimize(
                neg2ll,
                z0,
                method="Nelder-Mead",
                options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000},
            )
            best = min(best, res.fun)
        return best

    for c, row in enumerate(fit.components.itertuples()):
        for end in (row.ci_low, row.ci_high):
            excess = profile(c, math.sqrt(end)) - fit.reml_criterion
            if end == 0.0:
                assert excess <= crit, (row.component, excess)
            else:
                assert excess == pytest.approx(crit, abs=2e-3), (row.component, end, excess)


def test_bootstrap_intervals_are_reproducible_and_bracket_the_estimates():
    frame, _ = simulate(
        seed=5,
        n_ratees=20,
        n_raters=15,
        per_cell=2,
        n_sources=3,
        sd={"ratee": 0.6, "rater": 0.5, "resid": 0.7},
    )
    kwargs = {"response": "score", "random": ["ratee", "rater"], "fixed": ["x"], "ci": "bootstrap"}
    a = fit_variance_components(frame, n_boot=40, rng=np.random.default_rng(1), **kwargs)
    b = fit_variance_components(frame, n_boot=40, rng=np.random.default_rng(1), **kwargs)
    pd.testing.assert_frame_equal(a.components, b.components)
    comps = a.components
    assert (comps["ci_low"] <= comps["ci_high"]).all()
    assert (comps["ci_high"] > 0).all()
    assert a.ci == "bootstrap"


def _reference_problem(case: str) -> tuple[REMLProblem, dict]:
    spec = CASES[case]
    frame = pd.read_csv(REFERENCE / spec["csv"])
    random = [tuple(r) if isinstance(r, list) else r for r in spec["random"]]
    design = _design(frame, response=spec["response"], random=random, fixed=spec["fixed"])
    problem = REMLProblem(design.codes, [len(lab) for lab in design.labels], design.x, design.y)
    return problem, json.loads((REFERENCE / f"{case}.lme4.json").read_text())


@pytest.mark.parametrize("start", ["zeros", "ratee at 0", "ratee at 1e-8", "all at 1e-8"])
def test_a_component_started_at_zero_leaves_it(start):
    # crossed4: every component clearly positive (lme4 REMLcrit 1136.78). theta = 0 is a
    # stationary point of the even criterion; a Newton step from there used to be 0.
    problem, ref = _reference_problem("crossed4")
    theta0 = reml.start_theta(problem)
    if start == "zeros":
        theta0[:] = 0.0
    elif start == "ratee at 0":
        theta0[0] = 0.0
    elif start == "ratee at 1e-8":
        theta0[0] = 1e-8
    else:
        theta0[:] = 1e-8
    opt = reml.optimize_theta(problem, theta0)
    assert opt.converged, opt.message
    assert opt.deviance == pytest.approx(ref["reml_criterion"], abs=1e-6), (start, opt.theta)
    assert (opt.theta > 0.1).all(), opt.theta


def test_a_restart_from_a_boundary_fit_finds_a_positive_component():
    # The parametric bootstrap restarts from the fit. On the lme4 boundary case the source
    # variance is ~0; a data set drawn with a clearly positive source variance must not
    # keep it at 0 because the start did.
    problem, ref = _reference_problem("boundary")
    fitted = reml.optimize_theta(problem, reml.start_theta(problem))
    assert fitted.deviance == pytest.approx(ref["reml_criterion"], abs=1e-6)
    assert fitted.theta[2] < 1e-3 and ref["theta"][2] < 1e-3
    rng = np.random.default_rng(3)
    y = problem._x @ fitted.evaluation.beta + rng.standard_normal(problem.n_obs)
    for k, c in enumerate(problem._codes):
        sd = [0.8, 0.6, 1.5][k]
        y = y + sd * rng.standard_normal(problem.n_levels[k])[c]
    boot = REMLProblem(problem._codes, problem.n_levels, problem._x, y)
    cold = reml.optimize_theta(boot, reml.start_theta(boot))
    # From the fit as it is (~1e-7) and as a fit on the boundary reports it (exactly 0).
    for start in (fitted.theta, np.append(fitted.theta[:2], 0.0)):
        warm = reml.optimize_theta(boot, start)
        assert warm.deviance == pytest.approx(cold.deviance, abs=1e-6), (start, warm.theta)
        assert warm.theta[2] > 0.3, warm.theta


# -- conditional modes --------------------------------------------------------------------------


def test_conditional_modes_track_true_effects_and_ses_shrink_with_ratings():
    weights = np.linspace(1.0, 8.0, 120)
    frame, eff = simulate(
        seed=21,
        n_ratees=150,
        n_raters=120,
        per_cell=2,
        sd=TRUTH,
        rater_weights=weights / weights.sum(),
    )
    fit = fit_variance_components(frame, response="score", random=FOUR, fixed=["x"], ci=None)
    for factor in ("ratee", "rater"):
        modes = fit.conditional_modes(factor)
        true = eff[factor][modes["level"].to_numpy()]
        r = np.corrcoef(modes["estimate"], true)[0, 1]
        assert r > 0.85, (factor, r)
        assert (modes["se"] > 0).all()
    raters = fit.conditional_modes("rater")
    counts = frame["rater"].value_counts().reindex(raters["level"]).to_numpy()
    rho = pd.Series(counts).corr(pd.Series(raters["se"].to_numpy()), method="spearman")
    assert rho < -0.9, rho
    few, many = counts < np.quantile(counts, 0.25), counts > np.quantile(counts, 0.75)
    assert raters["se"][many].mean() < raters["se"][few].mean()
    cells = fit.conditional_modes("ratee:source")
    assert cells["level"].iloc[0] == "0:0"
    with pytest.raises(ConfigError, match="unknown factor 'nope'"):
        fit.conditional_modes("nope")


# -- results -----------------------------------------------------------------------------------


def test_icc_and_to_dict(big):
    _, _, fit = big
    comps = fit.components.set_index("component")["variance"]
    total = comps.sum()
    assert icc(fit, "ratee") == pytest.approx(comps["ratee"] / total)
    k5 = comps["ratee"] / (comps["ratee"] + (total - comps["ratee"]) / 5)
    assert icc(fit, "ratee", k=5) == pytest.approx(k5)
    assert icc(fit, "ratee", k=5) > icc(fit, "ratee")
    with pytest.raises(ConfigError, match="unknown factor 'residual'"):
        icc(fit, "residual")
    with pytest.raises(ConfigError, match="k must be a number >= 1"):
        icc(fit, "ratee", k=0)
    assert icc(fit, "ratee", k=4) < icc(fit, "ratee", k=4.5) < icc(fit, "ratee", k=5)
    d = json.loads(json.dumps(fit.to_dict()))
    assert d["n_groups"]["ratee:source"] == 880
    assert d["components"][-1]["component"] == "residual"
    assert d["components"][-1]["n_levels"] is None
    assert d["reml_criterion"] == pytest.approx(fit.reml_criterion)
    assert isinstance(fit, VarianceFit)


# -- bad input ---------------------------------------------------------------------------------


def _small() -> pd.DataFrame:
    frame, _ = simulate(
        seed=2,
        n_ratees=6,
        n_raters=5,
        per_cell=2,
        n_sources=2,
        sd={"ratee": 0.5, "rater": 0.5, "resid": 0.5},
    )
    frame["grade"] = np.where(frame.index % 2 == 0, "II", "III")
    return frame


def _with(column: str, values) -> pd.DataFrame:
    frame = _small()
    frame[column] = values
    return frame


BAD = [
    ("missing response", lambda: (_small(), {"response": "nilai"}), "response column 'nilai'"),
    ("text response", lambda: (_with("score", "baik"), {}), "'score' must be numeric"),
    ("nan response", lambda: (_with("score", np.nan), {}), "'score' has 24 missing"),
    ("inf response", lambda: (_with("score", np.inf), {}), "non-finite"),
    ("missing random", lambda: (_small(), {"random": ["penilai"]}), "random column 'penilai'"),
    ("empty random", lambda: (_small(), {"random": []}), "at least one grouping column"),
    ("one level", lambda: (_with("rater", 1), {}), "'rater' has a single level"),
    ("nan group", lambda: (_with("rater", np.nan), {}), "'rater' has 24 missing"),
    (
        "level per rating",
        lambda: (_with("rater", np.arange(24)), {}),
        "'rater' has one level per rating",
    ),
    ("missing fixed", lambda: (_small(), {"fixed": ["umur"]}), "fixed column 'umur'"),
    ("nan fixed", lambda: (_with("x", np.nan), {"fixed": ["x"]}), "'x' has missing"),
    ("constant fixed", lambda: (_with("x", 2.0), {"fixed": ["x"]}), "'x' has a single value"),
    ("one-valued category", lambda: (_with("grade", "II"), {"fixed": ["grade"]}), "single value"),
    ("bad ci", lambda: (_small(), {"ci": "wald"}), "ci must be one of"),
    ("bad level", lambda: (_small(), {"level": 95}), "level must be a number"),
    ("bootstrap without rng", lambda: (_small(), {"ci": "bootstrap"}), "needs rng"),
    ("not a frame", lambda: ([1, 2], {}), "data must be a pandas DataFrame"),
    (
        "too few ratings",
        lambda: (_small().iloc[:6], {"fixed": ["x", "grade"]}),
        "ratings for",
    ),
]


def test_crossed_factors_too_large_for_memory_raise_config_error(monkeypatch):
    monkeypatch.setattr(reml, "DENSE_LIMIT", 0)
    monkeypatch.setattr(reml, "MAX_DENSE_ROWS", 4)
    with pytest.raises(ConfigError, match="random factors 'rater' are crossed") as info:
        fit_variance_components(_small(), response="score", random=["ratee", "rater"], ci=None)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("label", "make", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_one_line_config_error(label, make, match):
    data, overrides = make()
    kwargs = {"response": "score", "random": ["ratee", "rater"], "ci": None, **overrides}
    with pytest.raises(ConfigError, match=match) as info:
        fit_variance_components(data, **kwargs)
    assert "\n" not in str(info.value)
