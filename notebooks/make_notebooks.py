"""Write the numbered notebooks from the cell sources below (without outputs).

Run after changing a notebook's cells: ``.venv/bin/python notebooks/make_notebooks.py``.
A test checks that the committed notebooks equal what this script writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

IMPORTS = "from IPython.display import display\n\nfrom simlib.reporting import report\n"

NOTEBOOKS: dict[str, list[str]] = {
    "01-explore-scenario": [
        """# Explore one scenario under one policy: a few replications, time paths.
# Paths are relative to this folder or to the project root.
scenario = "data/scenarios/district_health_office.yaml"
policy = ""  # a policy or variant YAML; empty for the scenario baseline
seed = 1
replications = 3
lang = "id"  # "id" (Bahasa Indonesia) or "en"
figures_dir = ""  # folder for PNG figures; empty for none""",
        IMPORTS
        + """
p = report.explore_parameters(
    scenario=scenario,
    policy=policy,
    seed=seed,
    replications=replications,
    lang=lang,
    figures_dir=figures_dir,
)""",
        "run = report.explore(p)\ndisplay(report.explore_header(run))",
        'display(report.explore_figure(run, "performance"))',
        'display(report.explore_figure(run, "pay"))',
        'display(report.explore_figure(run, "budget"))',
        'display(report.explore_figure(run, "adoption"))',
        "display(report.explore_summary(run))",
        "display(report.explore_record(run))",
    ],
    "02-compare-policies": [
        """# Compare an experiment's policies with its baseline, from a run store.
# Make the store with `simlib report` (or simlib.experiment.sweep.run_sweep).
store = ""  # folder of the run store
confidence = 0.95
lang = "id"  # "id" (Bahasa Indonesia) or "en"
figures_dir = ""  # folder for PNG figures; empty for none""",
        IMPORTS
        + """
p = report.compare_parameters(
    store=store, confidence=confidence, lang=lang, figures_dir=figures_dir
)""",
        "cmp = report.compare(p)\ndisplay(report.compare_header(cmp))",
        'display(report.compare_section(cmp, "effects"))',
        'display(report.compare_figure(cmp, "effects"))',
        'display(report.compare_section(cmp, "resistance"))',
        'display(report.compare_figure(cmp, "adoption"))',
        'display(report.compare_section(cmp, "budget"))',
        'display(report.compare_figure(cmp, "budget"))',
        'display(report.compare_section(cmp, "winners"))',
        'display(report.compare_figure(cmp, "winners"))',
        "display(report.compare_record(cmp))",
    ],
    "03-rater-bias-360": [
        """# 360-degree rating bias: simulate ratings with known truth (or load a CSV),
# decompose their variance, compare aggregation rules against the truth.
scenario = "data/scenarios/district_health_office.yaml"
policy = "data/policies/pp30_360.yaml"  # empty for the scenario baseline, made 360
seed = 1
quarters = 1
ratings = ""  # a long-format rating CSV to load instead of simulating; empty to simulate
ratee_column = "ratee"
rater_column = "rater"
score_column = "score"
source_column = ""  # optional
true_score_column = ""  # optional
min_raters = 3  # groups with fewer raters are withheld
lang = "id"  # "id" (Bahasa Indonesia) or "en"
figures_dir = ""  # folder for PNG figures; empty for none""",
        IMPORTS
        + """
p = report.rater_parameters(
    scenario=scenario,
    policy=policy,
    seed=seed,
    quarters=quarters,
    ratings=ratings,
    ratee_column=ratee_column,
    rater_column=rater_column,
    score_column=score_column,
    source_column=source_column,
    true_score_column=true_score_column,
    min_raters=min_raters,
    lang=lang,
    figures_dir=figures_dir,
)""",
        "lab = report.rater_lab(p)\ndisplay(report.rater_header(lab))",
        'display(report.rater_tables(lab, "variance"))',
        'display(report.rater_figure(lab, "variance"))',
        'display(report.rater_tables(lab, "rules"))',
        'display(report.rater_figure(lab, "rules"))',
        'display(report.rater_figure(lab, "bias"))',
        "display(report.rater_record(lab))",
    ],
    "04-briefing": [
        """# Briefing: executive summary, key figures, assumptions and provenance of a run store.
# Rendered without code by `simlib report`.
store = ""  # folder of the run store
lang = "id"  # "id" (Bahasa Indonesia) or "en"
figures_dir = ""  # folder for PNG figures; empty for none""",
        IMPORTS
        + """
p = report.compare_parameters(store=store, confidence=0.95, lang=lang, figures_dir=figures_dir)""",
        'b = report.compare(p, briefing=True)\ndisplay(report.briefing_section(b, "summary"))',
        'display(report.briefing_section(b, "figures"))',
        'display(report.compare_figure(b, "effects"))',
        'display(report.compare_figure(b, "budget"))',
        'display(report.compare_figure(b, "adoption"))',
        'display(report.compare_figure(b, "winners"))',
        'display(report.briefing_section(b, "assumptions"))',
        'display(report.briefing_section(b, "provenance"))',
        "display(report.compare_record(b))",
    ],
}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` without outputs; its first cell is tagged ``parameters``."""
    cells = []
    for i, source in enumerate(NOTEBOOKS[name]):
        cell = nbformat.v4.new_code_cell(source)
        cell.id = f"{name[:2]}-cell-{i:02d}"
        if i == 0:
            cell.metadata["tags"] = ["parameters"]
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def main() -> int:
    """Write every notebook next to this script."""
    for name in NOTEBOOKS:
        nbformat.write(build(name), HERE / f"{name}.ipynb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
