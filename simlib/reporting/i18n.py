"""Report language: strings from a gettext catalogue, and numbers, money and dates from Babel.

Every word a notebook or report shows is a message of the catalogue in ``locale/``: the
template ``kinerja.pot`` holds each message once (``msgctxt`` is the key the code asks for,
``msgid`` the English text) and ``id/LC_MESSAGES/kinerja.po`` its Indonesian translation,
so a translator works on an ordinary ``.po`` file (Poedit, Weblate, ``pybabel update``).
:func:`text` reads the catalogue with Babel, so a change to the ``.po`` needs no compiling.

Numbers follow the reader's locale through Babel (CLDR data): ``1.234,5`` in Indonesian,
``1,234.5`` in English; money in rupiah with the CLDR long compact forms (``Rp 1,5 miliar``,
``Rp 750 juta``; ``Rp 1.5 billion``); a difference of shares in percentage points
(``+1,5 poin persen``, ``+1.5 pp``); dates ``17 Agustus 2026`` / ``17 August 2026``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from functools import cache
from pathlib import Path

from babel.dates import format_date as _babel_date
from babel.numbers import format_compact_decimal, format_decimal
from babel.numbers import format_percent as _babel_percent

from simlib.core.errors import ConfigError

__all__ = [
    "CATALOGUE",
    "LANGS",
    "TEMPLATE",
    "check_lang",
    "format_date",
    "format_idr",
    "format_number",
    "format_percent",
    "format_value",
    "localized",
    "message_keys",
    "metric_label",
    "name_label",
    "parameter_label",
    "text",
    "unit_kind",
]

#: Report languages: Bahasa Indonesia and English.
LANGS = ("id", "en")

_LOCALE = Path(__file__).resolve().parent / "locale"
#: The message template (English, one entry per key).
TEMPLATE = _LOCALE / "kinerja.pot"
#: The Indonesian catalogue.
CATALOGUE = _LOCALE / "id" / "LC_MESSAGES" / "kinerja.po"

_MINUS = "\u2212"  # the house minus sign, as in print
_DASH = "\u2013"  # a missing value


def check_lang(lang: object, *, parameter: str = "lang") -> str:
    """Return ``lang`` if it is a report language, else raise one clear error."""
    if lang not in LANGS:
        raise ConfigError(
            f"parameter {parameter!r}: {lang!r} is not a report language; "
            f"allowed: {', '.join(map(repr, LANGS))}"
        )
    return str(lang)


@cache
def _messages(lang: str) -> dict[str, str]:
    """Key (``msgctxt``) -> text in ``lang``: the ``msgid`` in English, else the ``msgstr``."""
    from babel.messages.pofile import read_po

    path = TEMPLATE if lang == "en" else _LOCALE / lang / "LC_MESSAGES" / "kinerja.po"
    with path.open("rb") as fh:
        catalogue = read_po(fh)
    out = {}
    for message in catalogue:
        if not message.id or message.context is None:
            continue
        if lang == "en":
            out[message.context] = message.id
        elif message.string and not message.fuzzy:
            out[message.context] = message.string
    return out


def message_keys() -> list[str]:
    """Every key of the message template, in its order."""
    return list(_messages("en"))


def text(key: str, lang: str, **values: object) -> str:
    """The message ``key`` in ``lang``, with ``{placeholders}`` filled in.

    A message the Indonesian catalogue does not translate (yet) falls back to English.
    """
    messages = _messages(check_lang(lang))
    template = messages.get(key) or _messages("en")[key]
    return template.format(**values) if values else template


def _pretty(name: str) -> str:
    return name.replace("_idr", "").replace("_", " ").capitalize()


def metric_label(metric: str, lang: str, *, meaning: str | None = None) -> str:
    """A reader's name for ``metric``: its catalogue label, or the declared meaning."""
    key = f"metric:{metric}"
    if key in _messages("en"):
        return text(key, lang)
    if lang == "en" and meaning:
        return meaning
    return _pretty(metric)


def name_label(kind: str, name: str, lang: str) -> str:
    """A reader's name of a code identifier of ``kind`` (component, source, rule, group).

    Variance components, rating sources, aggregation rules and ratee groups are named in
    the catalogue (``component:ratee`` ...); anything else is shown prettified.
    """
    key = f"{kind}:{name}"
    return text(key, lang) if key in _messages("en") else _pretty(str(name))


def parameter_label(path: str, lang: str) -> str:
    """A reader's name of the parameter at dotted ``path`` (an assumption that was drawn).

    The catalogue names the parameters an experiment draws (``parameter:behaviour.
    pay_sensitivity``) in both languages; any other falls back to the parameter tree's
    description (``data/parameters/``, in English), then to the path itself.
    """
    key = f"parameter:{path}"
    if key in _messages("en"):
        return text(key, lang)
    from simlib.params.tree import parameter

    for kind in ("scenario", "policy"):
        try:
            return parameter(kind, path).description.rstrip(".") or path
        except ConfigError:
            continue
    return path


def localized(value: object, lang: str) -> tuple[str, str | None]:
    """A label or description as written in a file, in ``lang`` if the file gives it.

    Files may give one text (``label: Steeper tiers``) or one per language (``label: {id:
    ..., en: ...}``). Returns the text and the language it was given in when that is not
    ``lang`` (``None`` when it is, or when a plain string was given: its language is not
    known).
    """
    check_lang(lang)
    if isinstance(value, dict):
        if value.get(lang):
            return str(value[lang]), None
        for other in LANGS:
            if value.get(other):
                return str(value[other]), other
        return "", None
    return ("" if value is None else str(value)), None


# --------------------------------------------------------------------------------------
# Numbers, money, shares and dates (Babel)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _pattern(decimals: int, *, signed: bool) -> str:
    body = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return f"+{body};{_MINUS}{body}" if signed else f"{body};{_MINUS}{body}"


def format_number(value: float, lang: str, *, decimals: int = 2, signed: bool = False) -> str:
    """A number with the reader's separators: ``1.234,56`` (id) or ``1,234.56`` (en).

    A value that rounds to zero has no sign; NaN and missing values read as an en dash.
    """
    check_lang(lang)
    if _missing(value):
        return _DASH
    value = float(value)
    if round(value, decimals) == 0:
        value = 0.0
        signed = False
    return format_decimal(value, format=_pattern(decimals, signed=signed), locale=lang)


#: Three significant digits at most: decimals by the size of the scaled amount.
def _compact_decimals(scaled: float) -> int:
    return 0 if scaled >= 100 else 1 if scaled >= 10 else 2


def format_idr(value: float, lang: str, *, signed: bool = False) -> str:
    """Rupiah for readers: ``Rp 1,5 miliar``, ``Rp 750 juta`` (id); ``Rp 1.5 billion`` (en).

    Amounts from a million up use Babel's long compact form (CLDR's *juta*, *miliar*,
    *triliun*) with at most three significant digits; smaller ones are written in full
    (``Rp 12.500``). A negative amount starts with a minus sign (``−Rp 2,3 juta``).
    """
    check_lang(lang)
    if _missing(value):
        return _DASH
    value = float(value)
    sign = _MINUS if value < 0 else ("+" if signed and value > 0 else "")
    amount = abs(value)
    if amount >= 0.9995e6:
        scale = 10 ** (3 * int(math.log10(amount * 1.0005) // 3))
        digits = _compact_decimals(amount / scale)
        number = format_compact_decimal(
            amount, format_type="long", fraction_digits=digits, locale=lang
        )
        return f"{sign}Rp {number}"
    if round(amount) == 0:
        sign = ""
    return f"{sign}Rp {format_decimal(round(amount), format='#,##0', locale=lang)}"


def format_percent(share: float, lang: str, *, decimals: int = 1, signed: bool = False) -> str:
    """A share as a percentage: ``12,5%`` (id) or ``12.5%`` (en).

    With ``signed`` the value is a difference of shares, shown in percentage points:
    ``+1,5 poin persen`` (id) or ``+1.5 pp`` (en).
    """
    check_lang(lang)
    if _missing(share):
        return _DASH
    if signed:
        number = format_number(100.0 * float(share), lang, decimals=decimals, signed=True)
        return f"{number} {'poin persen' if lang == 'id' else 'pp'}"
    body = "#,##0" + ("." + "0" * decimals if decimals > 0 else "") + "%"
    shown = _babel_percent(float(share), format=f"{body};{_MINUS}{body}", locale=lang)
    return re.sub(f"^{_MINUS}(0([.,]0*)?%)$", r"\1", shown)


def format_date(day: dt.date | dt.datetime, lang: str) -> str:
    """A date for readers: ``17 Agustus 2026`` (id) or ``17 August 2026`` (en)."""
    check_lang(lang)
    if isinstance(day, dt.datetime):
        day = day.date()
    return _babel_date(day, format="d MMMM y", locale=lang)


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
    return f"{number} SD" if (unit or "").startswith("SD") and number != _DASH else number
