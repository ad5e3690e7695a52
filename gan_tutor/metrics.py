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

Numerics: :math:`\operatorname{tr}(\Sigma_1\Sigma_2)^{1/2}` is computed as the sum of the square
roots of the eigenvalues of the symmetric matrix :math:`\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}` (it has
the same eigenvalues as :math:`\Sigma_1\Sigma_2`), in float64, with tiny negative eigenvalues from
round-off clipped to 0; no complex square root is needed.

Taught in: notebook 03 (DCGAN: distance to the real floor); notebook 07 extends this module.
"""

from __future__ import annotations

from typing import Callable

import torch


def _features(x, name: str) -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a (N, D) matrix of features, one row per sample; got shape {tuple(x.shape)}.")
    if x.shape[0] < 2:
        raise ValueError(f"{name} has {x.shape[0]} sample(s): a covariance needs at least 2 (use hundreds or more).")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values: check the images fed to the feature extractor.")
    return x.detach().to("cpu", torch.float64)


def gaussian_stats(features) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and unbiased covariance (D, D) of features (N, D), in float64."""
    f = _features(features, "features")
    return f.mean(0), torch.cov(f.T)


def _sqrt_psd(c: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a positive semi-definite matrix (negative round-off clipped)."""
    evals, evecs = torch.linalg.eigh((c + c.T) / 2)
    return (evecs * evals.clamp(min=0).sqrt()) @ evecs.T


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """d^2 between N(mu1, sigma1) and N(mu2, sigma2) (module docstring)."""
    mu1, mu2 = torch.as_tensor(mu1, dtype=torch.float64), torch.as_tensor(mu2, dtype=torch.float64)
    s1, s2 = torch.as_tensor(sigma1, dtype=torch.float64), torch.as_tensor(sigma2, dtype=torch.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.numel(), mu1.numel()):
        raise ValueError(f"mismatched statistics: means {tuple(mu1.shape)} and {tuple(mu2.shape)}, covariances "
                         f"{tuple(s1.shape)} and {tuple(s2.shape)}; both sets need the same feature extractor.")
    r1 = _sqrt_psd(s1)
    cross = torch.linalg.eigvalsh(r1 @ s2 @ r1).clamp(min=0).sqrt().sum()  # tr (S1 S2)^(1/2)
    return float((mu1 - mu2).pow(2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * cross)


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between two sets of features, (N_a, D) and (N_b, D)."""
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"features_a has {a.shape[1]} features per sample and features_b {b.shape[1]}: "
                         "extract both with the same network.")
    return frechet_distance_from_stats(*gaussian_stats(a), *gaussian_stats(b))


@torch.no_grad()
def frechet_distance_of(images: torch.Tensor, reference_features, features: Callable[[torch.Tensor], torch.Tensor],
                        batch_size: int = 500) -> float:
    """Fréchet distance between ``features(images)`` and precomputed ``reference_features`` (N_ref, D).

    ``features`` is any feature extractor (e.g. ``DigitClassifier.features``), run without gradients in
    batches of ``batch_size``: compute the reference's features once and compare many sample sets with it.
    """
    f = torch.cat([features(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])
    return frechet_distance(f, reference_features)
