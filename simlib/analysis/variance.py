"""Variance components of 360-degree ratings: who the variation in scores belongs to.

This module owns the public estimator :func:`fit_variance_components`, its result
:class:`VarianceFit`, reliability (:func:`icc`) and the confidence intervals (profile
likelihood and parametric bootstrap). The model is

    y = X beta + sum_k Z_k b_k + e,    b_k ~ N(0, sigma_k^2 I),    e ~ N(0, sigma^2 I)

with one scalar random intercept per grouping factor (ratee, rater, source, the
interaction ratee x source, ...), fitted by REML exactly as lme4 does (Bates, Maechler,
Bolker & Walker 2015, J. Stat. Softw. 67(1)); the linear algebra lives in
:mod:`simlib.analysis.reml`. ``reml_criterion`` is lme4's ``REMLcrit`` and agrees with it
(``tests/test_variance.py`` checks stored lme4 output).

Intervals
---------
``ci="profile"`` (profile likelihood of the REML criterion; lme4's
``confint(method = "profile")`` profiles the ML deviance instead) or ``ci="bootstrap"``
(parametric bootstrap, percentile, keyed by ``seed``); both for the variances, residual
included, and both computed in :mod:`simlib.analysis.intervals`. Profile intervals cost
1-3 REML evaluations an endpoint (11 for the 8 endpoints of lme4's InstEval, on top of the
fit's 5; ``VarianceFit.ci_evaluations`` counts them; measured with
``benchmarks/ratings.py``); ``ci=None`` skips them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simlib.analysis.intervals import bootstrap_intervals, profile_intervals
from simlib.analysis.reml import (
    REMLProblem,
    TooLargeError,
    optimize_theta,
    start_theta,
)
from simlib.core.errors import ConfigError

__all__ = ["CI_METHODS", "VarianceFit", "fit_variance_components", "icc"]

#: Allowed values of ``ci``.
CI_METHODS = ("profile", "bootstrap", None)

RESIDUAL = "residual"

#: Largest magnitude of a response or numeric covariate value (beyond it the sums of
#: squares overflow).
MAX_ABS_VALUE = 1e100  # the messages say "1e100"


@dataclass(frozen=True, eq=False)
class VarianceFit:
    """A fitted variance-components model (REML).

    Attributes
    ----------
    components
        One row per random factor and a last row ``"residual"``: ``component``,
        ``variance``, ``sd``, ``share`` (of the total variance, residual included),
        ``ci_low``, ``ci_high`` (interval for the variance; NaN without ``ci``),
        ``n_levels`` (NaN for the residual).
    fixed_effects
        ``term``, ``estimate``, ``se`` (standard errors from ``sigma^2 (R_X' R_X)^-1``,
        as lme4's ``vcov``).
    residual_variance
        ``sigma^2``.
    reml_criterion
        ``-2`` times the REML log-likelihood at the optimum (lme4's ``REMLcrit``).
    n_obs
        Number of ratings used.
    n_groups
        Levels of each factor; an interaction is named ``"ratee:source"``.
    converged
        Whether the optimiser met its convergence test.
    theta
        Relative standard deviations ``sigma_k / sigma``, in component order.
    ci
        The interval method used (``None``: no intervals).
    level
        Confidence level of the intervals.
    n_evaluations
        Evaluations of the REML criterion used by the fit (intervals not counted).
    ci_evaluations
        Evaluations of the REML criterion used by the intervals (bootstrap: by its refits).
    n_boot, seed
        Bootstrap resamples and the seed that keys their draws (``None`` without a
        bootstrap).
    """

    components: pd.DataFrame
    fixed_effects: pd.DataFrame
    residual_variance: float
    reml_criterion: float
    n_obs: int
    n_groups: dict[str, int]
    converged: bool
    theta: tuple[float, ...]
    ci: str | None
    level: float
    n_evaluations: int
    ci_evaluations: int = 0
    n_boot: int | None = None
    seed: int | None = None
    _modes: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def conditional_modes(self, factor: str) -> pd.DataFrame:
        """Conditional modes (BLUPs) of one factor's random effects.

        Parameters
        ----------
        factor
            A component name, e.g. ``"rater"`` or ``"ratee:source"``.

        Returns
        -------
        pandas.DataFrame
            ``level``, ``estimate`` (the conditional mode, in rating units) and ``se``
            (conditional standard deviation given the data and ``beta``, as lme4's
            ``ranef(condVar = TRUE)``), one row per level in sorted level order.
        """
        if factor not in self._modes:
            allowed = ", ".join(repr(k) for k in self._modes)
            raise ConfigError(f"unknown factor {factor!r}; allowed: {allowed}")
        return self._modes[factor].copy()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (no conditional modes)."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            out = []
            for row in frame.to_dict(orient="records"):
                out.append({k: _json_value(v) for k, v in row.items()})
            return out

        return {
            "components": records(self.components),
            "fixed_effects": records(self.fixed_effects),
            "residual_variance": float(self.residual_variance),
            "reml_criterion": float(self.reml_criterion),
            "n_obs": int(self.n_obs),
            "n_groups": {k: int(v) for k, v in self.n_groups.items()},
            "converged": bool(self.converged),
            "theta": [float(t) for t in self.theta],
            "ci": self.ci,
            "level": float(self.level),
            "n_evaluations": int(self.n_evaluations),
            "ci_evaluations": int(self.ci_evaluations),
            "n_boot": self.n_boot,
            "seed": self.seed,
        }


def icc(fit: VarianceFit, factor: str, k: float = 1) -> float:
    """Intraclass correlation of one factor: the reliability of its mean over ``k`` ratings.

    ``total`` is the sum of *all* variance components of the fit, residual included, i.e.
    the variance of a single rating around the fixed effects. Then

    * ``ICC(1) = sigma_f^2 / total``: the correlation of two ratings sharing a level of
      ``factor`` and nothing else; the share of a single rating's variance due to it;
    * ``ICC(k) = sigma_f^2 / (sigma_f^2 + (total - sigma_f^2) / k)``: the reliability of
      the mean of ``k`` ratings of a level when every other source of variance averages
      out over the ``k`` (Spearman-Brown). For ratee reliability with raters nested in
      ratees this is the usual ICC(1, k); with crossed designs it is an upper bound.

    Parameters
    ----------
    fit
        A fitted model.
    factor
        Component name (not ``"residual"``).
    k
        Number of ratings averaged, at least 1; may be fractional (e.g. the mean number
        of ratings per ratee).

    Returns
    -------
    float
    """
    comps = fit.components.set_index("component")
    if factor not in comps.index or factor == RESIDUAL:
        allowed = ", ".join(repr(c) for c in comps.index if c != RESIDUAL)
        raise ConfigError(f"icc: unknown factor {factor!r}; allowed: {allowed}")
    if isinstance(k, bool) or not isinstance(k, int | float | np.number) or not k >= 1:
        raise ConfigError(f"icc: k must be a number >= 1 (ratings averaged), got {k!r}")
    if not math.isfinite(k):
        raise ConfigError(f"icc: k must be finite, got {k!r}")
    total = float(comps["variance"].sum())
    var_f = float(comps.loc[factor, "variance"])
    if total <= 0.0:
        return float("nan")
    return var_f / (var_f + (total - var_f) / k)


# -- the estimator ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Design:
    names: list[str]
    codes: list[np.ndarray]
    labels: list[pd.Index]
    x: np.ndarray
    terms: list[str]
    y: np.ndarray
    y_shift: float


def fit_variance_components(
    data: pd.DataFrame,
    *,
    response: str,
    random: Sequence[str | tuple[str, ...]],
    fixed: Sequence[str] = (),
    ci: str | None = "profile",
    level: float = 0.95,
    n_boot: int = 200,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> VarianceFit:
    """Estimate variance components of ratings by REML (lme4's profiled formulation).

    Parameters
    ----------
    data
        Long-format ratings, one row per rating.
    response
        Numeric column with the scores.
    random
        Grouping columns, one scalar random intercept each; a tuple such as
        ``("ratee", "source")`` is the interaction (each observed combination a level),
        named ``"ratee:source"`` in the results.
    fixed
        Fixed-effect covariates besides the intercept: numeric columns enter as they are,
        other columns (text, category, bool) as treatment contrasts against their first
        sorted level, or a categorical's first category (terms named ``"col[T.level]"``).
    ci
        ``"profile"`` (profile-likelihood intervals, the default), ``"bootstrap"``
        (parametric bootstrap, percentile) or ``None``.
    level
        Confidence level, strictly between 0 and 1.
    n_boot
        Bootstrap resamples (``ci="bootstrap"`` only).
    seed
        Root seed of the bootstrap's keyed draws: resample ``b`` draws factor ``k`` from
        ``SeedSequence(seed, spawn_key=(b, k))``, so the same seed gives the same
        intervals and more resamples extend fewer. ``ci="bootstrap"`` needs ``seed`` or
        ``rng``.
    rng
        Alternative to ``seed``: the root seed is drawn from this generator.

    Returns
    -------
    VarianceFit

    Raises
    ------
    ConfigError
        Missing columns, a non-numeric, non-finite, huge (beyond +-1e100) or constant
        response, missing grouping values, a factor with a single level (or one level per
        rating), two factors grouping alike, a factor that the fixed effects explain,
        constant or collinear fixed effects, fewer ratings than parameters, a bad ``ci`` /
        ``level`` / ``n_boot``, or a numerical failure of the fit or its intervals.
    """
    design = _design(data, response=response, random=random, fixed=fixed)
    if ci not in CI_METHODS:
        raise ConfigError(f"ci must be one of 'profile', 'bootstrap' or None, got {ci!r}")
    if isinstance(level, bool) or not isinstance(level, float | int) or not 0 < level < 1:
        raise ConfigError(f"level must be a number strictly between 0 and 1, got {level!r}")
    if ci == "bootstrap":
        if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 2:
            raise ConfigError(f"n_boot must be a whole number >= 2, got {n_boot!r}")
        if seed is None and rng is None:
            raise ConfigError(
                "ci='bootstrap' needs rng=np.random.default_rng(...) or seed=<whole number>"
            )
        if seed is None:
            seed = int(rng.integers(2**63))
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ConfigError(f"seed must be a whole number >= 0, got {seed!r}")
        seed = int(seed)
        n_boot = int(n_boot)
    else:
        n_boot = seed = None

    try:
        problem = REMLProblem(design.codes, [len(lab) for lab in design.labels], design.x, design.y)
    except TooLargeError as exc:
        crossed = ", ".join(repr(design.names[k]) for k in exc.factors)
        raise ConfigError(
            f"random factors {crossed} are crossed with {exc.rows:,} levels in all; "
            f"this estimator handles up to {exc.limit:,} (use fewer levels, e.g. "
            "group small raters, or drop a factor)"
        ) from None
    # A division by zero, an overflow or a NaN means the numbers are meaningless: raise.
    with problem.blas_threads(), np.errstate(divide="raise", over="raise", invalid="raise"):
        try:
            return _estimate(problem, design, ci=ci, level=level, n_boot=n_boot, seed=seed)
        except ConfigError:
            raise
        except (np.linalg.LinAlgError, ArithmeticError, ValueError) as exc:
            # The checks in _design catch the known causes; this keeps the rest to one line.
            where = "intervals" if isinstance(exc, _IntervalError) else "fit"
            cause = type(exc.__cause__ or exc).__name__
            raise ConfigError(
                f"the REML {where} failed numerically ({cause}); look for extreme values, "
                "or covariates or factors that nearly duplicate one another"
            ) from exc


class _IntervalError(ValueError):
    """A numerical failure while computing intervals (not in the fit itself)."""


def _estimate(problem: REMLProblem, design: _Design, *, ci, level, n_boot, seed) -> VarianceFit:
    """The fit, intervals, fixed effects and conditional modes of a checked design."""
    opt = optimize_theta(problem, start_theta(problem))
    ev = opt.evaluation
    n, p = design.x.shape
    sigma2 = ev.r2 / (n - p)
    theta = opt.theta
    variances = np.append(theta**2 * sigma2, sigma2)

    lows = np.full(len(variances), np.nan)
    highs = np.full(len(variances), np.nan)
    ci_evaluations = 0
    try:
        if ci == "profile":
            lows, highs, ci_evaluations = profile_intervals(problem, opt, level)
        elif ci == "bootstrap":
            lows, highs, ci_evaluations = bootstrap_intervals(problem, opt, level, n_boot, seed)
    except (np.linalg.LinAlgError, ArithmeticError, ValueError) as exc:
        raise _IntervalError(str(exc)) from exc

    names = [*design.names, RESIDUAL]
    total = float(variances.sum())
    components = pd.DataFrame(
        {
            "component": names,
            "variance": variances,
            "sd": np.sqrt(variances),
            "share": variances / total if total > 0 else np.nan,
            "ci_low": lows,
            "ci_high": highs,
            "n_levels": [*(float(len(lab)) for lab in design.labels), np.nan],
        }
    )
    cov = sigma2 * problem.fixed_covariance_unscaled(ev)
    beta = ev.beta.copy()
    beta[0] += design.y_shift
    fixed_effects = pd.DataFrame(
        {"term": design.terms, "estimate": beta, "se": np.sqrt(np.diag(cov))}
    )
    modes = {}
    for k, name in enumerate(design.names):
        condvar = problem.in_level_order(k, problem.conditional_variance(ev, k))
        modes[name] = pd.DataFrame(
            {
                "level": design.labels[k],
                "estimate": theta[k] * problem.in_level_order(k, ev.u[k]),
                "se": np.sqrt(np.maximum(sigma2 * theta[k] ** 2 * condvar, 0.0)),
            }
        )
    return VarianceFit(
        components=components,
        fixed_effects=fixed_effects,
        residual_variance=float(sigma2),
        reml_criterion=float(opt.deviance),
        n_obs=int(n),
        n_groups={name: len(lab) for name, lab in zip(design.names, design.labels, strict=True)},
        converged=bool(opt.converged),
        theta=tuple(float(t) for t in theta),
        ci=ci,
        level=float(level),
        n_evaluations=int(opt.n_evaluations),
        ci_evaluations=int(ci_evaluations),
        n_boot=n_boot,
        seed=seed,
        _modes=modes,
    )


# -- input checks and the design ------------------------------------------------------------


def _design(
    data: pd.DataFrame,
    *,
    response: str,
    random: Sequence[str | tuple[str, ...]],
    fixed: Sequence[str],
) -> _Design:
    if not isinstance(data, pd.DataFrame):
        raise ConfigError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    columns = list(map(str, data.columns))

    def need(col: object, role: str) -> str:
        if not isinstance(col, str):
            raise ConfigError(f"{role} must be a column name (text), got {col!r}")
        if col not in data.columns:
            raise ConfigError(f"{role} column {col!r} not found; columns are: {', '.join(columns)}")
        return col

    need(response, "response")
    y_raw = data[response]
    if not pd.api.types.is_numeric_dtype(y_raw) or pd.api.types.is_bool_dtype(y_raw):
        raise ConfigError(
            f"response column {response!r} must be numeric (scores), got dtype {y_raw.dtype}"
        )
    y = y_raw.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(y)):
        bad = int((~np.isfinite(y)).sum())
        raise ConfigError(
            f"response column {response!r} has {bad} missing or non-finite values; "
            "drop or impute them first"
        )
    if np.abs(y).max(initial=0.0) > MAX_ABS_VALUE:
        raise ConfigError(
            f"response column {response!r} has values outside -1e100 to 1e100, where "
            "the sums of squares overflow; rescale the scores"
        )
    if len(y) and y.min() == y.max():
        raise ConfigError(
            f"response column {response!r} has the same value in every rating; there is "
            "no variation to decompose"
        )
    n = len(y)

    if isinstance(random, str | tuple):
        random = [random]
    if not isinstance(random, Sequence) or len(random) == 0:
        raise ConfigError("random must list at least one grouping column, e.g. ['ratee']")
    names: list[str] = []
    codes: list[np.ndarray] = []
    labels: list[pd.Index] = []
    for spec in random:
        cols = list(spec) if isinstance(spec, tuple) else [spec]
        if not cols:
            raise ConfigError("random: an empty tuple is not a grouping factor")
        for col in cols:
            need(col, "random")
            if col == response:
                raise ConfigError(f"random column {col!r} is the response; pick another")
            if data[col].isna().any():
                bad = int(data[col].isna().sum())
                raise ConfigError(
                    f"random column {col!r} has {bad} missing values; every rating needs a group"
                )
        name = ":".join(cols)
        if name in names:
            raise ConfigError(f"random factor {name!r} is listed twice")
        if len(cols) == 1:
            code, uniques = _factorize(data[cols[0]])
            lab = pd.Index(uniques)
        else:
            code, lab = _interaction(data, cols)
        if len(lab) < 2:
            raise ConfigError(
                f"random factor {name!r} has a single level; a variance needs at least 2 levels"
            )
        if len(lab) >= n:
            raise ConfigError(
                f"random factor {name!r} has one level per rating ({len(lab)} levels, "
                f"{n} ratings); it cannot be told apart from the residual"
            )
        names.append(name)
        codes.append(np.asarray(code, dtype=np.int64))
        labels.append(lab)

    if isinstance(fixed, str):
        fixed = [fixed]
    x_cols = [np.ones(n)]
    terms = ["(Intercept)"]
    owners = ["(Intercept)"]  # the column each term comes from
    for col in fixed:
        need(col, "fixed")
        if col == response:
            raise ConfigError(f"fixed column {col!r} is the response; pick another")
        series = data[col]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            vals = series.to_numpy(dtype=np.float64)
            if not np.all(np.isfinite(vals)):
                raise ConfigError(
                    f"fixed column {col!r} has missing or non-finite values; "
                    "drop or impute them first"
                )
            if np.abs(vals).max(initial=0.0) > MAX_ABS_VALUE:
                raise ConfigError(
                    f"fixed column {col!r} has values outside -1e100 to 1e100, where "
                    "the sums of squares overflow; rescale it"
                )
            if len(vals) and vals.min() == vals.max():
                raise ConfigError(f"fixed column {col!r} has a single value; a covariate must vary")
            x_cols.append(vals)
            terms.append(col)
            owners.append(col)
        else:
            if series.isna().any():
                raise ConfigError(f"fixed column {col!r} has missing values")
            code, uniques = _factorize(series)
            if len(uniques) < 2:
                raise ConfigError(f"fixed column {col!r} has a single value; a covariate must vary")
            for j in range(1, len(uniques)):
                x_cols.append((code == j).astype(np.float64))
                terms.append(f"{col}[T.{uniques[j]}]")
                owners.append(col)
    x = np.column_stack(x_cols)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        # Name the first column that adds nothing to the ones before it.
        j = next(j for j in range(2, x.shape[1] + 1) if np.linalg.matrix_rank(x[:, :j]) < j)
        col = owners[j - 1]
        before = sorted({o for o in owners[: j - 1] if o != "(Intercept)"} - {col})
        others = " and ".join([*(repr(b) for b in before), "the intercept"])
        raise ConfigError(
            f"fixed column {col!r} is collinear with {others} (a linear combination of "
            "them); drop one"
        )
    _check_identifiable(names, codes, labels, x, owners)
    n_params = x.shape[1] + len(names) + 1
    if n <= n_params:
        raise ConfigError(
            f"{n} ratings for {n_params} parameters; need more ratings than parameters"
        )
    shift = float(y.mean())
    return _Design(names, codes, labels, x, terms, y - shift, shift)


def _check_identifiable(names, codes, labels, x, owners) -> None:
    """Refuse random factors whose variance the design cannot tell apart from others.

    Two factors that group the ratings identically, or a factor whose every level has its
    own fixed effect (a covariate copying the grouping), leave a flat likelihood: the fit
    or its profile intervals would fail.
    """
    for a in range(len(names)):
        for b in range(a):
            if len(labels[a]) == len(labels[b]):
                width = len(labels[b])
                if len(np.unique(codes[a] * width + codes[b])) == width:
                    raise ConfigError(
                        f"random factors {names[b]!r} and {names[a]!r} group the ratings "
                        "identically; their variances cannot be told apart (drop one)"
                    )
    p = x.shape[1]
    for name, code, lab in zip(names, codes, labels, strict=True):
        if len(lab) > p:
            continue  # p columns cannot span more than p groups
        dummies = np.zeros((len(code), len(lab)))
        dummies[np.arange(len(code)), code] = 1.0
        if np.linalg.matrix_rank(np.column_stack([x, dummies])) == p:
            cols = sorted({o for o in owners if o != "(Intercept)"})
            raise ConfigError(
                f"random factor {name!r} is fully explained by the fixed columns "
                f"{', '.join(map(repr, cols))} (each of its levels has its own fixed "
                "effect), so its variance cannot be estimated; drop the covariate or the factor"
            )


def _interaction(data: pd.DataFrame, cols: list[str]) -> tuple[np.ndarray, pd.Index]:
    """Codes and ``a:b`` labels of the observed combinations, in sorted (tuple) order.

    Each column is factorised on its own and the codes combined into one integer, which
    sorts as the tuples do (0.3 s less than a MultiIndex on lme4's InstEval); a column
    mixing types makes every column sort as text, and combinations too many for one
    64-bit integer go through a MultiIndex.
    """
    # Categories sort by value here, as a MultiIndex sorts them (not in category order).
    frame = pd.DataFrame(
        {
            c: data[c].to_numpy(dtype=object)
            if isinstance(data[c].dtype, pd.CategoricalDtype)
            else data[c]
            for c in cols
        }
    )
    try:
        parts = [pd.factorize(frame[c], sort=True) for c in cols]
    except TypeError:  # mixed types in a column: sort as text
        frame = frame.astype(str)
        parts = [pd.factorize(frame[c], sort=True) for c in cols]
    if math.prod(max(len(u), 1) for _, u in parts) >= 2**62:
        code, uniques = pd.MultiIndex.from_frame(frame).factorize(sort=True)
        return code, pd.Index([":".join(map(str, t)) for t in uniques])
    combined = np.zeros(len(frame), dtype=np.int64)
    for part_code, uniques in parts:
        combined = combined * len(uniques) + part_code
    keys, code = np.unique(combined, return_inverse=True)
    texts = []
    for _, uniques in reversed(parts):
        texts.append(np.asarray(uniques.astype(str))[keys % len(uniques)])
        keys = keys // len(uniques)
    labels = texts[-1]
    for text in reversed(texts[:-1]):
        labels = np.char.add(np.char.add(labels.astype(str), ":"), text.astype(str))
    return code.astype(np.int64), pd.Index(labels.tolist())


def _factorize(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes and sorted levels; a column mixing types (numbers and text) sorts as text."""
    try:
        return pd.factorize(series, sort=True)
    except TypeError:
        return pd.factorize(series.astype(str), sort=True)


def _json_value(v: object) -> object:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
