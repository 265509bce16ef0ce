"""Figures: each draws what it is given, in the report's language, without pyplot."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from simlib.reporting import plots


def tick_labels(ax, axis: str = "y") -> list[str]:
    ax.figure.canvas.draw()
    ticks = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    return [t.get_text() for t in ticks]


def paths(groups=("Baseline", "Reform"), months=(2, 5, 8), reps=3, scale=1.0) -> pd.DataFrame:
    rows = [
        {"arm": g, "t_month": m, "replication": r, "value": scale * (i + m + 0.1 * r)}
        for i, g in enumerate(groups)
        for m in months
        for r in range(reps)
    ]
    return pd.DataFrame(rows)


def test_model_side_never_imports_matplotlib_and_plots_avoid_pyplot():
    code = (
        "import sys, simlib, simlib.engine.model, simlib.reporting.notebooks, simlib.reporting.briefing; "
        "assert 'matplotlib' not in sys.modules, 'model side imported matplotlib'; "
        "import simlib.reporting.plots; "
        "assert 'matplotlib.pyplot' not in sys.modules, 'plots imported pyplot'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_fan_chart_money_axis_in_indonesian():
    fig = plots.fan_chart(paths(scale=1e9), title="Tukin", unit="IDR", lang="id")
    ax = fig.axes[0]
    labels = [t for t in tick_labels(ax) if t]
    assert any("miliar" in t for t in labels), labels
    assert [line.get_label() for line in ax.get_lines()] == ["Baseline", "Reform"]
    assert "Bulan" in ax.get_xlabel(), ax.get_xlabel()


def test_fan_chart_english_axis():
    fig = plots.fan_chart(paths(scale=1e6), title="Pay", unit="IDR", lang="en")
    labels = [t for t in tick_labels(fig.axes[0]) if t]
    assert any("million" in t for t in labels), labels


def effects_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": ["A", "B", "A", "B"],
            "metric_label": ["Performance", "Performance", "Cost", "Cost"],
            "unit": ["SD units", "SD units", "IDR over the horizon", "IDR over the horizon"],
            "difference": [0.1, -0.02, 2e9, -1e9],
            "ci_low": [0.05, -0.05, 1e9, -1.5e9],
            "ci_high": [0.15, 0.01, 3e9, -0.5e9],
        }
    )


def test_effects_forest_one_panel_per_metric():
    fig = plots.effects_forest(effects_frame(), lang="en")
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == ["Performance", "Cost"], titles
    cost = [t for t in tick_labels(fig.axes[1], "x") if t]
    assert any("billion" in t for t in cost), cost
    assert "95%" in fig.get_suptitle(), fig.get_suptitle()


def test_budget_by_year_draws_cap_per_arm():
    budget = pd.DataFrame(
        {
            "label": ["A", "A", "B", "B"],
            "year": ["2025", "2026", "2025", "2026"],
            "paid_idr": [40e9, 41e9, 38e9, 39e9],
            "paid_low_idr": [39e9, 40e9, 37e9, 38e9],
            "paid_high_idr": [41e9, 42e9, 39e9, 40e9],
            "cap_idr": [44e9, 44e9, 44e9, 44e9],
        }
    )
    fig = plots.budget_by_year(budget, lang="id")
    ax = fig.axes[0]
    assert len(ax.patches) == 4, len(ax.patches)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Pagu" in legend, legend


def test_winners_losers_colours_gains_and_losses():
    groups = pd.DataFrame(
        {
            "label": ["A", "A"],
            "group": ["Gol. I", "Gol. IV"],
            "difference": [1e6, -2e6],
            "ci_low": [0.5e6, -2.5e6],
            "ci_high": [1.5e6, -1.5e6],
        }
    )
    fig = plots.winners_losers(groups, lang="id")
    bars = fig.axes[0].patches
    colours = [tuple(np.round(b.get_facecolor(), 3)) for b in bars]
    assert colours[0] != colours[1], colours
    assert "Perubahan" in fig.get_suptitle(), fig.get_suptitle()


def test_heatmap_withheld_cells_read_as_dash():
    matrix = pd.DataFrame({"F": [0.5, np.nan], "M": [0.25, -0.1]}, index=["peer", "boss"])
    fig = plots.heatmap(matrix, title="Bias", lang="id")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["0,50", "0,25", "–", "−0,10"], texts


@pytest.mark.parametrize("lang", ["id", "en"])
def test_adoption_curves_share_axis(lang):
    frame = paths(scale=0.01)
    fig = plots.adoption_curves(frame, lang=lang)
    assert fig.axes[0].get_ylim() == (0, 1)
    labels = [t for t in tick_labels(fig.axes[0]) if t]
    assert all(t.endswith("%") for t in labels), labels


def test_user_labels_are_plain_text_not_math():
    frame = paths(groups=("Rp $2 $ bonus", "A_b"))
    fig = plots.fan_chart(frame, title="t", unit="IDR", lang="en")
    fig.canvas.draw()  # mathtext would fail or eat the dollars here
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == [r"Rp \$2 \$ bonus", "A_b"], labels
