"""The training loop, written once for every model of the course.

Every notebook and the CLI train through :func:`fit_gan` (adversarial models) or
:func:`fit_likelihood` (models with a loss of their own, e.g. the VAE). Both run the same loop,
:func:`fit`, which provides

* budgets in steps (reproducible) or wall-clock seconds (what a tier can afford);
* a ``tqdm.auto`` progress bar with live losses, a history (losses, D(x), D(G(z)) averaged over each
  ``log_every`` steps) and snapshots of a fixed noise batch, plus hooks (e.g. ``viz.LivePlot``);
* an optional EMA of the generator's weights (Karras et al. 2018, arXiv:1710.10196; Yazici et al.
  2019, arXiv:1806.04498): :math:`\\theta_{ema} \\leftarrow \\beta\\,\\theta_{ema} + (1-\\beta)\\,\\theta`;
* checkpoints every ``checkpoint_every`` steps and at the end, atomically (``gan_tutor.checkpoint``),
  holding models, optimisers, EMA, step, every RNG state, the batch order and the history: a run
  folder resumes where it stopped, and on a CPU an interrupted-then-resumed run equals an
  uninterrupted one bit for bit (tests/test_train.py proves it);
* Ctrl-C, the notebook's stop button or SIGTERM (Colab, Slurm, ``docker stop``) finishes the current step,
  saves, and returns;
* a run folder is locked while it trains (``checkpoint.run_folder_lock``): a second trainer is refused;
* a NaN/inf guard that stops with the loss, the step and the usual causes, and never saves (or returns)
  weights that went non-finite: the last good checkpoint stays.

The steps themselves are notebook 02's (``gan_tutor.gan_step``); the machine (device, seeding, autocast) is
``gan_tutor.env``. A run is seeded in one place, :func:`new_state`: the global streams, the noise generator and the
batch order all come from the run's seed there.

Speed on a CPU, measured by ``scripts/bench_loop.py`` (figures in benchmarks/README.md): the loop costs
under 5% over a hand-written loop doing the same work, and fused Adam (``make_adam``) runs the vanilla
GAN about 1.12x faster than unfused Adam on 2 cores. Mixed precision is used on CUDA only: on a CPU,
bf16 autocast slows small GANs down. Two processes that each use every core can slow a step tenfold:
the loop prints its thread count.
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import nn

from gan_tutor.augment import diff_augment, parse_policy
from gan_tutor.checkpoint import (CHECKPOINT_NAME, CheckpointError, DiskFull, config_differences, load_checkpoint, run_folder_lock,
                                  save_checkpoint, save_config)
from gan_tutor.data import BatchIterator
from gan_tutor.env import autocast_for, pick_device, seed_everything
from gan_tutor.gan_step import d_step, ema_update, g_step, pl_step, r1_step, snapshot
from gan_tutor.images import check_labels
from gan_tutor.cyclegan import linear_decay
from gan_tutor.stability import critic_step

# --------------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------------


class TrainingDiverged(FloatingPointError):
    """A loss became NaN or infinite; the message names it, the step, and the usual causes."""


@dataclass
class TrainState:
    """Everything a run holds; what :func:`fit` returns and what its checkpoints store."""

    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    batches: BatchIterator
    noise: torch.Generator  # draws z (and fake labels), separate from the global RNG
    fixed: dict[str, torch.Tensor]  # the fixed noise batch (and labels) for snapshots
    step: int = 0
    history: dict[str, list] = field(default_factory=lambda: {"step": []})
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    seconds: float = 0.0  # wall-clock training time over all sessions of this run
    interrupted: bool = False
    _acc: dict[str, list] = field(default_factory=dict)  # sums since the last history row

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "modules": {k: m.state_dict() for k, m in self.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "batches": self.batches.state_dict(),
            "rng": _rng_states(self.noise),
            "fixed": self.fixed,
            "history": self.history,
            "acc": self._acc,
            "snapshots": [[s, x] for s, x in self.snapshots],
            "seconds": self.seconds,
        }

    def load_state_dict(self, state: dict[str, Any], path: Path) -> None:
        for group, objs in (("modules", self.modules), ("optimizers", self.optimizers)):
            if set(state[group]) != set(objs):
                raise CheckpointError(f"{path} holds {group} {sorted(state[group])}, this run has {sorted(objs)}: it was written by another kind of run.")
            for k, obj in objs.items():
                try:
                    obj.load_state_dict(state[group][k])
                except (RuntimeError, ValueError, KeyError) as e:
                    raise CheckpointError(
                        f"{path}: the saved '{k}' does not fit this model ({str(e).splitlines()[0]}); "
                        "the run folder was written by a model of another size: use a new run folder."
                    ) from None
        self.step = int(state["step"])
        self.batches.load_state_dict(state["batches"])
        _set_rng_states(state["rng"], self.noise)
        self.fixed = {k: v.to(self.fixed[k].device) for k, v in state["fixed"].items()}
        self.history = state["history"]
        self._acc = state["acc"]
        self.snapshots = [(int(s), x) for s, x in state["snapshots"]]
        self.seconds = float(state["seconds"])


def _rng_states(noise: torch.Generator) -> dict[str, Any]:
    """Every random state a step can touch, as tensors and numbers (loadable weights-only)."""
    py_version, py_state, py_gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    return {
        "noise": noise.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": {"version": py_version, "state": torch.tensor(py_state, dtype=torch.int64), "gauss": py_gauss},
        "numpy": {"keys": torch.from_numpy(np_keys.astype(np.int64)), "pos": int(np_pos), "has_gauss": int(np_has_gauss), "gauss": float(np_gauss)},
    }


def _set_rng_states(rng: dict[str, Any], noise: torch.Generator) -> None:
    noise.set_state(rng["noise"])
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available() and len(rng["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(rng["cuda"])
    py = rng["python"]
    random.setstate((py["version"], tuple(py["state"].tolist()), py["gauss"]))
    n = rng["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))


class _DeferredInterrupt:
    """Turn the first Ctrl-C (or Jupyter's stop button) or SIGTERM into a flag the loop reads after each step.

    SIGTERM is what Colab, Kaggle, Slurm and ``docker stop`` send before they end a process: it is treated
    like Ctrl-C. Stopping between steps keeps models, optimisers and RNGs consistent, so the checkpoint
    written on the way out resumes exactly. A second signal of the same kind acts at once, as usual.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested = False
        self._previous: dict[int, Any] = {}

    def _handler(self, signum, frame):
        self.requested = True
        signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.getsignal(sig)
                signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)


def _non_finite(modules: dict[str, nn.Module]) -> str | None:
    """The first parameter or buffer (``"G: net.0.weight"``) that holds NaN or inf, or None."""
    for name, module in modules.items():
        for key, t in list(module.named_parameters()) + list(module.named_buffers()):
            if t.is_floating_point() and not torch.isfinite(t).all():
                return f"{name}: {key}"
    return None


def check_budget(steps: int | None, seconds: float | None) -> None:
    """A budget is total steps (an int >= 1) and/or wall-clock seconds (finite, > 0) for this session."""
    if steps is None and seconds is None:
        raise ValueError("give a budget: steps=... (total steps) and/or seconds=... (wall clock)")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ValueError(f"steps is the total number of training steps, a whole number >= 1; got {steps!r}.")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                or not math.isfinite(seconds) or seconds <= 0):
        raise ValueError(f"seconds is a wall-clock budget, a finite number > 0; got {seconds!r}.")


def _divergence_message(name: str, value: float | str, step: int, run_dir: Path | None, last_saved: int | None) -> str:
    kept = (
        f"The last good checkpoint (step {last_saved}) is kept in {run_dir}."
        if run_dir is not None and last_saved is not None
        else "No checkpoint was written (no run folder, or none saved yet)."
    )
    return (
        f"{name} became {value} at step {step}. Usual causes: a learning rate too high (try half), "
        "a discriminator far stronger than the generator (its loss near 0, D(G(z)) near 0), "
        "log(sigmoid(.)) computed directly instead of softplus/BCE-with-logits, images outside the "
        f"range the model expects, or fp16 overflow. {kept}"
    )


def fit(
    state: TrainState,
    step_fn: Callable[[TrainState, tuple[torch.Tensor, ...]], dict[str, torch.Tensor]],
    tensors: tuple[torch.Tensor, ...],
    *,
    model: str,
    config: dict[str, Any],
    steps: int | None = None,
    seconds: float | None = None,
    run_dir: str | Path | None = None,
    snapshot_fn: Callable[[TrainState], torch.Tensor] | None = None,
    log_every: int = 10,
    snapshot_every: int = 0,
    checkpoint_every: int = 500,
    hooks: Iterable[Callable[[TrainState], None]] = (),
    progress: bool = True,
    device: torch.device | None = None,
    config_defaults: dict[str, Any] | None = None,
) -> TrainState:
    """Run ``step_fn`` on minibatches of ``tensors`` until ``steps`` (total) or ``seconds`` (this call).

    ``tensors``: data held in memory, each (N, ...), indexed together by ``state.batches``.
    ``config``: the run's JSON-able identity (model, optimiser, seed, ...); resuming a run folder
    whose saved config differs is an error (a key the saved config lacks is no difference when the current value
    is its default in ``config_defaults``). ``steps``/``seconds`` are the budget, not the identity.
    """
    check_budget(steps, seconds)
    run_dir = Path(run_dir) if run_dir is not None else None
    with run_folder_lock(run_dir) if run_dir is not None else contextlib.nullcontext():  # one trainer per folder
        ckpt_path = run_dir / CHECKPOINT_NAME if run_dir is not None else None
        last_saved = None
        if ckpt_path is not None and ckpt_path.exists():
            saved = load_checkpoint(ckpt_path, model)
            diff = config_differences(saved["config"], config, config_defaults)
            if diff:
                raise CheckpointError(
                    f"{run_dir} holds a run with another config ({'; '.join(diff)}). Resume it with the same "
                    "config, or give this run a new folder (--out / run_dir)."
                )
            state.load_state_dict(saved["state"], ckpt_path)
            last_saved = state.step
            print(f"resuming '{model}' from {ckpt_path} at step {state.step}")
        elif run_dir is not None:
            save_config(run_dir, {"model": model, **config})

        def save(final: bool = False) -> None:
            """Checkpoint the state, unless its weights went non-finite: those are never saved (nor returned).
            ``final``: written even if this step was checkpointed already, so that the checkpoint's seconds are the
            session's last (what the caller prints, and what ``models.training_cost`` reads, are then one figure)."""
            nonlocal last_saved
            bad = _non_finite(state.modules)
            if bad is not None:
                raise TrainingDiverged(_divergence_message(f"the weights ({bad})", "non-finite", state.step, run_dir, last_saved))
            if ckpt_path is not None and (final or last_saved != state.step):
                try:
                    save_checkpoint(ckpt_path, {"config": config, "state": state.state_dict()}, model)
                except DiskFull as e:
                    kept = f"the last checkpoint (step {last_saved}) is intact" if last_saved is not None else "no checkpoint was written yet"
                    raise DiskFull(f"{e} Training stopped at step {state.step}; {kept}; run again to resume.") from e
                last_saved = state.step

        device = device or torch.device("cpu")
        if steps is not None and state.step >= steps:
            print(f"'{model}' is at step {state.step}, the budget is {steps} steps: nothing to train (give more steps to continue)")
            state.interrupted = False
            return state
        print(f"training '{model}' on {device} ({torch.get_num_threads()} threads) from step {state.step}"
              + (f" to {steps}" if steps is not None else "") + (f", at most {seconds:g} s" if seconds is not None else ""))
        if snapshot_fn is not None and snapshot_every and state.step == 0 and not state.snapshots:
            state.snapshots.append((0, snapshot_fn(state)))

        from tqdm.auto import tqdm

        bar = tqdm(total=steps, initial=state.step, disable=not progress, desc=model, dynamic_ncols=True)
        start = time.perf_counter()  # since the last update of state.seconds
        session_start = start  # the budget counts from here, whatever checkpoints do to `start`
        state.interrupted = False
        with _DeferredInterrupt() as interrupt:
            while (steps is None or state.step < steps) and (seconds is None or time.perf_counter() - session_start < seconds):
                idx = state.batches.next_indices()
                batch = tuple(t[idx].to(device, non_blocking=True) for t in tensors)
                stats = step_fn(state, batch)
                values = torch.stack([v.float() for v in stats.values()]).cpu()
                if not torch.isfinite(values).all():
                    bad = next(k for k, v in zip(stats, values) if not math.isfinite(v))
                    raise TrainingDiverged(_divergence_message(bad, values[list(stats).index(bad)].item(), state.step + 1, run_dir, last_saved))
                state.step += 1
                for k, v in zip(stats, values.tolist()):
                    state._acc.setdefault(k, []).append(v)
                if state.step % log_every == 0:
                    state.history["step"].append(state.step)
                    row = {k: sum(v) / len(v) for k, v in state._acc.items()}
                    for k, v in row.items():
                        state.history.setdefault(k, []).append(v)
                    state._acc = {}
                    bar.set_postfix({k: f"{v:.3f}" for k, v in row.items()}, refresh=False)
                if snapshot_fn is not None and snapshot_every and state.step % snapshot_every == 0:
                    state.snapshots.append((state.step, snapshot_fn(state)))
                for hook in hooks:
                    hook(state)
                bar.update(1)
                if checkpoint_every and state.step % checkpoint_every == 0:
                    state.seconds += time.perf_counter() - start
                    start = time.perf_counter()
                    save()
                if interrupt.requested:
                    state.interrupted = True
                    break
        bar.close()
        state.seconds += time.perf_counter() - start
        save(final=True)
        if state.interrupted:
            where = f"; checkpoint saved in {run_dir}: run again to resume" if run_dir is not None else ""
            print(f"interrupted at step {state.step}{where}")
        return state


# --------------------------------------------------------------------------------------------------
# The two front doors
# --------------------------------------------------------------------------------------------------


def make_adam(params: Iterable[nn.Parameter], lr: float, betas: tuple[float, float] = (0.5, 0.999)) -> torch.optim.Adam:
    """Adam with the fused kernel where this torch has it (CPU and CUDA since torch 2.4).

    Fused Adam updates every parameter in one kernel instead of a loop of small ops: on 2 CPU cores it
    is a large share of the 1.36x measured above. beta1 = 0.5 is the DCGAN paper's choice (Radford et
    al. 2015): beta1 = 0.9 made their training oscillate.
    """
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError, ValueError):  # e.g. MPS, or an older torch
        return torch.optim.Adam(params, lr=lr, betas=betas)



@dataclass
class GANLoop:
    """Loop settings of an adversarial run (the model's own settings live in its config)."""

    z_dim: int
    batch_size: int = 64
    seed: int = 0
    real_label: float = 1.0  # < 1: one-sided label smoothing
    saturating: bool = False  # the minimax generator loss, for demonstrations
    loss: str = "logistic"  # or "hinge" (gan_math.d_hinge_loss / g_hinge_loss)
    ema_decay: float | None = None
    n_classes: int | None = None  # conditional: G(z, y), D(x, y)
    n_fixed: int = 64
    amp: bool = True  # bf16 autocast on CUDA only
    augment: str = ""  # DiffAugment policy for D's inputs, e.g. "translation,cutout" (gan_tutor.augment)
    r1_gamma: float = 0.0  # > 0: R1 penalty gamma / 2 E||grad_x D(x)||^2 on real images (gan_math.r1_penalty)
    r1_every: int = 16  # lazy regularisation: the penalty every r1_every D steps, weighted by r1_every
    pl_weight: float = 0.0  # > 0: G's path-length penalty (G.path_length_penalty(z, y), e.g. a StyleGAN generator)
    pl_every: int = 4  # lazy, as R1: every pl_every G steps, weighted by pl_every, on half a batch
    n_critic: int = 1  # D (critic) steps per G step, each on its own real batch: a step draws n_critic batches
    gp_lambda: float = 0.0  # loss "wasserstein": weight of the gradient penalty (stability.gradient_penalty)
    clip: float = 0.0  # loss "wasserstein": clip D's weights to [-clip, clip] after each critic step

    def identity(self) -> dict[str, Any]:
        """The settings as a run folder records them; the Wasserstein settings only when used, so that run folders
        written before they existed still resume."""
        d = asdict(self)
        for k in ("n_critic", "gp_lambda", "clip"):
            if d[k] == GANLoop.__dataclass_fields__[k].default:
                del d[k]
        return d


LOOP_LOSSES = ("logistic", "hinge", "wasserstein")  # wasserstein: the critic of notebook 08 (gan_tutor.stability)


def new_state(modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer], n_data: int, batch_size: int,
              seed: int, device: torch.device,
              fixed: Callable[[torch.Generator], dict[str, torch.Tensor]] = lambda noise: {}) -> TrainState:
    """A fresh TrainState: the one place a run is seeded.

    Python's, NumPy's and torch's global streams (dropout, binarisation, a model's noise inputs), the run's
    noise generator (z, fake labels, augmentation), the batch order and ``fixed(noise)`` (the snapshot batch)
    all come from ``seed`` here, so a run depends on its seed alone.
    """
    seed_everything(seed)
    noise = torch.Generator(device=device).manual_seed(seed)
    return TrainState(modules, optimizers, BatchIterator(n_data, batch_size, seed), noise, fixed(noise))


def fit_gan(
    G: nn.Module,
    D: nn.Module,
    data: torch.Tensor,
    loop: GANLoop,
    *,
    lr_g: float = 2e-4,
    lr_d: float = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    labels: torch.Tensor | None = None,
    model: str = "gan",
    config: dict[str, Any] | None = None,
    device: str | torch.device = "auto",
    state: TrainState | None = None,
    **fit_kwargs,
) -> TrainState:
    """Train G and D adversarially on ``data`` (N, *x_shape), already in the range D expects.

    Pass ``state`` (a previous result) to continue training in memory; a ``run_dir`` resumes from disk.
    """
    if loop.loss not in LOOP_LOSSES:
        raise ValueError(f"unknown loss {loop.loss!r}: use one of {', '.join(LOOP_LOSSES)}.")
    if loop.loss == "wasserstein" and loop.augment:
        raise ValueError("DiffAugment is not wired into the Wasserstein critic's step: set augment='' for loss='wasserstein'.")
    parse_policy(loop.augment)  # an unknown augmentation fails before any training
    if loop.pl_weight > 0 and not hasattr(G, "path_length_penalty"):
        raise ValueError(f"pl_weight={loop.pl_weight} needs a generator with a path_length_penalty(z, y) method "
                         f"(a StyleGAN generator); {type(G).__name__} has none: set pl_weight=0.")
    device = pick_device(device)
    if state is None:
        G, D = G.to(device), D.to(device)
        modules = {"G": G, "D": D}
        if loop.ema_decay is not None:
            modules["G_ema"] = copy.deepcopy(G).eval().requires_grad_(False)

        def fixed(noise: torch.Generator) -> dict[str, torch.Tensor]:
            out = {"z": torch.randn(loop.n_fixed, loop.z_dim, generator=noise, device=device)}
            if loop.n_classes:
                out["y"] = torch.arange(loop.n_fixed, device=device) % loop.n_classes
            return out

        optimizers = {"G": make_adam(G.parameters(), lr_g, betas), "D": make_adam(D.parameters(), lr_d, betas)}
        # each step draws n_critic real batches at once, one per critic step
        state = new_state(modules, optimizers, len(data), loop.batch_size * loop.n_critic, loop.seed, device, fixed)
    tensors = (data,) if loop.n_classes is None else (data, labels)
    if loop.n_classes is not None:
        if labels is None:
            raise ValueError("a conditional run (n_classes set) needs labels=...")
        check_labels(labels, loop.n_classes, len(data))
    amp = lambda: autocast_for(device, loop.amp)  # noqa: E731

    def step_fn(s: TrainState, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        G, D = s.modules["G"], s.modules["D"]
        out: dict[str, torch.Tensor] = {}
        for chunk in zip(*(t.chunk(loop.n_critic) for t in batch)):  # n_critic D steps, each on its own real batch
            real = chunk[0]
            b = real.shape[0]
            z = torch.randn(b, loop.z_dim, generator=s.noise, device=device)
            y_real = chunk[1] if loop.n_classes else None
            y_fake = torch.randint(loop.n_classes, (b,), generator=s.noise, device=device) if loop.n_classes else None
            aug = (lambda x: diff_augment(x, loop.augment, s.noise)) if loop.augment else None
            if loop.loss == "wasserstein":
                c = critic_step(G, D, s.optimizers["D"], real, z, gp_lambda=loop.gp_lambda, clip=loop.clip, noise=s.noise, amp=amp)
                d_out = {"loss_d": c.loss, "w1": c.w1} | ({"gp": c.penalty} if loop.gp_lambda > 0 else {})
            else:
                d = d_step(G, D, s.optimizers["D"], real, z, loop.real_label, y_real, y_fake, amp, loop.loss, aug)
                d_out = {"loss_d": d.loss, "d_real": d.d_real, "d_fake": d.d_fake}
            for k, v in d_out.items():  # averaged over the critic steps
                out[k] = out.get(k, 0) + v / loop.n_critic
            if loop.r1_gamma > 0 and s.step % loop.r1_every == 0:
                r1_step(D, s.optimizers["D"], real, loop.r1_gamma * loop.r1_every, y_real)
        # the Wasserstein generator loss -E f(G(z)) is the hinge generator loss (gan_math.g_hinge_loss)
        g_loss = "hinge" if loop.loss == "wasserstein" else loop.loss
        g = g_step(G, D, s.optimizers["G"], z, y_fake, loop.saturating, amp, g_loss, aug)
        if loop.pl_weight > 0 and s.step % loop.pl_every == 0:
            half = max(1, b // 2)
            pl_step(G, s.optimizers["G"], z[:half], loop.pl_weight * loop.pl_every, None if y_fake is None else y_fake[:half])
        if "G_ema" in s.modules:
            ema_update(s.modules["G_ema"], G, loop.ema_decay)
        return {"loss_d": out.pop("loss_d"), "loss_g": g.loss, **out}

    def snapshot_fn(s: TrainState) -> torch.Tensor:
        return snapshot(s.modules.get("G_ema", s.modules["G"]), s.fixed["z"], s.fixed.get("y"))

    identity = {"loop": loop.identity(), "lr_g": lr_g, "lr_d": lr_d, "betas": list(betas), **(config or {})}
    return fit(state, step_fn, tensors, model=model, config=identity, snapshot_fn=snapshot_fn, device=device, **fit_kwargs)


def fit_likelihood(
    net: nn.Module,
    data: torch.Tensor,
    loss_fn: Callable[[nn.Module, torch.Tensor], dict[str, torch.Tensor]],
    *,
    lr: float = 1e-3,
    batch_size: int = 128,
    seed: int = 0,
    model: str,
    config: dict[str, Any] | None = None,
    device: str | torch.device = "auto",
    state: TrainState | None = None,
    **fit_kwargs,
) -> TrainState:
    """Train ``net`` by minimising ``loss_fn(net, batch)["loss"]`` (other entries are logged too)."""
    device = pick_device(device)
    if state is None:
        net = net.to(device)
        state = new_state({"net": net}, {"net": torch.optim.Adam(net.parameters(), lr=lr)}, len(data), batch_size, seed, device)

    def step_fn(s: TrainState, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        opt = s.optimizers["net"]
        opt.zero_grad(set_to_none=True)
        out = loss_fn(s.modules["net"], batch[0])
        out["loss"].backward()
        opt.step()
        return {k: v.detach() for k, v in out.items()}

    identity = {"lr": lr, "batch_size": batch_size, "seed": seed, **(config or {})}
    return fit(state, step_fn, (data,), model=model, config=identity, device=device, **fit_kwargs)


def fit_translation(
    modules: dict[str, nn.Module],
    step: Callable[[dict, dict, tuple, torch.Generator], dict[str, torch.Tensor]],
    tensors: tuple[torch.Tensor, ...],
    *,
    optimised: dict[str, tuple[str, ...]],
    lr: float = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    schedule_steps: int = 0,
    batch_size: int = 1,
    seed: int = 0,
    fixed: torch.Tensor,
    snapshot: Callable[[dict, torch.Tensor], torch.Tensor],
    model: str,
    config: dict[str, Any] | None = None,
    device: str | torch.device = "auto",
    **fit_kwargs,
) -> TrainState:
    """Train translation networks (notebook 09, ``gan_tutor.cyclegan``) through the loop.

    ``modules``: every network and pool by name (all are checkpointed); ``optimised``: one Adam per entry, over the
    parameters of the modules it names; ``step(modules, optimizers, batch, noise)`` does one training step on a batch
    of ``tensors`` (already on the device, in the networks' range); the learning rate follows
    ``cyclegan.linear_decay(step, schedule_steps)``. ``fixed``: source images for snapshots, ``snapshot(modules,
    fixed)`` their translations in [0, 1].
    """
    device = pick_device(device)
    modules = {k: m.to(device) for k, m in modules.items()}
    optimizers = {k: make_adam([p for name in names for p in modules[name].parameters()], lr, betas)
                  for k, names in optimised.items()}
    state = new_state(modules, optimizers, len(tensors[0]), batch_size, seed, device,
                      lambda noise: {"x": fixed.to(device)})

    def step_fn(s: TrainState, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        factor = linear_decay(s.step, schedule_steps)
        for opt in s.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = lr * factor
        return step(s.modules, s.optimizers, batch, s.noise)

    def snapshot_fn(s: TrainState) -> torch.Tensor:
        return snapshot(s.modules, s.fixed["x"]).float().cpu()

    identity = {"lr": lr, "betas": list(betas), "batch_size": batch_size, "seed": seed, **(config or {})}
    return fit(state, step_fn, tensors, model=model, config=identity, snapshot_fn=snapshot_fn, device=device, **fit_kwargs)
