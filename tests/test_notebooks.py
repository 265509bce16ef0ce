"""Every notebook: thin, committed without outputs, and executed by papermill with tiny inputs."""

from __future__ import annotations

import ast
import subprocess
import sys

import nbformat
import pandas as pd
import pytest
from reportkit import make_store, write_tiny_scenario

from simlib.core.errors import ConfigError
from simlib.core.paths import ROOT
from simlib.reporting.report import NOTEBOOKS, execute_notebook, recorded

pytestmark = pytest.mark.slow

NOTEBOOK_DIR = ROOT / "notebooks"


@pytest.fixture(scope="module")
def tiny_scenario(tmp_path_factory):
    return write_tiny_scenario(tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    store, _run_id = make_store(tmp_path_factory.mktemp("store"))
    return store


def run(number: str, tmp_path, **parameters) -> dict:
    """Execute notebook ``number`` into ``tmp_path`` and return what it recorded."""
    out = tmp_path / f"{number}.ipynb"
    execute_notebook(NOTEBOOKS[number], out, parameters=parameters)
    nb = nbformat.read(out, as_version=4)
    warnings = [
        o.text for c in nb.cells for o in c.get("outputs", [])
        if o.output_type == "stream" and o.name == "stderr"
    ]  # fmt: skip
    assert not warnings, f"notebook {number} wrote to stderr: {warnings}"
    return recorded(nb)


@pytest.mark.parametrize("number", sorted(NOTEBOOKS))
def test_notebook_is_thin_and_committed_without_outputs(number):
    nb = nbformat.read(NOTEBOOKS[number], as_version=4)
    first = nb.cells[0]
    assert first.metadata.get("tags") == ["parameters"], first.metadata
    for stmt in ast.parse(first.source).body:
        assert isinstance(stmt, ast.Assign), ast.dump(stmt)
        assert isinstance(stmt.value, ast.Constant), f"not a scalar: {ast.unparse(stmt)}"
    assert "_parameters(" in nb.cells[1].source, nb.cells[1].source
    for cell in nb.cells:
        assert cell.cell_type == "code"
        assert cell.outputs == [], f"{number}: outputs committed in {cell.source[:40]!r}"
        assert cell.execution_count is None
        # Beyond the parameters, only calls into simlib and display: no definitions.
        if cell is not first:
            for node in ast.walk(ast.parse(cell.source)):
                assert not isinstance(node, ast.FunctionDef | ast.ClassDef), cell.source


def test_notebooks_match_their_generator(tmp_path):
    sys.path.insert(0, str(NOTEBOOK_DIR))
    try:
        import make_notebooks
    finally:
        sys.path.remove(str(NOTEBOOK_DIR))
    for name in make_notebooks.NOTEBOOKS:
        committed = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
        assert committed == make_notebooks.build(name), (
            f"{name}.ipynb differs from notebooks/make_notebooks.py; run it to regenerate"
        )


def test_papermill_sees_every_parameter():
    result = subprocess.run(
        [sys.executable, "-m", "papermill", "--help-notebook", str(NOTEBOOKS["03"])],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Unable to parse" not in result.stdout + result.stderr, result.stdout
    for name in ("scenario", "ratings", "true_score_column", "min_raters", "figures_dir"):
        assert f"  {name}:" in result.stdout, result.stdout


def test_explore_notebook(tmp_path, tiny_scenario):
    values = run(
        "01", tmp_path, scenario=str(tiny_scenario), replications=2, seed=3, lang="en",
        figures_dir=str(tmp_path / "fig"),
    )  # fmt: skip
    assert values["notebook"] == "01-explore-scenario", values
    assert values["replications"] == 2, values
    assert values["years"] == ["2025", "2026"], values
    assert values["last_year_mean_true_performance"] is not None, values
    assert {"performance", "pay", "budget"} <= set(values["figures"]), values
    written = sorted(p.name for p in (tmp_path / "fig").iterdir())
    assert "explore-performance-en.png" in written, written


def test_rater_bias_notebook_simulated(tmp_path, tiny_scenario):
    values = run("03", tmp_path, scenario=str(tiny_scenario), lang="id")
    assert values["simulated"] is True, values
    assert values["ratings"] > 500, values
    shares = values["variance_shares"]
    assert abs(sum(shares.values()) - 1) < 1e-9, shares
    assert {"ratee", "rater", "residual"} <= set(shares), shares
    correlations = values["rule_correlation"]
    assert len(correlations) == 6, correlations
    assert all(0 < c <= 1 for c in correlations.values()), correlations
    assert values["figures"] == ["variance", "rules", "bias"], values


def test_rater_bias_notebook_loads_a_csv(tmp_path, tiny_scenario):
    from simlib.reporting.report import RaterParams, _simulate_360

    params = RaterParams(tiny_scenario, None, 5, 1, None, {}, 3, "en", None)
    ratings, _raw, _agg = _simulate_360(params)
    path = tmp_path / "ratings.csv"
    frame = ratings.rename(columns={"ratee": "employee", "rater": "assessor", "true": "truth"})
    frame[["employee", "assessor", "source", "score", "truth"]].to_csv(path, index=False)
    values = run(
        "03", tmp_path, ratings=str(path), ratee_column="employee", rater_column="assessor",
        source_column="source", true_score_column="truth", lang="en",
    )  # fmt: skip
    assert values["simulated"] is False, values
    assert values["ratings"] == len(pd.read_csv(path)), values
    assert all(c is not None for c in values["rule_correlation"].values()), values


def test_compare_notebook(tmp_path, tiny_store):
    values = run("02", tmp_path, store=str(tiny_store), lang="en")
    assert values["arms"] == ["steeper"], values
    assert values["baseline"] == "today", values
    assert values["replications"] == 2, values
    effects = values["effects"]["steeper"]
    assert "mean_true_performance" in effects and "total_cost_idr" in effects, effects
    # Steeper tiers pay less for the same predikat mix: total cost falls.
    assert effects["total_cost_idr"] < 0, effects
    assert {"effects", "budget", "winners"} <= set(values["figures"]), values


def test_briefing_notebook(tmp_path, tiny_store):
    values = run("04", tmp_path, store=str(tiny_store), lang="id")
    assert values["notebook"] == "04-briefing", values
    assert values["run_id"].startswith("tiny_experiment-"), values
    assert set(values["effects"]["steeper"]) == {
        "mean_true_performance", "rating_accuracy", "adoption_share", "total_cost_idr",
    } - ({"adoption_share"} if not values["has_adoption"] else set()), values  # fmt: skip


@pytest.mark.parametrize(
    ("number", "parameters", "message"),
    [
        (
            "01",
            {"lang": "fr"},
            "parameter 'lang': 'fr' is not a report language; allowed: 'id', 'en'",
        ),
        (
            "01",
            {"replications": 0},
            "parameter 'replications': 0 is out of range; allowed: 1 to 50",
        ),
        ("01", {"seed": "abc"}, "parameter 'seed': 'abc' is not a whole number"),
        (
            "01",
            {"scenario": "nowhere.yaml"},
            "parameter 'scenario': 'nowhere.yaml' is not an existing file",
        ),
        ("03", {"ratings": "x.csv"}, "parameter 'ratings': 'x.csv' is not an existing file"),
        (
            "02",
            {"store": "/no/such/store"},
            "parameter 'store': '/no/such/store' is not an existing folder",
        ),
    ],
)
def test_bad_parameters_fail_with_one_clear_message(tmp_path, number, parameters, message):
    # More bad values are checked in-process in test_report.py; these go through papermill.
    with pytest.raises(ConfigError) as caught:
        execute_notebook(NOTEBOOKS[number], tmp_path / "out.ipynb", parameters=parameters)
    text = str(caught.value)
    assert message in text, text
    assert text.startswith(f"notebook {NOTEBOOKS[number].stem}: "), text
    assert "\n" not in text, text
