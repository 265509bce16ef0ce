"""Experiment files: loading, designs, plans, common random numbers and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import simlib.experiment.sweep as experiment
from simlib.cli.main import main
from simlib.core.errors import ConfigError
from simlib.core.paths import DATA, ROOT
from simlib.experiment.sweep import design_samples, load_experiment, plan_sweep, run_sweep
from simlib.store.runstore import open_store

TINY = Path(__file__).parent / "data" / "tiny_experiment.yaml"


def tiny_raw() -> dict:
    return yaml.safe_load(TINY.read_text(encoding="utf-8"))


def write_experiment(tmp_path: Path, raw: dict, name: str = "exp.yaml") -> Path:
    """Write ``raw`` next to the tiny experiment's relative paths (tests/data/)."""
    path = tmp_path / name
    # Relative paths in the tiny file are relative to tests/data/: make them absolute.
    raw = dict(raw)
    base = TINY.parent
    raw["scenario"] = str((base / raw["scenario"]).resolve())
    arms = []
    for arm in raw["arms"]:
        arm = dict(arm)
        if "variants" in arm:
            arm["variants"] = [str((base / v).resolve()) for v in arm["variants"]]
        arms.append(arm)
    raw["arms"] = arms
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("path", sorted((DATA / "experiments").glob("*.yaml")), ids=str)
def test_every_experiment_file_plans(path):
    plan = plan_sweep(path, replications=1)
    exp = plan.experiment
    # Uncertainties drawn per replication run design point r in replication r of each arm.
    draws = 1 if exp.per_replication else len(plan.samples)
    assert len(plan.runs) == len(exp.arms) * draws, (len(plan.runs), path)
    keys = [r.key for r in plan.runs]
    assert len(set(keys)) == len(keys), f"{path}: duplicate run keys"


def test_default_experiment_compares_six_reforms():
    exp = load_experiment(DATA / "experiments" / "default.yaml")
    others = [a.name for a in exp.arms if a.name != exp.baseline]
    assert len(others) >= 6, others
    assert exp.replications == 30, exp.replications
    assert {
        "steeper_tiers",
        "socialisation",
        "pp30_360",
        "distribution_curve",
        "team_bonus",
        "training_first",
    } <= set(others), others


def test_arm_levers_reach_the_inputs():
    plan = plan_sweep(DATA / "experiments" / "default.yaml", replications=1)
    names = [a.name for a in plan.experiment.arms]
    team = plan.inputs[(names.index("team_bonus"), 0)].agencies[0]
    training = plan.inputs[(names.index("training_first"), 0)].agencies[0]
    today = plan.inputs[(names.index("today"), 0)].agencies[0]
    assert team.campaign is not None and team.training is None, team
    assert team.objective_weight == 0.3
    assert training.training is not None and training.campaign is None, training
    assert today.campaign is None and today.training is None


def test_variants_build_the_arm_policy():
    plan = plan_sweep(TINY, replications=1)
    names = [a.name for a in plan.experiment.arms]
    steep = plan.inputs[(names.index("steeper_tiers"), 0)].schedule.at(0)
    base = plan.inputs[(names.index("today"), 0)].schedule.at(0)
    assert steep.incentives.multipliers.baik == 0.9, steep.incentives.multipliers
    assert base.incentives.multipliers.baik != 0.9, base.incentives.multipliers


def test_factorial_crosses_levels_and_points(tmp_path):
    raw = tiny_raw()
    raw["uncertainties"] = {
        "method": "factorial",
        "points": {"value": 3, "unit": "points per range", "source": "assumption"},
        "parameters": [
            {"path": "behaviour.pay_sensitivity",
             "range": {"value": [0.5, 1.5], "unit": "SD", "source": "assumption"}},
            {"path": "policy.budget.over_cap_rule", "levels": ["prorate", "rank_order"]},
        ],
    }  # fmt: skip
    exp = load_experiment(write_experiment(tmp_path, raw))
    samples = design_samples(exp)
    got = sorted(
        (s["behaviour.pay_sensitivity"], s["policy.budget.over_cap_rule"]) for s in samples
    )
    want = sorted((x, r) for x in (0.5, 1.0, 1.5) for r in ("prorate", "rank_order"))
    assert got == want, got
    plan = plan_sweep(exp, replications=1)
    pol = {s: plan.inputs[(0, s)].schedule.at(0).budget.over_cap_rule for s in range(len(samples))}
    sens = {s: plan.inputs[(0, s)].scenario.behaviour.pay_sensitivity for s in range(len(samples))}
    for s, values in enumerate(samples):
        assert pol[s] == values["policy.budget.over_cap_rule"], (s, pol[s], values)
        assert sens[s] == values["behaviour.pay_sensitivity"], (s, sens[s], values)


def test_lhs_is_seeded_stratified_and_in_range(tmp_path):
    raw = tiny_raw()
    raw["uncertainties"] = {
        "method": "lhs",
        "samples": {"value": 8, "unit": "samples", "source": "assumption"},
        "parameters": [
            {"path": "behaviour.pay_sensitivity",
             "range": {"value": [0.5, 1.5], "unit": "SD", "source": "assumption"}},
            {"path": "agencies.0.structure.units",
             "range": {"value": [3, 6], "unit": "units", "source": "assumption"}},
        ],
    }  # fmt: skip
    exp = load_experiment(write_experiment(tmp_path, raw))
    first, again = design_samples(exp), design_samples(exp)
    assert first == again, "the design must depend only on the root seed"
    x = np.array([s["behaviour.pay_sensitivity"] for s in first])
    assert ((x >= 0.5) & (x <= 1.5)).all(), x
    # Latin hypercube: exactly one point in each of the 8 strata.
    strata = np.floor((x - 0.5) / 1.0 * 8).astype(int)
    assert sorted(strata) == list(range(8)), strata
    units = [s["agencies.0.structure.units"] for s in first]
    assert all(isinstance(u, int) and 3 <= u <= 6 for u in units), units
    other = exp.model_copy(update={"seed": exp.seed + 1})
    assert design_samples(other) != first, "another root seed gives another design"


def test_sobol_design_size(tmp_path):
    raw = tiny_raw()
    raw["uncertainties"] = {
        "method": "sobol",
        "samples": {"value": 4, "unit": "samples", "source": "assumption"},
        "parameters": [
            {"path": "behaviour.pay_sensitivity",
             "range": {"value": [0.5, 1.5], "unit": "SD", "source": "assumption"}},
            {"path": "raters.leniency_sd",
             "range": {"value": [0.1, 0.6], "unit": "SD", "source": "assumption"}},
        ],
    }  # fmt: skip
    exp = load_experiment(write_experiment(tmp_path, raw))
    assert len(design_samples(exp)) == 4 * (2 + 2), len(design_samples(exp))


def test_common_random_numbers_every_arm_and_sample_share_replication_streams(
    tmp_path, monkeypatch
):
    """Replication r of every arm and sample is simulated with the same seed and replication,
    and an arm whose rules equal the baseline's reproduces the baseline exactly."""
    raw = tiny_raw()
    noop = tmp_path / "noop.yaml"
    noop.write_text(
        "name: Same rules\ndescription: changes nothing\n"
        "changes:\n  budget.over_cap_rule: prorate\n",
        encoding="utf-8",
    )
    raw["arms"] = [
        *raw["arms"][:2],
        {"name": "same_rules", "label": "Same", "variants": [str(noop)]},
    ]
    raw["replications"] = {"value": 3, "unit": "replications", "source": "assumption"}
    raw["uncertainties"] = {
        "method": "factorial",
        "parameters": [{"path": "behaviour.pay_sensitivity",
                        "levels": {"value": [0.5, 1.5], "unit": "SD", "source": "assumption"}}],
    }  # fmt: skip
    path = write_experiment(tmp_path, raw)
    calls = []
    real = experiment.simulate

    def spy(inputs, *, seed, replication=0, progress=None):
        sensitivity = inputs.scenario.behaviour.pay_sensitivity
        calls.append((sensitivity, inputs.schedule.at(0).name, seed, replication))
        return real(inputs, seed=seed, replication=replication)

    monkeypatch.setattr(experiment, "simulate", spy)
    run_sweep(path, tmp_path / "store", executor="inprocess")
    assert len(calls) == 3 * 2 * 3, len(calls)
    assert {c[2] for c in calls} == {7}, {c[2] for c in calls}
    by_rep = {r: [c for c in calls if c[3] == r] for r in range(3)}
    assert all(len(v) == 6 for v in by_rep.values()), {r: len(v) for r, v in by_rep.items()}

    out = open_store(tmp_path / "store").outcomes()
    cols = ["sample", "replication", "agency", "period_kind", "period", "metric"]
    base = out[out["arm"] == "today"].set_index(cols)["value"]
    same = out[out["arm"] == "same_rules"].set_index(cols)["value"]
    diff = (same - base).abs()
    assert diff.max() == 0, f"a no-op arm differs from the baseline by up to {diff.max()}"
    perf = base.xs("mean_true_performance", level="metric")
    spread = perf.groupby(level=["sample", "period"]).std()
    assert (spread > 0).all(), f"replications should differ from each other: {spread}"


# -- bad experiment files ----------------------------------------------------------------


def _bad(tmp_path, change) -> Path:
    raw = tiny_raw()
    change(raw)
    return write_experiment(tmp_path, raw)


BAD = {
    "unknown_key": (lambda r: r.update(replicas=3), "replicas", "allowed keys"),
    "baseline_not_an_arm": (lambda r: r.update(baseline="nobody"), "baseline", "allowed: today"),
    "zero_replications": (
        lambda r: r.update(replications={"value": 0, "unit": "r", "source": "a"}),
        "replications",
        "allowed: >= 1",
    ),
    "bare_seed": (lambda r: r.update(seed=3), "seed", "allowed: a documented parameter"),
    "bad_method": (
        lambda r: r.update(uncertainties={"method": "random", "parameters": [
            {"path": "behaviour.pay_sensitivity", "levels": ["a"]}]}),
        "uncertainties.method",
        "allowed: 'factorial', 'lhs' or 'sobol'",
    ),
    "missing_variant": (
        lambda r: r["arms"][1].update(variants=["/nonexistent/variant.yaml"]),
        "arms[1].variants[0]",
        "allowed: a path to an existing file",
    ),
    "bad_scenario_path": (
        lambda r: r["arms"][3].update(scenario_changes={"agencies.0.org_csf": "x.csv"}),
        "arms[3].scenario_changes",
        "allowed keys",
    ),
    "bad_uncertain_path": (
        lambda r: r.update(uncertainties={"method": "factorial", "parameters": [
            {"path": "behaviour.nosuch.x", "levels": {"value": [1, 2], "unit": "u",
                                                      "source": "a"}}]}),
        "uncertainties.parameters[0].path",
        "allowed:",
    ),
    "bad_policy_path": (
        lambda r: r.update(uncertainties={"method": "factorial", "parameters": [
            {"path": "policy.budget.nosuch", "levels": ["a"]}]}),
        "uncertainties.parameters",
        "allowed:",
    ),
    "range_reversed": (
        lambda r: r.update(uncertainties={"method": "lhs", "parameters": [
            {"path": "behaviour.pay_sensitivity", "range": {"value": [2, 1], "unit": "u",
                                                            "source": "a"}}]}),
        "uncertainties.parameters[0]",
        "allowed: low < high",
    ),
    "duplicate_arm": (
        lambda r: r["arms"].append({"name": "today", "label": "again"}),
        "arms[4].name",
        "allowed: unique names",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_experiment_file_one_line_exit_2_nothing_written(tmp_path, capsys, case):
    change, field, allowed = BAD[case]
    path = _bad(tmp_path, change)
    store = tmp_path / "store"
    code = main(["sweep", str(path), "--store", str(store), "--executor", "inprocess"])
    err = capsys.readouterr().err.strip()
    assert code == 2, (code, err)
    assert len(err.splitlines()) == 1, err
    assert str(path) in err, err
    assert field in err, f"{field!r} not in {err!r}"
    assert allowed in err, f"{allowed!r} not in {err!r}"
    assert not store.exists(), f"{case}: something was written: {list(store.rglob('*'))}"


def test_missing_experiment_file(tmp_path, capsys):
    code = main(["sweep", str(tmp_path / "nope.yaml"), "--store", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2 and "file not found" in err, (code, err)


def test_load_error_is_a_config_error():
    with pytest.raises(ConfigError, match="file not found"):
        load_experiment(ROOT / "data" / "experiments" / "nope.yaml")
