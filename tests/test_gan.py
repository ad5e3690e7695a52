"""gan_tutor.gan: shapes, output ranges, dropout placement, tier presets, config identity."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from torch import nn

from gan_tutor import gan, gan_step, models, train


pytestmark = pytest.mark.usefixtures("one_thread")


def test_generator_images_shape_and_tanh_range():
    torch.manual_seed(0)
    G = gan.Generator(16, (32, 64), (1, 28, 28))
    # large z pushes the pre-activations far out: tanh must still bound them
    x = G(torch.randn(7, 16) * 50)
    assert x.shape == (7, 1, 28, 28)
    assert x.min().item() >= -1.0 and x.max().item() <= 1.0
    # the bound is reached in practice, so the test would notice a missing tanh
    assert x.abs().max().item() == pytest.approx(1.0, abs=1e-3)


def test_generator_2d_variant_is_unbounded_and_linear_at_the_end():
    torch.manual_seed(0)
    G = gan.Generator(2, (8,), (2,), tanh=False)
    z = torch.randn(5, 2)
    with torch.no_grad():
        G.net[-1].bias.fill_(10.0)  # shift every output by +10: a tanh would keep them below 1
        x = G(z)
        expected = G.net[-1](G.net[1](G.net[0](z)))  # the layers by hand: Linear, LeakyReLU, Linear
    assert x.shape == (5, 2)
    assert torch.allclose(x, expected, atol=1e-6)
    assert x.min().item() > 1.0


def test_discriminator_logits_shape():
    torch.manual_seed(0)
    D = gan.Discriminator((1, 28, 28), (32, 16), dropout=0.3)
    for n in (1, 6):
        assert D(torch.rand(n, 1, 28, 28) * 2 - 1).shape == (n,)
    D2 = gan.Discriminator((2,), (8,))
    assert D2(torch.randn(4, 2)).shape == (4,)


def test_dropout_only_in_d_and_only_in_training():
    G, D = gan.build(gan.tier_config("smoke"))
    assert not any(isinstance(m, nn.Dropout) for m in G.modules())
    drops = [m for m in D.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == len(gan.TIERS["smoke"].hidden_d)
    assert all(m.p == pytest.approx(gan.TIERS["smoke"].dropout_d) for m in drops)
    assert not any(isinstance(m, nn.Dropout) for m in gan.Discriminator((2,), (8, 8), dropout=0.0).modules())

    x = torch.rand(4, 1, 28, 28)
    torch.manual_seed(0)
    a, b = D(x), D(x)
    assert not torch.equal(a, b)  # training mode: two draws of the dropout mask
    D.eval()
    assert torch.equal(D(x), D(x))
    G.train()
    z = torch.randn(4, G.z_dim)
    assert torch.equal(G(z), G(z))  # G has no randomness of its own


def _snapshot(m: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in m.parameters()]


def _changed(m: nn.Module, before: list[torch.Tensor]) -> bool:
    return all(not torch.equal(p, q) for p, q in zip(m.parameters(), before))


@pytest.mark.parametrize("tier", list(gan.TIERS))
def test_every_tier_builds_and_trains_one_step(tier):
    cfg = gan.tier_config(tier)
    torch.manual_seed(0)
    G, D = gan.build(cfg)
    opt_G = train.make_adam(G.parameters(), cfg.lr_g, cfg.betas)
    opt_D = train.make_adam(D.parameters(), cfg.lr_d, cfg.betas)
    b = 8  # small batch: the shapes matter here, not the tier's batch size
    real = torch.rand(b, *cfg.image_shape) * 2 - 1
    z = torch.randn(b, cfg.z_dim)

    g0, d0 = _snapshot(G), _snapshot(D)
    d = gan_step.d_step(G, D, opt_D, real, z, cfg.real_label)
    assert torch.isfinite(d.loss) and torch.isfinite(d.d_real) and torch.isfinite(d.d_fake)
    assert _changed(D, d0)
    assert all(torch.equal(p, q) for p, q in zip(G.parameters(), g0))

    d1 = _snapshot(D)
    g = gan_step.g_step(G, D, opt_G, z)
    assert torch.isfinite(g.loss)
    assert _changed(G, g0)
    assert all(torch.equal(p, q) for p, q in zip(D.parameters(), d1))


def test_identity_excludes_budget_and_round_trips():
    cfg = gan.tier_config("smoke", seed=3, ema_decay=None)
    ident = cfg.identity()
    assert "steps" not in ident and "snapshot_every" not in ident
    assert ident["seed"] == 3 and ident["ema_decay"] is None and ident["hidden_g"] == [64, 128]
    # the identity is what a run folder is tied to: a new budget keeps it
    assert gan.tier_config("smoke", seed=3, ema_decay=None, steps=999, snapshot_every=7).identity() == ident
    assert gan.tier_config("smoke", seed=4, ema_decay=None).identity() != ident

    # through JSON (config.json) and back to the dataclass, as `sample` rebuilds G from a checkpoint
    rebuilt = models.get_model("gan").config_from_identity(json.loads(json.dumps(ident)))
    assert isinstance(rebuilt, gan.GANConfig)
    defaults = gan.GANConfig()
    assert rebuilt == dataclasses.replace(cfg, steps=defaults.steps, snapshot_every=defaults.snapshot_every)
    assert rebuilt.identity() == ident
    assert isinstance(rebuilt.hidden_g, tuple) and isinstance(rebuilt.betas, tuple)

    cpu = gan.tier_config("cpu")  # the budget is the default's: the whole config round-trips
    assert models.get_model("gan").config_from_identity(cpu.identity()) == cpu


def test_tier_config_overrides_and_unknown_tier():
    cfg = gan.tier_config("cpu", seed=5)
    assert cfg.seed == 5 and gan.TIERS["cpu"].seed == 0  # the preset itself is untouched
    with pytest.raises(ValueError, match=r"unknown tier 'huge': use one of smoke, cpu, gpu, full"):
        gan.tier_config("huge")
    with pytest.raises(ValueError, match="GANConfig has no field 'no_such_field'"):
        gan.tier_config("cpu", no_such_field=1)


def test_print_model_shows_z_dim_and_shapes():
    G, D = gan.build(gan.tier_config("smoke"))
    g, d = str(G), str(D)
    assert "z_dim=64, out_shape=(1, 28, 28), tanh=True" in g
    assert "in_shape=(1, 28, 28)" in d
    assert "Dropout(p=0.3" in d and "Dropout" not in g
    assert "out_shape=(2,), tanh=False" in str(gan.Generator(2, (8,), (2,), tanh=False))


@pytest.mark.parametrize("images, error, match", [
    (torch.zeros(8, 1, 28, 28, dtype=torch.uint8), TypeError, r"/ 255"),
    (torch.zeros(8, 3, 28, 28), ValueError, r"expected \(N, 1, 28, 28\)"),
    (torch.full((8, 1, 28, 28), -1.0), ValueError, r"\[-1, 1\], a tanh output: map them with \(x \+ 1\) / 2"),
])
def test_training_refuses_bad_images_before_writing_anything(images, error, match, tmp_path):
    from gan_tutor.models import get_model

    spec = get_model("gan")
    with pytest.raises(error, match=match):
        spec.train(spec.config("smoke"), images, data="mnist-5k", run_dir=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_spectral_norm_makes_every_layer_1_lipschitz():
    torch.manual_seed(0)
    D = gan.Discriminator((2,), (64, 64), spectral_norm=True)
    x = torch.randn(32, 2)
    for _ in range(50):  # each training-mode forward pass runs one power iteration
        D(x)
    linears = [m for m in D.net if isinstance(m, nn.Linear)]
    assert len(linears) == 3
    for m in linears:  # the effective weight's largest singular value, by SVD (an independent oracle)
        assert torch.linalg.matrix_norm(m.weight.detach(), ord=2).item() == pytest.approx(1.0, abs=1e-3)
    plain = gan.Discriminator((2,), (64, 64))
    assert not any(torch.linalg.matrix_norm(m.weight.detach(), ord=2).item() == pytest.approx(1.0, abs=1e-2)
                   for m in plain.net if isinstance(m, nn.Linear))
    assert "spectral_norm=True" in repr(D)


def test_training_depends_on_the_seed_not_on_the_global_rng():
    from gan_tutor.models import get_model

    spec = get_model("gan")
    images = torch.rand(64, 1, 28, 28)
    cfg = spec.config("smoke", steps=5)
    runs = []
    for noise in (1, 2):
        torch.manual_seed(noise)
        torch.randn(1000)  # whatever a notebook drew before
        runs.append(spec.train(cfg, images, data="test", progress=False, device="cpu"))
    for k in ("G", "D"):
        for a, b in zip(runs[0].modules[k].parameters(), runs[1].modules[k].parameters()):
            assert torch.equal(a, b)
    other = spec.train(spec.config("smoke", steps=5, seed=1), images, data="test", progress=False, device="cpu")
    assert not torch.equal(next(other.modules["G"].parameters()), next(runs[0].modules["G"].parameters()))
