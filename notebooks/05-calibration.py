# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Calibration against observed targets
#
# **Question.** Does the scenario reproduce what has been observed (the national predikat
# distribution, the published reliabilities and correlations of 360 ratings, retirement
# and exit rates), within each target's tolerance? If some free parameters are fitted,
# what values fit, and which targets can the model not reach *together*?
#
# **Data.** The targets of `data/calibration/*.yaml`: each an observed value with its
# tolerance and source, and the simulated statistic it is matched with (see
# `docs/calibration.md`).
#
# **Method.** `simlib.experiment.calibration`: `plan_calibration` resolves the targets and
# the free parameters; `evaluate` simulates one candidate (common random numbers: the same
# seed and replications for every candidate); `calibrate` simulates a Latin hypercube
# over the free ranges (history matching: points whose implausibility is below 3 are kept)
# and, if allowed, searches from the best point. Each target is drawn in units of its
# tolerance, so the band from −1 to +1 is "reproduced". Two targets each reached at some
# design point but never at the same one cannot be met together by moving these
# parameters (`simlib.analysis.targets.conflicts`).
#
# **What to change.** `free` (any dotted scenario path or `policy.` path, with a range),
# `design` and `max_evaluations` for a finer search, `replications` for smaller
# Monte-Carlo error, `targets` for a subset of files.

# %% tags=["parameters"]
scenario = "data/scenarios/district_health_office.yaml"
targets = ""  # target files separated by commas; empty for every data/calibration/*.yaml
free = "raters.leniency_mean=-0.5:1.0"  # PATH[=LOW:HIGH]; several: separate with semicolons
replications = 2
design = 4  # Latin hypercube points
max_evaluations = 0  # candidates the optimiser may try after the design; 0 for none
seed = 1
lang = "id"  # "id" (Bahasa Indonesia) or "en"
figures_dir = ""  # folder for PNG figures; empty for none

# %%
from simlib.reporting.params import calibration_parameters

p = calibration_parameters(
    scenario=scenario,
    targets=targets,
    free=free,
    replications=replications,
    design=design,
    max_evaluations=max_evaluations,
    seed=seed,
    lang=lang,
    figures_dir=figures_dir,
)

# %% [markdown]
# ## The problem, and the scenario as it stands
#
# The targets grouped by where they apply (baseline, the 360 rater lab, ...) share
# simulations. The first evaluation is at the parameters' current values.

# %%
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import display
from tqdm import tqdm

import simlib

from simlib.analysis.targets import conflicts, fit_table
from simlib.experiment import calibration
from simlib.reporting import pages, plots
from simlib.reporting.i18n import format_number, metric_label, text
from simlib.reporting.notebooks import record

problem = calibration.plan_calibration(
    p.scenario, p.targets, p.free, replications=p.replications, seed=p.seed
)
cache = calibration.CandidateCache(Path(tempfile.mkdtemp()) / "cache")


def simulated(values) -> pd.DataFrame:
    """One row per target: observed, tolerance and the simulated mean at ``values``."""
    ev = calibration.evaluate(problem, values, cache=cache)
    rows = []
    for ref in problem.targets:
        x = np.asarray(ev.stats[ref.name], dtype=float)
        rows.append(
            {
                "target": ref.name,
                "observed": ref.target.observed,
                "tolerance": ref.target.tolerance,
                "simulated": float(x.mean()),
                "mc_se": float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else np.nan,
                "status": ref.target.status,
            }
        )
    return fit_table(pd.DataFrame(rows))


start = [fp.start for fp in problem.free]
at_defaults = simulated(start)
display(
    pages.heading(
        text("calibration_title", p.lang),
        subtitle=f"{simlib.load_scenario(p.scenario).name} · {len(problem.targets)} {text('target', p.lang).lower()} · "
        + ", ".join(fp.path for fp in problem.free),
    )
)

# %% [markdown]
# ## The fit
#
# The design points (and the search, if any) run with a progress bar; repeated candidates
# are read from the cache.

# %%
per_candidate = problem.replications * len(problem.settings)
bars = []


def progress(stage, total):
    bars.append(tqdm(total=total, desc=stage, unit="sim"))
    return lambda: bars[-1].update()


result = calibration.calibrate(
    problem,
    design=p.design,
    method="nelder-mead" if p.max_evaluations else "none",
    max_evaluations=p.max_evaluations,
    cache=cache,
    progress=progress,
)
for bar in bars:
    bar.close()
fitted = simulated([result.best[fp.path] for fp in problem.free])

free_rows = pd.DataFrame(
    {
        text("parameter", p.lang): [fp.path for fp in problem.free],
        text("range", p.lang): [
            f"{format_number(fp.low, p.lang)} – {format_number(fp.high, p.lang)}"
            for fp in problem.free
        ],
        text("at_defaults", p.lang): [format_number(fp.start, p.lang, decimals=3) for fp in problem.free],
        text("fitted", p.lang): [format_number(result.best[fp.path], p.lang, decimals=3) for fp in problem.free],
        text("non_implausible", p.lang): [
            "–" if result.ranges[fp.path] is None
            else " – ".join(format_number(v, p.lang, decimals=3) for v in result.ranges[fp.path])
            for fp in problem.free
        ],
    }
)  # fmt: skip
display(pages.section(text("fitted_values", p.lang), pages.frame_table(free_rows, numeric_from=1)))

# %% [markdown]
# ## Observed against simulated, every target
#
# z = (simulated − observed) / tolerance; |z| ≤ 1 is within tolerance. Beyond ±6 the point
# sits at the edge with its value written beside it.


# %%
def shown_name(name):
    return metric_label(name, p.lang)


both = at_defaults[["target", "observed", "tolerance", "status"]].assign(
    z_defaults=at_defaults["z"], z_fitted=fitted["z"], sim_defaults=at_defaults["simulated"],
    sim_fitted=fitted["simulated"], within=fitted["within"],
)  # fmt: skip
table = pd.DataFrame(
    {
        text("target", p.lang): [shown_name(t) for t in both["target"]],
        text("observed", p.lang): [format_number(v, p.lang, decimals=4) for v in both["observed"]],
        text("tolerance", p.lang): [
            format_number(v, p.lang, decimals=4) for v in both["tolerance"]
        ],
        text("at_defaults", p.lang): [
            format_number(v, p.lang, decimals=4) for v in both["sim_defaults"]
        ],
        text("fitted", p.lang): [format_number(v, p.lang, decimals=4) for v in both["sim_fitted"]],
        "z": [format_number(v, p.lang, decimals=1, signed=True) for v in both["z_fitted"]],
        text("within", p.lang): [text("yes" if w else "no", p.lang) for w in both["within"]],
        text("status", p.lang): both["status"],
    }
)
fig = plots.target_bands(
    both.assign(target=[shown_name(t) for t in both["target"]]),
    lang=p.lang,
    columns={"z_defaults": text("at_defaults", p.lang), "z_fitted": text("fitted", p.lang)},
)
display(
    pages.figure(fig, "calibration-targets", lang=p.lang, data=table, figures_dir=p.figures_dir)
)

# %% [markdown]
# ## Targets the model cannot reach together
#
# Over every design point: a target never within tolerance, or a pair each reached
# somewhere but never at the same point. Moving the free parameters alone will not meet
# these; another parameter, or a look at the model, is needed.

# %%
design_fit = pd.concat(
    [
        simulated([row["values"][fp.path] for fp in problem.free]).assign(point=k)
        for k, row in enumerate(result.design)
    ],
    ignore_index=True,
)
clash = conflicts(design_fit)
lines = [
    f"{shown_name(r.target)}: {text('never_reached', p.lang)}"
    if not r.other
    else text("reached_alone", p.lang, a=shown_name(r.target), b=shown_name(r.other))
    for r in clash.itertuples()
]
clash_table = pd.DataFrame({text("conflicts", p.lang): lines or [text("no_conflicts", p.lang)]})
display(
    pages.section(
        text("conflicts", p.lang),
        pages.frame_table(clash_table, numeric_from=9),
        f"{text('design_points', p.lang)}: {len(result.design)}",
    )
)

# %% tags=["analyst"]
display(
    record(
        {
            "notebook": "05-calibration",
            "lang": p.lang,
            "scenario": p.scenario.stem,
            "targets": list(both["target"]),
            "within": int(both["within"].sum()),
            "best": result.best,
            "design_points": len(result.design),
            "never_reached": [r.target for r in clash.itertuples() if not r.other],
            "conflict_pairs": [[r.target, r.other] for r in clash.itertuples() if r.other],
            "figures": ["targets"],
        }
    )
)
