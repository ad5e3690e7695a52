"""gan_tutor.train and gan_tutor.checkpoint: the loop, budgets, resume bit for bit, guards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan_tutor import gan, train
from gan_tutor.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint, save_checkpoint

TESTS = Path(__file__).parent
N_STEPS, EVERY = 30, 10


def tiny_run(run_dir, steps, hooks=(), checkpoint_every=EVERY, lr_d=2e-3, seed=0):
    """A small but complete GAN run: dropout (global RNG), EMA, snapshots, logging, checkpoints."""
    torch.manual_seed(123)
    data = torch.rand(96, 1, 4, 4) * 2 - 1
    G = gan.Generator(8, (16,), (1, 4, 4))
    D = gan.Discriminator((1, 4, 4), (16,), dropout=0.3)
    loop = train.GANLoop(z_dim=8, batch_size=16, seed=seed, real_label=0.9, ema_decay=0.9, n_fixed=4)
    return train.fit_gan(G, D, data, loop, lr_g=2e-3, lr_d=lr_d, device="cpu", run_dir=run_dir, steps=steps,
                         log_every=5, snapshot_every=10, checkpoint_every=checkpoint_every, hooks=hooks,
                         progress=False)


def assert_same_run(a: train.TrainState, b: train.TrainState):
    assert a.step == b.step
    for k in a.modules:
        for (name, x), (_, y) in zip(a.modules[k].state_dict().items(), b.modules[k].state_dict().items()):
            assert torch.equal(x, y), f"{k}.{name} differs"
    for k in a.optimizers:
        sa, sb = a.optimizers[k].state_dict()["state"], b.optimizers[k].state_dict()["state"]
        for i in sa:
            for key in sa[i]:
                assert torch.equal(torch.as_tensor(sa[i][key]), torch.as_tensor(sb[i][key])), f"opt {k} {i} {key}"
    assert a.history == b.history
    assert [s for s, _ in a.snapshots] == [s for s, _ in b.snapshots]
    for (_, x), (_, y) in zip(a.snapshots, b.snapshots):
        assert torch.equal(x, y)
    assert torch.equal(a.noise.get_state(), b.noise.get_state())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return tiny_run(tmp_path_factory.mktemp("ref"), N_STEPS)


def test_uninterrupted_run_is_reproducible(reference, tmp_path):
    assert_same_run(reference, tiny_run(tmp_path, N_STEPS))
    assert reference.history["step"] == [5, 10, 15, 20, 25, 30]
    assert [s for s, _ in reference.snapshots] == [0, 10, 20, 30]


def test_ctrl_c_saves_and_resume_is_bit_exact(reference, tmp_path):
    def press_ctrl_c(state):
        if state.step == 17:
            os.kill(os.getpid(), signal.SIGINT)  # what Jupyter's stop button sends

    first = tiny_run(tmp_path, N_STEPS, hooks=[press_ctrl_c])
    assert first.interrupted and first.step == 17
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME, "gan")["state"]["step"] == 17
    resumed = tiny_run(tmp_path, N_STEPS)  # a fresh process would build everything anew, as here
    assert_same_run(reference, resumed)


CHILD = """
import os, signal, sys
sys.path.insert(0, {tests!r})
import test_train as t
def die(state):
    if state.step == {kill_at}:
        os.kill(os.getpid(), signal.SIGKILL)  # a Colab disconnect: no chance to save
t.tiny_run({run_dir!r}, {steps}, hooks=[die])
"""


def test_killed_process_resumes_from_last_checkpoint_bit_exact(reference, tmp_path):
    code = CHILD.format(tests=str(TESTS), kill_at=23, run_dir=str(tmp_path), steps=N_STEPS)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME, "gan")["state"]["step"] == 20
    assert_same_run(reference, tiny_run(tmp_path, N_STEPS))


KILL_MID_WRITE = """
import os, signal, sys
sys.path.insert(0, {tests!r})
import test_train as t
import gan_tutor.checkpoint as ck
real_write = ck._write
def half_then_die(state, f):
    if state["state"]["step"] == 20:
        import io
        buf = io.BytesIO(); real_write(state, buf)
        f.write(buf.getvalue()[: len(buf.getvalue()) // 2]); f.flush(); os.fsync(f.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
    real_write(state, f)
ck._write = half_then_die
t.tiny_run({run_dir!r}, {steps})
"""


def test_checkpoint_write_killed_midway_keeps_previous(reference, tmp_path):
    code = KILL_MID_WRITE.format(tests=str(TESTS), run_dir=str(tmp_path), steps=N_STEPS)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".checkpoint.pt.tmp")]
    assert len(leftovers) == 1  # the half-written temporary file, never renamed
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME, "gan")["state"]["step"] == 10
    assert_same_run(reference, tiny_run(tmp_path, N_STEPS))


def test_resume_with_other_config_is_refused(tmp_path):
    tiny_run(tmp_path, 10)
    before = (tmp_path / CHECKPOINT_NAME).read_bytes()
    with pytest.raises(CheckpointError, match=r"another config \(lr_d: 0.002 -> 0.001.*new folder"):
        tiny_run(tmp_path, 20, lr_d=1e-3)
    assert (tmp_path / CHECKPOINT_NAME).read_bytes() == before


def test_checkpoint_of_another_model_or_truncated(tmp_path):
    path = tmp_path / CHECKPOINT_NAME
    save_checkpoint(path, {"x": torch.ones(3)}, "dcgan")
    with pytest.raises(CheckpointError, match="holds a 'dcgan' model, not 'gan'"):
        load_checkpoint(path, "gan")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated, corrupted"):
        load_checkpoint(path, "dcgan")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nothing.pt")


def test_checkpoint_refuses_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": 1, "model": "gan", "f": os.system}, path)  # weights_only must refuse a callable
    with pytest.raises(CheckpointError, match="not a gan_tutor checkpoint|truncated, corrupted"):
        load_checkpoint(path, "gan")


def test_checkpoint_of_other_architecture(tmp_path):
    tiny_run(tmp_path, 10)
    data = torch.rand(96, 1, 4, 4) * 2 - 1
    G, D = gan.Generator(8, (32,), (1, 4, 4)), gan.Discriminator((1, 4, 4), (16,), dropout=0.3)
    loop = train.GANLoop(z_dim=8, batch_size=16, real_label=0.9, ema_decay=0.9, n_fixed=4)
    with pytest.raises(CheckpointError, match="does not fit this model"):
        train.fit_gan(G, D, data, loop, lr_g=2e-3, lr_d=2e-3, device="cpu", run_dir=tmp_path, steps=20,
                      log_every=5, snapshot_every=10, checkpoint_every=EVERY, progress=False)


class NaNAfter(torch.nn.Module):
    """A discriminator whose logits turn NaN from its ``bad``-th call on."""

    def __init__(self, bad):
        super().__init__()
        self.lin, self.calls, self.bad = torch.nn.Linear(16, 1), 0, bad

    def forward(self, x):
        self.calls += 1
        out = self.lin(x.flatten(1)).squeeze(1)
        return out * float("nan") if self.calls >= self.bad else out


def test_nan_guard_names_loss_and_step_and_keeps_checkpoint(tmp_path):
    data = torch.rand(64, 1, 4, 4) * 2 - 1
    loop = train.GANLoop(z_dim=4, batch_size=8)
    # 3 calls of D per step (real, fake in the D step; fake in the G step): call 19 is in step 7's D step
    D = NaNAfter(bad=19)
    with pytest.raises(train.TrainingDiverged, match=r"loss_d became nan at step 7.*learning rate.*step 5\) is kept"):
        train.fit_gan(gan.Generator(4, (8,), (1, 4, 4)), D, data, loop, device="cpu", run_dir=tmp_path,
                      steps=20, checkpoint_every=5, progress=False)
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME, "gan")["state"]["step"] == 5


def test_seconds_budget_stops_and_needs_a_budget(tmp_path):
    data = torch.rand(32, 1, 4, 4) * 2 - 1
    loop = train.GANLoop(z_dim=4, batch_size=8)
    G, D = gan.Generator(4, (8,), (1, 4, 4)), gan.Discriminator((1, 4, 4), (8,))
    s = train.fit_gan(G, D, data, loop, device="cpu", seconds=0.3, progress=False)
    assert s.step > 0 and not s.interrupted

    def runaway(state):
        if state.step > 20_000:
            raise AssertionError("the seconds budget did not stop the run")

    # checkpoints every step must not restart the budget's clock
    s2 = train.fit_gan(G, D, data, loop, device="cpu", seconds=0.3, checkpoint_every=1, run_dir=tmp_path,
                       steps=10**9, hooks=[runaway], progress=False)
    assert 0 < s2.step < 20_000 and s2.seconds == pytest.approx(0.3, abs=0.3)
    with pytest.raises(ValueError, match="give a budget"):
        train.fit_gan(G, D, data, loop, device="cpu", progress=False, state=s)


def test_checkpoint_carries_the_seconds_the_run_reports(tmp_path):
    # the last step is a checkpoint step, and time passes after it (a hook): the checkpoint must still hold the
    # final seconds, the figure the notebook prints and the leaderboard reads (models.training_cost)
    import time

    data = torch.rand(32, 1, 4, 4) * 2 - 1
    G, D = gan.Generator(4, (8,), (1, 4, 4)), gan.Discriminator((1, 4, 4), (8,))
    slow = lambda state: time.sleep(0.05)  # noqa: E731
    s = train.fit_gan(G, D, data, train.GANLoop(z_dim=4, batch_size=8), device="cpu", steps=4, checkpoint_every=2,
                      run_dir=tmp_path, hooks=[slow], progress=False)
    assert s.seconds >= 0.2
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME, "gan")["state"]["seconds"] == s.seconds


def test_fused_adam():
    opt = train.make_adam(torch.nn.Linear(2, 2).parameters(), 1e-3)
    assert opt.defaults["fused"] is True and opt.defaults["betas"] == (0.5, 0.999)


def test_fit_likelihood_learns_and_logs_every_entry(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(256, 3)
    data = torch.cat([x, x @ torch.tensor([[1.0], [-2.0], [0.5]])], 1)

    def loss_fn(net, batch):
        err = net(batch[:, :3]) - batch[:, 3:]
        return {"loss": err.pow(2).mean(), "max_err": err.abs().max()}

    s = train.fit_likelihood(torch.nn.Linear(3, 1), data, loss_fn, lr=0.05, batch_size=32, model="linreg",
                             device="cpu", steps=300, log_every=50, run_dir=tmp_path, progress=False)
    assert s.history["loss"][-1] == pytest.approx(0.0, abs=1e-4)
    assert set(s.history) == {"step", "loss", "max_err"}
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME, "linreg")["state"]["step"] == 300


class TinyCondG(torch.nn.Module):
    def __init__(self, z_dim=4, n_classes=3):
        super().__init__()
        self.embed, self.lin = torch.nn.Embedding(n_classes, 4), torch.nn.Linear(z_dim + 4, 16)

    def forward(self, z, y):
        return torch.tanh(self.lin(torch.cat([z, self.embed(y)], 1))).view(-1, 1, 4, 4)


class TinyCondD(torch.nn.Module):
    def __init__(self, n_classes=3):
        super().__init__()
        self.embed, self.lin = torch.nn.Embedding(n_classes, 4), torch.nn.Linear(16 + 4, 1)
        self.seen = []

    def forward(self, x, y):
        self.seen.append(y.detach().clone())
        return self.lin(torch.cat([x.flatten(1), self.embed(y)], 1)).squeeze(1)


def test_conditional_run_passes_labels_and_resumes_bit_exact(tmp_path):
    data = torch.rand(48, 1, 4, 4) * 2 - 1
    labels = torch.arange(48) % 3

    def run(run_dir, steps, hooks=()):
        torch.manual_seed(0)
        loop = train.GANLoop(z_dim=4, batch_size=8, n_classes=3, n_fixed=6)
        return train.fit_gan(TinyCondG(), TinyCondD(), data, loop, labels=labels, device="cpu", run_dir=run_dir,
                             steps=steps, checkpoint_every=5, snapshot_every=5, progress=False, hooks=hooks)

    ref = run(tmp_path / "ref", 12)
    D = ref.modules["D"]
    # per step D sees real labels (from the data), then fake labels twice (D step, G step), all in 0..2
    real_seen = D.seen[0::3]
    assert all(((y >= 0) & (y < 3)).all() for y in D.seen)
    assert torch.equal(ref.fixed["y"], torch.tensor([0, 1, 2, 0, 1, 2]))
    first_batch = ref.batches.__class__(48, 8, 0).next_indices()
    assert torch.equal(real_seen[0], labels[first_batch])
    assert torch.equal(D.seen[1], D.seen[2])  # the G step judges the same fake labels as the D step

    def stop(state):
        if state.step == 7:
            os.kill(os.getpid(), signal.SIGINT)

    assert run(tmp_path / "cut", 12, hooks=[stop]).step == 7
    assert_same_run(ref, run(tmp_path / "cut", 12))
    with pytest.raises(ValueError, match="needs labels"):
        train.fit_gan(TinyCondG(), TinyCondD(), data, train.GANLoop(z_dim=4, batch_size=8, n_classes=3),
                      device="cpu", steps=1, progress=False)
    with pytest.raises(ValueError, match=r"classes 0..2"):
        train.fit_gan(TinyCondG(), TinyCondD(), data, train.GANLoop(z_dim=4, batch_size=8, n_classes=3),
                      labels=labels + 1, device="cpu", steps=1, progress=False)
