"""Notebooks and briefing reports: parameter checks, notebook content, papermill and HTML.

The notebooks in ``notebooks/`` are thin: their first cell holds scalar parameters, the
second checks them with one of the ``*_parameters`` functions here (one clear
:class:`~simlib.core.errors.ConfigError` naming the parameter and what is allowed), and every
other cell calls a function of this module and displays what it returns. Words and number
formats come from :mod:`simlib.reporting.i18n`, figures from
:mod:`simlib.reporting.plots`; user-supplied names are escaped before they reach HTML.

:func:`build_report` (behind ``simlib report``, whose command line is in
:mod:`simlib.cli.report`) executes the store notebooks through papermill into a temporary
folder, renders them as HTML with nbconvert (code hidden in the briefing) and moves the
folder into ``reports/<run_id>/<lang>/`` only when everything succeeded. This module never
imports the command line.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simlib.core.errors import ConfigError
from simlib.core.paths import ROOT
from simlib.engine.outcomes import OUTCOMES
from simlib.reporting import i18n
from simlib.reporting.i18n import format_value, metric_label, text
from simlib.store.rundir import (
    claim_dir,
    foreign_entries,
    make_parents,
    make_temp_dir,
    replace_dir,
    write_bytes_atomic,
)

__all__ = [
    "NOTEBOOKS",
    "Exploration",
    "ExploreParams",
    "RaterLab",
    "RaterParams",
    "explore",
    "explore_figure",
    "explore_header",
    "explore_parameters",
    "explore_record",
    "explore_summary",
    "figure",
    "note",
    "rater_figure",
    "rater_header",
    "rater_lab",
    "rater_parameters",
    "rater_record",
    "rater_tables",
    "record",
    "save_figure",
]

#: The notebooks, by number.
NOTEBOOKS = {
    "01": ROOT / "notebooks" / "01-explore-scenario.ipynb",
    "02": ROOT / "notebooks" / "02-compare-policies.ipynb",
    "03": ROOT / "notebooks" / "03-rater-bias-360.ipynb",
    "04": ROOT / "notebooks" / "04-briefing.ipynb",
}

#: Metadata key of the values a notebook records for tests and tools.
RECORD_KEY = "kinerja_record"

_UNITS = {o.name: o.unit for o in OUTCOMES}
_MEANINGS = {o.name: o.meaning for o in OUTCOMES}
_MAX_SEED = 2**63 - 1


# --------------------------------------------------------------------------------------
# Parameter checks (the second cell of every notebook)


def _fail(name: str, value: object, problem: str, allowed: str) -> ConfigError:
    return ConfigError(f"parameter {name!r}: {value!r} {problem}; allowed: {allowed}")


def _whole(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise _fail(name, value, "is not a whole number", f"{lo} to {hi}")
    if not lo <= value <= hi:
        raise _fail(name, value, "is out of range", f"{lo} to {hi}")
    return int(value)


def _string(name: str, value: object, allowed: str) -> str:
    if not isinstance(value, str):
        raise _fail(name, value, "is not text", allowed)
    return value.strip()


def _find(value: str) -> Path:
    """A path as given if absolute or found from here, else relative to the project root."""
    path = Path(value).expanduser()
    if path.is_absolute() or path.exists():
        return path
    return ROOT / path


def _file(name: str, value: object, what: str, *, optional: bool = False) -> Path | None:
    allowed = f"a path to {what}" + (' or "" for none' if optional else "")
    text_value = _string(name, value, allowed)
    if not text_value:
        if optional:
            return None
        raise _fail(name, value, "is empty", allowed)
    path = _find(text_value)
    if not path.is_file():
        raise _fail(name, value, "is not an existing file", allowed)
    return path


def _directory(name: str, value: object, what: str) -> Path:
    allowed = f"a path to {what}"
    text_value = _string(name, value, allowed)
    path = _find(text_value) if text_value else None
    if path is None or not path.is_dir():
        raise _fail(name, value, "is not an existing folder", allowed)
    return path


def _output_dir(name: str, value: object) -> Path | None:
    text_value = _string(name, value, 'a folder for the figures, or "" to keep none')
    return Path(text_value).expanduser() if text_value else None


def _lang(value: object) -> str:
    return i18n.check_lang(value)


@dataclass(frozen=True)
class ExploreParams:
    """Checked parameters of ``01-explore-scenario``."""

    scenario: Path
    policy: Path | None
    seed: int
    replications: int
    lang: str
    figures_dir: Path | None


def explore_parameters(
    *,
    scenario: object,
    policy: object,
    seed: object,
    replications: object,
    lang: object,
    figures_dir: object,
) -> ExploreParams:
    """Check the parameters of ``01-explore-scenario``.

    Parameters
    ----------
    scenario
        Path to a scenario YAML file (relative paths are looked up from the working
        folder, then from the project root).
    policy
        Path to a policy or variant YAML file, or ``""`` for the scenario's baseline.
    seed
        Root seed, 0 to 2**63-1.
    replications
        Replications to simulate, 1 to 50.
    lang
        ``"id"`` or ``"en"``.
    figures_dir
        Folder to write the figures into as PNG, or ``""`` for none.

    Raises
    ------
    ConfigError
        Naming the first bad parameter, its value and what is allowed.
    """
    return ExploreParams(
        scenario=_file("scenario", scenario, "a scenario YAML file"),
        policy=_file("policy", policy, "a policy or variant YAML file", optional=True),
        seed=_whole("seed", seed, 0, _MAX_SEED),
        replications=_whole("replications", replications, 1, 50),
        lang=_lang(lang),
        figures_dir=_output_dir("figures_dir", figures_dir),
    )


@dataclass(frozen=True)
class RaterParams:
    """Checked parameters of ``03-rater-bias-360``."""

    scenario: Path
    policy: Path | None
    seed: int
    quarters: int
    ratings: Path | None
    columns: dict[str, str]
    min_raters: int
    lang: str
    figures_dir: Path | None


def rater_parameters(
    *,
    scenario: object,
    policy: object,
    seed: object,
    quarters: object,
    ratings: object,
    ratee_column: object,
    rater_column: object,
    score_column: object,
    source_column: object,
    true_score_column: object,
    min_raters: object,
    lang: object,
    figures_dir: object,
) -> RaterParams:
    """Check the parameters of ``03-rater-bias-360``.

    Parameters
    ----------
    scenario, policy, seed
        What to simulate when ``ratings`` is empty (see :func:`explore_parameters`); the
        policy's rating rule is switched to multi-source if needed.
    quarters
        Appraisal rounds to simulate, 1 to 8.
    ratings
        A long-format rating CSV to load instead of simulating, or ``""``.
    ratee_column, rater_column, score_column
        Column names in ``ratings`` (required when loading).
    source_column, true_score_column
        Optional column names in ``ratings`` (``""`` for none); sources named like the
        model's (self, supervisor, peer, subordinate, service_user) allow the aggregation
        rules to be compared, a true score allows comparing them with the truth.
    min_raters
        Figures of groups with fewer distinct raters are withheld, 1 to 100.
    lang, figures_dir
        As in :func:`explore_parameters`.
    """
    loaded = _file("ratings", ratings, "a rating CSV file", optional=True)
    columns = {}
    for role, value, required in (
        ("ratee", ratee_column, True),
        ("rater", rater_column, True),
        ("score", score_column, True),
        ("source", source_column, False),
        ("true_score", true_score_column, False),
    ):
        name = f"{role}_column"
        column = _string(name, value, "a column name of the rating file")
        if loaded is not None and required and not column:
            raise _fail(name, value, "is empty", "a column name of the rating file")
        if column:
            columns[role] = column
    return RaterParams(
        scenario=_file("scenario", scenario, "a scenario YAML file"),
        policy=_file("policy", policy, "a policy or variant YAML file", optional=True),
        seed=_whole("seed", seed, 0, _MAX_SEED),
        quarters=_whole("quarters", quarters, 1, 8),
        ratings=loaded,
        columns=columns,
        min_raters=_whole("min_raters", min_raters, 1, 100),
        lang=_lang(lang),
        figures_dir=_output_dir("figures_dir", figures_dir),
    )


# --------------------------------------------------------------------------------------
# Display helpers


def _display_html(body: str):
    from IPython.display import HTML

    return HTML(f'<div class="kl-report">{body}</div>')


def note(message: str):
    """A short italic note (already escaped or plain text; escaped here)."""
    return _display_html(f'<p class="kl-note">{html.escape(message)}</p>')


def _table(columns: Sequence[str], rows: Iterable[Sequence[object]], *, numeric_from: int = 1):
    """An HTML table; every cell is escaped, columns from ``numeric_from`` align right."""
    head = "".join(
        f'<th class="{"num" if i >= numeric_from else ""}">{html.escape(str(c))}</th>'
        for i, c in enumerate(columns)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if i >= numeric_from else ""}">{html.escape(str(v))}</td>'
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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


def figure(fig, name: str, *, lang: str, figures_dir: Path | None):
    """Display ``fig``; with ``figures_dir`` also write it as ``<name>-<lang>.png`` there."""
    from IPython.display import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    if figures_dir is not None:
        save_figure(fig, Path(figures_dir) / f"{name}-{lang}.png")
    # The figure's title doubles as the image's alternative text in HTML.
    alt = fig.get_suptitle() or (fig.axes[0].get_title(loc="left") if fig.axes else name)
    return Image(data=buffer.getvalue(), format="png", metadata={"alt": alt})


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
    if isinstance(value, Path | dt.date):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _finite(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


# --------------------------------------------------------------------------------------
# 01: one scenario and policy, a few replications


@dataclass(frozen=True, eq=False)
class Exploration:
    """Replications of one scenario under one policy."""

    params: ExploreParams
    scenario_name: str
    policy_name: str
    outcomes: pd.DataFrame
    ledger: pd.DataFrame
    figures: list[str] = field(default_factory=list)


def explore(params: ExploreParams) -> Exploration:
    """Simulate ``params.replications`` replications (common seed, replication 0..r-1)."""
    from simlib.engine.model import simulate
    from simlib.params.policy import build_schedule
    from simlib.params.runinputs import resolve_inputs

    scenario, base, variants = resolve_inputs(
        params.scenario, [params.policy] if params.policy else []
    )
    horizon = scenario.calendar.horizon_months
    schedule = build_schedule(base, variants, month_of=scenario.month_of, horizon_months=horizon)
    outcomes, ledgers = [], []
    for r in range(params.replications):
        result = simulate(scenario, schedule, seed=params.seed, replication=r)
        outcomes.append(result.outcomes)
        ledgers.append(result.ledger.assign(replication=r))
    name = " + ".join([base.name, *(v.name for v in variants)])
    return Exploration(
        params, scenario.name, name, pd.concat(outcomes, ignore_index=True),
        pd.concat(ledgers, ignore_index=True),
    )  # fmt: skip


def explore_header(run: Exploration):
    """Title, scenario, policy and replications."""
    lang = run.params.lang
    rows = [
        (text("scenario", lang), run.scenario_name),
        (text("policy", lang), run.policy_name),
        (text("replications", lang), str(run.params.replications)),
        (text("seed", lang), str(run.params.seed)),
    ]
    return _display_html(
        f"<h1>{html.escape(text('explore_title', lang))}</h1>"
        + _table((text("description", lang), ""), rows, numeric_from=9)
    )


#: Time paths of ``01-explore-scenario``: name -> (metric, title key).
EXPLORE_FIGURES = {
    "performance": ("mean_true_performance", "fig_performance"),
    "pay": ("tukin_paid_idr", "fig_pay"),
    "budget": ("budget_spent_share", "fig_budget_ytd"),
    "adoption": ("adoption_share", "fig_adoption"),
}


def _quarter_paths(outcomes: pd.DataFrame, metric: str) -> pd.DataFrame:
    rows = outcomes[(outcomes["period_kind"] == "quarter") & (outcomes["metric"] == metric)]
    return rows[["agency", "t_month", "replication", "value"]]


def explore_figure(run: Exploration, name: str):
    """One time path (performance, pay, budget or adoption) as a fan over replications."""
    from simlib.reporting import plots

    lang = run.params.lang
    metric, title_key = EXPLORE_FIGURES[name]
    if name == "budget":
        ledger = run.ledger
        paths = ledger[["agency", "t_month", "replication"]].assign(
            value=ledger["budget_spent_ytd_idr"] / ledger["budget_cap_idr"]
        )
        unit = "share of cap"
    else:
        paths = _quarter_paths(run.outcomes, metric)
        unit = _UNITS.get(metric, "share")
    if paths.empty:
        return note(text("no_adoption", lang) if name == "adoption" else metric)
    fig = plots.fan_chart(paths, title=text(title_key, lang), unit=unit, lang=lang, group="agency")
    if name == "adoption":
        fig.axes[0].set_ylim(0, 1)
    run.figures.append(name)
    return figure(fig, f"explore-{name}", lang=lang, figures_dir=run.params.figures_dir)


#: Year-level metrics of the summary table, when the model reports them.
SUMMARY_METRICS = (
    "mean_true_performance", "rating_accuracy", "predikat_agreement", "share_sangat_baik",
    "share_baik", "tukin_paid_idr", "budget_used_share", "pay_performance_corr", "pay_gini",
    "adoption_share", "resisting_share", "headcount",
)  # fmt: skip


def _summary_rows(outcomes: pd.DataFrame, lang: str) -> tuple[list[str], list[list[str]]]:
    years = outcomes[outcomes["period_kind"] == "year"]
    table = years.groupby(["agency", "metric", "period"], sort=False)["value"].mean().unstack()
    periods = [str(p) for p in table.columns]
    agencies = list(dict.fromkeys(years["agency"]))
    rows = []
    for agency in agencies:
        for metric in SUMMARY_METRICS:
            if (agency, metric) not in table.index:
                continue
            label = metric_label(metric, lang, meaning=_MEANINGS.get(metric))
            if len(agencies) > 1:
                label = f"{agency}: {label}"
            unit = _UNITS.get(metric, "")
            rows.append(
                [label, *(format_value(v, unit, lang) for v in table.loc[(agency, metric)])]
            )
    return periods, rows


def explore_summary(run: Exploration):
    """Year by year, the mean over replications of the main outcomes."""
    lang = run.params.lang
    periods, rows = _summary_rows(run.outcomes, lang)
    return _display_html(
        f"<h2>{html.escape(text('summary_by_year', lang))}</h2>"
        + _table((text("metric", lang), *periods), rows)
    )


def explore_record(run: Exploration) -> _Record:
    """Values for tests and tools: sizes, last-year performance, figures drawn."""
    years = run.outcomes[run.outcomes["period_kind"] == "year"]
    perf = years[years["metric"] == "mean_true_performance"]
    last = perf[perf["period"] == perf["period"].iloc[-1]] if len(perf) else perf
    return record(
        {
            "notebook": "01-explore-scenario",
            "lang": run.params.lang,
            "scenario": run.scenario_name,
            "policy": run.policy_name,
            "replications": int(run.outcomes["replication"].nunique()),
            "outcome_rows": len(run.outcomes),
            "years": [str(p) for p in dict.fromkeys(years["period"])],
            "last_year_mean_true_performance": _finite(last["value"].mean()),
            "figures": list(run.figures),
        }
    )


# --------------------------------------------------------------------------------------
# 03: 360-degree rating bias


@dataclass(frozen=True, eq=False)
class RaterLab:
    """Rating data with what the notebook shows about them.

    ``pairs`` has one row per rater and ratee (scores averaged over the rated values):
    ``ratee``, ``rater``, ``source``, ``latent`` (SD units when simulated), ``true``
    (NaN if unknown), ``unit``, ``ratee_sex`` and ``ratee_grade`` (``""`` if unknown).
    """

    params: RaterParams
    simulated: bool
    ratings: pd.DataFrame
    pairs: pd.DataFrame
    fit: Any
    iccs: dict[str, float]
    sources: pd.DataFrame
    rules: pd.DataFrame
    bias: pd.DataFrame
    figures: list[str] = field(default_factory=list)


def _simulate_360(params: RaterParams) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """Simulated multi-source ratings (the policy's rule switched to multi-source)."""
    from simlib.engine.model import simulate
    from simlib.params.changes import apply_changes
    from simlib.params.policy import build_schedule
    from simlib.params.runinputs import resolve_inputs
    from simlib.rules.raters import SCALES
    from simlib.store.ratingdata import simulated_ratings

    scenario, base, variants = resolve_inputs(
        params.scenario, [params.policy] if params.policy else []
    )
    months = 3 * params.quarters
    scenario = apply_changes(
        scenario, {"outputs.ratings": True, "calendar.horizon_months": months}, where="quarters"
    )
    if base.appraisal.rater != "multi_source":
        base = apply_changes(base, {"appraisal.rater": "multi_source"})
    schedule = build_schedule(base, variants, month_of=scenario.month_of, horizon_months=months)
    result = simulate(scenario, schedule, seed=params.seed)
    table = simulated_ratings(result)
    ms = scenario.raters.multi_source
    mid = SCALES[ms.scale][1]
    ratee_key = table["agency"].astype(str) + "/" + table["ratee"].astype(str)
    rater_key = table["agency"].astype(str) + "/" + table["rater"].astype(str)
    ratings = pd.DataFrame(
        {
            "period": table["agency"].astype(str) + " " + table["period"].astype(str),
            "ratee": pd.factorize(ratee_key, sort=True)[0],
            "rater": pd.factorize(rater_key, sort=True)[0],
            "source": table["source"].astype(str),
            "dimension": table["dimension"].astype(str),
            "score": table["score"].astype(float),
            "latent": (table["score"] - mid) / ms.points_per_sd,
            "true": table["true_score"].astype(float),
            "unit": table["agency"].astype(str) + "/" + table["ratee_unit"].astype(str),
            "ratee_sex": table["ratee_sex"].astype(str),
            "ratee_grade": table["ratee_golongan"].astype(str),
        }
    )
    return ratings, table, base.appraisal.aggregation


def _load_360(params: RaterParams) -> tuple[pd.DataFrame, Any]:
    from simlib.store.ratingdata import read_ratings

    cols = params.columns
    covariates = (cols["true_score"],) if "true_score" in cols else ()
    data = read_ratings(
        params.ratings,
        ratee=cols["ratee"],
        rater=cols["rater"],
        score=cols["score"],
        source=cols.get("source"),
        covariates=covariates,
    )
    frame = data.frame
    if covariates and not pd.api.types.is_numeric_dtype(frame[covariates[0]]):
        raise ConfigError(
            f"column {covariates[0]!r} is not numeric; allowed: a true score in every row",
            file=params.ratings,
            path="true_score_column",
        )
    score = frame["score"].to_numpy(dtype=float)
    spread = score.std() or 1.0
    ratings = pd.DataFrame(
        {
            "period": "1",
            "ratee": frame["ratee"],
            "rater": frame["rater"],
            "source": frame["source"].astype(str) if data.has_source else "all",
            "dimension": "score",
            "score": score,
            # Real scales differ: the rules are compared on standardised scores.
            "latent": (score - score.mean()) / spread,
            "true": frame[covariates[0]].astype(float) if covariates else np.nan,
            "unit": "all",
            "ratee_sex": "",
            "ratee_grade": "",
        }
    )
    return ratings, _aggregation(params)


def _aggregation(params: RaterParams):
    """The aggregation settings (weights, trim share) of the notebook's policy."""
    from simlib.params.policy import apply_variant
    from simlib.params.runinputs import resolve_inputs

    _scenario, policy, variants = resolve_inputs(
        params.scenario, [params.policy] if params.policy else []
    )
    for variant in variants:
        policy = apply_variant(policy, variant)
    return policy.appraisal.aggregation


def rater_lab(params: RaterParams) -> RaterLab:
    """Simulate (or load) ratings, decompose their variance and compare aggregation rules."""
    from simlib.analysis import fit_variance_components, icc
    from simlib.store.ratingdata import RatingData, source_summary

    if params.ratings is None:
        ratings, _table_raw, aggregation = _simulate_360(params)
        simulated = True
    else:
        ratings, aggregation = _load_360(params)
        simulated = False
    has_source = ratings["source"].nunique() > 1
    random: list = ["ratee", "rater"]
    if has_source:
        random += ["source", ("ratee", "source")]
    fit = fit_variance_components(ratings, response="score", random=random, ci="profile")
    pairs = (
        ratings.groupby(["period", "ratee", "rater", "source"], sort=False, observed=True)
        .agg(
            latent=("latent", "mean"),
            true=("true", "mean"),
            unit=("unit", "first"),
            ratee_sex=("ratee_sex", "first"),
            ratee_grade=("ratee_grade", "first"),
        )
        .reset_index()
    )
    per_ratee = len(pairs) / max(pairs["ratee"].nunique(), 1)
    iccs = {"icc1": icc(fit, "ratee", k=1), "icck": icc(fit, "ratee", k=per_ratee)}
    data = RatingData(ratings[["ratee", "rater", "source", "score"]], (), (), has_source, "")
    sources = source_summary(data, min_raters=params.min_raters)
    rules = compare_rules(pairs, aggregation=aggregation)
    bias = rating_bias(pairs, min_raters=params.min_raters)
    return RaterLab(params, simulated, ratings, pairs, fit, iccs, sources, rules, bias)


def compare_rules(pairs: pd.DataFrame, *, aggregation) -> pd.DataFrame:
    """Every aggregation rule's scores against the truth, one row per rule.

    Each rule of :func:`simlib.rules.appraisal.aggregate` is applied per period to the
    pair-level scores. Columns: ``rule``, ``correlation`` (with the ratee's true score),
    ``mean_error`` (score minus truth, SD units), ``gap_sex`` (mean error of women minus
    men), ``gap_grade`` (golongan III-IV minus I-II) and ``rank_agreement`` (Spearman
    correlation with the equal-weight 360 mean, useful when the truth is unknown). Rules
    needing the model's source names are skipped when the sources are named otherwise.
    """
    from simlib.rules.appraisal import AGGREGATION_RULES, aggregate
    from simlib.rules.raters import BERAKHLAK, SOURCES, RatingTable
    from simlib.world.workforce import Workforce

    if not set(pairs["source"].unique()) <= set(SOURCES):
        return pd.DataFrame(
            columns=["rule", "correlation", "mean_error", "gap_sex", "gap_grade", "rank_agreement"]
        )
    k = len(BERAKHLAK)
    scores: dict[str, list[np.ndarray]] = {rule: [] for rule in AGGREGATION_RULES}
    truth, sex, grade = [], [], []
    for _period, part in pairs.groupby("period", sort=False):
        ratee_codes, ratees = pd.factorize(part["ratee"], sort=True)
        n = len(ratees)
        firsts = part.groupby(ratee_codes).first()
        units = pd.factorize(firsts["unit"])[0].astype(np.int32)
        # Aggregation reads only the number of employees and their units.
        zeros = np.zeros(n)
        workforce = Workforce(
            unit=units, supervisor=np.full(n, -1, np.int32), job_type=np.zeros(n, np.int8),
            kelas=np.ones(n, np.int8), golongan=np.zeros(n, np.int8), pppk=zeros.astype(bool),
            female=zeros.astype(bool), age_years=zeros, tenure_years=zeros, competence=zeros,
            motivation=zeros, openness=zeros, conduct=zeros, unit_names=("all",),
        )  # fmt: skip
        source_codes = np.array([SOURCES.index(s) for s in part["source"]], dtype=np.int8)
        latent = part["latent"].to_numpy(dtype=float)
        table = RatingTable(
            ratee=np.repeat(ratee_codes, k),
            rater=np.repeat(pd.factorize(part["rater"])[0], k),
            source=np.repeat(source_codes, k),
            dimension=np.tile(np.arange(k, dtype=np.int8), len(part)),
            score=np.repeat(latent, k),
            latent=np.repeat(latent, k),
            true=np.repeat(part["true"].to_numpy(dtype=float), k),
        )
        for rule in AGGREGATION_RULES:
            scores[rule].append(
                aggregate(
                    table,
                    workforce,
                    rule=rule,
                    weights=aggregation.weights.as_tuple(),
                    trim_share=aggregation.trim_share,
                )
            )
        truth.append(firsts["true"].to_numpy(dtype=float))
        sex.append(firsts["ratee_sex"].to_numpy(dtype=str))
        grade.append(firsts["ratee_grade"].to_numpy(dtype=str))
    true = np.concatenate(truth)
    female = np.concatenate(sex) == "F"
    male = np.concatenate(sex) == "M"
    grades = np.concatenate(grade)
    senior = np.isin(grades, ("III", "IV"))
    junior = np.isin(grades, ("I", "II"))
    reference = pd.Series(np.concatenate(scores["equal_360"])).rank().to_numpy()
    rows = []
    for rule, parts in scores.items():
        score = np.concatenate(parts)
        error = score - true
        known = np.isfinite(true)
        rows.append(
            {
                "rule": rule,
                "correlation": _corr(score[known], true[known]),
                "mean_error": float(error[known].mean()) if known.any() else np.nan,
                "gap_sex": _gap(error, female, male),
                "gap_grade": _gap(error, senior, junior),
                "rank_agreement": _corr(pd.Series(score).rank().to_numpy(), reference),
            }
        )
    return pd.DataFrame(rows)


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    from simlib.engine.outcomes import correlation

    return correlation(np.asarray(x, float), np.asarray(y, float)) if len(x) > 2 else np.nan


def _gap(error: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(error)
    if not (a & ok).any() or not (b & ok).any():
        return np.nan
    return float(error[a & ok].mean() - error[b & ok].mean())


def rating_bias(pairs: pd.DataFrame, *, min_raters: int) -> pd.DataFrame:
    """Mean rating error (score minus truth, SD units) by source and ratee group.

    Rows are sources, columns the groups ``all``, ``F``, ``M``, ``I-II`` and ``III-IV``
    (those present). A cell with fewer than ``min_raters`` distinct raters is NaN
    (withheld, as 360 practice requires). Empty when the truth is unknown.
    """
    if not pairs["true"].notna().any():
        return pd.DataFrame()
    frame = pairs.assign(error=pairs["latent"] - pairs["true"])
    groups = {
        "all": np.ones(len(frame), bool),
        "F": (frame["ratee_sex"] == "F").to_numpy(),
        "M": (frame["ratee_sex"] == "M").to_numpy(),
        "I-II": frame["ratee_grade"].isin(("I", "II")).to_numpy(),
        "III-IV": frame["ratee_grade"].isin(("III", "IV")).to_numpy(),
    }
    sources = list(dict.fromkeys(frame["source"]))
    table = pd.DataFrame(index=sources, dtype=float)
    for name, mask in groups.items():
        if not mask.any():
            continue
        part = frame[mask].groupby("source", sort=False)
        means = part["error"].mean()
        raters = part["rater"].nunique()
        table[name] = means.where(raters >= min_raters).reindex(sources)
    return table


def rater_header(lab: RaterLab):
    """Title, data size and the ratings by source (small groups withheld)."""
    lang = lab.params.lang
    ratings = lab.ratings
    origin = (
        f"{text('scenario', lang)}: {lab.params.scenario.name}, seed {lab.params.seed}"
        if lab.simulated
        else str(lab.params.ratings.name)
    )
    rows = [
        [
            r.source,
            "–" if pd.isna(r.ratings) else i18n.format_number(r.ratings, lang, decimals=0),
            i18n.format_number(r.raters, lang, decimals=0),
            i18n.format_number(r.mean_score, lang, decimals=2)
            if not r.withheld
            else text("withheld", lang, k=lab.params.min_raters),
        ]
        for r in lab.sources.itertuples()
    ]
    size = (
        f"{i18n.format_number(len(ratings), lang, decimals=0)} {text('ratings_word', lang)} · "
        f"{i18n.format_number(ratings['ratee'].nunique(), lang, decimals=0)} "
        f"{text('ratees_word', lang)} · "
        f"{i18n.format_number(ratings['rater'].nunique(), lang, decimals=0)} "
        f"{text('raters_word', lang)}"
    )
    body = (
        f"<h1>{html.escape(text('bias_title', lang))}</h1>"
        f'<p class="kl-subtitle">{html.escape(origin)} · {html.escape(size)}</p>'
    )
    if rows:
        body += _table(
            (
                text("source", lang),
                text("ratings_word", lang),
                text("raters_word", lang),
                text("mean_score", lang),
            ),
            rows,
            numeric_from=1,
        )
    return _display_html(body)


def rater_tables(lab: RaterLab, which: str):
    """``"variance"``: the decomposition with 95 % intervals and ICCs; ``"rules"``: rules."""
    lang = lab.params.lang
    fmt = i18n.format_number
    if which == "variance":
        comp = lab.fit.components
        rows = [
            [
                r.component,
                fmt(r.variance, lang, decimals=3),
                i18n.format_percent(r.share, lang),
                f"{fmt(r.ci_low, lang, decimals=3)} – {fmt(r.ci_high, lang, decimals=3)}",
            ]
            for r in comp.itertuples()
        ]
        iccs = (
            f"ICC(1) = {fmt(lab.iccs['icc1'], lang, decimals=3)}; "
            f"ICC(k) = {fmt(lab.iccs['icck'], lang, decimals=3)}"
        )
        return _display_html(
            f"<h2>{html.escape(text('variance_decomposition', lang))}</h2>"
            + _table(
                (
                    text("component", lang),
                    text("variance", lang),
                    text("share", lang),
                    text("interval_95", lang),
                ),
                rows,
            )
            + f'<p class="kl-note">{html.escape(iccs)}</p>'
        )
    if which == "rules":
        if lab.rules.empty:
            return note(text("no_truth", lang))
        columns = ["correlation", "mean_error", "gap_sex", "gap_grade", "rank_agreement"]
        rows = [
            [r["rule"], *(fmt(r[c], lang, decimals=3) for c in columns)]
            for _, r in lab.rules.iterrows()
        ]
        body = f"<h2>{html.escape(text('aggregation_rules', lang))}</h2>" + _table(
            (text("rule", lang), *(metric_label(c, lang) for c in columns)), rows
        )
        if not lab.rules["correlation"].notna().any():
            body += f'<p class="kl-note">{html.escape(text("no_truth", lang))}</p>'
        return _display_html(body)
    raise ValueError(f"unknown table {which!r}; allowed: 'variance', 'rules'")


def rater_figure(lab: RaterLab, name: str):
    """``"variance"`` shares, ``"rules"`` against the truth, or the ``"bias"`` heatmap."""
    from simlib.reporting import plots

    lang = lab.params.lang
    if name == "variance":
        comp = lab.fit.components.set_index("component")[["share"]]
        comp.columns = [text("share", lang)]
        fig = plots.heatmap(comp, title=text("fig_variance", lang), lang=lang, diverging=False)
    elif name == "rules":
        columns = ["correlation", "mean_error", "gap_sex", "gap_grade"]
        matrix = lab.rules.set_index("rule")[columns] if not lab.rules.empty else None
        if matrix is None or not np.isfinite(matrix.to_numpy(dtype=float)).any():
            return note(text("no_truth", lang))
        matrix.columns = [metric_label(c, lang) for c in columns]
        fig = plots.heatmap(matrix, title=text("fig_rules", lang), lang=lang)
    elif name == "bias":
        if lab.bias.empty:
            return note(text("no_truth", lang))
        fig = plots.heatmap(lab.bias, title=text("fig_rater_bias", lang), lang=lang)
    else:
        raise ValueError(f"unknown figure {name!r}; allowed: 'variance', 'rules', 'bias'")
    lab.figures.append(name)
    return figure(fig, f"rater-{name}", lang=lang, figures_dir=lab.params.figures_dir)


def rater_record(lab: RaterLab) -> _Record:
    """Values for tests and tools: sizes, variance shares, ICCs and the rules' accuracy."""
    shares = dict(zip(lab.fit.components["component"], lab.fit.components["share"], strict=True))
    return record(
        {
            "notebook": "03-rater-bias-360",
            "lang": lab.params.lang,
            "scenario": lab.params.scenario.stem if lab.simulated else lab.params.ratings.name,
            "simulated": lab.simulated,
            "ratings": len(lab.ratings),
            "ratees": int(lab.ratings["ratee"].nunique()),
            "raters": int(lab.ratings["rater"].nunique()),
            "variance_shares": {k: _finite(v) for k, v in shares.items()},
            "icc1": _finite(lab.iccs["icc1"]),
            "rule_correlation": {
                r["rule"]: _finite(r["correlation"]) for _, r in lab.rules.iterrows()
            },
            "bias_cells_withheld": int(lab.bias.isna().sum().sum()) if not lab.bias.empty else 0,
            "figures": list(lab.figures),
        }
    )


# --------------------------------------------------------------------------------------
# 02 and 04: an experiment's run store, compared with its baseline; the briefing


@dataclass(frozen=True)
class CompareParams:
    """Checked parameters of ``02-compare-policies`` and ``04-briefing``."""

    store: Path
    confidence: float
    lang: str
    figures_dir: Path | None


def compare_parameters(
    *, store: object, confidence: object, lang: object, figures_dir: object
) -> CompareParams:
    """Check the parameters of ``02-compare-policies`` and ``04-briefing``.

    Parameters
    ----------
    store
        Folder of a run store (written by ``simlib report`` or ``simlib sweep``) with at
        least one completed run of the baseline.
    confidence
        Coverage of the intervals, 0.5 to 0.999.
    lang, figures_dir
        As in :func:`explore_parameters`.
    """
    from simlib.store.runstore import completed_keys, read_manifest

    allowed = "a run store folder (written by 'simlib report' or 'simlib sweep')"
    path = _directory("store", store, allowed)
    try:
        manifest = read_manifest(path)
    except ConfigError:
        raise _fail("store", store, "is not a run store (no manifest.json)", allowed) from None
    done = completed_keys(path)
    if not any(
        r["key"] in done for r in manifest.get("runs", []) if r["arm"] == manifest.get("baseline")
    ):
        raise _fail("store", store, "holds no completed run of the baseline", allowed)
    if isinstance(confidence, bool) or not isinstance(confidence, float | int):
        raise _fail("confidence", confidence, "is not a number", "0.5 to 0.999")
    if not 0.5 <= confidence <= 0.999:
        raise _fail("confidence", confidence, "is out of range", "0.5 to 0.999")
    return CompareParams(
        path, float(confidence), _lang(lang), _output_dir("figures_dir", figures_dir)
    )


#: Headline outcomes at the horizon: (metric, period kind), in the order shown.
HEADLINE = (
    ("mean_true_performance", "year"),
    ("rating_accuracy", "year"),
    ("pay_performance_corr", "year"),
    ("adoption_share", "quarter"),
    ("resisting_share", "quarter"),
    ("mean_fairness", "quarter"),
)
#: The briefing's shorter list, plus total cost from the budget family.
BRIEFING_HEADLINE = ("mean_true_performance", "rating_accuracy", "adoption_share")


@dataclass(frozen=True, eq=False)
class Comparison:
    """An experiment's arms against its baseline, read from a run store."""

    params: CompareParams
    briefing: bool
    manifest: dict[str, Any]
    run_id: str
    labels: dict[str, str]
    outcomes: pd.DataFrame
    ledger: pd.DataFrame
    effects: pd.DataFrame
    budget: pd.DataFrame
    resistance: pd.DataFrame
    winners: pd.DataFrame
    failed_runs: int
    figures: list[str] = field(default_factory=list)

    @property
    def lang(self) -> str:
        """Report language."""
        return self.params.lang

    @property
    def baseline(self) -> str:
        """Name of the baseline arm."""
        return self.manifest["baseline"]

    @property
    def arms(self) -> list[str]:
        """The arms compared with the baseline, in the experiment's order."""
        return [a["name"] for a in self.manifest["arms"] if a["name"] != self.baseline]


def run_id_for(manifest: dict[str, Any]) -> str:
    """Run id of a sweep: the experiment file's stem and a hash of its planned run keys.

    Run keys hash the resolved inputs, seed, replication and code version, so the same
    experiment with the same code always gets the same id, and any change gets a new one.
    """
    from simlib.store.provenance import stable_hash

    stem = Path(manifest.get("experiment_file") or "experiment").stem or "experiment"
    digest = stable_hash([r["key"] for r in manifest.get("runs", [])])
    return f"{stem}-{digest[:10]}"


def _pooled(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Outcomes over all agencies: money and people added up, everything else averaged."""
    if outcomes["agency"].nunique() <= 1:
        return outcomes
    keys = ["arm", "sample", "replication", "period_kind", "period", "metric"]
    additive = outcomes["metric"].map(
        lambda m: i18n.unit_kind(_UNITS.get(m, "")) in ("money",) or m in _ADDITIVE
    )
    summed = (
        outcomes[additive]
        .groupby(keys, sort=False)
        .agg(value=("value", "sum"), t_month=("t_month", "max"))
    )
    averaged = (
        outcomes[~additive]
        .groupby(keys, sort=False)
        .agg(value=("value", "mean"), t_month=("t_month", "max"))
    )
    return pd.concat([summed, averaged]).reset_index().assign(agency="all")


_ADDITIVE = {"headcount", "hires", "separations", "campaign_vaccinated", "training_trainees"}


def compare(params: CompareParams, *, briefing: bool = False) -> Comparison:
    """Read the store and compute the effects of every arm against the baseline."""
    from simlib.analysis.effects import (
        budget_effects,
        horizon,
        paired_effects,
        resistance_effects,
        winners_losers,
    )
    from simlib.store.runstore import open_store

    store = open_store(params.store)
    manifest = store.manifest
    outcomes = store.outcomes()
    pooled = _pooled(outcomes)
    at_horizon = horizon(pooled)
    effects = paired_effects(at_horizon, baseline=store.baseline, confidence=params.confidence)
    labels = {a["name"]: a.get("label") or a["name"] for a in manifest["arms"]}
    runs = store.runs()
    return Comparison(
        params=params,
        briefing=briefing,
        manifest=manifest,
        # A store in reports/<run id>/store (simlib report's layout) takes its folder's id,
        # which stays the same when a stopping rule adds replications.
        run_id=(
            params.store.resolve().parent.name
            if params.store.name == "store"
            else run_id_for(manifest)
        ),
        labels=labels,
        outcomes=pooled,
        ledger=store.ledger(),
        effects=effects,
        budget=budget_effects(store, confidence=params.confidence),
        resistance=resistance_effects(store, confidence=params.confidence),
        winners=winners_losers(store, confidence=params.confidence),
        failed_runs=int((runs["status"] == "failed").sum()),
    )


def _headline(cmp: Comparison) -> pd.DataFrame:
    """Headline effects (one row per arm and metric) with labels, budget total included."""
    wanted = BRIEFING_HEADLINE if cmp.briefing else tuple(m for m, _ in HEADLINE)
    kinds = dict(HEADLINE)
    eff = cmp.effects
    parts = []
    for metric in wanted:
        rows = eff[(eff["metric"] == metric) & (eff["period_kind"] == kinds[metric])]
        parts.append(rows)
    total = cmp.budget[cmp.budget["metric"] == "total_cost_idr"]
    parts.append(total)
    table = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    if table.empty:
        return table
    table = table[table["arm"].isin(cmp.arms)]
    table["label"] = table["arm"].map(cmp.labels)
    table["metric_label"] = [
        metric_label(m, cmp.lang, meaning=_MEANINGS.get(m)) for m in table["metric"]
    ]
    order = {a: i for i, a in enumerate(cmp.arms)}
    return table.sort_values("arm", key=lambda s: s.map(order), kind="stable")


def _interval(row, lang: str, unit: str) -> str:
    """``[low; high]`` in the difference's unit, the unit word left to the estimate."""

    def bare(value: float) -> str:
        shown = format_value(value, unit, lang, signed=True)
        for word in (" poin persen", " pp", " SD"):
            shown = shown.removesuffix(word)
        return shown

    return f"[{bare(row['ci_low'])}; {bare(row['ci_high'])}]"


def _clear(row) -> bool:
    return bool(row["ci_low"] > 0 or row["ci_high"] < 0)


def compare_header(cmp: Comparison):
    """Title, experiment, arms compared and the interval note."""
    lang = cmp.lang
    m = cmp.manifest
    title = f"{text('compare_title', lang)}: {m.get('experiment', '')}"
    body = (
        f"<h1>{html.escape(title)}</h1>"
        f'<p class="kl-subtitle">{html.escape(m.get("description", ""))}</p>'
        + _arms_table(cmp)
        + f'<p class="kl-note">{html.escape(text("interval_note", lang))}</p>'
    )
    if cmp.failed_runs:
        body += (
            f'<p class="kl-note">{html.escape(text("runs_failed", lang, n=cmp.failed_runs))}</p>'
        )
    return _display_html(body)


def _arms_table(cmp: Comparison) -> str:
    lang = cmp.lang
    rows = [
        [
            a.get("label") or a["name"],
            a.get("description", "")
            + (f" ({text('baseline', lang)})" if a["name"] == cmp.baseline else ""),
        ]
        for a in cmp.manifest["arms"]
    ]
    return _table((text("policy", lang), text("description", lang)), rows, numeric_from=9)


def compare_section(cmp: Comparison, name: str):
    """One section of ``02-compare-policies``: effects, resistance, budget or winners."""
    lang = cmp.lang
    if name == "effects":
        table = _headline(cmp)
        if table.empty:
            return note(text("no_variants", lang))
        return _display_html(
            f"<h2>{html.escape(text('effects', lang))}</h2>" + _effects_table(table, lang)
        )
    if name == "resistance":
        res = cmp.resistance[cmp.resistance["arm"].isin(cmp.arms)]
        if res.empty:
            return _display_html(
                f"<h2>{html.escape(text('resistance', lang))}</h2>"
                f'<p class="kl-note">{html.escape(text("no_resistance", lang))}</p>'
            )
        res = res.assign(
            label=res["arm"].map(cmp.labels),
            metric_label=[metric_label(m, lang, meaning=_MEANINGS.get(m)) for m in res["metric"]],
        )
        return _display_html(
            f"<h2>{html.escape(text('resistance', lang))}</h2>" + _effects_table(res, lang)
        )
    if name == "budget":
        bud = cmp.budget[cmp.budget["arm"].isin(cmp.arms)]
        bud = bud.assign(
            label=bud["arm"].map(cmp.labels),
            metric_label=[
                metric_label(m, lang) + (f" {p}" if m == "cost_idr" else "")
                for m, p in zip(bud["metric"], bud["period"], strict=True)
            ],
        )
        return _display_html(
            f"<h2>{html.escape(text('budget', lang))}</h2>" + _effects_table(bud, lang)
        )
    if name == "winners":
        return _display_html(
            f"<h2>{html.escape(text('winners_losers', lang))}</h2>" + _winners_table(cmp)
        )
    raise ValueError(f"unknown section {name!r}; allowed: effects, resistance, budget, winners")


def _effects_table(table: pd.DataFrame, lang: str) -> str:
    rows = []
    for _, r in table.iterrows():
        unit = str(r["unit"])
        rows.append(
            [
                r["label"],
                r["metric_label"],
                format_value(r["baseline_mean"], unit, lang),
                format_value(r["arm_mean"], unit, lang),
                format_value(r["difference"], unit, lang, signed=True),
                _interval(r, lang, unit),
                str(int(r["n"])),
            ]
        )
    columns = (
        text("policy", lang),
        text("metric", lang),
        text("baseline_mean", lang),
        text("arm_mean", lang),
        text("difference", lang),
        text("interval_95", lang),
        "n",
    )
    return _table(columns, rows, numeric_from=2)


def _group_label(dimension: str, group: str, lang: str) -> str:
    if dimension == "sex":
        return text("women", lang) if group == "F" else text("men", lang)
    if dimension == "grade":
        return f"{text('grade', lang)} {group}"
    return group


def _pay_changes(cmp: Comparison, dimensions: Sequence[str]) -> pd.DataFrame:
    win = cmp.winners
    win = win[
        (win["metric"] == "pay_idr_per_employee")
        & win["dimension"].isin(dimensions)
        & win["arm"].isin(cmp.arms)
    ]
    if win.empty:
        return win
    if win["agency"].nunique() > 1:
        win = win.assign(group=win["agency"] + ": " + win["group"])
    return win.assign(
        label=win["arm"].map(cmp.labels),
        group=[
            _group_label(d, g, cmp.lang)
            for d, g in zip(win["dimension"], win["group"], strict=True)
        ],
    )


def _winners_table(cmp: Comparison) -> str:
    lang = cmp.lang
    win = _pay_changes(cmp, ("grade", "job_type", "sex", "unit"))
    if win.empty:
        return f'<p class="kl-note">{html.escape(text("no_variants", lang))}</p>'
    rows = []
    for arm in cmp.arms:
        part = win[win["arm"] == arm]
        if part.empty:
            continue
        best = part.loc[part["difference"].idxmax()]
        worst = part.loc[part["difference"].idxmin()]
        rows.append(
            [
                cmp.labels[arm],
                f"{best['group']} ({format_value(best['difference'], 'IDR', lang, signed=True)})",
                f"{worst['group']} ({format_value(worst['difference'], 'IDR', lang, signed=True)})",
            ]
        )
    return (
        _table(
            (text("policy", lang), text("gains_most", lang), text("loses_most", lang)),
            rows,
            numeric_from=9,
        )
        + f'<p class="kl-note">{html.escape(metric_label("pay_idr_per_employee", lang))}</p>'
    )


def compare_figure(cmp: Comparison, name: str):
    """A figure: ``effects`` (forest), ``budget`` (by year vs cap), ``adoption`` or ``winners``."""
    from simlib.reporting import plots

    lang = cmp.lang
    if name == "effects":
        table = _headline(cmp)
        if table.empty:
            return note(text("no_variants", lang))
        fig = plots.effects_forest(table, lang=lang)
    elif name == "budget":
        fig = plots.budget_by_year(_budget_frame(cmp), lang=lang)
    elif name == "adoption":
        out = cmp.outcomes
        rows = out[(out["metric"] == "adoption_share") & (out["period_kind"] == "quarter")]
        if rows.empty:
            return note(text("no_adoption", lang))
        paths = rows.assign(arm=rows["arm"].map(cmp.labels), replication=rows["replication"]
                            + 100_000 * rows["sample"])  # fmt: skip
        fig = plots.adoption_curves(paths[["arm", "t_month", "replication", "value"]], lang=lang)
    elif name == "winners":
        dims = ("grade", "sex") if cmp.briefing else ("grade", "job_type", "sex")
        win = _pay_changes(cmp, dims)
        if win.empty:
            return note(text("no_variants", lang))
        fig = plots.winners_losers(win, lang=lang)
    else:
        raise ValueError(f"unknown figure {name!r}; allowed: effects, budget, adoption, winners")
    cmp.figures.append(name)
    prefix = "briefing" if cmp.briefing else "compare"
    return figure(fig, f"{prefix}-{name}", lang=lang, figures_dir=cmp.params.figures_dir)


def _budget_frame(cmp: Comparison) -> pd.DataFrame:
    led = cmp.ledger
    per_run = led.groupby(["arm", "sample", "replication", "year"], sort=False).agg(
        paid=("paid_idr", "sum")
    )
    caps = led.groupby(["arm", "sample", "replication", "agency", "year"], sort=False)[
        "budget_cap_idr"
    ].max()
    per_run["cap"] = caps.groupby(["arm", "sample", "replication", "year"], sort=False).sum()
    per_run = per_run.reset_index()
    grouped = per_run.groupby(["arm", "year"], sort=False)
    frame = pd.DataFrame(
        {
            "paid_idr": grouped["paid"].mean(),
            "paid_low_idr": grouped["paid"].quantile(0.05),
            "paid_high_idr": grouped["paid"].quantile(0.95),
            "cap_idr": grouped["cap"].mean(),
        }
    ).reset_index()
    frame["label"] = frame["arm"].map(cmp.labels)
    return frame


def briefing_section(cmp: Comparison, name: str):
    """A section of the briefing: ``summary``, ``figures``, ``assumptions``, ``provenance``."""
    lang = cmp.lang
    m = cmp.manifest
    if name == "summary":
        title = f"{text('briefing_title', lang)}: {m.get('experiment', '')}"
        return _display_html(
            f"<h1>{html.escape(title)}</h1>"
            f'<p class="kl-subtitle">{html.escape(m.get("description", ""))}</p>'
            f"<h2>{html.escape(text('executive_summary', lang))}</h2>" + _summary_html(cmp)
        )
    if name == "figures":
        return _display_html(f"<h2>{html.escape(text('key_figures', lang))}</h2>")
    if name == "assumptions":
        items = "".join(
            f"<li>{html.escape(text(k, lang))}</li>"
            for k in ("assumption_crn", "assumption_money", "assumption_model", "assumption_pooled")
        )
        return _display_html(
            f"<h2>{html.escape(text('assumptions', lang))}</h2>"
            + _arms_table(cmp)
            + _facts_table(cmp)
            + f"<ul>{items}</ul>"
        )
    if name == "provenance":
        return _display_html(_provenance_html(cmp))
    raise ValueError(
        f"unknown section {name!r}; allowed: summary, figures, assumptions, provenance"
    )


def _horizon_text(cmp: Comparison) -> str:
    years = sorted(cmp.ledger["year"].unique()) if not cmp.ledger.empty else []
    months = int(cmp.ledger["t_month"].max()) + 1 if not cmp.ledger.empty else 0
    end = years[-1] if years else "?"
    return f"{end} ({months} {text('months', cmp.lang)})"


def _scenario_name(cmp: Comparison) -> str:
    for item in cmp.manifest.get("inputs", []):
        if item.get("role") == "scenario":
            return Path(item["path"]).stem
    return "?"


def _summary_html(cmp: Comparison) -> str:
    lang = cmp.lang
    m = cmp.manifest
    intro = text(
        "summary_intro",
        lang,
        name=html.escape(str(m.get("experiment", ""))),
        n_arms=len(cmp.arms),
        baseline=html.escape(cmp.labels.get(cmp.baseline, cmp.baseline)),
        scenario=html.escape(_scenario_name(cmp)),
        reps=m.get("replications", "?"),
        horizon=html.escape(_horizon_text(cmp)),
    )
    table = _headline(cmp)
    highlights = _highlights(table, lang)
    grid = _summary_grid(cmp, table)
    risk = cmp.budget[(cmp.budget["metric"] == "cap_exceeded")]
    risky = [
        f"{html.escape(cmp.labels[a])} {html.escape(i18n.format_percent(v, lang, decimals=0))}"
        for a, v in zip(risk["arm"], risk["arm_mean"], strict=True)
        if a in cmp.labels and v > 0
    ]
    base_risk = risk["baseline_mean"].iloc[0] if len(risk) else 0.0
    if base_risk > 0:
        label = html.escape(cmp.labels[cmp.baseline])
        risky.insert(0, f"{label} {html.escape(i18n.format_percent(base_risk, lang, decimals=0))}")
    cap = (
        text("cap_risk", lang, items="; ".join(risky))
        if risky
        else html.escape(text("cap_safe", lang))
    )
    body = f'<p>{intro}</p><ul class="kl-findings">{highlights}<li>{cap}</li></ul>{grid}'
    if cmp.failed_runs:
        body += (
            f'<p class="kl-note">{html.escape(text("runs_failed", lang, n=cmp.failed_runs))}</p>'
        )
    return body


def _highlights(table: pd.DataFrame, lang: str) -> str:
    """One line per headline metric: which policy raises it most and which lowers it most."""
    lines = []
    if table.empty:
        return ""
    for metric_name, part in table.groupby("metric_label", sort=False):
        clear = part[[_clear(r) for _, r in part.iterrows()]]
        unit = str(part["unit"].iloc[0])
        bits = []
        for pick, key in (
            (clear["difference"].idxmax, "rises_most"),
            (clear["difference"].idxmin, "falls_most"),
        ):
            if clear.empty:
                break
            row = clear.loc[pick()]
            if (row["difference"] > 0) != (key == "rises_most"):
                continue
            bits.append(
                f"{html.escape(text(key, lang))} <strong>{html.escape(row['label'])}</strong> "
                f"({html.escape(format_value(row['difference'], unit, lang, signed=True))})"
            )
        said = "; ".join(bits) if bits else html.escape(text("no_clear_change", lang))
        lines.append(f"<li>{html.escape(str(metric_name))}: {said}.</li>")
    return "".join(lines)


def _summary_grid(cmp: Comparison, table: pd.DataFrame) -> str:
    """Arms x headline metrics: difference and its interval; unclear effects greyed."""
    if table.empty:
        return ""
    lang = cmp.lang
    metrics = list(dict.fromkeys(table["metric_label"]))
    head = "".join(f'<th class="num">{html.escape(str(m))}</th>' for m in metrics)
    rows = []
    for arm in cmp.arms:
        part = table[table["arm"] == arm].set_index("metric_label")
        if part.empty:
            continue
        cells = []
        for metric in metrics:
            if metric not in part.index:
                cells.append('<td class="num">–</td>')
                continue
            r = part.loc[metric]
            unit = str(r["unit"])
            css = "num kl-clear" if _clear(r) else "num kl-unclear"
            cells.append(
                f'<td class="{css}">'
                f"{html.escape(format_value(r['difference'], unit, lang, signed=True))}"
                f"<br><small>{html.escape(_interval(r, lang, unit))}</small></td>"
            )
        rows.append(f"<tr><td>{html.escape(cmp.labels[arm])}</td>{''.join(cells)}</tr>")
    caption = html.escape(text("grid_caption", lang, baseline=cmp.labels[cmp.baseline]))
    return (
        f'<table class="kl-grid"><caption>{caption}</caption><thead><tr>'
        f"<th>{html.escape(text('policy', lang))}</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _facts_table(cmp: Comparison) -> str:
    lang = cmp.lang
    m = cmp.manifest
    rows = [
        (text("experiment", lang), f"{m.get('experiment', '')} ({m.get('experiment_file', '')})"),
        (text("scenario", lang), _scenario_name(cmp)),
        (text("replications", lang), str(m.get("replications", "?"))),
        (text("seed", lang), str(m.get("seed", "?"))),
        (text("horizon", lang), _horizon_text(cmp)),
        (text("runs", lang), str(len(m.get("runs", [])))),
    ]
    return _table((text("experiment_facts", lang), ""), rows, numeric_from=9)


def _provenance_html(cmp: Comparison) -> str:
    lang = cmp.lang
    m = cmp.manifest
    code = m.get("code_version", {})
    commit = str(code.get("commit", "unknown"))[:12]
    dirty = f" ({text('dirty', lang)})" if code.get("dirty") else ""
    created = m.get("created_at", "")
    try:
        created_text = i18n.format_date(dt.datetime.fromisoformat(created), lang)
    except ValueError:
        created_text = created
    today = i18n.format_date(dt.datetime.now(dt.UTC), lang)
    hashes = "".join(
        f"<li>{html.escape(str(f.get('path', '')))}: "
        f"<code>{html.escape(str(f.get('sha256', ''))[:16])}</code></li>"
        for f in m.get("inputs", [])
    )
    packages = ", ".join(f"{k} {v}" for k, v in sorted(m.get("packages", {}).items()))
    rows = [
        (text("run_id", lang), f"<code>{html.escape(cmp.run_id)}</code>"),
        (text("code_version", lang), f"<code>{html.escape(commit)}</code>{html.escape(dirty)}"),
        (text("created", lang), html.escape(created_text)),
        (text("report_made", lang), html.escape(today)),
        (text("packages", lang), html.escape(packages)),
    ]
    lines = "".join(f"<div><strong>{html.escape(k)}:</strong> {v}</div>" for k, v in rows)
    return (
        f'<footer class="kl-provenance"><h2>{html.escape(text("provenance", lang))}</h2>'
        f"{lines}<div><strong>{html.escape(text('input_hashes', lang))}:</strong>"
        f"<ul>{hashes}</ul></div></footer>"
    )


def compare_record(cmp: Comparison) -> _Record:
    """Values for tests and tools: arms, headline differences, sections and figures."""
    table = _headline(cmp)
    effects: dict[str, dict[str, float | None]] = {}
    for _, r in table.iterrows():
        effects.setdefault(r["arm"], {})[r["metric"]] = _finite(r["difference"])
    return record(
        {
            "notebook": "04-briefing" if cmp.briefing else "02-compare-policies",
            "lang": cmp.lang,
            "run_id": cmp.run_id,
            "experiment": cmp.manifest.get("experiment"),
            "baseline": cmp.baseline,
            "arms": cmp.arms,
            "replications": int(cmp.outcomes["replication"].nunique()),
            "effects": effects,
            "has_adoption": bool((cmp.outcomes["metric"] == "adoption_share").any()),
            "failed_runs": cmp.failed_runs,
            "figures": list(cmp.figures),
        }
    )


# --------------------------------------------------------------------------------------
# ``simlib report``: sweep if needed, papermill, nbconvert, atomic move into reports/

#: Notebooks ``simlib report`` executes, with whether their HTML shows code.
#: Notebooks of a report, with whether their code is shown. The store notebooks run first
#: (a bad store stops the report before anything else runs); 01 and 03 explore the
#: experiment's scenario under its baseline policy, with the experiment's seed.
REPORT_NOTEBOOKS = (
    ("02-compare-policies", True),
    ("04-briefing", False),
    ("01-explore-scenario", True),
    ("03-rater-bias-360", True),
)
_TITLES = {"01": "explore_title", "02": "compare_title", "03": "bias_title", "04": "briefing_title"}
TEMPLATES = Path(__file__).resolve().parent / "templates"
KERNEL = "python3"


class NotebookError(RuntimeError):
    """A notebook failed for a reason other than bad input (a bug, not the user's)."""


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
    try:
        with _quiet_stderr():
            return papermill.execute_notebook(
                str(notebook),
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

    Recorded values and stderr streams (warnings) are left out of the page.
    """
    import copy

    from nbconvert import HTMLExporter

    nb = copy.deepcopy(notebook)
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


def _scenario_parameters(store: str | Path) -> dict[str, Any]:
    """Scenario and seed of the experiment behind ``store`` (for notebooks 01 and 03)."""
    manifest = json.loads((Path(store) / "manifest.json").read_text(encoding="utf-8"))
    path = next(Path(i["path"]) for i in manifest["inputs"] if i["role"] == "scenario")
    # Relative paths (to the project root, as the manifest records them) keep the page free
    # of this machine's folders; the notebooks look them up from the project root.
    return {"scenario": str(path), "seed": int(manifest["seed"])}


def build_report(
    store: str | Path, run_dir: str | Path, *, lang: str, notebooks=REPORT_NOTEBOOKS
) -> Path:
    """Execute the report notebooks and render them into ``run_dir/<lang>/``; return it.

    Everything is written into a temporary folder beside the target, which replaces
    ``run_dir/<lang>/`` only when every notebook ran and rendered: a failure leaves the
    previous report (or none), never a half-written one. Other languages' folders and
    the store in ``run_dir`` are left alone. ``run_dir/<lang>/`` must be new, empty or a
    report folder holding only what ``simlib report`` wrote (its ``manifest.json`` lists
    the files); temporary folders of killed reports are removed first.

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
            subject = values.get("experiment") or values.get("scenario", "")
            title = f"{text(_TITLES[name[:2]], lang)}: {subject}"
            page = render_html(nb, lang=lang, title=title, hide_code=not show_code)
            (tmp / f"{name}.html").write_text(page, encoding="utf-8")
        files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
        mark = {"kind": "report", "lang": lang, "files": files}
        text_ = json.dumps(mark, indent=2, sort_keys=True) + "\n"
        write_bytes_atomic(tmp / "manifest.json", text_.encode())
        replace_dir(tmp, target, owned=report_foreign)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


_LEGACY_REPORT = re.compile(r"\d\d-[a-z0-9-]+\.(ipynb|html)|figures/[^/]+\.png")


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
