"""StyleGAN's building blocks against their defining properties and independent computations."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gan_tutor import gan_step, stylegan, stylegan_probes, train


def test_adain_gives_the_style_statistics_and_ignores_the_content_scale():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 8, 8, generator=g) * 2 + 1
    y = torch.randn(3, 4, 5, 5, generator=g) * torch.tensor([0.5, 1, 2, 3]).view(1, 4, 1, 1) - 2
    out = stylegan.adain(x, y)
    mu_o, sd_o = out.mean(dim=(2, 3)), out.std(dim=(2, 3), unbiased=False)
    assert torch.allclose(mu_o, y.mean(dim=(2, 3)), atol=1e-5)
    assert torch.allclose(sd_o, y.std(dim=(2, 3), unbiased=False), atol=1e-4)
    assert torch.allclose(stylegan.adain(3.0 * x + 7.0, y), out, atol=1e-4)  # positive affine change of the content
    assert torch.allclose(stylegan.adain(-x, y), 2 * y.mean(dim=(2, 3), keepdim=True) - out, atol=1e-4)  # a negative one flips it
    with pytest.raises(ValueError, match=r"same \(N, C\)"):
        stylegan.adain(x, y[:, :2])


def test_equalised_layers_scale_at_run_time_and_slow_learning_by_lr_mul():
    torch.manual_seed(0)
    lin = stylegan.EqualLinear(256, 64, bias_init=1.0, lr_mul=0.01)
    x = torch.randn(512, 256)
    assert torch.allclose(lin(x), F.linear(x, lin.weight * 0.01 / 16, lin.bias * 0.01), atol=1e-6)
    assert torch.allclose(lin.bias * lin.lr_mul, torch.ones(64))  # the effective bias starts at bias_init
    assert abs(lin.weight.std().item() * 0.01 - 1.0) < 0.05  # stored N(0, 1 / lr_mul^2): effective N(0, 1)
    assert abs(lin(x).sub(1.0).std().item() - 1.0) < 0.05  # unit-variance input -> unit-variance output
    # one Adam step moves the stored weights by about lr whatever their scale: the effective change is lr * lr_mul * scale
    opt = torch.optim.Adam(lin.parameters(), lr=0.1)
    before = lin.weight.detach().clone()
    lin(x).pow(2).mean().backward()
    opt.step()
    assert abs((lin.weight - before).abs().max().item() - 0.1) < 1e-3
    conv = stylegan.EqualConv2d(8, 16, 3, padding=1)
    xc = torch.randn(4, 8, 6, 6)
    assert torch.allclose(conv(xc), F.conv2d(xc, conv.weight / math.sqrt(72), conv.bias, padding=1), atol=1e-6)


def test_mapping_network_normalises_z_and_noise_starts_as_identity():
    z = torch.randn(5, 64) * 10
    assert torch.allclose(stylegan.normalize_z(z).pow(2).mean(1), torch.ones(5), atol=1e-5)
    m = stylegan.MappingNetwork(64, 32, n_layers=2)
    assert m(z).shape == (5, 32) and torch.allclose(m(z), m(z / 10), atol=1e-5)  # the scale of z does not matter
    assert len(m.layers) == 2 and all(layer.lr_mul == 0.01 for layer in m.layers)
    noise = stylegan.NoiseInjection(6)
    x = torch.randn(2, 6, 4, 4)
    assert torch.equal(noise(x), x)  # strength 0 at initialisation
    with torch.no_grad():
        noise.strength.copy_(torch.arange(6.0).view(1, 6, 1, 1))
    n = torch.randn(2, 1, 4, 4)
    assert torch.allclose(noise(x, n) - x, torch.arange(6.0).view(1, 6, 1, 1) * n)  # one map, a strength per channel


def test_truncation_pulls_slots_before_the_cutoff_towards_the_average():
    w = torch.randn(3, 6, 8)
    w_avg = torch.randn(8)
    assert torch.allclose(stylegan.truncate(w, w_avg, 1.0), w)
    assert torch.allclose(stylegan.truncate(w, w_avg, 0.0), w_avg.expand(3, 6, 8))
    t = stylegan.truncate(w, w_avg, 0.5, cutoff=4)
    assert torch.allclose(t[:, :4], w_avg + 0.5 * (w[:, :4] - w_avg)) and torch.equal(t[:, 4:], w[:, 4:])
    with pytest.raises(ValueError, match="per-slot"):
        stylegan.truncate(w[:, 0], w_avg, 0.5)


def test_modulated_conv_is_a_per_sample_convolution_with_per_sample_weights():
    torch.manual_seed(0)
    conv = stylegan.ModulatedConv2d(5, 7, 3, w_dim=16)
    x, w = torch.randn(4, 5, 6, 6), torch.randn(4, 16)
    out = conv(x, w)
    s = conv.affine(w)  # (N, in)
    for i in range(4):  # an independent loop: modulate, demodulate, convolve one sample at a time
        wi = conv.weight * conv.scale * s[i].view(1, 5, 1, 1)
        wi = wi / (wi.pow(2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8).sqrt()
        assert torch.allclose(out[i:i + 1], F.conv2d(x[i:i + 1], wi, padding=1), atol=1e-5)
    up = stylegan.ModulatedConv2d(5, 7, 3, w_dim=16, upsample=True)
    assert up(x, w).shape == (4, 7, 12, 12)
    for demodulate in (True, False):  # the unfused form (scale inputs, shared weight, scale outputs) is the same map
        fused = stylegan.ModulatedConv2d(5, 7, 3, w_dim=16, demodulate=demodulate)
        unfused = stylegan.ModulatedConv2d(5, 7, 3, w_dim=16, demodulate=demodulate, fused=False)
        unfused.load_state_dict(fused.state_dict())
        assert torch.allclose(fused(x, w), unfused(x, w), atol=1e-5)
    with pytest.raises(ValueError, match="5 input channels"):
        conv(torch.randn(4, 3, 6, 6), w)


def test_demodulation_ignores_the_style_scale_and_keeps_unit_variance():
    torch.manual_seed(0)
    weight = torch.randn(64, 128, 3, 3)
    styles = torch.rand(8, 128) + 0.5
    a = stylegan.modulated_weights(weight, styles)
    assert torch.allclose(a, stylegan.modulated_weights(weight, 3.0 * styles), atol=1e-6)  # invariant to scaling the style
    assert torch.allclose(a.pow(2).sum(dim=(2, 3, 4)), torch.ones(8, 64), atol=1e-5)  # unit L2 norm per output map
    x = torch.randn(8, 128, 32, 32)  # unit-variance input, independent entries
    out = torch.stack([F.conv2d(x[i:i + 1], a[i], padding=1)[0] for i in range(8)])
    assert abs(out[..., 1:-1, 1:-1].std().item() - 1.0) < 0.02  # away from the zero padding
    plain = stylegan.modulated_weights(weight, 3.0 * styles, demodulate=False)
    assert torch.allclose(plain, 3.0 * stylegan.modulated_weights(weight, styles, demodulate=False))  # without it, scale passes


def test_stylegan1_block_output_statistics_are_the_style():
    torch.manual_seed(0)
    block = stylegan.StyleGAN1Block(4, 6, w_dim=8, upsample=True)
    x, w = torch.randn(3, 4, 5, 5), torch.randn(3, 8)
    out = block(x, w)
    assert out.shape == (3, 6, 10, 10)
    # after instance norm every map has mean 0 and std 1, so the output's statistics are exactly (y_b, |y_s|)
    assert torch.allclose(out.mean(dim=(2, 3)), block.style_bias(w), atol=1e-4)
    assert torch.allclose(out.std(dim=(2, 3), unbiased=False), block.style_scale(w).abs(), atol=1e-3)


def test_minibatch_stddev_appends_the_group_spread():
    x = torch.randn(8, 3, 4, 4)
    out = stylegan.minibatch_stddev(x, group_size=4)
    assert out.shape == (8, 4, 4, 4) and torch.equal(out[:, :3], x)
    for i in range(8):  # sample i belongs to group i % 2 (groups are strided), members i % 2, i % 2 + 2, ...
        members = x[i % 2::2]
        expected = (members.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
        assert torch.allclose(out[i, 3], expected.expand(4, 4), atol=1e-6)
    same = stylegan.minibatch_stddev(x[:1].expand(8, 3, 4, 4).contiguous())
    assert same[:, 3].max() < 1e-3  # identical samples: no spread
    with pytest.raises(ValueError, match="multiple"):
        stylegan.minibatch_stddev(torch.randn(6, 3, 4, 4), group_size=4)


def test_r1_penalty_closed_form_and_lazy_step():
    from gan_tutor import gan_math

    a = torch.tensor([1.0, -2.0, 0.5, 3.0])
    D = torch.nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        D.weight.copy_(a.view(1, 4))
    x = torch.randn(6, 4, requires_grad=True)
    assert torch.allclose(gan_math.r1_penalty(D(x), x), a.pow(2).sum())  # grad_x (a . x) = a for every sample
    with pytest.raises(ValueError, match="requires_grad_"):
        gan_math.r1_penalty(D(x.detach()), x.detach())
    opt = torch.optim.SGD(D.parameters(), lr=0.1)
    penalty = gan_step.r1_step(D, opt, x, gamma=2.0)
    assert torch.allclose(penalty, a.pow(2).sum())
    assert torch.allclose(D.weight.detach().view(4), a - 0.1 * 2.0 * a)  # d/da (gamma / 2 ||a||^2) = gamma a


def test_generator_shapes_slots_truncation_and_w_avg():
    torch.manual_seed(0)
    G, D = stylegan.build(stylegan.tier_config("smoke", clusters=0))
    z = torch.randn(4, G.z_dim)
    assert G.n_ws == 8 and G(z).shape == (4, 1, 28, 28) and G.synthesis(G.ws(z)).shape == (4, 1, 32, 32)
    G.eval()
    ws = G.ws(z)
    assert torch.equal(G.synthesis(ws), G.synthesis(ws))  # noise strengths start at zero: no randomness yet
    before = G.w_avg.clone()
    G.ws(z)
    assert torch.equal(G.w_avg, before)  # eval mode does not move the average
    G.train()
    G.ws(z)
    assert torch.allclose(G.w_avg, before + (1 - G.w_avg_beta) * (G.mapping(z).mean(0) - before), atol=1e-6)
    G.eval()
    average = G(z, psi=0.0)
    assert torch.allclose(average, average[:1].expand_as(average), atol=1e-5)  # psi = 0: every sample is the average image
    G.mixing_prob = 1.0
    G.train()
    mixed = G.ws(z)
    cut = int((mixed != mixed[:, :1]).any(dim=2).any(dim=0).nonzero()[0])
    assert 1 <= cut < G.n_ws and torch.equal(mixed[:, cut:], mixed[:, cut:cut + 1].expand_as(mixed[:, cut:]))
    with pytest.raises(ValueError, match="per-slot latents"):
        G.synthesis(ws[:, :3])
    G_fast, _ = stylegan.build(stylegan.tier_config("smoke", mapping_lr_mul=0.1, clusters=0))
    assert [layer.lr_mul for layer in G_fast.mapping.layers] == [0.1, 0.1] and G.mapping.layers[0].lr_mul == 0.01


def test_discriminator_pads_digits_with_the_background():
    torch.manual_seed(0)
    _, D = stylegan.build(stylegan.tier_config("smoke", clusters=0))
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    assert D(x).shape == (4, 1)
    assert torch.allclose(D(x), D(F.pad(x, (2, 2, 2, 2), value=-1.0)), atol=1e-6)
    with pytest.raises(ValueError, match="32x32"):
        stylegan.build(stylegan.tier_config("smoke", image_shape=(1, 64, 64)))


def test_cli_trains_stylegan_with_r1_resumes_and_samples(tmp_path, capsys):
    import numpy as np

    from gan_tutor import cli

    run = tmp_path / "run"
    assert cli.main(["train", "stylegan", "--tier", "smoke", "--out", str(run), "--steps", "17", "--no-progress"]) == 0
    assert cli.main(["train", "stylegan", "--tier", "smoke", "--out", str(run), "--steps", "18", "--no-progress"]) == 0
    assert "from step 17" in capsys.readouterr().out
    out = tmp_path / "s.npz"
    assert cli.main(["sample", str(run), "--n", "5", "--out", str(out)]) == 0
    images = np.load(out)["images"]
    assert images.shape == (5, 1, 28, 28) and images.min() >= 0 and images.max() <= 1


@pytest.fixture
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _tiny_generator(seed: int = 0) -> stylegan.Generator:
    torch.manual_seed(seed)
    G = stylegan.Generator(z_dim=4, w_dim=4, channels={4: 4, 8: 3}, mapping_layers=1)
    with torch.no_grad():
        for layer in G.layers:
            layer.noise.strength.fill_(0.3)  # noise on, so holding it fixed matters
    return G


def test_path_length_penalty_is_the_norm_of_an_explicit_jacobian_product(float64):
    G = _tiny_generator()
    z = torch.randn(3, G.z_dim)
    torch.manual_seed(7)
    penalty = G.path_length_penalty(z)
    # the same random draws, in the same order: noise for each style layer, then the image-space direction y
    torch.manual_seed(7)
    ws = G.ws(z).detach()
    noise = [torch.randn(3, 1, r, r) for r in G.slot_resolutions()[:-1]]
    img = G.synthesis(ws, noise)
    y = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
    lengths = []
    for i in range(3):
        jac = torch.autograd.functional.jacobian(lambda w: G.synthesis(w[None], [n[i:i + 1] for n in noise])[0], ws[i])
        jty = (jac * y[i][..., None, None]).sum(dim=(0, 1, 2))  # (n_ws, w_dim)
        lengths.append(jty.pow(2).sum(1).mean().sqrt())
    lengths = torch.stack(lengths)
    expected_mean = 0.01 * lengths.mean()  # pl_mean starts at 0, decay 0.01
    assert torch.allclose(G.pl_mean, expected_mean)
    assert torch.allclose(penalty, (lengths - expected_mean).pow(2).mean())


def test_path_length_regularisation_trains_and_needs_a_stylegan_generator():
    from gan_tutor import dcgan
    from gan_tutor.models import get_model

    spec = get_model("stylegan")
    cfg = spec.config("smoke", pl_weight=2.0, pl_every=2, clusters=0)
    images = torch.rand(32, 1, 28, 28)
    state = spec.train(cfg, images, data="random", steps=4, device="cpu", progress=False)
    assert state.modules["G"].pl_mean > 0  # two lazy penalty steps moved the running mean off zero
    dcfg = dcgan.tier_config("smoke")
    G, D = dcgan.build(dcfg)
    with pytest.raises(ValueError, match="path_length_penalty"):
        train.fit_gan(G, D, images * 2 - 1, train.GANLoop(z_dim=dcfg.z_dim, batch_size=8, pl_weight=1.0), steps=1, device="cpu",
                      progress=False)


def test_style_mixing_noise_maps_and_slots():
    G = _tiny_generator()
    G.eval()
    assert G.slot_resolutions() == [4, 8, 8, 8]  # 4x4 layer; 8x8 up and plain layers; the last ToRGB
    assert [tuple(n.shape) for n in G.make_noise(2)] == [(2, 1, 4, 4), (2, 1, 8, 8), (2, 1, 8, 8)]
    a, b = G.ws(torch.randn(2, G.z_dim)), G.ws(torch.randn(2, G.z_dim))
    mixed = stylegan_probes.mix_styles(a, b, slice(0, 2))
    assert torch.equal(mixed[:, :2], b[:, :2]) and torch.equal(mixed[:, 2:], a[:, 2:])
    with pytest.raises(ValueError, match="one shape"):
        stylegan_probes.mix_styles(a, b[:1], slice(0, 2))
    # noise at a layer changes the image only where that layer's strength is non-zero
    with torch.no_grad():
        G.layers[1].noise.strength.zero_()
    assert stylegan_probes.noise_std_map(G, a, layers=[1], draws=4).abs().max() == 0
    assert stylegan_probes.noise_std_map(G, a, layers=[2], draws=4).abs().max() > 0
    assert stylegan_probes.noise_std_map(G, a, draws=4).shape == (2, 1, 8, 8)
    feats = stylegan_probes.layer_features(G, a)
    assert [tuple(f.shape) for f in feats] == [(2, 4, 4, 4), (2, 3, 8, 8), (2, 3, 8, 8)]
    assert not G.layers[0]._forward_hooks  # the hooks are removed afterwards


def test_peak_to_mean_and_a_spike_under_instance_norm_and_demodulation():
    x = torch.ones(1, 1, 4, 4)
    x[0, 0, 1, 2] = 17.0
    assert torch.allclose(stylegan_probes.peak_to_mean(x), torch.tensor([[17.0 / 2.0]]))  # mean |x| = (15 + 17) / 16
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 9)
    for h in (0.0, 5.0, 20.0):
        # instance norm divides by the map's own std, which the spike inflates: the rest shrinks by sigma / sigma'
        spiked = x.clone()
        spiked[:, :, 4, 4] += h
        ratio = (x.var((2, 3), unbiased=False) / spiked.var((2, 3), unbiased=False)).sqrt()
        got = stylegan_probes.spike_after_norm(x[:1, :1], h, lambda t: F.instance_norm(t, eps=0.0))
        assert got == pytest.approx(float(ratio[0, 0]), rel=1e-5)
    conv = stylegan.ModulatedConv2d(3, 3, 3, w_dim=4)
    w = torch.randn(2, 4)
    assert stylegan_probes.spike_after_norm(x, 50.0, lambda t: conv(t, w)) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("space", ["z", "w"])
def test_path_length_is_the_squared_feature_speed_along_the_interpolation(float64, space):
    from gan_tutor.latent import lerp, slerp

    G = _tiny_generator(1)
    G.eval()
    proj = torch.randn(5, 64)
    feature_fn = lambda img: img.flatten(1) @ proj.t()  # noqa: E731
    got = stylegan_probes.path_length(G, feature_fn, space=space, n=1, eps=1e-6, seed=3)
    g = torch.Generator().manual_seed(3)  # the draws path_length makes, in its order
    z0, z1 = torch.randn(1, 4, generator=g), torch.randn(1, 4, generator=g)
    t = torch.rand(1, 1, generator=g)
    noise = G.make_noise(1, g)

    def f(t):
        w = G.mapping(slerp(z0, z1, t)) if space == "z" else lerp(G.mapping(z0), G.mapping(z1), t)
        return feature_fn(((G.crop(G.synthesis(w.unsqueeze(1).repeat(1, G.n_ws, 1), noise)) + 1) / 2).clamp(0, 1))

    _, speed = torch.func.jvp(f, (t,), (torch.ones_like(t),))
    assert got == pytest.approx(float(speed.pow(2).sum()), rel=1e-4)
    scaled = stylegan_probes.path_length(G, lambda img: 3 * feature_fn(img), space=space, n=1, eps=1e-6, seed=3)
    assert scaled == pytest.approx(9 * got, rel=1e-6)
    with pytest.raises(ValueError, match="'z' or 'w'"):
        stylegan_probes.path_length(G, feature_fn, space="x")


def test_the_package_passes_the_notebook_checks(capsys):
    from gan_tutor import checks

    checks.check_adain(stylegan.adain)
    checks.check_modulated_weights(stylegan.modulated_weights)
    checks.check_truncate(stylegan.truncate)
    assert capsys.readouterr().out.count("✓") == 3


def test_self_conditioned_generator_and_projection_discriminator():
    torch.manual_seed(0)
    G, D = stylegan.build(stylegan.tier_config("smoke", clusters=3))
    z, y = torch.randn(6, G.z_dim), torch.tensor([0, 0, 2, 2, 2, 0])
    with pytest.raises(ValueError, match="pass labels"):
        G(z)
    with pytest.raises(ValueError, match="unconditional"):
        stylegan.build(stylegan.tier_config("smoke", clusters=0))[0](z, y)
    # the label's embedding is normalised like z and appended: a different label, a different w
    assert not torch.allclose(G.mapping(z, y), G.mapping(z, torch.ones_like(y)))
    # per-label mean w, moved only for the labels present in the batch
    G.train()
    w = G.mapping(z, y).detach()
    G.ws(z, y)
    beta = G.w_avg_beta
    assert torch.allclose(G.w_avg_class[0], (1 - beta) * w[y == 0].mean(0), atol=1e-6)
    assert torch.allclose(G.w_avg_class[2], (1 - beta) * w[y == 2].mean(0), atol=1e-6)
    assert torch.equal(G.w_avg_class[1], torch.zeros(G.w_dim))
    G.eval()
    average = G(z, y, psi=0.0)  # psi = 0: each sample is its own label's average image
    assert torch.allclose(average[y == 2], average[2:3].expand(3, -1, -1, -1), atol=1e-5)
    assert not torch.allclose(average[0], average[2], atol=1e-3)
    # D(x, y) = out(h) + <e(y), h> / sqrt(dim h): with e = 0 the label has no effect
    x, y = torch.rand(8, 1, 28, 28) * 2 - 1, torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])  # a multiple of the mbstd group
    with pytest.raises(ValueError, match="needs labels"):
        D(x)
    assert not torch.allclose(D(x, y), D(x, torch.ones_like(y)))
    with torch.no_grad():
        D.embed.weight.zero_()
    assert torch.allclose(D(x, y), D(x, torch.ones_like(y)))


def test_self_conditioned_stylegan_trains_with_both_regularisers_and_samples():
    from gan_tutor.models import get_model

    spec = get_model("stylegan")
    cfg = spec.config("smoke", clusters=4, cluster_method="kmeans", pl_weight=2.0, pl_every=2, mixing_prob=1.0)
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(64, 1, 28, 28, generator=g) < torch.linspace(0.1, 0.6, 64).view(-1, 1, 1, 1)).float()
    state = spec.train(cfg, images, data="random", steps=4, device="cpu", progress=False)
    G = state.modules["G"]
    assert G.pl_mean > 0 and torch.isclose(G.prior.sum(), torch.tensor(1.0)) and (G.prior > 0).sum() > 1
    out = spec.sample(state.modules["G_ema"], cfg, 7, seed=1)["images"]
    assert out.shape == (7, 1, 28, 28) and torch.isfinite(out).all()
    assert stylegan_probes.path_length(G.eval(), lambda im: im.flatten(1), n=8) > 0


def test_study_script_writes_its_table(tmp_path):
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import stylegan_study

    out = tmp_path / "study.json"
    assert stylegan_study.main(["--seconds", "0.5", "--only", "unconditional", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["name"] for r in rows] == ["unconditional"] and rows[0]["steps"] >= 1 and rows[0]["frechet"] > 0
    assert set(stylegan_study.variants()) == {"unconditional", "cpu"}
    with pytest.raises(SystemExit, match="unknown variant 'big'"):
        stylegan_study.main(["--only", "big", "--out", str(out)])


@pytest.mark.parametrize("tier", sorted(stylegan.TIERS))
def test_every_tier_builds_and_takes_a_training_step(tier):

    cfg = stylegan.tier_config(tier)
    torch.manual_seed(0)
    G, D = stylegan.build(cfg)
    assert G.n_classes == D.n_classes == cfg.clusters
    loop = train.GANLoop(z_dim=cfg.z_dim, batch_size=4, n_classes=cfg.clusters or None, r1_gamma=cfg.r1_gamma, r1_every=1,
                         pl_weight=1.0, pl_every=1)
    images = torch.rand(8, *cfg.image_shape) * 2 - 1
    labels = torch.arange(8) % cfg.clusters if cfg.clusters else None
    state = train.fit_gan(G, D, images, loop, labels=labels, lr_g=cfg.lr_g, lr_d=cfg.lr_d, betas=cfg.betas, steps=1,
                          device="cpu", progress=False)
    assert state.step == 1 and all(torch.isfinite(p).all() for p in G.parameters())


def test_sampling_with_noise_inputs_depends_on_the_seed_alone():
    from gan_tutor.models import get_model

    spec = get_model("stylegan")
    cfg = stylegan.tier_config("smoke", clusters=0)
    G, _ = stylegan.build(cfg)
    with torch.no_grad():
        for layer in G.layers:
            layer.noise.strength.fill_(0.5)  # at initialisation the noise inputs are off; switch them on
    G.eval()
    state = torch.random.get_rng_state()
    a, b = spec.sample(G, cfg, 6, seed=3)["images"], spec.sample(G, cfg, 6, seed=3)["images"]
    torch.randn(5)  # whatever the caller draws in between
    c, other = spec.sample(G, cfg, 6, seed=3)["images"], spec.sample(G, cfg, 6, seed=4)["images"]
    assert torch.equal(a, b) and torch.equal(a, c) and not torch.equal(a, other)
    torch.random.set_rng_state(state)
    spec.sample(G, cfg, 6, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's random stream is left alone
