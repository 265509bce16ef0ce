import numpy as np
import pytest

from simlib.core.streams import STREAMS, Streams


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


# -- keyed streams ----------------------------------------------------------------------------


def test_keyed_draws_belong_to_their_id_whatever_else_is_drawn():
    """One id's draws do not depend on which other ids are drawn, nor in what order."""
    k = Streams(7, 2).keyed("hiring", agency=1, period=11)
    everyone = k.normal(np.arange(1000), 3)
    some = np.array([999, 5, 17])
    np.testing.assert_array_equal(k.normal(some, 3), everyone[some])
    np.testing.assert_array_equal(k.normal(some, 2, first=1), everyone[some, 1:])
    np.testing.assert_array_equal(k.uniform(some), k.uniform(np.arange(1000))[some])
    # One slot or a block of slots: entry (id, slot) is the same number.
    far = (1 << 20) + 4
    np.testing.assert_array_equal(k.uniform(some, first=far), k.uniform(some, 2, first=far)[:, 0])


@pytest.mark.parametrize(
    "other",
    [{"seed": 8}, {"replication": 1}, {"name": "rating_noise"}, {"agency": 2}, {"period": 4},
     {"period": None}],
)  # fmt: skip
def test_every_key_part_changes_the_keyed_stream(other):
    key = {"seed": 7, "replication": 0, "name": "performance", "agency": 1, "period": 3}
    changed = {**key, **other}

    def draw(k):
        s = Streams(k["seed"], k["replication"])
        return s.keyed(k["name"], agency=k["agency"], period=k["period"]).uniform(np.arange(5))

    assert not np.array_equal(draw(key), draw(changed)), f"{other} did not change the stream"


def test_keyed_uniforms_and_normals_have_their_distribution():
    """Kolmogorov-Smirnov at the 0.1 % level, and slots and streams uncorrelated."""
    from scipy import stats

    s = Streams(11)
    u = s.keyed("flows", period=11).uniform(np.arange(100_000), 2)
    z = s.keyed("flows", period=23).normal(np.arange(100_000))
    assert stats.kstest(u[:, 0], "uniform").pvalue > 1e-3
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert u.min() > 0 and u.max() < 1
    # Correlations of independent draws: SD 1/sqrt(n) ~ 0.0032; 4 SD is 0.013.
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 0.013
    assert abs(np.corrcoef(u[:, 0], z)[0, 1]) < 0.013


def test_poissons_by_inversion_have_the_poisson_mean_and_variance():
    from simlib.core.streams import gammas, poissons

    n = 200_000
    ids = np.arange(n)
    lam = np.full(n, 2.5)
    x = poissons(Streams(3).keyed("attendance", period=0), ids, lam)
    # Mean 2.5, SE sqrt(2.5 / n); variance 2.5, SE ~ sqrt((2 lam^2 + lam) / n).
    assert abs(x.mean() - 2.5) < 4 * np.sqrt(2.5 / n), x.mean()
    assert abs(x.var() - 2.5) < 4 * np.sqrt((2 * 2.5**2 + 2.5) / n), x.var()
    # One changed rate changes one count only (numpy's sampler would shift the rest).
    lam2 = lam.copy()
    lam2[10] = 9.0
    y = poissons(Streams(3).keyed("attendance", period=0), ids, lam2)
    assert np.flatnonzero(x != y).tolist() in ([], [10])
    g = gammas(Streams(3).keyed("attendance"), ids, 0.5, 2.0)
    # Gamma(0.5, 2): mean 1, variance 2; SE of the mean sqrt(2 / n).
    assert abs(g.mean() - 1.0) < 4 * np.sqrt(2.0 / n), g.mean()


def test_pair_ids_differ_by_order_and_source():
    from simlib.core.streams import pair_ids

    a = pair_ids(np.array([1, 2]), np.array([2, 1]), 0)
    b = pair_ids(np.array([1]), np.array([2]), 1)
    assert a[0] != a[1] and a[0] != b[0]
