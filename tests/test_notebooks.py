"""Every notebook: a readable jupytext script, executed by papermill with tiny parameters."""

from __future__ import annotations

import ast
import subprocess
import sys

import jupytext
import nbformat
import pandas as pd
import pytest
from reportkit import make_store, write_tiny_scenario

from simlib.core.errors import ConfigError
from simlib.reporting.notebooks import NOTEBOOKS, execute_notebook, read_notebook, recorded

pytestmark = pytest.mark.slow

#: Tiny sizes for the calibration notebook (3 design points, 2 replications, no search).
TINY_CALIBRATION = {"design": 3, "replications": 2, "max_evaluations": 0}


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
    # Progress bars (tqdm redraws its line with carriage returns) are meant for stderr.
    warnings = [
        o.text for c in nb.cells for o in c.get("outputs", [])
        if o.output_type == "stream" and o.name == "stderr"
        and o.text.strip() and not o.text.startswith("\r")
    ]  # fmt: skip
    assert not warnings, f"notebook {number} wrote to stderr: {warnings}"
    return recorded(nb)


@pytest.mark.parametrize("number", sorted(NOTEBOOKS))
def test_notebook_reads_as_an_analysis(number):
    path = NOTEBOOKS[number]
    text = path.read_text(encoding="utf-8")
    # The script is jupytext's own percent format: reading and writing it changes nothing,
    # so what JupyterLab saves (paired .ipynb and .py) is what is committed.
    nb = jupytext.reads(text, fmt="py:percent")
    assert jupytext.writes(nb, fmt="py:percent") == text, f"{path.name} is not canonical"
    paired = path.with_suffix(".ipynb")
    ignored = subprocess.run(["git", "check-ignore", "-q", str(paired)], check=False).returncode
    assert ignored == 0, f"{paired.name} (the paired notebook) is not ignored by git"
    nb = read_notebook(path)
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert markdown[0].source.startswith("# "), "the first cell is not a titled introduction"
    words = " ".join(c.source for c in markdown)
    for needed in ("Question" if number != "04" else "briefing", "Data", "Method", "change"):
        assert needed in words, f"{path.name}: the narrative does not say {needed!r}"
    assert len(markdown) >= 3 or number == "04", f"{path.name}: {len(markdown)} markdown cells"
    first = code[0]
    assert first.metadata.get("tags") == ["parameters"], first.metadata
    for stmt in ast.parse(first.source).body:
        assert isinstance(stmt, ast.Assign), ast.dump(stmt)
        assert isinstance(stmt.value, ast.Constant), f"not a scalar: {ast.unparse(stmt)}"
    assert "_parameters(" in code[1].source, code[1].source
    # Code calls the public API: no private names of simlib, no HTML written by hand.
    for cell in code:
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("simlib"):
                assert all(not a.name.startswith("_") for a in node.names), ast.unparse(node)
                assert (node.module or "").rsplit(".", 1)[-1] != "report", ast.unparse(node)
        assert "<h" not in cell.source and "<table" not in cell.source, cell.source[:80]


def test_papermill_sees_every_parameter():
    nb = read_notebook(NOTEBOOKS["03"])
    path = NOTEBOOKS["03"].with_name("03-papermill-help.ipynb")
    try:
        nbformat.write(nb, path)
        result = subprocess.run(
            [sys.executable, "-m", "papermill", "--help-notebook", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        path.unlink(missing_ok=True)
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
    from simlib.analysis.ratings360 import simulate_360

    ratings, _aggregation = simulate_360(tiny_scenario, seed=5, quarters=1)
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
    # Steeper tiers pay less for the same predikat mix: total cost falls, and a fall in
    # cost is an improvement (each outcome declares its better direction).
    assert effects["total_cost_idr"] < 0, effects
    assert values["assessments"]["steeper"]["total_cost_idr"] in ("better", "unclear"), values
    assert {"effects", "budget", "winners"} <= set(values["figures"]), values


def test_briefing_notebook(tmp_path, tiny_store):
    values = run("04", tmp_path, store=str(tiny_store), lang="id")
    assert values["notebook"] == "04-briefing", values
    assert values["run_id"].startswith("tiny_experiment-"), values
    assert set(values["effects"]["steeper"]) == {
        "mean_true_performance", "rating_accuracy", "adoption_share", "total_cost_idr",
    } - ({"adoption_share"} if not values["has_adoption"] else set()), values  # fmt: skip


def test_calibration_notebook(tmp_path, tiny_scenario):
    values = run(
        "05", tmp_path, scenario=str(tiny_scenario), lang="en",
        figures_dir=str(tmp_path / "fig"), **TINY_CALIBRATION,
    )  # fmt: skip
    from simlib.experiment.calibration import load_targets
    from simlib.reporting.params import calibration_parameters

    files = calibration_parameters(
        scenario=str(tiny_scenario), targets="", free="raters.leniency_mean", seed=1,
        lang="en", figures_dir="", **TINY_CALIBRATION,
    ).targets  # fmt: skip
    names = [t.name for f in files for t in load_targets(f).targets]
    assert values["targets"] == names, "not every target of data/calibration is shown"
    assert values["design_points"] == TINY_CALIBRATION["design"], values
    assert 0 <= values["within"] <= len(names), values
    assert set(values["never_reached"]) <= set(names), values
    assert (tmp_path / "fig" / "calibration-targets-en.png").is_file()


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
        ("05", {"free": ""}, "parameter 'free': '' names no parameter"),
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
