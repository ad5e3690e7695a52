r"""StyleGAN's building blocks, written from the papers, sized for a CPU.

* Huang & Belongie (2017), "Arbitrary Style Transfer in Real-time with Adaptive Instance
  Normalization", ICCV, arXiv:1703.06868: AdaIN(x, y) = sigma(y) (x - mu(x)) / sigma(x) + mu(y), with
  mean and standard deviation taken per sample and per channel over the spatial positions (:func:`adain`).
* Karras, Laine & Aila (2019), "A Style-Based Generator Architecture for Generative Adversarial
  Networks", CVPR, arXiv:1812.04948 (StyleGAN): a mapping network z -> w (:class:`MappingNetwork`),
  styles from w by learned affine maps, AdaIN after every convolution, per-pixel noise with learned
  per-channel strength (:class:`NoiseInjection`), a learned constant input (:class:`StyleGAN1Block`),
  the truncation trick in w (:func:`truncate`), and the equalised learning rate of Karras et al. (2018)
  (:class:`EqualLinear`, :class:`EqualConv2d`): weights stored as N(0, 1) and scaled at run time by
  gain / sqrt(fan_in), so Adam's per-parameter step is the same relative change for every layer.
* Karras et al. (2020), "Analyzing and Improving the Image Quality of StyleGAN", CVPR, arXiv:1912.04958
  (StyleGAN2): instance normalisation removed (it causes the "droplet" artefacts: the generator
  smuggles signal strength past the normalisation in one strong, localised spike); the style moves
  into the convolution's weights, w'_{ijk} = s_i w_{ijk}, and *demodulation* rescales each output map,
  w''_{ijk} = w'_{ijk} / sqrt(sum_{i,k} w'^2_{ijk} + eps), so that unit-variance inputs give
  unit-variance outputs in expectation (:class:`ModulatedConv2d`, one grouped convolution per batch);
  path-length regularisation, E(||J_w^T y|| - a)^2 (:meth:`Generator.path_length_penalty`).
* Measuring what the parts do (style mixing, noise maps, feature statistics, path lengths) is
  ``gan_tutor.stylegan_probes``.

Taught in: notebook 06 (StyleGAN and AdaIN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gan_tutor.config import AdversarialConfig, pick_tier
from gan_tutor.selfcond import LabelPrior

DEFAULT_CHANNELS = {4: 128, 8: 128, 16: 64, 32: 32}  # widths per resolution when none are given
LRELU_GAIN = math.sqrt(2.0)  # He gain for (leaky) ReLU, as the papers use with the equalised learning rate


# --------------------------------------------------------------------------------------------------
# AdaIN and instance statistics
# --------------------------------------------------------------------------------------------------


def channel_stats(x: torch.Tensor, eps: float = 1e-8) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and standard deviation over the spatial positions of x (N, C, H, W):
    two (N, C, 1, 1) tensors (the biased std, sqrt(var + eps))."""
    if x.dim() != 4:
        raise ValueError(f"expected feature maps (N, C, H, W), got shape {tuple(x.shape)}.")
    mean = x.mean(dim=(2, 3), keepdim=True)
    std = (x.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    return mean, std


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """AdaIN(x, y) = sigma(y) (x - mu(x)) / sigma(x) + mu(y) for feature maps x, y (N, C, H, W)
    (H, W may differ between them): the content's spatial pattern with the style's statistics."""
    if content.shape[:2] != style.shape[:2]:
        raise ValueError(f"content and style need the same (N, C), got {tuple(content.shape[:2])} and {tuple(style.shape[:2])}.")
    mu_x, sigma_x = channel_stats(content, eps)
    mu_y, sigma_y = channel_stats(style, eps)
    return sigma_y * (content - mu_x) / sigma_x + mu_y


# --------------------------------------------------------------------------------------------------
# Equalised learning rate
# --------------------------------------------------------------------------------------------------


class EqualLinear(nn.Module):
    """y = x W^T (gain / sqrt(fan_in)) lr_mul + b lr_mul, with W stored ~ N(0, 1 / lr_mul^2).

    The runtime scale makes every layer's effective weights start at the He scale whatever its
    fan-in, and ``lr_mul`` < 1 slows this layer's learning by that factor under Adam (the mapping
    network uses 0.01), because Adam's step on the stored weight is scale-free.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, bias_init: float = 0.0,
                 lr_mul: float = 1.0, gain: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul)) if bias else None
        self.scale = gain / math.sqrt(in_features) * lr_mul
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.bias * self.lr_mul if self.bias is not None else None
        return F.linear(x, self.weight * self.scale, bias)

    def extra_repr(self) -> str:
        return f"in={self.weight.shape[1]}, out={self.weight.shape[0]}, lr_mul={self.lr_mul}"


class EqualConv2d(nn.Module):
    """A convolution with the equalised learning rate (weights ~ N(0, 1), scaled by gain / sqrt(fan_in))."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0, bias: bool = True,
                 gain: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


# --------------------------------------------------------------------------------------------------
# Mapping network, noise, truncation
# --------------------------------------------------------------------------------------------------


def normalize_z(z: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """z / sqrt(mean(z^2) + eps) per row: every latent on the sphere of radius sqrt(dim)."""
    return z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + eps)


class MappingNetwork(nn.Module):
    """w = MLP(normalize_z(z)): ``n_layers`` equalised linear layers with LeakyReLU(0.2), lr multiplier 0.01.

    Conditional (``n_classes`` > 0), as NVIDIA's conditional StyleGAN2: a learned embedding e(y) of the label,
    normalised like z, is appended to it, w = MLP([normalize_z(z); normalize_z(e(y))]).
    """

    def __init__(self, z_dim: int, w_dim: int, n_layers: int = 2, lr_mul: float = 0.01, n_classes: int = 0):
        super().__init__()
        self.n_classes = n_classes
        self.embed = nn.Embedding(n_classes, z_dim) if n_classes else None
        layers, width = [], 2 * z_dim if n_classes else z_dim
        for _ in range(n_layers):
            layers.append(EqualLinear(width, w_dim, lr_mul=lr_mul, gain=LRELU_GAIN))
            width = w_dim
        self.layers = nn.ModuleList(layers)
        self.z_dim, self.w_dim = z_dim, w_dim

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = normalize_z(z)
        if self.n_classes:
            if y is None:
                raise ValueError(f"this generator is conditioned on {self.n_classes} clusters: pass labels y (N,), "
                                 "e.g. G.sample_labels(N) draws them from their training frequencies.")
            x = torch.cat([x, normalize_z(self.embed(y))], dim=1)
        elif y is not None:
            raise ValueError("this generator is unconditional: call it without labels.")
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2)
        return x


class NoiseInjection(nn.Module):
    """x + strength * noise: one noise map (N, 1, H, W) shared by the channels, a learned strength that
    starts at zero (at initialisation the output is the input exactly): one per channel (StyleGAN), or
    a single one when ``channels`` is None (StyleGAN2)."""

    def __init__(self, channels: int | None):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(()) if channels is None else torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        if noise is None:
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        return x + self.strength * noise


def truncate(w: torch.Tensor, w_avg: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
    """The truncation trick in W: w_avg + psi (w - w_avg) on the style slots before ``cutoff`` (all when None).

    ``w``: (N, n_slots, w_dim) per-slot latents; ``w_avg``: (w_dim,), or (N, 1, w_dim) for one centre per sample
    (a conditional generator truncates towards the mean w of each sample's label). psi = 1 leaves w unchanged; psi = 0
    gives the average image; slots from ``cutoff`` on (the finer resolutions) keep their own w.
    """
    if w.dim() != 3:
        raise ValueError(f"truncate takes per-slot latents (N, n_slots, w_dim), got shape {tuple(w.shape)}.")
    out = w_avg + psi * (w - w_avg)
    if cutoff is None:
        return out
    keep = torch.arange(w.shape[1], device=w.device).view(1, -1, 1) >= cutoff
    return torch.where(keep, w, out)


# --------------------------------------------------------------------------------------------------
# StyleGAN (2019) block and StyleGAN2 modulated convolution
# --------------------------------------------------------------------------------------------------


class StyleGAN1Block(nn.Module):
    """StyleGAN's layer: conv, noise, bias, LeakyReLU(0.2), instance norm, then the style y = A(w):
    out = y_s * IN(x) + y_b with y_s initialised at 1, y_b at 0."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, upsample: bool = False):
        super().__init__()
        self.upsample = upsample
        self.conv = EqualConv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.noise = NoiseInjection(out_channels)
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))
        self.style_scale = EqualLinear(w_dim, out_channels, bias_init=1.0)
        self.style_bias = EqualLinear(w_dim, out_channels, bias_init=0.0)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = F.leaky_relu(self.noise(self.conv(x), noise) + self.bias, 0.2)
        x = F.instance_norm(x, eps=1e-8)
        return self.style_scale(w)[:, :, None, None] * x + self.style_bias(w)[:, :, None, None]


def modulated_weights(weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True, eps: float = 1e-8) -> torch.Tensor:
    """Per-sample weights (N, out, in, k, k) from a weight (out, in, k, k) and styles (N, in):
    w' = s_i w_oik, and with ``demodulate`` w'' = w' / sqrt(sum_{i,k} w'^2 + eps) for each output o."""
    w = weight.unsqueeze(0) * styles[:, None, :, None, None]  # (N, out, in, k, k)
    if demodulate:
        w = w * torch.rsqrt(w.pow(2).sum(dim=(2, 3, 4), keepdim=True) + eps)
    return w


class ModulatedConv2d(nn.Module):
    """StyleGAN2's modulated (and demodulated) convolution, computed as one grouped convolution.

    styles s = A(w) (an equalised affine map, bias initialised to 1); per-sample weights from
    :func:`modulated_weights`; the batch folded into the channels, (1, N*in, H, W), convolved with
    ``groups=N``. ``upsample`` doubles the resolution first (bilinear; the paper uses a transposed
    convolution with a low-pass filter).

    ``fused=False`` computes the same output without per-sample weights: scale the input channels by
    s, convolve with the shared weight, scale each output map by its demodulation factor
    d_o = 1 / sqrt(sum_i s_i^2 sum_k w_oik^2 + eps). Equal up to rounding, and on a CPU several times
    faster at low resolutions, where a grouped convolution over the batch is slow.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int, demodulate: bool = True,
                 upsample: bool = False, fused: bool = True):
        super().__init__()
        self.fused = fused
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.demodulate, self.upsample, self.padding = demodulate, upsample, kernel_size // 2
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        n, c, h, wd = x.shape
        if c != self.in_channels:
            raise ValueError(f"expected {self.in_channels} input channels, got {c}.")
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            h, wd = 2 * h, 2 * wd
        styles = self.affine(w)  # (N, in)
        if not self.fused:
            weight = self.weight * self.scale
            out = F.conv2d(x * styles[:, :, None, None], weight, padding=self.padding)
            if self.demodulate:
                d = torch.rsqrt(styles.pow(2) @ weight.pow(2).sum(dim=(2, 3)).t() + 1e-8)  # (N, out)
                out = out * d[:, :, None, None]
            return out
        weights = modulated_weights(self.weight * self.scale, styles, self.demodulate)  # (N, out, in, k, k)
        out = F.conv2d(x.reshape(1, n * c, h, wd), weights.reshape(n * self.out_channels, c, *weights.shape[3:]),
                       padding=self.padding, groups=n)
        return out.view(n, self.out_channels, h, wd)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, k={self.weight.shape[-1]}, demodulate={self.demodulate}, "
                f"upsample={self.upsample}, fused={self.fused}")


def minibatch_stddev(x: torch.Tensor, group_size: int = 4) -> torch.Tensor:
    """Append one channel: the standard deviation of each feature over a group of samples, averaged over
    channels and positions (Karras et al. 2018), so D can see a batch's lack of variety. (N, C, H, W) ->
    (N, C + 1, H, W); N must be a multiple of the group size (or smaller than it)."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    if n % g:
        raise ValueError(f"the batch ({n}) must be a multiple of the minibatch-stddev group size ({g}).")
    y = x.view(g, n // g, c, h, w)  # sample i of each group: y[:, j] are the members of group j
    std = (y.var(dim=0, unbiased=False) + 1e-8).sqrt()  # (n/g, C, H, W)
    feature = std.mean(dim=(1, 2, 3)).view(1, n // g, 1, 1, 1).expand(g, n // g, 1, h, w).reshape(n, 1, h, w)
    return torch.cat([x, feature], dim=1)


# --------------------------------------------------------------------------------------------------
# A StyleGAN2-lite generator and discriminator for 32x32 images
# --------------------------------------------------------------------------------------------------


class StyleLayer(nn.Module):
    """Modulated 3x3 convolution, noise (one learned strength, starting at zero), bias, LeakyReLU(0.2) x sqrt(2)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, upsample: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, upsample=upsample, fused=False)
        self.noise = NoiseInjection(None)
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        return F.leaky_relu(self.noise(self.conv(x, w), noise) + self.bias, 0.2) * LRELU_GAIN


class ToRGB(nn.Module):
    """Modulated 1x1 convolution to image channels, no demodulation, plus a bias."""

    def __init__(self, in_channels: int, channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, channels, 1, w_dim, demodulate=False, fused=False)
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias


class Generator(LabelPrior, nn.Module):
    """StyleGAN2's skip generator at 32x32, lite: z -> w (mapping), a learned 4x4 constant, style layers at
    4, 8, 16, 32 (two per resolution above 4, the first upsampling), and a ToRGB at every resolution whose
    outputs are upsampled and summed.

    Style slots: one per style layer plus the last ToRGB (``n_ws`` = 8 at 32x32); the ToRGB at a lower
    resolution shares the slot of the next layer, as in StyleGAN2. ``w_avg`` (a buffer) tracks the mean
    w during training, for truncation. In training mode, with probability ``mixing_prob``, two latents
    are mapped and the slots switch from one to the other at a random crossover (style-mixing
    regularisation). ``forward(z)`` returns images (N, C, 32, 32), roughly in [-1, 1].

    With ``n_classes`` > 0 the mapping network also reads a label (self-conditioning on clusters, as the
    DCGAN of notebook 03): ``forward(z, y)``, ``ws(z, y)``; a mean w per label (``w_avg_class``) is tracked
    too, and truncation pulls each latent towards the mean of its own label.
    """

    def __init__(self, z_dim: int = 64, w_dim: int = 64, channels: dict[int, int] | None = None, image_channels: int = 1,
                 mapping_layers: int = 2, mixing_prob: float = 0.0, w_avg_beta: float = 0.995, out_size: int | None = None,
                 mapping_lr_mul: float = 0.01, n_classes: int = 0):
        super().__init__()
        self.out_size = out_size  # e.g. 28: the centre of the 32x32 synthesis (MNIST padded to 32 by 2 pixels)
        channels = channels or DEFAULT_CHANNELS
        self.resolutions = sorted(channels)
        if self.resolutions[0] != 4 or any(b != 2 * a for a, b in zip(self.resolutions, self.resolutions[1:])):
            raise ValueError(f"channels must be given for 4, 8, 16, ... (each resolution doubling), got {sorted(channels)}.")
        self.z_dim, self.w_dim, self.mixing_prob, self.w_avg_beta = z_dim, w_dim, mixing_prob, w_avg_beta
        self.n_classes = n_classes
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers, mapping_lr_mul, n_classes)
        self.const = nn.Parameter(torch.randn(1, channels[4], 4, 4))
        self.layers = nn.ModuleList([StyleLayer(channels[4], channels[4], w_dim)])
        self.to_rgb = nn.ModuleList([ToRGB(channels[4], image_channels, w_dim)])
        for lo, hi in zip(self.resolutions, self.resolutions[1:]):
            self.layers.append(StyleLayer(channels[lo], channels[hi], w_dim, upsample=True))
            self.layers.append(StyleLayer(channels[hi], channels[hi], w_dim))
            self.to_rgb.append(ToRGB(channels[hi], image_channels, w_dim))
        self.n_ws = len(self.layers) + 1
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.register_buffer("pl_mean", torch.zeros(()))  # running mean of the path lengths (regularisation)
        if n_classes:
            self._init_prior(n_classes)
            self.register_buffer("w_avg_class", torch.zeros(n_classes, w_dim))

    def slot_resolutions(self) -> list[int]:
        """The resolution each style slot drives: the slot's style layer, or the last ToRGB for the final slot
        (the ToRGB at a lower resolution shares the next layer's slot). At 32x32: [4, 8, 8, 16, 16, 32, 32, 32]."""
        res = [self.resolutions[0]] + [r for r in self.resolutions[1:] for _ in range(2)]
        return res + [self.resolutions[-1]]

    def make_noise(self, n: int, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """One noise map (n, 1, H, W) per style layer, at that layer's resolution: pass the same list to
        :meth:`synthesis` twice to hold the noise fixed while something else changes."""
        device = self.const.device
        return [torch.randn(n, 1, r, r, generator=generator, device=device) for r in self.slot_resolutions()[:-1]]

    def ws(self, z: torch.Tensor, y: torch.Tensor | None = None, psi: float = 1.0, cutoff: int | None = None) -> torch.Tensor:
        """Per-slot latents (N, n_ws, w_dim) for z (N, z_dim) (and labels y (N,) when conditional): w broadcast to
        every slot, truncated when psi < 1, mixed with a second latent's in training (style-mixing regularisation)."""
        w = self.mapping(z, y)
        if self.training:
            self._track_average(w.detach(), y)
        ws = w.unsqueeze(1).repeat(1, self.n_ws, 1)
        if self.training and self.mixing_prob > 0 and torch.rand(()) < self.mixing_prob:
            cut = int(torch.randint(1, self.n_ws, ()))
            ws[:, cut:] = self.mapping(torch.randn_like(z), y).unsqueeze(1)
        if psi != 1.0:
            ws = truncate(ws, self.w_avg if not self.n_classes else self.w_avg_class[y].unsqueeze(1), psi, cutoff)
        return ws

    @torch.no_grad()
    def _track_average(self, w: torch.Tensor, y: torch.Tensor | None) -> None:
        self.w_avg.lerp_(w.mean(0), 1.0 - self.w_avg_beta)
        if self.n_classes:
            counts = torch.bincount(y, minlength=self.n_classes)
            present = counts > 0
            means = torch.zeros_like(self.w_avg_class).index_add_(0, y, w)[present] / counts[present, None]
            self.w_avg_class[present] = self.w_avg_class[present].lerp(means, 1.0 - self.w_avg_beta)

    def synthesis(self, ws: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Images from per-slot latents (N, n_ws, w_dim); ``noise``: one map per style layer, or fresh noise."""
        if ws.dim() != 3 or ws.shape[1] != self.n_ws:
            raise ValueError(f"expected per-slot latents (N, {self.n_ws}, {self.w_dim}), got shape {tuple(ws.shape)}.")
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        x = self.layers[0](x, ws[:, 0], None if noise is None else noise[0])
        img = self.to_rgb[0](x, ws[:, 1])
        for r in range(1, len(self.resolutions)):
            i = 2 * r - 1  # the two style layers of this resolution
            x = self.layers[i](x, ws[:, i], None if noise is None else noise[i])
            x = self.layers[i + 1](x, ws[:, i + 1], None if noise is None else noise[i + 1])
            img = F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False) + self.to_rgb[r](x, ws[:, i + 2])
        return img

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None, psi: float = 1.0, cutoff: int | None = None) -> torch.Tensor:
        return self.image(self.ws(z, y, psi, cutoff))

    def image(self, ws: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """The output (cropped to ``out_size``, roughly in [-1, 1]) for per-slot latents ``ws``; ``noise`` as in :meth:`synthesis`."""
        return self.crop(self.synthesis(ws, noise))

    def path_length_penalty(self, z: torch.Tensor, y: torch.Tensor | None = None, decay: float = 0.01) -> torch.Tensor:
        """StyleGAN2's path-length regulariser, E[(||J_w^T y||_2 - a)^2] (Karras et al. 2020, section 3.2).

        J_w is the Jacobian of the image with respect to w; y ~ N(0, I) / sqrt(H W) a random image-space
        direction, so ||J_w^T y|| is how far the image moves per unit step in w, measured in a random
        direction; a is a running mean of these lengths (``pl_mean``, updated here with ``decay``). Keeping
        every length near the common value asks for a generator whose image changes by the same amount for
        the same step in w, wherever in W the step is taken. The norm is over w_dim, averaged over the slots.
        """
        ws = self.ws(z, y)
        img = self.synthesis(ws)
        direction = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
        (grad,) = torch.autograd.grad((img * direction).sum(), ws, create_graph=True)
        lengths = grad.pow(2).sum(dim=2).mean(dim=1).sqrt()
        with torch.no_grad():
            self.pl_mean.lerp_(lengths.mean(), decay)
        return (lengths - self.pl_mean).pow(2).mean()

    def crop(self, img: torch.Tensor) -> torch.Tensor:
        """The centre ``out_size`` x ``out_size`` of the synthesis (all of it when out_size is None)."""
        if self.out_size is None or self.out_size == img.shape[-1]:
            return img
        m = (img.shape[-1] - self.out_size) // 2
        return img[..., m:m + self.out_size, m:m + self.out_size]


class DBlock(nn.Module):
    """StyleGAN2's residual discriminator block: two 3x3 convolutions and a 2x average-pool, plus a pooled
    1x1 skip; the sum scaled by 1/sqrt(2)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = EqualConv2d(in_channels, in_channels, 3, padding=1, gain=LRELU_GAIN)
        self.conv2 = EqualConv2d(in_channels, out_channels, 3, padding=1, gain=LRELU_GAIN)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.leaky_relu(self.conv1(x), 0.2)
        y = F.avg_pool2d(F.leaky_relu(self.conv2(y), 0.2), 2)
        return (y + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2.0)


class Discriminator(nn.Module):
    """StyleGAN2's residual discriminator at 32x32, lite: FromRGB, residual blocks 32 -> 16 -> 8 -> 4,
    minibatch standard deviation, a 3x3 convolution and two linear layers to one logit."""

    def __init__(self, channels: dict[int, int] | None = None, image_channels: int = 1, mbstd_group: int = 4, n_classes: int = 0):
        super().__init__()
        channels = channels or DEFAULT_CHANNELS
        res = sorted(channels, reverse=True)
        self.size = res[0]  # smaller inputs (28x28 digits) are padded to this with the background value -1
        self.from_rgb = EqualConv2d(image_channels, channels[res[0]], 1, gain=LRELU_GAIN)
        self.blocks = nn.ModuleList([DBlock(channels[hi], channels[lo]) for hi, lo in zip(res, res[1:])])
        c4 = channels[4]
        self.mbstd_group = mbstd_group
        self.conv = EqualConv2d(c4 + 1, c4, 3, padding=1, gain=LRELU_GAIN)
        self.fc = EqualLinear(c4 * 16, c4, gain=LRELU_GAIN)
        self.out = EqualLinear(c4, 1)
        self.n_classes = n_classes  # > 0: a projection term <e(y), h> on the last features (Miyato & Koyama 2018)
        self.embed = nn.Embedding(n_classes, c4) if n_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if (y is None) != (not self.n_classes):
            raise ValueError("a conditional discriminator needs labels y; an unconditional one takes none.")
        if x.shape[-1] < self.size:
            m = (self.size - x.shape[-1]) // 2
            x = F.pad(x, (m, self.size - x.shape[-1] - m) * 2, value=-1.0)
        x = F.leaky_relu(self.from_rgb(x), 0.2)
        for block in self.blocks:
            x = block(x)
        x = F.leaky_relu(self.conv(minibatch_stddev(x, self.mbstd_group)), 0.2)
        h = F.leaky_relu(self.fc(x.flatten(1)), 0.2)
        if not self.n_classes:
            return self.out(h)
        return self.out(h) + (self.embed(y) * h).sum(dim=1, keepdim=True) / math.sqrt(h.shape[1])


# --------------------------------------------------------------------------------------------------
# Runs: config, tiers, build
# --------------------------------------------------------------------------------------------------

@dataclass
class StyleGANConfig(AdversarialConfig):
    """What defines a StyleGAN-lite run: these fields and those of its base config (``gan_tutor.config``)."""

    w_dim: int = 64
    channels: tuple[int, ...] = (64, 64, 32, 16)  # at 4, 8, 16, 32 pixels, G and D alike
    mapping_layers: int = 2  # NVIDIA's 32x32 (CIFAR-10) configuration uses 2
    mapping_lr_mul: float = 0.01  # the mapping network's learning-rate multiplier (StyleGAN: 0.01)
    mixing_prob: float = 0.0  # style-mixing regularisation, off at 32x32 as in NVIDIA's CIFAR-10 configuration
    r1_gamma: float = 5.0  # with 0.05-1 (every 16 steps) D overpowered G and the samples collapsed onto a few digits
    r1_every: int = 4
    lr_g: float = 2e-3
    lr_d: float = 2e-3
    betas: tuple[float, float] = (0.0, 0.99)
    batch_size: int = 32
    ema_decay: float | None = 0.995
    steps: int = 4000
    snapshot_every: int = 500


# Tier presets. cpu: self-conditioning on 30 clusters of deskewed digits (as notebook 03's DCGAN) at batch 16 for
# 4,000 steps: 93.6% of samples confident in about 5 minutes of training on 2 cores, where the unconditional model
# stays near 70-80% (benchmarks/README.md, scripts/stylegan_study.py). gpu and full: not yet measured.
TIERS: dict[str, StyleGANConfig] = {
    "smoke": StyleGANConfig(channels=(16, 16, 16, 8), z_dim=16, w_dim=16, batch_size=16, clusters=30, steps=20, snapshot_every=10),
    "cpu": StyleGANConfig(batch_size=16, clusters=30, steps=4000, snapshot_every=500),
    "gpu": StyleGANConfig(channels=(256, 256, 256, 128), z_dim=256, w_dim=256, batch_size=64, clusters=30, steps=40000,
                          snapshot_every=2000),
    "full": StyleGANConfig(channels=(512, 512, 512, 512), z_dim=512, w_dim=512, batch_size=64, clusters=30, steps=150000,
                           snapshot_every=5000),
}


def tier_config(tier: str, **overrides) -> StyleGANConfig:
    """The preset for ``tier`` with ``overrides`` applied."""
    return pick_tier(TIERS, tier, **overrides)


def build(cfg: StyleGANConfig) -> tuple[Generator, Discriminator]:
    """G and D for ``cfg``: synthesis at 32x32; 28x28 data are the centre of it (D pads them back to 32)."""
    c, h, w = cfg.image_shape
    if h != w or h > 32 or h < 28:
        raise ValueError(f"StyleGAN-lite draws 32x32 images (28x28 digits padded to 32); the data are {h}x{w}.")
    if len(cfg.channels) != 4:
        raise ValueError(f"channels gives the widths at 4, 8, 16 and 32 pixels: four numbers, got {cfg.channels}.")
    channels = dict(zip((4, 8, 16, 32), cfg.channels))
    G = Generator(cfg.z_dim, cfg.w_dim, channels, c, cfg.mapping_layers, cfg.mixing_prob, out_size=h,
                  mapping_lr_mul=cfg.mapping_lr_mul, n_classes=cfg.clusters)
    return G, Discriminator(channels, c, n_classes=cfg.clusters)
