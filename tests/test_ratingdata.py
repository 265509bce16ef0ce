"""Rating data sets: simulated ones written by the CLI, real ones read and checked."""

import numpy as np
import pandas as pd
import pytest

from simlib.cli.main import main
from simlib.core.errors import ConfigError
from simlib.core.paths import SCENARIOS
from simlib.store.ratingdata import read_ratings, source_summary


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("ratings") / "sim.csv"
    assert main(["ratings", "simulate", str(SCENARIOS / "org_from_csv.yaml"), "--seed", "4",
                 "--quarters", "2", "--out", str(out)]) == 0  # fmt: skip
    return out


def test_simulated_file_has_ratings_with_true_scores(simulated):
    df = pd.read_csv(simulated)
    assert {"ratee", "rater", "source", "dimension", "score", "true_score"} <= set(df.columns)
    assert {"ratee_sex", "rater_sex", "ratee_golongan", "ratee_unit"} <= set(df.columns)
    assert set(df.period) == {"2025Q1", "2025Q2"}
    assert df.score.between(1, 5).all()
    assert (df.score == df.score.round()).all()
    assert df.dimension.nunique() == 7
    # The ratings carry information about the truth.
    assert np.corrcoef(df.score, df.true_score)[0, 1] > 0.2


def test_same_seed_same_file(simulated, tmp_path):
    again = tmp_path / "again.csv"
    assert main(["ratings", "simulate", str(SCENARIOS / "org_from_csv.yaml"), "--seed", "4",
                 "--quarters", "2", "--out", str(again)]) == 0  # fmt: skip
    assert again.read_bytes() == simulated.read_bytes()


def test_read_ratings_pseudonymises_ids(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "who,by,value,src\nNIP-9,NIP-1,4,peer\nNIP-9,NIP-2,3,peer\nNIP-7,NIP-1,5,supervisor\n"
    )
    data = read_ratings(path, ratee="who", rater="by", score="value", source="src")
    assert list(data.frame.ratee) == [1, 1, 0]
    assert list(data.frame.rater) == [0, 1, 0]
    assert not data.frame.astype(str).apply(lambda c: c.str.contains("NIP")).any().any()


def test_source_summary_withholds_small_groups(tmp_path):
    rows = ["ratee,rater,score,source"]
    rows += [f"e{i},p{j},{(i + j) % 5 + 1},peer" for i in range(5) for j in range(4)]
    rows += [f"e{i},boss,4,supervisor" for i in range(5)]
    path = tmp_path / "r.csv"
    path.write_text("\n".join(rows) + "\n")
    data = read_ratings(path, ratee="ratee", rater="rater", score="score", source="source")
    table = source_summary(data, min_raters=3).set_index("source")
    assert not table.loc["peer", "withheld"]
    assert table.loc["supervisor", "withheld"]
    assert np.isnan(table.loc["supervisor", "mean_score"])


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        (
            "a,b,c\n1,2,3\n",
            {"ratee": "x", "rater": "b", "score": "c"},
            r"header: no column 'x'; allowed",
        ),
        ("r,t,s\n1,2,x\n1,3,4\n", {}, r"row 2, s: not a number; allowed"),
        ("r,t,s\n1,2,\n", {}, r"row 2, s: empty value"),
        ("r,t,s\n,2,3\n1,3,4\n", {}, r"row 2, r: empty value; allowed"),
        ("r,t,s\n1,2,3\n2,2,4\n", {}, r"t: a single rater; allowed: at least 2"),
        ("r,t,s\n", {}, r"no ratings"),
        ("r,t,s\n1,2,3\n", {"score": "r"}, r"given for two roles"),
    ],
)
def test_bad_rating_files(tmp_path, text, kwargs, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    roles = {"ratee": "r", "rater": "t", "score": "s", **kwargs}
    with pytest.raises(ConfigError, match=match):
        read_ratings(path, **roles)


def test_cli_reports_bad_rating_files_in_one_line(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("ratee,rater,score\na,b,high\n")
    status = main(["ratings", "analyze", str(path), "--ratee", "ratee", "--rater", "rater",
                   "--score", "score"])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "row 2, score: not a number" in err
    assert "high" not in err


def test_analyze_decomposes_simulated_ratings(simulated, capsys):
    status = main(["ratings", "analyze", str(simulated), "--ratee", "ratee", "--rater", "rater",
                   "--score", "score", "--source", "source", "--factor", "ratee:rater",
                   "--covariate", "ratee_sex", "--json"])  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0
    assert out.count("\n") == 1, "one JSON object"
    report = __import__("json").loads(out)
    components = {c["component"]: c for c in report["components"]}
    assert set(components) == {
        "ratee",
        "rater",
        "source",
        "ratee:source",
        "ratee:rater",
        "residual",
    }
    assert abs(sum(c["share"] for c in components.values()) - 1) < 1e-9
    assert all(c["ci_low"] <= c["variance"] <= c["ci_high"] for c in components.values())
    assert report["n_obs"] == len(pd.read_csv(simulated))
    assert {"term": "ratee_sex[T.M]"}.items() <= next(
        f for f in report["fixed_effects"] if f["term"] != "(Intercept)"
    ).items()
    assert 0 < report["icc"]["ratee_icc1"] < 1
    withheld = {s["source"]: s["withheld"] for s in report["sources"]}
    assert withheld["peer"] is False


def test_analyze_prints_a_table(simulated, capsys):
    status = main(["ratings", "analyze", str(simulated), "--ratee", "ratee", "--rater", "rater",
                   "--score", "score"])  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0
    assert "Variance components" in out and "ratee" in out and "residual" in out


def test_analyze_rejects_an_unknown_interaction(simulated, capsys):
    status = main(["ratings", "analyze", str(simulated), "--ratee", "ratee", "--rater", "rater",
                   "--score", "score", "--factor", "ratee:boss"])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2
    assert "--factor: interaction 'ratee:boss'" in err and "allowed" in err
