"""Paired effects: exact means, statsmodels intervals, NaN pairs, coverage, families."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from statsmodels.stats.weightstats import DescrStatsW

from simlib.analysis.effects import (
    EFFECT_COLUMNS,
    RESISTANCE_METRICS,
    budget_effects,
    paired_effects,
    resistance_effects,
    sensitivity,
    winners_losers,
)
from simlib.experiment.sweep import run_sweep
from simlib.store.runstore import open_store

TINY = Path(__file__).parent / "data" / "tiny_experiment.yaml"


def synthetic(rng, *, n_reps, effect, shared_sd=5.0, noise_sd=1.0, metrics=("m",)):
    """Outcomes of a baseline and an arm sharing a replication effect (common random numbers)."""
    rows = []
    for r in range(n_reps):
        shared = rng.normal(0, shared_sd)
        for metric in metrics:
            for arm, shift in (("base", 0.0), ("arm", effect)):
                rows.append({"arm": arm, "sample": 0, "replication": r, "agency": "A",
                             "period_kind": "year", "period": "2025", "metric": metric,
                             "value": 10 + shared + shift + rng.normal(0, noise_sd)})  # fmt: skip
    return pd.DataFrame(rows)


def test_difference_and_interval_match_statsmodels():
    rng = np.random.default_rng(1)
    data = synthetic(rng, n_reps=12, effect=2.0)
    got = paired_effects(data, baseline="base")
    assert list(got.columns) == list(EFFECT_COLUMNS), list(got.columns)
    d = data[data.arm == "arm"]["value"].to_numpy() - data[data.arm == "base"]["value"].to_numpy()
    low, high = DescrStatsW(d).tconfint_mean(alpha=0.05)
    row = got.iloc[0]
    assert row["n"] == 12
    assert row["difference"] == pytest.approx(d.mean()), (row["difference"], d.mean())
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high)), (row, low, high)
    assert row["arm_mean"] - row["baseline_mean"] == pytest.approx(row["difference"])


def test_nan_pairs_are_dropped_and_counted():
    rng = np.random.default_rng(2)
    data = synthetic(rng, n_reps=10, effect=1.0)
    data.loc[(data.arm == "arm") & (data.replication.isin([0, 3])), "value"] = np.nan
    data.loc[(data.arm == "base") & (data.replication == 5), "value"] = np.nan
    row = paired_effects(data, baseline="base").iloc[0]
    assert row["n"] == 7, row
    assert np.isfinite([row["difference"], row["ci_low"], row["ci_high"]]).all(), row


def test_a_single_pair_has_no_interval():
    rng = np.random.default_rng(3)
    row = paired_effects(synthetic(rng, n_reps=1, effect=1.0), baseline="base").iloc[0]
    assert row["n"] == 1 and np.isnan(row["ci_low"]) and np.isnan(row["ci_high"]), row


def test_unknown_baseline_is_refused():
    data = synthetic(np.random.default_rng(4), n_reps=3, effect=0.0)
    with pytest.raises(ValueError, match="allowed: base, arm"):
        paired_effects(data, baseline="nobody")


def test_intervals_cover_the_true_difference_about_95_percent():
    """400 repeated experiments with a known difference: the 95 % intervals cover it in
    about 95 % of them (binomial 99.9 % band: 0.92 to 0.98)."""
    rng = np.random.default_rng(20260101)
    true = 0.7
    frames = []
    for k in range(400):
        data = synthetic(rng, n_reps=8, effect=true, noise_sd=1.3)
        data["metric"] = f"m{k}"
        frames.append(data)
    effects = paired_effects(pd.concat(frames, ignore_index=True), baseline="base")
    assert len(effects) == 400
    covered = ((effects["ci_low"] <= true) & (true <= effects["ci_high"])).mean()
    assert 0.92 <= covered <= 0.98, f"coverage {covered:.3f}"
    # Pairing matters: intervals are far narrower than the replication spread (sd 5).
    half = ((effects["ci_high"] - effects["ci_low"]) / 2).median()
    assert half < 2.0, f"median half-width {half:.2f}"


def test_ninety_percent_intervals_are_narrower():
    data = synthetic(np.random.default_rng(5), n_reps=10, effect=1.0)
    wide = paired_effects(data, baseline="base", confidence=0.95).iloc[0]
    narrow = paired_effects(data, baseline="base", confidence=0.90).iloc[0]
    assert narrow["ci_high"] - narrow["ci_low"] < wide["ci_high"] - wide["ci_low"], (narrow, wide)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    raw = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    base = TINY.parent
    raw["scenario"] = str((base / raw["scenario"]).resolve())
    for arm in raw["arms"]:
        if "variants" in arm:
            arm["variants"] = [str((base / v).resolve()) for v in arm["variants"]]
    raw["replications"] = {"value": 2, "unit": "replications", "source": "assumption"}
    raw["uncertainties"] = {
        "method": "sobol",
        "samples": {"value": 2, "unit": "samples", "source": "assumption"},
        "parameters": [
            {"path": "behaviour.pay_sensitivity",
             "range": {"value": [0.25, 2.0], "unit": "SD", "source": "assumption"}},
            {"path": "policy.budget.cap_share_of_entitlement",
             "range": {"value": [0.8, 1.05], "unit": "share", "source": "assumption"}},
        ],
    }  # fmt: skip
    folder = tmp_path_factory.mktemp("effects")
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    run_sweep(path, folder / "store", executor="inprocess")
    return open_store(folder / "store")


def test_budget_effects(store):
    got = budget_effects(store)
    assert list(got.columns) == list(EFFECT_COLUMNS)
    metrics = set(got["metric"])
    assert {"total_cost_idr", "cost_idr", "cap_exceeded", "cost_per_performance_sd_idr"} <= metrics
    steep = got[(got.arm == "steeper_tiers") & (got.metric == "total_cost_idr")].iloc[0]
    # Steeper tiers pay less to the middle predikat: total cost cannot rise.
    assert steep["difference"] <= 0, steep
    assert steep["n"] == 2 * 8, steep
    yearly = got[(got.arm == "steeper_tiers") & (got.metric == "cost_idr")]
    assert yearly["difference"].sum() == pytest.approx(steep["difference"]), yearly
    p = got[got.metric == "cap_exceeded"]
    assert p["arm_mean"].between(0, 1).all() and p["baseline_mean"].between(0, 1).all(), p
    train = got[(got.arm == "training_first") & (got.metric == "total_cost_idr")].iloc[0]
    assert train["difference"] > 0, f"training costs money: {train['difference']}"


def test_resistance_effects_use_the_declared_outcomes_present(store):
    got = resistance_effects(store)
    assert list(got.columns) == list(EFFECT_COLUMNS)
    reported = set(store.outcomes()["metric"])
    wanted = set(RESISTANCE_METRICS) & reported
    assert set(got["metric"]) == wanted, (set(got["metric"]), wanted)
    # One row per arm, agency and metric: the horizon only.
    assert not got.duplicated(["arm", "agency", "metric"]).any()


def test_winners_losers_by_group(store):
    got = winners_losers(store)
    assert {"dimension", "group"} <= set(got.columns)
    assert set(got["dimension"]) == {"grade", "job_type", "sex", "unit"}, set(got["dimension"])
    pay = got[(got.arm == "steeper_tiers") & (got.metric == "pay_idr_per_employee")]
    assert (pay["difference"] <= 1e-6).all(), pay[["dimension", "group", "difference"]]
    shares = store.groups()
    shares = shares[shares.metric.str.startswith("share_")]
    total = shares.groupby(["key", "period", "dimension", "group"])["value"].sum()
    assert np.allclose(total, 1.0), total.describe()


def test_group_pay_adds_up_to_the_ledger(store):
    groups = store.groups()
    ledger = store.ledger()
    g = groups[(groups.dimension == "sex")]
    pay = g[g.metric == "pay_idr_per_employee"].set_index(["key", "period", "group"])["value"]
    heads = g[g.metric == "employees"].set_index(["key", "period", "group"])["value"]
    by_run = (pay * heads).groupby(level=["key", "period"]).sum()
    spent = (
        (ledger["paid_idr"] + ledger["team_incentive_idr"])
        .groupby([ledger["key"], ledger["year"]])
        .sum()
    )
    spent.index.names = ["key", "period"]
    assert np.allclose(by_run.sort_index(), spent.sort_index(), rtol=1e-9), (by_run, spent)


def test_sobol_sensitivity_runs_on_a_store(store):
    got = sensitivity(store, metrics=["tukin_paid_idr"])
    assert set(got["index"]) == {"S1", "ST"}, set(got["index"])
    assert set(got["parameter"]) == {
        "behaviour.pay_sensitivity",
        "policy.budget.cap_share_of_entitlement",
    }
    assert np.isfinite(got["value"]).all(), got


class StubStore:
    """What :func:`sensitivity` reads from a store: manifest, samples, outcomes, baseline."""

    def __init__(self, method, unit, effect, names):
        self.baseline = "base"
        self.manifest = {
            "uncertainties": {"method": method, "parameters": [{"path": n} for n in names]}
        }
        self._samples = pd.DataFrame(unit, columns=names).assign(sample=range(len(unit)))
        rows = []
        for arm, values in (("base", np.zeros(len(unit))), ("arm", effect)):
            rows.append(pd.DataFrame({
                "arm": arm, "sample": np.arange(len(unit)), "replication": 0, "agency": "A",
                "period_kind": "year", "period": "2025", "t_month": 11, "metric": "y",
                "value": values,
            }))  # fmt: skip
        self._outcomes = pd.concat(rows, ignore_index=True)

    def samples(self):
        return self._samples

    def outcomes(self):
        return self._outcomes


def ishigami(u, a=7.0, b=0.1):
    x = -np.pi + 2 * np.pi * u
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices(a=7.0, b=0.1):
    """Analytic first-order and total Sobol indices (Ishigami & Homma 1990)."""
    v1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * np.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return {"S1": np.array([v1, v2, 0.0]) / v, "ST": np.array([v1 + v13, v2, v13]) / v}


def test_sobol_indices_recover_the_ishigami_function():
    """Sobol indices on the experiment's own design (SALib Saltelli sampling) against the
    analytic values; the band is 4 Monte-Carlo SE from independent scrambled designs."""
    from SALib.sample import sobol as sobol_sample

    names = ["x1", "x2", "x3"]
    problem = {"num_vars": 3, "names": names, "bounds": [[0.0, 1.0]] * 3}
    estimates = {"S1": [], "ST": []}
    for seed in range(8):
        unit = sobol_sample.sample(problem, 1024, calc_second_order=False, seed=seed)
        got = sensitivity(StubStore("sobol", unit, ishigami(unit), names)).set_index(
            ["index", "parameter"]
        )["value"]
        for index in estimates:
            estimates[index].append([got[(index, n)] for n in names])
    truth = ishigami_indices()
    for index, values in estimates.items():
        values = np.asarray(values)
        mean, se = values.mean(axis=0), values.std(axis=0, ddof=1) / np.sqrt(len(values))
        assert (np.abs(mean - truth[index]) <= 4 * se).all(), (index, mean, truth[index], se)


def test_regression_coefficients_recover_a_linear_model():
    """SRC_i = a_i sd(x_i) / sd(y) for y = sum a_i x_i + noise (x_i uniform on the unit
    interval, so sd = 1/sqrt(12)); the band is 4 Monte-Carlo SE over independent designs."""
    from scipy.stats import qmc

    names, a, noise_sd = ["x1", "x2", "x3"], np.array([3.0, -1.5, 0.0]), 0.5
    sd_y = np.sqrt((a**2).sum() / 12 + noise_sd**2)
    truth = a / np.sqrt(12) / sd_y
    rng = np.random.default_rng(9)
    estimates = []
    for _ in range(30):
        unit = qmc.LatinHypercube(d=3, rng=rng).random(40)
        y = unit @ a + noise_sd * rng.standard_normal(40)
        got = sensitivity(StubStore("lhs", unit, y, names)).set_index("parameter")
        assert set(got["index"]) == {"SRC"}
        estimates.append(got.loc[names, "value"].to_numpy())
    estimates = np.asarray(estimates)
    mean = estimates.mean(axis=0)
    se = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    assert (np.abs(mean - truth) <= 4 * se).all(), (mean, truth, se)


def test_an_outcome_never_reached_keeps_a_row_with_n_zero():
    data = synthetic(np.random.default_rng(6), n_reps=4, effect=1.0)
    data.loc[data.arm == "arm", "value"] = np.nan
    row = paired_effects(data, baseline="base").iloc[0]
    assert row["n"] == 0 and np.isnan(row["difference"]), row


def test_regression_sensitivity_for_a_latin_hypercube(tmp_path):
    raw = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    base = TINY.parent
    raw["scenario"] = str((base / raw["scenario"]).resolve())
    raw["arms"] = raw["arms"][:2]
    raw["arms"][1]["variants"] = [str((base / v).resolve()) for v in raw["arms"][1]["variants"]]
    raw["replications"] = {"value": 2, "unit": "replications", "source": "assumption"}
    raw["uncertainties"] = {
        "method": "lhs",
        "samples": {"value": 6, "unit": "samples", "source": "assumption"},
        "parameters": [
            {"path": "policy.budget.cap_share_of_entitlement",
             "range": {"value": [0.6, 1.1], "unit": "share", "source": "assumption"}},
        ],
    }  # fmt: skip
    path = tmp_path / "lhs.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    run_sweep(path, tmp_path / "s", executor="inprocess")
    got = sensitivity(open_store(tmp_path / "s"), metrics=["tukin_paid_idr"])
    assert set(got["index"]) == {"SRC"}, got
    assert (got["parameter"] == "policy.budget.cap_share_of_entitlement").all()
    # Steeper tiers lower tukin due; a cap that binds pays both arms the same, a looser cap
    # lets the arm's lower due show: its effect on tukin paid falls as the cap rises.
    steep = got[got["arm"] == "steeper_tiers"].iloc[0]
    assert steep["value"] < 0 and steep["ci_high"] < 0, steep
