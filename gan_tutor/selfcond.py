r"""Self-conditioning: a conditional GAN trained on clusters found without labels, and the conditioning it needs.

Liu, Tang, Xie, Wang, Zhu, Torralba, Zhu (2020), "Diverse Image Generation via Self-Conditioned GANs", CVPR,
arXiv:2006.10728: train a conditional GAN on cluster ids :math:`c` instead of class labels and sample by drawing
a cluster from its frequency, :math:`p(x) = \sum_c p(c)\, p(x \mid c)`: still an unconditional model, but each
cluster holds fewer modes for G to separate. Notebooks 03 (DCGAN) and 06 (StyleGAN) train self-conditioned;
notebook 04 (conditional GAN) uses the same conditioning with real class labels. What they share lives here:

* the clusters: :func:`deskew` (moments-based slant correction) and :func:`cluster_labels` (spectral clustering
  or k-means), with :func:`cluster_purity` to judge them against labels they never saw;
* the label prior :class:`LabelPrior`, :math:`p(y)`, from which an unconditional sample draws its label;
* the two conditioned networks: :class:`ConditionalGenerator`, :math:`G(z, y) = G_0([z; e(y)])` (a learned label
  embedding appended to the noise of any unconditional generator :math:`G_0`), and :class:`ProjectionDiscriminator`
  (Miyato & Koyama 2018, "cGANs with Projection Discriminator", ICLR, arXiv:1802.05637, eq. (3)):

.. math::
    D(x, y) = \psi(\phi(x)) + \langle V_y,\, \phi(x) \rangle

  with image features :math:`\phi(x)`, an unconditional head :math:`\psi` and a class embedding :math:`V`
  (:func:`projection_logits`). Notebook 04 derives it and compares it with concatenation.

The networks take their unconditional parts as arguments, so each notebook's module assembles them from its own
generator and discriminator (``dcgan.build``, ``cgan.build``, ``stylegan``'s prior) and none imports another
sideways.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


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


class ConditionalGenerator(LabelPrior, nn.Module):
    """G(z, y) = body([z; e(y)]): z (N, z_dim), y (N,) int64 in [0, K) -> what ``body`` draws.

    ``make_body(width)`` builds the unconditional generator that reads the (N, z_dim + embed_dim) input.
    """

    def __init__(self, make_body: Callable[[int], nn.Module], z_dim: int, n_classes: int, embed_dim: int):
        super().__init__()
        self.z_dim, self.n_classes = z_dim, n_classes
        self.embed = nn.Embedding(n_classes, embed_dim)  # e(y); N(0, 1) init, the scale of z
        self.body = make_body(z_dim + embed_dim)
        self._init_prior(n_classes)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """z (N, z_dim), y (N,) -> images (N, C, H, W)."""
        return self.from_embedding(z, self.embed(y))

    def from_embedding(self, z: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """z (N, z_dim), e (N, embed_dim) any label embedding (e.g. between two classes') -> images."""
        return self.body(torch.cat([z, e], dim=1))  # (N, z_dim + embed_dim)


def projection_logits(psi: torch.Tensor, phi: torch.Tensor, V: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """psi (N,) + <V[y], phi> with phi (N, F) features, V (K, F) class embeddings, y (N,) labels -> (N,)."""
    # F.embedding gathers the rows V[y]; unlike advanced indexing, its backward adds the gradients of repeated labels
    # in a fixed order, so training is deterministic on a multi-threaded CPU
    return psi + (F.embedding(y, V) * phi).sum(dim=1)


class ProjectionDiscriminator(nn.Module):
    """D(x, y) = psi(phi(x)) + <V_y, phi(x)> (Miyato & Koyama 2018, eq. 3).

    ``net`` is an unconditional discriminator split in two: ``net.features`` (phi, any shape, flattened here),
    ``net.head`` (psi, features -> one logit) and ``net.n_features`` (the size of phi flattened).
    """

    def __init__(self, net: nn.Module, n_classes: int, spectral_norm: bool = False):
        super().__init__()
        self.n_classes = n_classes
        self.net = net
        self.embed = nn.Embedding(n_classes, net.n_features)  # V: one row per class
        nn.init.normal_(self.embed.weight, 0.0, 0.02)
        if spectral_norm:  # as the paper: the embedding is spectrally normalised too
            self.embed = nn.utils.parametrizations.spectral_norm(self.embed)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x (N, C, H, W), y (N,) -> logits (N,)."""
        phi = self.net.features(x)
        psi = self.net.head(phi).flatten()  # (N,): the unconditional logit
        return projection_logits(psi, phi.flatten(1), self.embed.weight, y)  # + <V_y, phi(x)>


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
