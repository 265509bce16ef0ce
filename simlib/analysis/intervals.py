"""Confidence intervals for variance components: profile likelihood and parametric bootstrap.

This module owns how :func:`simlib.analysis.fit_variance_components` turns a REML optimum
into intervals for every variance (the random factors' and the residual).

Profile likelihood (``ci="profile"``)
    For a standard deviation ``sigma_c`` the profile is
    ``P(v) = min { -2 log L_R(phi) : phi_c = v^2 }`` over all other variances ``phi``; the
    interval is ``{v : P(v) - d_min <= chi2_1(level)}``, squared for the variance. The
    lower end is 0 when ``P(0)`` is still inside.

    Each endpoint is one Newton iteration on the pair (``v``, other variances) at once,
    one REML evaluation per step: at the current point the gradient and the
    average-information Hessian give the Newton step of the inner minimisation, the
    profile value at the inner minimum of that quadratic model (``F - g' H^-1 g / 2``)
    and the profile's slope there (the envelope theorem), so ``v`` takes a Newton step
    on the signed root ``zeta(v) = sign(v - v_hat) sqrt(P(v) - d_min)`` (nearly linear in
    ``v``) while the other variances take theirs, warm-started along the implicit
    function ``d phi_free / d phi_c = -H_ff^-1 H_fc``. It stops when ``zeta`` is within
    1e-4 of the target and the inner Newton decrement is below 1e-5 (so the profile value
    is exact to that), or, without evaluating there, at a step whose own error estimate
    (``zeta'' dv^2 / 2``, ``zeta''`` from the slopes at the last two points, plus a
    quarter of the decrement over the target) is below 5e-5: Newton's error is
    quadratic, so once the last residual is small the next point is known well enough.
    The first end of a component starts from the Wald interval on the sd scale; the
    second from a quadratic in ``v`` through the estimate with the Wald slope and
    through the first end (the profile's skewness), and at 0 directly when that
    quadratic says the interval reaches 0. Measured on lme4's InstEval
    (``benchmarks/ratings.py``, four components): 11 evaluations for the 8 endpoints,
    against 41 for the nested search. A step that fails
    (a non-positive-definite system) or an iteration that does not settle in 20 steps
    falls back on the nested search this replaces (``method="nested"``: secant steps on
    ``zeta``, each point a full inner minimisation; 40-50 evaluations for four
    components on InstEval, kept as the reference the benchmark times).

    The profiled criterion is the REML one, the same that gives the estimates, so an
    interval always contains its estimate. lme4's ``confint(method = "profile")`` refits
    by maximum likelihood and profiles the ML deviance even for a REML fit (its
    ``devfun2`` calls ``refitML``; lme4 issues #325 and #838), so its intervals sit
    somewhat lower and narrower. ``criterion="ml"`` profiles the ML deviance around the ML
    optimum with the same machinery; it exists to check that machinery against lme4's
    stored intervals (``tests/test_ratings_analyze.py``), not for the public estimator.

Parametric bootstrap (``ci="bootstrap"``)
    ``n_boot`` data sets drawn from the fitted model (same design), each refitted from
    the estimate; percentile intervals. Draws are keyed: resample ``b`` draws factor
    ``k``'s effects (and, as ``k = K``, the residuals) from
    ``SeedSequence(seed, spawn_key=(b, k))``, so a resample never depends on how many were
    drawn before it: 400 resamples extend the 200 of the same seed.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import chdtri, ndtri

from simlib.analysis.reml import Evaluation, Optimum, REMLProblem, optimize_theta

__all__ = ["CRITERIA", "PROFILE_METHODS", "Intervals", "bootstrap_intervals", "profile_intervals"]

#: Profiled criteria: the REML criterion (the estimator's) or the ML deviance (lme4's).
CRITERIA = ("reml", "ml")

#: Endpoint searches: joint Newton steps (the default) or the nested secant search.
PROFILE_METHODS = ("newton", "nested")

#: Variances are kept at or above this fraction of the residual variance when profiling
#: (so that each one's gradient stays defined); the effect on the criterion is nil.
_FLOOR = 1e-10

#: An endpoint is accepted when zeta is this close to its target (deviance excess
#: within about 4e-4 of chi2) ...
_ZETA_TOL = 1e-4
#: ... and the inner Newton decrement (how far the profile value may still fall) is below.
_DECREMENT_TOL = 1e-5
#: Newton steps per endpoint before falling back on the nested search.
_MAX_STEPS = 20


class Intervals(NamedTuple):
    """Interval ends for ``(sigma_1^2, ..., sigma_K^2, sigma^2)`` and what they cost."""

    low: np.ndarray
    high: np.ndarray
    n_evaluations: int


class _Profiler:
    """``-2 log L`` (REML or ML) as a function of the variances, with Newton minimisation."""

    def __init__(self, problem: REMLProblem, criterion: str = "reml") -> None:
        if criterion not in CRITERIA:
            raise ValueError(f"unknown criterion {criterion!r}")
        self.problem = problem
        self.criterion = criterion
        self.k = problem.n_factors
        self.dof = problem.n_obs - (problem.n_fixed if criterion == "reml" else 0)
        self.n_evaluations = 0

    def value_grad_hess(self, phi: np.ndarray):
        """``F(phi)``, its gradient and the average-information Hessian."""
        s = float(phi[-1])
        theta = np.sqrt(np.maximum(phi[: self.k], 0.0) / s)
        ev = self.problem.evaluate(theta, keep=True)
        self.n_evaluations += 1
        return self.at(ev, s)

    def at(self, ev: Evaluation, s: float):
        """``F``, gradient and Hessian from an evaluation kept with its factorisation."""
        k, theta = self.k, ev.theta
        if self.criterion == "reml":
            logdet, dlogdet = ev.logdet_mx, ev.dlogdet_mx
        else:
            # log|L_theta|^2 and its slope: tr_k of (Lambda'Z'Z Lambda + I)^-1 is the sum
            # of factor k's conditional variances.
            logdet = ev.logdet_l
            dlogdet = np.zeros(k)
            for j in range(k):
                if theta[j] != 0.0:
                    tr = float(self.problem.conditional_variance(ev, j).sum())
                    dlogdet[j] = 2.0 * (self.problem.n_levels[j] - tr) / theta[j]
        f = logdet + self.dof * math.log(2.0 * math.pi * s) + ev.r2 / s
        f_theta = dlogdet + ev.dr2 / s
        f_s = self.dof / s - ev.r2 / s**2
        safe = np.maximum(theta, math.sqrt(_FLOOR))
        grad = np.empty(k + 1)
        grad[:k] = f_theta / (2.0 * safe * s)
        grad[k] = f_s - float(f_theta @ theta) / (2.0 * s)
        hess = self.problem.average_information(ev, s)
        return float(f), grad, hess

    def lower(self, phi: np.ndarray) -> np.ndarray:
        """The floor of every variance at ``phi``."""
        low = np.full(self.k + 1, _FLOOR * phi[-1])
        low[-1] = 1e-12 * max(phi[-1], 1e-300)
        return low

    def minimise(
        self, phi0: np.ndarray, fixed: int | None, *, max_iter: int = 50, tol: float = 1e-9
    ):
        """Minimise ``F`` over every variance but ``phi[fixed]``; returns (F, phi, hess)."""
        phi = phi0.copy()
        f, g, h = self.value_grad_hess(phi)  # may raise LinAlgError: the caller restarts
        free_all = np.array([j for j in range(self.k + 1) if j != fixed])
        for _ in range(max_iter):
            lower = self.lower(phi)
            step, decrement, _, _ = _newton_step(phi, g, h, lower, free_all)
            if decrement < tol * (1.0 + abs(f)):
                break
            t = 1.0
            f_new = math.inf
            while t >= 1e-8:
                trial = np.maximum(phi + t * step, lower)
                if fixed is not None:
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


def _newton_step(phi, g, h, lower, candidates):
    """Projected Newton step over ``candidates`` (the variances that may move).

    A variance at its floor that the gradient pushes down stays there, and one that the
    step would take below its floor goes to the floor; the others take the Newton step
    given those moves (an active set, grown until the step is feasible).

    Returns the step (length of ``phi``; 0 outside ``candidates``), the decrease of the
    quadratic model it achieves, the indices still free and their Hessian block.
    """
    step = np.zeros_like(phi)
    bound = (phi <= lower * 1.01) & (g > 0)
    candidates = np.asarray(candidates, dtype=int)
    free = candidates[~bound[candidates]]
    to_floor = candidates[bound[candidates]]
    hff = np.zeros((0, 0))
    for _ in range(len(candidates) + 1):
        step[:] = 0.0
        step[to_floor] = lower[to_floor] - phi[to_floor]
        if len(free) == 0:
            break
        hff = h[np.ix_(free, free)]
        step[free] = -np.linalg.solve(hff, g[free] + h[np.ix_(free, to_floor)] @ step[to_floor])
        below = (phi[free] + step[free] < lower[free]) & (g[free] > 0)
        if not below.any():
            break
        to_floor = np.concatenate([to_floor, free[below]])
        free = free[~below]
    decrease = -float(g @ step + 0.5 * step @ h @ step)
    return step, max(decrease, 0.0), free, hff


def profile_intervals(
    problem: REMLProblem,
    opt: Optimum,
    level: float,
    *,
    criterion: str = "reml",
    method: str = "newton",
) -> Intervals:
    """Profile-likelihood intervals for every variance (see the module docstring).

    Parameters
    ----------
    problem, opt
        The problem and its REML optimum (``opt.evaluation`` kept with its factorisation,
        as :func:`simlib.analysis.reml.optimize_theta` returns it).
    level
        Confidence level.
    criterion
        ``"reml"`` (the estimator's criterion) or ``"ml"`` (lme4's profile: the ML
        deviance around the ML optimum).
    method
        ``"newton"`` (joint Newton steps) or ``"nested"`` (the older secant search with a
        full inner minimisation at every point; a reference for benchmarks).

    Returns
    -------
    Intervals
        Lower and upper ends for ``(sigma_1^2, ..., sigma_K^2, sigma^2)`` and the number
        of REML evaluations they took.
    """
    if method not in PROFILE_METHODS:
        raise ValueError(f"unknown method {method!r}")
    prof = _Profiler(problem, criterion)
    k = problem.n_factors
    # chi2_1 and normal quantiles (scipy.special: scipy.stats costs a second to import).
    target = math.sqrt(float(chdtri(1.0, 1.0 - level)))
    z = float(ndtri(0.5 + level / 2.0))
    s_hat = opt.evaluation.r2 / (problem.n_obs - problem.n_fixed)
    phi_hat = np.append(opt.theta**2 * s_hat, s_hat)
    d_min, _, h_hat = prof.at(opt.evaluation, s_hat)  # the fit kept its factorisation
    if criterion == "reml":
        d_min = min(d_min, opt.deviance)
    else:
        d_min, phi_hat, h_hat = prof.minimise(phi_hat, None)
    # Covariance of the variances from the average information (F = -2 log L).
    cov = 2.0 * np.linalg.pinv(h_hat)
    lows = np.zeros(k + 1)
    highs = np.zeros(k + 1)
    for c in range(k + 1):
        v_hat = math.sqrt(phi_hat[c])
        se_phi = math.sqrt(max(cov[c, c], 0.0))
        search = _Search(prof, phi_hat, h_hat, c, v_hat, se_phi, z, target, d_min)
        if method == "nested":
            highs[c] = search.nested(+1.0)
            lows[c] = search.nested(-1.0)
        else:
            highs[c] = search.newton(+1.0)
            lows[c] = search.newton(-1.0, other_end=highs[c])
    return Intervals(lows**2, highs**2, prof.n_evaluations)


class _Search:
    """The two ends of one component's profile interval."""

    def __init__(self, prof, phi_hat, h_hat, c, v_hat, se_phi, z, target, d_min) -> None:
        self.prof, self.phi_hat, self.h_hat = prof, phi_hat, h_hat
        self.c, self.v_hat, self.target, self.d_min = c, v_hat, target, d_min
        self.free = np.array([j for j in range(len(phi_hat)) if j != c])
        # d phi_free / d phi_c along the profile, to first order (implicit function theorem).
        self.slope = -np.linalg.solve(h_hat[np.ix_(self.free, self.free)], h_hat[self.free, c])
        self.scale = math.sqrt(phi_hat.sum())
        self.floor_v = math.sqrt(_FLOOR * phi_hat[-1])
        # A random factor's variance may be 0; the residual's may not.
        self.zero_allowed = c < len(phi_hat) - 1
        # Wald step on the sd scale (delta method), or from the variance scale at 0
        # (the smaller of the two: near 0 the delta method on the sd scale breaks down).
        step = math.sqrt(z * se_phi)
        if v_hat > 0:
            step = min(step, z * se_phi / (2.0 * v_hat))
        self.step = max(step, 1e-3 * self.scale)
        self.wald_slope = target / self.step  # zeta's slope at the estimate, Wald's guess
        self.zeta_at_zero: float | None = None

    def start(self, v: float) -> np.ndarray:
        """The other variances predicted at ``v``, to first order from the estimate."""
        phi = self.phi_hat.copy()
        phi[self.free] += self.slope * (v**2 - self.v_hat**2)
        phi = np.maximum(phi, self.prof.lower(phi))
        phi[-1] = max(phi[-1], 0.5 * self.phi_hat[-1])
        phi[self.c] = v**2
        return phi

    # -- joint Newton ------------------------------------------------------------------------

    def newton(self, sign: float, *, other_end: float | None = None) -> float:
        """One end (``sign`` -1: lower, +1: upper) by joint Newton steps; see the module."""
        if sign < 0 and self.v_hat == 0.0:
            return 0.0
        goal = sign * self.target
        v = self.v_hat + sign * self.step
        if other_end is not None and other_end > self.v_hat:
            # A quadratic zeta(u) = a u + b u^2 (u = v - v_hat) with Wald's slope a at the
            # estimate, through the other end: its root at the goal starts this end.
            a = self.wald_slope
            u1 = other_end - self.v_hat
            b = (-goal - a * u1) / u1**2
            disc = a * a + 4.0 * b * goal
            if abs(b) < 1e-12 * a / u1:
                v = self.v_hat + goal / a
            elif disc >= 0.0:
                roots = [(-a + r) / (2.0 * b) for r in (math.sqrt(disc), -math.sqrt(disc))]
                v = self.v_hat + min((u for u in roots if u * sign > 0), key=abs, default=goal / a)
            elif self.zero_allowed:
                v = 0.0  # the quadratic never reaches the goal: look at 0 first
        if sign < 0 and v <= self.floor_v:
            if self.zero_allowed and self._zeta_zero() >= goal:
                return 0.0
            v = 0.5 * self.v_hat
        try:
            return self._newton(sign, v)
        except (np.linalg.LinAlgError, _NoConvergence):
            return self.nested(sign)

    def _zeta_zero(self) -> float:
        """``zeta(0)`` by a full inner minimisation (a random factor's variance at 0)."""
        if self.zeta_at_zero is None:
            phi = self.start(0.0)
            try:
                f, _, _ = self.prof.minimise(phi, self.c)
            except np.linalg.LinAlgError:
                f, _, _ = self.prof.minimise(self._plain(0.0), self.c)
            self.zeta_at_zero = -math.sqrt(max(f - self.d_min, 0.0))
        return self.zeta_at_zero

    def _plain(self, v: float) -> np.ndarray:
        phi = self.phi_hat.copy()
        phi[self.c] = v**2
        return phi

    def _newton(self, sign: float, v: float) -> float:
        prof, c, goal = self.prof, self.c, sign * self.target
        phi = self.start(v)
        inside, zeta_in, outside = self.v_hat, 0.0, None  # bracket: points inside, outside
        prev = None  # the previous point and zeta's slope there
        if sign < 0 and self.zero_allowed and self.zeta_at_zero is not None:
            outside = 0.0  # zeta(0) is known to be beyond the target
        for _ in range(_MAX_STEPS):
            phi[c] = v**2
            f, g, h = prof.value_grad_hess(phi)
            lower = prof.lower(phi)
            step, decrement, free, hff = _newton_step(phi, g, h, lower, self.free)
            # The inner minimum of the quadratic model: profile value and slope there.
            excess = max(f - decrement - self.d_min, 0.0)
            zeta = math.copysign(math.sqrt(excess), v - self.v_hat)
            slope_p = 2.0 * v * (g[c] + float(h[c] @ step))
            if abs(zeta - goal) < _ZETA_TOL and decrement < _DECREMENT_TOL:
                return v
            if decrement < 0.1:  # the model is good enough to tell inside from outside
                if (zeta - goal) * sign < 0:
                    if sign * (v - inside) > 0:
                        inside, zeta_in = v, zeta
                elif outside is None or sign * (v - outside) < 0:
                    outside = v
            # Newton step on zeta (d zeta / d v = P'(v) / (2 zeta)).
            if zeta != 0.0 and slope_p * sign > 0:
                dz = slope_p / (2.0 * zeta)
                v_new = v + (goal - zeta) / dz
                # Its error: zeta'' dv^2 / 2, with zeta'' from the slope at the previous
                # point (or Wald's at the estimate), plus what the inner minimum may still
                # fall (at most about half the decrement, on the zeta scale). Small enough,
                # and the step is the endpoint without evaluating there.
                v0, dz0 = prev if prev is not None else (self.v_hat, self.wald_slope)
                curvature = abs(dz - dz0) / abs(v - v0) if v != v0 else math.inf
                error = 0.5 * curvature * (v_new - v) ** 2 + decrement / (4.0 * self.target)
                clean = (sign > 0 or v_new > self.floor_v) and (
                    outside is None or (inside - v_new) * (outside - v_new) < 0
                )
                if clean and error < 0.5 * _ZETA_TOL and decrement < 100 * _DECREMENT_TOL:
                    return v_new
                prev = (v, dz)
            else:
                v_new = v + sign * self.step
            if sign < 0 and v_new <= self.floor_v:
                if not self.zero_allowed:
                    v_new = 0.5 * v
                else:
                    zeta0 = self._zeta_zero()
                    if zeta0 >= goal:
                        return 0.0
                    outside = 0.0
                    # Linear in v between 0 and the farthest point known inside.
                    v_new = inside * (goal - zeta0) / (zeta_in - zeta0)
            if outside is not None:
                lo, hi = sorted((inside, outside))
                if not lo < v_new < hi:
                    v_new = 0.5 * (lo + hi)
                if hi - lo < 1e-9 * self.scale:
                    raise _NoConvergence
            elif sign > 0:
                v_new = min(v_new, v + 4.0 * (v - self.v_hat) + self.step)
            # The other variances: their own Newton step, then along the profile to v_new.
            new = phi + step
            if len(free):
                new[free] -= np.linalg.solve(hff, h[free, c]) * (v_new**2 - v**2)
            new = np.maximum(new, lower)
            new[-1] = max(new[-1], 0.5 * phi[-1])
            phi, v = new, v_new
        raise _NoConvergence

    # -- the nested search (reference and fallback) ---------------------------------------

    def nested(self, sign: float) -> float:
        """One end by secant steps on ``zeta``, each point a full inner minimisation."""
        prof, c, v_hat, phi_hat = self.prof, self.c, self.v_hat, self.phi_hat
        if sign < 0 and v_hat == 0.0:
            return 0.0
        free, slope, scale, floor_v = self.free, self.slope, self.scale, self.floor_v
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
            excess = max(f - self.d_min, 0.0)
            value = math.copysign(math.sqrt(excess), v - v_hat) if v != v_hat else 0.0
            cache[v] = value
            return value

        goal = sign * self.target
        step = self.step
        v_prev, z_prev = v_hat, 0.0
        v_cur = v_hat + sign * step
        zero_allowed = self.zero_allowed
        if sign < 0 and v_cur <= floor_v:
            if zero_allowed and zeta(0.0) >= goal:  # P(0) still inside the interval
                return 0.0
            v_cur = v_hat / 2.0
        bracket_in, bracket_out = v_hat, None  # inside (|zeta| < target) and outside points
        for _ in range(60):
            z_cur = zeta(v_cur)
            if abs(z_cur - goal) < 1e-4 * self.target:
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
        from scipy.optimize import brentq  # rarely needed; scipy.optimize is slow to import

        return brentq(lambda v: zeta(v) - goal, lo, hi, xtol=1e-7 * scale)


class _NoConvergence(ArithmeticError):
    """The joint Newton iteration did not settle: the nested search takes over."""


def bootstrap_intervals(
    problem: REMLProblem, opt: Optimum, level: float, n_boot: int, seed: int
) -> Intervals:
    """Parametric-bootstrap percentile intervals for every variance (keyed draws).

    Returns
    -------
    Intervals
        Lower and upper ends for ``(sigma_1^2, ..., sigma_K^2, sigma^2)`` and the number
        of REML evaluations of the refits.
    """
    ev = opt.evaluation
    dof = problem.n_obs - problem.n_fixed
    sigma = math.sqrt(ev.r2 / dof)
    theta = opt.theta
    k_all = len(theta)
    mean = problem._x @ ev.beta
    draws = np.empty((n_boot, k_all + 1))
    n_eval = 0

    def normals(b: int, k: int, size: int) -> np.ndarray:
        stream = np.random.SeedSequence(seed, spawn_key=(b, k))
        return np.random.default_rng(stream).standard_normal(size)

    for b in range(n_boot):
        y = mean + sigma * normals(b, k_all, problem.n_obs)
        for k, c in enumerate(problem._codes):
            # Drawn in level order, so a level's draw is the same whatever the problem's
            # internal renumbering; codes are internal positions.
            effects = np.empty(int(problem.n_levels[k]))
            effects[problem._pos[k]] = normals(b, k, len(effects))
            y = y + theta[k] * sigma * effects[c]
        boot = REMLProblem(problem._codes, problem.n_levels, problem._x, y)
        res = optimize_theta(boot, theta)
        n_eval += res.n_evaluations
        s2 = res.evaluation.r2 / dof
        draws[b] = np.append(res.theta**2 * s2, s2)
    alpha = (1.0 - level) / 2.0
    low = np.quantile(draws, alpha, axis=0)
    high = np.quantile(draws, 1.0 - alpha, axis=0)
    return Intervals(low, high, n_eval)
