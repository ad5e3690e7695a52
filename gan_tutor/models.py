"""The models the CLI can train and sample, by name, and the glue that trains and samples each kind of model.

A model registers with one line in ``MODELS``: its module, its :class:`Kind` and a line of help; a model's module
is imported when the model is used. Several recipes of one module register as several names, each with a
``preset`` of config fields (notebook 08's five recipes, ``stability.VARIANTS``). The module exposes

* a config dataclass with tier presets: ``TIERS`` and ``tier_config(tier, **overrides)``; the config subclasses
  the base its kind reads (:data:`KIND_CONFIG`: ``config.AdversarialConfig``, ``config.LikelihoodConfig`` or
  ``config.TranslationConfig``);
* ``build(cfg)``: ``(G, D)`` for an adversarial model; one network with ``decode(z)``, ``sample(n, generator)``
  and ``z_dim`` for a likelihood model, which also exposes ``loss_fn(cfg)``, the per-batch loss to minimise.

Every kind trains through the one loop (``gan_tutor.train.fit``): adversarial models through ``fit_gan``,
likelihood models through ``fit_likelihood``, translation models (notebook 09: ``build(cfg)`` returns every network
and image pool by name) through ``fit_translation``. A new kind (a model of token sequences) adds a member to
:class:`Kind`, its config base to ``gan_tutor.config`` and a :class:`KindOps` of three functions (train, load, sample)
to :data:`KINDS`; CONTRIBUTING.md lists the steps.

A config with ``clusters`` > 0 is self-conditioned: :meth:`ModelSpec.train` labels the training images with
``selfcond.cluster_labels`` (never with the dataset's labels) and G samples clusters from their training
frequencies.
"""

from __future__ import annotations

import enum
import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import torch

from gan_tutor.checkpoint import CheckpointError, checkpoint_path, load_checkpoint
from gan_tutor.config import AdversarialConfig, LikelihoodConfig, RunConfig, TranslationConfig, check_seed
from gan_tutor.env import pick_device, seeded
from gan_tutor.gan_step import generator_inputs, snapshot, standing_statistics
from gan_tutor.images import check_images
from gan_tutor.train import GANLoop, TrainState, fit_gan, fit_likelihood, fit_translation


class Kind(enum.Enum):
    """How a model trains: the loop it goes through and what its checkpoint holds."""

    ADVERSARIAL = "adversarial"  # G and D play the GAN game (fit_gan); the checkpoint holds G, D (and G_ema)
    LIKELIHOOD = "likelihood"  # one network minimises one loss (fit_likelihood); the checkpoint holds net
    TRANSLATION = "translation"  # maps images of one domain to another (fit_translation); G, F, discriminators, pools


# The config base each kind reads its fields from.
KIND_CONFIG: dict[Kind, type[RunConfig]] = {Kind.ADVERSARIAL: AdversarialConfig, Kind.LIKELIHOOD: LikelihoodConfig,
                                             Kind.TRANSLATION: TranslationConfig}


@dataclass(frozen=True)
class Registration:
    module: str
    kind: Kind
    help: str
    preset: tuple[tuple[str, Any], ...] = ()  # config fields this name sets on every tier (one module, several recipes)


def _stability(name: str, what: str) -> Registration:
    """One of notebook 08's compared recipes: ``stability.VARIANTS[name]`` on the module's tiers."""
    from gan_tutor.stability import VARIANTS

    return Registration("gan_tutor.stability", Kind.ADVERSARIAL, f"{what}, notebook 08", tuple(VARIANTS[name].items()))


# name -> where it lives, how it trains, one line for `python -m gan_tutor --help`
MODELS: dict[str, Registration] = {
    "gan": Registration("gan_tutor.gan", Kind.ADVERSARIAL, "vanilla MLP GAN (Goodfellow et al. 2014), notebook 02"),
    "dcgan": Registration("gan_tutor.dcgan", Kind.ADVERSARIAL, "DCGAN (Radford et al. 2015), notebook 03"),
    "cgan": Registration("gan_tutor.cgan", Kind.ADVERSARIAL,
                         "conditional DCGAN, concat or projection D (Mirza & Osindero 2014; Miyato & Koyama 2018), notebook 04"),
    "stylegan": Registration("gan_tutor.stylegan", Kind.ADVERSARIAL,
                             "StyleGAN2-lite: mapping network, modulated convolutions, skip G, R1 (Karras et al. 2019, 2020), notebook 06"),
    "vae": Registration("gan_tutor.vae", Kind.LIKELIHOOD,
                        "variational autoencoder, Bernoulli decoder on binarised pixels (Kingma & Welling 2014), notebook 05"),
    "gan-logistic": _stability("gan-logistic", "notebook 02's MLP GAN and recipe, logistic loss (the baseline)"),
    "sngan": _stability("sngan", "the same with the hinge loss and a spectral-norm D (Miyato et al. 2018)"),
    "wgan": _stability("wgan", "the same as a Wasserstein GAN: weight clipping, 5 critic steps (Arjovsky et al. 2017)"),
    "wgan-gp": _stability("wgan-gp", "the same as a Wasserstein GAN: gradient penalty, 5 critic steps (Gulrajani et al. 2017)"),
    "gan-r1": _stability("gan-r1", "the logistic baseline + R1 on D, gamma 0.1 (Mescheder et al. 2018)"),
    "cyclegan": Registration("gan_tutor.cyclegan", Kind.TRANSLATION,
                             "CycleGAN between the data (A) and uci-digits (B), unpaired (Zhu et al. 2017), notebook 09"),
    "pix2pix": Registration("gan_tutor.cyclegan", Kind.TRANSLATION,
                            "pix2pix on synthetic pairs (uci-like -> the data) (Isola et al. 2017), notebook 09",
                            (("method", "pix2pix"),)),
}


def gan_loop(cfg: AdversarialConfig) -> GANLoop:
    """The loop settings of an adversarial config: labels (n_classes) or cluster ids (clusters) make it conditional."""
    return GANLoop(z_dim=cfg.z_dim, batch_size=cfg.batch_size, seed=cfg.seed, real_label=cfg.real_label,
                   ema_decay=cfg.ema_decay, n_classes=cfg.n_classes or cfg.clusters or None, loss=cfg.loss,
                   augment=cfg.augment, saturating=cfg.saturating, r1_gamma=cfg.r1_gamma, r1_every=cfg.r1_every,
                   pl_weight=cfg.pl_weight, pl_every=cfg.pl_every, n_critic=cfg.n_critic, gp_lambda=cfg.gp_lambda,
                   clip=cfg.clip)


# --- adversarial models ------------------------------------------------------------------------------


def _train_adversarial(spec: ModelSpec, cfg: AdversarialConfig, images: torch.Tensor, labels: torch.Tensor | None,
                       identity: dict[str, Any], budget: dict[str, Any], **fit_kwargs) -> TrainState:
    if cfg.clusters:  # self-conditioning (DCGAN, StyleGAN-lite): cluster ids found without the labels
        from gan_tutor.selfcond import cluster_labels

        labels = cluster_labels(images, cfg.clusters, cfg.seed, method=cfg.cluster_method)
    elif not cfg.n_classes:
        labels = None
    with seeded(cfg.seed):  # initial weights depend on the seed alone, not on what ran before
        G, D = spec.module.build(cfg)
    if labels is not None and hasattr(G, "set_prior"):
        G.set_prior(labels)
    return fit_gan(G, D, images * 2 - 1, gan_loop(cfg), lr_g=cfg.lr_g, lr_d=cfg.lr_d, betas=cfg.betas, labels=labels,
                   model=spec.name, config=identity, **budget, **fit_kwargs)


def _load_adversarial(spec: ModelSpec, cfg: AdversarialConfig, weights: dict[str, Any], identity: dict[str, Any] | None = None) -> torch.nn.Module:
    G, _ = spec.module.build(cfg)
    G.load_state_dict(weights.get("G_ema", weights["G"]))
    return G


def _sample_adversarial(G, cfg: AdversarialConfig, n: int, label, g: torch.Generator, batch_size: int) -> dict[str, torch.Tensor]:
    z, y = generator_inputs(G, cfg, n, g, label)
    parts = [snapshot(G, z[i:i + batch_size], None if y is None else y[i:i + batch_size]) for i in range(0, n, batch_size)]
    out = {"images": torch.cat(parts).float()}
    if cfg.n_classes:
        out["labels"] = y.cpu()
    return out


# --- likelihood models -------------------------------------------------------------------------------


def _train_likelihood(spec: ModelSpec, cfg: LikelihoodConfig, images: torch.Tensor, labels: torch.Tensor | None,
                      identity: dict[str, Any], budget: dict[str, Any], **fit_kwargs) -> TrainState:
    with seeded(cfg.seed):  # initial weights depend on the seed alone
        net = spec.module.build(cfg)
    z = torch.randn(64, net.z_dim, generator=torch.Generator().manual_seed(cfg.seed))

    def snapshot_fn(s: TrainState) -> torch.Tensor:  # the decoder's means for a fixed batch of z
        net = s.modules["net"]
        return net.decode(z.to(next(net.parameters()).device)).float().cpu()

    return fit_likelihood(net, images, spec.module.loss_fn(cfg), lr=cfg.lr, batch_size=cfg.batch_size, seed=cfg.seed,
                          model=spec.name, config=identity, snapshot_fn=snapshot_fn, **budget, **fit_kwargs)


def _load_likelihood(spec: ModelSpec, cfg: LikelihoodConfig, weights: dict[str, Any], identity: dict[str, Any] | None = None) -> torch.nn.Module:
    net = spec.module.build(cfg)
    net.load_state_dict(weights["net"])
    return net


def _sample_likelihood(net, cfg: LikelihoodConfig, n: int, label, g: torch.Generator, batch_size: int) -> dict[str, torch.Tensor]:
    # from the prior, in batches
    return {"images": torch.cat([net.sample(min(batch_size, n - i), g).float().cpu() for i in range(0, n, batch_size)])}


# --- translation models ------------------------------------------------------------------------------


def _train_translation(spec: ModelSpec, cfg: TranslationConfig, images: torch.Tensor, labels: torch.Tensor | None,
                       identity: dict[str, Any], budget: dict[str, Any], **fit_kwargs) -> TrainState:
    from gan_tutor.data import load_dataset

    mod = spec.module
    if identity.get("data") == cfg.domain_b:
        raise ValueError(f"domain A (the data, {cfg.domain_b}) and domain B (domain_b) are the same dataset: translate "
                         "between two, e.g. --data mnist-5k with domain_b uci-digits.")
    images_b = check_images(load_dataset(cfg.domain_b, "train").images, cfg.image_shape,
                            what=f"domain B ({cfg.domain_b}) images")  # labels are never used in training
    if budget["steps"] is not None and cfg.schedule_steps and budget["steps"] > cfg.schedule_steps:
        raise ValueError(f"the learning rate reaches 0 at step {cfg.schedule_steps} (schedule_steps): ask for at most "
                         f"{cfg.schedule_steps} steps, or train a new run with schedule_steps={budget['steps']}.")
    with seeded(cfg.seed):  # initial weights depend on the seed alone
        modules = mod.build(cfg)
    fixed_b = images_b[:32] * 2 - 1  # the snapshots: B's first training digits, translated into A
    if cfg.method == "pix2pix":
        tensors, step = mod.training_pairs(cfg, images), mod.pix2pix_step(cfg)
        snap = lambda m, x: (m["G"](x) + 1) / 2  # noqa: E731
    else:
        device = pick_device(fit_kwargs.get("device", "auto"))
        tensors, step = (images * 2 - 1,), mod.cyclegan_step(cfg, (images_b * 2 - 1).to(device))
        snap = lambda m, x: (m["F"](x) + 1) / 2  # noqa: E731

    def snapshot(m, x):
        with torch.no_grad():
            return snap(m, x)

    return fit_translation(modules, step, tensors, optimised=mod.optimised(cfg), lr=cfg.lr, betas=cfg.betas,
                           schedule_steps=cfg.schedule_steps, batch_size=cfg.batch_size, seed=cfg.seed, fixed=fixed_b,
                           snapshot=snapshot, model=spec.name, config=identity, **budget, **fit_kwargs)


def _load_translation(spec: ModelSpec, cfg: TranslationConfig, weights: dict[str, Any], identity: dict[str, Any] | None = None) -> torch.nn.Module:
    return spec.module.translator(cfg, weights, (identity or {}).get("data", "mnist-5k"))


def _sample_translation(G, cfg: TranslationConfig, n: int, label, g: torch.Generator, batch_size: int) -> dict[str, torch.Tensor]:
    raise ValueError("a translation model maps images of one domain to the other instead of sampling noise: use "
                     "`python -m gan_tutor translate RUN --data uci-digits --split test --out FILE.npz`.")


@dataclass(frozen=True)
class KindOps:
    """What the registry does with a model of one kind: train it, load its sampler from a checkpoint, sample it."""

    train: Callable[..., TrainState]
    load: Callable[..., torch.nn.Module]
    sample: Callable[..., dict[str, torch.Tensor]]


KINDS: dict[Kind, KindOps] = {
    Kind.ADVERSARIAL: KindOps(_train_adversarial, _load_adversarial, _sample_adversarial),
    Kind.LIKELIHOOD: KindOps(_train_likelihood, _load_likelihood, _sample_likelihood),
    Kind.TRANSLATION: KindOps(_train_translation, _load_translation, _sample_translation),
}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    module: ModuleType
    kind: Kind

    @property
    def config_class(self) -> type[RunConfig]:
        return type(self.module.TIERS["smoke"])

    @property
    def conditional(self) -> bool:
        """Generates a chosen class on demand (trained on the dataset's labels)."""
        smoke = self.module.TIERS["smoke"]
        return isinstance(smoke, AdversarialConfig) and smoke.n_classes > 0

    @property
    def preset(self) -> dict[str, Any]:
        """The config fields this model name fixes on top of its module's tiers (notebook 08's recipes)."""
        return dict(MODELS[self.name].preset) if self.name in MODELS else {}

    def config(self, tier: str, **overrides) -> RunConfig:
        return self.module.tier_config(tier, **{**self.preset, **overrides})

    def config_from_identity(self, identity: dict[str, Any]) -> RunConfig:
        """Rebuild the config from a checkpoint's saved identity: the config's fields, the dataset's name and, for
        adversarial runs, the loop settings ``fit_gan`` derived from them (``loop``)."""
        return self.config_class.from_identity({k: v for k, v in identity.items() if k not in ("data", "loop")})

    def train(self, cfg: RunConfig, images: torch.Tensor, labels: torch.Tensor | None = None, *, data: str, run_dir=None,
              steps: int | None = None, seconds: float | None = None, device="auto", **fit_kwargs) -> TrainState:
        """Train on ``images`` (N, *cfg.image_shape) in [0, 1] of dataset ``data``; returns the final TrainState.

        The dataset's name is part of the run's identity: a run folder never resumes on other data.
        """
        images = check_images(images, cfg.image_shape, what="training images")
        # steps are the tier's unless given; seconds cap this session as well
        budget = dict(steps=steps if steps is not None else cfg.steps, seconds=seconds, snapshot_every=cfg.snapshot_every)
        identity = {**cfg.identity(), "data": data}
        # fields added to the config after a run folder was written resume at their defaults
        defaults = type(cfg)().identity()
        return KINDS[self.kind].train(self, cfg, images, labels, identity, budget, device=device, run_dir=run_dir,
                                      config_defaults=defaults, **fit_kwargs)

    def load_generator(self, run_dir: str | Path, device="cpu", standing: bool | None = None):
        """(G, cfg) from a run folder's checkpoint, with the EMA weights when the run kept them (a
        likelihood model: the whole net, which samples from its prior).

        ``standing``: recompute the EMA generator's batch-norm statistics for its own weights
        (``gan_step.standing_statistics``, seeded by the run's seed) instead of using those copied from the raw
        generator; None: the model's choice, its module's ``STANDING_STATISTICS`` (measured per model:
        benchmarks/README.md). Runs without EMA weights are left as saved."""
        path = checkpoint_path(run_dir)
        state = load_checkpoint(path, self.name)
        cfg = self.config_from_identity(state["config"])
        try:
            G = KINDS[self.kind].load(self, cfg, state["state"]["modules"], state["config"])
        except (RuntimeError, KeyError, ValueError) as e:
            raise CheckpointError(f"{path} does not fit the '{self.name}' model its config describes "
                                  f"({' '.join(str(e).split())[:300]}): it was written by another version of gan_tutor or "
                                  "edited; train afresh into a new folder.") from None
        bad = next((k for k, t in G.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()), None)
        if bad is not None:
            raise CheckpointError(f"{path} holds non-finite weights ({bad}): the run diverged. Train it again with a "
                                  "lower learning rate, into a new folder.")
        G = G.to(pick_device(device))
        if standing is None:
            standing = getattr(self.module, "STANDING_STATISTICS", False)
        if standing and "G_ema" in state["state"]["modules"]:
            standing_statistics(G, cfg, batch_size=cfg.batch_size, seed=cfg.seed)
        return G.eval(), cfg

    @torch.no_grad()
    def sample(self, G, cfg, n: int, label=None, seed: int = 0, batch_size: int = 500) -> dict[str, torch.Tensor]:
        """{"images": (n, C, H, W) in [0, 1]} (+ "labels" (n,) for conditional models).

        ``label``: conditional models only; one class for every sample (an int), or one per sample (an
        integer tensor or sequence of length ``n``); by default the classes in turn, 0, 1, ..., K-1, 0, ...
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"--n must be a whole number >= 1, got {n!r}.")
        check_seed(seed)
        if label is not None and not self.conditional:
            raise ValueError(f"'{self.name}' is unconditional: it cannot generate a chosen digit; drop --label "
                             "(or train a conditional model such as cgan).")
        device = next(G.parameters()).device
        # Draws a model makes from the global random stream (StyleGAN's noise inputs) depend on the seed alone too,
        # and the caller's stream is left as it was.
        with seeded(seed, device):
            return KINDS[self.kind].sample(G, cfg, n, label, torch.Generator(device=device).manual_seed(seed), batch_size)


def get_model(name: str) -> ModelSpec:
    """The registered model ``name``; an unknown name lists the valid ones."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}: choose one of {', '.join(sorted(MODELS))}.")
    reg = MODELS[name]
    module = importlib.import_module(reg.module)
    base = KIND_CONFIG[reg.kind]
    if not isinstance(module.TIERS["smoke"], base):
        raise TypeError(f"model {name!r} is registered as {reg.kind.value} but its config "
                        f"{type(module.TIERS['smoke']).__name__} does not subclass {base.__name__}.")
    return ModelSpec(name, module, reg.kind)


def model_of_run(run_dir: str | Path) -> str:
    """The model name a run folder's checkpoint (or a checkpoint file) was written by."""
    return load_checkpoint(checkpoint_path(run_dir))["model"]


def sample_run(run_dir: str | Path, n: int, label=None, seed: int = 0, device="cpu") -> dict[str, torch.Tensor]:
    """``n`` samples of the model in a run folder (EMA weights when kept), as ``python -m gan_tutor sample`` writes them:
    {"images": (n, C, H, W) in [0, 1]} (+ "labels" for conditional models; ``label`` as in :meth:`ModelSpec.sample`)."""
    spec = get_model(model_of_run(run_dir))
    G, cfg = spec.load_generator(run_dir, device)
    return spec.sample(G, cfg, n, label, seed)


def training_cost(run_dir: str | Path, model: str | None = None) -> tuple[int, float]:
    """(steps, seconds of training over all sessions) of the run in a folder, from its checkpoint (checked to be
    ``model``'s when given)."""
    state = load_checkpoint(checkpoint_path(run_dir), model)["state"]
    return int(state["step"]), float(state["seconds"])
