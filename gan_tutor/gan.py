"""The vanilla GAN: multilayer perceptrons for G and D, as in the paper that introduced GANs.

Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley, Ozair, Courville, Bengio (2014),
"Generative Adversarial Nets", NeurIPS, arXiv:1406.2661.

.. math::
    \\min_G \\max_D V(D, G) = \\mathbb{E}_{x \\sim p_{data}}[\\log D(x)]
                              + \\mathbb{E}_{z \\sim p_z}[\\log(1 - D(G(z)))]

G maps noise :math:`z \\sim \\mathcal{N}(0, I)` to an image (or, for the toy problems of notebook 01,
a 2-D point); D maps an input to one logit, :math:`D(x) = \\sigma(\\text{logit})`. The training step
(D on real and detached fakes, then G with the non-saturating loss) is ``gan_tutor.gan_step.d_step`` /
``g_step``; the losses are in ``gan_tutor.gan_math``.

Deviations from the paper, each for a reason:

* LeakyReLU(0.2) instead of the paper's maxout units in D and ReLU/sigmoid in G: as good on MNIST in
  our runs, fewer parameters, and the same activation the DCGAN notebook uses.
* ``tanh`` output on images scaled to [-1, 1] (the paper used a sigmoid on [0, 1]): a zero-centred
  output range eases G's first layers.
* Adam(2e-4, beta1 0.5) (Radford et al. 2015) instead of SGD with momentum.
* One-sided label smoothing (real label 0.9; Salimans et al. 2016, arXiv:1606.03498) and an EMA of
  G's weights: both measured to help in notebook 02.

Taught in: notebook 02 (vanilla GAN); the 2-D variant in notebook 01 (GAN maths).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from gan_tutor.config import AdversarialConfig, pick_tier


class Generator(nn.Module):
    """G: z (N, z_dim) -> x (N, *out_shape); hidden layers Linear + LeakyReLU(0.2)."""

    def __init__(self, z_dim: int, hidden: tuple[int, ...], out_shape: tuple[int, ...], tanh: bool = True):
        super().__init__()
        self.z_dim, self.out_shape, self.tanh = z_dim, tuple(out_shape), tanh
        layers, width = [], z_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        layers.append(nn.Linear(width, math.prod(out_shape)))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (N, z_dim) -> (N, *out_shape), in [-1, 1] when ``tanh``."""
        x = self.net(z)
        if self.tanh:
            x = torch.tanh(x)
        return x.view(z.shape[0], *self.out_shape)

    def extra_repr(self) -> str:
        return f"z_dim={self.z_dim}, out_shape={self.out_shape}, tanh={self.tanh}"


class Discriminator(nn.Module):
    """D: x (N, *in_shape) -> logit (N,); hidden layers Linear + LeakyReLU(0.2) + Dropout.

    ``spectral_norm`` divides every weight matrix by its largest singular value (Miyato et al. 2018,
    arXiv:1802.05957), estimated by one power iteration per forward pass: each layer, and so D, is then
    1-Lipschitz, which keeps D smooth (notebook 01 shows it curing mode collapse on the 2-D ring).
    """

    def __init__(self, in_shape: tuple[int, ...], hidden: tuple[int, ...], dropout: float = 0.0, spectral_norm: bool = False):
        super().__init__()
        self.in_shape, self.spectral_norm = tuple(in_shape), spectral_norm
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        layers, width = [], math.prod(in_shape)
        for h in hidden:
            layers += [sn(nn.Linear(width, h)), nn.LeakyReLU(0.2)]
            if dropout:
                # dropout in D, as the paper used: it keeps D from memorising 4,000 digits
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(sn(nn.Linear(width, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, *in_shape) -> logits (N,)."""
        return self.net(x.flatten(1)).squeeze(1)

    def extra_repr(self) -> str:
        return f"in_shape={self.in_shape}, spectral_norm={self.spectral_norm}"


@dataclass
class GANConfig(AdversarialConfig):
    """What defines a vanilla-GAN run: these fields and those of its base config (``gan_tutor.config``)."""

    hidden_g: tuple[int, ...] = (256, 512, 1024)
    hidden_d: tuple[int, ...] = (512, 256)
    dropout_d: float = 0.3
    real_label: float = 0.9  # one-sided label smoothing
    ema_decay: float | None = 0.999
    steps: int = 15000
    snapshot_every: int = 500


# Tier presets. cpu: measured on 2 cores (see README); smoke: every code path in seconds.
TIERS: dict[str, GANConfig] = {
    "smoke": GANConfig(hidden_g=(64, 128), hidden_d=(128, 64), steps=40, snapshot_every=20),
    "cpu": GANConfig(),
    "gpu": GANConfig(hidden_g=(256, 512, 1024), hidden_d=(1024, 512, 256), batch_size=128, steps=30000, snapshot_every=2000),
    "full": GANConfig(hidden_g=(256, 512, 1024), hidden_d=(1024, 512, 256), batch_size=128, steps=100000, snapshot_every=5000),
}


def tier_config(tier: str, **overrides) -> GANConfig:
    """The preset for ``tier`` with ``overrides`` applied."""
    return pick_tier(TIERS, tier, **overrides)


def build(cfg: GANConfig) -> tuple[Generator, Discriminator]:
    """G and D for ``cfg``."""
    return (Generator(cfg.z_dim, cfg.hidden_g, cfg.image_shape), Discriminator(cfg.image_shape, cfg.hidden_d, cfg.dropout_d))
