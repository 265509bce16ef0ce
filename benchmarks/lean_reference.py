"""Lean reference: the default scenario's monthly and quarterly loop in one plain numpy module.

Why it exists
-------------
``benchmarks/engine.py`` needs a reference that is independent of the code it measures. This
module is one: a second implementation of the model, written from the equations of
``docs/model.md`` (sections 3, 5 and 7.1-7.15), that shares no model code with ``simlib``
(nothing of ``simlib.engine``, ``rules``, ``behaviour`` or ``world``). Parameter values come
through ``simlib.load_scenario`` and ``simlib.load_policy`` (scenario files are deltas on the
parameter tree) and are taken at once as plain values (``model_dump``); the regulation tables
(``data/tables/*.csv``) it reads itself with ``csv``. Its random numbers come from one
``numpy.random.Generator`` drawn in blocks in the order of the loop, not from simlib's keyed
streams, so the two
implementations agree *in distribution*, never draw by draw. Checking that they do is
docking (Axtell, Axelrod, Epstein & Cohen 1996, "Aligning simulation models: a case study
and results", Computational and Mathematical Organization Theory 1(2):123-141):
:func:`dock` runs both on the same scenario over many seeds and compares the means of
headline outcomes against their Monte-Carlo error. Its run time is the reference for the
engine's abstraction cost.

What it models (the sections of docs/model.md)
----------------------------------------------
The generated structure and initial workforce (§5: job types, supervisors, units, kelas,
golongan, latent attributes), leniency (§7.3), absence (§7.8), the dispositional resistance
facets, initial adoption states, self-view bias and gaming propensities (§7.13-7.15); then,
month by month (§3): payroll (§7.9 tukin due, §7.10 budget cap, prorate), adoption
transitions (§7.14), the quarterly appraisal (§7.3 supervisor ratings with the pay-purpose
shift, §7.15 easy targets, resisting superiors and missing SKP, §7.4 levels, the superiors'
reluctance to rate below expectation (§7.4b) and predikat),
learned instrumentality and fairness (§7.1, §7.13), the annual close (§7.5 organisation
predikat and the head's rule, annual predikat §7.6 without the curve), the pay basis (§7.7),
and each quarter's effort and true performance (§7.1-7.2).

What it leaves out (and refuses when a scenario or policy asks for it)
-----------------------------------------------------------------------
Workforce flows (§7.16: retirement, exits, transfers, hiring): the docking and the timing
run the engine with flows switched off (:data:`NO_FLOWS`, :func:`left_out`). 360-degree
ratings and their
aggregation (§7.3b-c), the distribution curve (§7.6), the ``rank_order`` cap rule, training
(§7.12), campaigns (§7.11), socialisation sessions, organisation CSVs. It computes only the
outcomes in :data:`QUARTER_METRICS`, :data:`YEAR_METRICS` and ``adoption_at_horizon``, not the
engine's other outcomes (misclassification, kappa, rating gaps, Gini, ...), and builds no
frames: that is part of what the engine costs and this module does not.

How to run
----------
::

    .venv/bin/python benchmarks/lean_reference.py                 # docking, 30 seeds
    .venv/bin/python benchmarks/lean_reference.py --seeds 10 --check
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_FILE = ROOT / "data" / "scenarios" / "district_health_office.yaml"
TABLES = ROOT / "data" / "tables"

PREDIKAT = ("sangat_baik", "baik", "butuh_perbaikan", "kurang", "sangat_kurang")
LEVELS = ("di_bawah", "sesuai", "di_atas")
JOB_TYPES = ("jpt", "administrator", "pengawas", "fungsional", "pelaksana")
GOLONGAN = ("I", "II", "III", "IV")
STATES = ("resisting", "complying", "adopting")
LANDING_WEIGHTS = np.array([1, 3, 2, 2, 1]) / 9.0  # cells of the 3x3 matrix per predikat
DECILES = np.arange(1, 10) / 10.0
ORG_PREDIKAT = ("istimewa", "baik", "butuh_perbaikan", "kurang", "sangat_kurang")

#: Scenario changes (dotted paths, as ``simlib.params.changes.apply_changes`` takes them) that
#: switch the engine's workforce flows off, so it runs what this module runs.
NO_FLOWS: dict[str, Any] = {
    "flows.retirement": False,
    "flows.voluntary_exit_rate_pns": 0.0,
    "flows.voluntary_exit_rate_pppk": 0.0,
    "flows.sangat_kurang_years_to_separation": 0,
    "flows.forced_separation_share": 0.0,
    "flows.transfer_rate": 0.0,
    "flows.pppk_renewal_min_predikat": "sangat_kurang",
}

#: Superiors who record every below-expectation judgement (no ``raters.reluctance``).
_HONEST = {"honest_probability": 1.0, "pay_sensitivity": 0.0, "closeness_effect": 0.0}

QUARTER_METRICS = (
    *(f"share_{k}" for k in PREDIKAT),
    "mean_true_performance",
    "mean_effort",
    "rating_accuracy",
    "mean_instrumentality",
    "mean_fairness",
    "adoption_share",
    "complying_share",
    "resisting_share",
    "skp_compliance",
    "easy_target_share",
    "tukin_entitled_idr",
    "tukin_due_idr",
    "tukin_paid_idr",
)
YEAR_METRICS = (
    *(f"share_{k}" for k in PREDIKAT),
    "mean_true_performance",
    "rating_accuracy",
    "org_predikat",
    "tukin_entitled_idr",
    "tukin_due_idr",
    "tukin_paid_idr",
    "budget_cap_idr",
)


# -- parameters: plain values -------------------------------------------------------------


def _rows(name: str) -> list[dict[str, str]]:
    with open(TABLES / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _plain_records(scenario_file: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The scenario and its baseline policy as plain values (nested dicts and lists).

    Scenario files are deltas on the parameter tree (``extends``, defaults declared once), so
    the values come through simlib's loaders, ``simlib.load_scenario`` and
    ``simlib.load_policy``, and are taken at once as plain data (``model_dump``): nothing of
    simlib but the values enters the model below.
    """
    import simlib

    scenario = simlib.load_scenario(scenario_file)
    policy = simlib.load_policy(scenario.resolve(scenario.baseline_policy))
    return scenario.model_dump(mode="json"), policy.model_dump(mode="json")


def left_out(scenario_file: Path = SCENARIO_FILE) -> dict[str, Any]:
    """Scenario changes that switch off, in the engine, what this module leaves out.

    Workforce flows (:data:`NO_FLOWS`); ``scenario_file`` is there for what else a scenario
    may need switched off (nothing today).
    """
    del scenario_file
    return dict(NO_FLOWS)


def load_params(
    scenario_file: Path = SCENARIO_FILE, *, changes: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Scenario, baseline policy and tables as plain Python values, refusing what is left out.

    ``changes`` are dotted scenario paths and values (as :func:`left_out` gives them),
    applied to the plain values before the check.
    """
    scenario, policy = _plain_records(Path(scenario_file))
    for path, value in (changes or {}).items():
        *parents, leaf = path.split(".")
        node = scenario
        for key in parents:
            node = node[key]
        if leaf not in node:
            raise KeyError(f"{path}: no such scenario value")
        node[leaf] = value
    _refuse_unmodelled(scenario, policy)
    table = policy["incentives"]["tukin_table"]
    tukin = np.zeros(18)
    for row in _rows("tukin_kelas.csv"):
        if row["table"] == table:
            tukin[int(row["kelas_jabatan"])] = float(row["amount_idr_per_month"])
    gaji = {r["golongan"]: float(r["gaji_pokok_idr_per_month"]) for r in _rows("gaji_pokok.csv")}
    matrix = np.zeros((3, 3), dtype=np.int8)
    for row in _rows("predikat_matrix.csv"):
        matrix[LEVELS.index(row["hasil_kerja"]), LEVELS.index(row["perilaku"])] = PREDIKAT.index(
            row["predikat"]
        )
    jobs = {}
    for row in _rows("job_types.csv"):
        shares = np.array([float(row[f"golongan_{g.lower()}"]) for g in GOLONGAN])
        jobs[row["job_type"]] = (int(row["kelas_min"]), int(row["kelas_max"]), shares)
    return {
        "scenario": scenario,
        "policy": policy,
        "tukin": tukin * float(policy["incentives"]["table_scale"]),
        "gaji": np.array([gaji[g] for g in GOLONGAN]),
        "matrix": matrix,
        "jobs": jobs,
    }


def _refuse_unmodelled(scenario: dict, policy: dict) -> None:
    """Raise if the scenario or policy uses a mechanism this module leaves out."""
    ap, cm = policy["appraisal"], policy["change_management"]
    problems = []
    if ap["rater"] != "supervisor":
        problems.append(f"appraisal.rater {ap['rater']!r} (only 'supervisor')")
    if ap["distribution_curve"]["enforce"]:
        problems.append("the distribution curve")
    if policy["budget"]["over_cap_rule"] != "prorate":
        problems.append("budget.over_cap_rule other than prorate")
    soc = cm["socialisation"]
    if soc["budget_idr_per_year"] and soc["capacity_per_month"]:
        problems.append("socialisation sessions")
    for agency in scenario["agencies"]:
        for key in ("org_csv", "campaign", "training"):
            if agency.get(key):
                problems.append(f"agencies[].{key}")
    for key in ("campaign", "training"):
        if policy.get(key):
            problems.append(f"policy {key}")
    if problems:
        raise NotImplementedError("the lean reference leaves out: " + "; ".join(problems))


def pay_at_stake(policy: dict) -> float:
    """§7.1: S = phi * sum_j sum_k w_j w_k |m_j - m_k| (share of tukin)."""
    inc = policy["incentives"]
    m = np.array([inc["multipliers"][k] for k in PREDIKAT], dtype=float)
    gaps = np.abs(m[:, None] - m[None, :])
    return float(inc["performance_share"] * LANDING_WEIGHTS @ gaps @ LANDING_WEIGHTS)


# -- the initial population ----------------------------------------------------------------


def structure(spec: dict, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """§5 generated structure of one agency: job type, direct superior (-1: head), unit."""
    n, j, u, s = (int(spec[k]) for k in ("employees", "jpt_posts", "units", "subunits_per_unit"))
    job = np.empty(n, dtype=np.int8)
    sup = np.empty(n, dtype=np.int64)
    unit = np.empty(n, dtype=np.int64)
    job[:j], unit[:j], sup[0] = 0, u, -1  # the head and other JPT sit in "Pimpinan" (= u)
    sup[1:j] = 0
    k = np.arange(u)
    a0 = j
    job[a0 : a0 + u], unit[a0 : a0 + u] = 1, k
    sup[a0 : a0 + u] = 1 + k % (j - 1) if j > 1 else 0
    p0 = a0 + u
    p = np.arange(u * s)
    job[p0 : p0 + u * s], unit[p0 : p0 + u * s] = 2, p // s
    sup[p0 : p0 + u * s] = a0 + p // s
    s0 = p0 + u * s
    m = np.arange(n - s0)
    unit[s0:] = m % u
    sup[s0:] = p0 + (m % u) * s + (m // u) % s if s > 0 else a0 + m % u
    job[s0:] = np.where(rng.random(n - s0) < float(spec["fungsional_share"]), 3, 4)
    return {"job": job, "sup": sup, "unit": unit}


def population(params: dict, agencies: Sequence[dict], rng: np.random.Generator) -> dict:
    """Every agency's employees in one set of arrays (agency blocks in scenario order)."""
    sc = params["scenario"]
    parts = [structure(spec, rng) for spec in agencies]
    sizes = np.array([len(p["job"]) for p in parts])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    units_per = np.array([int(spec["units"]) + 1 for spec in agencies])  # + Pimpinan
    unit_starts = np.concatenate([[0], np.cumsum(units_per)[:-1]])
    n_total, n_agencies = int(sizes.sum()), len(agencies)
    ag = np.repeat(np.arange(n_agencies), sizes)
    job = np.concatenate([p["job"] for p in parts])
    sup = np.concatenate(
        [np.where(p["sup"] >= 0, p["sup"] + s, -1) for p, s in zip(parts, starts, strict=True)]
    )
    unit = np.concatenate([p["unit"] + s for p, s in zip(parts, unit_starts, strict=True)])
    # Rater of each employee: the direct superior; the head's is the agency's external rater,
    # entry n_total + agency of the leniency array (§2, §7.3).
    rater = np.where(sup >= 0, sup, n_total + ag)

    kelas = np.empty(n_total, dtype=np.int64)
    golongan = np.empty(n_total, dtype=np.int64)
    u = rng.random((2, n_total))
    for code, name in enumerate(JOB_TYPES):
        lo, hi, shares = params["jobs"][name]
        mine = job == code
        kelas[mine] = lo + np.minimum((u[0, mine] * (hi - lo + 1)).astype(np.int64), hi - lo)
        golongan[mine] = np.minimum(np.searchsorted(np.cumsum(shares), u[1, mine], "right"), 3)

    wf = sc["workforce"]
    z = rng.standard_normal((4, n_total))
    rho = float(wf["conduct_motivation_corr"])
    competence = wf["competence"]["mean"] + wf["competence"]["sd"] * z[0]
    motivation = wf["motivation"]["mean"] + wf["motivation"]["sd"] * z[1]
    openness = wf["openness"]["mean"] + wf["openness"]["sd"] * z[2]
    conduct = rho * z[1] + math.sqrt(1 - rho * rho) * z[3]

    ra, at = sc["raters"], sc["attendance"]
    leniency = ra["leniency_mean"] + ra["leniency_sd"] * rng.standard_normal(n_total + n_agencies)
    shape = float(at["heterogeneity_shape"])
    absence_rate = rng.gamma(shape, at["absence_days_per_month"] / shape, n_total)

    # §7.14: dispositional resistance R = -z(openness) and four Oreg facets; the 16 % with the
    # highest mean facet start resisting, the 2.5 % with the lowest adopting, the rest comply.
    ad, fa = sc["adoption"], sc["fairness"]
    resistance = -(openness - wf["openness"]["mean"]) / wf["openness"]["sd"]
    loading = float(ad["facet_loading"])
    facets = loading * resistance + math.sqrt(1 - loading**2) * rng.standard_normal((4, n_total))
    w = float(ad["disposition_weight"])
    inertia = np.exp(-w * (facets[0] + facets[3]) / 2)  # routine seeking, cognitive rigidity
    reactivity = np.exp(w * (facets[1] + facets[2]) / 2)  # emotional reaction, short-term focus
    state = np.ones(n_total, dtype=np.int64)
    for a, (start, size) in enumerate(zip(starts, sizes, strict=True)):
        order = start + np.argsort(-facets[:, start : start + size].mean(axis=0), kind="stable")
        resisting = round(ad["initial_resisting_share"] * size)
        adopting = round(ad["initial_adopting_share"] * size)
        state[order[:resisting]] = 0
        state[order[size - adopting :]] = 2
        del a
    self_bias = fa["self_view_bias"] + fa["self_view_noise_sd"] * rng.standard_normal(n_total)
    gaming_u = rng.random(n_total)
    return {
        "n": n_total,
        "agencies": n_agencies,
        "sizes": sizes,
        "ag": ag,
        "job": job,
        "sup": sup,
        "unit": unit,
        "units": int(units_per.sum()),
        "rater": rater,
        "kelas": kelas,
        "golongan": golongan,
        "competence": competence,
        "motivation": motivation,
        "conduct": conduct,
        "leniency": leniency,
        "absence_rate": absence_rate,
        "inertia": inertia,
        "reactivity": reactivity,
        "state": state,
        "self_bias": self_bias,
        "gaming_u": gaming_u,
    }


# -- the loop ------------------------------------------------------------------------------


def poisson(rate: np.ndarray, exp_minus_rate: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson counts of mean ``rate`` by inversion of one uniform each (rates are small)."""
    u = rng.random(rate.size)
    count = np.zeros(rate.size, dtype=np.int64)
    term, cdf = exp_minus_rate.copy(), exp_minus_rate.copy()
    todo = np.flatnonzero(u > cdf)
    k = 0
    while todo.size:
        k += 1
        term[todo] *= rate[todo] / k
        cdf[todo] += term[todo]
        count[todo] += 1
        todo = todo[(u[todo] > cdf[todo]) & (term[todo] > 0.0)]
    return count


def _by_agency(starts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each agency's block of employees (blocks start at ``starts``)."""
    return np.add.reduceat(np.asarray(values, dtype=float), starts)


def _corr(starts, x, y, counts):
    """Pearson correlation of x and y within each agency (NaN without variance)."""
    sx, sy = _by_agency(starts, x), _by_agency(starts, y)
    sxx, syy = _by_agency(starts, x * x), _by_agency(starts, y * y)
    sxy = _by_agency(starts, x * y)
    cov = sxy - sx * sy / counts
    vx, vy = sxx - sx * sx / counts, syy - sy * sy / counts
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / np.sqrt(vx * vy)


def simulate(
    params: dict,
    *,
    seed: int,
    agencies: Sequence[dict] | None = None,
    horizon_months: int | None = None,
) -> dict[str, Any]:
    """One run. Returns ``quarter`` and ``year`` {metric: array (agency, period)} and ``run``.

    ``agencies`` are structure records (``employees, jpt_posts, units, subunits_per_unit,
    fungsional_share``; default: the scenario's); ``horizon_months`` a multiple of 3
    (default: the scenario's).
    """
    sc, po = params["scenario"], params["policy"]
    if agencies is None:
        agencies = [a["structure"] for a in sc["agencies"]]
    horizon = int(horizon_months or sc["calendar"]["horizon_months"])
    rng = np.random.default_rng(seed)
    pop = population(params, agencies, rng)
    n, n_ag, ag, sizes = pop["n"], pop["agencies"], pop["ag"], pop["sizes"]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])

    ap, inc, bud, cm = po["appraisal"], po["incentives"], po["budget"], po["change_management"]
    beh, perf, ra = sc["behaviour"], sc["performance"], sc["raters"]
    ad, fa, gm = sc["adoption"], sc["fairness"], sc["gaming"]
    matrix = params["matrix"]
    mults = np.array([inc["multipliers"][k] for k in PREDIKAT], dtype=float)
    phi = float(inc["performance_share"])
    linked = phi > 0 and len(set(mults.tolist())) > 1
    shift = float(ra["pay_purpose_inflation"]) if linked else 0.0
    below, above = float(ap["cutoff_below"]), float(ap["cutoff_above"])
    periodic = ap["pay_basis"] == "periodic"
    derived_org = ap["organisation_predikat"] == "derived"
    org_cutoffs = np.array(ap["org_cutoffs"], dtype=float)

    # Fixed per person: entitlement T (§7.9), gaji pokok G, valence V (§7.1), crowding-out.
    entitled = params["tukin"][pop["kelas"]]
    take_home = entitled + params["gaji"][pop["golongan"]]
    valence = pay_at_stake(po) * entitled / take_home
    crowd = 1.0 - beh["crowding_out"] * np.maximum(pop["motivation"], 0.0)
    response = np.array([beh["state_response"][k] for k in STATES], dtype=float)
    skp_missing = np.array([ad["skp_missing"][k] for k in STATES], dtype=float)
    # §7.15 easy-target share of each agency: target_easing_share * x * d, x = mean valence /
    # reference stake, d = max(0, 1 - audit_deterrence * audit_share); only when pay is linked.
    deterrence = max(0.0, 1.0 - gm["audit_deterrence"] * cm["audit_share"])
    x = _by_agency(starts, valence) / sizes / gm["reference_stake"]
    ease_share = gm["target_easing_share"] * x * deterrence if linked else np.zeros(n_ag)
    ease_share_i = ease_share[ag]
    audit_share = float(cm["audit_share"])
    fairness_bonus = fa["transparency_bonus"] * bool(cm["transparent_indicators"])
    loss = ad["loss_pullback"] * ad["loss_aversion"]
    head = pop["sup"] < 0
    sup_safe = np.where(head, 0, pop["sup"])
    unit, n_units = pop["unit"], pop["units"]
    unit_size = np.bincount(unit, minlength=n_units).astype(float)
    total_entitled = _by_agency(starts, entitled)
    exp_minus_rate = np.exp(-pop["absence_rate"])

    state = pop["state"]
    instrumentality = np.full(n, float(beh["initial_instrumentality"]))
    fairness = np.full(n, float(fa["initial_mean"]))
    pay_predikat = np.full(n, PREDIKAT.index("baik"))
    reference = None
    quarters, years = horizon // 3, horizon // 12
    q_out = {k: np.full((n_ag, quarters), np.nan) for k in QUARTER_METRICS}
    y_out = {k: np.full((n_ag, years), np.nan) for k in YEAR_METRICS}
    org = np.zeros(n_ag, dtype=np.int64)
    if not derived_org:
        org[:] = ORG_PREDIKAT.index(ap["organisation_predikat"])

    def open_year() -> tuple[np.ndarray, np.ndarray]:  # §7.10 cap
        cap_idr = bud["cap_idr"]
        cap = (
            np.full(n_ag, float(cap_idr))
            if cap_idr is not None
            else 12.0 * total_entitled * bud["cap_share_of_entitlement"]
        )
        return cap, np.zeros(n_ag)

    def start_quarter():  # §7.1 effort, §7.2 true performance
        pay = (
            beh["pay_sensitivity"]
            * response[state]
            * crowd
            * valence
            * np.maximum(instrumentality, 0.0)
        )
        effort = beh["effort_base"] + beh["motivation_weight"] * pop["motivation"] + pay
        e = rng.standard_normal((2, n))
        hasil = perf["competence_weight"] * pop["competence"] + perf["effort_weight"] * effort
        hasil += perf["noise_sd"] * e[0]
        perilaku = pop["conduct"] + perf["behaviour_noise_sd"] * e[1]
        return effort, hasil, perilaku

    def level(r):
        return (r >= below).astype(np.int64) + (r > above)

    # §7.4b reluctance: a superior records a "di bawah" (on the axes judged) with probability
    # p0 * exp(-beta * pay loss - gamma * same unit), else records "sesuai" on those axes.
    # A scenario without raters.reluctance (files before §7.4b) records every judgement.
    rel = ra.get("reluctance") or _HONEST
    tukin_share = entitled / take_home
    same_unit = np.where(head, 0.0, (unit[sup_safe] == unit).astype(float))

    def reluctant(h_lev, p_lev, judged_hasil):
        if rel is _HONEST:
            return h_lev, p_lev
        h_up = np.where(judged_hasil & (h_lev == 0), 1, h_lev)
        p_up = np.where(p_lev == 0, 1, p_lev)
        gap = mults[matrix[h_up, p_up]] - mults[matrix[h_lev, p_lev]]
        loss = phi * np.maximum(gap, 0.0) * tukin_share
        p = rel["honest_probability"] * np.exp(
            -rel["pay_sensitivity"] * loss - rel["closeness_effect"] * same_unit
        )
        says_so = rng.random(n) < p
        return np.where(says_so, h_lev, h_up), np.where(says_so, p_lev, p_up)

    cap, spent = open_year()
    effort, hasil_true, perilaku_true = start_quarter()
    q_money = np.zeros((3, n_ag))  # entitled, due, paid of the quarter, by agency
    y_money = np.zeros((3, n_ag))
    q_paid_i, q_entitled_i = np.zeros(n), np.zeros(n)
    y_sums = np.zeros((4, n))  # hasil rating, perilaku rating, true hasil, true perilaku

    for t in range(1, horizon + 1):
        month = t - 1
        # 1. payroll of month t - 1 (§7.9, §7.10 prorate)
        absence = poisson(pop["absence_rate"], exp_minus_rate, rng)
        before = entitled * (phi * mults[pay_predikat] + 1.0 - phi)
        due = before * (1.0 - np.minimum(1.0, inc["absence_deduction_per_day"] * absence))
        due_ag = _by_agency(starts, due)
        available = np.maximum(cap * (month % 12 + 1) / 12.0 - spent, 0.0)
        factor = np.where(due_ag <= available, 1.0, available / np.maximum(due_ag, 1e-300))
        paid = due * factor[ag]
        paid_ag = due_ag * factor
        spent += paid_ag
        money = np.stack([total_entitled, due_ag, paid_ag])
        q_money += money
        y_money += money
        q_paid_i += paid
        q_entitled_i += entitled

        # ... and a month of adoption transitions (§7.14) against the pay reference point
        if reference is None:
            reference = paid.copy()
        change = (paid - reference) / take_home
        reference += ad["reference_adaptation"] * (paid - reference)
        unit_adopting = np.bincount(unit, weights=state == 2, minlength=n_units) / unit_size
        up = (
            ad["external_push_per_month"]
            + ad["imitation_per_month"] * unit_adopting[unit]
            + ad["gain_push"] * np.maximum(change, 0.0)
        ) * pop["inertia"]
        down = (
            ad["unfairness_pullback_per_month"] * np.maximum(-fairness, 0.0)
            + loss * np.maximum(-change, 0.0)
        ) * pop["reactivity"]
        up[state == 2] = 0.0
        down[state == 0] = 0.0
        hazard = up + down
        uniforms = rng.random((2, n))
        move = uniforms[0] < -np.expm1(-hazard)
        rises = uniforms[1] * hazard < up
        state = state + (move & rises) - (move & ~rises)

        if t % 3 == 0:  # 2. appraisal of quarter t/3 - 1
            q = t // 3 - 1
            e = rng.standard_normal((2, n))
            bias = pop["leniency"][pop["rater"]] + shift
            hasil = hasil_true + bias + ra["noise_sd"] * e[0]
            perilaku = perilaku_true + bias + ra["noise_sd"] * e[1]
            u = rng.random((2, n))
            easy = (pop["gaming_u"] < ease_share_i) & (u[0] >= audit_share)
            hasil += gm["target_easing_sd"] * easy
            hasil += ad["resisting_rater_inflation"] * (~head & (state[sup_safe] == 0))
            missing = u[1] < skp_missing[state]
            hasil = np.where(missing, np.minimum(hasil, below - 0.5), hasil)
            code = matrix[reluctant(level(hasil), level(perilaku), ~missing)]

            # §7.1 experienced accuracy -> instrumentality; §7.13 fairness
            counts = sizes.astype(float)
            mx = _by_agency(starts, hasil) / counts
            my = _by_agency(starts, hasil_true) / counts
            sdx = np.sqrt(np.maximum(_by_agency(starts, hasil**2) / counts - mx**2, 1e-12))
            sdy = np.sqrt(np.maximum(_by_agency(starts, hasil_true**2) / counts - my**2, 1e-12))
            d = (hasil - mx[ag]) / sdx[ag] - (hasil_true - my[ag]) / sdy[ag]
            lr = beh["instrumentality_learning_rate"]
            instrumentality = np.clip((1 - lr) * instrumentality + lr * (1 - d * d / 2), -1, 1)
            ratio = np.divide(q_paid_i, q_entitled_i, out=np.ones(n), where=q_entitled_i > 0)
            decile = np.empty(n, dtype=np.int64)
            for a, (lo, hi) in enumerate(zip(starts, starts + sizes, strict=True)):
                edges = np.quantile(hasil_true[lo:hi], DECILES)
                decile[lo:hi] = 10 * a + np.searchsorted(edges, hasil_true[lo:hi], side="right")
            decile_mean = np.bincount(decile, weights=ratio, minlength=10 * n_ag) / np.maximum(
                np.bincount(decile, minlength=10 * n_ag), 1
            )
            gap = decile_mean[decile] - ratio
            signal = (
                fa["neutral_signal"]
                - fa["rating_gap_weight"] * np.maximum(0.0, hasil_true + pop["self_bias"] - hasil)
                - fa["pay_gap_weight"] * np.maximum(0.0, gap)
                + fairness_bonus
            )
            fairness = (1 - fa["learning_rate"]) * fairness + fa["learning_rate"] * signal
            if periodic:
                pay_predikat = code

            shares = (
                np.bincount(ag * 5 + code, minlength=5 * n_ag).reshape(n_ag, 5) / counts[:, None]
            )
            for k, name in enumerate(PREDIKAT):
                q_out[f"share_{name}"][:, q] = shares[:, k]
            per = {
                "mean_true_performance": hasil_true,
                "mean_effort": effort,
                "mean_instrumentality": instrumentality,
                "mean_fairness": fairness,
                "adoption_share": state == 2,
                "complying_share": state == 1,
                "resisting_share": state == 0,
                "skp_compliance": ~missing,
                "easy_target_share": easy,
            }
            for name, values in per.items():
                q_out[name][:, q] = _by_agency(starts, values.astype(float)) / counts
            q_out["rating_accuracy"][:, q] = _corr(starts, hasil, hasil_true, counts)
            for k, name in enumerate(("tukin_entitled_idr", "tukin_due_idr", "tukin_paid_idr")):
                q_out[name][:, q] = q_money[k]
            q_money[:] = 0.0
            q_paid_i[:] = 0.0
            q_entitled_i[:] = 0.0
            y_sums += np.stack([hasil, perilaku, hasil_true, perilaku_true])

        if t % 12 == 0:  # 3. annual close of year t/12 - 1 (§7.5, §7.6 without the curve)
            y = t // 12 - 1
            counts = sizes.astype(float)
            yh, yp, yht, _ = y_sums / 4.0
            if derived_org:
                achievement = _by_agency(starts, yht) / counts
                achievement += sc["organisation"]["achievement_noise_sd"] * rng.standard_normal(
                    n_ag
                )
                org = 4 - np.searchsorted(org_cutoffs, achievement, side="right")
            head_level = np.where(org == 0, 2, np.where(org == 1, 1, 0))
            h_level = np.where(head, head_level[ag], level(yh))
            code_y = matrix[reluctant(h_level, level(yp), ~head)]
            if not periodic:
                pay_predikat = code_y
            shares = (
                np.bincount(ag * 5 + code_y, minlength=5 * n_ag).reshape(n_ag, 5) / counts[:, None]
            )
            for k, name in enumerate(PREDIKAT):
                y_out[f"share_{name}"][:, y] = shares[:, k]
            y_out["mean_true_performance"][:, y] = _by_agency(starts, yht) / counts
            y_out["rating_accuracy"][:, y] = _corr(starts, yh, yht, counts)
            y_out["org_predikat"][:, y] = org
            for k, name in enumerate(("tukin_entitled_idr", "tukin_due_idr", "tukin_paid_idr")):
                y_out[name][:, y] = y_money[k]
            y_out["budget_cap_idr"][:, y] = cap
            y_money[:] = 0.0
            y_sums[:] = 0.0

        if t < horizon:  # 4. open the next budget year and start the next quarter
            if t % 12 == 0:
                cap, spent = open_year()
            if t % 3 == 0:
                effort, hasil_true, perilaku_true = start_quarter()

    run = {"adoption_at_horizon": _by_agency(starts, (state == 2).astype(float)) / sizes}
    return {"quarter": q_out, "year": y_out, "run": run}


# -- docking against the engine -------------------------------------------------------------

#: Headline outcomes compared, each a scalar per run: quarterly (``q_``) and annual (``y_``)
#: means over periods and agencies, money over the whole run, shares at the horizon.
HEADLINE = (
    "q_share_sangat_baik",
    "q_share_baik",
    "q_share_below_baik",
    "y_share_sangat_baik",
    "y_share_baik",
    "y_share_below_baik",
    "q_mean_true_performance",
    "q_mean_effort",
    "q_rating_accuracy",
    "q_mean_instrumentality",
    "q_mean_fairness",
    "q_skp_compliance",
    "q_easy_target_share",
    "y_org_predikat",
    "paid_over_entitled",
    "paid_idr_per_employee_month",
    "resisting_at_horizon",
    "adoption_at_horizon",
)
BELOW_BAIK = ("butuh_perbaikan", "kurang", "sangat_kurang")


def _headline(q: dict, y: dict, run: dict, *, employees: int, months: int) -> dict[str, float]:
    """The :data:`HEADLINE` scalars from per-period values ``{metric: array-like}``."""

    def mean(table, name):
        return float(np.nanmean(np.asarray(table[name], dtype=float)))

    out = {}
    for prefix, table in (("q", q), ("y", y)):
        out[f"{prefix}_share_sangat_baik"] = mean(table, "share_sangat_baik")
        out[f"{prefix}_share_baik"] = mean(table, "share_baik")
        out[f"{prefix}_share_below_baik"] = sum(mean(table, f"share_{k}") for k in BELOW_BAIK)
    for name in (
        "mean_true_performance",
        "mean_effort",
        "rating_accuracy",
        "mean_instrumentality",
        "mean_fairness",
        "skp_compliance",
        "easy_target_share",
    ):
        out[f"q_{name}"] = mean(q, name)
    out["y_org_predikat"] = mean(y, "org_predikat")
    paid = float(np.nansum(np.asarray(q["tukin_paid_idr"], dtype=float)))
    out["paid_over_entitled"] = paid / float(np.nansum(np.asarray(q["tukin_entitled_idr"])))
    out["paid_idr_per_employee_month"] = paid / (employees * months)
    resisting = np.asarray(q["resisting_share"], dtype=float)
    out["resisting_at_horizon"] = float(np.mean(resisting.reshape(resisting.shape[0], -1)[:, -1]))
    out["adoption_at_horizon"] = float(np.mean(run["adoption_at_horizon"]))
    return {k: out[k] for k in HEADLINE}


def lean_headline(params: dict, *, seed: int, agencies=None, horizon_months=None) -> dict:
    """Headline outcomes of one lean run."""
    sc = params["scenario"]
    specs = agencies or [a["structure"] for a in sc["agencies"]]
    months = int(horizon_months or sc["calendar"]["horizon_months"])
    result = simulate(params, seed=seed, agencies=specs, horizon_months=months)
    employees = sum(int(s["employees"]) for s in specs)
    return result_headline(result, employees=employees, months=months)


def result_headline(result: dict, *, employees: int, months: int) -> dict[str, float]:
    """Headline outcomes of a result of :func:`simulate`."""
    return _headline(
        result["quarter"], result["year"], result["run"], employees=employees, months=months
    )


def engine_headline(outcomes, *, employees: int, months: int) -> dict[str, float]:
    """Headline outcomes of one engine run, from its outcomes frame."""
    tables = {}
    for kind in ("quarter", "year", "run"):
        rows = outcomes[outcomes["period_kind"] == kind]
        wide = rows.pivot_table(index=["agency", "period"], columns="metric", values="value")
        tables[kind] = {
            name: wide[name].unstack("period").to_numpy() if kind != "run" else wide[name]
            for name in wide.columns
        }
    return _headline(
        tables["quarter"], tables["year"], tables["run"], employees=employees, months=months
    )


def engine_inputs(scenario_file: Path = SCENARIO_FILE, *, changes: dict | None = None):
    """The engine's scenario (what this module leaves out switched off, plus ``changes``)
    and baseline policy.

    Only the public facade and the change mechanism of simlib are used, and only here.
    """
    import simlib
    from simlib.params.changes import apply_changes

    scenario = simlib.load_scenario(scenario_file)
    policy = simlib.load_policy(scenario.resolve(scenario.baseline_policy))
    return apply_changes(scenario, {**left_out(scenario_file), **(changes or {})}), policy


def dock(
    *,
    seeds: Sequence[int] = range(1, 31),
    scenario_file: Path = SCENARIO_FILE,
    limit_se: float = 3.0,
) -> list[dict[str, Any]]:
    """Run engine and lean reference on the same scenario over ``seeds``; compare means.

    For each headline outcome: the two means, their difference and its standard error
    ``sqrt(s_e^2 / n + s_l^2 / n)`` (independent samples, ``n`` seeds each), and whether the
    difference is within ``limit_se`` standard errors.
    """
    import simlib

    scenario, policy = engine_inputs(scenario_file)
    employees = sum(a.structure.employees for a in scenario.agencies)
    months = scenario.calendar.horizon_months
    params = load_params(scenario_file, changes=left_out(scenario_file))
    engine_runs, lean_runs = [], []
    for seed in seeds:
        result = simlib.simulate(scenario, policy, seed=seed)
        engine_runs.append(engine_headline(result.outcomes, employees=employees, months=months))
        lean_runs.append(lean_headline(params, seed=seed))
    rows = []
    for name in HEADLINE:
        e = np.array([r[name] for r in engine_runs])
        lean = np.array([r[name] for r in lean_runs])
        diff = float(lean.mean() - e.mean())
        se = float(math.sqrt(e.var(ddof=1) / e.size + lean.var(ddof=1) / lean.size))
        rows.append(
            {
                "outcome": name,
                "engine": float(e.mean()),
                "lean": float(lean.mean()),
                "diff": diff,
                "se": se,
                # the tolerance term only absorbs float rounding (a binding cap pays exactly
                # 0.95 of entitlement in every run of both)
                "agrees": bool(
                    abs(diff) <= limit_se * se + 1e-9 * max(abs(e.mean()), abs(lean.mean()))
                ),
            }
        )
    return rows


def print_docking(rows: list[dict[str, Any]], *, seeds: int, limit_se: float = 3.0) -> None:
    """The docking table, one line per outcome."""
    print(f"docking, engine vs lean reference, {seeds} seeds each (|diff| < {limit_se:g} SE):")
    print(f"  {'outcome':30s} {'engine':>14s} {'lean':>14s} {'diff':>11s} {'SE':>10s}  verdict")
    for r in rows:
        verdict = "agrees" if r["agrees"] else "DIFFERS"
        print(
            f"  {r['outcome']:30s} {r['engine']:14.5g} {r['lean']:14.5g} {r['diff']:11.3g} "
            f"{r['se']:10.3g}  {verdict}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seeds", type=int, default=30, help="seeds per implementation")
    parser.add_argument("--check", action="store_true", help="exit 1 if an outcome differs")
    args = parser.parse_args(argv)
    if args.seeds < 10:
        parser.error("--seeds must be at least 10 (fewer give no usable standard error)")
    start = time.perf_counter()
    rows = dock(seeds=range(1, args.seeds + 1))
    print_docking(rows, seeds=args.seeds)
    docked = all(r["agrees"] for r in rows)
    print(f"target: every headline outcome agrees: {'met' if docked else 'MISSED'}")
    figures = {
        "seeds": args.seeds,
        "seconds": round(time.perf_counter() - start, 1),
        "docking": {
            r["outcome"]: {k: r[k] for k in ("engine", "lean", "se", "agrees")} for r in rows
        },
        "targets_met": {"docking_every_headline_outcome_agrees": docked},
    }
    print(json.dumps(figures))
    return 1 if args.check and not docked else 0


if __name__ == "__main__":
    sys.exit(main())
