"""Golden results: the tiny scenario must reproduce the recorded tables exactly.

If a change to the model is intended, regenerate with ``tests/golden/regenerate.py`` and
review the diff of ``tests/golden/*.csv``.
"""

import importlib.util
import io
from pathlib import Path

import pandas as pd
import pytest

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def result():
    spec = importlib.util.spec_from_file_location("regenerate", GOLDEN / "regenerate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.golden_run()


@pytest.mark.parametrize("table", ["outcomes", "ledger"])
def test_matches_golden(result, table):
    expected = pd.read_csv(GOLDEN / f"tiny_{table}.csv")
    got = pd.read_csv(io.StringIO(getattr(result, table).to_csv(index=False, float_format="%.17g")))
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
