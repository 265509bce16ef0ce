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
# # Explore one scenario under one policy
#
# **Question.** Under one set of rules, how do employees' true performance, the tukin they
# are paid, the budget and the adoption of the new performance system move month by month,
# and how much of that is chance?
#
# **Data.** Nothing observed: the model of `docs/model.md` simulates the agencies of one
# scenario file (`data/scenarios/`) under its baseline policy, or under the policy or
# variant named below.
#
# **Method.** A few replications with the same root seed and replication numbers 0, 1, ...
# (each replication draws its own random numbers). Each figure draws the median over
# replications and the bands holding 50 % and 90 % of them; a narrow band means the path
# hardly depends on luck.
#
# **What to change.** The parameters in the next cell: another scenario, a policy or
# variant file (`data/policies/`), more replications for smoother bands, `lang = "en"` for
# English labels. Run All works as the cell stands.

# %% tags=["parameters"]
scenario = "data/scenarios/district_health_office.yaml"  # relative to here or the project
policy = ""  # a policy or variant YAML; empty for the scenario's baseline
seed = 1
replications = 3
lang = "id"  # "id" (Bahasa Indonesia) or "en"
figures_dir = ""  # folder for PNG figures; empty for none

# %%
from simlib.reporting.params import explore_parameters

p = explore_parameters(
    scenario=scenario,
    policy=policy,
    seed=seed,
    replications=replications,
    lang=lang,
    figures_dir=figures_dir,
)

# %% [markdown]
# ## Simulate
#
# `resolve_inputs` loads the scenario, its baseline policy and the variant (the same
# function the command line uses); `build_schedule` says which policy holds in which
# month; `simlib.simulate` runs one replication and returns tidy tables: `outcomes` (one
# row per agency, period and metric) and `ledger` (one row per agency and month of pay).

# %%
import pandas as pd
from IPython.display import display

import simlib
from simlib.params.runinputs import resolve_inputs
from simlib.reporting import pages, plots
from simlib.reporting.i18n import text
from simlib.reporting.notebooks import record

world, base, variants = resolve_inputs(p.scenario, [p.policy] if p.policy else [])
schedule = simlib.build_schedule(
    base, variants, month_of=world.month_of, horizon_months=world.calendar.horizon_months
)
runs = [simlib.simulate(world, schedule, seed=p.seed, replication=r) for r in range(p.replications)]
outcomes = pd.concat([run.outcomes for run in runs], ignore_index=True)
ledger = pd.concat([run.ledger.assign(replication=r) for r, run in enumerate(runs)])
policy_name = " + ".join([base.name, *(v.name for v in variants)])
display(
    pages.heading(
        text("explore_title", p.lang),
        subtitle=f"{world.name} · {policy_name} · {p.replications} {text('replications', p.lang)}",
    )
)

# %% [markdown]
# ## Time paths
#
# Quarterly outcomes, one fan per agency. *True performance* is the model's latent
# hasil kerja in SD units of the national workforce (0 = today's average).

# %%
quarters = outcomes[outcomes["period_kind"] == "quarter"]
units = {o.name: o.unit for o in simlib.OUTCOMES}
figures = []
for name, metric, title in (
    ("performance", "mean_true_performance", "fig_performance"),
    ("pay", "tukin_paid_idr", "fig_pay"),
    ("adoption", "adoption_share", "fig_adoption"),
):
    paths = quarters[quarters["metric"] == metric]
    if paths.empty:
        display(pages.note(text("no_adoption", p.lang)))
        continue
    fig = plots.fan_chart(
        paths, title=text(title, p.lang), unit=units[metric], lang=p.lang, group="agency"
    )
    if metric == "adoption_share":
        fig.axes[0].set_ylim(0, 1)
    data = pages.fan_table(paths, unit=units[metric], lang=p.lang, group="agency")
    display(pages.figure(fig, f"explore-{name}", lang=p.lang, data=data, figures_dir=p.figures_dir))
    figures.append(name)

# %% [markdown]
# ## The budget within each year
#
# Tukin is paid monthly from an annual cap. The share of the cap spent so far this year
# reaches 100 % in December when the cap is exactly spent; above the dashed line the
# agency would run out before the year ends (the model then cuts pay, see `docs/model.md`).

# %%
used = ledger.assign(value=ledger["budget_spent_ytd_idr"] / ledger["budget_cap_idr"])
fig = plots.fan_chart(
    used, title=text("fig_budget_ytd", p.lang), unit="share", lang=p.lang, group="agency"
)
data = pages.fan_table(used, unit="share", lang=p.lang, group="agency")
display(pages.figure(fig, "explore-budget", lang=p.lang, data=data, figures_dir=p.figures_dir))
figures.append("budget")

# %% [markdown]
# ## Year by year
#
# The mean over replications of the annual outcomes. Change the list to see others; every
# outcome the model reports is declared in `simlib.OUTCOMES` with its unit and meaning.

# %%
from simlib.reporting.i18n import format_value, metric_label

shown = [
    "mean_true_performance", "rating_accuracy", "share_sangat_baik", "share_baik",
    "tukin_paid_idr", "budget_used_share", "pay_performance_corr", "headcount",
]  # fmt: skip
years = outcomes[(outcomes["period_kind"] == "year") & outcomes["metric"].isin(shown)]
table = years.groupby(["agency", "metric", "period"], sort=False)["value"].mean().unstack()
several = table.index.get_level_values("agency").nunique() > 1
rows = pd.DataFrame(
    [
        [
            (f"{agency}: " if several else "") + metric_label(metric, p.lang),
            *(format_value(v, units[metric], p.lang) for v in values),
        ]
        for (agency, metric), values in table.iterrows()
    ],
    columns=[text("metric", p.lang), *map(str, table.columns)],
)
display(pages.section(text("summary_by_year", p.lang), pages.frame_table(rows)))

# %% tags=["analyst"]
last = years[
    (years["metric"] == "mean_true_performance") & (years["period"] == years["period"].max())
]
display(
    record(
        {
            "notebook": "01-explore-scenario",
            "lang": p.lang,
            "scenario": world.name,
            "policy": policy_name,
            "replications": int(outcomes["replication"].nunique()),
            "years": [str(y) for y in table.columns],
            "last_year_mean_true_performance": float(last["value"].mean()),
            "figures": figures,
        }
    )
)
