import numpy as np
import pytest

from simlib.streams import STREAMS, Streams


def test_same_key_same_numbers():
    a = Streams(7).rng("performance", agency=1, period=3).random(5)
    b = Streams(7).rng("performance", agency=1, period=3).random(5)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("other"),
    [
        {"seed": 8},
        {"replication": 1},
        {"name": "rating_noise"},
        {"agency": 2},
        {"period": 4},
        {"period": None},
    ],
)
def test_every_key_part_changes_the_stream(other):
    key = {"seed": 7, "replication": 0, "name": "performance", "agency": 1, "period": 3}
    changed = {**key, **other}

    def draw(k):
        return (
            Streams(k["seed"], k["replication"])
            .rng(k["name"], agency=k["agency"], period=k["period"])
            .random(5)
        )

    assert not np.array_equal(draw(key), draw(changed)), f"{other} did not change the stream"


def test_streams_are_append_only():
    """Positions of existing names are part of the seed: they must never move."""
    assert STREAMS[:7] == (
        "workforce", "performance", "raters", "rating_noise", "attendance", "organisation",
        "behaviour",
    )  # fmt: skip
    assert len(set(STREAMS)) == len(STREAMS)


def test_unknown_stream_and_negative_seed_are_rejected():
    with pytest.raises(KeyError, match="unknown random stream"):
        Streams(1).rng("weather")
    with pytest.raises(ValueError, match="non-negative"):
        Streams(-1)
