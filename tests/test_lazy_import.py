"""Imports on demand: ``simlib ratings analyze`` does not import the engine, and the package
facade (``simlib.simulate`` ...) imports each name when it is first used.

Each check runs in a fresh interpreter (a subprocess), since this test process has imported
the engine long before; it reads ``sys.modules``, it does not time anything.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import simlib

#: Packages the rating analysis does not need: the model, the parameter records, the run
#: store, the reports, and the heavy libraries only those use (not pyarrow: pandas imports it).
NOT_NEEDED = (
    "simlib.engine",
    "simlib.params",
    "simlib.world",
    "simlib.rules",
    "simlib.behaviour",
    "simlib.experiment",
    "simlib.reporting",
    "simlib.store.rundir",
    "simlib.store.runstore",
    "simpy",
    "pydantic",
    "dask",
    "distributed",
    "matplotlib",
    "statsmodels",
)


def modules_after(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; its modules (and any value it stores in ``out``)."""
    script = f"{code}\nimport json, sys\nprint(json.dumps({{'modules': sorted(sys.modules), 'out': out}}))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def loaded(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


def test_ratings_analyze_does_not_import_the_engine(tmp_path):
    rng = np.random.default_rng(5)
    ratee = np.repeat(np.arange(20), 4)
    rater = rng.integers(0, 8, len(ratee))
    frame = pd.DataFrame(
        {
            "ratee": ratee,
            "rater": rater,
            "score": rng.normal(0, 0.5, 20)[ratee] + rng.normal(0, 1, len(ratee)),
        }
    )
    csv = tmp_path / "ratings.csv"
    frame.to_csv(csv, index=False)
    run = modules_after(
        "import contextlib, io\n"
        "from simlib.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as text:\n"
        f"    status = main(['ratings', 'analyze', {str(csv)!r}, '--ratee', 'ratee',"
        " '--rater', 'rater', '--score', 'score', '--json'])\n"
        "out = [status, text.getvalue()]"
    )
    status, printed = run["out"]
    assert status == 0
    assert json.loads(printed)["n_obs"] == len(frame)  # the whole command ran: fit and report
    assert "simlib.analysis.reml" in run["modules"]
    assert loaded(run["modules"], NOT_NEEDED) == []


def test_the_facade_imports_each_name_when_used():
    bare = modules_after("import simlib\nout = None")
    assert loaded(bare["modules"], ("simlib.engine", "simlib.params")) == []
    used = modules_after("from simlib import simulate, load_scenario\nout = simulate.__module__")
    assert used["out"] == "simlib.engine.model"
    assert "simlib.params.scenario" in used["modules"]


def test_every_public_name_resolves():
    for name in simlib.__all__:
        home = importlib.import_module(simlib._HOMES[name])
        assert getattr(simlib, name) is getattr(home, name), name
    assert set(simlib.__all__) == set(simlib._HOMES)
    assert set(simlib.__all__) <= set(dir(simlib))
    with pytest.raises(AttributeError, match="no_such_name"):
        simlib.no_such_name  # noqa: B018
