r"""Toy distributions for notebook 01 (GAN maths): mixtures of Gaussians whose density is known in closed form.

Before images, a GAN is easiest to see on a mixture of isotropic Gaussians in 1 or 2 dimensions, whose density
is known in closed form:

.. math::

    p(x) = \sum_{k=1}^{K} \pi_k \, \mathcal{N}(x;\, \mu_k,\, \sigma_k^2 I_d), \qquad
    \log p(x) = \operatorname{logsumexp}_k \Big[\log \pi_k - \tfrac{d}{2}\log(2\pi\sigma_k^2)
                 - \frac{\lVert x - \mu_k \rVert^2}{2\sigma_k^2}\Big].

:class:`GaussianMixture` samples it ancestrally (:math:`k \sim \mathrm{Cat}(\pi)`, then
:math:`x = \mu_k + \sigma_k \varepsilon`, :math:`\varepsilon \sim \mathcal{N}(0, I_d)`) and evaluates
:math:`\log p` with the log-sum-exp above, which stays finite far from every mode where the plain
sum of densities underflows to 0. ``ring8`` (8 modes on a circle, Metz et al., 2017, "Unrolled
Generative Adversarial Networks", arXiv:1611.02163) and ``grid25`` (a 5x5 grid, Srivastava et al.,
2017, "VEEGAN", arXiv:1705.07761) are the standard pictures of mode collapse: a collapsed generator
covers a few of the modes and misses the rest.

Taught in: notebook 01 (GAN maths).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True, eq=False)
class GaussianMixture:
    r"""A mixture of isotropic Gaussians, :math:`p(x) = \sum_k \pi_k \mathcal{N}(x; \mu_k, \sigma_k^2 I_d)`.

    means: (K, d) the :math:`\mu_k`; stds: (K,) the :math:`\sigma_k`; weights: (K,) the :math:`\pi_k`,
    non-negative and summing to 1. Lists are accepted and become tensors of the default dtype.
    """

    means: torch.Tensor
    stds: torch.Tensor
    weights: torch.Tensor

    def __post_init__(self):
        def tensor(x):
            x = torch.as_tensor(x)
            return x if x.is_floating_point() else x.to(torch.get_default_dtype())

        means, stds, weights = tensor(self.means), tensor(self.stds), tensor(self.weights)
        if means.ndim != 2:
            raise ValueError(f"means must be (K, d), got shape {tuple(means.shape)}: for 1-D use mixture_1d")
        k = means.shape[0]
        if stds.shape != (k,) or weights.shape != (k,):
            raise ValueError(f"stds and weights must be ({k},) like means' first dim, got {tuple(stds.shape)}, {tuple(weights.shape)}")
        if not bool((stds > 0).all()):
            raise ValueError(f"stds must be positive, got {stds.tolist()}")
        if bool((weights < 0).any()) or abs(float(weights.sum()) - 1) > 1e-5:
            raise ValueError(f"weights must be non-negative and sum to 1, got {weights.tolist()}: pass weights / weights.sum()")
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "stds", stds.to(means.dtype))
        object.__setattr__(self, "weights", weights.to(means.dtype))

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def num_components(self) -> int:
        return self.means.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n points (n, d); the same ``generator`` state gives the same points."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return self.means.new_zeros(0, self.dim)
        # ancestral sampling: k ~ Cat(pi), then x = mu_k + sigma_k * eps with eps ~ N(0, I_d)
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)  # (n,)
        eps = torch.randn(n, self.dim, generator=generator, dtype=self.means.dtype)  # (n, d)
        return self.means[k] + self.stds[k, None] * eps

    def _points(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x)
        if x.ndim == 1 and self.dim == 1:  # a 1-D mixture takes a plain grid of points
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must be (n, {self.dim}) (or (n,) for a 1-D mixture), got shape {tuple(x.shape)}")
        return x

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) for x (n, d) (or (n,) when d = 1) -> (n,)."""
        x = self._points(x)
        d = self.dim
        # log pi_k - d/2 log(2 pi sigma_k^2) - ||x - mu_k||^2 / (2 sigma_k^2), shape (n, K)
        sq = (x[:, None, :] - self.means[None, :, :]).pow(2).sum(-1)
        var = self.stds.pow(2)
        log_joint = torch.log(self.weights) - 0.5 * d * torch.log(2 * math.pi * var) - sq / (2 * var)
        # log sum_k exp(.) without underflow: far from all modes every term is hugely negative
        return torch.logsumexp(log_joint, dim=1)

    def pdf(self, x: torch.Tensor) -> torch.Tensor:
        """p(x) for x (n, d) (or (n,) when d = 1) -> (n,)."""
        return self.log_prob(x).exp()


def mixture_1d(means, stds, weights=None) -> GaussianMixture:
    """A 1-D mixture from K means and K stds; equal weights unless given."""
    means = torch.as_tensor(means, dtype=torch.get_default_dtype()).reshape(-1, 1)  # (K, 1)
    k = means.shape[0]
    stds = torch.as_tensor(stds, dtype=means.dtype).reshape(-1)
    weights = torch.full((k,), 1 / k, dtype=means.dtype) if weights is None else weights
    return GaussianMixture(means, stds, weights)


def ring8(radius: float = 2.0, std: float = 0.02) -> GaussianMixture:
    """8 equally weighted modes at angles 2 pi k / 8 on a circle of ``radius`` (Metz et al., 2017)."""
    angle = 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8
    means = radius * torch.stack([angle.cos(), angle.sin()], dim=1)  # (8, 2)
    dtype = torch.get_default_dtype()
    return GaussianMixture(means.to(dtype), torch.full((8,), std, dtype=dtype), torch.full((8,), 1 / 8, dtype=dtype))


def grid25(spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """25 equally weighted modes on a 5x5 grid centred at 0, ``spacing`` apart (Srivastava et al., 2017)."""
    coords = spacing * (torch.arange(5, dtype=torch.float64) - 2)  # -2s, -s, 0, s, 2s
    means = torch.cartesian_prod(coords, coords)  # (25, 2)
    dtype = torch.get_default_dtype()
    return GaussianMixture(means.to(dtype), torch.full((25,), std, dtype=dtype), torch.full((25,), 1 / 25, dtype=dtype))
