r"""The mathematics of the original GAN: value function, optimal discriminator, divergences, losses.

Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley, Ozair, Courville, Bengio (2014),
"Generative Adversarial Nets", arXiv:1406.2661.

A generator :math:`G` maps noise :math:`z \sim p_z` to samples with density :math:`p_g`; a
discriminator :math:`D(x) \in (0, 1)` is the probability that :math:`x` came from the data. They play

.. math::

    \min_G \max_D V(D, G) = \mathbb{E}_{x \sim p_{data}}[\log D(x)]
                          + \mathbb{E}_{z \sim p_z}[\log(1 - D(G(z)))].

For a fixed :math:`G` the best discriminator is (Proposition 1 of the paper)

.. math::

    D^*_G(x) = \frac{p_{data}(x)}{p_{data}(x) + p_g(x)},

and putting it back into :math:`V` gives (Theorem 1)

.. math::

    V(D^*_G, G) = -\log 4 + 2\,\mathrm{JSD}(p_{data} \,\|\, p_g),
    \qquad \mathrm{JSD}(P \| Q) = \tfrac12 \mathrm{KL}(P \| M) + \tfrac12 \mathrm{KL}(Q \| M),
    \quad M = \tfrac12 (P + Q),

so the generator minimises a Jensen-Shannon divergence whose minimum, :math:`-\log 4`, is reached
exactly when :math:`p_g = p_{data}` (then :math:`D^* = 1/2` everywhere). JSD lies in
:math:`[0, \log 2]` nats and equals :math:`\log 2` for distributions with disjoint supports.

**Saturating versus non-saturating generator loss.** The minimax generator minimises
:math:`\mathbb{E}_z[\log(1 - D(G(z)))]`. With :math:`D(G(z)) = \sigma(a)` for a logit :math:`a`,
:math:`\partial_a \log(1 - \sigma(a)) = -\sigma(a)`, which vanishes when the discriminator confidently
rejects the fakes (:math:`D(G(z)) \to 0`), i.e. early in training: the loss *saturates*. The paper
(Section 3) suggests instead maximising :math:`\log D(G(z))`, i.e. minimising
:math:`-\mathbb{E}_z[\log D(G(z))]`, whose gradient :math:`-(1 - \sigma(a))` is strongest exactly
there. It has the same fixed point but is *not* the gradient of the minimax game.

All losses here are small pure functions of discriminator **logits** :math:`a` (:math:`D = \sigma(a)`),
computed with softplus, never as ``log(sigmoid(a))``, which overflows to ``-inf`` in float32 once
:math:`|a|` exceeds about 90:

.. math::

    -\log \sigma(a) = \mathrm{softplus}(-a), \qquad -\log(1 - \sigma(a)) = \mathrm{softplus}(a).

The divergences work on densities sampled on a uniform grid (1-D toy distributions), and
:func:`mode_coverage` measures mode collapse on the 2-D toy mixtures (ring of 8, grid of 25).

Taught in: notebook 01 (GAN maths); the losses are used by the vanilla GAN of notebook 02.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "value_function",
    "r1_penalty",
    "d_logistic_loss",
    "g_saturating_loss",
    "g_nonsaturating_loss",
    "optimal_discriminator",
    "kl_divergence",
    "js_divergence",
    "value_at_optimum",
    "ModeCoverage",
    "mode_coverage",
]


# ----------------------------------------------------------------------------------------------------
# Value function and losses (on logits)
# ----------------------------------------------------------------------------------------------------


def value_function(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    r"""Monte Carlo estimate of :math:`V(D, G)` from discriminator logits.

    real_logits: logits :math:`a` of :math:`D` on data samples, any shape (usually ``(N,)`` or ``(N, 1)``).
    fake_logits: logits of :math:`D` on generated samples :math:`G(z)`, any shape.
    Returns a 0-dim tensor; the two batches are averaged separately, as the two expectations are.
    """
    # V = mean log sigmoid(r) + mean log(1 - sigmoid(f)) = -mean softplus(-r) - mean softplus(f)
    return -F.softplus(-real_logits).mean() - F.softplus(fake_logits).mean()


def d_logistic_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0
) -> torch.Tensor:
    r"""The discriminator's logistic loss, :math:`-V(D, G)` when ``real_label`` is 1.

    .. math::

        L_D = \mathrm{BCE}(a_{real}, y) + \mathrm{BCE}(a_{fake}, 0),
        \qquad \mathrm{BCE}(a, y) = -[y \log \sigma(a) + (1 - y) \log(1 - \sigma(a))],

    each averaged over its batch. ``real_label`` below 1 (e.g. 0.9) is one-sided label smoothing
    (Salimans et al. 2016, "Improved Techniques for Training GANs", arXiv:1606.03498, Section 3.4):
    only the real targets are smoothed (to :math:`\alpha`). Smoothing the fake targets to
    :math:`\beta > 0` too would make the optimal discriminator
    :math:`(\alpha p_{data} + \beta p_g) / (p_{data} + p_g)`, which no longer pushes the generator
    out of regions where :math:`p_g` is large and :math:`p_{data}` small.

    real_logits, fake_logits: any shapes. Returns a 0-dim tensor.
    """
    if not 0.0 <= real_label <= 1.0:
        raise ValueError(f"real_label must lie in [0, 1] (a probability target), got {real_label}")
    real_loss = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))
    fake_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real_loss + fake_loss


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    r"""The R1 gradient penalty (Mescheder, Geiger & Nowozin 2018, "Which Training Methods for GANs do
    actually Converge?", ICML, arXiv:1801.04406): :math:`\mathbb{E}_{x \sim p_{data}} \lVert \nabla_x D(x) \rVert^2`,
    the squared norm of the logit's gradient with respect to each real input, averaged over the batch.

    ``real`` must require grad and ``real_logits`` (N, ...) be computed from it; the result keeps its graph,
    so D can be trained on ``gamma / 2 * r1_penalty(...)``. Returns a 0-dim tensor.
    """
    if not real.requires_grad:
        raise ValueError("r1_penalty needs the gradient with respect to the real images: call real.requires_grad_() "
                         "before computing D's logits on them.")
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def g_saturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""The minimax generator objective :math:`\mathbb{E}_z[\log(1 - D(G(z)))]`, to be minimised.

    Equals :math:`-\mathrm{mean}\,\mathrm{softplus}(a)`. Its gradient with respect to each logit is
    :math:`-\sigma(a)/N`, which **vanishes as** :math:`D(G(z)) \to 0`: when the discriminator easily
    rejects the fakes (early training) the generator learns almost nothing. Shown for comparison; train
    with :func:`g_nonsaturating_loss`.

    fake_logits: logits of :math:`D` on :math:`G(z)`, any shape. Returns a 0-dim tensor.
    """
    # log(1 - sigmoid(a)) = -softplus(a)
    return -F.softplus(fake_logits).mean()


def g_nonsaturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""The non-saturating generator loss :math:`-\mathbb{E}_z[\log D(G(z))]` (paper, Section 3).

    Equals :math:`\mathrm{mean}\,\mathrm{softplus}(-a)`. This is **not** the gradient of the minimax
    game: it has the same fixed point (:math:`p_g = p_{data}`), but its gradient per logit,
    :math:`-(1 - \sigma(a))/N`, is strong exactly when :math:`D(G(z)) \to 0`, early in training.

    fake_logits: logits of :math:`D` on :math:`G(z)`, any shape. Returns a 0-dim tensor.
    """
    # -log sigmoid(a) = softplus(-a)
    return F.softplus(-fake_logits).mean()


# ----------------------------------------------------------------------------------------------------
# Densities on a grid: optimal discriminator, divergences
# ----------------------------------------------------------------------------------------------------


def d_hinge_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    r"""The discriminator's hinge loss (Lim & Ye 2017, arXiv:1705.02894; Miyato et al. 2018).

    .. math::
        L_D = \mathbb{E}_x[\max(0, 1 - a_{real})] + \mathbb{E}_z[\max(0, 1 + a_{fake})]

    D is no longer pushed once a real logit exceeds 1 or a fake one falls below -1: it spends its
    capacity on the samples it still gets wrong. Taught in notebook 03, as a step beyond the 2015 recipe.
    """
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def g_hinge_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""The generator's loss paired with the hinge discriminator: :math:`L_G = -\mathbb{E}_z[a_{fake}]`."""
    return -fake_logits.mean()


def _densities(*arrays) -> list[torch.Tensor]:
    """Tensors (float64 unless already floating) of equal shape and no negative values."""
    out = []
    for a in arrays:
        t = torch.as_tensor(a)
        if not t.is_floating_point():
            t = t.to(torch.float64)
        out.append(t)
    shape = out[0].shape
    for t in out[1:]:
        if t.shape != shape:
            raise ValueError(f"densities must have the same shape (one value per grid point), got {tuple(shape)} and {tuple(t.shape)}")
    for t in out:
        if (t < 0).any():
            raise ValueError("densities must be non-negative; got a negative value (check the density formula)")
    return out


def _check_dx(dx: float) -> float:
    dx = float(dx)
    if not (dx > 0 and math.isfinite(dx)):
        raise ValueError(f"dx is the grid spacing and must be positive and finite, got {dx}")
    return dx


def optimal_discriminator(p_data, p_g) -> torch.Tensor:
    r"""The optimal discriminator :math:`D^*(x) = p_{data}(x) / (p_{data}(x) + p_g(x))`, elementwise.

    p_data, p_g: density values at the same points (tensors or arrays of equal shape, non-negative).
    Returns a tensor of that shape. Where both densities are 0 the ratio is 0/0: no sample ever lands
    there, so :math:`D^*` is unconstrained; we return 0.5 ("cannot tell") there rather than NaN.
    """
    p_data, p_g = _densities(p_data, p_g)
    total = p_data + p_g
    # torch.where evaluates both branches: divide by a safe denominator so no NaN is ever formed.
    safe = torch.where(total > 0, total, torch.ones_like(total))
    return torch.where(total > 0, p_data / safe, torch.full_like(total, 0.5))


def kl_divergence(p, q, dx: float) -> torch.Tensor:
    r""":math:`\mathrm{KL}(P \| Q) = \int p \log(p / q)\,dx` in nats, by a Riemann sum on a uniform grid.

    p, q: densities sampled on the same uniform grid (any shape; for a grid in several dimensions,
    ``dx`` is the volume of one cell). :math:`0 \log 0 = 0`; the result is ``inf`` where
    :math:`p > 0 = q`. Returns a 0-dim tensor.
    """
    p, q = _densities(p, q)
    dx = _check_dx(dx)
    # p log(p/q) = xlogy(p, p) - xlogy(p, q): xlogy(0, .) = 0 gives 0 log 0 = 0, and xlogy(p>0, 0) = -inf.
    return (torch.special.xlogy(p, p) - torch.special.xlogy(p, q)).sum() * dx


def js_divergence(p, q, dx: float) -> torch.Tensor:
    r"""Jensen-Shannon divergence :math:`\tfrac12 \mathrm{KL}(P\|M) + \tfrac12 \mathrm{KL}(Q\|M)`, nats.

    :math:`M = (P + Q)/2`. p, q: densities on the same uniform grid with spacing ``dx``. Symmetric,
    in :math:`[0, \log 2]`; ``log 2`` for disjoint supports, 0 for identical densities; always
    finite because :math:`m \ge p/2`. Returns a 0-dim tensor.
    """
    p, q = _densities(p, q)
    dx = _check_dx(dx)
    # JSD = 1/2 sum [p log(p/m) + q log(q/m)] dx with p/m = 2p/(p + q). The ratio is formed directly:
    # m = (p + q)/2 itself can underflow to 0 where p is subnormal (far tails), giving p log(p/0) = inf.
    total = p + q
    safe = torch.where(total > 0, total, torch.ones_like(total))
    terms = torch.special.xlogy(p, 2 * p / safe) + torch.special.xlogy(q, 2 * q / safe)
    return 0.5 * terms.sum() * dx


def value_at_optimum(p_data, p_g, dx: float) -> torch.Tensor:
    r""":math:`V(D^*, G) = \int p_{data} \log D^* + p_g \log(1 - D^*)\,dx` by quadrature on a grid.

    Computed from :func:`optimal_discriminator`, not from :func:`js_divergence`, so that Theorem 1,
    :math:`V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}(p_{data} \| p_g)`, can be checked numerically.
    Returns a 0-dim tensor (nats).
    """
    p_data, p_g = _densities(p_data, p_g)
    dx = _check_dx(dx)
    d_star = optimal_discriminator(p_data, p_g)
    # 1 - D* = p_g / (p_data + p_g), formed directly: 1 - d_star would lose digits where D* ~ 1.
    one_minus_d_star = optimal_discriminator(p_g, p_data)
    # xlogy: where a density is 0 its term is 0, whatever D* is there.
    integrand = torch.special.xlogy(p_data, d_star) + torch.special.xlogy(p_g, one_minus_d_star)
    return integrand.sum() * dx


# ----------------------------------------------------------------------------------------------------
# Mode coverage on 2-D mixtures
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModeCoverage:
    """How many modes of a Gaussian mixture a set of samples covers, and how many samples are good.

    modes_covered: number of modes holding at least ``min_share`` of the high-quality samples.
    n_modes: number of modes (centres).
    high_quality_share: fraction of all samples within 3 std of their nearest centre.
    counts: high-quality samples assigned to each mode, in the order of the centres.
    min_share: the share of high-quality samples a mode needed to count as covered.
    """

    modes_covered: int
    n_modes: int
    high_quality_share: float
    counts: tuple[int, ...]
    min_share: float

    def __str__(self) -> str:
        return (
            f"{self.modes_covered}/{self.n_modes} modes covered, "
            f"{100 * self.high_quality_share:.1f}% high-quality samples"
        )


def mode_coverage(samples, centers, std: float, min_share: float | None = None) -> ModeCoverage:
    r"""Modes covered and share of high-quality samples, for a mixture of isotropic Gaussians.

    The convention of the 2-D ring-of-8 and grid-of-25 experiments (Metz et al. 2016, "Unrolled
    Generative Adversarial Networks", arXiv:1611.02163; Srivastava et al. 2017, "VEEGAN",
    arXiv:1705.07761): a sample is **high quality** if it lies within 3 standard deviations of its
    nearest mode centre; it is then registered to that mode. A mode is **covered** if it holds at
    least ``min_share`` of the high-quality samples.

    Default ``min_share`` = 1 / (5 K) for K modes: a mode must hold a fifth of its fair share. This
    follows PacGAN (Lin et al. 2018, arXiv:1712.04086), which counts a mode of the 25-grid as lost when
    fewer than 20 of 2,500 samples fall in it, a fifth of the 100 it should hold; we take the share
    of the high-quality samples so that the two numbers returned measure different things (spread
    over modes versus sample quality). Exact mixture samples cover every mode with near certainty
    once each mode expects a few dozen samples.

    For a D-dimensional isotropic Gaussian the chance to lie within 3 std is the chi distribution's
    CDF at 3; in 2-D it is :math:`1 - e^{-9/2} \approx 0.9889`, so exact samples of a well separated
    2-D mixture give a high-quality share of about 98.9 %, not 100 %.

    samples: (N, D) points; centers: (K, D) mode centres; std: the standard deviation of each mode.
    """
    samples = torch.as_tensor(samples)
    centers = torch.as_tensor(centers)
    if samples.ndim != 2:
        raise ValueError(f"samples must have shape (N, D), got {tuple(samples.shape)}; reshape with .reshape(-1, D)")
    if centers.ndim != 2 or centers.shape[1] != samples.shape[1]:
        raise ValueError(
            f"centers must have shape (K, D) with the samples' D = {samples.shape[1]}, got {tuple(centers.shape)}"
        )
    n_modes = centers.shape[0]
    if n_modes == 0:
        raise ValueError("centers is empty: pass the K mode centres as a (K, D) tensor")
    std = float(std)
    if not (std > 0 and math.isfinite(std)):
        raise ValueError(f"std must be positive and finite, got {std}")
    if min_share is None:
        min_share = 1.0 / (5 * n_modes)
    if not 0.0 < min_share <= 1.0:
        raise ValueError(f"min_share is a share of the high-quality samples and must lie in (0, 1], got {min_share}")
    n = samples.shape[0]
    if n == 0:
        return ModeCoverage(0, n_modes, 0.0, (0,) * n_modes, min_share)

    # Distances in float64 so that float32 samples far from the centres lose no digits.
    dist = torch.cdist(samples.to(torch.float64), centers.to(torch.float64))  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)  # (N,), (N,)
    high_quality = nearest_dist <= 3.0 * std  # (N,)
    n_hq = int(high_quality.sum())
    counts = torch.bincount(nearest[high_quality], minlength=n_modes)  # (K,)
    covered = (counts > 0) & (counts >= min_share * n_hq)
    return ModeCoverage(
        modes_covered=int(covered.sum()),
        n_modes=n_modes,
        high_quality_share=n_hq / n,
        counts=tuple(int(c) for c in counts),
        min_share=min_share,
    )
