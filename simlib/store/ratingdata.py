"""Long-format rating data: simulated data sets out, real data sets in (validated, pseudonymised).

A rating data set has one row per rating: who was rated (ratee), who rated (rater), the
score, and optionally the source (self, supervisor, peer, ...), extra grouping columns and
covariates. :func:`read_ratings` reads such a CSV with whatever column names it uses,
checks it, and replaces every identifier by a pseudonym (its position in sorted order),
so no original id reaches any output, and no error message quotes a cell (it names the
file, the row and the column instead).

No figure may reveal the ratings of a group of fewer than ``min_raters`` distinct raters,
as 360 practice requires. :func:`source_summary` withholds the per-source figures of such
sources. A categorical covariate is a grouping too (its estimate for a level is that
level's mean against the reference level): :func:`with_safe_reference` makes each
categorical covariate's reference level the first level, in sorted order, rated by at
least ``min_raters`` raters, and :func:`fixed_effects_table` withholds the estimate and
standard error of every level rated by fewer, of a two-valued numeric covariate (an
indicator) with such a group, and of the intercept when it would reveal one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from simlib.core.errors import ConfigError

if TYPE_CHECKING:  # the engine is not imported to read or check rating files
    from simlib.engine.model import RunResult

__all__ = [
    "DEFAULT_MIN_RATERS",
    "MAX_ABS_SCORE",
    "RatingData",
    "fixed_effects_table",
    "read_ratings",
    "reference_levels",
    "simulated_ratings",
    "source_summary",
    "with_safe_reference",
]

#: Smallest group of raters whose figures may be shown (360 anonymity practice).
DEFAULT_MIN_RATERS = 3

#: Largest magnitude of a score or numeric covariate: beyond it the sums of squares of the
#: REML fit overflow (1e308 is the largest double).
MAX_ABS_SCORE = 1e100  # the messages below say "1e100"


@dataclass(frozen=True, eq=False)
class RatingData:
    """Validated, pseudonymised rating data with canonical column names.

    ``frame`` has columns ``ratee``, ``rater``, ``score``, optionally ``source``, and the
    requested extra factors and covariates under their own names.
    """

    frame: pd.DataFrame
    factors: tuple[str, ...]
    covariates: tuple[str, ...]
    has_source: bool
    file: str


def read_ratings(
    path: str | Path,
    *,
    ratee: str,
    rater: str,
    score: str,
    source: str | None = None,
    factors: tuple[str, ...] = (),
    covariates: tuple[str, ...] = (),
) -> RatingData:
    """Read and check a long-format rating CSV.

    Raises
    ------
    ConfigError
        Missing file or columns, a column name twice in the header, non-numeric, missing
        or huge scores, empty ids, a single ratee or rater, or a column used twice; the
        message names the file, the column and the row, never the value of a cell.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError("rating file not found", file=path)
    roles = {"ratee": ratee, "rater": rater, "score": score}
    if source is not None:
        roles["source"] = source
    wanted = [*roles.values(), *factors, *covariates]
    repeated = sorted({c for c in wanted if wanted.count(c) > 1})
    if repeated:
        raise ConfigError(
            f"column {repeated[0]!r} is given for two roles; allowed: each column in one role",
            file=path,
        )
    try:
        # header=None: pandas would rename a repeated column ("score.1") and use the first.
        df = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not a readable CSV ({exc.__class__.__name__})", file=path) from None
    header = [str(c).strip() for c in df.iloc[0]]
    df = df.iloc[1:].reset_index(drop=True)
    twice = [c for c in wanted if header.count(c) > 1]
    if twice:
        raise ConfigError(
            f"column {twice[0]!r} appears {header.count(twice[0])} times; "
            "allowed: each column name once",
            file=path,
            path="header",
        )
    df.columns = header
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise ConfigError(
            f"no column {missing[0]!r}; allowed: one of {', '.join(map(repr, df.columns))}",
            file=path,
            path="header",
        )
    if df.empty:
        raise ConfigError("no ratings (the file has only a header)", file=path)
    line = np.arange(len(df)) + 2

    out = pd.DataFrame(index=df.index)
    out["score"] = _numbers(df[score], file=path, column=score, line=line)
    grouping = {"ratee": ratee, "rater": rater, **({"source": source} if source else {})}
    grouping.update({f: f for f in factors})
    for role, column in grouping.items():
        text = df[column].str.strip()
        empty = np.flatnonzero((text == "").to_numpy())
        if empty.size:
            raise ConfigError(
                "empty value; allowed: a non-empty id or label in every row",
                file=path,
                path=f"row {line[empty[0]]}, {column}",
            )
        if role in ("ratee", "rater"):
            # Ids become positions: nothing in the output can be traced to a person.
            codes, levels = pd.factorize(text, sort=True)
            if len(levels) < 2:
                raise ConfigError(
                    f"a single {role}; allowed: at least 2 distinct {role}s",
                    file=path,
                    path=column,
                )
            out[role] = codes
        else:
            out[role] = pd.Categorical(text)
    for column in covariates:
        numeric = pd.to_numeric(df[column].str.strip(), errors="coerce")
        if numeric.notna().all():
            out[column] = _numbers(df[column], file=path, column=column, line=line)
        elif (df[column].str.strip() == "").any():
            i = int(np.flatnonzero((df[column].str.strip() == "").to_numpy())[0])
            raise ConfigError(
                "empty value; allowed: a number or a category in every row",
                file=path,
                path=f"row {line[i]}, {column}",
            )
        else:
            out[column] = pd.Categorical(df[column].str.strip())
    return RatingData(out, tuple(factors), tuple(covariates), source is not None, str(path))


def _numbers(text: pd.Series, *, file: Path, column: str, line: np.ndarray) -> np.ndarray:
    """A column of finite numbers of moderate size; errors name the row, not the cell."""
    stripped = text.str.strip()
    values = pd.to_numeric(stripped, errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(values) <= MAX_ABS_SCORE)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        if stripped.iloc[i] == "":
            problem = "empty value"
        elif np.isnan(values[i]):
            problem = "not a number"
        elif np.isinf(values[i]):
            problem = "not a finite number"
        else:
            problem = "a number too large to fit"
        # The cell is not quoted: a column given by mistake may hold names.
        raise ConfigError(
            f"{problem}; allowed: a number from -1e100 to 1e100 in every row",
            file=file,
            path=f"row {line[i]}, {column}",
        )
    return values


def with_safe_reference(data: RatingData, *, min_raters: int = DEFAULT_MIN_RATERS) -> RatingData:
    """The same data with each categorical covariate's reference level rated by many raters.

    The reference level (the first category, against which the other levels' effects are
    estimated, and which the intercept describes) becomes the first level, in sorted
    order, rated by at least ``min_raters`` distinct raters; the other levels keep their
    sorted order. A covariate with no such level keeps its order (and
    :func:`fixed_effects_table` then withholds the intercept).
    """
    frame = data.frame.copy()
    for column in data.covariates:
        series = frame[column]
        if not isinstance(series.dtype, pd.CategoricalDtype):
            continue
        raters = frame.groupby(column, observed=True)["rater"].nunique()
        large = [level for level in series.cat.categories if raters.get(level, 0) >= min_raters]
        if large:
            first = large[0]
            order = [first, *(c for c in series.cat.categories if c != first)]
            frame[column] = series.cat.reorder_categories(order)
    return RatingData(frame, data.factors, data.covariates, data.has_source, data.file)


def reference_levels(data: RatingData) -> dict[str, str]:
    """The reference level of each categorical covariate (its first category)."""
    return {
        column: str(data.frame[column].cat.categories[0])
        for column in data.covariates
        if isinstance(data.frame[column].dtype, pd.CategoricalDtype)
    }


def fixed_effects_table(
    fixed_effects: pd.DataFrame, data: RatingData, *, min_raters: int = DEFAULT_MIN_RATERS
) -> pd.DataFrame:
    """Fixed effects with the estimates that would reveal a small rater group withheld.

    Parameters
    ----------
    fixed_effects
        ``term``, ``estimate``, ``se`` as :class:`simlib.analysis.VarianceFit` gives them,
        fitted on ``data`` (after :func:`with_safe_reference`).
    data
        The rating data the model was fitted on.
    min_raters
        Smallest number of distinct raters behind a shown estimate.

    Returns
    -------
    pandas.DataFrame
        The same rows with ``raters`` (distinct raters behind the level a term describes;
        missing for the intercept and for numeric covariates with more than two values)
        and ``withheld``; ``estimate`` and ``se`` are NaN where ``withheld``. Withheld are
        a categorical covariate's levels rated by fewer than ``min_raters`` raters, a
        two-valued numeric covariate one of whose values is (its slope is the difference
        of two group means, and the intercept the mean at 0), and the intercept when a
        reference level or such an indicator is.
    """
    frame = data.frame
    table = fixed_effects.copy()
    raters = pd.Series(pd.NA, index=table.index, dtype="Int64")
    withheld = pd.Series(False, index=table.index)
    intercept = table.index[table["term"] == "(Intercept)"]
    for column in data.covariates:
        series = frame[column]
        by_value = frame.groupby(column, observed=True)["rater"].nunique()
        if isinstance(series.dtype, pd.CategoricalDtype):
            levels = series.cat.categories
            for level in levels[1:]:
                rows = table.index[table["term"] == f"{column}[T.{level}]"]
                raters.loc[rows] = int(by_value.get(level, 0))
                withheld.loc[rows] = by_value.get(level, 0) < min_raters
            if by_value.get(levels[0], 0) < min_raters:
                withheld.loc[intercept] = True
        elif len(by_value) == 2:
            rows = table.index[table["term"] == column]
            raters.loc[rows] = int(by_value.min())
            if by_value.min() < min_raters:
                withheld.loc[rows] = True
                withheld.loc[intercept] = True
    table["raters"] = raters
    table["withheld"] = withheld
    table.loc[withheld, ["estimate", "se"]] = np.nan
    return table


def source_summary(data: RatingData, *, min_raters: int = DEFAULT_MIN_RATERS) -> pd.DataFrame:
    """Ratings, raters and mean score by source; sources with fewer raters are withheld."""
    if not data.has_source:
        return pd.DataFrame(columns=["source", "ratings", "raters", "mean_score"])
    frame = data.frame
    grouped = frame.groupby("source", observed=True)
    table = pd.DataFrame(
        {
            "ratings": grouped.size(),
            "raters": grouped["rater"].nunique(),
            "mean_score": grouped["score"].mean(),
        }
    ).reset_index()
    small = table["raters"] < min_raters
    table["source"] = table["source"].astype(str)
    table["ratings"] = table["ratings"].astype("Int64")
    table.loc[small, "ratings"] = pd.NA
    table.loc[small, "mean_score"] = np.nan
    table["withheld"] = small
    return table


def simulated_ratings(result: RunResult) -> pd.DataFrame:
    """The run's multi-source ratings with ratee and rater attributes beside them."""
    if result.ratings is None:
        raise ValueError(
            "the run recorded no ratings (set outputs.ratings and rater: multi_source)"
        )
    wf = result.workforce.rename(columns={"employee": "id"})
    attributes = wf[["agency", "id", "unit", "sex", "golongan", "kelas_jabatan", "job_type"]]
    ratee = attributes.add_prefix("ratee_").rename(
        columns={"ratee_agency": "agency", "ratee_id": "ratee"}
    )
    rater = (
        attributes[["agency", "id", "unit", "sex", "golongan"]]
        .add_prefix("rater_")
        .rename(columns={"rater_agency": "agency", "rater_id": "rater"})
    )
    out = result.ratings.merge(ratee, on=["agency", "ratee"], how="left")
    out = out.merge(rater, on=["agency", "rater"], how="left")
    return out
