"""Notebook 08's module: every formula against a closed form or an independent implementation, and the Wasserstein
critic's step and recipes through the course loop."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

from gan_tutor import gan_math, models, stability, train
from gan_tutor.checkpoint import CONFIG_NAME


# --- distances ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("n, m, seed", [(50, 50, 0), (37, 81, 1), (1, 5, 2), (200, 3, 3)])
def test_wasserstein_1d_agrees_with_scipy(n, m, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(0, 1, n), rng.standard_exponential(m) * 2 - 0.5
    assert stability.wasserstein_1d(x, y) == pytest.approx(scipy.stats.wasserstein_distance(x, y), rel=1e-10, abs=1e-12)


def test_wasserstein_1d_of_a_shift_is_the_shift_and_symmetric():
    x = torch.randn(300, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert stability.wasserstein_1d(x, x + 1.75) == pytest.approx(1.75, rel=1e-12)
    assert stability.wasserstein_1d(x, x) == pytest.approx(0.0, abs=1e-15)
    y = x ** 2
    assert stability.wasserstein_1d(x, y) == pytest.approx(stability.wasserstein_1d(y, x), rel=1e-12)


def test_wasserstein_1d_refuses_empty_or_non_finite_samples():
    with pytest.raises(ValueError, match="at least one sample"):
        stability.wasserstein_1d([], [1.0])
    with pytest.raises(ValueError, match="NaN or inf"):
        stability.wasserstein_1d([0.0, float("nan")], [1.0])


def test_js_saturates_at_log2_once_supports_separate_while_w1_keeps_growing():
    shifts = torch.tensor([0.0, 0.05, 0.1, 0.2, 0.4, 1.0, 2.0, 4.0])
    js, w1 = stability.gaussian_divergences(shifts, sigma=0.1)
    assert js[0].item() == pytest.approx(0.0, abs=1e-9)
    # N(0, s^2) vs N(d, s^2): JS increases with d while the two overlap, and tends to log 2
    assert bool((js[1:5] > js[:4]).all()) and bool((js[1:] >= js[:-1] - 1e-12).all())
    assert js[-2].item() == pytest.approx(math.log(2), abs=1e-6) and js[-1].item() == pytest.approx(math.log(2), abs=1e-6)
    # the JS difference between shifts 2 and 4 is nil: no gradient; W1 doubles
    assert (js[-1] - js[-2]).abs().item() < 1e-9
    assert torch.equal(w1, shifts.double().abs())
    # the closed form for a small overlap: JS of two equal-width Gaussians at d = 0.05 (sigma 0.1), by quadrature
    grid = np.linspace(-2, 2, 400001)
    p, q = scipy.stats.norm.pdf(grid, 0, 0.1), scipy.stats.norm.pdf(grid, 0.05, 0.1)
    m = (p + q) / 2
    expected = 0.5 * np.trapezoid(p * np.log(p / m), grid) + 0.5 * np.trapezoid(q * np.log(q / m), grid)
    assert js[1].item() == pytest.approx(expected, rel=1e-4)


def test_gaussian_divergences_asks_for_a_wider_grid():
    with pytest.raises(ValueError, match="half_width"):
        stability.gaussian_divergences([20.0])


# --- Wasserstein losses, clipping, gradient penalty --------------------------------------------------


def test_wasserstein_losses_and_the_hinge_generator_loss_are_one():
    real, fake = torch.tensor([1.0, 3.0, -2.0]), torch.tensor([0.5, -1.5, 4.0, 2.0])
    assert stability.d_wasserstein_loss(real, fake).item() == pytest.approx(1.25 - 2 / 3)
    assert stability.g_wasserstein_loss(fake).item() == pytest.approx(-1.25)
    assert stability.g_wasserstein_loss(fake).item() == gan_math.g_hinge_loss(fake).item()


def test_clip_weights_clips_every_parameter_in_place():
    D = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    with torch.no_grad():
        D[0].weight.mul_(100)
    ids = [id(p) for p in D.parameters()]
    stability.clip_weights(D, 0.01)
    assert all(bool(p.abs().max() <= torch.tensor(0.01)) for p in D.parameters())
    assert [id(p) for p in D.parameters()] == ids
    assert D[0].weight.abs().max().item() == pytest.approx(0.01)
    with pytest.raises(ValueError, match="> 0"):
        stability.clip_weights(D, 0.0)


def _linear_critic(w):
    D = nn.Linear(w.numel(), 1, bias=True)
    with torch.no_grad():
        D.weight.copy_(w[None]), D.bias.fill_(0.7)
    return lambda x: D(x.flatten(1)).squeeze(1), D


@pytest.mark.parametrize("w", [[3.0, 4.0], [0.3, -0.4], [1.0, 0.0]])
def test_gradient_penalty_of_a_linear_critic_is_norm_minus_one_squared(w):
    w = torch.tensor(w)
    f, D = _linear_critic(w)
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    gp = stability.gradient_penalty(f, real, fake, generator=torch.Generator().manual_seed(0))
    assert gp.item() == pytest.approx((w.norm().item() - 1) ** 2, rel=1e-6, abs=1e-9)
    # create_graph: the penalty trains the critic; d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w|
    gp.backward()
    assert torch.allclose(D.weight.grad[0], 2 * (w.norm() - 1) * w / w.norm(), atol=1e-5)


def test_gradient_penalty_is_taken_per_sample_at_per_sample_interpolates():
    # f(x) = 1/2 |x|^2 has gradient x: the penalty is mean_i (|x_hat_i| - 1)^2, a per-sample loop with the same epsilons
    f = lambda x: 0.5 * x.flatten(1).pow(2).sum(1)  # noqa: E731
    g = torch.Generator().manual_seed(3)
    real, fake = torch.randn(5, 1, 2, 3, generator=g), torch.randn(5, 1, 2, 3, generator=g)
    eps = torch.tensor([0.0, 0.25, 0.5, 0.9, 1.0])
    expected = np.mean([(np.linalg.norm((e * r + (1 - e) * q).numpy()) - 1) ** 2 for e, r, q in zip(eps, real, fake)])
    assert stability.gradient_penalty(f, real, fake, epsilon=eps).item() == pytest.approx(expected, rel=1e-5)
    # without epsilon: uniform draws from the generator, reproducible
    a = stability.gradient_penalty(f, real, fake, generator=torch.Generator().manual_seed(1))
    b = stability.gradient_penalty(f, real, fake, generator=torch.Generator().manual_seed(1))
    assert a.item() == b.item()
    with pytest.raises(ValueError, match="same shape"):
        stability.gradient_penalty(f, real, fake[:4])


def test_critic_step_trains_d_only_and_reports_w1_and_penalty():
    torch.manual_seed(0)
    G, D = nn.Linear(3, 4), nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1), nn.Flatten(0))
    opt = torch.optim.Adam(D.parameters(), lr=0.1)
    g_before = [p.clone() for p in G.parameters()]
    d_before = [p.clone() for p in D.parameters()]
    real, z = torch.randn(16, 4), torch.randn(16, 3)
    with torch.no_grad():
        w1 = D(real).mean() - D(G(z)).mean()
    stats = stability.critic_step(G, D, opt, real, z, gp_lambda=10.0, noise=torch.Generator().manual_seed(0))
    assert stats.w1.item() == pytest.approx(w1.item(), rel=1e-6)
    assert stats.penalty.item() > 0 and stats.loss.item() == pytest.approx(-w1.item() + 10 * stats.penalty.item(), rel=1e-5)
    assert all(torch.equal(a, b) for a, b in zip(g_before, G.parameters())) and all(p.grad is None for p in G.parameters())
    assert not all(torch.equal(a, b) for a, b in zip(d_before, D.parameters()))
    stats = stability.critic_step(G, D, opt, real, z, clip=0.05)
    bound = torch.tensor(0.05)  # in float32, as the weights
    assert stats.penalty.item() == 0 and all(bool(p.abs().max() <= bound) for p in D.parameters())


# --- spectral normalisation --------------------------------------------------------------------------


def test_power_iteration_finds_the_largest_singular_value():
    W = torch.randn(16, 8, 3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    u = nn.functional.normalize(torch.randn(16, dtype=torch.float64), dim=0)
    sigma, u1, v1 = stability.power_iteration(W, u, steps=200)
    s = torch.linalg.svdvals(W.reshape(16, -1))
    assert sigma.item() == pytest.approx(s[0].item(), rel=1e-8)
    # one step is a lower bound (u^T W v <= sigma_max) that improves with steps
    one, _, _ = stability.power_iteration(W, u, steps=1)
    assert one.item() <= s[0].item() + 1e-12
    assert u1.norm().item() == pytest.approx(1.0) and v1.norm().item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"u must be \(16,\)"):
        stability.power_iteration(W, torch.ones(8))


def test_a_spectral_norm_layer_has_largest_singular_value_one_after_enough_iterations():
    torch.manual_seed(0)
    layer = nn.utils.parametrizations.spectral_norm(nn.Linear(20, 30))
    layer.train()
    for _ in range(50):  # each forward pass in training mode runs one power-iteration step
        layer(torch.randn(2, 20))
    assert torch.linalg.svdvals(layer.weight.detach())[0].item() == pytest.approx(1.0, abs=1e-4)
    # our power iteration on the raw weight gives the sigma torch divides by
    raw = layer.parametrizations.weight.original.detach()
    sigma, _, _ = stability.power_iteration(raw, layer.parametrizations.weight[0]._u.detach(), steps=100)
    assert torch.allclose(layer.weight.detach(), raw / sigma, atol=1e-5)


# --- the Dirac-GAN -----------------------------------------------------------------------------------


@pytest.mark.parametrize("loss, gamma", [("logistic", 0.0), ("logistic", 0.3), ("logistic", 2.0), ("wasserstein", 0.0), ("wasserstein", 1.0)])
def test_dirac_eigenvalues_match_the_jacobian_of_the_field(loss, gamma):
    jac = torch.autograd.functional.jacobian(lambda p: stability.dirac_field(p[0], p[1], loss, gamma), torch.zeros(2, dtype=torch.float64))
    numeric = torch.linalg.eigvals(jac)
    closed = stability.dirac_eigenvalues(loss, gamma)
    for c in closed:  # each closed-form eigenvalue is one of the Jacobian's
        assert (numeric - c).abs().min().item() < 1e-9
    fp = 0.5 if loss == "logistic" else 1.0
    assert jac[0, 1].item() == pytest.approx(-fp) and jac[1, 0].item() == pytest.approx(fp) and jac[1, 1].item() == pytest.approx(-gamma)


def test_dirac_gan_circles_without_r1_and_converges_with_it():
    radius = lambda path: path.norm(dim=1)  # noqa: E731
    plain = stability.dirac_trajectory(1.0, 1.0, lr=0.1, steps=500)
    assert radius(plain)[-1] > radius(plain)[0]  # simultaneous steps spiral outwards
    alternating = stability.dirac_trajectory(1.0, 1.0, lr=0.1, steps=500, alternating=True)
    r = radius(alternating)
    assert 0.5 < r.min() and r.max() < 2.0  # alternating steps circle: neither converge nor diverge
    r1 = stability.dirac_trajectory(1.0, 1.0, lr=0.1, steps=500, gamma=1.0)
    assert radius(r1)[-1] < 1e-3
    with pytest.raises(ValueError, match="unknown Dirac-GAN loss"):
        stability.dirac_field(0.0, 0.0, "hinge")


# --- configs, recipes and the loop -------------------------------------------------------------------


def test_configs_refuse_a_critic_without_a_constraint_and_penalties_without_a_critic():
    with pytest.raises(ValueError, match="needs a Lipschitz constraint"):
        stability.tier_config("smoke", loss="wasserstein")
    with pytest.raises(ValueError, match="set loss='wasserstein'"):
        stability.tier_config("smoke", gp_lambda=10.0)
    with pytest.raises(ValueError, match="n_critic"):
        stability.tier_config("smoke", n_critic=0)


def test_every_recipe_is_a_model_name_with_its_preset_and_no_batch_norm():
    for name, preset in stability.VARIANTS.items():
        spec = models.get_model(name)
        cfg = spec.config("smoke")
        assert {k: getattr(cfg, k) for k in preset} == preset
        assert cfg.clusters == 0 and cfg.n_classes == 0
        G, D = stability.build(cfg)
        assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in [*G.modules(), *D.modules()])
        assert D.spectral_norm == preset.get("spectral_norm", False)
        # an override on the command line wins over the preset
        assert spec.config("smoke", n_critic=2).n_critic == 2


def test_loop_identity_leaves_out_unused_wasserstein_settings():
    """Run folders written before the Wasserstein settings existed still resume."""
    assert not {"n_critic", "gp_lambda", "clip"} & set(train.GANLoop(z_dim=4).identity())
    assert train.GANLoop(z_dim=4, loss="wasserstein", gp_lambda=10.0, n_critic=5).identity()["n_critic"] == 5


def test_the_loop_refuses_unknown_losses_and_augmenting_a_critic():
    G, D = nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))
    with pytest.raises(ValueError, match="unknown loss 'wgan'"):
        train.fit_gan(G, D, torch.randn(8, 2), train.GANLoop(z_dim=2, loss="wgan"), steps=1, progress=False)
    with pytest.raises(ValueError, match="augment=''"):
        train.fit_gan(G, D, torch.randn(8, 2), train.GANLoop(z_dim=2, loss="wasserstein", clip=0.1, augment="cutout"),
                      steps=1, progress=False)


def _toy_critic_run(tmp_path, steps, name="run"):
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(3, 8), nn.LeakyReLU(0.2), nn.Linear(8, 2))
    D = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1), nn.Flatten(0))
    data = torch.randn(64, 2, generator=torch.Generator().manual_seed(1)) + 2
    loop = train.GANLoop(z_dim=3, batch_size=4, loss="wasserstein", gp_lambda=10.0, n_critic=3, n_fixed=4)
    return train.fit_gan(G, D, data, loop, steps=steps, device="cpu", progress=False, run_dir=tmp_path / name,
                         checkpoint_every=2, log_every=1)


def test_the_loop_takes_n_critic_steps_on_their_own_batches_and_resumes_exactly(tmp_path):
    s = _toy_critic_run(tmp_path, 5)
    assert s.step == 5 and s.batches.batch_size == 12  # three critic batches of 4 per generator step
    assert set(s.history) == {"step", "loss_d", "loss_g", "w1", "gp"} and len(s.history["w1"]) == 5
    assert all(math.isfinite(v) for v in s.history["gp"])
    assert s.optimizers["D"].state_dict()["state"][0]["step"].item() == 15  # 5 steps x 3 critic updates
    assert s.optimizers["G"].state_dict()["state"][0]["step"].item() == 5
    _toy_critic_run(tmp_path, 3, "resumed")
    r = _toy_critic_run(tmp_path, 5, "resumed")
    for k in ("G", "D"):
        for a, b in zip(s.modules[k].state_dict().values(), r.modules[k].state_dict().values()):
            assert torch.equal(a, b)


def test_cli_trains_resumes_and_samples_a_wasserstein_recipe(tmp_path, one_thread):
    from gan_tutor import cli

    out = tmp_path / "run"
    args = ["train", "wgan-gp", "--data", "mnist-5k", "--tier", "smoke", "--out", str(out), "--no-progress"]
    assert cli.main([*args, "--steps", "3"]) == 0
    assert cli.main(args) == 0  # resumes to the tier's 10 steps
    assert models.training_cost(out, "wgan-gp")[0] == stability.TIERS["smoke"].steps
    assert cli.main(["sample", str(out), "--n", "6", "--out", str(tmp_path / "s.npz")]) == 0
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (6, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    saved = json.loads((out / CONFIG_NAME).read_text())
    cfg = models.get_model("wgan-gp").config_from_identity({k: v for k, v in saved.items() if k != "model"})
    assert cfg.loss == "wasserstein" and cfg.gp_lambda == 10.0 and cfg.n_critic == 5
