"""Reports: language and number formats, parameter checks, HTML briefings, ``simlib report``."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from reportkit import NASTY_LABEL, make_store, write_tiny_experiment, write_tiny_scenario

from simlib.cli.main import main
from simlib.core.errors import ConfigError
from simlib.reporting import i18n, report

# --------------------------------------------------------------------------------------
# Formats


@pytest.mark.parametrize(
    ("amount", "indonesian", "english"),
    [
        (1.5e9, "Rp 1,5 miliar", "Rp 1.5 billion"),
        (7.5e8, "Rp 750 juta", "Rp 750 million"),
        (44_089_212_492, "Rp 44,1 miliar", "Rp 44.1 billion"),
        (1.23e12, "Rp 1,23 triliun", "Rp 1.23 trillion"),
        (12_500, "Rp 12.500", "Rp 12,500"),
        (-2.3e6, "−Rp 2,3 juta", "−Rp 2.3 million"),
    ],
)
def test_rupiah(amount, indonesian, english):
    assert i18n.format_idr(amount, "id") == indonesian
    assert i18n.format_idr(amount, "en") == english


def test_numbers_percentages_and_dates():
    assert i18n.format_number(1234.567, "id") == "1.234,57"
    assert i18n.format_number(1234.567, "en") == "1,234.57"
    assert i18n.format_number(-0.0001, "id", signed=True) == "0,00"
    assert i18n.format_number(0.25, "en", signed=True) == "+0.25"
    assert i18n.format_percent(0.125, "id") == "12,5%"
    assert i18n.format_percent(-0.015, "id", signed=True) == "−1,5 poin persen"
    assert i18n.format_percent(0.015, "en", signed=True) == "+1.5 pp"
    assert i18n.format_date(dt.date(2026, 8, 17), "id") == "17 Agustus 2026"
    assert i18n.format_value(2e9, "IDR over the horizon", "en", signed=True) == "+Rp 2 billion"
    assert i18n.format_value(float("nan"), "SD units", "id") == "–"


def test_every_string_exists_in_both_languages():
    for key, (indonesian, english) in i18n.STRINGS.items():
        assert indonesian and english, key
        assert re.findall(r"{\w+}", indonesian) == re.findall(r"{\w+}", english), key


def test_unknown_language_is_one_clear_error():
    with pytest.raises(ConfigError, match=r"parameter 'lang': 'fr' is not a report language; "
                                          r"allowed: 'id', 'en'"):  # fmt: skip
        i18n.text("briefing_title", "fr")


# --------------------------------------------------------------------------------------
# Parameter checks (the second cell of the notebooks)


def explore_args(tmp_path, **changes):
    args = {
        "scenario": str(write_tiny_scenario(tmp_path)),
        "policy": "",
        "seed": 1,
        "replications": 2,
        "lang": "id",
        "figures_dir": "",
    }
    return {**args, **changes}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seed": "abc"}, "parameter 'seed': 'abc' is not a whole number; allowed: 0 to"),
        ({"seed": True}, "parameter 'seed': True is not a whole number"),
        ({"seed": -1}, "parameter 'seed': -1 is out of range"),
        ({"replications": 51}, "parameter 'replications': 51 is out of range; allowed: 1 to 50"),
        ({"scenario": ""}, "parameter 'scenario': '' is empty; allowed: a path to a scenario"),
        ({"scenario": "no.yaml"}, "parameter 'scenario': 'no.yaml' is not an existing file"),
        ({"policy": 3}, "parameter 'policy': 3 is not text"),
        ({"lang": "EN"}, "parameter 'lang': 'EN' is not a report language; allowed: 'id', 'en'"),
        ({"figures_dir": None}, "parameter 'figures_dir': None is not text"),
    ],
)
def test_explore_parameters_name_the_bad_one(tmp_path, changes, message):
    with pytest.raises(ConfigError) as caught:
        report.explore_parameters(**explore_args(tmp_path, **changes))
    assert message in str(caught.value), str(caught.value)


def test_good_explore_parameters_resolve_paths_from_the_project_root(tmp_path):
    params = report.explore_parameters(
        **explore_args(tmp_path, scenario="data/scenarios/district_health_office.yaml")
    )
    assert params.scenario.is_file(), params
    assert params.policy is None and params.figures_dir is None, params


def test_rater_parameters_need_columns_when_loading(tmp_path):
    csv = tmp_path / "r.csv"
    csv.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    args = dict(
        scenario="data/scenarios/district_health_office.yaml", policy="", seed=1, quarters=1,
        ratings=str(csv), ratee_column="", rater_column="b", score_column="c",
        source_column="", true_score_column="", min_raters=3, lang="en", figures_dir="",
    )  # fmt: skip
    with pytest.raises(ConfigError, match="parameter 'ratee_column': '' is empty"):
        report.rater_parameters(**args)
    args["ratee_column"] = "a"
    with pytest.raises(ConfigError, match="parameter 'quarters': 9 is out of range; allowed: 1"):
        report.rater_parameters(**{**args, "quarters": 9})
    assert report.rater_parameters(**args).columns == {"ratee": "a", "rater": "b", "score": "c"}


def test_compare_parameters_want_a_store(tmp_path):
    with pytest.raises(ConfigError, match=r"parameter 'store': .* is not a run store"):
        report.compare_parameters(store=str(tmp_path), confidence=0.95, lang="id", figures_dir="")
    with pytest.raises(ConfigError, match="parameter 'store': '' is not an existing folder"):
        report.compare_parameters(store="", confidence=0.95, lang="id", figures_dir="")


# --------------------------------------------------------------------------------------
# HTML reports from a tiny store


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    store, run_id = make_store(folder)
    return folder, store, run_id


@pytest.fixture(scope="module")
def built(tiny):
    _folder, store, _run_id = tiny
    run_dir = store.parent
    return {lang: report.build_report(store, run_dir, lang=lang) for lang in ("id", "en")}


SECTIONS = {
    "id": (
        "Ringkasan kebijakan",
        "Ringkasan eksekutif",
        "Angka kunci",
        "Asumsi",
        "Asal-usul hasil",
    ),
    "en": ("Policy briefing", "Executive summary", "Key figures", "Assumptions", "Provenance"),
}


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["id", "en"])
def test_briefing_html_has_its_sections_in_its_language(built, tiny, lang):
    page = (built[lang] / "04-briefing.html").read_text(encoding="utf-8")
    for heading in SECTIONS[lang]:
        assert f">{heading}" in page, f"{lang}: no section {heading!r}"
    other = SECTIONS["en" if lang == "id" else "id"]
    assert not any(f">{h}<" in page for h in other[1:]), f"{lang}: headings of the other language"
    assert f'<html lang="{lang}">' in page
    _folder, _store, run_id = tiny
    assert run_id in page, "provenance footer without the run id"
    assert 'class="kl-provenance"' in page
    assert 'class="kl-grid"' in page, "executive summary without its table of effects"
    assert page.count("data:image/png;base64") >= 3, "figures missing"
    money = r"Rp [\d.,]+ (juta|miliar)" if lang == "id" else r"Rp [\d.,]+ (million|billion)"
    assert re.search(money, page), f"no rupiah amounts in {lang}"


@pytest.mark.slow
def test_briefing_hides_code_and_the_comparison_shows_it(built):
    briefing = (built["en"] / "04-briefing.html").read_text(encoding="utf-8")
    comparison = (built["en"] / "02-compare-policies.html").read_text(encoding="utf-8")
    assert "compare_record" not in briefing
    assert "compare_record" in comparison
    assert ".tmp" not in comparison, "the page shows the temporary folder"
    assert "kinerja_record" not in briefing and "application/json" not in briefing
    assert "cdnjs" not in briefing, "the page loads remote scripts"


@pytest.mark.slow
def test_user_supplied_names_are_escaped(built):
    for lang in ("id", "en"):
        for name in ("04-briefing.html", "02-compare-policies.html"):
            page = (built[lang] / name).read_text(encoding="utf-8")
            assert "<script>alert" not in page, f"{lang}/{name}: arm label not escaped"
            # nbconvert re-serialises the page: quotes in text may come back unescaped.
            shown = page.replace("&quot;", '"')
            assert '&lt;script&gt;alert("x")&lt;/script&gt; Tiers &amp; Co' in shown
            assert "Tiny <b>comparison</b>" not in page
            assert "Tiny &lt;b&gt;comparison&lt;/b&gt;" in page


@pytest.mark.slow
def test_languages_and_runs_keep_their_own_assets(built, tiny):
    _folder, store, _run_id = tiny
    run_dir = store.parent
    assert sorted(p.name for p in run_dir.iterdir()) == ["en", "id", "store"]
    for lang, folder in built.items():
        figures = sorted(p.name for p in (folder / "figures").iterdir())
        assert figures and all(f.endswith(f"-{lang}.png") for f in figures), figures
        assert {"briefing-effects", "briefing-budget", "briefing-winners"} <= {
            f.rsplit("-", 1)[0] for f in figures
        }, figures


@pytest.mark.slow
def test_a_failed_render_leaves_the_previous_report(built, tiny, tmp_path):
    _folder, store, _run_id = tiny
    run_dir = store.parent
    before = (built["id"] / "04-briefing.html").read_bytes()
    with pytest.raises(ConfigError) as caught:
        report.build_report(tmp_path, run_dir, lang="id")  # not a store
    text = str(caught.value)
    assert text.startswith("notebook 02-compare-policies: parameter 'store':"), text
    assert (built["id"] / "04-briefing.html").read_bytes() == before
    assert sorted(p.name for p in run_dir.iterdir()) == ["en", "id", "store"], "temp left"


def test_run_id_follows_the_planned_runs():
    manifest = {"experiment_file": "data/experiments/x.yaml", "runs": [{"key": "a"}]}
    assert report.run_id_for(manifest) == report.run_id_for(dict(manifest))
    assert report.run_id_for(manifest).startswith("x-")
    other = {**manifest, "runs": [{"key": "b"}]}
    assert report.run_id_for(other) != report.run_id_for(manifest)


# --------------------------------------------------------------------------------------
# The command


@pytest.mark.slow
def test_simlib_report_reuses_a_complete_store_and_prints_the_briefing(tiny, capsys):
    folder, _store, run_id = tiny
    experiment = folder / "tiny_experiment.yaml"
    code = main(["report", str(experiment), "--lang", "en", "--out", str(folder / "reports")])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.strip().splitlines()
    assert "complete; not rerun" in lines[0], lines
    assert lines[-1].startswith("Briefing: ") and lines[-1].endswith(
        f"{run_id}/en/04-briefing.html"
    ), lines
    page = folder / "reports" / run_id / "en" / "04-briefing.html"
    assert page.is_file()


def test_simlib_report_bad_experiment_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n", encoding="utf-8")
    code = main(["report", str(bad), "--out", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("simlib: error: "), err
    assert not (tmp_path / "reports").exists()


def test_tiny_experiment_file_is_valid(tmp_path):
    from simlib.experiment.sweep import load_experiment

    exp = load_experiment(write_tiny_experiment(tmp_path))
    assert [a.label for a in exp.arms] == ["Today's rules", NASTY_LABEL]
    assert json.dumps(exp.name)


def test_report_renders_all_four_notebooks(built):
    for lang, folder in built.items():
        pages = sorted(p.name for p in folder.glob("*.html"))
        assert pages == [
            "01-explore-scenario.html",
            "02-compare-policies.html",
            "03-rater-bias-360.html",
            "04-briefing.html",
        ], (lang, pages)
        explore = (folder / "01-explore-scenario.html").read_text(encoding="utf-8")
        title = "Menjelajah satu skenario" if lang == "id" else "Exploring one scenario"
        assert title in explore, explore[:300]
