"""``simlib ratings analyze``: interval methods, interactions of any columns, and the profile
intervals against lme4 (stored references, see benchmarks/lme4_check.R)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import simlib.analysis.reml as reml
from simlib.analysis import fit_variance_components
from simlib.analysis.intervals import _Profiler, profile_intervals
from simlib.analysis.reml import REMLProblem, optimize_theta, start_theta
from simlib.analysis.variance import _design
from simlib.cli.main import main

REFERENCE = Path(__file__).parent / "reference"
CASES = json.loads((REFERENCE / "cases.json").read_text())
#: The tolerance of tests/test_variance.py's brute-force check: a profile endpoint is where
#: the profiled deviance exceeds its minimum by chi2_1(0.95), to 2e-3.
DEVIANCE_TOL = 2e-3
CHI2 = float(stats.chi2.ppf(0.95, 1))


@pytest.fixture(scope="module")
def csv(tmp_path_factory) -> Path:
    """Ratings of 48 ratees by 30 raters with a department x service effect, the cell also
    written out by hand as one column (``dept_service``)."""
    rng = np.random.default_rng(11)
    n_ratees, n_raters, per = 48, 30, 6
    ratee = np.repeat(np.arange(n_ratees), per)
    rater = rng.integers(0, n_raters, len(ratee))
    dept = np.array(["finance", "health", "roads", "schools"])[ratee % 4]
    service = np.array(["front", "back"])[(ratee // 4) % 2]
    cell = pd.factorize(pd.Series(dept) + "|" + service)[0]
    score = (
        3.0
        + rng.normal(0, 0.6, n_ratees)[ratee]
        + rng.normal(0, 0.4, n_raters)[rater]
        + rng.normal(0, 0.5, 8)[cell]
        + rng.normal(0, 0.7, len(ratee))
    )
    frame = pd.DataFrame(
        {
            "who": [f"E{i:03d}" for i in ratee],
            "by": [f"R{j:03d}" for j in rater],
            "nilai": score.round(3),
            "dept": dept,
            "service": service,
            "dept_service": [f"{d}/{s}" for d, s in zip(dept, service, strict=True)],
        }
    )
    path = tmp_path_factory.mktemp("analyze") / "ratings.csv"
    frame.to_csv(path, index=False)
    return path


def analyze(csv: Path, capsys, *extra: str) -> tuple[int, str, str]:
    status = main(["ratings", "analyze", str(csv), "--ratee", "who", "--rater", "by",
                   "--score", "nilai", *extra])  # fmt: skip
    out, err = capsys.readouterr()
    return status, out, err


def report(csv: Path, capsys, *extra: str) -> dict:
    status, out, err = analyze(csv, capsys, *extra, "--json")
    assert status == 0, err
    return json.loads(out)


def components(rep: dict) -> dict[str, dict]:
    return {c["component"]: c for c in rep["components"]}


# -- --ci -------------------------------------------------------------------------------------


def test_ci_none_gives_estimates_without_intervals(csv, capsys):
    rep = report(csv, capsys, "--factor", "dept", "--ci", "none")
    assert rep["ci"] is None and rep["ci_evaluations"] == 0
    assert all(c["ci_low"] is None and c["ci_high"] is None for c in rep["components"])
    default = report(csv, capsys, "--factor", "dept")
    assert default["ci"] == "profile" and default["ci_evaluations"] > 0
    for name, comp in components(default).items():
        assert comp["variance"] == components(rep)[name]["variance"], name
        assert comp["ci_low"] <= comp["variance"] <= comp["ci_high"], comp
    status, out, _ = analyze(csv, capsys, "--factor", "dept", "--ci", "none")
    assert status == 0 and "no intervals: --ci none" in out


def test_ci_bootstrap_states_resamples_and_seed_and_is_reproducible(csv, capsys):
    args = ("--factor", "dept", "--ci", "bootstrap", "--n-boot", "20", "--seed", "5")
    first = report(csv, capsys, *args)
    assert first["ci"] == "bootstrap" and first["n_boot"] == 20 and first["seed"] == 5
    assert report(csv, capsys, *args) == first
    other = report(csv, capsys, *args[:-1], "6")
    assert [c["ci_low"] for c in other["components"]] != [c["ci_low"] for c in first["components"]]
    for comp in first["components"]:
        assert 0 <= comp["ci_low"] <= comp["ci_high"], comp
    status, out, _ = analyze(csv, capsys, *args)
    assert status == 0
    assert "parametric-bootstrap percentile intervals, 20 resamples, seed 5" in out


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (("--seed", "3"), "--seed: only the bootstrap uses it; allowed: with --ci bootstrap"),
        (("--ci", "none", "--n-boot", "50"), "--n-boot: only the bootstrap uses it"),
        (("--ci", "bootstrap", "--n-boot", "1"), "argument --n-boot: 1 is out of range"),
        (("--ci", "wald"), "argument --ci: invalid choice: 'wald'"),
    ],
)
def test_ci_options_refused_with_one_line(csv, capsys, extra, match):
    try:
        status, _, err = analyze(csv, capsys, *extra)
    except SystemExit as exc:  # argparse's own errors
        status, err = exc.code, capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1, err
    assert match in err, err


# -- interactions of any columns --------------------------------------------------------------


def test_interaction_of_columns_equals_a_hand_made_column(csv, capsys):
    built = report(csv, capsys, "--factor", "dept:service")
    by_hand = report(csv, capsys, "--factor", "dept_service")
    a, b = components(built), components(by_hand)
    assert list(a) == ["ratee", "rater", "dept:service", "residual"]
    assert built["n_groups"]["dept:service"] == by_hand["n_groups"]["dept_service"] == 8
    # The same design with the levels in another order: equal to the fit's own precision
    # (the lme4 comparison of tests/test_variance.py asks 1e-4 of independent software).
    assert built["reml_criterion"] == pytest.approx(by_hand["reml_criterion"], abs=1e-8)
    for name, other in zip(a, b, strict=True):
        for key in ("variance", "ci_low", "ci_high"):
            assert a[name][key] == pytest.approx(b[other][key], rel=1e-6), (name, key)
    # A column named only in an interaction is not fitted on its own.
    assert "dept" not in a and "service" not in a


def test_interaction_with_a_role_and_a_plain_factor(csv, capsys):
    rep = report(csv, capsys, "--factor", "dept", "--factor", "by:dept", "--ci", "none")
    assert list(components(rep)) == ["ratee", "rater", "dept", "rater:dept", "residual"]


@pytest.mark.parametrize(
    ("factor", "match"),
    [
        ("dept:nosuch", "--factor: interaction 'dept:nosuch': no column 'nosuch'; allowed:"),
        ("dept:", "--factor: interaction 'dept:': an empty name; allowed:"),
        ("nosuch", "--factor: no column 'nosuch'; allowed: one of"),
    ],
)
def test_bad_factor_names_are_one_line_naming_the_file_and_the_columns(csv, capsys, factor, match):
    status, out, err = analyze(csv, capsys, "--factor", factor)
    assert status == 2 and out == ""
    assert err.count("\n") == 1, err
    assert f"simlib: error: {csv}: {match}" in err, err
    assert "dept" in err.split("allowed:")[1] and "service" in err.split("allowed:")[1], err


# -- profile intervals against lme4 -----------------------------------------------------------


def _problem(case: str):
    spec = CASES[case]
    frame = pd.read_csv(REFERENCE / spec["csv"])
    random = [tuple(r) if isinstance(r, list) else r for r in spec["random"]]
    design = _design(frame, response=spec["response"], random=random, fixed=spec["fixed"])
    problem = REMLProblem(design.codes, [len(lab) for lab in design.labels], design.x, design.y)
    return problem, [*design.names, "residual"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_ml_profile_intervals_are_lme4s(case):
    # lme4's confint(method = "profile") profiles the ML deviance around the ML fit, even
    # for a REML fit; criterion="ml" runs the same endpoint search on that deviance. Both
    # lme4's ends (spline-interpolated) and ours must be where the ML profile, minimised
    # here from scratch at each end, crosses chi2_1(0.95).
    problem, names = _problem(case)
    ref = json.loads((REFERENCE / f"{case}.lme4.json").read_text())
    with problem.blas_threads():
        opt = optimize_theta(problem, start_theta(problem))
        ours = profile_intervals(problem, opt, 0.95, criterion="ml")
        prof = _Profiler(problem, "ml")
        s_hat = opt.evaluation.r2 / (problem.n_obs - problem.n_fixed)
        d_ml, phi_ml, _ = prof.minimise(np.append(opt.theta**2 * s_hat, s_hat), None)

        def excess(c: int, sd: float) -> float:
            phi = phi_ml.copy()
            phi[c] = sd**2
            return prof.minimise(phi, c)[0] - d_ml

        for interval in ref["profile_intervals"]:
            c = names.index(interval["component"])
            for end, theirs in (("low", interval["sd_low"]), ("high", interval["sd_high"])):
                mine = math.sqrt(getattr(ours, end)[c])
                if theirs == 0.0:
                    assert mine == 0.0, (interval["component"], end, mine)
                    assert excess(c, 0.0) <= CHI2
                    continue
                for who, sd in (("lme4", theirs), ("ours", mine)):
                    assert excess(c, sd) == pytest.approx(CHI2, abs=DEVIANCE_TOL), (
                        interval["component"],
                        end,
                        who,
                        sd,
                    )


def test_reml_profile_on_a_boundary_fit_crosses_chi2():
    # The source variance of the "boundary" case is ~0 (lme4: sd 1.5e-8). Profiling the
    # other components must let it leave 0 or stay there; a brute-force profile (a generic
    # optimiser over every other parameter, from several starts) checks each end.
    problem, names = _problem("boundary")
    opt = optimize_theta(problem, start_theta(problem))
    fit = profile_intervals(problem, opt, 0.95)
    k, dof = problem.n_factors, problem.n_obs - problem.n_fixed
    s_hat = opt.evaluation.r2 / dof

    def profile(c: int, v: float) -> float:
        def neg2ll(z):
            s = math.exp(z[-1])
            theta = np.insert(z[:-1], c, v / math.sqrt(s)) if c < k else z[:-1]
            if c == k:
                s = v**2
            ev = problem.evaluate(np.abs(theta), gradient=False)
            return ev.logdet_mx + dof * math.log(2 * math.pi * s) + ev.r2 / s

        best = math.inf
        for scale in (0.5, 1.0, 2.0):
            z0 = np.append(np.delete(opt.theta, c) if c < k else opt.theta.copy(), 0.0)
            z0[:-1] = np.maximum(z0[:-1], 0.05) * scale
            z0[-1] = math.log(s_hat)
            res = optimize.minimize(
                neg2ll, z0, method="Nelder-Mead",
                options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000},
            )  # fmt: skip
            best = min(best, res.fun)
        return best

    assert fit.low[2] == 0.0, "the source interval reaches 0"
    for c, name in enumerate(names):
        for end in (fit.low[c], fit.high[c]):
            if end == 0.0:
                continue
            got = profile(c, math.sqrt(end)) - opt.deviance
            assert got == pytest.approx(CHI2, abs=DEVIANCE_TOL), (name, end, got)


def test_newton_and_nested_searches_find_the_same_ends():
    problem, names = _problem("crossed_units")
    opt = optimize_theta(problem, start_theta(problem))
    fast = profile_intervals(problem, opt, 0.95)
    slow = profile_intervals(problem, opt, 0.95, method="nested")
    assert fast.n_evaluations < slow.n_evaluations
    # Both stop within 1e-4 of zeta's target, zeta running over 2 x 1.96 across the
    # interval and nearly linear in the sd: each end within about 1e-4 of the width.
    for c, name in enumerate(names):
        width = math.sqrt(fast.high[c]) - math.sqrt(fast.low[c])
        for end in ("low", "high"):
            mine, theirs = math.sqrt(getattr(fast, end)[c]), math.sqrt(getattr(slow, end)[c])
            assert abs(mine - theirs) <= 1e-4 * width, (name, end, mine, theirs)


# -- the bootstrap's keyed draws --------------------------------------------------------------


def test_bootstrap_draws_are_keyed_by_level_not_by_the_linear_algebra(monkeypatch):
    spec = CASES["crossed4"]
    frame = pd.read_csv(REFERENCE / spec["csv"]).iloc[:300]
    kwargs = {"response": "score", "random": ["ratee", "rater"], "fixed": spec["fixed"]}
    dense = fit_variance_components(frame, ci="bootstrap", n_boot=12, seed=9, **kwargs)
    monkeypatch.setattr(reml, "DENSE_LIMIT", 0)
    eliminated = fit_variance_components(frame, ci="bootstrap", n_boot=12, seed=9, **kwargs)
    # Same resamples, refitted along another path: equal to the fits' precision.
    np.testing.assert_allclose(
        eliminated.components[["ci_low", "ci_high"]], dense.components[["ci_low", "ci_high"]],
        rtol=1e-5,
    )  # fmt: skip
    assert dense.seed == 9 and dense.n_boot == 12 and dense.ci_evaluations > 12
