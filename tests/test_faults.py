"""Faults: nothing lost, nothing leaked, nothing left running (issue 11).

Output folders follow one ownership rule (``simlib.store.rundir``): the workbench writes only
into a folder that is new, empty or its own, and refuses anything else with one line and
exit status 2. A resumed sweep checks every run file; workers stop when the sweep's main
process dies; two sweeps cannot write one store; the manifest comes first; leftovers of
killed processes are cleaned; files are fsync'ed; a report shows the current labels.

Kills are real: ``simlib sweep`` runs as a subprocess and is sent SIGKILL.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import simlib.experiment.sweep as experiment
from simlib.cli.main import main
from simlib.core.errors import ConfigError
from simlib.core.paths import SCENARIOS
from simlib.experiment.sweep import manifest_for, plan_sweep, run_sweep
from simlib.reporting.notebooks import build_report
from simlib.reporting.stores import run_id_for
from simlib.store import rundir
from simlib.store.runstore import lock_store, open_store, write_json, write_run_file

TINY = Path(__file__).parent / "data" / "tiny_experiment.yaml"
SIMLIB = Path(sys.executable).with_name("simlib")
PREFIX = "simlib: error: "


def one_line_error(capsys, code: int) -> str:
    err = capsys.readouterr().err
    assert code == 2, (code, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(PREFIX), err
    assert "Traceback" not in err, err
    return lines[0]


def listing(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (hidden ones too) with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    """The default scenario shrunk to 120 employees and 12 months (runs in about a second)."""
    raw = yaml.safe_load((SCENARIOS / "district_health_office.yaml").read_text(encoding="utf-8"))
    raw["baseline_policy"] = str((SCENARIOS / raw["baseline_policy"]).resolve())
    raw["calendar"]["horizon_months"]["value"] = 12
    structure = raw["agencies"][0]["structure"]
    structure["employees"]["value"] = 120
    structure["units"]["value"] = 4
    structure["subunits_per_unit"]["value"] = 1
    path = tmp_path_factory.mktemp("scenario") / "small.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def experiment_file(folder: Path, *, replications: int = 2, **changes) -> Path:
    """The tiny experiment with absolute paths, written into ``folder``."""
    raw = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    raw["replications"]["value"] = replications
    raw["scenario"] = str((TINY.parent / raw["scenario"]).resolve())
    for arm in raw["arms"]:
        if "variants" in arm:
            arm["variants"] = [str((TINY.parent / v).resolve()) for v in arm["variants"]]
    raw.update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> Path:
    """A complete store of the tiny experiment (2 replications, 8 runs), in-process."""
    store = tmp_path_factory.mktemp("swept") / "store"
    run_sweep(plan_sweep(TINY, replications=2), store, executor="inprocess")
    return store


def copy_store(store: Path, to: Path) -> Path:
    shutil.copytree(store, to)
    (to / "lock").unlink(missing_ok=True)
    return to


# -- data loss: the ownership rule -----------------------------------------------------


def test_run_leaves_a_folder_with_other_files_alone(scenario, tmp_path, capsys):
    results = tmp_path / "results"
    (results / "sub").mkdir(parents=True)
    (results / "thesis.docx").write_text("x", encoding="utf-8")
    before = listing(tmp_path)
    line = one_line_error(capsys, main(["run", str(scenario), "--out", str(results)]))
    assert "not written by 'simlib run'" in line, line
    assert listing(tmp_path) == before and (results / "sub").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"], "something was written"


def test_run_out_dot_keeps_the_working_folder(scenario, tmp_path, capsys, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(scenario, project / "s.yaml")
    (project / "notes.md").write_text("mine", encoding="utf-8")
    monkeypatch.chdir(project)
    before = listing(tmp_path)
    one_line_error(capsys, main(["run", "s.yaml", "--out", "."]))
    assert listing(tmp_path) == before


def test_run_out_naming_a_file_keeps_the_file(scenario, tmp_path, capsys):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF mine")
    line = one_line_error(capsys, main(["run", str(scenario), "--out", str(target)]))
    assert "is a file" in line, line
    assert target.read_bytes() == b"%PDF mine"
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"], "renamed or copied aside"


@pytest.mark.parametrize(
    ("command", "out"),
    [
        ("run", "/"),
        ("run", "/proc/x"),
        ("run", "{tmp}/file.txt/x"),
        ("ratings", "{tmp}/folder"),
        ("ratings", "{tmp}/file.txt/x.csv"),
        ("ratings", "/proc/x.csv"),
        ("sweep", "{tmp}/file.txt"),
        ("sweep", "{tmp}/file.txt/store"),
        ("sweep", "/"),
        ("report", "{tmp}/file.txt"),
    ],
)
def test_bad_output_paths_are_one_line(scenario, tmp_path, capsys, command, out):
    (tmp_path / "file.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    out = out.format(tmp=tmp_path)
    before = listing(tmp_path)
    args = {
        "run": ["run", str(scenario), "--out", out],
        "ratings": ["ratings", "simulate", str(scenario), "--out", out],
        "sweep": ["sweep", str(TINY), "--store", out, "--executor", "inprocess"],
        "report": ["report", str(TINY), "--out", out, "--replications", "1"],
    }[command]
    one_line_error(capsys, main(args))
    assert listing(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "folder"]


def test_rerun_replaces_its_own_folder_but_not_a_file_added_to_it(scenario, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    first = sorted(listing(out))
    assert main(["run", str(scenario), "--seed", "2", "--out", str(out)]) == 0
    assert sorted(listing(out)) == first
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    capsys.readouterr()
    (out / "notes.txt").write_text("my notes", encoding="utf-8")
    before = listing(tmp_path)
    line = one_line_error(capsys, main(["run", str(scenario), "--out", str(out)]))
    assert "notes.txt" in line, line
    assert listing(tmp_path) == before, "the folder was replaced or a file deleted"


def test_ratings_csv_is_overwritten_only_when_simlib_wrote_it(scenario, tmp_path, capsys):
    theirs = tmp_path / "survey.csv"
    theirs.write_text("ratee,rater,score\na,b,3\n", encoding="utf-8")
    line = one_line_error(
        capsys, main(["ratings", "simulate", str(scenario), "--out", str(theirs)])
    )
    assert "not written by" in line, line
    assert theirs.read_text(encoding="utf-8") == "ratee,rater,score\na,b,3\n"

    ours = tmp_path / "sim.csv"
    assert main(["ratings", "simulate", str(scenario), "--out", str(ours)]) == 0
    sidecar = json.loads((tmp_path / "sim.csv.manifest.json").read_text(encoding="utf-8"))
    assert sidecar["kind"] == "ratings" and sidecar["seed"] == 1, sidecar
    assert main(["ratings", "simulate", str(scenario), "--seed", "2", "--out", str(ours)]) == 0
    capsys.readouterr()
    with ours.open("a", encoding="utf-8") as fh:
        fh.write("edited by hand\n")
    edited = ours.read_bytes()
    one_line_error(capsys, main(["ratings", "simulate", str(scenario), "--out", str(ours)]))
    assert ours.read_bytes() == edited
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert not leftovers, leftovers


def test_sweep_store_must_be_new_empty_or_a_store(tmp_path, capsys):
    store = tmp_path / "store"
    store.mkdir()
    (store / "data.xlsx").write_text("mine", encoding="utf-8")
    args = ["sweep", str(TINY), "--store", str(store), "--executor", "inprocess"]
    line = one_line_error(capsys, main(args))
    assert "not written by 'simlib sweep'" in line, line
    assert listing(store) == {"data.xlsx": b"mine"}


def test_report_out_refuses_a_run_folder_that_is_not_its_own(tmp_path, capsys):
    plan = plan_sweep(TINY, replications=1)
    run_dir = tmp_path / "reports" / run_id_for(manifest_for(plan))
    (run_dir / "en").mkdir(parents=True)
    (run_dir / "en" / "draft.docx").write_text("mine", encoding="utf-8")
    args = ["report", str(TINY), "--lang", "en", "--replications", "1"]
    one_line_error(capsys, main([*args, "--out", str(tmp_path / "reports")]))
    assert listing(tmp_path) == {f"reports/{run_dir.name}/en/draft.docx": b"mine"}
    # The language folder on its own (a run folder that holds our store beside it).
    with pytest.raises(ConfigError, match="not written by 'simlib report'"):
        build_report(tmp_path / "nostore", run_dir, lang="en", notebooks=())
    assert (run_dir / "en" / "draft.docx").read_text(encoding="utf-8") == "mine"


# -- data loss: resume checks every run file ----------------------------------------


def test_resume_runs_damaged_files_again_and_effects_does_not_traceback(swept, tmp_path, capsys):
    store = copy_store(swept, tmp_path / "store")
    runs = sorted((store / "runs").glob("*.parquet"))
    want = {p.name: p.read_bytes() for p in runs}
    truncated, swapped = runs[0], runs[1]
    truncated.write_bytes(truncated.read_bytes()[:100])
    swapped.write_bytes(runs[2].read_bytes())  # a whole file, but another run's

    code = main(["effects", str(store), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err
    assert "2 damaged run file(s) left out" in captured.err, captured.err
    assert json.loads(captured.out)["baseline"] == "today"
    statuses = open_store(store).runs().set_index("key")["status"]
    assert statuses[truncated.stem] == "damaged" and statuses[swapped.stem] == "damaged"

    args = ["sweep", str(TINY), "--store", str(store), "--executor", "inprocess"]
    assert main([*args, "--replications", "2", "--resume"]) == 0
    out = capsys.readouterr().out
    assert "2 runs ok" in out and "2 damaged run files run again" in out, out
    assert {p.name: p.read_bytes() for p in (store / "runs").glob("*.parquet")} == want
    assert (open_store(store).runs()["status"] == "ok").all()


def test_resume_rebuilds_the_log_from_the_run_files(swept, tmp_path):
    store = copy_store(swept, tmp_path / "store")
    lines = (store / "log.jsonl").read_text(encoding="utf-8").splitlines()
    (store / "log.jsonl").write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    manifest = run_sweep(plan_sweep(TINY, replications=2), store, executor="inprocess", resume=True)
    assert manifest["sweep"]["log_lines_rebuilt"] == 5, manifest["sweep"]
    logged = [json.loads(x) for x in (store / "log.jsonl").read_text().splitlines()]
    keys = {r["key"] for r in logged if r["status"] == "ok"}
    assert keys == {r["key"] for r in manifest["runs"]}
    assert sum(bool(r.get("rebuilt")) for r in logged) == 5


# -- interrupted and concurrent work --------------------------------------------------


def _descendants(root: int) -> set[int]:
    """Processes below ``root`` (read from /proc: no psutil needed)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        children = {p for p, parent in parents.items() if parent == pid}
        found |= children
        todo.extend(children)
    return found


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie runs no code


def _wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def _count_runs(store: Path) -> int:
    folder = store / "runs"
    return len(list(folder.glob("*.parquet"))) if folder.is_dir() else 0


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_workers_stop_when_the_sweep_is_killed_and_a_second_sweep_is_refused(tmp_path):
    path = experiment_file(tmp_path, replications=100)  # 400 runs: far from done at the kill
    store = tmp_path / "store"
    command = [str(SIMLIB), "sweep", str(path), "--store", str(store)]
    proc = subprocess.Popen(
        [*command, "--executor", "processes", "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for(lambda: _count_runs(store) >= 3, timeout=120, what="the first runs")
        second = subprocess.run(
            [*command, "--executor", "inprocess", "--resume"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2, (second.returncode, second.stderr[-2000:])
        assert second.stderr.count("\n") == 1 and "another sweep" in second.stderr, second.stderr

        children = _descendants(proc.pid)
        assert len(children) >= 3, f"expected forkserver and workers, found {children}"
        os.kill(proc.pid, signal.SIGKILL)  # the main process only, as the OOM killer would
        proc.wait(timeout=30)
        _wait_for(
            lambda: not any(_running(p) for p in children),
            timeout=30,
            what=f"workers to stop after the main process died ({children})",
        )
        assert _count_runs(store) < 400, "the sweep ran to the end after its main process died"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of this test's sweep
        proc.wait(timeout=30)


def test_lock_refuses_a_second_sweep_on_the_same_store(swept, tmp_path, capsys):
    store = copy_store(swept, tmp_path / "store")
    args = ["sweep", str(TINY), "--store", str(store), "--executor", "inprocess", "--resume"]
    with lock_store(store):
        line = one_line_error(capsys, main([*args, "--replications", "2"]))
    assert "another sweep" in line and str(os.getpid()) in line, line
    assert main([*args, "--replications", "2"]) == 0, "the lock outlived its holder"


def test_a_kill_before_the_manifest_leaves_a_store_that_resumes(tmp_path, monkeypatch):
    plan = plan_sweep(TINY, replications=1)
    store = tmp_path / "store"

    def killed(*_args, **_kwargs):
        raise KeyboardInterrupt  # as if the process died while writing the manifest

    with monkeypatch.context() as patch:
        patch.setattr(experiment, "write_json", killed)
        with pytest.raises(KeyboardInterrupt):
            run_sweep(plan, store, executor="inprocess")
    manifest = run_sweep(plan, store, executor="inprocess", resume=True)
    assert manifest["sweep"]["runs_ok"] == 4, manifest["sweep"]


def test_a_store_left_without_manifest_by_older_versions_is_taken_up(tmp_path, swept):
    """Older versions created runs/ before the manifest: such a store is the workbench's."""
    store = copy_store(swept, tmp_path / "store")
    (store / "manifest.json").unlink()
    (store / "log.jsonl").unlink()
    manifest = run_sweep(plan_sweep(TINY, replications=2), store, executor="inprocess")
    assert manifest["sweep"]["runs_skipped"] == 8, manifest["sweep"]


def _killed_temp_dir(target: Path) -> Path:
    """A temporary folder left by a process that was sent SIGKILL while writing it."""
    code = (
        "import os, signal, sys; from pathlib import Path; from simlib.store import rundir; "
        "t = rundir.make_temp_dir(Path(sys.argv[1]), owned=rundir.run_folder_foreign); "
        "(t / 'outcomes.csv').write_text('half'); print(t, flush=True); "
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(target)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    left = Path(proc.stdout.strip())
    assert left.is_dir()
    return left


def test_leftovers_of_killed_runs_and_reports_are_cleaned(scenario, tmp_path):
    out = tmp_path / "run"
    killed = _killed_temp_dir(out)
    alive = tmp_path / f".run.{os.getpid()}-{rundir._HOST}-live.tmp"  # a process still at work
    alive.mkdir()
    mine = tmp_path / ".run.notes.tmp"  # not the workbench's name pattern
    mine.mkdir()
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    assert not killed.exists(), "a killed run's temporary folder was left"
    assert alive.is_dir() and mine.is_dir()

    run_dir = tmp_path / "reports" / "x"
    run_dir.mkdir(parents=True)
    killed = _killed_temp_dir(run_dir / "en")
    build_report(tmp_path, run_dir, lang="en", notebooks=())
    assert not killed.exists(), "a killed report's temporary folder was left"
    assert sorted(p.name for p in run_dir.iterdir()) == ["en"]


def test_store_files_and_manifests_are_fsynced(swept, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    synced: list[str] = []
    real = os.fsync

    def fsync(fd):
        synced.append("dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    (tmp_path / "runs").mkdir()
    table = pq.read_table(next((swept / "runs").glob("*.parquet")))
    timings: dict[str, float] = {}
    write_run_file(tmp_path, "k" * 24, table, timings=timings)
    assert synced == ["file", "dir"], synced
    assert timings["fsync_s"] >= 0
    synced.clear()
    write_json(tmp_path / "manifest.json", {"a": 1})
    assert synced == ["file", "dir"], synced


def test_run_folder_is_fsynced(scenario, tmp_path, monkeypatch):
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd)))
    assert main(["run", str(scenario), "--out", str(tmp_path / "run")]) == 0
    # Three tables as Parquet and CSV, the manifest, its folder, the new folder, the parent.
    assert len(calls) >= 9, len(calls)


def test_report_shows_the_current_names_and_labels(tmp_path, monkeypatch, capsys):
    import simlib.cli.report as report  # the command calls build_report from here

    seen = []

    def fake_build(store, run_dir, *, lang):
        seen.append(open_store(store).manifest)
        folder = Path(run_dir) / lang
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    monkeypatch.setattr(report, "build_report", fake_build)
    path = experiment_file(tmp_path / "exp", replications=1)
    args = ["report", str(path), "--out", str(tmp_path / "reports"), "--workers", "1"]
    assert main(args) == 0
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["name"] = "Renamed experiment"
    raw["arms"][1]["label"] = "Relabelled arm"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "complete; not rerun" in out, out
    assert seen[0]["runs"] == seen[1]["runs"], "the same runs, the same store"
    assert seen[1]["experiment"] == "Renamed experiment"
    assert seen[1]["arms"][1]["label"] == "Relabelled arm"
    assert seen[1]["created_at"] == seen[0]["created_at"]
