"""The benchmark scripts still run (tiny sizes; nothing is timed or compared here)."""

import json
import subprocess
import sys

import pytest

from simlib.core.paths import ROOT

SCRIPTS = {
    "engine.py": ["--employees", "2000", "--repeat", "1", "--naive-employees", "200"],
    "services.py": ["--repeat", "1"],
    "calibrate.py": [
        "--replications",
        "2",
        "--design",
        "2",
        "--max-evaluations",
        "1",
        "--method",
        "none",
        "--reference",
        "2",
    ],
    "ratings.py": [
        "--ratees",
        "300",
        "--raters",
        "300",
        "--sizes",
        "250",
        "--budget",
        "20",
        "--no-profile",
    ],
}


@pytest.mark.parametrize(("script", "args"), SCRIPTS.items(), ids=list(SCRIPTS))
def test_benchmark_runs_and_ends_with_one_json_object(script, args):
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(figures, dict) and figures
