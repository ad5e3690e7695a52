"""The models the CLI can train and sample, by name, and the glue that trains and samples them.

Each model lives in its own module (``gan_tutor.gan``, later ``dcgan``, ``cgan``, ...) exposing

* ``TIERS`` / ``tier_config(tier, **overrides)``: a typed config dataclass per tier, with an
  ``identity()`` (what a run folder is tied to) and the fields ``z_dim``, ``batch_size``, ``seed``,
  ``lr_g``, ``lr_d``, ``betas``, ``real_label``, ``ema_decay``, ``steps``, ``snapshot_every``,
  ``image_shape`` (and ``n_classes`` for conditional models);
* ``build(cfg) -> (G, D)``.

A config with ``clusters`` > 0 (and ``cluster_method``) is self-conditioned: :meth:`ModelSpec.train` labels the
training images with ``cgan.cluster_labels`` (never with the dataset's labels) and G samples clusters from their
training frequencies.

A likelihood model (the VAE) instead has ``build(cfg) -> net`` with ``net.sample(n, generator)`` and
``loss_fn(cfg)``, the per-batch loss :func:`gan_tutor.train.fit_likelihood` minimises; its config has
``lr`` in place of the two players' rates.

A new model registers with one line in ``MODELS``; nothing is imported until it is used.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from gan_tutor.checkpoint import CHECKPOINT_NAME, load_checkpoint
from gan_tutor.train import (GANLoop, TrainState, check_labels, fit_gan, fit_likelihood, pick_device, seed_everything, snapshot,
                             validate_images)

# name -> (module, one line for `python -m gan_tutor --help`)
MODELS: dict[str, tuple[str, str]] = {
    "gan": ("gan_tutor.gan", "vanilla MLP GAN (Goodfellow et al. 2014), notebook 02"),
    "dcgan": ("gan_tutor.dcgan", "DCGAN (Radford et al. 2015), notebook 03"),
    "cgan": ("gan_tutor.cgan", "conditional DCGAN, concat or projection D (Mirza & Osindero 2014; Miyato & Koyama 2018), notebook 04"),
    "stylegan": ("gan_tutor.stylegan", "StyleGAN2-lite: mapping network, modulated convolutions, skip G, R1 (Karras et al. 2019, 2020), notebook 06"),
    "vae": ("gan_tutor.vae", "variational autoencoder, Bernoulli decoder on binarised pixels (Kingma & Welling 2014), notebook 05"),
}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    module: ModuleType

    @property
    def likelihood(self) -> bool:
        """Trained by minimising one loss (``module.loss_fn``), not as a two-player game."""
        return hasattr(self.module, "loss_fn")

    @property
    def conditional(self) -> bool:
        return "n_classes" in {f.name for f in dataclasses.fields(self.module.TIERS["smoke"])}

    def config(self, tier: str, **overrides):
        return self.module.tier_config(tier, **overrides)

    def config_from_identity(self, identity: dict[str, Any]):
        """Rebuild the config dataclass from a checkpoint's saved identity (lists back to tuples)."""
        cls = type(self.module.TIERS["smoke"])
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in identity.items() if k in fields}
        return cls(**values)

    def loop(self, cfg) -> GANLoop:
        n_classes = getattr(cfg, "n_classes", None) or getattr(cfg, "clusters", 0) or None  # labels or cluster ids
        return GANLoop(z_dim=cfg.z_dim, batch_size=cfg.batch_size, seed=cfg.seed, real_label=cfg.real_label,
                       ema_decay=cfg.ema_decay, n_classes=n_classes,
                       loss=getattr(cfg, "loss", "logistic"), augment=getattr(cfg, "augment", ""),
                       saturating=getattr(cfg, "saturating", False), r1_gamma=getattr(cfg, "r1_gamma", 0.0),
                       r1_every=getattr(cfg, "r1_every", 16), pl_weight=getattr(cfg, "pl_weight", 0.0),
                       pl_every=getattr(cfg, "pl_every", 4))

    def train(self, cfg, images: torch.Tensor, labels: torch.Tensor | None = None, *, data: str, run_dir=None,
              steps: int | None = None, seconds: float | None = None, device="auto", **fit_kwargs) -> TrainState:
        """Train on ``images`` (N, *cfg.image_shape) in [0, 1] of dataset ``data``; returns the final TrainState.

        The dataset's name is part of the run's identity: a run folder never resumes on other data.
        """
        validate_images(images, cfg.image_shape, (0.0, 1.0), "training images")
        budget = dict(steps=steps if steps is not None or seconds is not None else cfg.steps, seconds=seconds,
                      snapshot_every=cfg.snapshot_every)
        if self.likelihood:
            seed_everything(cfg.seed)
            net = self.module.build(cfg)
            z = torch.randn(64, net.z_dim, generator=torch.Generator().manual_seed(cfg.seed))

            def snapshot_fn(s: TrainState) -> torch.Tensor:  # the decoder's means for a fixed batch of z
                net = s.modules["net"]
                return net.decode(z.to(next(net.parameters()).device)).float().cpu()

            return fit_likelihood(net, images, self.module.loss_fn(cfg), lr=cfg.lr, batch_size=cfg.batch_size, seed=cfg.seed,
                                  model=self.name, config={**cfg.identity(), "data": data}, device=device, run_dir=run_dir,
                                  snapshot_fn=snapshot_fn, **budget, **fit_kwargs)
        if getattr(cfg, "clusters", 0):  # self-conditioning (DCGAN, StyleGAN-lite): cluster ids found without the labels
            from gan_tutor.cgan import cluster_labels

            labels = cluster_labels(images, cfg.clusters, cfg.seed, method=cfg.cluster_method)
        seed_everything(cfg.seed)  # initial weights depend on the seed alone, not on what ran before
        G, D = self.module.build(cfg)
        if labels is not None and hasattr(G, "set_prior"):
            G.set_prior(labels)
        return fit_gan(G, D, images * 2 - 1, self.loop(cfg), lr_g=cfg.lr_g, lr_d=cfg.lr_d, betas=cfg.betas,
                       labels=labels, model=self.name, config={**cfg.identity(), "data": data}, device=device, run_dir=run_dir,
                       **budget, **fit_kwargs)

    def load_generator(self, run_dir: str | Path, device="cpu"):
        """(G, cfg) from a run folder's checkpoint, with the EMA weights when the run kept them (a
        likelihood model: the whole net, which samples from its prior)."""
        state = load_checkpoint(Path(run_dir) / CHECKPOINT_NAME, self.name)
        cfg = self.config_from_identity(state["config"])
        weights = state["state"]["modules"]
        if self.likelihood:
            G = self.module.build(cfg)
            G.load_state_dict(weights["net"])
        else:
            G, _ = self.module.build(cfg)
            G.load_state_dict(weights.get("G_ema", weights["G"]))
        return G.to(pick_device(device)).eval(), cfg

    @torch.no_grad()
    def sample(self, G, cfg, n: int, label=None, seed: int = 0, batch_size: int = 500) -> dict[str, torch.Tensor]:
        """{"images": (n, C, H, W) in [0, 1]} (+ "labels" (n,) for conditional models).

        ``label``: conditional models only; one class for every sample (an int), or one per sample (an
        integer tensor or sequence of length ``n``); by default the classes in turn, 0, 1, ..., K-1, 0, ...
        """
        if n < 1:
            raise ValueError(f"--n must be at least 1, got {n}.")
        n_classes = getattr(cfg, "n_classes", None)
        if label is not None and not n_classes:
            raise ValueError(f"'{self.name}' is unconditional: it cannot generate a chosen digit; drop --label "
                             "(or train a conditional model such as cgan).")
        device = next(G.parameters()).device
        # Draws a model makes from the global random stream (StyleGAN's noise inputs) depend on the seed alone too,
        # and the caller's stream is left as it was.
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            return self._sample(G, cfg, n, n_classes, label, torch.Generator(device=device).manual_seed(seed), batch_size)

    def _sample(self, G, cfg, n: int, n_classes, label, g: torch.Generator, batch_size: int) -> dict[str, torch.Tensor]:
        device = g.device
        if self.likelihood:  # from the prior, in batches
            return {"images": torch.cat([G.sample(min(batch_size, n - i), g).float().cpu() for i in range(0, n, batch_size)])}
        z = torch.randn(n, cfg.z_dim, generator=g, device=device)
        y = None
        if getattr(cfg, "clusters", 0):  # self-conditioned: clusters drawn from their training frequencies
            y = G.sample_labels(n, g)
        elif n_classes:
            if label is None:
                y = torch.arange(n) % n_classes
            elif isinstance(label, int) and not isinstance(label, bool):
                y = torch.full((n,), label, dtype=torch.int64)
            else:
                y = label if isinstance(label, torch.Tensor) else torch.as_tensor(label)
            check_labels(y, n_classes, n)
            y = y.to(device, torch.int64)
        parts = [snapshot(G, z[i:i + batch_size], None if y is None else y[i:i + batch_size]) for i in range(0, n, batch_size)]
        out = {"images": torch.cat(parts).float()}
        if n_classes:
            out["labels"] = y.cpu()
        return out


def get_model(name: str) -> ModelSpec:
    """The registered model ``name``; an unknown name lists the valid ones."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}: choose one of {', '.join(sorted(MODELS))}.")
    return ModelSpec(name, importlib.import_module(MODELS[name][0]))


def model_of_run(run_dir: str | Path) -> str:
    """The model name a run folder's checkpoint was written by."""
    return load_checkpoint(Path(run_dir) / CHECKPOINT_NAME)["model"]


def sample_run(run_dir: str | Path, n: int, label=None, seed: int = 0, device="cpu") -> dict[str, torch.Tensor]:
    """``n`` samples of the model in a run folder (EMA weights when kept), as ``python -m gan_tutor sample`` writes them:
    {"images": (n, C, H, W) in [0, 1]} (+ "labels" for conditional models; ``label`` as in :meth:`ModelSpec.sample`)."""
    spec = get_model(model_of_run(run_dir))
    G, cfg = spec.load_generator(run_dir, device)
    return spec.sample(G, cfg, n, label, seed)


def training_cost(run_dir: str | Path) -> tuple[int, float]:
    """(steps, seconds of training over all sessions) of the run in a folder, from its checkpoint."""
    state = load_checkpoint(Path(run_dir) / CHECKPOINT_NAME)["state"]
    return int(state["step"]), float(state["seconds"])
