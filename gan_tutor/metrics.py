r"""Sample-quality metrics: the Fréchet distance between two sets of features.

Heusel, Ramsauer, Unterthiner, Nessler, Hochreiter (2017), "GANs Trained by a Two Time-Scale Update
Rule Converge to a Local Nash Equilibrium", NeurIPS, arXiv:1706.08500, section 3 (FID). Fit a
Gaussian to each set of features, $\mathcal{N}(\mu_1, \Sigma_1)$ and $\mathcal{N}(\mu_2, \Sigma_2)$;
their squared 2-Wasserstein (Fréchet) distance (Dowson & Landau 1982) is

.. math::
    d^2 = \lVert \mu_1 - \mu_2 \rVert^2
          + \operatorname{tr}\big(\Sigma_1 + \Sigma_2 - 2\,(\Sigma_1 \Sigma_2)^{1/2}\big).

FID takes the features from Inception-v3 (natural images, online only); for digits the course uses
the judge's 128 penultimate features, :meth:`gan_tutor.classifier.DigitClassifier.features`, and
reads every distance against the **real-vs-real floor**: the distance between two sets of real
digits of the same sizes, which is not 0 because both are finite samples.

Numerics: :math:`\operatorname{tr}(\Sigma_1\Sigma_2)^{1/2}` is the sum of the square roots of the eigenvalues of a
symmetric matrix with the eigenvalues of :math:`\Sigma_1\Sigma_2`: :math:`\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}` (any
positive semi-definite :math:`\Sigma_1`, singular ones included, as when there are fewer samples than features) or,
about twice as fast, :math:`L^\top\Sigma_2 L` with :math:`\Sigma_1 = LL^\top` (when :math:`\Sigma_1` is positive
definite; :func:`trace_sqrt_product`). Everything runs in float64, tiny negative eigenvalues from round-off are clipped
to 0, and no complex square root (``scipy.linalg.sqrtm``) is needed. ``python scripts/bench_frechet.py`` times it.

The other metrics of notebook 07, each tested against closed forms or naive loops: :class:`FeatureStats` (streaming
mean and covariance), :func:`kid` (unbiased MMD^2 with the cubic polynomial kernel over random subsets),
:func:`inception_score`, :func:`precision_recall` (k-NN manifolds, k = 3), :func:`density_coverage` (k = 5),
:func:`fid_infinity` (FD_N against 1/N, extrapolated to N -> infinity; the line: :func:`one_over_n_fit`),
:func:`nearest_distances` (memorisation), and :func:`evaluate`, all of them at once. The feature extractors are in :mod:`gan_tutor.features`.

Every public function checks its input first and raises a ValueError that says what is wrong and what to pass:
feature matrices (N, D), finite, with one D for both sets; statistics finite, covariances symmetric and positive
semi-definite up to round-off; counts (k, subsets, splits, sizes) whole and in range. A Fréchet distance from N <= D
samples is still returned, with a UserWarning: the covariance is rank-deficient and the estimate strongly biased.

Taught in: notebook 03 (DCGAN: distance to the real floor); notebook 07 (evaluation).
"""

from __future__ import annotations

import math
import numbers
import operator
import sys
import warnings
from dataclasses import dataclass
from typing import Callable

import torch


# --------------------------------------------------------------------------------------------------
# Input checks, each written once and used by every public function: a wrong input raises a ValueError that says what
# is wrong and what to pass instead, rather than a wrong number or an error from deep inside torch.
# --------------------------------------------------------------------------------------------------

_STATS_HINT = "pass a covariance matrix, e.g. from gaussian_stats(features)"


def _matrix(x, name: str) -> torch.Tensor:
    """x as a tensor, checked to be an (N, D) matrix with D >= 1 (dtype and device kept)."""
    x = torch.as_tensor(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a (N, D) matrix of features, one row per sample; got shape {tuple(x.shape)}.")
    if x.shape[1] == 0:
        raise ValueError(f"{name} has shape {tuple(x.shape)}: no features per sample; check the feature extractor.")
    if x.is_complex():
        raise ValueError(f"{name} is complex ({x.dtype}): features must be real numbers.")
    return x


def _features(x, name: str, min_rows: int = 2) -> torch.Tensor:
    x = _matrix(x, name)
    if x.shape[0] < min_rows:
        need = "a covariance needs at least 2 (use hundreds or more)" if min_rows == 2 else f"at least {min_rows} needed"
        raise ValueError(f"{name} has {x.shape[0]} sample(s): {need}.")
    x = x.detach().to("cpu", torch.float64)
    if not torch.isfinite(x.sum(0)).all():  # a NaN or inf anywhere makes its column's sum NaN or inf: a cheap full check
        raise ValueError(f"{name} contains NaN or infinite values (or values so large their sum overflows): check the "
                         "images fed to the feature extractor.")
    return x


def _same_dim(shape_a, shape_b, name_a: str, name_b: str, hint: str = "") -> None:
    """Two sets (or statistics) of features must share their feature dimension, the last axis of each shape."""
    if shape_a[-1] != shape_b[-1]:
        raise ValueError(f"{name_a} has shape {tuple(shape_a)} and {name_b} {tuple(shape_b)}: {shape_a[-1]} and "
                         f"{shape_b[-1]} features per sample; extract both sets with the same feature extractor (the "
                         f"same network and layer){hint}.")


def _whole(value, name: str, low: int | None, high: int | None = None, why: str = "") -> int:
    """value as an int, checked to be a whole number (an int, or a float such as 100.0) in [low, high] (None: no
    bound); ``why`` says what the number is for, in the message."""
    n = None
    if not isinstance(value, bool):
        try:
            n = operator.index(value)  # ints, NumPy's integers, integer tensors of one element
        except TypeError:
            if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
                n = int(value)
    if n is None:
        raise ValueError(f"{name} must be a whole number{why}, got {value!r}.")
    if (low is not None and n < low) or (high is not None and n > high):
        bound = f"between {low} and {high}" if low is not None and high is not None else \
            f">= {low}" if low is not None else f"<= {high}"
        raise ValueError(f"{name} must be {bound}{why}, got {n}.")
    return n


def _neighbours(k, n: int, what: str) -> int:
    """k of a k-nearest-neighbour radius: between 1 and n - 1, n the number of samples of the smallest set."""
    k = _whole(k, "k", 1)
    if k >= n:
        raise ValueError(f"k must be between 1 and N - 1 = {n - 1}, smaller than the number of samples ({what} has "
                         f"{n}), got {k}: use a smaller k or more samples.")
    return k


def _real(x, name: str) -> tuple[torch.Tensor, float]:
    """x in float64 on the CPU, checked finite, and the relative tolerance its own precision allows: 1e-6 for float64
    (and for Python numbers and integers, converted to float64 directly), 1e4 machine epsilons for lower precisions
    (1.2e-3 for float32), at most 1e-2."""
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(x, dtype=None if hasattr(x, "dtype") else torch.float64)
    if t.is_complex():
        raise ValueError(f"{name} is complex ({t.dtype}): statistics of features are real numbers.")
    rtol = min(1e-2, max(1e-6, 1e4 * torch.finfo(t.dtype).eps)) if t.is_floating_point() else 1e-6
    t = t.detach().to("cpu", torch.float64)
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf: pass the statistics of finite features, e.g. from "
                         "gaussian_stats(features).")
    return t, rtol


def _cov(sigma, name: str):
    """sigma in float64, checked to be a finite, symmetric, positive semi-definite (D, D) matrix (relative tolerance
    from :func:`_real`), and its Cholesky factor for reuse (False when it is singular: not positive definite)."""
    s, rtol = _real(sigma, name)
    if s.ndim != 2 or s.shape[0] != s.shape[1] or s.numel() == 0:
        raise ValueError(f"{name} must be a square (D, D) covariance matrix, got shape {tuple(s.shape)}: "
                         f"{_STATS_HINT}.")
    scale = float(s.abs().max())
    asym = float((s - s.T).abs().max())
    if asym > rtol * scale:
        raise ValueError(f"{name} is not symmetric (largest asymmetry {asym:.4g}, largest entry {scale:.4g}): "
                         f"{_STATS_HINT}; one asymmetric by round-off only can be symmetrised, (S + S.T) / 2.")
    L, info = torch.linalg.cholesky_ex(s.contiguous())  # succeeds for positive definite matrices: no eigenvalues needed
    if info == 0:
        return s, L
    evals = torch.linalg.eigvalsh((s + s.T) / 2)
    if evals[0] < -rtol * evals.abs().max():
        raise ValueError(f"{name} is not positive semi-definite (smallest eigenvalue {float(evals[0]):.4g}, largest "
                         f"{float(evals[-1]):.4g}): {_STATS_HINT}.")
    return s, False


def _gaussian(mu, sigma, mu_name: str, sigma_name: str):
    """(mean, covariance, Cholesky factor or False) of one set, checked (:func:`_cov`), with matching dimensions."""
    mu, _ = _real(mu, mu_name)
    if mu.ndim != 1 or mu.numel() == 0:
        raise ValueError(f"{mu_name} must be a vector (D,) of feature means, got shape {tuple(mu.shape)}: pass the "
                         "mean of the features, e.g. from gaussian_stats(features).")
    s, L = _cov(sigma, sigma_name)
    if s.shape[0] != mu.numel():
        raise ValueError(f"{mu_name} has shape {tuple(mu.shape)} but {sigma_name} {tuple(s.shape)}: the mean and the "
                         f"covariance of one set must have the same D, e.g. both from gaussian_stats(features).")
    return mu, s, L


def _method(method) -> str:
    if method not in ("auto", "eigh", "cholesky"):
        raise ValueError(f"method must be 'auto', 'eigh' or 'cholesky', got {method!r}.")
    return method


def _warn_few_samples(what: str, d: int) -> None:
    """A UserWarning for Fréchet distances from N <= D samples (rank-deficient covariances, strongly biased estimates),
    attributed to the first caller outside this module: the line of the notebook or script."""
    frame, level = sys._getframe(0), 1
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    warnings.warn(f"Fréchet distance of {what} in D = {d} dimensions: the covariance is rank-deficient with N <= D "
                  f"samples (rank at most N - 1 < D), so the estimate is strongly biased. Use at least D + 1 = {d + 1} "
                  f"samples per set (better 10 D = {10 * d}), or KID (metrics.kid), unbiased at any N.",
                  UserWarning, stacklevel=level)


def _probabilities(probs) -> torch.Tensor:
    p = _features(probs, "probs")
    lo, hi = float(p.min()), float(p.max())
    if lo < 0 or hi > 1 + 1.1e-4:  # float round-off above 1: the tolerance of the sums below
        raise ValueError(f"probs must hold probabilities in [0, 1], found values from {lo:.4g} to {hi:.4g}: apply "
                         "softmax to the logits first.")
    err = (p.sum(1) - 1).abs()
    if err.max() > 1e-4 + 1e-5:  # the tolerance torch.allclose(sums, 1, atol=1e-4) allowed
        i = int(err.argmax())
        raise ValueError(f"probs must hold probabilities, rows summing to 1; row {i} sums to {float(p[i].sum()):.6g}: "
                         "apply softmax to the logits first.")
    return p


def _covariance(f: torch.Tensor) -> torch.Tensor:
    """Unbiased covariance of the rows of f (N, D), float64. X^T X of the centred rows is symmetric: BLAS's
    symmetric rank-k update (dsyrk, through SciPy) computes one triangle, half the work of a matrix product."""
    x = f - f.mean(0)
    try:
        import numpy as np
        from scipy.linalg.blas import dsyrk
    except ImportError:  # SciPy comes with scikit-learn; without it, the plain product
        return x.T @ x / (len(x) - 1)
    d = x.shape[1]
    # x.T of a C-ordered (N, D) array is a Fortran-ordered (D, N) one: BLAS reads it in place, A A^T = X^T X. Only the
    # upper triangle of the (zero-initialised) output is written; mirror it, counting the diagonal once.
    upper = torch.from_numpy(dsyrk(1.0 / (len(x) - 1), x.numpy().T, c=np.zeros((d, d), order="F"), overwrite_c=1))
    cov = upper + upper.T
    cov.diagonal().div_(2)
    return cov


def gaussian_stats(features) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and unbiased covariance (D, D) of features (N, D), in float64."""
    return _stats(_features(features, "features"))


def _stats(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # for features already checked by _features
    return f.mean(0), _covariance(f)


def _sqrt_psd(c: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a positive semi-definite matrix (negative round-off clipped)."""
    evals, evecs = torch.linalg.eigh((c + c.T) / 2)
    return (evecs * evals.clamp(min=0).sqrt()) @ evecs.T


def _lower_t_s_lower(L: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """L^T S L for a lower-triangular L: two triangular products (BLAS dtrmm, through SciPy), half the work of two
    general matrix products."""
    try:
        from scipy.linalg.blas import dtrmm
    except ImportError:
        return L.T @ s @ L
    lower = L.numpy().T  # the Fortran-ordered view of L^T: BLAS sees it as upper triangular
    sl = dtrmm(1.0, lower, s.numpy().T, side=1, lower=0, trans_a=1)  # S (L^T)^T = S L (S symmetric: S^T's view, no copy)
    return torch.from_numpy(dtrmm(1.0, lower, sl, side=0, lower=0))  # (L^T) (S L)


def trace_sqrt_product(sigma1, sigma2, method: str = "auto") -> float:
    r"""tr (S1 S2)^(1/2) for two covariance matrices, from the eigenvalues of a symmetric matrix similar to S1 S2.

    ``"eigh"``: :math:`S_1^{1/2} S_2 S_1^{1/2}` (its eigenvalues are those of :math:`S_1 S_2`), with the symmetric
    square root from an eigendecomposition; works for every positive semi-definite S1, singular ones included
    (N < D). ``"cholesky"``: :math:`L^\top S_2 L` with :math:`S_1 = L L^\top`, similar to :math:`S_1 S_2` too
    (:math:`L^{-1} S_1 S_2 L = L^\top S_2 L`); about twice as fast, needs S1 positive definite.
    ``"auto"``: Cholesky when it succeeds, otherwise the eigen form. Negative round-off is clipped before the root.
    Both matrices are checked first: finite, (D, D), symmetric and positive semi-definite up to round-off.
    """
    method = _method(method)
    s1, L1 = _cov(sigma1, "sigma1")
    s2, _ = _cov(sigma2, "sigma2")
    _same_dim(s1.shape, s2.shape, "sigma1", "sigma2")
    return _trace_sqrt_product(s1, s2, method, L1)


def _trace_sqrt_product(s1: torch.Tensor, s2: torch.Tensor, method: str, L1=None) -> float:
    """:func:`trace_sqrt_product` of checked float64 matrices. L1: s1's Cholesky factor, False when s1 is known not to
    be positive definite (both from :func:`_cov`), None when not known yet (then tried here)."""
    s2 = (s2 + s2.T) / 2  # symmetric up to round-off (checked): cholesky and eigvalsh read the lower triangle only
    if method != "eigh":
        if L1 is None:
            L1, info = torch.linalg.cholesky_ex(s1.contiguous())
            L1 = L1 if info == 0 else False
        if L1 is not False:
            return float(torch.linalg.eigvalsh(_lower_t_s_lower(L1, s2)).clamp(min=0).sqrt().sum())
        if method == "cholesky":
            raise ValueError("sigma1 is not positive definite (fewer samples than features, or constant features): "
                             "use method='eigh' or 'auto'.")
    r1 = _sqrt_psd(s1)
    return float(torch.linalg.eigvalsh(r1 @ s2 @ r1).clamp(min=0).sqrt().sum())


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2, method: str = "auto") -> float:
    """d^2 between N(mu1, sigma1) and N(mu2, sigma2) (module docstring); ``method``: see :func:`trace_sqrt_product`.

    Checked first: the means are finite vectors (D,), the covariances finite (D, D) matrices, symmetric and positive
    semi-definite up to round-off (singular ones, as from N <= D samples, are fine), with one D for both sets."""
    method = _method(method)
    mu1, s1, L1 = _gaussian(mu1, sigma1, "mu1", "sigma1")
    mu2, s2, _ = _gaussian(mu2, sigma2, "mu2", "sigma2")
    _same_dim(mu1.shape, mu2.shape, "mu1", "mu2")
    return _frechet(mu1, s1, mu2, s2, method, L1)


def _frechet(mu1, s1, mu2, s2, method: str, L1=None) -> float:
    """The Fréchet distance of checked statistics (L1: see :func:`_trace_sqrt_product`)."""
    cross = _trace_sqrt_product(s1, s2, method, L1)
    return float((mu1 - mu2).pow(2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * cross)


def frechet_distance(features_a, features_b, method: str = "auto") -> float:
    """Fréchet distance between two sets of features, (N_a, D) and (N_b, D).

    With N <= D samples in either set the covariance is rank-deficient and the distance strongly biased: it is still
    returned, with a UserWarning (use at least D + 1 samples, better 10 D, or :func:`kid`)."""
    method = _method(method)
    return _frechet_features(_features(features_a, "features_a"), _features(features_b, "features_b"),
                             "features_a", "features_b", method)


def _frechet_features(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str, method: str = "auto") -> float:
    """:func:`frechet_distance` of two checked feature matrices: their dimensions compared, a warning for N <= D."""
    _same_dim(a.shape, b.shape, name_a, name_b)
    d = a.shape[1]
    few = [f"{name} (N = {len(x)})" for name, x in ((name_a, a), (name_b, b)) if len(x) <= d]
    if few:
        _warn_few_samples(" and ".join(few), d)
    return _frechet(*_stats(a), *_stats(b), method)


@torch.no_grad()
def extract(extractor, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """``extractor`` applied to ``images`` in batches of ``batch_size``, without gradients: (N, D) float32 on the CPU."""
    batch_size = _whole(batch_size, "batch_size", 1)
    if len(images) == 0:
        raise ValueError("no images to extract features from (N = 0).")
    return torch.cat([extractor(images[i:i + batch_size]).float().cpu() for i in range(0, len(images), batch_size)])


def frechet_distance_of(images: torch.Tensor, reference_features, features: Callable[[torch.Tensor], torch.Tensor],
                        batch_size: int = 500) -> float:
    """Fréchet distance between ``features(images)`` and precomputed ``reference_features`` (N_ref, D).

    ``features`` is any feature extractor (e.g. ``DigitClassifier.features``), run without gradients in
    batches of ``batch_size``: compute the reference's features once and compare many sample sets with it.
    """
    reference = _features(reference_features, "reference_features")  # checked before the extractor runs
    return _frechet_features(_features(extract(features, images, batch_size), "features(images)"), reference,
                             "features(images)", "reference_features")


# --------------------------------------------------------------------------------------------------
# Streaming statistics
# --------------------------------------------------------------------------------------------------


class FeatureStats:
    """Mean and unbiased covariance of features fed batch by batch (:meth:`update`), in float64.

    Sums of x - c and (x - c)(x - c)^T are kept around a fixed centre c, the first batch's mean, so the
    covariance does not lose precision when the features' mean is large compared with their spread.
    """

    def __init__(self):
        self.n = 0
        self._centre = self._sum = self._outer = None

    def update(self, features) -> "FeatureStats":
        """Add a batch of features (n, D), n >= 1; every batch must have the first one's D."""
        f = _features(features, "features", min_rows=1)
        if self._centre is None:
            self._centre = f.mean(0)
            self._sum, self._outer = torch.zeros_like(self._centre), torch.zeros(f.shape[1], f.shape[1], dtype=torch.float64)
        else:
            _same_dim(f.shape, (self.n, self._centre.numel()), "this batch", "the batches so far",
                      ", one feature extractor throughout")
        d = f - self._centre
        self.n += len(f)
        self._sum += d.sum(0)
        self._outer += d.T @ d
        return self

    def mean(self) -> torch.Tensor:
        self._need(1)
        return self._centre + self._sum / self.n

    def cov(self) -> torch.Tensor:
        self._need(2)
        m = self._sum / self.n
        return (self._outer - self.n * torch.outer(m, m)) / (self.n - 1)

    def _need(self, k: int) -> None:
        if self.n < k:
            raise ValueError(f"{self.n} sample(s) seen; {'a covariance' if k == 2 else 'a mean'} needs at least {k}.")


# --------------------------------------------------------------------------------------------------
# Kernel inception distance, Inception Score, precision / recall / density / coverage, FID-infinity
# --------------------------------------------------------------------------------------------------


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """k(x, y) = (x . y / d + 1)^3 for every pair of rows of x (M, d) and y (N, d): (M, N) (dtype and device kept)."""
    x, y = _matrix(x, "x"), _matrix(y, "y")
    _same_dim(x.shape, y.shape, "x", "y")
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x, y) -> float:
    """The unbiased estimate of MMD^2 with :func:`polynomial_kernel` (Gretton et al. 2012, eq. 3):
    mean of k(x_i, x_j) over i != j, plus the same for y, minus twice the mean of k(x_i, y_j). Its
    expectation is 0 when x and y come from one distribution, so single estimates can be negative."""
    x, y = _features(x, "x"), _features(y, "y")
    _same_dim(x.shape, y.shape, "x", "y")
    return _mmd2(x, y)


def _mmd2(x: torch.Tensor, y: torch.Tensor) -> float:  # for checked features
    m, n = len(x), len(y)
    kxx, kyy = polynomial_kernel(x, x), polynomial_kernel(y, y)
    off = lambda k, size: (k.sum() - k.diagonal().sum()) / (size * (size - 1))  # noqa: E731
    return float(off(kxx, m) + off(kyy, n) - 2 * polynomial_kernel(x, y).mean())


def kid(features_a, features_b, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Kernel inception distance (Bińkowski et al. 2018, arXiv:1801.01401): :func:`mmd2_unbiased` averaged over
    ``subsets`` random subsets of ``subset_size`` rows of each set (without replacement within a subset; fewer when a
    set is smaller); returns (mean, standard deviation over subsets). Negative values are legitimate: the estimate is
    unbiased."""
    subsets = _whole(subsets, "subsets", 1, why=" (the number of random subsets KID averages)")
    subset_size = _whole(subset_size, "subset_size", 2, why=" (MMD^2 compares at least 2 rows of each set)")
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    _same_dim(a.shape, b.shape, "features_a", "features_b")
    size = min(subset_size, len(a), len(b))
    g = torch.Generator().manual_seed(seed)
    values = torch.tensor([_mmd2(a[torch.randperm(len(a), generator=g)[:size]], b[torch.randperm(len(b), generator=g)[:size]])
                           for _ in range(subsets)], dtype=torch.float64)
    return float(values.mean()), float(values.std()) if subsets > 1 else 0.0


def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """Inception Score (Salimans et al. 2016, arXiv:1606.03498): exp(E_x KL(p(y | x) || p(y))), p(y) the mean of the
    rows, computed on each of ``splits`` equal parts of ``probs`` (N, C) (rows: class probabilities); returns
    (mean, standard deviation over the parts). Uniform rows give 1; confident rows spread evenly over C classes give C."""
    p = _probabilities(probs)
    splits = _whole(splits, "splits", 1, len(p), why=f" (at most the number of samples, {len(p)})")
    scores = []
    for part in torch.tensor_split(p, splits):
        marginal = part.mean(0, keepdim=True)
        kl = torch.where(part > 0, part * (part.clamp_min(1e-300).log() - marginal.clamp_min(1e-300).log()), torch.zeros_like(part))
        scores.append(kl.sum(1).mean().exp())
    s = torch.stack(scores)
    return float(s.mean()), float(s.std()) if splits > 1 else 0.0


def knn_radii(x, k: int) -> torch.Tensor:
    """For each row of x (N, d): the Euclidean distance to its k-th nearest *other* row (itself excluded)."""
    x = _features(x, "features")
    return _knn_radii(x, _neighbours(k, len(x), "features"))


def _knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:  # for checked features and k
    return torch.cdist(x, x).kthvalue(k + 1, dim=1).values  # the 1st smallest is the row itself, at distance 0


def _two_sets(real, fake, k) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The checks of :func:`precision_recall` and :func:`density_coverage`: two feature sets of one D, and k."""
    r, f = _features(real, "real"), _features(fake, "fake")
    _same_dim(r.shape, f.shape, "real", "fake")
    smaller = "real" if len(r) <= len(f) else "fake"
    return r, f, _neighbours(k, min(len(r), len(f)), smaller)


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019, arXiv:1904.06991). Each set's manifold is the
    union of balls around its samples, of radius the distance to the k-th nearest other sample of the same set
    (:func:`knn_radii`, boundary included). Precision: the share of fake samples inside the real manifold;
    recall: the share of real samples inside the fake manifold."""
    r, f, k = _two_sets(real, fake, k)
    d = torch.cdist(r, f)  # (R, F)
    precision = (d <= _knn_radii(r, k)[:, None]).any(0).double().mean()
    recall = (d <= _knn_radii(f, k)[None, :]).any(1).double().mean()
    return float(precision), float(recall)


def density_coverage(real, fake, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020, arXiv:2002.09797), with real balls only (radius as in
    :func:`precision_recall`). Density: (1 / kF) sum over fake samples of the number of real balls that hold them
    (about 1 when fake and real come from one distribution; a fake set identical to the real one gives
    (k + 1) / k, each point sitting in its own ball too). Coverage: the share of real samples whose ball holds
    at least one fake sample."""
    r, f, k = _two_sets(real, fake, k)
    inside = torch.cdist(r, f) <= _knn_radii(r, k)[:, None]  # (R, F)
    return float(inside.sum() / (k * len(f))), float(inside.any(1).double().mean())


def fid_infinity(features, reference_stats: tuple[torch.Tensor, torch.Tensor], sizes=(500, 750, 1000, 1500, 2000),
                 seed: int = 0) -> tuple[float, list[tuple[int, float]]]:
    """FID-infinity (Chong & Forsyth 2020, arXiv:1911.07023): the Fréchet distance of random subsets of ``features``
    of each size N in ``sizes`` against fixed reference statistics (mean, covariance), a least-squares line
    FD_N = FD_inf + slope / N, and its intercept. Returns (FD_inf, [(N, FD_N), ...]). Sizes N <= D give a
    UserWarning (one per call): their covariances are rank-deficient, their distances strongly biased."""
    f = _features(features, "features")
    if not isinstance(reference_stats, (tuple, list)) or len(reference_stats) != 2:
        raise ValueError("reference_stats must be a pair (mean, covariance): pass gaussian_stats(reference_features).")
    mu_ref, s_ref, _ = _gaussian(*reference_stats, "reference_stats[0] (mean)", "reference_stats[1] (covariance)")
    _same_dim(f.shape, mu_ref.shape, "features", "reference_stats[0] (mean)")
    sizes = [_whole(n, "every entry of sizes", None, why=" (a subset size)") for n in sizes]
    if len(set(sizes)) < 2 or min(sizes) < 2 or max(sizes) > len(f):
        raise ValueError(f"sizes must hold at least two subset sizes between 2 and the number of samples ({len(f)}), "
                         f"two of them different (the line in 1/N), got {sizes}.")
    d = f.shape[1]
    if min(sizes) <= d:
        _warn_few_samples(f"subsets of sizes {', '.join(str(n) for n in sizes if n <= d)}", d)
    g = torch.Generator().manual_seed(seed)
    points = [(n, _frechet(*_stats(f[torch.randperm(len(f), generator=g)[:n]]), mu_ref, s_ref, "auto")) for n in sizes]
    return one_over_n_fit(points)[0], points


def one_over_n_fit(points) -> tuple[float, float]:
    """The least-squares line FD_N = intercept + slope / N through points [(N, FD_N), ...] (from one or several
    draws): (intercept, slope). The intercept is FID-infinity."""
    points = [tuple(p) for p in points]
    if any(len(p) != 2 for p in points):
        raise ValueError("points must be pairs (N, FD_N), as fid_infinity returns them.")
    sizes = [_whole(n, "every N of points", 1, why=" (a sample size)") for n, _ in points]
    values = [float(v) for _, v in points]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"points hold a NaN or infinite distance ({values}): fit finite Fréchet distances only.")
    if len(set(sizes)) < 2:
        raise ValueError(f"a line in 1/N needs at least two different sizes N, got {sorted(set(sizes))}.")
    x = torch.tensor([1.0 / n for n in sizes], dtype=torch.float64)
    y = torch.tensor(values, dtype=torch.float64)
    design = torch.stack([torch.ones_like(x), x], dim=1)
    intercept, slope = torch.linalg.lstsq(design, y.unsqueeze(1)).solution[:, 0]
    return float(intercept), float(slope)


def nearest_distances(x, reference) -> torch.Tensor:
    """For each row of x (N, d): the Euclidean distance to its nearest row of ``reference`` (M, d). Used to spot
    memorisation: samples copied from the training set sit at distance 0 from it, new ones as far as unseen real data."""
    x, r = _features(x, "x", min_rows=1), _features(reference, "reference", min_rows=1)
    _same_dim(x.shape, r.shape, "x", "reference", ", or the same pixels")
    return torch.cat([torch.cdist(x[i:i + 1000], r).min(1).values for i in range(0, len(x), 1000)])


# --------------------------------------------------------------------------------------------------
# Every metric at once (the leaderboard of notebook 07)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    """Every metric of one sample set against one reference set, in one feature space.

    fid: Fréchet distance; kid, kid_std: KID's mean and standard deviation over subsets; inception_score, is_std
    (None without class probabilities); precision, recall (k = 3); density, coverage (k = 5); n: sample size.
    """

    n: int
    fid: float
    kid: float
    kid_std: float
    precision: float
    recall: float
    density: float
    coverage: float
    inception_score: float | None = None
    is_std: float | None = None


def evaluate(features, reference, probs=None, *, kid_subsets: int = 50, kid_subset_size: int | None = None,
             is_splits: int = 10, seed: int = 0) -> Scores:
    """:class:`Scores` of ``features`` (N, D) against ``reference`` (M, D), both from one extractor.

    ``probs`` (N, C): class probabilities of the same samples, for the Inception Score. KID averages
    ``kid_subsets`` subsets of ``kid_subset_size`` rows (default: 1,000 or half the smaller set, so the subsets differ).
    FID uses the whole reference. Precision, recall, density and coverage compare sets of equal size, as their papers
    do (the k-NN radii, hence the values, depend on each set's size): when M > N, N reference rows drawn with ``seed``.
    """
    # every argument checked before the first metric runs
    f, r = _features(features, "features"), _features(reference, "reference")
    _same_dim(f.shape, r.shape, "features", "reference")
    if min(len(f), len(r)) < 6:
        raise ValueError(f"evaluate needs at least 6 samples in each set (density and coverage use k = 5 nearest "
                         f"neighbours; hundreds are better), got {len(f)} in features and {len(r)} in reference.")
    kid_subsets = _whole(kid_subsets, "kid_subsets", 1, why=" (the number of random subsets KID averages)")
    size = min(1000, min(len(f), len(r)) // 2) if kid_subset_size is None else \
        _whole(kid_subset_size, "kid_subset_size", 2, why=" (MMD^2 compares at least 2 rows of each set), or None")
    is_splits = _whole(is_splits, "is_splits", 1, why=" (the parts the Inception Score is computed on)")
    if probs is not None:
        probs = _probabilities(probs)
        if len(probs) != len(f):
            raise ValueError(f"probs has {len(probs)} rows and features {len(f)}: pass the class probabilities of the "
                             "same samples, one row per sample.")
        _whole(is_splits, "is_splits", 1, len(probs), why=f" (at most the number of samples, {len(probs)})")
    kid_mean, kid_std = kid(f, r, subsets=kid_subsets, subset_size=size, seed=seed)
    r_n = r[torch.randperm(len(r), generator=torch.Generator().manual_seed(seed))[:len(f)]] if len(r) > len(f) else r
    precision, recall = precision_recall(r_n, f)
    density, coverage = density_coverage(r_n, f)
    is_mean, is_std = inception_score(probs, splits=is_splits) if probs is not None else (None, None)
    fid = _frechet_features(f, r, "features", "reference")  # with a UserWarning when N <= D
    return Scores(n=len(f), fid=fid, kid=kid_mean, kid_std=kid_std, precision=precision, recall=recall,
                  density=density, coverage=coverage, inception_score=is_mean, is_std=is_std)
