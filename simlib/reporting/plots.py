"""Figures for notebooks and reports, drawn with matplotlib's Agg canvas.

Each function takes a tidy DataFrame and the report language and returns a
:class:`matplotlib.figure.Figure`; none of them shows or saves anything (saving is
the job of :func:`simlib.reporting.pages.figure`). Figures are built without ``pyplot``, so no
global state is touched and they can be drawn from worker processes. Axis labels and
titles come from :mod:`simlib.reporting.i18n`; money axes read ``Rp 1,5 miliar`` in Indonesian.
Model code never imports this module.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from simlib.reporting.i18n import (
    format_idr,
    format_number,
    format_percent,
    format_value,
    text,
    unit_kind,
)

__all__ = [
    "ASSESSMENT_COLOURS",
    "PALETTE",
    "adoption_curves",
    "budget_by_year",
    "effects_forest",
    "fan_chart",
    "heatmap",
    "new_figure",
    "target_bands",
    "winners_losers",
    "women_by_level",
]

#: Colours of policy arms in order (baseline first, in grey).
PALETTE = (
    "#6b6b6b", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
    "#17becf", "#bcbd22",
)  # fmt: skip
_UP, _DOWN = "#2a7f3f", "#b03030"
#: Colours of what an effect means for the reader (:func:`simlib.analysis.pooling.assess`).
ASSESSMENT_COLOURS = {
    "better": _UP,
    "worse": _DOWN,
    "changed": "#1f5fa8",
    "unclear": "#8a8a8a",
}


def new_figure(width_in: float = 8.0, height_in: float = 4.5) -> Figure:
    """An empty figure on an Agg canvas (sizes in inches)."""
    fig = Figure(figsize=(width_in, height_in), layout="constrained", dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _value_formatter(unit: str, lang: str) -> FuncFormatter:
    if unit_kind(unit) == "money":
        return FuncFormatter(lambda v, _pos: format_idr(v, lang))
    if unit_kind(unit) == "share":
        return FuncFormatter(lambda v, _pos: format_percent(v, lang, decimals=0))
    return FuncFormatter(lambda v, _pos: format_number(v, lang, decimals=2))


def _diff_axis(ax, unit: str, lang: str) -> None:
    """Format the x axis for differences; shares in percentage points (named once)."""
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    if unit_kind(unit) == "share":
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda v, _pos: format_number(100 * v, lang, decimals=1, signed=True))
        )
        ax.set_xlabel(text("percentage_points", lang), fontsize=8)
    else:
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda v, _pos: format_value(v, unit, lang, signed=True))
        )


def fan_chart(
    paths: pd.DataFrame,
    *,
    title: str,
    unit: str,
    lang: str,
    group: str = "arm",
    x: str = "t_month",
    ax=None,
) -> Figure:
    """Median path with bands holding 50 % and 90 % of replications, one colour per group.

    Parameters
    ----------
    paths
        Columns ``group``, ``x`` (months since start), ``replication`` and ``value``.
    title
        Figure title (already in the report language).
    unit
        Unit of ``value`` (``"IDR"``, ``"share of ..."``, ...): chooses the axis format.
    lang
        Report language, ``"id"`` or ``"en"``.
    group
        Column naming the line (policy arm or policy).
    x
        Column with the time axis, in months.
    ax
        Axes to draw on; a new figure is made if omitted.
    """
    fig, ax = _figure_and_axes(ax)
    for i, (name, part) in enumerate(paths.groupby(group, sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        q = part.groupby(x)["value"].quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
        ax.fill_between(q.index, q[0.05], q[0.95], color=colour, alpha=0.12, linewidth=0)
        ax.fill_between(q.index, q[0.25], q[0.75], color=colour, alpha=0.25, linewidth=0)
        ax.plot(q.index, q[0.5], color=colour, linewidth=2, label=_plain(name))
    ax.set_title(title, loc="left", fontsize=11)
    ax.set_xlabel(text("month", lang))
    ax.yaxis.set_major_formatter(_value_formatter(unit, lang))
    ax.grid(alpha=0.3)
    _handles, labels = ax.get_legend_handles_labels()
    if labels:
        ax.legend(fontsize=8, frameon=False)
    ax.annotate(
        f"{text('median', lang)}; {text('band_50', lang)}; {text('band_90', lang)}",
        xy=(0, -0.18),
        xycoords="axes fraction",
        fontsize=7,
        color="#555555",
    )
    return fig


def adoption_curves(paths: pd.DataFrame, *, lang: str, group: str = "arm", ax=None) -> Figure:
    """Share of employees who adopted the new rules over time, one fan per arm."""
    fig = fan_chart(
        paths, title=text("fig_adoption", lang), unit="share", lang=lang, group=group, ax=ax
    )
    fig.axes[0].set_ylim(0, 1)
    return fig


def effects_forest(effects: pd.DataFrame, *, lang: str) -> Figure:
    """Forest plot: each arm's difference from baseline with its 95 % interval, per metric.

    Each effect is coloured by what it means for the reader: green for a clear change
    for the better, red for the worse, blue for a clear change of a metric with no better
    direction, grey when the interval includes zero (:data:`ASSESSMENT_COLOURS`). So a
    rise in cost is red, a rise in performance green.

    Parameters
    ----------
    effects
        Columns ``label`` (arm), ``metric_label``, ``unit``, ``difference``, ``ci_low``,
        ``ci_high`` and ``better`` (``"higher"``, ``"lower"`` or ``""``, see
        :func:`simlib.analysis.pooling.better`; missing means no better direction); one
        row per arm and metric. Metrics are drawn as stacked panels, in order of first
        appearance.
    lang
        Report language.
    """
    from simlib.analysis.pooling import assess

    metrics = list(dict.fromkeys(effects["metric_label"]))
    arms = list(dict.fromkeys(effects["label"]))
    fig = new_figure(8.0, 0.6 + 0.35 * len(arms) * len(metrics) + 0.45 * len(metrics))
    axes = fig.subplots(len(metrics), 1, squeeze=False)[:, 0]
    for ax, metric in zip(axes, metrics, strict=True):
        part = effects[effects["metric_label"] == metric].set_index("label").reindex(arms)
        y = np.arange(len(arms))[::-1]
        directions = part["better"].fillna("") if "better" in part else [""] * len(part)
        colours = [
            ASSESSMENT_COLOURS[assess(d, lo, hi, b)]
            for d, lo, hi, b in zip(
                part["difference"], part["ci_low"], part["ci_high"], directions, strict=True
            )
        ]
        ax.hlines(y, part["ci_low"], part["ci_high"], colors=colours, linewidth=2)
        ax.scatter(part["difference"], y, color=colours, zorder=3, s=30)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(y, [_plain(a) for a in arms], fontsize=8)
        ax.set_title(_plain(metric), loc="left", fontsize=9)
        unit = str(part["unit"].dropna().iloc[0]) if part["unit"].notna().any() else ""
        _diff_axis(ax, unit, lang)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.set_ylim(-0.7, len(arms) - 0.3)
    fig.suptitle(text("fig_effects", lang), x=0.01, ha="left", fontsize=11)
    return fig


def budget_by_year(budget: pd.DataFrame, *, lang: str) -> Figure:
    """Tukin paid per year and arm (mean with 90 % range of replications) against the cap.

    Parameters
    ----------
    budget
        Columns ``label`` (arm), ``year``, ``paid_idr``, ``paid_low_idr``,
        ``paid_high_idr`` and ``cap_idr``; one row per arm and year.
    lang
        Report language.
    """
    arms = list(dict.fromkeys(budget["label"]))
    fig = new_figure(8.0, 4.5 + 0.22 * ((len(arms) + 2) // 2))
    ax = fig.subplots()
    years = sorted(budget["year"].unique())
    width = 0.8 / max(len(arms), 1)
    x0 = np.arange(len(years))
    for i, arm in enumerate(arms):
        part = budget[budget["label"] == arm].set_index("year").reindex(years)
        x = x0 - 0.4 + width * (i + 0.5)
        err = [
            (part["paid_idr"] - part["paid_low_idr"]).clip(lower=0),
            (part["paid_high_idr"] - part["paid_idr"]).clip(lower=0),
        ]
        ax.bar(x, part["paid_idr"], width * 0.9, color=PALETTE[i % len(PALETTE)], label=_plain(arm))
        ax.errorbar(x, part["paid_idr"], yerr=err, fmt="none", ecolor="black", capsize=2)
        cap_label = text("cap", lang) if i == 0 else None
        ax.hlines(part["cap_idr"], x - width / 2, x + width / 2, colors="black",
                  linestyles="dashed", linewidth=1.5, label=cap_label)  # fmt: skip
    ax.set_xticks(x0, [str(y) for y in years])
    ax.set_xlabel(text("year", lang))
    ax.yaxis.set_major_formatter(_value_formatter("IDR", lang))
    ax.set_title(text("fig_budget", lang), loc="left", fontsize=11)
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    ax.grid(axis="y", alpha=0.3)
    return fig


def winners_losers(groups: pd.DataFrame, *, lang: str, unit: str = "IDR") -> Figure:
    """Horizontal bars: each group's change against baseline (green gains, red losses).

    Parameters
    ----------
    groups
        Columns ``label`` (arm), ``group``, ``difference`` and optionally ``ci_low`` and
        ``ci_high``; one row per arm and group.
    lang
        Report language.
    unit
        Unit of ``difference`` (default rupiah).
    """
    arms = list(dict.fromkeys(groups["label"]))
    n_groups = groups.groupby("label")["group"].nunique().max()
    ncols = 2 if len(arms) > 3 else 1
    nrows = -(-len(arms) // ncols)
    fig = new_figure(5.0 * ncols, 0.8 + (0.24 * n_groups + 0.6) * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True).ravel()
    for ax in axes[len(arms) :]:
        ax.set_visible(False)
    for ax, arm in zip(axes, arms, strict=False):
        part = groups[groups["label"] == arm]
        y = np.arange(len(part))[::-1]
        colours = [_UP if d >= 0 else _DOWN for d in part["difference"]]
        ax.barh(y, part["difference"], color=colours, height=0.7)
        if {"ci_low", "ci_high"} <= set(part.columns):
            err = [
                (part["difference"] - part["ci_low"]).clip(lower=0),
                (part["ci_high"] - part["difference"]).clip(lower=0),
            ]
            ax.errorbar(part["difference"], y, xerr=err, fmt="none", ecolor="black", capsize=2)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(y, [_plain(g) for g in part["group"]], fontsize=8)
        ax.set_title(_plain(arm), loc="left", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        _diff_axis(ax, unit, lang)
        ax.tick_params(axis="x", labelsize=8, labelbottom=True)
    fig.suptitle(text("fig_winners", lang), x=0.01, ha="left", fontsize=11)
    return fig


def heatmap(
    matrix: pd.DataFrame, *, title: str, lang: str, decimals: int = 2, diverging: bool = True
) -> Figure:
    """Annotated heatmap of a table (rows x columns); NaN cells are grey and read "–".

    Parameters
    ----------
    matrix
        The values, with row and column labels as index and columns.
    title
        Figure title (already in the report language).
    lang
        Report language (number format of the annotations).
    decimals
        Decimals shown in each cell.
    diverging
        Centre the colour scale on zero (for errors and biases) rather than span the data.
    """
    values = matrix.to_numpy(dtype=float)
    fig = new_figure(1.8 + 1.25 * matrix.shape[1], 1.2 + 0.45 * matrix.shape[0])
    ax = fig.subplots()
    finite = values[np.isfinite(values)]
    if diverging:
        bound = float(np.abs(finite).max()) if finite.size else 1.0
        vmin, vmax, cmap = -bound or -1.0, bound or 1.0, "RdBu_r"
    else:
        vmin = float(finite.min()) if finite.size else 0.0
        vmax = float(finite.max()) if finite.size else 1.0
        cmap = "viridis"
    masked = np.ma.masked_invalid(values)
    colours = matplotlib.colormaps[cmap].with_extremes(bad="#dddddd")
    image = ax.imshow(masked, cmap=colours, vmin=vmin, vmax=vmax, aspect="auto")
    for (r, c), v in np.ndenumerate(values):
        label = format_number(v, lang, decimals=decimals) if np.isfinite(v) else "–"
        dark = np.isfinite(v) and abs(v - (vmin + vmax) / 2) > 0.35 * (vmax - vmin)
        ax.text(c, r, label, ha="center", va="center", fontsize=8,
                color="white" if dark else "black")  # fmt: skip
    ax.set_xticks(range(matrix.shape[1]), [_plain(c) for c in matrix.columns], fontsize=8,
                  rotation=20, ha="right")  # fmt: skip
    ax.set_yticks(range(matrix.shape[0]), [_plain(r) for r in matrix.index], fontsize=8)
    ax.set_title(title, loc="left", fontsize=11)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def _plain(label: object) -> str:
    """A user-supplied label as plain text: ``$`` would otherwise start matplotlib math."""
    return str(label).replace("$", r"\$")


def _figure_and_axes(ax):
    if ax is not None:
        return ax.figure, ax
    fig = new_figure()
    return fig, fig.subplots()


def target_bands(fit: pd.DataFrame, *, lang: str, columns: dict[str, str]) -> Figure:
    """Simulated values against observed targets, in units of each target's tolerance.

    Each target is a row; the grey band is its tolerance (observed ± tolerance, so -1 to
    +1 on this scale) and each point a simulated mean, ``(simulated - observed) /
    tolerance``. Targets of any unit share one axis this way.

    Parameters
    ----------
    fit
        One row per target: ``target`` (its reader's name) and a column per set of
        simulated values, each already as ``z`` (standardised distance).
    lang
        Report language.
    columns
        Column of ``fit`` -> legend label, in drawing order.
    """
    targets = list(fit["target"])
    fig = new_figure(8.0, 1.2 + 0.28 * len(targets))
    ax = fig.subplots()
    y = np.arange(len(targets))[::-1]
    ax.axvspan(-1, 1, color="#d9d9d9", alpha=0.8, linewidth=0, label=text("tolerance", lang))
    ax.axvline(0, color="black", linewidth=0.8)
    markers = ("o", "D", "s")
    for i, (column, label) in enumerate(columns.items()):
        z = fit[column].to_numpy(dtype=float)
        shown = np.clip(z, -6, 6)
        ax.scatter(shown, y, s=28, marker=markers[i % 3], color=PALETTE[(i + 1) % len(PALETTE)],
                   label=_plain(label), zorder=3)  # fmt: skip
        for yy, zz, ss in zip(y, z, shown, strict=True):
            if np.isfinite(zz) and zz != ss:
                ax.annotate(format_number(zz, lang, decimals=0), (ss, yy), fontsize=6,
                            xytext=(3, 3), textcoords="offset points")  # fmt: skip
    ax.set_yticks(y, [_plain(t) for t in targets], fontsize=7)
    ax.set_xlim(-6.5, 6.5)
    ax.set_xlabel("(sim − obs) / tol", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(
        fontsize=7,
        frameon=False,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.06 - 0.6 / len(targets)),
        ncol=3,
    )
    ax.set_title(text("fig_calibration", lang), loc="left", fontsize=11)
    return fig


def women_by_level(levels: pd.DataFrame, *, lang: str) -> Figure:
    """Women's share at each level of the position ladder, one colour per arm.

    Each point is the mean over replications, its bar the interval of the mean and the
    shaded band the central range of single replications (as
    :func:`simlib.analysis.careers.careers_by_level` gives them, shares clipped to 0-1).

    Parameters
    ----------
    levels
        Columns ``label`` (arm), ``level`` (1 = bottom), ``mean``, ``ci_low``,
        ``ci_high``, ``range_low`` and ``range_high``; one row per arm and level.
    lang
        Report language.
    """
    arms = list(dict.fromkeys(levels["label"]))
    fig = new_figure(8.0, 4.2 + 0.22 * ((len(arms) + 1) // 2))
    ax = fig.subplots()
    step = 0.12 if len(arms) > 1 else 0.0
    for i, arm in enumerate(arms):
        part = levels[levels["label"] == arm].sort_values("level")
        colour = PALETTE[(i + 1) % len(PALETTE)]
        x = part["level"].to_numpy(dtype=float) + step * (i - (len(arms) - 1) / 2)
        mean = part["mean"].to_numpy(dtype=float)
        ax.fill_between(x, part["range_low"], part["range_high"], color=colour, alpha=0.12,
                        linewidth=0)  # fmt: skip
        err = [
            np.clip(mean - part["ci_low"].to_numpy(dtype=float), 0, None),
            np.clip(part["ci_high"].to_numpy(dtype=float) - mean, 0, None),
        ]
        ax.errorbar(x, mean, yerr=err, fmt="o-", color=colour, capsize=3, markersize=5,
                    linewidth=1.5, label=_plain(arm))  # fmt: skip
    ticks = sorted(levels["level"].unique())
    ax.set_xticks(ticks, [str(int(t)) for t in ticks])
    ax.set_xlabel(text("level", lang))
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(_value_formatter("share", lang))
    ax.set_ylabel(text("women_share", lang))
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(text("fig_women_by_level", lang), loc="left", fontsize=11)
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    return fig
