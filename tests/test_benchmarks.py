"""The benchmark scripts still run (tiny sizes; nothing is timed here), and the lean
reference of benchmarks/engine.py docks with the engine."""

import importlib.util
import json
import subprocess
import sys

import pytest

from simlib.core.paths import ROOT


def _benchmark_module(name):
    """Import ``benchmarks/<name>.py`` (the folder is not a package)."""
    folder = str(ROOT / "benchmarks")
    if folder not in sys.path:
        sys.path.insert(0, folder)  # for its sibling imports (_common)
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPTS = {
    "engine.py": [
        "--employees",
        "2000",
        "--repeat",
        "1",
        "--naive-employees",
        "200",
        "--dock-seeds",
        "10",
    ],
    "services.py": ["--repeat", "1", "--seeds", "2", "--population", "20000"],
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
    "national.py": ["--share", "0.005", "--months", "3", "--workers", "1"],
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


def test_lean_reference_docks_with_the_engine_on_the_default_scenario():
    # Docking (Axtell et al. 1996): the independent lean implementation and the engine, each
    # over 30 seeds of the default scenario (flows off in both), agree in distribution: every
    # headline outcome's mean difference is within 3 standard errors of the difference,
    # computed from the 60 runs.
    lean = _benchmark_module("lean_reference")
    rows = lean.dock(seeds=range(1, 31), limit_se=3.0)
    assert [r["outcome"] for r in rows] == list(lean.HEADLINE)
    differs = [r for r in rows if not abs(r["diff"]) <= 3.0 * r["se"]]
    assert not differs, "\n".join(
        f"{r['outcome']}: engine {r['engine']:.5g}, lean {r['lean']:.5g}, "
        f"diff {r['diff']:.3g} > 3 x SE {r['se']:.3g}"
        for r in differs
    )


def test_lean_reference_refuses_what_it_does_not_model(tmp_path):
    lean = _benchmark_module("lean_reference")
    data = ROOT / "data"
    policy = tmp_path / "training.yaml"  # today's rules with the training lever
    policy.write_text(
        (data / "policies" / "baseline_regional.yaml").read_text(encoding="utf-8")
        + f"training: {{plan: {data / 'training' / 'programmes.yaml'}}}\n",
        encoding="utf-8",
    )
    scenario = tmp_path / "district.yaml"
    scenario.write_text(
        f"extends: {data / 'scenarios' / 'district_health_office.yaml'}\n"
        f"baseline_policy: {policy}\n",
        encoding="utf-8",
    )
    with pytest.raises(NotImplementedError, match="training"):
        lean.load_params(scenario)


@pytest.mark.parametrize(
    ("targets", "check", "status"),
    [
        ({"a": True, "b": None}, True, 0),
        ({"a": True, "b": False}, True, 1),
        ({"a": True, "b": False}, False, 0),
    ],
)
def test_check_exits_non_zero_only_when_a_measured_target_is_missed(targets, check, status):
    common = _benchmark_module("_common")
    assert common.exit_status(targets, check=check) == status
