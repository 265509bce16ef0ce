"""Random streams: one root seed, one named, independent stream per stochastic component.

Every random draw in the model comes from :meth:`Streams.rng`, a ``numpy`` Generator
seeded by ``SeedSequence(seed, spawn_key=(replication, agency, stream[, period]))``. Because
each (agency, component, period) has its own stream, what one component draws never shifts
another, and replication *r* of every policy arm sees the same random numbers (common
random numbers): differences between arms come from the policy, not from luck.

``STREAMS`` is append-only: adding a name at the end leaves every existing stream unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["STREAMS", "Streams"]

#: Names of the stochastic components. Append only: positions are part of the seed.
STREAMS = (
    "workforce",
    "performance",
    "raters",
    "rating_noise",
    "attendance",
    "organisation",
    "behaviour",
    "training",
    "adoption",
    "arrivals",
    "flows",
    "gaming",
    "socialisation",
)


@dataclass(frozen=True, slots=True)
class Streams:
    """Random streams of one replication.

    Parameters
    ----------
    seed
        Root seed of the experiment (a non-negative integer).
    replication
        Replication number; replication *r* of every policy arm uses the same streams.
    """

    seed: int
    replication: int = 0

    def __post_init__(self) -> None:
        if self.seed < 0 or self.replication < 0:
            raise ValueError("seed and replication must be non-negative integers")

    def rng(self, name: str, *, agency: int = 0, period: int | None = None) -> np.random.Generator:
        """Generator for component ``name`` of ``agency`` in ``period`` (a month index).

        ``period=None`` gives the component's stream for draws made once, at the start.

        Raises
        ------
        KeyError
            If ``name`` is not in :data:`STREAMS`.
        """
        if name not in STREAMS:
            raise KeyError(f"unknown random stream {name!r}; known: {', '.join(STREAMS)}")
        key = (self.replication, agency, STREAMS.index(name))
        if period is not None:
            key = (*key, period)
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=key))
