"""Competence development: training programmes under a limited budget, quarter by quarter.

This module owns the training parameter records (:class:`Programme`, :class:`TrainingPlan`,
:class:`TechnologyShock`), their loader (:func:`load_training`), the per-employee training
state (:class:`TrainingState`), the quarterly simulation (:func:`run_quarter`) and the
competence the agency sees (:func:`effective_competence`). It is standalone: the agency
engine (:mod:`simlib.engine.model`) does not call it yet, but the call takes what the engine has
at hand once per quarter (the Workforce's competence array, who is eligible, optionally
last year's predikat codes, and a numpy Generator).

Time inside a quarter is counted in **working days** from 0 to
``working_days_per_quarter``. The model, in order, for quarter ``q`` (0 = the first
quarter of the run; quarters 0, 4, 8, ... are January-March):

1. **Calendar.** Accumulated gains decay by ``(1 - decay_per_year) ** (quarters / 4)``
   since the last call (exponential decay, exact at quarter ends). In January the
   year's training hours are reset and the annual budget is renewed. The quarter may
   spend ``budget_left / quarters left in the year``, so unspent money carries over
   within the year, never across years.
2. **Technology shock.** In the quarter containing ``shock.month`` (months since the
   start of the run), affected employees (job types in ``shock.job_types``, or all, and
   each with probability ``shock.affected_share``) lose ``shock.penalty_sd`` of effective
   competence until they complete a digital course.
3. **Selection.** Eligible employees are ranked: ``needs_based`` lowest effective
   competence first (worst predikat first, then lowest competence, if predikat are
   given); ``merit`` the reverse; ``random`` a random order. Shocked employees go to the
   digital programmes first; everyone else fills the programmes in the plan's order, up
   to each programme's throughput ``seats x floor(working days / duration_days)``.
4. **Courses (SimPy).** Each programme's seats are a ``simpy.Resource(capacity=seats)``.
   Trainees request seats in rank order; a course starts when a seat is free, is paid
   (``cost_idr`` per seat) when it starts and lasts ``duration_days``. A course is not
   started if it cannot finish within the quarter or if the quarter's budget share
   cannot pay for it, so the budget is never exceeded.
5. **Gains.** A trainee who completes a course with ``k`` courses behind them gains::

       effect_d * quality * repeat_factor**k * (1 + needs_boost * max(0, -c))

   SD of competence, with ``c`` their effective competence at the start of the quarter.
   ``effect_d`` = .62 is Arthur, Bennett, Edens & Bell's (2003) mean effect of training
   on behaviour and results; ``repeat_factor`` (diminishing returns to further courses)
   and ``needs_boost`` (more headroom for those furthest below the mean) are
   assumptions. A digital course removes the technology-shock penalty. The course's JP
   are credited to the trainee's hours this year.
6. **Compliance.** The share of eligible employees with at least ``min_hours_per_year``
   JP so far this year (PP 11/2017 jo PP 17/2020 Pasal 203: at least 20 JP per PNS per
   year).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import simpy

from simlib.core.domain import JOB_TYPES
from simlib.core.streams import Draws, uniforms
from simlib.params.training import TechnologyShock, TrainingPlan

__all__ = [
    "LEDGER_COLUMNS",
    "QUARTERS_PER_YEAR",
    "QuarterReport",
    "TrainingState",
    "effective_competence",
    "run_quarter",
]


QUARTERS_PER_YEAR = 4
LEDGER_COLUMNS = (
    "programme", "kind", "provider", "seats", "trainees", "seat_days", "cost_idr",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class TrainingState:
    """Training history of each employee (arrays of length ``n``) and the year's budget.

    Attributes
    ----------
    courses
        Courses completed so far (int).
    hours_jp
        Training hours (JP) completed this calendar year.
    gain_sd
        Accumulated competence gain from training, after decay (SD units).
    penalty_sd
        Technology-shock penalty still applying (SD units; 0 once a digital course is done).
    budget_left_idr
        Training budget left this calendar year (IDR).
    last_quarter
        The last quarter simulated (-1 before the first).
    """

    courses: np.ndarray
    hours_jp: np.ndarray
    gain_sd: np.ndarray
    penalty_sd: np.ndarray
    budget_left_idr: float
    last_quarter: int = -1

    @classmethod
    def start(cls, n: int, plan: TrainingPlan) -> TrainingState:
        """A state for ``n`` employees who have had no training, with a full budget."""
        return cls(
            courses=np.zeros(n, dtype=np.int32),
            hours_jp=np.zeros(n),
            gain_sd=np.zeros(n),
            penalty_sd=np.zeros(n),
            budget_left_idr=float(plan.annual_budget_idr),
        )

    def __post_init__(self) -> None:
        n = len(self.courses)
        for name in ("hours_jp", "gain_sd", "penalty_sd"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"training state array {name} has length != {n}")
        for name in ("courses", "hours_jp", "gain_sd", "penalty_sd"):
            getattr(self, name).setflags(write=False)

    @property
    def n(self) -> int:
        """Number of employees."""
        return len(self.courses)

    def reordered(self, order: np.ndarray) -> TrainingState:
        """People moved between posts: each one's training history follows them."""
        names = ("courses", "hours_jp", "gain_sd", "penalty_sd")
        return replace(self, **{k: getattr(self, k)[order] for k in names})

    def with_new_people(self, positions: np.ndarray) -> TrainingState:
        """New hires in ``positions``: no training history (and no shock penalty yet)."""
        arrays = {}
        for k in ("courses", "hours_jp", "gain_sd", "penalty_sd"):
            values = getattr(self, k).copy()
            values[positions] = 0
            arrays[k] = values
        return replace(self, **arrays)


@dataclass(frozen=True, eq=False)
class QuarterReport:
    """What one quarter of training produced.

    Attributes
    ----------
    quarter
        The quarter simulated.
    trainees
        Courses completed (one per trainee; nobody takes two in a quarter).
    hours_jp
        JP credited this quarter.
    cost_idr
        Money spent this quarter (IDR).
    quarter_budget_idr
        What the quarter could spend (IDR).
    budget_left_idr
        Budget left for the rest of the year (IDR).
    mean_gain_sd
        Mean competence gain of this quarter's trainees (SD; NaN if none).
    total_gain_sd
        Sum of this quarter's gains (SD x people).
    compliance
        Share of eligible employees with at least ``min_hours_per_year`` JP this year.
    penalised
        Employees still carrying the technology-shock penalty.
    ledger
        One row per programme: ``programme``, ``kind``, ``provider``, ``seats``,
        ``trainees``, ``seat_days`` (days of seats used) and ``cost_idr``.
    trained
        Boolean array: who completed a course this quarter.
    """

    quarter: int
    trainees: int
    hours_jp: float
    cost_idr: float
    quarter_budget_idr: float
    budget_left_idr: float
    mean_gain_sd: float
    total_gain_sd: float
    compliance: float
    penalised: int
    ledger: pd.DataFrame
    trained: np.ndarray


def effective_competence(base: np.ndarray, state: TrainingState) -> np.ndarray:
    """Competence the agency gets from each employee: base + training gain - shock penalty.

    Parameters
    ----------
    base
        The workforce's competence (SD units), shape ``(n,)``.
    state
        The training state.

    Returns
    -------
    numpy.ndarray
        Effective competence, SD units.
    """
    return np.asarray(base, dtype=float) + state.gain_sd - state.penalty_sd


def run_quarter(
    plan: TrainingPlan,
    state: TrainingState,
    workforce_competence: np.ndarray,
    eligible: np.ndarray,
    *,
    quarter: int,
    rng: Draws,
    predikat: np.ndarray | None = None,
    job_type: np.ndarray | None = None,
    person: np.ndarray | None = None,
    spend_limit_idr: float = math.inf,
) -> tuple[TrainingState, QuarterReport]:
    """Simulate one quarter of competence development.

    Parameters
    ----------
    plan
        Programmes, budget and selection rule.
    state
        Training state after the previous quarter (:meth:`TrainingState.start` at first).
    workforce_competence
        Base competence of each employee (``Workforce.competence``), SD units, shape ``(n,)``.
    eligible
        Who may be trained and counts for compliance (bool, shape ``(n,)``).
    quarter
        Quarter index since the start of the run (0, 1, ...; 0, 4, ... are January);
        must be later than ``state.last_quarter``.
    rng
        Source of the random draws (random selection, who a technology shock hits): a
        Generator, or a keyed stream whose draws are indexed by ``person``.
    predikat
        Codes into :data:`simlib.core.domain.PREDIKAT` (0 best), shape ``(n,)``; if given,
        ``needs_based`` and ``merit`` rank by predikat first, then by competence.
    job_type
        Codes into :data:`simlib.core.domain.JOB_TYPES` (``Workforce.job_type``); required
        when the plan's technology shock names job types.
    person
        Stable person id of each employee (default: positions): a keyed ``rng`` draws
        each person's shock and random-selection order by it.
    spend_limit_idr
        Most this quarter may spend from outside the plan (IDR): when training is paid from
        the tukin budget, what that budget has released and not spent. The plan's own
        budget left is not cut by it, only by what is spent.

    Returns
    -------
    tuple of (TrainingState, QuarterReport)
        The state after the quarter and what happened in it.

    Raises
    ------
    ValueError
        If an array has the wrong shape or bad values, or quarters go backwards.
    """
    n = state.n
    ids = np.arange(n, dtype=np.int64) if person is None else _array(person, n, "person", int)
    base = _array(workforce_competence, n, "workforce_competence", float)
    if not np.isfinite(base).all():
        raise ValueError("workforce_competence has NaN or infinite values; allowed: finite")
    elig = _array(eligible, n, "eligible", bool)
    if quarter <= state.last_quarter:
        raise ValueError(
            f"quarter {quarter} is not after the last quarter simulated "
            f"({state.last_quarter}); allowed: increasing quarters"
        )

    # 1. Calendar: decay since the last call, new year's hours and budget.
    elapsed = quarter - state.last_quarter if state.last_quarter >= 0 else 0
    gain = state.gain_sd * (1.0 - plan.decay_per_year) ** (elapsed / QUARTERS_PER_YEAR)
    hours = state.hours_jp.copy()
    budget_left = state.budget_left_idr
    new_year = state.last_quarter < 0 or (
        quarter // QUARTERS_PER_YEAR != state.last_quarter // QUARTERS_PER_YEAR
    )
    if new_year:
        budget_left = float(plan.annual_budget_idr)
        hours[:] = 0.0
    quarters_left = QUARTERS_PER_YEAR - quarter % QUARTERS_PER_YEAR
    quarter_budget = min(budget_left / quarters_left, spend_limit_idr)

    # 2. Technology shock, from the start of the quarter that contains its month.
    penalty = state.penalty_sd.copy()
    shock = plan.shock
    if shock is not None and state.last_quarter < shock.month // 3 <= quarter:
        penalty[_shocked(shock, ids, job_type, rng)] = shock.penalty_sd

    # 3. Selection and assignment to programmes.
    current = base + gain - penalty
    ranked = _rank(plan.selection, np.flatnonzero(elig), current, predikat, rng, ids)
    programme_of = _assign(plan, ranked, penalty[ranked] > 0)

    # 4. Courses in SimPy: seats, durations, the budget ledger.
    started, finished, cost, seat_days = _simulate(plan, ranked, programme_of, quarter_budget)
    trained = np.zeros(n, dtype=bool)
    course = np.full(n, -1)
    done = ranked[finished]
    trained[done] = True
    course[done] = programme_of[finished]

    # 5. Gains (diminishing in courses taken, larger for those furthest below the mean).
    quality = np.array([p.quality for p in plan.programmes])
    jp = np.array([p.hours_jp for p in plan.programmes])
    digital = np.array([p.kind == "digital" for p in plan.programmes])
    headroom = 1.0 + plan.needs_boost * np.maximum(0.0, -current[done])
    new_gain = (
        plan.effect_d * quality[course[done]] * plan.repeat_factor ** state.courses[done] * headroom
    )
    gain[done] += new_gain
    hours[done] += jp[course[done]]
    courses = state.courses.copy()
    courses[done] += 1
    penalty[done[digital[course[done]]]] = 0.0

    spent = float(cost.sum())
    budget_left = max(0.0, budget_left - spent)
    new_state = replace(
        state,
        courses=courses,
        hours_jp=hours,
        gain_sd=gain,
        penalty_sd=penalty,
        budget_left_idr=budget_left,
        last_quarter=quarter,
    )
    n_elig = int(elig.sum())
    compliance = float((hours[elig] >= plan.min_hours_per_year).mean()) if n_elig else float("nan")
    ledger = pd.DataFrame(
        {
            "programme": [p.name for p in plan.programmes],
            "kind": [p.kind for p in plan.programmes],
            "provider": [p.provider for p in plan.programmes],
            "seats": [p.seats_per_quarter for p in plan.programmes],
            "trainees": np.bincount(programme_of[started], minlength=len(plan.programmes)),
            "seat_days": seat_days,
            "cost_idr": cost,
        }
    )[list(LEDGER_COLUMNS)]
    report = QuarterReport(
        quarter=quarter,
        trainees=int(done.size),
        hours_jp=float(jp[course[done]].sum()),
        cost_idr=spent,
        quarter_budget_idr=quarter_budget,
        budget_left_idr=budget_left,
        mean_gain_sd=float(new_gain.mean()) if done.size else float("nan"),
        total_gain_sd=float(new_gain.sum()),
        compliance=compliance,
        penalised=int((penalty > 0).sum()),
        ledger=ledger,
        trained=trained,
    )
    return new_state, report


def _array(values: np.ndarray, n: int, name: str, kind: type) -> np.ndarray:
    out = np.asarray(values)
    if out.shape != (n,):
        raise ValueError(f"{name} has shape {out.shape}; allowed: shape ({n},)")
    if kind is bool and out.dtype != bool:
        raise ValueError(f"{name} has type {out.dtype}; allowed: bool")
    return out.astype(kind, copy=False)


def _shocked(
    shock: TechnologyShock, ids: np.ndarray, job_type: np.ndarray | None, rng: Draws
) -> np.ndarray:
    """Who the technology shock hits (bool, shape ``(n,)``)."""
    n = len(ids)
    exposed = np.ones(n, dtype=bool)
    if shock.job_types:
        if job_type is None:
            raise ValueError(
                "the technology shock names job types but job_type was not given; "
                "allowed: pass Workforce.job_type"
            )
        codes = [JOB_TYPES.index(j) for j in shock.job_types]
        exposed = np.isin(_array(job_type, n, "job_type", int), codes)
    return exposed & (uniforms(rng, ids) < shock.affected_share)


def _rank(
    selection: str,
    candidates: np.ndarray,
    current: np.ndarray,
    predikat: np.ndarray | None,
    rng: Draws,
    ids: np.ndarray,
) -> np.ndarray:
    """Eligible employees in priority order (``random``: by a uniform per person)."""
    n = len(ids)
    if selection == "random":
        key = uniforms(rng, ids, first=1)[candidates]
        return candidates[np.argsort(key, kind="stable")]
    comp = current[candidates]
    sign = 1.0 if selection == "needs_based" else -1.0
    if predikat is None:
        order = np.argsort(sign * comp, kind="stable")
    else:
        codes = _array(predikat, n, "predikat", int)[candidates]
        # needs_based: worst predikat (highest code) first; merit: best first.
        order = np.lexsort((sign * comp, -sign * codes))
    return candidates[order]


def _assign(plan: TrainingPlan, ranked: np.ndarray, shocked: np.ndarray) -> np.ndarray:
    """Programme of each ranked employee (-1: no place this quarter).

    Shocked employees fill the digital programmes first; then everyone left fills the
    programmes in the plan's order, up to each programme's quarterly throughput.
    """
    out = np.full(ranked.size, -1, dtype=np.int64)
    days = plan.working_days_per_quarter
    slots = [p.seats_per_quarter * int(days // p.duration_days) for p in plan.programmes]
    passes = [(shocked, [p.kind == "digital" for p in plan.programmes])]
    passes.append((np.ones(ranked.size, dtype=bool), [True] * len(plan.programmes)))
    for who, which in passes:
        for j, open_ in enumerate(which):
            if not open_ or slots[j] == 0:
                continue
            free = np.flatnonzero(who & (out < 0))[: slots[j]]
            out[free] = j
            slots[j] -= free.size
    return out


def _simulate(
    plan: TrainingPlan, ranked: np.ndarray, programme_of: np.ndarray, budget_idr: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run the quarter's courses; return started and finished masks, cost and seat-days."""
    env = simpy.Environment()
    n_prog = len(plan.programmes)
    seats = [simpy.Resource(env, capacity=max(1, p.seats_per_quarter)) for p in plan.programmes]
    ledger = {"budget": float(budget_idr), "cost": [0.0] * n_prog, "days": [0.0] * n_prog}
    started = [False] * ranked.size
    finished = [False] * ranked.size
    end = plan.working_days_per_quarter
    # Processes are created in rank order, so seats (FIFO) and money go by priority.
    for i in np.flatnonzero(programme_of >= 0).tolist():
        j = int(programme_of[i])
        env.process(_trainee(env, seats[j], plan.programmes[j], j, i, end, ledger,
                             started, finished))  # fmt: skip
    env.run()
    return (
        np.array(started, dtype=bool),
        np.array(finished, dtype=bool),
        np.array(ledger["cost"]),
        np.array(ledger["days"]),
    )


def _trainee(env, seat, programme, j, i, end, ledger, started, finished):
    """One trainee: wait for a seat, start if the course fits the quarter and the budget."""
    request = seat.request()
    yield request
    fits = env.now + programme.duration_days <= end + 1e-9
    affordable = programme.cost_idr <= ledger["budget"] + 1e-6
    if not (fits and affordable):
        seat.release(request)
        return
    ledger["budget"] -= programme.cost_idr
    ledger["cost"][j] += programme.cost_idr
    ledger["days"][j] += programme.duration_days
    started[i] = True
    yield env.timeout(programme.duration_days)
    seat.release(request)
    finished[i] = True
