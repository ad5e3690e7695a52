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
discriminator's convolutional trunk (:attr:`gan_tutor.dcgan.Discriminator.features`).
:func:`cluster_labels` supplies labels found without labels (spectral clustering of deskewed digits), for the self-conditioned DCGAN
of notebook 03.

Taught in: notebook 04 (conditional GAN); the networks and ``cluster_labels`` are used in notebook 03.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gan_tutor import dcgan
from gan_tutor.config import RunConfig, pick_tier


class LabelPrior:
    """For a conditional generator (an ``nn.Module`` with ``n_classes``): p(y), the label frequencies of the
    training data, kept as the buffer ``prior`` (saved with the weights). Unconditional sampling from a
    self-conditioned model draws y from it (:meth:`sample_labels`)."""

    def _init_prior(self, n_classes: int) -> None:
        self.register_buffer("prior", torch.full((n_classes,), 1.0 / n_classes))

    @torch.no_grad()
    def set_prior(self, y: torch.Tensor) -> None:
        """p(y) <- the frequencies of the training labels y (N,)."""
        self.prior.copy_(torch.bincount(y.cpu(), minlength=len(self.prior)).float() / len(y))

    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n labels drawn from p(y): (n,) int64 on the prior's device."""
        return torch.multinomial(self.prior, n, replacement=True, generator=generator)


class Generator(LabelPrior, nn.Module):
    """G(z, y): z (N, z_dim), y (N,) int64 in [0, K) -> x (N, channels, 28, 28) in [-1, 1]."""

    def __init__(self, z_dim: int = 64, n_classes: int = 10, embed_dim: int = 16, ngf: int = 32, channels: int = 1):
        super().__init__()
        self.z_dim, self.n_classes = z_dim, n_classes
        self.embed = nn.Embedding(n_classes, embed_dim)  # e(y); N(0, 1) init, the scale of z
        self.body = dcgan.Generator(z_dim + embed_dim, ngf, channels)
        self._init_prior(n_classes)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """z (N, z_dim), y (N,) -> (N, channels, 28, 28)."""
        return self.from_embedding(z, self.embed(y))

    def from_embedding(self, z: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """z (N, z_dim), e (N, embed_dim) any label embedding (e.g. between two classes') -> images."""
        return self.body(torch.cat([z, e], dim=1))  # (N, z_dim + embed_dim)


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


def projection_logits(psi: torch.Tensor, phi: torch.Tensor, V: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """psi (N,) + <V[y], phi> with phi (N, F) features, V (K, F) class embeddings, y (N,) labels -> (N,)."""
    return psi + (V[y] * phi).sum(dim=1)


class ProjectionDiscriminator(nn.Module):
    """D(x, y) = psi(phi(x)) + <V_y, phi(x)> (Miyato & Koyama 2018, eq. 3); phi is the DCGAN trunk."""

    def __init__(self, n_classes: int = 10, ndf: int = 32, channels: int = 1, spectral_norm: bool = False):
        super().__init__()
        self.n_classes = n_classes
        self.net = dcgan.Discriminator(ndf, channels, spectral_norm)  # phi = net.features, psi = net.head
        self.embed = nn.Embedding(n_classes, self.net.n_features)  # V: one row per class
        nn.init.normal_(self.embed.weight, 0.0, 0.02)
        if spectral_norm:  # as the paper: the embedding is spectrally normalised too
            self.embed = nn.utils.parametrizations.spectral_norm(self.embed)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x (N, C, 28, 28), y (N,) -> logits (N,)."""
        phi = self.net.features(x)  # (N, 2ndf, 7, 7)
        psi = self.net.head(phi).flatten()  # (N,): the unconditional logit
        return projection_logits(psi, phi.flatten(1), self.embed.weight, y)  # + <V_y, phi(x)>


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


def deskew(images: torch.Tensor) -> torch.Tensor:
    r"""Each image (N, 1, H, W) in [0, 1] sheared upright and centred by its intensity moments.

    With the centroid :math:`(\bar r, \bar c)` and the skew
    :math:`\alpha = \operatorname{cov}(r, c) / \operatorname{var}(r)` of the ink (rows :math:`r`, columns :math:`c`),
    output pixel :math:`(r, c)` reads the input at
    :math:`(r + \bar r - m,\; c + \alpha (r - m) + \bar c - m)`, :math:`m = (H - 1)/2` (bilinear,
    zero outside): the ink's principal slant becomes vertical and its centroid the image centre. A
    classic label-free normalisation of handwritten digits (a slanted 1 and an upright one become the
    same image). Blank images are returned unchanged.
    """
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"deskew takes greyscale images (N, 1, H, W), got shape {tuple(images.shape)}.")
    x = images.float()
    n, _, h, w = x.shape
    rows = torch.arange(h, dtype=x.dtype).view(1, 1, h, 1)
    cols = torch.arange(w, dtype=x.dtype).view(1, 1, 1, w)
    mass = x.sum(dim=(1, 2, 3))  # (N,)
    blank = mass <= 0
    mass = torch.where(blank, torch.ones_like(mass), mass)
    r_bar = (x * rows).sum(dim=(1, 2, 3)) / mass
    c_bar = (x * cols).sum(dim=(1, 2, 3)) / mass
    dr, dc = rows - r_bar.view(-1, 1, 1, 1), cols - c_bar.view(-1, 1, 1, 1)
    var_r = (x * dr * dr).sum(dim=(1, 2, 3))
    alpha = (x * dr * dc).sum(dim=(1, 2, 3)) / var_r.clamp_min(1e-12)
    m_r, m_c = (h - 1) / 2, (w - 1) / 2
    alpha = torch.where(blank, torch.zeros_like(alpha), alpha)
    r_bar, c_bar = torch.where(blank, torch.full_like(r_bar, m_r), r_bar), torch.where(blank, torch.full_like(c_bar, m_c), c_bar)
    out_r = torch.arange(h, dtype=x.dtype).view(1, h, 1).expand(n, h, w)
    out_c = torch.arange(w, dtype=x.dtype).view(1, 1, w).expand(n, h, w)
    src_r = out_r + (r_bar - m_r).view(-1, 1, 1)
    src_c = out_c + alpha.view(-1, 1, 1) * (out_r - m_r) + (c_bar - m_c).view(-1, 1, 1)
    grid = torch.stack([src_c / (w - 1) * 2 - 1, src_r / (h - 1) * 2 - 1], dim=-1)  # (N, H, W, 2) as (x, y)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True).to(images.dtype)


def cluster_labels(images: torch.Tensor, k: int, seed: int = 0, n_components: int = 50, method: str = "spectral",
                   neighbours: int = 10) -> torch.Tensor:
    """Cluster id of each image (N, 1, H, W) in [0, 1] -> (N,) int64 in [0, k): labels found without labels.

    Self-conditioning (Liu et al. 2020, "Diverse Image Generation via Self-Conditioned GANs", CVPR,
    arXiv:2006.10728) trains a conditional GAN on cluster ids instead of class labels, and samples by
    drawing a cluster from its frequency: still an unconditional model of p(x) = sum_c p(c) p(x | c),
    but each cluster holds fewer modes for G to separate. The paper clusters D's features during
    training; here the clusters are fixed once, before training, from the pixels alone:

    * ``method="spectral"`` (default): :func:`deskew` each image, project onto the first
      ``n_components`` principal components, link each image to its ``neighbours`` nearest neighbours
      and cut that graph into ``k`` parts (spectral clustering, Shi & Malik 2000; Ng, Jordan & Weiss 2001).
      The graph follows the curved families a digit's variations form, where k-means cuts straight.
    * ``method="kmeans"``: k-means on the principal components of the raw pixels (the simpler baseline).

    Deterministic for a given ``seed``. Notebook 03 measures how pure each is and what it does to the
    GAN's class balance.
    """
    from sklearn.cluster import KMeans, SpectralClustering
    from sklearn.decomposition import PCA

    if method not in ("spectral", "kmeans"):
        raise ValueError(f"unknown clustering method {method!r}: choose 'spectral' or 'kmeans'.")
    if not 2 <= k <= len(images):
        raise ValueError(f"k must be between 2 and the number of images ({len(images)}), got {k}.")
    if method == "spectral" and len(images) <= max(k, neighbours):
        raise ValueError(f"spectral clustering needs more images ({len(images)}) than clusters ({k}) and neighbours "
                         f"({neighbours}); use more images or method='kmeans'.")
    x = (deskew(images) if method == "spectral" else images).flatten(1).double().cpu().numpy()  # (N, C*H*W)
    x = PCA(min(n_components, *x.shape), random_state=seed).fit_transform(x)  # (N, n_components)
    if method == "kmeans":
        ids = KMeans(k, n_init=4, random_state=seed).fit_predict(x)
    else:
        ids = SpectralClustering(k, affinity="nearest_neighbors", n_neighbors=neighbours, assign_labels="cluster_qr",
                                 random_state=seed).fit_predict(x)
    return torch.from_numpy(ids).long()


def cluster_purity(ids: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of items whose label is their cluster's most common label: 1.0 when every cluster holds one class.

    ``ids``, ``labels``: (N,) integer tensors. A diagnostic only: self-conditioning never sees the labels.
    """
    if ids.shape != labels.shape or ids.dim() != 1:
        raise ValueError(f"ids and labels must be (N,) tensors of the same length, got {tuple(ids.shape)} and {tuple(labels.shape)}.")
    n_labels = int(labels.max()) + 1
    return sum(torch.bincount(labels[ids == c], minlength=n_labels).max().item() for c in ids.unique()) / len(ids)


DISCRIMINATORS = {"concat": ConcatDiscriminator, "projection": ProjectionDiscriminator}


@dataclass
class CGANConfig(RunConfig):
    """Everything that defines a conditional GAN run. ``steps`` is the tier's budget, not its identity."""

    z_dim: int = 64
    n_classes: int = 10
    embed_dim: int = 16
    ngf: int = 32
    ndf: int = 32
    conditioning: str = "projection"  # or "concat" (Mirza & Osindero)
    spectral_norm: bool = False
    loss: str = "logistic"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    batch_size: int = 64
    real_label: float = 1.0
    ema_decay: float | None = 0.999
    seed: int = 0
    steps: int = 3000
    image_shape: tuple[int, ...] = (1, 28, 28)
    snapshot_every: int = 250


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
