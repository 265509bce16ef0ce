"""Mutation fuzzing: every input file of ``data/`` and ``tests/``, broken at random, through ``simlib``.

The promise under test (issue 11, "Done when"): whatever a user feeds the workbench, it either
works or ends with one line on stderr and exit status 2 -- never a traceback, never a hang.

Each example copies one input file's mutation into a private mirror of ``data/`` (so relative
paths between files keep working), runs the command a user would run on that file, and
restores the file:

=====================================  =====================================================
file                                   command
=====================================  =====================================================
``data/scenarios/*.yaml``              ``simlib validate`` then ``simlib run``
``data/policies/*.yaml``               ``simlib validate`` then ``simlib run TINY --policy``
``data/experiments/*.yaml``            the sweep's plan (``plan_sweep``); ``tests/data``'s
                                       tiny experiment is swept in-process, 1 replication
``data/training``, ``data/services``   validate and run the scenario that uses them
``data/raw/example_org.csv``           ``simlib run data/scenarios/org_from_csv.yaml``
``data/tables/*.csv``                  ``simlib run TINY`` with the mirror's tables
``data/parameters/*.yaml``             ``simlib validate`` then ``simlib run TINY`` with the
                                       mirror's parameter trees
``tests/reference/*.csv``              ``simlib ratings analyze`` (source, covariate, factor)
=====================================  =====================================================

Mutations: a value of the YAML tree replaced by a hostile one (NaN, 1e308, 2**64, a string,
a date that does not exist, a list, a mapping, None) or scaled, a key deleted or added, text
truncated or spiked with YAML syntax (anchors, aliases, tags, NUL, a tab, deep brackets),
lines dropped or repeated; CSV cells replaced, columns and rows dropped or repeated.

CI replays a fixed set of examples (``derandomize``, about a minute). For the long run the
issue asks for, ``KINERJA_FUZZ_MINUTES=10 .venv/bin/python -m pytest tests/test_fuzz.py``
explores about 3,000 new examples (ten minutes here). Each example has a time limit (SIGALRM): a run that
takes longer counts as a hang.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import simlib.params.tables
import simlib.params.tree
from simlib.cli.main import main
from simlib.core.errors import ConfigError
from simlib.experiment.sweep import plan_sweep

ROOT = Path(__file__).resolve().parents[1]
MINUTES = float(os.environ.get("KINERJA_FUZZ_MINUTES", "0"))
#: Seconds one example may take before it counts as a hang.
EXAMPLE_LIMIT_S = 120

YAML_FILES = sorted(
    p.relative_to(ROOT)
    for p in [*(ROOT / "data").rglob("*.yaml"), *(ROOT / "tests" / "data").glob("*.yaml")]
)
CSV_FILES = sorted(
    p.relative_to(ROOT)
    for p in [
        *(ROOT / "data" / "tables").glob("*.csv"),
        *(ROOT / "data" / "raw").glob("*.csv"),
        *(ROOT / "tests" / "reference").glob("*.csv"),
    ]
)

HOSTILE: list[Any] = [
    0, -1, 1, 0.5, 3, 7.5, 1e308, -1e308, 2**63, 2**64, float("nan"), float("inf"), -0.0,
    "", "x", "Budi Santoso", "0.5", "2025-02-30", "../../../../etc/passwd", "a" * 5000,
    None, True, False, [], {}, [1, 2], ["a"], {"value": 1}, {"x": 1},
    {"value": 0.5, "unit": "u", "source": "assumption"},
    {"value": "x", "unit": "u", "source": "assumption"},
    dt.date(2025, 1, 1), dt.date(1900, 1, 1),
]  # fmt: skip
SPIKES = [
    "&a ", "*a", "!!python/object:os.system ", "!!binary ", "\x00", "\t", "[" * 60, "{", "}",
    ":", ": :", "- ", "'", '"', "\n  extra_key: 1\n", "\ufeff", "\\", "%YAML 1.1\n", "---\n",
    "? ", "|", ">", "#", "~", "<<: *a\n",
]  # fmt: skip
CELLS = [
    "", "nan", "inf", "-inf", "1e308", "-1e308", "1e-320", "x", "Budi Santoso", "0x10",
    '"', "1,5", "-1", "0", "99999999999999999999", " ", "\x00", "pns", "fungsional", "18",
]  # fmt: skip


# -- the mirror -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private copy of ``data/`` and ``tests/`` inputs, plus a tiny scenario; tables patched."""
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "data", root / "data")
    (root / "tests").mkdir()
    shutil.copytree(ROOT / "tests" / "data", root / "tests" / "data")
    shutil.copytree(ROOT / "tests" / "reference", root / "tests" / "reference")
    tiny = yaml.safe_load((ROOT / "data/scenarios/district_health_office.yaml").read_text())
    tiny["calendar"]["horizon_months"]["value"] = 12
    for key, value in (("employees", 100), ("units", 4), ("subunits_per_unit", 1)):
        tiny["agencies"][0]["structure"][key]["value"] = value
    (root / "data/scenarios/_tiny.yaml").write_text(yaml.safe_dump(tiny, sort_keys=False))
    patch = pytest.MonkeyPatch()
    patch.setattr(simlib.params.tables, "TABLES", root / "data" / "tables")
    patch.setattr(simlib.params.tree, "TREE_DIR", root / "data" / "parameters")
    _clear_table_caches()
    yield root
    patch.undo()
    _clear_table_caches()


def _clear_table_caches() -> None:
    for name in dir(simlib.params.tables):
        clear = getattr(getattr(simlib.params.tables, name), "cache_clear", None)
        if callable(clear):
            clear()


@contextlib.contextmanager
def _mutated(mirror: Path, rel: Path, text: str | bytes) -> Iterator[Path]:
    target = mirror / rel
    original = target.read_bytes()
    target.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    _clear_table_caches()
    try:
        yield target
    finally:
        target.write_bytes(original)
        _clear_table_caches()


# -- mutations ------------------------------------------------------------------------


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            out += _paths(child, (*prefix, i))
    return out


def _set(tree: Any, path: tuple, value: Any, *, delete: bool = False) -> None:
    node = tree
    for part in path[:-1]:
        node = node[part]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value


def _get(tree: Any, path: tuple) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def _mutate_yaml(data: st.DataObject, text: str) -> str:
    op = data.draw(st.sampled_from(["value", "value", "scale", "delete", "add", "text", "lines"]))
    if op in ("text", "lines"):
        return _mutate_text(data, text, op)
    tree = yaml.safe_load(text)
    paths = _paths(tree)
    if not paths:
        return _mutate_text(data, text, "text")
    path = data.draw(st.sampled_from(paths))
    if op == "delete":
        _set(tree, path, None, delete=True)
    elif op == "add":
        parent = _get(tree, path[:-1])
        if isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["colour", "value", "unit", "source", "extends"]))] = 1
        else:
            parent.append(data.draw(st.sampled_from(HOSTILE)))
    elif op == "scale":
        current = _get(tree, path)
        leaf = isinstance(current, dict) and "value" in current
        number = current["value"] if leaf else current
        if isinstance(number, int | float) and not isinstance(number, bool):
            factor = data.draw(st.sampled_from([10, 100, 1000, 0.1, -1, 0]))
            new = type(number)(number * factor) if isinstance(number, int) else number * factor
            _set(tree, (*path, "value") if leaf else path, new)
        else:
            _set(tree, path, data.draw(st.sampled_from(HOSTILE)))
    else:
        current = _get(tree, path)
        where = (*path, "value") if isinstance(current, dict) and "value" in current else path
        _set(tree, where, data.draw(st.sampled_from(HOSTILE)))
    return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)


def _mutate_text(data: st.DataObject, text: str, op: str) -> str:
    lines = text.splitlines(keepends=True)
    if op == "lines" and lines:
        i = data.draw(st.integers(0, len(lines) - 1))
        how = data.draw(st.sampled_from(["drop", "repeat", "indent", "dedent"]))
        if how == "drop":
            del lines[i]
        elif how == "repeat":
            lines.insert(i, lines[i])
        elif how == "indent":
            lines[i] = "  " + lines[i]
        else:
            lines[i] = lines[i].lstrip()
        return "".join(lines)
    at = data.draw(st.integers(0, len(text)))
    if data.draw(st.booleans()):
        return text[:at]
    return text[:at] + data.draw(st.sampled_from(SPIKES)) + text[at:]


def _mutate_csv(data: st.DataObject, text: str) -> str:
    rows = [line.split(",") for line in text.splitlines()]
    op = data.draw(st.sampled_from(["cell", "cell", "cell", "column", "rows", "header", "text"]))
    if op == "text":
        return _mutate_text(data, text, data.draw(st.sampled_from(["text", "lines"])))
    if op == "rows":
        how = data.draw(st.sampled_from(["only_header", "drop", "repeat"]))
        i = data.draw(st.integers(1, max(1, len(rows) - 1)))
        if how == "only_header":
            rows = rows[:1]
        elif how == "drop" and len(rows) > 1:
            del rows[i]
        elif len(rows) > 1:
            rows.insert(i, rows[i])
    elif op == "column":
        j = data.draw(st.integers(0, len(rows[0]) - 1))
        rows = [r[:j] + r[j + 1 :] for r in rows]
    elif op == "header":
        j = data.draw(st.integers(0, len(rows[0]) - 1))
        rows[0][j] = data.draw(st.sampled_from([*rows[0], "", "unknown", "x y"]))
    else:
        i = data.draw(st.integers(1, max(1, len(rows) - 1))) if len(rows) > 1 else 0
        j = data.draw(st.integers(0, len(rows[i]) - 1))
        rows[i][j] = data.draw(st.sampled_from(CELLS))
    return "\n".join(",".join(r) for r in rows) + "\n"


# -- running --------------------------------------------------------------------------


class Hang(Exception):
    """An example ran past its time limit."""


def _alarm(signum, frame):
    raise Hang(f"no answer within {EXAMPLE_LIMIT_S} s")


def _simlib(*args: str | Path) -> tuple[int, str]:
    """Run the CLI in-process; return the status and stderr. Any other exception escapes."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = main([str(a) for a in args])
        except SystemExit as exc:  # argparse
            status = exc.code
    text = err.getvalue()
    assert status in (0, 2), f"simlib {' '.join(map(str, args))}: status {status}\n{text}"
    if status == 2:
        lines = [line for line in text.splitlines() if "error:" in line or "Traceback" in line]
        assert len(lines) == 1 and "Traceback" not in text, f"not one clean line:\n{text}"
    return status, text


def _run_case(mirror: Path, rel: Path, target: Path, out: Path) -> None:
    data_dir = mirror / "data"
    tiny = data_dir / "scenarios" / "_tiny.yaml"
    parts = rel.parts
    if parts[:2] == ("data", "scenarios"):
        # A generated scenario (national.yaml: 4.3 million staff, ~50 min a run) is only
        # validated; its runs are tested scaled down (test_national).
        generated = target.with_name(f"{target.stem}_generate.py").is_file()
        if _simlib("validate", target)[0] == 0 and not generated:
            _simlib("run", target, "--out", out)
    elif parts[:2] == ("data", "policies"):
        if _simlib("validate", target)[0] == 0:
            _simlib("run", tiny, "--policy", target, "--out", out)
    elif parts[:2] == ("data", "experiments"):
        with contextlib.suppress(ConfigError):
            plan_sweep(target, replications=1)
    elif parts[:2] == ("data", "replications"):
        # A published model's world (a 70-year run), rules and experiments: validated and
        # planned only; they run in tests/test_careers_engine.py and the benchmark.
        if "arms:" in target.read_text(encoding="utf-8", errors="replace"):
            with contextlib.suppress(ConfigError):
                plan_sweep(target, replications=1)
        else:
            _simlib("validate", target)
    elif parts[:2] == ("tests", "data"):
        _simlib("sweep", target, "--store", out, "--executor", "inprocess", "--replications", "1")
    elif parts[:2] in (("data", "training"), ("data", "services"), ("data", "raw")):
        # The policy variant (training, services) or scenario (raw) that uses the file.
        variant = {"training": "training_programmes.yaml",
                   "services": "vaccination_campaign.yaml"}.get(parts[1])  # fmt: skip
        if variant is None:
            scenario = data_dir / "scenarios" / "org_from_csv.yaml"
            if _simlib("validate", scenario)[0] == 0:
                _simlib("run", scenario, "--out", out)
        else:
            policy = data_dir / "policies" / variant
            if _simlib("validate", policy)[0] == 0:
                _simlib("run", tiny, "--policy", policy, "--out", out)
    elif parts[:2] == ("data", "tables"):
        _simlib("run", tiny, "--out", out)
    elif parts[:2] == ("data", "parameters"):
        if _simlib("validate", target)[0] == 0:
            _simlib("run", tiny, "--out", out)
    elif parts[:2] == ("data", "calibration"):
        if "changes" in target.read_text(encoding="utf-8", errors="replace"):  # a variant
            if _simlib("validate", target)[0] == 0:
                _simlib("run", tiny, "--policy", target, "--out", out)
        else:  # a target file: a two-point calibration of the tiny scenario
            _simlib("calibrate", tiny, "--targets", target, "--free", "raters.leniency_mean=0:1",
                    "--replications", "2", "--design", "2", "--method", "none",
                    "--out", out / "calibrated.yaml")  # fmt: skip
    elif parts[:2] == ("tests", "reference"):
        args = ["--ratee", "ratee", "--rater", "rater", "--score", "score", "--source", "source"]
        args += ["--covariate", "tenure_years", "--factor", "unit", "--json"]
        _simlib("ratings", "analyze", target, *args)
    else:  # pragma: no cover - a new kind of input file needs a command here
        raise AssertionError(f"no command for {rel}")


#: Examples per minute in the long run (an example takes about 0.2 s on this machine).
EXAMPLES_PER_MINUTE = 300


#: No "explain" phase: it traces every line, which makes a campaign run look like a hang.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink]


def _settings():
    if MINUTES > 0:
        return settings(max_examples=int(MINUTES * EXAMPLES_PER_MINUTE), deadline=None,
                        derandomize=False, suppress_health_check=list(HealthCheck),
                        phases=PHASES)  # fmt: skip
    return settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck), phases=PHASES)  # fmt: skip


@pytest.mark.slow
@_settings()
@given(data=st.data())
def test_mutated_inputs_never_traceback_or_hang(mirror: Path, data: st.DataObject) -> None:
    rel = data.draw(st.sampled_from([*YAML_FILES, *CSV_FILES]), label="file")
    # The mirror's copy, fixed for the whole run: examples must not depend on outside edits.
    original = (mirror / rel).read_text(encoding="utf-8")
    text = _mutate_csv(data, original) if rel.suffix == ".csv" else _mutate_yaml(data, original)
    out = mirror / "out"
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(EXAMPLE_LIMIT_S)
    try:
        with _mutated(mirror, rel, text) as target:
            _run_case(mirror, rel, target, out)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        shutil.rmtree(out, ignore_errors=True)  # the run's own output folder
        (mirror / "out.manifest.json").unlink(missing_ok=True)


def test_every_input_file_has_a_command(mirror: Path) -> None:
    """A new input file in data/ or tests/ must be fuzzed too: unmutated, each one works."""
    out = mirror / "out"
    for rel in [*YAML_FILES, *CSV_FILES]:
        _run_case(mirror, rel, mirror / rel, out)
        shutil.rmtree(out, ignore_errors=True)
