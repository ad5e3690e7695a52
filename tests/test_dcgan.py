"""gan_tutor.dcgan: transposed-convolution arithmetic, the DCGAN guidelines, one step, the CLI."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan_tutor import cli, dcgan, gan_step, selfcond, train


def layer_sides(net: nn.Sequential, x: torch.Tensor) -> list[int]:
    """Spatial side after every (transposed) convolution of ``net``."""
    sides = []
    for m in net:
        x = m(x)
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            sides.append(x.shape[-1])
    return sides


def test_size_formulas_match_pytorch_and_the_layers():
    for n, k, s, p in [(1, 7, 1, 0), (7, 4, 2, 1), (14, 4, 2, 1), (5, 3, 2, 0), (4, 5, 3, 2)]:
        out = nn.ConvTranspose2d(1, 1, k, s, p)(torch.zeros(1, 1, n, n)).shape[-1]
        assert dcgan.transposed_conv_size(n, k, s, p) == out
        if n + 2 * p >= k:
            assert dcgan.conv_size(n, k, s, p) == nn.Conv2d(1, 1, k, s, p)(torch.zeros(1, 1, n, n)).shape[-1]
    G, D = dcgan.Generator(z_dim=16, ngf=8), dcgan.Discriminator(ndf=8)
    assert layer_sides(G.net, torch.zeros(2, 16, 1, 1)) == [7, 14, 28]
    assert layer_sides(nn.Sequential(*D.features, D.head), torch.zeros(2, 1, 28, 28)) == [14, 7, 1]


def test_guidelines_as_code():
    torch.manual_seed(0)
    G, D = dcgan.Generator(z_dim=64, ngf=32), dcgan.Discriminator(ndf=32)
    convs = [m for m in list(G.modules()) + list(D.modules()) if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    w = torch.cat([m.weight.flatten() for m in convs])
    assert w.mean().item() == pytest.approx(0.0, abs=1e-3) and w.std().item() == pytest.approx(0.02, rel=0.02)
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in list(G.modules()) + list(D.modules()))
    assert isinstance(G.net[-1], nn.Tanh) and not isinstance(G.net[-2], nn.BatchNorm2d)  # no BN at G's output
    assert not isinstance(D.features[1], nn.BatchNorm2d)  # no BN at D's input layer
    assert any(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2 for m in D.modules())
    x = G(torch.randn(5, 64))
    assert x.shape == (5, 1, 28, 28) and x.abs().max() <= 1
    assert D(x).shape == (5,)


def test_spectral_norm_replaces_batch_norm_in_d():
    torch.manual_seed(0)
    D = dcgan.Discriminator(ndf=8, spectral_norm=True)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    x = torch.rand(4, 1, 28, 28)
    for _ in range(50):
        D(x)
    for m in D.modules():
        if isinstance(m, nn.Conv2d):  # SN normalises the weight reshaped to (out, in * k * k)
            assert torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2).item() == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("loss", ["logistic", "hinge"])
def test_one_d_and_one_g_step_per_loss(loss):
    torch.manual_seed(0)
    cfg = dcgan.tier_config("smoke", loss=loss, spectral_norm=loss == "hinge", clusters=0)  # the plain networks
    G, D = dcgan.build(cfg)
    opt_G, opt_D = train.make_adam(G.parameters(), 2e-4), train.make_adam(D.parameters(), 2e-4)
    real = torch.rand(8, 1, 28, 28) * 2 - 1
    z = torch.randn(8, cfg.z_dim)
    g_before = [p.clone() for p in G.parameters()]
    d = gan_step.d_step(G, D, opt_D, real, z, loss=loss)
    assert all(torch.equal(a, b) for a, b in zip(g_before, G.parameters()))
    d_before = [p.clone() for p in D.parameters()]
    g = gan_step.g_step(G, D, opt_G, z, loss=loss)
    assert all(torch.equal(a, b) for a, b in zip(d_before, D.parameters()))
    assert torch.isfinite(d.loss) and torch.isfinite(g.loss)
    with pytest.raises(ValueError, match="unknown loss 'wasserstein'"):
        gan_step.d_step(G, D, opt_D, real, z, loss="wasserstein")


def test_build_refuses_other_image_sizes_and_tiers():
    with pytest.raises(ValueError, match="28x28"):
        dcgan.build(dcgan.tier_config("smoke", image_shape=(3, 32, 32)))
    with pytest.raises(ValueError, match="unknown tier"):
        dcgan.tier_config("huge")


def test_cli_trains_and_samples_dcgan(tmp_path, capsys):
    import numpy as np

    run = tmp_path / "run"
    assert cli.main(["train", "dcgan", "--tier", "smoke", "--out", str(run), "--no-progress"]) == 0
    assert cli.main(["sample", str(run), "--n", "9", "--out", str(tmp_path / "s.npz")]) == 0
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (9, 1, 28, 28) and images.dtype == np.float32 and 0 <= images.min() <= images.max() <= 1


def test_overlap_counts_closed_form_and_the_checkerboard():
    # 1-D: output i receives the inputs j with 0 <= i + p - j*s < k; in 2-D the counts multiply
    for n, k, s, p in [(4, 3, 2, 0), (4, 4, 2, 1), (5, 5, 3, 2)]:
        side = dcgan.transposed_conv_size(n, k, s, p)
        c = [sum(0 <= i + p - j * s < k for j in range(n)) for i in range(side)]
        assert dcgan.overlap_counts(n, k, s, p).tolist() == [[float(a * b) for b in c] for a in c]
    interior = dcgan.overlap_counts(6, 3, 2)[2:-2, 2:-2]
    assert set(interior.unique().tolist()) == {1.0, 2.0, 4.0}  # kernel 3, stride 2: checkerboard
    assert dcgan.overlap_counts(6, 4, 2, 1)[1:-1, 1:-1].unique().tolist() == [4.0]  # kernel 4, stride 2: even


@pytest.mark.parametrize("k, s, p, op", [(4, 2, 1, 0), (3, 2, 1, 1), (5, 3, 2, 0)])
def test_phase_sums_predict_a_transposed_convolution_on_a_flat_input(k, s, p, op):
    """The interior of layer(ones) is bias + the sum of the taps of each output pixel's phase, by a per-pixel loop."""
    torch.manual_seed(k)
    layer = nn.ConvTranspose2d(3, 2, k, s, p, output_padding=op).double()
    with torch.no_grad():
        out = layer(torch.ones(1, 3, 6, 6, dtype=torch.float64))[0]
    sums = dcgan.phase_sums(layer.weight.detach(), s)
    assert sums.shape == (2, s, s)
    w = layer.weight.detach()
    for o_r in range(k, out.shape[-1] - k):  # interior: every tap lands on an input pixel
        for o_c in range(k, out.shape[-1] - k):
            taps = [(t_r, t_c) for t_r in range(k) for t_c in range(k) if (o_r + p - t_r) % s == 0 and (o_c + p - t_c) % s == 0]
            loop = sum(w[:, :, t_r, t_c].sum(dim=0) for t_r, t_c in taps) + layer.bias.detach()
            assert torch.allclose(out[:, o_r, o_c], loop)
            assert torch.allclose(out[:, o_r, o_c], sums[:, (o_r + p) % s, (o_c + p) % s] + layer.bias.detach())


def test_even_overlap_still_paints_a_grid_when_the_phase_sums_differ():
    """DCGAN's k=4, s=2: even overlap (all-ones kernel: flat output), yet a random kernel paints a period-2 grid."""
    layer = nn.ConvTranspose2d(1, 1, 4, 2, 1, bias=False)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        flat = layer(torch.ones(1, 1, 7, 7))[0, 0, 2:-2, 2:-2]
        layer.weight.copy_(torch.arange(16.0).view(1, 1, 4, 4))
        grid = layer(torch.ones(1, 1, 7, 7))[0, 0, 2:-2, 2:-2]
    assert flat.unique().tolist() == [4.0]
    sums = dcgan.phase_sums(layer.weight, 2)[0]
    assert sums.unique().numel() == 4 and set(grid.unique().tolist()) == set(sums.flatten().tolist())
    with pytest.raises(ValueError, match=r"\(C_in, C_out, k, k\)"):
        dcgan.phase_sums(torch.ones(3, 3), 2)


def test_resize_conv_doubles_the_side_without_a_checkerboard():
    layer = dcgan.resize_conv(1, 1)
    with torch.no_grad():
        layer[1].weight.fill_(1.0)
        layer[1].bias.zero_()
        out = layer(torch.ones(1, 1, 7, 7))[0, 0]
    assert out.shape == (14, 14)
    assert out[1:-1, 1:-1].unique().tolist() == [9.0]  # every interior pixel sees all nine taps equally


def test_without_batch_norm_the_convolutions_keep_their_bias():
    G = dcgan.Generator(z_dim=8, ngf=4, batch_norm=False)
    D = dcgan.Discriminator(ndf=4, batch_norm=False)
    for net in (G, D):
        assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
        assert all(m.bias is not None for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))
    assert all(m.bias is None for m in dcgan.Generator(8, 4).modules() if isinstance(m, nn.ConvTranspose2d) and m.out_channels > 1)
    assert "batch_norm=False" in repr(G) and "batch_norm=False" in repr(D)


def test_config_options_reach_the_loop():
    from gan_tutor.models import gan_loop

    loop = gan_loop(dcgan.tier_config("smoke", saturating=True, augment="translation", loss="hinge"))
    assert (loop.saturating, loop.augment, loop.loss) == (True, "translation", "hinge")
    plain = dcgan.tier_config("cpu", **dcgan.RECIPE_2015)
    assert (plain.ndf, plain.ema_decay, plain.loss, plain.spectral_norm, plain.lr_d, plain.betas) == (32, None, "logistic", False, 2e-4, (0.5, 0.999))


def test_self_conditioned_dcgan_trains_on_clusters_and_samples_from_their_frequencies(tmp_path):
    from gan_tutor.data import load_dataset
    from gan_tutor.models import get_model

    real = load_dataset("mnist-5k", "train")
    ids = selfcond.cluster_labels(real.images[:600], 5, seed=0)
    assert ids.shape == (600,) and set(ids.tolist()) == set(range(5))
    assert torch.equal(ids, selfcond.cluster_labels(real.images[:600], 5, seed=0))  # deterministic for a seed
    # clusters found without labels still gather digits: far purer than chance (a 10-way split gives ~0.1-0.2)
    assert selfcond.cluster_purity(ids, real.labels[:600]) > 0.35

    spec = get_model("dcgan")
    cfg = dcgan.tier_config("smoke", clusters=4)
    state = spec.train(cfg, real.images[:300], data="mnist-5k", run_dir=tmp_path / "run", steps=2, progress=False)
    G = state.modules["G"]
    expected = torch.bincount(selfcond.cluster_labels(real.images[:300], 4, seed=cfg.seed), minlength=4).float() / 300
    assert torch.allclose(G.prior, expected)  # p(c) = the clusters' frequencies, saved with the weights
    G2, cfg2 = spec.load_generator(tmp_path / "run")
    assert torch.allclose(G2.prior, expected)
    out = spec.sample(G2, cfg2, 8, seed=0)
    assert set(out) == {"images"} and out["images"].shape == (8, 1, 28, 28)  # cluster ids are not digit labels
    with pytest.raises(ValueError, match="unconditional"):
        spec.sample(G2, cfg2, 2, label=3)
    with pytest.raises(ValueError, match="k must be between 2"):
        selfcond.cluster_labels(real.images[:10], 1)


def test_study_script_writes_its_table(tmp_path):
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import dcgan_study

    out = tmp_path / "study.json"
    # equal steps: 0.005 of the cpu tier's 4,000 DCGAN steps; cpu_ema keeps EMA weights of a batch-norm G
    assert dcgan_study.main(["--scale", "0.005", "--only", "plain,cpu_ema", "--seeds", "0,1", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert [r["name"] for r in result["rows"]] == ["plain", "cpu_ema"] and result["seeds"] == [0, 1]
    for row in result["rows"]:
        assert row["steps"] == 20 and [r["steps"] for r in row["runs"]] == [20, 20]
        assert 0 <= row["min_class"] <= row["max_class"] <= 1 and row["frechet"] > 0
        assert [r["seed"] for r in row["runs"]] == [0, 1]
        values = [r["frechet"] for r in row["runs"]]
        assert row["frechet"] == pytest.approx(sum(values) / 2) and row["frechet_range"] == [min(values), max(values)]
    plain, ema = result["rows"]
    assert "standing" not in plain and "standing" in ema  # judged again with recomputed batch-norm statistics
    assert ema["standing"]["frechet"] == pytest.approx(sum(r["standing"]["frechet"] for r in ema["runs"]) / 2)
    assert result["floor"]["confident"] == pytest.approx(0.966, abs=1e-9)  # the judge on real held-out digits
    with pytest.raises(SystemExit, match="unknown variant 'wgan'"):
        dcgan_study.main(["--only", "wgan", "--out", str(out)])
    with pytest.raises(SystemExit, match="--scale must be > 0"):
        dcgan_study.main(["--scale", "0", "--out", str(out)])
    import dcgan_gallery  # the failure gallery: each variant drops one piece of the study's plain recipe

    from gan_tutor.models import get_model

    plain = dcgan_study.variants()["plain"][2]
    for model, _, overrides in dcgan_gallery.variants().values():
        changed = {k for k in overrides if overrides[k] != plain.get(k)}
        assert model == "dcgan" and len(changed) == 1 and get_model(model).config("cpu", **overrides)


def test_cgan_study_judges_labels_at_equal_time(tmp_path):
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import cgan_study

    out = tmp_path / "cgan.json"
    assert cgan_study.main(["--seconds", "0.2", "--only", "concat", "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())["rows"]
    assert row["name"] == "concat" and row["steps"] >= 1
    assert 0 <= row["label_accuracy"] <= 1 and 0 <= row["standing"]["label_accuracy"] <= 1


def test_feature_size_and_clusters_need_batch_norm():
    D = dcgan.Discriminator(ndf=4)
    assert D.features(torch.zeros(2, 1, 28, 28)).flatten(1).shape[1] == D.n_features == 2 * 4 * 49
    with pytest.raises(ValueError, match="always have batch norm"):
        dcgan.build(dcgan.tier_config("smoke", clusters=5, batch_norm=False))
