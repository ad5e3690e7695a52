r"""Conditional GANs: generation on demand by class, with concatenation or projection conditioning.

Mirza & Osindero (2014), "Conditional Generative Adversarial Nets", arXiv:1411.1784: give both
players the label :math:`y`,

.. math::
    \min_G \max_D\; \mathbb{E}_{x, y \sim p_{data}}[\log D(x \mid y)]
    + \mathbb{E}_{z \sim p_z,\, y \sim p(y)}[\log(1 - D(G(z \mid y) \mid y))].

*Concatenation* (section 4.1 of the paper, here in DCGAN form): G reads :math:`[z; e(y)]`, a learned
label embedding :math:`e(y)` appended to the noise; D reads the image with the one-hot label appended
as :math:`K` constant channels, :math:`[x; \mathbb{1}_y \otimes \mathbf{1}_{28 \times 28}]`.

Miyato & Koyama (2018), "cGANs with Projection Discriminator", ICLR, arXiv:1802.05637, eq. (3): with
image features :math:`\phi(x)`, an unconditional head :math:`\psi` and a class embedding :math:`V`,

.. math::
    D(x, y) = \psi(\phi(x)) + \langle V_y,\, \phi(x) \rangle,

the form the optimal D takes when :math:`p(y \mid x)` is log-linear in :math:`\phi(x)`. The label
acts on what D has already seen in the image, not on its raw pixels.

Odena, Olah & Shlens (2017), "Conditional Image Synthesis with Auxiliary Classifier GANs" (AC-GAN),
arXiv:1610.09585: D also predicts the class, and both players minimise the cross-entropy
:math:`-\log p_D(y \mid x)` on their images (:func:`acgan_class_loss`, exercise 3 of notebook 04).

G is notebook 03's DCGAN generator reading :math:`[z; e(y)]`; both discriminators reuse the DCGAN
discriminator's convolutional trunk (:attr:`gan_tutor.dcgan.Discriminator.features`). The label-reading parts
(the embedding appended to z, the projection term, the label prior) are ``gan_tutor.selfcond``'s, shared with the
self-conditioned DCGAN of notebook 03 and StyleGAN of notebook 06; here they are assembled on the DCGAN.

Taught in: notebook 04 (conditional GAN).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gan_tutor import dcgan, selfcond
from gan_tutor.config import AdversarialConfig, pick_tier


class Generator(selfcond.ConditionalGenerator):
    """G(z, y): z (N, z_dim), y (N,) int64 in [0, K) -> x (N, channels, 28, 28) in [-1, 1]; notebook 03's DCGAN
    generator reading [z; e(y)] (``selfcond.ConditionalGenerator``)."""

    def __init__(self, z_dim: int = 64, n_classes: int = 10, embed_dim: int = 16, ngf: int = 32, channels: int = 1):
        super().__init__(lambda width: dcgan.Generator(width, ngf, channels), z_dim, n_classes, embed_dim)


def one_hot_maps(y: torch.Tensor, n_classes: int, size: int = 28) -> torch.Tensor:
    """y (N,) -> (N, K, size, size): channel y of each image all ones, the other channels zero."""
    return F.one_hot(y, n_classes).float()[:, :, None, None].expand(-1, -1, size, size)


class ConcatDiscriminator(nn.Module):
    """D(x, y) with the label as K constant channels appended to the image (Mirza & Osindero)."""

    def __init__(self, n_classes: int = 10, ndf: int = 32, channels: int = 1, spectral_norm: bool = False):
        super().__init__()
        self.n_classes = n_classes
        self.net = dcgan.Discriminator(ndf, channels + n_classes, spectral_norm)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x (N, C, 28, 28), y (N,) -> logits (N,)."""
        maps = one_hot_maps(y, self.n_classes, x.shape[-1]).to(x.dtype)
        return self.net(torch.cat([x, maps], dim=1))  # (N, C + K, 28, 28)


class ProjectionDiscriminator(selfcond.ProjectionDiscriminator):
    """D(x, y) = psi(phi(x)) + <V_y, phi(x)> (Miyato & Koyama 2018, eq. 3) on notebook 03's DCGAN trunk:
    x (N, C, 28, 28), y (N,) -> logits (N,)."""

    def __init__(self, n_classes: int = 10, ndf: int = 32, channels: int = 1, spectral_norm: bool = False):
        super().__init__(dcgan.Discriminator(ndf, channels, spectral_norm), n_classes, spectral_norm)


class ACDiscriminator(nn.Module):
    """AC-GAN D: x (N, C, 28, 28) -> (real/fake logits (N,), class logits (N, K)), from one shared trunk."""

    def __init__(self, n_classes: int = 10, ndf: int = 32, channels: int = 1, spectral_norm: bool = False):
        super().__init__()
        self.net = dcgan.Discriminator(ndf, channels, spectral_norm)
        self.classify = nn.Linear(self.net.n_features, n_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        phi = self.net.features(x)  # (N, 2ndf, 7, 7)
        return self.net.head(phi).flatten(), self.classify(phi.flatten(1))


def acgan_class_loss(class_logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """AC-GAN's auxiliary loss: mean cross-entropy -log p_D(y | x) (Odena et al. 2017, eq. 3, L_C)."""
    return F.cross_entropy(class_logits, y)


DISCRIMINATORS = {"concat": ConcatDiscriminator, "projection": ProjectionDiscriminator}


@dataclass
class CGANConfig(AdversarialConfig):
    """What defines a conditional GAN run: these fields and those of its base config (``gan_tutor.config``)."""

    n_classes: int = 10
    embed_dim: int = 16
    ngf: int = 32
    ndf: int = 32
    conditioning: str = "projection"  # or "concat" (Mirza & Osindero)
    spectral_norm: bool = False
    ema_decay: float | None = 0.999


# Sampling (models.ModelSpec.load_generator) recomputes the EMA generator's batch-norm statistics for its own weights
# (gan_step.standing_statistics) instead of using those copied from the raw generator: measured over 3 seeds at 1,500
# steps, the projection model's Fréchet distance 42.5 -> 24.1 and label accuracy 89.3% -> 90.9%, the concat model's
# about unchanged (scripts/cgan_study.py, benchmarks/README.md).
STANDING_STATISTICS = True

# Tier presets. cpu: 3,000 steps reach >= 97% label accuracy on mnist-5k (measured in notebook 04).
TIERS: dict[str, CGANConfig] = {
    "smoke": CGANConfig(ngf=8, ndf=8, steps=20, snapshot_every=10),
    "cpu": CGANConfig(steps=3000, snapshot_every=300),
    "gpu": CGANConfig(ngf=64, ndf=64, batch_size=128, steps=20000, snapshot_every=1000),
    "full": CGANConfig(ngf=64, ndf=64, batch_size=128, steps=60000, snapshot_every=2000),
}


def tier_config(tier: str, **overrides) -> CGANConfig:
    """The preset for ``tier`` with ``overrides`` applied."""
    return pick_tier(TIERS, tier, **overrides)


def build(cfg: CGANConfig) -> tuple[Generator, nn.Module]:
    """G(z, y) and D(x, y) for ``cfg``."""
    c, h, w = cfg.image_shape
    if (h, w) != (28, 28):
        raise ValueError(f"this conditional GAN draws 28x28 images; the data are {h}x{w}: use a 28x28 dataset (mnist-5k, mnist, fashion-mnist).")
    if cfg.conditioning not in DISCRIMINATORS:
        raise ValueError(f"unknown conditioning {cfg.conditioning!r}: use one of {', '.join(DISCRIMINATORS)}.")
    G = Generator(cfg.z_dim, cfg.n_classes, cfg.embed_dim, cfg.ngf, c)
    return G, DISCRIMINATORS[cfg.conditioning](cfg.n_classes, cfg.ndf, c, cfg.spectral_norm)
