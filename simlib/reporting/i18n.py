"""Report language: Bahasa Indonesia and English strings, and number, money and date formats.

Every word a notebook or report shows comes from :data:`STRINGS` through :func:`text`, so one
template serves both languages. Numbers follow the reader's convention: in Indonesian a
decimal comma and a thousands dot (``1.234,5``), money in rupiah with *juta*, *miliar*,
*triliun* (``Rp 1,5 miliar``); in English ``1,234.5`` and ``Rp 1.5 billion``.
"""

from __future__ import annotations

import datetime as dt
import math

from simlib.core.errors import ConfigError

__all__ = [
    "LANGS",
    "STRINGS",
    "check_lang",
    "format_date",
    "format_idr",
    "format_number",
    "format_percent",
    "format_value",
    "metric_label",
    "text",
    "unit_kind",
]

#: Report languages: Bahasa Indonesia and English.
LANGS = ("id", "en")

_MONTHS_ID = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
    "Oktober", "November", "Desember",
)  # fmt: skip
_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip

#: Money scales: (threshold, Indonesian word, English word).
_SCALES = ((1e12, "triliun", "trillion"), (1e9, "miliar", "billion"), (1e6, "juta", "million"))

#: Interface strings: key -> (Indonesian, English).
STRINGS: dict[str, tuple[str, str]] = {
    # Titles and sections
    "briefing_title": ("Ringkasan kebijakan", "Policy briefing"),
    "executive_summary": ("Ringkasan eksekutif", "Executive summary"),
    "key_figures": ("Angka kunci", "Key figures"),
    "assumptions": ("Asumsi", "Assumptions"),
    "provenance": ("Asal-usul hasil", "Provenance"),
    "explore_title": ("Menjelajah satu skenario", "Exploring one scenario"),
    "compare_title": ("Membandingkan kebijakan", "Comparing policies"),
    "bias_title": ("Bias penilaian 360 derajat", "360-degree rating bias"),
    "effects": ("Dampak terhadap baseline", "Effects against baseline"),
    "resistance": ("Resistensi dan adopsi", "Resistance and adoption"),
    "budget": ("Anggaran", "Budget"),
    "winners_losers": ("Yang diuntungkan dan dirugikan", "Winners and losers"),
    "variance_decomposition": ("Dekomposisi varians", "Variance decomposition"),
    "aggregation_rules": ("Aturan agregasi dibandingkan", "Aggregation rules compared"),
    "time_paths": ("Perjalanan waktu", "Time paths"),
    "summary_by_year": ("Ringkasan per tahun", "Summary by year"),
    # Figure titles and axes
    "fig_effects": (
        "Dampak tiap kebijakan terhadap baseline (selisih, interval kepercayaan 95%)",
        "Effect of each policy against baseline (difference, 95% confidence interval)",
    ),
    "fig_budget": (
        "Tukin dibayar per tahun terhadap pagu anggaran",
        "Tukin paid by year against the budget cap",
    ),
    "fig_adoption": ("Kurva adopsi", "Adoption curves"),
    "fig_performance": (
        "Kinerja sebenarnya per kuartal (rata-rata pegawai, SD)",
        "True performance by quarter (mean of employees, SD)",
    ),
    "fig_pay": ("Tukin dibayar per kuartal", "Tukin paid by quarter"),
    "fig_budget_ytd": (
        "Serapan pagu tahun berjalan (porsi pagu tahunan)",
        "Budget used so far this year (share of the annual cap)",
    ),
    "fig_winners": (
        "Perubahan tukin tahunan per kelompok pegawai",
        "Change in annual tukin by employee group",
    ),
    "fig_rater_bias": (
        "Rata-rata kesalahan penilaian per sumber dan kelompok (SD)",
        "Mean rating error by source and group (SD)",
    ),
    "fig_rules": (
        "Aturan agregasi dibandingkan dengan kinerja sebenarnya",
        "Aggregation rules against true performance",
    ),
    "fig_variance": ("Porsi varians penilaian", "Share of rating variance"),
    "month": ("Bulan sejak awal", "Months since start"),
    "year": ("Tahun", "Year"),
    "difference": ("Selisih terhadap baseline", "Difference from baseline"),
    "cap": ("Pagu", "Cap"),
    "paid": ("Dibayar", "Paid"),
    "median": ("Median", "Median"),
    "band_50": ("50% replikasi", "50% of replications"),
    "band_90": ("90% replikasi", "90% of replications"),
    "policy": ("Kebijakan", "Policy"),
    "baseline": ("Baseline", "Baseline"),
    "metric": ("Indikator", "Metric"),
    "unit": ("Satuan", "Unit"),
    "group": ("Kelompok", "Group"),
    "source": ("Sumber", "Source"),
    "rule": ("Aturan", "Rule"),
    "share": ("Porsi", "Share"),
    "component": ("Komponen", "Component"),
    "variance": ("Varians", "Variance"),
    "interval_95": ("Interval 95%", "95% interval"),
    "replications": ("Replikasi", "Replications"),
    "value": ("Nilai", "Value"),
    "withheld": ("disembunyikan (< {k} penilai)", "withheld (< {k} raters)"),
    # Notes
    "no_adoption": (
        "Model ini belum melaporkan adopsi (adoption_share); grafik adopsi dilewati.",
        "This model does not report adoption yet (adoption_share); the adoption figure is skipped.",
    ),
    "no_resistance": (
        "Model ini belum melaporkan resistensi; bagian ini dilewati.",
        "This model does not report resistance yet; this section is skipped.",
    ),
    "no_variants": (
        "Eksperimen ini hanya memiliki baseline; tidak ada dampak untuk dibandingkan.",
        "This experiment has only a baseline; there are no effects to compare.",
    ),
    "no_truth": (
        "Data ini tidak memiliki skor sebenarnya; aturan dibandingkan satu sama lain saja.",
        "These data carry no true scores; rules are compared with each other only.",
    ),
    "clear_up": ("naik", "up"),
    "clear_down": ("turun", "down"),
    "unclear": ("tidak jelas", "unclear"),
    "summary_intro": (
        "Eksperimen <strong>{name}</strong> membandingkan {n_arms} kebijakan dengan "
        "<strong>{baseline}</strong> pada skenario {scenario}, {reps} replikasi per kebijakan "
        "dengan angka acak yang sama, hingga {horizon}.",
        "Experiment <strong>{name}</strong> compares {n_arms} policies with "
        "<strong>{baseline}</strong> on the scenario {scenario}, {reps} replications each "
        "with the same random numbers, up to {horizon}.",
    ),
    "interval_note": (
        "Angka dalam kurung: interval kepercayaan 95% dari selisih berpasangan antar "
        "replikasi; \u201ctidak jelas\u201d berarti interval mencakup nol.",
        "In brackets: 95% confidence intervals of paired differences across replications; "
        "\u201cunclear\u201d means the interval includes zero.",
    ),
    "cap_risk": (
        "Risiko tukin jatuh tempo melampaui pagu (porsi replikasi): {items}.",
        "Risk that tukin due exceeds the cap (share of replications): {items}.",
    ),
    "cap_safe": (
        "Di semua replikasi dan kebijakan, tukin jatuh tempo tetap dalam pagu.",
        "In every replication and policy, tukin due stays within the cap.",
    ),
    "gains_most": ("paling diuntungkan", "gains most"),
    "rises_most": ("naik paling besar pada", "rises most under"),
    "falls_most": ("turun paling besar pada", "falls most under"),
    "no_clear_change": (
        "tidak ada kebijakan yang mengubahnya secara jelas",
        "no policy changes it clearly",
    ),
    "grid_caption": (
        "Selisih terhadap {baseline} di akhir horizon, dengan interval kepercayaan 95%; "
        "abu-abu: tidak jelas (interval mencakup nol).",
        "Difference from {baseline} at the horizon, with 95% confidence intervals; "
        "grey: unclear (the interval includes zero).",
    ),
    "loses_most": ("paling dirugikan", "loses most"),
    "runs_failed": (
        "{n} run gagal dan tidak dihitung; lihat folder failed/ di run store.",
        "{n} runs failed and are not counted; see the failed/ folder of the run store.",
    ),
    "assumption_crn": (
        "Replikasi ke-r setiap kebijakan memakai angka acak yang sama (common random "
        "numbers), sehingga selisih dibandingkan berpasangan.",
        "Replication r of every policy uses the same random numbers (common random numbers), "
        "so differences are paired.",
    ),
    "assumption_money": (
        "Uang dalam rupiah nominal (IDR), tanpa inflasi.",
        "Money in nominal rupiah (IDR), without inflation.",
    ),
    "assumption_model": (
        "Perilaku pegawai, penilai dan anggaran mengikuti model di docs/model.md; setiap "
        "parameter skenario mencatat satuan dan sumbernya.",
        "Employees, raters and the budget behave as the model in docs/model.md; every "
        "scenario parameter records its unit and source.",
    ),
    "assumption_pooled": (
        "Angka untuk beberapa instansi dijumlahkan (rupiah, orang) atau dirata-ratakan.",
        "Figures of several agencies are added up (rupiah, people) or averaged.",
    ),
    "experiment_facts": ("Fakta eksperimen", "Experiment facts"),
    "horizon": ("Horizon", "Horizon"),
    "months": ("bulan", "months"),
    "runs": ("Run", "Runs"),
    "label": ("Label", "Label"),
    "arm_mean": ("Kebijakan", "Policy"),
    "baseline_mean": ("Baseline", "Baseline"),
    "period": ("Periode", "Period"),
    "women": ("Perempuan", "Women"),
    "men": ("Laki-laki", "Men"),
    "grade": ("Gol.", "Grade"),
    "packages": ("Paket", "Packages"),
    "percentage_points": ("poin persen", "percentage points"),
    "ratings_word": ("penilaian", "ratings"),
    "ratees_word": ("pegawai dinilai", "ratees"),
    "raters_word": ("penilai", "raters"),
    "mean_score": ("Skor rata-rata", "Mean score"),
    "store": ("Run store", "Run store"),
    # Provenance footer
    "run_id": ("ID run", "Run id"),
    "experiment": ("Eksperimen", "Experiment"),
    "code_version": ("Versi kode", "Code version"),
    "input_hashes": ("Hash masukan (SHA-256)", "Input hashes (SHA-256)"),
    "created": ("Dibuat", "Created"),
    "report_made": ("Laporan dibuat", "Report made"),
    "dirty": ("dengan perubahan belum di-commit", "with uncommitted changes"),
    "seed": ("Seed", "Seed"),
    "scenario": ("Skenario", "Scenario"),
    "description": ("Keterangan", "Description"),
    "arms": ("Kebijakan yang dibandingkan", "Policies compared"),
}

#: Indonesian labels of the metrics reports show most (English: the declared meaning).
_METRICS: dict[str, tuple[str, str]] = {
    "mean_true_performance": ("Kinerja sebenarnya (rata-rata)", "Mean true performance"),
    "mean_effort": ("Upaya kerja (rata-rata)", "Mean effort"),
    "rating_accuracy": ("Akurasi penilaian hasil kerja", "Rating accuracy (results)"),
    "perilaku_accuracy": ("Akurasi penilaian perilaku", "Rating accuracy (behaviour)"),
    "misclassification": ("Salah klasifikasi predikat", "Predikat misclassification"),
    "predikat_kappa": (
        "Kesesuaian predikat di atas peluang (kappa)",
        "Predikat agreement beyond chance (kappa)",
    ),
    "predikat_agreement": ("Kesesuaian predikat", "Predikat agreement"),
    "rating_leniency": ("Kelonggaran penilaian", "Rating leniency"),
    "tukin_paid_idr": ("Tukin dibayar", "Tukin paid"),
    "tukin_due_idr": ("Tukin jatuh tempo", "Tukin due"),
    "tukin_entitled_idr": ("Tukin penuh", "Tukin entitled"),
    "budget_cap_idr": ("Pagu tukin", "Tukin budget cap"),
    "budget_used_share": ("Serapan pagu", "Budget used"),
    "budget_pressure": ("Tekanan anggaran", "Budget pressure"),
    "pay_performance_corr": ("Korelasi tukin-kinerja", "Pay-performance correlation"),
    "pay_gini": ("Gini tukin", "Pay Gini"),
    "adoption_share": ("Porsi pegawai yang mengadopsi", "Adoption share"),
    "resisting_share": ("Porsi pegawai yang menolak", "Resisting share"),
    "skp_compliance": ("Kepatuhan SKP", "SKP compliance"),
    "mean_fairness": ("Persepsi keadilan (rata-rata)", "Mean perceived fairness"),
    "headcount": ("Jumlah pegawai", "Headcount"),
    "hires": ("Pegawai baru", "Hires"),
    "separations": ("Pegawai keluar", "Separations"),
    "months_to_50pct_adoption": ("Bulan hingga 50% adopsi", "Months to 50% adoption"),
    "months_to_80pct_adoption": ("Bulan hingga 80% adopsi", "Months to 80% adoption"),
    "months_to_80pct_restricted": (
        "Bulan hingga 80% adopsi (maks. horizon)",
        "Months to 80% adoption (at most the horizon)",
    ),
    "reached_80pct_adoption": ("Peluang mencapai 80% adopsi", "Chance of reaching 80% adoption"),
    "share_sangat_baik": ("Porsi Sangat Baik", "Share Sangat Baik"),
    "share_baik": ("Porsi Baik", "Share Baik"),
    "share_butuh_perbaikan": ("Porsi Butuh Perbaikan", "Share Butuh Perbaikan"),
    "share_kurang": ("Porsi Kurang", "Share Kurang"),
    "share_sangat_kurang": ("Porsi Sangat Kurang", "Share Sangat Kurang"),
    "total_cost_idr": ("Biaya total selama horizon", "Total cost over the horizon"),
    "cost_idr": ("Biaya per tahun", "Cost per year"),
    "cap_exceeded": ("Peluang melampaui pagu", "Probability of exceeding the cap"),
    "cost_per_performance_sd_idr": (
        "Biaya per SD kinerja yang diperoleh",
        "Cost per SD of performance gained",
    ),
    "pay_idr_per_employee": ("Tukin per pegawai per tahun", "Pay per employee per year"),
    "adoption_at_horizon": ("Adopsi di akhir horizon", "Adoption at the horizon"),
    "complying_share": ("Porsi pegawai yang sekadar patuh", "Complying share"),
    "correlation": ("Korelasi dengan nilai sebenarnya", "Correlation with truth"),
    "mean_error": ("Rata-rata kesalahan (SD)", "Mean error (SD)"),
    "gap_sex": ("Selisih kesalahan P-L (SD)", "Error gap women-men (SD)"),
    "gap_grade": ("Selisih kesalahan gol. III-IV vs I-II (SD)", "Error gap gol. III-IV vs I-II"),
    "rank_agreement": ("Kesesuaian peringkat", "Rank agreement"),
}


def check_lang(lang: object, *, parameter: str = "lang") -> str:
    """Return ``lang`` if it is a report language, else raise one clear error."""
    if lang not in LANGS:
        raise ConfigError(
            f"parameter {parameter!r}: {lang!r} is not a report language; "
            f"allowed: {', '.join(map(repr, LANGS))}"
        )
    return str(lang)


def text(key: str, lang: str, **values: object) -> str:
    """The interface string ``key`` in ``lang``, with ``{placeholders}`` filled in."""
    template = STRINGS[key][LANGS.index(check_lang(lang))]
    return template.format(**values) if values else template


def metric_label(metric: str, lang: str, *, meaning: str | None = None) -> str:
    """A reader's name for ``metric``: the Indonesian label or the declared meaning."""
    check_lang(lang)
    if metric in _METRICS:
        return _METRICS[metric][LANGS.index(lang)]
    if lang == "en" and meaning:
        return meaning
    return metric.replace("_idr", "").replace("_", " ").capitalize()


def format_number(value: float, lang: str, *, decimals: int = 2, signed: bool = False) -> str:
    """A number with the reader's separators: ``1.234,56`` (id) or ``1,234.56`` (en).

    NaN and missing values are shown as an en dash.
    """
    check_lang(lang)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    sign = "+" if signed else ""
    english = f"{value:{sign},.{decimals}f}"
    if english.lstrip("+-") == f"{0:.{decimals}f}":
        english = english.lstrip("+-")
    english = english.replace("-", "−")
    if lang == "en":
        return english
    return english.translate(str.maketrans({",": ".", ".": ","}))


def format_idr(value: float, lang: str, *, signed: bool = False) -> str:
    """Rupiah for readers: ``Rp 1,5 miliar``, ``Rp 750 juta`` (id); ``Rp 1.5 billion`` (en).

    Amounts below a million are shown in full (``Rp 12.500``). Three significant digits
    at most; a negative amount starts with a minus sign (``−Rp 2,3 juta``).
    """
    check_lang(lang)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    sign = "−" if value < 0 else ("+" if signed and value > 0 else "")
    amount = abs(float(value))
    for threshold, word_id, word_en in _SCALES:
        if amount >= threshold * 0.9995:
            scaled = amount / threshold
            decimals = 0 if scaled >= 100 else 1 if scaled >= 10 else 2
            number = format_number(round(scaled, decimals), lang, decimals=decimals)
            number = _trim_zeros(number, lang)
            word = word_id if lang == "id" else word_en
            return f"{sign}Rp {number} {word}"
    return f"{sign}Rp {format_number(round(amount), lang, decimals=0)}"


def _trim_zeros(number: str, lang: str) -> str:
    point = "," if lang == "id" else "."
    if point in number:
        number = number.rstrip("0").rstrip(point)
    return number


def format_percent(share: float, lang: str, *, decimals: int = 1, signed: bool = False) -> str:
    """A share as a percentage: ``12,5%`` (id) or ``12.5%`` (en).

    With ``signed`` the value is a difference of shares, shown in percentage points:
    ``+1,5 poin persen`` (id) or ``+1.5 pp`` (en).
    """
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    number = format_number(100.0 * share, lang, decimals=decimals, signed=signed)
    if signed:
        return f"{number} {'poin persen' if lang == 'id' else 'pp'}"
    return f"{number}%"


def format_date(day: dt.date | dt.datetime, lang: str) -> str:
    """A date for readers: ``28 November 2026`` (both languages, with their month names)."""
    months = _MONTHS_ID if check_lang(lang) == "id" else _MONTHS_EN
    return f"{day.day} {months[day.month - 1]} {day.year}"


def unit_kind(unit: str) -> str:
    """How a unit is shown: ``"money"``, ``"share"``, ``"count"`` or ``"number"``."""
    unit = unit or ""
    if unit.startswith("IDR"):
        return "money"
    if unit.startswith(("share", "probability")):
        return "share"
    if unit.startswith(("people", "employees", "raters", "months")):
        return "count"
    return "number"


def format_value(value: float, unit: str, lang: str, *, signed: bool = False) -> str:
    """A value in its declared unit: money as rupiah, shares as percentages, else a number."""
    kind = unit_kind(unit)
    if kind == "money":
        return format_idr(value, lang, signed=signed)
    if kind == "share":
        return format_percent(value, lang, signed=signed)
    if kind == "count":
        return format_number(value, lang, decimals=1, signed=signed)
    number = format_number(value, lang, decimals=3, signed=signed)
    return f"{number} SD" if unit.startswith("SD") and number != "–" else number
