r"""Variational autoencoders: a likelihood model trained by maximising the evidence lower bound (ELBO).

Kingma & Welling (2014), "Auto-Encoding Variational Bayes", ICLR, arXiv:1312.6114; Rezende, Mohamed &
Wierstra (2014), "Stochastic Backpropagation and Approximate Inference in Deep Generative Models",
ICML, arXiv:1401.4082. With a prior :math:`p(z) = \mathcal{N}(0, I)`, a decoder :math:`p_\theta(x \mid z)`
and an encoder :math:`q_\phi(z \mid x) = \mathcal{N}(\mu_\phi(x), \operatorname{diag}\sigma^2_\phi(x))`,

.. math::
    \log p_\theta(x) = \underbrace{\mathbb{E}_{q}[\log p_\theta(x \mid z)]
      - \mathrm{KL}(q_\phi(z \mid x) \,\|\, p(z))}_{\text{ELBO}}
      + \mathrm{KL}(q_\phi(z \mid x) \,\|\, p_\theta(z \mid x)),

so the ELBO is a lower bound on :math:`\log p_\theta(x)`, short of it by how far the encoder is from the
true posterior. The KL to the prior has a closed form (:func:`kl_std_normal`); the expectation is
estimated with :math:`z = \mu + \sigma \odot \varepsilon`, :math:`\varepsilon \sim \mathcal{N}(0, I)`
(:func:`reparameterize`), which lets gradients reach :math:`\mu` and :math:`\sigma`.

Importance weighting (Burda, Grosse & Salakhutdinov 2016, "Importance Weighted Autoencoders", ICLR,
arXiv:1509.00519) gives a tighter bound, :math:`\log \frac1K \sum_k p(x, z_k) / q(z_k \mid x)` with
:math:`z_k \sim q`, that approaches :math:`\log p(x)` as :math:`K` grows (:func:`iwae_nll`).

Likelihood: a Bernoulli decoder over **binarised** pixels (each grey value :math:`g` becomes 1 with
probability :math:`g`; :func:`binarize`), so :math:`-\log p(x \mid z)` is a proper negative
log-probability in nats and the bounds are comparable with published binarised-MNIST numbers. The
binary cross-entropy on grey pixels, :math:`-\sum_i g_i \log p_i + (1 - g_i) \log(1 - p_i)`, is *not*
a normalised likelihood for :math:`g \in (0, 1)` (the continuous Bernoulli of Loaiza-Ganem &
Cunningham 2019, arXiv:1907.06845, adds the missing normaliser); it is available as
``likelihood="grey"`` only to reproduce protocols that use it (pytorch/examples' VAE).

Beta-VAE (Higgins et al. 2017, ICLR): the KL term weighted by :math:`\beta` (``VAEConfig.beta``).

Taught in: notebook 05 (VAE).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gan_tutor.config import LikelihoodConfig, pick_tier

# --------------------------------------------------------------------------------------------------
# The pieces of the ELBO
# --------------------------------------------------------------------------------------------------


def kl_std_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""KL(N(mu, diag exp(logvar)) || N(0, I)) per row: (N, d), (N, d) -> (N,), in nats.

    :math:`\tfrac12 \sum_j (\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2)`.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}.")
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I) (drawn from the global RNG when not given): (N, d)."""
    if eps is None:
        eps = torch.randn_like(mu)
    return mu + (0.5 * logvar).exp() * eps


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x | logits) summed over every pixel of each image: (N, ...), (N, ...) -> (N,), in nats.

    For binary ``x`` this is a negative log-probability; for grey ``x`` it is the (unnormalised) binary
    cross-entropy. Computed from logits, stable for any logit.
    """
    if logits.shape != x.shape:
        raise ValueError(f"logits and images must have the same shape, got {tuple(logits.shape)} and {tuple(x.shape)}.")
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(dim=1)


def grey_bce_mass(logits: torch.Tensor) -> torch.Tensor:
    r"""The total mass :math:`\int_0^1 \exp(-\mathrm{BCE}(\eta, g))\, dg` that the binary cross-entropy gives
    a grey pixel value :math:`g \in [0, 1]` when the decoder's logit is :math:`\eta` (elementwise).

    With :math:`\lambda = \sigma(\eta)`, :math:`\exp(-\mathrm{BCE}) = \lambda^g (1 - \lambda)^{1 - g}`, whose
    integral over :math:`g` is :math:`(2\lambda - 1) / \log\frac{\lambda}{1 - \lambda} = \tanh(\eta / 2) / \eta`
    (1/2 at :math:`\eta = 0`): always below 1, so BCE on grey pixels is not a normalised likelihood. The
    continuous Bernoulli (Loaiza-Ganem & Cunningham 2019) divides by exactly this mass.
    """
    eta = logits.double()
    small = eta.abs() < 1e-4
    safe = torch.where(small, torch.ones_like(eta), eta)
    mass = torch.where(small, 0.5 - eta.pow(2) / 24, torch.tanh(safe / 2) / safe)  # tanh(x/2)/x = 1/2 - x^2/24 + ...
    return mass.to(logits.dtype)


def log_normal(z: torch.Tensor, mu: torch.Tensor | float = 0.0, logvar: torch.Tensor | float = 0.0) -> torch.Tensor:
    """log N(z; mu, diag exp(logvar)) summed over the last dimension: (..., d) -> (...)."""
    logvar = torch.as_tensor(logvar, dtype=z.dtype, device=z.device)
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu).pow(2) / logvar.exp()).sum(dim=-1)


def binarize(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each pixel 1 with probability its grey value, else 0 (stochastic binarisation): same shape, 0./1."""
    if images.min() < 0 or images.max() > 1:
        raise ValueError(f"binarize takes images in [0, 1], got values in [{images.min():.3g}, {images.max():.3g}].")
    return torch.bernoulli(images, generator=generator)


def fixed_binarization(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """One binarisation of an evaluation set, the same every time for a seed (the test set of record)."""
    return binarize(images.cpu(), torch.Generator().manual_seed(seed)).to(images.device)


# --------------------------------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------------------------------


class ConvEncoder(nn.Module):
    """q(z | x): (N, C, 28, 28) -> mu, logvar (N, z_dim); two stride-2 convolutions, then linear heads."""

    def __init__(self, z_dim: int, ch: int = 32, channels: int = 1):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, ch, 4, 2, 1), nn.ReLU(),  # 28 -> 14
            nn.Conv2d(ch, 2 * ch, 4, 2, 1), nn.ReLU(),  # 14 -> 7
            nn.Flatten(), nn.Linear(2 * ch * 7 * 7, 256), nn.ReLU(),
        )
        self.head = nn.Linear(256, 2 * z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.net(x)).chunk(2, dim=1)
        return mu, logvar


class ConvDecoder(nn.Module):
    """p(x | z): z (N, z_dim) -> Bernoulli logits (N, C, 28, 28); the encoder mirrored."""

    def __init__(self, z_dim: int, ch: int = 32, channels: int = 1):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(z_dim, 256), nn.ReLU(), nn.Linear(256, 2 * ch * 7 * 7), nn.ReLU(),
            nn.Unflatten(1, (2 * ch, 7, 7)),
            nn.ConvTranspose2d(2 * ch, ch, 4, 2, 1), nn.ReLU(),  # 7 -> 14
            nn.ConvTranspose2d(ch, channels, 4, 2, 1),  # 14 -> 28, logits
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPEncoder(nn.Module):
    """pytorch/examples' VAE encoder: 784 -> hidden (ReLU) -> mu, logvar."""

    def __init__(self, z_dim: int, hidden: int = 400, n_pixels: int = 784):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(n_pixels, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, 2 * z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.net(x)).chunk(2, dim=1)
        return mu, logvar


class MLPDecoder(nn.Module):
    """pytorch/examples' VAE decoder: z -> hidden (ReLU) -> 784 logits."""

    def __init__(self, z_dim: int, hidden: int = 400, shape: tuple[int, ...] = (1, 28, 28)):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, math.prod(shape)), nn.Unflatten(1, shape))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class VAE(nn.Module):
    """An encoder q(z | x) and a Bernoulli decoder p(x | z) with the prior N(0, I)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, z_dim: int):
        super().__init__()
        self.encoder, self.decoder, self.z_dim = encoder, decoder, z_dim

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None):
        """x (N, C, H, W) -> (logits (N, C, H, W), mu, logvar (N, z_dim)), one z per image."""
        mu, logvar = self.encoder(x)
        return self.decoder(reparameterize(mu, logvar, eps)), mu, logvar

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images from the prior, as the decoder's pixel means sigmoid(logits) in [0, 1]: (n, C, H, W)."""
        device = next(self.parameters()).device
        return self.decode(torch.randn(n, self.z_dim, generator=generator, device=device))

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's pixel means sigmoid(logits) for latents z (N, z_dim): (N, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decoder(z))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The decoder's pixel means at the encoder's mean: (N, C, H, W) in [0, 1]."""
        mu, _ = self.encoder(x)
        return self.decode(mu)


# --------------------------------------------------------------------------------------------------
# Objectives and evaluation
# --------------------------------------------------------------------------------------------------


def negative_elbo(vae: VAE, x: torch.Tensor, beta: float = 1.0, eps: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The (beta-weighted) negative ELBO of a batch x (N, C, H, W), in nats per image.

    Returns ``loss`` (the batch mean of rec + beta kl, what training minimises), ``rec`` and ``kl``
    (batch means of -log p(x | z) and KL(q || p)) and ``nelbo`` (N,): rec + kl per image (beta = 1,
    the bound itself).
    """
    logits, mu, logvar = vae(x, eps)
    rec = bernoulli_nll(logits, x)  # (N,)
    kl = kl_std_normal(mu, logvar)  # (N,)
    return {"loss": (rec + beta * kl).mean(), "rec": rec.mean(), "kl": kl.mean(), "nelbo": rec + kl}


@torch.no_grad()
def iwae_nll(vae: VAE, x: torch.Tensor, k: int = 100, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Importance-weighted estimate of -log p(x) per image (N,), in nats, from ``k`` samples of q(z | x).

    :math:`-\log \frac1K \sum_k \exp(\log p(x \mid z_k) + \log p(z_k) - \log q(z_k \mid x))`: an upper
    bound on :math:`-\log p(x)` in expectation, equal to the negative ELBO's expectation at K = 1, and
    tighter as K grows (Burda et al. 2016, theorem 1).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    mu, logvar = vae.encoder(x)  # (N, d)
    eps = torch.randn(k, *mu.shape, generator=generator, device=mu.device)  # (K, N, d)
    z = mu + (0.5 * logvar).exp() * eps  # (K, N, d)
    logits = vae.decoder(z.flatten(0, 1))  # (K*N, C, H, W)
    log_px_z = -bernoulli_nll(logits, x.repeat(k, *[1] * (x.dim() - 1))).view(k, -1)  # (K, N)
    log_w = log_px_z + log_normal(z) - log_normal(z, mu, logvar)  # (K, N)
    return -(torch.logsumexp(log_w, dim=0) - math.log(k))


@torch.no_grad()
def evaluate(vae: VAE, x: torch.Tensor, k: int = 100, batch_size: int = 100, seed: int = 0) -> dict[str, float]:
    """Held-out figures for binary images x (N, C, H, W), in nats per image: the negative ELBO (one z
    per image), its reconstruction and KL parts, and the IWAE estimate of -log p(x) with ``k`` samples."""
    was = vae.training
    vae.eval()
    g = torch.Generator(device=x.device).manual_seed(seed)
    sums = {"nelbo": 0.0, "rec": 0.0, "kl": 0.0, "iwae": 0.0}
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        eps = torch.randn(len(xb), vae.z_dim, generator=g, device=xb.device)  # one z per image, as in training
        out = negative_elbo(vae, xb, eps=eps)
        sums["nelbo"] += out["nelbo"].sum().item()
        sums["rec"] += out["rec"].item() * len(xb)
        sums["kl"] += out["kl"].item() * len(xb)
        sums["iwae"] += iwae_nll(vae, xb, k, g).sum().item()
    vae.train(was)
    return {name: total / len(x) for name, total in sums.items()}


# --------------------------------------------------------------------------------------------------
# Runs: config, tiers, the training loss
# --------------------------------------------------------------------------------------------------

LIKELIHOODS = ("binarized", "grey")
ARCHS = ("conv", "mlp")


@dataclass
class VAEConfig(LikelihoodConfig):
    """What defines a VAE run: these fields and those of its base config (``gan_tutor.config``)."""

    arch: str = "conv"  # or "mlp" (pytorch/examples' 784-400-z VAE)
    z_dim: int = 16
    ch: int = 32  # conv: channels of the first convolution
    hidden: int = 400  # mlp: hidden units
    beta: float = 1.0  # weight of the KL term (beta-VAE); 1 is the ELBO
    likelihood: str = "binarized"  # pixels binarised afresh every step; "grey": BCE on grey pixels (not normalised)
    batch_size: int = 128
    steps: int = 5000
    snapshot_every: int = 500


TIERS: dict[str, VAEConfig] = {
    "smoke": VAEConfig(ch=8, steps=20, snapshot_every=10),
    "cpu": VAEConfig(steps=5000, snapshot_every=500),  # 133-246 s on 2 cores, by the day (notebook 05)
    "gpu": VAEConfig(steps=20000, snapshot_every=1000),
    "full": VAEConfig(steps=60000, snapshot_every=2000),
}


def tier_config(tier: str, **overrides) -> VAEConfig:
    """The preset for ``tier`` with ``overrides`` applied."""
    return pick_tier(TIERS, tier, **overrides)


def build(cfg: VAEConfig) -> VAE:
    """The VAE for ``cfg``: convolutional (28x28 images) or pytorch/examples' MLP."""
    if cfg.arch not in ARCHS:
        raise ValueError(f"unknown VAE architecture {cfg.arch!r}: choose one of {', '.join(ARCHS)}.")
    if cfg.likelihood not in LIKELIHOODS:
        raise ValueError(f"unknown likelihood {cfg.likelihood!r}: choose one of {', '.join(LIKELIHOODS)}.")
    c, h, w = cfg.image_shape
    if cfg.arch == "mlp":
        return VAE(MLPEncoder(cfg.z_dim, cfg.hidden, c * h * w), MLPDecoder(cfg.z_dim, cfg.hidden, cfg.image_shape), cfg.z_dim)
    if (h, w) != (28, 28):
        raise ValueError(f"the convolutional VAE takes 28x28 images; the data are {h}x{w}: use arch='mlp' or a 28x28 dataset.")
    return VAE(ConvEncoder(cfg.z_dim, cfg.ch, c), ConvDecoder(cfg.z_dim, cfg.ch, c), cfg.z_dim)


def loss_fn(cfg: VAEConfig):
    """The training loss for ``cfg``: the beta-weighted negative ELBO of a batch in [0, 1], binarised afresh
    (from the global RNG, which checkpoints save) when ``cfg.likelihood == "binarized"``."""

    def loss(vae: VAE, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        x = torch.bernoulli(batch) if cfg.likelihood == "binarized" else batch
        out = negative_elbo(vae, x, cfg.beta)
        return {"loss": out["loss"], "rec": out["rec"], "kl": out["kl"]}

    return loss
