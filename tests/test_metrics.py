"""gan_tutor.metrics: the Fréchet distance against closed forms and an independent matrix square root."""

import numpy as np
import pytest
import scipy.linalg
import torch

from gan_tutor import metrics


def test_same_features_give_zero():
    f = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    assert metrics.frechet_distance(f, f) == pytest.approx(0.0, abs=1e-8)


def test_a_shift_adds_its_squared_length():
    # equal covariances: d^2 = ||mu1 - mu2||^2 exactly
    f = torch.randn(300, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    shift = torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0], dtype=torch.float64)
    assert metrics.frechet_distance(f, f + shift) == pytest.approx(float(shift.pow(2).sum()), rel=1e-9)


def test_diagonal_covariances_closed_form():
    # N(mu1, diag(a)) vs N(mu2, diag(b)): sum (mu1 - mu2)^2 + sum (sqrt(a) - sqrt(b))^2
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, -1.0])
    a, b = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 0.25])
    expected = float((mu1 - mu2).pow(2).sum() + (a.sqrt() - b.sqrt()).pow(2).sum())
    got = metrics.frechet_distance_from_stats(mu1, torch.diag(a), mu2, torch.diag(b))
    assert got == pytest.approx(expected, rel=1e-10)


def test_matches_scipy_sqrtm_on_non_commuting_covariances():
    rng = np.random.default_rng(2)
    fa = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    fb = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6)) + 0.3
    m1, m2 = fa.mean(0), fb.mean(0)
    c1, c2 = np.cov(fa, rowvar=False), np.cov(fb, rowvar=False)
    expected = ((m1 - m2) ** 2).sum() + np.trace(c1 + c2 - 2 * scipy.linalg.sqrtm(c1 @ c2).real)
    assert metrics.frechet_distance(torch.from_numpy(fa), torch.from_numpy(fb)) == pytest.approx(expected, rel=1e-7)


def test_stats_are_mean_and_unbiased_covariance():
    f = torch.randn(50, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    mu, sigma = metrics.gaussian_stats(f)
    assert torch.allclose(mu, f.mean(0))
    assert torch.allclose(sigma, torch.from_numpy(np.cov(f.numpy(), rowvar=False)))


def test_bad_input_names_the_fix():
    f = torch.randn(10, 4)
    with pytest.raises(ValueError, match="same network"):
        metrics.frechet_distance(f, torch.randn(10, 5))
    with pytest.raises(ValueError, match=r"\(N, D\) matrix"):
        metrics.frechet_distance(torch.randn(10, 1, 2, 2), f)
    with pytest.raises(ValueError, match="at least 2"):
        metrics.frechet_distance(f[:1], f)
    with pytest.raises(ValueError, match="NaN"):
        metrics.frechet_distance(torch.full((10, 4), float("nan")), f)
    with pytest.raises(ValueError, match="same feature extractor"):
        metrics.frechet_distance_from_stats(torch.zeros(3), torch.eye(3), torch.zeros(4), torch.eye(4))


def test_frechet_distance_of_images_uses_the_extractor_in_batches():
    g = torch.Generator().manual_seed(4)
    images, reference = torch.rand(130, 1, 4, 4, generator=g), torch.randn(80, 3, generator=g)
    proj = torch.randn(16, 3, generator=g)
    features = lambda x: x.flatten(1) @ proj  # noqa: E731  a stand-in feature extractor
    expected = metrics.frechet_distance(features(images), reference)
    assert metrics.frechet_distance_of(images, reference, features, batch_size=7) == pytest.approx(expected, rel=1e-9)
