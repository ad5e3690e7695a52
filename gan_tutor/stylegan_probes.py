r"""Looking inside a StyleGAN: what each part of notebook 06's generator does, measured.

* Style mixing (:func:`mix_styles`): the per-slot latents of one image with some slots from another (Karras et
  al. 2019, "A Style-Based Generator Architecture for Generative Adversarial Networks", arXiv:1812.04948, section 3.1).
* Where each layer's noise acts (:func:`noise_std_map`): the per-pixel spread of images over noise draws.
* Feature statistics (:func:`layer_features`, :func:`peak_to_mean`, :func:`spike_after_norm`): why instance
  normalisation invites the droplets that StyleGAN2 removed (Karras et al. 2020, arXiv:1912.04958, section 2).
* A perceptual-path-length style comparison of interpolation in Z and in W (:func:`path_length`, Karras et al.
  2019, section 4.2).

Taught in: notebook 06 (StyleGAN and AdaIN).
"""

from __future__ import annotations

from typing import Callable

import torch

from gan_tutor.images import to_unit_range
from gan_tutor.latent import lerp, slerp
from gan_tutor.stylegan import Generator


def mix_styles(ws_a: torch.Tensor, ws_b: torch.Tensor, slots: slice | range | list[int]) -> torch.Tensor:
    """Per-slot latents with the given ``slots`` taken from ``ws_b`` and the rest from ``ws_a`` (both
    (N, n_ws, w_dim)): e.g. slots 0-2 (4x4 and 8x8) from B gives B's coarse styles with A's fine ones."""
    if ws_a.shape != ws_b.shape or ws_a.dim() != 3:
        raise ValueError(f"ws_a and ws_b must both be per-slot latents (N, n_ws, w_dim) of one shape, got {tuple(ws_a.shape)} and {tuple(ws_b.shape)}.")
    out = ws_a.clone()
    out[:, slots] = ws_b[:, slots]
    return out


@torch.no_grad()
def noise_std_map(G: Generator, ws: torch.Tensor, layers: list[int] | None = None, draws: int = 16, seed: int = 0) -> torch.Tensor:
    """Per-pixel standard deviation of G's image (:meth:`Generator.image`, on its [-1, 1] scale) over ``draws``
    draws of the noise at ``layers`` (style-layer indices; all when None) with w and the other layers' noise
    held fixed: where, and how much, that layer's noise changes the picture. ``ws``: (N, n_ws, w_dim); returns (N, C, H, W)."""
    g = torch.Generator(device=ws.device).manual_seed(seed)
    fixed = G.make_noise(ws.shape[0], g)
    chosen = range(len(fixed)) if layers is None else layers
    images = []
    for _ in range(draws):
        noise = [torch.randn(f.shape, generator=g, device=f.device) if i in chosen else f for i, f in enumerate(fixed)]
        images.append(G.image(ws, noise))
    return torch.stack(images).std(dim=0)


@torch.no_grad()
def layer_features(G: Generator, ws: torch.Tensor, noise: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
    """The output of every style layer (after its activation) for per-slot latents ``ws``, in order."""
    out: list[torch.Tensor] = []
    handles = [layer.register_forward_hook(lambda m, i, o: out.append(o.detach())) for layer in G.layers]
    try:
        G.synthesis(ws, noise)
    finally:
        for h in handles:
            h.remove()
    return out


def peak_to_mean(x: torch.Tensor) -> torch.Tensor:
    """max |x| / mean |x| over the spatial positions, per sample and channel, (N, C): a droplet (one strong,
    localised spike in a feature map) shows as a large ratio; a 3x3 map of equal magnitudes gives 1."""
    a = x.abs().flatten(2)
    return a.amax(dim=2) / a.mean(dim=2).clamp_min(1e-12)


def spike_after_norm(x: torch.Tensor, height: float, norm: Callable[[torch.Tensor], torch.Tensor]) -> float:
    """Add a spike of ``height`` at the centre of feature maps x (N, C, H, W), apply ``norm`` and return the
    standard deviation of the output *away from the spike* (outside its 5x5 neighbourhood), relative to the
    same quantity without the spike. With instance normalisation the ratio falls as the spike grows: one
    strong spike shrinks everything else, the lever StyleGAN's generator found (the droplets). With a
    demodulated convolution the normalisation depends on the weights, not on the data, and the ratio stays 1."""
    h, w = x.shape[2], x.shape[3]
    spiked = x.clone()
    spiked[:, :, h // 2, w // 2] += height
    away = torch.ones(h, w, dtype=torch.bool, device=x.device)
    away[max(0, h // 2 - 2):h // 2 + 3, max(0, w // 2 - 2):w // 2 + 3] = False
    return float(norm(spiked)[..., away].std() / norm(x)[..., away].std())


@torch.no_grad()
def path_length(G: Generator, feature_fn: Callable[[torch.Tensor], torch.Tensor], space: str = "w", n: int = 1000,
                eps: float = 1e-4, seed: int = 0, batch_size: int = 250) -> float:
    """A perceptual-path-length style measure (Karras et al. 2019, section 4.2): the mean of
    d(g(t), g(t + eps)) / eps^2 over random pairs of latents and random t in [0, 1], where g(t) is the image at
    position t of the interpolation between the pair and d the squared distance between ``feature_fn``'s
    embeddings of the two images, mapped to [0, 1] as samples are (the paper uses LPIPS; pass e.g. a digit
    classifier's features).

    ``space="z"`` interpolates the latents z spherically (slerp); ``space="w"`` interpolates the mapped w
    linearly. Noise (and, for a conditional G, the label) is held fixed along each pair. As in the paper, the lowest and highest 1% are dropped
    before averaging. Smaller means a smoother, less entangled latent space.
    """
    if space not in ("z", "w"):
        raise ValueError(f"space must be 'z' or 'w', got {space!r}.")
    g = torch.Generator(device=G.const.device).manual_seed(seed)
    dists = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        z0, z1 = (torch.randn(m, G.z_dim, generator=g, device=G.const.device) for _ in range(2))
        t = torch.rand(m, 1, generator=g, device=G.const.device)
        noise = G.make_noise(m, g)
        y = G.sample_labels(m, g) if G.n_classes else None  # conditional: one label for both ends of a pair
        if space == "z":
            a, b = slerp(z0, z1, t), slerp(z0, z1, t + eps)
            wa, wb = G.mapping(a, y), G.mapping(b, y)
        else:
            w0, w1 = G.mapping(z0, y), G.mapping(z1, y)
            wa, wb = lerp(w0, w1, t), lerp(w0, w1, t + eps)
        imgs = [to_unit_range(G.image(w.unsqueeze(1).repeat(1, G.n_ws, 1), noise)) for w in (wa, wb)]
        fa, fb = feature_fn(imgs[0]).flatten(1).double(), feature_fn(imgs[1]).flatten(1).double()
        dists.append((fa - fb).pow(2).sum(dim=1) / eps**2)
    d = torch.cat(dists)
    lo, hi = torch.quantile(d, 0.01), torch.quantile(d, 0.99)
    return float(d[(d >= lo) & (d <= hi)].mean())
