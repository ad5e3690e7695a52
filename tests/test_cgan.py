"""gan_tutor.cgan: conditioning by concatenation and by projection, AC-GAN's loss, one step, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_tutor import cgan, cli, gan_step, models, selfcond, train

pytestmark = pytest.mark.usefixtures("one_thread")


def test_shapes_and_the_label_reaches_every_network():
    torch.manual_seed(0)
    G = cgan.Generator(z_dim=16, n_classes=10, embed_dim=4, ngf=8)
    z = torch.randn(6, 16)
    y0, y1 = torch.zeros(6, dtype=torch.int64), torch.full((6,), 7)
    x0, x1 = G(z, y0), G(z, y1)
    assert x0.shape == (6, 1, 28, 28) and x0.abs().max() <= 1
    assert (x0 - x1).abs().max() > 1e-3  # same z, other class: another image
    for cls in (cgan.ConcatDiscriminator, cgan.ProjectionDiscriminator):
        D = cls(n_classes=10, ndf=8)
        d0, d1 = D(x0, y0), D(x0, y1)
        assert d0.shape == (6,)
        assert (d0 - d1).abs().max() > 1e-6, f"{cls.__name__} ignores the label"


def test_one_hot_maps():
    maps = cgan.one_hot_maps(torch.tensor([2, 0]), 3, size=4)
    assert maps.shape == (2, 3, 4, 4)
    assert torch.equal(maps[0, 2], torch.ones(4, 4)) and maps[0, :2].abs().sum() == 0
    assert torch.equal(maps[1, 0], torch.ones(4, 4)) and maps[1, 1:].abs().sum() == 0


def test_projection_is_psi_plus_inner_product():
    torch.manual_seed(1)
    D = cgan.ProjectionDiscriminator(n_classes=5, ndf=4).eval()
    x, y = torch.randn(3, 1, 28, 28), torch.tensor([0, 3, 4])
    phi = D.net.features(x).flatten(1)  # (3, 2*4*7*7)
    psi = D.net.head(D.net.features(x)).flatten()
    V = D.embed.weight
    expected = torch.stack([psi[i] + V[y[i]] @ phi[i] for i in range(3)])  # eq. (3), one sample at a time
    assert torch.allclose(D(x, y), expected, atol=1e-6)
    # the label's whole effect is the inner product: switching class shifts the logit by <V_y' - V_y, phi>
    y2 = torch.tensor([1, 1, 1])
    assert torch.allclose(D(x, y2) - D(x, y), ((V[y2] - V[y]) * phi).sum(1), atol=1e-6)


def test_spectral_norm_covers_the_class_embedding():
    D = cgan.ProjectionDiscriminator(n_classes=10, ndf=4, spectral_norm=True)
    x, y = torch.randn(4, 1, 28, 28), torch.arange(4)
    for _ in range(200):  # one power iteration per forward pass in training mode
        D(x, y)
    assert torch.linalg.matrix_norm(D.embed.weight.detach(), ord=2).item() == pytest.approx(1.0, abs=1e-3)


def test_acgan_class_loss_is_mean_negative_log_likelihood():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    y = torch.tensor([0, 1])
    by_hand = -(torch.log_softmax(logits, 1)[0, 0] + torch.log_softmax(logits, 1)[1, 1]) / 2
    assert cgan.acgan_class_loss(logits, y).item() == pytest.approx(by_hand.item(), rel=1e-6)
    D = cgan.ACDiscriminator(n_classes=3, ndf=4)
    adv, cls = D(torch.randn(2, 1, 28, 28))
    assert adv.shape == (2,) and cls.shape == (2, 3)


@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_one_conditional_d_and_g_step(conditioning):
    torch.manual_seed(0)
    cfg = cgan.tier_config("smoke", conditioning=conditioning)
    G, D = cgan.build(cfg)
    opt_G, opt_D = train.make_adam(G.parameters(), 2e-4), train.make_adam(D.parameters(), 2e-4)
    real, z = torch.rand(8, 1, 28, 28) * 2 - 1, torch.randn(8, cfg.z_dim)
    y_real, y_fake = torch.arange(8) % 10, torch.arange(8).flip(0) % 10
    g_before = [p.clone() for p in G.parameters()]
    d = gan_step.d_step(G, D, opt_D, real, z, y_real=y_real, y_fake=y_fake)
    assert all(torch.equal(a, b) for a, b in zip(g_before, G.parameters()))
    g = gan_step.g_step(G, D, opt_G, z, y_fake=y_fake)
    assert torch.isfinite(d.loss) and torch.isfinite(g.loss)
    assert G.embed.weight.grad is not None and G.embed.weight.grad.abs().sum() > 0  # G learns its label embedding


def test_build_refuses_unknown_conditioning_and_sizes():
    with pytest.raises(ValueError, match="unknown conditioning 'film'"):
        cgan.build(cgan.tier_config("smoke", conditioning="film"))
    with pytest.raises(ValueError, match="28x28"):
        cgan.build(cgan.tier_config("smoke", image_shape=(3, 32, 32)))


def test_cli_trains_cgan_and_samples_a_chosen_digit(tmp_path, capsys):
    run = tmp_path / "run"
    assert models.get_model("cgan").conditional
    assert cli.main(["train", "cgan", "--tier", "smoke", "--out", str(run), "--no-progress"]) == 0
    assert cli.main(["sample", str(run), "--n", "6", "--label", "3", "--out", str(tmp_path / "s.npz")]) == 0
    out = np.load(tmp_path / "s.npz")
    assert out["images"].shape == (6, 1, 28, 28) and out["labels"].tolist() == [3] * 6
    assert cli.main(["sample", str(run), "--n", "12", "--out", str(tmp_path / "all.npz")]) == 0
    assert np.load(tmp_path / "all.npz")["labels"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    capsys.readouterr()
    assert cli.main(["sample", str(run), "--n", "2", "--label", "10", "--out", str(tmp_path / "bad.npz")]) == 2
    assert "this model knows classes 0..9" in capsys.readouterr().err
    assert not (tmp_path / "bad.npz").exists()


def test_sample_takes_one_label_per_sample_and_refuses_a_wrong_shape(tmp_path):
    spec = models.get_model("cgan")
    cfg = spec.config("smoke")
    G, _ = cgan.build(cfg)
    out = spec.sample(G, cfg, 3, label=torch.tensor([9, 0, 4]))
    assert out["labels"].tolist() == [9, 0, 4]
    assert spec.sample(G, cfg, 2, label=[1, 2])["labels"].tolist() == [1, 2]
    with pytest.raises(ValueError, match=r"expected \(3,\), one per image"):
        spec.sample(G, cfg, 3, label=torch.tensor([[1, 2, 3]]))
    with pytest.raises(TypeError, match="integer"):
        spec.sample(G, cfg, 2, label=torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"range over -1\.\.2"):
        spec.sample(G, cfg, 2, label=[-1, 2])


def _moments(x: torch.Tensor):
    """(row centroid, column centroid, skew cov(r, c) / var(r)) of each image (N, 1, H, W)."""
    h, w = x.shape[-2:]
    r = torch.arange(h, dtype=torch.float64).view(1, 1, h, 1)
    c = torch.arange(w, dtype=torch.float64).view(1, 1, 1, w)
    x = x.double()
    m = x.sum(dim=(1, 2, 3))
    rb, cb = (x * r).sum(dim=(1, 2, 3)) / m, (x * c).sum(dim=(1, 2, 3)) / m
    dr, dc = r - rb.view(-1, 1, 1, 1), c - cb.view(-1, 1, 1, 1)
    return rb, cb, (x * dr * dc).sum(dim=(1, 2, 3)) / (x * dr * dr).sum(dim=(1, 2, 3))


def test_deskew_moves_an_off_centre_block_exactly_and_leaves_centred_upright_and_blank_images():
    x = torch.zeros(3, 1, 28, 28)
    x[0, 0, 3:5, 5:7] = 1.0  # centroid (3.5, 5.5), no skew: an integer shift by (10, 8)
    x[1, 0, 13:15, 10:18] = 0.7  # already centred at (13.5, 13.5) and symmetric
    out = selfcond.deskew(x)
    expected = torch.zeros(28, 28)
    expected[13:15, 13:15] = 1.0
    assert torch.allclose(out[0, 0], expected, atol=1e-5)
    assert torch.allclose(out[1], x[1], atol=1e-5)
    assert torch.equal(out[2], x[2])  # blank stays blank, no NaN
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        selfcond.deskew(torch.zeros(2, 28, 28))


def test_deskew_matches_scipy_and_leaves_digits_upright_and_centred():
    from scipy.ndimage import affine_transform

    from gan_tutor.data import load_dataset

    x = load_dataset("mnist-5k", "train").images[:200]
    out = selfcond.deskew(x)
    # independent oracle: scipy's affine resampling with the same map, from moments computed here
    rb, cb, alpha = _moments(x)
    m = 13.5
    for i in range(0, 200, 20):
        M = np.array([[1.0, 0.0], [alpha[i].item(), 1.0]])  # input = M @ output + offset
        offset = np.array([rb[i].item() - m, cb[i].item() - m - alpha[i].item() * m])
        ref = affine_transform(x[i, 0].double().numpy(), M, offset=offset, order=1, mode="grid-constant", cval=0.0)
        assert np.abs(ref - out[i, 0].double().numpy()).max() < 1e-4
    # invariant: what deskew removes is gone (up to resampling): centroid at the centre, no slant left
    rb2, cb2, alpha2 = _moments(out)
    assert (rb2 - m).abs().max() < 0.3 and (cb2 - m).abs().max() < 0.3
    assert alpha.abs().mean() > 0.1 and alpha2.abs().max() < 0.05


def test_spectral_clusters_of_deskewed_digits_are_purer_than_kmeans():
    from gan_tutor.data import load_dataset

    real = load_dataset("mnist-5k", "train")

    def purity(ids):
        return selfcond.cluster_purity(ids, real.labels)

    spectral = selfcond.cluster_labels(real.images, 30, seed=0)
    kmeans = selfcond.cluster_labels(real.images, 30, seed=0, method="kmeans")
    assert torch.equal(spectral, selfcond.cluster_labels(real.images, 30, seed=0))  # deterministic for a seed
    assert purity(spectral) > 0.9 and purity(spectral) > purity(kmeans) + 0.1  # measured 0.94 vs 0.75
    with pytest.raises(ValueError, match="unknown clustering method 'dbscan'"):
        selfcond.cluster_labels(real.images[:50], 3, method="dbscan")
    with pytest.raises(ValueError, match="method='kmeans'"):
        selfcond.cluster_labels(real.images[:8], 5)


def test_cluster_purity_closed_form():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    assert selfcond.cluster_purity(torch.tensor([5, 5, 7, 7, 9, 9]), labels) == 1.0  # any cluster names
    assert selfcond.cluster_purity(torch.zeros(6, dtype=torch.long), labels) == 2 / 6  # one cluster: its majority, 2 of 6
    assert selfcond.cluster_purity(torch.tensor([0, 1, 0, 1, 0, 1]), labels) == 2 / 6  # each cluster holds one of each
    with pytest.raises(ValueError, match="same length"):
        selfcond.cluster_purity(torch.zeros(5, dtype=torch.long), labels)


def test_loading_a_cgan_run_recomputes_its_ema_generators_batch_norm_statistics(tmp_path):
    from gan_tutor.checkpoint import CHECKPOINT_NAME, load_checkpoint

    spec = models.get_model("cgan")
    cfg = spec.config("smoke", ema_decay=0.9)
    images, labels = torch.rand(64, 1, 28, 28), torch.arange(64) % 10
    spec.train(cfg, images, labels, data="random", run_dir=tmp_path, steps=6, device="cpu", progress=False)
    saved = load_checkpoint(tmp_path / CHECKPOINT_NAME, "cgan")["state"]["modules"]["G_ema"]
    copied, _ = spec.load_generator(tmp_path, standing=False)
    assert all(torch.equal(v, saved[k]) for k, v in copied.state_dict().items())  # exactly what was saved
    assert cgan.STANDING_STATISTICS
    G, cfg2 = spec.load_generator(tmp_path)  # the model's choice: standing statistics
    oracle, _ = spec.load_generator(tmp_path, standing=False)
    assert gan_step.standing_statistics(oracle, cfg2, batch_size=cfg2.batch_size, seed=cfg2.seed) == 50
    for k, v in G.state_dict().items():
        assert torch.equal(v, oracle.state_dict()[k]), k  # the same statistics, from the run's seed
        if not k.endswith(("running_mean", "running_var", "num_batches_tracked")):
            assert torch.equal(v, saved[k]), k  # the weights untouched
    assert any(not torch.equal(v, saved[k]) for k, v in G.state_dict().items() if "running_mean" in k)
    assert not G.training
