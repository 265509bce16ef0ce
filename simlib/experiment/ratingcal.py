"""Rater-model parameters from a rating file: ``simlib calibrate --ratings``.

This module owns the mapping from the variance decomposition of a real 360-degree rating
file (the REML fit of ``simlib ratings analyze``, :func:`simlib.analysis.fit_variance_components`)
to the parameters of the multi-source rating rule of :mod:`simlib.rules.raters`, and the
scenario delta that carries them. One rating of BerAKHLAK value *v* of ratee *i* by rater *j*
of source *s* is, in the rule's latent units (SD of true performance),

    latent = T_i + P_is + L_j + I_ij + shift_s + D_iv + E_ijv

(true perilaku, source perspective, rater leniency, idiosyncratic rater x ratee effect, the
source's shift, the ratee's profile over values, residual), then pulled toward the rater's
mean over the values by ``halo`` (h), compressed by ``central_tendency`` (c), scaled by
``points_per_sd`` and rounded to whole points. With g = (1 - c) * points_per_sd, a = (1 - h)^2
and k values, the fit's components in points^2 are

    ratee           g^2 (T + D (1 - a) / k)
    ratee:source    g^2 P                        (perspective_sd^2)
    rater           g^2 L                        (leniency_sd^2)
    ratee:rater:source g^2 (I + E (1 - a) / k)   (idiosyncratic_sd^2, plus halo's share of E)
    ratee:dimension g^2 a D                      (dimension_sd^2)
    residual        g^2 a E + 1/12               (residual_sd^2; 1/12 the rounding to points)
    source          the spread of the sources' shifts (not a rater SD)

so the rater leaves are the components divided back, the instrument (points_per_sd,
central_tendency, halo) taken from the scenario, not fitted. Halo moves a share of the
value-specific parts to the (ratee, rater) level; the mapping accounts for it.

The idiosyncratic term is fitted per (ratee, rater, source), not per (ratee, rater): the rule
draws I_ij for each triple, and the same person may rate a ratee under two sources (a
superior who works in the unit is also drawn as a peer; a subordinate too), about 1.3 % of
the pairs of the default district. A (ratee, rater) term shares one effect between those two
roles, which the data contradict (their ratings share T + L but no I); REML then lowers I and
gives what the single-rater cells (self, superior) hold of P + I to P. Measured on the
round trip's design (16 Monte-Carlo data sets drawn exactly by the mapping's equations, SDs
P 0.6, I 0.7): perspective SD 0.637 +- 0.009 with the pair term, 0.583 +- 0.009 with the
triple term (paired difference 0.055 +- 0.006), idiosyncratic 0.689 / 0.707.

Standard errors: the 95 % profile-likelihood interval of each variance divided by 2 x 1.96
(its Wald-equivalent s.e.), carried to the SDs by the delta method (components treated as
independent). The fit has one variance per term, so perspective and idiosyncratic SDs are
pooled over the file's sources and written to each source rated by at least ``min_raters``
raters. Similarity (unit, golongan, sex) and collusion, when present in the data, are part
of the idiosyncratic and source terms; the calibrated scenario keeps its own values of them.

Privacy (:mod:`simlib.store.ratingdata`): identifiers are pseudonymised on reading, a file
with fewer than ``min_raters`` raters is refused, the per-source table withholds sources
rated by fewer, and no per-source figure is written for them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from simlib.core.errors import ConfigError
from simlib.experiment.calibration import claim_outputs
from simlib.params.scenario import load_scenario, read_scenario
from simlib.store.provenance import file_sha256
from simlib.store.ratingdata import (
    DEFAULT_MIN_RATERS,
    read_ratings,
    source_summary,
)
from simlib.store.rundir import make_parents, write_bytes_atomic

__all__ = [
    "IDIOSYNCRATIC",
    "RANDOM_TERMS",
    "Instrument",
    "RaterEstimate",
    "RatingsCalibration",
    "calibrate_from_ratings",
    "rater_parameters",
    "write_ratings_delta",
]

#: Random terms of the fit, in the read data's canonical names.
RANDOM_TERMS: tuple[Any, ...] = (
    "ratee",
    "rater",
    "source",
    ("ratee", "source"),
    ("ratee", "rater", "source"),
    ("ratee", "dimension"),
)
#: The fit's component that holds the idiosyncratic rater x ratee effect: keyed by the
#: (ratee, rater, source) triple, as :mod:`simlib.rules.raters` draws it (see the module
#: docstring: a pair rated under two sources has two independent effects).
IDIOSYNCRATIC = "ratee:rater:source"

_Z95 = 1.959963984540054
_MARK = "# Written by simlib calibrate"  # the mark calibration.delta_owned recognises


@dataclass(frozen=True)
class Instrument:
    """What turns latent ratings into points: held fixed from the scenario, not fitted."""

    points_per_sd: float
    central_tendency: float
    halo: float
    values: int
    rounding_variance: float  # 1/12 when scores are whole points, else 0

    @property
    def gain(self) -> float:
        """Points per latent SD after compression (g)."""
        return (1.0 - self.central_tendency) * self.points_per_sd

    @property
    def kept(self) -> float:
        """Share of a value-specific variance left value-specific by halo (a)."""
        return (1.0 - self.halo) ** 2


@dataclass(frozen=True)
class RaterEstimate:
    """One rater-model SD (latent units) with its standard error and the components used."""

    path: str
    value: float
    se: float
    variance: float
    variance_se: float
    from_components: str


@dataclass(frozen=True, eq=False)
class RatingsCalibration:
    """What :func:`calibrate_from_ratings` found."""

    scenario_path: Path
    ratings_path: Path
    sha256: str
    n_obs: int
    n_groups: dict[str, int]
    components: pd.DataFrame
    estimates: tuple[RaterEstimate, ...]
    true_variance: RaterEstimate
    sources: pd.DataFrame
    written_sources: tuple[str, ...]
    instrument: Instrument
    min_raters: int
    converged: bool
    extra_terms: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready values (the ``.calibration.json`` beside the delta)."""
        return {
            "kind": "calibration",
            "from": "ratings",
            "scenario": str(self.scenario_path),
            "ratings": {"file": self.ratings_path.name, "sha256": self.sha256},
            "n_obs": self.n_obs,
            "n_groups": self.n_groups,
            "converged": self.converged,
            "min_raters": self.min_raters,
            "instrument": self.instrument.__dict__,
            "components": json.loads(self.components.to_json(orient="records")),
            "estimates": [e.__dict__ for e in self.estimates],
            "true_perilaku_variance": self.true_variance.__dict__,
            "sources": json.loads(self.sources.to_json(orient="records")),
            "written_sources": list(self.written_sources),
            "extra_terms": list(self.extra_terms),
        }


def rater_parameters(
    components: pd.DataFrame, instrument: Instrument
) -> tuple[tuple[RaterEstimate, ...], RaterEstimate]:
    """Rater-model SDs from variance components (points^2), with delta-method s.e.

    ``components`` needs rows ``ratee, rater, ratee:source, ratee:rater:source,
    ratee:dimension, residual`` with ``variance``, ``ci_low``, ``ci_high`` (95 %). Returns
    the estimates (``leniency_sd``, ``perspective_sd``, ``idiosyncratic_sd``, ``dimension_sd``,
    ``residual_sd``, named by their paths under ``raters``; pooled over sources) and the
    ratee's true perilaku variance (latent units, a property of the workforce, not a leaf).
    """
    rows = components.set_index("component")
    need = ("ratee", "rater", "ratee:source", IDIOSYNCRATIC, "ratee:dimension", "residual")
    missing = [c for c in need if c not in rows.index]
    if missing:
        raise ConfigError(f"the fit has no component {', '.join(missing)}; allowed: a fit of "
                          f"{', '.join(need)}")  # fmt: skip

    def var(name: str) -> tuple[float, float]:
        r = rows.loc[name]
        se = (float(r["ci_high"]) - float(r["ci_low"])) / (2 * _Z95)
        return float(r["variance"]), se if math.isfinite(se) else float("nan")

    g2, a, k = instrument.gain**2, instrument.kept, instrument.values
    spill = (1.0 - a) / k  # share of a value-specific variance halo moves up a level
    v_res, s_res = var("residual")
    v_dim, s_dim = var("ratee:dimension")
    v_pair, s_pair = var(IDIOSYNCRATIC)
    v_rater, s_rater = var("rater")
    v_src, s_src = var("ratee:source")
    v_ratee, s_ratee = var("ratee")
    E = (v_res - instrument.rounding_variance) / (g2 * a)
    sE = s_res / (g2 * a)
    D = v_dim / (g2 * a)
    sD = s_dim / (g2 * a)
    variances = {
        "leniency_sd": (v_rater / g2, s_rater / g2, "rater"),
        "multi_source.sources.*.perspective_sd": (v_src / g2, s_src / g2, "ratee:source"),
        "multi_source.sources.*.idiosyncratic_sd": (
            v_pair / g2 - E * spill,
            math.hypot(s_pair / g2, sE * spill),
            f"{IDIOSYNCRATIC}, residual",
        ),
        "multi_source.dimension_sd": (D, sD, "ratee:dimension"),
        "multi_source.residual_sd": (E, sE, "residual"),
    }
    out = tuple(_sd(path, *v) for path, v in variances.items())
    true = (v_ratee / g2 - D * spill, math.hypot(s_ratee / g2, sD * spill))
    return out, RaterEstimate("true_perilaku_variance", true[0], true[1], true[0], true[1],
                              "ratee, ratee:dimension")  # fmt: skip


def _sd(path: str, variance: float, variance_se: float, parts: str) -> RaterEstimate:
    # A variance estimated below zero (sampling error) is an SD of zero.
    sd = math.sqrt(max(variance, 0.0))
    se = variance_se / (2.0 * sd) if sd > 0 else math.sqrt(max(variance_se, 0.0))
    return RaterEstimate(path, sd, se, variance, variance_se, parts)


def calibrate_from_ratings(
    scenario: str | Path,
    ratings: str | Path,
    *,
    ratee: str = "ratee",
    rater: str = "rater",
    score: str = "score",
    source: str = "source",
    dimension: str = "dimension",
    factors: tuple[str, ...] = (),
    min_raters: int = DEFAULT_MIN_RATERS,
) -> RatingsCalibration:
    """Fit the rating file's variance components and map them to the scenario's rater model.

    ``factors`` are extra grouping columns (random effects) fitted beside the model's terms,
    so that what they explain (a unit, a rating wave) is not taken for a rater effect.
    """
    scenario_path = Path(scenario).resolve()
    sc = load_scenario(scenario_path)
    data = read_ratings(ratings, ratee=ratee, rater=rater, score=score, source=source,
                        factors=(dimension, *factors))  # fmt: skip
    frame = data.frame.rename(columns={dimension: "dimension"})
    n_raters = int(frame["rater"].nunique())
    if n_raters < min_raters:
        raise ConfigError(
            f"ratings by {n_raters} raters; allowed: at least --min-raters ({min_raters}) "
            "distinct raters, since every figure would describe fewer",
            file=ratings,
            path=rater,
        )
    ms = sc.raters.multi_source
    scores = frame["score"].to_numpy(dtype=np.float64)
    instrument = Instrument(
        points_per_sd=float(ms.points_per_sd),
        central_tendency=float(ms.central_tendency),
        halo=float(ms.halo),
        values=int(frame["dimension"].nunique()),
        rounding_variance=1.0 / 12.0 if np.all(scores == np.rint(scores)) else 0.0,
    )
    if instrument.values < 2:
        raise ConfigError(
            "one value per rating; allowed: at least two values (BerAKHLAK dimensions) per "
            "rater and ratee",
            file=ratings,
            path=dimension,
        )
    from simlib.analysis import fit_variance_components

    try:
        fit = fit_variance_components(frame, response="score",
                                      random=[*RANDOM_TERMS, *factors], ci="profile")  # fmt: skip
    except ConfigError as exc:
        raise exc.in_file(ratings) from None
    estimates, true = rater_parameters(fit.components, instrument)
    sources = source_summary(data, min_raters=min_raters)
    shown = sources.loc[~sources["withheld"], "source"].astype(str).tolist()
    known = type(ms.sources).model_fields
    written = tuple(s for s in shown if s in known)
    return RatingsCalibration(
        scenario_path=scenario_path,
        ratings_path=Path(ratings),
        sha256=file_sha256(Path(ratings)),
        n_obs=int(fit.n_obs),
        n_groups={str(k): int(v) for k, v in fit.n_groups.items()},
        components=fit.components,
        estimates=estimates,
        true_variance=true,
        sources=sources,
        written_sources=written,
        instrument=instrument,
        min_raters=min_raters,
        converged=bool(fit.converged),
        extra_terms=tuple(factors),
    )


def leaves(result: RatingsCalibration) -> dict[str, RaterEstimate]:
    """Dotted scenario paths (``raters.…``) of every leaf the delta sets, with its estimate."""
    out: dict[str, RaterEstimate] = {}
    for e in result.estimates:
        if "*" in e.path:
            for s in result.written_sources:
                out["raters." + e.path.replace("*", s)] = e
        else:
            out["raters." + e.path] = e
    return out


def write_ratings_delta(result: RatingsCalibration, out: str | Path) -> dict[str, Path]:
    """Write the scenario delta (``extends:`` the scenario plus the rater leaves) and JSON.

    Each leaf is ``{value, unit, source}``; the source names the rating file and its
    SHA-256, the components it comes from, the estimate's standard error and the date.
    """
    paths = claim_outputs(out)
    make_parents(paths["delta"])
    date = dt.date.today().isoformat()
    name = result.ratings_path.name
    raw = read_scenario(result.scenario_path)
    delta: dict[str, Any] = {}
    for path, e in leaves(result).items():
        node = delta
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = {
            "value": float(f"{e.value:.4g}"),
            "unit": "SD",
            "source": (
                f"calibrated by simlib calibrate --ratings on {date} from {name} (sha256 "
                f"{result.sha256}): REML variance components {e.from_components} of "
                f"{result.n_obs} ratings, estimate {e.value:.4g}, s.e. {e.se:.2g} (95 % "
                "profile interval / 3.92, delta method)"
                + ("; pooled over sources" if ".sources." in path else "")
            ),
        }
    parent = os.path.relpath(result.scenario_path, paths["delta"].parent.resolve())
    title = str(raw.get("name", "scenario"))
    header = [
        f"{_MARK} --ratings on {dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()}: "
        "the scenario with rater-model parameters from a rating file.",
        f"# Ratings: {name} (sha256 {result.sha256}), {result.n_obs} ratings; instrument held "
        f"from the scenario: points_per_sd {result.instrument.points_per_sd:g}, "
        f"central_tendency {result.instrument.central_tendency:g}, halo "
        f"{result.instrument.halo:g}.",
        f"# Details: {paths['json'].name}.",
    ]
    body = {
        "extends": parent,
        "name": f"{title} (rater model from {name})"[:120],
        "description": (
            f"{title} with its rater-model parameters estimated from {name} by simlib "
            f"calibrate --ratings on {date}."
        )[:2000],
        **delta,
    }
    text = "\n".join(header) + "\n" + yaml.safe_dump(body, sort_keys=False, width=100)
    write_bytes_atomic(paths["delta"], text.encode())
    js = json.dumps(result.to_dict(), indent=1, sort_keys=True, default=str) + "\n"
    write_bytes_atomic(paths["json"], js.encode())
    return {"delta": paths["delta"], "json": paths["json"]}
