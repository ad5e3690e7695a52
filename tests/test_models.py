"""gan_tutor.models and gan_tutor.config: kinds are explicit, config fields are typed, a run is seeded once."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from gan_tutor import config, dcgan, gan, models, stylegan, train, vae
from gan_tutor.checkpoint import CheckpointError


def test_every_model_declares_its_kind_and_its_config_matches_it():
    kinds = {name: models.get_model(name).kind for name in models.MODELS}
    assert kinds == {"gan": models.Kind.ADVERSARIAL, "dcgan": models.Kind.ADVERSARIAL, "cgan": models.Kind.ADVERSARIAL,
                     "stylegan": models.Kind.ADVERSARIAL, "vae": models.Kind.LIKELIHOOD,
                     **{name: models.Kind.ADVERSARIAL for name in ("gan-logistic", "sngan", "wgan", "wgan-gp", "gan-r1")},
                     "cyclegan": models.Kind.TRANSLATION, "pix2pix": models.Kind.TRANSLATION}
    for name, kind in kinds.items():
        assert isinstance(models.get_model(name).config("smoke"), models.KIND_CONFIG[kind])
        assert set(models.KINDS) == set(models.Kind)  # every kind can be trained, loaded and sampled


def test_a_registration_whose_config_does_not_fit_its_kind_is_refused(monkeypatch):
    monkeypatch.setitem(models.MODELS, "vae_as_gan", models.Registration("gan_tutor.vae", models.Kind.ADVERSARIAL, "wrong"))
    with pytest.raises(TypeError, match="registered as adversarial but its config VAEConfig does not subclass AdversarialConfig"):
        models.get_model("vae_as_gan")


def test_the_loop_reads_every_adversarial_field():
    """Each GANLoop setting comes from the config field of the same name (no silent default)."""
    cfg = stylegan.tier_config("smoke", loss="hinge", saturating=True, augment="cutout", r1_gamma=3.0, r1_every=7,
                               pl_weight=0.5, pl_every=3, real_label=0.8, ema_decay=0.9, batch_size=12, seed=5)
    loop = models.gan_loop(cfg)
    for f in dataclasses.fields(train.GANLoop):
        if f.name in ("n_classes", "n_fixed", "amp"):
            continue
        assert getattr(loop, f.name) == getattr(cfg, f.name), f.name
    assert loop.n_classes == cfg.clusters == 30
    assert models.gan_loop(gan.tier_config("smoke")).n_classes is None
    assert models.gan_loop(models.get_model("cgan").config("smoke")).n_classes == 10


@pytest.mark.parametrize("field", ["r1gamma", "ema", "lr"])
def test_a_misspelt_field_is_an_error_not_a_default(field):
    with pytest.raises(ValueError, match=rf"DCGANConfig has no field '{field}': choose from .*r1_gamma"):
        dcgan.tier_config("smoke", **{field: 1})


def test_labels_and_clusters_exclude_each_other():
    with pytest.raises(ValueError, match="exclude each other"):
        dcgan.tier_config("smoke", n_classes=10)  # the smoke preset self-conditions on 30 clusters


def test_config_from_identity_round_trip_and_unknown_fields():
    spec = models.get_model("stylegan")
    cfg = spec.config("smoke", seed=3)
    assert spec.config_from_identity({**cfg.identity(), "data": "mnist-5k", "loop": {}}) == dataclasses.replace(cfg, steps=stylegan.StyleGANConfig.steps, snapshot_every=stylegan.StyleGANConfig.snapshot_every)
    old = {k: v for k, v in cfg.identity().items() if k not in ("pl_weight", "augment")}  # saved before those fields existed
    assert spec.config_from_identity(old).pl_weight == 0.0
    with pytest.raises(ValueError, match=r"fields \['w_dimm'\] that StyleGANConfig does not know"):
        spec.config_from_identity({**cfg.identity(), "w_dimm": 4})


def test_a_run_saved_before_a_field_existed_resumes_at_its_default(tmp_path, monkeypatch):
    spec = models.get_model("vae")
    cfg = spec.config("smoke", batch_size=16)
    x = torch.rand(64, 1, 28, 28)
    spec.train(cfg, x, data="t", run_dir=tmp_path, steps=2, progress=False)
    # rewrite the checkpoint as an older version would have: without the field 'beta'
    from gan_tutor.checkpoint import load_checkpoint, save_checkpoint
    path = tmp_path / "checkpoint.pt"
    state = load_checkpoint(path, "vae")
    del state["config"]["beta"]
    save_checkpoint(path, {"config": state["config"], "state": state["state"]}, "vae")
    with pytest.raises(CheckpointError, match=r"beta: '<absent>' -> 0.5"):  # another value than the default: refused
        spec.train(dataclasses.replace(cfg, beta=0.5), x, data="t", run_dir=tmp_path, steps=4, progress=False)
    assert spec.train(cfg, x, data="t", run_dir=tmp_path, steps=3, progress=False).step == 3  # beta at its default: resumes


@pytest.mark.parametrize("name", ["gan", "vae"])
def test_a_run_is_seeded_once(name, monkeypatch):
    calls = []
    real = train.seed_everything
    monkeypatch.setattr(train, "seed_everything", lambda seed: (calls.append(seed), real(seed)))
    spec = models.get_model(name)
    cfg = spec.config("smoke", seed=11, batch_size=16)
    state = spec.train(cfg, torch.rand(64, 1, 28, 28), data="t", steps=1, progress=False)
    assert calls == [11] and state.step == 1


def test_initial_weights_depend_on_the_seed_alone():
    spec = models.get_model("gan")
    cfg = spec.config("smoke", seed=2)
    x = torch.rand(64, 1, 28, 28)
    weights = []
    for burn in (0, 100):
        torch.manual_seed(99)
        torch.rand(burn)  # another history before the run
        st = spec.train(cfg, x, data="t", steps=1, progress=False)
        weights.append(torch.cat([p.detach().flatten() for p in st.modules["G"].parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_base_configs_hold_the_shared_fields_once():
    adv = {f.name for f in dataclasses.fields(config.AdversarialConfig)}
    for cls in (gan.GANConfig, dcgan.DCGANConfig, stylegan.StyleGANConfig):
        assert adv <= {f.name for f in dataclasses.fields(cls)}
    assert {f.name for f in dataclasses.fields(config.LikelihoodConfig)} <= {f.name for f in dataclasses.fields(vae.VAEConfig)}
