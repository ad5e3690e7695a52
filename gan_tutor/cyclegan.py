r"""Image-to-image translation (notebook 09): CycleGAN between two unpaired digit domains, pix2pix as the paired control.

**CycleGAN**: Zhu, Park, Isola, Efros (2017), "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", arXiv:1703.10593. Two generators :math:`G: A \to B` and :math:`F: B \to A`, two discriminators
:math:`D_B` (real b vs :math:`G(a)`) and :math:`D_A` (real a vs :math:`F(b)`), and the objective

.. math::

    \mathcal{L} = \mathcal{L}_{GAN}(G, D_B) + \mathcal{L}_{GAN}(F, D_A)
      + \lambda\,\big(\mathbb{E}\lVert F(G(a)) - a\rVert_1 + \mathbb{E}\lVert G(F(b)) - b\rVert_1\big)
      + \lambda_{idt}\,\lambda\,\big(\mathbb{E}\lVert G(b) - b\rVert_1 + \mathbb{E}\lVert F(a) - a\rVert_1\big)

with :math:`\lambda = 10` and :math:`\lambda_{idt} = 0.5` (the identity term, from the paper's painting-to-photo
experiments, feeds each generator an image of its **target** domain: a B image is already B, G should leave it
alone). The GAN terms are least squares (Mao et al. 2017, arXiv:1611.04076), as in the paper:
:math:`D` minimises :math:`\tfrac12\mathbb{E}(D(b) - 1)^2 + \tfrac12\mathbb{E}D(G(a))^2`, :math:`G` minimises
:math:`\mathbb{E}(D(G(a)) - 1)^2`. The discriminators see generated images from a history of the last 50
(:class:`ImagePool`, Shrivastava et al. 2017, arXiv:1612.07828); the learning rate is constant for the first half
of training and decays linearly to 0 over the second (:func:`linear_decay`).

**pix2pix**: Isola, Zhu, Zhou, Efros (2017), "Image-to-Image Translation with Conditional Adversarial Networks",
arXiv:1611.07004. Paired examples :math:`(x, y)`; a U-Net generator :math:`G(x)`, a conditional PatchGAN
:math:`D(x, y)` that sees the input beside the output, and
:math:`G^* = \arg\min_G \max_D \mathcal{L}_{cGAN}(G, D) + \lambda\,\mathbb{E}\lVert y - G(x)\rVert_1`,
:math:`\lambda = 100`, with the logistic GAN loss of notebook 01 (non-saturating for G).

The domains here are two real digit sets that ship offline: A = MNIST-5k (pen strokes, 28x28) and B = scikit-learn's
UCI digits (8x8 cells of 17 grey levels, framed like MNIST by ``data.frame_like_mnist``). :func:`degrade` makes
pix2pix's synthetic pairs from MNIST (crop the 20x20 box, average into 8x8 cells, round to 17 levels, frame again);
:func:`to_uci_grid` projects any framed digit onto B's grid (a real UCI digit is left unchanged) to re-quantise a
cycle's intermediate image: the test for steganography (Chu, Zhmoginov, Sandler 2017, arXiv:1712.02950: a cycle
can hide its source in a low-amplitude signal).

Networks are sized for 28x28 (shapes in comments): :class:`ResnetGenerator` (stride-2 down to 7x7, residual blocks,
transposed convolutions up), :class:`PatchDiscriminator` (a map of scores, each seeing a 10x10 patch by default:
:func:`receptive_field`) and :class:`UNetGenerator`. Instance normalisation throughout, as in both papers (at
batch size 1 batch norm is instance norm).

Taught in: notebook 09. Trained through ``gan_tutor.train.fit_translation`` (the CLI's ``cyclegan`` and ``pix2pix``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as nnf
from torch import nn

from gan_tutor.config import TranslationConfig, pick_tier
from gan_tutor.data import frame_like_mnist
from gan_tutor.gan_math import d_logistic_loss, g_nonsaturating_loss
from gan_tutor.images import check_images

IMAGE_SHAPE = (1, 28, 28)

# --------------------------------------------------------------------------------------------------
# The domain B grid: what a UCI digit can be
# --------------------------------------------------------------------------------------------------

UCI_LEVELS = 16  # a UCI cell counts the on-pixels of a 4x4 block: 0..16, 17 levels


def _levels(cells: torch.Tensor) -> torch.Tensor:
    return torch.round(cells.clamp(0, 1) * UCI_LEVELS) / UCI_LEVELS


def degrade(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, 28, 28) MNIST-like digits in [0, 1] -> UCI-like ones: the 20x20 digit box averaged into 8x8 cells (as
    UCI counts the on-pixels of each block), each rounded to one of 17 levels, framed back to 28x28 as
    ``data.frame_like_mnist`` frames real UCI digits. pix2pix's synthetic inputs."""
    x = check_images(images, IMAGE_SHAPE, what="images to degrade")
    return frame_like_mnist(_levels(nnf.adaptive_avg_pool2d(x[..., 4:24, 4:24], 8)))  # (N, 1, 8, 8) cells inside


def _framing_matrix() -> torch.Tensor:
    """(20, 8) M such that the 20x20 box of a framed 8x8 image C is M C M^T (the bilinear resize, one axis at a time)."""
    basis = torch.eye(8, dtype=torch.float64).reshape(8, 1, 8, 1)
    return nnf.interpolate(basis, size=(20, 1), mode="bilinear", align_corners=False).reshape(8, 20).T


def to_uci_grid(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, 28, 28) in [0, 1] -> the nearest framed UCI digit: the 8x8 cells whose framing is closest to the image's
    20x20 box (least squares: C = M^+ X M^+T for the framing matrix M), clamped to [0, 1] and rounded to 17 levels,
    framed again. A real framed UCI digit comes back unchanged; anything finer than UCI's grid (a faint pattern, a
    sharper stroke) is removed. Re-quantises a cycle's intermediate image for the steganography test."""
    x = check_images(images, IMAGE_SHAPE, what="images to re-quantise")
    pinv = torch.linalg.pinv(_framing_matrix()).to(x.dtype)  # (8, 20)
    return frame_like_mnist(_levels(pinv @ x[..., 4:24, 4:24] @ pinv.T))


# --------------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------------


def lsgan_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The least-squares discriminator loss: 1/2 mean (D(real) - 1)^2 + 1/2 mean D(fake)^2 (each over its own batch)."""
    return 0.5 * ((real_scores - 1) ** 2).mean() + 0.5 * (fake_scores ** 2).mean()


def lsgan_g_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """The least-squares generator loss: mean (D(G(x)) - 1)^2."""
    return ((fake_scores - 1) ** 2).mean()


def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """mean |x - y| over every pixel of the batch."""
    return (x - y).abs().mean()


def generator_losses(G: nn.Module, F: nn.Module, D_A: nn.Module, D_B: nn.Module, a: torch.Tensor, b: torch.Tensor,
                     lam: float = 10.0, lam_identity: float = 0.5) -> dict[str, torch.Tensor]:
    """The generators' side of the CycleGAN objective for a batch ``a`` of A and ``b`` of B (both in [-1, 1]).

    Returns {"gan", "cycle", "identity", "total", "fake_a", "fake_b"}: the least-squares GAN terms (unweighted), the
    cycle term weighted by ``lam``, the identity term weighted by ``lam_identity * lam`` (each generator fed its target
    domain), their sum, and the translations (for the discriminators' step). ``lam_identity`` = 0 skips the identity
    forward passes.
    """
    fake_b, fake_a = G(a), F(b)  # (B, 1, 28, 28) each
    gan = lsgan_g_loss(D_B(fake_b)) + lsgan_g_loss(D_A(fake_a))
    cycle = lam * (l1(F(fake_b), a) + l1(G(fake_a), b)) if lam > 0 else gan.new_zeros(())
    if lam_identity > 0 and lam > 0:
        identity = lam_identity * lam * (l1(G(b), b) + l1(F(a), a))  # each fed its target domain
    else:
        identity = gan.new_zeros(())
    return {"gan": gan, "cycle": cycle, "identity": identity, "total": gan + cycle + identity,
            "fake_a": fake_a, "fake_b": fake_b}


# --------------------------------------------------------------------------------------------------
# The history of generated images
# --------------------------------------------------------------------------------------------------


class ImagePool(nn.Module):
    """The last ``size`` generated images (Shrivastava et al. 2017), shown to a discriminator instead of only the
    newest ones, so that it does not forget what the generator did a few steps ago.

    :meth:`query`: while the pool is filling, each image is stored and passed through; once it is full, each image
    is, with probability 1/2, swapped for a stored one at random (the stored image is returned, the new one takes its
    place), or else passed through. Stored images are detached copies: the discriminator's step must not reach back
    into the generator's graph. The pool is a module with buffers, so checkpoints keep it and a resumed run continues
    with the same history.
    """

    def __init__(self, size: int = 50, image_shape: tuple[int, ...] = IMAGE_SHAPE):
        super().__init__()
        if size < 0:
            raise ValueError(f"the pool size is a number of images >= 0 (0: no pool), got {size}.")
        self.size = size
        self.register_buffer("images", torch.zeros(size, *image_shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, C, H, W) new images -> (B, C, H, W) for the discriminator (detached)."""
        images = images.detach()
        if self.size == 0:
            return images
        device = generator.device if generator is not None else images.device
        out = []
        for img in images:
            n = int(self.count)
            if n < self.size:  # filling: store and pass through
                self.images[n] = img
                self.count += 1
                out.append(img)
            elif torch.rand((), generator=generator, device=device).item() < 0.5:
                i = int(torch.randint(self.size, (), generator=generator, device=device))
                out.append(self.images[i].clone())
                self.images[i] = img
            else:
                out.append(img)
        return torch.stack(out)


# --------------------------------------------------------------------------------------------------
# Networks for 28x28
# --------------------------------------------------------------------------------------------------


def _norm(ch: int) -> nn.Module:
    return nn.InstanceNorm2d(ch)  # per image and channel, no learned affine (the papers' code)


class ResidualBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), _norm(ch), nn.ReLU(True),
                                  nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), _norm(ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Zhu et al.'s ResNet generator, scaled to 28x28: c7s1-ngf, two stride-2 convolutions (28 -> 14 -> 7),
    ``n_blocks`` residual blocks at 7x7, two stride-2 transposed convolutions back up, c7s1-1 and tanh."""

    def __init__(self, ngf: int = 16, n_blocks: int = 2, channels: int = 1):
        super().__init__()
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(channels, ngf, 7), _norm(ngf), nn.ReLU(True),  # (B, ngf, 28, 28)
                  nn.Conv2d(ngf, 2 * ngf, 3, 2, 1), _norm(2 * ngf), nn.ReLU(True),  # (B, 2ngf, 14, 14)
                  nn.Conv2d(2 * ngf, 4 * ngf, 3, 2, 1), _norm(4 * ngf), nn.ReLU(True)]  # (B, 4ngf, 7, 7)
        layers += [ResidualBlock(4 * ngf) for _ in range(n_blocks)]
        layers += [nn.ConvTranspose2d(4 * ngf, 2 * ngf, 3, 2, 1, output_padding=1), _norm(2 * ngf), nn.ReLU(True),  # 14
                   nn.ConvTranspose2d(2 * ngf, ngf, 3, 2, 1, output_padding=1), _norm(ngf), nn.ReLU(True),  # 28
                   nn.ReflectionPad2d(3), nn.Conv2d(ngf, channels, 7), nn.Tanh()]  # (B, 1, 28, 28) in [-1, 1]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """A PatchGAN for 28x28: (B, in_channels, 28, 28) -> (B, 1, 7, 7), one least-squares (or logistic) score per patch.

    Two stride-2 convolutions (28 -> 14 -> 7), then a ``last_kernel`` x ``last_kernel`` convolution to one score per
    position: each score sees a window of 10 + 4 (last_kernel - 1) pixels (:func:`receptive_field`), 10x10 with the
    default 1x1, 18x18 with 3x3. A small window judges the texture of strokes and leaves the digit's identity as a
    whole to the cycle loss."""

    def __init__(self, ndf: int = 32, in_channels: int = 1, last_kernel: int = 1):
        super().__init__()
        if last_kernel < 1 or last_kernel % 2 == 0:
            raise ValueError(f"last_kernel must be odd and >= 1 (the map stays 7x7), got {last_kernel}.")
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True),  # (B, ndf, 14, 14)
            nn.Conv2d(ndf, 2 * ndf, 4, 2, 1), _norm(2 * ndf), nn.LeakyReLU(0.2, True),  # (B, 2ndf, 7, 7)
            nn.Conv2d(2 * ndf, 1, last_kernel, 1, last_kernel // 2),  # (B, 1, 7, 7)
        )

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x if condition is None else torch.cat([condition, x], 1))


class UNetGenerator(nn.Module):
    """pix2pix's U-Net, scaled to 28x28: two stride-2 encoder steps (28 -> 14 -> 7), a bottleneck at 7x7, and a
    decoder whose every step also receives the encoder's map of the same size (the skips carry the input's layout
    straight across)."""

    def __init__(self, ngf: int = 32, channels: int = 1):
        super().__init__()
        self.e1 = nn.Conv2d(channels, ngf, 4, 2, 1)  # (B, ngf, 14, 14)
        self.e2 = nn.Sequential(nn.LeakyReLU(0.2, True), nn.Conv2d(ngf, 2 * ngf, 4, 2, 1), _norm(2 * ngf))  # 7x7
        self.mid = nn.Sequential(nn.LeakyReLU(0.2, True), nn.Conv2d(2 * ngf, 4 * ngf, 3, 1, 1), nn.ReLU(True),
                                 nn.Conv2d(4 * ngf, 2 * ngf, 3, 1, 1), _norm(2 * ngf))  # (B, 2ngf, 7, 7)
        self.d2 = nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(4 * ngf, ngf, 4, 2, 1), _norm(ngf))  # (B, ngf, 14, 14)
        self.d1 = nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(2 * ngf, channels, 4, 2, 1), nn.Tanh())  # 28x28

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.e1(x)
        e2 = self.e2(e1)
        m = self.mid(e2)
        d2 = self.d2(torch.cat([m, e2], 1))
        return self.d1(torch.cat([d2, e1], 1))


def receptive_field(net: nn.Module) -> int:
    """The side of the input window one output unit of a chain of convolutions sees: r = 1 + sum (k_l - 1) * prod of the
    strides before layer l (square kernels; the layers in ``net.modules()`` order, as in a Sequential)."""
    r, jump = 1, 1
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            r += (m.kernel_size[0] - 1) * m.dilation[0] * jump
            jump *= m.stride[0]
    return r


# --------------------------------------------------------------------------------------------------
# Configs and the training steps
# --------------------------------------------------------------------------------------------------


@dataclass
class CycleGANConfig(TranslationConfig):
    """A CycleGAN (``method="cyclegan"``) or pix2pix (``method="pix2pix"``) run between A (the data the run trains on,
    MNIST-5k by default) and ``domain_b``. ``lam_cycle`` = 0 (and ``lam_identity`` = 0) is the ablation without
    cycle consistency."""

    method: str = "cyclegan"
    ngf: int = 16
    n_blocks: int = 2
    ndf: int = 32
    patch: int = 10  # the discriminators' receptive field: 10, 18, 26, ... (10 + 4 (last_kernel - 1))
    lam_cycle: float = 10.0
    lam_identity: float = 0.5  # as a fraction of lam_cycle, the paper's convention: weight 0.5 * 10 = 5
    pool_size: int = 50
    lam_l1: float = 100.0  # pix2pix
    ngf_unet: int = 32  # pix2pix

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.method not in METHODS:
            raise ValueError(f"unknown translation method {self.method!r}: use one of {', '.join(METHODS)}.")
        if self.patch < 10 or (self.patch - 10) % 8:
            raise ValueError(f"patch is the discriminators' receptive field, 10 + 8 k pixels (10, 18, 26, ...); got {self.patch}.")
        for name in ("lam_cycle", "lam_identity", "lam_l1"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} is a loss weight, >= 0; got {getattr(self, name)}.")


METHODS = ("cyclegan", "pix2pix")

TIERS: dict[str, CycleGANConfig] = {
    "smoke": CycleGANConfig(ngf=4, ndf=8, n_blocks=1, ngf_unet=8, batch_size=8, steps=6, snapshot_every=3, schedule_steps=6),
    "cpu": CycleGANConfig(batch_size=16, steps=1500, snapshot_every=150, schedule_steps=1500),
    "gpu": CycleGANConfig(ngf=32, n_blocks=4, ndf=64, ngf_unet=64, batch_size=32, steps=8000, snapshot_every=500,
                          schedule_steps=8000),
    "full": CycleGANConfig(ngf=64, n_blocks=6, ndf=64, ngf_unet=64, batch_size=1, steps=200000, snapshot_every=5000,
                           schedule_steps=200000),
}
# pix2pix takes one generator and one discriminator per step, not two of each and the round trips
PIX2PIX_STEPS = {"smoke": 6, "cpu": 1500, "gpu": 8000, "full": 200000}


def tier_config(tier: str, **overrides) -> CycleGANConfig:
    if overrides.get("method") == "pix2pix" and tier in PIX2PIX_STEPS:
        steps = overrides.setdefault("steps", PIX2PIX_STEPS[tier])
        overrides.setdefault("schedule_steps", steps)
        overrides.setdefault("snapshot_every", max(1, steps // 10))
    return pick_tier(TIERS, tier, **overrides)


def build(cfg: CycleGANConfig) -> dict[str, nn.Module]:
    """The run's modules by name: CycleGAN's G (A -> B), F (B -> A), D_A, D_B and the two pools; pix2pix's G (B -> A,
    UCI-like -> MNIST) and its conditional D."""
    c, k = cfg.image_shape[0], 1 + (cfg.patch - 10) // 4
    if cfg.method == "pix2pix":
        return {"G": UNetGenerator(cfg.ngf_unet, c), "D": PatchDiscriminator(cfg.ndf, 2 * c, k)}
    return {"G": ResnetGenerator(cfg.ngf, cfg.n_blocks, c), "F": ResnetGenerator(cfg.ngf, cfg.n_blocks, c),
            "D_A": PatchDiscriminator(cfg.ndf, c, k), "D_B": PatchDiscriminator(cfg.ndf, c, k),
            "pool_A": ImagePool(cfg.pool_size, cfg.image_shape), "pool_B": ImagePool(cfg.pool_size, cfg.image_shape)}


# which modules each optimiser updates (one Adam for the generators together, one for the discriminators)
def optimised(cfg: CycleGANConfig) -> dict[str, tuple[str, ...]]:
    return {"G": ("G",), "D": ("D",)} if cfg.method == "pix2pix" else {"G": ("G", "F"), "D": ("D_A", "D_B")}


def linear_decay(step: int, total: int) -> float:
    """The learning rate's factor at ``step`` (0-based) of ``total``: 1 for the first half, then linearly to 0 at
    ``total`` (the paper: 100 epochs constant, 100 decaying). ``total`` = 0: no schedule, always 1."""
    if total <= 0:
        return 1.0
    half = total / 2
    return max(0.0, min(1.0, (total - step) / (total - half)))


def requires_grad(modules, flag: bool) -> None:
    for m in modules:
        m.requires_grad_(flag)


def training_pairs(cfg: CycleGANConfig, images_a: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """What pix2pix trains on, in [-1, 1]: (inputs, targets) = (``degrade(a)``, ``a``), the synthetic pairs."""
    return (degrade(images_a) * 2 - 1, images_a * 2 - 1)


StepFn = Callable[[dict, dict, tuple, torch.Generator], dict]


def cyclegan_step(cfg: CycleGANConfig, images_b: torch.Tensor) -> StepFn:
    """One CycleGAN step for the loop: ``step(modules, optimizers, (a,), noise)`` with ``a`` a batch of A in [-1, 1];
    the batch of B (``images_b`` in [-1, 1], as many as ``a``) is drawn from ``noise``. First G and F minimise
    :func:`generator_losses` with both discriminators frozen, then D_A and D_B the least-squares loss on real images
    and the pools' answers."""

    def step(m: dict, opt: dict, batch: tuple, noise: torch.Generator) -> dict[str, torch.Tensor]:
        a = batch[0]
        idx = torch.randint(len(images_b), (len(a),), generator=noise, device=noise.device)
        b = images_b[idx.to(images_b.device)].to(a.device)
        G, F, D_A, D_B = m["G"], m["F"], m["D_A"], m["D_B"]
        requires_grad((D_A, D_B), False)  # G's step must not train the discriminators
        opt["G"].zero_grad(set_to_none=True)
        g = generator_losses(G, F, D_A, D_B, a, b, cfg.lam_cycle, cfg.lam_identity)
        g["total"].backward()
        opt["G"].step()
        requires_grad((D_A, D_B), True)
        opt["D"].zero_grad(set_to_none=True)
        fake_b = m["pool_B"].query(g["fake_b"], noise)
        fake_a = m["pool_A"].query(g["fake_a"], noise)
        loss_d_b = lsgan_d_loss(D_B(b), D_B(fake_b))
        loss_d_a = lsgan_d_loss(D_A(a), D_A(fake_a))
        (loss_d_a + loss_d_b).backward()
        opt["D"].step()
        return {"loss_g": g["total"].detach(), "loss_gan": g["gan"].detach(), "loss_cycle": g["cycle"].detach(),
                "loss_identity": g["identity"].detach(), "loss_d_a": loss_d_a.detach(), "loss_d_b": loss_d_b.detach()}

    return step


def pix2pix_step(cfg: CycleGANConfig) -> StepFn:
    """One pix2pix step: ``step(modules, optimizers, (x, y), noise)``, paired batches in [-1, 1]. D sees (x, y) against
    (x, G(x)); then G minimises the non-saturating GAN loss + ``lam_l1`` mean |y - G(x)| with D frozen."""

    def step(m: dict, opt: dict, batch: tuple, noise: torch.Generator) -> dict[str, torch.Tensor]:
        x, y = batch
        G, D = m["G"], m["D"]
        fake = G(x)
        opt["D"].zero_grad(set_to_none=True)
        loss_d = d_logistic_loss(D(y, x), D(fake.detach(), x))
        loss_d.backward()
        opt["D"].step()
        requires_grad((D,), False)
        opt["G"].zero_grad(set_to_none=True)
        gan = g_nonsaturating_loss(D(fake, x))
        l1_term = cfg.lam_l1 * l1(fake, y)
        (gan + l1_term).backward()
        opt["G"].step()
        requires_grad((D,), True)
        return {"loss_g": (gan + l1_term).detach(), "loss_gan": gan.detach(), "loss_l1": l1_term.detach(), "loss_d": loss_d.detach()}

    return step


# --------------------------------------------------------------------------------------------------
# Using a trained translator
# --------------------------------------------------------------------------------------------------


class Translator(nn.Module):
    """The trained directions of a run: ``nets["b2a"]`` (into A: F, or pix2pix's G) and, for CycleGAN, ``nets["a2b"]``."""

    def __init__(self, nets: dict[str, nn.Module], domain_a: str, domain_b: str):
        super().__init__()
        self.nets = nn.ModuleDict(nets)
        self.domain_a, self.domain_b = domain_a, domain_b

    def source(self, direction: str) -> str:
        return self.domain_b if direction == "b2a" else self.domain_a

    @torch.no_grad()
    def forward(self, images: torch.Tensor, direction: str = "b2a", batch_size: int = 500) -> torch.Tensor:
        """(N, 1, 28, 28) in [0, 1] -> their translations, (N, 1, 28, 28) in [0, 1]."""
        if direction not in self.nets:
            have = ", ".join(self.nets)
            raise ValueError(f"this translator has no direction {direction!r}: it has {have} "
                             "(pix2pix learns one direction, b2a: into domain A).")
        images = check_images(images, IMAGE_SHAPE, what="images to translate")
        net = self.nets[direction]
        device = next(net.parameters()).device
        was = net.training
        net.eval()
        try:
            out = [(net(images[i:i + batch_size].to(device) * 2 - 1) + 1).div(2).clamp(0, 1).cpu()
                   for i in range(0, len(images), batch_size)]
        finally:
            net.train(was)
        return torch.cat(out)


def translator(cfg: CycleGANConfig, weights: dict, domain_a: str) -> Translator:
    """The :class:`Translator` of a checkpoint's module weights."""
    nets = build(cfg)
    for k in ("G", "F"):
        if k in nets:
            nets[k].load_state_dict(weights[k])
    if cfg.method == "pix2pix":
        return Translator({"b2a": nets["G"]}, domain_a, cfg.domain_b)
    return Translator({"b2a": nets["F"], "a2b": nets["G"]}, domain_a, cfg.domain_b)


# --------------------------------------------------------------------------------------------------
# The measurement: does a digit stay the same digit?
# --------------------------------------------------------------------------------------------------


@dataclass
class DigitScore:
    """The course's digit classifier (trained on MNIST only) on a set of digits with known labels."""

    label_accuracy: float  # share classified as the label of the digit they came from
    confident: float  # share with max p(k | x) >= 0.9
    frechet: float  # Fréchet distance to MNIST's held-out digits in the classifier's features


@dataclass
class TranslationScore:
    """B -> A translations of B's test digits scored against the untranslated ones (``baseline``), and, for a CycleGAN,
    A's held-out digits sent round the cycle: its L1 error and label accuracy, and its L1 error when the intermediate
    B image is re-quantised onto B's grid (:func:`to_uci_grid`) first; ``stego_ratio`` = requantised / plain."""

    translated: DigitScore
    baseline: DigitScore
    cycle_l1: float | None = None
    cycle_label_accuracy: float | None = None
    requantised_cycle_l1: float | None = None

    @property
    def stego_ratio(self) -> float | None:
        if self.cycle_l1 is None:
            return None
        return self.requantised_cycle_l1 / max(self.cycle_l1, 1e-12)


def score_digits(images: torch.Tensor, labels: torch.Tensor, clf, held_features: torch.Tensor) -> DigitScore:
    """:class:`DigitScore` of (N, 1, 28, 28) images in [0, 1] whose digits should be ``labels``."""
    from gan_tutor.classifier import judge_digits
    from gan_tutor.metrics import frechet_distance_of

    v = judge_digits(images, clf, labels=labels)
    return DigitScore(v.label_accuracy, v.confident_share, frechet_distance_of(images, held_features, clf.features))


def evaluate(t: Translator, source, held_a, clf=None, held_features: torch.Tensor | None = None) -> TranslationScore:
    """Score translator ``t`` on ``source`` (B's test split, an ``ImageData`` with labels, used for measuring only) and,
    when it has both directions, on the cycle of ``held_a`` (A's held-out digits). ``held_features``: ``clf``'s
    features of ``held_a``, when the caller has them already (computed here otherwise)."""
    from gan_tutor.classifier import judge_digits, load_digit_classifier

    clf = clf if clf is not None else load_digit_classifier()
    if held_features is None:
        with torch.no_grad():
            held_features = clf.features(held_a.images)
    translated = score_digits(t(source.images, "b2a"), source.labels, clf, held_features)
    baseline = score_digits(source.images, source.labels, clf, held_features)
    if "a2b" not in t.nets:
        return TranslationScore(translated, baseline)
    a = held_a.images
    mid = t(a, "a2b")
    back = t(mid, "b2a")
    back_requantised = t(to_uci_grid(mid), "b2a")
    return TranslationScore(translated, baseline, float(l1(back, a)),
                            judge_digits(back, clf, labels=held_a.labels).label_accuracy, float(l1(back_requantised, a)))


class TranslationProbe:
    """A hook for the loop (``spec.train(..., hooks=[probe])``): every ``every`` steps it measures the B -> A
    translations of ``source`` (label accuracy, confident share) and, for a CycleGAN, the cycle's L1 error on ``held_a``
    with and without re-quantising the intermediate image. Loss curves of a translation model say little about whether
    it works; these say what translation must preserve. It draws no random numbers: a run trains the same with it."""

    def __init__(self, source, held_a, every: int = 100, clf=None, n: int = 300):
        from gan_tutor.classifier import load_digit_classifier

        self.source_images, self.source_labels = source.images[:n], source.labels[:n]
        self.held = held_a.images[:n]
        self.every = every
        self.clf = clf if clf is not None else load_digit_classifier()
        self.rows: dict[str, list] = {"step": [], "label_accuracy": [], "confident": [], "cycle_l1": [], "requantised_cycle_l1": []}

    def __call__(self, state) -> None:
        if state.step % self.every:
            return
        from gan_tutor.classifier import judge_digits

        m = state.modules
        b2a, a2b = (m["F"], m["G"]) if "F" in m else (m["G"], None)
        device = next(b2a.parameters()).device
        run = lambda net, x: ((net(x.to(device) * 2 - 1) + 1) / 2).clamp(0, 1).cpu()  # noqa: E731
        with torch.no_grad():
            v = judge_digits(run(b2a, self.source_images), self.clf, labels=self.source_labels)
            self.rows["step"].append(state.step)
            self.rows["label_accuracy"].append(v.label_accuracy)
            self.rows["confident"].append(v.confident_share)
            if a2b is not None:
                mid = run(a2b, self.held)
                self.rows["cycle_l1"].append(float(l1(run(b2a, mid), self.held)))
                self.rows["requantised_cycle_l1"].append(float(l1(run(b2a, to_uci_grid(mid)), self.held)))
