r"""Walking the latent space: linear and spherical interpolation, and attribute vectors.

Spherical linear interpolation (Shoemake 1985, "Animating rotation with quaternion curves", SIGGRAPH;
advocated for GAN latents by White 2016, "Sampling Generative Networks", arXiv:1609.04468): with
:math:`\cos\theta = \frac{\langle z_0, z_1 \rangle}{\lVert z_0 \rVert \lVert z_1 \rVert}`,

.. math::
    \operatorname{slerp}(z_0, z_1; t) = \frac{\sin((1 - t)\theta)}{\sin\theta}\, z_0
                                      + \frac{\sin(t\theta)}{\sin\theta}\, z_1 .

Why not a straight line: a draw from :math:`\mathcal{N}(0, I_d)` has norm close to :math:`\sqrt{d}`
(8 for :math:`d = 64`), so the prior's mass lies on a thin shell. The midpoint of two independent
draws, which are nearly orthogonal, has norm about :math:`\sqrt{d/2}`: G has hardly ever seen such a
:math:`z`. Along the arc between two vectors of equal norm the norm stays constant.

Latent arithmetic (Radford et al. 2015, section 6.3): the difference between the mean latents of two
groups of samples (say bold and thin digits) is a direction; adding it to other latents moves their
samples along that attribute.

Taught in: notebook 03 (DCGAN: interpolation, arithmetic); used in notebook 04.
"""

from __future__ import annotations

import torch


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    """(1 - t) z0 + t z1, elementwise."""
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: float, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation along the last dimension, (..., d) -> (..., d); linear where z0 ∥ z1."""
    cos = (z0 * z1).sum(-1, keepdim=True) / (z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True)).clamp_min(eps)
    theta = torch.arccos(cos.clamp(-1.0, 1.0))  # (..., 1): one angle per pair of vectors
    sin = torch.sin(theta)
    parallel = sin.abs() < 1e-4  # sin(theta) -> 0: the limit of the formula is the straight line
    safe = torch.where(parallel, torch.ones_like(sin), sin)
    out = (torch.sin((1 - t) * theta) * z0 + torch.sin(t * theta) * z1) / safe
    return torch.where(parallel, lerp(z0, z1, t), out)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, n: int, mode: str = "slerp") -> torch.Tensor:
    """n points from z0 to z1 (both (d,)), endpoints included: (n, d)."""
    if mode not in ("slerp", "lerp"):
        raise ValueError(f"unknown interpolation {mode!r}: use 'slerp' or 'lerp'.")
    if n < 2:
        raise ValueError(f"an interpolation needs n >= 2 points (both ends), got {n}.")
    fn = slerp if mode == "slerp" else lerp
    return torch.stack([fn(z0, z1, i / (n - 1)) for i in range(n)])


def attribute_vector(z: torch.Tensor, score: torch.Tensor, k: int) -> torch.Tensor:
    """Mean latent of the k samples scoring highest minus that of the k scoring lowest: (d,).

    z: (N, d) latents; score: (N,) an attribute of each latent's sample (e.g. its ink).
    """
    if z.ndim != 2 or score.shape != (z.shape[0],):
        raise ValueError(f"z must be (N, d) and score (N,); got {tuple(z.shape)} and {tuple(score.shape)}.")
    if not 1 <= k <= z.shape[0] // 2:
        raise ValueError(f"k must be between 1 and N // 2 = {z.shape[0] // 2}, got {k}.")
    order = score.argsort()
    return z[order[-k:]].mean(0) - z[order[:k]].mean(0)
