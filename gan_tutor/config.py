"""Typed run configs: the fields every run has, the fields each kind of training reads, and tier presets.

A model module defines a config dataclass that subclasses :class:`AdversarialConfig` (G and D, trained as a
game), :class:`LikelihoodConfig` (one network, one loss) or :class:`TranslationConfig` (two image domains), overriding defaults and adding its own fields,
and a dict ``TIERS`` of presets; ``tier_config`` in the module is ``pick_tier(TIERS, tier, **overrides)``.
The training loop reads these fields as attributes: a field a config does not declare is an error
(``pick_tier``, :meth:`RunConfig.from_identity`), never a silent default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, TypeVar

# The budget of a run, not its identity: a run folder may be resumed with more steps.
BUDGET_FIELDS = ("steps", "snapshot_every")

C = TypeVar("C", bound="RunConfig")

MAX_SEED = 2**63 - 1  # torch's generators take 64-bit seeds


def check_seed(seed) -> int:
    """A seed is a whole number in 0..2**63 - 1."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be a whole number from 0 to 2**63 - 1, got {seed!r}.")
    return seed


@dataclass
class RunConfig:
    """What every run has. ``identity()`` is the JSON-able dict a run folder is tied to."""

    seed: int = 0
    batch_size: int = 64
    steps: int = 3000  # budget
    snapshot_every: int = 250  # budget
    image_shape: tuple[int, ...] = (1, 28, 28)  # (C, H, W) of the data, set from the dataset

    def __post_init__(self) -> None:
        check_seed(self.seed)

    def identity(self) -> dict:
        d = asdict(self)
        for k in BUDGET_FIELDS:
            d.pop(k, None)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_identity(cls: type[C], identity: dict[str, Any]) -> C:
        """The config a run folder's saved identity describes (lists back to tuples); fields saved before they
        existed take their defaults, and a saved field this config does not know is an error."""
        known = set(cls.field_names())
        unknown = sorted(set(identity) - known)
        if unknown:
            raise ValueError(f"the saved config has fields {unknown} that {cls.__name__} does not know: "
                             "the run was written by another model or version; use a new run folder.")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in identity.items()})


@dataclass
class AdversarialConfig(RunConfig):
    """The fields the adversarial loop reads (``gan_tutor.train.GANLoop``), with their neutral defaults."""

    z_dim: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)  # beta1 0.5: Radford et al. 2015
    real_label: float = 1.0  # < 1: one-sided label smoothing
    ema_decay: float | None = None
    loss: str = "logistic"  # or "hinge", or "wasserstein" (a critic, gan_tutor.stability)
    saturating: bool = False  # the minimax generator loss log(1 - D(G(z))), for demonstrations
    augment: str = ""  # DiffAugment policy for D's inputs (gan_tutor.augment)
    r1_gamma: float = 0.0  # > 0: R1 penalty on real images, every r1_every D steps
    r1_every: int = 16
    pl_weight: float = 0.0  # > 0: G's path-length penalty, every pl_every G steps
    pl_every: int = 4
    n_critic: int = 1  # critic (D) steps per generator step, each on its own real batch
    gp_lambda: float = 0.0  # > 0: the WGAN-GP gradient penalty's weight (loss "wasserstein")
    clip: float = 0.0  # > 0: the WGAN's weight clipping bound (loss "wasserstein")
    n_classes: int = 0  # > 0: conditional on the dataset's labels 0..n_classes-1
    clusters: int = 0  # > 0: self-conditioned on this many clusters found without labels (gan_tutor.selfcond)
    cluster_method: str = "spectral"  # or "kmeans" (selfcond.cluster_labels)

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.n_critic, bool) or not isinstance(self.n_critic, int) or self.n_critic < 1:
            raise ValueError(f"n_critic is the number of critic steps per generator step, a whole number >= 1; got {self.n_critic!r}.")
        if self.loss != "wasserstein" and (self.gp_lambda or self.clip):
            raise ValueError(f"gp_lambda and clip constrain a Wasserstein critic; loss is {self.loss!r}: "
                             "set loss='wasserstein', or set them to 0.")
        if self.n_classes and self.clusters:
            raise ValueError(f"n_classes={self.n_classes} (labels) and clusters={self.clusters} (self-conditioning) "
                             "exclude each other: set one of them to 0.")


@dataclass
class LikelihoodConfig(RunConfig):
    """The fields the likelihood loop reads (``gan_tutor.train.fit_likelihood``)."""

    lr: float = 1e-3


@dataclass
class TranslationConfig(RunConfig):
    """The fields the translation loop reads (``gan_tutor.train.fit_translation``): domain A is the data a run trains
    on, ``domain_b`` the second domain (a dataset name)."""

    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    domain_b: str = "uci-digits"
    schedule_steps: int = 0  # > 0: lr constant for the first half of these steps, then linearly to 0 at the last

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.schedule_steps, bool) or not isinstance(self.schedule_steps, int) or self.schedule_steps < 0:
            raise ValueError(f"schedule_steps is a whole number of steps >= 0 (0: constant learning rate), got {self.schedule_steps!r}.")


def pick_tier(tiers: dict[str, C], tier: str, **overrides) -> C:
    """The preset for ``tier`` with ``overrides`` applied; an unknown tier or field lists the valid ones."""
    if tier not in tiers:
        raise ValueError(f"unknown tier {tier!r}: use one of {', '.join(tiers)}.")
    preset = tiers[tier]
    unknown = sorted(set(overrides) - set(preset.field_names()))
    if unknown:
        raise ValueError(f"{type(preset).__name__} has no field {', '.join(map(repr, unknown))}: "
                         f"choose from {', '.join(preset.field_names())}.")
    return replace(preset, **overrides)
