"""Analysis of model output and rating data.

Owns the estimators that read simulated or real tables and say what they mean. So far:
variance components of 360-degree ratings by REML (:mod:`simlib.analysis.variance`, with
the sparse linear algebra in :mod:`simlib.analysis.reml`)::

    from simlib.analysis import fit_variance_components, icc
    fit = fit_variance_components(
        ratings, response="score", random=["ratee", "rater", "source", ("ratee", "source")]
    )
    fit.components          # variance, sd, share, ci_low, ci_high, n_levels
    icc(fit, "ratee", k=5)  # reliability of a mean of five ratings
"""

from simlib.analysis.variance import CI_METHODS, VarianceFit, fit_variance_components, icc

__all__ = ["CI_METHODS", "VarianceFit", "fit_variance_components", "icc"]
