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
# # 360-degree rating bias
#
# **Question.** When supervisors, peers, subordinates and the employees themselves rate
# behaviour (BerAKHLAK), how much of the variation in scores is about the person rated,
# and how much about who rates? Which way of combining the ratings comes closest to true
# performance, and whom do raters of each source over- or under-rate?
#
# **Data.** Simulated multi-source ratings with the true scores known (the scenario under
# the policy below, its rating rule switched to multi-source), or a long-format CSV of real
# ratings (one row per rating: ratee, rater, score, optionally source and a true score).
#
# **Method.** (1) Variance components by REML with profile-likelihood intervals
# (`simlib.analysis.fit_variance_components`), and the reliability of one rating and of
# the mean of a ratee's ratings (ICC). (2) Every aggregation rule of PP 30/2019 practice
# applied to the same ratings and compared with the truth
# (`simlib.analysis.ratings360.compare_rules`). (3) Mean rating error by source and ratee
# group; groups rated by fewer than `min_raters` distinct raters are withheld.
#
# **What to change.** `ratings` and the column names to analyse your own data; `quarters`
# for more rounds; `min_raters` for the privacy threshold.

# %% tags=["parameters"]
scenario = "data/scenarios/district_health_office.yaml"
policy = "data/policies/pp30_360.yaml"  # empty for the scenario baseline, made 360
seed = 1
quarters = 1
ratings = ""  # a long-format rating CSV to load instead of simulating; empty to simulate
ratee_column = "ratee"
rater_column = "rater"
score_column = "score"
source_column = ""  # optional
true_score_column = ""  # optional
min_raters = 3  # groups with fewer raters are withheld
lang = "id"  # "id" (Bahasa Indonesia) or "en"
figures_dir = ""  # folder for PNG figures; empty for none

# %%
from simlib.reporting.params import rater_parameters

p = rater_parameters(
    scenario=scenario,
    policy=policy,
    seed=seed,
    quarters=quarters,
    ratings=ratings,
    ratee_column=ratee_column,
    rater_column=rater_column,
    score_column=score_column,
    source_column=source_column,
    true_score_column=true_score_column,
    min_raters=min_raters,
    lang=lang,
    figures_dir=figures_dir,
)

# %% [markdown]
# ## The ratings
#
# Simulated: `simulate_360` runs the scenario for the given quarters and returns one row
# per rating with the true score beside it. Loaded: `read_ratings` validates and
# pseudonymises the file (`simlib.store.ratingdata`).

# %%
import pandas as pd
from IPython.display import display

from simlib.analysis import ratings360
from simlib.reporting import pages, plots
from simlib.reporting.i18n import format_number, name_label, text
from simlib.reporting.notebooks import record

if p.ratings is None:
    frame, aggregation = ratings360.simulate_360(
        p.scenario, p.policy, seed=p.seed, quarters=p.quarters
    )
    import simlib

    origin = f"{text('scenario', p.lang)}: {simlib.load_scenario(p.scenario).name}, seed {p.seed}"
else:
    from simlib.params.policy import apply_variant
    from simlib.params.runinputs import resolve_inputs
    from simlib.store.ratingdata import read_ratings

    cols = p.columns
    data = read_ratings(
        p.ratings, ratee=cols["ratee"], rater=cols["rater"], score=cols["score"],
        source=cols.get("source"), covariates=(cols["true_score"],) if "true_score" in cols else (),
    )  # fmt: skip
    frame = ratings360.from_rating_data(data, true_score=cols.get("true_score"))
    _world, rules_policy, variants = resolve_inputs(p.scenario, [p.policy] if p.policy else [])
    for variant in variants:
        rules_policy = apply_variant(rules_policy, variant)
    aggregation = rules_policy.appraisal.aggregation
    origin = p.ratings.name

sources = ratings360.source_summary(frame, min_raters=p.min_raters)
size = (
    f"{format_number(len(frame), p.lang, decimals=0)} {text('ratings_word', p.lang)} · "
    f"{format_number(frame['ratee'].nunique(), p.lang, decimals=0)} {text('ratees_word', p.lang)} · "
    f"{format_number(frame['rater'].nunique(), p.lang, decimals=0)} {text('raters_word', p.lang)}"
)
display(pages.heading(text("bias_title", p.lang), subtitle=f"{origin} · {size}"))
shown = pd.DataFrame(
    {
        text("source", p.lang): [name_label("source", s, p.lang) for s in sources["source"]],
        text("ratings_word", p.lang): [
            "–" if pd.isna(n) else format_number(n, p.lang, decimals=0) for n in sources["ratings"]
        ],
        text("raters_word", p.lang): [
            format_number(n, p.lang, decimals=0) for n in sources["raters"]
        ],
        text("mean_score", p.lang): [
            text("withheld", p.lang, k=p.min_raters) if w else format_number(m, p.lang)
            for m, w in zip(sources["mean_score"], sources["withheld"], strict=True)
        ],
    }
)
display(pages.frame_table(shown))

# %% [markdown]
# ## Who the variation belongs to
#
# Random intercepts for ratee, rater, source and ratee × source (when sources are known).
# The ratee share is the part of a score that is about the person rated; the rest is
# about who rated (leniency, perspective) and noise.

# %%
from simlib.analysis import fit_variance_components, icc

random = ["ratee", "rater"]
if frame["source"].nunique() > 1:
    random += ["source", ("ratee", "source")]
fit = fit_variance_components(frame, response="score", random=random, ci="profile")
pairs = ratings360.pair_scores(frame)
per_ratee = len(pairs) / max(pairs["ratee"].nunique(), 1)
icc1, icck = icc(fit, "ratee", k=1), icc(fit, "ratee", k=per_ratee)
comp = fit.components
table = pd.DataFrame(
    {
        text("component", p.lang): [name_label("component", c, p.lang) for c in comp["component"]],
        text("variance", p.lang): [format_number(v, p.lang, decimals=3) for v in comp["variance"]],
        text("share", p.lang): [
            format_number(100 * s, p.lang, decimals=1) + "%" for s in comp["share"]
        ],
        text("interval_95", p.lang): [
            f"{format_number(lo, p.lang, decimals=3)} – {format_number(hi, p.lang, decimals=3)}"
            for lo, hi in zip(comp["ci_low"], comp["ci_high"], strict=True)
        ],
    }
)
icc_note = text(
    "icc_note", p.lang, icc1=format_number(icc1, p.lang, decimals=3),
    icck=format_number(icck, p.lang, decimals=3), k=format_number(per_ratee, p.lang, decimals=1),
)  # fmt: skip
display(pages.section(text("variance_decomposition", p.lang), pages.frame_table(table), icc_note))
shares = comp.set_index("component")[["share"]]
shares.index = [name_label("component", c, p.lang) for c in shares.index]
shares.columns = [text("share", p.lang)]
fig = plots.heatmap(shares, title=text("fig_variance", p.lang), lang=p.lang, diverging=False)
display(pages.figure(fig, "rater-variance", lang=p.lang, data=table, figures_dir=p.figures_dir))
figures = ["variance"]

# %% [markdown]
# ## Aggregation rules against the truth
#
# Each rule turns the same ratings into one score per ratee. Correlation with the truth
# (higher is better), mean error (0 is unbiased), and the error gaps between women and men
# and between senior and junior grades (0 is fair). Without true scores only the rank
# agreement with the equal-weight 360 mean can be read.

# %%
rules = ratings360.compare_rules(pairs, aggregation=aggregation)
columns = ["correlation", "mean_error", "gap_sex", "gap_grade", "rank_agreement"]
from simlib.reporting.i18n import metric_label

rule_table = pd.DataFrame(
    [
        [
            name_label("rule", r["rule"], p.lang),
            *(format_number(r[c], p.lang, decimals=3) for c in columns),
        ]
        for _, r in rules.iterrows()
    ],
    columns=[text("rule", p.lang), *(metric_label(c, p.lang) for c in columns)],
)
if rules.empty or not rules["correlation"].notna().any():
    display(pages.note(text("no_truth", p.lang)))
if not rules.empty:
    display(pages.section(text("aggregation_rules", p.lang), pages.frame_table(rule_table)))
    matrix = rules.set_index("rule")[columns[:4]]
    if matrix.notna().to_numpy().any():
        matrix.index = [name_label("rule", r, p.lang) for r in matrix.index]
        matrix.columns = [metric_label(c, p.lang) for c in columns[:4]]
        fig = plots.heatmap(matrix, title=text("fig_rules", p.lang), lang=p.lang)
        display(
            pages.figure(
                fig, "rater-rules", lang=p.lang, data=rule_table, figures_dir=p.figures_dir
            )
        )
        figures.append("rules")

# %% [markdown]
# ## Rating error by source and group
#
# Mean of score minus truth (SD units): positive cells are over-rated. Cells rated by
# fewer than `min_raters` distinct raters read "–".

# %%
bias = ratings360.rating_bias(pairs, min_raters=p.min_raters)
if bias.empty:
    display(pages.note(text("no_truth", p.lang)))
else:
    shown = bias.copy()
    shown.index = [name_label("source", s, p.lang) for s in shown.index]
    shown.columns = [name_label("group", g, p.lang) for g in shown.columns]
    fig = plots.heatmap(shown, title=text("fig_rater_bias", p.lang), lang=p.lang)
    data = shown.apply(lambda col: [format_number(v, p.lang) for v in col]).reset_index(
        names=text("source", p.lang)
    )
    display(pages.figure(fig, "rater-bias", lang=p.lang, data=data, figures_dir=p.figures_dir))
    figures.append("bias")

# %% tags=["analyst"]
display(
    record(
        {
            "notebook": "03-rater-bias-360",
            "lang": p.lang,
            "scenario": p.scenario.stem if p.ratings is None else p.ratings.name,
            "simulated": p.ratings is None,
            "ratings": len(frame),
            "ratees": int(frame["ratee"].nunique()),
            "raters": int(frame["rater"].nunique()),
            "variance_shares": dict(
                zip(comp["component"], comp["share"].astype(float), strict=True)
            ),
            "icc1": float(icc1),
            "rule_correlation": {
                r["rule"]: (None if pd.isna(r["correlation"]) else float(r["correlation"]))
                for _, r in rules.iterrows()
            },
            "bias_cells_withheld": int(bias.isna().sum().sum()) if not bias.empty else 0,
            "figures": figures,
        }
    )
)
