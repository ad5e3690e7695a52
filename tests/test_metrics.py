"""gan_tutor.metrics: the Fréchet distance, KID, IS, precision/recall, density/coverage and FID-infinity against closed
forms, naive loops, an independent matrix square root and their limiting cases."""

import math

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


@pytest.mark.parametrize("method", ["eigh", "cholesky", "auto"])
def test_matches_scipy_sqrtm_on_non_commuting_covariances(method):
    rng = np.random.default_rng(2)
    fa = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    fb = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6)) + 0.3
    m1, m2 = fa.mean(0), fb.mean(0)
    c1, c2 = np.cov(fa, rowvar=False), np.cov(fb, rowvar=False)
    expected = ((m1 - m2) ** 2).sum() + np.trace(c1 + c2 - 2 * scipy.linalg.sqrtm(c1 @ c2).real)
    assert metrics.frechet_distance(torch.from_numpy(fa), torch.from_numpy(fb), method=method) == pytest.approx(expected, rel=1e-7)


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


# ---------------------------------------------------------------------------------------------------
# Closed forms and invariances of the Fréchet distance
# ---------------------------------------------------------------------------------------------------


def test_unit_shift_of_2048_identity_gaussians_is_exactly_2048():
    eye = torch.eye(2048, dtype=torch.float64)
    assert metrics.frechet_distance_from_stats(torch.zeros(2048), eye, torch.ones(2048), eye) == pytest.approx(2048.0, abs=1e-6)


def test_isotropic_case_and_the_one_dimensional_formula():
    d = 16  # mu2 - mu1 = 1 in every coordinate; S1 = I, S2 = 4I: 16 + 16 (1 + 4 - 2 * 2) = 32
    got = metrics.frechet_distance_from_stats(torch.zeros(d), torch.eye(d), torch.ones(d), 4 * torch.eye(d))
    assert got == pytest.approx(32.0, rel=1e-12)
    m1, s1, m2, s2 = 0.3, 1.7, -1.1, 0.4  # 1-D: (m1 - m2)^2 + (s1 - s2)^2
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    got = metrics.frechet_distance_from_stats(t([m1]), t([[s1**2]]), t([m2]), t([[s2**2]]))
    assert got == pytest.approx((m1 - m2) ** 2 + (s1 - s2) ** 2, rel=1e-12)


def test_symmetric_and_invariant_to_translation_and_rotation_scaling_by_s_squared():
    g = torch.Generator().manual_seed(5)
    a = torch.randn(300, 6, generator=g, dtype=torch.float64) @ torch.randn(6, 6, generator=g, dtype=torch.float64)
    b = torch.randn(300, 6, generator=g, dtype=torch.float64) * 1.5 + 0.4
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))
    shift = torch.randn(6, generator=g, dtype=torch.float64)
    d = metrics.frechet_distance(a, b)
    assert metrics.frechet_distance(b, a) == pytest.approx(d, rel=1e-9)
    assert metrics.frechet_distance(a @ q + shift, b @ q + shift) == pytest.approx(d, rel=1e-9)
    assert metrics.frechet_distance(3 * a, 3 * b) == pytest.approx(9 * d, rel=1e-9)


def test_rank_deficient_covariances_give_a_finite_distance():
    g = torch.Generator().manual_seed(6)
    a, b = torch.randn(10, 64, generator=g), torch.randn(12, 64, generator=g)  # N < d: singular covariances
    d = metrics.frechet_distance(a, b)
    assert math.isfinite(d) and d > 0
    assert metrics.frechet_distance(a, b, method="eigh") == pytest.approx(d, rel=1e-12)  # "auto" fell back to it
    with pytest.raises(ValueError, match="not positive definite.*method='eigh'"):
        metrics.frechet_distance(a, b, method="cholesky")
    with pytest.raises(ValueError, match="method must be"):
        metrics.frechet_distance(a, b, method="sqrtm")


def test_covariance_through_the_symmetric_rank_k_update_equals_torch_cov():
    g = torch.Generator().manual_seed(16)
    f = torch.randn(300, 40, generator=g, dtype=torch.float64) @ torch.randn(40, 40, generator=g, dtype=torch.float64) + 5
    cov = metrics._covariance(f)
    assert torch.allclose(cov, torch.cov(f.T), rtol=1e-12, atol=1e-12)
    assert torch.equal(cov, cov.T)


def test_two_samples_of_one_distribution_sit_near_the_finite_sample_bias():
    # for N(0, I_d) the trace term's bias is about d^2 / (2N) (and the mean term's 2d / N): far from 0 at small N
    g = torch.Generator().manual_seed(7)
    d, n = 64, 2000
    values = [metrics.frechet_distance(torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)) for _ in range(5)]
    assert sum(values) / len(values) == pytest.approx(d * d / (2 * n) + 2 * d / n, rel=0.1)


def test_streaming_statistics_equal_the_batch_ones_even_far_from_the_origin():
    g = torch.Generator().manual_seed(8)
    f = torch.randn(1000, 5, generator=g, dtype=torch.float64) * 0.01 + 1e4  # a large mean, a small spread
    stats = metrics.FeatureStats()
    for part in torch.split(f, 333):
        stats.update(part)
    mu, sigma = metrics.gaussian_stats(f)
    assert stats.n == 1000 and torch.allclose(stats.mean(), mu, rtol=0, atol=1e-9)
    assert torch.allclose(stats.cov(), sigma, rtol=1e-9, atol=1e-15)
    with pytest.raises(ValueError, match="one feature extractor"):
        stats.update(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="at least 2"):
        metrics.FeatureStats().update(torch.zeros(1, 5)).cov()


# ---------------------------------------------------------------------------------------------------
# KID, IS, precision / recall, density / coverage, FID-infinity
# ---------------------------------------------------------------------------------------------------


def test_mmd2_equals_a_naive_double_loop():
    g = torch.Generator().manual_seed(9)
    x, y = torch.randn(7, 3, generator=g, dtype=torch.float64), torch.randn(5, 3, generator=g, dtype=torch.float64) + 0.5
    k = lambda u, v: (float(u @ v) / 3 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
    yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / (5 * 4)
    xy = sum(k(x[i], y[j]) for i in range(7) for j in range(5)) / (7 * 5)
    assert metrics.mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_kid_is_unbiased_around_zero_for_one_distribution_and_positive_for_two():
    g = torch.Generator().manual_seed(10)
    a, b = torch.randn(400, 8, generator=g), torch.randn(400, 8, generator=g)
    values = [metrics.mmd2_unbiased(a[i::20], b[i::20]) for i in range(20)]
    assert min(values) < 0  # single estimates go negative: that is what unbiased means here
    mean, std = metrics.kid(a, b, subsets=50, subset_size=100)
    assert abs(mean) < 3 * std / math.sqrt(50)
    far_mean, _ = metrics.kid(a, b + 1.0, subsets=20, subset_size=100)
    assert far_mean > 10 * std


def test_inception_score_of_uniform_and_of_balanced_one_hot_rows():
    assert metrics.inception_score(torch.full((100, 10), 0.1), splits=5) == pytest.approx((1.0, 0.0), abs=1e-9)
    one_hot = torch.eye(10).repeat(20, 1)  # 200 confident rows, every class equally often in every split
    mean, std = metrics.inception_score(one_hot, splits=4)
    assert mean == pytest.approx(10.0, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="softmax"):
        metrics.inception_score(torch.randn(20, 10))


def test_precision_recall_density_coverage_limits_and_mode_dropping():
    g = torch.Generator().manual_seed(11)
    real = torch.randn(400, 2, generator=g, dtype=torch.float64)
    assert metrics.precision_recall(real, real) == (1.0, 1.0)
    density, coverage = metrics.density_coverage(real, real, k=5)
    assert coverage == 1.0 and density == pytest.approx(6 / 5)  # each point also sits in its own ball: (k + 1) / k
    assert metrics.precision_recall(real, real + 100) == (0.0, 0.0)
    assert metrics.density_coverage(real, real + 100) == (0.0, 0.0)
    same = torch.randn(400, 2, generator=g, dtype=torch.float64)
    assert metrics.density_coverage(real, same)[0] == pytest.approx(1.0, abs=0.15)
    # two well-separated modes in the real data; the "generator" draws from one of them only
    centres = torch.tensor([[-10.0, 0.0], [10.0, 0.0]], dtype=torch.float64)
    modes = centres[torch.arange(400) % 2] + torch.randn(400, 2, generator=g, dtype=torch.float64)
    half = centres[0] + torch.randn(400, 2, generator=g, dtype=torch.float64)
    precision, recall = metrics.precision_recall(modes, half)
    _, coverage = metrics.density_coverage(modes, half)
    assert precision > 0.9 and recall == pytest.approx(0.5, abs=0.06) and coverage == pytest.approx(0.5, abs=0.06)
    with pytest.raises(ValueError, match="k must be between"):
        metrics.knn_radii(real[:3], 3)


def test_fid_infinity_recovers_the_intercept_of_a_one_over_n_law():
    g = torch.Generator().manual_seed(12)
    d = 16
    reference = (torch.zeros(d, dtype=torch.float64), torch.eye(d, dtype=torch.float64))  # the exact distribution
    f = torch.randn(4000, d, generator=g, dtype=torch.float64) + 0.5  # true FD: d * 0.25 = 4
    fd_inf, points = metrics.fid_infinity(f, reference, sizes=(250, 500, 1000, 2000, 4000))
    assert [n for n, _ in points] == [250, 500, 1000, 2000, 4000]
    assert points[0][1] > points[-1][1]  # smaller samples, larger distances
    assert fd_inf == pytest.approx(4.0, abs=0.25) and abs(fd_inf - 4.0) < abs(points[-1][1] - 4.0)
    with pytest.raises(ValueError, match="at least two subset sizes"):
        metrics.fid_infinity(f, reference, sizes=(5000, 6000))


def test_one_over_n_fit_recovers_an_exact_line_from_several_draws():
    points = [(n, 3.0 + 200.0 / n) for n in (100, 200, 400)] * 2  # two draws at the same sizes
    assert metrics.one_over_n_fit(points) == pytest.approx((3.0, 200.0), rel=1e-10)
    with pytest.raises(ValueError, match="two different sizes"):
        metrics.one_over_n_fit([(100, 5.0), (100, 6.0)])


def test_nearest_distances_match_a_loop_and_are_zero_for_copies():
    g = torch.Generator().manual_seed(17)
    x, ref = torch.randn(7, 5, generator=g, dtype=torch.float64), torch.randn(9, 5, generator=g, dtype=torch.float64)
    expected = [min(float((xi - rj).norm()) for rj in ref) for xi in x]
    assert metrics.nearest_distances(x, ref).tolist() == pytest.approx(expected, rel=1e-12)
    assert metrics.nearest_distances(ref[2:5], ref).tolist() == [0.0, 0.0, 0.0]  # memorised samples


def test_evaluate_gathers_every_metric_with_its_limits():
    g = torch.Generator().manual_seed(18)
    real = torch.randn(400, 8, generator=g, dtype=torch.float64)
    same = metrics.evaluate(real, real, probs=torch.eye(10, dtype=torch.float64).repeat(40, 1), kid_subsets=5)
    assert same.n == 400 and same.fid == pytest.approx(0.0, abs=1e-9)
    assert (same.precision, same.recall, same.coverage) == (1.0, 1.0, 1.0)
    assert same.density == pytest.approx(6 / 5)  # (k + 1) / k: each sample sits in its own ball too
    assert same.inception_score == pytest.approx(10.0) and same.is_std == pytest.approx(0.0, abs=1e-9)
    far = metrics.evaluate(real + 100, real, kid_subsets=5)
    assert far.inception_score is None and (far.precision, far.recall, far.density, far.coverage) == (0.0, 0.0, 0.0, 0.0)
    assert far.fid == pytest.approx(metrics.frechet_distance(real + 100, real)) and far.kid > 0


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save")
def test_fid_and_kid_equal_torchmetrics_with_the_same_feature_module():
    tm = pytest.importorskip("torchmetrics.image", reason="torchmetrics is not installed (pip install torchmetrics)")

    class Features(torch.nn.Module):  # a fixed random projection of the pixels, as torchmetrics' `feature=` module
        num_features = 24

        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(3 * 8 * 8, 24)

        def forward(self, x):
            return torch.tanh(self.proj(x.float().flatten(1)))

    torch.manual_seed(0)
    net = Features()
    g = torch.Generator().manual_seed(19)
    real, fake = torch.rand(300, 3, 8, 8, generator=g), torch.rand(300, 3, 8, 8, generator=g) ** 1.5
    fid = tm.FrechetInceptionDistance(feature=net, normalize=True)
    kid_tm = tm.KernelInceptionDistance(feature=net, normalize=True, subsets=3, subset_size=300)  # every subset = the whole set
    for metric in (fid, kid_tm):
        metric.update(real, real=True)
        metric.update(fake, real=False)
    with torch.no_grad():
        fr, ff = net(real).double(), net(fake).double()
    assert metrics.frechet_distance(ff, fr) == pytest.approx(float(fid.compute()), rel=1e-4)
    assert metrics.mmd2_unbiased(ff, fr) == pytest.approx(float(kid_tm.compute()[0]), rel=1e-4)


def test_evaluate_compares_equal_sized_sets_for_the_manifold_metrics():
    g = torch.Generator().manual_seed(20)
    real = torch.randn(1200, 4, generator=g, dtype=torch.float64)
    fake = real[:300]  # a quarter of the reference, copied
    s = metrics.evaluate(fake, real, kid_subsets=3, seed=1)
    sub = real[torch.randperm(1200, generator=torch.Generator().manual_seed(1))[:300]]
    assert (s.precision, s.recall) == metrics.precision_recall(sub, fake)
    assert (s.density, s.coverage) == metrics.density_coverage(sub, fake)
    assert s.fid == pytest.approx(metrics.frechet_distance(fake, real))  # the whole reference
