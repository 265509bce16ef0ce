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
# # Compare an experiment's policies with its baseline
#
# **Question.** Against today's rules, what does each reform of an experiment change in
# true performance, rating accuracy, adoption, cost and who gains or loses pay, and which
# of those changes are larger than chance?
#
# **Data.** A run store: every replication of every arm of an experiment
# (`data/experiments/*.yaml`), written by `simlib report` or `simlib sweep`. With
# `store = ""` the notebook reads the default experiment's store in
# `reports/<run id>/store`, and runs the experiment first if the store is missing (a
# progress bar shows the runs).
#
# **Method.** Replication *r* of every arm uses the same random numbers (common random
# numbers), so each arm is compared with the baseline *within* a replication: the paired
# differences remove the noise both share. Each effect is the mean paired difference with
# its Student-t interval (`simlib.analysis.effects.paired_effects`); an interval that
# includes zero is *unclear*. Several agencies are pooled as each outcome declares
# (amounts added up, shares and means averaged: `simlib.analysis.pooling`).
#
# **Reading the colours.** Each outcome declares which direction is better: green is a
# clear change for the better, red for the worse (a cost increase is red), blue a clear
# change of a metric with no better direction, grey unclear.
#
# **What to change.** `store` (another experiment's store), `confidence`, `lang`.

# %% tags=["parameters"]
store = ""  # a run store folder; empty for the default experiment's (run first if missing)
confidence = 0.95
lang = "id"  # "id" (Bahasa Indonesia) or "en"
figures_dir = ""  # folder for PNG figures; empty for none

# %%
from simlib.reporting.params import compare_parameters

p = compare_parameters(store=store, confidence=confidence, lang=lang, figures_dir=figures_dir)

# %% [markdown]
# ## The store
#
# `ensure_store` plans the default experiment and runs what is missing (nothing, when the
# store is complete); `open_store` reads it.

# %%
from IPython.display import display
from tqdm import tqdm

from simlib.reporting.stores import ensure_store, plan_store
from simlib.store.runstore import open_store

if p.store is None:
    target = plan_store(p.experiment)
    with tqdm(total=len(target.plan.runs), unit="run", desc="sweep") as bar:
        ensure_store(target, progress=lambda _record, done, _total: bar.update(done - bar.n))
    store_dir = target.store
else:
    store_dir = p.store
store = open_store(store_dir)

# %%
from simlib.analysis.effects import (
    budget_effects,
    horizon,
    paired_effects,
    resistance_effects,
    winners_losers,
)
from simlib.analysis.pooling import pool_agencies
from simlib.reporting import briefing

view = briefing.read_store(store, lang=p.lang)
outcomes = pool_agencies(store.outcomes())
effects = paired_effects(horizon(outcomes), baseline=store.baseline, confidence=p.confidence)
budget = budget_effects(store, confidence=p.confidence)
display(briefing.header(view))

# %% [markdown]
# ## Headline effects at the horizon
#
# The last year's (or quarter's) value of each headline outcome, each arm against the
# baseline, and the total cost over the horizon from the budget family.

# %%
table = briefing.headline(view, effects, budget)
display(briefing.effects_section(view, table))
display(briefing.effects_figure(view, table, name="compare-effects", figures_dir=p.figures_dir))

# %% [markdown]
# ## Resistance and adoption
#
# Adoption at the horizon, months until 80 % adopt, SKP compliance
# (`resistance_effects`). Only when the model reports adoption.

# %%
resistance = resistance_effects(store, confidence=p.confidence)
resistance = briefing.headline(view, resistance, metrics=resistance["metric"].unique())
display(briefing.effects_section(view, resistance, title_key="resistance"))
display(
    briefing.adoption_figure(view, outcomes, name="compare-adoption", figures_dir=p.figures_dir)
)

# %% [markdown]
# ## Budget
#
# Cost per year and over the horizon (tukin, team bonus, training, change management),
# the chance that tukin due exceeds the cap in some year, and the cost of each SD of
# performance gained.

# %%
costs = briefing.headline(view, budget, metrics=budget["metric"].unique())
display(briefing.effects_section(view, costs, title_key="budget"))
display(briefing.budget_figure(view, name="compare-budget", figures_dir=p.figures_dir))

# %% [markdown]
# ## Winners and losers
#
# Change in annual pay per employee by grade, job type and sex in the last year: pay is a
# transfer, so no direction is "better" here; the table names who gains and who loses most.

# %%
winners = winners_losers(store, confidence=p.confidence)
display(briefing.winners_table(view, winners))
display(
    briefing.winners_figure(
        view,
        winners,
        name="compare-winners",
        dimensions=("grade", "job_type", "sex"),
        figures_dir=p.figures_dir,
    )
)

# %% [markdown]
# ## By agency
#
# With several agencies, the same headline effects in each (unpooled outcomes).

# %%
per_agency = paired_effects(
    horizon(store.outcomes()), baseline=store.baseline, confidence=p.confidence
)
display(briefing.agency_pages(view, per_agency, metrics=[m for m, _ in briefing.HEADLINE]))

# %% tags=["analyst"]
from simlib.reporting.notebooks import record

display(
    record(
        {
            "notebook": "02-compare-policies",
            "lang": p.lang,
            "run_id": view.run_id,
            "title": view.title,
            "experiment": store.manifest.get("experiment"),
            "baseline": store.baseline,
            "arms": view.arms,
            "replications": int(store.outcomes()["replication"].nunique()),
            "effects": {
                arm: dict(zip(part["metric"], part["difference"].astype(float), strict=True))
                for arm, part in table.groupby("arm")
            },
            "assessments": {
                arm: dict(zip(part["metric"], part["assessment"], strict=True))
                for arm, part in table.groupby("arm")
            },
            "has_adoption": bool((outcomes["metric"] == "adoption_share").any()),
            "figures": list(view.figures),
        }
    )
)
