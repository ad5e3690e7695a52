"""Checks of notebook 07 (evaluation): feature statistics, the Fréchet distance between Gaussians, and the
unbiased MMD^2 estimate of KID."""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from .core import CheckFailed, close, diagnose, fixed_values, floats, nested, tensor

__all__ = ["check_mean_and_covariance", "check_frechet_from_stats", "check_mmd2_estimate"]


def _mean_cov(rows: list[list[float]], ddof: int = 1, centre: bool = True) -> tuple[list[float], list[list[float]]]:
    n, d = len(rows), len(rows[0])
    mu = [sum(r[j] for r in rows) / n for j in range(d)]
    c = mu if centre else [0.0] * d
    cov = [[sum((r[j] - c[j]) * (r[k] - c[k]) for r in rows) / (n - ddof) for k in range(d)] for j in range(d)]
    return mu, cov


def check_mean_and_covariance(fn: Callable) -> None:
    """Check ``fn(features)`` -> (mu (D,), sigma (D, D)): the mean and unbiased covariance of the rows (samples)."""
    name = "mean_and_covariance"
    for n, d, a, b in ((5, 3, 0.8, 0.2), (4, 4, 1.7, 0.9)):  # N != D shows a wrong axis by shape, N == D by value
        rows = nested(fixed_values(n * d, a, b), (n, d))
        got_mu, got = floats(fn(tensor(rows, torch.float64)), name, [(d,), (d, d)], [
            f"one mean per feature (column), over the {n} samples (rows): mean(dim=0)",
            f"a ({d}, {d}) matrix, features x features; ({n}, {n}) is the covariance of the samples: torch.cov "
            "expects variables in rows, torch.cov(f.T)",
        ])
        exp_mu, exp = _mean_cov(rows)
        diagnose(name, got_mu, exp_mu, what="expected the mean of each feature over the samples", tol=(1e-4, 1e-4))
        wrong_axis = [(_mean_cov([list(c) for c in zip(*rows)])[1], "the covariance over the wrong axis: rows are "
                       "samples, columns are features (torch.cov(f.T), or (f - mu).T @ (f - mu) / (N - 1))")]
        diagnose(name, got, exp, (wrong_axis if n == d else []) + [
            (_mean_cov(rows, ddof=0)[1], "divided by N: the unbiased covariance divides by N - 1 (torch.cov's "
                                         "default, and what FID implementations use)"),
            (_mean_cov(rows, centre=False)[1], "the features were not centred: subtract the mean before the products"),
        ], what="expected the unbiased covariance of the features", tol=(1e-4, 1e-4), mistake_tol=(1e-4, 1e-4))
    print(f"✓ {name}: mean over the samples, unbiased covariance of the features, (D, D)")


def _mat_mul(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    return [[sum(a[i][k] * b[k][j] for k in range(len(b))) for j in range(len(b[0]))] for i in range(len(a))]


def _sqrt_2x2(m: list[list[float]]) -> list[list[float]]:
    # symmetric positive definite 2x2: sqrt(M) = (M + sqrt(det M) I) / sqrt(tr M + 2 sqrt(det M))
    s = math.sqrt(m[0][0] * m[1][1] - m[0][1] * m[1][0])
    t = math.sqrt(m[0][0] + m[1][1] + 2 * s)
    return [[(m[0][0] + s) / t, m[0][1] / t], [m[1][0] / t, (m[1][1] + s) / t]]


def _fd_2x2_plus_1(mu1, a1, c1, mu2, a2, c2, cross: str = "matrix", mean_sq: bool = True, factor: float = 2.0) -> float:
    """FD between N(mu1, diag(a1, c1)) and N(mu2, diag(a2, c2)), a1, a2 2x2 blocks, c1, c2 scalars; ``cross`` says how
    tr (S1 S2)^(1/2) is (mis)computed."""
    p = _mat_mul(a1, a2)
    if cross == "matrix":  # the eigenvalues l1, l2 of A1 A2: sqrt(l1) + sqrt(l2) = sqrt(l1 + l2 + 2 sqrt(l1 l2))
        det = (a1[0][0] * a1[1][1] - a1[0][1] ** 2) * (a2[0][0] * a2[1][1] - a2[0][1] ** 2)
        tr = math.sqrt(p[0][0] + p[1][1] + 2 * math.sqrt(det)) + math.sqrt(c1 * c2)
    elif cross == "hadamard":  # sqrt(S1 * S2) element by element, then the trace
        tr = math.sqrt(a1[0][0] * a2[0][0]) + math.sqrt(a1[1][1] * a2[1][1]) + math.sqrt(c1 * c2)
    elif cross == "entries":  # the matrix product's diagonal entries, each square-rooted
        tr = math.sqrt(p[0][0]) + math.sqrt(p[1][1]) + math.sqrt(c1 * c2)
    else:  # "roots": tr(S1^(1/2) S2^(1/2))
        q = _mat_mul(_sqrt_2x2(a1), _sqrt_2x2(a2))
        tr = q[0][0] + q[1][1] + math.sqrt(c1 * c2)
    sq = sum((x - y) ** 2 for x, y in zip(mu1, mu2))
    return (sq if mean_sq else math.sqrt(sq)) + a1[0][0] + a1[1][1] + c1 + a2[0][0] + a2[1][1] + c2 - factor * tr


def check_frechet_from_stats(fn: Callable) -> None:
    """Check ``fn(mu1, sigma1, mu2, sigma2)`` -> ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), singular S1 included."""
    name = "frechet_from_stats"
    mu1, mu2 = [0.5, -1.0, 2.0], [1.5, 0.5, 1.0]
    a1, c1, a2, c2 = [[2.0, 0.9], [0.9, 1.0]], 0.5, [[1.0, -0.4], [-0.4, 3.0]], 2.0  # non-commuting blocks

    def full(a, c):
        return [[a[0][0], a[0][1], 0.0], [a[1][0], a[1][1], 0.0], [0.0, 0.0, c]]

    def call(m1, s1, m2, s2, finite: str | None = None) -> float:
        return floats(fn(*(tensor(v, torch.float64) for v in (m1, s1, m2, s2))), name, finite=finite)

    got = call(mu1, full(a1, c1), mu2, full(a2, c2))
    expected = _fd_2x2_plus_1(mu1, a1, c1, mu2, a2, c2)
    diagnose(name, got, expected, [
        (_fd_2x2_plus_1(mu1, a1, c1, mu2, a2, c2, cross="hadamard"),
         "the square root was taken element by element (sqrt(S1 * S2)); (S1 S2)^(1/2) is a matrix square root: use the "
         "eigenvalues of the symmetric matrix sqrt(S1) S2 sqrt(S1)"),
        (_fd_2x2_plus_1(mu1, a1, c1, mu2, a2, c2, cross="entries"),
         "the square root of the matrix product was taken entry by entry; (S1 S2)^(1/2) is a matrix square root: the sum "
         "of the square roots of the eigenvalues of sqrt(S1) S2 sqrt(S1)"),
        (_fd_2x2_plus_1(mu1, a1, c1, mu2, a2, c2, cross="roots"),
         "tr(S1^(1/2) S2^(1/2)) is not tr (S1 S2)^(1/2) unless S1 and S2 commute: take the eigenvalues of sqrt(S1) S2 sqrt(S1)"),
        (_fd_2x2_plus_1(mu1, a1, c1, mu2, a2, c2, factor=1.0), "the cross term needs its factor 2: - 2 tr (S1 S2)^(1/2)"),
        (_fd_2x2_plus_1(mu1, a1, c1, mu2, a2, c2, mean_sq=False), "the mean term is the squared distance ||mu1 - mu2||^2"),
    ], "for two 3-d Gaussians with non-commuting covariances")
    if not close(call(mu2, full(a2, c2), mu1, full(a1, c1)), expected):
        raise CheckFailed(f"{name}: the distance should be symmetric: swapping the two Gaussians changed it")
    v = [1.0, 2.0, -1.0]  # S1 = v v^T has rank 1, as a covariance of fewer samples than features does
    s1 = [[a * b for b in v] for a in v]
    s2 = full(a2, c2)
    v_s2_v = sum(v[i] * s2[i][j] * v[j] for i in range(3) for j in range(3))
    expected_singular = sum((x - y) ** 2 for x, y in zip(mu1, mu2)) + sum(a * a for a in v) + sum(s2[i][i] for i in range(3)) \
        - 2 * math.sqrt(v_s2_v)  # S1 S2 = v (v^T S2) has one non-zero eigenvalue, v^T S2 v
    got_singular = call(mu1, s1, mu2, s2, finite="for a singular covariance (rank 1, as with fewer samples than "
                        "features): round-off makes some eigenvalues slightly negative; clip them at 0 before the square "
                        "root (.clamp(min=0))")
    diagnose(name, got_singular, expected_singular, where="for a singular S1 = v v^T")
    print(f"✓ {name}: matrix square root through a symmetric eigenproblem; symmetric; finite for a singular covariance")


def _cubic(a: Sequence[float], b: Sequence[float], scale: bool = True) -> float:
    return (sum(x * y for x, y in zip(a, b)) / (len(a) if scale else 1.0) + 1.0) ** 3


def _mmd2(x, y, diagonal: bool = False, pairs: str = "m(m-1)", cross: float = 2.0, scale: bool = True) -> float:
    def within(s):
        m = len(s)
        total = sum(_cubic(s[i], s[j], scale) for i in range(m) for j in range(m) if diagonal or i != j)
        return total / (m * (m - 1) if pairs == "m(m-1)" else m * m)

    k_xy = sum(_cubic(a, b, scale) for a in x for b in y) / (len(x) * len(y))
    return within(x) + within(y) - cross * k_xy


def check_mmd2_estimate(fn: Callable) -> None:
    """Check ``fn(x, y)`` -> the unbiased MMD^2 with k(a, b) = (a . b / d + 1)^3, for x (m, d) and y (n, d), m != n."""
    name = "mmd2_estimate"
    x = nested(fixed_values(4 * 3, 0.9, 0.4), (4, 3))
    y = nested([0.5 + v for v in fixed_values(5 * 3, 1.4, 0.7)], (5, 3))
    got = floats(fn(tensor(x, torch.float64), tensor(y, torch.float64)), name)
    diagnose(name, got, _mmd2(x, y), [
        (_mmd2(x, y, diagonal=True, pairs="m^2"), "the diagonal terms k(x_i, x_i) and k(y_j, y_j) were left in (the biased "
                                                  "V-statistic): average the within-set kernels over the pairs i != j"),
        (_mmd2(x, y, diagonal=True), "the diagonal terms k(x_i, x_i) are still in the sums: subtract the trace of K_xx "
                                     "and K_yy before dividing by m (m - 1)"),
        (_mmd2(x, y, pairs="m^2"), "divided by m^2: without the diagonal there are m (m - 1) pairs"),
        (_mmd2(x, y, cross=1.0), "the cross term counts twice: - 2 mean k(x_i, y_j)"),
        (_mmd2(x, y, scale=False), "the kernel is (x . y / d + 1)^3: divide the dot product by the dimension d"),
    ], "(m = 4, n = 5, d = 3)")
    same = floats(fn(tensor(x, torch.float64), tensor(x, torch.float64)), name)
    diagnose(name, same, _mmd2(x, x), where="when both sets are the same")
    print(f"✓ {name}: within-set kernels averaged over i != j, cross term doubled; can be negative ({_mmd2(x, x):.4f} for x "
          "against itself)")
