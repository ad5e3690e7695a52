"""Tests of gan_tutor.gan_math against closed forms and independent oracles."""

from __future__ import annotations

import math

import pytest
import torch

from gan_tutor.gan_math import (
    ModeCoverage,
    d_logistic_loss,
    g_nonsaturating_loss,
    g_saturating_loss,
    js_divergence,
    kl_divergence,
    mode_coverage,
    optimal_discriminator,
    value_at_optimum,
    value_function,
)

LOG2 = math.log(2.0)
LOGITS = torch.tensor([-3.0, -0.5, 0.0, 0.7, 2.5], dtype=torch.float64)


# ---------------------------------------------------------------------------------------------------
# Losses on logits
# ---------------------------------------------------------------------------------------------------


def test_losses_at_logit_zero_are_log2_per_term():
    zero = torch.zeros(6)
    # D = 1/2: -log D = -log(1 - D) = log 2 for each of the two terms
    assert value_function(zero, zero).item() == pytest.approx(-2 * LOG2, abs=1e-6)
    assert d_logistic_loss(zero, zero).item() == pytest.approx(2 * LOG2, abs=1e-6)
    assert g_nonsaturating_loss(zero).item() == pytest.approx(LOG2, abs=1e-6)
    assert g_saturating_loss(zero).item() == pytest.approx(-LOG2, abs=1e-6)


def test_losses_equal_bce_with_logits_oracle():
    real, fake = LOGITS, LOGITS.flip(0) * 1.3 + 0.2
    bce = torch.nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones_like(real), torch.zeros_like(fake)
    assert d_logistic_loss(real, fake).item() == pytest.approx((bce(real, ones) + bce(fake, zeros)).item(), abs=1e-12)
    assert g_nonsaturating_loss(fake).item() == pytest.approx(bce(fake, ones).item(), abs=1e-12)
    # log(1 - D) = -BCE(f, 0)
    assert g_saturating_loss(fake).item() == pytest.approx(-bce(fake, zeros).item(), abs=1e-12)
    # smoothed: targets 0.9 for real only
    expected = bce(real, torch.full_like(real, 0.9)) + bce(fake, zeros)
    assert d_logistic_loss(real, fake, real_label=0.9).item() == pytest.approx(expected.item(), abs=1e-12)


def test_value_function_matches_explicit_logs():
    real, fake = LOGITS, LOGITS + 0.4
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected = torch.log(d_real).mean() + torch.log(1 - d_fake).mean()
    assert value_function(real, fake).item() == pytest.approx(expected.item(), abs=1e-12)


def test_d_loss_is_minus_value_function():
    real, fake = LOGITS, -LOGITS[:3] + 1.0  # different batch sizes: each expectation is its own mean
    assert d_logistic_loss(real, fake).item() == pytest.approx(-value_function(real, fake).item(), abs=1e-12)


def test_losses_finite_and_correct_at_large_logits():
    # float32, as networks produce; log(sigmoid(.)) would give -inf here
    big = torch.tensor([100.0, -100.0])
    # -log sigmoid(100) ~ e^-100, -log sigmoid(-100) ~ 100
    assert g_nonsaturating_loss(big).item() == pytest.approx(50.0, rel=1e-6)
    assert g_saturating_loss(big).item() == pytest.approx(-50.0, rel=1e-6)
    assert value_function(big, big).item() == pytest.approx(-100.0, rel=1e-6)
    assert d_logistic_loss(big, big).item() == pytest.approx(100.0, rel=1e-6)
    loss = d_logistic_loss(torch.full((3,), -100.0), torch.full((3,), 100.0))
    assert loss.item() == pytest.approx(200.0, rel=1e-6)
    for value in (g_nonsaturating_loss(big), g_saturating_loss(big), value_function(big, -big), loss):
        assert torch.isfinite(value)


@pytest.mark.parametrize("a", [-10.0, -2.0, 0.0, 3.0])
def test_generator_loss_gradients_closed_form(a):
    n = 4
    logits = torch.full((n,), a, dtype=torch.float64, requires_grad=True)
    (grad_sat,) = torch.autograd.grad(g_saturating_loss(logits), logits)
    (grad_ns,) = torch.autograd.grad(g_nonsaturating_loss(logits), logits)
    s = 1.0 / (1.0 + math.exp(-a))
    # d/da log(1 - sigmoid(a)) = -sigmoid(a);  d/da -log sigmoid(a) = -(1 - sigmoid(a))
    assert grad_sat.tolist() == pytest.approx([-s / n] * n, rel=1e-10, abs=1e-15)
    assert grad_ns.tolist() == pytest.approx([-(1 - s) / n] * n, rel=1e-10, abs=1e-15)


def test_saturating_gradient_vanishes_where_nonsaturating_does_not():
    logits = torch.full((1,), -10.0, requires_grad=True)
    (grad_sat,) = torch.autograd.grad(g_saturating_loss(logits), logits)
    (grad_ns,) = torch.autograd.grad(g_nonsaturating_loss(logits), logits)
    assert grad_sat.item() == pytest.approx(-4.5398e-5, rel=1e-3)  # -sigmoid(-10)
    assert grad_ns.item() == pytest.approx(-0.9999546, rel=1e-6)  # -(1 - sigmoid(-10))


def test_d_loss_rejects_label_outside_unit_interval():
    with pytest.raises(ValueError, match=r"real_label must lie in \[0, 1\]"):
        d_logistic_loss(LOGITS, LOGITS, real_label=1.5)


# ---------------------------------------------------------------------------------------------------
# Optimal discriminator and divergences on a grid
# ---------------------------------------------------------------------------------------------------


def _grid(lo=-12.0, hi=12.0, dx=0.005):
    n = round((hi - lo) / dx) + 1
    return torch.linspace(lo, hi, n, dtype=torch.float64), dx


def _gauss(x, mu, sigma):
    # written out in float64 (torch.distributions would hold mu, sigma as float32 scalars)
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def _mixture(x, weights, mus, sigmas):
    return sum(w * _gauss(x, m, s) for w, m, s in zip(weights, mus, sigmas))


def test_optimal_discriminator_closed_forms():
    p = torch.tensor([0.3, 1.0, 0.0, 0.2, 0.0], dtype=torch.float64)
    q = torch.tensor([0.3, 0.0, 0.7, 0.6, 0.0], dtype=torch.float64)
    d = optimal_discriminator(p, q)
    # equal -> 1/2; (p, 0) -> 1; (0, q) -> 0; 0.2/0.8; 0/0 -> 1/2 by convention
    assert d.tolist() == pytest.approx([0.5, 1.0, 0.0, 0.25, 0.5], abs=1e-15)
    assert not torch.isnan(d).any()


def test_optimal_discriminator_accepts_arrays_and_rejects_bad_input():
    d = optimal_discriminator([1.0, 3.0], [3.0, 1.0])
    assert d.tolist() == pytest.approx([0.25, 0.75], abs=1e-15)
    with pytest.raises(ValueError, match="same shape"):
        optimal_discriminator(torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match="non-negative"):
        optimal_discriminator(torch.tensor([-1.0]), torch.tensor([1.0]))


def test_js_divergence_identical_is_zero_and_disjoint_is_log2():
    x, dx = _grid()
    p = _gauss(x, -1.0, 0.8)
    assert js_divergence(p, p, dx).item() == pytest.approx(0.0, abs=1e-12)
    # disjoint uniforms on [0, 1) and [2, 3), cell-aligned so each integrates to exactly 1
    dx = 0.01
    cells = (torch.arange(400, dtype=torch.float64) + 0.5) * dx
    u1 = ((cells >= 0) & (cells < 1)).double()
    u2 = ((cells >= 2) & (cells < 3)).double()
    assert js_divergence(u1, u2, dx).item() == pytest.approx(LOG2, abs=1e-12)
    assert kl_divergence(u1, u2, dx).item() == math.inf


def test_js_divergence_nested_uniforms_closed_form():
    # P = U[0, 1), Q = U[0, 2): JSD = 3/4 log(4/3) (worked out in the checks too)
    dx = 0.01
    cells = (torch.arange(300, dtype=torch.float64) + 0.5) * dx
    p = (cells < 1).double()
    q = 0.5 * (cells < 2).double()
    assert js_divergence(p, q, dx).item() == pytest.approx(0.75 * math.log(4 / 3), abs=1e-12)
    assert kl_divergence(p, q, dx).item() == pytest.approx(LOG2, abs=1e-12)


def test_js_divergence_finite_where_a_density_is_subnormal():
    # far tails: p = 5e-324 where q = 0; (p + q)/2 would round to 0 and give p log(p/0) = inf
    p = torch.tensor([1.0, 5e-324], dtype=torch.float64)
    q = torch.tensor([0.0, 1.0], dtype=torch.float64)
    assert js_divergence(p, q, 1.0).item() == pytest.approx(LOG2, abs=1e-12)


def test_js_divergence_symmetric_and_bounded():
    x, dx = _grid()
    pairs = [
        (_gauss(x, 0.0, 1.0), _gauss(x, 0.5, 1.0)),
        (_gauss(x, -2.0, 0.5), _gauss(x, 3.0, 2.0)),
        (_gauss(x, 0.0, 0.3), _gauss(x, 8.0, 0.3)),  # nearly disjoint
    ]
    values = []
    for p, q in pairs:
        pq, qp = js_divergence(p, q, dx).item(), js_divergence(q, p, dx).item()
        assert pq == pytest.approx(qp, abs=1e-12)
        assert 0.0 < pq < LOG2 + 1e-9
        values.append(pq)
    # further apart -> larger; the last pair is disjoint to ~1e-40, so JSD = log 2 to many digits
    assert values[0] < values[1] < values[2]
    assert values[2] == pytest.approx(LOG2, abs=1e-9)


@pytest.mark.parametrize("mu_p,s_p,mu_q,s_q", [(0.0, 1.0, 1.0, 1.0), (-1.0, 0.7, 2.0, 1.5), (0.5, 2.0, 0.0, 0.6)])
def test_kl_divergence_of_gaussians_matches_torch_distributions(mu_p, s_p, mu_q, s_q):
    # +-16 holds all but ~1e-13 of the mass, and no density underflows to 0 there (that would be KL = inf)
    x, dx = _grid(-16.0, 16.0, 0.005)
    p, q = _gauss(x, mu_p, s_p), _gauss(x, mu_q, s_q)
    f64 = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    oracle = torch.distributions.kl_divergence(
        torch.distributions.Normal(f64(mu_p), f64(s_p)), torch.distributions.Normal(f64(mu_q), f64(s_q))
    ).item()
    assert kl_divergence(p, q, dx).item() == pytest.approx(oracle, abs=1e-8)


def test_value_at_optimum_equals_minus_log4_plus_twice_jsd():
    # Theorem 1 of Goodfellow et al. 2014, for two different Gaussian mixtures
    x, dx = _grid()
    p_data = _mixture(x, [0.3, 0.7], [-2.0, 1.5], [0.5, 1.0])
    p_g = _mixture(x, [0.5, 0.25, 0.25], [0.0, -3.0, 3.0], [1.2, 0.4, 0.6])
    assert (p_data.sum() * dx).item() == pytest.approx(1.0, abs=1e-10)  # the grid holds the mass
    v = value_at_optimum(p_data, p_g, dx).item()
    jsd = js_divergence(p_data, p_g, dx).item()
    assert v == pytest.approx(-math.log(4) + 2 * jsd, abs=1e-4)
    assert v > -math.log(4) + 0.05  # the distributions differ, so V(D*, G) is well above its minimum


def test_value_at_optimum_identical_is_minus_log4():
    x, dx = _grid()
    p = _mixture(x, [0.5, 0.5], [-1.0, 2.0], [0.6, 0.9])
    assert value_at_optimum(p, p, dx).item() == pytest.approx(-math.log(4), abs=1e-9)


def test_divergences_reject_bad_dx():
    p = torch.ones(5)
    with pytest.raises(ValueError, match="grid spacing"):
        js_divergence(p, p, 0.0)
    with pytest.raises(ValueError, match="grid spacing"):
        value_at_optimum(p, p, -0.1)


# ---------------------------------------------------------------------------------------------------
# Mode coverage
# ---------------------------------------------------------------------------------------------------

STD = 0.05


def _ring(k=8, radius=2.0):
    angles = torch.arange(k, dtype=torch.float64) * (2 * math.pi / k)
    return torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1)  # (K, 2)


def _mixture_samples(centers, n, std, seed=0):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(centers), (n,), generator=g)
    return centers[idx] + std * torch.randn(n, centers.shape[1], generator=g, dtype=torch.float64)


def test_mode_coverage_of_exact_mixture_samples():
    centers = _ring()
    n = 20_000
    result = mode_coverage(_mixture_samples(centers, n, STD), centers, STD)
    assert isinstance(result, ModeCoverage)
    assert (result.modes_covered, result.n_modes) == (8, 8)
    # within 3 std of the centre in 2-D: Rayleigh CDF at 3 = 1 - exp(-9/2)
    p = 1 - math.exp(-4.5)
    binomial_std = math.sqrt(p * (1 - p) / n)  # ~7.4e-4
    assert result.high_quality_share == pytest.approx(p, abs=4 * binomial_std)
    assert sum(result.counts) == round(result.high_quality_share * n)
    assert result.min_share == pytest.approx(1 / 40)


def test_mode_coverage_of_one_mode_and_of_far_samples():
    centers = _ring()
    one_mode = _mixture_samples(centers[2:3], 1000, STD, seed=1)
    result = mode_coverage(one_mode, centers, STD)
    assert result.modes_covered == 1
    assert result.counts[2] == sum(result.counts) and sum(result.counts) > 950
    far = _mixture_samples(centers, 500, STD, seed=2) + 10.0
    result = mode_coverage(far, centers, STD)
    assert (result.modes_covered, result.high_quality_share, sum(result.counts)) == (0, 0.0, 0)


def test_mode_coverage_threshold_on_the_25_grid():
    # 25-grid, as in VEEGAN/PacGAN; a mode with a few stray samples is not counted as covered
    xs = torch.arange(-4.0, 5.0, 2.0, dtype=torch.float64)
    centers = torch.cartesian_prod(xs, xs)  # (25, 2)
    main = _mixture_samples(centers[:24], 2400, STD, seed=3)
    stray = centers[24:25] + torch.zeros(3, 2, dtype=torch.float64)  # 3 samples << 1/125 of ~2370
    result = mode_coverage(torch.cat([main, stray]), centers, STD)
    assert result.counts[24] == 3
    assert result.modes_covered == 24
    assert mode_coverage(torch.cat([main, stray]), centers, STD, min_share=1e-4).modes_covered == 25


def test_mode_coverage_rejects_bad_input():
    centers = _ring()
    with pytest.raises(ValueError, match=r"shape \(N, D\)"):
        mode_coverage(torch.zeros(10), centers, STD)
    with pytest.raises(ValueError, match=r"shape \(K, D\)"):
        mode_coverage(torch.zeros(10, 3), centers, STD)
    with pytest.raises(ValueError, match="std must be positive"):
        mode_coverage(torch.zeros(10, 2), centers, 0.0)
    with pytest.raises(ValueError, match="min_share"):
        mode_coverage(torch.zeros(10, 2), centers, STD, min_share=0.0)


def test_hinge_losses_closed_form_and_gradients():
    from gan_tutor.gan_math import d_hinge_loss, g_hinge_loss

    r = torch.tensor([2.0, 0.5, -1.0])  # max(0, 1 - r) = 0, 0.5, 2
    f = torch.tensor([-2.0, 0.0, 1.5], requires_grad=True)  # max(0, 1 + f) = 0, 1, 2.5
    assert d_hinge_loss(r, f).item() == pytest.approx((0 + 0.5 + 2) / 3 + (0 + 1 + 2.5) / 3)
    (grad,) = torch.autograd.grad(d_hinge_loss(r, f), f)
    assert torch.allclose(grad, torch.tensor([0.0, 1 / 3, 1 / 3]))  # no push once f < -1
    assert g_hinge_loss(f).item() == pytest.approx(-(-2.0 + 0.0 + 1.5) / 3)
