"""Image and label conventions, written once for training, the digit judge and the plots.

* Images are float tensors (N, C, H, W). Datasets, samples, the judge and the plots use [0, 1]; the GANs'
  generators and discriminators work in [-1, 1] (a tanh output): :func:`to_unit_range` maps back.
* Labels are integer class indices (N,) in 0..K-1.

:func:`check_images` and :func:`check_labels` are the one place that validates them: every caller gets the
same error, and each error names the fix (the axis to add, the map from [-1, 1], the division by 255).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

# Values this far outside the expected range are rounding (e.g. (tanh + 1) / 2 in float32) and are clamped.
RANGE_TOLERANCE = 1e-3


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """tanh output in [-1, 1] -> [0, 1] for images (N, C, H, W); other outputs (e.g. 2-D points) unchanged."""
    return ((x + 1) / 2).clamp_(0, 1) if x.ndim == 4 else x


def _as_tensor(x: Any, what: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        return torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor or numpy array, got {type(x).__name__}: use torch.as_tensor(...).")
    return x


def _shape_fix(shape: tuple[int, ...], expected: tuple[int, ...] | None) -> str:
    """How to turn a batch of ``shape`` into (N, *expected) (or (N, C, H, W) with C 1 or 3 when expected is None)."""
    want = f"(N, {', '.join(map(str, expected))})" if expected else "(N, C, H, W)"
    if len(shape) == 2:
        return f"{want}: for a single image (H, W) use x[None, None]"
    if len(shape) == 3:
        return f"{want}: for (N, H, W) images add the channel axis with x.unsqueeze(1); for one (C, H, W) image use x[None]"
    if len(shape) != 4:
        return f"{want}: reshape them"
    c = shape[1]
    if shape[-1] in (1, 3) and c not in (1, 3):
        return f"{want}: channels last? use x.permute(0, 3, 1, 2)"
    if expected is not None and c != expected[0]:
        if expected[0] == 1 and c == 3:
            return f"{want}: colour images? convert to grey, e.g. x.mean(dim=1, keepdim=True)"
        return f"{want}: the model takes {expected[0]} channel(s), the images have {c}"
    if expected is not None:
        return f"{want}: resize them, e.g. torch.nn.functional.interpolate(x, size={tuple(expected[1:])}, mode='bilinear', antialias=True)"
    return f"{want} with 1 or 3 channels in dim 1"


def check_images(images: Any, shape: tuple[int, ...] | None = None, value_range: tuple[float, float] = (0.0, 1.0),
                 what: str = "images") -> torch.Tensor:
    """``images`` as a detached float tensor (N, C, H, W) within ``value_range``, or an error that names the fix.

    ``shape``: the (C, H, W) a model expects; None accepts any size with 1 or 3 channels. Values within
    :data:`RANGE_TOLERANCE` of the range are rounding and are clamped into it; anything further is refused
    with the map that most likely fixes it.
    """
    x = _as_tensor(images, what)
    got = tuple(x.shape)
    ok = x.ndim == 4 and (got[1:] == tuple(shape) if shape is not None else got[1] in (1, 3))
    if not ok:
        raise ValueError(f"{what} have shape {got}, expected {_shape_fix(got, tuple(shape) if shape else None)}.")
    if got[0] == 0:
        raise ValueError(f"{what} are an empty batch (N = 0): pass at least one image.")
    if not x.is_floating_point():
        raise TypeError(f"{what} have dtype {x.dtype}, expected floats in {list(value_range)}: for 0..255 pixels use x.float() / 255.")
    x = x.detach()
    lo, hi = value_range
    xmin, xmax = x.min().item(), x.max().item()
    if not (math.isfinite(xmin) and math.isfinite(xmax)):
        raise ValueError(f"{what} contain NaN or inf: the model that made them has diverged; check its losses (the NaN guard).")
    if xmin >= lo - RANGE_TOLERANCE and xmax <= hi + RANGE_TOLERANCE:
        return x.clamp(lo, hi) if (xmin < lo or xmax > hi) else x
    if xmin >= -RANGE_TOLERANCE and xmax <= 255 + RANGE_TOLERANCE and xmax > 2:
        fix = "they look like 0..255 pixels: divide them by 255"
    elif (lo, hi) == (0.0, 1.0) and xmin >= -1 - RANGE_TOLERANCE and xmax <= 1 + RANGE_TOLERANCE:
        fix = "they look like [-1, 1], a tanh output: map them with (x + 1) / 2"
    else:
        fix = "rescale them (a sigmoid output is in [0, 1]; a tanh output x maps with (x + 1) / 2)"
    raise ValueError(f"{what} range over [{xmin:.4g}, {xmax:.4g}], expected [{lo:g}, {hi:g}]: {fix}.")


def check_labels(labels: Any, n_classes: int, n: int | None = None, what: str = "labels") -> torch.Tensor:
    """``labels`` as an int64 tensor (n,) of class indices in 0..n_classes-1, or an error that names the fix."""
    if isinstance(labels, np.ndarray):
        labels = torch.from_numpy(labels)
    elif not isinstance(labels, torch.Tensor):
        try:
            labels = torch.as_tensor(labels)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{what} must be integer class indices, got {type(labels).__name__}.") from None
    if labels.dtype == torch.bool or labels.is_floating_point() or labels.is_complex():
        raise TypeError(f"{what} must be integer class indices 0..{n_classes - 1}, got dtype {labels.dtype}: use labels.long().")
    if labels.ndim != 1 or (n is not None and labels.shape[0] != n):
        expected = f"({n},), one per image" if n is not None else "(N,)"
        raise ValueError(f"{what} have shape {tuple(labels.shape)}, expected {expected}: pass one class index per image, not one-hot rows.")
    if labels.numel():
        lo, hi = labels.min().item(), labels.max().item()
        if lo < 0 or hi >= n_classes:
            raise ValueError(f"{what} range over {lo}..{hi}; this model knows classes 0..{n_classes - 1}: "
                             "pass class indices, not one-hot vectors or names.")
    return labels.long()
