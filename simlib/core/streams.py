"""Random streams: one root seed; draws keyed by what they belong to.

Two kinds of stream come from :class:`Streams`:

* :meth:`Streams.rng` -- a ``numpy`` Generator seeded by ``SeedSequence(seed,
  spawn_key=(replication, agency, stream[, period]))``, for draws made in one fixed-size
  block whose size the policy cannot change (the initial workforce, the organisation's
  achievement shock, a campaign's citizens).
* :meth:`Streams.keyed` -- a :class:`Keyed` stream, for draws that belong to an entity: a
  person, a post in a month (a vacancy), a rater pair. Entry ``(id, slot)`` is a fixed
  function of the stream's key, the entity id and the slot (a counter-based generator: the
  splitmix64 finaliser of the key, the id and the slot), so a draw never depends on how
  many draws were made before it or for whom. One extra leaver adds one entity's draws and
  changes no one else's: this is what keeps common random numbers paired across policy
  arms.

Functions that draw take ``rng`` as either kind (:data:`Draws`) and draw through
:func:`uniforms`, :func:`normals`, :func:`gammas` and :func:`poissons` with the ids the
draws belong to; given a Generator they draw one block in id order.

``STREAMS`` is append-only: adding a name at the end leaves every existing stream unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import gammaincinv, ndtri

__all__ = [
    "EXTERNAL",
    "STREAMS",
    "Draws",
    "Keyed",
    "Streams",
    "gammas",
    "normals",
    "pair_ids",
    "poissons",
    "uniforms",
]

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
    "transfers",
    "hiring",
    "reluctance",
    "careers",
)

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_SLOT = np.uint64(0xD1B54A32D192ED03)
_MASK = (1 << 64) - 1
#: Id of "no entity" (the head's external rater): the largest 64-bit id.
EXTERNAL = _MASK
#: spawn_key tag that separates keyed streams from Generator streams of the same name.
_KEYED_TAG = 0x6B6579


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (Steele, Lea & Flood 2014), in place on a uint64 array we own."""
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def _as_ids(ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.dtype == np.uint64:
        return ids
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"entity ids must be integers, not {ids.dtype}")
    return ids.astype(np.int64).view(np.uint64)


def pair_ids(a: np.ndarray, b: np.ndarray, c: np.ndarray | int = 0) -> np.ndarray:
    """One 64-bit id for each (a, b, c) triple, e.g. (ratee, rater, source)."""
    h = _mix(_as_ids(a) * _GAMMA + np.uint64(1))
    h = _mix(h + _as_ids(np.broadcast_to(c, np.shape(a))) * _SLOT)
    return h + _as_ids(b)


@dataclass(frozen=True, slots=True)
class Keyed:
    """A keyed stream: fixed draws per entity id and slot (see the module docstring).

    ``slots=None`` gives one draw per id (shape ``(k,)``); an integer ``s`` gives slots
    ``first .. first + s - 1`` (shape ``(k, s)``).
    """

    key: int

    def bits(self, ids: np.ndarray, slots: int | None = None, *, first: int = 0) -> np.ndarray:
        """Raw 64-bit words, one per id and slot."""
        base = _as_ids(ids) * _GAMMA  # a new array: mixed in place
        base += np.uint64(self.key)
        base = _mix(base)
        if slots is None:
            base += np.uint64(((first + 1) * int(_SLOT)) & _MASK)
            return _mix(base)
        slot = (np.arange(first, first + slots, dtype=np.uint64) + np.uint64(1)) * _SLOT
        return _mix(base[:, None] + slot[None, :])

    def uniform(self, ids: np.ndarray, slots: int | None = None, *, first: int = 0) -> np.ndarray:
        """Uniforms on the open interval (0, 1)."""
        b = self.bits(ids, slots, first=first)
        return ((b >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53

    def normal(self, ids: np.ndarray, slots: int | None = None, *, first: int = 0) -> np.ndarray:
        """Standard normals (inverse normal CDF of :meth:`uniform`)."""
        return ndtri(self.uniform(ids, slots, first=first))


#: What a drawing function accepts: a Generator (one block in id order) or a keyed stream.
Draws = np.random.Generator | Keyed


def _shape(ids: np.ndarray, slots: int | None) -> tuple[int, ...]:
    k = len(ids)
    return (k,) if slots is None else (k, slots)


def uniforms(rng: Draws, ids: np.ndarray, slots: int | None = None, *, first: int = 0):
    """Uniforms for ``ids`` (and ``slots``); a Generator draws one block of that shape."""
    if isinstance(rng, Keyed):
        return rng.uniform(ids, slots, first=first)
    return rng.random(_shape(ids, slots))


def normals(rng: Draws, ids: np.ndarray, slots: int | None = None, *, first: int = 0):
    """Standard normals for ``ids`` (and ``slots``); a Generator draws one block."""
    if isinstance(rng, Keyed):
        return rng.normal(ids, slots, first=first)
    return rng.standard_normal(_shape(ids, slots))


def gammas(rng: Draws, ids: np.ndarray, shape: float, scale: float, *, first: int = 0):
    """Gamma(shape, scale) variates for ``ids`` (keyed: by inversion of one uniform each)."""
    if isinstance(rng, Keyed):
        return scale * gammaincinv(shape, rng.uniform(ids, first=first))
    return rng.gamma(shape, scale, len(ids))


def poissons(rng: Draws, ids: np.ndarray, lam: np.ndarray, *, first: int = 0) -> np.ndarray:
    """Poisson(lam) counts for ``ids``, each by inversion of one uniform.

    Inversion uses exactly one uniform per id whatever the rate, so a changed rate changes
    only its own count (numpy's Poisson sampler uses a varying number of draws per count).
    """
    u = uniforms(rng, ids, first=first)
    lam = np.asarray(lam, dtype=np.float64)
    k = np.zeros(len(u), dtype=np.int64)
    p = np.exp(-lam)
    # Those still searching after j steps all have count j: work on them alone.
    idx = np.flatnonzero(u >= p)
    ua, la, pa, ca = u[idx], lam[idx], p[idx], p[idx]
    j = 0
    while idx.size:
        j += 1
        k[idx] = j
        pa = pa * la / j
        ca = ca + pa
        # pa == 0: the tail underflowed; the count stays where it is.
        keep = (ua >= ca) & (pa > 0)
        idx, ua, la, pa, ca = idx[keep], ua[keep], la[keep], pa[keep], ca[keep]
    return k


@lru_cache(maxsize=4096)
def _keyed_key(seed: int, key: tuple[int, ...]) -> int:
    state = np.random.SeedSequence(seed, spawn_key=key).generate_state(2, np.uint64)
    return int(state[0])


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

    def _key(self, name: str, agency: int, period: int | None) -> tuple[int, ...]:
        if name not in STREAMS:
            raise KeyError(f"unknown random stream {name!r}; known: {', '.join(STREAMS)}")
        key = (self.replication, agency, STREAMS.index(name))
        return key if period is None else (*key, period)

    def rng(self, name: str, *, agency: int = 0, period: int | None = None) -> np.random.Generator:
        """Generator for component ``name`` of ``agency`` in ``period`` (a month index).

        ``period=None`` gives the component's stream for draws made once, at the start.

        Raises
        ------
        KeyError
            If ``name`` is not in :data:`STREAMS`.
        """
        key = self._key(name, agency, period)
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=key))

    def keyed(self, name: str, *, agency: int = 0, period: int | None = None) -> Keyed:
        """Keyed stream of component ``name`` of ``agency`` in ``period`` (a month index).

        Its draws are indexed by entity id (see :class:`Keyed`); ``period=None`` gives draws
        that belong to the entity for good (a person's traits).

        Raises
        ------
        KeyError
            If ``name`` is not in :data:`STREAMS`.
        """
        key = (*self._key(name, agency, period), _KEYED_TAG, 0 if period is None else 1)
        return Keyed(_keyed_key(self.seed, key))
