"""Translation runs (notebook 09) through the loop, the registry and the CLI: train cyclegan and pix2pix, resume bit for
bit (the image pools included), translate a split into an .npz, and the errors of translate and sample."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import torch

from gan_tutor import cli, cyclegan, data, models
from gan_tutor.checkpoint import CHECKPOINT_NAME, load_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")


def train_args(model, out, *extra):
    return ["train", model, "--tier", "smoke", "--out", str(out), "--no-progress", *extra]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Finished smoke-tier cyclegan and pix2pix run folders (do not modify) and a gan run."""
    root = tmp_path_factory.mktemp("translation")
    out = {}
    for model in ("cyclegan", "pix2pix"):
        out[model] = root / model
        assert cli.main(train_args(model, out[model])) == 0
    out["gan"] = root / "gan"
    assert cli.main(train_args("gan", out["gan"], "--steps", "2")) == 0
    return out


def test_the_checkpoint_holds_both_generators_discriminators_and_pools(runs):
    saved = load_checkpoint(runs["cyclegan"] / CHECKPOINT_NAME, "cyclegan")
    assert set(saved["state"]["modules"]) == {"G", "F", "D_A", "D_B", "pool_A", "pool_B"}
    assert saved["state"]["step"] == cyclegan.TIERS["smoke"].steps
    assert int(saved["state"]["modules"]["pool_A"]["count"]) == min(50, 6 * 8)  # 6 steps of 8 images
    assert saved["config"]["data"] == "mnist-5k" and saved["config"]["domain_b"] == "uci-digits"
    assert set(load_checkpoint(runs["pix2pix"] / CHECKPOINT_NAME, "pix2pix")["state"]["modules"]) == {"G", "D"}


@pytest.mark.parametrize("method", ["cyclegan", "pix2pix"])
def test_an_interrupted_run_resumes_bit_for_bit(method, tmp_path):
    spec = models.get_model(method)
    cfg = spec.config("smoke", batch_size=4, steps=6, schedule_steps=6)
    a = data.load_dataset("mnist-5k", "train").images[:64]
    whole = spec.train(cfg, a, data="mnist-5k", run_dir=tmp_path / "whole", steps=6, progress=False)
    spec.train(cfg, a, data="mnist-5k", run_dir=tmp_path / "parts", steps=3, progress=False)
    parts = spec.train(cfg, a, data="mnist-5k", run_dir=tmp_path / "parts", steps=6, progress=False)
    for name, module in whole.modules.items():
        for (k, v), w in zip(module.state_dict().items(), parts.modules[name].state_dict().values()):
            assert torch.equal(v, w), f"{name}.{k} differs after resuming"


def test_the_learning_rate_decays_over_the_second_half(tmp_path):
    spec = models.get_model("pix2pix")
    cfg = spec.config("smoke", batch_size=4, steps=8, schedule_steps=8)
    lrs = []
    spec.train(cfg, data.load_dataset("mnist-5k", "train").images[:32], data="mnist-5k", steps=8, progress=False,
               hooks=[lambda s: lrs.append(s.optimizers["G"].param_groups[0]["lr"] / cfg.lr)])
    assert lrs == pytest.approx([1.0, 1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25])  # steps 0..7: (8 - step) / 4, at most 1
    with pytest.raises(ValueError, match="reaches 0 at step 8"):
        spec.train(cfg, torch.rand(8, 1, 28, 28), data="t", steps=9, progress=False)


def test_translate_writes_images_sources_and_labels(runs, tmp_path, capsys):
    out = tmp_path / "t.npz"
    assert cli.main(["translate", str(runs["cyclegan"]), "--out", str(out)]) == 0
    test = data.load_uci_digits("test")
    with np.load(out) as f:
        assert set(f.files) == {"images", "sources", "labels"}
        assert f["images"].shape == (300, 1, 28, 28) and f["images"].dtype == np.float32
        assert 0 <= f["images"].min() and f["images"].max() <= 1
        assert np.array_equal(f["sources"], test.images.numpy()) and np.array_equal(f["labels"], test.labels.numpy())
    t, _ = models.get_model("cyclegan").load_generator(runs["cyclegan"])
    with np.load(out) as f:
        assert np.array_equal(f["images"], t(test.images, "b2a").numpy())
    # the other direction: MNIST into UCI
    out2 = tmp_path / "a2b.npz"
    assert cli.main(["translate", str(runs["cyclegan"]), "--data", "mnist-5k", "--direction", "a2b", "--out", str(out2)]) == 0
    assert cli.main(["translate", str(runs["pix2pix"]), "--out", str(tmp_path / "p.npz")]) == 0
    assert "uci-digits -> mnist-5k" in capsys.readouterr().out


@pytest.mark.parametrize("run, extra, match", [
    ("gan", [], "samples from noise and translates nothing"),
    ("pix2pix", ["--direction", "a2b"], "learns b2a only"),
    ("cyclegan", ["--data", "mnist-5k"], "use --data uci-digits .use --direction a2b."),
    ("cyclegan", ["--data", "fashion-mnist"], "not its source domain"),
    ("cyclegan", ["--split", "validation"], "unknown split"),
])
def test_translate_bad_input_exits_2_and_writes_nothing(runs, run, extra, match, tmp_path, capsys):
    out = tmp_path / "t.npz"
    assert cli.main(["translate", str(runs[run]), "--out", str(out), *extra]) == 2
    assert re.search(match, capsys.readouterr().err)
    assert not out.exists()


def test_sampling_a_translation_run_points_to_translate(runs, tmp_path, capsys):
    assert cli.main(["sample", str(runs["cyclegan"]), "--out", str(tmp_path / "s.npz")]) == 2
    assert "gan_tutor translate" in capsys.readouterr().err


def test_an_unknown_domain_b_is_refused_before_training(tmp_path, capsys):
    spec = models.get_model("cyclegan")
    with pytest.raises(ValueError, match="unknown dataset|choose"):
        spec.train(spec.config("smoke", domain_b="svhn-digits"), torch.rand(8, 1, 28, 28), data="t", progress=False)


def test_the_two_domains_must_differ(tmp_path, capsys):
    assert cli.main(train_args("cyclegan", tmp_path / "run", "--data", "uci-digits")) == 2
    assert "the same dataset" in capsys.readouterr().err


def test_a_translation_run_folder_copied_and_resumed_with_other_weights_is_refused(runs, tmp_path, capsys):
    run = shutil.copytree(runs["cyclegan"], tmp_path / "run")
    assert cli.main(train_args("cyclegan", run, "--seed", "3")) == 2
    assert "another config" in capsys.readouterr().err
