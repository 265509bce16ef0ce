"""Long-format rating data: simulated data sets out, real data sets in (validated, pseudonymised).

A rating data set has one row per rating: who was rated (ratee), who rated (rater), the
score, and optionally the source (self, supervisor, peer, ...), extra grouping columns and
covariates. :func:`read_ratings` reads such a CSV with whatever column names it uses,
checks it, and replaces every identifier by a pseudonym (its position in sorted order),
so no original id reaches any output. :func:`source_summary` reports per-source figures
only for sources rated by at least ``min_raters`` distinct raters, as 360 practice requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from simlib.errors import ConfigError
from simlib.model import RunResult

__all__ = [
    "DEFAULT_MIN_RATERS",
    "RatingData",
    "read_ratings",
    "simulated_ratings",
    "source_summary",
]

#: Smallest group of raters whose figures may be shown (360 anonymity practice).
DEFAULT_MIN_RATERS = 3


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
        Missing file or columns, non-numeric or missing scores, empty ids, a single
        ratee or rater, or a column used twice; the message names the file and column.
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
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not a readable CSV ({exc.__class__.__name__})", file=path) from None
    df.columns = [str(c).strip() for c in df.columns]
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
    values = pd.to_numeric(df[score].str.strip(), errors="coerce")
    bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype=float)))
    if bad.size:
        i = bad[0]
        raise ConfigError(
            f"{df[score].iloc[i]!r} is not a number; allowed: a finite number in every row",
            file=path,
            path=f"row {line[i]}, {score}",
        )
    out["score"] = values.to_numpy(dtype=float)
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
            out[column] = numeric.to_numpy(dtype=float)
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
