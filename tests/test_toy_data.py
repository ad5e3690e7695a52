"""gan_tutor.toy_data: notebook 01's Gaussian mixtures against closed forms and torch.distributions."""

from __future__ import annotations

import math

import pytest
import torch

from gan_tutor import toy_data
from gan_tutor.toy_data import GaussianMixture


def oracle(mix: GaussianMixture) -> torch.distributions.Distribution:
    """The same mixture built from torch.distributions."""
    k, d = mix.means.shape
    components = torch.distributions.Independent(torch.distributions.Normal(mix.means, mix.stds[:, None].expand(k, d)), 1)
    return torch.distributions.MixtureSameFamily(torch.distributions.Categorical(probs=mix.weights), components)


def test_ring8_modes_on_the_circle():
    mix = toy_data.ring8()
    assert mix.means.shape == (8, 2) and mix.dim == 2 and mix.num_components == 8
    angles = torch.atan2(mix.means[:, 1].double(), mix.means[:, 0].double()) % (2 * math.pi)
    for k in range(8):
        assert float(mix.means[k].norm()) == pytest.approx(2.0, abs=1e-6)
        assert float(angles[k]) == pytest.approx(2 * math.pi * k / 8, abs=1e-6)
    assert torch.equal(mix.stds, torch.full((8,), 0.02)) and torch.allclose(mix.weights, torch.full((8,), 1 / 8))
    small = toy_data.ring8(radius=1.0, std=0.1)
    assert float(small.means.norm(dim=1).max()) == pytest.approx(1.0, abs=1e-6)


def test_grid25_modes():
    mix = toy_data.grid25()
    assert mix.means.shape == (25, 2)
    assert {tuple(p) for p in mix.means.tolist()} == {(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}
    assert torch.equal(mix.stds, torch.full((25,), 0.05))
    assert float(mix.means.mean(0).abs().max()) == 0.0


def test_1d_mixture_sample_moments_match_closed_form():
    w, mu, s = [0.2, 0.5, 0.3], [-2.0, 1.0, 4.0], [0.5, 1.0, 0.3]
    mix = toy_data.mixture_1d(mu, s, w)
    x = mix.sample(200_000, generator=torch.Generator().manual_seed(0)).double()
    assert x.shape == (200_000, 1)
    # E[x] = sum_k w_k mu_k; Var[x] = sum_k w_k (s_k^2 + mu_k^2) - E[x]^2
    mean = sum(wk * mk for wk, mk in zip(w, mu))
    var = sum(wk * (sk**2 + mk**2) for wk, mk, sk in zip(w, mu, s)) - mean**2
    # tolerances: about 6 standard errors (sd of the mean ~ 0.005, of the variance ~ 0.01)
    assert float(x.mean()) == pytest.approx(mean, abs=0.03)
    assert float(x.var()) == pytest.approx(var, abs=0.06)


def test_ring8_sample_covariance_matches_closed_form():
    # modes uniform on the circle: E[x] = 0, Cov[x] = (r^2 / 2 + s^2) I
    x = toy_data.ring8().sample(100_000, generator=torch.Generator().manual_seed(1)).double()
    cov = torch.cov(x.T)
    assert x.mean(0).tolist() == pytest.approx([0.0, 0.0], abs=0.03)
    assert cov.flatten().tolist() == pytest.approx([2.0004, 0.0, 0.0, 2.0004], abs=0.04)


@pytest.mark.parametrize(
    "mix",
    [
        GaussianMixture(toy_data.grid25().means.double(), toy_data.grid25().stds.double(), toy_data.grid25().weights.double()),
        GaussianMixture(toy_data.ring8().means.double(), toy_data.ring8().stds.double(), toy_data.ring8().weights.double()),
        GaussianMixture(
            torch.tensor([[-2.0], [1.0], [4.0]], dtype=torch.float64),
            torch.tensor([0.5, 1.0, 0.3], dtype=torch.float64),
            torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64),
        ),
        GaussianMixture(
            torch.randn(4, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64),
            torch.tensor([0.3, 1.0, 2.0, 0.7], dtype=torch.float64),
            torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64),
        ),
    ],
    ids=["grid25", "ring8", "1d", "3d"],
)
def test_log_prob_matches_torch_distributions(mix):
    g = torch.Generator().manual_seed(0)
    near = mix.sample(200, generator=g)
    far = 10 * torch.randn(50, mix.dim, generator=g, dtype=torch.float64)  # far from modes: tiny densities
    x = torch.cat([near, far])
    ours, expected = mix.log_prob(x), oracle(mix).log_prob(x)
    assert ours.shape == (250,)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(mix.pdf(x), expected.exp(), atol=1e-5, rtol=1e-6)


def test_log_prob_is_stable_far_from_the_modes():
    mix = toy_data.ring8()
    x = torch.tensor([[100.0, 100.0], [2.0, 0.0]])
    lp = mix.log_prob(x)
    assert torch.isfinite(lp).all()
    assert float(mix.pdf(x)[0]) == 0.0  # the density underflows; its log does not
    # at a mode, the density is about w / (2 pi s^2) (the other modes are 40 std away)
    assert float(lp[1]) == pytest.approx(math.log(1 / 8) - math.log(2 * math.pi * 0.02**2), abs=1e-4)


def test_1d_pdf_integrates_to_one_and_takes_plain_grids():
    mix = toy_data.mixture_1d([-1.0, 2.0], [0.4, 0.8])
    assert mix.weights.tolist() == [0.5, 0.5]
    t = torch.linspace(-8, 10, 20001, dtype=torch.float64)
    assert float(torch.trapezoid(mix.pdf(t), t)) == pytest.approx(1.0, abs=1e-6)
    assert torch.equal(mix.log_prob(t), mix.log_prob(t[:, None]))


def test_samples_are_reproducible_with_a_generator():
    mix = toy_data.grid25()
    a = mix.sample(500, generator=torch.Generator().manual_seed(7))
    b = mix.sample(500, generator=torch.Generator().manual_seed(7))
    c = mix.sample(500, generator=torch.Generator().manual_seed(8))
    assert a.shape == (500, 2) and torch.equal(a, b) and not torch.equal(a, c)
    assert mix.sample(0).shape == (0, 2)


def test_gaussian_mixture_rejects_bad_parameters():
    with pytest.raises(ValueError, match="sum to 1.*weights / weights.sum"):
        toy_data.mixture_1d([0.0, 1.0], [1.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="stds must be positive"):
        toy_data.mixture_1d([0.0, 1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match=r"means must be \(K, d\)"):
        GaussianMixture(torch.zeros(3), torch.ones(3), torch.full((3,), 1 / 3))
    with pytest.raises(ValueError, match=r"stds and weights must be \(3,\)"):
        GaussianMixture(torch.zeros(3, 2), torch.ones(2), torch.full((3,), 1 / 3))
    with pytest.raises(ValueError, match=r"x must be \(n, 2\)"):
        toy_data.ring8().log_prob(torch.zeros(5))
