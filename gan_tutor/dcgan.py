"""DCGAN: convolutional generator and discriminator built by the guidelines of Radford et al.

Radford, Metz, Chintala (2015), "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks", ICLR 2016, arXiv:1511.06434, section 3:

* strided convolutions (D) and transposed convolutions (G) instead of pooling;
* batch normalisation in G and D (not on G's output nor D's input layer);
* ReLU in G with ``tanh`` at the output; LeakyReLU(0.2) in D;
* weights drawn from :math:`\\mathcal{N}(0, 0.02)`; Adam with lr 2e-4 and :math:`\\beta_1 = 0.5`.

A transposed convolution with kernel :math:`k`, stride :math:`s`, padding :math:`p` maps a side
of :math:`n` to

.. math::
    n_{out} = (n - 1)\\,s - 2p + k,

so G grows 1 -> 7 (k 7, s 1, p 0) -> 14 -> 28 (k 4, s 2, p 1), and D's convolutions,
:math:`n_{out} = \\lfloor (n + 2p - k) / s \\rfloor + 1`, shrink 28 -> 14 -> 7 -> 1.

Beyond the 2015 recipe (each option measured in notebook 03 by ``scripts/dcgan_study.py``):

* ``Discriminator(spectral_norm=True)`` replaces batch norm in D by spectral normalisation (Miyato
  et al. 2018, arXiv:1802.05957), to be trained with the hinge loss (``loss="hinge"``);
* ``augment``: DiffAugment (``gan_tutor.augment``); ``ema_decay``: an average of G's weights;
* ``clusters``: self-conditioning (Liu et al. 2020, arXiv:2006.10728, ``gan_tutor.selfcond``): G reads a
  cluster embedding beside z and D gains a projection term, trained on cluster ids of the images found
  without labels (``selfcond.cluster_labels``: spectral clustering of deskewed digits, or k-means), and
  sampling draws a cluster from its training frequency. The cpu tier uses it, without EMA.

Transposed convolutions paint checkerboards for two reasons: uneven overlap when the kernel is not a multiple of the
stride (:func:`overlap_counts`), and, for any kernel size, taps whose sums differ from one output phase to the next
(:func:`phase_sums`); :func:`resize_conv` is the alternative with neither.

Taught in: notebook 03 (DCGAN).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gan_tutor.config import AdversarialConfig, pick_tier
from gan_tutor.selfcond import ConditionalGenerator, ProjectionDiscriminator


def transposed_conv_size(n: int, kernel: int, stride: int, padding: int) -> int:
    """Side of a transposed convolution's output: (n - 1) * stride - 2 * padding + kernel."""
    return (n - 1) * stride - 2 * padding + kernel


def conv_size(n: int, kernel: int, stride: int, padding: int) -> int:
    """Side of a convolution's output: floor((n + 2 * padding - kernel) / stride) + 1."""
    return (n + 2 * padding - kernel) // stride + 1


def overlap_counts(n: int, kernel: int, stride: int, padding: int = 0) -> torch.Tensor:
    """How many (input pixel, kernel tap) pairs land on each output pixel of a transposed convolution.

    An (n, n) input of ones through a (kernel, kernel) kernel of ones: (n_out, n_out) counts. When
    ``kernel`` is not a multiple of ``stride`` the counts alternate (a 3x3 kernel at stride 2 gives
    1, 2, 4 in a checkerboard), and a generator must learn to cancel that pattern; when it is (4 and 2),
    every interior pixel receives the same number (Odena, Dumoulin & Olah 2016, "Deconvolution and
    Checkerboard Artifacts", Distill, doi:10.23915/distill.00003).
    """
    ones, taps = torch.ones(1, 1, n, n), torch.ones(1, 1, kernel, kernel)
    return torch.nn.functional.conv_transpose2d(ones, taps, stride=stride, padding=padding)[0, 0]


def phase_sums(weight: torch.Tensor, stride: int) -> torch.Tensor:
    """The second cause of checkerboards: the kernel taps that reach each output phase sum to different values.

    ``weight``: a transposed convolution's (C_in, C_out, k, k). Output pixel ``o`` of a stride-``s`` transposed
    convolution with padding ``p`` receives the taps ``t`` with ``t = (o + p) mod s`` (mod s), one per input pixel
    that reaches it; on a constant input of ones its interior value is ``bias + phase_sums(weight, s)[:, (o_r + p) % s,
    (o_c + p) % s]``. Returns (C_out, s, s): the taps of each phase summed over the input channels. Even when every
    pixel receives the same number of taps (k a multiple of s, as DCGAN's 4 and 2), a kernel whose phase sums differ
    paints a period-s grid on flat regions that training must cancel; the resize-convolution has no phases at all.
    """
    if weight.dim() != 4 or weight.shape[-1] != weight.shape[-2]:
        raise ValueError(f"weight must be a transposed convolution's (C_in, C_out, k, k), got shape {tuple(weight.shape)}.")
    return torch.stack([torch.stack([weight[:, :, a::stride, b::stride].sum(dim=(0, 2, 3)) for b in range(stride)], dim=-1)
                        for a in range(stride)], dim=-2)


def resize_conv(c_in: int, c_out: int) -> nn.Sequential:
    """The checkerboard-free alternative to a stride-2 transposed convolution: nearest-neighbour
    upsampling by 2, then a 3x3 convolution (N, c_in, n, n) -> (N, c_out, 2n, 2n) (Odena et al. 2016)."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1))


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights ~ N(0, 0.02); batch-norm scales ~ N(1, 0.02), shifts 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class Generator(nn.Module):
    """G: z (N, z_dim) -> x (N, channels, 28, 28) in [-1, 1]."""

    def __init__(self, z_dim: int = 64, ngf: int = 32, channels: int = 1, batch_norm: bool = True):
        super().__init__()
        self.z_dim, self.ngf, self.batch_norm = z_dim, ngf, batch_norm
        norm = nn.BatchNorm2d if batch_norm else (lambda c: nn.Identity())
        # a bias before batch norm is redundant (BN subtracts the mean and adds its own shift)
        self.net = nn.Sequential(
            # (N, z_dim, 1, 1) -> (N, 4ngf, 7, 7)
            nn.ConvTranspose2d(z_dim, 4 * ngf, 7, 1, 0, bias=not batch_norm), norm(4 * ngf), nn.ReLU(True),
            # -> (N, 2ngf, 14, 14)
            nn.ConvTranspose2d(4 * ngf, 2 * ngf, 4, 2, 1, bias=not batch_norm), norm(2 * ngf), nn.ReLU(True),
            # -> (N, channels, 28, 28); no batch norm on the output layer (guideline 2)
            nn.ConvTranspose2d(2 * ngf, channels, 4, 2, 1), nn.Tanh(),
        )
        init_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (N, z_dim) -> (N, channels, 28, 28)."""
        return self.net(z[:, :, None, None])

    def extra_repr(self) -> str:
        return f"z_dim={self.z_dim}, ngf={self.ngf}" + ("" if self.batch_norm else ", batch_norm=False")


class Discriminator(nn.Module):
    """D: x (N, channels, 28, 28) -> logits (N,); batch norm, or spectral norm with ``spectral_norm``.

    ``features`` (the convolutional trunk, 28 -> 7) and ``head`` (one 7x7 convolution to a logit) are
    separate so that the projection discriminator (self-conditioning here, notebook 04's conditional GAN) can
    reuse the trunk.
    """

    def __init__(self, ndf: int = 32, channels: int = 1, spectral_norm: bool = False, batch_norm: bool = True):
        super().__init__()
        self.ndf, self.spectral_norm = ndf, spectral_norm
        self.batch_norm = batch_norm and not spectral_norm
        self.n_features = 2 * ndf * 7 * 7  # size of features(x) flattened: (N, 2ndf, 7, 7)
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        norm = nn.BatchNorm2d if self.batch_norm else (lambda c: nn.Identity())
        self.features = nn.Sequential(
            # (N, C, 28, 28) -> (N, ndf, 14, 14); no batch norm on the input layer (guideline 2)
            sn(nn.Conv2d(channels, ndf, 4, 2, 1)), nn.LeakyReLU(0.2, True),
            # -> (N, 2ndf, 7, 7)
            sn(nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=not self.batch_norm)), norm(2 * ndf), nn.LeakyReLU(0.2, True),
        )
        # (N, 2ndf, 7, 7) -> (N, 1, 1, 1): one logit
        self.head = sn(nn.Conv2d(2 * ndf, 1, 7, 1, 0))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, 28, 28) -> logits (N,)."""
        return self.head(self.features(x)).flatten()

    def extra_repr(self) -> str:
        return f"ndf={self.ndf}, spectral_norm={self.spectral_norm}" + ("" if self.batch_norm or self.spectral_norm else ", batch_norm=False")


@dataclass
class DCGANConfig(AdversarialConfig):
    """What defines a DCGAN run: these fields and those of its base config (``gan_tutor.config``)."""

    ngf: int = 32
    ndf: int = 32
    spectral_norm: bool = False  # True: spectral norm instead of batch norm in D (Miyato et al. 2018)
    batch_norm: bool = True  # False: no batch norm anywhere (the failure gallery of notebook 03)
    embed_dim: int = 16  # cluster embedding appended to z when clusters > 0


# The plain 2015 recipe: the baseline every addition is measured against (notebook 03, scripts/dcgan_study.py).
RECIPE_2015 = dict(ndf=32, spectral_norm=False, batch_norm=True, loss="logistic", saturating=False, augment="", clusters=0,
                   ema_decay=None, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), batch_size=64)

# Tier presets. cpu: the 2015 architecture with self-conditioning on 30 clusters of deskewed digits, the
# addition that paid most in notebook 03's measurements (scripts/dcgan_study.py). No EMA: chosen when EMA seemed to
# triple the Fréchet distance, a measurement confounded by batch-norm statistics copied from the raw generator; with
# statistics recomputed (gan_step.standing_statistics) EMA did better at 2,000 steps, not yet measured at the tier's 4,000.
TIERS: dict[str, DCGANConfig] = {
    "smoke": DCGANConfig(ngf=8, ndf=8, clusters=30, steps=20, snapshot_every=10),
    "cpu": DCGANConfig(clusters=30, steps=4000, snapshot_every=500),
    "gpu": DCGANConfig(ngf=64, ndf=64, clusters=30, batch_size=128, steps=20000, snapshot_every=1000),
    "full": DCGANConfig(ngf=64, ndf=64, clusters=30, batch_size=128, steps=60000, snapshot_every=2000),
}


def tier_config(tier: str, **overrides) -> DCGANConfig:
    """The preset for ``tier`` with ``overrides`` applied."""
    return pick_tier(TIERS, tier, **overrides)


def build(cfg: DCGANConfig) -> tuple[nn.Module, nn.Module]:
    """G and D for ``cfg`` (28x28 images with ``cfg.image_shape[0]`` channels).

    With ``cfg.clusters`` > 0 they are self-conditioned (``gan_tutor.selfcond``): G(z, c) and a projection
    D(x, c) over cluster ids, assembled from this module's networks.
    """
    c, h, w = cfg.image_shape
    if (h, w) != (28, 28):
        raise ValueError(f"this DCGAN draws 28x28 images; the data are {h}x{w}: use a 28x28 dataset (mnist-5k, mnist, fashion-mnist).")
    if cfg.clusters:
        if not cfg.batch_norm:
            raise ValueError("clusters > 0 trains the self-conditioned networks, which always have batch norm; "
                             "set clusters=0 to train without batch norm.")
        # self-conditioning: G reads [z; e(c)], D adds the projection <V_c, phi(x)> (gan_tutor.selfcond)
        return (ConditionalGenerator(lambda width: Generator(width, cfg.ngf, c), cfg.z_dim, cfg.clusters, cfg.embed_dim),
                ProjectionDiscriminator(Discriminator(cfg.ndf, c, cfg.spectral_norm), cfg.clusters, cfg.spectral_norm))
    return (Generator(cfg.z_dim, cfg.ngf, c, cfg.batch_norm),
            Discriminator(cfg.ndf, c, cfg.spectral_norm, cfg.batch_norm))

