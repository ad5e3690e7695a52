"""Notebook 08's failure-modes lab: each failure induced on purpose on notebook 01's 8-Gaussian ring, diagnosed from
measured signals, then fixed by one change, over several seeds.

A :class:`RingRecipe` is notebook 01's 2-D GAN (``gan.Generator`` / ``gan.Discriminator`` MLPs, trained by the course
loop ``train.fit_gan``) with the settings a failure or its fix changes. :func:`train_ring` trains one and records,
every ``every`` steps, the signals a practitioner reads (:class:`Signals`):

* modes covered and the share of samples within 3 standard deviations of a mode (``gan_math.mode_coverage``);
* the Fréchet distance between 2,000 generated points and the data (``metrics.frechet_distance`` on the points
  themselves: a 2-D Gaussian fit, blind to how the mass splits between modes, so read with the modes);
* D(x) and D(G(z)) from the loop's history (the critic's W1 estimate for a Wasserstein critic);
* the norm of the generator's gradient in its last step: near 0 when its loss saturates.

:data:`FAILURES` pairs each failure with its fix (one change each); :func:`lab` runs both over seeds. This module
trains through the loop, so it sits on top with it (tests/test_layout.py); what it teaches is ``gan_tutor.stability``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from gan_tutor import gan, gan_math, metrics, toy_data
from gan_tutor.env import seed_everything
from gan_tutor.train import GANLoop, TrainState, fit_gan

RING = toy_data.ring8(std=0.05)  # notebook 01's ring: radius 2, std 0.05
N_EVAL = 2000


@dataclass(frozen=True)
class RingRecipe:
    """A 2-D GAN on the ring: notebook 01's MLPs (narrower: 64 units, batch 256, for seconds per run) and loop, with
    the settings the lab changes. The defaults are notebook 01's plain recipe: logistic loss, non-saturating G loss,
    Adam(0.5, 0.999), lr 5e-4 for G and 1e-3 for D, no spectral norm."""

    name: str
    loss: str = "logistic"
    saturating: bool = False
    spectral_norm: bool = False
    lr_g: float = 5e-4
    lr_d: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1
    gp_lambda: float = 0.0
    r1_gamma: float = 0.0
    hidden: tuple[int, ...] = (64, 64, 64)
    batch_size: int = 256
    z_dim: int = 16

    def loop(self, seed: int) -> GANLoop:
        return GANLoop(z_dim=self.z_dim, batch_size=self.batch_size, seed=seed, loss=self.loss, saturating=self.saturating,
                       n_critic=self.n_critic, gp_lambda=self.gp_lambda, r1_gamma=self.r1_gamma, r1_every=1, n_fixed=N_EVAL)


# failure -> (the recipe that induces it, the fix: one change). Notebook 01's MLPs at width 64, batch 256.
STRONG_D = dict(n_critic=5, lr_d=5e-3)  # 5 D steps per G step at 5x notebook 01's learning rate
FAST = dict(lr_g=2e-3, lr_d=4e-3, betas=(0.9, 0.999))  # 4x the learning rates, and beta1 0.9 instead of 0.5
FAILURES: dict[str, tuple[RingRecipe, RingRecipe]] = {
    "mode collapse": (
        RingRecipe("plain D"),
        RingRecipe("plain D + R1 (gamma 1)", r1_gamma=1.0),
    ),
    "vanishing gradients": (
        RingRecipe("strong D, saturating loss log(1 - D(G(z)))", saturating=True, **STRONG_D),
        RingRecipe("strong D, non-saturating loss -log D(G(z))", **STRONG_D),
    ),
    "discriminator overpowers": (
        RingRecipe("strong D, non-saturating loss -log D(G(z))", **STRONG_D),
        RingRecipe("strong D as a WGAN-GP critic (lambda 1)", loss="wasserstein", gp_lambda=1.0, **STRONG_D),
    ),
    "oscillation": (
        RingRecipe("fast: lr x4, beta1 0.9", **FAST),
        RingRecipe("fast + R1 (gamma 1)", r1_gamma=1.0, **FAST),
    ),
}


@dataclass
class Signals:
    """What :func:`train_ring` measured every ``every`` steps (one entry per measurement)."""

    step: list[int] = field(default_factory=list)
    modes: list[int] = field(default_factory=list)
    high_quality: list[float] = field(default_factory=list)
    frechet: list[float] = field(default_factory=list)
    grad_g: list[float] = field(default_factory=list)

    def __call__(self, state: TrainState, every: int) -> None:
        if state.step % every:
            return
        G = state.modules["G"]
        grads = [p.grad.detach().flatten() for p in G.parameters() if p.grad is not None]
        self.grad_g.append(float(torch.cat(grads).norm()) if grads else float("nan"))
        points = ring_samples(state)
        cov = gan_math.mode_coverage(points, RING.means, RING.stds[0].item())
        self.step.append(state.step)
        self.modes.append(cov.modes_covered)
        self.high_quality.append(cov.high_quality_share)
        self.frechet.append(_frechet_2d(points))


@functools.cache
def ring_data() -> torch.Tensor:
    """The lab's training set, as notebook 01's: 20,000 ring points (seed 0), (20000, 2); drawn on first use, not at import."""
    return RING.sample(20_000, generator=torch.Generator().manual_seed(0))


def _frechet_2d(points: torch.Tensor) -> float:
    return metrics.frechet_distance(points.double(), ring_data()[:N_EVAL].double())


@torch.no_grad()
def ring_samples(state: TrainState) -> torch.Tensor:
    """G's points for the run's fixed noise batch (N_EVAL, 2), on the CPU."""
    G = state.modules["G"]
    was = G.training
    G.eval()
    out = G(state.fixed["z"]).cpu()
    G.train(was)
    return out


def train_ring(recipe: RingRecipe, seed: int, steps: int, every: int | None = None, run_dir: str | Path | None = None,
               hooks=(), progress: bool = False) -> tuple[TrainState, Signals]:
    """Train ``recipe`` on the ring for ``steps`` steps from ``seed``; signals every ``every`` steps (steps // 10)."""
    every = every or max(steps // 10, 1)
    seed_everything(seed)  # the initial weights depend on the seed alone
    G = gan.Generator(z_dim=recipe.z_dim, hidden=recipe.hidden, out_shape=(2,), tanh=False)
    D = gan.Discriminator(in_shape=(2,), hidden=recipe.hidden, spectral_norm=recipe.spectral_norm)
    signals = Signals()
    state = fit_gan(G, D, ring_data(), recipe.loop(seed), lr_g=recipe.lr_g, lr_d=recipe.lr_d, betas=recipe.betas, device="cpu",
                    model="ring-lab", config={"recipe": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(recipe).items()}},
                    run_dir=run_dir, steps=steps, log_every=max(every // 5, 1), checkpoint_every=0, progress=progress,
                    hooks=[lambda s: signals(s, every), *hooks])
    return state, signals


@dataclass
class LabRow:
    """One recipe over seeds: the last measurement of each run, each run's signals, history and final samples."""

    recipe: RingRecipe
    seeds: list[int]
    modes: list[int]
    high_quality: list[float]
    frechet: list[float]
    signals: list[Signals]
    histories: list[dict]
    points: list[torch.Tensor]  # (N_EVAL, 2) per seed: G's samples for the run's fixed noise at the end

    def summary(self) -> str:
        return (f"modes {', '.join(map(str, self.modes))} of 8; within 3 sd {', '.join(f'{100 * h:.0f}%' for h in self.high_quality)}; "
                f"FD {', '.join(f'{f:.2f}' for f in self.frechet)}")


def run_recipe(recipe: RingRecipe, seeds, steps: int, every: int | None = None, run_root: str | Path | None = None) -> LabRow:
    """``recipe`` once per seed; checkpoints under ``run_root`` (a re-run reads finished runs back)."""
    rows = []
    for seed in seeds:
        run_dir = None if run_root is None else Path(run_root) / f"{_slug(recipe.name)}_seed{seed}"
        state, sig = train_ring(recipe, seed, steps, every, run_dir)
        if not sig.step or sig.step[-1] != state.step:  # resumed finished run: measure its end once
            sig(state, 1)
        rows.append((state, sig))
    return LabRow(recipe, list(seeds), [s.modes[-1] for _, s in rows], [s.high_quality[-1] for _, s in rows],
                  [s.frechet[-1] for _, s in rows], [s for _, s in rows], [st.history for st, _ in rows],
                  [ring_samples(st) for st, _ in rows])


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")[:60]


def lab(seeds=(0, 1, 2), steps: int = 600, failures: dict[str, tuple[RingRecipe, RingRecipe]] | None = None,
        run_root: str | Path | None = None) -> dict[str, tuple[LabRow, LabRow]]:
    """Every failure of ``failures`` (default :data:`FAILURES`) and its fix, each over ``seeds``; a recipe that appears
    twice (the fix of one failure is the next failure) is trained once."""
    failures = FAILURES if failures is None else failures
    done: dict[RingRecipe, LabRow] = {}

    def row(recipe: RingRecipe) -> LabRow:
        if recipe not in done:
            done[recipe] = run_recipe(recipe, seeds, steps, run_root=run_root)
        return done[recipe]

    return {name: (row(bad), row(fix)) for name, (bad, fix) in failures.items()}


def oscillation(history: dict, key: str = "d_real") -> float:
    """The mean absolute step-to-step change of a history series (D(x) by default): how much it swings."""
    values = history.get(key, [])
    if len(values) < 2:
        return math.nan
    return sum(abs(b - a) for a, b in zip(values, values[1:])) / (len(values) - 1)
