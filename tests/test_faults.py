"""Faults and bad input, as a careful user meets them: each case fails loudly, names the fix and loses nothing.

Diverged weights, two trainers on one folder, impossible budgets, SIGTERM, a full disk, files a killed writer left,
checkpoints that do not fit, and the command line's mistakes. Determinism at two threads is in test_determinism.py.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_tutor import checkpoint, cli, models, train
from gan_tutor.checkpoint import CHECKPOINT_NAME, DiskFull, RunFolderBusy, load_checkpoint, save_checkpoint
from gan_tutor.classifier import DigitClassifier

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def digits():
    from gan_tutor.data import load_dataset

    return load_dataset("mnist-5k", "train").images[:256]


def gan_run(digits, run_dir, steps=4, **overrides):
    spec = models.get_model("gan")
    cfg = spec.config("smoke", batch_size=16, **overrides)
    return spec.train(cfg, digits, data="mnist-5k", run_dir=run_dir, steps=steps, progress=False, checkpoint_every=2)


def step_of(run_dir) -> int:
    return int(load_checkpoint(run_dir / CHECKPOINT_NAME)["state"]["step"])


def cli_run(*args, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    return subprocess.run([sys.executable, "-m", "gan_tutor", *args], capture_output=True, text=True, env=env, cwd=ROOT, **kw)


# --- 1. non-finite weights are never saved, returned or sampled ---------------------------------------


def test_an_update_that_overflows_the_weights_is_not_saved(digits, tmp_path):
    with pytest.raises(train.TrainingDiverged, match=r"the weights \(G: .*\) became non-finite at step 1.*No checkpoint"):
        gan_run(digits, tmp_path / "run", steps=1, lr_g=1e39)
    assert not (tmp_path / "run" / CHECKPOINT_NAME).exists()


def test_divergence_on_a_checkpoint_step_keeps_the_last_good_checkpoint(digits, tmp_path):
    run = tmp_path / "run"
    gan_run(digits, run, steps=2)
    good = (run / CHECKPOINT_NAME).read_bytes()
    spec = models.get_model("gan")
    cfg = spec.config("smoke", batch_size=16)
    state_before = load_checkpoint(run / CHECKPOINT_NAME)["state"]
    # blow G up in place of a bad update: the next checkpoint step (4) must not be written
    hook = lambda s: [p.data.fill_(float("inf")) for p in s.modules["G"].parameters()] if s.step == 4 else None  # noqa: E731
    with pytest.raises(train.TrainingDiverged, match=r"step 4.*last good checkpoint \(step 2\) is kept"):
        spec.train(cfg, digits, data="mnist-5k", run_dir=run, steps=6, progress=False, checkpoint_every=2, hooks=[hook])
    assert (run / CHECKPOINT_NAME).read_bytes() == good and state_before["step"] == 2


def test_sampling_a_checkpoint_with_non_finite_weights_is_refused(digits, tmp_path):
    run = tmp_path / "run"
    gan_run(digits, run, steps=2)
    saved = load_checkpoint(run / CHECKPOINT_NAME)
    next(iter(saved["state"]["modules"]["G_ema"].values())).fill_(float("nan"))
    save_checkpoint(run / CHECKPOINT_NAME, {"config": saved["config"], "state": saved["state"]}, "gan")
    done = cli_run("sample", str(run), "--n", "8", "--out", str(tmp_path / "x.npz"))
    assert done.returncode == 2 and "non-finite weights" in done.stderr and "diverged" in done.stderr
    assert not (tmp_path / "x.npz").exists()


# --- 3. one trainer per run folder --------------------------------------------------------------------


def test_a_second_trainer_is_refused_and_a_killed_ones_lock_does_not_block(digits, tmp_path):
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from gan_tutor.checkpoint import run_folder_lock\n"
         f"with run_folder_lock({str(run)!r}):\n    print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunFolderBusy, match=rf"being trained by another process \(pid {holder.pid}\)"):
            gan_run(digits, run, steps=2)
        assert not (run / CHECKPOINT_NAME).exists()
        done = cli_run("train", "gan", "--tier", "smoke", "--out", str(run), "--steps", "2")
        assert done.returncode == 2 and "another process" in done.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (run / checkpoint.LOCK_NAME).exists()  # the killed holder's lock file stays, but holds nothing
    assert gan_run(digits, run, steps=2).step == 2


def test_an_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    done = cli_run("train", "gan", "--tier", "smoke", "--out", str(tmp_path / "f"), "--steps", "1")
    assert done.returncode == 2 and "is a file, not a folder" in done.stderr


# --- 5. budgets -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag, value, words", [("--steps", "-3", "whole number >= 1"), ("--steps", "0", "whole number >= 1"),
                                                ("--seconds", "-5", "finite number > 0"), ("--seconds", "nan", "finite number > 0"),
                                                ("--seconds", "inf", "finite number > 0")])
def test_impossible_budgets_are_refused_before_anything_is_written(tmp_path, capsys, flag, value, words):
    run = tmp_path / "run"
    assert cli.main(["train", "gan", "--tier", "smoke", "--out", str(run), "--no-progress", flag, value]) == 2
    assert words in capsys.readouterr().err
    assert not (run / CHECKPOINT_NAME).exists()


def test_a_seconds_budget_stops_at_the_tiers_steps_too(digits, tmp_path, capsys):
    spec = models.get_model("gan")
    cfg = spec.config("smoke", batch_size=16, steps=6)
    state = spec.train(cfg, digits, data="mnist-5k", run_dir=tmp_path, seconds=600, progress=False)
    assert state.step == 6
    capsys.readouterr()
    assert spec.train(cfg, digits, data="mnist-5k", run_dir=tmp_path, seconds=600, progress=False).step == 6
    assert "at step 6, the budget is 6 steps: nothing to train" in capsys.readouterr().out


# --- 6. signals, full disks, leftovers ----------------------------------------------------------------


def test_sigterm_saves_like_ctrl_c_and_the_run_resumes(tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gan_tutor", "train", "gan", "--tier", "smoke", "--out", str(run),
                             "--steps", "100000", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, cwd=ROOT)
    for line in proc.stdout:
        if line.startswith("training 'gan'"):
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, out
    assert "interrupted at step" in out
    stopped = step_of(run)
    assert 0 < stopped < 100000
    done = cli_run("train", "gan", "--tier", "smoke", "--out", str(run), "--steps", str(stopped + 3), "--no-progress")
    assert done.returncode == 0 and f"at step {stopped}" in done.stdout and step_of(run) == stopped + 3


def test_a_full_disk_says_so_and_keeps_the_last_checkpoint(digits, tmp_path, monkeypatch):
    run = tmp_path / "run"
    gan_run(digits, run, steps=2)
    good = (run / CHECKPOINT_NAME).read_bytes()

    def full(state, f):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoint, "_write", full)
    with pytest.raises(DiskFull, match=r"disk holding .* is full .*step 4; the last checkpoint \(step 2\) is intact"):
        gan_run(digits, run, steps=4)
    assert (run / CHECKPOINT_NAME).read_bytes() == good
    assert sorted(p.name for p in run.iterdir() if ".tmp-" in p.name) == []


def test_torch_save_failures_surface_as_the_os_error():
    """torch's zip writer hides the errno ('file write failed'); serialising in memory first keeps it."""
    class Full:
        def write(self, b):
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as e:
        checkpoint._write({"x": torch.zeros(3)}, Full())
    assert e.value.errno == errno.ENOSPC


def test_temporaries_of_a_killed_writer_are_removed_on_the_next_start(digits, tmp_path):
    run = tmp_path / "run"
    gan_run(digits, run, steps=2)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    stale = run / f".{CHECKPOINT_NAME}.tmp-{dead.pid}"
    stale.write_bytes(b"\x00" * 4096)
    gan_run(digits, run, steps=3)
    assert not stale.exists()


# --- 7. sentences instead of tracebacks ------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(digits, tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults") / "run"
    gan_run(digits, folder, steps=2)
    return folder


def test_a_checkpoint_that_does_not_fit_its_model_is_a_sentence(run, tmp_path):
    folder = shutil.copytree(run, tmp_path / "run")
    saved = load_checkpoint(folder / CHECKPOINT_NAME)
    saved["config"]["hidden_g"] = [32, 64]  # the weights are for (64, 128)
    save_checkpoint(folder / CHECKPOINT_NAME, {"config": saved["config"], "state": saved["state"]}, "gan")
    done = cli_run("sample", str(folder), "--n", "4", "--out", str(tmp_path / "x.npz"))
    assert done.returncode == 2 and "does not fit the 'gan' model" in done.stderr and "Traceback" not in done.stderr
    del saved["state"]["modules"]["G_ema"]["net.0.weight"], saved["state"]["modules"]["G"]["net.0.weight"]
    saved["config"]["hidden_g"] = [64, 128]
    save_checkpoint(folder / CHECKPOINT_NAME, {"config": saved["config"], "state": saved["state"]}, "gan")
    done = cli_run("sample", str(folder), "--n", "4", "--out", str(tmp_path / "x.npz"))
    assert done.returncode == 2 and "does not fit" in done.stderr and "Missing key" in done.stderr


def test_sample_takes_the_checkpoint_file_too_and_refuses_to_overwrite(run, tmp_path, capsys):
    out = tmp_path / "x.npz"
    assert cli.main(["sample", str(run / CHECKPOINT_NAME), "--n", "4", "--out", str(out)]) == 0
    first = out.read_bytes()
    assert cli.main(["sample", str(run), "--n", "4", "--out", str(out), "--seed", "1"]) == 2
    assert "exists: choose another --out, or add --force" in capsys.readouterr().err
    assert out.read_bytes() == first
    assert cli.main(["sample", str(run), "--n", "4", "--out", str(out), "--seed", "1", "--force"]) == 0
    assert out.read_bytes() != first
    (tmp_path / "d.npz").mkdir()
    assert cli.main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "d.npz")]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_a_huge_n_is_refused_with_the_memory_it_needs(run, tmp_path, capsys):
    with pytest.raises(ValueError, match=r"--n 1000000 would need about 5.8 GiB .* 1.0 GiB of memory is available"):
        cli.check_memory(1_000_000, (1, 28, 28), available=2**30)
    cli.check_memory(1000, (1, 28, 28), available=2**30)
    assert cli.main(["sample", str(run), "--n", str(10**12), "--out", str(tmp_path / "x.npz")]) == 2
    assert "would need about" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["train", "gan", "--tier", "smoke", "--steps", "1", "--seed", str(2**64)],
                                  ["sample", "RUN", "--n", "2", "--seed", str(2**64)], ["sample", "RUN", "--n", "2", "--seed", "-1"]])
def test_a_seed_outside_64_bits_is_refused(run, tmp_path, capsys, args):
    args = [str(run) if a == "RUN" else a for a in args]
    out = ["--out", str(tmp_path / ("x.npz" if args[0] == "sample" else "r"))]
    assert cli.main(args + out) == 2
    assert "seed must be a whole number from 0 to 2**63 - 1" in capsys.readouterr().err


def test_the_judge_called_directly_refuses_255_pixels_and_single_images(digits):
    clf = DigitClassifier().eval()
    x = digits[:4]
    assert clf(x).shape == (4, 10)
    with pytest.raises(ValueError, match="0..255 pixels: divide them by 255"):
        clf(x * 255)
    with pytest.raises(ValueError, match=r"for \(N, H, W\) images add the channel axis|for one \(C, H, W\) image use x\[None\]"):
        clf(x[0])


def test_config_seed_and_typed_budget_errors():
    with pytest.raises(ValueError, match="seed must be"):
        models.get_model("gan").config("smoke", seed=2**63)
    with pytest.raises(ValueError, match="whole number >= 1"):
        train.check_budget(2.5, None)
    assert dataclasses.is_dataclass(models.get_model("gan").config("smoke", seed=2**63 - 1))
    assert np.iinfo(np.int64).max == 2**63 - 1


def test_available_memory_counts_what_the_kernel_can_free():
    available = cli.available_memory()
    if sys.platform.startswith("linux"):
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f)
        assert available == int(fields["MemAvailable"].split()[0]) * 1024
    assert available is None or available > 0
