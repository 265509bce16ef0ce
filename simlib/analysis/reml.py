"""Profiled REML for linear mixed models whose random effects are scalar intercepts.

This module owns the linear algebra behind :func:`simlib.analysis.fit_variance_components`:
the model ``y = X beta + sum_k Z_k b_k + e``, ``b_k ~ N(0, sigma_k^2 I)``,
``e ~ N(0, sigma^2 I)``, in the profiled formulation of lme4 (Bates, Maechler, Bolker &
Walker 2015, J. Stat. Softw. 67(1), sections 3.1-3.4). With ``theta_k = sigma_k / sigma``
and ``Lambda = diag(theta_k I)``, everything is read off one symmetric positive definite
matrix, the *augmented* system ::

    M(theta) = Lt' [Z X y]' [Z X y] Lt + diag(I_q, 0, 0),    Lt = diag(Lambda, I, 1)

whose Cholesky factor holds lme4's ``L_theta`` (random-effect block), ``R_X`` (fixed
effects) and ``r_theta`` (the last pivot: the penalised residual sum of squares). Writing
``M_X`` for ``M`` without the ``y`` row and column, the REML criterion is ::

    d_R(theta) = log|M_X| + (n - p) [1 + log(2 pi r^2 / (n - p))]

and its gradient needs only the traces of the inverse over each factor's block:
``d log|M| / d theta_k = 2 (q_k - tr[M^-1]_kk) / theta_k`` (because
``Lt C Lt = M - J``), and ``d r^2 / d theta_k = -2 |u_k|^2 / theta_k``.

How the matrix is factorised (measured on the 100k-rating benchmark, see
``benchmarks/ratings.py``)
------------------------------------------------------------------------------------
scipy has no sparse Cholesky and scikit-sparse (CHOLMOD) does not install by ``pip`` alone
(it needs SuiteSparse headers from apt), so the structure is used directly:

1. *Block elimination of diagonal blocks.* A scalar-intercept factor's own block of
   ``Z'Z`` is diagonal, and stays diagonal after eliminating a factor nested in it
   (``ratee:source`` in ``ratee``). So factors are eliminated greedily, largest first,
   while their current block is diagonal (checked symbolically once); each elimination is
   an exact Schur complement with a diagonal pivot block, done with scipy.sparse products.
2. *Dense Cholesky of the rest.* What remains (in the 360 case the rater block, which the
   ratee-rater crossing fills in, plus source, X and y) is factorised with LAPACK
   ``dpotrf`` in place and inverted with ``dpotri`` for the gradient. Measured on the
   5,007-row block of the benchmark (raters drawn at random): ``dpotrf`` 0.41 s, while
   ``scipy.sparse.linalg.splu`` with a symmetric fill-reducing ordering takes 4.7-5.8 s
   and its factors fill 93-99 % of the dense size (a random bipartite graph has no small
   separators). When raters only rate within work units of 25 the same block is 0.8 %
   full and ``splu`` needs 0.005-0.03 s, but SuperLU gives no selected inverse for the
   gradient. Such data are caught one step earlier instead: if the largest remaining
   factor's block splits into connected components of at most :data:`BLOCK_ROWS`
   levels (raters rating only within their unit or agency), that factor is eliminated
   by blocks, each block by a small dense Cholesky, and only source, X and y stay dense.
   Measured on 100,000 ratings with raters inside units of 25 (200): 1.0 s (2.2 s)
   against 21 s (41 s) with the rater block dense, on a busy machine; same results to
   1e-9.
3. *Analytic gradient.* The inverse traces are obtained by pushing each factor's trace
   matrix ``L_j' L_j`` through the later eliminations (``G <- T' G T``) and summing it
   against the dense inverse, so one function-plus-gradient costs about two dense
   factorisations instead of the ``K + 1`` evaluations of finite differences.

4. *Newton steps with the average-information Hessian.* The optimiser
   (:func:`optimize_theta`) takes Newton steps on ``theta`` with the AI matrix carried to
   ``theta``. On 20,000 ratings it needs 5 evaluations from the moment-based start where
   L-BFGS-B with the same analytic gradient needed 30 (and stopped at ``theta_k = 0``, a
   stationary point of ``d_R``, which is even in each ``theta_k``); on the 100,000-rating
   benchmark 3 evaluations, about 6.5 s for the whole fit with conditional modes.

Small problems (fewer than :data:`DENSE_LIMIT` rows in ``M``; the measured crossover is
300-600 rows) are factorised densely in one piece; tests check that both paths agree.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas, lapack, solve_triangular
from scipy.sparse.csgraph import connected_components
from threadpoolctl import ThreadpoolController

__all__ = [
    "BLOCK_ROWS",
    "DENSE_LIMIT",
    "LIFT_BELOW",
    "MAX_DENSE_ROWS",
    "THREADED_ROWS",
    "Evaluation",
    "Optimum",
    "REMLProblem",
    "TooLargeError",
    "optimize_theta",
    "start_theta",
]

#: Below this many rows of the augmented matrix the whole matrix is factorised densely.
DENSE_LIMIT = 400

#: Largest block (connected component) for elimination by blocks.
BLOCK_ROWS = 1_000

#: Most rows of the dense block left after elimination (about 1.2 GB per copy).
MAX_DENSE_ROWS = 12_000

#: :func:`optimize_theta` restarts components below this (relative sd) from their moment
#: estimate, since it cannot move them off 0 (a variance share below about 1e-6).
LIFT_BELOW = 1e-3

#: Up to this many rows of the dense block, conditional variances of an eliminated factor
#: use one sparse-times-dense product (a copy of the block: 288 MB at 6,000 rows).
ROW_QUADRATIC_DENSE_ROWS = 6_000

#: Dense blocks with fewer rows run on one BLAS thread. Threads gain little there, and
#: when the machine is busy (another process, a process pool) OpenBLAS threads spinning
#: for cores made a 38k-rating fit with a 1,200-row block 36 times slower (measured).
THREADED_ROWS = 2_000


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


class TooLargeError(ValueError):
    """The crossed factors leave a dense block too large for memory.

    ``factors`` are the indices of the factors in it, ``rows`` its size.
    """

    def __init__(self, factors: list[int], rows: int, limit: int) -> None:
        self.factors = factors
        self.rows = rows
        self.limit = limit
        super().__init__(f"dense block of {rows} rows exceeds {limit}")


@dataclass(frozen=True, eq=False)
class Evaluation:
    """The profiled quantities at one ``theta`` (in the caller's factor order).

    ``logdet_l`` is lme4's ``log|L_theta|^2``, ``logdet_mx`` adds ``log|R_X|^2``,
    ``r2`` is the penalised residual sum of squares, ``u`` the spherical random effects
    (one array per factor), ``beta`` the fixed effects. The gradient pieces are ``None``
    unless asked for.
    """

    theta: np.ndarray
    logdet_l: float
    logdet_mx: float
    r2: float
    u: list[np.ndarray]
    beta: np.ndarray
    dlogdet_mx: np.ndarray | None = None
    dr2: np.ndarray | None = None
    state: object = field(default=None, repr=False)


class REMLProblem:
    """One data set's design, analysed once, evaluated at many ``theta``.

    Parameters
    ----------
    codes
        One integer array per random factor, values ``0 .. n_levels[k] - 1``, each level
        used at least once.
    n_levels
        Number of levels of each factor.
    x
        Fixed-effects design, shape ``(n, p)``, full column rank.
    y
        Response, shape ``(n,)``.
    strategy
        ``"auto"``, ``"dense"`` (one dense factorisation) or ``"eliminate"`` (block
        elimination, then dense).
    """

    def __init__(
        self,
        codes: Sequence[np.ndarray],
        n_levels: Sequence[int],
        x: np.ndarray,
        y: np.ndarray,
        *,
        strategy: str = "auto",
    ) -> None:
        self.n_obs, self.n_fixed = x.shape
        self.n_levels = np.asarray(n_levels, dtype=np.int64)
        self.n_factors = len(self.n_levels)
        n, p = self.n_obs, self.n_fixed
        k_all = self.n_factors
        q = int(self.n_levels.sum())
        size = q + p + 1
        if strategy == "auto":
            strategy = "dense" if size <= DENSE_LIMIT else "eliminate"
        if strategy not in ("dense", "eliminate"):
            raise ValueError(f"unknown strategy {strategy!r}")
        self.strategy = strategy
        codes = [np.asarray(c, dtype=np.int64) for c in codes]
        self._x = np.asarray(x, dtype=np.float64)
        self._y = np.asarray(y, dtype=np.float64)

        # Factor order: eliminated factors first (in elimination order), then the rest.
        # A factor eliminated by blocks has its levels renumbered so that each block
        # (connected component) is contiguous; _pos[k][level] is a level's position.
        self._pos = [np.arange(m) for m in self.n_levels]
        self._bounds: dict[int, np.ndarray] = {}
        if strategy == "eliminate":
            self.eliminated, blocks = _elimination_plan(codes, self.n_levels)
            for k, labels in blocks.items():
                order_k = np.argsort(labels, kind="stable")
                self._pos[k] = np.empty_like(order_k)
                self._pos[k][order_k] = np.arange(len(order_k))
                sizes = np.bincount(labels)
                self._bounds[k] = np.concatenate([[0], np.cumsum(sizes)])
                codes[k] = self._pos[k][codes[k]]
        else:
            self.eliminated = []
        self._codes = codes
        rest = [k for k in range(k_all) if k not in self.eliminated]
        dense_rows = int(sum(self.n_levels[k] for k in rest)) + p + 1
        if strategy == "eliminate" and dense_rows > MAX_DENSE_ROWS:
            raise TooLargeError(rest, dense_rows, MAX_DENSE_ROWS)
        self.order = self.eliminated + rest
        self.start = np.zeros(k_all, dtype=np.int64)
        offset = 0
        for k in self.order:
            self.start[k] = offset
            offset += self.n_levels[k]
        self.n_random = q
        self.size = size
        self.dense_rows = size if strategy == "dense" else dense_rows

        rows = np.repeat(np.arange(n), k_all)
        cols = np.concatenate([c[:, None] + self.start[k] for k, c in enumerate(codes)], axis=1)
        z = sp.csr_matrix(
            (np.ones(n * k_all), (rows, cols.ravel())), shape=(n, q), dtype=np.float64
        )
        w = np.column_stack([x, y])
        ztz = (z.T @ z).tocsr()
        ztw = z.T @ w
        wtw = w.T @ w
        c = sp.bmat([[ztz, sp.csr_matrix(ztw)], [sp.csr_matrix(ztw.T), sp.csr_matrix(wtw)]])
        self._c = sp.csr_matrix(c)
        self._c.sum_duplicates()
        self._c.sort_indices()
        self._crow = np.repeat(np.arange(size), np.diff(self._c.indptr))
        self._ccol = self._c.indices.copy()
        diag_pos = np.flatnonzero(self._crow == self._ccol)
        self._zdiag_pos = diag_pos[self._crow[diag_pos] < q]
        self._factor_of = np.empty(q, dtype=np.int64)
        for k in range(k_all):
            self._factor_of[self.start[k] : self.start[k] + self.n_levels[k]] = k
        if strategy == "dense":
            self._c_dense = self._c.toarray()

    # -- public ---------------------------------------------------------------------------

    def blas_threads(self) -> contextlib.AbstractContextManager:
        """Context in which to work with this problem: one BLAS thread for small blocks.

        :meth:`evaluate` and :meth:`average_information` enter it themselves.
        """
        if self.dense_rows >= THREADED_ROWS:
            return contextlib.nullcontext()
        return _controller().limit(limits=1, user_api="blas")

    def evaluate(self, theta: np.ndarray, *, gradient: bool = True, keep: bool = False):
        """Profiled quantities at ``theta`` (relative standard deviations, one per factor).

        Parameters
        ----------
        theta
            ``sigma_k / sigma`` for each factor, non-negative.
        gradient
            Also compute the derivatives of ``log|M_X|`` and ``r^2``.
        keep
            Keep the factorisation (for conditional variances and the fixed-effects
            covariance) in ``Evaluation.state``.

        Returns
        -------
        Evaluation
        """
        theta = np.asarray(theta, dtype=np.float64)
        scale = np.ones(self.size)
        scale[: self.n_random] = theta[self._factor_of]
        with self.blas_threads():
            if self.strategy == "dense":
                return self._evaluate_dense(theta, scale, gradient=gradient, keep=keep)
            return self._evaluate_eliminate(theta, scale, gradient=gradient, keep=keep)

    def in_level_order(self, factor: int, values: np.ndarray) -> np.ndarray:
        """A factor's values (``Evaluation.u``, conditional variances) by level code.

        Internally a factor eliminated by blocks has its levels renumbered.
        """
        return values[self._pos[factor]]

    def deviance(self, ev: Evaluation) -> float:
        """REML criterion (lme4's ``REMLcrit``) from an evaluation."""
        dof = self.n_obs - self.n_fixed
        return float(ev.logdet_mx + dof * (1.0 + np.log(2.0 * np.pi * ev.r2 / dof)))

    def deviance_gradient(self, ev: Evaluation) -> np.ndarray:
        """Gradient of :meth:`deviance` with respect to ``theta``."""
        dof = self.n_obs - self.n_fixed
        return ev.dlogdet_mx + dof * ev.dr2 / ev.r2

    def conditional_variance(self, ev: Evaluation, factor: int) -> np.ndarray:
        """Diagonal of ``(Lambda' Z' Z Lambda + I)^-1`` for one factor's levels.

        Times ``sigma^2 theta_k^2`` this is the conditional variance of the random effects
        given the data and ``beta`` (lme4's ``ranef(condVar = TRUE)``).
        """
        st = ev.state
        if st is None:
            raise ValueError("evaluate(..., keep=True) first")
        sl = slice(self.start[factor], self.start[factor] + self.n_levels[factor])
        nw = self.n_fixed + 1
        if self.strategy == "dense":
            sigma = st["sigma"]
            sig_zw = sigma[sl, -nw:]
            diag = np.diag(sigma)[sl].copy()
        else:
            inv = st["inv"]  # lower triangle of the dense block's inverse
            m = inv.shape[0]
            sig_w_dense = _sym_cols(inv, np.arange(m - nw, m))
            sig_w = self._back_substitute(st["steps"], sig_w_dense)
            sig_zw = sig_w[sl]
            diag = self._inverse_diagonal(st, factor)
        if self.strategy == "dense":
            sig_ww = st["sigma"][-nw:, -nw:]
        else:
            inv = st["inv"]
            m = inv.shape[0]
            sig_ww = _sym_block(inv, np.arange(m - nw, m))
        # Schur complement: (M_ZZ)^-1 = S_ZZ - S_ZW S_WW^-1 S_WZ.
        corr = np.einsum("ij,ij->i", sig_zw @ np.linalg.inv(sig_ww), sig_zw)
        return diag - corr

    def fixed_covariance_unscaled(self, ev: Evaluation) -> np.ndarray:
        """``(R_X' R_X)^-1``: times ``sigma^2`` the covariance of the fixed effects."""
        st = ev.state
        p = self.n_fixed
        if self.strategy == "dense":
            sig = st["sigma"][-(p + 1) :, -(p + 1) :]
        else:
            inv = st["inv"]
            m = inv.shape[0]
            sig = _sym_block(inv, np.arange(m - p - 1, m))
        return sig[:p, :p] - np.outer(sig[:p, p], sig[p, :p]) / sig[p, p]

    # -- dense path ---------------------------------------------------------------------

    def _evaluate_dense(self, theta, scale, *, gradient, keep):
        q = self.n_random
        m = self._c_dense * scale[:, None] * scale[None, :]
        m[np.arange(q), np.arange(q)] += 1.0
        chol, info = lapack.dpotrf(m, lower=1, clean=1, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"augmented matrix not positive definite ({info})")
        logd = 2.0 * np.log(np.diag(chol))
        logdet_l = float(logd[:q].sum())
        logdet_mx = float(logd[:-1].sum())
        r2 = float(chol[-1, -1] ** 2)
        # [u; beta] solves M_X x = c; the last row of the factor is (L_X^-1 c)'.
        sol = solve_triangular(chol[:-1, :-1], chol[-1, :-1], lower=True, trans="T")
        u_all, beta = sol[:q], sol[q:]
        u = [u_all[self.start[k] : self.start[k] + self.n_levels[k]] for k in range(self.n_factors)]
        dld = dr2 = None
        state = None
        if gradient or keep:
            inv, info = lapack.dpotri(chol, lower=1)
            if info != 0:
                raise np.linalg.LinAlgError(f"inverse failed ({info})")
            if keep:
                sigma = np.tril(inv) + np.tril(inv, -1).T
                state = {"sigma": sigma, "chol": chol}
            if gradient:
                dsig = np.diag(inv)[:q]
                traces = np.bincount(self._factor_of, weights=dsig, minlength=self.n_factors)
                dld, dr2 = self._gradient_from(theta, traces, u, r2)
        return Evaluation(theta, logdet_l, logdet_mx, r2, u, beta, dld, dr2, state)

    # -- elimination path -----------------------------------------------------------------

    def _scaled(self, scale):
        c = self._c
        data = c.data * scale[self._crow] * scale[self._ccol]
        data[self._zdiag_pos] += 1.0
        return sp.csr_matrix((data, c.indices, c.indptr), shape=c.shape)

    def _evaluate_eliminate(self, theta, scale, *, gradient, keep):
        q, p = self.n_random, self.n_fixed
        cur = self._scaled(scale)
        steps = []
        grams = []  # L_j' L_j of each step, where computed together with its Schur complement
        logdet_elim = 0.0
        for k in self.eliminated:
            nb = int(self.n_levels[k])
            b = cur[:nb, nb:]
            rest = cur[nb:, nb:]
            if k in self._bounds:
                dinv, logdet = _block_inverse(cur[:nb, :nb], self._bounds[k])
                lmat = (dinv @ b).tocsr()
                cur = (rest - b.T.tocsr() @ lmat).tocsr()
                grams.append(None)
            else:
                d = cur.diagonal()[:nb]
                inv_d = 1.0 / d
                dinv, logdet = sp.diags(inv_d, format="csr"), float(np.log(d).sum())
                w = np.repeat(inv_d, np.diff(b.indptr))  # 1 / d of each entry's row
                lmat = sp.csr_matrix((b.data * w, b.indices, b.indptr), shape=b.shape)
                bt = b.T.tocsr()
                if gradient:
                    # B' D^-1 B and L' L = B' D^-2 B share their pattern: one complex
                    # product gives both (real and imaginary parts; 23 against 39 ms on
                    # lme4's InstEval, measured with the rater block eliminated).
                    pair = sp.csr_matrix((b.data * (w + 1j * w * w), b.indices, b.indptr))
                    both = (bt @ pair).tocsr()
                    shape = both.shape
                    schur = sp.csr_matrix((both.data.real, both.indices, both.indptr), shape)
                    grams.append(sp.csr_matrix((both.data.imag, both.indices, both.indptr), shape))
                else:
                    schur = bt @ lmat
                    grams.append(None)
                cur = (rest - schur).tocsr()
            steps.append((dinv, lmat))
            logdet_elim += logdet
        # Fortran order so that LAPACK works in place (no 8 m^2-byte copies).
        dense = cur.toarray(order="F")
        del cur
        m = dense.shape[0]
        q_rest = m - p - 1
        chol, info = lapack.dpotrf(dense, lower=1, clean=0, overwrite_a=1)
        del dense
        if info != 0:
            raise np.linalg.LinAlgError(f"reduced matrix not positive definite ({info})")
        logd = 2.0 * np.log(np.diag(chol))
        logdet_l = logdet_elim + float(logd[:q_rest].sum())
        logdet_mx = logdet_elim + float(logd[:-1].sum())
        r2 = float(chol[-1, -1] ** 2)
        # The last row of the factor is (L_X^-1 c)'; solving with the full factor and a
        # zero last entry gives M_X^-1 c in the leading rows.
        rhs = np.zeros((m, 1), order="F")
        rhs[:-1, 0] = chol[-1, :-1]
        sol_r, info = lapack.dtrtrs(chol, rhs, lower=1, trans=1)
        # z = [u; beta; -1] satisfies M z = -r2 e_y: back-substitute through the steps.
        z_rest = sol_r[:, 0].copy()
        z_rest[-1] = -1.0
        z = self._back_substitute(steps, z_rest[:, None])[:, 0]
        u_all, beta = z[:q], z[q : q + p]
        u = [u_all[self.start[k] : self.start[k] + self.n_levels[k]] for k in range(self.n_factors)]
        dld = dr2 = None
        state = None
        if gradient or keep:
            inv, info = lapack.dpotri(chol, lower=1, overwrite_c=1)
            del chol
            if info != 0:
                raise np.linalg.LinAlgError(f"inverse failed ({info})")
            if keep:
                state = {"inv": inv, "steps": steps}
            if gradient:
                traces = self._traces(steps, inv, grams)
                dld, dr2 = self._gradient_from(theta, traces, u, r2)
        return Evaluation(theta, logdet_l, logdet_mx, r2, u, beta, dld, dr2, state)

    def _back_substitute(self, steps, z_rest):
        """Extend a solution on the dense block to all rows (right-hand side zero above)."""
        z = z_rest
        for _, lmat in reversed(steps):
            z = np.concatenate([-(lmat @ z), z], axis=0)
        return z

    def _traces(self, steps, inv, grams=None):
        """``tr[M^-1]_kk`` for every factor, with ``inv`` the dense block's inverse.

        ``grams[j]``, where given, is step ``j``'s ``L_j' L_j``.
        """
        traces = np.zeros(self.n_factors)
        n_elim = len(steps)
        diag_inv = np.diag(inv)
        grams = grams if grams is not None else [None] * n_elim
        for k in range(self.n_factors):
            if k in self.eliminated:
                j = self.eliminated.index(k)
                dinv, lmat = steps[j]
                total = float(dinv.diagonal().sum())
                g = (lmat.T @ lmat).tocsr() if grams[j] is None else grams[j]
                for jj in range(j + 1, n_elim):
                    dinv2, l2 = steps[jj]
                    nb = dinv2.shape[0]
                    total += float(g[:nb, :nb].multiply(dinv2).sum())
                    g_jj = g[:nb, :nb]
                    g_lj = g[nb:, :nb]
                    h = g_lj @ l2
                    g = (g[nb:, nb:] + l2.T @ g_jj @ l2 - h - h.T).tocsr()
                total += _sum_against(g, inv)
                traces[k] = total
            else:
                off = int(self.start[k]) - self._n_elim_levels()
                traces[k] = float(diag_inv[off : off + self.n_levels[k]].sum())
        return traces

    def _n_elim_levels(self) -> int:
        return int(sum(self.n_levels[k] for k in self.eliminated))

    def _inverse_diagonal(self, st, factor):
        """Diagonal of ``M^-1`` over one factor's levels (elimination path)."""
        inv = st["inv"]
        steps = st["steps"]
        if factor not in self.eliminated:
            off = int(self.start[factor]) - self._n_elim_levels()
            return np.diag(inv)[off : off + self.n_levels[factor]].copy()
        j = self.eliminated.index(factor)
        dinv, lmat = steps[j]
        acc = dinv.diagonal().copy()
        v = lmat
        for jj in range(j + 1, len(steps)):
            dinv2, l2 = steps[jj]
            nb = dinv2.shape[0]
            lead = v[:, :nb]
            acc = acc + np.asarray((lead @ dinv2).multiply(lead).sum(axis=1)).ravel()
            v = (v[:, nb:] - lead @ l2).tocsr()
        return acc + _row_quadratic(v, inv)

    # -- solves and the average-information Hessian ------------------------------------------

    def solve_mx(self, ev: Evaluation, rhs: np.ndarray) -> np.ndarray:
        """Solve ``M_X x = rhs`` (rows: random effects in internal order, then fixed)."""
        st = ev.state
        if self.strategy == "dense":
            chol = st["chol"][:-1, :-1]
            tmp = solve_triangular(chol, rhs, lower=True)
            return solve_triangular(chol, tmp, lower=True, trans="T")
        b = np.vstack([rhs, np.zeros((1, rhs.shape[1]))])
        off = 0
        parts = []
        for dinv, lmat in st["steps"]:
            nb = dinv.shape[0]
            bj = b[off : off + nb]
            b[off + nb :] -= lmat.T @ bj
            parts.append(dinv @ bj)
            off += nb
        inv = st["inv"]
        b_rest = np.asfortranarray(b[off:])
        b_rest[-1] = 0.0
        # S_X^-1 b = (S^-1 b)_X - s_y (s_y' b) / S^-1_yy, with S^-1 from its lower triangle.
        full = blas.dsymm(1.0, inv, b_rest, side=0, lower=1)
        col_y = _sym_cols(inv, np.array([inv.shape[0] - 1]))[:, 0]
        x = full - np.outer(col_y, full[-1]) / col_y[-1]
        x[-1] = 0.0
        for (_, lmat), part in zip(reversed(st["steps"]), reversed(parts), strict=True):
            x = np.vstack([part - lmat @ x, x])
        return x[:-1]

    def _project(self, ev: Evaluation, vectors: np.ndarray) -> np.ndarray:
        """``P w * sigma^2``: residuals of the mixed-model fit of each column ``w``."""
        theta = ev.theta
        q = self.n_random
        rhs = np.empty((q + self.n_fixed, vectors.shape[1]))
        for k, c in enumerate(self._codes):
            sl = slice(self.start[k], self.start[k] + self.n_levels[k])
            for j in range(vectors.shape[1]):
                rhs[sl, j] = theta[k] * np.bincount(c, vectors[:, j], minlength=self.n_levels[k])
        rhs[q:] = self._x.T @ vectors
        return vectors - self._fitted_solution(theta, self.solve_mx(ev, rhs))

    def _fitted_solution(self, theta, sol):
        q = self.n_random
        fit = self._x @ sol[q:]
        for k, c in enumerate(self._codes):
            fit += theta[k] * sol[self.start[k] : self.start[k] + self.n_levels[k]][c]
        return fit

    def _pack(self, u, beta):
        sol = np.empty(self.n_random + self.n_fixed)
        for k in range(self.n_factors):
            sol[self.start[k] : self.start[k] + self.n_levels[k]] = u[k]
        sol[self.n_random :] = beta
        return sol

    def average_information(self, ev: Evaluation, s: float | None = None) -> np.ndarray:
        """Average information ``y'P V_i P V_j P y`` in the variances.

        The variances are ``phi = (sigma_1^2, ..., sigma_K^2, sigma^2)`` at
        ``theta = ev.theta`` and ``sigma^2 = s`` (default: its REML value given theta).
        It approximates the Hessian of ``-2 log L_R`` in ``phi`` (the mean of the observed
        and expected information; Gilmour, Thompson & Cullis 1995, Biometrics 51).
        Needs ``ev`` from ``evaluate(..., keep=True)``.
        """
        with self.blas_threads():
            return self._average_information(ev, s)

    def _average_information(self, ev: Evaluation, s: float | None) -> np.ndarray:
        theta = ev.theta
        if s is None:
            s = ev.r2 / (self.n_obs - self.n_fixed)
        resid = self._y - self._fitted_solution(theta, self._pack(ev.u, ev.beta))
        py = resid / s
        cols = []
        for k, c in enumerate(self._codes):
            cols.append(np.bincount(c, py, minlength=self.n_levels[k])[c])
        cols.append(py)
        vpy = np.column_stack(cols)
        pvpy = self._project(ev, vpy) / s
        ai = vpy.T @ pvpy
        return 0.5 * (ai + ai.T)

    def ai_hessian(self, ev: Evaluation) -> np.ndarray:
        """Approximate Hessian of the REML criterion (:meth:`deviance`) in theta.

        The average information (:meth:`average_information`) is carried from the
        variances ``phi = (theta^2 sigma^2, sigma^2)`` to ``theta`` by the chain rule (with
        the first-derivative term, which matters near ``theta_k = 0``) and ``sigma^2`` is
        profiled out by a Schur complement.
        """
        theta = ev.theta
        k_all = self.n_factors
        s = ev.r2 / (self.n_obs - self.n_fixed)
        ai = self.average_information(ev, s)
        g_theta = self.deviance_gradient(ev)
        safe = np.where(np.abs(theta) > 1e-7, theta, 1e-7)
        g_phi = g_theta / (2.0 * safe * s)
        jt = np.zeros((k_all + 1, k_all))
        jt[np.arange(k_all), np.arange(k_all)] = 2.0 * theta * s
        js = np.append(theta**2, 1.0)
        f_tt = jt.T @ ai @ jt + np.diag(2.0 * s * g_phi)
        f_ts = jt.T @ ai @ js + 2.0 * theta * g_phi
        f_ss = float(js @ ai @ js)
        return f_tt - np.outer(f_ts, f_ts) / f_ss

    # -- shared -----------------------------------------------------------------------------

    def _gradient_from(self, theta, traces, u, r2):
        dld = np.zeros(self.n_factors)
        dr2 = np.zeros(self.n_factors)
        for k in range(self.n_factors):
            if theta[k] == 0.0:
                continue  # d_R is even in each theta_k, so its slope at 0 is 0
            uu = float(u[k] @ u[k])
            # tr over k of M_X^-1 = tr of M^-1 minus |u_k|^2 / r^2 (rank-one update).
            tr_x = traces[k] - uu / r2
            dld[k] = 2.0 * (self.n_levels[k] - tr_x) / theta[k]
            dr2[k] = -2.0 * uu / theta[k]
        return dld, dr2


def _elimination_plan(
    codes: Sequence[np.ndarray], n_levels: np.ndarray
) -> tuple[list[int], dict[int, np.ndarray]]:
    """Factors to eliminate, in order, and the blocks of those eliminated by blocks.

    Greedy, largest first, on the symbolic pattern of ``Z'Z`` including fill-in: first
    every factor whose current block is diagonal; then the largest remaining factor if
    its current block splits into connected components of at most :data:`BLOCK_ROWS`
    levels (raters who only rate within their work unit or agency). Returns the order and,
    for a factor eliminated by blocks, the component label of each level.
    """
    k_all = len(n_levels)
    n = len(codes[0])
    q = int(n_levels.sum())
    start = np.concatenate([[0], np.cumsum(n_levels)[:-1]])
    rows = np.repeat(np.arange(n), k_all)
    cols = np.concatenate([c[:, None] + start[k] for k, c in enumerate(codes)], axis=1)
    z = sp.csr_matrix((np.ones(n * k_all), (rows, cols.ravel())), shape=(n, q))
    pattern = (z.T @ z).tocsr()
    pattern.data[:] = 1.0
    remaining = list(range(k_all))
    index = {k: np.arange(start[k], start[k] + n_levels[k]) for k in range(k_all)}
    order: list[int] = []
    while remaining:
        alive = np.concatenate([index[k] for k in remaining])
        sub = pattern[alive][:, alive].tocsr()
        offsets = np.concatenate([[0], np.cumsum([n_levels[k] for k in remaining])])
        candidates = []
        for i, k in enumerate(remaining):
            block = sub[offsets[i] : offsets[i + 1], offsets[i] : offsets[i + 1]]
            if block.nnz == n_levels[k]:
                candidates.append(k)
        if not candidates:
            break
        best = max(candidates, key=lambda kk: n_levels[kk])
        order.append(best)
        remaining.remove(best)
        if not remaining:
            break
        pos = index[best]
        others = np.concatenate([index[k] for k in remaining])
        coupling = pattern[pos][:, others]
        fill = (coupling.T @ coupling).tocsr()
        fill.data[:] = 1.0
        # Add the fill to the pattern (only the rows/columns of the remaining factors).
        fc = fill.tocoo()
        extra = sp.csr_matrix(
            (np.ones(fc.nnz), (others[fc.row], others[fc.col])), shape=pattern.shape
        )
        pattern = pattern + extra
        pattern.data[:] = 1.0
    blocks: dict[int, np.ndarray] = {}
    if remaining:
        best = max(remaining, key=lambda kk: n_levels[kk])
        pos = index[best]
        n_comp, labels = connected_components(pattern[pos][:, pos], directed=False)
        if n_comp > 1 and np.bincount(labels).max() <= BLOCK_ROWS:
            order.append(best)
            blocks[best] = labels
    return order, blocks


def _block_inverse(block: sp.csr_matrix, bounds: np.ndarray) -> tuple[sp.csr_matrix, float]:
    """Inverse of a block-diagonal matrix (blocks between ``bounds``) and its log-determinant."""
    inverses = []
    logdet = 0.0
    for a, b in itertools.pairwise(bounds):
        dense = block[a:b, a:b].toarray()
        chol, info = lapack.dpotrf(dense, lower=1, clean=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"diagonal block not positive definite ({info})")
        logdet += 2.0 * float(np.log(np.diag(chol)).sum())
        inv, info = lapack.dpotri(chol, lower=1)
        inverses.append(np.tril(inv) + np.tril(inv, -1).T)
    return sp.block_diag(inverses, format="csr"), logdet


def _sum_against(g: sp.csr_matrix, inv_lower: np.ndarray) -> float:
    """``sum(G * A)`` for symmetric ``A`` stored as its lower triangle."""
    gc = g.tocoo()
    r = np.maximum(gc.row, gc.col)
    c = np.minimum(gc.row, gc.col)
    return float(gc.data @ inv_lower[r, c])


def _sym_cols(inv_lower: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Columns ``cols`` of a symmetric matrix stored as its lower triangle."""
    m = inv_lower.shape[0]
    rows = np.arange(m)[:, None]
    r = np.maximum(rows, cols[None, :])
    c = np.minimum(rows, cols[None, :])
    return inv_lower[r, c]


def _sym_block(inv_lower: np.ndarray, idx: np.ndarray) -> np.ndarray:
    r = np.maximum(idx[:, None], idx[None, :])
    c = np.minimum(idx[:, None], idx[None, :])
    return inv_lower[r, c]


def _row_quadratic(v: sp.csr_matrix, inv_lower: np.ndarray) -> np.ndarray:
    """``v_i' A v_i`` for every row of sparse ``v``, ``A`` symmetric (lower triangle).

    With ``T`` the lower triangle of ``A``, ``v_i' A v_i = 2 v_i' T v_i - sum_a v_ia^2
    A_aa``: one sparse-times-dense product (0.19 s against 0.81 s for the pairs of
    entries, measured with 2,972 rows of 27 entries against a 1,158-row block). The
    product needs a copy of ``A``, so very large blocks keep to the pairs.
    """
    m = inv_lower.shape[0]
    if m > ROW_QUADRATIC_DENSE_ROWS:
        return _row_quadratic_pairs(v, inv_lower)
    lower = np.tril(inv_lower)
    vt = v @ lower
    diag = np.diag(inv_lower)
    return 2.0 * np.asarray(v.multiply(vt).sum(axis=1)).ravel() - v.multiply(v) @ diag


def _row_quadratic_pairs(
    v: sp.csr_matrix, inv_lower: np.ndarray, chunk: int = 4_000_000
) -> np.ndarray:
    """``v_i' A v_i`` for every row of sparse ``v``, ``A`` symmetric (lower triangle)."""
    v = v.tocsr()
    v.sum_duplicates()
    out = np.zeros(v.shape[0])
    lengths = np.diff(v.indptr)
    row_start = 0
    while row_start < v.shape[0]:
        # Rows whose pair count fits in one chunk.
        pairs = np.cumsum(lengths[row_start:] ** 2)
        row_stop = row_start + max(1, int(np.searchsorted(pairs, chunk, side="right")))
        row_stop = min(row_stop, v.shape[0])
        a, b = v.indptr[row_start], v.indptr[row_stop]
        lens = lengths[row_start:row_stop]
        idx = v.indices[a:b]
        val = v.data[a:b]
        local_row = np.repeat(np.arange(row_stop - row_start), lens)
        seg_start = np.repeat(v.indptr[row_start:row_stop] - a, lens)
        # For each entry e in a row, pair it with every entry of the same row.
        reps = np.repeat(lens, lens)
        first = np.repeat(np.arange(b - a), reps)
        offs = np.arange(len(first)) - np.repeat(np.cumsum(reps) - reps, reps)
        second = seg_start[first] + offs
        i1, i2 = idx[first], idx[second]
        vals = val[first] * val[second] * inv_lower[np.maximum(i1, i2), np.minimum(i1, i2)]
        out[row_start:row_stop] = np.bincount(
            local_row[first], weights=vals, minlength=row_stop - row_start
        )
        row_start = row_stop
    return out


@dataclass(frozen=True, eq=False)
class Optimum:
    """Result of :func:`optimize_theta`: the final evaluation (with its factorisation)."""

    theta: np.ndarray
    evaluation: Evaluation
    deviance: float
    gradient: np.ndarray
    converged: bool
    n_evaluations: int
    n_iterations: int
    message: str


def start_theta(problem: REMLProblem) -> np.ndarray:
    """Starting values from one-way ANOVA moments of the least-squares residuals.

    Each factor's variance is estimated as if it were the only one (Henderson's method I
    for a one-way layout), less the variance of any factor it is nested in, and divided by
    what is left for the residual. Crude, but close enough for Newton steps to take over.
    """
    x, y = problem._x, problem._y
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    e = y - x @ beta
    n = len(e)
    total = float(e @ e) / max(n - x.shape[1], 1)
    raw = np.zeros(problem.n_factors)
    for k, c in enumerate(problem._codes):
        g = problem.n_levels[k]
        counts = np.bincount(c, minlength=g).astype(float)
        sums = np.bincount(c, e, minlength=g)
        ss_between = float((sums**2 / counts).sum())
        msb = ss_between / max(g - 1, 1)
        msw = (float(e @ e) - ss_between) / max(n - g, 1)
        n0 = (n - float((counts**2).sum()) / n) / max(g - 1, 1)
        raw[k] = max((msb - msw) / max(n0, 1.0), 0.0)
    est = raw.copy()
    for k, ck in enumerate(problem._codes):
        for j, cj in enumerate(problem._codes):
            if j != k and problem.n_levels[j] < problem.n_levels[k] and _nested(ck, cj):
                est[k] -= raw[j]
    est = np.maximum(est, 0.05 * total)
    resid = max(total - float(est.sum()), 0.2 * total)
    return np.sqrt(est / resid)


def _nested(inner: np.ndarray, outer: np.ndarray) -> bool:
    """Whether every level of ``inner`` occurs with exactly one level of ``outer``."""
    width = int(outer.max()) + 1
    pairs = np.unique(inner.astype(np.int64) * width + outer)
    return len(pairs) == int(inner.max()) + 1


def optimize_theta(
    problem: REMLProblem,
    theta0: np.ndarray,
    *,
    max_iter: int = 100,
    tol: float = 1e-12,
) -> Optimum:
    """Minimise the REML criterion over ``theta`` by Newton steps with the AI Hessian.

    The criterion is even in each ``theta_k``, so the search is unconstrained and the
    answer is ``|theta|``. Steps use the eigen-decomposition of the average-information
    Hessian with absolute eigenvalues (so negative curvature still points downhill) and
    a backtracking line search; the iteration stops when the Newton decrement
    ``g' H^-1 g / 2`` falls below ``tol * (1 + |d|)``.

    A component that starts at (or within :data:`LIFT_BELOW` of) 0 starts instead at its
    moment estimate (:func:`start_theta`): ``theta_k = 0`` is a stationary point of the
    even criterion, where the gradient and the Hessian's row vanish, so Newton steps would
    never move it, and close to 0 the decrement is too small to notice the slope. A
    component whose optimum is 0 returns there in a few steps. This matters when a fit is
    restarted from another fit, as the parametric bootstrap does.
    """
    x = np.abs(np.asarray(theta0, dtype=np.float64))
    low = x < LIFT_BELOW
    if low.any():
        x[low] = start_theta(problem)[low]
    ev = problem.evaluate(x, keep=True)
    f = problem.deviance(ev)
    g = problem.deviance_gradient(ev)
    n_eval = 1
    message = "maximum number of iterations reached"
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        h = problem.ai_hessian(ev)
        w, v = np.linalg.eigh(h)
        floor = max(float(np.abs(w).max()), 1.0) * 1e-10
        w = np.maximum(np.abs(w), floor)
        step = -v @ ((v.T @ g) / w)
        decrement = float(-(g @ step)) / 2.0
        if decrement < tol * (1.0 + abs(f)):
            converged = True
            message = "Newton decrement below tolerance"
            break
        # Keep steps sane far from the optimum: no theta moves by more than 2 (or 100 %).
        biggest = float(np.max(np.abs(step) / np.maximum(np.abs(x), 1.0)))
        t = min(1.0, 2.0 / biggest) if biggest > 0 else 1.0
        accepted = False
        while t > 1e-10:
            x_new = x + t * step
            try:
                ev_new = problem.evaluate(x_new, keep=True)
            except np.linalg.LinAlgError:
                t *= 0.5
                continue
            n_eval += 1
            f_new = problem.deviance(ev_new)
            if f_new <= f + 1e-4 * t * float(g @ step):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            # No decrease along the Newton direction: at the optimum to machine precision.
            converged = float(np.abs(g).max()) < 1e-3 * (1.0 + abs(f)) ** 0.5
            message = "line search found no decrease"
            break
        x, ev, f = x_new, ev_new, f_new
        g = problem.deviance_gradient(ev)
    theta = np.abs(x)
    if not np.array_equal(theta, x):
        ev = problem.evaluate(theta, keep=True)
        n_eval += 1
        g = problem.deviance_gradient(ev)
    return Optimum(theta, ev, problem.deviance(ev), g, converged, n_eval, it, message)
