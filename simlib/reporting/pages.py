"""HTML fragments of notebooks and reports, from Jinja2 templates with autoescaping.

Every table, heading and note a notebook displays is rendered from a template in
``templates/parts/`` by :func:`render`; the environment escapes every value (user-supplied
labels included), and numbers, money, shares and dates reach the templates through the
filters of :mod:`simlib.reporting.i18n` (``num``, ``money``, ``pct``, ``value``, ``date``)
and words through ``t`` (the catalogue). :func:`figure` shows a matplotlib figure as an
image whose alternative text is its title, with the figure's data as a table beside it.
"""

from __future__ import annotations

import base64
import io
import os
from functools import cache
from pathlib import Path

import pandas as pd

from simlib.reporting import i18n

__all__ = [
    "Fragment",
    "fan_table",
    "figure",
    "frame_table",
    "heading",
    "note",
    "render",
    "save_figure",
    "section",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"


class Fragment:
    """Rendered HTML that notebooks display (``_repr_html_``) and reports embed."""

    def __init__(self, html: str) -> None:
        self.html = html

    def _repr_html_(self) -> str:
        return self.html

    def __html__(self) -> str:
        # Jinja embeds a fragment as markup: it was escaped when it was rendered.
        return self.html

    def __str__(self) -> str:
        return self.html


@cache
def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES / "parts"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=lambda v, lang, decimals=2, signed=False: i18n.format_number(
            v, lang, decimals=decimals, signed=signed
        ),
        money=lambda v, lang, signed=False: i18n.format_idr(v, lang, signed=signed),
        pct=lambda v, lang, decimals=1, signed=False: i18n.format_percent(
            v, lang, decimals=decimals, signed=signed
        ),
        value=lambda v, unit, lang, signed=False: i18n.format_value(v, unit, lang, signed=signed),
        date=lambda d, lang: i18n.format_date(d, lang),
    )
    env.globals["t"] = i18n.text
    return env


def render(template: str, /, **context) -> Fragment:
    """Render ``templates/parts/<template>`` with ``context`` (every value escaped)."""
    return Fragment(_environment().get_template(template).render(**context))


def frame_table(
    frame: pd.DataFrame, *, caption: str = "", numeric_from: int = 1, css: str = ""
) -> Fragment:
    """A table of already formatted cells: ``frame``'s columns as headers, rows as text.

    Columns from ``numeric_from`` on align right (numbers).
    """
    return render(
        "table.html.j2",
        columns=[str(c) for c in frame.columns],
        rows=[[("" if pd.isna(v) else str(v)) for v in row] for row in frame.itertuples(False)],
        caption=caption,
        numeric_from=numeric_from,
        css=css,
    )


def save_figure(fig, path: str | Path) -> Path:
    """Write ``fig`` as PNG to ``path`` (atomically: a temporary name, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format="png", dpi=120)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def figure(
    fig,
    name: str,
    *,
    lang: str,
    data: pd.DataFrame | None = None,
    figures_dir: str | Path | None = None,
) -> Fragment:
    """A figure as an image with its title as alternative text, and its data as a table.

    ``data`` holds the figure's numbers, already formatted for readers (see
    :func:`frame_table`); its table is captioned with the figure's title, so a reader who
    cannot see the image (a screen reader, a printed page in grey) reads what it shows.
    With ``figures_dir`` the PNG is also written there as ``<name>-<lang>.png``.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    if figures_dir:
        save_figure(fig, Path(figures_dir) / f"{name}-{lang}.png")
    title = fig.get_suptitle() or (fig.axes[0].get_title(loc="left") if fig.axes else name)
    table = None
    if data is not None and not data.empty:
        table = frame_table(data, caption=i18n.text("figure_data", lang, title=title))
    return render(
        "figure.html.j2",
        name=name,
        alt=title,
        src="data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"),
        table=table,
        lang=lang,
    )


def heading(title: str, *, level: int = 1, subtitle: str = "", note: str = "") -> Fragment:
    """A heading, with an optional subtitle and note under it."""
    return render("heading.html.j2", level=level, title=title, subtitle=subtitle, note=note)


def note(message: str) -> Fragment:
    """A short note in italics."""
    return render("note.html.j2", message=message)


def section(title: str, table: Fragment, *notes: str) -> Fragment:
    """A titled section holding one table and notes under it."""
    return render("table_section.html.j2", title=title, table=table, notes=list(notes))


def fan_table(
    paths: pd.DataFrame, *, unit: str, lang: str, group: str = "arm", x: str = "t_month"
) -> pd.DataFrame:
    """The numbers of a fan chart (:func:`simlib.reporting.plots.fan_chart`), for readers.

    One row per group and month: the median and the range of the middle 90 % of
    replications, formatted in ``unit``.
    """
    q = paths.groupby([group, x], sort=False)["value"].quantile([0.05, 0.5, 0.95]).unstack()
    q = q.reset_index()
    fmt = i18n.format_value
    return pd.DataFrame(
        {
            i18n.text("group", lang): q[group].astype(str),
            i18n.text("month", lang): q[x].astype(int).astype(str),
            i18n.text("median", lang): [fmt(v, unit, lang) for v in q[0.5]],
            i18n.text("band_90", lang): [
                f"{fmt(lo, unit, lang)} – {fmt(hi, unit, lang)}"
                for lo, hi in zip(q[0.05], q[0.95], strict=True)
            ],
        }
    )
