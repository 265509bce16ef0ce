"""Write the small simulated rating sets that lme4 is run on. Run only on purpose:

    .venv/bin/python tests/reference/make_cases.py
    Rscript benchmarks/lme4_check.R tests/reference

The first command writes ``<case>.csv`` and ``cases.json`` (the model of each case); the
second fits each case with lme4 and writes ``<case>.lme4.json``, which
``tests/test_variance.py`` compares with :func:`simlib.analysis.fit_variance_components`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
SOURCES = ["peer", "self", "subordinate", "supervisor"]


def crossed(
    *,
    seed: int,
    n_ratees: int,
    n_raters: int,
    per_cell: int,
    sd: dict[str, float],
    grades: bool = False,
) -> pd.DataFrame:
    """Ratings with crossed ratee, rater and source effects, a ratee x source effect,
    a unit effect (raters' work unit) and a numeric covariate ``tenure_years``."""
    rng = np.random.default_rng(seed)
    n_src = len(SOURCES)
    n = n_ratees * n_src * per_cell
    ratee = np.repeat(np.arange(n_ratees), n_src * per_cell)
    source = np.tile(np.repeat(np.arange(n_src), per_cell), n_ratees)
    rater = rng.integers(0, n_raters, n)
    unit = rater % 6
    tenure = rng.uniform(0, 30, n)
    eff = {
        "ratee": rng.normal(0, sd["ratee"], n_ratees),
        "rater": rng.normal(0, sd["rater"], n_raters),
        "source": rng.normal(0, sd["source"], n_src),
        "cell": rng.normal(0, sd["cell"], n_ratees * n_src),
        "unit": rng.normal(0, sd.get("unit", 0.0), 6),
    }
    score = (
        3.0
        + 0.02 * tenure
        + eff["ratee"][ratee]
        + eff["rater"][rater]
        + eff["source"][source]
        + eff["cell"][ratee * n_src + source]
        + eff["unit"][unit]
        + rng.normal(0, sd["resid"], n)
    )
    frame = pd.DataFrame(
        {
            "score": np.round(score, 4),
            "tenure_years": np.round(tenure, 3),
            "ratee": [f"e{i:03d}" for i in ratee],
            "rater": [f"r{i:03d}" for i in rater],
            "source": [SOURCES[i] for i in source],
            "unit": [f"u{i}" for i in unit],
        }
    )
    if grades:
        frame["grade"] = rng.choice(["III", "II", "IV"], n)
    return frame


CASES = {
    "crossed4": {
        "data": {
            "seed": 11,
            "n_ratees": 40,
            "n_raters": 35,
            "per_cell": 3,
            "sd": {"ratee": 0.8, "rater": 0.5, "source": 0.4, "cell": 0.3, "resid": 0.6},
        },
        "model": {
            "response": "score",
            "random": ["ratee", "rater", "source", ["ratee", "source"]],
            "fixed": ["tenure_years"],
        },
    },
    "crossed_units": {
        "data": {
            "seed": 12,
            "n_ratees": 30,
            "n_raters": 50,
            "per_cell": 4,
            "grades": True,
            "sd": {
                "ratee": 0.6,
                "rater": 0.6,
                "source": 0.3,
                "cell": 0.2,
                "unit": 0.4,
                "resid": 0.7,
            },
        },
        "model": {
            "response": "score",
            "random": ["ratee", "rater", "unit", ["ratee", "source"]],
            "fixed": ["tenure_years", "grade", "source"],
        },
    },
    "boundary": {
        # No source effect at all: the REML estimate sits on the boundary (lme4: "singular").
        "data": {
            "seed": 13,
            "n_ratees": 25,
            "n_raters": 25,
            "per_cell": 3,
            "sd": {"ratee": 0.7, "rater": 0.4, "source": 0.0, "cell": 0.0, "resid": 0.8},
        },
        "model": {
            "response": "score",
            "random": ["ratee", "rater", "source"],
            "fixed": ["tenure_years"],
        },
    },
}


def main() -> None:
    spec = {}
    for name, case in CASES.items():
        frame = crossed(**case["data"])
        frame.to_csv(HERE / f"{name}.csv", index=False)
        spec[name] = {"csv": f"{name}.csv", **case["model"]}
    (HERE / "cases.json").write_text(json.dumps(spec, indent=2) + "\n")


if __name__ == "__main__":
    main()
