"""Rating generation: who rates whom, and how ratings depart from true performance.

The engine's rating step calls one *rating rule* from :data:`RATING_RULES`, chosen by
``policy.appraisal.rater``. A rule receives true scores and returns :class:`Ratings`;
the 360-degree model plugs in here as another rule. The foundation rule is the
direct superior (pejabat penilai kinerja, PermenPANRB 6/2022)::

    rating[i] = true[i] + leniency[supervisor(i)] + shift + noise_sd * e[i]

where leniency is a persistent rater effect and ``shift`` adds the inflation seen when
ratings decide pay (about 0.33 SD, Jawahar & Williams 1997). The head of the agency is
rated by an external superior with a leniency of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simlib.scenario import Raters

__all__ = ["RATING_RULES", "Ratings", "draw_leniency", "rate_by_supervisor"]


@dataclass(frozen=True, eq=False)
class Ratings:
    """Ratings of one appraisal period (SD units, relative to expectation).

    ``table`` optionally holds the long-format rating rows (ratee, rater, source, ...)
    that multi-source rules produce.
    """

    hasil_kerja: np.ndarray
    perilaku: np.ndarray
    table: pd.DataFrame | None = None


def draw_leniency(n: int, params: Raters, *, rng: np.random.Generator) -> np.ndarray:
    """Persistent leniency of each employee as a rater; entry ``n`` is the external rater."""
    return params.leniency_mean + params.leniency_sd * rng.standard_normal(n + 1)


def rate_by_supervisor(
    hasil_true: np.ndarray,
    perilaku_true: np.ndarray,
    *,
    supervisor: np.ndarray,
    leniency: np.ndarray,
    noise_sd: float,
    shift: float,
    rng: np.random.Generator,
) -> Ratings:
    """Each employee rated by the direct superior (the head by the external rater)."""
    n = len(hasil_true)
    rater = np.where(supervisor < 0, n, supervisor)
    bias = leniency[rater] + shift
    z = rng.standard_normal((2, n))
    return Ratings(hasil_true + bias + noise_sd * z[0], perilaku_true + bias + noise_sd * z[1])


#: Rating rules by name (``policy.appraisal.rater``).
RATING_RULES: dict[str, Callable[..., Ratings]] = {"supervisor": rate_by_supervisor}
