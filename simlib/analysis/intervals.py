"""Confidence intervals for variance components: profile likelihood and parametric bootstrap.

This module owns how :func:`simlib.analysis.fit_variance_components` turns a REML optimum
into intervals for every variance (the random factors' and the residual).

Profile likelihood (``ci="profile"``)
    For a standard deviation ``sigma_c`` the profile is
    ``P(v) = min { -2 log L_R(phi) : phi_c = v^2 }`` over all other variances ``phi``; the
    interval is ``{v : P(v) - d_min <= chi2_1(level)}``, squared for the variance. The
    lower end is 0 when ``P(0)`` is still inside. Endpoints are found by secant steps on
    the signed root ``zeta(v) = sign(v - v_hat) sqrt(P(v) - d_min)``, nearly linear in
    ``v``, started from the Wald interval and kept inside a bracket; every inner minimum is
    a projected Newton iteration in ``phi`` (``phi >= 0``) with the average-information
    Hessian, warm-started by the linear prediction of the other variances. A profile
    point costs 2-4 REML evaluations and an endpoint 3-5 points, instead of the hundreds
    of evaluations of a generic optimiser inside a generic root finder.

    The profiled criterion is the REML one, the same that gives the estimates, so an
    interval always contains its estimate. lme4's ``confint(method = "profile")`` refits
    by maximum likelihood and profiles the ML deviance even for a REML fit (lme4 issues
    #325 and #838), so its intervals sit somewhat lower and narrower and are not expected
    to match these; ``benchmarks/lme4_check.R`` records them for comparison only.

Parametric bootstrap (``ci="bootstrap"``)
    ``n_boot`` data sets drawn from the fitted model (same design), refitted; percentile
    intervals.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from simlib.analysis.reml import Optimum, REMLProblem, optimize_theta

__all__ = ["bootstrap_intervals", "profile_intervals"]

#: Variances are kept at or above this fraction of the residual variance when profiling
#: (so that each one's gradient stays defined); the effect on the criterion is nil.
_FLOOR = 1e-10


class _Profiler:
    """``-2 log L_R`` as a function of the variances, with Newton minimisation."""

    def __init__(self, problem: REMLProblem) -> None:
        self.problem = problem
        self.k = problem.n_factors
        self.dof = problem.n_obs - problem.n_fixed
        self.n_evaluations = 0

    def value_grad_hess(self, phi: np.ndarray, *, hessian: bool = True):
        """``F(phi)``, its gradient and the average-information Hessian."""
        k, s = self.k, float(phi[-1])
        theta = np.sqrt(np.maximum(phi[:k], 0.0) / s)
        ev = self.problem.evaluate(theta, keep=hessian)
        self.n_evaluations += 1
        f = ev.logdet_mx + self.dof * math.log(2.0 * math.pi * s) + ev.r2 / s
        f_theta = ev.dlogdet_mx + ev.dr2 / s
        f_s = self.dof / s - ev.r2 / s**2
        safe = np.maximum(theta, math.sqrt(_FLOOR))
        grad = np.empty(k + 1)
        grad[:k] = f_theta / (2.0 * safe * s)
        grad[k] = f_s - float(f_theta @ theta) / (2.0 * s)
        hess = self.problem.average_information(ev, s) if hessian else None
        return float(f), grad, hess

    def minimise(self, phi0: np.ndarray, fixed: int, *, max_iter: int = 50, tol: float = 1e-9):
        """Minimise ``F`` over every variance but ``phi[fixed]``; returns (F, phi, hess)."""
        phi = phi0.copy()
        f, g, h = self.value_grad_hess(phi)  # may raise LinAlgError: the caller restarts
        free_all = np.array([j for j in range(self.k + 1) if j != fixed])
        for _ in range(max_iter):
            lower = np.full(self.k + 1, _FLOOR * phi[-1])
            lower[-1] = 1e-12 * max(phi[-1], 1e-300)
            at_bound = (phi <= lower * (1.0 + 1e-9)) & (g > 0)
            free = np.array([j for j in free_all if not at_bound[j]], dtype=int)
            if len(free) == 0:
                break
            hff = h[np.ix_(free, free)]
            step = np.zeros_like(phi)
            step[free] = -np.linalg.solve(hff, g[free])
            decrement = -float(g[free] @ step[free]) / 2.0
            if decrement < tol * (1.0 + abs(f)):
                break
            t = 1.0
            f_new = math.inf
            while t >= 1e-8:
                trial = np.maximum(phi + t * step, lower)
                trial[fixed] = phi[fixed]
                try:
                    f_new, g_new, h_new = self.value_grad_hess(trial)
                except np.linalg.LinAlgError:  # a step into a numerically singular region
                    f_new = math.inf
                if f_new <= f + 1e-4 * float(g @ (trial - phi)):
                    break
                t *= 0.5
            if not f_new <= f:
                break
            phi, f, g, h = trial, f_new, g_new, h_new
        return f, phi, h


def profile_intervals(problem: REMLProblem, opt: Optimum, level: float):
    """Profile-likelihood intervals for every variance (see the module docstring).

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper ends for ``(sigma_1^2, ..., sigma_K^2, sigma^2)``.
    """
    prof = _Profiler(problem)
    k = problem.n_factors
    target = math.sqrt(float(stats.chi2.ppf(level, 1)))
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    s_hat = opt.evaluation.r2 / prof.dof
    phi_hat = np.append(opt.theta**2 * s_hat, s_hat)
    d_min, _, h_hat = prof.value_grad_hess(phi_hat)
    d_min = min(d_min, opt.deviance)
    # Covariance of the variances from the average information (F = -2 log L).
    cov = 2.0 * np.linalg.pinv(h_hat)
    lows = np.zeros(k + 1)
    highs = np.zeros(k + 1)
    for c in range(k + 1):
        v_hat = math.sqrt(phi_hat[c])
        se_phi = math.sqrt(max(cov[c, c], 0.0))
        for sign in (-1.0, 1.0):
            end = _endpoint(prof, phi_hat, h_hat, c, sign, v_hat, se_phi, z, target, d_min)
            if sign < 0:
                lows[c] = end
            else:
                highs[c] = end
    return lows**2, highs**2


def _endpoint(prof, phi_hat, h_hat, c, sign, v_hat, se_phi, z, target, d_min) -> float:
    """One end of the profile interval for ``sigma_c`` (``sign`` -1: lower, +1: upper)."""
    if sign < 0 and v_hat == 0.0:
        return 0.0
    free = np.array([j for j in range(len(phi_hat)) if j != c])
    # d phi_free / d phi_c along the profile, to first order (implicit function theorem).
    slope = -np.linalg.solve(h_hat[np.ix_(free, free)], h_hat[free, c])
    scale = math.sqrt(phi_hat.sum())
    floor_v = math.sqrt(_FLOOR * phi_hat[-1])

    cache: dict[float, float] = {}
    state = {"phi": phi_hat.copy(), "v": v_hat}

    def zeta(v: float) -> float:
        if v in cache:
            return cache[v]
        start = state["phi"].copy()
        start[c] = v**2
        predicted = start.copy()
        predicted[free] = np.maximum(start[free] + slope * (v**2 - state["v"] ** 2), 0.0)
        predicted[-1] = max(predicted[-1], 0.5 * start[-1])
        try:
            f, phi, _ = prof.minimise(predicted, c)
        except np.linalg.LinAlgError:  # the linear prediction went too far: start plainly
            f, phi, _ = prof.minimise(start, c)
        state["phi"], state["v"] = phi, v
        excess = max(f - d_min, 0.0)
        value = math.copysign(math.sqrt(excess), v - v_hat) if v != v_hat else 0.0
        cache[v] = value
        return value

    goal = sign * target
    # Wald start on the sd scale (delta method), or from the variance scale at 0.
    # (the smaller of the two: near 0 the delta method on the sd scale breaks down).
    step = math.sqrt(z * se_phi)
    if v_hat > 0:
        step = min(step, z * se_phi / (2.0 * v_hat))
    step = max(step, 1e-3 * scale)
    v_prev, z_prev = v_hat, 0.0
    v_cur = v_hat + sign * step
    # A random factor's variance may be 0; the residual's may not.
    zero_allowed = c < len(phi_hat) - 1
    if sign < 0 and v_cur <= floor_v:
        if zero_allowed and zeta(0.0) >= goal:  # P(0) still inside the interval
            return 0.0
        v_cur = v_hat / 2.0
    bracket_in, bracket_out = v_hat, None  # inside (|zeta| < target) and outside points
    for _ in range(60):
        z_cur = zeta(v_cur)
        if abs(z_cur - goal) < 1e-4 * target:
            return v_cur
        if (z_cur - goal) * sign < 0:  # still inside
            bracket_in = v_cur
        else:
            bracket_out = v_cur
        if z_cur != z_prev:
            v_next = v_cur + (goal - z_cur) * (v_cur - v_prev) / (z_cur - z_prev)
        else:
            v_next = v_cur + sign * step
        if bracket_out is not None:
            lo, hi = sorted((bracket_in, bracket_out))
            if not lo < v_next < hi:
                v_next = 0.5 * (lo + hi)
            if hi - lo < 1e-7 * scale:
                return 0.5 * (lo + hi)
        elif sign < 0 and v_next <= floor_v:
            if zero_allowed:
                if zeta(0.0) >= goal:
                    return 0.0
                bracket_out = 0.0
            v_next = 0.5 * bracket_in
        elif sign > 0:
            v_next = min(max(v_next, v_cur * 1.05), v_cur * 4.0 + step)
        v_prev, z_prev, v_cur = v_cur, z_cur, v_next
    # Very flat or ragged profile: fall back on a plain bracketing root finder.
    lo, hi = sorted((bracket_in, bracket_out if bracket_out is not None else v_cur))
    return optimize.brentq(lambda v: zeta(v) - goal, lo, hi, xtol=1e-7 * scale)


def bootstrap_intervals(
    problem: REMLProblem, opt: Optimum, level: float, n_boot: int, rng: np.random.Generator
):
    """Parametric-bootstrap percentile intervals for every variance.

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper ends for ``(sigma_1^2, ..., sigma_K^2, sigma^2)``.
    """
    ev = opt.evaluation
    dof = problem.n_obs - problem.n_fixed
    sigma = math.sqrt(ev.r2 / dof)
    theta = opt.theta
    mean = problem._x @ ev.beta
    draws = np.empty((n_boot, len(theta) + 1))
    for b in range(n_boot):
        y = mean + sigma * rng.standard_normal(problem.n_obs)
        for k, c in enumerate(problem._codes):
            y = y + theta[k] * sigma * rng.standard_normal(problem.n_levels[k])[c]
        boot = REMLProblem(problem._codes, problem.n_levels, problem._x, y)
        res = optimize_theta(boot, theta)
        s2 = res.evaluation.r2 / dof
        draws[b] = np.append(res.theta**2 * s2, s2)
    alpha = (1.0 - level) / 2.0
    return np.quantile(draws, alpha, axis=0), np.quantile(draws, 1.0 - alpha, axis=0)
