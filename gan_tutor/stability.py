r"""Why GAN training is unstable, and the fixes of notebook 08: the Wasserstein GAN (weight clipping, gradient
penalty), spectral normalisation, R1 and the Dirac-GAN.

* Arjovsky, Chintala, Bottou (2017), "Wasserstein GAN", arXiv:1701.07875 (WGAN, weight clipping).
* Gulrajani, Ahmed, Arjovsky, Dumoulin, Courville (2017), "Improved Training of Wasserstein GANs",
  arXiv:1704.00028 (WGAN-GP).
* Miyato, Kataoka, Koyama, Yoshida (2018), "Spectral Normalization for Generative Adversarial Networks",
  arXiv:1802.05957.
* Mescheder, Geiger, Nowozin (2018), "Which Training Methods for GANs do actually Converge?", arXiv:1801.04406
  (R1, the Dirac-GAN).

**Disjoint supports.** For :math:`P_0 = \delta_0` and :math:`P_\theta = \delta_\theta` the Jensen-Shannon divergence
of notebook 01 is :math:`\log 2` for every :math:`\theta \ne 0`: it says "different", never "how far", and a
discriminator that separates the two perfectly passes the generator no gradient. The Wasserstein-1 distance is
:math:`|\theta|`. Its Kantorovich-Rubinstein dual

.. math::
    W_1(P_r, P_g) = \sup_{\lVert f \rVert_L \le 1} \mathbb{E}_{x \sim P_r}[f(x)] - \mathbb{E}_{x \sim P_g}[f(x)]

makes a *critic* f out of the discriminator: the critic minimises :math:`\mathbb{E}[f(G(z))] - \mathbb{E}[f(x)]`
(:func:`d_wasserstein_loss`), the generator :math:`-\mathbb{E}[f(G(z))]` (:func:`g_wasserstein_loss`). The
Lipschitz constraint is what the fixes differ in:

* weight clipping (Arjovsky et al.): every weight in :math:`[-c, c]` after each critic step (:func:`clip_weights`);
* the gradient penalty (Gulrajani et al., eq. 3): :math:`\lambda\, \mathbb{E}_{\hat x}[(\lVert \nabla_{\hat x}
  f(\hat x) \rVert_2 - 1)^2]` on :math:`\hat x = \epsilon x + (1 - \epsilon) \tilde x`, one
  :math:`\epsilon \sim U[0, 1]` per sample, the norm per sample (:func:`gradient_penalty`);
* spectral normalisation (Miyato et al.): each weight divided by its largest singular value, estimated by power
  iteration (:func:`power_iteration`; ``torch.nn.utils.parametrizations.spectral_norm`` in the models);
* R1 (Mescheder et al.): :math:`\frac{\gamma}{2} \mathbb{E}_{x \sim P_r}[\lVert \nabla_x D(x) \rVert^2]`,
  on real data only (``gan_math.r1_penalty``, notebook 01; the loop's ``r1_gamma``).

**The Dirac-GAN** (Mescheder et al., section 2.2): real data :math:`\delta_0`, generator :math:`\delta_\theta`,
discriminator :math:`D_\psi(x) = \psi x`, so :math:`L(\theta, \psi) = f(\psi\theta) + f(0)` with
:math:`f(t) = -\log(1 + e^{-t})` (or :math:`f(t) = t` for the WGAN). The gradient vector field
:math:`v = (-\partial_\theta L, \partial_\psi L)` has Jacobian :math:`\begin{pmatrix} 0 & -f'(0) \\ f'(0) & -\gamma
\end{pmatrix}` at the equilibrium (0, 0) (:math:`\gamma` = R1's weight): without R1 the eigenvalues
:math:`\pm i f'(0)` are imaginary and training circles; with it their real parts are :math:`-\gamma/2` or less and it
converges (:func:`dirac_eigenvalues`, :func:`dirac_trajectory`).

What trains in notebook 08 (``StabilityConfig``, ``build``, ``VARIANTS``): notebook 02's MLP GAN, with one loss or
regulariser changed at a time (its networks have no batch norm, through which a per-sample gradient penalty would be
meaningless). The loop
(``gan_tutor.train.fit_gan``) runs :func:`critic_step` for the Wasserstein losses.

Taught in: notebook 08 (stability).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from gan_tutor.config import pick_tier
from gan_tutor.gan import Discriminator, GANConfig, Generator
from gan_tutor.gan_math import js_divergence

# ----------------------------------------------------------------------------------------------------
# Distances: why the Jensen-Shannon divergence gives no gradient, and what W1 gives instead
# ----------------------------------------------------------------------------------------------------


def wasserstein_1d(x, y) -> float:
    r"""W1 between the empirical distributions of 1-D samples x (n,) and y (m,), each sample of weight 1/n (1/m).

    In one dimension :math:`W_1 = \int |F_x(t) - F_y(t)|\, dt`, the area between the two empirical CDFs, a sum over
    the sorted pooled samples (scipy.stats.wasserstein_distance computes the same).
    """
    x = torch.as_tensor(x, dtype=torch.float64).flatten()
    y = torch.as_tensor(y, dtype=torch.float64).flatten()
    if x.numel() == 0 or y.numel() == 0:
        raise ValueError("wasserstein_1d needs at least one sample on each side.")
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise ValueError("wasserstein_1d: the samples hold NaN or inf.")
    pooled, _ = torch.sort(torch.cat([x, y]))
    widths = pooled[1:] - pooled[:-1]  # (n + m - 1,) the intervals between neighbouring pooled points
    # each CDF on every interval [pooled[i], pooled[i + 1]): the share of its samples <= pooled[i]
    cdf_x = torch.searchsorted(torch.sort(x).values, pooled[:-1], right=True).double() / x.numel()
    cdf_y = torch.searchsorted(torch.sort(y).values, pooled[:-1], right=True).double() / y.numel()
    return float(((cdf_x - cdf_y).abs() * widths).sum())


def gaussian_divergences(shifts, sigma: float = 0.1, half_width: float = 12.0, n: int = 24001) -> tuple[torch.Tensor, torch.Tensor]:
    r"""(JS, W1) between :math:`\mathcal N(0, \sigma^2)` and :math:`\mathcal N(s, \sigma^2)` for each shift s.

    JS on a grid with notebook 01's ``gan_math.js_divergence`` (it tends to :math:`\log 2` once the two barely
    overlap); W1 in closed form, :math:`|s|` (a shift moves every unit of mass by s). ``sigma`` -> 0 is the pair of
    point masses :math:`\delta_0, \delta_s`.
    """
    shifts = torch.as_tensor(shifts, dtype=torch.float64).flatten()
    grid = torch.linspace(-half_width, half_width, n, dtype=torch.float64)
    dx = float(grid[1] - grid[0])
    if shifts.abs().max() + 8 * sigma > half_width:
        raise ValueError(f"shifts up to {float(shifts.abs().max()):g} need half_width > {float(shifts.abs().max()) + 8 * sigma:g}.")
    normal = lambda mu: torch.exp(-0.5 * ((grid - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))  # noqa: E731
    p = normal(0.0)
    js = torch.stack([js_divergence(p, normal(float(s)), dx) for s in shifts])
    return js, shifts.abs()


# ----------------------------------------------------------------------------------------------------
# The Wasserstein GAN: losses, weight clipping, gradient penalty, the critic's step
# ----------------------------------------------------------------------------------------------------


def d_wasserstein_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    r"""The critic's loss :math:`\mathbb{E}[f(\tilde x)] - \mathbb{E}[f(x)]`; its negative estimates W1. Scores (B,)."""
    return fake_scores.mean() - real_scores.mean()


def g_wasserstein_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    r"""The generator's loss :math:`-\mathbb{E}[f(G(z))]` (the same as ``gan_math.g_hinge_loss``). Scores (B,)."""
    return -fake_scores.mean()


@torch.no_grad()
def clip_weights(D: nn.Module, c: float) -> None:
    """Weight clipping (Arjovsky et al. 2017, Algorithm 1): every parameter of D into [-c, c], in place."""
    if not c > 0:
        raise ValueError(f"the clipping bound c must be > 0, got {c}.")
    for p in D.parameters():
        p.clamp_(-c, c)


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, epsilon: torch.Tensor | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Gulrajani et al. (2017), eq. 3, without :math:`\lambda`: :math:`\mathbb{E}[(\lVert\nabla_{\hat x} D(\hat x)\rVert_2 - 1)^2]`.

    real, fake: (B, ...) the same shape; :math:`\hat x = \epsilon x + (1 - \epsilon)\tilde x` with one
    :math:`\epsilon \sim U[0, 1]` per sample (``epsilon`` (B,) to fix them). The gradient is kept in the graph
    (``create_graph=True``) so that the penalty trains D; its norm is taken per sample, over every pixel.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} must have the same shape.")
    b = real.shape[0]
    if epsilon is None:
        epsilon = torch.rand(b, generator=generator, device=real.device, dtype=real.dtype)
    eps = epsilon.reshape(b, *([1] * (real.dim() - 1)))  # (B, 1, ..., 1): one weight per sample
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = D(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)  # (B, ...): sample i's gradient alone
    norm = (grad.flatten(1).pow(2).sum(1) + 1e-12).sqrt()  # (B,); 1e-12 keeps sqrt differentiable at 0
    return (norm - 1).pow(2).mean()


class CriticStats(NamedTuple):
    """Detached scalars of one critic step: its loss (with the penalty), the W1 estimate E f(x) - E f(G(z)), the
    penalty (0 without)."""

    loss: torch.Tensor
    w1: torch.Tensor
    penalty: torch.Tensor


def critic_step(G, D, opt_D, real: torch.Tensor, z: torch.Tensor, *, gp_lambda: float = 0.0, clip: float = 0.0,
                noise: torch.Generator | None = None, amp=contextlib.nullcontext) -> CriticStats:
    """One critic update of the Wasserstein GAN: :func:`d_wasserstein_loss` on a real batch and G(z) (G untouched),
    plus ``gp_lambda`` times :func:`gradient_penalty` (in full precision), then ``clip`` > 0 clips D's weights."""
    opt_D.zero_grad(set_to_none=True)
    with amp():
        with torch.no_grad():
            fake = G(z)
        real_scores = D(real).float()
        fake_scores = D(fake).float()
    loss = d_wasserstein_loss(real_scores, fake_scores)
    penalty = torch.zeros((), device=real.device)
    if gp_lambda > 0:
        penalty = gradient_penalty(D, real.float(), fake.float(), generator=noise)
        loss = loss + gp_lambda * penalty
    loss.backward()
    opt_D.step()
    if clip > 0:
        clip_weights(D, clip)
    return CriticStats(loss.detach(), (real_scores.mean() - fake_scores.mean()).detach(), penalty.detach())


# ----------------------------------------------------------------------------------------------------
# Spectral normalisation: the largest singular value by power iteration
# ----------------------------------------------------------------------------------------------------


def power_iteration(W: torch.Tensor, u: torch.Tensor, steps: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""``steps`` rounds of :math:`v \leftarrow W^\top u / \lVert W^\top u \rVert,\ u \leftarrow W v / \lVert W v \rVert`;
    returns :math:`(\sigma, u, v)` with :math:`\sigma = u^\top W v`, the estimate of W's largest singular value.

    W: (out, ...) a weight, viewed as (out, in) as Miyato et al. do for convolutions; u: (out,). A layer keeps u
    between forward passes, so one step per pass is enough (Miyato et al., Algorithm 1).
    """
    W = W.reshape(W.shape[0], -1)  # (out, in)
    if u.shape != (W.shape[0],):
        raise ValueError(f"u must be ({W.shape[0]},) for a weight with {W.shape[0]} rows, got {tuple(u.shape)}.")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}.")
    for _ in range(steps):
        v = nn.functional.normalize(W.T @ u, dim=0)  # (in,)
        u = nn.functional.normalize(W @ v, dim=0)  # (out,)
    return u @ W @ v, u, v


# ----------------------------------------------------------------------------------------------------
# The Dirac-GAN
# ----------------------------------------------------------------------------------------------------

DIRAC_LOSSES = ("logistic", "wasserstein")


def _dirac_f(loss: str):
    if loss not in DIRAC_LOSSES:
        raise ValueError(f"unknown Dirac-GAN loss {loss!r}: use one of {', '.join(DIRAC_LOSSES)}.")
    return (lambda t: -nn.functional.softplus(-t)) if loss == "logistic" else (lambda t: t)


def dirac_field(theta: torch.Tensor, psi: torch.Tensor, loss: str = "logistic", gamma: float = 0.0) -> torch.Tensor:
    r"""The gradient vector field :math:`v(\theta, \psi) = (-\partial_\theta L,\ \partial_\psi L - \gamma\psi)`, by autograd.

    :math:`L = f(\psi\theta) + f(0)`; the R1 penalty on the real point 0 is :math:`\frac{\gamma}{2}\psi^2`
    (:math:`\nabla_x D_\psi = \psi`). Returns (2,): the direction simultaneous gradient descent moves (G, D).
    """
    f = _dirac_f(loss)
    # inputs that carry a graph keep it (so the field itself can be differentiated, e.g. for its Jacobian)
    theta, psi = (t if torch.is_tensor(t) and t.requires_grad else torch.as_tensor(t, dtype=torch.float64).detach().requires_grad_(True)
                  for t in (theta, psi))
    L = f(psi * theta) + f(torch.zeros((), dtype=torch.float64))
    d_theta, d_psi = torch.autograd.grad(L, (theta, psi), create_graph=True)
    return torch.stack([-d_theta, d_psi - gamma * psi])


def dirac_eigenvalues(loss: str = "logistic", gamma: float = 0.0) -> torch.Tensor:
    r"""The Jacobian's eigenvalues at (0, 0) in closed form: :math:`\lambda = (-\gamma \pm \sqrt{\gamma^2 - 4 f'(0)^2}) / 2`
    (complex (2,)); :math:`f'(0)` = 1/2 for the logistic loss, 1 for the WGAN."""
    _dirac_f(loss)  # an unknown loss fails here
    fp = 0.5 if loss == "logistic" else 1.0  # f'(t) = sigmoid(-t) at 0, or 1
    root = torch.sqrt(torch.tensor(gamma**2 - 4 * fp**2, dtype=torch.complex128))
    return torch.stack([(-gamma + root) / 2, (-gamma - root) / 2])


def dirac_trajectory(theta0: float = 1.0, psi0: float = 1.0, lr: float = 0.1, steps: int = 300, loss: str = "logistic",
                     gamma: float = 0.0, alternating: bool = False) -> torch.Tensor:
    """(steps + 1, 2) positions (theta, psi) of gradient descent-ascent from (theta0, psi0): both players at once
    (simultaneous), or D first and G on D's new value (``alternating``), each with step ``lr``."""
    path = [torch.tensor([theta0, psi0], dtype=torch.float64)]
    for _ in range(steps):
        theta, psi = path[-1]
        if alternating:
            psi = psi + lr * dirac_field(theta, psi, loss, gamma)[1]
            theta = theta + lr * dirac_field(theta, psi, loss, gamma)[0]
            path.append(torch.stack([theta, psi]).detach())
        else:
            path.append((path[-1] + lr * dirac_field(theta, psi, loss, gamma)).detach())
    return torch.stack(path)


# ----------------------------------------------------------------------------------------------------
# The models compared on MNIST: one generator, one critic architecture, one change at a time
# ----------------------------------------------------------------------------------------------------


@dataclass
class StabilityConfig(GANConfig):
    """A run of notebook 08's comparison: notebook 02's MLP GAN (its cpu recipe: dropout in D, label smoothing, EMA of G)
    with the loss and the regulariser changed.

    ``loss``: "logistic", "hinge" or "wasserstein"; ``spectral_norm`` in D; from the base config ``r1_gamma``,
    ``gp_lambda`` > 0 (WGAN-GP), ``clip`` > 0 (weight clipping) and ``n_critic``, the critic steps per generator
    step, each on its own real batch (the Wasserstein papers use 5). Label smoothing (``real_label``) is part of the
    logistic loss only; the other losses ignore it, so their recipes set it to 1.
    """

    spectral_norm: bool = False
    steps: int = 7500
    snapshot_every: int = 750

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.loss == "wasserstein" and not (self.gp_lambda > 0 or self.clip > 0 or self.spectral_norm):
            raise ValueError("a Wasserstein critic needs a Lipschitz constraint: set gp_lambda > 0 (WGAN-GP), clip > 0 "
                             "(WGAN) or spectral_norm=True.")


R1_GAMMA = 0.1  # R1's weight in the comparison

# The recipes of notebook 08's comparison (each a CLI model name): notebook 02's, with what each changes.
VARIANTS: dict[str, dict] = {
    "gan-logistic": dict(loss="logistic"),
    "sngan": dict(loss="hinge", spectral_norm=True, real_label=1.0),
    "wgan": dict(loss="wasserstein", clip=0.01, n_critic=5, real_label=1.0),
    "wgan-gp": dict(loss="wasserstein", gp_lambda=10.0, n_critic=5, real_label=1.0),
    "gan-r1": dict(loss="logistic", r1_gamma=R1_GAMMA, r1_every=4),
}

# Tier presets: notebook 02's networks and budgets. cpu: 7,500 generator steps (the Wasserstein recipes' steps cost more).
TIERS: dict[str, StabilityConfig] = {
    "smoke": StabilityConfig(hidden_g=(64, 128), hidden_d=(128, 64), steps=10, snapshot_every=5),
    "cpu": StabilityConfig(),
    "gpu": StabilityConfig(hidden_d=(1024, 512, 256), batch_size=128, steps=30000, snapshot_every=2000),
    "full": StabilityConfig(hidden_d=(1024, 512, 256), batch_size=128, steps=100000, snapshot_every=5000),
}


def tier_config(tier: str, **overrides) -> StabilityConfig:
    """The preset for ``tier`` with ``overrides`` applied."""
    return pick_tier(TIERS, tier, **overrides)


def build(cfg: StabilityConfig) -> tuple[nn.Module, nn.Module]:
    """Notebook 02's MLP generator and discriminator (spectral norm in D if asked); neither has batch norm, so a
    per-sample gradient penalty is well defined."""
    return (Generator(cfg.z_dim, cfg.hidden_g, cfg.image_shape),
            Discriminator(cfg.image_shape, cfg.hidden_d, cfg.dropout_d, spectral_norm=cfg.spectral_norm))
