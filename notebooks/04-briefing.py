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

# %% [markdown] tags=["analyst"]
# # Policy briefing
#
# The page `simlib report` renders without code for planners: executive summary, key
# figures with their data, a page per agency when there are several, assumptions (with
# the inputs sourced only as "assumption" and the arms they drive), and provenance.
# Every word comes from the catalogue in `simlib/reporting/locale/`, so the Indonesian
# briefing is Indonesian throughout; these notes (tagged `analyst`) are left out of it.
#
# **Data and Method** as in `02-compare-policies`: a run store, paired effects at the
# horizon with 95 % intervals, agencies pooled as each outcome declares. With
# `store = ""` the default experiment's store is read, and run first if missing.
#
# **What to change.** `store`, `lang`; `simlib report --format pdf` also prints it.

# %% tags=["parameters"]
store = ""  # a run store folder; empty for the default experiment's (run first if missing)
lang = "id"  # "id" (Bahasa Indonesia) or "en"
figures_dir = ""  # folder for PNG figures; empty for none

# %%
from simlib.reporting.params import compare_parameters

p = compare_parameters(store=store, confidence=0.95, lang=lang, figures_dir=figures_dir)

# %%
from IPython.display import display
from tqdm import tqdm

from simlib.analysis.effects import budget_effects, horizon, paired_effects, winners_losers
from simlib.analysis.pooling import pool_agencies
from simlib.reporting import briefing, pages
from simlib.reporting.i18n import text
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
view = briefing.read_store(store, lang=p.lang)
outcomes = pool_agencies(store.outcomes())
effects = paired_effects(horizon(outcomes), baseline=store.baseline, confidence=p.confidence)
budget = budget_effects(store, confidence=p.confidence)
table = briefing.headline(view, effects, budget, metrics=briefing.BRIEFING_HEADLINE)
display(briefing.summary(view, table, budget))

# %% [markdown] tags=["analyst"]
# Key figures: each with its data in a table under it (the figure's title is its
# alternative text and the table's caption).

# %%
display(pages.heading(text("key_figures", p.lang), level=2))
display(briefing.effects_figure(view, table, name="briefing-effects", figures_dir=p.figures_dir))
display(briefing.budget_figure(view, name="briefing-budget", figures_dir=p.figures_dir))
display(
    briefing.adoption_figure(view, outcomes, name="briefing-adoption", figures_dir=p.figures_dir)
)
winners = winners_losers(store, confidence=p.confidence)
display(
    briefing.winners_figure(
        view, winners, name="briefing-winners", dimensions=("grade", "sex"),
        figures_dir=p.figures_dir,
    )
)  # fmt: skip

# %%
per_agency = paired_effects(
    horizon(store.outcomes()), baseline=store.baseline, confidence=p.confidence
)
display(briefing.agency_pages(view, per_agency, metrics=briefing.BRIEFING_HEADLINE))

# %%
import simlib
from simlib.analysis.assumptions import scenario_assumptions

scenario_file = next(i["path"] for i in store.manifest["inputs"] if i["role"] == "scenario")
assumed = scenario_assumptions(simlib.load_scenario(simlib.core.paths.ROOT / scenario_file))
display(briefing.assumptions(view, scenario_assumed=assumed))
display(briefing.provenance(view))

# %% tags=["analyst"]
from simlib.reporting.notebooks import record

display(
    record(
        {
            "notebook": "04-briefing",
            "lang": p.lang,
            "run_id": view.run_id,
            "title": view.title,
            "experiment": store.manifest.get("experiment"),
            "baseline": store.baseline,
            "arms": view.arms,
            "effects": {
                arm: dict(zip(part["metric"], part["difference"].astype(float), strict=True))
                for arm, part in table.groupby("arm")
            },
            "assessments": {
                arm: dict(zip(part["metric"], part["assessment"], strict=True))
                for arm, part in table.groupby("arm")
            },
            "agencies": view.agencies,
            "assumed": sorted(set(view.assumed["parameter"])),
            "has_adoption": bool((outcomes["metric"] == "adoption_share").any()),
            "figures": list(view.figures),
        }
    )
)
