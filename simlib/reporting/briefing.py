"""Comparisons and briefings from a run store: what a reader sees, in the reader's language.

The store notebooks (``02-compare-policies``, ``04-briefing``) compute their effects with
the public analysis API (:func:`simlib.analysis.effects.paired_effects` and the budget,
resistance and winners families) and hand the tables to the functions here, which
put readers' names on them and render them from templates (:mod:`simlib.reporting.pages`):

- :func:`read_store`: the experiment as a reader names it (labels and descriptions in the
  report language when the experiment file gives them, scenario name, horizon, agencies);
- :func:`headline`: the headline effects with labels, the direction that is better and
  what each effect means (:func:`simlib.analysis.pooling.assess`), and the arm's
  assumption-only inputs;
- sections (:func:`header`, :func:`summary`, :func:`effects_section`, :func:`assumptions`,
  :func:`agency_pages`, :func:`provenance`) and figures with their data
  (:func:`effects_figure`, :func:`budget_figure`, :func:`adoption_figure`,
  :func:`winners_figure`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simlib.analysis.pooling import assess, better
from simlib.core.errors import ConfigError
from simlib.core.paths import ROOT
from simlib.engine.outcomes import OUTCOMES
from simlib.reporting import i18n, pages
from simlib.reporting.i18n import format_value, metric_label, text
from simlib.reporting.stores import run_id_for

__all__ = [
    "BRIEFING_HEADLINE",
    "HEADLINE",
    "StoreView",
    "adoption_figure",
    "agency_pages",
    "assumptions",
    "budget_figure",
    "effects_figure",
    "effects_section",
    "header",
    "headline",
    "provenance",
    "read_store",
    "summary",
    "winners_figure",
]

#: Headline outcomes at the horizon: (metric, period kind), in the order shown.
HEADLINE = (
    ("mean_true_performance", "year"),
    ("rating_accuracy", "year"),
    ("pay_performance_corr", "year"),
    ("adoption_share", "quarter"),
    ("resisting_share", "quarter"),
    ("mean_fairness", "quarter"),
)
#: The briefing's shorter list (total cost from the budget family is added to both).
BRIEFING_HEADLINE = ("mean_true_performance", "rating_accuracy", "adoption_share")
#: Columns of the second, assumption-uncertainty interval, when the effects carry one
#: (:func:`simlib.analysis.effects` adds them when the experiment samples its assumptions).
ASSUMPTION_INTERVAL = ("psa_low", "psa_high")

_MEANINGS = {o.name: o.meaning for o in OUTCOMES}


@dataclass(eq=False)
class StoreView:
    """An experiment's store as a reader names it (see :func:`read_store`)."""

    store: Any
    lang: str
    run_id: str
    title: str
    description: str
    labels: dict[str, str]
    descriptions: dict[str, str]
    scenario: str
    horizon: str
    agencies: list[str]
    one_language: bool
    assumed: pd.DataFrame
    figures: list[str] = field(default_factory=list)

    @property
    def manifest(self) -> dict[str, Any]:
        """The store's manifest."""
        return self.store.manifest

    @property
    def baseline(self) -> str:
        """Name of the baseline arm."""
        return self.manifest["baseline"]

    @property
    def arms(self) -> list[str]:
        """The arms compared with the baseline, in the experiment's order."""
        return [a["name"] for a in self.manifest["arms"] if a["name"] != self.baseline]

    @property
    def failed_runs(self) -> int:
        """Runs of the store that failed (not counted)."""
        runs = self.store.runs()
        return int((runs["status"] == "failed").sum()) if "status" in runs else 0


def read_store(store, *, lang: str) -> StoreView:
    """What a report says about ``store`` (:func:`simlib.store.runstore.open_store`).

    Labels and descriptions come in ``lang`` when the experiment file gives both
    languages (``label: {id: ..., en: ...}``); otherwise as written, and
    :attr:`StoreView.one_language` is set so the report can say so once.
    """
    from simlib.analysis.assumptions import arm_assumptions

    i18n.check_lang(lang)
    m = store.manifest
    given: list[bool] = []

    def say(value: object) -> str:
        shown, other = i18n.localized(value, lang)
        if shown:
            given.append(not isinstance(value, dict) or other is not None)
        return shown

    title = say(m.get("experiment", ""))
    description = say(m.get("description", ""))
    labels = {a["name"]: say(a.get("label") or a["name"]) for a in m["arms"]}
    descriptions = {a["name"]: say(a.get("description", "")) for a in m["arms"]}
    directory = Path(store.path)
    # A store in reports/<run id>/store (simlib report's layout) takes its folder's id,
    # which stays the same when a stopping rule adds replications.
    run_id = directory.resolve().parent.name if directory.name == "store" else run_id_for(m)
    ledger = store.ledger()
    return StoreView(
        store=store,
        lang=lang,
        run_id=run_id,
        title=title,
        description=description,
        labels=labels,
        descriptions=descriptions,
        scenario=_scenario_name(m),
        horizon=_horizon(ledger, lang),
        agencies=sorted(store.outcomes()["agency"].unique().tolist()),
        one_language=any(given),
        assumed=arm_assumptions(m),
    )


def _scenario_name(manifest: dict[str, Any]) -> str:
    """The scenario's name as its file gives it (not the file name)."""
    from simlib.params.scenario import load_scenario

    for item in manifest.get("inputs", []):
        if item.get("role") == "scenario":
            path = Path(item["path"])
            path = path if path.is_absolute() else ROOT / path
            try:
                return load_scenario(path).name
            except (OSError, ConfigError):  # moved or changed since: the manifest names it
                return path.stem
    return "?"


def _horizon(ledger: pd.DataFrame, lang: str) -> str:
    if ledger.empty:
        return "?"
    months = int(ledger["t_month"].max()) + 1
    return f"{sorted(ledger['year'].unique())[-1]} ({months} {text('months', lang)})"


# --------------------------------------------------------------------------------------
# Tables


def headline(
    view: StoreView,
    effects: pd.DataFrame,
    budget: pd.DataFrame | None = None,
    *,
    metrics: Sequence[str] = tuple(m for m, _ in HEADLINE),
) -> pd.DataFrame:
    """Headline effects, one row per arm and metric, ready for readers.

    ``effects`` are paired effects at the horizon (:func:`simlib.analysis.effects.horizon`
    then :func:`~simlib.analysis.effects.paired_effects`), ``budget`` the budget family
    (its total cost is added). Adds ``label`` (the arm's), ``metric_label``, ``better``
    (the direction that is an improvement), ``assessment`` (``better``, ``worse``,
    ``changed`` or ``unclear``) and ``assumed`` (the arm's inputs sourced only as
    assumption, comma-separated).
    """
    kinds = dict(HEADLINE)
    parts = [
        effects[(effects["metric"] == m) & (effects["period_kind"] == kinds.get(m, "year"))]
        for m in metrics
    ]
    if budget is not None:
        parts.append(budget[budget["metric"] == "total_cost_idr"])
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=[*effects.columns, "label", "metric_label", "assessment"])
    table = pd.concat(parts, ignore_index=True)
    table = table[table["arm"].isin(view.arms)].copy()
    return _readable(view, table)


def _readable(view: StoreView, table: pd.DataFrame) -> pd.DataFrame:
    lang = view.lang
    table["label"] = table["arm"].map(view.labels)
    table["metric_label"] = [
        metric_label(m, lang, meaning=_MEANINGS.get(m)) for m in table["metric"]
    ]
    table["better"] = [better(m) for m in table["metric"]]
    table["assessment"] = [
        assess(r.difference, r.ci_low, r.ci_high, r.better) for r in table.itertuples()
    ]
    assumed = view.assumed.groupby("arm")["parameter"].agg(", ".join)
    table["assumed"] = table["arm"].map(assumed).fillna("")
    order = {a: i for i, a in enumerate(view.arms)}
    return table.sort_values("arm", key=lambda s: s.map(order), kind="stable")


def _interval(low: float, high: float, unit: str, lang: str) -> str:
    """``[low; high]`` in the difference's unit, the unit word left to the estimate."""

    def bare(value: float) -> str:
        shown = format_value(value, unit, lang, signed=True)
        for word in (" poin persen", " pp", " SD"):
            shown = shown.removesuffix(word)
        return shown

    return f"[{bare(low)}; {bare(high)}]"


def _effect_rows(table: pd.DataFrame, lang: str) -> list[dict[str, Any]]:
    rows = []
    has_au = set(ASSUMPTION_INTERVAL) <= set(table.columns)
    for r in table.itertuples():
        unit = str(r.unit)
        au = ""
        if has_au and pd.notna(getattr(r, ASSUMPTION_INTERVAL[0])):
            au = _interval(*(getattr(r, c) for c in ASSUMPTION_INTERVAL), unit, lang)
        rows.append(
            {
                "label": r.label,
                "metric": r.metric_label,
                "baseline": format_value(r.baseline_mean, unit, lang),
                "arm": format_value(r.arm_mean, unit, lang),
                "difference": format_value(r.difference, unit, lang, signed=True),
                "interval": _interval(r.ci_low, r.ci_high, unit, lang),
                "assumption_interval": au,
                "n": int(r.n),
                "assessment": r.assessment,
                "better": text(f"better_{r.better or 'none'}", lang),
                "assumed": getattr(r, "assumed", ""),
            }
        )
    return rows


# --------------------------------------------------------------------------------------
# Sections


def header(view: StoreView, *, title_key: str = "compare_title") -> pages.Fragment:
    """Title, description, the arms compared, and the notes on intervals and languages."""
    return pages.render(
        "header.html.j2",
        lang=view.lang,
        title=f"{text(title_key, view.lang)}: {view.title}",
        description=view.description,
        arms=_arm_rows(view),
        one_language=view.one_language,
        failed=view.failed_runs,
    )


def _arm_rows(view: StoreView) -> list[dict[str, str]]:
    return [
        {
            "label": view.labels[a["name"]],
            "description": view.descriptions[a["name"]],
            "baseline": a["name"] == view.baseline,
        }
        for a in view.manifest["arms"]
    ]


def effects_section(view: StoreView, table: pd.DataFrame, *, title_key: str = "effects"):
    """A section of effects: each row coloured by what it means for the reader."""
    has_au = (
        set(ASSUMPTION_INTERVAL) <= set(table.columns)
        and table[ASSUMPTION_INTERVAL[0]].notna().any()
    )
    return pages.render(
        "effects.html.j2",
        lang=view.lang,
        title=text(title_key, view.lang),
        rows=_effect_rows(table, view.lang),
        assumption_interval=bool(has_au),
        empty=text("no_variants", view.lang),
    )


def summary(view: StoreView, table: pd.DataFrame, budget: pd.DataFrame) -> pages.Fragment:
    """The executive summary: the experiment in one sentence, findings, a grid of effects."""
    lang = view.lang
    m = view.manifest
    intro = text(
        "summary_intro",
        lang,
        name=view.title,
        n_arms=len(view.arms),
        baseline=view.labels.get(view.baseline, view.baseline),
        scenario=view.scenario,
        reps=m.get("replications", "?"),
        horizon=view.horizon,
    )
    return pages.render(
        "summary.html.j2",
        lang=lang,
        title=f"{text('briefing_title', lang)}: {view.title}",
        description=view.description,
        intro=intro,
        findings=_findings(table, lang),
        cap=_cap_line(view, budget),
        grid=_grid(view, table),
        one_language=view.one_language,
        failed=view.failed_runs,
        assumed_arms=[view.labels[a] for a in view.arms if a in set(view.assumed["arm"])],
    )


def _findings(table: pd.DataFrame, lang: str) -> list[dict[str, Any]]:
    """Per metric: which policy moves it most for the better and for the worse."""
    out = []
    for metric_name, part in table.groupby("metric_label", sort=False):
        clear = part[part["assessment"] != "unclear"]
        unit = str(part["unit"].iloc[0])
        bits = []
        for kind in ("better", "worse", "changed"):
            mine = clear[clear["assessment"] == kind]
            if mine.empty:
                continue
            row = mine.loc[mine["difference"].abs().idxmax()]
            bits.append(
                {
                    "kind": kind,
                    "word": text("favourable" if kind == "better" else
                                 "unfavourable" if kind == "worse" else "changed", lang),
                    "label": row["label"],
                    "value": format_value(row["difference"], unit, lang, signed=True),
                }
            )  # fmt: skip
        out.append({"metric": metric_name, "bits": bits})
    return out


def _cap_line(view: StoreView, budget: pd.DataFrame) -> str:
    lang = view.lang
    risk = budget[budget["metric"] == "cap_exceeded"]
    items = [
        f"{view.labels[a]} {i18n.format_percent(v, lang, decimals=0)}"
        for a, v in zip(risk["arm"], risk["arm_mean"], strict=True)
        if a in view.labels and v > 0
    ]
    base = risk["baseline_mean"].iloc[0] if len(risk) else 0.0
    if base > 0:
        items.insert(
            0, f"{view.labels[view.baseline]} {i18n.format_percent(base, lang, decimals=0)}"
        )
    return text("cap_risk", lang, items="; ".join(items)) if items else text("cap_safe", lang)


def _grid(view: StoreView, table: pd.DataFrame) -> dict[str, Any]:
    lang = view.lang
    metrics = list(dict.fromkeys(table["metric_label"]))
    rows = []
    for arm in view.arms:
        part = table[table["arm"] == arm].set_index("metric_label")
        if part.empty:
            continue
        cells = []
        for metric in metrics:
            if metric not in part.index:
                cells.append(None)
                continue
            r = part.loc[metric]
            unit = str(r["unit"])
            cells.append(
                {
                    "value": format_value(r["difference"], unit, lang, signed=True),
                    "interval": _interval(r["ci_low"], r["ci_high"], unit, lang),
                    "assessment": r["assessment"],
                }
            )
        assumed = view.assumed[view.assumed["arm"] == arm]["parameter"].tolist()
        rows.append({"label": view.labels[arm], "cells": cells, "assumed": ", ".join(assumed)})
    return {
        "metrics": metrics,
        "rows": rows,
        "caption": text("grid_caption", lang, baseline=view.labels[view.baseline]),
    }


def assumptions(view: StoreView, *, scenario_assumed: pd.DataFrame | None = None):
    """The arms, the experiment's facts, the standing assumptions and assumption-only inputs."""
    lang = view.lang
    m = view.manifest
    facts = [
        (text("experiment", lang), f"{view.title} ({m.get('experiment_file', '')})"),
        (text("scenario", lang), view.scenario),
        (text("replications", lang), str(m.get("replications", "?"))),
        (text("seed", lang), str(m.get("seed", "?"))),
        (text("horizon", lang), view.horizon),
        (text("runs", lang), str(len(m.get("runs", [])))),
    ]
    assumed = [
        {
            "arm": view.labels.get(r.arm, r.arm),
            "parameter": r.parameter,
            "source": r.source,
            "file": r.file,
        }
        for r in view.assumed.itertuples()
    ]
    scenario_rows = []
    if scenario_assumed is not None:
        scenario_rows = [
            {"parameter": r.parameter, "source": r.source} for r in scenario_assumed.itertuples()
        ]
    return pages.render(
        "assumptions.html.j2",
        lang=lang,
        arms=_arm_rows(view),
        facts=facts,
        standing=[
            text(k, lang)
            for k in ("assumption_crn", "assumption_money", "assumption_model", "assumption_pooled")
        ],
        assumed=assumed,
        scenario_assumed=scenario_rows,
        scenario=view.scenario,
    )


def agency_pages(view: StoreView, effects: pd.DataFrame, *, metrics: Sequence[str]):
    """One page per agency (when there are several): its headline effects at the horizon.

    ``effects`` are paired effects of the unpooled outcomes (one row per agency).
    """
    if len(view.agencies) <= 1:
        return pages.Fragment("")
    kinds = dict(HEADLINE)
    pages_ = []
    for agency in view.agencies:
        mine = effects[effects["agency"] == agency]
        parts = [
            mine[(mine["metric"] == m) & (mine["period_kind"] == kinds.get(m, "year"))]
            for m in metrics
        ]
        parts = [p for p in parts if not p.empty]
        if not parts:
            continue
        table = pd.concat(parts, ignore_index=True)
        table = _readable(view, table[table["arm"].isin(view.arms)].copy())
        pages_.append({"agency": agency, "rows": _effect_rows(table, view.lang)})
    return pages.render("agencies.html.j2", lang=view.lang, n=len(view.agencies), pages=pages_)


def provenance(view: StoreView) -> pages.Fragment:
    """The footer: run id, code version, dates, packages and input hashes."""
    lang = view.lang
    m = view.manifest
    code = m.get("code_version", {})
    created = m.get("created_at", "")
    try:
        created_text = i18n.format_date(dt.datetime.fromisoformat(created), lang)
    except ValueError:
        created_text = created
    return pages.render(
        "provenance.html.j2",
        lang=lang,
        run_id=view.run_id,
        commit=str(code.get("commit", "unknown"))[:12],
        dirty=bool(code.get("dirty")),
        created=created_text,
        today=i18n.format_date(dt.datetime.now(dt.UTC), lang),
        packages=", ".join(f"{k} {v}" for k, v in sorted(m.get("packages", {}).items())),
        inputs=[
            {"path": str(f.get("path", "")), "sha256": str(f.get("sha256", ""))[:16]}
            for f in m.get("inputs", [])
        ],
    )


# --------------------------------------------------------------------------------------
# Figures, each with its data


def effects_figure(view: StoreView, table: pd.DataFrame, *, name: str, figures_dir=None):
    """Forest plot of the headline effects, coloured by what each means for the reader."""
    from simlib.reporting import plots

    lang = view.lang
    if table.empty:
        return pages.render("note.html.j2", message=text("no_variants", lang))
    fig = plots.effects_forest(table, lang=lang)
    data = pd.DataFrame(
        {
            text("policy", lang): table["label"],
            text("metric", lang): table["metric_label"],
            text("difference", lang): [
                format_value(d, u, lang, signed=True)
                for d, u in zip(table["difference"], table["unit"], strict=True)
            ],
            text("interval_95", lang): [
                _interval(lo, hi, u, lang)
                for lo, hi, u in zip(table["ci_low"], table["ci_high"], table["unit"], strict=True)
            ],
            text("better", lang): [text(f"better_{b or 'none'}", lang) for b in table["better"]],
        }
    )
    view.figures.append("effects")
    return pages.figure(fig, name, lang=lang, data=data, figures_dir=figures_dir)


def budget_frame(view: StoreView) -> pd.DataFrame:
    """Tukin paid per arm and year (mean, 5 and 95 % of replications) and the cap."""
    led = view.store.ledger()
    per_run = led.groupby(["arm", "sample", "replication", "year"], sort=False).agg(
        paid=("paid_idr", "sum")
    )
    caps = led.groupby(["arm", "sample", "replication", "agency", "year"], sort=False)[
        "budget_cap_idr"
    ].max()
    per_run["cap"] = caps.groupby(["arm", "sample", "replication", "year"], sort=False).sum()
    grouped = per_run.reset_index().groupby(["arm", "year"], sort=False)
    frame = pd.DataFrame(
        {
            "paid_idr": grouped["paid"].mean(),
            "paid_low_idr": grouped["paid"].quantile(0.05),
            "paid_high_idr": grouped["paid"].quantile(0.95),
            "cap_idr": grouped["cap"].mean(),
        }
    ).reset_index()
    frame["label"] = frame["arm"].map(view.labels)
    return frame


def budget_figure(view: StoreView, *, name: str, figures_dir=None):
    """Tukin paid by year against the cap, per arm."""
    from simlib.reporting import plots

    lang = view.lang
    frame = budget_frame(view)
    fig = plots.budget_by_year(frame, lang=lang)
    money = i18n.format_idr
    data = pd.DataFrame(
        {
            text("policy", lang): frame["label"],
            text("year", lang): frame["year"].astype(str),
            text("paid", lang): [money(v, lang) for v in frame["paid_idr"]],
            text("band_90", lang): [
                f"{money(lo, lang)} – {money(hi, lang)}"
                for lo, hi in zip(frame["paid_low_idr"], frame["paid_high_idr"], strict=True)
            ],
            text("cap", lang): [money(v, lang) for v in frame["cap_idr"]],
        }
    )
    view.figures.append("budget")
    return pages.figure(fig, name, lang=lang, data=data, figures_dir=figures_dir)


def adoption_figure(view: StoreView, outcomes: pd.DataFrame, *, name: str, figures_dir=None):
    """Adoption curves per arm (pooled outcomes), or a note if the model reports none."""
    from simlib.reporting import plots

    lang = view.lang
    rows = outcomes[
        (outcomes["metric"] == "adoption_share") & (outcomes["period_kind"] == "quarter")
    ]
    if rows.empty:
        return pages.render("note.html.j2", message=text("no_adoption", lang))
    paths = rows.assign(
        arm=rows["arm"].map(view.labels),
        replication=rows["replication"] + 100_000 * rows["sample"],
    )[["arm", "t_month", "replication", "value"]]
    fig = plots.adoption_curves(paths, lang=lang)
    q = paths.groupby(["arm", "t_month"], sort=False)["value"].median().reset_index()
    data = pd.DataFrame(
        {
            text("policy", lang): q["arm"],
            text("month", lang): q["t_month"].astype(int).astype(str),
            text("median", lang): [i18n.format_percent(v, lang) for v in q["value"]],
        }
    )
    view.figures.append("adoption")
    return pages.figure(fig, name, lang=lang, data=data, figures_dir=figures_dir)


def _group_label(dimension: str, group: str, lang: str) -> str:
    if dimension == "sex":
        return text("women", lang) if group == "F" else text("men", lang)
    if dimension == "grade":
        return f"{text('grade', lang)} {group}"
    return group


def pay_changes(view: StoreView, winners: pd.DataFrame, dimensions: Sequence[str]):
    """Change in pay per employee by group, with readers' group names."""
    win = winners[
        (winners["metric"] == "pay_idr_per_employee")
        & winners["dimension"].isin(dimensions)
        & winners["arm"].isin(view.arms)
    ]
    if win.empty:
        return win
    groups = [
        _group_label(d, g, view.lang) for d, g in zip(win["dimension"], win["group"], strict=True)
    ]
    if win["agency"].nunique() > 1:
        groups = [f"{a}: {g}" for a, g in zip(win["agency"], groups, strict=True)]
    return win.assign(label=win["arm"].map(view.labels), group=groups)


def winners_table(view: StoreView, winners: pd.DataFrame) -> pages.Fragment:
    """Per arm: the group that gains most and the one that loses most in pay."""
    lang = view.lang
    win = pay_changes(view, winners, ("grade", "job_type", "sex", "unit"))
    rows = []
    for arm in view.arms:
        part = win[win["arm"] == arm] if not win.empty else win
        if part.empty:
            continue
        best = part.loc[part["difference"].idxmax()]
        worst = part.loc[part["difference"].idxmin()]
        rows.append(
            (
                view.labels[arm],
                f"{best['group']} ({format_value(best['difference'], 'IDR', lang, signed=True)})",
                f"{worst['group']} ({format_value(worst['difference'], 'IDR', lang, signed=True)})",
            )
        )
    return pages.render(
        "winners.html.j2", lang=lang, rows=rows, note=metric_label("pay_idr_per_employee", lang)
    )


def winners_figure(
    view: StoreView, winners: pd.DataFrame, *, name: str, dimensions, figures_dir=None
):
    """Change in annual pay by group, per arm."""
    from simlib.reporting import plots

    lang = view.lang
    win = pay_changes(view, winners, dimensions)
    if win.empty:
        return pages.render("note.html.j2", message=text("no_variants", lang))
    fig = plots.winners_losers(win, lang=lang)
    data = pd.DataFrame(
        {
            text("policy", lang): win["label"],
            text("group", lang): win["group"],
            text("difference", lang): [
                format_value(v, "IDR", lang, signed=True) for v in win["difference"]
            ],
            text("interval_95", lang): [
                _interval(lo, hi, "IDR", lang)
                for lo, hi in zip(win["ci_low"], win["ci_high"], strict=True)
            ],
        }
    )
    view.figures.append("winners")
    return pages.figure(fig, name, lang=lang, data=data, figures_dir=figures_dir)
