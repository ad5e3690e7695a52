"""Notebook 09's module: the CycleGAN and pix2pix objectives, the image pool, the networks' geometry, the UCI grid, the
training step's semantics (frozen discriminators, identity fed the target domain, loss weights), and the measurement."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gan_tutor import cyclegan as cg
from gan_tutor import data


class Affine(nn.Module):
    """x -> s x + t: a stand-in generator whose outputs are known in closed form (one parameter, so it can be trained)."""

    def __init__(self, s: float, t: float):
        super().__init__()
        self.s = nn.Parameter(torch.tensor(s))
        self.t = t

    def forward(self, x):
        return self.s * x + self.t


class MeanCritic(nn.Module):
    """x -> c * mean(x) per image, as a (B, 1, 1, 1) score map."""

    def __init__(self, c: float):
        super().__init__()
        self.c = nn.Parameter(torch.tensor(c))

    def forward(self, x):
        return self.c * x.mean(dim=(1, 2, 3), keepdim=True)


def l1(x, y):
    return float((x.double() - y.double()).abs().mean())


# --- losses ----------------------------------------------------------------------------------------


def test_least_squares_losses_closed_form():
    real, fake = torch.tensor([1.5, 0.5, 1.0]), torch.tensor([0.2, -0.4])
    expected = 0.5 * (0.25 + 0.25 + 0) / 3 + 0.5 * (0.04 + 0.16) / 2
    assert math.isclose(float(cg.lsgan_d_loss(real, fake)), expected, rel_tol=1e-6)
    assert math.isclose(float(cg.lsgan_g_loss(fake)), ((0.2 - 1) ** 2 + (-0.4 - 1) ** 2) / 2, rel_tol=1e-6)
    # the optimum of D's loss for fixed data is D = 1 on real, 0 on fake: loss 0
    assert float(cg.lsgan_d_loss(torch.ones(4), torch.zeros(5))) == 0.0


def test_generator_losses_weights_and_identity_fed_the_target_domain():
    torch.manual_seed(0)
    a, b = torch.rand(3, 1, 28, 28) * 0.5 + 0.5, torch.rand(3, 1, 28, 28) * 0.5 - 1  # two domains apart
    G, F = Affine(0.5, 0.2), Affine(1.5, -0.1)
    D_A, D_B = MeanCritic(2.0), MeanCritic(-1.0)
    lam, lam_id = 10.0, 0.5
    out = {k: v.detach() for k, v in cg.generator_losses(G, F, D_A, D_B, a, b, lam, lam_id).items()}
    Ga, Fb = 0.5 * a + 0.2, 1.5 * b - 0.1
    gan = float(((-1.0 * Ga.mean(dim=(1, 2, 3)) - 1) ** 2).mean() + ((2.0 * Fb.mean(dim=(1, 2, 3)) - 1) ** 2).mean())
    cycle = lam * (l1(1.5 * Ga - 0.1, a) + l1(0.5 * Fb + 0.2, b))
    identity = lam_id * lam * (l1(0.5 * b + 0.2, b) + l1(1.5 * a - 0.1, a))  # G fed b (its target), F fed a
    wrong_identity = lam_id * lam * (l1(Ga, a) + l1(Fb, b))  # fed the source: a different number
    assert math.isclose(float(out["gan"]), gan, rel_tol=1e-5)
    assert math.isclose(float(out["cycle"]), cycle, rel_tol=1e-5)
    assert math.isclose(float(out["identity"]), identity, rel_tol=1e-5)
    assert not math.isclose(identity, wrong_identity, rel_tol=1e-2)
    assert math.isclose(float(out["total"]), gan + cycle + identity, rel_tol=1e-5)
    # the ablation: no cycle, no identity
    ablated = {k: v.detach() for k, v in cg.generator_losses(G, F, D_A, D_B, a, b, 0.0, lam_id).items()}
    assert float(ablated["cycle"]) == float(ablated["identity"]) == 0.0
    assert math.isclose(float(ablated["total"]), gan, rel_tol=1e-5)


def test_the_cycle_of_inverse_generators_costs_nothing():
    a, b = torch.rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28)
    G, F = Affine(2.0, 0.5), Affine(0.5, -0.25)  # F = G^-1
    assert cg.generator_losses(G, F, MeanCritic(1.0), MeanCritic(1.0), a, b, 10.0, 0.0)["cycle"].item() < 1e-6


def test_linear_decay_constant_then_linear_to_zero():
    assert [cg.linear_decay(s, 100) for s in (0, 25, 50, 75, 100, 120)] == [1.0, 1.0, 1.0, 0.5, 0.0, 0.0]
    assert cg.linear_decay(10**6, 0) == 1.0


# --- the image pool ------------------------------------------------------------------------------------------------


def test_pool_passes_the_first_images_through_then_swaps_half():
    pool = cg.ImagePool(50, (1, 2, 2))
    g = torch.Generator().manual_seed(0)
    first = torch.arange(50 * 4, dtype=torch.float32).reshape(50, 1, 2, 2)
    assert torch.equal(pool.query(first, g), first) and int(pool.count) == 50
    seen = {tuple(x.flatten().tolist()) for x in first}
    new = -1 - torch.arange(4000 * 4, dtype=torch.float32).reshape(4000, 1, 2, 2)
    out = torch.cat([pool.query(new[i:i + 40], g) for i in range(0, 4000, 40)])
    returned_new = (out == new).flatten(1).all(1)
    share = returned_new.float().mean().item()
    assert abs(share - 0.5) < 0.04  # binomial sd 0.008 for 4,000 draws
    # an image not passed through is one stored before: one of the first 50 or an earlier new one
    earlier = seen | {tuple(x.flatten().tolist()) for x in new}
    assert all(tuple(x.flatten().tolist()) in earlier for x in out[~returned_new])
    assert len(pool.images) == 50


def test_pool_stores_and_returns_detached_copies():
    pool = cg.ImagePool(4, (1, 2, 2))
    w = torch.ones((), requires_grad=True)
    x = w * torch.rand(6, 1, 2, 2)
    out = pool.query(x, torch.Generator().manual_seed(1))
    assert not out.requires_grad and not pool.images.requires_grad
    out.add_(100)  # the caller changing what it got does not change the history
    assert pool.images.max() < 2


def test_pool_of_size_zero_passes_everything_and_a_negative_size_is_refused():
    x = torch.rand(3, 1, 2, 2)
    assert torch.equal(cg.ImagePool(0, (1, 2, 2)).query(x), x)
    with pytest.raises(ValueError, match="pool size"):
        cg.ImagePool(-1)


def test_pool_state_round_trips_through_a_state_dict():
    a, b = cg.ImagePool(8, (1, 2, 2)), cg.ImagePool(8, (1, 2, 2))
    a.query(torch.rand(12, 1, 2, 2), torch.Generator().manual_seed(2))
    b.load_state_dict(a.state_dict())
    x = torch.rand(10, 1, 2, 2)
    assert torch.equal(a.query(x, torch.Generator().manual_seed(3)), b.query(x, torch.Generator().manual_seed(3)))


# --- networks ----------------------------------------------------------------------------------------------------


def test_shapes_and_ranges():
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    for G in (cg.ResnetGenerator(8, 1), cg.UNetGenerator(8)):
        y = G(x)
        assert y.shape == x.shape and y.abs().max() <= 1
    assert cg.PatchDiscriminator(8)(x).shape == (3, 1, 7, 7)
    assert cg.PatchDiscriminator(8, 2)(x, x).shape == (3, 1, 7, 7)


@pytest.mark.parametrize("patch", [10, 18, 26])
def test_receptive_field_against_the_gradient_of_one_score(patch):
    D = cg.build(cg.tier_config("smoke", patch=patch))["D_A"]
    assert cg.receptive_field(D) == patch and D(torch.rand(2, 1, 28, 28)).shape == (2, 1, 7, 7)
    # oracle: the input pixels one score depends on (instance norm would couple every pixel: take it out)
    D.net[3] = nn.Identity()
    x = torch.randn(1, 1, 64, 64, requires_grad=True)
    D(x)[0, 0, 8, 8].backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero().flatten()
    cols = x.grad[0, 0].abs().sum(0).nonzero().flatten()
    assert rows.max() - rows.min() + 1 == patch and cols.max() - cols.min() + 1 == patch
    assert rows.min() == 4 * 8 - (patch - 4) // 2  # unit i's window starts at 4 i - (r - 4) / 2 (notebook 09 draws it)


def test_unet_skips_carry_the_input_layout():
    """The decoder's last step sees the encoder's first map: zeroing the bottleneck still leaves G(x) depending on x."""
    G = cg.UNetGenerator(8)
    for p in G.mid.parameters():
        nn.init.zeros_(p)
    x1, x2 = torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28)
    assert not torch.allclose(G(x1), G(x2))


# --- the UCI grid --------------------------------------------------------------------------------------------------


def test_to_uci_grid_leaves_real_uci_digits_unchanged_and_is_idempotent():
    u = data.load_uci_digits("test").images
    assert torch.equal(cg.to_uci_grid(u), u)
    m = data.load_dataset("mnist-5k", "test").images[:200]
    once = cg.to_uci_grid(m)
    assert torch.equal(cg.to_uci_grid(once), once)
    assert (once - m).abs().mean() > 0.05  # MNIST's strokes are not on the grid


def test_degrade_gives_17_levels_on_an_8x8_grid():
    m = data.load_dataset("mnist-5k", "test").images[:200]
    d = cg.degrade(m)
    assert d.shape == m.shape and d.min() >= 0 and d.max() <= 1
    assert torch.equal(cg.to_uci_grid(d), d)  # on the grid
    cells = torch.nn.functional.adaptive_avg_pool2d(m[..., 4:24, 4:24], 8)
    assert torch.equal(d, data.frame_like_mnist(torch.round(cells * 16) / 16))  # UCI counts on-pixels per block
    pairs = cg.training_pairs(cg.tier_config("smoke", method="pix2pix"), m)
    assert torch.equal(pairs[0], d * 2 - 1) and torch.equal(pairs[1], m * 2 - 1)


# --- the training step ---------------------------------------------------------------------------------------------


def _tiny(method="cyclegan"):
    cfg = cg.tier_config("smoke", method=method, pool_size=4)
    torch.manual_seed(0)
    m = cg.build(cfg)
    opt = {k: torch.optim.Adam([p for n in names for p in m[n].parameters()], 1e-3) for k, names in cg.optimised(cfg).items()}
    return cfg, m, opt


def test_cyclegan_step_freezes_the_discriminators_during_the_generators_step():
    cfg, m, opt = _tiny()
    seen = {}
    g_step = opt["G"].step

    def spy(*args, **kwargs):
        seen["d_grads"] = [p.grad for n in ("D_A", "D_B") for p in m[n].parameters()]
        seen["g_grads"] = [p.grad for p in m["G"].parameters()]
        return g_step(*args, **kwargs)

    opt["G"].step = spy
    before = {n: [p.detach().clone() for p in m[n].parameters()] for n in ("D_A", "D_B")}
    out = cg.cyclegan_step(cfg, torch.rand(20, 1, 28, 28) * 2 - 1)(m, opt, (torch.rand(8, 1, 28, 28) * 2 - 1,),
                                                                   torch.Generator().manual_seed(0))
    assert all(gr is None for gr in seen["d_grads"])  # G's backward reached no discriminator
    assert all(gr is not None for gr in seen["g_grads"])
    assert all(p.requires_grad for n in ("D_A", "D_B") for p in m[n].parameters())  # unfrozen for their own step
    assert any(not torch.equal(p, q) for n in before for p, q in zip(m[n].parameters(), before[n]))  # D trained after
    assert int(m["pool_A"].count) == int(m["pool_B"].count) == 4
    assert set(out) == {"loss_g", "loss_gan", "loss_cycle", "loss_identity", "loss_d_a", "loss_d_b"}


def test_pix2pix_step_conditions_the_discriminator_on_the_input():
    cfg, m, opt = _tiny("pix2pix")
    seen = []
    D = m["D"]
    forward = D.forward
    D.forward = lambda x, condition=None: (seen.append(condition), forward(x, condition))[1]
    x, y = torch.rand(4, 1, 28, 28) * 2 - 1, torch.rand(4, 1, 28, 28) * 2 - 1
    out = cg.pix2pix_step(cfg)(m, opt, (x, y), torch.Generator())
    assert len(seen) == 3 and all(c is x for c in seen)
    assert math.isclose(out["loss_g"].item(), out["loss_gan"].item() + out["loss_l1"].item(), rel_tol=1e-6)


def test_configs_refuse_bad_values():
    with pytest.raises(ValueError, match="unknown translation method"):
        cg.tier_config("smoke", method="unit")
    with pytest.raises(ValueError, match="lam_cycle"):
        cg.tier_config("smoke", lam_cycle=-1.0)
    with pytest.raises(ValueError, match="receptive field"):
        cg.tier_config("smoke", patch=14)
    with pytest.raises(ValueError, match="schedule_steps"):
        cg.tier_config("smoke", schedule_steps=-5)
    assert cg.tier_config("cpu", method="pix2pix").steps == cg.PIX2PIX_STEPS["cpu"]


# --- the translator and the measurement -----------------------------------------------------------------------------


class Same(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x + self.w


def test_translator_maps_0_1_images_and_refuses_what_it_cannot_do():
    t = cg.Translator({"b2a": Same()}, "mnist-5k", "uci-digits")
    x = torch.rand(3, 1, 28, 28)
    assert torch.allclose(t(x), x, atol=1e-6)
    with pytest.raises(ValueError, match="no direction 'a2b'"):
        t(x, "a2b")
    with pytest.raises(ValueError, match=r"\(1, 28, 28\)|shape"):
        t(torch.rand(3, 1, 8, 8))


def test_evaluate_an_identity_translator_scores_the_baseline_and_a_perfect_cycle():
    t = cg.Translator({"b2a": Same(), "a2b": Same()}, "mnist-5k", "uci-digits")
    source = data.load_uci_digits("test")
    held = data.load_dataset("mnist-5k", "test")
    s = cg.evaluate(t, source, held)
    assert (s.translated.label_accuracy, s.translated.confident) == (s.baseline.label_accuracy, s.baseline.confident)
    assert math.isclose(s.translated.frechet, s.baseline.frechet, rel_tol=1e-5)  # x -> 2x - 1 -> (y + 1) / 2 rounds
    assert s.cycle_l1 < 1e-6 and s.cycle_label_accuracy > 0.95
    assert math.isclose(s.requantised_cycle_l1, l1(cg.to_uci_grid(held.images), held.images), rel_tol=1e-4)
    assert s.stego_ratio > 1000  # the identity "hides" all of A in B: re-quantising destroys it
