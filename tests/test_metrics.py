"""gan_tutor.metrics: the Fréchet distance, KID, IS, precision/recall, density/coverage and FID-infinity against closed
forms, naive loops, an independent matrix square root and their limiting cases."""

import math
import warnings

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
    with pytest.warns(UserWarning, match="rank-deficient"):
        d = metrics.frechet_distance(a, b)
    assert math.isfinite(d) and d > 0
    with pytest.warns(UserWarning, match="rank-deficient"):
        assert metrics.frechet_distance(a, b, method="eigh") == pytest.approx(d, rel=1e-12)  # "auto" fell back to it
    with pytest.warns(UserWarning, match="rank-deficient"), pytest.raises(ValueError, match="not positive definite.*method='eigh'"):
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


# ---------------------------------------------------------------------------------------------------
# Input checks: inputs that used to give a silent wrong number (or a raw torch error) raise a ValueError that names the
# fix; N <= D gives a warning; valid inputs, singular covariances included, give the same values as before
# ---------------------------------------------------------------------------------------------------

Z2, I2 = torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)
SAME_EXTRACTOR = "extract both sets with the same feature extractor"


def test_from_stats_rejects_a_covariance_that_is_not_positive_semi_definite():
    # -I as both covariances used to give d^2 = -4.0: a "distance" below 0
    with pytest.raises(ValueError, match=r"sigma1 is not positive semi-definite \(smallest eigenvalue -1.*gaussian_stats"):
        metrics.frechet_distance_from_stats(Z2, -I2, Z2, -I2)
    with pytest.raises(ValueError, match=r"sigma2 is not positive semi-definite \(smallest eigenvalue -1, largest 3\)"):
        metrics.frechet_distance_from_stats(Z2, I2, Z2, torch.tensor([[1.0, 2.0], [2.0, 1.0]]))  # eigenvalues 3, -1
    with pytest.raises(ValueError, match="sigma1 is not positive semi-definite"):
        metrics.trace_sqrt_product(-I2, I2)


def test_from_stats_rejects_a_non_symmetric_covariance():
    s = torch.tensor([[1.0, 0.5], [0.0, 1.0]], dtype=torch.float64)  # used to give 0.0: only one triangle was read
    with pytest.raises(ValueError, match=r"sigma1 is not symmetric \(largest asymmetry 0.5.*gaussian_stats\(features\)"):
        metrics.frechet_distance_from_stats(Z2, s, Z2, s)
    with pytest.raises(ValueError, match="sigma2 is not symmetric"):
        metrics.frechet_distance_from_stats(Z2, I2, Z2, s)
    with pytest.raises(ValueError, match="sigma2 is not symmetric"):
        metrics.trace_sqrt_product(I2, s)


@pytest.mark.parametrize("which", ["mu1", "sigma1", "mu2", "sigma2"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_from_stats_rejects_nan_and_inf(which, bad):
    stats = {"mu1": Z2.clone(), "sigma1": I2.clone(), "mu2": Z2.clone(), "sigma2": I2.clone()}
    stats[which][0] = bad  # a NaN used to come back as the distance
    with pytest.raises(ValueError, match=rf"{which} contains NaN or inf: .*gaussian_stats\(features\)"):
        metrics.frechet_distance_from_stats(**stats)


def test_from_stats_rejects_wrong_shapes_naming_them():
    with pytest.raises(ValueError, match=r"mu1 must be a vector \(D,\).*got shape \(1, 2\)"):
        metrics.frechet_distance_from_stats(Z2[None], I2, Z2[None], I2)
    with pytest.raises(ValueError, match=r"sigma2 must be a square \(D, D\) covariance matrix, got shape \(2, 3\)"):
        metrics.frechet_distance_from_stats(Z2, I2, Z2, torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"mu1 has shape \(2,\) but sigma1 \(3, 3\)"):
        metrics.frechet_distance_from_stats(Z2, torch.eye(3), Z2, I2)
    with pytest.raises(ValueError, match=r"mu1 has shape \(3,\) and mu2 \(4,\).*" + SAME_EXTRACTOR):
        metrics.frechet_distance_from_stats(torch.zeros(3), torch.eye(3), torch.zeros(4), torch.eye(4))
    with pytest.raises(ValueError, match=r"sigma1 has shape \(3, 3\) and sigma2 \(2, 2\)"):
        metrics.trace_sqrt_product(torch.eye(3), I2)
    with pytest.raises(ValueError, match="method must be"):
        metrics.frechet_distance_from_stats(Z2, I2, Z2, I2, method="sqrtm")


def test_valid_statistics_give_the_same_values_as_before_singular_and_lower_precision_ones_included():
    # singular but positive semi-definite diagonal covariances (as from N <= D): the closed form of the diagonal case
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, -1.0])
    a, b = torch.tensor([1.0, 0.0, 4.0]), torch.tensor([4.0, 9.0, 0.0])
    expected = float((mu1 - mu2).pow(2).sum() + (a.sqrt() - b.sqrt()).pow(2).sum())  # 10 + 1 + 9 + 4 = 24
    for method in ("auto", "eigh"):
        assert metrics.frechet_distance_from_stats(mu1, torch.diag(a), mu2, torch.diag(b), method=method) == pytest.approx(expected, rel=1e-12)
    # an all-zero covariance (notebook 07's "ceiling"): ||mu2||^2 + tr S2
    g = torch.Generator().manual_seed(21)
    mu, sigma = metrics.gaussian_stats(torch.randn(50, 4, generator=g, dtype=torch.float64) + 1)
    ceiling = metrics.frechet_distance_from_stats(torch.zeros(4), torch.zeros(4, 4), mu, sigma)
    assert ceiling == pytest.approx(float(mu.pow(2).sum() + torch.trace(sigma)), rel=1e-12)
    # round-off stays within the tolerances: a tiny negative eigenvalue, a float32 covariance with its round-off, lists
    assert metrics.frechet_distance_from_stats(Z2, torch.diag(torch.tensor([1.0, -1e-12])), Z2, I2) == pytest.approx(1.0, rel=1e-6)
    f32 = (torch.randn(60, 40, generator=g) @ torch.randn(40, 40, generator=g)).float()
    m32, s32 = f32.mean(0), torch.cov(f32.T)
    m64, s64 = metrics.gaussian_stats(f32)
    assert metrics.frechet_distance_from_stats(m32, s32, m64, s64) == pytest.approx(0.0, abs=1e-3 * float(torch.trace(s64)))
    assert metrics.frechet_distance_from_stats([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], [1.0, 1.0], [[4.0, 0.0], [0.0, 4.0]]) == 4.0


def test_rank_deficient_distance_matches_the_eigenvalues_of_s1_s2():
    # the value for N < D is unchanged: an independent route, tr (S1 S2)^(1/2) = sum of sqrt(eigenvalues of S1 S2)
    g = torch.Generator().manual_seed(6)
    a, b = torch.randn(10, 64, generator=g, dtype=torch.float64), torch.randn(12, 64, generator=g, dtype=torch.float64)
    c1, c2 = np.cov(a.numpy(), rowvar=False), np.cov(b.numpy(), rowvar=False)
    roots = np.sqrt(np.clip(np.linalg.eigvals(c1 @ c2).real, 0, None)).sum()
    expected = ((a.mean(0) - b.mean(0)).pow(2).sum().item() + np.trace(c1) + np.trace(c2) - 2 * roots)
    with pytest.warns(UserWarning):
        assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-7)
    stats = (*metrics.gaussian_stats(a), *metrics.gaussian_stats(b))
    assert metrics.frechet_distance_from_stats(*stats) == pytest.approx(expected, rel=1e-7)  # no N here, no warning


def test_fewer_samples_than_dimensions_warn_once_per_call_and_still_return_the_number():
    g = torch.Generator().manual_seed(22)
    a, b = torch.randn(64, 64, generator=g, dtype=torch.float64), torch.randn(10, 64, generator=g, dtype=torch.float64)
    with pytest.warns(UserWarning) as record:
        d = metrics.frechet_distance(a, b)  # N = D and N < D: one warning naming both
    assert len(record) == 1
    message = str(record[0].message)
    for part in ("features_a (N = 64)", "features_b (N = 10)", "D = 64", "rank-deficient", "biased",
                 "at least D + 1 = 65", "10 D = 640", "KID"):
        assert part in message, part
    assert record[0].filename == __file__  # attributed to the caller's line
    assert d == pytest.approx(metrics.frechet_distance_from_stats(*metrics.gaussian_stats(a), *metrics.gaussian_stats(b)), rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # N = D + 1: a full-rank covariance is possible, no warning
        metrics.frechet_distance(torch.randn(65, 64, generator=g), torch.randn(65, 64, generator=g))
    with pytest.warns(UserWarning, match=r"features\(images\) \(N = 30\) in D = 48"):
        metrics.frechet_distance_of(torch.rand(30, 1, 4, 12, generator=g), torch.randn(100, 48, generator=g), lambda x: x.flatten(1))
    with pytest.warns(UserWarning, match=r"features \(N = 20\) in D = 32") as record:
        metrics.evaluate(torch.randn(20, 32, generator=g), torch.randn(200, 32, generator=g), kid_subsets=2)
    assert len(record) == 1
    with pytest.warns(UserWarning, match="subsets of sizes 10, 20 in D = 32") as record:
        metrics.fid_infinity(torch.randn(200, 32, generator=g), (torch.zeros(32), torch.eye(32)), sizes=(10, 20, 100))
    assert len(record) == 1


def test_count_arguments_must_be_whole_numbers_in_range():
    g = torch.Generator().manual_seed(23)
    a, b = torch.randn(40, 3, generator=g), torch.randn(40, 3, generator=g)
    with pytest.raises(ValueError, match="subsets must be >= 1"):
        metrics.kid(a, b, subsets=0)  # used to return nan
    with pytest.raises(ValueError, match="subsets must be a whole number"):
        metrics.kid(a, b, subsets=2.5)
    with pytest.raises(ValueError, match="subset_size must be >= 2"):
        metrics.kid(a, b, subset_size=1)
    assert metrics.kid(a, b, subsets=3.0, subset_size=20) == metrics.kid(a, b, subsets=3, subset_size=20)
    with pytest.raises(ValueError, match=r"k must be between 1 and N - 1 = 2, smaller than the number of samples \(fake has 3\)"):
        metrics.precision_recall(a, b[:3])
    with pytest.raises(ValueError, match="k must be >= 1"):
        metrics.density_coverage(a, b, k=0)
    with pytest.raises(ValueError, match="k must be a whole number"):
        metrics.precision_recall(a, b, k=2.5)
    with pytest.raises(ValueError, match="k must be a whole number"):
        metrics.knn_radii(a, True)
    with pytest.raises(ValueError, match="k must be between 1 and N - 1 = 39"):
        metrics.knn_radii(a, 40)
    p = torch.full((10, 5), 0.2)
    with pytest.raises(ValueError, match="splits must be between 1 and 10"):
        metrics.inception_score(p, splits=0)
    with pytest.raises(ValueError, match="splits must be a whole number"):
        metrics.inception_score(p, splits=1.5)
    with pytest.raises(ValueError, match="every entry of sizes must be a whole number"):
        metrics.fid_infinity(a, metrics.gaussian_stats(b), sizes=(10.5, 20))
    with pytest.raises(ValueError, match="at least two subset sizes between 2 and the number of samples"):
        metrics.fid_infinity(a, metrics.gaussian_stats(b), sizes=(1, 20))
    with pytest.raises(ValueError, match="every N of points must be >= 1"):
        metrics.one_over_n_fit([(0, 1.0), (10, 2.0)])  # used to divide by zero
    with pytest.raises(ValueError, match="NaN or infinite distance"):
        metrics.one_over_n_fit([(5, float("nan")), (10, 2.0)])
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        metrics.extract(lambda x: x, torch.zeros(3, 4), batch_size=0)  # used to be range()'s own error


@pytest.mark.parametrize("call", [
    lambda a, b: metrics.precision_recall(a, b),  # used to raise torch.cdist's own error
    lambda a, b: metrics.density_coverage(a, b),
    lambda a, b: metrics.kid(a, b),
    lambda a, b: metrics.mmd2_unbiased(a, b),
    lambda a, b: metrics.polynomial_kernel(a, b),
    lambda a, b: metrics.nearest_distances(a, b),
    lambda a, b: metrics.frechet_distance(a, b),
    lambda a, b: metrics.evaluate(a, b),
    lambda a, b: metrics.fid_infinity(a, metrics.gaussian_stats(b), sizes=(10, 20)),
    lambda a, b: metrics.FeatureStats().update(a).update(b),
], ids=["precision_recall", "density_coverage", "kid", "mmd2_unbiased", "polynomial_kernel", "nearest_distances",
        "frechet_distance", "evaluate", "fid_infinity", "FeatureStats"])
def test_mismatched_feature_dimensions_name_both_shapes(call):
    g = torch.Generator().manual_seed(24)
    a, b = torch.randn(20, 3, generator=g), torch.randn(30, 4, generator=g)
    with pytest.raises(ValueError, match=r"(?=.*\(20, 3\))(?=.*\((30, )?4,?\)).*" + SAME_EXTRACTOR):  # both shapes
        call(a, b)


def test_inception_score_needs_finite_probabilities_in_0_1_with_rows_summing_to_1():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\], found values from -0.5 to 1.5.*softmax"):
        metrics.inception_score(torch.tensor([[1.5, -0.5], [0.5, 0.5]]), splits=1)
    with pytest.raises(ValueError, match="rows summing to 1; row 0 sums to 0.6.*softmax"):
        metrics.inception_score(torch.tensor([[0.3, 0.3], [0.5, 0.5]]), splits=1)
    with pytest.raises(ValueError, match="probs contains NaN"):
        metrics.inception_score(torch.tensor([[float("nan"), 0.5], [0.5, 0.5]]), splits=1)
    rounded = torch.softmax(torch.randn(40, 10, generator=torch.Generator().manual_seed(25)), 1)  # float32 round-off
    assert metrics.inception_score(rounded, splits=2) == pytest.approx(metrics.inception_score(rounded.double(), splits=2), rel=1e-5)


def test_fid_infinity_checks_its_reference_statistics():
    f = torch.randn(100, 2, generator=torch.Generator().manual_seed(26), dtype=torch.float64)
    with pytest.raises(ValueError, match=r"reference_stats\[1\] \(covariance\) is not positive semi-definite"):
        metrics.fid_infinity(f, (Z2, -I2), sizes=(10, 20))
    with pytest.raises(ValueError, match=r"reference_stats must be a pair \(mean, covariance\)"):
        metrics.fid_infinity(f, Z2, sizes=(10, 20))


def test_evaluate_checks_every_argument_before_computing():
    g = torch.Generator().manual_seed(27)
    f, r = torch.randn(50, 3, generator=g), torch.randn(80, 3, generator=g)
    with pytest.raises(ValueError, match="at least 6 samples in each set.*got 5 in features"):
        metrics.evaluate(f[:5], r)
    with pytest.raises(ValueError, match="probs has 40 rows and features 50"):
        metrics.evaluate(f, r, probs=torch.full((40, 5), 0.2))
    with pytest.raises(ValueError, match="kid_subset_size must be >= 2"):
        metrics.evaluate(f, r, kid_subset_size=0)  # used to fall back to the default silently
    with pytest.raises(ValueError, match="kid_subsets must be >= 1"):
        metrics.evaluate(f, r, kid_subsets=0)
    with pytest.raises(ValueError, match="is_splits must be between 1 and 50"):
        metrics.evaluate(f, r, probs=torch.full((50, 5), 0.2), is_splits=51)
