"""Calibration targets as data, and ``simlib calibrate`` (simlib.experiment.calibration)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import simlib
from simlib.cli.main import main
from simlib.core.errors import ConfigError
from simlib.core.paths import DATA, POLICIES, SCENARIOS
from simlib.experiment.calibration import (
    CandidateCache,
    calibrate,
    evaluate,
    load_targets,
    peer_variance_shares,
    plan_calibration,
)
from simlib.rules.raters import SOURCES, RatingTable

CALIBRATION = DATA / "calibration"
TARGET_FILES = sorted(p for p in CALIBRATION.glob("*.yaml") if "targets" in yaml.safe_load(
    p.read_text()))  # fmt: skip
PREDIKAT = CALIBRATION / "predikat_national.yaml"


def tiny_scenario(folder: Path, *, employees: int = 150, months: int = 12) -> Path:
    """The default district, shrunk, written as a scenario file (absolute policy path)."""
    raw = yaml.safe_load((SCENARIOS / "district_health_office.yaml").read_text())
    raw["calendar"]["horizon_months"]["value"] = months
    for key, value in (("employees", employees), ("units", 5), ("subunits_per_unit", 1)):
        raw["agencies"][0]["structure"][key]["value"] = value
    raw["baseline_policy"] = str((SCENARIOS / raw["baseline_policy"]).resolve())
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def write_targets(folder: Path, targets: list[dict], name: str = "targets.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump({"name": "test", "description": "test targets",
                                    "targets": targets}, sort_keys=False))  # fmt: skip
    return path


def leaf(value: float, unit: str = "share") -> dict:
    return {"value": value, "unit": unit, "source": "test"}


SHARE_TARGETS = {
    "sb": {"outcome": "share_sangat_baik", "period_kind": "year"},
    "baik": {"outcome": "share_baik", "period_kind": "year"},
    "below": {"outcome": ["share_butuh_perbaikan", "share_kurang", "share_sangat_kurang"],
              "period_kind": "year"},
}  # fmt: skip


# -- target files ----------------------------------------------------------------------


@pytest.mark.parametrize("path", TARGET_FILES, ids=lambda p: p.name)
def test_shipped_target_files_validate(path):
    tf = load_targets(path)
    assert tf.targets
    for i, target in enumerate(tf.targets):
        assert target.status in {"V", "P", "M"}
        assert tf.source(i).strip() and tf.unit(i).strip(), target.name
        assert tf.docs[f"targets[{i}].tolerance"].source.strip(), target.name


def test_the_issue_targets_ship():
    names = {t.name for p in TARGET_FILES for t in load_targets(p).targets}
    assert {"share_sangat_baik", "share_baik", "share_below_baik", "retirement_rate",
            "voluntary_exit_rate", "reliability_supervisor", "reliability_peer",
            "reliability_subordinate", "peer_share_rater", "peer_share_ratee",
            "self_leniency_d"} <= names  # fmt: skip
    below = next(t for t in load_targets(PREDIKAT).targets if t.name == "share_below_baik")
    assert below.observed == pytest.approx(0.0027) and below.status == "P"


def test_the_rater_lab_variant_applies_to_both_baselines():
    variant = simlib.load_variant(CALIBRATION / "rater_lab_360.yaml")
    for base in ("baseline_central.yaml", "baseline_regional.yaml"):
        policy = simlib.apply_variant(simlib.load_policy(POLICIES / base), variant)
        assert policy.appraisal.rater == "multi_source"
        assert policy.incentives.performance_share == 0.0


BAD = [
    ({"statistic": {"function": "reliability.pear"}}, "targets[0].statistic",
     "reliability.peer"),
    ({"statistic": {"outcome": "share_baik"}}, "targets[0].statistic", "period_kind"),
    ({"statistic": {"outcome": "share_baik", "period_kind": "campaign"}},
     "targets[0].statistic", "quarter, year"),
    ({"statistic": {"outcome": "share_bike", "period_kind": "year"}}, "targets[0].statistic",
     "share_baik"),
    ({"status": "X"}, "targets[0].status", "'V', 'P' or 'M'"),
    ({"tolerance": leaf(0.0)}, "targets[0].tolerance", "> 0"),
    ({"tolerance": 0.02}, "targets[0].tolerance", "unit"),
    ({"applies_to": {"variants": ["nope.yaml"]}}, "targets[0].applies_to.variants[0]",
     "not found"),
    ({"colour": "blue"}, "targets[0].colour", "allowed keys"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "where", "allowed"), BAD, ids=[b[1] + b[2] for b in BAD])
def test_bad_target_files_give_one_line(tmp_path, capsys, change, where, allowed):
    target = {"name": "t", "statistic": SHARE_TARGETS["sb"], "observed": leaf(0.1),
              "tolerance": leaf(0.02), "status": "P", **change}  # fmt: skip
    path = write_targets(tmp_path, [target])
    with pytest.raises(ConfigError) as info:
        load_targets(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text and where in text and allowed in text, text
    scenario = tiny_scenario(tmp_path)
    args = ["calibrate", str(scenario), "--targets", str(path), "--free", "raters.leniency_mean"]
    assert main([*args, "--out", str(tmp_path / "out.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and where in err[0], err
    assert not (tmp_path / "out.yaml").exists() and not (tmp_path / "out.cache").exists()


@pytest.mark.parametrize(
    ("free", "said"),
    [
        ("raters.leniency_meen=0:1", "not found"),
        ("raters=0:1", "not a number"),
        ("raters.leniency_mean=1:0", "LOW < HIGH"),
        ("raters.multi_source.residual_sd=-1:1", "residual_sd"),
        ("policy.appraisal.cutof_below=-2:-1", "not found"),
    ],
)
def test_bad_free_parameters_are_refused_before_any_run(tmp_path, capsys, free, said):
    scenario = tiny_scenario(tmp_path)
    args = ["calibrate", str(scenario), "--targets", str(PREDIKAT), "--free", free]
    assert main([*args, "--out", str(tmp_path / "out.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--free" in err[0] and said in err[0], err
    assert not (tmp_path / "out.cache").exists()


# -- statistics ------------------------------------------------------------------------


def test_peer_variance_shares_recover_known_components():
    """A table built from known variance components (T + D, P, L + I, E) gives them back,
    within the Monte-Carlo error of 2,000 ratees measured over five tables."""
    k, n = 7, 2000
    parts = {"ratee": 1.0, "source": 0.3, "rater": 2.0, "residual": 0.7}  # T + D split 0.6 / 0.4
    total = sum(parts.values())
    estimates = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        t, d = rng.normal(0, 0.6**0.5, n), rng.normal(0, 0.4**0.5, (n, k))
        persp = {s: rng.normal(0, parts["source"] ** 0.5, n) for s in ("peer", "supervisor")}
        rows = []
        for source, count in (("supervisor", 1), ("peer", 3)):
            for r in range(count):
                rater = rng.normal(0, parts["rater"] ** 0.5, n)
                e = rng.normal(0, parts["residual"] ** 0.5, (n, k))
                score = t[:, None] + d + persp[source][:, None] + rater[:, None] + e
                rows.append((np.arange(n), np.full(n, r), SOURCES.index(source), score))
        ratee = np.concatenate([np.repeat(a, k) for a, _, _, _ in rows])
        rater = np.concatenate([np.repeat(b, k) for _, b, _, _ in rows])
        source = np.concatenate([np.full(n * k, c) for _, _, c, _ in rows])
        score = np.concatenate([s.ravel() for _, _, _, s in rows])
        dim = np.tile(np.arange(k), len(source) // k)
        table = RatingTable(ratee, rater, source, dim, score, score, score)
        estimates.append(peer_variance_shares(table))
    for part, value in parts.items():
        xs = np.array([e[part] for e in estimates])
        se = xs.std(ddof=1) / np.sqrt(len(xs))
        assert abs(xs.mean() - value / total) < 4 * se + 0.005, (part, xs, value / total)


# -- the objective, the fit, resume ----------------------------------------------------


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Targets made from a run with a known leniency (other seeds than the calibration's)."""
    folder = tmp_path_factory.mktemp("synthetic")
    scenario = tiny_scenario(folder, employees=300)
    truth, reps = 0.6, 8
    raw = yaml.safe_load(scenario.read_text())
    raw["raters"] = {"leniency_mean": {"value": truth, "source": "the known truth"}}
    true_path = folder / "truth.yaml"
    true_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    sc = simlib.load_scenario(true_path)
    policy = simlib.load_policy(sc.resolve(sc.baseline_policy))
    stats = {name: [] for name in SHARE_TARGETS}
    for r in range(reps):
        out = simlib.simulate(sc, policy, seed=99, replication=r).outcomes
        year = out[out.period_kind == "year"]
        for name, spec in SHARE_TARGETS.items():
            names = [spec["outcome"]] if isinstance(spec["outcome"], str) else spec["outcome"]
            stats[name].append(year[year.metric.isin(names)].groupby("t_month").value.sum().mean())
    targets = []
    for name, spec in SHARE_TARGETS.items():
        x = np.array(stats[name])
        # The tolerance is the Monte-Carlo error of the target's own mean.
        se = max(x.std(ddof=1) / np.sqrt(reps), 1e-4)
        targets.append({"name": name, "statistic": spec, "observed": leaf(float(x.mean())),
                        "tolerance": leaf(float(se)), "status": "M"})  # fmt: skip
    return scenario, write_targets(folder, targets), truth


def test_objective_with_common_random_numbers_is_deterministic(synthetic):
    scenario, targets, _ = synthetic
    free = ["raters.leniency_mean=-1:2", "raters.multi_source.residual_sd=0.5:1.0"]
    problem = plan_calibration(scenario, [targets], free, replications=2)
    a, b = evaluate(problem, [0.3, 0.6]), evaluate(problem, [0.3, 0.6])
    assert a.stats == b.stats
    # The supervisor rater ignores the 360 residual: a candidate that moves only that gets
    # the very same statistics, because every candidate runs on the same random numbers.
    c = evaluate(problem, [0.3, 0.9])
    assert c.stats == a.stats
    d = evaluate(problem, [1.2, 0.6])
    assert d.stats["sb"] != a.stats["sb"], (a.stats, d.stats)


@pytest.fixture(scope="module")
def fit(synthetic):
    scenario, targets, _ = synthetic
    problem = plan_calibration(scenario, [targets], ["raters.leniency_mean=-1:2"],
                               replications=4)  # fmt: skip
    return problem, calibrate(problem, design=16, max_evaluations=16)


def test_fit_recovers_a_known_leniency(synthetic, fit):
    _, _, truth = synthetic
    _, result = fit
    lo_hi = result.ranges["raters.leniency_mean"]
    assert lo_hi is not None, result.design
    lo, hi = lo_hi
    best = result.best["raters.leniency_mean"]
    # Design points are 3/16 apart: the set is bracketed by its points, widened by one step.
    step = 3 / 16
    assert lo - step <= truth <= hi + step, (truth, lo, hi)
    assert lo - step <= best <= hi + step, (best, lo, hi)
    assert hi - lo < 1.5, "the targets should narrow the range of 3 to less than half"
    assert result.best_summary["implausibility"] < 3, result.best_summary


def test_resume_reuses_cached_candidates(synthetic, fit, tmp_path):
    problem, uninterrupted = fit
    cache = CandidateCache(tmp_path / "cache")
    done = {"n": 0}

    def stop_after_ten(stage, total):
        def tick():
            done["n"] += 1
            if done["n"] == 10:
                raise KeyboardInterrupt

        return tick

    with pytest.raises(KeyboardInterrupt):
        calibrate(problem, design=16, max_evaluations=16, cache=cache, progress=stop_after_ten)
    stored = len(list((tmp_path / "cache").glob("[0-9a-f]*.json")))
    assert stored == 9 // problem.replications  # whole candidates before the interruption
    again = CandidateCache(tmp_path / "cache")
    resumed = calibrate(problem, design=16, max_evaluations=16, cache=again)
    assert resumed.cached == stored * problem.replications
    assert resumed.simulations == uninterrupted.simulations - stored * problem.replications
    assert resumed.best == uninterrupted.best
    assert resumed.best_summary["objective"] == uninterrupted.best_summary["objective"]


def test_a_foreign_cache_folder_is_refused(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not written by 'simlib calibrate'"):
        CandidateCache(tmp_path / "cache")


# -- the command line ------------------------------------------------------------------


def test_calibrate_cli_end_to_end(tmp_path, capsys):
    scenario = tiny_scenario(tmp_path)
    out = tmp_path / "fit" / "calibrated.yaml"
    args = ["calibrate", str(scenario), "--targets", str(PREDIKAT), "--free",
            "raters.leniency_mean=0:2", "--free", "policy.appraisal.cutoff_below=-3:-1",
            "--replications", "2", "--design", "4", "--max-evaluations", "4", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "share_below_baik" in printed and "non-implausible" in printed
    summary = json.loads((out.parent / "calibrated.calibration.json").read_text())
    assert summary["simulations"] > 0 and len(summary["design"]) == 4
    assert {f["role"] for f in summary["files"]} == {"scenario", "policy", "targets"}
    text = out.read_text()
    assert text.startswith("# Written by simlib calibrate") and "sha256" in text
    calibrated = simlib.load_scenario(out)
    assert calibrated.raters.leniency_mean == pytest.approx(
        summary["best"]["raters.leniency_mean"], rel=1e-5
    )
    assert "calibrated by simlib calibrate" in calibrated.docs["raters.leniency_mean"].source
    variant = simlib.load_variant(out.parent / "calibrated.policy.yaml")
    assert variant.changes["appraisal.cutoff_below"] == pytest.approx(
        summary["best"]["policy.appraisal.cutoff_below"], rel=1e-5
    )
    # Run again: every candidate comes from the cache, the same fit is written.
    assert main(args) == 0
    again = json.loads((out.parent / "calibrated.calibration.json").read_text())
    assert again["simulations"] == 0 and again["best"] == summary["best"]
    capsys.readouterr()
    # A file the command did not write is never overwritten.
    foreign = tmp_path / "mine.yaml"
    foreign.write_text("name: my notes\n")
    assert main([*args[:-1], str(foreign)]) == 2
    assert "not written by 'simlib calibrate'" in capsys.readouterr().err
    assert foreign.read_text() == "name: my notes\n"
