"""Calibration: observed targets as data, and fitting free parameters to them by simulation.

A *target file* (``data/calibration/*.yaml``) lists what the baseline must reproduce::

    name: National predikat distribution
    description: ...
    targets:
      - name: share_sangat_baik
        statistic: {outcome: share_sangat_baik, period_kind: year, aggregate: mean}
        observed: {value: 0.1127, unit: share of appraisals, source: "birokratmenulis.org ..."}
        tolerance: {value: 0.03, unit: share of appraisals, source: "assumption: ..."}
        status: P
        reference: facts.md 1.9
      - name: peer_reliability
        statistic: {function: reliability.peer}
        applies_to:
          variants: [rater_lab_360.yaml]          # policy variants, relative to this file
          scenario_changes:                       # as in an experiment arm
            calendar.horizon_months: {value: 12, unit: months, source: "..."}
        ...

A target's *statistic* is a declared outcome of :mod:`simlib.engine.outcomes` (one name, or a list
whose values are summed, e.g. the shares below Baik) at one period kind, aggregated over the
run's agencies and periods (``mean``, ``first`` or ``last`` period); or a *named statistic
function* of :data:`STATISTICS` (reliabilities, between-source correlations and variance
shares of the rating table, exit rates). It applies to the scenario under its baseline
policy, unless ``applies_to`` names policy variants and scenario changes. :func:`load_targets`
validates a file like every other input (one :class:`~simlib.core.errors.ConfigError` naming the
file, the field and what is allowed).

:func:`calibrate` fits *free parameters* (dotted scenario paths, or policy paths prefixed
``policy.``, each with a range) by simulation:

1. every candidate parameter set is simulated with the same seed and replications (common
   random numbers), once per distinct ``applies_to`` setting; candidates are resolved by
   :func:`simlib.experiment.sweep._resolve_sample`, the mechanism that applies an experiment's
   uncertainty samples;
2. a Latin hypercube design (``scipy.stats.qmc``) over the ranges is simulated first; its
   points give the *history-matching* non-implausible set: implausibility = max over targets
   of ``|sim - obs| / sqrt(tol^2 + MC variance of the simulated mean)``, non-implausible
   below :data:`IMPLAUSIBILITY_CUTOFF` (3, Pukelsheim's three-sigma rule, as in Vernon,
   Goldstein & Bower 2010);
3. from the best design point, ``scipy.optimize.minimize`` (bounded Nelder-Mead by default)
   minimises the objective ``sum over targets of ((sim - obs) / tol)^2`` on the same
   common random numbers (so the objective is a deterministic function of the parameters).

Every simulated candidate is cached (parameter values, replication -> statistics) in a
folder claimed with :func:`simlib.store.rundir.claim_dir`, keyed by a hash of its resolved
inputs, seed, replication, statistics and code version: an interrupted calibration resumes
where it stopped. :func:`write_delta` writes the fit as a scenario delta (``extends:`` plus
the calibrated leaves) and, for policy parameters, a policy variant beside it.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import itertools
import json
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import yaml
from pydantic import Field, field_validator, model_validator

from simlib.core.errors import ConfigError
from simlib.core.paths import ROOT
from simlib.engine.model import RunResult, simulate
from simlib.engine.outcomes import OUTCOMES
from simlib.experiment.sweep import (
    Arm,
    Experiment,
    Uncertainties,
    Uncertainty,
    _apply_scenario_changes,
    _get_path,
    _resolve_sample,
)
from simlib.params.changes import apply_changes
from simlib.params.config import Documented, FromFile, Record, read_yaml, record_from_dict
from simlib.params.policy import Policy, PolicySchedule, load_policy, load_variant
from simlib.params.resolve import InputCache, Inputs, resolve
from simlib.params.scenario import Scenario, read_scenario
from simlib.rules.raters import BERAKHLAK, SOURCES, RatingTable, between_source_correlation
from simlib.store.provenance import code_version, file_sha256, stable_hash
from simlib.store.rundir import (
    claim_dir,
    claim_file,
    foreign_entries,
    make_parents,
    write_bytes_atomic,
)

__all__ = [
    "IMPLAUSIBILITY_CUTOFF",
    "METHODS",
    "STATISTICS",
    "CalibrationProblem",
    "CalibrationResult",
    "CandidateCache",
    "FreeParameter",
    "Statistic",
    "StatisticFunction",
    "Target",
    "TargetFile",
    "calibrate",
    "check_targets",
    "evaluate",
    "load_targets",
    "parse_free",
    "plan_calibration",
    "write_delta",
]

#: History matching: a point is implausible when some target is this many SDs away.
IMPLAUSIBILITY_CUTOFF = 3.0
#: Optimisers of ``scipy.optimize.minimize`` that ``calibrate`` accepts (all derivative-free
#: and bounded); "none" keeps the best design point.
METHODS = ("nelder-mead", "powell", "none")
STATUSES = ("V", "P", "M")
AGGREGATES = ("mean", "first", "last")
_K = len(BERAKHLAK)
_CACHE_KIND = "calibration-cache"
_DELTA_MARK = "# Written by simlib calibrate"

# -- named statistic functions ---------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    """One run's results as statistics read them: outcomes, and the rating tables by period."""

    result: RunResult
    _tables: list[RatingTable] | None = field(default=None, repr=False)

    @property
    def tables(self) -> list[RatingTable]:
        """The run's rating tables, one per agency and appraisal period (``latent`` = score)."""
        if self._tables is None:
            object.__setattr__(self, "_tables", _rating_tables(self.result.ratings))
        return self._tables  # type: ignore[return-value]


@dataclass(frozen=True)
class StatisticFunction:
    """A named statistic of one run: what it measures, its unit, and what it needs."""

    name: str
    unit: str
    meaning: str
    needs_ratings: bool
    compute: Callable[[RunView], float]


def _rating_tables(frame: Any) -> list[RatingTable]:
    if frame is None or len(frame) == 0:
        return []
    agency = frame["agency"].astype("category").cat.codes.to_numpy()
    month = frame["t_month"].to_numpy()
    cut = np.flatnonzero((month[1:] != month[:-1]) | (agency[1:] != agency[:-1])) + 1
    bounds = [0, *cut.tolist(), len(frame)]
    ratee = frame["ratee"].to_numpy()
    rater = frame["rater"].to_numpy()
    source = frame["source"].cat.codes.to_numpy().astype(np.int64)
    dimension = frame["dimension"].cat.codes.to_numpy().astype(np.int64)
    score = frame["score"].to_numpy().astype(float)
    true = frame["true_score"].to_numpy()
    out = []
    for a, b in itertools.pairwise(bounds):
        s = slice(a, b)
        out.append(
            RatingTable(ratee[s], rater[s], source[s], dimension[s], score[s], score[s], true[s])
        )
    return out


def _per_table(view: RunView, fn: Callable[[RatingTable], float]) -> float:
    values = [fn(t) for t in view.tables]
    values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def _first_two(table: RatingTable, code: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per ratee with two raters of source ``code``: (ratee, first pair row, second pair row)."""
    source = table.source.reshape(-1, _K)[:, 0]
    ratee = table.ratee.reshape(-1, _K)[:, 0]
    rows = np.flatnonzero(source == code)
    order = np.argsort(ratee[rows], kind="stable")
    rows = rows[order]
    r = ratee[rows]
    first = np.searchsorted(r, r, side="left")
    rank = np.arange(len(rows)) - first
    count = np.bincount(r)[r] if len(r) else r
    two = count >= 2
    return r[(rank == 0) & two], rows[(rank == 0) & two], rows[(rank == 1) & two]


def _first_rows(table: RatingTable, code: int) -> dict[int, int]:
    source = table.source.reshape(-1, _K)[:, 0]
    ratee = table.ratee.reshape(-1, _K)[:, 0]
    rows = np.flatnonzero(source == code)
    ratees, first = np.unique(ratee[rows], return_index=True)
    return dict(zip(ratees.tolist(), rows[first].tolist(), strict=True))


def _reliability(table: RatingTable, source: str) -> float:
    _, a, b = _first_two(table, SOURCES.index(source))
    if len(a) < 3:
        return float("nan")
    x = table.latent.reshape(-1, _K)
    return float(np.corrcoef(x[a].ravel(), x[b].ravel())[0, 1])


def peer_variance_shares(table: RatingTable) -> dict[str, float]:
    """Shares of peer-rating variance by moments: ratee, source, rater, residual.

    With ``V`` the variance of single peer ratings (one rater, ratee and value), the
    covariances of two ratings of the same ratee identify the parts of the rater model
    (docs/model.md 7.3b): a peer and the supervisor on the same value share the ratee's
    general and dimensional performance (T + D); two peers on the same value add their
    source's perspective (T + D + P); two peers on different values share T + P; one peer on
    two values shares T + P plus his own leniency and idiosyncratic view (L + I). So ratee =
    cov(peer, supervisor) / V, source = (cov(peer, peer) - cov(peer, supervisor)) / V,
    rater = (cov(same peer, other value) - cov(peers, other value)) / V and the residual
    the rest: the shares of Scullen, Mount & Goff (2000), by moments instead of a CFA.
    """
    nan = dict.fromkeys(("ratee", "source", "rater", "residual"), float("nan"))
    x = table.latent.reshape(-1, _K)
    src = table.source.reshape(-1, _K)[:, 0]
    peer = src == SOURCES.index("peer")
    if peer.sum() < 10:
        return nan
    mu = x[peer].mean()
    v = float(x[peer].var())
    c = x - mu
    sums = c.sum(axis=1)
    same_rater = (sums**2 - (c**2).sum(axis=1)) / (_K * (_K - 1))
    c_rater = float(same_rater[peer].mean())
    ratees, a, b = _first_two(table, SOURCES.index("peer"))
    sup = _first_rows(table, SOURCES.index("supervisor"))
    if len(a) < 10 or not sup or v <= 0:
        return nan
    pa, pb = c[a], c[b]
    c_same = float((pa * pb).mean())
    c_other = float(((pa.sum(1) * pb.sum(1) - (pa * pb).sum(1)) / (_K * (_K - 1))).mean())
    both = [i for i, r in enumerate(ratees.tolist()) if r in sup]
    if len(both) < 10:
        return nan
    s_rows = np.array([sup[ratees[i]] for i in both])
    s = x[s_rows] - x[np.array(list(sup.values()))].mean()
    c_ps = float((pa[both] * s).mean())
    rater = c_rater - c_other
    return {
        "ratee": c_ps / v,
        "source": (c_same - c_ps) / v,
        "rater": rater / v,
        "residual": 1.0 - (c_same + rater) / v,
    }


def _self_leniency(table: RatingTable) -> float:
    src = table.source
    own = table.latent[src == SOURCES.index("self")]
    sup = table.latent[src == SOURCES.index("supervisor")]
    if len(own) < 3 or len(sup) < 3 or sup.std() == 0:
        return float("nan")
    return float((own.mean() - sup.mean()) / sup.std())


def _outcome_rows(view: RunView, metric: str, kind: str) -> Any:
    out = view.result.outcomes
    return out.loc[(out.metric == metric) & (out.period_kind == kind), "value"].to_numpy()


def _rate(view: RunView, metric: str) -> float:
    """People leaving for one reason per year over the headcount (summed over agencies, years)."""
    leavers = _outcome_rows(view, metric, "year").sum()
    heads = _outcome_rows(view, "headcount", "year").sum()
    return float(leavers / heads) if heads > 0 else float("nan")


def _hasil_reliability(view: RunView) -> float:
    acc = _outcome_rows(view, "rating_accuracy", "quarter")
    acc = acc[np.isfinite(acc)]
    return float(np.mean(acc**2)) if len(acc) else float("nan")


def _build_statistics() -> dict[str, StatisticFunction]:
    out: dict[str, StatisticFunction] = {}

    def add(name: str, unit: str, meaning: str, needs: bool, fn: Callable[[RunView], float]):
        out[name] = StatisticFunction(name, unit, meaning, needs, fn)

    for s in ("supervisor", "peer", "subordinate"):
        add(
            f"reliability.{s}",
            "correlation",
            f"within-source reliability of {s} perilaku ratings: correlation of two {s}s "
            "rating the same ratee on the same value (mean over periods)",
            True,
            lambda v, s=s: _per_table(v, lambda t: _reliability(t, s)),
        )
    for a, b in (
        ("supervisor", "peer"),
        ("self", "supervisor"),
        ("self", "peer"),
        ("subordinate", "supervisor"),
        ("subordinate", "peer"),
    ):
        add(
            f"correlation.{a}-{b}",
            "correlation",
            f"observed correlation of one {a} and one {b} rating of the same ratee and value",
            True,
            lambda v, a=a, b=b: _per_table(v, lambda t: between_source_correlation(t, a, b)),
        )
    add(
        "corrected_correlation.peer-supervisor",
        "correlation",
        "peer-supervisor correlation corrected for both sources' within-source reliability",
        True,
        lambda v: _per_table(
            v,
            lambda t: (
                between_source_correlation(t, "peer", "supervisor")
                / math.sqrt(max(_reliability(t, "peer") * _reliability(t, "supervisor"), 1e-12))
            ),
        ),
    )
    for part in ("ratee", "source", "rater", "residual"):
        add(
            f"peer_share.{part}",
            "share of peer-rating variance",
            f"{part} share of the variance of single peer ratings, by moments "
            "(peer_variance_shares)",
            True,
            lambda v, part=part: _per_table(v, lambda t: peer_variance_shares(t)[part]),
        )
    add(
        "self_leniency_d",
        "SD of supervisor ratings (Cohen's d)",
        "mean self rating minus mean supervisor rating, over the SD of supervisor ratings",
        True,
        lambda v: _per_table(v, _self_leniency),
    )
    add(
        "hasil_reliability",
        "correlation",
        "interrater reliability of one superior's hasil-kerja rating: squared correlation of "
        "the rating with true hasil kerja (rating_accuracy^2, mean over quarters)",
        False,
        _hasil_reliability,
    )
    add(
        "retirement_rate",
        "share per year",
        "retirements over headcount, per year",
        False,
        lambda v: _rate(v, "retirements"),
    )
    add(
        "voluntary_exit_rate",
        "share per year",
        "voluntary exits over headcount, per year",
        False,
        lambda v: _rate(v, "voluntary_exits"),
    )
    return out


#: Named statistic functions a target may use (``statistic: {function: NAME}``).
STATISTICS: dict[str, StatisticFunction] = _build_statistics()

# -- target files ----------------------------------------------------------------------

TargetName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]{0,79}$")]
Text = Annotated[str, Field(max_length=2000)]
_KINDS = tuple(dict.fromkeys(k for o in OUTCOMES for k in o.levels))


class Statistic(Record):
    """What a target is compared with: an outcome (or a sum of outcomes), or a function."""

    outcome: str | tuple[str, ...] | None = None
    period_kind: Literal[_KINDS] | None = None
    aggregate: Literal[AGGREGATES] = "mean"
    function: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Statistic:
        if (self.outcome is None) == (self.function is None):
            raise ValueError("give exactly one of 'outcome' (with 'period_kind') or 'function'")
        if self.function is not None:
            if self.function not in STATISTICS:
                raise ValueError(
                    f"{self.function!r} is not a statistic; allowed: "
                    f"{_close(self.function, STATISTICS)}"
                )
            if self.period_kind is not None:
                raise ValueError("'period_kind' belongs to an outcome, not to a function")
            return self
        names = (self.outcome,) if isinstance(self.outcome, str) else self.outcome
        if not names:
            raise ValueError("'outcome' is an empty list; allowed: one or more outcome names")
        declared = {o.name: o for o in OUTCOMES}
        for name in names:
            if name not in declared:
                raise ValueError(
                    f"{name!r} is not a declared outcome; allowed: {_close(name, declared)}"
                )
        if self.period_kind is None:
            raise ValueError("an outcome needs 'period_kind'; allowed: " + ", ".join(_KINDS))
        for name in names:
            if self.period_kind not in declared[name].levels:
                raise ValueError(
                    f"outcome {name!r} has no period kind {self.period_kind!r}; allowed: "
                    + ", ".join(declared[name].levels)
                )
        return self

    @property
    def outcomes(self) -> tuple[str, ...]:
        """The outcome names summed (empty for a function)."""
        if self.outcome is None:
            return ()
        return (self.outcome,) if isinstance(self.outcome, str) else self.outcome

    @property
    def needs_ratings(self) -> bool:
        """Whether the run must keep its rating table."""
        return self.function is not None and STATISTICS[self.function].needs_ratings

    def spec(self) -> dict[str, Any]:
        """JSON-ready identity of the statistic (part of cache keys)."""
        return self.model_dump(mode="json")

    def compute(self, view: RunView) -> float:
        """The statistic of one run."""
        if self.function is not None:
            return STATISTICS[self.function].compute(view)
        out = view.result.outcomes
        rows = out[(out.period_kind == self.period_kind) & out.metric.isin(self.outcomes)]
        if rows.empty:
            return float("nan")
        per = rows.groupby(["agency", "t_month"], sort=True)["value"].sum()
        months = per.index.get_level_values("t_month")
        if self.aggregate == "first":
            per = per[months == months.min()]
        elif self.aggregate == "last":
            per = per[months == months.max()]
        return float(per.mean())


class AppliesTo(Record):
    """Where a target applies: the scenario under its baseline, with these changes."""

    description: Text = ""
    variants: tuple[str, ...] = ()
    scenario_changes: dict[str, Any] = Field(default_factory=dict)


class Target(Record):
    """One observed quantity the model should reproduce."""

    name: TargetName
    description: Text = ""
    statistic: Statistic
    #: ``None``: the file's ``applies_to`` (by default the scenario under its baseline).
    applies_to: AppliesTo | None = None
    observed: float
    tolerance: Annotated[float, Field(gt=0.0)]
    status: Literal[STATUSES]
    reference: Text = ""


class TargetFile(FromFile, Record):
    """A file of calibration targets, as validated."""

    file_kind: ClassVar[str] = "target"

    name: Annotated[str, Field(min_length=1, max_length=120)]
    description: Text
    #: Where the targets apply unless a target says otherwise.
    applies_to: AppliesTo = AppliesTo()
    targets: Annotated[tuple[Target, ...], Field(min_length=1, max_length=500)]
    source_file: str = ""
    docs: Annotated[dict[str, Documented], Field(repr=False)] = Field(default_factory=dict)

    @field_validator("targets")
    @classmethod
    def _unique(cls, targets: tuple[Target, ...]) -> tuple[Target, ...]:
        names = [t.name for t in targets]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"repeated target name {name!r}; allowed: unique names")
        return targets

    def unit(self, index: int) -> str:
        """Unit of target ``index``'s observed value, as written in the file."""
        doc = self.docs.get(f"targets[{index}].observed")
        return doc.unit if doc else ""

    def source(self, index: int) -> str:
        """Source of target ``index``'s observed value, as written in the file."""
        doc = self.docs.get(f"targets[{index}].observed")
        return doc.source if doc else ""


def _close(name: str, options: Any) -> str:
    close = difflib.get_close_matches(name, list(options), n=3)
    return ", ".join(close) if close else ", ".join(sorted(options))


def load_targets(path: str | Path) -> TargetFile:
    """Load and validate a calibration target file.

    ``applies_to.scenario_changes`` (of the file and of each target) are kept as written,
    with their ``{value, unit, source}`` leaves: they are merged into the scenario and
    validated with it when a calibration is planned, as an experiment arm's are. A target
    without ``applies_to`` takes the file's. Policy variants must exist.

    Raises
    ------
    ConfigError
        Naming the file, the field path, the bad value and what is allowed.
    """
    path = Path(path)
    raw = read_yaml(path)
    kept: dict[Any, dict[str, Any]] = {}
    stripped = dict(raw)
    if isinstance(raw.get("applies_to"), dict):
        stripped["applies_to"] = _keep_changes(raw["applies_to"], "applies_to", "top", kept, path)
    if isinstance(raw.get("targets"), list):
        stripped["targets"] = []
        for i, target in enumerate(raw["targets"]):
            if isinstance(target, dict) and isinstance(target.get("applies_to"), dict):
                where = f"targets[{i}].applies_to"
                applies = _keep_changes(target["applies_to"], where, i, kept, path)
                target = {**target, "applies_to": applies}
            stripped["targets"].append(target)
    record = record_from_dict(TargetFile, stripped, file=path)
    # The scenario changes, kept as written, go back in; each record is validated whole.
    default = apply_changes(
        record.applies_to, {"scenario_changes": kept.get("top", {})}, file=path, where="applies_to"
    )
    restored: dict[str, Any] = {"applies_to": default}
    for i, target in enumerate(record.targets):
        if target.applies_to is None:
            applies, where = default, "applies_to"
        else:
            where = f"targets[{i}].applies_to"
            changes = {"scenario_changes": kept.get(i, {})}
            applies = apply_changes(target.applies_to, changes, file=path, where=where)
        for j, rel in enumerate(applies.variants):
            record.existing(rel, "policy variant file", field=f"{where}.variants[{j}]", file=path)
        restored[f"targets.{i}.applies_to"] = applies
    return apply_changes(record, restored, file=path)


def _keep_changes(
    applies: dict[str, Any], where: str, slot: Any, kept: dict[Any, Any], path: Path
) -> dict[str, Any]:
    """``applies`` without its ``scenario_changes``, which go to ``kept[slot]`` as written."""
    out = dict(applies)
    changes = out.pop("scenario_changes", None)
    if changes is None:
        return out
    if not isinstance(changes, dict):
        raise ConfigError(
            f"{_show(changes)} has the wrong type; allowed: a mapping of dotted scenario "
            "paths to values",
            file=path,
            path=f"{where}.scenario_changes",
        )
    for key in changes:
        if not isinstance(key, str) or not key:
            raise ConfigError(f"key {key!r}: allowed: dotted scenario paths", file=path,
                              path=f"{where}.scenario_changes")  # fmt: skip
    kept[slot] = changes
    return out


# -- free parameters -------------------------------------------------------------------

_FREE = re.compile(r"^(?P<path>[A-Za-z0-9_.]+)(=(?P<low>[^:]+):(?P<high>.+))?$")


@dataclass(frozen=True, slots=True)
class FreeParameter:
    """A parameter the calibration may move, within ``[low, high]``."""

    path: str
    low: float
    high: float
    start: float
    unit: str
    integer: bool = False

    @property
    def is_policy(self) -> bool:
        """Whether the path names a policy parameter (prefix ``policy.``)."""
        return self.path.startswith("policy.")

    def value(self, x: float) -> float | int:
        """``x`` clipped to the range (and rounded for a whole-number parameter)."""
        x = min(max(float(x), self.low), self.high)
        return round(x) if self.integer else x


def parse_free(text: str, raw_scenario: dict[str, Any], policy: Policy) -> FreeParameter:
    """Read ``PATH[=LOW:HIGH]`` given to ``--free``.

    Without a range the parameter may move by half its value either way (by 1 when it is
    0). The path must name a number of the scenario (dotted, list positions as numbers) or
    of the policy (prefixed ``policy.``).

    Raises
    ------
    ConfigError
        Naming ``--free``, the text, and what is allowed.
    """
    match = _FREE.match(text.strip())
    where = "--free"
    if match is None:
        raise ConfigError(
            f"{text!r}: allowed: PATH or PATH=LOW:HIGH (e.g. raters.leniency_mean=0:2 or "
            "policy.appraisal.cutoff_below=-3:-1)",
            path=where,
        )
    path = match["path"]
    if path.startswith("policy."):
        tree = policy.model_dump(mode="json", exclude={"source_file", "docs"})
        node = _get_path(tree, path.removeprefix("policy."))
        doc = policy.docs.get(path.removeprefix("policy."))
        unit = doc.unit if doc else "as in the policy"
    else:
        node = _get_path(raw_scenario, path)
        unit = node.get("unit", "as in the scenario") if isinstance(node, dict) else ""
        node = node.get("value") if isinstance(node, dict) and "value" in node else node
    if isinstance(node, bool) or not isinstance(node, int | float):
        shown = "not found" if node is None else f"is {_show(node)}, not a number"
        raise ConfigError(
            f"{path!r} {shown}; allowed: the dotted path of a number of the scenario "
            "(raters.leniency_mean, agencies.0.structure.employees) or of the policy "
            "prefixed 'policy.' (policy.appraisal.cutoff_below)",
            path=where,
        )
    start = float(node)
    if match["low"] is None:
        half = abs(start) / 2 if start != 0 else 1.0
        low, high = start - half, start + half
    else:
        try:
            low, high = float(match["low"]), float(match["high"])
        except ValueError:
            raise ConfigError(
                f"{text!r}: the range {match['low']}:{match['high']} is not two numbers; "
                "allowed: PATH=LOW:HIGH",
                path=where,
            ) from None
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ConfigError(
                f"{text!r}: range {low}:{high}; allowed: finite LOW < HIGH", path=where
            )
    integer = isinstance(node, int)
    return FreeParameter(path, low, high, min(max(start, low), high), unit, integer)


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a section"
    text = repr(value)
    return text if len(text) < 50 else text[:47] + "..."


# -- the problem -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Setting:
    """One distinct ``applies_to``: variants, scenario changes, and its targets."""

    label: str
    variants: tuple[Any, ...]
    raw_arm: dict[str, Any]
    ratings: bool
    targets: tuple[int, ...]


@dataclass(frozen=True)
class _TargetRef:
    target: Target
    file: TargetFile
    index: int

    @property
    def name(self) -> str:
        return self.target.name


@dataclass(frozen=True)
class CalibrationProblem:
    """A scenario, its targets and free parameters, resolved and checked.

    Build it with :func:`plan_calibration`.
    """

    scenario_path: Path
    raw_scenario: dict[str, Any]
    base: Policy
    targets: tuple[_TargetRef, ...]
    free: tuple[FreeParameter, ...]
    settings: tuple[_Setting, ...]
    seed: int
    replications: int
    code: str
    files: tuple[dict[str, str], ...]

    @property
    def target_names(self) -> list[str]:
        """Target names, in order."""
        return [t.name for t in self.targets]

    def resolve(self, values: Sequence[float]) -> list[tuple[Scenario, PolicySchedule]]:
        """Scenario and schedule of every setting at parameter values ``values``."""
        sample = {p.path: p.value(v) for p, v in zip(self.free, values, strict=True)}
        exp = _experiment(self)
        out = []
        for a, setting in enumerate(self.settings):
            try:
                scenario, schedule = _resolve_sample(
                    exp,
                    setting.raw_arm,
                    self.scenario_path,
                    self.base,
                    setting.variants,
                    sample,
                    arm_index=a,
                )
            except ConfigError as exc:
                raise _free_error(exc, sample, setting) from None
            if setting.ratings and not scenario.outputs.ratings:
                scenario = apply_changes(scenario, {"outputs.ratings": True})
            out.append((scenario, schedule))
        return out

    def key(self, resolved: list[tuple[Scenario, PolicySchedule]] | list[Inputs]) -> str:
        """Cache key of a candidate: its resolved inputs, the statistics, seed and code."""
        bundles = [r if isinstance(r, Inputs) else resolve(*r) for r in resolved]
        return stable_hash(
            {
                "inputs": [b.sha256 for b in bundles],
                "statistics": [
                    [self.targets[i].target.statistic.spec() for i in st.targets]
                    for st in self.settings
                ],
                "seed": self.seed,
                "code": self.code,
            }
        )


def _experiment(problem: CalibrationProblem) -> Experiment:
    """The experiment :func:`_resolve_sample` reads: one arm per setting, free parameters."""
    params = tuple(Uncertainty(path=p.path, range=(p.low, p.high)) for p in problem.free)
    docs = {
        f"uncertainties.parameters[{i}].range": Documented(p.unit or "as in the scenario", "")
        for i, p in enumerate(problem.free)
    }
    arms = tuple(
        Arm(name=f"setting_{i}", label=s.label[:120] or f"setting {i}")
        for i, s in enumerate(problem.settings)
    )
    # Built without validation: a calibration may have one setting (an experiment needs two).
    return Experiment.model_construct(
        name="calibration",
        description="",
        scenario=str(problem.scenario_path),
        seed=problem.seed,
        replications=problem.replications,
        baseline=arms[0].name,
        arms=arms,
        uncertainties=Uncertainties(method="lhs", samples=1, parameters=params) if params else None,
        source_file="",
        docs=docs,
    )


def _free_error(exc: ConfigError, sample: dict[str, Any], setting: _Setting) -> ConfigError:
    shown = ", ".join(f"{k}={_fmt(v)}" for k, v in sample.items())
    if exc.path.startswith("arms["):
        return ConfigError(f"{setting.label}: {exc.message}", file=exc.file, path=exc.path)
    return ConfigError(f"at {shown}: {exc.message}", file=exc.file, path="--free")


def _fmt(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def plan_calibration(
    scenario: str | Path,
    target_files: Sequence[str | Path],
    free: Sequence[str],
    *,
    replications: int = 4,
    seed: int = 1,
    require_free: bool = True,
) -> CalibrationProblem:
    """Resolve a calibration: load the scenario, targets and free parameters, check them.

    ``require_free=False`` allows no free parameter (:func:`check_targets`: the scenario as
    it is against the targets).

    The free parameters are checked at both ends of their ranges in every setting, so a
    range the scenario or policy refuses fails here, before anything is simulated.

    Raises
    ------
    ConfigError
        A bad scenario, target file, free parameter or range; one line.
    """
    if not free and require_free:
        raise ConfigError(
            "no free parameter; allowed: one or more --free PATH[=LOW:HIGH]", path="--free"
        )
    if replications < 2:
        raise ConfigError(
            f"{replications}; allowed: at least 2 (the Monte-Carlo variance of each target "
            "needs two replications)",
            path="--replications",
        )
    scenario_path = Path(scenario).resolve()
    raw = read_scenario(scenario_path)
    if "agencies" not in raw:
        raise ConfigError(
            "not a scenario file (it has no agencies); allowed: a scenario", file=scenario
        )
    from simlib.params.scenario import scenario_from_dict

    probe = scenario_from_dict(raw, file=scenario_path)
    policy_path = probe.resolve(probe.baseline_policy)
    base = load_policy(policy_path, on=probe.calendar.start_date)
    files = [
        {"role": "scenario", "path": _display(scenario_path), "sha256": file_sha256(scenario_path)},
        {"role": "policy", "path": _display(policy_path), "sha256": file_sha256(policy_path)},
    ]
    refs: list[_TargetRef] = []
    seen: dict[str, str] = {}
    for tf_path in target_files:
        tf = load_targets(tf_path)
        files.append(
            {"role": "targets", "path": _display(Path(tf_path)), "sha256": file_sha256(tf_path)}
        )
        for i, target in enumerate(tf.targets):
            if target.name in seen:
                raise ConfigError(
                    f"target {target.name!r} is also in {seen[target.name]}; allowed: unique "
                    "target names across the target files",
                    file=tf_path,
                    path=f"targets[{i}].name",
                )
            seen[target.name] = str(tf_path)
            refs.append(_TargetRef(target, tf, i))
    params = [parse_free(text, raw, base) for text in free]
    paths = [p.path for p in params]
    for i, p in enumerate(paths):
        if p in paths[:i]:
            raise ConfigError(f"{p!r} given twice; allowed: each parameter once", path="--free")
    settings = _settings(refs, raw)
    problem = CalibrationProblem(
        scenario_path=scenario_path,
        raw_scenario=raw,
        base=base,
        targets=tuple(refs),
        free=tuple(params),
        settings=settings,
        seed=seed,
        replications=replications,
        code=code_version()["key"],
        files=tuple(files),
    )
    for corner in ("low", "high"):
        problem.resolve([getattr(p, corner) for p in params])
    return problem


def _settings(refs: list[_TargetRef], raw: dict[str, Any]) -> tuple[_Setting, ...]:
    groups: dict[str, list[int]] = {}
    specs: dict[str, tuple[TargetFile, Target, int]] = {}
    for k, ref in enumerate(refs):
        applies = ref.target.applies_to
        variants = [str(ref.file.resolve(v)) for v in applies.variants]
        key = stable_hash({"variants": variants, "changes": applies.scenario_changes})
        groups.setdefault(key, []).append(k)
        specs.setdefault(key, (ref.file, ref.target, ref.index))
    out = []
    for key, members in groups.items():
        tf, target, i = specs[key]
        applies = target.applies_to
        where = f"targets[{i}].applies_to" if applies != tf.applies_to else "applies_to"
        variants = []
        for j, rel in enumerate(applies.variants):
            try:
                variants.append(load_variant(tf.resolve(rel)))
            except ConfigError as exc:
                raise ConfigError(
                    exc.message, file=exc.file, path=f"{where}.variants[{j}]: {exc.path}"
                ) from None
        raw_arm = _apply_scenario_changes(
            raw, applies.scenario_changes, file=tf.source_file, where=f"{where}.scenario_changes"
        )
        label = applies.description or (
            " + ".join(Path(v).stem for v in applies.variants) or "the scenario's baseline"
        )
        ratings = any(refs[k].target.statistic.needs_ratings for k in members)
        out.append(_Setting(label, tuple(variants), raw_arm, ratings, tuple(members)))
    return tuple(out)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# -- simulation, cached ----------------------------------------------------------------


class CandidateCache:
    """Simulated candidates on disk: one JSON file per candidate, keyed by its inputs.

    The folder is claimed with :func:`simlib.store.rundir.claim_dir`: new, empty, or one this
    cache wrote (a ``manifest.json`` of kind ``calibration-cache`` and nothing but
    ``<key>.json`` files). Each file is written atomically.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = claim_dir(folder, what="simlib calibrate", owned=cache_foreign)
        self.hits = 0
        self.writes = 0
        manifest = self.folder / "manifest.json"
        if not manifest.is_file():
            make_parents(manifest)
            self.folder.mkdir(exist_ok=True)
            _write_json(manifest, {"kind": _CACHE_KIND, "created": _now()})

    def get(self, key: str) -> dict[str, Any]:
        """The cached record of candidate ``key`` (empty if none, or if unreadable)."""
        path = self.folder / f"{key}.json"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) and record.get("key") == key else {}

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Write candidate ``key``'s record (atomically)."""
        _write_json(self.folder / f"{key}.json", {**record, "key": key})
        self.writes += 1


def cache_foreign(folder: Path) -> list[str] | None:
    """``owned`` for a calibration cache folder (see :func:`simlib.store.rundir.claim_dir`)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("kind") != _CACHE_KIND:
        return None
    ours = {"manifest.json"} | {
        p.name for p in folder.glob("*.json") if re.fullmatch(r"[0-9a-f]{64}\.json", p.name)
    }
    hidden = {
        p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")
    }
    return foreign_entries(folder, ours | hidden)


def _write_json(path: Path, obj: Any) -> None:
    text = json.dumps(obj, indent=1, sort_keys=True, default=_json_default) + "\n"
    write_bytes_atomic(path, text.encode())


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    return str(x)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


@dataclass
class Evaluation:
    """Statistics of one candidate: per target, one value per replication."""

    values: tuple[float, ...]
    stats: dict[str, list[float]]
    cached: int = 0
    simulated: int = 0


def evaluate(
    problem: CalibrationProblem,
    values: Sequence[float],
    *,
    cache: CandidateCache | None = None,
    on_simulation: Callable[[], None] | None = None,
) -> Evaluation:
    """Simulate (or read from the cache) every replication of one candidate.

    Replication *r* of every candidate and every setting runs with ``seed`` and
    replication *r* (common random numbers).
    """
    clipped = tuple(float(p.value(v)) for p, v in zip(problem.free, values, strict=True))
    reads = InputCache()  # the candidate's settings share what they read
    bundles = [resolve(s, p, cache=reads) for s, p in problem.resolve(clipped)]
    key = problem.key(bundles)
    record = cache.get(key) if cache is not None else {}
    reps: dict[str, dict[str, float]] = dict(record.get("replications", {}))
    ev = Evaluation(clipped, {name: [] for name in problem.target_names})
    changed = False
    for r in range(problem.replications):
        got = reps.get(str(r))
        if got is not None and set(got) >= set(problem.target_names):
            ev.cached += 1
        else:
            got = {}
            for setting, bundle in zip(problem.settings, bundles, strict=True):
                result = simulate(bundle, seed=problem.seed, replication=r)
                view = RunView(result)
                for k in setting.targets:
                    got[problem.targets[k].name] = problem.targets[k].target.statistic.compute(view)
                if on_simulation is not None:
                    on_simulation()
            reps[str(r)] = got
            ev.simulated += 1
            changed = True
        for name in problem.target_names:
            ev.stats[name].append(float(got[name]))
    if cache is not None:
        if changed:
            params = {p.path: v for p, v in zip(problem.free, clipped, strict=True)}
            cache.put(key, {"parameters": params, "seed": problem.seed, "replications": reps})
        elif ev.cached:
            cache.hits += 1
    return ev


def _summary(problem: CalibrationProblem, ev: Evaluation) -> dict[str, Any]:
    """Mean, MC variance of the mean, standardised distance and implausibility per target."""
    rows = {}
    objective = 0.0
    worst = 0.0
    for ref in problem.targets:
        x = np.asarray(ev.stats[ref.name], dtype=float)
        t = ref.target
        if not np.isfinite(x).all():
            mean = var_mean = float("nan")
            z = imp = float("inf")
        else:
            mean = float(x.mean())
            var_mean = float(x.var(ddof=1) / len(x)) if len(x) > 1 else 0.0
            z = (mean - t.observed) / t.tolerance
            imp = abs(mean - t.observed) / math.sqrt(t.tolerance**2 + var_mean)
        rows[ref.name] = {
            "simulated": mean,
            "mc_se": math.sqrt(var_mean) if math.isfinite(var_mean) else float("nan"),
            "z": z,
            "implausibility": imp,
        }
        objective += z * z
        worst = max(worst, imp)
    return {"objective": objective, "implausibility": worst, "targets": rows}


def check_targets(
    scenario: str | Path,
    target_files: Sequence[str | Path],
    *,
    replications: int = 4,
    seed: int = 1,
    cache: CandidateCache | None = None,
) -> Any:
    """The scenario as it is (its defaults and baseline policy) against calibration targets.

    Simulates ``replications`` replications of every setting the targets need (common
    random numbers, as in :func:`calibrate`) and compares each target's mean with the
    observed value.

    Returns
    -------
    pandas.DataFrame
        One row per target: ``target, file, status, observed, tolerance, simulated, mc_se``
        (Monte-Carlo standard error of the simulated mean), ``z`` ((simulated - observed) /
        tolerance), ``implausibility`` (``|simulated - observed| / sqrt(tolerance^2 +
        mc_se^2)``), ``met`` (``|z| <= 1``: within the tolerance) and ``plausible``
        (implausibility below :data:`IMPLAUSIBILITY_CUTOFF`).
    """
    import pandas as pd

    problem = plan_calibration(scenario, target_files, [], replications=replications, seed=seed,
                               require_free=False)  # fmt: skip
    summ = _summary(problem, evaluate(problem, (), cache=cache))
    rows = []
    for ref in problem.targets:
        row = summ["targets"][ref.name]
        t = ref.target
        rows.append(
            {
                "target": ref.name,
                "file": Path(ref.file.source_file).name,
                "status": t.status,
                "observed": t.observed,
                "tolerance": t.tolerance,
                "simulated": row["simulated"],
                "mc_se": row["mc_se"],
                "z": row["z"],
                "implausibility": row["implausibility"],
                "met": bool(abs(row["z"]) <= 1.0),
                "plausible": bool(row["implausibility"] < IMPLAUSIBILITY_CUTOFF),
            }
        )
    return pd.DataFrame(rows)


# -- the search ------------------------------------------------------------------------


@dataclass
class CalibrationResult:
    """What :func:`calibrate` found.

    Attributes
    ----------
    best
        Parameter values (path -> value) of the smallest objective.
    best_summary
        Its objective, implausibility and per-target simulated mean, MC standard error,
        standardised distance and implausibility.
    design
        Every design point: values, objective, implausibility.
    non_implausible
        Design points with implausibility below :data:`IMPLAUSIBILITY_CUTOFF`.
    evaluations
        Candidates evaluated (design and search); simulations run and read from the cache.
    """

    problem: CalibrationProblem
    best: dict[str, float]
    best_summary: dict[str, Any]
    design: list[dict[str, Any]]
    non_implausible: list[dict[str, Any]]
    evaluations: int
    simulations: int
    cached: int
    method: str
    optimizer: dict[str, Any]
    wall_s: float = 0.0

    @property
    def ranges(self) -> dict[str, tuple[float, float] | None]:
        """Smallest and largest value of each parameter in the non-implausible set."""
        out: dict[str, tuple[float, float] | None] = {}
        for p in self.problem.free:
            xs = [d["values"][p.path] for d in self.non_implausible]
            out[p.path] = (min(xs), max(xs)) if xs else None
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        pr = self.problem
        return {
            "kind": "calibration",
            "scenario": _display(pr.scenario_path),
            "files": list(pr.files),
            "seed": pr.seed,
            "replications": pr.replications,
            "code_version": pr.code,
            "free": [
                {"path": p.path, "low": p.low, "high": p.high, "start": p.start, "unit": p.unit}
                for p in pr.free
            ],
            "targets": [
                {
                    "name": r.name,
                    "file": _display(Path(r.file.source_file)),
                    "observed": r.target.observed,
                    "tolerance": r.target.tolerance,
                    "unit": r.file.unit(r.index),
                    "status": r.target.status,
                    "source": r.file.source(r.index),
                    "applies_to": next(
                        s.label for s in pr.settings if pr.targets.index(r) in s.targets
                    ),
                }
                for r in pr.targets
            ],
            "best": self.best,
            "best_fit": self.best_summary,
            "implausibility_cutoff": IMPLAUSIBILITY_CUTOFF,
            "design_points": len(self.design),
            "non_implausible": self.non_implausible,
            "non_implausible_ranges": {k: list(v) if v else None for k, v in self.ranges.items()},
            "design": self.design,
            "method": self.method,
            "optimizer": self.optimizer,
            "evaluations": self.evaluations,
            "simulations": self.simulations,
            "cached_replications": self.cached,
            "wall_s": self.wall_s,
            "date": _now(),
        }


def design_points(problem: CalibrationProblem, n: int, *, seed: int) -> np.ndarray:
    """A Latin hypercube of ``n`` points over the free ranges (``scipy.stats.qmc``)."""
    from scipy.stats import qmc

    d = len(problem.free)
    unit = qmc.LatinHypercube(d=d, rng=np.random.default_rng([seed, 0xCA11])).random(n)
    low = np.array([p.low for p in problem.free])
    high = np.array([p.high for p in problem.free])
    return qmc.scale(unit, low, high)


def calibrate(
    problem: CalibrationProblem,
    *,
    design: int | None = None,
    method: str = "nelder-mead",
    max_evaluations: int | None = None,
    cache: CandidateCache | None = None,
    progress: Callable[[str, int | None], Any] | None = None,
) -> CalibrationResult:
    """Fit the free parameters to the targets (see the module docstring).

    Parameters
    ----------
    problem
        From :func:`plan_calibration`.
    design
        Latin hypercube points (default 16 per free parameter, at least 16).
    method
        ``"nelder-mead"``, ``"powell"`` (``scipy.optimize.minimize``, bounded) or ``"none"``.
    max_evaluations
        Candidates the optimiser may evaluate (default 40 per free parameter).
    cache
        Where simulated candidates are kept; ``None`` keeps nothing.
    progress
        ``progress(stage, total)`` returns a callable advanced once per simulation (or
        ``None``); e.g. a tqdm bar's ``update``.
    """
    import time

    from scipy.optimize import minimize

    if method not in METHODS:
        raise ConfigError(f"{method!r}; allowed: {', '.join(METHODS)}", path="--method")
    started = time.perf_counter()
    d = len(problem.free)
    n_design = design if design is not None else max(16, 16 * d)
    budget = max_evaluations if max_evaluations is not None else 40 * d
    per_candidate = problem.replications * len(problem.settings)
    counts = {"sims": 0, "cached": 0, "evals": 0}

    def tick_for(stage: str, total: int | None) -> Callable[[], None] | None:
        return progress(stage, total) if progress is not None else None

    memo: dict[tuple[float, ...], Evaluation] = {}

    def run(x: Sequence[float], tick) -> tuple[Evaluation, dict[str, Any]]:
        # The optimiser revisits points (and the best is re-read at the end): same numbers.
        at = tuple(float(p.value(v)) for p, v in zip(problem.free, x, strict=True))
        if at in memo:
            return memo[at], _summary(problem, memo[at])
        ev = evaluate(problem, at, cache=cache, on_simulation=tick)
        memo[at] = ev
        counts["sims"] += ev.simulated * len(problem.settings)
        counts["cached"] += ev.cached
        counts["evals"] += 1
        return ev, _summary(problem, ev)

    def as_dict(values: Sequence[float]) -> dict[str, float]:
        return {p.path: float(v) for p, v in zip(problem.free, values, strict=True)}

    tick = tick_for("design", n_design * per_candidate)
    rows = []
    for x in design_points(problem, n_design, seed=problem.seed):
        ev, summ = run(x, tick)
        rows.append(
            {
                "values": as_dict(ev.values),
                "objective": summ["objective"],
                "implausibility": summ["implausibility"],
            }
        )
    best_row = min(rows, key=lambda r: (not math.isfinite(r["objective"]), r["objective"]))
    best_values = [best_row["values"][p.path] for p in problem.free]
    best_obj = best_row["objective"]
    optimizer: dict[str, Any] = {"method": method, "start": as_dict(best_values)}
    if method != "none" and budget > 0:
        tick = tick_for("search", budget * per_candidate)
        low = np.array([p.low for p in problem.free])
        span = np.array([p.high - p.low for p in problem.free])
        seen: dict[tuple[float, ...], float] = {}

        def objective(u: np.ndarray) -> float:
            x = low + np.clip(u, 0.0, 1.0) * span
            ev, summ = run(x, tick)
            seen[tuple(ev.values)] = summ["objective"]
            value = summ["objective"]
            return value if math.isfinite(value) else 1e12

        u0 = (np.array(best_values) - low) / span
        options: dict[str, Any] = {"maxfev": budget}
        if method == "nelder-mead":
            # Simplex steps of a tenth of each range (scaled to the unit box).
            simplex = np.vstack(
                [u0]
                + [
                    np.clip(u0 + 0.1 * np.eye(d)[i] * (1 if u0[i] < 0.9 else -1), 0, 1)
                    for i in range(d)
                ]
            )
            options |= {"initial_simplex": simplex, "xatol": 1e-3, "fatol": 1e-3}
        else:
            options |= {"xtol": 1e-3, "ftol": 1e-4}
        fit = minimize(
            objective,
            u0,
            method="Nelder-Mead" if method == "nelder-mead" else "Powell",
            bounds=[(0.0, 1.0)] * d,
            options=options,
        )
        x_best = low + np.clip(fit.x, 0.0, 1.0) * span
        ev, summ = run(x_best, None)
        if summ["objective"] <= best_obj:
            best_values, best_obj = list(ev.values), summ["objective"]
        optimizer |= {
            "message": str(fit.message),
            "evaluations": int(fit.nfev),
            "success": bool(fit.success),
        }
    final, summary = run(best_values, None)
    non_implausible = [r for r in rows if r["implausibility"] < IMPLAUSIBILITY_CUTOFF]
    return CalibrationResult(
        problem=problem,
        best=as_dict(final.values),
        best_summary=summary,
        design=rows,
        non_implausible=non_implausible,
        evaluations=counts["evals"],
        simulations=counts["sims"],
        cached=counts["cached"],
        method=method,
        optimizer=optimizer,
        wall_s=time.perf_counter() - started,
    )


# -- the scenario delta ----------------------------------------------------------------


def delta_owned(path: Path) -> bool:
    """``owned`` for ``--out``: a file this command wrote (its first line is our mark)."""
    try:
        with path.open(encoding="utf-8") as fh:
            return fh.readline().startswith(_DELTA_MARK)
    except (OSError, UnicodeDecodeError):
        return False


def _json_owned(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("kind") in ("calibration", "calibration-policy")


def output_paths(out: str | Path) -> dict[str, Path]:
    """Files ``write_delta`` writes for ``--out FILE``: the delta, the policy variant, JSON."""
    out = Path(out)
    stem = out.name.removesuffix(".yaml").removesuffix(".yml")
    return {
        "delta": out,
        "policy": out.with_name(f"{stem}.policy.yaml"),
        "json": out.with_name(f"{stem}.calibration.json"),
        "cache": out.with_name(f"{stem}.cache"),
    }


def claim_outputs(out: str | Path) -> dict[str, Path]:
    """Check that ``--out`` and its companions may be written (before any simulation)."""
    paths = output_paths(out)
    claim_file(paths["delta"], what="simlib calibrate", owned=delta_owned)
    claim_file(paths["policy"], what="simlib calibrate", owned=delta_owned)
    claim_file(paths["json"], what="simlib calibrate", owned=_json_owned)
    return paths


def write_delta(result: CalibrationResult, out: str | Path) -> dict[str, Path]:
    """Write the calibrated scenario delta, a policy variant (if any) and the JSON summary.

    The delta is ``extends: <scenario>`` plus each calibrated scenario leaf as ``{value,
    unit, source}``, the source naming the calibration (target files and their SHA-256, the
    objective, the date). Policy parameters go to ``<stem>.policy.yaml``, a variant to apply
    with ``--policy``. Every file is written atomically.
    """
    paths = claim_outputs(out)
    make_parents(paths["delta"])
    pr = result.problem
    summ = result.best_summary
    date = dt.date.today().isoformat()
    targets = "; ".join(
        f"{f['path']} (sha256 {f['sha256']})" for f in pr.files if f["role"] == "targets"
    )
    ranges = result.ranges
    agencies = [a.get("name") for a in pr.raw_scenario.get("agencies", [])]
    delta: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    for p in pr.free:
        value = p.value(float(f"{result.best[p.path]:.6g}"))
        r = ranges[p.path]
        span = (
            f"non-implausible {_fmt(r[0])} to {_fmt(r[1])}"
            if r
            else "no design point was non-implausible"
        )
        source = (
            f"calibrated by simlib calibrate on {date} to {targets}: objective "
            f"{summ['objective']:.3g}, max implausibility {summ['implausibility']:.3g}, "
            f"{span} (range searched {_fmt(p.low)} to {_fmt(p.high)}), "
            f"{pr.replications} replications, seed {pr.seed}"
        )
        leaf = {"value": value, "unit": p.unit or "as in the scenario", "source": source}
        if p.is_policy:
            changes[p.path.removeprefix("policy.")] = leaf
        else:
            _nest(delta, p.path.split("."), leaf, agencies)
    parent = os.path.relpath(pr.scenario_path, paths["delta"].parent.resolve())
    name = str(pr.raw_scenario.get("name", "scenario"))
    header = [
        f"{_DELTA_MARK} on {_now()}: the scenario with calibrated parameters.",
        f"# Scenario: {_display(pr.scenario_path)}; targets: {targets}.",
        f"# Best fit: objective {summ['objective']:.4g} (sum of squared standardised "
        f"distances), max implausibility {summ['implausibility']:.3g} (cutoff "
        f"{IMPLAUSIBILITY_CUTOFF:g}); {result.simulations} simulations, "
        f"{len(result.non_implausible)} of {len(result.design)} design points non-implausible.",
        f"# Details: {paths['json'].name}."
        + (f" Policy parameters: {paths['policy'].name} (apply with --policy)." if changes else ""),
    ]
    body = {
        "extends": parent,
        "name": f"{name} (calibrated)"[:120],
        "description": (
            f"{name} with {', '.join(p.path for p in pr.free)} calibrated by simlib calibrate "
            f"on {date} to {targets}."
        )[:2000],
        **delta,
    }
    text = (
        "\n".join(header)
        + "\n"
        + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)
    )
    written = {"delta": paths["delta"], "json": paths["json"]}
    if changes:
        variant = {
            "name": f"Calibrated ({date})",
            "description": f"Policy parameters calibrated by simlib calibrate to {targets}."[:2000],
            "changes": changes,
        }
        ptext = (
            f"{_DELTA_MARK} on {_now()}: calibrated policy parameters (a variant).\n"
            + yaml.safe_dump(variant, sort_keys=False, allow_unicode=True, width=100)
        )
        write_bytes_atomic(paths["policy"], ptext.encode())
        written["policy"] = paths["policy"]
    write_bytes_atomic(paths["delta"], text.encode())
    _write_json(paths["json"], result.to_dict())
    return written


def _nest(tree: dict[str, Any], parts: list[str], leaf: Any, agencies: list[Any]) -> None:
    """Set ``leaf`` at dotted ``parts`` of a delta; ``agencies.N`` becomes the named agency."""
    if parts[0] == "agencies" and len(parts) > 1 and parts[1].isdigit():
        items = tree.setdefault("agencies", [{"name": n} for n in agencies])
        _nest(items[int(parts[1])], parts[2:], leaf, agencies)
        return
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = copy.deepcopy(leaf)
