"""gan_tutor.pretrained: the shipped generators load weights-only, match their hashes and reproduce the figures their
manifest records; a learner's own run is preferred; corrupted or missing files fail with what to do."""

from __future__ import annotations

import shutil

import pytest
import torch

from gan_tutor import classifier, data, metrics, models, pretrained
from gan_tutor.checkpoint import CheckpointError

pytestmark = pytest.mark.usefixtures("one_thread")
MANIFEST = pretrained.manifest()


@pytest.fixture(scope="module")
def judge():
    clf = classifier.load_digit_classifier()
    with torch.no_grad():
        return clf, clf.features(data.load_dataset("mnist-5k", "test").images)


def test_every_course_model_ships_small_hashed_and_described():
    assert set(MANIFEST) == set(pretrained.COURSE_MODELS)
    total = 0
    for model, entry in MANIFEST.items():
        path = pretrained.WEIGHTS_DIR / entry["file"]
        total += path.stat().st_size
        assert pretrained.sha256_of(path) == entry["sha256"]
        assert entry["tier"] == "cpu" and entry["seed"] == 0 and entry["data"] == "mnist-5k"
        assert entry["dtype"] in ("float16", "float32") and entry["steps"] > 0 and entry["seconds"] > 0
        assert set(entry["judged"]) == {"float32", "float16"}
    assert total <= 20e6, f"{total / 1e6:.1f} MB of shipped weights: keep them under 20 MB"


@pytest.mark.parametrize("model", sorted(pretrained.COURSE_MODELS))
def test_shipped_generator_reproduces_its_recorded_figures(model, judge):
    # the manifest's figures were measured by scripts/make_pretrained.py on the stored weights: judged again here,
    # independently, from the file alone
    G, cfg = pretrained.load(model)
    assert not G.training
    entry = MANIFEST[model]
    recorded = entry["judged"][entry["dtype"]]
    spec = models.get_model(model)
    out = spec.sample(G, cfg, 2000, seed=1)
    clf, held = judge
    verdict = classifier.judge_digits(out["images"], clf, labels=out.get("labels"))
    assert verdict.confident_share == pytest.approx(recorded["confident"], abs=0.003)
    assert metrics.frechet_distance_of(out["images"], held, clf.features) == pytest.approx(recorded["frechet"], rel=0.02)


def test_own_run_is_preferred_and_the_source_is_named(tmp_path):
    missing = tmp_path / "nothing-here"
    G, cfg, source = pretrained.generator("cgan", missing)
    assert "shipped cpu-tier weights" in source and str(missing) in source
    steps, seconds, where = pretrained.training_cost("cgan", missing)
    assert (steps, seconds) == (MANIFEST["cgan"]["steps"], MANIFEST["cgan"]["seconds"]) and where.startswith("shipped")
    spec = models.get_model("cgan")
    run = tmp_path / "run"
    spec.train(spec.config("smoke"), torch.rand(64, 1, 28, 28), torch.arange(64) % 10, data="random", run_dir=run,
               steps=3, device="cpu", progress=False)
    G_own, cfg_own, source = pretrained.generator("cgan", run)
    assert source == f"your run in {run}" and cfg_own.ngf == spec.config("smoke").ngf != cfg.ngf
    assert pretrained.training_cost("cgan", run)[:2] == models.training_cost(run)
    assert pretrained.run_folder("cgan", tmp_path) == tmp_path / "04_cgan_projection_mnist-5k_cpu_seed0"


def test_corrupted_missing_and_unknown_weights_fail_with_what_to_do(tmp_path, monkeypatch):
    copy = tmp_path / "weights"
    shutil.copytree(pretrained.WEIGHTS_DIR, copy)
    path = copy / MANIFEST["dcgan"]["file"]
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="does not match its sha256.*force-reinstall"):
        pretrained.load("dcgan", weights_dir=copy)
    path.unlink()
    with pytest.raises(CheckpointError, match="is missing: reinstall gan-tutor, or train 'dcgan' with notebook 03"):
        pretrained.load("dcgan", weights_dir=copy)
    (copy / pretrained.MANIFEST_NAME).write_text("{ not json")
    with pytest.raises(CheckpointError, match="is damaged"):
        pretrained.load("gan", weights_dir=copy)
    with pytest.raises(ValueError, match="no pretrained weights for 'wgan': choose one of gan, dcgan, cgan, vae, stylegan"):
        pretrained.load("wgan")
