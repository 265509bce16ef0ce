"""Reports: catalogue and Babel formats, parameter checks, HTML and PDF briefings, the command."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess

import pandas as pd
import pytest
from reportkit import NASTY_LABEL, make_store, write_tiny_experiment, write_tiny_scenario

from simlib.cli.main import main
from simlib.core.errors import ConfigError
from simlib.reporting import i18n, notebooks, params, stores

# --------------------------------------------------------------------------------------
# Formats (Babel, with the house forms)


@pytest.mark.parametrize(
    ("amount", "indonesian", "english"),
    [
        (1.5e9, "Rp 1,5 miliar", "Rp 1.5 billion"),
        (7.5e8, "Rp 750 juta", "Rp 750 million"),
        (44_089_212_492, "Rp 44,1 miliar", "Rp 44.1 billion"),
        (1.23e12, "Rp 1,23 triliun", "Rp 1.23 trillion"),
        (999_999_999, "Rp 1 miliar", "Rp 1 billion"),
        (12_500, "Rp 12.500", "Rp 12,500"),
        (-2.3e6, "−Rp 2,3 juta", "−Rp 2.3 million"),
    ],
)
def test_money_in_rupiah_with_compact_words(amount, indonesian, english):
    assert i18n.format_idr(amount, "id") == indonesian
    assert i18n.format_idr(amount, "en") == english


def test_money_comes_from_babel_compact_decimal():
    from babel.numbers import format_compact_decimal

    # The words are CLDR's, not ours: what Babel gives is what the report shows.
    word = format_compact_decimal(1.5e9, format_type="long", fraction_digits=1, locale="id")
    assert i18n.format_idr(1.5e9, "id") == f"Rp {word}"


@pytest.mark.parametrize(
    ("value", "kwargs", "indonesian", "english"),
    [
        (1234.567, {}, "1.234,57", "1,234.57"),
        (-0.0001, {"signed": True}, "0,00", "0.00"),
        (0.25, {"signed": True}, "+0,25", "+0.25"),
        (-1234.5, {"decimals": 1}, "−1.234,5", "−1,234.5"),
        (float("nan"), {}, "–", "–"),
    ],
)
def test_decimals(value, kwargs, indonesian, english):
    assert i18n.format_number(value, "id", **kwargs) == indonesian
    assert i18n.format_number(value, "en", **kwargs) == english


@pytest.mark.parametrize(
    ("share", "signed", "indonesian", "english"),
    [
        (0.125, False, "12,5%", "12.5%"),
        (-0.015, True, "−1,5 poin persen", "−1.5 pp"),
        (0.015, True, "+1,5 poin persen", "+1.5 pp"),
        (-0.00001, False, "0,0%", "0.0%"),
    ],
)
def test_percentages_and_percentage_points(share, signed, indonesian, english):
    assert i18n.format_percent(share, "id", signed=signed) == indonesian
    assert i18n.format_percent(share, "en", signed=signed) == english


def test_dates_in_both_languages():
    assert i18n.format_date(dt.date(2026, 8, 17), "id") == "17 Agustus 2026"
    assert i18n.format_date(dt.datetime(2026, 8, 17, 9, 30), "en") == "17 August 2026"


def test_values_follow_their_unit():
    assert i18n.format_value(2e9, "IDR over the horizon", "en", signed=True) == "+Rp 2 billion"
    assert i18n.format_value(0.1, "share of employees", "id") == "10,0%"
    assert i18n.format_value(0.1234, "SD units", "id", signed=True) == "+0,123 SD"
    assert i18n.format_value(float("nan"), "SD units", "id") == "–"


# --------------------------------------------------------------------------------------
# The catalogue


def _entries(path):
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        return {m.context: m for m in read_po(fh) if m.id}


def test_catalogue_translates_every_message_with_the_same_placeholders():
    template, indonesian = _entries(i18n.TEMPLATE), _entries(i18n.CATALOGUE)
    assert set(template) == set(indonesian), set(template) ^ set(indonesian)
    for key, message in template.items():
        translated = indonesian[key]
        assert translated.id == message.id, f"{key}: the .po's English differs from the .pot"
        assert translated.string and not translated.fuzzy, f"{key}: not translated"
        assert re.findall(r"{\w+}", translated.string) == re.findall(r"{\w+}", message.id), key


def test_every_message_key_the_code_asks_for_exists():
    from simlib.core.paths import ROOT

    keys = set(i18n.message_keys())
    sources = [*(ROOT / "simlib").rglob("*.py"), *(ROOT / "simlib").rglob("*.j2"),
               *(ROOT / "notebooks").glob("*.py")]  # fmt: skip
    asked = set()
    for path in sources:
        asked |= set(re.findall(r"""\btext\(\s*["']([a-z0-9_]+)["']""", path.read_text()))
        asked |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']""", path.read_text()))
    assert asked - keys == set(), f"keys missing from the catalogue: {sorted(asked - keys)}"


def test_labels_for_code_identifiers():
    assert i18n.name_label("component", "ratee:source", "id") == "Pegawai × sumber"
    assert i18n.name_label("source", "supervisor", "en") == "Supervisor"
    assert i18n.name_label("rule", "unknown_rule", "en") == "Unknown rule"
    assert i18n.localized({"id": "Aturan", "en": "Rules"}, "en") == ("Rules", None)
    assert i18n.localized({"en": "Rules"}, "id") == ("Rules", "en")
    assert i18n.localized("Rules", "id") == ("Rules", None)


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
        params.explore_parameters(**explore_args(tmp_path, **changes))
    assert message in str(caught.value), str(caught.value)


def test_good_explore_parameters_resolve_paths_from_the_project_root(tmp_path):
    p = params.explore_parameters(
        **explore_args(tmp_path, scenario="data/scenarios/district_health_office.yaml")
    )
    assert p.scenario.is_file(), p
    assert p.policy is None and p.figures_dir is None, p


def test_rater_parameters_need_columns_when_loading(tmp_path):
    csv = tmp_path / "r.csv"
    csv.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    args = dict(
        scenario="data/scenarios/district_health_office.yaml", policy="", seed=1, quarters=1,
        ratings=str(csv), ratee_column="", rater_column="b", score_column="c",
        source_column="", true_score_column="", min_raters=3, lang="en", figures_dir="",
    )  # fmt: skip
    with pytest.raises(ConfigError, match="parameter 'ratee_column': '' is empty"):
        params.rater_parameters(**args)
    args["ratee_column"] = "a"
    with pytest.raises(ConfigError, match="parameter 'quarters': 9 is out of range; allowed: 1"):
        params.rater_parameters(**{**args, "quarters": 9})
    assert params.rater_parameters(**args).columns == {"ratee": "a", "rater": "b", "score": "c"}


def test_compare_parameters_want_a_store_or_none(tmp_path):
    with pytest.raises(ConfigError, match=r"parameter 'store': .* is not a run store"):
        params.compare_parameters(store=str(tmp_path), confidence=0.95, lang="id", figures_dir="")
    empty = params.compare_parameters(store="", confidence=0.95, lang="id", figures_dir="")
    assert empty.store is None and empty.experiment.name == "default.yaml", empty


def test_calibration_parameters_find_every_target_file():
    p = params.calibration_parameters(
        scenario="data/scenarios/district_health_office.yaml", targets="", free="a.b; c.d=0:1",
        replications=2, design=4, max_evaluations=0, seed=1, lang="en", figures_dir="",
    )  # fmt: skip
    assert p.free == ("a.b", "c.d=0:1"), p.free
    # rater_lab_360.yaml is the policy variant a target applies, not a target file.
    assert [f.name for f in p.targets] == [
        "predikat_national.yaml", "rater_lab.yaml", "workforce_flows.yaml",
    ], p.targets  # fmt: skip


def test_run_id_follows_the_planned_runs():
    manifest = {"experiment_file": "data/experiments/x.yaml", "runs": [{"key": "a"}]}
    assert stores.run_id_for(manifest) == stores.run_id_for(dict(manifest))
    assert stores.run_id_for(manifest).startswith("x-")
    other = {**manifest, "runs": [{"key": "b"}]}
    assert stores.run_id_for(other) != stores.run_id_for(manifest)


# --------------------------------------------------------------------------------------
# What each effect means: by the outcome's declared better direction


def test_a_cost_increase_is_worse_and_a_performance_gain_better():
    from simlib.analysis.pooling import assess, better

    assert better("total_cost_idr") == "lower" and better("mean_true_performance") == "higher"
    assert assess(2e9, 1e9, 3e9, better("total_cost_idr")) == "worse"
    assert assess(-2e9, -3e9, -1e9, better("total_cost_idr")) == "better"
    assert assess(0.1, 0.05, 0.15, better("mean_true_performance")) == "better"
    assert assess(0.1, -0.05, 0.15, "higher") == "unclear"
    assert assess(1e6, 5e5, 2e6, better("pay_idr_per_employee")) == "changed"


def test_forest_plot_colours_follow_desirability():
    import numpy as np

    from simlib.reporting import plots

    effects = pd.DataFrame(
        {
            "label": ["A", "A"],
            "metric_label": ["Performance", "Cost"],
            "unit": ["SD units", "IDR"],
            "difference": [0.1, 2e9],
            "ci_low": [0.05, 1e9],
            "ci_high": [0.15, 3e9],
            "better": ["higher", "lower"],
        }
    )
    fig = plots.effects_forest(effects, lang="en")
    colours = [tuple(np.round(ax.collections[1].get_facecolor()[0][:3], 3)) for ax in fig.axes]
    import matplotlib.colors as mc

    up, down = (tuple(np.round(mc.to_rgb(plots.ASSESSMENT_COLOURS[k]), 3)) for k in
                ("better", "worse"))  # fmt: skip
    assert colours == [up, down], f"a rise in cost drawn as {colours[1]}, not red {down}"


def test_pooling_follows_each_outcomes_declaration():
    from simlib.analysis.pooling import pool_agencies

    rows = [
        {"arm": "a", "sample": 0, "replication": 0, "period_kind": "year", "period": "2025",
         "t_month": 11, "metric": m, "agency": ag, "value": v}
        for m, vals in (("tukin_paid_idr", (1e9, 2e9)), ("rating_accuracy", (0.4, 0.6)))
        for ag, v in zip(("x", "y"), vals, strict=True)
    ]  # fmt: skip
    pooled = pool_agencies(pd.DataFrame(rows)).set_index("metric")["value"]
    assert pooled["tukin_paid_idr"] == 3e9 and pooled["rating_accuracy"] == pytest.approx(0.5)


# --------------------------------------------------------------------------------------
# HTML reports from a tiny store


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    store, run_id = make_store(folder)
    return folder, store, run_id


#: Only the store notebooks: the others have their own tests in test_notebooks.py.
STORE_NOTEBOOKS = tuple(n for n in notebooks.REPORT_NOTEBOOKS if n[0][:2] in ("02", "04"))


@pytest.fixture(scope="module")
def built(tiny):
    _folder, store, _run_id = tiny
    run_dir = store.parent
    return {
        lang: notebooks.build_report(
            store,
            run_dir,
            lang=lang,
            notebooks=STORE_NOTEBOOKS,
            formats=("html", "pdf") if lang == "id" else ("html",),
        )
        for lang in ("id", "en")
    }


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
    # The analyst's notes (markdown tagged 'analyst', in English) stay out of the briefing.
    assert "tagged `analyst`" not in page and "these notes" not in page


@pytest.mark.slow
def test_every_figure_has_alt_text_and_a_data_table_naming_it(built):
    page = (built["en"] / "04-briefing.html").read_text(encoding="utf-8")
    figures = re.findall(r'<figure class="kl-figure".*?</figure>', page, flags=re.S)
    assert len(figures) >= 3, len(figures)
    for fig in figures:
        alt = re.search(r'<img [^>]*alt="([^"]+)"', fig)
        assert 'src="data:image/png;base64,' in fig, "the image is not embedded"
        assert alt and alt.group(1), fig[:200]
        caption = re.search(r"<caption>(.*?)</caption>", fig, flags=re.S)
        assert caption, "a figure without its data table"
        assert alt.group(1).replace("&#39;", "'") in caption.group(1).replace("&#39;", "'"), (
            alt.group(1),
            caption.group(1),
        )


@pytest.mark.slow
def test_briefing_hides_code_and_the_comparison_shows_it(built):
    briefing = (built["en"] / "04-briefing.html").read_text(encoding="utf-8")
    comparison = (built["en"] / "02-compare-policies.html").read_text(encoding="utf-8")
    assert "paired_effects" not in briefing
    assert "paired_effects" in comparison
    assert ".tmp" not in comparison, "the page shows the temporary folder"
    assert "kinerja_record" not in briefing and "application/json" not in briefing
    assert "cdnjs" not in briefing, "the page loads remote scripts"


@pytest.mark.slow
def test_user_supplied_names_are_escaped(built):
    for lang in ("id", "en"):
        for name in ("04-briefing.html", "02-compare-policies.html"):
            page = (built[lang] / name).read_text(encoding="utf-8")
            assert "<script>alert" not in page, f"{lang}/{name}: arm label not escaped"
            shown = page.replace("&quot;", '"').replace("&#34;", '"')
            assert '&lt;script&gt;alert("x")&lt;/script&gt; Tiers &amp; Co' in shown
            assert "Tiny <b>comparison</b>" not in page
            assert "Tiny &lt;b&gt;comparison&lt;/b&gt;" in page


@pytest.mark.slow
def test_a_one_language_experiment_file_is_said_once(built):
    for lang in ("id", "en"):
        page = (built[lang] / "04-briefing.html").read_text(encoding="utf-8")
        assert page.count(i18n.text("one_language", lang)) == 1, lang


@pytest.mark.slow
def test_cost_effect_is_coloured_as_an_improvement_when_it_falls(built):
    page = (built["en"] / "04-briefing.html").read_text(encoding="utf-8")
    grid = re.search(r'<table class="kl-grid">.*?</table>', page, flags=re.S).group(0)
    cells = re.findall(r'<td class="num kl-(\w+)">([^<]*)<br\s*/?>', grid)
    cost = [kind for kind, value in cells if "Rp" in value]
    # Steeper tiers cost less (test_notebooks checks the sign): a fall is not red.
    assert cost and cost[0] in ("better", "unclear"), cells


@pytest.mark.slow
def test_pdf_briefing_is_printed(built):
    pdf = built["id"] / "04-briefing.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-", "not a PDF"
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        assert "Ringkasan eksekutif" in text and "Asal-usul hasil" in text, text[:300]


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
        notebooks.build_report(tmp_path, run_dir, lang="id", notebooks=STORE_NOTEBOOKS)
    text = str(caught.value)
    assert text.startswith("notebook 02-compare-policies: parameter 'store':"), text
    assert (built["id"] / "04-briefing.html").read_bytes() == before
    assert sorted(p.name for p in run_dir.iterdir()) == ["en", "id", "store"], "temp left"


# --------------------------------------------------------------------------------------
# Several agencies, two languages in the experiment file


@pytest.fixture(scope="module")
def two_agencies(tmp_path_factory):
    folder = tmp_path_factory.mktemp("agencies")
    store, _run_id = make_store(folder, agencies=2, bilingual=True)
    out = notebooks.build_report(
        store, store.parent, lang="id", notebooks=(("04-briefing", False),)
    )
    return out / "04-briefing.html"


@pytest.mark.slow
def test_a_page_per_agency_and_labels_in_the_readers_language(two_agencies):
    page = two_agencies.read_text(encoding="utf-8")
    assert page.count('<section class="kl-agency">') == 2, "not one page per agency"
    assert "Instansi: Dinkes Kabupaten" in page and "Instansi: Dinkes 2" in page
    assert "Aturan hari ini" in page and "Today&#39;s rules" not in page
    # The other arm's label is given in one language: said once.
    assert page.count(i18n.text("one_language", "id")) == 1


# --------------------------------------------------------------------------------------
# In a real browser (headless Chromium)

_CHECK = """<script>
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  var out = document.createElement('pre');
  out.id = 'kl-browser-check';
  out.textContent = JSON.stringify({
    images: images.length, broken: broken.length,
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth, innerWidth: window.innerWidth});
  document.body.appendChild(out);
});
</script></body>"""


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
def test_briefing_in_headless_chromium_at_1280px(built, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("headless Chromium is not installed (.ci/run installs Debian's chromium)")
    page = (built["en"] / "04-briefing.html").read_text(encoding="utf-8")
    probe = tmp_path / "briefing-check.html"
    probe.write_text(page.replace("</body>", _CHECK, 1), encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--window-size=1280,900", "--virtual-time-budget=15000"]  # fmt: skip
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    ).stdout  # fmt: skip
    found = re.search(r'<pre id="kl-browser-check">(.*?)</pre>', dom)
    assert found, "the page's check did not run in Chromium"
    check = json.loads(found.group(1).replace("&quot;", '"'))
    assert check["innerWidth"] == 1280, check
    assert check["scrollWidth"] <= check["clientWidth"], f"horizontal scroll at 1280 px: {check}"
    assert check["images"] >= 3 and check["broken"] == 0, f"images not loaded: {check}"
    shot = tmp_path / "briefing-1280.png"
    subprocess.run(
        [browser, *flags[:-2], "--window-size=1280,2400", f"--screenshot={shot}",
         (built["en"] / "04-briefing.html").as_uri()],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert shot.is_file() and shot.stat().st_size > 10_000, "no screenshot"
    # The artifact: under reports/ (git-ignored), where CI and a reader can look at it.
    from simlib.core.paths import REPORTS

    artifact = REPORTS / "test-artifacts" / "briefing-1280.png"
    artifact.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, artifact)
    print(f"screenshot of the briefing at 1280 px: {artifact}")  # noqa: T201 - the artifact


# --------------------------------------------------------------------------------------
# The command


@pytest.mark.slow
def test_simlib_report_reuses_a_complete_store_and_prints_the_briefing(tiny, capsys, monkeypatch):
    folder, _store, run_id = tiny
    monkeypatch.setattr(notebooks, "REPORT_NOTEBOOKS", STORE_NOTEBOOKS)
    import simlib.cli.report as command

    monkeypatch.setattr(command, "REPORT_NOTEBOOKS", STORE_NOTEBOOKS)
    real = command.build_report
    monkeypatch.setattr(
        command, "build_report", lambda *a, **k: real(*a, notebooks=STORE_NOTEBOOKS, **k)
    )
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


def test_shipped_experiments_name_everything_in_both_languages():
    from simlib.core.paths import EXPERIMENTS
    from simlib.experiment.sweep import load_experiment

    for path in sorted(EXPERIMENTS.glob("*.yaml")):
        exp = load_experiment(path)
        texts = [exp.name, exp.description, *(a.label for a in exp.arms)]
        texts += [a.description for a in exp.arms if a.description]
        one = [t for t in texts if not (isinstance(t, dict) and t.get("id") and t.get("en"))]
        assert not one, f"{path.name}: given in one language only: {one[:3]}"
