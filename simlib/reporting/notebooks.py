"""Executing the notebooks and rendering them: papermill, nbconvert, the report folder, PDF.

The notebooks are kept as jupytext percent scripts (``notebooks/NN-topic.py``, paired with
``.ipynb`` files that stay out of git). :func:`execute_notebook` reads a script with
jupytext and runs it with papermill (which also runs an ``.ipynb``); :func:`render_html`
renders an executed notebook with the Kinerja nbconvert template (code hidden for the
briefing, and with it the cells tagged ``analyst``, notes to whoever edits the notebook);
:func:`build_report` does both for every report notebook into a temporary folder that
replaces ``reports/<run id>/<lang>/`` only when everything succeeded; :func:`render_pdf`
prints the briefing to PDF with WeasyPrint. Values a notebook records for tests and tools
(:func:`record`) travel as JSON outputs that the pages leave out. Nothing here prints.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from simlib.core.errors import ConfigError
from simlib.core.paths import ROOT
from simlib.reporting import i18n
from simlib.store.rundir import (
    claim_dir,
    foreign_entries,
    make_parents,
    make_temp_dir,
    replace_dir,
    write_bytes_atomic,
)

__all__ = [
    "FORMATS",
    "NOTEBOOKS",
    "RECORD_KEY",
    "REPORT_NOTEBOOKS",
    "NotebookError",
    "build_report",
    "execute_notebook",
    "read_notebook",
    "record",
    "recorded",
    "render_html",
    "render_pdf",
    "report_foreign",
]

_DIR = ROOT / "notebooks"
#: The notebooks, by number: their jupytext percent scripts.
NOTEBOOKS = {
    "01": _DIR / "01-explore-scenario.py",
    "02": _DIR / "02-compare-policies.py",
    "03": _DIR / "03-rater-bias-360.py",
    "04": _DIR / "04-briefing.py",
    "05": _DIR / "05-calibration.py",
}

#: Metadata key of the values a notebook records for tests and tools.
RECORD_KEY = "kinerja_record"
#: Cells with this tag speak to whoever edits the notebook; briefings leave them out.
ANALYST_TAG = "analyst"

#: Notebooks of a report, with whether their code is shown. The store notebooks run first
#: (a bad store stops the report before anything else runs); 01, 03 and 05 look at the
#: experiment's scenario under its baseline policy, with the experiment's seed.
REPORT_NOTEBOOKS = (
    ("02-compare-policies", True),
    ("04-briefing", False),
    ("01-explore-scenario", True),
    ("03-rater-bias-360", True),
    ("05-calibration", True),
)
#: Output formats of ``simlib report`` (HTML always; PDF of the briefing on request).
FORMATS = ("html", "pdf")
_TITLES = {
    "01": "explore_title",
    "02": "compare_title",
    "03": "bias_title",
    "04": "briefing_title",
    "05": "calibration_title",
}
TEMPLATES = Path(__file__).resolve().parent / "templates"
KERNEL = "python3"


class NotebookError(RuntimeError):
    """A notebook failed for a reason other than bad input (a bug, not the user's)."""


# --------------------------------------------------------------------------------------
# Recorded values


class _Record:
    """Values a notebook records: JSON output tagged with :data:`RECORD_KEY`."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = json.loads(json.dumps(values, default=_json_default))

    def _repr_mimebundle_(self, include=None, exclude=None):
        # An empty text/plain keeps the object's repr out of notebooks and HTML.
        return {"application/json": self.values, "text/plain": ""}, {RECORD_KEY: True}


def record(values: dict[str, Any]) -> _Record:
    """A display object carrying ``values`` for tests and tools (invisible in HTML)."""
    return _Record(values)


def recorded(notebook) -> dict[str, Any]:
    """The values an executed notebook recorded (its outputs tagged :data:`RECORD_KEY`)."""
    values: dict[str, Any] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get(RECORD_KEY):
                values.update(output["data"]["application/json"])
    return values


def _json_default(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Path | dt.date):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --------------------------------------------------------------------------------------
# Execution and rendering


def read_notebook(path: str | Path):
    """A notebook from its jupytext script (``.py``) or an ``.ipynb``, without outputs."""
    import jupytext

    path = Path(path)
    nb = jupytext.read(path)
    nb.metadata.setdefault(
        "kernelspec", {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL}
    )
    return nb


def execute_notebook(
    notebook: str | Path, output: str | Path, *, parameters: dict[str, Any], cwd: Path = ROOT
):
    """Execute ``notebook`` with papermill into ``output``; return the executed notebook.

    Raises
    ------
    ConfigError
        If the notebook stopped on a :class:`~simlib.core.errors.ConfigError` (bad parameters
        or inputs): the message names the notebook and the parameter.
    NotebookError
        If it stopped on any other error.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    name = Path(notebook).stem
    source = read_notebook(notebook)
    try:
        with _quiet_stderr():
            return papermill.execute_notebook(
                source,
                str(output),
                parameters=parameters,
                kernel_name=KERNEL,
                progress_bar=False,
                cwd=str(cwd),
            )
    except PapermillExecutionError as exc:
        if exc.ename == "ConfigError":
            raise ConfigError(f"notebook {name}: {exc.evalue}") from None
        raise NotebookError(f"notebook {name} failed: {exc.ename}: {exc.evalue}") from None


class _quiet_stderr:
    """Send this process's stderr (and the kernel's, which inherits it) to a file.

    The kernel logs start-up notices on stderr; the notebook's own errors come back
    through papermill, so nothing a reader needs is lost.
    """

    def __enter__(self):
        import sys
        import tempfile

        sys.stderr.flush()
        self._saved = os.dup(2)
        self._log = tempfile.TemporaryFile()
        os.dup2(self._log.fileno(), 2)
        return self

    def __exit__(self, *exc_info) -> None:
        import sys

        sys.stderr.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._log.close()


def render_html(notebook, *, lang: str, title: str, hide_code: bool) -> str:
    """HTML of an executed notebook (Kinerja template; code hidden if ``hide_code``).

    Recorded values and stderr streams (warnings, progress bars) are left out of the page;
    with ``hide_code`` so are the cells tagged ``analyst``.
    """
    import copy

    from nbconvert import HTMLExporter

    nb = copy.deepcopy(notebook)
    if hide_code:
        nb.cells = [c for c in nb.cells if ANALYST_TAG not in c.get("metadata", {}).get("tags", [])]
    for cell in nb.cells:
        cell["outputs"] = [
            o
            for o in cell.get("outputs", [])
            if not o.get("metadata", {}).get(RECORD_KEY)
            and not (o.get("output_type") == "stream" and o.get("name") == "stderr")
        ]
    nb.metadata["title"] = title
    exporter = HTMLExporter(
        template_name="kinerja",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=hide_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.language_code = lang
    body, _resources = exporter.from_notebook_node(nb)
    return body


def render_pdf(html_path: str | Path, pdf_path: str | Path) -> Path:
    """Print a rendered page (the briefing) to PDF with WeasyPrint, atomically.

    The page's print stylesheet (``@media print`` in the Kinerja template) sets A4 pages,
    hides the figures' collapsible controls and starts each agency on a new page.
    """
    import logging

    from weasyprint import HTML

    # WeasyPrint logs every CSS property of JupyterLab's stylesheet it does not know.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    pdf_path = Path(pdf_path)
    data = HTML(filename=str(html_path), media_type="print").write_pdf()
    write_bytes_atomic(pdf_path, data)
    pdf_path.chmod(0o644)  # written through a private temporary file; a report is for readers
    return pdf_path


def _scenario_parameters(store: str | Path) -> dict[str, Any]:
    """Scenario and seed of the experiment behind ``store`` (for notebooks 01, 03 and 05)."""
    manifest = json.loads((Path(store) / "manifest.json").read_text(encoding="utf-8"))
    path = next(Path(i["path"]) for i in manifest["inputs"] if i["role"] == "scenario")
    # Relative paths (to the project root, as the manifest records them) keep the page free
    # of this machine's folders; the notebooks look them up from the project root.
    return {"scenario": str(path), "seed": int(manifest["seed"])}


def build_report(
    store: str | Path,
    run_dir: str | Path,
    *,
    lang: str,
    notebooks=REPORT_NOTEBOOKS,
    formats: tuple[str, ...] = ("html",),
    extra: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Execute the report notebooks and render them into ``run_dir/<lang>/``; return it.

    Everything is written into a temporary folder beside the target, which replaces
    ``run_dir/<lang>/`` only when every notebook ran and rendered: a failure leaves the
    previous report (or none), never a half-written one. Other languages' folders and
    the store in ``run_dir`` are left alone. ``run_dir/<lang>/`` must be new, empty or a
    report folder holding only what ``simlib report`` wrote (its ``manifest.json`` lists
    the files); temporary folders of killed reports are removed first. With ``"pdf"`` in
    ``formats`` the briefing is also printed to ``04-briefing.pdf``. ``extra`` adds
    parameters per notebook name (tests use it for tiny sizes).

    Raises
    ------
    ConfigError
        If ``run_dir/<lang>/`` may not be written (see :func:`simlib.store.rundir.claim_dir`),
        or a notebook stopped on bad input.
    """
    import shutil

    i18n.check_lang(lang)
    target = claim_dir(Path(run_dir) / lang, what="simlib report", owned=report_foreign)
    make_parents(target, path=run_dir)
    run_dir = target.parent
    tmp = make_temp_dir(target, owned=report_foreign)
    tmp.chmod(0o755)  # mkdtemp makes it private; a report is for readers
    try:
        for name, show_code in notebooks:
            executed = tmp / f"{name}.ipynb"
            common = {"lang": lang, "figures_dir": "figures"}
            if name[:2] in ("02", "04"):
                parameters = {"store": str(Path(store).resolve()), **common}
            else:
                parameters = {**_scenario_parameters(store), **common}
            parameters.update((extra or {}).get(name, {}))
            execute_notebook(
                NOTEBOOKS[name[:2]],
                executed,
                parameters=parameters,
                # Run inside the new folder: figures land beside the notebooks, and the
                # page shows no temporary path.
                cwd=tmp,
            )
            import nbformat  # slow to import: only once a notebook has run

            nb = nbformat.read(executed, as_version=4)
            values = recorded(nb)
            subject = values.get("title") or values.get("experiment") or values.get("scenario", "")
            title = f"{i18n.text(_TITLES[name[:2]], lang)}: {subject}"
            page = render_html(nb, lang=lang, title=title, hide_code=not show_code)
            (tmp / f"{name}.html").write_text(page, encoding="utf-8")
            if name.startswith("04") and "pdf" in formats:
                render_pdf(tmp / f"{name}.html", tmp / f"{name}.pdf")
        files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
        mark = {"kind": "report", "lang": lang, "files": files}
        text_ = json.dumps(mark, indent=2, sort_keys=True) + "\n"
        write_bytes_atomic(tmp / "manifest.json", text_.encode())
        replace_dir(tmp, target, owned=report_foreign)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


_LEGACY_REPORT = re.compile(r"\d\d-[a-z0-9-]+\.(ipynb|html|pdf)|figures/[^/]+\.png")


def report_foreign(folder: Path) -> list[str] | None:
    """``owned`` for a report's language folder (see :func:`simlib.store.rundir.claim_dir`).

    A report folder holds a ``manifest.json`` of kind ``report`` that lists its files;
    folders written before it had one are recognised by their names alone (numbered
    notebooks and pages, PNG figures).
    """
    manifest = folder / "manifest.json"

    def figures(rel: str) -> bool:
        return rel == "figures"

    if manifest.exists():
        try:
            mark = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(mark, dict) or mark.get("kind") != "report":
            return None
        ours = {"manifest.json", *map(str, mark.get("files") or [])}
        return foreign_entries(folder, ours, dirs=figures)
    entries = foreign_entries(folder, set(), dirs=figures)
    if not any(e.endswith(".html") for e in entries):
        return None
    return [] if all(_LEGACY_REPORT.fullmatch(e) for e in entries) else None
