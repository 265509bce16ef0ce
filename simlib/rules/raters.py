"""Rating generation: who rates whom, and how ratings depart from true performance.

The engine's rating step calls one *rating rule* from :data:`RATING_RULES`, chosen by
``policy.appraisal.rater``, with a :class:`RatingContext`. Two rules exist:

``supervisor``
    The direct superior (pejabat penilai kinerja, PermenPANRB 6/2022) rates results and
    behaviour: ``rating = true + leniency[superior] + shift + noise_sd * e``. The head of the
    agency is rated by an external superior with a leniency of its own.

``multi_source``
    Hasil kerja is rated by the superior as above; perilaku kerja is rated on each of the
    seven BerAKHLAK values by self, superior(s), peers from the same unit, direct
    subordinates and (optionally) service users, with non-response. Each rating carries the
    effects documented in :class:`~simlib.params.scenario.MultiSource`: the ratee's profile,
    the source's perspective on the ratee, the rater's persistent leniency, an
    idiosyncratic rater x ratee effect, the source's shift (self-rating leniency), the
    inflation when ratings decide pay, similarity (unit, grade, sex), collusion between
    peers, residual noise, halo, central tendency and rounding to the instrument's scale.
    The rule returns the long rating table; :func:`simlib.rules.appraisal.aggregate` turns it
    into one perilaku score per employee by the policy's aggregation rule.

With ``raters.source: measurement`` (Scullen et al. 2005's ratings) no one rates: the
superior's ratings are replaced by true performance plus error whose SD makes the year's
mean of the quarterly measures as reliable as ``raters.measurement_reliability`` (for
true performance of SD 1); no leniency, inflation or reluctance.

Both rules share the superiors' **reluctance to rate below expectation**
(:func:`honest_low_rating_probability`): a superior whose rating puts a subordinate *di
bawah ekspektasi* says so only with a probability that falls with what the low predikat
would cost the subordinate and with the closeness of the two; otherwise the superior
records *sesuai ekspektasi* (:func:`simlib.rules.appraisal.reluctant_levels` applies it to
the expectation levels, quarterly and at the annual close).

Shifts given as Cohen's *d* (self-rating leniency, pay-purpose inflation) are converted to
SD units with the standard deviation the source's ratings would have without them.

Given a keyed stream (:class:`simlib.core.streams.Keyed`), every draw belongs to its entity: the
superior's rating error to the ratee and quarter, the random peer and subordinate orders to
the person, and response, perspective, idiosyncratic effect and residuals to the (ratee,
rater, source) triple, by the people's ids (``RatingContext.person``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simlib.core.streams import EXTERNAL, Draws, normals, pair_ids, uniforms
from simlib.params.scenario import MultiSource, Raters, Reluctance
from simlib.world.workforce import Workforce

__all__ = [
    "BERAKHLAK",
    "RATING_RULES",
    "SCALES",
    "SOURCES",
    "RaterTraits",
    "RatingContext",
    "RatingTable",
    "Ratings",
    "between_source_correlation",
    "closeness_to_superior",
    "draw_leniency",
    "draw_traits",
    "expected_agreement",
    "halo_index",
    "honest_low_rating_probability",
    "multi_source_table",
    "rate_by_supervisor",
    "rate_multi_source",
    "within_source_reliability",
]

#: The seven BerAKHLAK core values rated as perilaku kerja (SE MenPANRB 20/2021).
BERAKHLAK = (
    "berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif",
    "kolaboratif",
)  # fmt: skip

#: Sources of multi-source ratings, in code order.
SOURCES = ("self", "supervisor", "peer", "subordinate", "service_user")

#: Rating instruments: (lowest, middle, highest) score.
SCALES = {"likert_1_5": (1, 3, 5), "expectation_3": (1, 2, 3), "skp_0_120": (0, 100, 120)}

SELF, SUPERVISOR, PEER, SUBORDINATE, SERVICE_USER = range(5)
# Slots of a keyed rating stream: 0-1 the superior's errors (by ratee), then per person the
# peer and subordinate orders and the sources' perspectives, and per rating triple the rest.
_ORDER_SLOT, _PERSPECTIVE_SLOT, _PAIR_SLOT = 2, 4, 16


@dataclass(frozen=True, eq=False)
class RatingTable:
    """Long-format ratings of one period: one entry per rater, ratee and BerAKHLAK value.

    ``rater`` indexes employees (0..n-1); service users get indices from n upward.
    ``score`` is on the instrument's scale; ``latent`` is the score converted back to SD
    units (what aggregation uses); ``true`` is the ratee's true score on the value.
    """

    ratee: np.ndarray
    rater: np.ndarray
    source: np.ndarray
    dimension: np.ndarray
    score: np.ndarray
    latent: np.ndarray
    true: np.ndarray

    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame with readable source and value names."""
        return pd.DataFrame(
            {
                "ratee": self.ratee,
                "rater": self.rater,
                "source": pd.Categorical.from_codes(self.source, categories=SOURCES),
                "dimension": pd.Categorical.from_codes(self.dimension, categories=BERAKHLAK),
                "score": self.score.astype(np.int64),
                "true_score": self.true,
            }
        )


@dataclass(frozen=True, eq=False)
class Ratings:
    """Ratings of one appraisal period (SD units, relative to expectation).

    ``perilaku`` is ``None`` when it must be aggregated from ``table``.
    """

    hasil_kerja: np.ndarray
    perilaku: np.ndarray | None
    table: RatingTable | None = None


@dataclass(frozen=True, eq=False)
class RaterTraits:
    """Persistent traits drawn once per agency: rater leniency, ratee profile, collusion."""

    leniency: np.ndarray  # (n + 1,): entry n is the external superior of the head
    profile: np.ndarray  # (n, 7): each ratee's deviation on each BerAKHLAK value
    collusive: np.ndarray  # (n,) bool


@dataclass(frozen=True, eq=False)
class RatingContext:
    """What a rating rule may use."""

    hasil_true: np.ndarray
    perilaku_true: np.ndarray
    workforce: Workforce
    traits: RaterTraits
    params: Raters
    pay_linked: bool
    #: Stable person id in each post (default: positions); keyed draws are indexed by it.
    person: np.ndarray | None = None

    def ids(self) -> np.ndarray:
        """Person ids of the posts (positions when none were given)."""
        n = len(self.hasil_true)
        return np.arange(n, dtype=np.int64) if self.person is None else self.person


def draw_leniency(n: int, params: Raters, *, rng: np.random.Generator) -> np.ndarray:
    """Persistent leniency of each employee as a rater; entry ``n`` is the external rater."""
    return params.leniency_mean + params.leniency_sd * rng.standard_normal(n + 1)


def draw_traits(
    n: int, params: Raters, *, rng: Draws, person: np.ndarray | None = None
) -> RaterTraits:
    """Draw the persistent rater and ratee traits of ``n`` people (leniency first).

    ``leniency`` has ``n + 1`` entries, the last for the head's external rater. With a keyed
    ``rng`` each person's traits are drawn by their id in ``person`` (default ``0 .. n-1``).
    """
    ids = np.arange(n, dtype=np.int64) if person is None else np.asarray(person)
    k = len(BERAKHLAK)
    z = normals(rng, ids, 1 + k)
    external = normals(rng, np.array([EXTERNAL], dtype=np.uint64))
    leniency = params.leniency_mean + params.leniency_sd * np.r_[z[:, 0], external]
    ms = params.multi_source
    profile = ms.dimension_sd * z[:, 1:]
    collusive = uniforms(rng, ids, first=1 + k) < ms.collusion_share
    return RaterTraits(leniency, profile, collusive)


def rate_by_supervisor(ctx: RatingContext, *, rng: Draws) -> Ratings:
    """Each employee rated by the direct superior (the head by the external rater)."""
    hasil, perilaku = _supervisor_ratings(ctx, rng=rng)
    return Ratings(hasil, perilaku)


def _supervisor_ratings(ctx: RatingContext, *, rng: Draws):
    n = len(ctx.hasil_true)
    z = normals(rng, ctx.ids(), 2).T  # keyed by the ratee
    if ctx.params.source == "measurement":
        # No rater (Scullen et al. 2005, equation 3): error only, so that the year's mean of
        # the quarterly measures has the reliability asked for true performance of SD 1.
        r = ctx.params.measurement_reliability
        noise = np.sqrt(QUARTERS_PER_YEAR * (1.0 - r) / r)
        return ctx.hasil_true + noise * z[0], ctx.perilaku_true + noise * z[1]
    rater = np.where(ctx.workforce.supervisor < 0, n, ctx.workforce.supervisor)
    shift = ctx.params.pay_purpose_inflation if ctx.pay_linked else 0.0
    bias = ctx.traits.leniency[rater] + shift
    noise = ctx.params.noise_sd
    return ctx.hasil_true + bias + noise * z[0], ctx.perilaku_true + bias + noise * z[1]


def closeness_to_superior(workforce: Workforce) -> np.ndarray:
    """1.0 where the direct superior works in the ratee's unit, else 0.0 (float[n]).

    The proxy for the closeness of the rating relationship (daily contact in the same
    unit); the head, rated by an outside superior, and heads of units rated from the
    leadership (Pimpinan) count 0.
    """
    sup = workforce.supervisor
    has = sup >= 0
    out = np.zeros(workforce.n)
    out[has] = (workforce.unit[sup[has]] == workforce.unit[has]).astype(float)
    return out


def honest_low_rating_probability(
    params: Reluctance, *, pay_loss: np.ndarray, closeness: np.ndarray
) -> np.ndarray:
    """Probability that a superior records a below-expectation judgement as such.

    ``p = honest_probability * exp(-pay_sensitivity * pay_loss - closeness_effect *
    closeness)``: supervisors avoid low ratings that cost the subordinate pay and strain a
    close working relationship (Murphy & Cleveland 1995, *Understanding performance
    appraisal*; Bol 2011, *The Accounting Review* 86(5): leniency grows with the strength of
    the employee-manager relationship; Harris 1994 and Jawahar & Williams 1997: ratings that
    decide rewards are more lenient; OPM via dailysignal.com: fewer than 15 % of federal
    managers who managed a poor performer rated anyone below fully successful).

    Parameters
    ----------
    params
        The scenario's ``raters.reluctance``.
    pay_loss
        Share of each subordinate's monthly take-home pay (tukin + gaji pokok) that the
        low predikat would cost against the one recorded otherwise.
    closeness
        0-1 per subordinate (:func:`closeness_to_superior`).
    """
    exponent = params.pay_sensitivity * np.maximum(np.asarray(pay_loss, dtype=float), 0.0)
    exponent = exponent + params.closeness_effect * np.asarray(closeness, dtype=float)
    return params.honest_probability * np.exp(-exponent)


def rate_multi_source(ctx: RatingContext, *, rng: Draws) -> Ratings:
    """Hasil kerja by the superior; perilaku by every source, value by value."""
    hasil, _ = _supervisor_ratings(ctx, rng=rng)
    return Ratings(hasil, None, multi_source_table(ctx, rng=rng))


def multi_source_table(ctx: RatingContext, *, rng: Draws) -> RatingTable:
    """Generate the period's 360-degree ratings of perilaku kerja (vectorised)."""
    wf, ms = ctx.workforce, ctx.params.multi_source
    n = wf.n
    person = ctx.ids()
    ratee, rater, source = _pairs(wf, ms, person=person, rng=rng)
    external = rater >= n
    # Each (ratee, rater, source) triple draws its own response and errors, in fixed slots.
    users = max(ms.sources.service_user.count, 1)
    rater_id = np.where(external, (rater - n) % users, person[np.minimum(rater, n - 1)])
    triple = pair_ids(person[ratee], rater_id, source.astype(np.int64) + 8 * external)
    k = len(BERAKHLAK)
    rates = np.array([getattr(ms.sources, s).response_rate for s in SOURCES])
    answered = uniforms(rng, triple, first=_PAIR_SLOT) < rates[source]
    ratee, rater, source, external, triple = (
        ratee[answered], rater[answered], source[answered], external[answered], triple[answered]
    )  # fmt: skip
    m = len(ratee)
    pair_z = normals(rng, triple, 2 + k, first=_PAIR_SLOT + 1)
    z_pair, external_z, z_res = pair_z[:, 0], pair_z[:, 1], pair_z[:, 2:]

    perspective_sd = np.array([getattr(ms.sources, s).perspective_sd for s in SOURCES])
    idio_sd = np.array([getattr(ms.sources, s).idiosyncratic_sd for s in SOURCES])
    shift_d = np.array([getattr(ms.sources, s).shift_d for s in SOURCES])
    z_persp = normals(rng, person, len(SOURCES), first=_PERSPECTIVE_SLOT)
    external_leniency = ctx.params.leniency_mean + ctx.params.leniency_sd * external_z

    # SD of a source's ratings without the shifts: what Cohen's d is relative to.
    true_var = ctx.perilaku_true.var() + ms.dimension_sd**2
    sd_ref = np.sqrt(
        true_var + perspective_sd**2 + ctx.params.leniency_sd**2 + idio_sd**2 + ms.residual_sd**2
    )
    shift = shift_d * sd_ref
    if ctx.pay_linked:
        # Administrative purpose inflates others' ratings (self-ratings already lenient).
        inflation = ctx.params.pay_purpose_inflation * sd_ref
        inflation[SELF] = 0.0
        shift = shift + inflation

    rater_emp = np.where(external, 0, rater)
    leniency = np.where(external, external_leniency, ctx.traits.leniency[rater_emp])
    similarity = np.where(
        external,
        0.0,
        ms.similarity_unit * (wf.unit[rater_emp] == wf.unit[ratee])
        + ms.similarity_grade * (wf.golongan[rater_emp] == wf.golongan[ratee])
        + ms.similarity_sex * (wf.female[rater_emp] == wf.female[ratee]),
    )
    similarity[source == SELF] = 0.0
    collusion = np.where(
        (source == PEER) & ctx.traits.collusive[ratee] & ctx.traits.collusive[rater_emp],
        ms.collusion_shift,
        0.0,
    )
    general = (
        ctx.perilaku_true[ratee]
        + perspective_sd[source] * z_persp[ratee, source]
        + leniency
        + idio_sd[source] * z_pair
        + shift[source]
        + similarity
        + collusion
    )
    true = ctx.perilaku_true[ratee, None] + ctx.traits.profile[ratee]
    latent = general[:, None] + ctx.traits.profile[ratee] + ms.residual_sd * z_res
    latent = (1.0 - ms.halo) * latent + ms.halo * latent.mean(axis=1, keepdims=True)
    latent *= 1.0 - ms.central_tendency
    lo, mid, hi = SCALES[ms.scale]
    score = np.clip(np.rint(mid + latent * ms.points_per_sd), lo, hi)
    return RatingTable(
        ratee=np.repeat(ratee, k),
        rater=np.repeat(rater, k),
        source=np.repeat(source, k).astype(np.int8),
        dimension=np.tile(np.arange(k, dtype=np.int8), m),
        score=score.ravel(),
        latent=((score - mid) / ms.points_per_sd).ravel(),
        true=true.ravel(),
    )


def _pairs(wf: Workforce, ms: MultiSource, *, person: np.ndarray, rng: Draws):
    """Candidate (ratee, rater, source) triples for every source, before non-response.

    The random peer order and the choice of subordinates sort by a uniform per person.
    """
    n = wf.n
    u = uniforms(rng, person, 2, first=_ORDER_SLOT)
    everyone = np.arange(n)
    ratees, raters, sources = [], [], []

    def add(ratee: np.ndarray, rater: np.ndarray, source: int) -> None:
        ratees.append(ratee)
        raters.append(rater)
        sources.append(np.full(len(ratee), source, dtype=np.int8))

    src = ms.sources
    if src.self.count:
        add(everyone, everyone, SELF)
    # Superior, then the superior's superior, and so on up to the count.
    boss = wf.supervisor.astype(np.int64)
    for _ in range(src.supervisor.count):
        has = boss >= 0
        add(everyone[has], boss[has], SUPERVISOR)
        boss = np.where(has, wf.supervisor[np.maximum(boss, 0)], -1)
    # Peers: the next `count` colleagues in a random circular order of each unit.
    order = np.lexsort((u[:, 0], wf.unit))
    unit_sorted = wf.unit[order]
    start = np.searchsorted(unit_sorted, unit_sorted, side="left")
    size = np.bincount(wf.unit)[unit_sorted]
    position = everyone - start
    for step in range(1, src.peer.count + 1):
        ok = size > step
        peer = order[start + (position + step) % size]
        add(order[ok], peer[ok], PEER)
    # Direct subordinates: up to `count` of each superior's reports, chosen at random.
    has_boss = np.flatnonzero(wf.supervisor >= 0)
    by_boss = has_boss[np.lexsort((u[has_boss, 1], wf.supervisor[has_boss]))]
    bosses = wf.supervisor[by_boss]
    first = np.searchsorted(bosses, bosses, side="left")
    rank = np.arange(len(by_boss)) - first
    keep = rank < src.subordinate.count
    add(bosses[keep].astype(np.int64), by_boss[keep], SUBORDINATE)
    # Service users: external raters, numbered from n upward.
    users = src.service_user.count
    if users:
        add(np.repeat(everyone, users), n + np.arange(n * users), SERVICE_USER)
    return (
        np.concatenate(ratees).astype(np.int64),
        np.concatenate(raters).astype(np.int64),
        np.concatenate(sources),
    )


def expected_agreement(params: Raters, *, true_var: float) -> dict[str, dict[str, float]]:
    """Agreement the multi-source parameters imply, for one rating of one value.

    With ``T`` the variance of true perilaku across ratees, ``D`` of the ratee's profile
    over values, ``P_s`` of source *s*'s perspective, ``L`` of rater leniency, ``I_s`` of the
    idiosyncratic rater x ratee effect and ``E`` of the residual (halo and rounding
    applied to the value-specific parts ``D`` and ``E``; similarity, collusion and central
    tendency ignored)::

        within-source reliability(s) = (T + D + P_s) / (T + D + P_s + L + I_s + E)
        corrected correlation(s1, s2) = (T + D) / sqrt((T + D + P_s1) (T + D + P_s2))

    Returns
    -------
    dict
        ``reliability`` by source, ``corrected_correlation`` by ``"s1-s2"`` pair, and
        ``variance`` by component (ratee, source, rater, residual) for each source.
    """
    ms = params.multi_source
    k = len(BERAKHLAK)
    flat = (1.0 - ms.halo) ** 2 + (1.0 - (1.0 - ms.halo) ** 2) / k
    rounding = (1.0 / ms.points_per_sd) ** 2 / 12.0
    ratee = true_var + ms.dimension_sd**2 * flat
    residual = ms.residual_sd**2 * flat + rounding
    out: dict[str, dict[str, float]] = {"reliability": {}, "corrected_correlation": {}}
    for s in SOURCES:
        src = getattr(ms.sources, s)
        persp, idio = src.perspective_sd**2, src.idiosyncratic_sd**2
        rater = params.leniency_sd**2 + idio
        out["reliability"][s] = (ratee + persp) / (ratee + persp + rater + residual)
        out[s] = {"ratee": ratee, "source": persp, "rater": rater, "residual": residual}
    for a, b in (("peer", "supervisor"), ("self", "supervisor"), ("self", "peer")):
        pa = getattr(ms.sources, a).perspective_sd ** 2
        pb = getattr(ms.sources, b).perspective_sd ** 2
        out["corrected_correlation"][f"{a}-{b}"] = ratee / np.sqrt((ratee + pa) * (ratee + pb))
    return out


def within_source_reliability(table: RatingTable, source: str) -> float:
    """Correlation between two raters of the same source rating the same ratee and value."""
    code = SOURCES.index(source)
    first, second = _two_raters(table, table.source == code)
    return float(np.corrcoef(first, second)[0, 1]) if len(first) > 2 else float("nan")


def between_source_correlation(table: RatingTable, a: str, b: str) -> float:
    """Observed correlation of one rater of source ``a`` with one of ``b`` (same ratee, value)."""
    k = len(BERAKHLAK)
    ratee = table.ratee.reshape(-1, k)[:, 0]
    source = table.source.reshape(-1, k)[:, 0]
    scores = table.latent.reshape(-1, k)
    picks = []
    for code in (SOURCES.index(a), SOURCES.index(b)):
        rows = np.flatnonzero(source == code)
        ratees, first = np.unique(ratee[rows], return_index=True)
        picks.append(dict(zip(ratees.tolist(), rows[first].tolist(), strict=True)))
    common = sorted(set(picks[0]) & set(picks[1]))
    if len(common) < 3:
        return float("nan")
    x = scores[[picks[0][i] for i in common]].ravel()
    y = scores[[picks[1][i] for i in common]].ravel()
    return float(np.corrcoef(x, y)[0, 1])


def _two_raters(table: RatingTable, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores of the first two raters (per ratee) within ``mask``, value by value."""
    k = len(BERAKHLAK)
    pair_mask = mask.reshape(-1, k)[:, 0]
    rows = np.flatnonzero(pair_mask)
    ratee = table.ratee.reshape(-1, k)[rows, 0]
    order = np.argsort(ratee, kind="stable")
    rows, ratee = rows[order], ratee[order]
    first = np.searchsorted(ratee, ratee, side="left")
    rank = np.arange(len(rows)) - first
    count = np.bincount(ratee)[ratee]
    a = rows[(rank == 0) & (count >= 2)]
    b = rows[(rank == 1) & (count >= 2)]
    scores = table.latent.reshape(-1, k)
    return scores[a].ravel(), scores[b].ravel()


def halo_index(table: RatingTable) -> float:
    """Differentiation lost: 1 - slope of rated on true profiles across the seven values.

    Profiles are each rating's deviations from the rater's mean over the seven BerAKHLAK
    values for that ratee (and likewise for the true scores). Noise does not bias the
    slope; halo and central tendency flatten it. 0: raters separate the values as they
    truly differ; 1: every rater gives a ratee the same score on all seven.
    """
    k = len(BERAKHLAK)
    rated = table.latent.reshape(-1, k)
    true = table.true.reshape(-1, k)
    rated = rated - rated.mean(axis=1, keepdims=True)
    true = true - true.mean(axis=1, keepdims=True)
    var = float((true * true).sum())
    return float(1.0 - (rated * true).sum() / var) if var > 0 else float("nan")


#: Appraisals a year (quarterly): the measurement error of ``raters.source: measurement``.
QUARTERS_PER_YEAR = 4
#: Rating rules by name (``policy.appraisal.rater``).
RATING_RULES: dict[str, Callable[..., Ratings]] = {
    "supervisor": rate_by_supervisor,
    "multi_source": rate_multi_source,
}
