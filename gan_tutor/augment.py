r"""Differentiable augmentation for data-efficient GAN training (DiffAugment).

Zhao, Liu, Lin, Zhu, Han (2020), "Differentiable Augmentation for Data-Efficient GAN Training",
NeurIPS, arXiv:2006.10738. On a small dataset D memorises the real images and its feedback to G
degrades. Augmenting only the real images would teach G to draw augmented images; DiffAugment applies
the *same family* of random transformations :math:`T` to real and fake images, in both players' steps,

.. math::
    L_D = \mathbb{E}_x[f(-D(T(x)))] + \mathbb{E}_z[f(D(T(G(z))))], \qquad
    L_G = \mathbb{E}_z[f(-D(T(G(z))))],

with every :math:`T` differentiable, so G's gradient flows back through the augmentation. The policies
here suit 28x28 digits on a black background (value -1 in G's range):

* ``translation``: shift by up to 1/8 of the side in each direction, filling with the background;
* ``cutout``: blank one square of half the side at a random place (the paper's ``cutout`` ratio 0.5).

A policy is a comma-separated string (``"translation,cutout"``) so that it can live in a run's
config. Taught in: notebook 03 (DCGAN: improvements over the 2015 recipe, measured).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F


def translation(x: torch.Tensor, ratio: float = 0.125, fill: float = -1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image (N, C, H, W) by whole pixels, up to ``ratio`` of its side, filling with ``fill``."""
    n, _, h, w = x.shape
    ph, pw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    padded = F.pad(x, (pw, pw, ph, ph), value=fill)  # (N, C, H + 2ph, W + 2pw)
    dy = torch.randint(0, 2 * ph + 1, (n, 1, 1), generator=generator, device=x.device)  # top row of the crop
    dx = torch.randint(0, 2 * pw + 1, (n, 1, 1), generator=generator, device=x.device)
    rows = (dy + torch.arange(h, device=x.device)[None, :, None]).expand(n, h, w)  # (N, H, W) source rows
    cols = (dx + torch.arange(w, device=x.device)[None, None, :]).expand(n, h, w)
    idx = (rows * (w + 2 * pw) + cols).flatten(1)  # (N, H*W) into the flattened padded image
    flat = padded.flatten(2)  # (N, C, (H + 2ph)(W + 2pw))
    return flat.gather(2, idx[:, None, :].expand(-1, x.shape[1], -1)).view_as(x)


def cutout(x: torch.Tensor, ratio: float = 0.5, fill: float = -1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Set one square of side ``ratio * H`` per image (N, C, H, W), centred at random, to ``fill``."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - sh % 2), (n, 1, 1), generator=generator, device=x.device)  # square centres
    cx = torch.randint(0, w + (1 - sw % 2), (n, 1, 1), generator=generator, device=x.device)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = ((ys - cy + sh // 2) >= 0) & ((ys - cy + sh // 2) < sh) & ((xs - cx + sw // 2) >= 0) & ((xs - cx + sw // 2) < sw)
    return torch.where(inside[:, None], torch.full_like(x, fill), x)  # (N, C, H, W)


POLICIES: dict[str, Callable[..., torch.Tensor]] = {"translation": translation, "cutout": cutout}


def parse_policy(policy: str) -> list[str]:
    """``"translation,cutout"`` -> ["translation", "cutout"]; ``""`` -> []; unknown names are refused."""
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r}: use a comma-separated subset of {', '.join(POLICIES)}.")
    return names


def diff_augment(x: torch.Tensor, policy: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply the policy's transformations in order; each is differentiable with respect to ``x``."""
    for name in parse_policy(policy):
        x = POLICIES[name](x, generator=generator)
    return x
