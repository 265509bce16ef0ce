"""Privacy and robustness of `simlib ratings analyze` on rating data (issue 11).

No output may reveal the ratings of a group of fewer than ``--min-raters`` raters (text or
JSON, per-source tables or fixed effects), no error line may quote a cell (it may hold a
name), and bad rating data ends in one line naming the file, with exit status 2.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simlib.analysis import fit_variance_components
from simlib.cli.main import main
from simlib.store.ratingdata import (
    fixed_effects_table,
    read_ratings,
    reference_levels,
    with_safe_reference,
)

ROLES = ["--ratee", "ratee", "--rater", "rater", "--score", "score"]


def ratings_csv(path, *, small_raters: int, small: str = "a_user", seed: int = 4):
    """12 ratees, each rated by 3 of 6 peers and one of 3 supervisors; the first 6 also by
    one of ``small_raters`` raters from source ``small`` (sorting first, so it would be
    the reference level), who rate well below the rest."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(12):
        for j in rng.choice(6, 3, replace=False):
            rows.append((f"e{i}", f"p{j}", "peer"))
        rows.append((f"e{i}", f"s{i % 3}", "supervisor"))
        if i < 6:
            rows.append((f"e{i}", f"u{i % small_raters}", small))
    df = pd.DataFrame(rows, columns=["ratee", "rater", "source"])
    ratee_effect = {f"e{i}": rng.normal(0.0, 0.5) for i in range(12)}
    offset = np.where(df["source"] == small, -1.0, 0.0)
    noise = rng.normal(0.0, 0.4, len(df))
    df["score"] = np.round(3.3 + df["ratee"].map(ratee_effect) + offset + noise, 2)
    df["is_user"] = (df["source"] == small).astype(int)
    df["name"] = [f"Budi Santoso {k}" for k in range(len(df))]
    df.to_csv(path, index=False)
    return df


def analyze(path, *extra, capsys):
    status = main(["ratings", "analyze", str(path), *ROLES, *extra])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_line_error(status, err, path):
    assert status == 2, err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert str(path) in err, err


# -- small groups: fixed effects of a grouping column ---------------------------------------


@pytest.mark.parametrize("small_raters", [1, 2])
def test_json_withholds_the_effect_of_a_small_covariate_level(tmp_path, capsys, small_raters):
    path = tmp_path / "k.csv"
    ratings_csv(path, small_raters=small_raters)
    status, out, err = analyze(path, "--covariate", "source", "--json", capsys=capsys)
    assert status == 0, err
    report = json.loads(out)
    fixed = {row["term"]: row for row in report["fixed_effects"]}
    # The reference is the first level with at least 3 raters, not the small group, so
    # the intercept describes the peers.
    assert report["reference_levels"] == {"source": "peer"}
    assert fixed["(Intercept)"]["withheld"] is False
    user = fixed["source[T.a_user]"]
    assert user == {
        "term": "source[T.a_user]",
        "estimate": None,
        "se": None,
        "raters": small_raters,
        "withheld": True,
    }
    assert fixed["source[T.supervisor]"]["withheld"] is False
    assert fixed["source[T.supervisor]"]["raters"] == 3
    assert fixed["source[T.supervisor]"]["estimate"] is not None


@pytest.mark.parametrize("small_raters", [1, 2])
def test_text_withholds_the_effect_of_a_small_covariate_level(tmp_path, capsys, small_raters):
    path = tmp_path / "k.csv"
    df = ratings_csv(path, small_raters=small_raters)
    status, out, err = analyze(path, "--covariate", "source", capsys=capsys)
    assert status == 0, err
    # What the model estimates for the small group, fitted without protection: its
    # adjusted mean as intercept (first sorted level) and as intercept + effect.
    data = read_ratings(path, ratee="ratee", rater="rater", score="score", covariates=("source",))
    raw = fit_variance_components(
        data.frame, response="score", random=["ratee", "rater"], fixed=["source"], ci=None
    ).fixed_effects.set_index("term")["estimate"]
    assert raw.index[1] == "source[T.peer]", "the small level is the first sorted one"
    for value in (raw["(Intercept)"], raw["(Intercept)"] + raw["source[T.supervisor]"]):
        assert f"{value:.4g}" not in out, (value, out)
    assert f"{df.loc[df.source == 'a_user', 'score'].mean():.4g}" not in out
    line = next(x for x in out.splitlines() if x.strip().startswith("source[T.a_user]"))
    assert line.split()[1:3] == ["NaN", "NaN"], line
    assert "withheld: source[T.a_user]" in out
    assert "source = peer" in out


@pytest.mark.parametrize("small_raters", [1, 2])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_indicator_of_a_small_group_is_withheld_with_the_intercept(
    tmp_path, capsys, small_raters, fmt
):
    # A 0/1 column is a grouping too: its slope is the difference of two group means, and
    # the intercept (at 0) the mean of the others.
    path = tmp_path / "k.csv"
    ratings_csv(path, small_raters=small_raters)
    extra = ["--covariate", "is_user", *(["--json"] if fmt == "json" else [])]
    status, out, err = analyze(path, *extra, capsys=capsys)
    assert status == 0, err
    if fmt == "json":
        fixed = {row["term"]: row for row in json.loads(out)["fixed_effects"]}
        for term in ("(Intercept)", "is_user"):
            assert fixed[term]["withheld"] is True, fixed
            assert fixed[term]["estimate"] is None and fixed[term]["se"] is None
    else:
        for term in ("(Intercept)", "is_user"):
            line = next(x for x in out.splitlines() if x.strip().startswith(term))
            assert line.split()[1:3] == ["NaN", "NaN"], line
        assert "withheld: (Intercept), is_user" in out


def test_a_level_with_enough_raters_is_shown(tmp_path, capsys):
    path = tmp_path / "k.csv"
    ratings_csv(path, small_raters=2)
    status, out, err = analyze(
        path, "--covariate", "source", "--min-raters", "2", "--json", capsys=capsys
    )
    assert status == 0, err
    report = json.loads(out)
    assert not any(row["withheld"] for row in report["fixed_effects"])
    assert report["reference_levels"] == {"source": "a_user"}


def test_no_level_with_enough_raters_withholds_the_intercept(tmp_path):
    path = tmp_path / "k.csv"
    ratings_csv(path, small_raters=1)
    data = read_ratings(path, ratee="ratee", rater="rater", score="score", covariates=("source",))
    data = with_safe_reference(data, min_raters=7)  # peers are 6, supervisors 3
    assert reference_levels(data) == {"source": "a_user"}
    fit = fit_variance_components(
        data.frame, response="score", random=["ratee", "rater"], fixed=["source"], ci=None
    )
    table = fixed_effects_table(fit.fixed_effects, data, min_raters=7)
    assert table["withheld"].all(), table
    assert table["estimate"].isna().all() and table["se"].isna().all()


def test_a_file_with_fewer_raters_than_the_minimum_is_refused(tmp_path, capsys):
    path = tmp_path / "k.csv"
    ratings_csv(path, small_raters=1)  # 6 + 3 + 1 raters
    status, _, err = analyze(path, "--min-raters", "11", capsys=capsys)
    one_line_error(status, err, path)
    assert "ratings by 10 raters; allowed: at least --min-raters (11)" in err


# -- small groups: the per-source table -----------------------------------------------------


@pytest.mark.parametrize("small_raters", [1, 2])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_per_source_table_withholds_small_sources(tmp_path, capsys, small_raters, fmt):
    path = tmp_path / "k.csv"
    df = ratings_csv(path, small_raters=small_raters)
    extra = ["--source", "source", *(["--json"] if fmt == "json" else [])]
    status, out, err = analyze(path, *extra, capsys=capsys)
    assert status == 0, err
    small_mean = df.loc[df.source == "a_user", "score"].mean()
    if fmt == "json":
        report = json.loads(out)
        sources = {row["source"]: row for row in report["sources"]}
        assert sources["a_user"]["withheld"] is True
        assert sources["a_user"]["mean_score"] is None and sources["a_user"]["ratings"] is None
        assert sources["peer"]["mean_score"] is not None
        assert "conditional_modes" not in report  # no per-level random effects either
    else:
        line = next(x for x in out.splitlines() if x.strip().startswith("a_user"))
        assert "NaN" in line and "True" in line, line
        assert f"{small_mean:.4g}" not in out


# -- error lines quote no cell ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "cell", "problem"),
    [
        ("score", "Budi Santoso 7", "not a number"),
        ("score", "inf", "not a finite number"),
        ("score", "1e308", "a number too large to fit"),
        ("tenure", "-Infinity", "not a finite number"),
    ],
)
def test_error_lines_name_the_row_not_the_cell(tmp_path, capsys, column, cell, problem):
    path = tmp_path / "k.csv"
    df = ratings_csv(path, small_raters=1)
    df["tenure"] = np.arange(len(df)) % 7
    df[column] = df[column].astype(object)
    df.loc[3, column] = cell
    df.to_csv(path, index=False)
    status, _, err = analyze(path, "--covariate", "tenure", capsys=capsys)
    one_line_error(status, err, path)
    assert f"row 5, {column}: {problem}; allowed" in err, err
    assert cell not in err and cell.lower() not in err.lower()


def test_a_name_column_given_as_score_is_not_quoted(tmp_path, capsys):
    path = tmp_path / "k.csv"
    ratings_csv(path, small_raters=1)
    status = main(["ratings", "analyze", str(path), "--ratee", "ratee", "--rater", "rater",
                   "--score", "name"])  # fmt: skip
    err = capsys.readouterr().err
    one_line_error(status, err, path)
    assert "row 2, name: not a number" in err
    assert "Budi" not in err and "Santoso" not in err


# -- one line instead of a traceback ----------------------------------------------------------


def _variant(df: pd.DataFrame, case: str) -> tuple[pd.DataFrame, list[str], str]:
    df = df.copy()
    if case == "equal scores":
        df["score"] = 3
        return df, [], "response column 'score' has the same value in every rating"
    if case == "constant covariate":
        df["flat"] = 7
        return df, ["--covariate", "flat"], "fixed column 'flat' has a single value"
    if case == "collinear covariates":
        df["tenure"] = np.arange(len(df)) % 5
        df["months"] = df["tenure"] * 12 + 6
        return (
            df,
            ["--covariate", "tenure", "--covariate", "months"],
            "fixed column 'months' is collinear with 'tenure' and the intercept",
        )
    if case == "category copying the ratee":  # the profile root-finder failed on it
        df["person"] = "P-" + df["ratee"]
        return (
            df,
            ["--covariate", "person"],
            "random factor 'ratee' is fully explained by the fixed columns 'person'",
        )
    if case == "category copying the source":  # a LinAlgError in the fit
        df["kind"] = df["source"]
        return (
            df,
            ["--source", "source", "--covariate", "kind"],
            "random factor 'source' is fully explained by the fixed columns 'kind'",
        )
    if case == "factor copying the rater":
        df["who"] = df["rater"] + "!"
        return (
            df,
            ["--factor", "who"],
            "random factors 'rater' and 'who' group the ratings identically",
        )
    if case == "extreme scores":  # inside the allowed range, but the fit cannot use them
        df["score"] = df["score"].astype(float)
        df.loc[0, "score"], df.loc[1, "score"] = 1e99, -1e99
        return df, [], "the REML fit failed numerically"
    raise AssertionError(case)


CASES = [
    "equal scores",
    "constant covariate",
    "collinear covariates",
    "category copying the ratee",
    "category copying the source",
    "factor copying the rater",
    "extreme scores",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_rating_data_gives_one_line_naming_the_file(tmp_path, capsys, case):
    path = tmp_path / "bad.csv"
    df, extra, message = _variant(ratings_csv(tmp_path / "k.csv", small_raters=1), case)
    df.to_csv(path, index=False)
    status, _, err = analyze(path, *extra, capsys=capsys)
    one_line_error(status, err, path)
    assert message in err, err


def test_a_repeated_column_name_is_refused(tmp_path, capsys):
    path = tmp_path / "dup.csv"
    df = ratings_csv(tmp_path / "k.csv", small_raters=1)
    lines = df.to_csv(index=False).splitlines()
    lines = [lines[0] + ",score", *(line + ",1" for line in lines[1:])]
    path.write_text("\n".join(lines) + "\n")
    status, _, err = analyze(path, capsys=capsys)
    one_line_error(status, err, path)
    assert "header: column 'score' appears 2 times; allowed: each column name once" in err


# -- option ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "allowed"),
    [
        (["ratings", "analyze", "k.csv", *ROLES, "--min-raters", "99999999999999999999"],
         "allowed: 1 to 2**63-1"),
        (["ratings", "analyze", "k.csv", *ROLES, "--min-raters", "0"], "allowed: 1 to 2**63-1"),
        (["ratings", "simulate", "--out", "x.csv", "--seed", "-1"], "allowed: 0 to 2**63-1"),
        (["ratings", "simulate", "--out", "x.csv", "--quarters", "0"], "allowed: 1 to 200"),
        (["sweep", "--workers", "0"], "allowed: 1 to 2**63-1"),
    ],
)  # fmt: skip
def test_each_option_states_its_own_range(capsys, argv, allowed):
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert allowed in err, err
