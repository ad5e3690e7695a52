"""The VAE: the ELBO's pieces against closed forms and independent oracles, the bounds' order, runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from gan_tutor import cli, vae
from gan_tutor.models import get_model


def test_kl_matches_torch_distributions_and_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    kl = vae.kl_std_normal(mu, logvar)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    assert torch.allclose(kl, torch.distributions.kl_divergence(q, p).sum(-1), atol=1e-5)
    z = q.sample((200_000,))  # (S, 5, 3)
    log_ratio = (q.log_prob(z) - p.log_prob(z)).sum(-1)  # (S, 5)
    mc, se = log_ratio.mean(0), log_ratio.std(0) / math.sqrt(len(z))
    assert ((mc - kl).abs() < 5 * se).all()
    assert vae.kl_std_normal(torch.zeros(2, 4), torch.zeros(2, 4)).abs().max() == 0  # q = p
    with pytest.raises(ValueError, match="same shape"):
        vae.kl_std_normal(torch.zeros(2, 4), torch.zeros(2, 3))


def test_log_normal_matches_torch():
    z, mu, logvar = torch.randn(4, 3), torch.randn(4, 3), torch.randn(4, 3)
    ref = torch.distributions.Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1)
    assert torch.allclose(vae.log_normal(z, mu, logvar), ref, atol=1e-5)
    assert torch.allclose(vae.log_normal(z), torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1), atol=1e-5)


def test_reparameterize_is_exact_given_noise_and_passes_gradients():
    mu = torch.tensor([[1.0, -2.0]], requires_grad=True)
    logvar = torch.tensor([[0.0, math.log(4.0)]], requires_grad=True)
    eps = torch.tensor([[0.5, 1.5]])
    z = vae.reparameterize(mu, logvar, eps)
    assert torch.allclose(z, torch.tensor([[1.5, 1.0]]))  # mu + sigma * eps, sigma = (1, 2)
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones(1, 2))  # dz/dmu = 1
    assert torch.allclose(logvar.grad, 0.5 * torch.tensor([[1.0, 2.0]]) * eps)  # dz/dlogvar = sigma * eps / 2
    draws = vae.reparameterize(torch.full((100_000, 1), 3.0), torch.full((100_000, 1), math.log(0.25)))
    assert abs(draws.mean() - 3.0) < 0.01 and abs(draws.std() - 0.5) < 0.01


def test_bernoulli_nll_anchor_is_784_ln2_and_matches_the_formula():
    x = torch.randint(0, 2, (3, 1, 28, 28)).float()
    assert torch.allclose(vae.bernoulli_nll(torch.zeros_like(x), x), torch.full((3,), 784 * math.log(2)))
    assert abs(784 * math.log(2) - 543.4) < 0.05
    logits = torch.randn(3, 1, 28, 28)
    p = torch.sigmoid(logits)
    ref = -(x * p.log() + (1 - x) * (1 - p).log()).flatten(1).sum(1)
    assert torch.allclose(vae.bernoulli_nll(logits, x), ref, rtol=1e-4)
    assert torch.isfinite(vae.bernoulli_nll(torch.full((1, 4), 200.0), torch.zeros(1, 4))).all()  # stable at any logit
    with pytest.raises(ValueError, match="same shape"):
        vae.bernoulli_nll(torch.zeros(2, 4), torch.zeros(2, 5))


def test_grey_bce_mass_matches_quadrature_and_is_below_one():
    logits = torch.tensor([-6.0, -1.0, -1e-6, 0.0, 2e-5, 0.7, 9.0], dtype=torch.float64)
    g = torch.linspace(0, 1, 100001, dtype=torch.float64)
    lam = torch.sigmoid(logits).unsqueeze(1)
    density = lam ** g * (1 - lam) ** (1 - g)  # exp(-BCE(logit, g)) on a grid of grey values
    quad = torch.trapezoid(density, g, dim=1)
    assert torch.allclose(vae.grey_bce_mass(logits), quad, atol=1e-9)
    assert vae.grey_bce_mass(torch.zeros(1)).item() == 0.5
    assert (vae.grey_bce_mass(torch.linspace(-20, 20, 101)) < 1).all()


def test_binarize():
    grey = torch.full((200, 1, 28, 28), 0.3)
    b = vae.binarize(grey, torch.Generator().manual_seed(0))
    assert set(b.unique().tolist()) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.01
    assert torch.equal(vae.fixed_binarization(grey, 1), vae.fixed_binarization(grey, 1))
    assert not torch.equal(vae.fixed_binarization(grey, 1), vae.fixed_binarization(grey, 2))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        vae.binarize(grey * 2 - 1)


class _Fixed(nn.Module):
    """An encoder returning fixed (mu, logvar) for every image."""

    def __init__(self, mu, logvar):
        super().__init__()
        self.mu, self.logvar = nn.Parameter(torch.tensor([[mu]])), nn.Parameter(torch.tensor([[logvar]]))

    def forward(self, x):
        return self.mu.expand(len(x), 1), self.logvar.expand(len(x), 1)


def _one_latent_vae(seed=0):
    """A VAE with a 1-D latent, an 8-pixel decoder and a fixed, imperfect encoder: -log p(x) is a 1-D integral."""
    torch.manual_seed(seed)
    dec = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 8), nn.Unflatten(1, (1, 2, 4)))
    return vae.VAE(_Fixed(0.3, math.log(0.5)), dec, 1)


def test_bounds_sandwich_the_exact_likelihood_computed_by_quadrature():
    model = _one_latent_vae()
    x = torch.tensor([[1.0, 0, 1, 1, 0, 0, 1, 0]]).view(1, 1, 2, 4)
    # oracle: p(x) = integral of p(x | z) N(z; 0, 1) dz on a fine grid (the decoder is smooth)
    z = torch.linspace(-10, 10, 40001).unsqueeze(1)
    with torch.no_grad():
        log_joint = -vae.bernoulli_nll(model.decoder(z), x.expand(len(z), 1, 2, 4)) + vae.log_normal(z)
    exact = -(torch.logsumexp(log_joint, 0) + math.log(20 / 40000)).item()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        eps = torch.randn(20000, 1, generator=g)
        nelbo = vae.negative_elbo(model, x.expand(20000, 1, 2, 4), eps=eps)["nelbo"].mean().item()
        iwae = {k: vae.iwae_nll(model, x.expand(400, 1, 2, 4), k, g).mean().item() for k in (1, 10, 1000)}
    assert abs(iwae[1] - nelbo) < 0.05  # K = 1 is the ELBO
    assert nelbo > iwae[10] > iwae[1000] > exact - 0.01  # tighter with K, never below -log p(x)
    assert iwae[1000] - exact < 0.01 < nelbo - exact  # the ELBO's gap (this encoder is not the posterior) closes


def test_negative_elbo_weights_the_kl_by_beta():
    model = vae.build(vae.tier_config("smoke"))
    x = torch.randint(0, 2, (4, 1, 28, 28)).float()
    eps = torch.randn(4, model.z_dim)
    out1, out0 = vae.negative_elbo(model, x, 1.0, eps), vae.negative_elbo(model, x, 0.0, eps)
    assert torch.allclose(out1["loss"], out1["rec"] + out1["kl"]) and torch.allclose(out0["loss"], out0["rec"])
    assert torch.allclose(out1["nelbo"].mean(), out1["loss"]) and torch.allclose(out0["nelbo"], out1["nelbo"])


def test_build_shapes_and_the_mlp_is_pytorch_examples_size():
    cfg = vae.tier_config("smoke")
    model = vae.build(cfg)
    logits, mu, logvar = model(torch.rand(3, 1, 28, 28))
    assert logits.shape == (3, 1, 28, 28) and mu.shape == logvar.shape == (3, cfg.z_dim)
    samples = model.sample(5, torch.Generator().manual_seed(0))
    assert samples.shape == (5, 1, 28, 28) and 0 <= samples.min() and samples.max() <= 1
    mlp = vae.build(vae.tier_config("smoke", arch="mlp", z_dim=20))
    assert sum(p.numel() for p in mlp.parameters()) == (784 * 400 + 400) + (400 * 40 + 40) + (20 * 400 + 400) + (400 * 784 + 784)
    with pytest.raises(ValueError, match="unknown VAE architecture 'resnet'"):
        vae.build(vae.tier_config("smoke", arch="resnet"))
    with pytest.raises(ValueError, match="unknown likelihood 'gaussian'"):
        vae.build(vae.tier_config("smoke", likelihood="gaussian"))
    with pytest.raises(ValueError, match="arch='mlp'"):
        vae.build(vae.tier_config("smoke", image_shape=(3, 32, 32)))


def test_training_lowers_the_held_out_bound_far_below_the_anchor(tmp_path):
    from gan_tutor.data import load_dataset

    real, held = load_dataset("mnist-5k", "train"), load_dataset("mnist-5k", "test")
    spec = get_model("vae")
    cfg = vae.tier_config("smoke", ch=16)
    x = vae.fixed_binarization(held.images[:200])
    before = vae.evaluate(vae.build(cfg), x, k=10)
    state = spec.train(cfg, real.images, data="mnist-5k", run_dir=tmp_path / "run", steps=150, progress=False)
    after = vae.evaluate(state.modules["net"], x, k=10)
    assert before["nelbo"] > 500  # an untrained decoder is close to 0.5 everywhere: about 784 ln 2 = 543 nats
    assert after["nelbo"] < 250 and after["iwae"] <= after["nelbo"]
    assert after["nelbo"] == pytest.approx(after["rec"] + after["kl"], rel=1e-5)
    assert {"loss", "rec", "kl"} <= set(state.history)


def test_cli_trains_a_vae_samples_from_the_prior_and_refuses_a_label(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["train", "vae", "--tier", "smoke", "--out", str(run), "--steps", "4", "--no-progress"]) == 0
    assert cli.main(["train", "vae", "--tier", "smoke", "--out", str(run), "--steps", "6", "--no-progress"]) == 0  # resumes
    assert "from step 4" in capsys.readouterr().out
    out = tmp_path / "s.npz"
    assert cli.main(["sample", str(run), "--n", "7", "--out", str(out)]) == 0
    arrays = np.load(out)
    assert set(arrays) == {"images"} and arrays["images"].shape == (7, 1, 28, 28)
    assert arrays["images"].min() >= 0 and arrays["images"].max() <= 1
    assert cli.main(["sample", str(run), "--n", "2", "--out", str(tmp_path / "l.npz"), "--label", "3"]) == 2
    assert "unconditional" in capsys.readouterr().err
