"""Checks of notebook 03 (DCGAN): transposed-convolution arithmetic, the generator's moving average (EMA), and
spherical interpolation between latent vectors."""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from .core import CheckFailed, close, diagnose, floats, numbers, tensor

__all__ = ["check_transposed_conv_size", "check_ema_update", "check_slerp"]


def check_transposed_conv_size(fn: Callable) -> None:
    """Check ``fn(n, kernel, stride, padding)``: the side of a transposed convolution's output."""
    name = "transposed_conv_size"
    for n, k, s, p in [(4, 5, 3, 2), (7, 4, 2, 1), (1, 7, 1, 0), (5, 3, 2, 0), (14, 4, 2, 1)]:
        expected = (n - 1) * s - 2 * p + k
        got = fn(n, k, s, p)
        if isinstance(got, torch.Tensor):
            got = got.item()
        if not isinstance(got, int) or isinstance(got, bool):
            raise CheckFailed(f"{name}({n}, {k}, {s}, {p}) returned {got!r}: a side length is a whole number "
                              "(use integer arithmetic, no division)")
        diagnose(name, got, expected, [
            (n * s - 2 * p + k, "used n * stride: n inputs span only n - 1 strides between the first and the last"),
            ((n - 1) * s - p + k, "subtracted the padding once: it is removed from both sides, so subtract 2 * padding"),
            ((n - 1) * s + 2 * p + k, "added the padding: in a transposed convolution padding crops the output"),
            ((n + 2 * p - k) // s + 1, "that is the convolution's formula; a transposed convolution maps the other way"),
            ((n - 1) * s + k, "ignored the padding"),
        ], f"for n={n}, kernel={k}, stride={s}, padding={p}")
    print(f"✓ {name}: (n - 1) * stride - 2 * padding + kernel on five layers, including DCGAN's 7 -> 14 -> 28")


def check_ema_update(fn: Callable) -> None:
    """Check ``fn(ema, model, decay)``: theta_ema <- decay theta_ema + (1 - decay) theta, buffers copied, in place."""
    name = "ema_update"

    def pair():
        model = nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1))
        ema = nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1))
        with torch.no_grad():
            model[0].weight.copy_(tensor([[1.0, 2.0]])), model[0].bias.fill_(3.0)
            ema[0].weight.copy_(tensor([[-1.0, 0.0]])), ema[0].bias.fill_(1.0)
            model[1].running_mean.fill_(0.5), ema[1].running_mean.fill_(-2.0)
        return ema, model

    ema, model = pair()
    weight_id = id(ema[0].weight)
    try:
        fn(ema, model, 0.9)
    except RuntimeError as e:
        if "in-place" in str(e) or "leaf" in str(e):
            raise CheckFailed(f"{name}: {e}. Update the average under torch.no_grad(): it is not trained by backprop") from None
        raise
    if id(ema[0].weight) != weight_id:
        raise CheckFailed(f"{name}: replaced the parameter objects; update them in place (p_ema.lerp_(p, 1 - decay) "
                          "or p_ema.mul_(decay).add_(...)) so that optimisers and references stay valid")
    old, new = [-1.0, 0.0, 1.0], [1.0, 2.0, 3.0]
    if model[0].weight.detach().flatten().tolist() != [1.0, 2.0]:
        raise CheckFailed(f"{name}: the model's own weights changed; only the average (the first argument) moves")
    diagnose(name, numbers([ema[0].weight, ema[0].bias]), [0.9 * a + 0.1 * b for a, b in zip(old, new)], [
        ([0.1 * a + 0.9 * b for a, b in zip(old, new)], "the weights are swapped: decay multiplies the old average, "
         "1 - decay the new weights"),
        (new, "copied the model's weights: the average moves only 1 - decay of the way"),
        (old, "the average did not change: write into its parameters in place"),
    ], "for the parameters after one update with decay 0.9", mistake_tol=(1e-5, 1e-6))
    if ema[1].running_mean.item() != 0.5:
        raise CheckFailed(f"{name}: the batch-norm running statistics (buffers) were not copied: the average must normalise "
                          "with the model's current statistics (model.buffers())")
    ema, model = pair()
    fn(ema, model, 0.5)
    fn(ema, model, 0.5)  # two steps towards a fixed model: decay^2 of the old value remains
    diagnose(name, ema[0].bias, 0.25 * 1.0 + 0.75 * 3.0, where="for the bias after two updates with decay 0.5 "
             "from 1 towards 3")
    print(f"✓ {name}: decay * average + (1 - decay) * weights, in place, buffers copied, model untouched")


def _slerp_expected(z0: list[float], z1: list[float], t: float) -> list[float]:
    dot = sum(a * b for a, b in zip(z0, z1))
    n0, n1 = math.sqrt(sum(a * a for a in z0)), math.sqrt(sum(b * b for b in z1))
    theta = math.acos(max(-1.0, min(1.0, dot / (n0 * n1))))
    return [(math.sin((1 - t) * theta) * a + math.sin(t * theta) * b) / math.sin(theta) for a, b in zip(z0, z1)]


SLERP_TOL = (1e-5, 1e-5)


def check_slerp(fn: Callable) -> None:
    """Check ``fn(z0, z1, t)``: spherical interpolation along the last dimension, per row for (N, d)."""
    name = "slerp"

    def call(z0, z1, t, finite: str | None = None) -> list[float]:
        shape = tuple(tensor(z0).shape)
        return floats(fn(tensor(z0), tensor(z1), t), name, shape, "the shape of z0", finite=finite)

    e0, e1 = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    diagnose(name, call(e0, e1, 0.5), [math.sqrt(0.5), math.sqrt(0.5), 0.0], [
        ([0.5, 0.5, 0.0], "that is linear interpolation: halfway between two orthogonal unit vectors its norm is "
                          "0.71, off the shell where the prior's samples live; slerp keeps norm 1"),
    ], "halfway between e1 and e2", tol=SLERP_TOL, mistake_tol=SLERP_TOL)
    diagnose(name, [call(e0, e1, 0.0), call(e0, e1, 1.0)], [e0, e1], [
        ([e1, e0], "t = 0 must give z0 and t = 1 give z1; yours are swapped (sin(t θ) goes with z1)"),
    ], what="t = 0 must give z0 and t = 1 must give z1", tol=SLERP_TOL, mistake_tol=SLERP_TOL)
    a, b = [2.0, 1.0, -1.0], [0.5, -3.0, 1.0]
    if not close(call(a, b, 0.3), _slerp_expected(a, b, 0.3), *SLERP_TOL):
        raise CheckFailed(f"{name}: wrong for vectors of different norms: the angle is arccos(<z0, z1> / (|z0| |z1|)), "
                          "and the weights are sin((1 - t) θ) / sin θ and sin(t θ) / sin θ")
    got = call([e0, a], [e1, b], 0.3)
    if not close(got, [_slerp_expected(e0, e1, 0.3), _slerp_expected(a, b, 0.3)], *SLERP_TOL):
        raise CheckFailed(f"{name}: for (N, d) inputs each row pair has its own angle: take the dot products and norms "
                          "along the last dimension (dim=-1, keepdim=True), not over the whole batch")
    par = call(e0, [3.0, 0.0, 0.0], 0.5, finite="for parallel vectors: sin θ = 0 there; fall back to linear "
               "interpolation when sin θ is tiny (the formula's limit)")  # cos θ = 1 exactly
    if not close(par, [2.0, 0.0, 0.0], *SLERP_TOL):
        raise CheckFailed(f"{name}: for parallel vectors the result should be the straight line, (1 - t) z0 + t z1")
    print(f"✓ {name}: orthogonal, unequal-norm and parallel vectors, batched rows, endpoints")
