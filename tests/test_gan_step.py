"""gan_tutor.gan_step: the D and G steps of notebook 02 against closed forms and oracles, and the EMA update."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gan_tutor import gan_step


def test_d_step_detaches_and_matches_bce_oracle():
    torch.manual_seed(0)
    G, D = torch.nn.Linear(3, 2), torch.nn.Linear(2, 1)
    opt_D = torch.optim.SGD(D.parameters(), lr=0.1)
    real, z = torch.randn(5, 2), torch.randn(5, 3)
    with torch.no_grad():
        r, f = D(real).squeeze(1), D(G(z)).squeeze(1)
    expected = F.binary_cross_entropy_with_logits(r, torch.full_like(r, 0.9)) + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))
    w_before, g_before = D.weight.clone(), G.weight.clone()
    Dflat = lambda x: D(x).squeeze(1)  # noqa: E731
    stats = gan_step.d_step(G, Dflat, opt_D, real, z, real_label=0.9)
    assert stats.loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert stats.d_real.item() == pytest.approx(torch.sigmoid(r).mean().item(), rel=1e-6)
    assert G.weight.grad is None and torch.equal(G.weight, g_before)
    assert not torch.equal(D.weight, w_before)


def test_g_step_moves_only_g_and_uses_nonsaturating_loss():
    torch.manual_seed(0)
    G, D = torch.nn.Linear(3, 2), torch.nn.Linear(2, 1)
    opt_G = torch.optim.SGD(G.parameters(), lr=0.1)
    z = torch.randn(5, 3)
    with torch.no_grad():
        f = D(G(z)).squeeze(1)
    d_before, g_before = D.weight.clone(), G.weight.clone()
    stats = gan_step.g_step(G, lambda x: D(x).squeeze(1), opt_G, z)
    assert stats.loss.item() == pytest.approx(torch.log1p(torch.exp(-f)).mean().item(), rel=1e-6)
    assert torch.equal(D.weight, d_before) and not torch.equal(G.weight, g_before)


def test_ema_update_closed_form():
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    expected = 0.75 * a.weight.detach().clone() + 0.25 * b.weight.detach()
    gan_step.ema_update(a, b, 0.75)
    assert torch.allclose(a.weight, expected, atol=1e-7)


def test_recompute_batchnorm_is_the_average_over_batches():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))
    net[1].running_mean.fill_(100.0)  # statistics that belong to other weights
    weight = net[0].weight.detach().clone()
    batches = [torch.randn(8, 3) * (i + 1) + i for i in range(4)]
    net.eval()
    assert gan_step.recompute_batchnorm(net, [(x,) for x in batches]) == 4
    with torch.no_grad():
        hidden = [net[0](x) for x in batches]
    # momentum None: the plain average of the batch means and of the unbiased batch variances
    assert torch.allclose(net[1].running_mean, torch.stack([h.mean(0) for h in hidden]).mean(0), atol=1e-5)
    assert torch.allclose(net[1].running_var, torch.stack([h.var(0, unbiased=True) for h in hidden]).mean(0), atol=1e-4)
    assert torch.equal(net[0].weight, weight) and not net.training and net[1].momentum == 0.1
    assert gan_step.recompute_batchnorm(torch.nn.Linear(2, 2), []) == 0  # nothing to recompute
    with pytest.raises(ValueError, match="at least one batch"):
        gan_step.recompute_batchnorm(net, [])


def test_standing_statistics_make_eval_match_training_mode():
    from gan_tutor import dcgan

    cfg = dcgan.tier_config("smoke")  # self-conditioned: G(z, cluster)
    G, _ = dcgan.build(cfg)
    for m in G.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.fill_(3.0)
    z, y = torch.randn(256, cfg.z_dim), G.sample_labels(256)
    with torch.no_grad():
        batch_stats = G.train()(z, y)
        before = (G.eval()(z, y) - batch_stats).abs().mean()
        assert gan_step.standing_statistics(G, cfg, batches=40, batch_size=64) == 40
        after = (G.eval()(z, y) - batch_stats).abs().mean()
    assert after < 0.1 * before and after < 0.05


def test_generator_inputs_draw_z_then_labels_from_one_generator():
    from gan_tutor import cgan, dcgan, gan

    cfg = cgan.tier_config("smoke")
    G, _ = cgan.build(cfg)
    g = torch.Generator().manual_seed(5)
    z, y = gan_step.generator_inputs(G, cfg, 12, g)
    assert torch.equal(z, torch.randn(12, cfg.z_dim, generator=torch.Generator().manual_seed(5)))
    assert y.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]  # the classes in turn
    assert gan_step.generator_inputs(G, cfg, 3, g, 7)[1].tolist() == [7, 7, 7]
    g = torch.Generator().manual_seed(5)
    z2, y2 = gan_step.generator_inputs(G, cfg, 500, g, "random")
    oracle = torch.Generator().manual_seed(5)
    torch.randn(500, cfg.z_dim, generator=oracle)
    assert torch.equal(y2, torch.randint(10, (500,), generator=oracle)) and len(set(y2.tolist())) == 10
    with pytest.raises(ValueError, match="'random'"):
        gan_step.generator_inputs(G, cfg, 3, g, "shuffled")
    with pytest.raises(ValueError, match="range"):
        gan_step.generator_inputs(G, cfg, 2, g, [3, 10])
    cfg = gan.tier_config("smoke")  # unconditional: no labels
    assert gan_step.generator_inputs(gan.build(cfg)[0], cfg, 4, g)[1] is None
    cfg = dcgan.tier_config("smoke")  # self-conditioned: cluster ids from the prior
    G, _ = dcgan.build(cfg)
    G.set_prior(torch.tensor([2] * 9 + [5]))
    y = gan_step.generator_inputs(G, cfg, 200, g)[1]
    assert set(y.tolist()) == {2, 5} and 150 < (y == 2).sum() < 200


def test_standing_statistics_leave_a_generator_without_batch_norm_and_its_draws_alone():
    from gan_tutor import stylegan

    cfg = stylegan.tier_config("smoke")
    G, _ = stylegan.build(cfg)
    state = {k: v.clone() for k, v in G.state_dict().items()}
    assert gan_step.standing_statistics(G, cfg) == 0
    assert all(torch.equal(v, state[k]) for k, v in G.state_dict().items())
