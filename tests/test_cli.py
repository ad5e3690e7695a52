"""gan_tutor.cli and gan_tutor.models: train, resume, sample and data commands, and their errors.

Everything runs in-process through ``cli.main([...])`` (exit status returned, messages read with
capsys); one subprocess proves that ``python -m gan_tutor`` is wired up. One smoke-tier run (40 steps)
is trained per module; tests that change a run folder work on a copy of it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from gan_tutor import cli, data, models
from gan_tutor.checkpoint import CHECKPOINT_NAME, CONFIG_NAME, LOCK_NAME, CheckpointError, load_checkpoint

SMOKE_STEPS = 40  # gan.TIERS["smoke"].steps


pytestmark = pytest.mark.usefixtures("one_thread")


def train_args(out, *extra):
    return ["train", "gan", "--data", "mnist-5k", "--tier", "smoke", "--out", str(out), "--no-progress", *extra]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished smoke-tier run folder. Do not modify: copy it with ``copy_of(run, tmp_path)``."""
    out = tmp_path_factory.mktemp("cli") / "run"
    assert cli.main(train_args(out)) == 0
    return out


def copy_of(run, tmp_path):
    return shutil.copytree(run, tmp_path / "run")


def step_of(run_dir) -> int:
    return load_checkpoint(run_dir / CHECKPOINT_NAME, "gan")["state"]["step"]


# --- train -------------------------------------------------------------------------------------------


def test_train_writes_checkpoint_and_config(run):
    assert sorted(p.name for p in run.iterdir() if p.name != LOCK_NAME) == [CHECKPOINT_NAME, CONFIG_NAME]
    assert step_of(run) == SMOKE_STEPS
    config = json.loads((run / CONFIG_NAME).read_text())
    assert config["model"] == "gan" and config["seed"] == 0
    assert config["hidden_g"] == [64, 128] and config["image_shape"] == [1, 28, 28]
    assert "steps" not in config  # the budget is not part of the run's identity


def test_train_again_resumes_without_training(run, tmp_path, capsys):
    folder = copy_of(run, tmp_path)
    before = (folder / CHECKPOINT_NAME).read_bytes()
    assert cli.main(train_args(folder)) == 0
    out = capsys.readouterr().out
    assert f"resuming 'gan' from {folder / CHECKPOINT_NAME} at step {SMOKE_STEPS}" in out
    assert f"at step {SMOKE_STEPS}, the budget is {SMOKE_STEPS} steps: nothing to train" in out
    assert (folder / CHECKPOINT_NAME).read_bytes() == before  # no step taken, nothing rewritten


def test_train_more_steps_continues(run, tmp_path, capsys):
    folder = copy_of(run, tmp_path)
    assert cli.main(train_args(folder, "--steps", "60")) == 0
    assert f"from step {SMOKE_STEPS} to 60" in capsys.readouterr().out
    state = load_checkpoint(folder / CHECKPOINT_NAME, "gan")["state"]
    assert state["step"] == 60
    assert state["history"]["step"] == list(range(10, 61, 10))  # log_every 10, over both sessions
    assert [s for s, _ in state["snapshots"]] == [0, 20, 40, 60]  # snapshot_every 20


def test_train_into_folder_of_another_config_is_refused(run, tmp_path, capsys):
    folder = copy_of(run, tmp_path)
    ckpt, config = (folder / CHECKPOINT_NAME).read_bytes(), (folder / CONFIG_NAME).read_bytes()
    assert cli.main(train_args(folder, "--seed", "1")) == 2
    err = capsys.readouterr().err
    assert "another config" in err and "seed: 0 -> 1" in err and "new folder" in err
    assert (folder / CHECKPOINT_NAME).read_bytes() == ckpt
    assert (folder / CONFIG_NAME).read_bytes() == config


def test_train_on_another_dataset_into_a_run_folder_is_refused(run, tmp_path, capsys):
    folder = copy_of(run, tmp_path)
    before = (folder / CHECKPOINT_NAME).read_bytes()
    assert cli.main(["train", "gan", "--data", "uci-digits", "--tier", "smoke", "--out", str(folder),
                     "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert (folder / CHECKPOINT_NAME).read_bytes() == before
    assert "another config" in err and "mnist-5k" in err and "uci-digits" in err


@pytest.mark.parametrize("argv, match", [
    (["train", "biggan", "--data", "mnist-5k", "--tier", "smoke"], "unknown model 'biggan': choose one of cgan, cyclegan, dcgan, gan"),
    (["train", "gan", "--data", "mnist-6k", "--tier", "smoke"], "unknown dataset 'mnist-6k': choose one of mnist-5k, uci-digits, mnist"),
    (["train", "gan", "--data", "mnist-5k", "--tier", "huge"], "unknown tier 'huge': use one of smoke, cpu, gpu, full"),
])
def test_train_unknown_names_exit_2_listing_valid_ones(argv, match, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main([*argv, "--out", str(out), "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert match in captured.err and "Traceback" not in captured.err
    assert not out.exists()


def test_truncated_checkpoint_is_reported_by_sample_and_train(run, tmp_path, capsys):
    folder = copy_of(run, tmp_path)
    data_bytes = (folder / CHECKPOINT_NAME).read_bytes()
    (folder / CHECKPOINT_NAME).write_bytes(data_bytes[: len(data_bytes) // 2])
    assert cli.main(["sample", str(folder), "--n", "4", "--out", str(tmp_path / "s.npz")]) == 2
    assert "truncated" in capsys.readouterr().err
    assert not (tmp_path / "s.npz").exists()
    assert cli.main(train_args(folder)) == 2
    assert "truncated" in capsys.readouterr().err


def test_sample_without_a_run_says_train_first(tmp_path, capsys):
    assert cli.main(["sample", str(tmp_path), "--out", str(tmp_path / "s.npz")]) == 2
    assert "no checkpoint" in capsys.readouterr().err


# --- sample ------------------------------------------------------------------------------------------


def sample(run, out, *extra) -> dict[str, np.ndarray]:
    assert cli.main(["sample", str(run), "--out", str(out), *extra]) == 0
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


def test_sample_writes_images_in_unit_range(run, tmp_path, capsys):
    arrays = sample(run, tmp_path / "s.npz", "--n", "37")
    assert "wrote 37 samples of 'gan'" in capsys.readouterr().out
    assert list(arrays) == ["images"]
    x = arrays["images"]
    assert x.shape == (37, 1, 28, 28) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert x.std() > 0  # not a constant image


def test_sample_seed_decides_the_images(run, tmp_path):
    a = sample(run, tmp_path / "a.npz", "--n", "5")["images"]
    b = sample(run, tmp_path / "b.npz", "--n", "5", "--seed", "0")["images"]
    c = sample(run, tmp_path / "c.npz", "--n", "5", "--seed", "1")["images"]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_sample_is_the_ema_generator_on_seeded_noise(run, tmp_path):
    # oracle written out: z from torch.Generator(seed), G with the EMA weights, tanh range -> [0, 1]
    spec = models.get_model(models.model_of_run(run))
    G, cfg = spec.load_generator(run)
    weights = load_checkpoint(run / CHECKPOINT_NAME, "gan")["state"]["modules"]
    for k, v in G.state_dict().items():
        assert torch.equal(v, weights["G_ema"][k])
    assert not all(torch.equal(v, weights["G"][k]) for k, v in G.state_dict().items())
    assert not G.training
    z = torch.randn(6, cfg.z_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = ((G(z) + 1) / 2).clamp(0, 1).numpy()
    got = sample(run, tmp_path / "s.npz", "--n", "6", "--seed", "3")["images"]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_get_model_unknown_name():
    with pytest.raises(ValueError, match="unknown model 'biggan': choose one of cgan, cyclegan, dcgan, gan"):
        models.get_model("biggan")
    assert not models.get_model("gan").conditional  # no n_classes field: --label is refused


@pytest.mark.parametrize("extra, out_name, match", [
    (["--label", "3"], "s.npz", "unconditional"),
    (["--n", "0"], "s.npz", "--n must be a whole number >= 1"),
    (["--n", "3"], "x.png", "must end in .npz"),
])
def test_sample_bad_arguments_exit_2_and_write_nothing(run, tmp_path, capsys, extra, out_name, match):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert cli.main(["sample", str(run), "--out", str(out_dir / out_name), *extra]) == 2
    assert match in capsys.readouterr().err
    assert list(out_dir.iterdir()) == []


# --- data --------------------------------------------------------------------------------------------


def test_data_list_names_every_dataset(capsys):
    assert cli.main(["data", "list"]) == 0
    rows = capsys.readouterr().out.splitlines()
    names = [r.split()[0] for r in rows[1:]]
    assert names == ["mnist-5k", "uci-digits", "mnist", "fashion-mnist", "cifar10"]


def test_data_prefetch_offline_dataset(capsys):
    assert cli.main(["data", "prefetch", "mnist-5k"]) == 0
    assert "no download needed; sha256 verified" in capsys.readouterr().out


def test_data_errors_are_value_errors_the_cli_catches():
    # the CLI turns ValueError into exit 2 with a message; the dataset errors must be among them
    assert issubclass(data.DatasetError, ValueError)
    assert issubclass(data.DownloadError, data.DatasetError)


def test_data_prefetch_online_dataset_offline_fails_cleanly(tmp_path, monkeypatch, capsys):
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("GAN_TUTOR_DATA", str(root))
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # a loopback proxy would pass the test's network guard
    assert cli.main(["data", "prefetch", "mnist"]) == 2
    err = capsys.readouterr().err
    assert "could not download mnist" in err and "mnist-5k" in err and "Traceback" not in err
    assert list(root.iterdir()) == []


@pytest.mark.parametrize("argv, match", [
    (["data", "prefetch"], "name at least one dataset"),
    (["data", "prefetch", "svhn"], "unknown dataset 'svhn'"),
])
def test_data_prefetch_bad_names(argv, match, capsys):
    assert cli.main(argv) == 2
    assert match in capsys.readouterr().err


# --- the entry point ---------------------------------------------------------------------------------


def test_python_m_gan_tutor_help():
    proc = subprocess.run([sys.executable, "-m", "gan_tutor", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: python -m gan_tutor")
    for command in ("train", "sample", "data"):
        assert command in proc.stdout


def test_missing_required_argument_is_argparse_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "gan"])
    assert e.value.code == 2
    assert "--out" in capsys.readouterr().err


def test_sample_run_and_training_cost_read_the_run_folder(run, tmp_path):
    from gan_tutor.models import sample_run, training_cost

    state = load_checkpoint(run / CHECKPOINT_NAME)["state"]
    assert training_cost(run) == (state["step"], pytest.approx(state["seconds"])) and state["seconds"] > 0
    out = sample(run, tmp_path / "s.npz", "--n", "7", "--seed", "3")
    again = sample_run(run, 7, seed=3)
    assert np.array_equal(again["images"].numpy(), out["images"])  # the CLI's samples, from Python
    with pytest.raises(CheckpointError, match="train first"):
        training_cost(tmp_path / "nothing")
