"""Experiments: policy arms x uncertainty samples x replications, run into a store.

An experiment file (``data/experiments/*.yaml``) names a scenario, a baseline arm and
the other *arms* (policy variant files applied to the baseline policy, and optional
``scenario_changes``), the *uncertainties* (scenario or policy parameters sampled by full
factorial, Latin hypercube or Sobol design), the number of replications and the root
seed::

    name: Default comparison
    description: ...
    scenario: ../scenarios/district_health_office.yaml
    seed: {value: 20260101, unit: root seed, source: assumption}
    replications: {value: 30, unit: replications per arm and sample, source: assumption}
    baseline: today
    arms:
      - {name: today, label: "Today's rules"}
      - {name: steeper_tiers, label: Steeper tiers, variants: [../policies/steeper_tiers.yaml]}
      - name: training_first
        label: Training first (university partnership)
        variants: [../policies/training_programmes.yaml]
      - name: bigger_district
        label: A bigger district
        scenario_changes: {agencies.0.structure.employees: 2000}
    uncertainties:
      method: lhs                    # factorial | lhs | sobol
      samples: {value: 4, unit: samples, source: assumption}

Parameters
----------
        - path: behaviour.pay_sensitivity
          range: {value: [0.5, 1.5], unit: SD of effort per unit, source: assumption}
        - path: policy.budget.over_cap_rule
          levels: [prorate, rank_order]

:func:`load_experiment` validates the file like a scenario (one-line errors naming the
file, the field and what is allowed); :func:`plan_sweep` resolves every arm and sample into
a validated scenario and policy schedule (so a bad path fails before anything is written)
and lists the runs with their keys; :func:`run_sweep` runs them with an executor
(in-process, a local process pool, or Dask) into a :mod:`simlib.store.runstore`.

Common random numbers: every run of replication *r* calls ``simulate(..., seed=root_seed,
replication=r)``, whatever its arm and uncertainty sample, so arms are compared on the
same random draws and differences are paired.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import copy
import datetime as dt
import difflib
import json
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from simlib.core.errors import ConfigError
from simlib.core.paths import ROOT
from simlib.engine.calendar import check_stop_rule
from simlib.engine.model import simulate
from simlib.params.changes import apply_changes, record_at
from simlib.params.config import (
    RESERVED,
    Documented,
    FromFile,
    Record,
    read_yaml,
    record_from_dict,
    require_unique,
)
from simlib.params.policy import (
    Policy,
    PolicySchedule,
    Variant,
    build_schedule,
    load_policy,
    load_variant,
)
from simlib.params.resolve import InputCache, Inputs, resolve
from simlib.params.scenario import (
    MOVED_TO_POLICY,
    AgencySpec,
    Scenario,
    read_scenario,
    scenario_from_dict,
)
from simlib.store.provenance import (
    code_version,
    file_sha256,
    input_files,
    package_versions,
)
from simlib.store.rundir import claim_dir, make_parents
from simlib.store.runstore import (
    FAILED,
    RUNS,
    append_log,
    completed_keys,
    damaged_runs,
    lock_store,
    read_manifest,
    rebuild_log,
    remove_partial_files,
    run_key,
    run_table,
    store_foreign,
    write_json,
    write_run_file,
)

__all__ = [
    "EXECUTORS",
    "METHODS",
    "Arm",
    "Experiment",
    "RunRecord",
    "RunSpec",
    "StoppingRule",
    "SweepPlan",
    "Uncertainties",
    "Uncertainty",
    "load_experiment",
    "plan_sweep",
    "run_sweep",
]

EXECUTORS = ("inprocess", "processes", "dask")
METHODS = ("factorial", "lhs", "sobol")
#: Extra key mixed into the root seed for the sampling design (never used by the model).
_DESIGN_STREAM = 0x5EED_DE51

ArmName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,59}$")]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Text = Annotated[str, Field(max_length=2000)]
#: A name or text for readers, in one language or per report language (``{id: ..., en: ...}``).
Label = Name | Annotated[dict[Literal["id", "en"], Name], Field(min_length=1)]
Prose = Text | Annotated[dict[Literal["id", "en"], Text], Field(min_length=1)]


class Arm(Record):
    """One policy arm: variant files on the baseline policy, and scenario changes.

    ``scenario_changes`` maps dotted scenario paths (list positions as numbers, e.g.
    ``agencies.0.training``) to values written as in a scenario file; paths to files are
    relative to the scenario file. It is kept as written (see :func:`load_experiment`).
    """

    name: ArmName
    label: Label
    description: Prose = ""
    variants: tuple[str, ...] = ()
    scenario_changes: dict[str, Any] = Field(default_factory=dict)


class Uncertainty(Record):
    """An uncertain parameter: a scenario path, or a policy path prefixed ``policy.``.

    Give either ``range`` (low, high: sampled continuously; whole numbers if both bounds
    are whole) or ``levels`` (a list of values).
    """

    path: Annotated[str, Field(min_length=1, max_length=300)]
    range: tuple[float, float] | None = None
    levels: Annotated[tuple[float | str | bool, ...], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _range_or_levels(self) -> Uncertainty:
        if (self.range is None) == (self.levels is None):
            raise ValueError("give exactly one of 'range' (low, high) or 'levels' (a list)")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(f"range {list(self.range)}: allowed: low < high")
        return self


class Uncertainties(Record):
    """How the uncertain parameters are sampled.

    ``samples`` is the number of Latin hypercube points, or Sobol's base sample size N
    (a power of two; the design then has N x (parameters + 2) samples). A factorial design
    crosses every ``levels`` list and ``points`` evenly spaced values of every ``range``.
    """

    method: Literal[METHODS]
    samples: Annotated[int, Field(ge=1, le=100_000)] = 1
    points: Annotated[int, Field(ge=2, le=100)] = 2
    parameters: Annotated[tuple[Uncertainty, ...], Field(min_length=1, max_length=50)]
    #: Probabilistic sensitivity analysis: replication *r* of every arm runs sample *r* of
    #: the design (one draw of the assumptions per replication, the same in every arm),
    #: instead of every sample with every replication.
    per_replication: bool = False

    @model_validator(mode="after")
    def _per_replication_is_lhs(self) -> Uncertainties:
        if self.per_replication and self.method != "lhs":
            raise ValueError(
                f"per_replication with method {self.method!r}: allowed: method lhs (one Latin "
                "hypercube point per replication)"
            )
        return self

    @model_validator(mode="after")
    def _sobol_power_of_two(self) -> Uncertainties:
        if self.method == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(
                f"samples {self.samples}: allowed for sobol: a power of two (2, 4, 8, ...)"
            )
        return self


class StoppingRule(Record):
    """Add replications until an outcome's interval is narrow enough.

    After the experiment's replications, the paired differences of ``metric`` (its last
    period, every agency, every arm against the baseline) are computed; while the widest
    interval's half-width is above ``half_width`` and fewer than ``max_replications`` have
    run, ``step`` more replications are added.
    """

    metric: Annotated[str, Field(min_length=1)]
    half_width: Annotated[float, Field(gt=0.0)]
    max_replications: Annotated[int, Field(ge=2, le=100_000)]
    step: Annotated[int, Field(ge=1, le=100_000)] = 10

    @field_validator("metric")
    @classmethod
    def _declared(cls, value: str) -> str:
        from simlib.engine.outcomes import OUTCOMES

        names = [o.name for o in OUTCOMES]
        if value not in names:
            close = difflib.get_close_matches(value, names, n=3)
            hint = ", ".join(close) if close else "a declared outcome (docs/model.md, outputs)"
            raise ValueError(f"not a declared outcome; allowed: {hint}")
        return value


class Experiment(FromFile, Record):
    """A whole experiment, as validated from its file."""

    file_kind: ClassVar[str] = "experiment"

    name: Label
    description: Prose
    scenario: str
    baseline_policy: str | None = None
    seed: Annotated[int, Field(ge=0, lt=2**63)]
    replications: Annotated[int, Field(ge=1, le=100_000)]
    scenario_changes: dict[str, Any] = Field(default_factory=dict)
    baseline: ArmName
    arms: Annotated[tuple[Arm, ...], Field(min_length=2, max_length=200)]
    uncertainties: Uncertainties | None = None
    #: Keep pay and predikat shares by grade, job type, sex and unit (winners and losers).
    group_summaries: bool = True
    stopping: StoppingRule | None = None
    source_file: str = ""
    docs: Annotated[dict[str, Documented], Field(repr=False)] = Field(default_factory=dict)

    @field_validator("arms")
    @classmethod
    def _unique_arms(cls, arms: tuple[Arm, ...]) -> tuple[Arm, ...]:
        require_unique([a.name for a in arms], "arm name")
        return arms

    @model_validator(mode="after")
    def _baseline_is_an_arm(self) -> Experiment:
        names = [a.name for a in self.arms]
        if self.baseline not in names:
            raise ValueError(
                f"baseline {self.baseline!r} is not an arm; allowed: {', '.join(names)}"
            )
        return self

    @model_validator(mode="after")
    def _plan_fits(self) -> Experiment:
        check_plan_size(self, self.replications)
        return self

    @property
    def per_replication(self) -> bool:
        """Whether replication *r* runs uncertainty sample *r* (probabilistic sensitivity)."""
        return self.uncertainties is not None and self.uncertainties.per_replication

    def arm(self, name: str) -> Arm:
        """The arm called ``name``."""
        return next(a for a in self.arms if a.name == name)

    @property
    def n_samples(self) -> int:
        """Samples of the uncertainty design (1 without uncertainties)."""
        design = self.uncertainties
        if design is None:
            return 1
        if design.method == "lhs":
            return design.samples
        if design.method == "sobol":
            return design.samples * (len(design.parameters) + 2)
        sizes = [
            len(p.levels) if p.levels is not None else design.points for p in design.parameters
        ]
        return math.prod(sizes)


#: Largest number of (arm, sample) inputs a plan resolves (each is validated: ~4 ms).
MAX_INPUTS = 10_000
#: Largest number of runs a plan lists (every run is one file and one line of the manifest).
MAX_RUNS = 500_000


def check_plan_size(exp: Experiment, replications: int) -> None:
    """Refuse a plan too large to resolve or to run, before any work is done.

    Raises
    ------
    ValueError
        Naming the size of the plan and the limit (pydantic turns it into a ConfigError).
    """
    samples = exp.n_samples
    inputs = len(exp.arms) * samples
    most = max(replications, exp.stopping.max_replications if exp.stopping else 0)
    runs = inputs * most
    if exp.uncertainties is not None and exp.uncertainties.per_replication:
        if exp.stopping is not None:
            raise ValueError("per_replication uncertainties: allowed: no stopping rule")
        if replications > samples:
            raise ValueError(
                f"{replications} replications with per_replication uncertainties of "
                f"{samples} samples; allowed: at most as many replications as samples"
            )
        runs = len(exp.arms) * replications
    if inputs > MAX_INPUTS:
        raise ValueError(
            f"{len(exp.arms)} arms x {samples:,} uncertainty samples = {inputs:,} inputs to "
            f"resolve; allowed: at most {MAX_INPUTS:,} (fewer arms or samples)"
        )
    if runs > MAX_RUNS:
        raise ValueError(
            f"{len(exp.arms)} arms x {samples:,} samples x {most:,} replications = {runs:,} "
            f"runs; allowed: at most {MAX_RUNS:,} runs in one sweep (split it, or use fewer "
            "replications)"
        )


def load_experiment(path: str | Path) -> Experiment:
    """Load and validate an experiment file.

    ``scenario_changes`` (of the experiment and of each arm) are kept as written, with
    their ``{value, unit, source}`` leaves, because they are merged into the scenario file
    and validated with it (:func:`plan_sweep`).

    Raises
    ------
    ConfigError
        Naming the experiment file, the field path, the bad value and what is allowed.
    """
    path = Path(path)
    raw = read_yaml(path)
    kept: dict[str, Any] = {}
    stripped = dict(raw)
    if isinstance(raw.get("scenario_changes"), dict):
        kept["top"] = stripped.pop("scenario_changes")
    arms = raw.get("arms")
    if isinstance(arms, list):
        stripped["arms"] = []
        for i, arm in enumerate(arms):
            if isinstance(arm, dict) and isinstance(arm.get("scenario_changes"), dict):
                kept[i] = arm["scenario_changes"]
                arm = {k: v for k, v in arm.items() if k != "scenario_changes"}
            stripped["arms"].append(arm)
    _check_arm_names(stripped, file=path)
    experiment = record_from_dict(Experiment, stripped, file=path)
    for i, changes in kept.items():
        where = "scenario_changes" if i == "top" else f"arms[{i}].scenario_changes"
        for key in changes:
            if not isinstance(key, str) or not key:
                raise ConfigError(
                    f"key {key!r}: allowed: dotted scenario paths", file=path, path=where
                )
    # The changes, kept as written, go back in; the experiment is validated whole again.
    restored = {
        f"arms.{i}.scenario_changes": dict(kept.get(i, {})) for i in range(len(experiment.arms))
    }
    restored["scenario_changes"] = dict(kept.get("top", {}))
    return apply_changes(experiment, restored, file=path)


def _check_arm_names(raw: dict[str, Any], *, file: Path) -> None:
    """Repeated arm names and an unknown baseline, named by their field."""
    arms = raw.get("arms")
    if not isinstance(arms, list):
        return
    names = [a.get("name") if isinstance(a, dict) else None for a in arms]
    for i, name in enumerate(names):
        if name is not None and name in names[:i]:
            raise ConfigError(
                f"repeated arm name {name!r}; allowed: unique names",
                file=file,
                path=f"arms[{i}].name",
            )
    baseline = raw.get("baseline")
    named = all(isinstance(n, str) for n in names)
    if isinstance(baseline, str) and named and baseline not in names:
        raise ConfigError(
            f"{baseline!r} is not an arm; allowed: {', '.join(names)}", file=file, path="baseline"
        )


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run of a sweep: which arm and sample, which replication, and its store key."""

    key: str
    arm: str
    arm_index: int
    sample: int
    replication: int
    seed: int


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What a worker reports about one run.

    ``simulate_s`` is the model's time; ``store_s`` what the store adds: ``table_s`` to
    turn the results into the run's table (including group summaries) and ``write_s`` to
    encode Parquet and write and rename the file, of which ``fsync_s`` to flush the file
    and its folder to disk (seconds).
    """

    key: str
    status: Literal["ok", "failed"]
    error: str
    simulate_s: float
    table_s: float = 0.0
    write_s: float = 0.0
    fsync_s: float = 0.0

    @property
    def store_s(self) -> float:
        """Seconds the store adds to the run (table plus write)."""
        return self.table_s + self.write_s


@dataclass(frozen=True)
class SweepPlan:
    """A resolved experiment: inputs of every (arm, sample) and the runs to do.

    Attributes
    ----------
    experiment
        The validated experiment.
    inputs
        ``(arm_index, sample) ->`` :class:`~simlib.params.resolve.Inputs`: the scenario and
        schedule, each validated whole, with every file they name read once for the plan.
    inputs_sha256
        ``(arm_index, sample) ->`` the inputs' content hash (part of every run key).
    samples
        Values of the uncertain parameters: one mapping ``path -> value`` per sample.
    replications
        Replications planned per arm and sample.
    code
        Code version the keys were made with (:func:`~simlib.store.provenance.code_version`:
        git commit, dirty flag, hash of local changes to the library, ``key``).
    files
        Every input file with its role and SHA-256 (experiment, scenario, policies,
        variants, and what the engine reads: organisation CSVs, training plans,
        campaigns, regulation tables).
    """

    experiment: Experiment
    inputs: dict[tuple[int, int], Inputs]
    inputs_sha256: dict[tuple[int, int], str]
    samples: tuple[dict[str, Any], ...]
    replications: int
    code: dict[str, Any]
    files: tuple[dict[str, str], ...] = field(default_factory=tuple)

    @property
    def runs(self) -> tuple[RunSpec, ...]:
        """Every run: arm by arm, sample by sample, replication by replication."""
        return self.runs_for(range(self.replications))

    def runs_for(self, replications: Sequence[int] | range) -> tuple[RunSpec, ...]:
        """Runs of the given replications, in plan order."""
        seed = self.experiment.seed
        paired = self.experiment.per_replication
        out = []
        for a, arm in enumerate(self.experiment.arms):
            for s in range(len(self.samples)):
                digest = self.inputs_sha256[(a, s)]
                for r in replications:
                    if paired and r != s:  # replication r runs sample r only
                        continue
                    key = run_key(digest, seed=seed, replication=r, code=self.code["key"])
                    out.append(RunSpec(key, arm.name, a, s, r, seed))
        return tuple(out)

    def with_replications(self, n: int) -> SweepPlan:
        """The same plan with ``n`` replications per arm and sample."""
        return SweepPlan(
            self.experiment, self.inputs, self.inputs_sha256, self.samples, n, self.code, self.files
        )


def plan_sweep(
    experiment: Experiment | str | Path, *, replications: int | None = None
) -> SweepPlan:
    """Resolve every arm and uncertainty sample into validated inputs.

    Parameters
    ----------
    experiment
        An :class:`Experiment` or the path of its file.
    replications
        Override the file's number of replications (e.g. a quick look).

    Raises
    ------
    ConfigError
        If a file is missing, a path does not exist in the scenario or policy, or a
        changed scenario or policy is invalid; the message names the experiment file and
        the field. Nothing is run or written.
    """
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    file = exp.source_file or None
    if replications is not None:
        try:
            check_plan_size(exp, replications)
        except ValueError as exc:
            raise ConfigError(str(exc), file=file, path="replications (--replications)") from None
    scenario_path = exp.existing(exp.scenario, "scenario file", field="scenario")
    _require_scenario_kind(read_yaml(scenario_path), exp, scenario_path)
    raw_scenario = read_scenario(scenario_path)  # extends resolved: changes apply after it
    try:
        raw_scenario = _apply_scenario_changes(
            raw_scenario, exp.scenario_changes, file=file, where="scenario_changes"
        )
        probe = _scenario(raw_scenario, scenario_path, file=file, where="scenario_changes")
    except ConfigError:
        # Blame the scenario file itself when it is invalid before any change.
        scenario_from_dict(read_yaml(scenario_path), file=scenario_path)
        raise
    if exp.baseline_policy is not None:
        policy_path = exp.existing(exp.baseline_policy, "policy file", field="baseline_policy")
    else:
        policy_path = probe.resolve(probe.baseline_policy)
    base = load_policy(policy_path, on=probe.calendar.start_date)
    samples = design_samples(exp)
    inputs: dict[tuple[int, int], Inputs] = {}
    digests: dict[tuple[int, int], str] = {}
    cache = InputCache()  # each referenced file read once for the whole plan
    hashes: dict[Path, str] = {}
    files = [
        ("experiment", exp.source_file),
        ("scenario", str(scenario_path)),
        ("policy", str(policy_path)),
    ]
    for a, arm in enumerate(exp.arms):
        variants = []
        for j, rel in enumerate(arm.variants):
            vpath = exp.existing(rel, "policy variant file", field=f"arms[{a}].variants[{j}]")
            variants.append(load_variant(vpath))
            files.append(("variant", str(vpath)))
        raw_arm = _apply_scenario_changes(
            raw_scenario, arm.scenario_changes, file=file, where=f"arms[{a}].scenario_changes"
        )
        for s, values in enumerate(samples):
            scenario, schedule = _resolve_sample(
                exp, raw_arm, scenario_path, base, tuple(variants), values, arm_index=a
            )
            if exp.group_summaries and not scenario.outputs.employee_ledger:
                scenario = apply_changes(scenario, {"outputs.employee_ledger": True})
            bundle = resolve(scenario, schedule, cache=cache)
            check_stop_rule(bundle.scenario, bundle.schedule)  # refused before any run
            inputs[(a, s)] = bundle
            digests[(a, s)] = bundle.sha256
            hashes.update({f.path.resolve(): f.sha256 for f in bundle.files})
            files += [(f.role, str(f.path)) for f in bundle.files]
            if s == 0:  # what else the scenario's values come from (the same for every sample)
                files += [(role, str(path)) for role, _, path in input_files(scenario)]
    unique = dict.fromkeys((role, Path(p).resolve()) for role, p in files if p)
    listed = tuple(
        {"role": role, "path": _display(p), "sha256": hashes.get(p) or file_sha256(p)}
        for role, p in unique
    )
    n = exp.replications if replications is None else replications
    return SweepPlan(exp, inputs, digests, samples, n, code_version(), listed)


def _require_scenario_kind(raw: dict[str, Any], exp: Experiment, path: Path) -> None:
    """The experiment's ``scenario`` must name a scenario, not a policy or a variant."""
    from simlib.params.tree import file_kind_of

    found = file_kind_of(raw, path)  # its kind:, its content, or its parent's
    kind = {"variant": "a policy variant", "policy": "a policy"}.get(found, "")
    if kind:
        raise ConfigError(
            f"{exp.scenario!r} is {kind} file ({_display(path)}); allowed: a scenario file "
            "(one with agencies), relative to the experiment file",
            file=exp.source_file or None,
            path="scenario",
        )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _scenario(raw: dict[str, Any], scenario_path: Path, *, file: Any, where: str) -> Scenario:
    try:
        return scenario_from_dict(raw, file=scenario_path)
    except ConfigError as exc:
        raise ConfigError(
            f"the changed scenario is invalid at {exc.path or 'the top'}: {exc.message}",
            file=file,
            path=where,
        ) from None


def _apply_scenario_changes(
    raw: dict[str, Any], changes: dict[str, Any], *, file: Any, where: str
) -> dict[str, Any]:
    """A copy of ``raw`` with dotted-path ``changes``.

    The changes edit the scenario file's tree (their values are documented leaves, or whole
    sub-sections such as ``agencies.0.structure``), so the last key may be one the file leaves
    out, but only if the scenario record has such a field; the result is validated whole
    when it becomes a :class:`Scenario`.
    """
    out = copy.deepcopy(raw)
    for dotted, value in changes.items():
        _set_path(out, dotted, copy.deepcopy(value), file=file, where=f"{where}.{dotted}")
    return out


def _set_path(tree: Any, dotted: str, value: Any, *, file: Any, where: str) -> None:
    parts = dotted.split(".")
    node = tree
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        here = ".".join(parts[:depth]) or "the top"
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(
                    f"{part!r} is not a position of {here}; allowed: 0 to {len(node) - 1}",
                    file=file,
                    path=where,
                )
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                if part not in node:
                    _require_field(parts, depth, file=file, where=where)
                node[part] = value
            elif part not in node or not isinstance(node[part], dict | list):
                allowed = ", ".join(
                    sorted(k for k, v in node.items() if isinstance(v, dict | list))
                )
                raise ConfigError(
                    f"{part!r} is not a section of {here}; allowed: {allowed or 'none'}",
                    file=file,
                    path=where,
                )
            else:
                node = node[part]
        else:
            raise ConfigError(f"{here} is a value, not a section", file=file, path=where)


def _require_field(parts: list[str], depth: int, *, file: Any, where: str) -> None:
    """A key the file leaves out may be added only if the scenario record has that field."""
    model = record_at(Scenario, parts[:depth])
    if model is None:  # inside a mapping or a documented value: validation decides
        return
    fields = sorted(f for f in model.model_fields if f not in RESERVED)
    if model is AgencySpec and parts[depth] in MOVED_TO_POLICY:
        raise ConfigError(
            f"{parts[depth]!r} is not a key of an agency: {MOVED_TO_POLICY[parts[depth]]}; "
            "allowed in an arm: variants",
            file=file,
            path=where,
        )
    if parts[depth] not in fields:
        here = ".".join(parts[:depth]) or "the scenario"
        raise ConfigError(
            f"unknown key {parts[depth]!r} of {here}; allowed keys: {', '.join(fields)}",
            file=file,
            path=where,
        )


def _resolve_sample(
    exp: Experiment,
    raw_arm: dict[str, Any],
    scenario_path: Path,
    base: Policy,
    variants: tuple[Variant, ...],
    values: dict[str, Any],
    *,
    arm_index: int,
) -> tuple[Scenario, PolicySchedule]:
    """Scenario and schedule of one arm at one sample of the uncertainties."""
    file = exp.source_file or None
    params = exp.uncertainties.parameters if exp.uncertainties else ()
    raw = raw_arm
    policy_changes: dict[str, Any] = {}
    if values:
        raw = copy.deepcopy(raw_arm)
    for i, param in enumerate(params):
        value = values[param.path]
        where = f"uncertainties.parameters[{i}].path"
        if param.path.startswith("policy."):
            policy_changes[param.path.removeprefix("policy.")] = value
            continue
        node = _get_path(raw, param.path)
        unit = exp.docs.get(f"uncertainties.parameters[{i}].range")
        if isinstance(node, dict) and "value" in node:
            leaf = {**node, "value": value, "source": f"sampled by experiment {exp.name!r}"}
        elif isinstance(value, int | float) and not isinstance(value, bool):
            leaf = {
                "value": value,
                "unit": unit.unit if unit else "as in the scenario",
                "source": f"sampled by experiment {exp.name!r}",
            }
        else:
            leaf = value
        _set_path(raw, param.path, leaf, file=file, where=where)
    where = (
        f"arms[{arm_index}].scenario_changes"
        if exp.arms[arm_index].scenario_changes
        else ("uncertainties" if params else "scenario")
    )
    scenario = _scenario(raw, scenario_path, file=file, where=where)
    all_variants = variants
    if policy_changes:
        sampled = Variant(
            name="sampled uncertainties",
            description="values of the experiment's uncertain policy parameters",
            changes=policy_changes,
            effective_date=None,
            source_file=str(file),
            docs={},
        )
        all_variants = (*variants, sampled)
    try:
        schedule = build_schedule(
            base,
            all_variants,
            month_of=scenario.month_of,
            horizon_months=scenario.calendar.horizon_months,
        )
    except ConfigError as exc:
        if exc.file == str(file):
            raise ConfigError(exc.message, file=file, path="uncertainties.parameters") from None
        raise
    return scenario, schedule


def _get_path(tree: Any, dotted: str) -> Any:
    node = tree
    for part in dotted.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def design_samples(exp: Experiment) -> tuple[dict[str, Any], ...]:
    """Values of the uncertain parameters, one mapping ``path -> value`` per sample.

    Full factorial crosses levels; Latin hypercube uses ``scipy.stats.qmc.LatinHypercube``
    and Sobol SALib's Saltelli-Sobol sequence, both seeded from the experiment's root seed
    (a stream the model never uses). Without uncertainties there is one empty sample.
    """
    design = exp.uncertainties
    if design is None:
        return ({},)
    params = design.parameters
    if design.method == "factorial":
        import itertools

        axes = [
            list(p.levels)
            if p.levels is not None
            else [_cast(p, x) for x in np.linspace(p.range[0], p.range[1], design.points)]
            for p in params
        ]
        return tuple(
            {p.path: v for p, v in zip(params, combo, strict=True)}
            for combo in itertools.product(*axes)
        )
    seed = np.random.SeedSequence([exp.seed, _DESIGN_STREAM])
    if design.method == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(params), rng=np.random.default_rng(seed)).random(
            design.samples
        )
    else:
        from SALib.sample import sobol as sobol_sample

        problem = salib_problem(exp)
        unit = sobol_sample.sample(
            problem,
            design.samples,
            calc_second_order=False,
            seed=int(seed.generate_state(1)[0]),
        )
    return tuple(
        {p.path: _from_unit(p, float(u)) for p, u in zip(params, row, strict=True)} for row in unit
    )


def salib_problem(exp: Experiment) -> dict[str, Any]:
    """SALib problem: every uncertainty on the unit interval (mapped to its range or levels)."""
    params = exp.uncertainties.parameters if exp.uncertainties else ()
    return {
        "num_vars": len(params),
        "names": [p.path for p in params],
        "bounds": [[0.0, 1.0]] * len(params),
    }


def _from_unit(param: Uncertainty, u: float) -> Any:
    if param.levels is not None:
        return param.levels[min(int(u * len(param.levels)), len(param.levels) - 1)]
    low, high = param.range
    return _cast(param, low + u * (high - low))


def _cast(param: Uncertainty, x: float) -> Any:
    low, high = param.range
    if float(low).is_integer() and float(high).is_integer():
        return round(x)
    return float(x)


# -- running ------------------------------------------------------------------------------

_WORKER_INPUTS: dict[tuple[int, int], Inputs] = {}


def execute_runs(
    inputs: dict[tuple[int, int], Inputs],
    specs: Sequence[RunSpec],
    store: str,
    groups: bool,
) -> list[RunRecord]:
    """Run ``specs`` one by one, writing each into ``store``; never raises for a run.

    A run that fails is reported with its error (``"TypeError: ..."``) and the next one
    starts. NumPy's BLAS threads are limited to one: parallelism comes from workers.
    """
    from threadpoolctl import threadpool_limits

    out = []
    with threadpool_limits(limits=1):
        for spec in specs:
            out.append(_execute_one(inputs, spec, store, groups))
    return out


def _execute_one(inputs, spec: RunSpec, store: str, groups: bool) -> RunRecord:
    started = time.perf_counter()
    marks = [started]
    try:
        bundle = inputs[(spec.arm_index, spec.sample)]
        result = simulate(bundle, seed=spec.seed, replication=spec.replication)
        marks.append(time.perf_counter())
        table = run_table(result, groups=groups)
        marks.append(time.perf_counter())
        timings: dict[str, float] = {}
        write_run_file(store, spec.key, table, timings=timings)
        marks.append(time.perf_counter())
    except Exception as exc:  # one failed run is recorded; the sweep goes on
        error = f"{type(exc).__name__}: {exc}"
        return RunRecord(spec.key, "failed", error, time.perf_counter() - started)
    sim, table_s, write_s = np.diff(marks)
    fsync_s = float(timings.get("fsync_s", 0.0))
    return RunRecord(spec.key, "ok", "", float(sim), float(table_s), float(write_s), fsync_s)


def _init_worker(inputs, parent_alive=None) -> None:
    """Set a pool worker up: the plan's inputs, and an exit when the sweep's process dies.

    ``parent_alive`` is the read end of a pipe whose only write end the sweep's main
    process holds: it reads as end-of-file once that process is gone, however it died
    (SIGKILL included). A worker's parent is the forkserver, not the main process, so
    ``os.getppid()`` or ``PR_SET_PDEATHSIG`` would not see it.
    """
    _WORKER_INPUTS.clear()
    _WORKER_INPUTS.update(inputs)
    if parent_alive is not None:
        import threading

        threading.Thread(
            target=_exit_with_parent, args=(parent_alive,), name="parent-alive", daemon=True
        ).start()


def _exit_with_parent(parent_alive) -> None:
    with contextlib.suppress(OSError, EOFError):
        parent_alive.poll(None)  # returns when the pipe's other end is closed
    os._exit(3)  # no cleanup: a run being written leaves only a temporary file


def _pool_chunk(specs: Sequence[RunSpec], store: str, groups: bool) -> list[RunRecord]:
    return execute_runs(_WORKER_INPUTS, specs, store, groups)


def _dask_chunk(inputs, specs: Sequence[RunSpec], store: str, groups: bool) -> list[RunRecord]:
    return execute_runs(inputs, specs, store, groups)


def _chunks(specs: Sequence[RunSpec], workers: int) -> list[tuple[RunSpec, ...]]:
    """Small batches mixing arms, so that one slow arm does not end up in one batch.

    Runs are ordered replication by replication (every arm and sample of replication 0,
    then of 1, ...) and cut into batches few enough to keep messaging cheap and many enough
    (about eight per worker) to balance the load. Execution order never changes the store.
    """
    ordered = sorted(specs, key=lambda s: (s.replication, s.sample, s.arm_index))
    size = max(1, min(8, len(ordered) // max(1, 8 * workers)))
    return [tuple(ordered[i : i + size]) for i in range(0, len(ordered), size)]


def _execute(
    plan: SweepPlan,
    specs: Sequence[RunSpec],
    store: Path,
    *,
    executor: str,
    workers: int,
    scheduler: str | None,
    on_record: Callable[[RunRecord], None],
) -> None:
    groups = plan.experiment.group_summaries
    if not specs:
        return
    if executor == "inprocess":
        for spec in specs:
            for record in execute_runs(plan.inputs, [spec], str(store), groups):
                on_record(record)
        return
    chunks = _chunks(specs, workers)
    if executor == "processes":
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["simlib.experiment.sweep"])
        # Workers stop when this process dies: they watch a pipe only this process writes.
        parent_alive, alive = context.Pipe(duplex=False)
        try:
            with cf.ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(plan.inputs, parent_alive),
            ) as pool:
                futures = [pool.submit(_pool_chunk, c, str(store), groups) for c in chunks]
                try:
                    for future in cf.as_completed(futures):
                        for record in future.result():
                            on_record(record)
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
        finally:
            alive.close()
            parent_alive.close()
        return
    _execute_dask(plan, chunks, store, workers=workers, scheduler=scheduler, on_record=on_record)


def _execute_dask(plan, chunks, store, *, workers, scheduler, on_record) -> None:
    from distributed import Client, LocalCluster, as_completed

    groups = plan.experiment.group_summaries
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        [inputs] = client.scatter([plan.inputs], broadcast=True)
        futures = [
            client.submit(_dask_chunk, inputs, c, str(store), groups, pure=False) for c in chunks
        ]
        for future in as_completed(futures):
            for record in future.result():
                on_record(record)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def manifest_for(plan: SweepPlan) -> dict[str, Any]:
    """The store manifest of a plan (without the sweep's timings)."""
    exp = plan.experiment
    design = exp.uncertainties
    return {
        "experiment": exp.name,
        "description": exp.description,
        "experiment_file": _display(Path(exp.source_file)) if exp.source_file else "",
        "baseline": exp.baseline,
        "arms": [
            {
                "name": a.name,
                "label": a.label,
                "description": a.description,
                "variants": list(a.variants),
                "scenario_changes": a.scenario_changes,
                "policy": plan.inputs[(i, 0)].schedule.entries[-1][1].name,
            }
            for i, a in enumerate(exp.arms)
        ],
        "uncertainties": None if design is None else design.model_dump(mode="json"),
        "samples": [{"sample": k, "values": v} for k, v in enumerate(plan.samples)],
        "seed": exp.seed,
        "replications": plan.replications,
        "group_summaries": exp.group_summaries,
        "runs": [
            {
                "key": r.key,
                "arm": r.arm,
                "sample": r.sample,
                "replication": r.replication,
                "seed": r.seed,
                "inputs_sha256": plan.inputs_sha256[(r.arm_index, r.sample)],
            }
            for r in plan.runs
        ],
        "inputs": list(plan.files),
        "code_version": plan.code,
        "packages": {**package_versions(), **_sweep_packages()},
    }


def _sweep_packages() -> dict[str, str]:
    """Versions of the packages a sweep and its analysis use besides the model's."""
    from importlib import metadata

    out = {}
    for name in ("dask", "distributed", "SALib", "statsmodels", "threadpoolctl"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def run_sweep(
    plan: SweepPlan | Experiment | str | Path,
    store: str | Path,
    *,
    executor: Literal["inprocess", "processes", "dask"] = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: Callable[[RunRecord, int, int], None] | None = None,
) -> dict[str, Any]:
    """Run every planned run into ``store``.

    Parameters
    ----------
    plan
        A :class:`SweepPlan`, an :class:`Experiment`, or an experiment file.
    store
        Folder of the run store: new, empty, or a store (the ownership rule of
        :mod:`simlib.store.rundir`). It must not hold another sweep unless ``resume``. The sweep
        holds the store's lock (:func:`~simlib.store.runstore.lock_store`) while it runs.
    executor
        ``inprocess`` (one after another, here), ``processes`` (a local process pool) or
        ``dask`` (a Dask LocalCluster started for the sweep, or ``scheduler``).
    workers
        Worker processes (default: all cores). Ignored in-process and with ``scheduler``.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); the store folder
        must be reachable from its workers at the same path.
    resume
        Continue a sweep: runs whose file is whole and holds its key are skipped (and
        logged, if the log lost them); failed and damaged ones run again.
    progress
        Called after each run with its :class:`RunRecord`, the runs done so far and the
        total to do.

    Returns
    -------
    dict
        The manifest as written, with ``timings_s`` and counts of runs ``ok``/``failed``.

    Raises
    ------
    ConfigError
        If the experiment is invalid (nothing is written), the folder may not be written
        (a file, a folder holding other files, a place that cannot be written), another
        sweep holds the store's lock, or the store holds a different sweep (different
        experiment, inputs or code version) or any sweep without ``resume``.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"executor {executor!r}; allowed: {', '.join(EXECUTORS)}")
    started = time.perf_counter()
    if not isinstance(plan, SweepPlan):
        plan = plan_sweep(plan)
    # The ownership rule: a new or empty folder, or a store (see simlib.store.rundir).
    store = claim_dir(store, what="simlib sweep", owned=store_foreign)
    make_parents(store)
    try:
        store.mkdir(exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the store folder ({exc.strerror})", file=store) from None
    with lock_store(store):
        return _run_locked(
            plan,
            store,
            started=started,
            executor=executor,
            workers=max(1, workers or os.cpu_count() or 1),
            scheduler=scheduler,
            resume=resume,
            progress=progress,
        )


def _run_locked(
    plan: SweepPlan,
    store: Path,
    *,
    started: float,
    executor: str,
    workers: int,
    scheduler: str | None,
    resume: bool,
    progress: Callable[[RunRecord, int, int], None] | None,
) -> dict[str, Any]:
    """:func:`run_sweep` once the store's lock is held."""
    manifest_path = store / "manifest.json"
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    changed = 0
    if manifest_path.exists():
        if not resume:
            raise ConfigError(
                "the store already holds a sweep; allowed: --resume to continue it, or a "
                "new --store folder",
                file=store,
            )
        old = read_manifest(store)
        plan = plan.with_replications(max(plan.replications, int(old.get("replications", 0))))
        if _layout(old) != _layout(manifest_for(plan)):
            raise ConfigError(
                "the store holds a different sweep (arms, uncertainty samples, seed or "
                "replications differ); allowed: the same experiment, or a new --store folder",
                file=store,
            )
        # Same sweep: a run whose inputs (a file's content) or code changed has a new key,
        # so it runs again; the others are reused.
        changed = len({r.key for r in plan.runs} - {r["key"] for r in old["runs"]})
        created = str(old.get("created_at") or created)
    # The manifest first (atomically): a sweep killed at any later moment leaves a store
    # that --resume continues. Labels and names come from the current experiment file.
    manifest = {**manifest_for(plan), "created_at": created}
    write_json(manifest_path, manifest)
    (store / RUNS).mkdir(exist_ok=True)
    (store / FAILED).mkdir(exist_ok=True)
    remove_partial_files(store)
    planned = time.perf_counter()

    counts = {"ok": 0, "failed": 0, "skipped": 0, "damaged": 0, "log_rebuilt": 0}
    stats = {"simulate_s": 0.0, "store_s": 0.0, "fsync_s": 0.0}

    def run(specs: Sequence[RunSpec]) -> None:
        wanted = {s.key for s in specs}
        done = completed_keys(store) & wanted
        # A file that is torn or holds another run is run again (resume checks each one).
        damaged = damaged_runs(store, sorted(done))
        for key in damaged:
            (store / RUNS / f"{key}.parquet").unlink(missing_ok=True)
        done -= set(damaged)
        counts["damaged"] += len(damaged)
        # Workers of a sweep whose main process died wrote runs that were never logged.
        counts["log_rebuilt"] += rebuild_log(store, sorted(done))
        # Arms or samples with identical inputs share a key, hence one run and one file.
        todo = list({s.key: s for s in specs if s.key not in done}.values())
        counts["skipped"] += len(specs) - len(todo)
        total = len(todo)
        finished = 0

        def on_record(record: RunRecord) -> None:
            nonlocal finished
            finished += 1
            counts[record.status] += 1
            stats["simulate_s"] += record.simulate_s
            stats["store_s"] += record.store_s
            stats["fsync_s"] += record.fsync_s
            failure = store / FAILED / f"{record.key}.json"
            if record.status == "failed":
                write_json(failure, {"key": record.key, "error": record.error})
            elif failure.exists():
                failure.unlink()
            append_log(
                store,
                {
                    "key": record.key,
                    "status": record.status,
                    "error": record.error,
                    "simulate_s": record.simulate_s,
                    "table_s": record.table_s,
                    "write_s": record.write_s,
                    "fsync_s": record.fsync_s,
                    "store_s": record.store_s,
                },
            )
            if progress is not None:
                progress(record, finished, total)

        _execute(
            plan,
            todo,
            store,
            executor=executor,
            workers=workers,
            scheduler=scheduler,
            on_record=on_record,
        )

    run(plan.runs)
    rule = plan.experiment.stopping
    if rule is not None:
        while plan.replications < rule.max_replications:
            if _half_width(store, plan, rule) <= rule.half_width:
                break
            more = min(rule.step, rule.max_replications - plan.replications)
            extra = range(plan.replications, plan.replications + more)
            plan = plan.with_replications(plan.replications + more)
            manifest = {**manifest_for(plan), "created_at": created}
            write_json(manifest_path, manifest)
            run(plan.runs_for(extra))
    finished = time.perf_counter()
    manifest["timings_s"] = {
        "plan_and_prepare": planned - started,
        "sweep": finished - planned,
        "simulate_total": stats["simulate_s"],
        "store_total": stats["store_s"],
        "fsync_total": stats["fsync_s"],
    }
    manifest["sweep"] = {
        "executor": executor,
        "workers": workers if executor != "inprocess" else 1,
        "scheduler": scheduler,
        "runs_ok": counts["ok"],
        "runs_failed": counts["failed"],
        "runs_skipped": counts["skipped"],
        "runs_damaged_redone": counts["damaged"],
        "runs_inputs_changed": changed,
        "log_lines_rebuilt": counts["log_rebuilt"],
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv) if sys.argv else "",
    }
    write_json(manifest_path, manifest)
    return manifest


def _layout(manifest: dict[str, Any]) -> list[Any]:
    """What makes two manifests the same sweep: arms, samples and runs, without their keys."""
    runs = [(r["arm"], r["sample"], r["replication"], r["seed"]) for r in manifest["runs"]]
    samples = json.loads(json.dumps(manifest.get("samples", []), default=str))
    return [[a["name"] for a in manifest.get("arms", [])], samples, runs]


def _half_width(store: Path, plan: SweepPlan, rule: StoppingRule) -> float:
    """Widest half-width of the rule's metric (last period) over arms and agencies."""
    from simlib.analysis.effects import paired_effects
    from simlib.store.runstore import open_store

    out = open_store(store).outcomes()
    out = out[out["metric"] == rule.metric]
    if out.empty:
        raise ConfigError(
            f"metric {rule.metric!r} was not reported; allowed: a declared outcome",
            file=plan.experiment.source_file or None,
            path="stopping.metric",
        )
    last = out.groupby(["agency", "period_kind"])["t_month"].transform("max")
    effects = paired_effects(out[out["t_month"] == last], baseline=plan.experiment.baseline)
    half = (effects["ci_high"] - effects["ci_low"]) / 2
    return float(half.max()) if half.notna().any() else float("inf")
